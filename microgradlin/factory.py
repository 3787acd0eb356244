"""Making tensors: ``tensor`` and the constant-filled constructors."""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import backend
from .tensor import Tensor, check_dtype


def tensor(data, dtype=None, requires_grad=False, name=None, device=None) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Python numbers and (nested) lists become float64 unless ``dtype`` says otherwise; NumPy
    arrays keep their dtype. ``requires_grad=True`` (floating dtypes only) makes it a leaf
    whose ``.grad`` is filled by ``backward()``. ``device`` is "cpu" (default), "cuda" or
    "cuda:N".
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, name=name, device=device)


def _filled(fill, shape, dtype, requires_grad, device, name, who):
    if isinstance(shape, numbers.Integral):  # also np.int64, e.g. mg.zeros(mask.sum())
        shape = (shape,)
    shape = _shape(who, shape)
    dtype = check_dtype(who, np.float64 if dtype is None else dtype)
    fill = _number(fill)
    if not isinstance(fill, (numbers.Real, np.bool_)):
        raise TypeError(f"{who}: the fill value must be a real number, got {fill!r}")
    if dtype.kind in "iub" and not (math.isfinite(fill) and float(fill).is_integer()):
        raise ValueError(f"{who}: {fill!r} is not a whole number, so it cannot fill a "
                         f"{dtype} tensor")
    if device is not None and backend.parse_device(device) != "cpu":
        data = backend.to_device(np.full(tuple(shape), fill, dtype=dtype), device)
    else:  # np.full's own steps, into storage on a 64-byte boundary (see backend.aligned)
        data = backend.empty_aligned(shape, dtype)
        np.copyto(data, fill, casting="unsafe")
    t = Tensor._make(data, None, False, [0])
    t.name = name
    if requires_grad:
        t.requires_grad = True
    return t


def _number(v):
    """A 0-d tensor or array as the number it holds (other values as they are)."""
    if isinstance(v, Tensor):
        v = v.data
    return v.item() if getattr(v, "ndim", None) == 0 else v


def _shape(who, shape):
    """A shape as a tuple of ints >= 0, or a clear error."""
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"{who}: shape must be ints or a tuple of ints, got {shape!r}") from None
    for n in dims:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{who}: shape must be ints, got {n!r} in {shape!r}")
        if n < 0:
            raise ValueError(f"{who}: negative dimension {n} in shape {dims}")
    return tuple(int(n) for n in dims)


def zeros(*shape, dtype=None, requires_grad=False, device=None, name=None) -> Tensor:
    """A tensor of zeros (float64 unless ``dtype`` is given)."""
    shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], numbers.Integral) else shape
    return _filled(0, shape, dtype, requires_grad, device, name, "zeros")


def ones(*shape, dtype=None, requires_grad=False, device=None, name=None) -> Tensor:
    """A tensor of ones (float64 unless ``dtype`` is given)."""
    shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], numbers.Integral) else shape
    return _filled(1, shape, dtype, requires_grad, device, name, "ones")


def full(shape, fill_value, dtype=None, requires_grad=False, device=None, name=None) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value``."""
    return _filled(fill_value, shape, dtype, requires_grad, device, name, "full")


def _like(fill, other, dtype, requires_grad, device, who):
    if isinstance(other, Tensor):
        other_dtype, other_device = other.dtype, other.device
    elif hasattr(other, "shape") and hasattr(other, "dtype"):  # an array
        other_dtype, other_device = check_dtype(who, other.dtype), backend.device_of(other)
    elif isinstance(other, (list, tuple, numbers.Number)) and not isinstance(other, complex):
        other = np.asarray(other)  # numbers and nested lists of them, as NumPy reads them
        other_dtype, other_device = check_dtype(who, other.dtype), "cpu"
    else:
        raise TypeError(f"{who}: expected a Tensor, an array or numbers, got "
                        f"{type(other).__name__}")
    return _filled(fill, other.shape, other_dtype if dtype is None else dtype, requires_grad,
                   other_device if device is None else device, None, who)


def zeros_like(other, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Zeros with the shape, dtype and device of ``other``."""
    return _like(0, other, dtype, requires_grad, device, "zeros_like")


def ones_like(other, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Ones with the shape, dtype and device of ``other``."""
    return _like(1, other, dtype, requires_grad, device, "ones_like")


def arange(start, stop=None, step=1, dtype=None, device=None) -> Tensor:
    """Evenly spaced values in [start, stop), like ``numpy.arange``."""
    start, stop, step = _number(start), _number(stop), _number(step)  # (mg.arange(mask.sum()))
    for what, v in (("start", start), ("stop", stop), ("step", step)):
        if v is None and what == "stop":
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise TypeError(f"arange: {what} must be a finite number, got {v!r}")
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    dtype = None if dtype is None else check_dtype("arange", dtype)
    data = np.arange(start, stop, step, dtype=dtype) if stop is not None else np.arange(
        start, dtype=dtype)
    return Tensor(data, device=device)
