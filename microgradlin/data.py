"""Feeding data to gradient descent: batches, train/test splits, standardisation.

The lecture's three ways to estimate ∇J(w) = (1/N) Σᵢ ∇L(w, xᵢ, yᵢ) differ only in which
samples each step sees, so they are one iterator with one knob, ``batch_size``:

- ``None``: the whole training set, one step per epoch (batch gradient descent);
- ``1``: one sample per step, N steps per epoch (stochastic gradient descent);
- ``M``: M samples per step, ⌈N/M⌉ steps per epoch (minibatch gradient descent).

With a mean loss, the average of the minibatch gradients over an epoch of equal-size
batches *is* the full gradient: each one is an unbiased estimate of ∇J.

Inputs may be NumPy arrays, memory-mapped ``.npy`` files (``np.load(path, mmap_mode="r")``,
larger than memory: only each batch's rows are read), or Tensors (on any device).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["BatchIterator", "batches", "train_test_split", "Standardizer"]


def _data_of(x):
    """The backing array of a Tensor, or the array itself."""
    return x.data if isinstance(x, Tensor) else x


def _check_array(x, name, who):
    data = _data_of(x)
    if isinstance(data, (list, tuple)):
        data = np.asarray(data)
    if not (isinstance(data, np.ndarray) or backend.is_device_array(data)):
        raise TypeError(f"{who}: {name} must be a NumPy array, a memory-mapped .npy file or "
                        f"a Tensor, got {type(x).__name__}")
    if data.ndim == 0:
        raise ValueError(f"{who}: {name} must have at least one axis (samples first), got a "
                         "0-d array")
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{who}: {name} must hold numbers (bool, integer or float), got dtype "
                        f"{data.dtype}")
    return data


def _chunk_sorted(order: np.ndarray, size: int) -> np.ndarray:
    """Sort the indices inside each consecutive chunk of ``size`` (batch membership kept)."""
    n_full = (len(order) // size) * size
    out = np.empty_like(order)
    out[:n_full] = np.sort(order[:n_full].reshape(-1, size), axis=1).reshape(-1)
    out[n_full:] = np.sort(order[n_full:])
    return out


class BatchIterator:
    """Iterate over (X_batch, y_batch) Tensor pairs, one epoch per ``for`` loop.

    Parameters
    ----------
    X, y : arrays (NumPy, memory-mapped, or device arrays) or Tensors, samples along axis 0.
        ``y`` may be None: the iterator then yields X batches alone.
    batch_size : None (the full batch: one step per epoch), 1 (SGD) or M (minibatches).
    shuffle : bool
        Draw a new random order each epoch (not for ``batch_size=None``: the order cannot
        change the full-batch gradient, so the full batch is left in the data's order).
    seed : int or None
        Epoch e uses the permutation of ``np.random.default_rng([seed, e])``: the same seed
        gives the same batches, and a run resumed at epoch e sees what it would have seen.
        ``None`` draws a seed from the OS once.
    drop_last : bool
        Drop the last, smaller batch when M does not divide N (all batches then have M rows).
    device : where the batches go (``"cpu"``, ``"cuda"``...); default: where X lives.
    dtype : cast floating-point batches to this dtype (``fit`` passes the model's).

    The full batch is copied (cast, moved) once and the same Tensors are handed out every
    epoch; memory-mapped data is read again instead. Within a batch the rows come in
    increasing index order (the batch's *members* are random, their order inside a mean
    loss is not): a memory-mapped file is then read forwards, and a memmap and the same
    data in memory give bit-identical batches.
    """

    def __init__(self, X, y=None, batch_size=None, shuffle=True, seed=0, drop_last=False,
                 device=None, dtype=None):
        who = "BatchIterator"
        self._X = _check_array(X, "X", who)
        self._y = None if y is None else _check_array(y, "y", who)
        self.n = self._X.shape[0]
        if self._y is not None and self._y.shape[0] != self.n:
            raise ValueError(f"{who}: X has {self.n} samples (shape {tuple(self._X.shape)}) "
                             f"but y has {self._y.shape[0]} (shape {tuple(self._y.shape)})")
        if self.n == 0:
            raise ValueError(f"{who}: X has no samples")
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
                raise TypeError(f"{who}: batch_size must be None or a positive int, got "
                                f"{batch_size!r}")
            if batch_size < 1:
                raise ValueError(f"{who}: batch_size must be >= 1 (or None for the full "
                                 f"batch), got {batch_size}")
            batch_size = int(batch_size)
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.device = backend.parse_device(device if device is not None
                                           else backend.device_of(self._X))
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.epoch = 0  # the epoch the next `for` loop will produce
        self._full_cache = None
        if self.batch_size is not None and self.drop_last and self.batch_size > self.n:
            raise ValueError(f"{who}: batch_size={self.batch_size} > {self.n} samples with "
                             "drop_last=True would give no batch at all")

    @property
    def effective_batch_size(self) -> int:
        """Rows per (full) batch: N for the full batch, else min(M, N)."""
        return self.n if self.batch_size is None else min(self.batch_size, self.n)

    def __len__(self) -> int:
        """Number of batches (optimizer steps) per epoch."""
        m = self.effective_batch_size
        return self.n // m if self.drop_last else math.ceil(self.n / m)

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``for`` loop produce epoch ``epoch`` (its shuffle)."""
        self.epoch = int(epoch)

    def order(self, epoch: int) -> np.ndarray:
        """The sample indices of epoch ``epoch``, batch after batch (host int64 array)."""
        if self.shuffle and self.batch_size is not None:
            perm = np.random.default_rng([self.seed, int(epoch)]).permutation(self.n)
            return _chunk_sorted(perm, self.effective_batch_size)
        return np.arange(self.n)

    # ------------------------------------------------------------------ iteration
    _BLOCK_BYTES = 1 << 23  # in-memory data is gathered ~8 MB at a time, then sliced

    def _prepare(self, data, index):
        """Rows ``index`` (a slice or a host index array) of ``data`` as an array we own,
        cast to ``dtype`` and on the target device."""
        host = not backend.is_device_array(data)
        if isinstance(index, slice):
            part, fresh = data[index], False  # a view of the caller's data (or a memmap)
        elif host and not isinstance(data, np.memmap):
            # the rows gathered into storage on a 64-byte boundary, as mg.tensor's (mode=
            # "clip" skips NumPy's bounds-checking copy: the indices are a permutation's)
            out = backend.empty_aligned((len(index),) + data.shape[1:], data.dtype)
            part, fresh = np.take(data, index, axis=0, out=out, mode="clip"), True
        else:
            if not host:
                index = backend.to_device(index, backend.device_of(data))
            part, fresh = data[index], True  # fancy indexing copies (a memmap: its rows only)
        if self.dtype is not None and part.dtype.kind == "f" and part.dtype != self.dtype:
            part = backend.aligned_copy(part, self.dtype) if host else part.astype(self.dtype)
            fresh = True
        if backend.device_of(part) != self.device:
            part, fresh = backend.to_device(part, self.device), True
        if not fresh:  # our own copy (aligned on the host)
            part = backend.aligned_copy(part) if host else backend.get_array_module(
                part).array(part)
        if isinstance(part, np.memmap):
            part = np.asarray(part)  # a plain ndarray (fancy-indexed memmaps stay subclasses)
        return part

    def _wrap(self, xpart, ypart):
        xb = Tensor._make(xpart, None, False, [0])
        return xb if ypart is None else (xb, Tensor._make(ypart, None, False, [0]))

    def _batch(self, index):
        ypart = None if self._y is None else self._prepare(self._y, index)
        return self._wrap(self._prepare(self._X, index), ypart)

    def __iter__(self):
        epoch = self.epoch
        self.epoch += 1
        memmapped = isinstance(self._X, np.memmap) or isinstance(self._y, np.memmap)
        if self.batch_size is None or self.batch_size >= self.n:
            # The full batch: the same data every epoch, so it is prepared once (unless it
            # is memory-mapped: then it is read again each epoch, never kept).
            if self._full_cache is None:
                batch = self._batch(slice(0, self.n))
                if memmapped:
                    yield batch
                    return
                self._full_cache = batch
            yield self._full_cache
            return
        m = self.batch_size
        stop = (self.n // m) * m if self.drop_last else self.n
        order = self.order(epoch) if self.shuffle else None
        if memmapped:
            # one batch at a time: only its rows are read from the file
            for start in range(0, stop, m):
                end = min(start + m, stop)
                yield self._batch(slice(start, end) if order is None else order[start:end])
            return
        # In memory: gather a block of whole batches at once (one copy per ~8 MB, cast and
        # moved once), then hand out views of it; far fewer Python calls per step.
        row_bytes = max(1, self._X.dtype.itemsize * int(np.prod(self._X.shape[1:])))
        block = m * max(1, self._BLOCK_BYTES // (row_bytes * m))
        for b0 in range(0, stop, block):
            b1 = min(b0 + block, stop)
            index = slice(b0, b1) if order is None else order[b0:b1]
            xblock = self._prepare(self._X, index)
            yblock = None if self._y is None else self._prepare(self._y, index)
            for s0 in range(0, b1 - b0, m):
                s1 = s0 + m
                yield self._wrap(xblock[s0:s1], None if yblock is None else yblock[s0:s1])

    def __repr__(self):
        return (f"BatchIterator(n={self.n}, batch_size={self.batch_size}, shuffle={self.shuffle}"
                f", seed={self.seed}, drop_last={self.drop_last}, device={self.device!r})")


def batches(X, y=None, batch_size=None, shuffle=True, seed=0, drop_last=False, device=None,
            dtype=None) -> BatchIterator:
    """Shorthand for :class:`BatchIterator` (same arguments)."""
    return BatchIterator(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed,
                         drop_last=drop_last, device=device, dtype=dtype)


# ----------------------------------------------------------------------------- splitting
def _index_like(x, index):
    """Rows ``index`` of x, returned as the same kind of object (memmaps become arrays)."""
    if isinstance(x, Tensor):
        data = x.data
        if backend.is_device_array(data):
            index = backend.to_device(index, backend.device_of(data))
        return Tensor._make(data[index], None, False, [0])
    out = x[index]
    return np.asarray(out) if isinstance(out, np.memmap) else out


def train_test_split(X, y=None, test_size=0.25, seed=0, shuffle=True, stratify=None):
    """Split samples into a training and a test set: ``X_train, X_test, y_train, y_test``
    (or ``X_train, X_test`` without y), as scikit-learn does.

    ``test_size`` is a fraction in (0, 1) (the test set gets ⌈fraction·N⌉ samples) or a
    number of samples. ``stratify`` (class labels, usually y) keeps each class's share: class
    c contributes round(fraction·N_c) samples to the test set. Rows keep their original
    relative order inside each part. Memory-mapped inputs come back as in-memory arrays of the
    selected rows; Tensors come back as Tensors.
    """
    who = "train_test_split"
    data = _check_array(X, "X", who)
    n = data.shape[0]
    if y is not None and _check_array(y, "y", who).shape[0] != n:
        raise ValueError(f"{who}: X has {n} samples but y has {_data_of(y).shape[0]}")
    if isinstance(test_size, float) and not isinstance(test_size, bool):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"{who}: a fractional test_size must be in (0, 1), got {test_size}")
        fraction, n_test = test_size, math.ceil(test_size * n)
    elif isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        fraction, n_test = int(test_size) / n, int(test_size)
    else:
        raise TypeError(f"{who}: test_size must be a float in (0, 1) or an int, got "
                        f"{test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(f"{who}: test_size={test_size!r} of {n} samples leaves an empty "
                         f"training or test set ({n - n_test} / {n_test})")
    rng = np.random.default_rng(seed)
    if stratify is not None:
        if not shuffle:
            raise ValueError(f"{who}: stratify needs shuffle=True")
        labels = backend.to_numpy(_data_of(stratify))
        if labels.shape[:1] != (n,):
            raise ValueError(f"{who}: stratify has shape {labels.shape}, expected ({n},)")
        test_parts = []
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            k = int(round(fraction * len(members)))
            test_parts.append(rng.permutation(members)[:k])
        test = np.sort(np.concatenate(test_parts))
        if not 0 < len(test) < n:
            raise ValueError(f"{who}: stratified split of {n} samples gave an empty part")
    elif shuffle:
        test = np.sort(rng.permutation(n)[:n_test])
    else:
        test = np.arange(n - n_test, n)
    mask = np.ones(n, dtype=bool)
    mask[test] = False
    train = np.flatnonzero(mask)
    out = [_index_like(X, train), _index_like(X, test)]
    if y is not None:
        out += [_index_like(y, train), _index_like(y, test)]
    return tuple(out)


# ----------------------------------------------------------------------------- scaling
class Standardizer:
    """Standardise features: z = (x - μ) / σ, with μ and σ learned on the training data.

    ``fit(X)`` computes, per feature (axis 0 is samples), the mean ``mean_`` and the
    population standard deviation ``scale_`` (ddof = 0, as scikit-learn's StandardScaler).
    A constant feature has σ = 0; its ``scale_`` is set to 1 instead (so it maps to 0 rather
    than to NaN); "constant" means σ ≤ 10·eps·max(1, |μ|), which absorbs rounding.

    Statistics are accumulated in float64 over chunks of rows, so a memory-mapped file
    larger than memory can be fitted. ``transform`` keeps a floating input's dtype and
    works on NumPy/CuPy arrays and Tensors. Fit on the training split only, then apply the
    same statistics to the test split: the test data must not leak into the model.
    """

    def __init__(self, chunk_rows: int = 65536):
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, numbers.Integral) \
                or chunk_rows < 1:
            raise ValueError(f"Standardizer: chunk_rows must be an integer >= 1, got "
                             f"{chunk_rows!r}")
        self.chunk_rows = int(chunk_rows)
        self.mean_ = None
        self.scale_ = None
        self.n_samples_seen_ = 0
        self._device_stats = {}

    def fit(self, X) -> Standardizer:
        data = _check_array(X, "X", "Standardizer.fit")
        if data.ndim < 2:
            raise ValueError(f"Standardizer.fit: X must have shape (N, d), one sample per row, "
                             f"got {tuple(data.shape)}; for one feature use X.reshape(-1, 1)")
        n = data.shape[0]
        if n == 0:
            raise ValueError("Standardizer.fit: X has no samples")
        # two passes over chunks, in float64: the mean, then the mean squared deviation
        total = np.zeros(data.shape[1:], dtype=np.float64)
        for start in range(0, n, self.chunk_rows):
            chunk = backend.to_numpy(data[start:start + self.chunk_rows])
            total += chunk.sum(axis=0, dtype=np.float64)
        mean = total / n
        squares = np.zeros_like(mean)
        for start in range(0, n, self.chunk_rows):
            chunk = backend.to_numpy(data[start:start + self.chunk_rows]).astype(np.float64)
            squares += ((chunk - mean) ** 2).sum(axis=0)
        scale = np.sqrt(squares / n)
        constant = scale <= 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean))
        scale[constant] = 1.0
        self.mean_, self.scale_, self.n_samples_seen_ = mean, scale, n
        self._device_stats = {}
        return self

    def _stats_for(self, data, who):
        if self.mean_ is None:
            raise RuntimeError(f"Standardizer.{who}: call fit(X) first")
        if tuple(data.shape[1:]) != tuple(self.mean_.shape):
            raise ValueError(f"Standardizer.{who}: X has features of shape "
                             f"{tuple(data.shape[1:])} but the statistics were fitted on "
                             f"{tuple(self.mean_.shape)}")
        dtype = data.dtype if data.dtype.kind == "f" else np.dtype(np.float64)
        key = (backend.device_of(data), dtype)
        stats = self._device_stats.get(key)
        if stats is None:  # moved/cast once per device and dtype, then reused
            stats = tuple(backend.to_device(a.astype(dtype), key[0])
                          for a in (self.mean_, self.scale_))
            self._device_stats[key] = stats
        return stats, dtype

    def transform(self, X):
        """z = (x - mean_) / scale_ (same kind of object as X)."""
        data = _check_array(X, "X", "Standardizer.transform")
        (mean, scale), dtype = self._stats_for(data, "transform")
        if isinstance(data, np.memmap):
            data = np.asarray(data)
        out = (data.astype(dtype, copy=False) - mean) / scale
        return Tensor._make(out, None, False, [0]) if isinstance(X, Tensor) else out

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """x = z · scale_ + mean_ (undoes ``transform``)."""
        data = _check_array(Z, "Z", "Standardizer.inverse_transform")
        (mean, scale), dtype = self._stats_for(data, "inverse_transform")
        out = data.astype(dtype, copy=False) * scale + mean
        return Tensor._make(out, None, False, [0]) if isinstance(Z, Tensor) else out

    def state_dict(self) -> dict:
        if self.mean_ is None:
            raise RuntimeError("Standardizer.state_dict: call fit(X) first")
        return {"mean_": self.mean_.copy(), "scale_": self.scale_.copy(),
                "n_samples_seen_": int(self.n_samples_seen_)}

    def load_state_dict(self, state: dict) -> None:
        missing = {"mean_", "scale_"} - set(state)
        if missing:
            raise KeyError(f"Standardizer.load_state_dict: missing keys {sorted(missing)}")
        mean = np.asarray(backend.to_numpy(_data_of(state["mean_"])), dtype=np.float64)
        scale = np.asarray(backend.to_numpy(_data_of(state["scale_"])), dtype=np.float64)
        if mean.shape != scale.shape:
            raise ValueError(f"Standardizer.load_state_dict: mean_ has shape {mean.shape} "
                             f"but scale_ has shape {scale.shape}")
        if np.any(scale <= 0):
            raise ValueError("Standardizer.load_state_dict: scale_ must be > 0 everywhere")
        n = state.get("n_samples_seen_", 0)
        self.mean_, self.scale_ = mean.copy(), scale.copy()
        self.n_samples_seen_ = int(n.item() if hasattr(n, "item") else n)
        self._device_stats = {}

    def __repr__(self):
        fitted = "unfitted" if self.mean_ is None else f"fitted on {self.n_samples_seen_}"
        return f"Standardizer({fitted})"
