"""The Tensor object itself (issue 2): creation and dtype rules, attributes, conversions,
mixing with NumPy arrays and Python numbers, comparisons, constructors, and the errors a
student meets first."""

from __future__ import annotations

import numpy as np
import pytest

import microgradlin as mg

# ----------------------------------------------------------------------------- creation


@pytest.mark.parametrize(
    "data, shape",
    [(3, ()), (2.5, ()), ([1, 2, 3], (3,)), ([[1.0, 2.0], [3.0, 4.0]], (2, 2)), ((1, 2), (2,)),
     (True, ())],
)
def test_python_scalars_and_lists_become_float64(data, shape):
    t = mg.tensor(data)
    assert t.dtype == np.float64
    assert t.shape == shape
    np.testing.assert_array_equal(t.numpy(), np.asarray(data, dtype=np.float64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.int64,
                                   np.bool_])
def test_numpy_arrays_keep_their_dtype(dtype):
    arr = np.arange(6).reshape(2, 3).astype(dtype)
    t = mg.tensor(arr)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), arr)


def test_numpy_scalars_keep_their_dtype():
    assert mg.tensor(np.float32(2.0)).dtype == np.float32
    assert mg.tensor(np.int64(2)).dtype == np.int64


def test_explicit_dtype_wins():
    assert mg.tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert mg.tensor(np.ones(2), dtype="float32").dtype == np.float32
    assert mg.tensor([1, 2], dtype=np.int64).dtype == np.int64


def test_tensor_copies_its_input():
    arr = np.zeros(3)
    t = mg.tensor(arr)
    arr[0] = 5.0
    assert t.numpy()[0] == 0.0  # the caller's array is not aliased
    u = mg.tensor(t)
    u.data[1] = 7.0
    assert t.numpy()[1] == 0.0  # mg.tensor(t) copies too (as torch.tensor(t))


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_and_bool_tensors_cannot_require_grad(dtype):
    data = np.array([1, 0, 1]).astype(dtype)
    with pytest.raises(RuntimeError, match=f"floating-point.*{dtype}"):
        mg.tensor(data, requires_grad=True)
    t = mg.tensor(data)  # allowed without grad
    with pytest.raises(RuntimeError, match="floating-point"):
        t.requires_grad = True
    with pytest.raises(RuntimeError, match="floating-point"):
        mg.tensor([1, 2], dtype=dtype, requires_grad=True)


@pytest.mark.parametrize(
    "data, match",
    [("abc", "cannot make a numeric tensor from str"),
     ([[1.0, 2.0], [3.0]], "cannot make a numeric tensor from list"),
     (np.array([1j]), "unsupported dtype complex128")],
)
def test_non_numeric_data_is_refused_clearly(data, match):
    with pytest.raises(TypeError, match=match):
        mg.tensor(data)


# ----------------------------------------------------------------------------- attributes


def test_attributes_of_a_leaf():
    t = mg.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True, name="w")
    assert t.shape == (2, 3)
    assert t.ndim == 2
    assert t.dtype == np.float32
    assert t.device == "cpu"
    assert t.name == "w"
    assert t.requires_grad is True
    assert t.is_leaf is True
    assert t.grad is None
    assert t.grad_fn is None
    assert isinstance(t.data, np.ndarray)


def test_attributes_of_an_op_output():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    assert b.requires_grad and not b.is_leaf
    assert type(b.grad_fn).__name__ == "Mul"
    c = mg.tensor([1.0, 2.0]) * 2  # nothing requires grad: no graph
    assert not c.requires_grad and c.is_leaf and c.grad_fn is None


def test_requires_grad_cannot_be_turned_off_on_a_non_leaf():
    b = mg.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        b.requires_grad = False


def test_grad_assignment_checks_the_shape():
    t = mg.tensor([1.0, 2.0], requires_grad=True)
    t.grad = np.array([0.5, 0.5])
    assert isinstance(t.grad, mg.Tensor) and t.grad.dtype == np.float64
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*shape \(2,\)"):
        t.grad = np.zeros(3)
    t.grad = None
    assert t.grad is None


# ----------------------------------------------------------------------------- conversions


def test_numpy_item_and_len():
    t = mg.tensor([[2.5]])
    assert isinstance(t.numpy(), np.ndarray)
    assert t.item() == 2.5 and isinstance(t.item(), float)
    assert float(mg.tensor(1.5)) == 1.5
    assert len(mg.tensor(np.zeros((4, 2)))) == 4


def test_item_on_a_non_scalar_names_the_shape():
    with pytest.raises(ValueError, match=r"item\(\).*shape \(2, 3\)"):
        mg.tensor(np.zeros((2, 3))).item()


def test_detach_shares_data_but_leaves_the_graph():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    d = b.detach()
    assert d.data is b.data  # shares memory, like torch
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    with mg.no_grad():
        d += 1  # allowed: d does not require grad
    np.testing.assert_array_equal(b.numpy(), [4.0, 7.0])


def test_to_device_and_dtype():
    t = mg.tensor([1.0, 2.0], requires_grad=True)
    assert t.to("cpu") is t
    assert t.to(None) is t
    f = t.to(np.float32)
    assert f.dtype == np.float32 and f.requires_grad  # a differentiable cast
    assert t.to(dtype=np.float32).dtype == np.float32
    assert t.astype(np.float64) is t
    f.sum().backward()
    assert t.grad.dtype == np.float64  # the gradient comes back in the leaf's dtype
    np.testing.assert_array_equal(t.grad.numpy(), [1.0, 1.0])
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        t.to("tpu")


def test_repr_shows_dtype_grad_and_name():
    t = mg.tensor(np.ones(2, dtype=np.float32), requires_grad=True, name="w")
    text = repr(t)
    assert text.startswith("tensor(") and "dtype=float32" in text
    assert "requires_grad=True" in text and "name='w'" in text
    assert "grad_fn=<MulBackward>" in repr(t * 2)


def test_truth_value_of_a_many_element_tensor_is_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(mg.tensor([1.0, 2.0]))
    assert bool(mg.tensor([1.0]))


def test_zero_fills_zeros_even_over_nan_and_inf():
    t = mg.tensor([np.nan, np.inf, -np.inf, 2.0])
    assert t.zero_() is t
    np.testing.assert_array_equal(t.numpy(), np.zeros(4))  # not nan * 0 = nan


# ----------------------------------------------------------------------------- mixing types


@pytest.mark.parametrize(
    "expr, expected",
    [(lambda t: np.ones(3) * t, [1.0, 2.0, 3.0]),
     (lambda t: t * np.ones(3), [1.0, 2.0, 3.0]),
     (lambda t: np.ones(3) + t, [2.0, 3.0, 4.0]),
     (lambda t: np.ones(3) - t, [0.0, -1.0, -2.0]),
     (lambda t: np.ones(3) / t, [1.0, 0.5, 1 / 3]),
     (lambda t: np.full(3, 2.0) ** t, [2.0, 4.0, 8.0]),
     (lambda t: t + [1, 2, 3], [2.0, 4.0, 6.0]),
     (lambda t: [1, 2, 3] * t, [1.0, 4.0, 9.0]),
     (lambda t: 2 - t, [1.0, 0.0, -1.0]),
     (lambda t: 6 / t, [6.0, 3.0, 2.0]),
     (lambda t: 2**t, [2.0, 4.0, 8.0]),
     (lambda t: np.float64(2.0) * t, [2.0, 4.0, 6.0]),
     (lambda t: np.ones((2, 3)) @ t, [6.0, 6.0]),
     (lambda t: [1.0, 1.0, 1.0] @ t, 6.0),
     (lambda t: -t, [-1.0, -2.0, -3.0]),
     (lambda t: +t, [1.0, 2.0, 3.0])],
)
def test_tensor_mixes_with_arrays_and_numbers_on_either_side(expr, expected):
    t = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = expr(t)
    assert isinstance(out, mg.Tensor)  # never a NumPy array (NumPy defers to Tensor)
    assert out.requires_grad
    np.testing.assert_allclose(out.numpy(), expected)


@pytest.mark.parametrize(
    "expr",
    [lambda t: t * 2.0, lambda t: 2.0 * t, lambda t: t / 3, lambda t: t - 1, lambda t: t**2,
     lambda t: t**0.5, lambda t: 2.0**t, lambda t: t + np.ones(3, dtype=np.float32),
     lambda t: np.ones(3, dtype=np.float32) * t, lambda t: t * True, lambda t: t * 2],
)
def test_float32_stays_float32_with_python_numbers_and_float32_arrays(expr):
    t = mg.tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32), requires_grad=True)
    out = expr(t)
    assert out.dtype == np.float32
    out.sum().backward()
    assert t.grad.dtype == np.float32


@pytest.mark.parametrize("scalar", [np.float64(0.5), np.sqrt(4.0), np.array(0.5)])
def test_float32_stays_float32_with_numpy_float64_scalars(scalar):
    """NumPy scalars combine like Python numbers, as in PyTorch (t_f32 * np.float64(2) is
    float32 there). NumPy 2 alone would promote to float64: an lr or 1/np.sqrt(n) computed
    with NumPy must not silently turn a float32 model into float64."""
    t = mg.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    assert (t * scalar).dtype == np.float32
    assert (scalar * t).dtype == np.float32
    assert (t / scalar).dtype == np.float32


@pytest.mark.parametrize(
    "other",
    [np.int64(3), np.array([1, 0, 1]), np.array([True, False, True]),
     mg.tensor(np.array([1, 0, 1])), mg.tensor(np.array([1, 0, 1], dtype=np.int32))],
)
def test_float32_stays_float32_with_integer_and_bool_operands(other):
    """PyTorch's rule: a floating operand's dtype wins over integer and bool ones
    (float32 * int64 labels is float32). NumPy would give float64, e.g. for logits * y with
    the int64 class labels the datasets return."""
    t = mg.tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32), requires_grad=True)
    for out in (t * other, other * t, t + other, t - other, mg.maximum(t, other)):
        assert out.dtype == np.float32


def test_integer_tensors_follow_numpy_promotion():
    i = mg.tensor(np.array([1, 2]))
    assert (i * 2).dtype == np.int64
    assert (i * 2.5).dtype == np.float64
    np.testing.assert_array_equal((i * 2.5).numpy(), [2.5, 5.0])
    assert i.abs().dtype == np.int64


# ----------------------------------------------------------------------------- comparisons


@pytest.mark.parametrize(
    "op, expected",
    [(lambda a, b: a < b, [True, False, False]), (lambda a, b: a <= b, [True, True, False]),
     (lambda a, b: a > b, [False, False, True]), (lambda a, b: a >= b, [False, True, True]),
     (lambda a, b: a == b, [False, True, False]), (lambda a, b: a != b, [True, False, True])],
)
def test_comparisons_return_non_differentiable_bool_tensors(op, expected):
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for b in (mg.tensor([2.0, 2.0, 2.0], requires_grad=True), 2.0, np.full(3, 2.0)):
        out = op(a, b)
        assert isinstance(out, mg.Tensor)
        assert out.dtype == np.bool_
        assert not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.numpy(), expected)


def test_masks_combine_with_and_or_xor_and_invert():
    x = mg.tensor([0.5, 1.5, 2.5], requires_grad=True)
    above, below = x > 1, x < 2
    cases = [(~above, [True, False, False]), (above & below, [False, True, False]),
             (above | below, [True, True, True]), (above ^ below, [True, False, True]),
             (above & True, [False, True, True]), (False | above, [False, True, True]),
             (np.array([True, False, True]) & above, [False, False, True])]
    for out, expected in cases:
        assert isinstance(out, mg.Tensor) and out.dtype == np.bool_ and not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), expected)
    assert (~(mg.tensor(2.0) > 1)).shape == ()
    ints = mg.tensor(np.array([1, 2, 3]))
    np.testing.assert_array_equal((ints & 1).numpy(), [1, 0, 1])  # bitwise, as PyTorch
    with pytest.raises(TypeError, match=r"^~: expected a bool or integer tensor.*float64"):
        _ = ~x
    with pytest.raises(TypeError, match=r"^&: expected bool or integer tensors"):
        _ = above & x
    with pytest.raises(ValueError, match=r"^\|: cannot combine .*\(3,\).*\(2,\)"):
        above | mg.tensor(np.array([True, False]))


def test_a_tensor_compared_with_none_is_false_not_elementwise():
    x = mg.tensor([1.0, 2.0])
    assert (x == None) is False  # noqa: E711 (the operator itself is under test)
    assert (x != None) is True  # noqa: E711


def test_a_0d_tensor_formats_as_its_value():
    loss = mg.tensor([0.25, 0.5], requires_grad=True).mean()
    assert f"{loss:.3f}" == "0.375" and f"{loss:>8.2e}" == "3.75e-01"  # as PyTorch
    t = mg.tensor([1.0, 2.0])
    assert f"{t}" == str(t)
    with pytest.raises(TypeError, match=r"format spec '.2f' applies to 0-d tensors.*\(2,\)"):
        f"{t:.2f}"


def test_clone_copies_and_stays_in_the_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert not np.shares_memory(c.numpy(), x.numpy()) and c.grad_fn is not None
    (c * mg.tensor([3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    plain = mg.tensor(np.float32([1.0]))
    copy = plain.clone()
    copy += 1  # its own memory: the original is untouched
    assert plain.item() == 1.0 and copy.dtype == np.float32 and not copy.requires_grad


def test_fill_dim_and_is_floating_point():
    t = mg.tensor([1.0, 2.0])
    assert t.fill_(7.5) is t and t.tolist() == [7.5, 7.5]
    assert t.dim() == 1 and t.is_floating_point()
    assert not mg.tensor(np.array([1, 2])).is_floating_point()
    w = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place fill_ on a tensor that requires grad"):
        w.fill_(0.0)
    with mg.no_grad():
        w.fill_(0.0)
    assert w.tolist() == [0.0]


def test_tensor_hashes_by_identity():
    a, b = mg.tensor([1.0]), mg.tensor([1.0])
    assert len({a, b}) == 2  # usable as dict keys although == is elementwise


# ----------------------------------------------------------------------------- constructors


@pytest.mark.parametrize("make, fill", [(mg.zeros, 0.0), (mg.ones, 1.0)])
def test_zeros_and_ones(make, fill):
    for args in [(2, 3), ((2, 3),), ([2, 3],), (np.int64(2), 3)]:
        t = make(*args)
        assert t.shape == (2, 3) and t.dtype == np.float64
        assert (t.numpy() == fill).all()
    assert make(np.int64(4)).shape == (4,)  # a NumPy integer is a length, not a shape
    assert make(()).shape == ()
    assert make(3, dtype=np.float32).dtype == np.float32
    leaf = make(3, requires_grad=True, name="b")
    assert leaf.requires_grad and leaf.is_leaf and leaf.name == "b"
    with pytest.raises(RuntimeError, match="floating-point"):
        make(3, dtype=np.int64, requires_grad=True)


@pytest.mark.parametrize("make, fill", [(mg.zeros_like, 0.0), (mg.ones_like, 1.0)])
def test_zeros_like_and_ones_like(make, fill):
    src = mg.tensor(np.arange(6, dtype=np.float32).reshape(3, 2), requires_grad=True)
    t = make(src)
    assert t.shape == (3, 2) and t.dtype == np.float32 and t.device == "cpu"
    assert not t.requires_grad  # not copied from the source
    assert (t.numpy() == fill).all()
    assert make(np.zeros((2,), dtype=np.int32)).dtype == np.int32  # arrays work too
    assert make(src, dtype=np.float64).dtype == np.float64
    assert make(src, requires_grad=True).requires_grad


def test_full_and_arange():
    t = mg.full((2, 2), 7.5)
    np.testing.assert_array_equal(t.numpy(), np.full((2, 2), 7.5))
    np.testing.assert_array_equal(mg.arange(4).numpy(), np.arange(4))
    np.testing.assert_array_equal(mg.arange(1, 7, 2).numpy(), [1, 3, 5])


# ----------------------------------------------------------------------------- aligned storage
# Host tensors of a cache line or more get storage on a 64-byte boundary (backend.aligned):
# NumPy promises only 16, and BLAS reads aligned data faster.
def _misaligned(values, offset=16):
    """A copy of ``values`` whose data starts ``offset`` bytes past a 64-byte boundary."""
    values = np.asarray(values)
    buffer = np.empty(values.nbytes + 128, np.uint8)
    start = -buffer.ctypes.data % 64 + offset
    out = buffer[start:start + values.nbytes].view(values.dtype).reshape(values.shape)
    out[...] = values
    return out


@pytest.mark.parametrize("make", [
    lambda: mg.tensor(_misaligned(np.random.default_rng(0).standard_normal((512, 100)))),
    lambda: mg.tensor(_misaligned(np.arange(24, dtype=np.float32).reshape(2, 3, 4), 4)),
    lambda: mg.tensor([[1.0] * 9] * 3),
    lambda: mg.tensor(mg.tensor(_misaligned(np.ones(40)))),
    lambda: mg.zeros(100), lambda: mg.ones(3, 7, dtype="float32"), lambda: mg.full((5, 5), 2.5),
    lambda: mg.zeros_like(np.ones((4, 4))), lambda: mg.zeros(8, requires_grad=True),
])
def test_host_tensors_of_a_cache_line_or_more_start_on_a_64_byte_boundary(make):
    t = make()
    assert t.data.ctypes.data % 64 == 0
    assert t.data.flags.c_contiguous and t.data.flags.writeable


def test_an_aligned_tensor_is_a_copy_with_the_values_dtype_and_shape_of_its_data():
    src = _misaligned(np.arange(30, dtype=np.int16).reshape(5, 6))
    t = mg.tensor(src)
    assert t.dtype == np.int16 and t.shape == (5, 6)
    np.testing.assert_array_equal(t.data, src)
    assert not np.shares_memory(t.data, src)
    t.data[0, 0] = 99
    assert src[0, 0] == 0
    converted = mg.tensor(src, dtype=np.float64)  # a dtype conversion is aligned too
    assert converted.dtype == np.float64 and converted.data.ctypes.data % 64 == 0
    np.testing.assert_array_equal(converted.data, src)


def test_fortran_order_and_small_arrays_keep_numpys_layout():
    f = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    t = mg.tensor(f)
    np.testing.assert_array_equal(t.data, f)
    assert t.data.flags.f_contiguous  # np.array's layout is kept: no forced C-order copy
    small = mg.tensor([1.0, 2.0])  # 16 bytes: nothing to gain from alignment
    np.testing.assert_array_equal(small.data, [1.0, 2.0])


def test_backend_aligned_returns_aligned_arrays_themselves_and_copies_others():
    from microgradlin import backend

    a = backend.empty_aligned((10, 10), np.float64)
    assert a.ctypes.data % 64 == 0 and backend.aligned(a) is a
    m = _misaligned(np.arange(16.0))
    c = backend.aligned(m)
    assert c is not m and c.ctypes.data % 64 == 0
    np.testing.assert_array_equal(c, m)
    strided = np.arange(40.0)[::2]
    assert backend.aligned(strided) is strided  # not C-contiguous: passed through


@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (7,), (3, 5)])
def test_empty_aligned_makes_every_shape(shape):
    from microgradlin import backend

    a = backend.empty_aligned(shape, np.float32)
    assert a.shape == shape and a.dtype == np.float32 and a.flags.c_contiguous
    if a.size:
        assert a.ctypes.data % 64 == 0


def test_factories_reject_bad_shapes_naming_themselves():
    with pytest.raises(ValueError, match=r"^zeros: negative dimension -1 in shape \(-1,\)"):
        mg.zeros(-1)
    with pytest.raises(TypeError, match=r"^ones: shape must be ints, got 'a'"):
        mg.ones(("a",))
    for bad in (2.5, None, "3"):
        with pytest.raises(TypeError, match=r"^full: shape must be ints"):
            mg.full(bad, 1.0)
    for size in (True, (True, 2), (np.bool_(True),)):  # a bool is not a size
        with pytest.raises(TypeError, match="^zeros: shape must be ints"):
            mg.zeros(size)
    with pytest.raises(ValueError, match="too big"):  # NumPy's own message
        mg.zeros((2**40, 2**40))


def test_factories_make_numeric_tensors_only():
    # as mg.tensor: bool, integer or float dtypes (a tensor of objects or text has no math)
    for dtype, error in ((object, "unsupported dtype object"), (complex, "complex128"),
                         (np.dtype((np.float64, 3)), "unsupported dtype"),
                         ("banana", "unknown dtype 'banana'")):
        with pytest.raises(TypeError, match=rf"^zeros: .*{error}"):
            mg.zeros(4, dtype=dtype)
    for fill in (None, "a", 1 + 2j, [1.0, 5.0]):
        with pytest.raises(TypeError, match="^full: the fill value must be a real number"):
            mg.full((2,), fill)
    with pytest.raises(ValueError, match="^full: nan is not a whole number.*int64"):
        mg.full((2,), np.nan, dtype=np.int64)
    for other in (None, "ab", [None]):
        with pytest.raises(TypeError, match="^zeros_like: "):
            mg.zeros_like(other)
    assert mg.zeros_like(np.ones(3, np.float32)).dtype == np.float32
    assert mg.ones_like([1, 2]).dtype == np.int64  # a list is read as NumPy reads it
    x = mg.tensor([1.0, 2.0])
    for convert in (lambda: x.astype(object), lambda: x.to(dtype=complex),
                    lambda: x.astype("banana")):
        with pytest.raises(TypeError, match="^(astype|to): un"):
            convert()
    with pytest.raises(TypeError, match=r"^to: 3 is neither a device .* nor a dtype"):
        x.to(device=3)


@pytest.mark.parametrize("data, shown", [(None, "NoneType None"), ("1.5", "str '1.5'"),
                                         ([None, 1.0], "text or None"),
                                         ([[1.0, "a"]], "text or None"),
                                         (1j, "complex numbers"), ([1.0, 2j], "complex")])
def test_tensor_refuses_none_text_and_complex_numbers(data, shown):
    # NumPy alone would read None as nan, parse "1.5" and drop imaginary parts
    with pytest.raises(TypeError, match=rf"^tensor: cannot make a numeric tensor .*{shown}"):
        mg.tensor(data)


def test_arange_checks_its_arguments():
    with pytest.raises(ValueError, match="^arange: step must be nonzero"):
        mg.arange(0, 5, 0)
    for args in ((None,), ("5",), (0, np.inf)):
        with pytest.raises(TypeError, match="^arange: (start|stop) must be a finite number"):
            mg.arange(*args)
    assert mg.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]


def test_set_grad_enabled_takes_bools_only():
    with pytest.raises(TypeError, match="^set_grad_enabled: mode must be a bool, got 'no'"):
        mg.set_grad_enabled("no")
    assert mg.is_grad_enabled()


def test_a_tensor_made_from_a_list_on_the_cpu_device_is_aligned_too():
    t = mg.tensor([[0.5] * 9] * 4, device="cpu")
    assert t.data.ctypes.data % 64 == 0
    np.testing.assert_array_equal(t.data, np.full((4, 9), 0.5))


def test_axis_arguments_of_the_wrong_type_or_range_name_the_method():
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    for call, name in ((lambda a: x.argmax(axis=a), "argmax"), (lambda a: x.size(a), "size"),
                       (lambda a: x.unsqueeze(a), "unsqueeze"), (lambda a: x.squeeze(a), "squeeze"),
                       (lambda a: x.transpose(a, 0), "transpose")):
        with pytest.raises(TypeError, match=rf"^{name}: axis must be an int, got 1.5"):
            call(1.5)
        with pytest.raises(IndexError, match=rf"^{name}: axis 7 is out of range"):
            call(7)
    assert x.argmax(axis=1).tolist() == [2, 2] and x.argmin().item() == 0 and x.size(-1) == 3
    with pytest.raises(ValueError, match=r"^argmax: the tensor of shape \(0,\) has no elements"):
        mg.tensor(np.zeros(0)).argmax()
    v = mg.tensor([1.0, 2.0])
    for join in (mg.concatenate, mg.stack):
        with pytest.raises(TypeError, match=rf"^{join.__name__}: element 1 is a NoneType"):
            join([v, None])
        with pytest.raises(TypeError, match=rf"^{join.__name__}: axis must be an int"):
            join([v, v], axis="a")
    with pytest.raises(TypeError, match=r"^softmax: axis must be an int or a tuple of ints"):
        mg.functional.softmax(v, axis="a")


def test_review_fixes_factories_fill_argmax_and_tensor_data():
    # numbers, empty lists and 0-d tensors are fine where NumPy and PyTorch take them
    assert mg.zeros_like(3.0).item() == 0.0 and mg.ones_like(5).item() == 1
    assert mg.zeros_like([]).shape == (0,)
    assert mg.arange((mg.tensor([1.0, 2.0, 3.0]) > 1.5).sum()).tolist() == [0, 1]
    assert mg.full((2,), mg.tensor(3.0)).tolist() == [3.0, 3.0]
    assert mg.full((2,), True).tolist() == [1.0, 1.0]
    # an empty batch has an empty argmax along its rows (only an empty axis has none)
    assert mg.tensor(np.empty((0, 4))).argmax(axis=1).shape == (0,)
    with pytest.raises(ValueError, match="along axis 1"):
        mg.tensor(np.empty((4, 0))).argmax(axis=1)
    # fill_ takes a number
    t = mg.tensor([1.0, 2.0])
    for bad in (None, "3", [1.0, 2.0]):
        with pytest.raises(TypeError, match=r"^fill_: expected a number"):
            t.fill_(bad)
    assert t.fill_(mg.tensor(4.0)).tolist() == [4.0, 4.0]
    # arrays of text or objects are refused before a cast could parse them
    for arr in (np.array([1, None], dtype=object), np.array(["1.5", "2"])):
        with pytest.raises(TypeError, match=r"^tensor: unsupported dtype"):
            mg.tensor(arr, dtype=np.float64)


def test_std_and_var_follow_the_reductions_axis_rules():
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(x.std(axis=np.int64(1)).numpy(), np.arange(6.0).reshape(2, 3)
                               .std(axis=1, ddof=1))
    np.testing.assert_allclose(x.var(axis=(0, 1)).item(), np.arange(6.0).var(ddof=1))
    with pytest.raises(IndexError, match="axis 2"):
        x.var(axis=2)


def test_an_element_picked_by_a_0d_integer_tensor_is_a_view():
    t = mg.tensor([1.0, 2.0, 3.0])
    t[mg.tensor(0, dtype=np.int64)].fill_(9.0)
    assert t.tolist() == [9.0, 2.0, 3.0]


def test_second_review_fixes():
    from fractions import Fraction

    # fill_ with a tensor that requires grad is refused, not silently cut from the graph
    with pytest.raises(RuntimeError, match="the right-hand side requires grad"):
        mg.zeros(3).fill_(mg.tensor(2.0, requires_grad=True))
    # gradient seeds: numbers as mg.tensor takes them (big ints, Fractions)
    v = mg.tensor(1.0, requires_grad=True)
    (v * 2).backward(Fraction(1, 2))
    assert v.grad.item() == 1.0
    # an integer tensor times a list of floats keeps the floats (NumPy's promotion)
    assert (mg.tensor([1, 2], dtype="int64") @ [0.5, 0.5]).item() == 1.5
    assert ([0.5, 0.5] @ mg.tensor([1, 2], dtype="int64")).item() == 1.5
    # comparisons with complex numbers and tensors of dates are refused
    for other in (1 + 5j, [1 + 5j, 1]):
        with pytest.raises(TypeError, match="^comparison lt: operands must be real numbers"):
            _ = mg.tensor([1.0, 2.0]) < other
    with pytest.raises(TypeError, match="it holds dates"):
        mg.tensor([np.datetime64("2020-01-01")])


# ----------------------------------------------------------------------------- PyTorch's names
def test_pytorch_spellings_dim_and_keepdim_give_the_numpy_spellings_results():
    from microgradlin import functional as F

    data = np.array([[0.0, 5.0, 2.0], [3.0, 4.0, 1.0]])
    x = mg.tensor(data, requires_grad=True)
    pairs = [
        (x.sum(dim=1), x.sum(axis=1)),
        (x.mean(dim=0, keepdim=True), x.mean(axis=0, keepdims=True)),
        (x.var(dim=1, correction=0), x.var(axis=1, ddof=0)),
        (x.std(dim=0, keepdim=True), x.std(axis=0, keepdims=True)),
        (x.argmax(dim=1, keepdim=True), mg.tensor(data.argmax(axis=1)[:, None])),
        (x.argmin(dim=0), mg.tensor(data.argmin(axis=0))),
        (mg.logsumexp(x, dim=1, keepdim=True), mg.logsumexp(x, axis=1, keepdims=True)),
        (F.softmax(x, dim=0), F.softmax(x, axis=0)),
        (F.log_softmax(x, dim=0), F.log_softmax(x, axis=0)),
        (mg.cat([x, x], dim=1), mg.concatenate([x, x], axis=1)),
        (mg.stack([x, x], dim=2), mg.stack([x, x], axis=2)),
        (x.unsqueeze(dim=1), x.unsqueeze(1)),
        (x.reshape(1, 2, 3).squeeze(dim=0), x.reshape(1, 2, 3).squeeze(0)),
        (mg.matmul(data, x.T), x @ x.T),
    ]
    for torch_style, numpy_style in pairs:
        assert torch_style.shape == numpy_style.shape
        np.testing.assert_array_equal(torch_style.numpy(), numpy_style.numpy())
        assert torch_style.dtype == numpy_style.dtype


def test_max_and_min_with_dim_give_values_and_indices_as_pytorch():
    x = mg.tensor([[0.0, 5.0, 2.0], [3.0, 4.0, 1.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(values.numpy(), [5.0, 4.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 1])
    assert indices.dtype == np.int64 and not indices.requires_grad
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [0, 1, 0]])
    low = x.min(dim=0, keepdim=True)
    np.testing.assert_array_equal(low.values.numpy(), [[0.0, 4.0, 1.0]])
    np.testing.assert_array_equal(low.indices.numpy(), [[0, 1, 1]])
    # NumPy's spelling keeps NumPy's result: the values alone
    assert isinstance(x.max(axis=1), mg.Tensor)
    assert mg.gradcheck(lambda t: t.max(dim=0).values, [x])


def test_both_spellings_at_once_are_refused():
    from microgradlin import functional as F

    x = mg.tensor(np.ones((2, 3)))
    for call in (lambda: x.sum(axis=1, dim=1), lambda: x.mean(1, keepdims=True, keepdim=False),
                 lambda: x.max(axis=0, dim=0), lambda: F.softmax(x, axis=0, dim=1),
                 lambda: mg.cat([x, x], axis=1, dim=1), lambda: x.unsqueeze()):
        with pytest.raises(TypeError):
            call()


def test_max_with_dim_sends_the_gradient_to_the_returned_index_as_pytorch():
    # ties: PyTorch's max(dim=) gradient goes to the index it returns (the first maximum),
    # where max() over all elements (and axis=) share it among the ties
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])
    x.grad = None
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0.5, 0.5], [0.5, 0.5, 0]])
    x.grad = None
    x.min(dim=0, keepdim=True).values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0, 0], [0, 1, 1]])
    # a 0-d tensor: itself, at index 0
    v, i = mg.tensor(3.0).max(dim=0)
    assert v.item() == 3.0 and i.item() == 0


def test_pytorch_spelling_details():
    x = mg.tensor(np.ones((2, 3)))
    assert x.sum(dim=()).shape == ()  # PyTorch: every dim; NumPy's axis=(): none
    assert x.sum(axis=()).shape == (2, 3)
    with pytest.raises(TypeError, match="one int"):
        x.max(dim=(0, 1))
    with pytest.raises(TypeError, match="ddof= or correction="):
        x.var(ddof=0, correction=1)
    t = mg.tensor(np.ones((2, 2), np.float32), requires_grad=True)
    assert mg.matmul([[1.0, 2.0], [3.0, 4.0]], t).dtype == np.float32  # as @ gives
