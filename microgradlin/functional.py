"""``microgradlin.functional`` (imported as ``F``): activations and losses as functions.

Activations are the engine's primitive ops; ``softmax`` and ``log_softmax`` are composed
from primitives around the fused, stable ``logsumexp``.
"""

from __future__ import annotations

from . import backend, cuda, ops
from .autograd import Function
from .backend import get_array_module as _xp
from .ops import _sigmoid, logsumexp, relu, sigmoid, tanh
from .tensor import Tensor

__all__ = [
    "sigmoid", "tanh", "relu", "softmax", "log_softmax", "logsumexp",
    "binary_cross_entropy_with_logits",
]


def softmax(x, axis=-1) -> Tensor:
    """softmax(x)_i = exp(x_i - m) / Σ_j exp(x_j - m), with m = max_j x_j.

    Shifting by the maximum changes nothing mathematically (softmax is invariant to adding a
    constant to every logit) but keeps every exponent <= 0, so nothing overflows. The shift
    is a constant for the gradient: its derivative contributions cancel exactly.
    """
    x = ops._as_tensor(x)
    shift = x.data.max(axis=axis, keepdims=True)
    e = (x - shift).exp()
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1) -> Tensor:
    """log softmax(x)_i = x_i - logsumexp(x): the log-sum-exp trick, no exp of large values."""
    x = ops._as_tensor(x)
    return x - logsumexp(x, axis=axis, keepdims=True)


# ----------------------------------------------------------------------------- losses
_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
        )


def _reduce_grad(g, reduction, n):
    """The gradient reaching each element: g (none), g broadcast (sum) or g / n (mean)."""
    if reduction == "mean":
        return g * (1.0 / n)
    return g


class BCEWithLogits(Function):
    """Fused, stable binary cross-entropy on logits z with targets y in [0, 1].

    ℓ(z, y) = -y log σ(z) - (1 - y) log(1 - σ(z)) = max(z, 0) - z·y + log(1 + exp(-|z|)),
    the right-hand form never overflows (finite at z = ±1e4).
    """

    op_name = "binary_cross_entropy_with_logits"
    __slots__ = ("reduction", "n")
    save_inputs = (0, 1)

    def forward(self, z, y, reduction="mean"):
        xp = _xp(z)
        self.reduction = reduction
        self.n = z.size
        if backend.is_gpu_array(z):  # one fused kernel instead of seven launches
            return cuda.bce_with_logits_forward(z, y, reduction)
        e = xp.exp(-xp.abs(z))  # in (0, 1]: never overflows
        loss = xp.maximum(z, 0) - z * y + xp.log1p(e)
        if reduction == "mean":
            return loss.sum() / self.n
        if reduction == "sum":
            return loss.sum()
        return loss

    # ∂ℓ/∂z = σ(z) - y  (the lecture's "prediction error"),  ∂ℓ/∂y = -z
    def backward(self, g, z, y, out):
        need_z, need_y = self.needs_input_grad
        g = _reduce_grad(g, self.reduction, self.n)
        gz = gy = None
        if need_z:
            if isinstance(z, Tensor):
                gz = (_sigmoid(z) - y) * g
            elif backend.is_gpu_array(z):
                gz = cuda.bce_with_logits_grad(z, y, g)
            else:  # σ(z) = (1 + tanh(z/2)) / 2: no overflow, exact to ~1e-16 absolute
                gz = (0.5 * _xp(z).tanh(0.5 * z) + 0.5 - y) * g
        if need_y:
            gy = -g * z
        return gz, gy


def binary_cross_entropy_with_logits(input, target, reduction="mean") -> Tensor:
    """Binary cross-entropy on logits, fused and stable.

    ℓ(z, y) = max(z, 0) - z·y + log(1 + exp(-|z|)) = -y log σ(z) - (1 - y) log(1 - σ(z)),
    reduced by ``reduction`` ("mean", "sum" or "none"). Its gradient with respect to the
    logit is σ(z) - y: the lecture's ∇_w L = -(y - ŷ) x once chained through z = wᵀx.
    """
    if reduction not in _REDUCTIONS:
        _check_reduction("binary_cross_entropy_with_logits", reduction)
    z = input if input.__class__ is Tensor else Tensor(input)
    y_shape = target.shape if hasattr(target, "shape") else ()
    if z.data.shape != y_shape:
        raise ValueError(
            f"binary_cross_entropy_with_logits: input has shape {tuple(z.shape)} but target "
            f"has shape {tuple(y_shape)}; they must match exactly (no silent broadcasting: "
            "reshape one, e.g. logits.reshape(-1))"
        )
    if z.data.dtype.kind != "f":
        raise TypeError(
            "binary_cross_entropy_with_logits: input logits must be floating point, got "
            f"dtype {z.dtype}")
    return BCEWithLogits.apply_binary(z, target, reduction=reduction)
