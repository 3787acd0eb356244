"""A strict stand-in for a GPU backend, so host round trips are caught without a GPU.

CuPy arrays live on the device: NumPy cannot read them implicitly (``np.asarray(gpu)``
raises), mixing a CuPy array with a non-scalar NumPy array in one operation raises, and
each library's own functions must be used (``cupy.exp``, not ``numpy.exp``). Code that
forgets this works on the CPU and breaks only on a GPU machine.

:class:`StrictArray` wraps a NumPy array and behaves like that: ``__array__`` raises,
NumPy ufuncs and functions refuse it, operators refuse non-scalar NumPy operands, and
:data:`xp` (a module-like namespace: ``xp.exp``, ``xp.where``, ``xp.linalg.solve`` ...)
is the only way to compute on it. Tensors use it through the device name ``"strict"``
(a testing device: ``mg.tensor(data, device="strict")``); the test suite runs its
device-parametrised tests on it in CI.
"""

from __future__ import annotations

import operator
import types

import numpy as np

DEVICE = "strict"


class HostRoundTripError(TypeError):
    """An implicit conversion between the strict device and NumPy (host) memory."""


def _unwrap(value, what):
    if isinstance(value, StrictArray):
        return value._a
    if isinstance(value, np.ndarray) and value.ndim > 0:
        raise HostRoundTripError(
            f"{what}: a NumPy (host) array of shape {value.shape} was mixed with a "
            "'strict' device array; move it with backend.to_device first"
        )
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, what) for v in value)
    return value


def _wrap(value):
    if isinstance(value, np.ndarray):
        return StrictArray(value)
    if isinstance(value, np.generic):  # device reductions return 0-d device arrays
        return StrictArray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _defers(other):
    """Objects that opt out of NumPy's operators (``__array_ufunc__ = None``, like Tensor) get
    their reflected operator called instead, as CuPy and NumPy arrays do."""
    return getattr(type(other), "__array_ufunc__", False) is None


def _binary(op, name):
    def method(self, other):
        if _defers(other):
            return NotImplemented
        return _wrap(op(self._a, _unwrap(other, name)))

    def reflected(self, other):
        if _defers(other):
            return NotImplemented
        return _wrap(op(_unwrap(other, name), self._a))

    return method, reflected


def _inplace(op, name):
    def method(self, other):
        self._a = op(self._a, _unwrap(other, name))
        return self

    return method


class StrictArray:
    """A device-like array: wraps a NumPy array, refuses implicit host conversion."""

    __slots__ = ("_a",)

    def __init__(self, array):
        self._a = array

    # NumPy must not read it implicitly, nor compute on it with its own functions.
    def __array__(self, *args, **kwargs):
        raise HostRoundTripError(
            "implicit conversion of a 'strict' device array to NumPy is not allowed; "
            "use backend.to_numpy() (an explicit copy to the host) or .item()"
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise HostRoundTripError(
            f"numpy.{ufunc.__name__} was called on a 'strict' device array; use the array "
            "module of the data (backend.get_array_module(x)) instead of numpy"
        )

    def __array_function__(self, func, types, args, kwargs):
        raise HostRoundTripError(
            f"numpy.{func.__name__} was called on a 'strict' device array; use the array "
            "module of the data (backend.get_array_module(x)) instead of numpy"
        )

    # attributes and methods (results stay on the device)
    shape = property(lambda self: self._a.shape)
    ndim = property(lambda self: self._a.ndim)
    dtype = property(lambda self: self._a.dtype)
    size = property(lambda self: self._a.size)
    T = property(lambda self: StrictArray(self._a.T))
    base = property(lambda self: self._a.base)
    flags = property(lambda self: self._a.flags)

    def __getattr__(self, name):
        if name.startswith("__"):  # e.g. __array_interface__: NumPy must not see the buffer
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            return _wrap(attr(*_unwrap(args, name), **kwargs))

        return method

    def item(self):  # an explicit sync, allowed as on CuPy
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def get(self):
        """Explicit copy to the host, as ``cupy.ndarray.get()``."""
        return self._a.copy()

    def __len__(self):
        return len(self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return operator.index(self._a)

    def __repr__(self):
        return f"StrictArray({self._a!r})"

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __getitem__(self, index):
        index = _unwrap(index, "getitem")
        out = self._a[index]
        if isinstance(out, np.generic):  # one element: a 0-d view, as CuPy's x[0]
            out = self._a[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
        return _wrap(out)

    def __setitem__(self, index, value):
        self._a[_unwrap(index, "setitem")] = _unwrap(value, "setitem")

    def __neg__(self):
        return StrictArray(-self._a)

    def __pos__(self):
        return self

    def __abs__(self):
        return StrictArray(abs(self._a))

    def __invert__(self):
        return StrictArray(~self._a)

    __add__, __radd__ = _binary(operator.add, "add")
    __sub__, __rsub__ = _binary(operator.sub, "subtract")
    __mul__, __rmul__ = _binary(operator.mul, "multiply")
    __truediv__, __rtruediv__ = _binary(operator.truediv, "divide")
    __floordiv__, __rfloordiv__ = _binary(operator.floordiv, "floor_divide")
    __pow__, __rpow__ = _binary(operator.pow, "power")
    __matmul__, __rmatmul__ = _binary(operator.matmul, "matmul")
    __and__, __rand__ = _binary(operator.and_, "and")
    __or__, __ror__ = _binary(operator.or_, "or")
    __xor__, __rxor__ = _binary(operator.xor, "xor")
    __lt__, _ = _binary(operator.lt, "less")
    __le__, _ = _binary(operator.le, "less_equal")
    __gt__, _ = _binary(operator.gt, "greater")
    __ge__, _ = _binary(operator.ge, "greater_equal")
    __eq__, _ = _binary(operator.eq, "equal")
    __ne__, _ = _binary(operator.ne, "not_equal")
    __hash__ = None
    __iadd__ = _inplace(operator.iadd, "add")
    __isub__ = _inplace(operator.isub, "subtract")
    __imul__ = _inplace(operator.imul, "multiply")
    __itruediv__ = _inplace(operator.itruediv, "divide")
    __iand__ = _inplace(operator.iand, "and")
    __ior__ = _inplace(operator.ior, "or")


def _device_function(name, function):
    def call(*args, **kwargs):
        return _wrap(function(*_unwrap(args, name), **{k: _unwrap(v, name)
                                                        for k, v in kwargs.items()}))

    call.__name__ = name
    return call


class _Namespace(types.SimpleNamespace):
    """A module-like object: ``xp.exp(a)`` runs ``numpy.exp`` on the wrapped data."""

    def __init__(self, source, prefix):
        super().__init__()
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name):
        attr = getattr(self._source, name)
        if isinstance(attr, types.ModuleType):
            value = _Namespace(attr, f"{self._prefix}{name}.")
        elif callable(attr) and not isinstance(attr, type):
            value = _device_function(self._prefix + name, attr)
        else:
            value = attr  # dtypes, constants, classes (xp.float32, xp.inf, xp.ndarray)
        object.__setattr__(self, name, value)
        return value

    def asarray(self, value, dtype=None):
        if isinstance(value, StrictArray):
            return value if dtype is None else StrictArray(value._a.astype(dtype))
        if isinstance(value, np.ndarray) and value.ndim > 0:
            raise HostRoundTripError(
                "xp.asarray of a NumPy (host) array on the 'strict' device: use "
                "backend.to_device (an explicit transfer)"
            )
        return StrictArray(np.asarray(value, dtype=dtype))

    def array(self, value, dtype=None, copy=True):
        if isinstance(value, StrictArray):
            return StrictArray(np.array(value._a, dtype=dtype, copy=copy))
        return self.asarray(value, dtype)

    @staticmethod
    def asnumpy(value):
        return value._a.copy() if isinstance(value, StrictArray) else np.asarray(value)


xp = _Namespace(np, "xp.")
xp.ndarray = StrictArray


def from_host(array) -> StrictArray:
    """Explicit host -> strict device copy."""
    return StrictArray(np.array(array))


def scatter_add(target: StrictArray, index, values) -> None:
    """``target[index] += values`` with repeated indices accumulating (like cupyx's)."""
    np.add.at(target._a, _unwrap(index, "scatter_add"), _unwrap(values, "scatter_add"))
