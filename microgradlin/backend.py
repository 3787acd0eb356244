"""The one seam between microgradlin and its array libraries.

Every other module asks this one for "the array module of this data" (NumPy on the CPU, CuPy
on an NVIDIA GPU) instead of importing either directly, so the same op code runs on both.
CuPy is imported lazily, only when a GPU array or a ``"cuda"`` device is asked for: a CPU user
never needs it installed.
"""

from __future__ import annotations

import numpy as np

_ndarray = np.ndarray
_cupy = None  # the cupy module once imported; None until a GPU is asked for


def _import_cupy():
    global _cupy
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
    return _cupy


def get_array_module(array):
    """The array module (``numpy`` or ``cupy``) that owns ``array``."""
    if type(array) is _ndarray or _cupy is None:
        return np
    if isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def is_gpu_array(array) -> bool:
    return _cupy is not None and isinstance(array, _cupy.ndarray)


def device_of(array) -> str:
    """``"cpu"`` for NumPy data, ``"cuda:N"`` for CuPy data on GPU N."""
    if type(array) is _ndarray or not is_gpu_array(array):
        return "cpu"
    return f"cuda:{array.device.id}"


def parse_device(device) -> str:
    """Normalise ``None``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` to ``"cpu"`` or ``"cuda:N"``."""
    if device is None:
        return "cpu"
    text = str(device).strip().lower()
    if text == "cpu":
        return "cpu"
    if text == "cuda":
        return "cuda:0"
    if text.startswith("cuda:") and text[5:].isdigit():
        return text
    raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    try:
        cupy = _import_cupy()
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def to_device(array, device: str):
    """Copy (or pass through) ``array`` so that it lives on ``device``."""
    device = parse_device(device)
    if device == "cpu":
        if is_gpu_array(array):
            return array.get()
        return np.asarray(array)
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
        return cupy.asarray(array)


def to_numpy(array) -> np.ndarray:
    """Host copy (NumPy) of ``array``; a NumPy array is returned as it is."""
    if type(array) is _ndarray:
        return array
    if is_gpu_array(array):
        return array.get()
    return np.asarray(array)


def scatter_add(target, index, values) -> None:
    """``target[index] += values`` where repeated indices accumulate (unbuffered add)."""
    xp = get_array_module(target)
    if xp is np:
        np.add.at(target, index, values)
    else:  # pragma: no cover - GPU only
        import cupyx

        cupyx.scatter_add(target, index, values)
