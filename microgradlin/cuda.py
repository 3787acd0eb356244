"""``mg.cuda``: GPU availability, and the fused CuPy kernels of the hot losses.

Nothing here imports CuPy at ``import microgradlin`` time: it is imported the first time a
GPU is asked for. On a GPU a small training step is bound by kernel launches (~10 µs each),
so the fused losses do their elementwise work in one kernel instead of six or seven.
"""

from __future__ import annotations

from . import backend

_KERNELS: dict = {}


def is_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    return backend.cuda_is_available()


def device_count() -> int:
    """How many GPUs CuPy sees (0 without CuPy)."""
    return backend.cuda_device_count()


def synchronize() -> None:
    """Wait for all queued GPU work (for timing; a no-op without CuPy)."""
    if backend._cupy is not None:
        backend._cupy.cuda.get_current_stream().synchronize()


def _kernel(name):
    kernel = _KERNELS.get(name)
    if kernel is None:
        cupy = backend._import_cupy()
        if name == "bce_sum":
            # Σ_i max(z,0) - z·y + log(1 + exp(-|z|)), map and sum in one kernel
            kernel = cupy.ReductionKernel(
                "T z, T y", "T out",
                "fmax(z, (T)0) - z * y + log1p(exp(-fabs(z)))",
                "a + b", "out = a", "0", "mg_bce_with_logits_sum")
        elif name == "bce_elementwise":
            kernel = cupy.ElementwiseKernel(
                "T z, T y", "T out",
                "out = fmax(z, (T)0) - z * y + log1p(exp(-fabs(z)))",
                "mg_bce_with_logits")
        elif name == "bce_grad":
            # (σ(z) - y) · scale, σ written so that exp never overflows
            kernel = cupy.ElementwiseKernel(
                "T z, T y, T scale", "T gz",
                "T e = exp(-fabs(z)); T s = (z >= 0) ? (T)1 / ((T)1 + e) : e / ((T)1 + e);"
                " gz = (s - y) * scale",
                "mg_bce_with_logits_grad")
        elif name == "sigmoid":  # σ(x) = 1 / (1 + e^-x); e^-x = inf gives 0, no warning
            kernel = cupy.ElementwiseKernel(
                "T x", "T y", "y = (T)1 / ((T)1 + exp(-x))", "mg_sigmoid")
        elif name in _GRAD_FORMULAS:
            kernel = cupy.ElementwiseKernel(
                "T g, T y", "T gx", f"gx = {_GRAD_FORMULAS[name]}", f"mg_{name}")
        else:  # pragma: no cover - programming error
            raise KeyError(name)
        _KERNELS[name] = kernel
    return kernel


# The backward of an activation from its saved output y, in one kernel (three launches as
# separate CuPy calls): the same formulas as the ops' own backward rules.
_GRAD_FORMULAS = {
    "tanh_grad": "g * ((T)1 - y * y)",  # d/dx tanh = 1 - tanh²
    "sigmoid_grad": "g * y * ((T)1 - y)",  # d/dx σ = σ (1 - σ)
    "relu_grad": "y <= (T)0 ? (T)0 : g",  # d/dx relu = 0 where relu(x) <= 0, else 1
}


def sigmoid(x):
    """σ(x) of a floating-point CuPy array in one kernel (four as separate CuPy calls)."""
    return _kernel("sigmoid")(x)


def fused_grad(name, g, y):
    """``g`` times the derivative ``name`` (a key of ``_GRAD_FORMULAS``) as one kernel, or
    None where it does not apply (not two float32/float64 CuPy arrays of one dtype: then the
    caller's own formula)."""
    if (g.__class__ is not y.__class__ or not backend.is_gpu_array(y)
            or g.dtype != y.dtype or y.dtype.char not in "fd"):  # float32/64 kernels only
        return None
    return _kernel(name)(g, y)


def bce_with_logits_forward(z, y, reduction):
    """The fused forward of binary_cross_entropy_with_logits on CuPy arrays."""
    y = y.astype(z.dtype, copy=False)
    if reduction == "none":
        return _kernel("bce_elementwise")(z, y)
    total = _kernel("bce_sum")(z, y)
    return total * (1.0 / z.size) if reduction == "mean" else total


def bce_with_logits_grad(z, y, scale):
    """(σ(z) - y)·scale in one kernel; ``scale`` is a device array (no host sync)."""
    return _kernel("bce_grad")(z, y.astype(z.dtype, copy=False), scale.astype(z.dtype))
