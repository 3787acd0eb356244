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
        else:  # pragma: no cover - programming error
            raise KeyError(name)
        _KERNELS[name] = kernel
    return kernel


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
