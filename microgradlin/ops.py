"""The primitive ops: each one's forward and its gradient, side by side.

Every op is a :class:`~microgradlin.autograd.Function`: ``forward`` computes on raw arrays,
``backward`` maps the output's gradient ``g`` to one gradient per input. Broadcasting is
undone by the engine, so a rule may return a gradient of the broadcast shape.

Backward rules are written with operators (``*``, ``/``, ``@``), array methods (``.sum``,
``.reshape``, ``.T``) and the small helpers below that accept raw arrays *and* Tensors. The
engine calls them with arrays normally (fast) and with Tensors under ``create_graph=True``,
so the very same formula also builds the graph of the backward pass (grads of grads).
Masks (which elements pass a gradient) are constants, computed on the raw data.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import backend, cuda
from .autograd import AxisError, Function, _promote_like_torch, sum_all
from .tensor import Tensor, dim_as_axis, torch_names

_xp = backend.get_array_module
_ndarray = np.ndarray


# ----------------------------------------------------------------------------- helpers
# Each accepts a raw array (-> array) or a Tensor (-> Tensor, recorded when grad is on).
def _raw(v):
    """The raw array behind ``v`` (masks and shapes never need a graph)."""
    return v.data if isinstance(v, Tensor) else v


def _exp(v):
    return Exp.apply(v) if isinstance(v, Tensor) else _xp(v).exp(v)


def _log(v):
    return Log.apply(v) if isinstance(v, Tensor) else _xp(v).log(v)


def _sigmoid(v):
    return Sigmoid.apply(v) if isinstance(v, Tensor) else sigmoid_array(v)


def _where(condition, x, y):
    if isinstance(x, Tensor) or isinstance(y, Tensor):
        return Where.apply(condition, x, y)
    return _xp(condition).where(condition, x, y)


def _expand(v, shape):
    """Broadcast ``v`` to ``shape`` (its gradient sums back)."""
    if isinstance(v, Tensor):
        return v if v.shape == shape else BroadcastTo.apply(v, shape=shape)
    if backend.is_gpu_array(v):  # a view: no fill kernel (no backward rule writes into g)
        return backend._cupy.broadcast_to(v, shape)
    # a filled copy: NumPy's broadcast_to view costs several times more on small arrays
    out = _xp(v).empty(shape, dtype=v.dtype)
    out[...] = v
    return out


def _swap_last(v):
    """Swap the last two axes (the transpose of a batch of matrices)."""
    return v.T if v.ndim == 2 else v.swapaxes(-1, -2)


def _scatter(g, shape, index, basic):
    """A zero array of ``shape`` with ``g`` added at ``index`` (repeats accumulate)."""
    if isinstance(g, Tensor):
        return Scatter.apply(g, shape=shape, index=index, basic=basic)
    return scatter_array(g, shape, index, basic)


def scatter_array(g, shape, index, basic):
    out = _xp(g).zeros(shape, dtype=g.dtype)
    if basic:
        out[index] = g  # basic indexing never repeats an element: plain assignment
    else:
        backend.scatter_add(out, index, g)
    return out


def sigmoid_array(x):
    """σ(x) = 1 / (1 + e^-x) on a raw array, to about one ulp, with no overflow (or warning)
    for any x: NumPy warns when e^-x overflows (x < -709 in float64, x < -88 in float32), so
    the textbook formula runs only once the minimum of x shows it is safe (as it nearly
    always is); otherwise (or with a nan) σ(x) = 1 / (1 + e^-|x|), mirrored for x < 0.
    """
    if x.__class__ is np.ndarray:
        safe = _EXP_SAFE.get(x.dtype)  # None: not a float dtype
        if safe is not None and x.size:
            # the smallest x (nan if any): on a short vector, Python's min of a list is
            # quicker than a NumPy reduction (and a nan there never hides a smaller value)
            low = min(x.tolist()) if x.ndim == 1 and x.size <= 16 else _np_min(x, None)
            if low > safe:  # e^-x is finite: 1 / (1 + e^-x)
                if not x.ndim:
                    return 1.0 / (1.0 + np.exp(-x))
                t = np.negative(x)  # then in place: one array for the four steps
                np.exp(t, out=t)
                t += 1.0
                return np.reciprocal(t, out=t)
    xp = _xp(x)
    if x.dtype.kind in "biu":  # bool and integer inputs: σ in the default float64
        x = x.astype(np.float64)
    if backend.is_gpu_array(x):  # CuPy raises no floating-point warnings: e^-x = inf is fine
        return cuda.sigmoid(x) if x.dtype.char in "fd" else 1.0 / (1.0 + xp.exp(-x))
    e = xp.exp(-xp.abs(x))  # in (0, 1]: never overflows
    r = 1.0 / (1.0 + e)
    return xp.where(x >= 0, r, e * r)


_np_min = np.minimum.reduce  # x.min() without the method's Python wrapper
# per float dtype, -log(its largest finite value) with a margin: above it e^-x is finite
# (-11.0 for float16, -88.0 for float32, -709.0 for float64)
_EXP_SAFE = {np.dtype(t): float(np.ceil(-np.log(np.finfo(t).max) * (1 - 1e-3)))
             for t in (np.float16, np.float32, np.float64, np.longdouble)}


def _normalize_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    try:
        axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    except TypeError:
        axes = (axis,)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            raise TypeError(f"axis must be an int or a tuple of ints, got {axis!r}")
        # a 0-d tensor has one "axis" to name, as in PyTorch: 0 or -1, and nothing to reduce
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise AxisError(f"axis {a} is out of bounds for a tensor of dimension {ndim}")
        if ndim:
            out.append(a % ndim)
    return tuple(out)


def _keepdims_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _is_number(v):
    return isinstance(v, numbers.Number) and not isinstance(v, bool)


# ----------------------------------------------------------------------------- arithmetic
class Add(Function):
    """x + y."""

    __slots__ = ()

    elementwise = True

    torch_promotion = True

    def forward(self, x, y):
        return x + y

    # d/dx (x + y) = 1, d/dy (x + y) = 1
    def backward(self, g, x, y, out):
        return g, g


class Sub(Function):
    """x - y."""

    __slots__ = ()

    elementwise = True

    torch_promotion = True

    def forward(self, x, y):
        return x - y

    # d/dx (x - y) = 1, d/dy (x - y) = -1
    def backward(self, g, x, y, out):
        return g, (-g if self.parents[1] is not None else None)


class Mul(Function):
    """x * y (elementwise)."""

    __slots__ = ()

    elementwise = True

    torch_promotion = True

    save_inputs = (0, 1)
    save_crossed = True

    def forward(self, x, y):
        return x * y

    # d/dx (x * y) = y, d/dy (x * y) = x
    def backward(self, g, x, y, out):
        need_x, need_y = self.needs_input_grad
        if x is y and need_x and need_y:  # x * x: both gradients are g * x, formed once
            gx = g * x
            return gx, gx
        return (g * y if need_x else None), (g * x if need_y else None)


class Div(Function):
    """x / y (true division)."""

    __slots__ = ()

    elementwise = True

    torch_promotion = True

    save_inputs = (0, 1)
    save_crossed = (True, False)  # x is read only for y's gradient, y for both (as PyTorch)

    def forward(self, x, y):
        return x / y

    # d/dx (x / y) = 1 / y, d/dy (x / y) = -x / y²
    def backward(self, g, x, y, out):
        need_x, need_y = self.needs_input_grad
        return (g / y if need_x else None), (-g * (x / y / y) if need_y else None)


class Neg(Function):
    """-x."""

    __slots__ = ()

    elementwise = True

    def forward(self, x):
        return -x

    # d/dx (-x) = -1
    def backward(self, g, x, out):
        return -g


class Pow(Function):
    """x ** p, for a number or tensor exponent (and a number or tensor base)."""

    __slots__ = ()

    elementwise = True

    torch_promotion = True

    save_inputs = (0, 1)  # (not the output: x ** 2 may change in place before backward)

    def forward(self, x, p):
        return x**p

    # d/dx x^p = p x^(p-1);  d/dp x^p = x^p log x  (taken as 0 where x = 0 and p >= 0, as
    # PyTorch does; where x = 0 and p < 0 it is inf · -inf = -inf)
    def backward(self, g, x, p, out):
        need_x, need_p = self.needs_input_grad
        gx = gp = None
        if need_x:
            if _is_number(p):
                gx = g * 0.0 if p == 0 else (g * (2 * x) if p == 2 else g * p * x ** (p - 1))
            else:  # where p = 0 and x = 0 or nan the exponent is taken as 0, not -1:
                # gradient 0 (as PyTorch), not 0 · inf or 0 · nan (elsewhere p x^(p-1) is
                # exact, also its derivative in p: x^(p-1) + p x^(p-1) log x = 1/x at p = 0)
                xr, pr = _raw(x), _raw(p)
                gx = g * p * x ** (p - 1 + ((pr == 0) & ((xr == 0) | (xr != xr))))
        if need_p:
            out = x**p
            if _is_number(x):
                if x != 0:
                    gp = g * out * float(np.log(x))  # a weak Python float
                else:
                    gp = g * _where(_raw(p) >= 0, 0.0, -np.inf).astype(_raw(g).dtype)
            else:
                # log(x), with x = 0 replaced by 1 where p >= 0 so that the factor is 0 there
                safe = _where((_raw(x) == 0) & (_raw(p) >= 0), 1.0, x)
                with np.errstate(divide="ignore"):  # log 0 = -inf where p < 0, on purpose
                    gp = g * out * _log(safe)
        return gx, gp


class MatMul(Function):
    """x @ y with NumPy matmul semantics: 1-D operands and batched (broadcast) stacks."""

    __slots__ = ()

    op_name = "matmul"
    save_inputs = (0, 1)
    save_crossed = True
    fits_up_to_2d = True
    array_operands = True  # t @ [1.0, 2.0]: the rule transposes its operands

    def forward(self, a, b):
        try:
            if a.__class__ is _ndarray and b.__class__ is _ndarray and 0 < a.ndim <= 2 \
                    and 0 < b.ndim <= 2:
                return a.dot(b)  # = a @ b here; NumPy's dot has less call overhead
            return a @ b
        except ValueError:  # NumPy's message names gufunc internals: say it plainly
            if a.ndim == 0 or b.ndim == 0:
                raise ValueError(
                    f"shapes {a.shape} and {b.shape}: both operands must have at least one "
                    "dimension (use * to multiply by a scalar)"
                ) from None
            ka = a.shape[-1]
            kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
            if ka != kb:
                raise ValueError(
                    f"shapes {a.shape} and {b.shape} are not aligned: {ka} != {kb}") from None
            raise

    # out = a b:  dL/da = g bᵀ,  dL/db = aᵀ g   (1-D operands as row/column vectors)
    def backward(self, g, a, b, out):
        need_a, need_b = self.needs_input_grad
        ga = gb = None
        # plain host arrays use NumPy's dot where it equals @ (the same BLAS call, less
        # overhead); Tensors (create_graph), device arrays and subclasses keep @
        dot = g.__class__ is _ndarray and a.__class__ is _ndarray and b.__class__ is _ndarray
        if a.ndim == 1 and b.ndim == 1:  # inner product
            ga = g * b if need_a else None
            gb = g * a if need_b else None
        elif b.ndim == 1:  # (..., n, k) @ (k,) -> (..., n)
            ga = g[..., None] * b if need_a else None
            if need_b:  # batched: g as a stack of columns (..., n, 1); the engine sums the batch
                if a.ndim == 2:  # aᵀ g (as g·a with dot)
                    gb = g.dot(a) if dot else a.T @ g
                else:
                    gb = (_swap_last(a) @ g[..., None])[..., 0]
        elif a.ndim == 1:  # (k,) @ (..., k, m) -> (..., m)
            if need_a:  # batched: g as a stack of columns (..., m, 1); the engine sums the batch
                if b.ndim == 2:  # b g
                    ga = b.dot(g) if dot else b @ g
                else:
                    ga = (b @ g[..., None])[..., 0]
            gb = a[:, None] * g[..., None, :] if need_b else None
        elif dot and a.ndim == 2 and b.ndim == 2:
            ga = g.dot(b.T) if need_a else None
            gb = a.T.dot(g) if need_b else None
        else:
            ga = g @ _swap_last(b) if need_a else None
            gb = _swap_last(a) @ g if need_b else None
        return ga, gb


# ----------------------------------------------------------------------------- elementwise
class Exp(Function):
    """exp(x)."""

    __slots__ = ()

    elementwise = True

    save_output = True

    def forward(self, x):
        return _xp(x).exp(x)

    # d/dx exp(x) = exp(x)
    def backward(self, g, x, out):
        return g * out


class Log(Function):
    """Natural logarithm log(x)."""

    __slots__ = ()

    elementwise = True

    save_inputs = (0,)

    def forward(self, x):
        return _xp(x).log(x)

    # d/dx log(x) = 1 / x
    def backward(self, g, x, out):
        return g / x


class Sqrt(Function):
    """sqrt(x)."""

    __slots__ = ()

    elementwise = True

    save_output = True

    def forward(self, x):
        return _xp(x).sqrt(x)

    # d/dx sqrt(x) = 1 / (2 sqrt(x))
    def backward(self, g, x, out):
        return g / (out + out)


class Abs(Function):
    """|x|."""

    __slots__ = ()

    elementwise = True

    save_inputs = (0,)

    def forward(self, x):
        return _xp(x).abs(x)

    # d/dx |x| = sign(x)   (0 at x = 0, as PyTorch)
    def backward(self, g, x, out):
        gx = g * _xp(_raw(x)).sign(_raw(x))
        return gx if x.__class__ is not Tensor else _zero_slope_on(gx, x)  # (create_graph)


class Tanh(Function):
    """tanh(x)."""

    __slots__ = ()

    elementwise = True

    save_output = True

    def forward(self, x):
        return _xp(x).tanh(x)

    # d/dx tanh(x) = 1 - tanh(x)²
    def backward(self, g, x, out):
        if out.__class__ is not np.ndarray:  # on a GPU: the same formula as one kernel
            gx = cuda.fused_grad("tanh_grad", g, out)
            if gx is not None:
                return gx
        return g - g * out * out  # g (1 - out²): no Python-number operand (slow in NumPy)


class Sigmoid(Function):
    """σ(x) = 1 / (1 + exp(-x)), computed without overflow."""

    __slots__ = ()

    elementwise = True

    save_output = True

    def forward(self, x):
        return sigmoid_array(x)

    # d/dx sigmoid = s * (1 - s)
    def backward(self, g, x, out):
        if out.__class__ is not np.ndarray:  # on a GPU: the same formula as one kernel
            gx = cuda.fused_grad("sigmoid_grad", g, out)
            if gx is not None:
                return gx
        gs = g * out
        return gs - gs * out  # g s (1 - s): no Python-number operand (slow in NumPy)


class Relu(Function):
    """max(x, 0)."""

    __slots__ = ()

    elementwise = True

    save_output = True

    def forward(self, x):
        return _xp(x).maximum(x, 0)

    # d/dx relu(x) = 1 if x > 0 else 0  (g passes where relu(x) is not <= 0, as PyTorch's
    # rule: also a nan or inf g is 0 where x <= 0)
    def backward(self, g, x, out):
        if out.__class__ is not np.ndarray:  # on a GPU: one kernel
            gx = cuda.fused_grad("relu_grad", g, out)
            if gx is not None:
                return gx
        gx = _where(_raw(out) <= 0, 0.0, g)
        return gx if out.__class__ is not Tensor else _zero_slope_on(gx, out)  # (create_graph)


class Clip(Function):
    """clip(x, lo, hi): x limited to [lo, hi]."""

    __slots__ = ("lo", "hi")
    save_inputs = (0,)

    def forward(self, x, lo=None, hi=None):
        self.lo, self.hi = lo, hi
        return _xp(x).clip(x, lo, hi)

    # d/dx clip(x) = 1 where lo <= x <= hi, else 0
    def backward(self, g, x, out):
        x = _raw(x)
        inside = _xp(x).ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return g * inside


class Maximum(Function):
    """Elementwise maximum(x, y)."""

    __slots__ = ()

    torch_promotion = True

    op_name = "maximum"
    save_inputs = (0, 1)

    def forward(self, x, y):
        return _xp(x if hasattr(x, "shape") else y).maximum(x, y)

    # d/dx max(x, y) = 1 where x > y, 1/2 where x == y (ties split, as PyTorch), else 0
    def backward(self, g, x, y, out):
        x, y = _raw(x), _raw(y)
        share_x = (x > y) + 0.5 * (x == y)
        need_x, need_y = self.needs_input_grad
        return (g * share_x if need_x else None), (g * (1 - share_x) if need_y else None)


class Minimum(Function):
    """Elementwise minimum(x, y)."""

    __slots__ = ()

    torch_promotion = True

    op_name = "minimum"
    save_inputs = (0, 1)

    def forward(self, x, y):
        return _xp(x if hasattr(x, "shape") else y).minimum(x, y)

    # d/dx min(x, y) = 1 where x < y, 1/2 where x == y, else 0
    def backward(self, g, x, y, out):
        x, y = _raw(x), _raw(y)
        share_x = (x < y) + 0.5 * (x == y)
        need_x, need_y = self.needs_input_grad
        return (g * share_x if need_x else None), (g * (1 - share_x) if need_y else None)


class Where(Function):
    """where(condition, x, y): x where condition holds, else y."""

    __slots__ = ()

    op_name = "where"
    save_inputs = (0,)

    def forward(self, condition, x, y):
        if condition.dtype != bool:
            raise TypeError(
                f"condition must be a boolean array, got dtype {condition.dtype} (note that "
                "mg.tensor([True, False]) is float64 like every Python list: pass "
                "dtype=bool, a comparison such as x > 0, or a NumPy bool array)")
        if hasattr(x, "dtype") and hasattr(y, "dtype") and x.dtype != y.dtype:
            x, y = _promote_like_torch(x, y)  # a float32 branch stays float32 against 0-d
        out = _xp(condition).where(condition, x, y)
        if out.dtype.kind not in "biuf":
            raise TypeError(f"x and y must be real numbers or arrays of them, got "
                            f"{type(x).__name__} and {type(y).__name__}")
        return out

    # d/dx = 1 where condition, d/dy = 1 elsewhere
    def backward(self, g, condition, x, y, out):
        _, need_x, need_y = self.needs_input_grad
        c = _raw(condition)
        return None, (g * c if need_x else None), (g * ~c if need_y else None)


class Cast(Function):
    """x converted to another dtype."""

    __slots__ = ()

    op_name = "astype"

    def forward(self, x, dtype):
        return x.astype(dtype)

    # the gradient is cast back to x's dtype by the engine
    def backward(self, g, x, out):
        return g


class Clone(Function):
    """A copy of x with its own memory (PyTorch's ``clone``): recorded, unlike ``.data.copy()``."""

    __slots__ = ()

    elementwise = True

    def forward(self, x):
        return x.copy()

    # d/dx copy(x) = 1
    def backward(self, g, x, out):
        return g


class ZeroSlope(Function):
    """``value``, recorded as a function of ``anchor`` with derivative 0.

    Under ``create_graph`` the gradient of relu(x) or |x| is g times a step of x. PyTorch
    records it as a function of x, so a second derivative through it is 0 (almost
    everywhere) rather than an error ("does not require grad"); this op records that. (It
    leaves ``value`` as it is: the output is the same array.)
    """

    __slots__ = ()
    is_view = True  # the output is value's own array
    save_inputs = (1,)  # the anchor, for the next order (create_graph)

    def forward(self, value, anchor):
        return value

    # d/dvalue = 1, d/danchor = 0 (itself a function of the anchor under create_graph, so
    # that every higher derivative is 0 too, as in PyTorch)
    def backward(self, g, value, anchor, out):
        need_value, need_anchor = self.needs_input_grad
        g_anchor = None
        if need_anchor:
            shape, dtype = self.meta[1]
            g_anchor = _xp(_raw(g)).zeros(shape, dtype)
            if g.__class__ is Tensor:
                g_anchor = _zero_slope_on(Tensor._make(g_anchor, None, False, [0]), anchor)
        return (g if need_value else None), g_anchor


def _zero_slope_on(grad, x):
    """``grad`` (a Tensor: create_graph) recorded as depending on ``x`` with slope 0,
    where ``x`` requires grad (see ZeroSlope)."""
    if grad.__class__ is Tensor and x.__class__ is Tensor and x._rg:
        return ZeroSlope.apply(grad, x)
    return grad


class ToDevice(Function):
    """x copied to another device (CPU <-> GPU)."""

    op_name = "to"
    __slots__ = ("source",)

    def forward(self, x, device):
        self.source = backend.device_of(x)
        return backend.to_device(x, device)

    # the gradient travels back to where x lives
    def backward(self, g, x, out):
        return g.to(self.source) if isinstance(g, Tensor) else backend.to_device(g, self.source)


# ----------------------------------------------------------------------------- reductions
class _Reduction(Function):
    __slots__ = ("axis", "keepdims", "in_shape")

    def _setup(self, x, axis, keepdims):
        """Record what backward needs; returns ``axis`` as NumPy takes it (a list of axes,
        PyTorch's ``dim=[0, 1]``, as a tuple)."""
        if axis.__class__ is list:
            axis = tuple(axis)
        if axis is not None and not x.ndim:  # x.sum(axis=0) of a 0-d x: x itself
            axis = _normalize_axes(axis, 0)
        self.axis = axis
        self.keepdims = keepdims
        self.in_shape = x.shape
        return axis

    @property
    def axes(self) -> tuple:
        """The reduced axes, as non-negative ints."""
        return _normalize_axes(self.axis, len(self.in_shape))

    def _kept(self, v):
        """Give a reduced gradient (or output) its reduced axes back, as size 1."""
        if self.keepdims or (self.axis is None and v.ndim == 0):
            return v  # a 0-d value broadcasts against the input as it is
        return v.reshape(_keepdims_shape(self.in_shape, self.axes))


class Sum(_Reduction):
    """Sum over ``axis`` (all axes by default)."""

    __slots__ = ()

    def forward(self, x, axis=None, keepdims=False):
        axis = self._setup(x, axis, keepdims)
        if axis is None and not keepdims:  # the usual loss.sum(): no keyword overhead
            return sum_all(x) if x.__class__ is np.ndarray else x.sum()
        return x.sum(axis=axis, keepdims=keepdims)

    # d/dx_i sum(x) = 1: the gradient is copied to every summed element
    def backward(self, g, x, out):
        return _expand(self._kept(g), self.in_shape)


class Mean(_Reduction):
    """Mean over ``axis`` (all axes by default)."""

    __slots__ = ()

    def forward(self, x, axis=None, keepdims=False):
        axis = self._setup(x, axis, keepdims)
        if axis is None and not keepdims and x.__class__ is np.ndarray and x.dtype.char in "fd":
            # the usual loss.mean(): np.mean's Python wrapper costs more than the sum (float16
            # stays with np.mean, which accumulates it in float32)
            return sum_all(x) / x.size
        return x.mean(axis=axis, keepdims=keepdims)

    # d/dx_i mean(x) = 1 / n
    def backward(self, g, x, out):
        n = 1
        for a in self.axes:
            n *= self.in_shape[a]
        # (the mean of nothing: nan, and an empty gradient)
        return _expand(self._kept(g) * (1.0 / n if n else np.nan), self.in_shape)


def _check_not_empty(node, x, what):
    """max/min over a zero-length axis has no value (other axes may be empty: then so is the
    result, as in PyTorch)."""
    if x.size == 0 and any(x.shape[a] == 0 for a in node.axes):
        raise ValueError(f"{what} over an empty axis is undefined (input shape {x.shape})")


class Max(_Reduction):
    """Largest element over ``axis``."""

    __slots__ = ()

    save_inputs = (0,)
    save_output = True

    def forward(self, x, axis=None, keepdims=False):
        axis = self._setup(x, axis, keepdims)
        _check_not_empty(self, x, "max")
        return x.max(axis=axis, keepdims=keepdims)

    # d/dx_i max(x) = 1 for the maximal element(s), shared equally among ties; 0 elsewhere
    def backward(self, g, x, out):
        xr, best = _raw(x), _raw(self._kept(out))
        winners = (xr == best) | ((xr != xr) & (best != best))  # a nan maximum: the nans win
        share = winners / winners.sum(axis=self.axes, keepdims=True)
        return self._kept(g) * share


class Min(Max):
    """Smallest element over ``axis``."""

    __slots__ = ()

    def forward(self, x, axis=None, keepdims=False):
        axis = self._setup(x, axis, keepdims)
        _check_not_empty(self, x, "min")
        return x.min(axis=axis, keepdims=keepdims)


class LogSumExp(_Reduction):
    """log(sum(exp(x))) over ``axis``, computed stably as m + log(sum(exp(x - m)))."""

    __slots__ = ()

    save_inputs = (0,)
    save_output = True

    def forward(self, x, axis=None, keepdims=False):
        xp = _xp(x)
        axis = self._setup(x, axis, keepdims)
        if x.size:
            m = x.max(axis=self.axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)  # all -inf (or inf) rows: shift by 0, no nan
        else:  # nothing to sum: log 0 = -inf, as PyTorch
            m = xp.zeros(_keepdims_shape(x.shape, self.axes), dtype=x.dtype)
        with np.errstate(divide="ignore"):  # log 0 = -inf: an all -inf row's value
            out = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        return out if keepdims else out.reshape(tuple(
            n for i, n in enumerate(x.shape) if i not in self.axes))

    # d/dx_i logsumexp(x) = exp(x_i - logsumexp(x)) = softmax(x)_i
    def backward(self, g, x, out):
        return self._kept(g) * _exp(x - self._kept(out))


# ----------------------------------------------------------------------------- shape
class Reshape(Function):
    """Same elements, new shape: a view of x where its layout allows, else a copy."""

    __slots__ = ("in_shape", "is_view")

    def forward(self, x, shape):
        self.in_shape = x.shape
        for n in shape if isinstance(shape, tuple) else ():
            if n < -1:  # NumPy reads any negative size as "unknown"; PyTorch only -1
                raise ValueError(f"invalid shape dimension {n} in {shape} (sizes are >= 0, "
                                 "or -1 for the one to infer)")
        out = x.reshape(shape)
        # a copy (x.T.reshape(-1)) gets its own version count, a view shares x's
        self.is_view = shares_data(out, x)
        return out

    # the gradient is reshaped back
    def backward(self, g, x, out):
        return g.reshape(self.in_shape)


class Transpose(Function):
    """Axes permuted (reversed when ``axes`` is None)."""

    __slots__ = ("axes",)
    is_view = True

    def forward(self, x, axes=None):
        if axes is not None:
            for a in axes:  # (% alone would wrap an axis out of range into one in range)
                if not -x.ndim <= a < x.ndim:
                    raise AxisError(f"axis {a} is out of range for the {x.ndim} axes of "
                                    f"shape {x.shape}")
            if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
                raise ValueError(f"axes {tuple(axes)} are not a permutation of the "
                                 f"{x.ndim} axes of shape {x.shape}")
            axes = tuple(a % x.ndim for a in axes)  # negative axes: the inverse needs these
        self.axes = axes
        return x.transpose(axes) if axes is not None else x.T

    # the gradient is permuted back by the inverse permutation
    def backward(self, g, x, out):
        if self.axes is None:
            return g.T
        return g.transpose(tuple(int(i) for i in np.argsort(self.axes)))


class BroadcastTo(Function):
    """x repeated along new or size-1 axes to ``shape`` (a read-only view)."""

    __slots__ = ()

    op_name = "broadcast_to"
    is_view = True

    def forward(self, x, shape):
        return _xp(x).broadcast_to(x, shape)

    # every copy sends its gradient back to the one original: sum (the engine un-broadcasts)
    def backward(self, g, x, out):
        return g


class SumTo(Function):
    """Sum over broadcast axes down to ``shape``: the inverse of broadcast_to."""

    op_name = "sum_to"
    __slots__ = ("in_shape",)

    def forward(self, x, shape):
        from .autograd import sum_to_array

        self.in_shape = x.shape
        try:  # x must be a broadcast of the target shape (each size equal, or 1 in shape)
            fits = len(shape) <= x.ndim and np.broadcast_shapes(shape, x.shape) == x.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"cannot sum shape {x.shape} down to {shape}: each size of the "
                             "target must equal the input's trailing size, or be 1")
        return sum_to_array(x, shape)

    # each summed element receives the gradient of its sum
    def backward(self, g, x, out):
        return _expand(g, self.in_shape)


def _is_basic_index(index):
    return all(
        isinstance(i, (numbers.Integral, slice)) or i is None or i is Ellipsis
        for i in index
    ) and not any(isinstance(i, (bool, np.bool_)) for i in index)


def normalize_index(index):
    """A tuple index whose tensor parts are raw arrays."""
    if not isinstance(index, tuple):
        index = (index,)
    return tuple(
        _tensor_index(i.data) if isinstance(i, Tensor) else (
            _list_index(i) if isinstance(i, list) else i)
        for i in index
    )


def _tensor_index(i):
    """A 0-d integer tensor indexes as the int it holds (a view, as PyTorch's x[t])."""
    return int(i.item()) if i.ndim == 0 and i.dtype.kind in "iu" else i


def _list_index(i):
    """A list index as an array: an empty list selects nothing (NumPy would read it as an
    empty float array, which cannot index)."""
    arr = np.asarray(i)
    return arr.astype(np.intp) if arr.size == 0 else arr


class Getitem(Function):
    """x[index]: ints, slices, None, Ellipsis, integer arrays and boolean masks."""

    op_name = "getitem"
    __slots__ = ("in_shape", "index", "basic", "is_view")

    def forward(self, x, index):
        self.in_shape = x.shape
        self.basic = self.is_view = _is_basic_index(index)
        if not self.basic and backend.is_device_array(x):  # index arrays live with the data
            device = backend.device_of(x)
            index = tuple(backend.to_device(i, device) if isinstance(i, np.ndarray) else i
                          for i in index)
        self.index = index
        out = x[index]
        if self.basic and isinstance(out, np.generic):
            # NumPy copies a single element out (x[0] is a scalar): a 0-d view instead, as
            # PyTorch's x[0], so that an in-place change through either one reaches the other
            out = x[index + (Ellipsis,)]
        return out

    # each selected element sends its gradient back to where it came from; repeats add up
    def backward(self, g, x, out):
        return _scatter(g, self.in_shape, self.index, self.basic)


class Scatter(Function):
    """zeros(shape) with g added at index: the gradient of getitem (and its transpose)."""

    op_name = "scatter"
    __slots__ = ("index",)

    def forward(self, g, shape, index, basic):
        self.index = index
        return scatter_array(g, shape, index, basic)

    # d/dg: read the gradient back at the same index
    def backward(self, gg, g, out):
        return gg[self.index]


class Concatenate(Function):
    """Tensors joined along an existing ``axis``."""

    op_name = "concatenate"
    __slots__ = ("axis", "bounds")

    def forward(self, *xs, axis=0):
        xs = _torch_promoted([x if hasattr(x, "ndim") else np.asarray(x) for x in xs])
        if xs[0].ndim == 0:
            raise ValueError("0-d tensors cannot be concatenated (use stack to make a 1-D one)")
        self.axis = axis % xs[0].ndim
        sizes = [x.shape[self.axis] for x in xs]
        self.bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        return _xp(xs[0]).concatenate(xs, axis=axis)

    # each input gets back its own slice of the gradient
    def backward(self, g, *saved):
        lead = (slice(None),) * self.axis
        return tuple(
            g[lead + (slice(lo, hi),)] if p is not None else None
            for p, lo, hi in zip(self.parents, self.bounds[:-1], self.bounds[1:])
        )


class Stack(Function):
    """Tensors of one shape stacked along a new ``axis``."""

    op_name = "stack"
    __slots__ = ("axis",)

    def forward(self, *xs, axis=0):
        xs = _torch_promoted([x if hasattr(x, "ndim") else np.asarray(x) for x in xs])
        self.axis = axis % (xs[0].ndim + 1)
        return _xp(xs[0]).stack(xs, axis=axis)

    # input i gets back the i-th slice of the gradient along the new axis
    def backward(self, g, *saved):
        lead = (slice(None),) * self.axis
        return tuple(
            g[lead + (i,)] if p is not None else None for i, p in enumerate(self.parents)
        )


def shares_data(view, base) -> bool:
    """Whether ``view`` (made from ``base`` by reshape) reads ``base``'s memory."""
    return base.flags.c_contiguous or view.size == 0 or bool(
        _xp(base).may_share_memory(view, base))


def _torch_promoted(arrays):
    """The arrays of a concatenate or stack cast as PyTorch promotes them: where some are
    floating point, integer and bool ones take the floats' dtype (NumPy would widen float32
    with int64 to float64)."""
    kinds = {a.dtype.kind for a in arrays}
    if "f" not in kinds or kinds <= {"f"}:
        return arrays
    floating = np.result_type(*[a.dtype for a in arrays if a.dtype.kind == "f"])
    return [a if a.dtype.kind == "f" else a.astype(floating) for a in arrays]


# ----------------------------------------------------------------------------- functions
def _check_sequence(name, tensors, axis):
    if not isinstance(tensors, (list, tuple)) or len(tensors) == 0:
        raise ValueError(f"{name}: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if not (isinstance(t, Tensor) or hasattr(t, "shape") or isinstance(t, (list, tuple))
                or _is_number(t)):
            raise TypeError(f"{name}: element {i} is a {type(t).__name__}, expected a Tensor")
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{name}: axis must be an int, got {axis!r}")


def maximum(x, y) -> Tensor:
    """Elementwise maximum; ties split the gradient equally (as PyTorch)."""
    return Maximum.apply(x, y)


def minimum(x, y) -> Tensor:
    """Elementwise minimum; ties split the gradient equally (as PyTorch)."""
    return Minimum.apply(x, y)


def where(condition, x, y) -> Tensor:
    """``x`` where ``condition`` is true, ``y`` elsewhere (gradients routed the same way)."""
    if isinstance(condition, Tensor):
        condition = condition.data
    elif not hasattr(condition, "dtype"):
        condition = np.asarray(condition)
    # NumPy scalars are weak, as Python numbers: float32 branches stay float32
    x = x.item() if isinstance(x, np.generic) else x
    y = y.item() if isinstance(y, np.generic) else y
    return Where.apply(condition, x, y)


def concatenate(tensors, axis=0, *, dim=None) -> Tensor:
    """Join tensors along an existing axis (``mg.cat(tensors, dim=0)``: PyTorch's names)."""
    if dim is not None:
        axis = dim_as_axis("concatenate", axis, dim, 0)
    _check_sequence("concatenate", tensors, axis)
    return Concatenate.apply(*tensors, axis=axis)


cat = concatenate


def stack(tensors, axis=0, *, dim=None) -> Tensor:
    """Stack same-shaped tensors along a new axis."""
    if dim is not None:
        axis = dim_as_axis("stack", axis, dim, 0)
    _check_sequence("stack", tensors, axis)
    return Stack.apply(*tensors, axis=axis)


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def matmul(x, y) -> Tensor:
    """``x @ y`` as a function (``torch.matmul``): NumPy's matmul rules."""
    if x.__class__ is Tensor or isinstance(y, Tensor) or isinstance(x, Tensor):
        return MatMul.apply_binary(x, y)  # (a list beside a Tensor takes its dtype, as @)
    return MatMul.apply_binary(_as_tensor(x), y)


def exp(x) -> Tensor:
    return Exp.apply(_as_tensor(x))


def log(x) -> Tensor:
    return Log.apply(_as_tensor(x))


def sqrt(x) -> Tensor:
    return Sqrt.apply(_as_tensor(x))


def abs(x) -> Tensor:  # noqa: A001 - mirrors numpy/torch naming
    return Abs.apply(_as_tensor(x))


def tanh(x) -> Tensor:
    return Tanh.apply(_as_tensor(x))


def sigmoid(x) -> Tensor:
    return Sigmoid.apply(_as_tensor(x))


def relu(x) -> Tensor:
    return Relu.apply(_as_tensor(x))


def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
    """log Σ exp(x) over ``axis`` (PyTorch: ``dim``, ``keepdim``), computed stably."""
    if dim is not None or keepdim is not None:
        axis, keepdims = torch_names("logsumexp", axis, keepdims, dim, keepdim)
    return LogSumExp.apply(_as_tensor(x), axis=axis, keepdims=keepdims)
