"""``microgradlin.functional`` (imported as ``F``): activations and losses as functions.

Activations are the engine's primitive ops; ``softmax`` and ``log_softmax`` are composed
from primitives around the fused, stable ``logsumexp``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import backend, cuda, ops
from .autograd import _FLOAT64, Function, sum_all
from .backend import get_array_module as _xp
from .ops import _sigmoid, logsumexp, relu, sigmoid, tanh
from .tensor import Tensor, dim_as_axis

__all__ = [
    "sigmoid", "tanh", "relu", "softmax", "log_softmax", "logsumexp",
    "binary_cross_entropy_with_logits",
]


def softmax(x, axis=-1, *, dim=None) -> Tensor:
    """softmax(x)_i = exp(x_i - m) / Σ_j exp(x_j - m), with m = max_j x_j.

    Shifting by the maximum changes nothing mathematically (softmax is invariant to adding a
    constant to every logit) but keeps every exponent <= 0, so nothing overflows. The shift
    is a constant for the gradient: its derivative contributions cancel exactly. (``dim=`` is
    PyTorch's name for ``axis``.)
    """
    if dim is not None:
        axis = dim_as_axis("softmax", axis, dim, -1)
    x = ops._as_tensor(x)
    if x.ndim == 0 and axis in (0, -1, None):  # one logit is its own row: softmax 1
        return softmax(x.reshape(1), axis=0).reshape(())
    _check_axis("softmax", x, axis)
    e = (x - _max_shift(x.data, axis)).exp()
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1, *, dim=None) -> Tensor:
    """log softmax(x)_i = (x_i - m) - log Σ_j exp(x_j - m), with m = max_j x_j.

    Shifted first, as ``softmax``: x - logsumexp(x) directly would lose the small result in
    the rounding of two large numbers (x = [1e17, 1e17] would give [0, 0], not -log 2).
    """
    if dim is not None:
        axis = dim_as_axis("log_softmax", axis, dim, -1)
    x = ops._as_tensor(x)
    if x.ndim == 0 and axis in (0, -1, None):  # one logit is its own row: log softmax 0
        return log_softmax(x.reshape(1), axis=0).reshape(())
    _check_axis("log_softmax", x, axis)
    shifted = x - _max_shift(x.data, axis)
    return shifted - logsumexp(shifted, axis=axis, keepdims=True)


def _check_axis(name, x, axis):
    try:
        ops._normalize_axes(axis, x.ndim)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{name}: {exc} (input shape {tuple(x.shape)})") from None


def _max_shift(data, axis):
    """max(data) along ``axis`` (kept), a constant: 0 for an all -inf row or no data."""
    xp = _xp(data)
    if not data.size:
        return xp.zeros((), dtype=data.dtype)
    shift = data.max(axis=axis, keepdims=True)
    return xp.where(shift == -xp.inf, 0, shift).astype(data.dtype, copy=False)


# ----------------------------------------------------------------------------- losses
_REDUCTIONS = ("mean", "sum", "none")


# the fused losses' keyword arguments for forward, built once (read only: never changed)
_REDUCTION_PARAMS = {r: {"reduction": r} for r in _REDUCTIONS}


def _check_reduction(name, reduction):
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        got = repr(reduction) if isinstance(reduction, str) else type(reduction).__name__
        raise ValueError(
            f"{name}: reduction must be one of {_REDUCTIONS}, got {got} (the third "
            "positional argument is reduction; pass the other options, such as weight=, "
            "by keyword)"
        )


_ZERO64 = np.zeros(())  # float64's, ready without _zero's call (the BCE forward's every call)
_ZERO64.flags.writeable = False
_ZEROS = {_FLOAT64: _ZERO64}  # dtype -> its read-only 0-d zero (see _zero)


def _zero(a):
    """A 0-d zero of ``a``'s dtype: NumPy's quickest second operand (a Python 0 is slower)."""
    if a.__class__ is not np.ndarray:
        return 0
    zero = _ZEROS.get(a.dtype)
    if zero is None:
        zero = _ZEROS[a.dtype] = np.zeros((), a.dtype)
        zero.flags.writeable = False
    return zero


_INVERSES = {}


def _times_share(a, g, n):
    """``a *= g / n`` in place: each element's share of a mean (n = 1: of a sum).

    With a 0-d ``g`` (the usual case) both factors are applied as 0-d arrays of ``a``'s dtype:
    NumPy takes a slow path for a Python float or a NumPy scalar operand that costs more
    than the multiply itself at these sizes. Multiplying by 1 is exact, so it is skipped.
    """
    if not n:  # no elements to share among: a is empty
        return
    if a.__class__ is not np.ndarray or g.__class__ is not np.ndarray or g.ndim != 0:
        a *= g
        if n != 1:
            a *= 1.0 / n
        return
    if float(g) != 1.0:
        a *= g
    if n != 1:
        key = n if a.dtype is _FLOAT64 else (n, a.dtype)  # (an int key hashes fastest)
        inverse = _INVERSES.get(key)
        if inverse is None:
            inverse = np.array(1.0 / n, dtype=a.dtype)
            inverse.flags.writeable = False
            if len(_INVERSES) < 256:
                _INVERSES[key] = inverse
        a *= inverse


def _reduce_grad(g, reduction, n):
    """The gradient reaching each element: g (none), g broadcast (sum) or g / n (mean)."""
    if reduction == "mean":
        return g * (1.0 / n if n else np.nan)  # (no elements: an empty gradient)
    return g


class BCEWithLogits(Function):
    """Fused, stable binary cross-entropy on logits z with targets y in [0, 1].

    ℓ(z, y) = -y log σ(z) - (1 - y) log(1 - σ(z)) = softplus(z) - z·y, with
    softplus(z) = log(1 + e^z) = max(z, 0) + log(1 + exp(-|z|)): never overflows (finite at
    z = ±1e4). The node keeps softplus(z) for its backward until the loss is dropped.
    """

    op_name = "binary_cross_entropy_with_logits"
    __slots__ = ("reduction", "n", "softplus")
    save_inputs = (0, 1)
    small = 128  # below this many logits, NumPy's call overhead outweighs its arithmetic

    def forward(self, z, y, reduction="mean"):
        self.reduction = reduction
        n = self.n = z.size
        if z.__class__ is np.ndarray:
            xp = np
        elif backend.is_gpu_array(z):  # one fused kernel
            self.softplus = None
            return cuda.bce_with_logits_forward(z, y, reduction)
        else:
            xp = _xp(z)
        # softplus(z) = log(1 + e^z) = max(z, 0) + log(1 + e^-|z|): never overflows
        if n <= self.small:
            sp = xp.logaddexp(_zero(z), z)  # one call; slower per element than five
        else:  # in place: one array for the whole formula
            sp = xp.abs(z)
            xp.negative(sp, sp)
            xp.exp(sp, sp)
            xp.log1p(sp, sp)
            sp += xp.maximum(z, _ZERO64 if z.dtype is _FLOAT64 and xp is np else _zero(z))
        self.softplus = sp  # backward's σ(z) = exp(z - softplus(z)), two calls
        loss = z * y
        xp.subtract(sp, loss, loss)
        if reduction == "mean" and n and xp is np:  # _reduce_array's usual case, inlined
            return sum_all(loss) / n
        return _reduce_array(loss, reduction)

    # ∂ℓ/∂z = σ(z) - y  (the lecture's "prediction error"),  ∂ℓ/∂y = -z
    def backward(self, g, z, y, out):
        need_z, need_y = self.needs_input_grad
        gz = gy = None
        if need_z:
            if z.__class__ is Tensor:
                gz = (_sigmoid(z) - y) * _reduce_grad(g, self.reduction, self.n)
            elif self.softplus is None:  # on the GPU: one fused kernel
                gz = cuda.bce_with_logits_grad(z, y, _reduce_grad(g, self.reduction, self.n))
            else:  # σ(z) = e^z / (1 + e^z) = exp(z - softplus(z)): exact, never overflows
                gz = z - self.softplus
                (np if gz.__class__ is np.ndarray else _xp(gz)).exp(gz, gz)
                gz -= y
                _times_share(gz, g, self.n if self.reduction == "mean" else 1)
        if need_y:
            gy = -_reduce_grad(g, self.reduction, self.n) * z
        return gz, gy


def binary_cross_entropy_with_logits(input, target, reduction="mean") -> Tensor:
    """Binary cross-entropy on logits, fused and stable.

    ℓ(z, y) = max(z, 0) - z·y + log(1 + exp(-|z|)) = -y log σ(z) - (1 - y) log(1 - σ(z)),
    reduced by ``reduction`` ("mean", "sum" or "none"). Its gradient with respect to the
    logit is σ(z) - y: the lecture's ∇_w L = -(y - ŷ) x once chained through z = wᵀx.
    """
    last = _last_valid_target  # (_known_valid, inlined: a training loop's every call)
    if (input.__class__ is Tensor and target.__class__ is Tensor and reduction.__class__ is str
            and last[0] is target.data and last[1] is target._vc and last[2] == target._vc[0]):
        # a training loop's call (the same target as last time): the checks below, in brief
        zd, yd = input.data, target.data
        if (yd.dtype is zd.dtype and zd.shape == yd.shape and zd.ndim and zd.dtype.kind == "f"
                and reduction in _REDUCTION_PARAMS):
            return BCEWithLogits.apply_binary(input, target, _REDUCTION_PARAMS[reduction])
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    z = input if input.__class__ is Tensor else Tensor(input)
    zd = z.data
    dtype = zd.dtype
    if target.__class__ is Tensor:
        yd = target.data
    else:  # an array as it is; lists and numbers as an array on z's device
        yd = target = _as_target("binary_cross_entropy_with_logits", z, target)
    if not (target.__class__ is Tensor and _known_valid(target, yd)):  # (the same as last
        # time: the usual case, a full-batch loop)
        if yd.dtype.kind not in "biuf":
            raise TypeError("binary_cross_entropy_with_logits: target must hold numbers in "
                            f"[0, 1], got dtype {yd.dtype}")
        _check_unit_interval("binary_cross_entropy_with_logits", "target", target, yd,
                             " (labels in {0, 1}, or probabilities; for labels in {-1, +1} "
                             "pass (y + 1) / 2)")
    if yd.dtype is not dtype and yd.dtype != dtype:
        target = target.astype(dtype)  # float32 logits keep a float32 loss
    if zd.shape != yd.shape:
        raise ValueError(
            f"binary_cross_entropy_with_logits: input has shape {tuple(z.shape)} but target "
            f"has shape {tuple(yd.shape)}; they must match exactly (no silent broadcasting: "
            "reshape one, e.g. logits.reshape(-1))"
        )
    if dtype.kind != "f":
        raise TypeError(
            "binary_cross_entropy_with_logits: input logits must be floating point, got "
            f"dtype {z.dtype}")
    if not zd.ndim:  # one logit: a batch of one (the fused op's in-place steps need arrays,
        # and NumPy makes scalars of 0-d results)
        return binary_cross_entropy_with_logits(z.reshape(1), target.reshape(1), reduction
                                                ).reshape(())
    return BCEWithLogits.apply_binary(z, target, _REDUCTION_PARAMS[reduction])


# ----------------------------------------------------------------------------- more losses
# Every loss below takes (input, target, ..., reduction="mean"). The elementwise losses
# are built from the engine's primitive ops, so their gradients are *derived* by autodiff;
# only the softmax cross-entropy is fused (CrossEntropyWithLogits) for stability, and a
# test checks its hand-written backward against the one derived through the composed ops.
__all__ += [
    "mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy", "nll_loss",
    "cross_entropy", "cross_entropy_composed", "CrossEntropyWithLogits",
    "perceptron_loss", "hinge_loss",
]


_raw = ops._raw


def _float_input(name, input) -> Tensor:
    """``input`` as a floating-point Tensor (arrays and lists are copied into one)."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.data.dtype.kind != "f":
        raise TypeError(
            f"{name}: input must be floating point, got dtype {x.dtype}; convert it, e.g. "
            "x.astype('float64')"
        )
    return x


def _target_like(name, x, target):
    """The target as a Tensor (when it requires grad) or a raw array with x's dtype.

    The shapes must match exactly: (N, 1) against (N,) would silently broadcast to (N, N).
    """
    if isinstance(target, Tensor):
        if target.requires_grad:
            t = target if target.dtype == x.dtype else target.astype(x.dtype)
        else:
            t = target.data
    elif hasattr(target, "shape") and hasattr(target, "dtype"):
        t = target
    else:
        t = _as_target(name, x, target)
    if not isinstance(t, Tensor) and t.dtype.kind not in "biuf":
        raise TypeError(f"{name}: target must be numeric, got dtype {t.dtype}")
    if tuple(t.shape) != tuple(x.shape):
        raise ValueError(
            f"{name}: input has shape {tuple(x.shape)} but target has shape "
            f"{tuple(t.shape)}; they must match exactly (no silent broadcasting: reshape "
            "one, e.g. pred.reshape(-1) for an (N, 1) prediction)"
        )
    if not isinstance(t, Tensor):
        if t.dtype.kind not in "biuf":
            raise TypeError(f"{name}: target must be numeric, got dtype {t.dtype}")
        if t.dtype != x.dtype:
            t = t.astype(x.dtype)  # float32 stays float32; ints become floats
    return t


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _real(name, what, value) -> float:
    """A hyper-parameter such as Huber's δ: one finite real number (Python or NumPy)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise TypeError(f"{name}: {what} must be a finite number, got {value!r}")
    return float(value)


def _check_values(data) -> bool:
    """Should value checks (label sets, ranges) run on ``data``? Not on a GPU: reading the
    answer back would stall every training step on a device sync. Shapes and dtypes are
    checked on every device; validate label values on the host (the models' ``fit`` does)."""
    return not backend.is_gpu_array(data)


# the array of the target Tensor last found in [0, 1], its version cell and stamp then
_last_valid_target = [None, None, -1]


def _known_valid(target, data) -> bool:
    """Whether ``data``, a target Tensor's array, was found in [0, 1] and is unchanged since
    (the same array, the same version stamp of the same Tensor)."""
    last = _last_valid_target
    return last[0] is data and last[1] is target._vc and last[2] == target._vc[0]


def _check_unit_interval(name, what, target, data, hint=""):
    """Every value of ``data`` in [0, 1] (nan refused), or a ValueError naming one that is not.

    A target Tensor found valid is not read again while it is unchanged: a full-batch loop
    hands the same target to the loss at every step, and reading 512 labels costs about 5%
    of a 512×100 logistic step. (Writes into ``.data`` itself bypass the stamp, as
    everywhere.)
    """
    cached = target.__class__ is Tensor and target.data is data
    if cached and _known_valid(target, data):
        return
    if not data.size or not _check_values(data):
        return
    if not (data.min() >= 0 and data.max() <= 1):  # (a nan fails both)
        bad = ~((data >= 0) & (data <= 1))
        raise ValueError(f"{name}: {what} must lie in [0, 1], got {_first_bad(data, bad)!r}"
                         + hint)
    if cached:
        _last_valid_target[:] = [data, target._vc, target._vc[0]]


def _first_bad(values, bad):
    """The first offending value, for an error message (only called once something is bad)."""
    return _raw(values)[bad].reshape(-1)[0].item()


def _check_signs(name, target):
    """Labels must be -1 or +1 (one elementwise test, one reduction)."""
    t = _raw(target)
    if not _check_values(t):
        return
    bad = (t != 1) & (t != -1)
    if bad.any():
        raise ValueError(
            f"{name}: labels must be -1 or +1, got {_first_bad(t, bad)!r}; for labels in "
            "{0, 1} pass 2 * y - 1"
        )


def mse_loss(input, target, reduction="mean") -> Tensor:
    """Mean squared error: ℓ(ŷ, y) = (ŷ - y)², reduced by ``reduction``.

    Built from ops (subtract, square, mean), so the gradient is derived:
    ∂ℓ/∂ŷ = 2 (ŷ - y), hence 2/N Σ (ŷ_i - y_i) x_i for a linear model ŷ = wᵀx with the mean.
    (The lecture's ½ (ŷ - y)² convention would give (ŷ - y) x, without the 2.)
    """
    _check_reduction("mse_loss", reduction)
    x = _float_input("mse_loss", input)
    diff = x - _target_like("mse_loss", x, target)
    return _reduce(diff**2, reduction)


def l1_loss(input, target, reduction="mean") -> Tensor:
    """Mean absolute error (MAE): ℓ(ŷ, y) = |ŷ - y|; ∂ℓ/∂ŷ = sign(ŷ - y) (0 at a tie)."""
    _check_reduction("l1_loss", reduction)
    x = _float_input("l1_loss", input)
    return _reduce((x - _target_like("l1_loss", x, target)).abs(), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0) -> Tensor:
    """Huber loss, as ``torch.nn.functional.huber_loss``: with r = ŷ - y,

        ℓ = ½ r²              if |r| < δ
        ℓ = δ (|r| - ½ δ)     otherwise.

    Quadratic near 0, linear for outliers; ∂ℓ/∂ŷ = r inside, δ·sign(r) outside (continuous).
    Built with ``where`` from ops, so the gradient is derived.
    """
    _check_reduction("huber_loss", reduction)
    delta = _real("huber_loss", "delta", delta)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta!r}")
    x = _float_input("huber_loss", input)
    r = x - _target_like("huber_loss", x, target)
    a = r.abs()
    inside = a.data < delta  # which branch: a constant mask
    loss = ops.where(inside, 0.5 * r**2, delta * (a - 0.5 * delta))
    return _reduce(loss, reduction)


def binary_cross_entropy(input, target, reduction="mean") -> Tensor:
    """Binary cross-entropy on probabilities p ∈ [0, 1] and targets y ∈ [0, 1]:

        ℓ(p, y) = -y log p - (1 - y) log(1 - p)      (the lecture's negative log-likelihood)

    As PyTorch's (one fused op, the same numbers): each log is clamped at -100, so p = 0 or 1
    gives a finite loss, and the gradient ∂ℓ/∂p = (p - y) / (p (1 - p)) has p (1 - p) raised
    to 1e-12, so it stays finite too (-1e12 at p = 0, y = 1; 0 at p = 0, y = 0). The target's
    gradient log(1 - p) - log p is not clamped (±inf at p = 0 or 1, as in PyTorch).
    Prefer :func:`binary_cross_entropy_with_logits` on logits: it needs neither cap.
    Through p = σ(z), ∂ℓ/∂z = p - y.
    """
    _check_reduction("binary_cross_entropy", reduction)
    p = _float_input("binary_cross_entropy", input)
    y = _target_like("binary_cross_entropy", p, target)
    _check_unit_interval("binary_cross_entropy", "input probabilities", p, p.data,
                         "; apply sigmoid first, or use binary_cross_entropy_with_logits on "
                         "logits")
    _check_unit_interval("binary_cross_entropy", "target", target, _raw(y))
    if isinstance(target, Tensor) and y is target.data:
        y = target  # the Tensor itself: its in-place changes before backward are caught
    return BinaryCrossEntropy.apply_binary(p, y, _REDUCTION_PARAMS[reduction])


class BinaryCrossEntropy(Function):
    """PyTorch's binary cross-entropy on probabilities, fused: each log clamped at -100,
    the input's gradient capped where p (1 - p) < 1e-12."""

    op_name = "binary_cross_entropy"
    __slots__ = ("reduction", "n")
    save_inputs = (0, 1)

    def forward(self, p, y, reduction="mean"):
        self.reduction = reduction
        self.n = p.size
        xp = _xp(p)
        with np.errstate(divide="ignore"):  # log 0 = -inf: clamped at -100
            log_p = xp.maximum(xp.log(p), _LOG_FLOOR)
            log_1mp = xp.maximum(xp.log1p(-p), _LOG_FLOOR)
        loss = -(y * log_p + (1 - y) * log_1mp)
        return _reduce_array(loss, reduction)

    # ∂ℓ/∂p = (p - y) / (p (1 - p)), with p (1 - p) raised to 1e-12 (PyTorch's cap: finite at
    # p = 0 and 1);  ∂ℓ/∂y = log(1 - p) - log p  (unclamped, as PyTorch: ±inf at p = 0, 1)
    def backward(self, g, p, y, out):
        need_p, need_y = self.needs_input_grad
        share = _reduce_grad(g, self.reduction, self.n)
        gp = gy = None
        if need_p:
            gp = (p - y) / _maximum(p * (1 - p), _BCE_EPS) * share
        if need_y:
            if p.__class__ is Tensor:  # create_graph: Tensor ops, recorded
                with np.errstate(divide="ignore"):
                    gy = ((1 - p).log() - p.log()) * share
            else:
                xp = _xp(p)
                with np.errstate(divide="ignore"):
                    gy = (xp.log1p(-p) - xp.log(p)) * share
        return gp, gy


_LOG_FLOOR = -100.0  # PyTorch clamps log(p) and log(1 - p) at -100 in BCE
_BCE_EPS = float(np.float32(1e-12))  # ... and p (1 - p) at 1e-12 (its float32 constant)


def _maximum(a, b):
    return ops.maximum(a, b) if a.__class__ is Tensor else _xp(a).maximum(a, b)


def _reduce_array(loss, reduction):
    """A fused loss's elementwise values reduced as ``reduction`` says (a mean of nothing is
    nan, as in PyTorch)."""
    if reduction == "none":
        return loss
    total = sum_all(loss) if loss.__class__ is np.ndarray else loss.sum()
    if reduction == "sum":
        return total
    return total / loss.size if loss.size else total * np.nan


def _one_sample(loss, z, target, reduction, **options):
    """``loss`` of one unbatched sample, scores (K,) with a 0-d class index or a (K,) row of
    probabilities: the loss of a batch of one."""
    t = target.reshape(1, -1) if target.ndim == 1 else target.reshape(1)
    out = loss(z.reshape(1, -1), t, reduction=reduction, **options)
    return out.reshape(()) if reduction == "none" else out


def _as_target(name, x, target):
    """A Tensor or an array as it is; lists and numbers become arrays on x's device."""
    if isinstance(target, Tensor) or (hasattr(target, "shape") and hasattr(target, "dtype")):
        return target
    if target is None or isinstance(target, (str, bytes)):
        raise TypeError(f"{name}: target must be a Tensor, an array or numbers, got "
                        f"{type(target).__name__}")
    return _xp(x.data).asarray(target)


class ClassIndexError(ValueError, IndexError):
    """A class index outside [0, K): an IndexError, as PyTorch's "Target is out of bounds",
    and a ValueError (a bad value), as it was here first."""


def _class_indices(name, target, n, k, ignore_index=None):
    """Validate integer class indices: shape (N,), values in [0, K) or ``ignore_index``."""
    t = _raw(target)
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: class-index target must have an integer dtype, got {t.dtype}"
        )
    if t.shape != (n,):
        raise ValueError(
            f"{name}: class-index target must have shape ({n},) for input of shape ({n}, {k}),"
            f" got {tuple(t.shape)}"
        )
    bad = (t < 0) | (t >= k) if _check_values(t) else None
    if bad is not None and ignore_index is not None:
        bad &= t != ignore_index
    if bad is not None and bad.any():
        raise ClassIndexError(
            f"{name}: class index {_first_bad(t, bad)!r} is out of range for {k} classes "
            f"(valid: 0 to {k - 1}" + ("" if ignore_index is None else
                                       f", or ignore_index={ignore_index}") + ")"
        )
    return t


def _class_weight(name, weight, z):
    """A per-class weight vector (K,) as a Tensor of the logits' dtype (kept differentiable
    when it requires grad)."""
    k = z.shape[1]
    if isinstance(weight, Tensor):
        w = weight
    else:
        try:
            w = Tensor(_xp(z.data).asarray(weight) if not hasattr(weight, "dtype") else weight)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}: weight must be {k} numbers (one per class), got "
                            f"{weight!r:.60}") from exc
    if w.dtype.kind not in "fiu":
        raise TypeError(f"{name}: weight must hold real numbers, got dtype {w.dtype}")
    if tuple(w.shape) != (k,):
        raise ValueError(f"{name}: weight must have shape ({k},), one per class, got "
                         f"{tuple(w.shape)}")
    _check_device(name, "weight", w.data, z)
    return w if w.dtype == z.dtype else w.astype(z.dtype)


def _check_device(name, what, data, z):
    """The composed losses' own device check (the fused ones get it from the engine)."""
    if backend.multi_device and backend.device_of(data) != z.device:
        raise RuntimeError(f"{name}: expected all inputs on the same device, but the input "
                           f"is on {z.device} and the {what} on {backend.device_of(data)}; "
                           "move it with .to(device)")


def _check_ignore_index(name, ignore_index):
    if ignore_index is not None and (isinstance(ignore_index, bool)
                                     or not isinstance(ignore_index, numbers.Integral)):
        raise TypeError(f"{name}: ignore_index must be an integer class index (or None), got "
                        f"{ignore_index!r}")


def _weighted_nll(logp, t, weight, ignore_index, reduction, label_smoothing=0.0):
    """PyTorch's weighted, ignoring, label-smoothed NLL on log-probabilities (N, K), composed
    of recorded ops (autodiff gives its gradient).

    Per sample i with class t_i, weight w (default 1) and kept mask m_i (0 where t_i is
    ignore_index): ℓ_i = (1 - ε) a_i + ε/K s_i, with a_i = -m_i w_{t_i} log p_{i,t_i} and
    s_i = -m_i Σ_k w_k log p_ik. "mean" divides Σa and Σs each by W = Σ_i m_i w_{t_i}, the
    weight of the kept samples, as PyTorch does (so weights summing to 0 give nan or inf);
    if no sample is kept, the mean is nan with zero gradients, as in PyTorch.
    """
    n, k = logp.shape
    xp = _xp(logp.data)
    dtype = logp.data.dtype
    kept = None if ignore_index is None else t != ignore_index
    if kept is not None:
        t = xp.where(kept, t, 0)  # any valid index; its term is masked out below
    scale = xp.ones(n, dtype=dtype) if weight is None else weight[t]
    if kept is not None:
        scale = scale * kept.astype(dtype)
    picked = -logp[xp.arange(n), t] * scale
    spread = None
    if label_smoothing:
        spread = -(logp if weight is None else logp * weight).sum(axis=1)
        if kept is not None:
            spread = spread * kept.astype(dtype)
    if reduction != "mean":
        loss = picked if spread is None else \
            picked * (1.0 - label_smoothing) + spread * (label_smoothing / k)
        return loss if reduction == "none" else loss.sum()
    total = scale.sum()
    if kept is not None:
        # nothing kept: a constant nan is added to sums divided by 1 (zero gradients, no 0/0
        # warning), decided on the device without reading the data back
        empty = xp.logical_not(kept.any())
        total = total + empty.astype(dtype)
    mean = picked.sum() / total
    if spread is not None:
        mean = mean * (1.0 - label_smoothing) + spread.sum() / total * (label_smoothing / k)
    if kept is not None:
        mean = mean + xp.where(empty, xp.nan, 0).astype(dtype)
    return mean


def _logits_2d(name, input):
    z = _float_input(name, input)
    if z.ndim != 2:
        raise ValueError(
            f"{name}: input must have shape (N, K) (N samples, K class scores), got "
            f"{tuple(z.shape)}"
        )
    return z


def nll_loss(input, target, reduction="mean", *, weight=None, ignore_index=None) -> Tensor:
    """Negative log-likelihood: ℓ_i = -input[i, target_i] for log-probabilities (N, K).

    ``target`` holds integer class indices of shape (N,), in [0, K) (one sample: input (K,)
    and a 0-d target, as PyTorch). With ``input = log_softmax(z)`` this is the cross-entropy
    J(w) = -1/N Σ_i log P(y = y_i | x_i). The gradient is derived: -1 at each picked entry
    (÷ N for the mean), 0 elsewhere.

    As PyTorch's: ``weight`` (K,) scales each sample's term by its class's weight, and the
    mean then divides by the summed weights of the samples' classes; samples whose target
    is ``ignore_index`` count for nothing (PyTorch's default ignores -100; here there is no
    default, so an index outside [0, K) is an error unless it is the one you name).
    """
    _check_reduction("nll_loss", reduction)
    _check_ignore_index("nll_loss", ignore_index)
    logp = _float_input("nll_loss", input)
    if logp.ndim == 1:  # one unbatched sample
        target = _as_target("nll_loss", logp, target)
        if target.ndim != 0:
            raise ValueError(
                f"nll_loss: input must have shape (N, K), or (K,) with a 0-d target (one "
                f"sample); got input {tuple(logp.shape)} and target {tuple(target.shape)}")
        return _one_sample(nll_loss, logp, target, reduction, weight=weight,
                           ignore_index=ignore_index)
    logp = _logits_2d("nll_loss", logp)
    n, k = logp.shape
    t = _class_indices("nll_loss", _as_target("nll_loss", logp, target), n, k, ignore_index)
    if weight is not None or ignore_index is not None:
        _check_device("nll_loss", "target", t, logp)
        w = None if weight is None else _class_weight("nll_loss", weight, logp)
        return _weighted_nll(logp, t, w, ignore_index, reduction)
    picked = logp[_xp(t).arange(n), t]
    return _reduce(-picked, reduction)


def _softmax_any(z):
    """softmax over the last axis of an array (fast) or a Tensor (recorded: create_graph)."""
    if isinstance(z, Tensor):
        return softmax(z, axis=-1)
    e = _xp(z).exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax_any(z):
    if isinstance(z, Tensor):
        return log_softmax(z, axis=-1)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - _xp(z).log(_xp(z).exp(shifted).sum(axis=-1, keepdims=True))


class CrossEntropyWithLogits(Function):
    """Fused, stable softmax cross-entropy on logits z (N, K).

    Targets are class indices t (N,) or class probabilities Y (N, K). With the log-sum-exp
    trick (m_i = max_k z_ik, lse_i = m_i + log Σ_k exp(z_ik - m_i)):

        ℓ_i = lse_i - z_{i, t_i}                   (indices)
        ℓ_i = Σ_k Y_ik (lse_i - z_ik)              (probabilities) = -Σ_k Y_ik log softmax_k

    No exponent is ever positive, so it is finite at logits of ±1e4. Backward:
    ∂ℓ_i/∂z_i = softmax(z_i)·Σ_k Y_ik - Y_i (= P - Y for one-hot or normalised rows),
    ∂ℓ_i/∂Y_ik = -log softmax(z_i)_k.
    """

    op_name = "cross_entropy"
    __slots__ = ("reduction", "n")
    save_inputs = (0, 1)

    def forward(self, z, target, reduction="mean"):
        xp = _xp(z)
        self.reduction = reduction
        self.n = z.shape[0]
        shifted = z - z.max(axis=1, keepdims=True)  # every entry <= 0
        lse = xp.log(xp.exp(shifted).sum(axis=1))  # logsumexp(z) - max(z)
        if target.dtype.kind in "iu":
            picked = xp.take_along_axis(shifted, target[:, None], axis=1)[:, 0]
            loss = lse - picked
        else:
            loss = (target * (lse[:, None] - shifted)).sum(axis=1)
        if reduction == "mean":
            return loss.sum() / self.n
        if reduction == "sum":
            return loss.sum()
        return loss

    # ∂ℓ/∂z = (P - Y) · g  (÷ N for the mean): the lecture's prediction error, per class
    def backward(self, g, z, target, out):
        need_z, need_t = self.needs_input_grad
        g = _reduce_grad(g, self.reduction, self.n)
        if self.reduction == "none":
            g = g.reshape(-1, 1)  # one upstream gradient per sample (row)
        gz = gt = None
        t = _raw(target)
        if need_z:
            p = _softmax_any(z)
            if t.dtype.kind in "iu":
                zr = _raw(z)
                xp = _xp(zr)
                onehot = xp.zeros(zr.shape, dtype=zr.dtype)
                onehot[xp.arange(zr.shape[0]), t] = 1
                gz = (p - onehot) * g
            else:
                gz = (p * target.sum(axis=1, keepdims=True) - target) * g
        if need_t:
            gt = -_log_softmax_any(z) * g
        return gz, gt


def cross_entropy(input, target, reduction="mean", *, weight=None, ignore_index=None,
                  label_smoothing=0.0) -> Tensor:
    """Softmax cross-entropy on logits (fused, stable): PyTorch's ``F.cross_entropy``.

    ``input``: logits of shape (N, K) (or (K,) for one sample). ``target``: integer class
    indices of shape (N,) (any integer dtype, values in [0, K)), or class probabilities of
    the same shape as ``input`` (floats in [0, 1], e.g. one-hot rows).

    J = -1/N Σ_i Σ_k Y_ik log softmax(z_i)_k, computed with log-sum-exp so it is finite at
    logits of ±1e4; ∂J/∂z = (softmax(z) - Y) / N, i.e. ∇_W J = Xᵀ(P - Y)/N for z = XW.
    See :func:`cross_entropy_composed` for the unstable softmax → log → NLL version.

    PyTorch's options, with its semantics (then composed from ``log_softmax`` and recorded
    ops, still stable): ``weight`` (K,) per-class weights (with class indices the mean
    divides by the summed weights of the samples' classes; with probabilities by N);
    ``ignore_index``, a class index whose samples count for nothing (no default here: an
    index outside [0, K) is an error unless named); ``label_smoothing`` ε in [0, 1], the
    target mixed with the uniform distribution, (1 - ε) Y + ε/K.
    """
    _check_reduction("cross_entropy", reduction)
    _check_ignore_index("cross_entropy", ignore_index)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real):
        raise TypeError(f"cross_entropy: label_smoothing must be a number in [0, 1], got "
                        f"{label_smoothing!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be a number in [0, 1], got "
                         f"{label_smoothing!r}")
    options = {"weight": weight, "ignore_index": ignore_index,
               "label_smoothing": float(label_smoothing)}
    z = _float_input("cross_entropy", input)
    target = _as_target("cross_entropy", z, target)
    if z.ndim == 1:  # one unbatched sample, as PyTorch allows: (K,) with () or (K,)
        return _one_sample(cross_entropy, z, target, reduction, **options)
    z = _logits_2d("cross_entropy", z)
    kind = _raw(target).dtype.kind
    plain = weight is None and ignore_index is None and not label_smoothing
    w = None if weight is None else _class_weight("cross_entropy", weight, z)
    if kind in "iu":
        t = _class_indices("cross_entropy", target, *z.shape, ignore_index)
        if not plain:
            _check_device("cross_entropy", "target", t, z)
            return _weighted_nll(log_softmax(z, axis=-1), t, w, ignore_index, reduction,
                                 options["label_smoothing"])
    elif kind == "f":
        if tuple(target.shape) == (z.shape[0],):
            raise TypeError(
                f"cross_entropy: a target of shape ({z.shape[0]},) must hold integer class "
                f"indices, got dtype {_raw(target).dtype}; pass y.astype(int), or one "
                "probability row per sample (shape (N, K))"
            )
        t = _target_like("cross_entropy", z, target)
        _check_unit_interval("cross_entropy", "target probabilities", target, _raw(t))
        if ignore_index is not None:
            raise ValueError("cross_entropy: ignore_index applies to class-index targets, "
                             "not to probabilities (as in PyTorch)")
        if not plain:  # -Σ_k w_k Y'_ik log p_ik with Y' = (1 - ε) Y + ε/K; the mean over N
            _check_device("cross_entropy", "target", _raw(t), z)
            eps = options["label_smoothing"]
            if eps:
                t = t * (1.0 - eps) + eps / z.shape[1]
            terms = log_softmax(z, axis=-1) * t
            loss = -(terms if w is None else terms * w).sum(axis=1)
            return _reduce(loss, reduction)
    else:
        raise TypeError(
            f"cross_entropy: target must be integer class indices or float probabilities, "
            f"got dtype {_raw(target).dtype}"
        )
    return CrossEntropyWithLogits.apply_binary(z, t, _REDUCTION_PARAMS[reduction])


def cross_entropy_composed(input, target, reduction="mean") -> Tensor:
    """Softmax, then log, then NLL: the textbook composition, *numerically fragile*.

    Mathematically equal to :func:`cross_entropy` and differentiated by autodiff through
    every step. But softmax underflows to exactly 0 for a logit far below the largest
    (e.g. [0, 1e4]), log(0) = -inf, and the loss becomes inf with nan gradients, where the
    fused :func:`cross_entropy` returns 1e4. This is the lecture's reason to use "CE loss
    with logits rather than Softmax + negative log-likelihood". Kept for teaching and tests.
    """
    name = "cross_entropy_composed"
    _check_reduction(name, reduction)
    z = _float_input(name, input)
    target = _as_target(name, z, target)
    if z.ndim == 1:  # one unbatched sample, as cross_entropy takes it
        return _one_sample(cross_entropy_composed, z, target, reduction)
    z = _logits_2d(name, z)
    kind = _raw(target).dtype.kind
    if kind in "iu":
        return nll_loss(softmax(z, axis=-1).log(), target, reduction=reduction)
    if kind != "f" or tuple(target.shape) == (z.shape[0],):
        raise TypeError(
            f"{name}: target must be integer class indices of shape ({z.shape[0]},) or float "
            f"probabilities of shape {tuple(z.shape)}, got dtype {_raw(target).dtype} and shape "
            f"{tuple(target.shape)}")
    y = _target_like(name, z, target)
    _check_unit_interval(name, "target probabilities", target, _raw(y))
    return _reduce(-(y * softmax(z, axis=-1).log()).sum(axis=1), reduction)


def perceptron_loss(input, target, reduction="mean") -> Tensor:
    """The perceptron criterion: ℓ_i = max(0, -y_i s_i) for scores s = wᵀφ(x), y ∈ {-1, +1}.

    J(w) = 1/N Σ_i max(0, -y_i wᵀφ(x_i)) is zero on correctly classified samples and
    grows with the score of misclassified ones; ∇J = -1/N Σ_{i: y_i s_i < 0} y_i φ(x_i),
    the perceptron update direction (eq. 6). (The slide's max(0, +y_i wᵀφ(x_i)) has a sign
    typo: it would punish the correct samples.) Built from relu, whose derivative at 0 is
    0, so a sample exactly on the boundary contributes no gradient.
    """
    _check_reduction("perceptron_loss", reduction)
    s = _float_input("perceptron_loss", input)
    # the labels as given, before casting
    _check_signs("perceptron_loss", _as_target("perceptron_loss", s, target))
    y = _target_like("perceptron_loss", s, target)
    return _reduce((-(y * s)).relu(), reduction)


def hinge_loss(input, target, margin=1.0, reduction="mean") -> Tensor:
    """Hinge loss (linear SVM): ℓ_i = max(0, margin - y_i s_i), labels y ∈ {-1, +1}.

    Like the perceptron criterion, but a correct sample must also clear the margin;
    ∂ℓ_i/∂s_i = -y_i where y_i s_i < margin, else 0. Built from relu (derived gradient).
    """
    _check_reduction("hinge_loss", reduction)
    margin = _real("hinge_loss", "margin", margin)
    s = _float_input("hinge_loss", input)
    # the labels as given, before casting
    _check_signs("hinge_loss", _as_target("hinge_loss", s, target))
    y = _target_like("hinge_loss", s, target)
    return _reduce((margin - y * s).relu(), reduction)
