"""``Tensor``: an array (NumPy or CuPy) that remembers the op that made it.

A tensor holds ``data`` (the backing array), ``grad`` (None, or a Tensor of the same shape
and dtype) and ``grad_fn`` (the graph node that produced it, None for a leaf). Its operators
and methods call the primitive ops of :mod:`microgradlin.ops`, which record the graph that
``backward()`` walks in :mod:`microgradlin.autograd`.
"""

from __future__ import annotations

import itertools
import numbers
import operator
from operator import attrgetter as _attrgetter
from typing import NamedTuple

import numpy as np

from . import backend

_new = object.__new__
_FLOAT_KINDS = "f"  # dtype kinds that may require grad

# The engine's one clock. Each recorded graph node takes the next tick as its sequence number,
# and each in-place change stamps the tensor's version with the next tick, so "changed after
# this node saved it" is simply ``version > node.seq``.
tick = itertools.count(1).__next__
_FLOAT64 = np.dtype(np.float64)
_PLAIN_NUMBERS = (float, int, bool)


def bump_version(t) -> None:
    """Stamp ``t`` (and every view sharing its version cell) as changed in place now."""
    t._vc[0] = tick()


def _as_array(data, dtype=None, device=None):
    """Convert user data to a backing array following the documented dtype rules."""
    if isinstance(data, Tensor):
        data = data.data  # torch.tensor(t) copies too
    if isinstance(data, (np.ndarray, np.generic)) or backend.is_device_array(data):
        check_dtype("tensor", data.dtype)  # (before a cast, which would parse text)
        if dtype is not None:
            dtype = check_dtype("tensor", dtype)
        # a copy: in-place updates never touch the caller's (on the host, on a 64-byte
        # boundary: faster BLAS and SIMD loops, see backend.aligned_copy)
        if isinstance(data, np.ndarray):
            arr = backend.aligned_copy(data, dtype)
        else:
            arr = backend.get_array_module(data).array(data, dtype=dtype)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in data):
            data = [v.item() if isinstance(v, Tensor) else v for v in data]
        dtype = _FLOAT64 if dtype is None else check_dtype("tensor", dtype)
        # (a new array; moving it to a 64-byte boundary may copy it once more)
        arr = backend.aligned(_numbers_array(data, dtype))
    if device is not None:
        arr = backend.to_device(arr, device)
    return arr


def check_dtype(name, dtype) -> np.dtype:
    """``dtype`` as a NumPy dtype, if a tensor may hold it: bool, integer or float."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: unknown dtype {dtype!r}; expected a boolean, integer or "
                        "float dtype (e.g. float64, float32, int64, bool)") from None
    if dtype.kind not in "biuf":
        raise TypeError(
            f"{name}: unsupported dtype {dtype}; expected a boolean, integer or float dtype")
    return dtype


def _numbers_array(data, dtype):
    """Python numbers or nested lists of them as a ``dtype`` array. None and text are
    refused: converted straight to float, NumPy would read None as nan and parse "1.5"."""
    if data is None or isinstance(data, (str, bytes)):
        raise TypeError(f"tensor: cannot make a numeric tensor from {type(data).__name__} "
                        f"{data!r}; pass numbers, nested lists of numbers, or an array")
    try:
        if data.__class__ in _PLAIN_NUMBERS or data.__class__ is list and len(data) <= 64 and all(
                v.__class__ in _PLAIN_NUMBERS for v in data):
            return np.array(data, dtype=dtype)  # plain numbers: nothing to refuse
        arr = np.array(data)  # its own dtype first: text makes a str array, None an object
        kind = arr.dtype.kind  # one, and complex numbers a complex one
        if kind in "USVcMm" or kind == "O" and any(
                v is None or isinstance(v, (str, bytes, complex)) for v in _flat(data)):
            raise TypeError("it holds " + {"c": "complex numbers", "M": "dates",
                                           "m": "time spans"}.get(kind, "text or None")
                            + ", not real numbers")
        if kind in "biuf" and dtype.kind == "f":
            return arr.astype(dtype, copy=False)  # (numbers to floats: nothing to overflow)
        return np.array(data, dtype=dtype)  # (NumPy's own checks: 300 is no int8)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(
            f"tensor: cannot make a numeric tensor from {type(data).__name__} "
            f"({exc}); pass numbers, nested lists of numbers, or an array"
        ) from None


def _flat(data):
    """The scalars of nested lists and tuples."""
    for v in data if isinstance(data, (list, tuple)) else (data,):
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


class ConversionError(ValueError, RuntimeError):
    """A tensor of several elements asked for one value (``item()``, ``bool()``): a
    RuntimeError as in PyTorch, and a ValueError as in NumPy."""


def _check_axis(name, axis, ndim, shape):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{name}: axis must be an int, got {axis!r}")
    bound = max(ndim, 1)  # a 0-d tensor's one "axis" is 0 or -1, as in PyTorch
    if not -bound <= axis < bound:
        raise autograd.AxisError(
            f"{name}: axis {axis} is out of range for a tensor of shape {tuple(shape)} "
            f"(expected {-bound} <= axis < {bound})"
        )


def _fill(data, value):
    data[...] = value
    return data


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    Create one with :func:`microgradlin.tensor`. Python numbers and lists become float64;
    NumPy arrays keep their dtype. Only floating-point tensors can require grad.
    """

    # (_hooks: unset until register_hook, so that making a tensor costs nothing for it)
    __slots__ = ("data", "grad_fn", "_rg", "_grad", "_grad_owned", "name", "_vc", "_hooks",
                 "__weakref__")
    __array_ufunc__ = None  # make NumPy defer: np.ones(3) * t calls t.__rmul__
    __hash__ = object.__hash__  # == is elementwise (returns a Tensor), identity hashes

    def __init__(self, data, dtype=None, requires_grad=False, name=None, device=None):
        self.data = _as_array(data, dtype, device)
        self.grad_fn = None
        self._rg = False
        self._grad = None
        self._grad_owned = False
        self.name = name
        self._vc = [0]  # version stamp: the clock tick of the last in-place change; views
        # share the cell
        if requires_grad:
            self.requires_grad = True

    @staticmethod
    def _make(data, grad_fn, requires_grad, version_counter):
        """Fast internal constructor for op outputs (no conversion, no checks)."""
        t = _new(Tensor)
        t.data = data
        t.grad_fn = grad_fn
        t._rg = requires_grad
        t._grad = None
        t._grad_owned = False
        t.name = None
        t._vc = version_counter
        return t

    # ------------------------------------------------------------------ attributes
    # The much-read properties have C getters (operator.attrgetter): reading w.grad or
    # x.shape then costs no Python call, which a training step notices.
    def _set_requires_grad(self, value):
        value = bool(value)
        if value and self.data.dtype.kind not in _FLOAT_KINDS:
            raise RuntimeError(
                f"only floating-point tensors can require gradients, but this tensor has "
                f"dtype {self.data.dtype}; convert it first, e.g. mg.tensor(x, "
                f"dtype='float64', requires_grad=True)"
            )
        if self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad can only be changed on leaf tensors (this one was computed: "
                "it requires grad through its inputs); use .detach() to get a tensor cut "
                "from the graph"
            )
        self._rg = value

    requires_grad = property(_attrgetter("_rg"), _set_requires_grad,
                             doc="Whether backward() computes a gradient for this tensor.")

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.grad_fn is not None:
            return self  # a computed tensor requires grad already (a no-op, as PyTorch)
        self.requires_grad = requires_grad
        return self

    def _set_grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                value = Tensor(value, dtype=self.data.dtype)
            if tuple(value.shape) != tuple(self.shape):
                raise RuntimeError(
                    f"assigned grad has shape {tuple(value.shape)} but the tensor has shape "
                    f"{tuple(self.shape)}"
                )
            if value.dtype != self.dtype or value.device != self.device:
                raise RuntimeError(
                    f"assigned grad has dtype {value.dtype} on {value.device} but the tensor "
                    f"has dtype {self.dtype} on {self.device}; they must match (convert it "
                    f"with .to(...))"
                )
        self._grad = value
        self._grad_owned = False

    grad = property(_attrgetter("_grad"), _set_grad, doc=(
        "The accumulated gradient: None, or a Tensor of this tensor's shape and dtype."))

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    shape = property(_attrgetter("data.shape"), doc="The shape, a tuple (as data.shape).")
    ndim = property(_attrgetter("data.ndim"), doc="The number of dimensions.")
    dtype = property(_attrgetter("data.dtype"), doc="The element type (as data.dtype).")

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    def size(self, dim=None):
        """The shape (PyTorch's ``size()``), or its length along ``dim``."""
        if dim is None:
            return self.data.shape
        _check_axis("size", dim, self.data.ndim, self.data.shape)
        if not self.data.ndim:  # (as PyTorch: a 0-d tensor has no size along any axis)
            raise autograd.AxisError(f"size: a 0-d tensor has no axis {dim}")
        return self.data.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        """The number of axes (PyTorch's name for ``ndim``)."""
        return self.data.ndim

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array: a host copy for a GPU tensor; on the CPU the tensor's
        own array, also when it requires grad (PyTorch asks for ``.detach()`` first).
        Writing into it changes the tensor without a version stamp: a recorded graph that
        saved it would then compute a wrong gradient; use ``.numpy().copy()`` to edit."""
        return backend.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None):
        arr = backend.to_numpy(self.data)
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ConversionError(
                f"item(): only one-element tensors can be converted to a Python number, "
                f"but this one has shape {tuple(self.shape)}"
            )
        return self.data.item()

    def tolist(self):
        return backend.to_numpy(self.data).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __format__(self, spec):
        """``f"{loss:.4f}"``: a 0-d tensor formats as its value, as in PyTorch; other
        tensors only without a format spec (as their repr)."""
        if self.data.ndim == 0:
            return format(self.item(), spec)
        if not spec:
            return str(self)
        raise TypeError(
            f"format spec {spec!r} applies to 0-d tensors only, got one of shape "
            f"{tuple(self.shape)}; format .item() of one element, or .tolist()")

    def __bool__(self):
        if self.data.size != 1:
            raise ConversionError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use (t).all() or (t).any() on a comparison, or .item()"
            )
        return bool(self.data.item())

    def detach(self) -> Tensor:
        """A tensor sharing this data, cut from the graph (no grad_fn, requires_grad=False)."""
        return Tensor._make(self.data, None, False, self._vc)

    def to(self, device=None, dtype=None) -> Tensor:
        """Move to ``device`` ("cpu", "cuda", "cuda:N") and/or cast to ``dtype``.

        ``t.to(np.float32)`` and ``t.to("cuda")`` both work, as in PyTorch. The result stays
        in the graph (gradients flow back to this tensor); it is ``self`` if nothing changes.
        """
        if device is not None and not isinstance(device, str):
            if dtype is not None:
                raise TypeError(f"to: device must be a str ('cpu', 'cuda' or 'cuda:N'), got "
                                f"{device!r}")
            try:  # t.to(np.float32): a dtype in the first place
                dtype, device = check_dtype("to", device), None
            except TypeError:
                raise TypeError(f"to: {device!r} is neither a device ('cpu', 'cuda' or "
                                "'cuda:N') nor a dtype") from None
        out = self
        if dtype is not None and check_dtype("to", dtype) != self.data.dtype:
            out = out.astype(dtype)
        if device is not None and backend.parse_device(device) != self.device:
            out = ops.ToDevice.apply(out, device=backend.parse_device(device))
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None) -> Tensor:
        return self.to("cuda" if device is None else f"cuda:{int(device)}"
                       if not isinstance(device, str) else device)

    def float(self) -> Tensor:
        return self.to(dtype=np.float32)

    def double(self) -> Tensor:
        return self.to(dtype=np.float64)

    def astype(self, dtype) -> Tensor:
        """Cast to ``dtype`` (differentiable between float dtypes; a cast to an integer or
        bool dtype is cut from the graph, as in PyTorch)."""
        dtype = check_dtype("astype", dtype)
        if dtype == self.data.dtype:
            return self
        if dtype.kind not in _FLOAT_KINDS:
            return Tensor._make(self.data.astype(dtype), None, False, [0])
        return ops.Cast.apply(self, dtype=dtype)

    # ------------------------------------------------------------------ autograd
    # backward(gradient=None, retain_graph=None, create_graph=False) is autograd.backward
    # itself, set below (one call less on every training step)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor too after backward (for inspection)."""
        autograd.retain_grad(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` whenever this tensor's gradient is computed (in ``backward()``
        and ``mg.grad``); a Tensor it returns replaces the gradient. Returns a handle whose
        ``remove()`` takes the hook away. As PyTorch's ``register_hook``: a way to watch, or
        to change, the gradients that flow through the graph."""
        return autograd.register_hook(self, hook)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn.retained is not None

    def fill_(self, value) -> Tensor:
        """Fill with ``value`` (a number, or a 0-d tensor) in place (allowed where ``zero_``
        is)."""
        if isinstance(value, Tensor) and not value._rg and value.data.ndim == 0:
            value = value.item()
        # (a tensor that requires grad goes on: _inplace says why it cannot be used)
        if not (isinstance(value, (numbers.Real, np.bool_))
                or isinstance(value, Tensor) and value._rg):
            raise TypeError(f"fill_: expected a number (or a 0-d tensor), got {value!r}")
        return self._inplace(_fill, value, "fill_")

    def clone(self) -> Tensor:
        """A copy with its own memory, still in the graph: gradients flow back through it
        (``detach()`` shares memory and leaves the graph)."""
        return ops.Clone.apply_unary(self)

    def zero_(self) -> Tensor:
        """Fill with zeros in place (allowed on tensors that do not require grad, or
        under no_grad)."""
        return self._inplace(_fill, 0, "zero_")  # not *= 0: nan * 0 and inf * 0 are nan

    # ------------------------------------------------------------------ display
    def __repr__(self):
        arr = backend.to_numpy(self.data)
        body = np.array2string(arr, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if arr.dtype != np.float64:
            extras.append(f"dtype={arr.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}Backward>")
        elif self._rg:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ------------------------------------------------------------------ arithmetic
    # x + y, x - y, x * y, x / y, -x, abs(x): the ops' fast entries themselves, assigned at
    # the end of this module (ops.py needs Tensor first). The reflected forms swap operands.
    def __radd__(self, other):
        return _add(other, self)

    def __rsub__(self, other):
        return _sub(other, self)

    def __rmul__(self, other):
        return _mul(other, self)

    def __rtruediv__(self, other):
        return _div(other, self)

    def __pow__(self, exponent):
        return _pow(self, exponent)

    def __rpow__(self, base):
        return _pow(base, self)

    def __rmatmul__(self, other):
        return _matmul(other, self)

    def __pos__(self):
        return self

    # comparisons: not differentiable, return bool tensors
    def _compare(self, other, fn):
        xd = self.data
        yd = other.data if isinstance(other, Tensor) else other
        if yd.__class__ not in _PLAIN_NUMBERS:
            autograd._check_real(None, yd, name=f"comparison {fn.__name__}")
        if getattr(yd, "dtype", xd.dtype) != xd.dtype:
            # as PyTorch: a float32 tensor against a float64 scalar or 0-d compares in float32
            xd, yd = autograd._promote_like_torch(xd, yd)
        try:
            out = fn(xd, yd)
        except (ValueError, TypeError) as exc:
            raise autograd._plain_error_type(exc)(
                f"comparison {fn.__name__}: cannot compare a tensor of shape "
                f"{tuple(self.shape)} with {autograd._describe(other)} ({exc})") from None
        if isinstance(out, (bool, np.generic)):
            out = np.asarray(out)
        return Tensor._make(out, None, False, [0])

    def __lt__(self, other):
        return self._compare(other, operator.lt)

    def __le__(self, other):
        return self._compare(other, operator.le)

    def __gt__(self, other):
        return self._compare(other, operator.gt)

    def __ge__(self, other):
        return self._compare(other, operator.ge)

    def __eq__(self, other):
        if other is None:  # a tensor is never None (as PyTorch), not elementwise "not None"
            return False
        return self._compare(other, operator.eq)

    def __ne__(self, other):
        if other is None:
            return True
        return self._compare(other, operator.ne)

    # logical ops on masks (bool tensors; bitwise on integer ones): not differentiable
    def _bitwise(self, other, fn, reflected=False):
        xd = self.data
        yd = other.data if isinstance(other, Tensor) else other
        symbol = _BITWISE_SYMBOLS[fn]
        for d in (xd, yd):
            kind = d.dtype.kind if hasattr(d, "dtype") else (
                "b" if isinstance(d, bool) else "i" if isinstance(d, int) else "?")
            if kind not in "biu":
                raise TypeError(
                    f"{symbol}: expected bool or integer tensors (masks, e.g. x > 0), got "
                    f"{autograd._describe(self)} and {autograd._describe(other)}")
        try:
            out = fn(yd, xd) if reflected else fn(xd, yd)
        except ValueError as exc:
            raise ValueError(
                f"{symbol}: cannot combine {autograd._describe(self)} with "
                f"{autograd._describe(other)} ({exc})") from None
        if isinstance(out, (bool, int, np.generic)):
            out = np.asarray(out)
        return Tensor._make(out, None, False, [0])

    def __and__(self, other):
        return self._bitwise(other, operator.and_)

    def __or__(self, other):
        return self._bitwise(other, operator.or_)

    def __xor__(self, other):
        return self._bitwise(other, operator.xor)

    def __rand__(self, other):
        return self._bitwise(other, operator.and_, reflected=True)

    def __ror__(self, other):
        return self._bitwise(other, operator.or_, reflected=True)

    def __rxor__(self, other):
        return self._bitwise(other, operator.xor, reflected=True)

    def __invert__(self):
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"~: expected a bool or integer tensor (a mask, e.g. x > 0), got "
                            f"{autograd._describe(self)}")
        return Tensor._make(_xp_invert(self.data), None, False, [0])

    # ------------------------------------------------------------------ in-place updates
    def _inplace(self, fn, other, name):
        if other.__class__ is Tensor or isinstance(other, Tensor):
            other_rg = other._rg
            other = other.data
        else:
            other_rg = False
        if (self._rg or other_rg) and (not autograd._threads_off  # (is_grad_enabled, inlined)
                                       or autograd._grad_mode.enabled):
            if self._rg:
                raise RuntimeError(
                    f"in-place {name} on a tensor that requires grad (shape "
                    f"{tuple(self.shape)}) would break the recorded graph; do updates inside "
                    "`with mg.no_grad():` (e.g. w -= lr * w.grad), or write x = x + y"
                )
            if other_rg:
                raise RuntimeError(
                    f"in-place {name}: the right-hand side requires grad but the target "
                    "tensor does not, so the result could not be differentiated; write "
                    "x = x + y instead"
                )
        try:
            self.data = fn(self.data, other)
        except (ValueError, TypeError) as exc:
            raise autograd._plain_error_type(exc)(
                f"in-place {name}: cannot update a tensor of shape {tuple(self.shape)} and "
                f"dtype {self.dtype} with {autograd._describe(other)} ({exc})"
            ) from None
        self._vc[0] = tick()  # bump_version, inlined (w -= lr * w.grad: every step)
        return self

    def __iadd__(self, other):
        return self._inplace(operator.iadd, other, "add (+=)")

    def __isub__(self, other):
        return self._inplace(operator.isub, other, "subtract (-=)")

    def __imul__(self, other):
        return self._inplace(operator.imul, other, "multiply (*=)")

    def __itruediv__(self, other):
        return self._inplace(operator.itruediv, other, "divide (/=)")

    def __setitem__(self, index, value):
        index = ops.normalize_index(index)

        def assign(data, v):
            data[index] = v
            return data

        self._inplace(assign, value, "item assignment (x[...] = v)")

    def copy_(self, src) -> Tensor:
        """Copy ``src``'s values into this tensor in place."""

        def assign(data, v):
            data[...] = v
            return data

        return self._inplace(assign, src, "copy_")

    # ------------------------------------------------------------------ indexing & shape
    def __getitem__(self, index):
        return ops.Getitem.apply(self, index=ops.normalize_index(index))

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def reshape(self, *shape) -> Tensor:
        """Same data, new shape (one dimension may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    def view(self, *shape) -> Tensor:
        """``reshape`` that never copies, as PyTorch's ``view``: an error where this tensor's
        layout (after a transpose, say) would need a copy; ``reshape`` copies then."""
        out = self.reshape(*shape)
        if not ops.shares_data(out.data, self.data):
            raise RuntimeError(
                f"view: shape {tuple(out.shape)} is not compatible with the memory layout of "
                f"this tensor of shape {tuple(self.shape)} (it is not contiguous, e.g. "
                "transposed); use .reshape(...), which copies where it must")
        return out

    def flatten(self) -> Tensor:
        return self.reshape(-1)

    def transpose(self, *axes) -> Tensor:
        """``x.transpose(a, b)`` swaps axes a and b, as PyTorch's ``transpose(dim0, dim1)``.

        With no axes, all of them are reversed (``x.T``). With a full permutation (three or
        more axes, or one tuple), they are permuted as by NumPy's ``transpose``: see
        ``permute``. (NumPy reads two axes as a permutation too: its ``transpose(0, 1)``
        leaves a matrix as it is, PyTorch's and this one transposes it.)
        """
        if len(axes) == 2:
            return _swapped(self, *axes, "transpose")
        return self.permute(*axes)

    def permute(self, *axes) -> Tensor:
        """The axes in the order ``axes`` (reversed if none given): PyTorch's ``permute``,
        NumPy's ``transpose``."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Transpose.apply(self, axes=axes or None)

    def swapaxes(self, axis1, axis2) -> Tensor:
        """Axes ``axis1`` and ``axis2`` swapped (= ``transpose(axis1, axis2)``)."""
        return _swapped(self, axis1, axis2, "swapaxes")

    @property
    def T(self) -> Tensor:
        return ops.Transpose.apply(self, axes=None)

    def unsqueeze(self, axis=None, *, dim=None) -> Tensor:
        """A new size-1 axis at ``axis`` (PyTorch: ``dim``)."""
        if dim is not None or axis is None:
            axis, _ = torch_names("unsqueeze", axis, False, dim, None)
            if axis is None:
                raise TypeError("unsqueeze: missing the axis (dim) where the new axis goes")
        shape = list(self.shape)
        _check_axis("unsqueeze", axis, len(shape) + 1, self.shape)  # list.insert would clamp
        shape.insert(axis if axis >= 0 else len(shape) + 1 + axis, 1)
        return self.reshape(tuple(shape))

    def squeeze(self, axis=None, *, dim=None) -> Tensor:
        """Drop size-1 axes (all of them, or those of ``axis``: an int or a tuple)."""
        if dim is not None:
            axis, _ = torch_names("squeeze", axis, False, dim, None)
        if axis is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        drop = set()
        for a in axes:
            _check_axis("squeeze", a, self.ndim, self.shape)  # % alone would wrap silently
            if self.ndim and self.shape[a % self.ndim] == 1:
                drop.add(a % self.ndim)
        if not drop:
            return self
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in drop))

    def broadcast_to(self, shape) -> Tensor:
        return ops.BroadcastTo.apply(self, shape=tuple(shape))

    def sum_to(self, shape) -> Tensor:
        """Sum over broadcast dimensions so the result has ``shape`` (inverse of
        ``broadcast_to``)."""
        return ops.SumTo.apply(self, shape=tuple(shape))

    # ------------------------------------------------------------------ reductions
    # NumPy's spelling (axis=, keepdims=) or PyTorch's (dim=, keepdim=): see torch_names.
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """Σ over ``axis`` (all elements by default; ``dim``, ``keepdim``: PyTorch's names)."""
        if dim is not None or keepdim is not None:
            axis, keepdims = torch_names("sum", axis, keepdims, dim, keepdim)
        return ops.Sum.apply_unary(self, {"axis": axis, "keepdims": keepdims})

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """The mean over ``axis`` (all elements by default; ``dim``, ``keepdim`` as PyTorch)."""
        if dim is not None or keepdim is not None:
            axis, keepdims = torch_names("mean", axis, keepdims, dim, keepdim)
        return ops.Mean.apply_unary(self, {"axis": axis, "keepdims": keepdims})

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The largest value (along ``axis``); with ``dim=`` the pair (values, indices).

        PyTorch's spelling gives PyTorch's result: ``x.max(dim=1)`` is the named pair
        ``(values, indices)`` (the indices carry no gradient); NumPy's ``axis=`` gives the
        values alone."""
        return _extreme(self, ops.Max, "max", axis, keepdims, dim, keepdim)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The smallest value (along ``axis``); with ``dim=`` the pair (values, indices)."""
        return _extreme(self, ops.Min, "min", axis, keepdims, dim, keepdim)

    def var(self, axis=None, keepdims=False, ddof=1, *, dim=None, keepdim=None,
            correction=None) -> Tensor:
        """Variance Σ(x - mean(x))² / (n - ddof), built from primitives.

        ``ddof=1`` (the unbiased estimate) is the default, as ``torch.var``; NumPy's
        ``var`` defaults to ``ddof=0``. (PyTorch's ``correction=`` is ``ddof``.)
        """
        if dim is not None or keepdim is not None:
            axis, keepdims = torch_names("var", axis, keepdims, dim, keepdim)
        if correction is not None:
            if ddof != 1 and ddof != correction:
                raise TypeError("var: pass ddof= or correction= (the same thing), not both")
            ddof = correction
        centered = self - self.mean(axis=axis, keepdims=True)  # (checks the axes)
        n = int(np.prod([self.shape[a] for a in ops._normalize_axes(axis, self.ndim)]))
        # (n <= ddof: no degrees of freedom left, so inf, or nan for no data, as PyTorch)
        return (centered * centered).sum(axis=axis, keepdims=keepdims) / max(n - ddof, 0)

    def std(self, axis=None, keepdims=False, ddof=1, *, dim=None, keepdim=None,
            correction=None) -> Tensor:
        """Standard deviation √var (``ddof=1`` by default, as ``torch.std``)."""
        return self.var(axis, keepdims, ddof, dim=dim, keepdim=keepdim,
                        correction=correction).sqrt()

    def matmul(self, other) -> Tensor:
        """``self @ other``."""
        return self @ other

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """The index of the largest element (of the flattened tensor, or along ``axis``)."""
        if dim is not None or keepdim is not None:
            axis, keepdims = torch_names("argmax", axis, keepdims, dim, keepdim)
        return _arg_extreme(self, axis, "argmax", keepdims)

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        """The index of the smallest element (of the flattened tensor, or along ``axis``)."""
        if dim is not None or keepdim is not None:
            axis, keepdims = torch_names("argmin", axis, keepdims, dim, keepdim)
        return _arg_extreme(self, axis, "argmin", keepdims)

    def all(self) -> bool:
        return bool(self.data.all())

    def any(self) -> bool:
        return bool(self.data.any())

    # ------------------------------------------------------------------ elementwise
    # exp, log, sqrt, abs, tanh, sigmoid, relu: assigned at the end of this module too.

    def clip(self, lo=None, hi=None) -> Tensor:
        """Limit values to [lo, hi]; the gradient is 1 inside the interval, 0 outside."""
        if lo is None and hi is None:
            raise ValueError("clip: at least one of lo and hi must be given")
        return ops.Clip.apply(self, lo=_bound("lo", lo), hi=_bound("hi", hi))

    clamp = clip


_BITWISE_SYMBOLS = {operator.and_: "&", operator.or_: "|", operator.xor: "^"}


def _xp_invert(a):
    out = ~a  # (NumPy gives a scalar for a 0-d array)
    return np.asarray(out) if isinstance(out, np.generic) else out


def _arg_extreme(t, axis, name, keepdims=False):
    data = t.data
    if axis is not None:
        _check_axis(name, axis, data.ndim, data.shape)
    if (data.size == 0) if axis is None else (data.ndim and data.shape[axis] == 0):
        raise ValueError(f"{name}: the tensor of shape {tuple(data.shape)} has no elements "
                         "to compare" + ("" if axis is None else f" along axis {axis}"))
    out = data.argmax(axis=axis) if name == "argmax" else data.argmin(axis=axis)
    xp = backend.get_array_module(data)
    out = xp.asarray(out)
    if keepdims:  # the reduced axis (all of them: axis None) kept with size 1
        out = out.reshape(tuple(1 if axis is None or i == axis % data.ndim else n
                                for i, n in enumerate(data.shape)))
    return Tensor._make(out, None, False, [0])


class ValuesIndices(NamedTuple):
    """``x.max(dim=...)``'s result, as PyTorch's: the values and where they are."""

    values: Tensor
    indices: Tensor


def _extreme(t, op, name, axis, keepdims, dim, keepdim):
    if dim is None and keepdim is None:
        return op.apply(t, axis=axis, keepdims=keepdims)
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be one int, got {dim!r} (PyTorch's {name} takes "
                        "one dim; axis= takes several)")
    axis, keepdims = torch_names(name, axis, keepdims, dim, keepdim)
    if dim is None or not t.ndim:  # keepdim= alone, or a 0-d tensor: NumPy's reduction
        values = op.apply(t, axis=axis, keepdims=keepdims)
        if dim is None:  # (PyTorch's all-element max is a value, not a pair)
            return values
        return ValuesIndices(values, _arg_extreme(t, axis, "arg" + name, keepdims))
    # PyTorch's pair: the values are read at the indices, so that the gradient goes to that
    # one element of each slice (ops.Max splits it among ties, as PyTorch's max() does)
    indices = _arg_extreme(t, axis, "arg" + name, True)
    xp = backend.get_array_module(t.data)
    ndim = t.data.ndim
    axis %= ndim
    where = tuple(indices.data if i == axis else
                  xp.arange(n).reshape(tuple(-1 if j == i else 1 for j in range(ndim)))
                  for i, n in enumerate(t.data.shape))
    values = t[where]
    if not keepdims:
        values = values.squeeze(axis)
        indices = Tensor._make(indices.data.squeeze(axis), None, False, [0])
    return ValuesIndices(values, indices)


def dim_as_axis(name, axis, dim, default):
    """PyTorch's ``dim=`` for an ``axis`` whose default is ``default`` (an axis left at its
    default counts as not given)."""
    if axis != default:
        raise TypeError(f"{name}: pass axis= or dim= (the same thing), not both")
    return dim


def torch_names(name, axis, keepdims, dim, keepdim):
    """``(axis, keepdims)`` from either NumPy's spelling or PyTorch's (``dim=``,
    ``keepdim=``); both at once (the NumPy one not at its default) is an error. An empty
    ``dim`` means every axis, as in PyTorch (NumPy's empty ``axis``: none)."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{name}: pass axis= or dim= (the same thing), not both")
        axis = None if isinstance(dim, (tuple, list)) and not dim else dim
    if keepdim is not None:
        if keepdims and not keepdim:
            raise TypeError(f"{name}: pass keepdims= or keepdim= (the same thing), not both")
        keepdims = keepdim
    return axis, keepdims


def _swapped(t, axis1, axis2, name):
    axes = list(range(t.ndim))
    for a in (axis1, axis2):
        _check_axis(name, a, t.ndim, t.shape)
    if not t.ndim:  # a 0-d tensor's axes 0 and -1 are one and the same
        return ops.Transpose.apply(t, axes=None)
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return ops.Transpose.apply(t, axes=tuple(axes))


def _bound(name, value):
    """A clip bound as Clip takes it: a number, or an array of constants. Single values
    (NumPy scalars, 0-d arrays and tensors) are weak, as Python numbers: float32 stays
    float32. The bounds get no gradient."""
    if isinstance(value, Tensor):
        if value._rg:
            raise ValueError(
                f"clip: {name} requires grad, but clip's bounds are constants; use "
                "mg.maximum/mg.minimum for a gradient with respect to a bound")
        value = value.data
    if getattr(value, "ndim", None) == 0:
        return value.item()
    return value


from . import autograd, ops  # noqa: E402  (ops and autograd need Tensor defined first)

# The operators and elementwise methods *are* the ops' fast entries (one function per op
# class, built in autograd.Function.__init_subclass__): one Python call per op, no wrapper.
Tensor.__add__ = ops.Add.apply_binary
Tensor.__sub__ = ops.Sub.apply_binary
Tensor.__mul__ = ops.Mul.apply_binary
Tensor.__truediv__ = ops.Div.apply_binary
Tensor.__matmul__ = ops.MatMul.apply_binary
Tensor.__neg__ = ops.Neg.apply_unary
Tensor.__abs__ = Tensor.abs = ops.Abs.apply_unary
Tensor.exp = ops.Exp.apply_unary
Tensor.log = ops.Log.apply_unary
Tensor.sqrt = ops.Sqrt.apply_unary
Tensor.tanh = ops.Tanh.apply_unary
Tensor.sigmoid = ops.Sigmoid.apply_unary
Tensor.relu = ops.Relu.apply_unary
Tensor.backward = autograd.backward

# used by the reflected operators and the methods that add a step of their own
_add = ops.Add.apply_binary
_sub = ops.Sub.apply_binary
_mul = ops.Mul.apply_binary
_div = ops.Div.apply_binary
_pow = ops.Pow.apply_binary
_matmul = ops.MatMul.apply_binary
