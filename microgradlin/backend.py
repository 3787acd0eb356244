"""The one seam between microgradlin and its array libraries.

Every other module asks this one for "the array module of this data" (NumPy on the CPU, CuPy
on an NVIDIA GPU) instead of importing either directly, so the same op code runs on both.
CuPy is imported lazily, only when a GPU array or a ``"cuda"`` device is asked for: a CPU user
never needs it installed.
"""

from __future__ import annotations

import operator

import numpy as np

_ndarray = np.ndarray
_cupy = None  # the cupy module once imported; None until a GPU is asked for
_strict = None  # the strict stand-in module once a "strict" array was made
multi_device = False  # True once any non-CPU array exists: ops then check devices


ALIGNMENT = 64  # bytes: one cache line, one AVX-512 register (PyTorch's CPU allocator too)


def empty_aligned(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous host array whose data starts on a 64-byte boundary
    (numeric dtypes; others, and shapes NumPy refuses, go to ``np.empty`` as they are).

    NumPy's allocator promises only 16 bytes. BLAS and NumPy's SIMD loops read aligned data
    faster: a float64 (512, 100) matrix times a vector takes about a quarter less time on an
    AVX-512 Xeon when the matrix starts on a 32-byte boundary. The array is a view into a
    byte buffer ``ALIGNMENT`` bytes longer than it needs.
    """
    dtype = np.dtype(dtype)
    if dtype.kind not in "biuf" or dtype.shape or isinstance(shape, (bool, np.bool_)) or any(
            isinstance(n, (bool, np.bool_)) or operator.index(n) < 0 for n in shape):
        return np.empty(shape, dtype)  # NumPy's own array, or its own error for this shape
    shape = tuple(operator.index(n) for n in shape)
    nbytes = dtype.itemsize
    for n in shape:
        nbytes *= n
    try:
        buffer = np.empty(nbytes + ALIGNMENT, np.uint8)
    except (ValueError, MemoryError):
        return np.empty(shape, dtype)  # NumPy's own error for this shape
    start = -buffer.ctypes.data % ALIGNMENT
    return buffer[start:start + nbytes].view(dtype).reshape(shape)


def aligned_copy(array: np.ndarray, dtype=None) -> np.ndarray:
    """``np.array(array, dtype=dtype)``, a copy cast as NumPy casts it, on a 64-byte boundary
    when the result is a numeric C-contiguous array of at least ``ALIGNMENT`` bytes (see
    ``empty_aligned``); otherwise NumPy's own copy (its layout kept, as ``np.array`` keeps
    it)."""
    target = array.dtype if dtype is None else np.dtype(dtype)
    if (target.kind not in "biuf" or not array.flags.c_contiguous
            or array.size * target.itemsize < ALIGNMENT):
        return np.array(array, dtype=dtype)
    out = empty_aligned(array.shape, target)
    np.copyto(out, array, casting="unsafe")
    return out


def aligned(array):
    """``array``, or an aligned copy of it when it is a C-contiguous host array of at least
    ``ALIGNMENT`` bytes that does not start on a 64-byte boundary (see ``empty_aligned``).

    Smaller arrays gain nothing; device arrays (CuPy aligns to 256 bytes) and other layouts
    pass through unchanged.
    """
    if (array.__class__ is not _ndarray or array.nbytes < ALIGNMENT
            or not array.flags.c_contiguous or array.ctypes.data % ALIGNMENT == 0):
        return array
    return aligned_copy(array)


def _import_cupy():
    global _cupy, multi_device
    if _cupy is None:
        try:
            import cupy
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise RuntimeError(
                "device 'cuda' needs CuPy, which is not installed: "
                "pip install 'microgradlin[gpu]' (or cupy-cuda12x / cupy-cuda13x to match "
                "your CUDA driver)"
            ) from exc
        _cupy = cupy
        multi_device = True
    return _cupy


def _import_strict():
    global _strict, multi_device
    if _strict is None:
        from . import strict_backend

        _strict = strict_backend
        multi_device = True
    return _strict


def _notice_foreign(array) -> bool:
    """A CuPy array made before microgradlin imported CuPy: import it now (True if so)."""
    if type(array).__module__.startswith("cupy"):
        _import_cupy()
        return True
    return False


def get_array_module(array):
    """The array module (``numpy`` or ``cupy``) that owns ``array``."""
    if type(array) is _ndarray:
        return np
    if not multi_device and not _notice_foreign(array):
        return np
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    if _strict is not None and isinstance(array, _strict.StrictArray):
        return _strict.xp
    return np


def is_gpu_array(array) -> bool:
    return _cupy is not None and isinstance(array, _cupy.ndarray)


def is_device_array(array) -> bool:
    """True for arrays that do not live in host (NumPy) memory: CuPy, or the strict stand-in."""
    if type(array) is _ndarray or (not multi_device and not _notice_foreign(array)):
        return False
    return is_gpu_array(array) or (_strict is not None and isinstance(array, _strict.StrictArray))


def device_of(array) -> str:
    """``"cpu"`` for NumPy data, ``"cuda:N"`` for CuPy data on GPU N (``"strict"`` for the
    testing stand-in)."""
    if type(array) is _ndarray or (not multi_device and not _notice_foreign(array)):
        return "cpu"
    if is_gpu_array(array):
        return f"cuda:{array.device.id}"
    if _strict is not None and isinstance(array, _strict.StrictArray):
        return _strict.DEVICE
    return "cpu"


def parse_device(device) -> str:
    """Normalise ``None``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` to ``"cpu"`` or ``"cuda:N"``."""
    if device is None:
        return "cpu"
    text = str(device).strip().lower()
    if text in ("cpu", "strict"):
        return text
    if text == "cuda":
        return "cuda:0"
    if text.startswith("cuda:") and text[5:].isdigit():
        return text
    raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def cuda_device_count() -> int:
    """Number of GPUs CuPy sees (0 without CuPy or without a GPU)."""
    try:
        return int(_import_cupy().cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    return cuda_device_count() > 0


def to_device(array, device: str):
    """Copy (or pass through) ``array`` so that it lives on ``device``."""
    device = parse_device(device)
    if device == "cpu":
        return to_numpy(array)
    if device == "strict":
        strict = _import_strict()
        if isinstance(array, strict.StrictArray):
            return array
        return strict.from_host(to_numpy(array))
    cupy = _import_cupy()
    index = int(device.split(":")[1])
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # pragma: no cover - depends on the machine
        raise RuntimeError(
            f"device {device!r} was asked for, but CuPy finds no usable GPU ({exc})"
        ) from None
    if index >= count:
        raise RuntimeError(f"device {device!r} was asked for, but only {count} GPU(s) exist")
    if is_gpu_array(array) and array.device.id == index:
        return array
    with cupy.cuda.Device(index):
        return cupy.asarray(to_numpy(array) if not is_gpu_array(array) else array)


def to_numpy(array) -> np.ndarray:
    """Host copy (NumPy) of ``array``; a NumPy array is returned as it is."""
    if type(array) is _ndarray:
        return array
    if is_gpu_array(array):
        return array.get()
    if _strict is not None and isinstance(array, _strict.StrictArray):
        return array.get()
    return np.asarray(array)


def scatter_add(target, index, values) -> None:
    """``target[index] += values`` where repeated indices accumulate (unbuffered add)."""
    if type(target) is _ndarray:
        np.add.at(target, index, values)
    elif is_gpu_array(target):  # pragma: no cover - GPU only
        add_at = getattr(_cupy.add, "at", None)  # CuPy >= 13; cupyx.scatter_add before
        if add_at is None:
            import cupyx

            add_at = cupyx.scatter_add
        add_at(target, index, values)
    else:  # the strict stand-in: NumPy underneath
        _strict.scatter_add(target, index, values)
