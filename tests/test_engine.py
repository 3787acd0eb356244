"""The reverse-mode engine (issue 2): accumulation, reuse, retain_graph, no_grad, detach,
deep chains, memory, version counters and in-place rules, mg.grad, create_graph,
dtype preservation, and skipping the work for inputs that need no gradient."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import microgradlin as mg

# ----------------------------------------------------------------------------- accumulation


def test_grads_accumulate_across_backward_calls_and_reset_with_none():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    for k in range(1, 4):
        (w * w).sum().backward()
        np.testing.assert_array_equal(w.grad.numpy(), k * np.array([2.0, 4.0]))
    w.grad = None
    (3 * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])


def test_grad_has_the_shape_and_dtype_of_its_leaf():
    w = mg.tensor(np.ones((2, 1), dtype=np.float32), requires_grad=True)
    (w * np.ones((3, 2, 4))).sum().backward()  # broadcast to (3, 2, 4), against float64
    assert w.grad.shape == (2, 1) and w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad.numpy(), np.full((2, 1), 12.0))
    assert isinstance(w.grad, mg.Tensor) and not w.grad.requires_grad


def test_backward_of_a_leaf_itself():
    x = mg.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_a_reused_node_gets_the_exact_gradient():
    a = mg.tensor(1.5, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


@pytest.mark.parametrize("shape", [(), (1,), (3,)])
def test_a_node_used_many_times_sums_all_its_gradients(shape):
    """b feeds four consumers: every contribution must reach a (0-d tensors included: NumPy
    returns immutable scalars from 0-d arithmetic, an in-place += on one is lost)."""
    a = mg.tensor(np.full(shape, 2.0), requires_grad=True)
    b = a * 1.0
    (b + b + b + b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full(shape, 4.0))


@pytest.mark.parametrize("shape", [(), (2,)])
def test_diamonds_and_powers_of_a_reused_scalar(shape):
    a = mg.tensor(np.full(shape, 2.0), requires_grad=True)
    b = a * 3.0
    (b * b * b).sum().backward()  # d/da (3a)³ = 81 a²
    np.testing.assert_allclose(a.grad.numpy(), np.full(shape, 81 * 4.0))
    x0 = 0.7
    x = mg.tensor(np.full(shape, x0), requires_grad=True)
    e = x.exp()
    ((e * x) + (e * 2.0) + e.exp() + e * e).sum().backward()
    ex = np.exp(x0)
    expected = ex * x0 + ex + 2 * ex + np.exp(ex) * ex + 2 * ex * ex
    np.testing.assert_allclose(x.grad.numpy(), np.full(shape, expected), rtol=1e-14)


def test_leaf_grads_never_share_memory():
    """Two leaves fed by the same gradient array (an Add) must not share one .grad buffer:
    an in-place change to one grad (clipping, scaling) must leave the other alone."""
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    ((a + b) * mg.tensor([5.0, 6.0])).sum().backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    with mg.no_grad():
        a.grad *= 0.5
    np.testing.assert_array_equal(b.grad.numpy(), [5.0, 6.0])
    h = a + 0.0
    h.retain_grad()
    a.grad = None
    (h * 2.0).sum().backward()
    assert not np.shares_memory(h.grad.data, a.grad.data)


def test_one_array_returned_for_two_inputs_reaches_no_two_leaves():
    """A rule that returns one array for several inputs (x + y gives (g, g)) must not make
    two leaves share it, also when one of them gets it through a pass-through node (clone)
    or from a rule of three inputs."""
    from microgradlin.autograd import Function

    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    for combine in (lambda: a + b.clone(), lambda: a.clone() + b,
                    lambda: a.clone() + b.clone(), lambda: (a + b.clone()) * 1.0):
        a.grad = b.grad = None
        combine().backward(np.array([1.0, 1.0]))
        assert not np.shares_memory(a.grad.data, b.grad.data)
        np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0])

    class SumOfThree(Function):
        def forward(self, x, y, z):
            return x + y + z

        def backward(self, g, x, y, z, out):
            return g, g.copy(), g  # inputs 0 and 2 get one array

    xs = [mg.tensor([1.0, 2.0], requires_grad=True) for _ in range(3)]
    SumOfThree.apply(*xs).backward(np.array([1.0, 1.0]))
    datas = [x.grad.data for x in xs]
    assert not any(np.shares_memory(datas[i], datas[j])
                   for i in range(3) for j in range(i + 1, 3))
    with mg.no_grad():
        xs[0].grad *= 3.0
    np.testing.assert_array_equal(xs[2].grad.numpy(), [1.0, 1.0])


def test_leaf_grad_does_not_alias_the_callers_gradient():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    seed = np.array([1.0, 1.0])
    (a + 0.0).backward(seed)
    a.grad.data[0] = 99.0
    assert seed[0] == 1.0


# ----------------------------------------------------------------------------- retain_graph


def test_second_backward_without_retain_graph_raises_and_says_how_to_fix():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        loss.backward()


def test_saved_values_are_released_after_backward():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    h = w.exp()
    loss = (h * w).sum()
    nodes = [loss.grad_fn, h.grad_fn, loss.grad_fn.parents[0]]
    assert all(node.saved is not None for node in nodes)
    loss.backward()
    assert all(node.saved is None for node in nodes)


def test_retain_graph_allows_a_second_backward_which_accumulates():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w.exp()).sum()
    loss.backward(retain_graph=True)
    first = w.grad.numpy().copy()
    assert loss.grad_fn.saved is not None
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * first)


def test_mg_grad_frees_the_graph_unless_retained():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (a**3).sum()
    mg.grad(loss, a, retain_graph=True)
    mg.grad(loss, a)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        mg.grad(loss, a)


# ----------------------------------------------------------------------------- non-scalar


def test_backward_on_a_non_scalar_needs_a_gradient():
    y = mg.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"scalar outputs.*shape \(2,\).*gradient="):
        y.backward()


def test_backward_with_a_gradient_is_a_vector_jacobian_product():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    (a * a).backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 40.0])
    a.grad = None
    (a * 2).backward(gradient=mg.tensor([1.0, 10.0]))
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 20.0])


def test_backward_gradient_of_the_wrong_shape():
    y = mg.tensor([1.0, 2.0, 3.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"gradient has shape \(2,\).*output has shape \(3,\)"):
        y.backward(np.ones(2))


def test_backward_on_a_tensor_without_graph():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0]).sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        with mg.no_grad():
            y = (mg.tensor([1.0], requires_grad=True) * 2).sum()
        y.backward()


# ----------------------------------------------------------------------------- grad mode


def test_no_grad_context_manager_records_nothing():
    w = mg.tensor([1.0], requires_grad=True)
    assert mg.is_grad_enabled()
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = w * 2
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_no_grad_and_enable_grad_as_decorators():
    w = mg.tensor([1.0], requires_grad=True)

    @mg.no_grad
    def bare(x):
        return x * 2

    @mg.no_grad()
    def called(x):
        return x * 2

    @mg.enable_grad()
    def recording(x):
        return x * 2

    assert not bare(w).requires_grad and not called(w).requires_grad
    assert bare.__name__ == "bare"
    with mg.no_grad():
        assert recording(w).requires_grad
    assert mg.is_grad_enabled()


def test_a_reused_set_grad_enabled_switches_at_each_with_and_switches_bind_none():
    switch = mg.set_grad_enabled(False)  # switched at once, as a function call
    seen = [mg.is_grad_enabled()]
    with switch:
        seen.append(mg.is_grad_enabled())
    seen.append(mg.is_grad_enabled())
    with switch:  # (PyTorch: the mode is set again on entry)
        seen.append(mg.is_grad_enabled())
    seen.append(mg.is_grad_enabled())
    assert seen == [False, False, True, False, True]
    with mg.no_grad() as bound, mg.enable_grad() as bound_too:
        assert bound is None and bound_too is None  # as PyTorch's


def test_a_leftover_entry_in_the_engines_off_list_changes_no_threads_mode():
    # an interrupted switch or a thread that ended inside no_grad() leaves one entry too
    # many: every thread must still see its own mode
    from microgradlin import autograd

    x = mg.tensor([1.0], requires_grad=True)
    autograd._threads_off.append(None)
    try:
        assert mg.is_grad_enabled() and (x * 2).requires_grad
        with mg.no_grad():
            assert not mg.is_grad_enabled() and not (x * 2).requires_grad
        assert mg.is_grad_enabled() and (x * 2).requires_grad
        assert len(autograd._threads_off) == 1
    finally:
        autograd._threads_off.pop()


def test_no_grad_refuses_an_argument_that_is_not_a_function():
    with pytest.raises(TypeError, match=r"no_grad: expected a function.*int"):
        mg.no_grad(3)
    with pytest.raises(TypeError, match=r"enable_grad: expected a function"):
        mg.enable_grad("x")


def test_enable_grad_nested_inside_no_grad():
    w = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        with mg.enable_grad():
            assert (w * 2).requires_grad
        assert not (w * 2).requires_grad
    with mg.set_grad_enabled(False):
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(KeyError):
        with mg.no_grad():
            raise KeyError("boom")
    assert mg.is_grad_enabled()

    @mg.no_grad
    def fails():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        fails()
    assert mg.is_grad_enabled()


def test_grad_mode_is_restored_after_a_failing_backward():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    with pytest.raises(RuntimeError):
        loss.backward(create_graph=True)
    assert mg.is_grad_enabled()


def test_detach_stops_the_gradient():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    h = a * 2
    (h * h.detach()).sum().backward()  # d/da (2a · const 2a) = 2 · 2a
    np.testing.assert_array_equal(a.grad.numpy(), [4.0, 8.0])


# ----------------------------------------------------------------------------- deep graphs
# and memory


def test_a_chain_of_100000_ops_backpropagates_without_recursion_error():
    x = mg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.0
        y = y + 0.0
    y.backward()
    assert x.grad.item() == 1.0
    del y  # freeing a 100,000-node chain must not overflow the C stack either
    gc.collect()


def _train(steps, X, y, w, b, lr=0.05):
    for _ in range(steps):
        loss = ((X @ w + b - y) ** 2).mean()
        loss.backward()
        with mg.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad = None
        b.grad = None
    return loss


def test_memory_stays_flat_over_thousands_of_training_steps():
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.normal(size=(32, 4)))
    y = mg.tensor(rng.normal(size=32))
    w = mg.zeros(4, requires_grad=True)
    b = mg.zeros((), requires_grad=True)
    _train(50, X, y, w, b)  # warm caches
    gc.collect()
    tracemalloc.start()
    try:
        _train(10, X, y, w, b)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        _train(2000, X, y, w, b)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # one leaked graph per step would be ≥ 2000 × (a few nodes + a (32,) array) ≫ 64 kB
    assert after - before < 64_000, f"memory grew by {after - before} bytes over 2000 steps"


def test_graph_nodes_are_freed_once_the_loss_is_dropped():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    h = w.exp()
    loss = (h * w).sum()
    refs = [weakref.ref(loss.grad_fn), weakref.ref(h.grad_fn)]
    loss.backward()
    del loss, h
    gc.collect()
    assert all(r() is None for r in refs)
    assert w.grad is not None  # the leaf keeps its gradient


def test_the_training_loop_updates_in_place_and_converges():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    true_w = np.array([1.0, -2.0, 0.5])
    y = X @ true_w + 0.3
    w = mg.zeros(3, requires_grad=True)
    b = mg.zeros((), requires_grad=True)
    w_id, w_data = id(w), w.data
    loss = _train(500, mg.tensor(X), mg.tensor(y), w, b, lr=0.1)
    assert id(w) == w_id and w.data is w_data  # the same tensor and buffer, as in PyTorch
    assert w.is_leaf and w.requires_grad
    assert loss.item() < 1e-10
    np.testing.assert_allclose(w.numpy(), true_w, atol=1e-5)
    np.testing.assert_allclose(b.item(), 0.3, atol=1e-5)


# ----------------------------------------------------------------------------- in-place rules
# and version counters


@pytest.mark.parametrize("update", [lambda w: w.__iadd__(1.0), lambda w: w.__isub__(1.0),
                                    lambda w: w.__imul__(2.0), lambda w: w.__itruediv__(2.0),
                                    lambda w: (w.__setitem__(0, 5.0), w)[1], lambda w: w.zero_(),
                                    lambda w: w.copy_(np.ones(2))])
def test_in_place_on_a_tensor_requiring_grad_outside_no_grad_raises(update):
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"in-place .*requires grad.*no_grad"):
        update(w)
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])  # left untouched
    with mg.no_grad():
        assert update(w) is w  # allowed inside no_grad, on the same object


def test_in_place_with_a_right_hand_side_requiring_grad_raises():
    target = mg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="right-hand side requires grad"):
        target += mg.tensor([1.0, 1.0], requires_grad=True)


def test_in_place_on_constants_is_always_allowed():
    t = mg.tensor([1.0, 2.0])
    t += 1
    t *= mg.tensor([2.0, 3.0])
    t[0] = 0.0
    np.testing.assert_array_equal(t.numpy(), [0.0, 9.0])


def test_in_place_error_names_shapes():
    t = mg.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"in-place add.*\(2, 3\).*\(4,\)"):
        t += np.ones(4)


def test_modifying_a_saved_input_makes_backward_raise():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    x = mg.tensor([3.0, 4.0])
    y = (w * x).sum()  # Mul saves x for w's gradient
    x += 1
    with pytest.raises(RuntimeError, match=r"saved for the backward of Mul was modified"):
        y.backward()


def test_modifying_a_saved_leaf_makes_backward_raise():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with mg.no_grad():
        w -= 0.1  # the update came before backward
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_modifying_a_saved_output_makes_backward_raise():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    e = w.exp()  # Exp saves its output
    with mg.no_grad():
        e += 1
    with pytest.raises(RuntimeError, match=r"backward of Exp was modified"):
        e.sum().backward()


def test_modifying_a_value_that_was_not_saved_is_fine():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    x = mg.tensor([3.0, 4.0])
    y = (w + x).sum()  # Add saves nothing
    x += 1
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("make_view", [lambda x: x[0:2], lambda x: x[..., :], lambda x: x.T,
                                       lambda x: x.reshape(3, 1), lambda x: x.detach(),
                                       lambda x: x[None]])
def test_views_share_the_version_counter(make_view):
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    z = (x * x).sum()  # saves x
    view = make_view(x)
    with mg.no_grad():
        view += 1
    assert x.numpy()[0] == 2.0  # the view changed x itself
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


@pytest.mark.parametrize("index", [0, -1, (1, 2), (0, -1)])
def test_one_element_picked_by_integers_is_a_view_as_in_pytorch(index):
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    if isinstance(index, int):
        x = x.reshape(-1)
    element = x[index]
    assert element.shape == ()
    element += 10  # reaches x (NumPy alone would hand out a copied scalar)
    assert x.numpy()[index] == element.item()
    x *= 2  # and x's changes reach the element
    assert element.item() == x.numpy()[index]
    w = mg.tensor(1.0, requires_grad=True)
    z = w * element  # saves the element
    with mg.no_grad():
        x[...] = 0.0  # a change of x is a change of the element: its version moved
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


def test_the_output_of_a_power_may_change_in_place_before_backward():
    # its backward reads x (and p), never x ** p: as PyTorch, no error and the right gradient
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    for power, expected in [(lambda x: x**2, [2.0, 4.0]), (lambda x: x**3, [3.0, 12.0]),
                            (lambda x: x ** mg.tensor([2.0, 3.0]), [2.0, 12.0])]:
        y = power(x)
        with mg.no_grad():
            y += 1
        x.grad = None
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), expected)
    p = mg.tensor([2.0, 3.0], requires_grad=True)
    y = 2.0**p  # the exponent's gradient 2^p log 2, also after y changed in place
    with mg.no_grad():
        y *= 0
    y.sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), 2.0 ** np.array([2.0, 3.0]) * np.log(2.0))


def test_a_quotient_watches_what_its_backward_reads_as_in_pytorch():
    # x / y reads y for both gradients and x only for y's: the output is never read
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x / 2.0
    with mg.no_grad():
        y += 1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.5])
    w = mg.tensor([4.0, 8.0], requires_grad=True)
    y = x / w  # x changes before backward: w's gradient -x / w² would be wrong
    with mg.no_grad():
        x += 1
    with pytest.raises(RuntimeError, match="backward of Div was modified"):
        y.sum().backward()
    c = mg.tensor([1.0, 2.0])
    y = w / c  # c is read for w's gradient 1 / c, however it was made
    c += 1
    with pytest.raises(RuntimeError, match="backward of Div was modified"):
        y.sum().backward()
    x2 = mg.tensor([1.0, 2.0])
    y = x2 / w  # w's gradient -x2 / w² reads w itself too
    with mg.no_grad():
        w += 0
    with pytest.raises(RuntimeError, match="backward of Div was modified"):
        y.sum().backward()
    y = w / x2  # w's gradient 1 / x2 does not read w: a change of w is harmless
    with mg.no_grad():
        w *= 2
    w.grad = None
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 0.5])


def test_an_advanced_index_is_a_copy_and_leaves_the_version_alone():
    x = mg.tensor([1.0, 2.0, 3.0])
    w = mg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    z = (w * x).sum()
    copy = x[np.array([0, 1])]
    copy += 10
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])
    z.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0, 3.0])


def test_setitem_bumps_the_version():
    x = mg.tensor([1.0, 2.0, 3.0])
    w = mg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    z = (w * x).sum()
    x[0] = 5.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


# ----------------------------------------------------------------------------- mg.grad


def test_mg_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    result = mg.grad((a * b).sum(), [a, b])
    assert isinstance(result, tuple) and len(result) == 2
    np.testing.assert_array_equal(result[0].numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(result[1].numpy(), [1.0, 2.0])
    assert a.grad is None and b.grad is None
    (single,) = mg.grad((a * a).sum(), a)
    np.testing.assert_array_equal(single.numpy(), [2.0, 4.0])


def test_mg_grad_allow_unused():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"input 1 .*not used.*allow_unused=True"):
        mg.grad((a * a).sum(), [a, b])
    ga, gb = mg.grad((a * a).sum(), [a, b], allow_unused=True)
    assert gb is None
    np.testing.assert_array_equal(ga.numpy(), [2.0, 4.0])


def test_mg_grad_with_respect_to_an_intermediate_tensor():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    h = a * 2
    ga, gh = mg.grad((h * h).sum(), [a, h])
    np.testing.assert_array_equal(gh.numpy(), [4.0, 8.0])  # 2h
    np.testing.assert_array_equal(ga.numpy(), [8.0, 16.0])  # 2h · 2


def test_mg_grad_of_several_outputs_with_grad_outputs():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = mg.grad([a * a, a.exp()], a, grad_outputs=[np.ones(2), np.array([1.0, 0.0])])
    np.testing.assert_allclose(g.numpy(), [2.0 + np.e, 4.0])


def test_mg_grad_when_one_output_feeds_another():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y * 3
    (g,) = mg.grad([y, z], x, grad_outputs=[np.ones(2), np.ones(2)])
    np.testing.assert_array_equal(g.numpy(), [8.0, 8.0])  # 2 + 2·3
    x2 = mg.tensor([1.0, 2.0], requires_grad=True)
    y2 = x2 * 2
    (g,) = mg.grad([y2, y2], x2, grad_outputs=[np.ones(2), np.array([1.0, 0.0])])
    np.testing.assert_array_equal(g.numpy(), [4.0, 2.0])
    (g,) = mg.grad([x2, (x2 * x2).sum()], x2, grad_outputs=[np.ones(2), None])
    np.testing.assert_array_equal(g.numpy(), [3.0, 5.0])  # 1 + 2x


def test_mg_grad_errors():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="input 0 does not require grad"):
        mg.grad((a * a).sum(), mg.tensor([1.0]))
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.grad(mg.tensor(1.0), a)
    with pytest.raises(ValueError, match="2 outputs but 1 grad_outputs"):
        mg.grad([a.sum(), a.sum()], a, grad_outputs=[np.ones(())])


def test_retain_grad_keeps_the_gradient_of_a_non_leaf():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    h = a * 3
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [6.0, 12.0])  # 2h
    np.testing.assert_array_equal(a.grad.numpy(), [18.0, 36.0])  # 2h · 3
    other = a * 3
    (other * other).sum().backward()
    assert other.grad is None  # not retained: PyTorch semantics


# ----------------------------------------------------------------------------- second order


def test_create_graph_makes_the_gradient_differentiable():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x**3).sum()
    loss.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad  # a graph behind the gradient: 3x²
    np.testing.assert_array_equal(g.numpy(), [3.0, 12.0])
    x.grad = None
    g.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 12.0])  # 6x


def test_create_graph_retains_the_graph_by_default():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x**3).sum()
    (g,) = mg.grad(loss, x, create_graph=True)
    loss.backward()  # still possible, as in PyTorch
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 12.0])
    (gg,) = mg.grad(g.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), [6.0, 12.0])


def test_without_create_graph_the_gradient_is_a_constant():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = mg.grad((x**3).sum(), x)
    assert not g.requires_grad and g.grad_fn is None


def test_second_derivative_through_relu_abs_and_l1_is_zero_as_in_pytorch():
    """PyTorch records the create_graph gradient of relu(x), |x| and l1_loss as a function
    of x (slope 0), so a second grad is 0, not an error; x * 3's stays a constant there
    (torch 2.13: requires_grad True for relu, abs, l1_loss; False for x * 3)."""
    from microgradlin import functional as F

    x = mg.tensor([[1.0, -2.0, 0.5], [-1.0, 2.0, 3.0]], requires_grad=True)
    expected_first = {
        "relu": (x.numpy() > 0).astype(float),
        "abs": np.sign(x.numpy()),
        "l1": np.sign(x.numpy()) / 6,
    }
    for name, f in (("relu", lambda: x.relu().sum()), ("abs", lambda: x.abs().sum()),
                    ("l1", lambda: F.l1_loss(x, mg.zeros_like(x)))):
        (g,) = mg.grad(f(), x, create_graph=True)
        assert g.requires_grad, name
        np.testing.assert_array_equal(g.numpy(), expected_first[name])
        (h,) = mg.grad((g * mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum(), x)
        np.testing.assert_array_equal(h.numpy(), np.zeros((2, 3)))
    (g,) = mg.grad((x * 3.0).sum(), x, create_graph=True)
    assert not g.requires_grad
    # a graph of its own is kept as it is: d²/dx² Σ relu(x)² = 2 where x > 0
    (g,) = mg.grad((x.relu() ** 2).sum(), x, create_graph=True)
    (h,) = mg.grad(g.sum(), x)
    np.testing.assert_array_equal(h.numpy(), 2.0 * (x.numpy() > 0))
    # also where the gradient depends on weights (a model): d/dx is 0, d/dw is the mask
    w = mg.tensor([[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]], requires_grad=True)
    for op in (lambda t: t.relu(), lambda t: t.abs()):
        (g,) = mg.grad((op(x) * w).sum(), x, create_graph=True)
        hx, hw = mg.grad(g.sum(), [x, w])
        np.testing.assert_array_equal(hx.numpy(), np.zeros((2, 3)))
        np.testing.assert_array_equal(hw.numpy(), op(x).numpy() / np.where(
            x.numpy() == 0, 1.0, x.numpy()) * (x.numpy() != 0))
    # and every higher order is 0 too (a third grad does not raise)
    (g,) = mg.grad(x.relu().sum(), x, create_graph=True)
    (h,) = mg.grad(g.sum(), x, create_graph=True)
    assert h.requires_grad
    np.testing.assert_array_equal(mg.grad(h.sum(), x)[0].numpy(), np.zeros((2, 3)))


def test_zero_slope_op_passes_its_value_and_gives_its_anchor_zero():
    from microgradlin.ops import ZeroSlope

    value = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    anchor = mg.tensor([0.5, -1.0], requires_grad=True)
    out = ZeroSlope.apply(value, anchor)
    np.testing.assert_array_equal(out.numpy(), value.numpy())
    assert mg.gradcheck(lambda v, a: ZeroSlope.apply(v, a), [value, anchor])
    (out * 2.0).sum().backward()
    np.testing.assert_array_equal(value.grad.numpy(), np.full((2, 3), 2.0))
    np.testing.assert_array_equal(anchor.grad.numpy(), [0.0, 0.0])


# ----------------------------------------------------------------------------- dtypes


def test_float32_stays_float32_through_a_training_step():
    rng = np.random.default_rng(2)
    X = mg.tensor(rng.normal(size=(8, 3)).astype(np.float32))
    y = mg.tensor(rng.normal(size=8).astype(np.float32))
    w = mg.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    b = mg.tensor(np.zeros((), dtype=np.float32), requires_grad=True)
    z = X @ w + b
    loss = ((z.sigmoid() - y) ** 2).mean() + 0.01 * (w * w).sum() + z.relu().max() / 8
    assert z.dtype == np.float32 and loss.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32
    with mg.no_grad():
        w -= 0.1 * w.grad
    assert w.dtype == np.float32
    (g,) = mg.grad((w**3).sum(), w, create_graph=True)
    assert g.dtype == np.float32
    assert mg.hessian(lambda v: (v**3).sum(), w).dtype == np.float32


def test_float64_leaf_in_a_float32_graph_gets_a_float64_grad():
    w64 = mg.tensor([1.0, 2.0], requires_grad=True)
    h = w64.astype(np.float32) * mg.tensor(np.ones(2, dtype=np.float32))
    assert h.dtype == np.float32
    h.sum().backward()
    assert w64.grad.dtype == np.float64


# ----------------------------------------------------------------------------- no work for
# inputs that need no gradient


class _Spy(np.ndarray):
    """An array that logs every NumPy ufunc it takes part in (matmul, multiply, ...)."""

    log: list = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _Spy.log.append(ufunc.__name__)
        plain = [i.view(np.ndarray) if isinstance(i, _Spy) else i for i in inputs]
        return getattr(ufunc, method)(*plain, **kwargs)


def _spied(shape, seed):
    t = mg.tensor(np.random.default_rng(seed).normal(size=shape), requires_grad=True)
    t.data = t.data.view(_Spy)
    return t


@pytest.mark.parametrize(
    "left_shape, right_shape",
    [((6, 4), (4, 3)), ((6, 4), (4,)), ((4,), (4, 3)), ((4,), (4,)), ((2, 6, 4), (4, 3)),
     ((2, 6, 4), (4,)), ((4,), (2, 4, 3)), ((2, 1, 3, 4), (5, 4, 2))],
)
@pytest.mark.parametrize("learned", ["left", "right"])
def test_no_gradient_work_for_a_constant_matmul_operand(left_shape, right_shape, learned):
    """X @ w with constant X: the backward pass only forms Xᵀ g and never touches w's values
    (no g @ wᵀ). A spy on w's data proves it; the control (X requiring grad too) shows that
    the spy does see that work when it is needed."""
    rng = np.random.default_rng(0)
    const_shape, learned_shape = ((right_shape, left_shape) if learned == "left"
                                  else (left_shape, right_shape))
    const_data = rng.normal(size=const_shape)

    def product(const, w):
        return w @ const if learned == "left" else const @ w

    for const_requires_grad in (False, True):
        const = mg.tensor(const_data, requires_grad=const_requires_grad)
        w = _spied(learned_shape, 1)
        out = product(const, w)
        _Spy.log.clear()
        out.backward(np.ones(out.shape))
        assert bool(_Spy.log) == const_requires_grad, _Spy.log
        assert (const.grad is not None) == const_requires_grad
        # and w's gradient is right: compare with the plain computation, g = ones
        w_plain = mg.tensor(w.data.view(np.ndarray), requires_grad=True)
        ref = product(mg.tensor(const_data), w_plain)
        ref.backward(np.ones(ref.shape))
        np.testing.assert_allclose(w.grad.numpy(), w_plain.grad.numpy(), rtol=1e-14)


def test_no_gradient_work_for_a_constant_factor():
    c = mg.tensor([2.0, 3.0])
    w = _spied((2,), 2)
    out = c * w
    _Spy.log.clear()
    out.sum().backward()
    assert _Spy.log == []  # only g * c was formed
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 3.0])


def test_backward_is_not_asked_for_gradients_nobody_needs():
    from microgradlin.autograd import Function

    asked = []

    class Probe(Function):
        def forward(self, x, y):
            return x * y

        def backward(self, g, x, y, out):
            asked.append(self.needs_input_grad)
            return (g if self.needs_input_grad[0] else None,
                    g if self.needs_input_grad[1] else None)

    a = mg.tensor([1.0], requires_grad=True)
    Probe.apply(a, mg.tensor([2.0])).sum().backward()
    Probe.apply(mg.tensor([2.0]), a).sum().backward()
    assert asked == [(True, False), (False, True)]
    node = Probe.apply(a, mg.tensor([2.0])).grad_fn
    assert node.parents[1] is None and node.meta[1] is None


# ----------------------------------------------------------------------------- review fixes
def test_transpose_with_negative_axes_sends_back_a_gradient_of_the_input_shape():
    x = mg.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    w = np.random.default_rng(0).standard_normal((4, 2, 3))
    (x.permute(-1, 0, 1) * mg.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.transpose(w, (1, 2, 0)))


def test_cast_to_an_integer_dtype_leaves_the_graph():
    x = mg.tensor([1.5, 2.5], requires_grad=True)
    y = x.astype(np.int64)
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.numpy(), [1, 2])


def test_set_grad_enabled_as_a_call_a_context_and_a_decorator():
    x = mg.tensor([1.0], requires_grad=True)
    try:
        mg.set_grad_enabled(False)
        assert not (x * 2).requires_grad
    finally:
        mg.set_grad_enabled(True)
    assert (x * 2).requires_grad
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad

    @mg.set_grad_enabled(False)
    def f():
        return (x * 2).requires_grad

    assert (x * 2).requires_grad and not f() and (x * 2).requires_grad


def test_mg_grad_returns_separate_writable_arrays():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    ga, gb = mg.grad(a + b, [a, b], grad_outputs=mg.tensor([1.0, 1.0]))
    assert not np.shares_memory(ga.data, gb.data)
    (g,) = mg.grad(a.sum(), a)
    g.data[0] = 5.0  # writable, not a broadcast view
    assert g.numpy().tolist() == [5.0, 1.0]


def test_numpy_error_subclasses_are_reported_not_crashed_on():
    t = mg.tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match=r"in-place add .*int64"):
        t += 1.5
    with pytest.raises(TypeError, match=r"^clip: "):
        mg.tensor([1.0, 2.0]).clip("a", None)


def test_in_place_change_of_a_saved_output_of_an_op_that_also_saved_its_input():
    """Max saves its input and its output: changing the output must be caught too."""
    x = mg.tensor([1.0, 3.0, 2.0], requires_grad=True)
    m = x.max(axis=0, keepdims=True)
    y = m.sum()  # Sum saves nothing: only Max's record of its output can notice
    with mg.no_grad():
        m += 1.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


# ----------------------------------------------------------------------------- visiting order
# The engine visits nodes newest first (by the sequence number each node gets when it is
# recorded) instead of counting consumers first. These graphs check that every node still
# runs once, after all of its consumers, whatever order its branches were built in.


def test_branches_built_in_any_order_sum_their_gradients():
    x = mg.tensor([0.3, -0.7, 1.1], requires_grad=True)
    late = x * 3.0  # recorded before the chain that uses x first
    a = x.exp()
    b = (a * a).tanh()  # one node feeds both inputs of the next
    c = b * late + a.sigmoid()
    (c.sum() + late.sum()).backward()
    xv = x.numpy()
    e = np.exp(xv)
    t = np.tanh(e * e)
    s = 1 / (1 + np.exp(-e))
    expected = ((1 - t**2) * 2 * e * e) * 3 * xv + t * 3 + s * (1 - s) * e + 3
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_a_node_feeding_both_inputs_of_its_consumer_in_a_chain():
    x = mg.tensor([0.5, 2.0], requires_grad=True)
    y = x.exp()
    (y * y).sum().backward()  # d/dx e^{2x} = 2 e^{2x}
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * x.numpy()), rtol=1e-14)


def test_a_leaf_times_itself_gets_both_gradients_and_its_own_grad_array():
    # Mul's backward forms g * x once for x * x and hands it to both inputs
    x = mg.tensor([0.5, -2.0, 3.0], requires_grad=True)
    (x * x).backward(np.array([1.0, 10.0, 100.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, -40.0, 600.0])
    y = mg.tensor([1.0, 2.0], requires_grad=True)
    z = mg.tensor([3.0, 4.0], requires_grad=True)
    (y * y * z).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [6.0, 16.0])
    np.testing.assert_array_equal(z.grad.numpy(), [1.0, 4.0])
    np.testing.assert_array_equal(mg.hessian(lambda v: (v * v).sum(), x).numpy(),
                                  2 * np.eye(3))


def test_recorded_ops_that_do_not_reach_the_loss_are_ignored():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    unused = (y * 5.0).exp()  # recorded after y, never part of the loss
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.numpy())
    assert unused.grad_fn.saved is not None  # its graph was not walked, nor freed


def test_mg_grad_of_outputs_where_one_is_upstream_of_another():
    x = mg.tensor([1.0, -2.0], requires_grad=True)
    y1 = x * x
    y2 = (y1 * 3.0).sum()
    (g,) = mg.grad([y2, y1.sum()], [x])  # y1 runs after y2 has sent it its gradient
    np.testing.assert_allclose(g.numpy(), 3 * 2 * x.numpy() + 2 * x.numpy())


def test_a_wide_fan_in_through_the_waiting_heap():
    x = mg.tensor(np.linspace(-1.0, 1.0, 4), requires_grad=True)
    parts = [(x * float(k)).tanh() for k in range(1, 30)]
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    total.sum().backward()
    xv = x.numpy()
    expected = sum(k * (1 - np.tanh(k * xv) ** 2) for k in range(1, 30))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_a_failed_backward_leaves_nothing_behind_for_the_next_one():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    loss = (y * 2.0).sum()
    with mg.no_grad():
        y += 1.0  # the saved output of exp changed: this backward must fail ...
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()
    x.grad = None
    (x.exp() * 2.0).sum().backward()  # ... and a fresh one is not polluted by it
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.numpy()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_nodes_without_meta_still_give_leaf_shaped_leaf_typed_grads(dtype):
    a = mg.tensor(np.ones((3, 1), dtype=dtype), requires_grad=True)
    b = mg.tensor(np.ones(4, dtype=dtype), requires_grad=True)
    c = mg.tensor(np.ones((3, 4), dtype=dtype), requires_grad=True)
    out = ((a * 0.5 + b) * c - c.tanh()).sigmoid()  # broadcast, scalar, equal shapes
    out.sum().backward()
    for t in (a, b, c):
        assert t.grad.shape == t.shape and t.grad.dtype == dtype
    assert a.grad_fn is None and out.grad_fn.meta is None  # sigmoid: nothing to undo


# ----------------------------------------------------------------------------- review cases
def test_a_0d_leaf_of_another_float_dtype_gets_a_gradient_of_its_own_dtype():
    v64 = mg.tensor(np.ones(3), requires_grad=True)
    s32 = mg.tensor(np.float32(0.3), requires_grad=True)
    (v64 + s32.exp().tanh()).sum().backward()  # promoted to float64 by the add only
    assert s32.grad.dtype == np.float32 and v64.grad.dtype == np.float64
    x32 = mg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    t64 = mg.tensor(0.5, requires_grad=True)  # a 0-d float64 is weak: x32 + t64 is float32
    (x32 + t64.exp()).sum().backward()
    assert t64.grad.dtype == np.float64 and x32.grad.dtype == np.float32
    np.testing.assert_allclose(t64.grad.item(), 3 * np.exp(0.5), rtol=1e-6)


def test_create_graph_with_a_gradient_of_another_dtype_keeps_the_leaf_dtype():
    x = mg.tensor(np.array([1.0, 2.0, 3.0], np.float32), requires_grad=True)
    (x * 2.0).exp().backward(mg.tensor(np.ones(3)), create_graph=True)
    assert x.grad.dtype == np.float32
    (g,) = mg.grad(x.tanh(), x, grad_outputs=mg.tensor(np.ones(3)), create_graph=True)
    assert g.dtype == np.float32


def test_a_two_input_view_op_shares_the_version_counter_of_its_base():
    class Rows(mg.autograd.Function):
        is_view = True

        def forward(self, x, idx):
            self.shape, self.idx = x.shape, idx
            return x[idx]

        def backward(self, g, x, idx, out):
            gx = np.zeros(self.shape)
            gx[self.idx] = g
            return gx, None

    base = mg.tensor([1.0, 2.0, 3.0, 4.0])
    w = mg.tensor([1.0, 1.0], requires_grad=True)
    loss = (Rows.apply(base, slice(0, 2)) * w).sum()
    base += 10.0  # changes the view that Mul saved
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


@pytest.mark.parametrize("expr", [lambda x: x ** True, lambda x: True ** x, lambda x: x * True])
def test_bool_operands_keep_a_float32_gradient_float32(expr):
    x = mg.tensor(np.array([0.5, 2.0], np.float32), requires_grad=True)
    expr(x).sum().backward()
    assert x.grad.dtype == np.float32


def test_custom_functions_with_their_own_init_or_entries_still_work():
    class Twice(mg.autograd.Function):
        def __init__(self, unused):  # never called by apply
            raise AssertionError("apply must not call __init__")

        def forward(self, x):
            return x * 2

        def backward(self, g, x, out):
            return g * 2

    class Custom(mg.autograd.Function):
        @classmethod
        def apply_unary(cls, x, params=None):
            return "mine"

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    Twice.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    assert Custom.apply(x) == "mine"


def test_an_elementwise_method_given_an_argument_says_so():
    with pytest.raises(TypeError, match="exp: got an unexpected argument 2"):
        mg.tensor([1.0]).exp(2)


# ----------------------------------------------------------------------------- speed-path cases
# The engine's quick paths (sums as dot products, dot for @, a leaf keeping the gradient
# array it receives) must give what the general paths give.
@pytest.mark.parametrize("values", [
    np.array([True, True, False]), np.array([100, 100], dtype=np.int8),
    np.arange(5, dtype=np.int32), np.arange(7, dtype=np.float16),
    np.linspace(-1, 1, 9, dtype=np.float32), np.linspace(-1, 1, 300),
    np.array([-0.0]), np.array([-0.0] * 5), np.zeros(0), np.arange(20.0)[::3],
])
def test_sums_over_all_elements_match_numpy_in_value_and_dtype(values):
    t = mg.tensor(values)
    # the summation order may differ from NumPy's: compare to the rounding of Σ|x|
    atol = 1e-15 * float(np.abs(values.astype(np.float64)).sum())
    for got, want in ((t.sum(), values.sum()), (t.sum_to(()), values.sum())):
        assert got.dtype == want.dtype and got.shape == ()
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=atol)
        assert np.signbit(got.numpy()) == np.signbit(want)  # no -0.0 where NumPy gives 0.0
    if values.dtype.kind == "f" and values.size:
        mean = t.mean()
        assert mean.dtype == values.mean().dtype
        np.testing.assert_allclose(mean.numpy(), values.mean(), rtol=1e-6, atol=atol)


@pytest.mark.parametrize("n", [2, 3, 6, 10, 100, 512, 4096, 4097])
def test_a_float64_mean_of_exact_values_is_exact(n):
    # Σx / n, as NumPy and PyTorch compute it: a mean of ones is 1, of 0..n-1 is (n-1)/2
    # (a dot product with a vector of 1/n, tried for speed, gave 0.9999999999999999)
    assert mg.ones(n).mean().item() == 1.0
    assert mg.tensor(np.arange(float(n))).mean().item() == (n - 1) / 2
    loss = mg.functional.binary_cross_entropy_with_logits(mg.zeros(n), mg.zeros(n))
    np.testing.assert_allclose(loss.item(), np.log(2.0), rtol=1e-14)  # log 2 each


def test_a_float64_mean_keeps_overflow_and_subnormals_as_numpy_does():
    with np.errstate(over="ignore"):
        assert mg.tensor([1e308, 1e308]).mean().item() == np.inf
    assert mg.tensor([5e-324] * 2).mean().item() == 5e-324
    assert mg.tensor([5e-324] * 3).mean().item() == 5e-324


def test_mg_grad_of_no_outputs_with_allow_unused_gives_none():
    x = mg.tensor([1.0], requires_grad=True)
    assert mg.grad([], [x], allow_unused=True) == (None,)


def test_a_read_only_gradient_from_a_custom_backward_is_copied_into_the_leaf():
    from microgradlin.autograd import Function

    K = np.full(3, 2.0)
    K.flags.writeable = False

    class TimesK(Function):
        def forward(self, x):
            return x * K

        def backward(self, g, x, out):
            return K  # read-only, and not a view: the leaf must get its own array

    x = mg.tensor(np.ones(3), requires_grad=True)
    TimesK.apply(x).sum().backward()
    assert x.grad.data is not K and x.grad.data.flags.writeable
    with mg.no_grad():
        x.grad += 1.0
    np.testing.assert_array_equal(K, [2.0, 2.0, 2.0])


def test_backward_function_on_a_non_tensor_is_a_type_error():
    from microgradlin import autograd

    with pytest.raises(TypeError, match="backward: expected Tensors"):
        autograd.backward(np.ones(3), gradient=np.ones(3))


def test_create_graph_grads_of_two_leaves_are_separate_tensors():
    a = mg.tensor(1.0, requires_grad=True)
    b = mg.tensor(2.0, requires_grad=True)
    (a + b).backward(create_graph=True)  # one gradient, handed to both leaves
    assert a.grad is not b.grad
    assert not np.shares_memory(a.grad.data, b.grad.data)  # copies, as PyTorch's
    (a + b).backward()  # accumulates into each leaf's own .grad
    assert a.grad.item() == 2.0 and b.grad.item() == 2.0


# ----------------------------------------------------------------------------- PyTorch's
# engine semantics (found by probing against torch 2.13)
def test_gradcheck_on_a_transposed_input():
    # x.T is not C-contiguous: its elements must still be perturbed in place
    x = mg.tensor(np.arange(6.0).reshape(3, 2).T, requires_grad=True)
    assert mg.gradcheck(lambda t: t.exp(), [x])
    assert mg.gradcheck(lambda t: (t * t).sum(axis=0), [x])


def test_grad_mode_belongs_to_each_thread():
    import threading

    inside, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        seen["worker starts enabled"] = mg.is_grad_enabled()
        with mg.no_grad():
            inside.set()
            release.wait(5)
        seen["worker after"] = mg.is_grad_enabled()

    thread = threading.Thread(target=worker)
    thread.start()
    assert inside.wait(5)
    x = mg.tensor([1.0], requires_grad=True)
    assert mg.is_grad_enabled() and (x * 2).requires_grad  # the worker's no_grad is its own
    with mg.no_grad():  # overlapping blocks in two threads restore each its own mode
        release.set()
        thread.join(5)
    assert mg.is_grad_enabled() and (x * 2).requires_grad
    assert seen == {"worker starts enabled": True, "worker after": True}


def test_a_thread_that_ends_with_recording_off_leaves_the_others_recording():
    import threading

    def worker():
        mg.set_grad_enabled(False)  # switched off for good, as a function

    for _ in range(3):  # (thread ids are reused: the new threads must still start enabled)
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(5)
    seen = {}

    def checker():
        seen["starts enabled"] = mg.is_grad_enabled()
        x = mg.tensor([1.0], requires_grad=True)
        seen["records"] = (x * 2).requires_grad
        with mg.no_grad():
            seen["off inside"] = not (x * 2).requires_grad
        seen["on after"] = (x * 2).requires_grad

    thread = threading.Thread(target=checker)
    thread.start()
    thread.join(5)
    assert seen == {"starts enabled": True, "records": True, "off inside": True,
                    "on after": True}
    x = mg.tensor([1.0], requires_grad=True)
    assert mg.is_grad_enabled() and (x * 2).requires_grad
    with mg.no_grad():
        assert not mg.is_grad_enabled() and not (x * 2).requires_grad
    assert mg.is_grad_enabled() and (x * 2).requires_grad


def test_no_grad_decorates_a_generator_body():
    x = mg.tensor([1.0, 2.0], requires_grad=True)

    @mg.no_grad()
    def evaluate():
        for k in range(2):
            received = yield x * k
            assert received in (None, "sent")

    gen = evaluate()
    first = next(gen)
    assert not first.requires_grad and mg.is_grad_enabled()  # the caller's mode is untouched
    assert not gen.send("sent").requires_grad
    with pytest.raises(StopIteration):
        next(gen)

    @mg.enable_grad
    def record():
        yield x * 3

    with mg.no_grad():
        assert next(record()).requires_grad


def test_in_place_change_of_a_value_no_gradient_needs_is_allowed():
    # x * c and x @ W need c and W for x's gradient, not x itself (as PyTorch)
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    c = mg.tensor([3.0, 4.0])
    y = (x * c).sum()
    z = (x @ mg.tensor(np.ones((2, 2)))).sum()
    with mg.no_grad():
        x += 1
    y.backward()
    z.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 6.0])
    c2 = mg.tensor([3.0, 4.0])
    y2 = (mg.tensor([1.0, 2.0], requires_grad=True) * c2).sum()
    c2 += 1  # the value x's gradient reads: backward must refuse
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y2.backward()


def test_a_custom_backward_may_return_none_or_a_one_tuple():
    from microgradlin.autograd import Function

    class NoGradForY(Function):
        def forward(self, x, y):
            return x + y

        def backward(self, g, x, y, out):
            return g, None  # as PyTorch: None means "no gradient"

    class Doubled(Function):
        def forward(self, x):
            return 2 * x

        def backward(self, g, x, out):
            return (2 * g,)

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = mg.tensor([3.0, 4.0], requires_grad=True)
    (NoGradForY.apply(x, y) + Doubled.apply(x)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    assert y.grad is None


def test_view_never_copies():
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    v = x.view(3, 2)
    v += 10.0
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0).reshape(2, 3) + 10.0)
    with pytest.raises(RuntimeError, match=r"^view: .*use \.reshape"):
        x.T.view(-1)
    # a reshape that had to copy has its own version count: changing it breaks nothing
    c = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = (c.T.reshape(-1) ** 2).sum()
    with mg.no_grad():
        copy = c.detach().T.reshape(-1)
        copy += 1.0
    y.backward()
    np.testing.assert_array_equal(c.grad.numpy(), 2 * np.arange(6.0).reshape(2, 3))


def test_0d_float32_keeps_its_dtype_against_scalars_and_integer_arrays():
    a = mg.tensor(np.float32(2.0), requires_grad=True)
    assert (a * np.float64(3.0)).dtype == np.float32
    assert (a * mg.tensor(np.array([1, 2]))).dtype == np.float32
    assert (a * mg.tensor(np.float64(3.0))).dtype == np.float64  # two 0-d floats widen
    (a * np.float64(3.0)).backward()
    assert a.grad.dtype == np.float32 and a.grad.item() == 3.0


def test_leaf_only_flags_and_checked_grad_assignment():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    for value in (True, False):
        with pytest.raises(RuntimeError, match="only be changed on leaf tensors"):
            y.requires_grad = value
    with pytest.raises(RuntimeError, match="dtype float32"):
        x.grad = mg.tensor(np.ones(2, np.float32))
    with pytest.raises(RuntimeError, match="shape"):
        x.grad = mg.tensor(np.ones(3))
    x.grad = mg.tensor([0.5, 0.5])
    assert x.grad.dtype == np.float64


def test_item_and_bool_of_several_elements_raise_runtime_and_value_errors():
    t = mg.tensor([1.0, 2.0])
    for call in (t.item, t.__bool__):
        with pytest.raises(RuntimeError, match="element"):
            call()
        with pytest.raises(ValueError):
            call()


def test_create_graph_records_the_backward_even_inside_no_grad():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x**3).sum()
    with mg.no_grad():
        (g,) = mg.grad(y, x, create_graph=True)  # 3x², recorded: as in PyTorch
        assert not mg.is_grad_enabled()  # and the mode is back after the pass
    assert g.requires_grad
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())
    z = (x * x).sum()
    z.backward()  # without create_graph nothing is recorded, whatever the mode
    assert mg.is_grad_enabled() and x.grad.grad_fn is None


def test_review_fixes_dtype_noop_relu_and_trace():
    from microgradlin import viz
    from microgradlin.autograd import Function

    # d/dp 0**p keeps p's float32
    p = mg.tensor(np.array([-1.0, 2.0], np.float32), requires_grad=True)
    with np.errstate(divide="ignore"):
        (0.0**p).sum().backward()
    assert p.grad.dtype == np.float32
    np.testing.assert_array_equal(p.grad.numpy(), [-np.inf, 0.0])
    # requires_grad_() on a computed tensor is a no-op (it requires grad already)
    x = mg.tensor([1.0, -2.0, 0.0], requires_grad=True)
    y = x * 2
    assert y.requires_grad_() is y and y.requires_grad
    # relu passes g where relu(x) is not <= 0 (PyTorch's rule): a nan g stays out elsewhere
    x.relu().backward(np.array([np.nan, np.nan, np.inf]))
    np.testing.assert_array_equal(x.grad.numpy(), [np.nan, 0.0, 0.0])

    class Twice(Function):
        def forward(self, x):
            return 2 * x

        def backward(self, g, x, out):
            return (2 * g,)

    class FirstOnly(Function):
        def forward(self, x, y):
            return x + y

        def backward(self, g, x, y, out):
            return g, None

    a = mg.tensor([1.0, 2.0], requires_grad=True, name="a")
    b = mg.tensor([3.0, 4.0], requires_grad=True, name="b")
    trace = viz.trace_backward(FirstOnly.apply(Twice.apply(a), b).sum())
    np.testing.assert_array_equal(trace.leaf_grads["a"], [2.0, 2.0])
    assert "b" not in trace.leaf_grads


def test_a_thread_that_ends_with_recording_off_leaves_others_recording():
    import threading

    thread = threading.Thread(target=lambda: mg.set_grad_enabled(False))  # never restored
    thread.start()
    thread.join(5)
    x = mg.tensor([1.0], requires_grad=True)
    assert mg.is_grad_enabled() and (x * 2).requires_grad
    with mg.no_grad():
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_the_hessian_of_a_power_at_exponent_zero_is_symmetric_and_exact():
    # f(x, p) = x^p at p = 0: ∂²f/∂x∂p = ∂/∂p (p x^(p-1)) = x^(p-1) (1 + p log x) = 1/x,
    # from either order of differentiation (the base gradient there is 0, as PyTorch's)
    for base in (2.0, 0.5, 4.0):
        h = mg.hessian(lambda v: v[0] ** v[1], np.array([base, 0.0])).numpy()
        np.testing.assert_allclose(h, [[0.0, 1 / base], [1 / base, np.log(base) ** 2]],
                                   rtol=1e-14)


def test_hessian_of_a_float32_array_stays_float32():
    x32 = np.array([0.3, -1.2], dtype=np.float32)
    h = mg.hessian(lambda v: (v**3).sum(), x32)
    assert h.dtype == np.float32
    np.testing.assert_allclose(h.numpy(), np.diag(6 * x32), rtol=1e-6)
    assert mg.hessian(lambda v: (v**3).sum(), [1, 2]).dtype == np.float64  # ints: float64


def test_backward_and_grad_name_what_is_wrong_with_their_arguments():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    s = (w * w).sum()
    for gradient in ("a", 1j, "1.5"):
        with pytest.raises(TypeError, match=r"^backward: gradient must be a Tensor or an array "
                                            r"of shape \(\), got"):
            s.backward(gradient=gradient, retain_graph=True)
    for outputs in (None, 3.0):
        with pytest.raises(TypeError, match="^mg.grad: outputs must be a Tensor or a sequence"):
            mg.grad(outputs, w)
    for inputs in (None, "abc", {"a": w}):
        with pytest.raises(TypeError, match="^mg.grad: inputs must be a Tensor or a sequence"):
            mg.grad(s, inputs)
    with pytest.raises(TypeError, match="^mg.grad: input 0 is a float, expected a Tensor"):
        mg.grad(s, [1.0])
    assert mg.grad(s, (p for p in [w]), retain_graph=True)[0].tolist() == [2.0, 4.0]


def test_a_gradient_seed_of_text_none_or_complex_numbers_is_refused():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    for seed in ([None, 1.0], ["1", "2"], np.array([1 + 5j, 1])):
        with pytest.raises(TypeError, match="^backward: gradient must be a Tensor or an array"):
            (x * 3).backward(gradient=seed)


# ----------------------------------------------------------------------------- hooks
def test_register_hook_sees_and_replaces_gradients_as_pytorch():
    # (torch 2.13 gives the same numbers for this script)
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    y.retain_grad()
    seen = []

    def times_ten(g):
        seen.append(g.numpy().copy())
        return g * 10.0

    handle = y.register_hook(times_ten)
    (y * y).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(seen[0], [6.0, 12.0])  # d/dy Σy² = 2y, before the hook
    np.testing.assert_array_equal(y.grad.numpy(), [60.0, 120.0])  # retain_grad: after it
    np.testing.assert_array_equal(x.grad.numpy(), [180.0, 360.0])  # flows on, replaced
    (g,) = mg.grad((y * y).sum(), y)
    np.testing.assert_array_equal(g.numpy(), [60.0, 120.0])  # mg.grad too
    handle.remove()
    x.grad = None
    (x * 3.0 * 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])

    leaf_handle = x.register_hook(lambda g: g * 2.0)  # a leaf: before accumulation
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])
    np.testing.assert_array_equal(mg.grad((x * x).sum(), x)[0].numpy(), [4.0, 8.0])
    leaf_handle.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_a_hook_runs_once_with_the_summed_gradient_and_may_return_none():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1.0
    calls = []
    b.register_hook(lambda g: calls.append(g.numpy().copy()))  # None: the gradient stays
    (b + b * 2.0).sum().backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [3.0, 3.0])
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])


def test_register_hook_errors():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        mg.tensor([1.0]).register_hook(lambda g: g)
    z = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="callable"):
        z.register_hook(3)
    z.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match="changed the size"):
        (z * z).sum().backward()


def test_hooks_go_with_their_tensor():
    import weakref

    def step():
        w = mg.tensor(np.ones(3), requires_grad=True)
        w.register_hook(lambda g: g * (w.shape[0] / 3))  # the hook refers to its own leaf
        h = w * 2.0
        h.register_hook(lambda g: g * (h.shape[0] / 3))
        (h * h).sum().backward()
        return weakref.ref(w), weakref.ref(h)

    refs = [step() for _ in range(3)]
    gc.collect()
    assert all(r() is None for pair in refs for r in pair)


def test_a_handle_removes_only_its_own_hook():
    hook = lambda g: g * 10.0  # noqa: E731
    x = mg.tensor([1.0], requires_grad=True)
    old = x.register_hook(hook)
    del x
    gc.collect()
    y = mg.tensor([1.0], requires_grad=True)
    y.register_hook(hook)
    old.remove()  # its tensor is gone: nothing to remove, whatever ids were reused
    (y * 1.0).sum().backward()
    assert y.grad.item() == 10.0


def test_hooks_get_a_copy_outside_grad_mode_and_must_return_a_tensor():
    # a hook that writes into its argument changes nothing else (torch: a.grad stays [3, 4])
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0

    def scale_in_place(g):
        g *= 10.0

    y.register_hook(scale_in_place)
    ((a + y) * mg.tensor([3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 4.0])
    seen = []
    z = mg.tensor([1.0, 2.0], requires_grad=True)
    z.register_hook(lambda g: seen.append((g, mg.is_grad_enabled())))
    (z * mg.tensor([3.0, 4.0])).sum().backward()
    with mg.no_grad():
        z.grad *= 0.5
    np.testing.assert_array_equal(seen[0][0].numpy(), [3.0, 4.0])  # its own copy
    assert seen[0][1] is False  # as in PyTorch: no recording inside hooks
    loss = (z * 1.0).sum()
    loss.register_hook(scale_in_place)  # the (read-only) seed: the hook gets a copy
    loss.backward()
    bad = mg.tensor([1.0, 2.0], requires_grad=True)
    bad.register_hook(lambda g: g.numpy())
    with pytest.raises(TypeError, match="expected a Tensor or None"):
        (bad * 1.0).sum().backward()


def test_a_leaf_that_is_also_an_output_runs_its_hooks_once_on_the_sum():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: (calls.append(g.numpy().copy()), g.clip(-2.5, 2.5))[1])
    y = x * 2.0
    (g,) = mg.grad([x, y], [x], grad_outputs=[mg.ones(2), mg.ones(2)])
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [3.0, 3.0])
    np.testing.assert_array_equal(g.numpy(), [2.5, 2.5])  # torch 2.13: the same


def test_mg_grad_runs_only_the_nodes_it_needs_as_pytorch():
    # the graph below y was freed by backward() and retains a grad: mg.grad w.r.t. y must
    # neither walk into it (freed) nor touch h.grad
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    h.retain_grad()
    y = h * 3.0
    (y * y).sum().backward()
    before = h.grad.numpy().copy()
    (g,) = mg.grad((y * y).sum(), y)
    np.testing.assert_array_equal(g.numpy(), 2 * y.numpy())
    np.testing.assert_array_equal(h.grad.numpy(), before)


def test_a_leafs_hook_runs_once_on_its_summed_gradient_as_pytorch():
    # a leaf used twice: one call with the total (torch: [5., 5.] once; clipped to 1)
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(g.numpy().copy()))
    (x * 2.0 + x * 3.0).sum().backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [5.0, 5.0])
    y = mg.tensor([1.0, 2.0], requires_grad=True)
    y.register_hook(lambda g: g.clip(-1.0, 1.0))
    (y * 5.0 + y * 5.0).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 1.0])
    (g,) = mg.grad((y * 5.0 + y * 5.0).sum(), y)
    np.testing.assert_array_equal(g.numpy(), [1.0, 1.0])


def test_backward_with_inputs_accumulates_only_into_them_as_pytorch():
    # (torch 2.13 gives these numbers for this script)
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor(0.5, requires_grad=True)
    h = w * 3.0
    loss = ((h + b) ** 2).sum()
    loss.backward(inputs=[w], retain_graph=True)
    np.testing.assert_array_equal(w.grad.numpy(), [21.0, 39.0])
    assert b.grad is None
    loss.backward(inputs=w, retain_graph=True)  # one tensor; accumulates
    np.testing.assert_array_equal(w.grad.numpy(), [42.0, 78.0])
    loss.backward(inputs=[h, b])  # a computed tensor gets a .grad too; w is left alone
    np.testing.assert_array_equal(h.grad.numpy(), [7.0, 13.0])
    assert b.grad.item() == 20.0
    np.testing.assert_array_equal(w.grad.numpy(), [42.0, 78.0])
    for bad, error in (([], RuntimeError), ([1.0], TypeError),
                       ((mg.tensor([1.0]),), RuntimeError)):
        with pytest.raises(error):
            (w * w).sum().backward(inputs=bad)


def test_mg_grad_leaves_branches_that_lead_to_no_input_alone():
    # torch 2.13: no hook calls, b.grad stays None
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([0.5, 0.3], requires_grad=True)
    b = w.exp()
    b.retain_grad()
    log = []
    b.register_hook(lambda g: log.append("b"))
    w.register_hook(lambda g: log.append("w"))
    (g,) = mg.grad((x.exp() * b + x * w).sum(), [x])
    np.testing.assert_allclose(g.numpy(), np.exp(x.numpy()) * b.numpy() + w.numpy())
    assert log == [] and b.grad is None
