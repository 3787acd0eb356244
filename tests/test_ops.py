"""Every primitive op (issue 2): forward against NumPy, backward against ``mg.gradcheck`` in
float64 for several shapes (broadcasting pairs included), second derivatives (the backward
rules in "dual mode"), PyTorch's conventions at kinks and ties, float32 preservation, and
the error messages of bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradlin as mg
from microgradlin import functional as F

# ----------------------------------------------------------------------------- inputs
# Domains keep finite differences away from poles and kinks: "any" is in ±[0.2, 1.5] (no
# zeros for abs/relu/clip/division), "pos" in [0.5, 2] (log, sqrt, bases of real powers).


def _data(shape, domain, seed):
    rng = np.random.default_rng(seed)
    if domain == "pos":
        return rng.uniform(0.5, 2.0, shape)
    magnitude = rng.uniform(0.2, 1.5, shape)
    return np.where(rng.random(shape) < 0.5, -magnitude, magnitude)


def _leaves(specs, seed=0):
    """Tensors requiring grad, float64, from a list of (shape, domain)."""
    return [mg.tensor(_data(shape, domain, seed + 17 * i), requires_grad=True)
            for i, (shape, domain) in enumerate(specs)]


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


# name -> (function of Tensors, the same function in NumPy, [[(shape, domain), ...], ...])
# Every list of input specs is one case; each op has several shapes.
_SAME = [[((4,), "any")] * 2, [((2, 3), "any")] * 2]
_BCAST = [[((2, 3), "any"), ((3,), "any")], [((2, 1), "any"), ((1, 3), "any")],
          [((), "any"), ((2, 3), "any")], [((3, 1, 2), "any"), ((4, 1), "any")]]
_UNARY = [[((), "any")], [((5,), "any")], [((2, 3), "any")]]
_UNARY_POS = [[((), "pos")], [((5,), "pos")], [((2, 3), "pos")]]
_CUBE = [[((2, 3, 4), "any")]]
_BASES = np.array([0.5, 2.0, 3.0], dtype=np.float32)
_ONES_ROW = np.ones((1, 3), dtype=np.float32)

OPS = {
    # arithmetic, with broadcasting pairs
    "add": (lambda a, b: a + b, np.add, _SAME + _BCAST),
    "sub": (lambda a, b: a - b, np.subtract, _SAME + _BCAST),
    "mul": (lambda a, b: a * b, np.multiply, _SAME + _BCAST),
    "div": (lambda a, b: a / b, np.divide, _SAME + _BCAST),
    "pow_tensor_exponent": (lambda a, b: a**b, np.power,
                            [[((4,), "pos"), ((4,), "any")], [((2, 3), "pos"), ((3,), "any")],
                             [((2, 1), "pos"), ((), "any")]]),
    "maximum": (mg.maximum, np.maximum, _SAME + _BCAST),
    "minimum": (mg.minimum, np.minimum, _SAME + _BCAST),
    "neg": (lambda a: -a, np.negative, _UNARY),
    "pow_2": (lambda a: a**2, lambda a: a**2, _UNARY),
    "pow_3": (lambda a: a**3, lambda a: a**3, _UNARY),
    "pow_minus_1": (lambda a: a**-1, lambda a: a**-1.0, _UNARY),
    "pow_half": (lambda a: a**0.5, np.sqrt, _UNARY_POS),
    "rpow": (lambda a: 2.0**a, lambda a: 2.0**a, _UNARY),
    # constants are float32 (exact values): float32 data stays float32, float64 wins in float64
    "rpow_array_base": (lambda a: _BASES ** a, lambda a: _BASES ** a,
                        [[((3,), "any")], [((2, 3), "any")]]),
    "rsub_rdiv": (lambda a: (1.0 - a) / (2.0 + a * a), lambda a: (1.0 - a) / (2.0 + a * a),
                  _UNARY),
    # elementwise functions
    "exp": (lambda a: a.exp(), np.exp, _UNARY),
    "log": (lambda a: a.log(), np.log, _UNARY_POS),
    "sqrt": (lambda a: a.sqrt(), np.sqrt, _UNARY_POS),
    "abs": (lambda a: a.abs(), np.abs, _UNARY),
    "tanh": (lambda a: a.tanh(), np.tanh, _UNARY),
    "sigmoid": (lambda a: a.sigmoid(), _np_sigmoid, _UNARY),
    "relu": (lambda a: a.relu(), lambda a: np.maximum(a, 0), _UNARY),
    "clip": (lambda a: a.clip(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), _UNARY),
    "clip_lo_only": (lambda a: a.clip(lo=0.1), lambda a: np.clip(a, 0.1, None), _UNARY),
    "clip_hi_only": (lambda a: a.clip(hi=0.1), lambda a: np.clip(a, None, 0.1), _UNARY),
    "mg_functions": (lambda a: mg.exp(a) + mg.tanh(a) * mg.sigmoid(a) + mg.relu(a) + mg.abs(a),
                     lambda a: np.exp(a) + np.tanh(a) * _np_sigmoid(a) + np.maximum(a, 0)
                     + np.abs(a), _UNARY),
    "mg_log_sqrt": (lambda a: mg.log(a) + mg.sqrt(a), lambda a: np.log(a) + np.sqrt(a),
                    _UNARY_POS),
    # matmul: NumPy semantics, 1-D operands and batches
    "matmul": (lambda a, b: a @ b, np.matmul,
               [[((3, 4), "any"), ((4, 2), "any")],  # 2-D @ 2-D
                [((4,), "any"), ((4,), "any")],  # inner product
                [((4,), "any"), ((4, 2), "any")],  # 1-D @ 2-D
                [((3, 4), "any"), ((4,), "any")],  # 2-D @ 1-D
                [((2, 3, 4), "any"), ((4, 5), "any")],  # batched @ matrix
                [((2, 1, 3, 4), "any"), ((5, 4, 2), "any")],  # broadcast batches
                [((4,), "any"), ((2, 4, 3), "any")],  # 1-D @ batch
                [((2, 3, 4), "any"), ((4,), "any")]]),  # batch @ 1-D
    # reductions
    "sum_all": (lambda a: a.sum(), np.sum, _CUBE + [[((), "any")]]),
    "sum_axis0": (lambda a: a.sum(axis=0), lambda a: a.sum(axis=0), _CUBE),
    "sum_neg_axis_keepdims": (lambda a: a.sum(axis=-1, keepdims=True),
                              lambda a: a.sum(axis=-1, keepdims=True), _CUBE),
    "sum_tuple_axes": (lambda a: a.sum(axis=(0, -1)), lambda a: a.sum(axis=(0, 2)), _CUBE),
    "sum_tuple_keepdims": (lambda a: a.sum(axis=(2, 0), keepdims=True),
                           lambda a: a.sum(axis=(0, 2), keepdims=True), _CUBE),
    "mean_all": (lambda a: a.mean(), np.mean, _CUBE + [[((), "any")]]),
    "mean_axis": (lambda a: a.mean(axis=1), lambda a: a.mean(axis=1), _CUBE),
    "mean_tuple_keepdims": (lambda a: a.mean(axis=(-1, 0), keepdims=True),
                            lambda a: a.mean(axis=(0, 2), keepdims=True), _CUBE),
    "max_all": (lambda a: a.max(), np.max, _CUBE + [[((), "any")]]),
    "max_axis": (lambda a: a.max(axis=1), lambda a: a.max(axis=1), _CUBE),
    "max_neg_axis_keepdims": (lambda a: a.max(axis=-1, keepdims=True),
                              lambda a: a.max(axis=-1, keepdims=True), _CUBE),
    "max_tuple": (lambda a: a.max(axis=(0, 2)), lambda a: a.max(axis=(0, 2)), _CUBE),
    "min_all": (lambda a: a.min(), np.min, _CUBE),
    "min_axis_keepdims": (lambda a: a.min(axis=0, keepdims=True),
                          lambda a: a.min(axis=0, keepdims=True), _CUBE),
    "min_tuple": (lambda a: a.min(axis=(-2, -1)), lambda a: a.min(axis=(1, 2)), _CUBE),
    "var": (lambda a: a.var(axis=1), lambda a: a.var(axis=1, ddof=1), _CUBE),  # torch: unbiased
    "std": (lambda a: a.std(axis=(0, 2), keepdims=True),
            lambda a: a.std(axis=(0, 2), keepdims=True, ddof=1), _CUBE),
    "logsumexp_all": (lambda a: mg.logsumexp(a), _np_logsumexp, _CUBE),
    "logsumexp_axis": (lambda a: mg.logsumexp(a, axis=-1),
                       lambda a: _np_logsumexp(a, axis=-1), _CUBE),
    "logsumexp_keepdims": (lambda a: F.logsumexp(a, axis=(0, 1), keepdims=True),
                           lambda a: _np_logsumexp(a, axis=(0, 1), keepdims=True), _CUBE),
    "softmax": (lambda a: F.softmax(a), lambda a: np.exp(a) / np.exp(a).sum(-1, keepdims=True),
                [[((5,), "any")], [((2, 3), "any")]]),
    "softmax_axis0": (lambda a: F.softmax(a, axis=0),
                      lambda a: np.exp(a) / np.exp(a).sum(0, keepdims=True), [[((2, 3), "any")]]),
    "log_softmax": (lambda a: F.log_softmax(a),
                    lambda a: a - _np_logsumexp(a, axis=-1, keepdims=True),
                    [[((5,), "any")], [((2, 3), "any")]]),
    "F_activations": (lambda a: F.sigmoid(a) + F.tanh(a) + F.relu(a),
                      lambda a: _np_sigmoid(a) + np.tanh(a) + np.maximum(a, 0), _UNARY),
    # shapes (the square first, so that the gradient depends on where elements go)
    "reshape_minus_1": (lambda a: (a * a).reshape(-1), lambda a: (a * a).reshape(-1), _CUBE),
    "reshape_tuple": (lambda a: (a * a).reshape((4, -1)), lambda a: (a * a).reshape(4, -1),
                      _CUBE),
    "transpose_reverse": (lambda a: (a * a).transpose(), lambda a: (a * a).T, _CUBE),
    "transpose_axes": (lambda a: (a * a).transpose(1, 2, 0),
                       lambda a: (a * a).transpose(1, 2, 0), _CUBE),
    "transpose_tuple": (lambda a: (a * a).transpose((2, 0, 1)),
                        lambda a: (a * a).transpose(2, 0, 1), _CUBE),
    "clone": (lambda a: (a * a).clone(), lambda a: a * a, _CUBE),
    "T": (lambda a: (a * a).T, lambda a: (a * a).T, [[((2, 3), "any")], [((4,), "any")]]),
    "swapaxes": (lambda a: (a * a).swapaxes(0, -1), lambda a: (a * a).swapaxes(0, -1), _CUBE),
    "unsqueeze_squeeze": (lambda a: (a * a).unsqueeze(1).squeeze(0),
                          lambda a: np.squeeze((a * a)[:, None], 0), [[((1, 3), "any")]]),
    "broadcast_to": (lambda a: (a * a).broadcast_to((4, 2, 3)),
                     lambda a: np.broadcast_to(a * a, (4, 2, 3)), [[((2, 1), "any")]]),
    "sum_to": (lambda a: (a * a).sum_to((1, 4)),
               lambda a: (a * a).sum(axis=(0, 1)).reshape(1, 4), _CUBE),
    # indexing
    "getitem_int": (lambda a: (a * a)[1], lambda a: (a * a)[1], _CUBE),
    "getitem_negative_int": (lambda a: (a * a)[-1, -2], lambda a: (a * a)[-1, -2], _CUBE),
    "getitem_slices_steps": (lambda a: (a * a)[:, ::-2, 1::2], lambda a: (a * a)[:, ::-2, 1::2],
                             _CUBE),
    "getitem_none_ellipsis": (lambda a: (a * a)[..., None, 1:3],
                              lambda a: (a * a)[..., None, 1:3], _CUBE),
    "getitem_int_array_repeats": (lambda a: (a * a)[np.array([0, 1, 0, 0])],
                                  lambda a: (a * a)[np.array([0, 1, 0, 0])], _CUBE),
    "getitem_list_repeats": (lambda a: (a * a)[[2, 2, 0]], lambda a: (a * a)[[2, 2, 0]],
                             [[((3,), "any")]]),
    "getitem_two_arrays": (lambda a: (a * a)[[0, 1, 1], [2, 2, 0]],
                           lambda a: (a * a)[[0, 1, 1], [2, 2, 0]], _CUBE),
    "getitem_tensor_index": (lambda a: (a * a)[mg.tensor(np.array([1, 1]))],
                             lambda a: (a * a)[np.array([1, 1])], _CUBE),
    "getitem_bool_mask": (lambda a: (a * a)[np.array([[True, False, True]] * 2)],
                          lambda a: (a * a)[np.array([[True, False, True]] * 2)],
                          [[((2, 3), "any")]]),
    "getitem_tensor_mask": (lambda a: (a * a)[a > 0], lambda a: (a * a)[a > 0],
                            [[((2, 3), "any")]]),
    "getitem_mixed": (lambda a: (a * a)[np.array([1, 1]), 1:, -1],
                      lambda a: (a * a)[np.array([1, 1]), 1:, -1], _CUBE),
    # joining and selecting
    "concatenate_axis0": (lambda a, b: mg.concatenate([a, b * b]),
                          lambda a, b: np.concatenate([a, b * b]),
                          [[((2, 3), "any"), ((1, 3), "any")]]),
    "concatenate_axis1": (lambda a, b: mg.concatenate([a, b * b], axis=1),
                          lambda a, b: np.concatenate([a, b * b], axis=1),
                          [[((2, 3), "any"), ((2, 2), "any")]]),
    "concatenate_axis_neg1": (lambda a, b: mg.concatenate([b * b, a, b], axis=-1),
                              lambda a, b: np.concatenate([b * b, a, b], axis=-1),
                              [[((2, 2, 1), "any"), ((2, 2, 3), "any")]]),
    "concatenate_with_constant": (lambda a: mg.concatenate([_ONES_ROW, a * a]),
                                  lambda a: np.concatenate([_ONES_ROW, a * a]),
                                  [[((2, 3), "any")]]),
    "stack_axis0": (lambda a, b: mg.stack([a, b * b]), lambda a, b: np.stack([a, b * b]),
                    _SAME),
    "stack_axis1": (lambda a, b: mg.stack([a, b * b], axis=1),
                    lambda a, b: np.stack([a, b * b], axis=1), _SAME),
    "stack_axis_neg1": (lambda a, b: mg.stack([a, b * b, a], axis=-1),
                        lambda a, b: np.stack([a, b * b, a], axis=-1), _SAME),
    "where": (lambda a, b: mg.where(a.numpy() > 0, a * a, b),
              lambda a, b: np.where(a > 0, a * a, b), _SAME + _BCAST),
    "where_broadcast_condition": (lambda a, b: mg.where(np.array([True, False, True]), a, b),
                                  lambda a, b: np.where(np.array([True, False, True]), a, b),
                                  [[((2, 3), "any"), ((2, 1), "any")]]),
    "where_tensor_condition_scalar_branch": (lambda a: mg.where(a < 0, 0.0, a * a),
                                             lambda a: np.where(a < 0, 0.0, a * a), _UNARY),
}

CASES = [pytest.param(name, k, id=f"{name}-{k}")
         for name, (_, _, specs) in OPS.items() for k in range(len(specs))]
MULTI_INPUT_CASES = [pytest.param(name, k, id=f"{name}-{k}")
                     for name, (_, _, specs) in OPS.items() for k in range(len(specs))
                     if len(specs[k]) > 1]


def _case(name, k, seed=0):
    fn, ref, specs = OPS[name]
    return fn, ref, _leaves(specs[k], seed)


@pytest.mark.parametrize("name, k", CASES)
def test_forward_matches_numpy(name, k):
    fn, ref, xs = _case(name, k)
    out = fn(*xs)
    expected = ref(*[x.numpy() for x in xs])
    assert isinstance(out, mg.Tensor)
    assert out.shape == np.shape(expected)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, k", CASES)
def test_backward_matches_finite_differences(name, k):
    fn, _, xs = _case(name, k)
    assert mg.gradcheck(fn, xs)


@pytest.mark.parametrize("name, k", CASES)
def test_second_derivatives_match_finite_differences(name, k):
    """The backward rules are differentiable themselves (create_graph=True): gradcheck the
    gradient of a weighted sum of the output, with respect to every input."""
    fn, _, xs = _case(name, k)
    weights = np.random.default_rng(5).uniform(0.5, 1.5, np.shape(fn(*xs).numpy()))

    for i in range(len(xs)):
        def gradient(*inputs, i=i):
            return mg.grad((fn(*inputs) * weights).sum(), inputs, create_graph=True)[i]

        assert mg.gradcheck(gradient, xs)


@pytest.mark.parametrize("name, k", CASES)
def test_float32_in_float32_out(name, k):
    fn, _, xs = _case(name, k)
    xs32 = [mg.tensor(x.numpy().astype(np.float32), requires_grad=True) for x in xs]
    out = fn(*xs32)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, dtype=np.float32))
    for x in xs32:
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


@pytest.mark.parametrize("name, k", MULTI_INPUT_CASES)
def test_constant_inputs_get_no_gradient(name, k):
    """Only the first input requires grad: the others get none, and the result agrees with
    finite differences."""
    fn, _, xs = _case(name, k)
    others = [mg.tensor(x.numpy()) for x in xs[1:]]
    out = fn(xs[0], *others)
    out.backward(np.ones(out.shape))
    assert all(o.grad is None for o in others)
    assert mg.gradcheck(lambda a: fn(a, *others), [xs[0]])


# ----------------------------------------------------------------------------- Hypothesis:
# broadcastable shapes for every binary op

_BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a.abs() ** b, lambda a, b: np.abs(a) ** b),
    "maximum": (mg.maximum, np.maximum),
    "minimum": (mg.minimum, np.minimum),
    "where": (lambda a, b: mg.where(a.numpy() > b.numpy(), a, b * 2),
              lambda a, b: np.where(a > b, a, b * 2)),
}


@pytest.mark.parametrize("op", sorted(_BINARY))
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                max_side=3),
       seed=st.integers(0, 2**16))
def test_binary_ops_broadcast_like_numpy(op, shapes, seed):
    fn, ref = _BINARY[op]
    shape_a, shape_b = shapes.input_shapes
    a, b = _leaves([(shape_a, "any"), (shape_b, "any")], seed)
    out = fn(a, b)
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.numpy(), ref(a.numpy(), b.numpy()), rtol=1e-12)
    out.backward(np.ones(out.shape))
    assert a.grad.shape == shape_a and b.grad.shape == shape_b  # summed back to each input
    assert mg.gradcheck(fn, [a, b])


@given(batch=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2,
                                               max_side=3),
       n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3),
       vector_a=st.booleans(), vector_b=st.booleans(), seed=st.integers(0, 2**16))
def test_matmul_matches_numpy_for_any_batch_shapes(batch, n, k, m, vector_a, vector_b, seed):
    batch_a, batch_b = batch.input_shapes
    shape_a = (k,) if vector_a else (*batch_a, n, k)
    shape_b = (k,) if vector_b else (*batch_b, k, m)
    a, b = _leaves([(shape_a, "any"), (shape_b, "any")], seed)
    out = a @ b
    expected = a.numpy() @ b.numpy()
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert mg.gradcheck(lambda x, y: x @ y, [a, b])


_REDUCTIONS = {
    "sum": (lambda x, axis, keep: x.sum(axis=axis, keepdims=keep),
            lambda x, axis, keep: x.sum(axis=axis, keepdims=keep)),
    "mean": (lambda x, axis, keep: x.mean(axis=axis, keepdims=keep),
             lambda x, axis, keep: x.mean(axis=axis, keepdims=keep)),
    "max": (lambda x, axis, keep: x.max(axis=axis, keepdims=keep),
            lambda x, axis, keep: x.max(axis=axis, keepdims=keep)),
    "min": (lambda x, axis, keep: x.min(axis=axis, keepdims=keep),
            lambda x, axis, keep: x.min(axis=axis, keepdims=keep)),
    "logsumexp": (lambda x, axis, keep: mg.logsumexp(x, axis=axis, keepdims=keep),
                  lambda x, axis, keep: _np_logsumexp(x, axis=axis, keepdims=keep)),
}


@st.composite
def _shape_and_axis(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    ndim = len(shape)
    axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim))
    signed = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    axis = draw(st.sampled_from([None, signed, signed[0] if signed else None]))
    return shape, axis


@pytest.mark.parametrize("reduce", sorted(_REDUCTIONS))
@given(shape_axis=_shape_and_axis(), keepdims=st.booleans(), seed=st.integers(0, 2**16))
def test_reductions_match_numpy_for_any_axes(reduce, shape_axis, keepdims, seed):
    shape, axis = shape_axis
    fn, ref = _REDUCTIONS[reduce]
    (x,) = _leaves([(shape, "any")], seed)
    out = fn(x, axis, keepdims)
    expected = ref(x.numpy(), axis, keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert mg.gradcheck(lambda v: fn(v, axis, keepdims), [x])


@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
       advanced=st.booleans())
def test_getitem_gradient_counts_how_often_each_element_is_read(data, shape, advanced):
    """d/dx sum(x[index] * w) puts each w into the element it was read from: NumPy's
    unbuffered np.add.at is the reference (repeated indices add up)."""
    if advanced:
        index = data.draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(
            min_dims=1, max_dims=2, max_side=4)))
    else:
        index = data.draw(hnp.basic_indices(shape, allow_newaxis=True))
    x = mg.tensor(np.arange(np.prod(shape), dtype=np.float64).reshape(shape),
                  requires_grad=True)
    out = x[index]
    np.testing.assert_array_equal(out.numpy(), x.numpy()[index])
    w = np.random.default_rng(0).normal(size=out.shape)
    (out * w).sum().backward()
    expected = np.zeros(shape)
    np.add.at(expected, index, w)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14)


# ----------------------------------------------------------------------------- PyTorch's
# conventions where the derivative is not defined (exact values, not finite differences)


def _grad_of(fn, *values):
    xs = [mg.tensor(v, requires_grad=True) for v in values]
    fn(*xs).backward()
    return [x.grad.numpy() for x in xs]


def test_max_of_all_elements_splits_the_gradient_evenly_among_ties():
    (g,) = _grad_of(lambda x: x.max(), [3.0, 1.0, 3.0, 3.0])
    np.testing.assert_allclose(g, [1 / 3, 0.0, 1 / 3, 1 / 3])
    (g,) = _grad_of(lambda x: x.min(), [[0.0, 2.0], [0.0, 5.0]])
    np.testing.assert_allclose(g, [[0.5, 0.0], [0.5, 0.0]])


def test_max_along_an_axis_splits_ties_within_each_slice():
    (g,) = _grad_of(lambda x: (x.max(axis=1) * np.array([1.0, 10.0])).sum(),
                    [[2.0, 2.0, 1.0], [0.0, 4.0, 3.0]])
    np.testing.assert_allclose(g, [[0.5, 0.5, 0.0], [0.0, 10.0, 0.0]])


def test_maximum_and_minimum_split_ties_in_half():
    ga, gb = _grad_of(lambda a, b: mg.maximum(a, b).sum(), [1.0, 2.0, 5.0], [1.0, 3.0, 4.0])
    np.testing.assert_allclose(ga, [0.5, 0.0, 1.0])
    np.testing.assert_allclose(gb, [0.5, 1.0, 0.0])
    ga, gb = _grad_of(lambda a, b: mg.minimum(a, b).sum(), [1.0, 2.0, 5.0], [1.0, 3.0, 4.0])
    np.testing.assert_allclose(ga, [0.5, 1.0, 0.0])
    np.testing.assert_allclose(gb, [0.5, 0.0, 1.0])


def test_maximum_with_a_number_ties_give_half():
    (g,) = _grad_of(lambda a: mg.maximum(a, 0.0).sum(), [-1.0, 0.0, 2.0])
    np.testing.assert_allclose(g, [0.0, 0.5, 1.0])


def test_abs_and_relu_have_zero_gradient_at_zero():
    (g,) = _grad_of(lambda x: x.abs().sum(), [-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(g, [-1.0, 0.0, 1.0])
    (g,) = _grad_of(lambda x: x.relu().sum(), [-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])


def test_clip_gradient_is_one_on_the_boundaries():
    (g,) = _grad_of(lambda x: x.clip(-1.0, 1.0).sum(), [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])
    (g,) = _grad_of(lambda x: x.clamp(lo=0.0).sum(), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0])


def test_pow_at_base_zero_follows_pytorch():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0 * inf computed on the way
        gx, gp = _grad_of(lambda x, p: (x**p).sum(), [0.0, 0.0, 0.0, 2.0], [0.0, 1.0, 2.0, 0.0])
    np.testing.assert_array_equal(gx, [0.0, 1.0, 0.0, 0.0])  # d/dx x^0 = 0, x^1 = 1, x^2 = 2x
    np.testing.assert_array_equal(gp, [0.0, 0.0, 0.0, np.log(2.0)])  # x^p log x, 0 at x = 0
    (gx,) = _grad_of(lambda x: (x**0).sum(), [0.0, 3.0])
    np.testing.assert_array_equal(gx, [0.0, 0.0])
    (gx,) = _grad_of(lambda x: (x**2).sum(), [0.0, 3.0])
    np.testing.assert_array_equal(gx, [0.0, 6.0])
    (gp,) = _grad_of(lambda p: (0.0**p).sum(), [0.0, 2.0])
    np.testing.assert_array_equal(gp, [0.0, 0.0])
    # a zero exponent gives the base gradient 0 whatever the base (PyTorch's rule), as x ** 0
    gx, _ = _grad_of(lambda x, p: (x**p).sum(), [np.nan, np.inf, 5.0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(gx, [0.0, 0.0, 0.0])
    (gx,) = _grad_of(lambda x: (x**0).sum(), [np.nan, np.inf])
    np.testing.assert_array_equal(gx, [0.0, 0.0])


def test_sqrt_gradient_at_zero_is_inf_like_pytorch():
    with np.errstate(divide="ignore"):
        (g,) = _grad_of(lambda x: x.sqrt().sum(), [0.0, 4.0])
    np.testing.assert_array_equal(g, [np.inf, 0.25])


def test_getitem_repeated_indices_accumulate():
    (g,) = _grad_of(lambda x: x[[0, 0, 2, 0]].sum(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])
    (g,) = _grad_of(lambda x: (x[np.array([[1, 1], [1, 0]])] * 2).sum(), [1.0, 2.0])
    np.testing.assert_array_equal(g, [2.0, 6.0])


def test_getitem_with_an_empty_list_selects_nothing():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x[[]]
    assert y.shape == (0, 2)  # as NumPy and PyTorch (an empty integer index)
    (y.sum() + x[[], 1].sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 2)))


def test_getitem_boolean_mask_routes_gradient():
    x = mg.tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    y = x[x > 0]
    np.testing.assert_array_equal(y.numpy(), [1.0, 4.0])
    (y * mg.tensor([10.0, 20.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[10.0, 0.0], [0.0, 20.0]])


def test_reductions_of_a_0d_tensor():
    for reduce in ("sum", "mean", "max", "min"):
        x = mg.tensor(3.0, requires_grad=True)
        y = getattr(x, reduce)()
        assert y.shape == () and y.item() == 3.0
        y.backward()
        assert x.grad.shape == () and x.grad.item() == 1.0
    assert mg.tensor(3.0).sum(axis=0).shape == ()  # as NumPy: axis 0 of a 0-d array


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "logsumexp"])
@pytest.mark.parametrize("axis", [0, -1, (0,), (-1,), [0]])
@pytest.mark.parametrize("keepdims", [False, True])
def test_a_0d_tensor_reduced_over_axis_0_or_minus_1_is_itself(reduce, axis, keepdims):
    # PyTorch names a 0-d tensor's one "dimension" 0 or -1: x.sum(dim=-1) is x
    x = mg.tensor(3.0, requires_grad=True)
    fn = mg.logsumexp if reduce == "logsumexp" else getattr(mg.Tensor, reduce)
    y = fn(x, axis=axis, keepdims=keepdims)
    assert y.shape == () and y.item() == 3.0
    y.backward()
    assert x.grad.shape == () and x.grad.item() == 1.0
    with pytest.raises(IndexError, match="axis 1 is out of bounds"):
        fn(x, axis=1)
    with pytest.raises(IndexError, match="axis -2 is out of bounds"):
        fn(x, axis=(-2,))


@pytest.mark.parametrize("fn", [lambda x: x.sum(axis=2), lambda x: x.max(axis=-3),
                                lambda x: x.mean(axis=(0, 5)), lambda x: x.transpose(0, 2),
                                lambda x: x.permute(2, 0), lambda x: x.squeeze(3),
                                lambda x: mg.logsumexp(x, axis=2),
                                lambda x: mg.concatenate([x, x], axis=2),
                                lambda x: mg.stack([x, x], axis=4)])
def test_an_axis_out_of_range_is_an_index_error_as_in_pytorch(fn):
    # (and a ValueError, as NumPy's AxisError, for code written against NumPy)
    x = mg.tensor(np.ones((2, 3)))
    for kind in (IndexError, ValueError):
        with pytest.raises(kind, match="axis -?[0-9] is out of"):
            fn(x)


def test_permute_refuses_axes_out_of_range_instead_of_wrapping_them():
    x = mg.zeros(2, 3, 4)
    with pytest.raises(IndexError, match=r"transpose: axis 3 is out of range.*\(2, 3, 4\)"):
        x.permute(3, 1, 2)
    with pytest.raises(IndexError, match="axis 5"):
        x.transpose(0, 1, 5)
    with pytest.raises(ValueError, match="not a permutation"):
        x.permute(0, 0, 1)
    assert x.permute(-1, 0, 1).shape == (4, 2, 3)


def test_a_0d_tensor_transposes_and_squeezes_over_axis_0_or_minus_1():
    x = mg.tensor(2.0, requires_grad=True)
    for y in (x.transpose(0, -1), x.swapaxes(-1, 0), x.squeeze(0), x.squeeze(-1), x.T):
        assert y.shape == () and y.item() == 2.0
    x.transpose(0, -1).backward()
    assert x.grad.item() == 1.0
    with pytest.raises(IndexError, match="axis 1 is out of range"):
        x.transpose(0, 1)


def test_reshape_takes_minus_1_and_refuses_other_negative_sizes():
    x = mg.zeros(24)
    assert x.reshape(-1, 12).shape == (2, 12)
    with pytest.raises(ValueError, match=r"^reshape: invalid shape dimension -2 in \(-2, 12\)"):
        x.reshape(-2, 12)


def test_sum_gradient_is_broadcast_back_with_keepdims_false():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    (x.sum(axis=0) * mg.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])


def test_mean_gradient_is_one_over_n():
    x = mg.tensor(np.ones((2, 4)), requires_grad=True)
    x.mean(axis=(0, 1)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 4), 1 / 8))


def test_sigmoid_and_logsumexp_are_stable_for_large_inputs():
    x = mg.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow in exp
        s = x.sigmoid()
        lse = mg.logsumexp(x)
        sm = F.softmax(x)
        lsm = F.log_softmax(x)
    np.testing.assert_array_equal(s.numpy(), [0.0, 0.5, 1.0])
    assert lse.item() == 1000.0
    np.testing.assert_array_equal(sm.numpy(), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(lsm.numpy(), [-2000.0, -1000.0, 0.0])
    lse.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])


def test_softmax_rows_sum_to_one_and_gradient_of_the_sum_is_zero():
    x = mg.tensor(_data((3, 4), "any", 1), requires_grad=True)
    p = F.softmax(x, axis=-1)
    np.testing.assert_allclose(p.sum(axis=-1).numpy(), np.ones(3), rtol=1e-15)
    p.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.zeros((3, 4)), atol=1e-15)


def test_transpose_with_explicit_axes_and_inverse_gradient():
    x = mg.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = x.transpose(2, 0, 1)
    assert y.shape == (4, 2, 3)
    weights = np.arange(24.0).reshape(4, 2, 3)
    (y * weights).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), weights.transpose(1, 2, 0))


def test_unsqueeze_and_squeeze_accept_every_valid_axis():
    x = mg.tensor(np.ones((2, 3)))
    assert [x.unsqueeze(a).shape for a in (0, 1, 2, -1, -2, -3)] == [
        (1, 2, 3), (2, 1, 3), (2, 3, 1), (2, 3, 1), (2, 1, 3), (1, 2, 3)]
    y = mg.tensor(np.ones((2, 1)))
    assert y.squeeze(-1).shape == (2,) and y.squeeze(0).shape == (2, 1)
    assert mg.tensor(np.ones((1, 3, 1))).squeeze().shape == (3,)


def test_stack_and_concatenate_take_constants_and_split_gradients():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    s = mg.stack([a, np.zeros(2), b], axis=-1)
    assert s.shape == (2, 3)
    (s * np.arange(6.0).reshape(2, 3)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 3.0])
    np.testing.assert_array_equal(b.grad.numpy(), [2.0, 5.0])


# ----------------------------------------------------------------------------- errors name the
# op, the shapes and what was expected


def _raises(exc, pattern, fn):
    with pytest.raises(exc, match=pattern):
        fn()


def test_matmul_misaligned_names_shapes():
    a, b = mg.tensor(np.ones((3, 4))), mg.tensor(np.ones((5, 2)))
    _raises(ValueError, r"^matmul: shapes \(3, 4\) and \(5, 2\) are not aligned: 4 != 5",
            lambda: a @ b)
    _raises(ValueError, r"matmul: shapes \(3,\) and \(4,\) are not aligned: 3 != 4",
            lambda: mg.tensor(np.ones(3)) @ mg.tensor(np.ones(4)))
    _raises(ValueError, r"matmul: shapes \(\) and \(3,\).*at least one dimension",
            lambda: mg.tensor(2.0) @ mg.tensor(np.ones(3)))
    _raises(ValueError, r"matmul: shapes \(2, 3, 4\) and \(3, 4, 5\) cannot be broadcast",
            lambda: mg.tensor(np.ones((2, 3, 4))) @ mg.tensor(np.ones((3, 4, 5))))


@pytest.mark.parametrize(
    "name, fn",
    [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
     ("div", lambda a, b: a / b), ("pow", lambda a, b: a**b), ("maximum", mg.maximum),
     ("minimum", mg.minimum)],
)
def test_broadcast_failure_names_op_and_shapes(name, fn):
    a = mg.tensor(np.ones((3, 4)), requires_grad=True)
    b = mg.tensor(np.ones((5, 2)))
    _raises(ValueError, rf"^{name}: shapes \(3, 4\) and \(5, 2\) cannot be broadcast",
            lambda: fn(a, b))
    _raises(ValueError, rf"^{name}: shapes \(3, 4\) and \(2,\) cannot be broadcast",
            lambda: fn(a, np.ones(2)))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
def test_bad_axis_names_op_axis_and_shape(reduce):
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    _raises(ValueError, rf"^{reduce}: axis 2 is out of bounds.*dimension 2.*\(2, 3\)",
            lambda: getattr(x, reduce)(axis=2))
    _raises(ValueError, rf"^{reduce}: axis -3 is out of bounds",
            lambda: getattr(x, reduce)(axis=-3))


def test_logsumexp_bad_axis():
    _raises(ValueError, r"logsumexp.*axis 3 is out of bounds",
            lambda: mg.logsumexp(mg.tensor(np.ones((2, 3))), axis=3))


def test_max_of_an_empty_tensor():
    _raises(ValueError, r"^max: max over an empty axis is undefined.*\(0, 3\)",
            lambda: mg.tensor(np.ones((0, 3))).max())
    _raises(ValueError, r"^min: min over an empty axis",
            lambda: mg.tensor(np.ones((0, 3))).min(axis=0))
    # other axes may be empty (as in PyTorch): then so is the result
    x = mg.tensor(np.ones((0, 3)), requires_grad=True)
    out = x.max(axis=1)
    assert out.shape == (0,)
    out.sum().backward()
    assert x.grad.shape == (0, 3)


@pytest.mark.parametrize(
    "fn, pattern",
    [(lambda x: x.reshape(4, 2), r"^reshape: cannot reshape array of size 6 into shape \(4,\s?2\)"
      r".*\(2, 3\)"),
     (lambda x: x.transpose(1, 0, 2), r"^transpose: .*\(2, 3\)"),
     (lambda x: x[5], r"^getitem: index 5 is out of bounds.*\(2, 3\)"),
     (lambda x: x[0, 0, 0], r"^getitem: too many indices.*\(2, 3\)"),
     (lambda x: x[mg.tensor([0.0, 1.0])], r"^getitem: .*integer"),
     (lambda x: x.broadcast_to((4, 3, 2)), r"^broadcast_to: .*\(2, 3\)"),
     (lambda x: mg.where(np.array([1, 0, 1]), x, 0.0), r"^where: condition must be a boolean"),
     (lambda x: mg.concatenate([x, mg.zeros(3, 2)]), r"^concatenate: .*\(2, 3\).*\(3, 2\)"),
     (lambda x: mg.concatenate([]), r"^concatenate: expected a non-empty list"),
     (lambda x: mg.concatenate([mg.tensor(1.0), mg.tensor(2.0)]), r"^concatenate: 0-d"),
     (lambda x: mg.stack([x, mg.zeros(3, 2)]), r"^stack: .*same shape.*\(2, 3\).*\(3, 2\)"),
     (lambda x: mg.stack([]), r"^stack: expected a non-empty list"),
     (lambda x: x.clip(), r"clip: at least one of lo and hi"),
     (lambda x: x.unsqueeze(3), r"^unsqueeze: axis 3 is out of range.*\(2, 3\)"),
     (lambda x: x.unsqueeze(-4), r"^unsqueeze: axis -4 is out of range"),
     (lambda x: x.squeeze(2), r"^squeeze: axis 2 is out of range.*\(2, 3\)"),
     (lambda x: x.swapaxes(0, 2), r"^swapaxes: axis 2 is out of range.*\(2, 3\)")],
)
def test_shape_and_index_errors_name_the_op(fn, pattern):
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises((ValueError, IndexError, TypeError), match=pattern):
        fn(x)


# ----------------------------------------------------------------------------- sigmoid paths
# sigmoid_array takes the textbook formula when no e^-x can overflow, else exp(-|x|) with a
# where: each path must be accurate to about an ulp, finite, and silent at extreme inputs
# (including a nan), whatever the array's size.
@pytest.mark.parametrize("n", [1, 10, 128, 129, 5000])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 4e-16), (np.float32, 2.5e-7)])
def test_sigmoid_is_accurate_on_every_path(n, dtype, rtol):
    x = np.random.default_rng(n).standard_normal(n).astype(dtype) * 12
    x[0] = -32.7  # where exp(-softplus(-x)) would be 20 ulp off
    ref = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    got = mg.tensor(x).sigmoid().numpy()
    assert got.dtype == dtype
    np.testing.assert_allclose(got.astype(np.longdouble), ref, rtol=rtol, atol=0)


@pytest.mark.parametrize("n", [6, 500])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_of_extreme_inputs_is_finite_and_warns_nothing(n, dtype):
    x = np.linspace(-1.0, 1.0, n).astype(dtype)
    x[:5] = [-1e4, 1e4, -np.inf, np.inf, np.nan]
    t = mg.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = t.sigmoid()
        s.sum().backward()
    np.testing.assert_array_equal(s.numpy()[:5], [0.0, 1.0, 0.0, 1.0, np.nan])
    assert np.isfinite(t.grad.numpy()[np.arange(n) != 4]).all()


@pytest.mark.parametrize("values", [[np.nan, -1e4, 0.5], [0.5, np.nan, -1e4], [-1e4, np.nan],
                                    [np.nan] * 3 + [-800.0] * 30])
def test_sigmoid_finds_a_very_negative_value_wherever_a_nan_sits(values):
    x = np.array(values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in e^-x would raise here
        got = mg.tensor(x).sigmoid().numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(x))
    assert (got[x < -700] == 0.0).all()


# ----------------------------------------------------------------------------- PyTorch's
# semantics where NumPy's differ (found by probing against torch 2.13; the expected values
# below are the mathematics, not a library's output)
def test_log_softmax_keeps_its_precision_at_large_logits():
    x = mg.tensor([1e17, 1e17], requires_grad=True)
    out = F.log_softmax(x)
    np.testing.assert_allclose(out.numpy(), [-np.log(2.0)] * 2, rtol=1e-15)
    out[0].backward()  # d/dx_j log softmax_0 = [j == 0] - softmax_j
    np.testing.assert_allclose(x.grad.numpy(), [0.5, -0.5], rtol=1e-15)
    x32 = mg.tensor(np.array([1000.0, 1000.0, -1000.0], np.float32))
    got = F.log_softmax(x32).numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [-np.log(2.0), -np.log(2.0), -2000.0 - np.log(2.0)],
                               rtol=1e-7)
    # a row of -inf is nan (0/0), as is softmax's
    with np.errstate(invalid="ignore"):
        assert np.isnan(F.log_softmax(mg.tensor([-np.inf, -np.inf])).numpy()).all()


def test_transpose_of_two_axes_swaps_them_as_in_pytorch():
    a = np.arange(24.0).reshape(2, 3, 4)
    m = mg.tensor(a[0])
    np.testing.assert_array_equal(m.transpose(0, 1).numpy(), a[0].T)
    np.testing.assert_array_equal(m.transpose(1, 0).numpy(), a[0].T)
    x = mg.tensor(a, requires_grad=True)
    y = x.transpose(1, 2)
    np.testing.assert_array_equal(y.numpy(), a.swapaxes(1, 2))
    (y * np.arange(24.0).reshape(2, 4, 3)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(24.0).reshape(2, 4, 3)
                                  .swapaxes(1, 2))
    # a full permutation (or one tuple) permutes, as NumPy's transpose and torch's permute
    np.testing.assert_array_equal(x.transpose(2, 0, 1).numpy(), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(m.transpose((0, 1)).numpy(), a[0])
    np.testing.assert_array_equal(x.permute(1, 2, 0).numpy(), a.transpose(1, 2, 0))
    _raises(IndexError, r"^transpose: axis 1 is out of range", lambda: mg.ones(3).transpose(0, 1))


def test_gradient_of_zero_to_a_tensor_power():
    # d/dp 0^p = 0^p log 0: 0 where p >= 0 (PyTorch's convention), inf·(-inf) = -inf where p < 0
    for base in (0.0, mg.zeros(3, requires_grad=True)):
        p = mg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
        with np.errstate(divide="ignore"):
            (base**p).sum().backward()
        np.testing.assert_array_equal(p.grad.numpy(), [-np.inf, 0.0, 0.0])


def test_comparisons_promote_as_pytorch():
    x32 = mg.tensor(np.array([0.1, 0.2], np.float32))
    assert (x32 == np.float64(0.1)).numpy().tolist() == [True, False]
    assert (x32 == mg.tensor(0.1)).numpy().tolist() == [True, False]
    assert (x32 <= np.array(0.1)).numpy().tolist() == [True, False]
    # two n-d arrays compare as NumPy (and PyTorch) promote them: in float64
    assert (x32 == np.array([0.1, 0.2])).numpy().tolist() == [False, False]


def test_concatenate_and_stack_of_one_tensor_backward():
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    (mg.concatenate([p]) * 3.0).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [3.0, 3.0])
    q = mg.tensor([1.0, 2.0], requires_grad=True)
    (mg.stack([q], axis=1) * np.array([[2.0], [5.0]])).sum().backward()
    np.testing.assert_array_equal(q.grad.numpy(), [2.0, 5.0])


def test_reductions_over_empty_tensors():
    e = mg.zeros(0, requires_grad=True)
    with np.errstate(invalid="ignore"):
        m = e.mean()
    assert np.isnan(m.item())
    m.backward()
    assert e.grad.shape == (0,)
    assert F.logsumexp(mg.zeros(0), axis=0).item() == -np.inf
    assert F.softmax(mg.zeros((2, 0)), axis=1).shape == (2, 0)
    assert F.log_softmax(mg.zeros((2, 0)), axis=1).shape == (2, 0)


def test_axis_lists_are_tuples():
    a = np.arange(6.0).reshape(2, 3)
    x = mg.tensor(a, requires_grad=True)
    assert x.sum(axis=[0, 1]).item() == 15.0
    np.testing.assert_array_equal(x.mean(axis=[0]).numpy(), a.mean(axis=0))
    np.testing.assert_array_equal(x.max(axis=[1]).numpy(), [2.0, 5.0])
    np.testing.assert_array_equal(x.min(axis=[0, 1]).numpy(), 0.0)
    np.testing.assert_allclose(F.logsumexp(x, axis=[1]).numpy(),
                               np.log(np.exp(a).sum(axis=1)), rtol=1e-15)


def test_float32_stays_float32_against_0d_and_integer_operands():
    c = mg.tensor(np.array([True, False]))
    x32 = mg.tensor(np.array([1.0, 2.0], np.float32))
    assert mg.where(c, x32, mg.tensor(0.5)).dtype == np.float32
    assert mg.where(c, x32, mg.tensor(np.array([3, 4]))).dtype == np.float32
    assert mg.concatenate([x32, mg.tensor(np.array([3, 4]))]).dtype == np.float32
    assert mg.stack([x32, mg.tensor(np.array([3, 4]))]).dtype == np.float32
    assert x32.clip(np.array(-1.0), np.array(1.5)).dtype == np.float32
    assert x32.clip(mg.tensor(0.0), mg.tensor(1.5)).numpy().tolist() == [1.0, 1.5]
    # two float dtypes still widen (float32 with float64 is float64, as in PyTorch)
    assert mg.concatenate([x32, mg.tensor([1.0])]).dtype == np.float64
    _raises(ValueError, r"^clip: lo requires grad",
            lambda: x32.clip(mg.tensor(0.0, requires_grad=True), 1.0))
    s = mg.tensor(np.array([True, False])).sigmoid()
    assert s.dtype == np.float64
    np.testing.assert_allclose(s.numpy(), [1 / (1 + np.exp(-1.0)), 0.5], rtol=1e-15)


def test_softmax_family_names_itself_for_a_bad_axis():
    x = mg.tensor(np.ones((2, 3)))
    for fn in (F.softmax, F.log_softmax):
        _raises(ValueError, rf"^{fn.__name__}: axis 3 is out of bounds.*\(2, 3\)",
                lambda fn=fn: fn(x, axis=3))


def test_softmax_of_a_0d_tensor_is_one():
    x = mg.tensor(2.0, requires_grad=True)
    assert F.softmax(x).item() == 1.0 and F.softmax(x).shape == ()
    out = F.log_softmax(x)
    assert out.item() == 0.0 and out.shape == ()
    out.backward()
    assert x.grad.item() == 0.0


@pytest.mark.parametrize("fn", [lambda x: x + 1j, lambda x: x - np.array([1 + 1j, 2, 3]),
                                lambda x: mg.maximum(x, 1 + 2j),
                                lambda x: x * np.array(["a", "b", "c"])])
def test_arithmetic_refuses_operands_that_are_not_real_numbers(fn):
    x = mg.tensor([0.5, 1.5, 2.5], requires_grad=True)
    with pytest.raises(TypeError, match=r"^(add|sub|maximum|mul): operands must be real"):
        fn(x)


def test_where_refuses_branches_that_are_not_numbers():
    x = mg.tensor([0.5, 1.5, 2.5], requires_grad=True)
    for other in (None, "a", 1 + 2j):
        with pytest.raises(TypeError, match=r"^where: x and y must be real numbers"):
            mg.where(x > 1, x, other)


def test_sum_to_refuses_a_shape_the_input_is_no_broadcast_of():
    x = mg.tensor(np.ones((2, 3)))
    for shape in ((4,), (5, 3), (2, 1, 3)):
        with pytest.raises(ValueError, match=r"^sum_to: cannot sum shape \(2, 3\) down to"):
            x.sum_to(shape)
    assert x.sum_to((1, 3)).tolist() == [[2.0, 2.0, 2.0]] and x.sum_to(()).item() == 6.0


def test_var_without_degrees_of_freedom_is_inf_or_nan_as_in_pytorch():
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "mean of empty slice"
        assert mg.tensor([[1.0, 2.0], [3.0, 5.0]]).var(axis=0, ddof=3).tolist() == [np.inf] * 2
        assert np.isnan(mg.tensor(np.zeros(0)).var().item())  # no data: nan, not -0.0


@pytest.mark.parametrize("fn", [lambda x, M: x + [1j, 1], lambda x, M: M @ np.array([1j, 1]),
                                lambda x, M: mg.maximum(x, [1j, 1]),
                                lambda x, M: x + __import__("fractions").Fraction(1, 2)])
def test_complex_or_object_operands_are_refused_also_in_lists_and_matmul(fn):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    M = mg.tensor(np.eye(2), requires_grad=True)
    with pytest.raises(TypeError, match="operands must be real numbers"):
        fn(x, M)
