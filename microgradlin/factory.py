"""Making tensors: ``tensor`` and the constant-filled constructors."""

from __future__ import annotations

import numbers

import numpy as np

from . import backend
from .tensor import Tensor


def tensor(data, dtype=None, requires_grad=False, name=None, device=None) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Python numbers and (nested) lists become float64 unless ``dtype`` says otherwise; NumPy
    arrays keep their dtype. ``requires_grad=True`` (floating dtypes only) makes it a leaf
    whose ``.grad`` is filled by ``backward()``. ``device`` is "cpu" (default), "cuda" or
    "cuda:N".
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, name=name, device=device)


def _filled(fill, shape, dtype, requires_grad, device, name):
    if isinstance(shape, numbers.Integral):  # also np.int64, e.g. mg.zeros(mask.sum())
        shape = (shape,)
    dtype = np.float64 if dtype is None else dtype
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


def zeros(*shape, dtype=None, requires_grad=False, device=None, name=None) -> Tensor:
    """A tensor of zeros (float64 unless ``dtype`` is given)."""
    shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], numbers.Integral) else shape
    return _filled(0, shape, dtype, requires_grad, device, name)


def ones(*shape, dtype=None, requires_grad=False, device=None, name=None) -> Tensor:
    """A tensor of ones (float64 unless ``dtype`` is given)."""
    shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], numbers.Integral) else shape
    return _filled(1, shape, dtype, requires_grad, device, name)


def full(shape, fill_value, dtype=None, requires_grad=False, device=None, name=None) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value``."""
    return _filled(fill_value, shape, dtype, requires_grad, device, name)


def _like(fill, other, dtype, requires_grad, device):
    if isinstance(other, Tensor):
        other_dtype, other_device = other.dtype, other.device
    else:
        other = np.asarray(other)
        other_dtype, other_device = other.dtype, "cpu"
    return _filled(fill, other.shape, other_dtype if dtype is None else dtype, requires_grad,
                   other_device if device is None else device, None)


def zeros_like(other, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Zeros with the shape, dtype and device of ``other``."""
    return _like(0, other, dtype, requires_grad, device)


def ones_like(other, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Ones with the shape, dtype and device of ``other``."""
    return _like(1, other, dtype, requires_grad, device)


def arange(start, stop=None, step=1, dtype=None, device=None) -> Tensor:
    """Evenly spaced values in [start, stop), like ``numpy.arange``."""
    data = np.arange(start, stop, step, dtype=dtype) if stop is not None else np.arange(
        start, dtype=dtype)
    return Tensor(data, device=device)
