"""Plumbing shared by the lecture's linear models: inputs, labels and gradient descent.

Conventions (the slides write samples as *columns*, X = [x_0 | x_1 | ...]; the code keeps
NumPy's rows-as-samples, so the slides' X is our ``X.T``):

- inputs ``X``: NumPy/CuPy arrays, nested lists or Tensors of shape (N, d), one row per
  sample. Float32 data keeps a lazily built model in float32; everything else is float64.
- the optional ``feature_map`` Φ is applied first (see :mod:`microgradlin.models.features`);
  the linear layer then sees Φ(X).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor
from .module import Linear, Module


def raw(v):
    """The array behind ``v``: a Tensor's data, an array itself, a list as a NumPy array."""
    if isinstance(v, Tensor):
        return v.data
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        return v
    return np.asarray(v)


def as_2d_array(name, X):
    """``X`` as a 2-D array or Tensor of samples (lists become float64 NumPy arrays)."""
    if not isinstance(X, Tensor):
        X = raw(X)
    if X.ndim != 2:
        raise ValueError(
            f"{name}: X must have shape (N, d), one sample per row, got shape {tuple(X.shape)}"
            + ("; for a single feature use X.reshape(-1, 1)" if X.ndim == 1 else "")
        )
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name}: X must be numeric, got dtype {X.dtype}")
    return X


def check_fit_data(name, what, data):
    """Data to train on: at least one sample, and no nan or inf (they would train to nan
    weights, or to a misleading "diverged" error). One pass over the data per ``fit``."""
    if not data.shape[0]:
        raise ValueError(f"{name}: {what} has no samples (shape {tuple(data.shape)})")
    if data.dtype.kind == "f":
        finite = backend.get_array_module(data).isfinite(data)
        if not bool(finite.all()):
            row = int(backend.to_numpy((~finite).reshape(data.shape[0], -1).any(axis=1))
                      .argmax())
            value = backend.to_numpy(data[row]).reshape(-1)
            value = value[~np.isfinite(value)][0].item()
            raise ValueError(f"{name}: {what} contains {value!r} (sample {row}); remove or "
                             "fill in such values before training")


def check_model_options(name, n_features, feature_map):
    """A model's constructor arguments, checked when it is made (not at the first fit)."""
    if n_features is not None and (isinstance(n_features, bool) or not isinstance(
            n_features, numbers.Integral) or n_features < 1):
        raise ValueError(f"{name}: n_features must be an integer >= 1, got {n_features!r}")
    if feature_map is not None and not callable(feature_map):
        raise TypeError(f"{name}: feature_map must be a callable X -> Φ(X) (e.g. "
                        f"PolynomialFeatures(2)), got {feature_map!r}")


def labels_in(name, y, allowed, n=None, hint=""):
    """Check that every label is one of ``allowed`` (one elementwise test, one reduction)."""
    y = raw(y)
    if y.ndim != 1:
        raise ValueError(f"{name}: y must have shape (N,), got {tuple(y.shape)}")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name}: X has {n} samples but y has {y.shape[0]} labels")
    bad = y != allowed[0]
    for value in allowed[1:]:
        bad &= y != value
    if bad.any():
        shown = ", ".join(f"{v:g}" for v in allowed)
        raise ValueError(
            f"{name}: labels must be in {{{shown}}}, got {y[bad][0].item()!r}{hint}"
        )
    return y


def class_indices(name, y, n=None, n_classes=None):
    """Integer class labels 0..K-1 of shape (N,); returns (labels, K)."""
    y = raw(y)
    if y.ndim != 1:
        raise ValueError(f"{name}: y must have shape (N,), got {tuple(y.shape)}")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name}: X has {n} samples but y has {y.shape[0]} labels")
    if y.dtype.kind == "f":
        xp = backend.get_array_module(y)
        bad = ~((y == xp.round(y)) & xp.isfinite(y))
        if bool(bad.any()):
            raise ValueError(f"{name}: class labels must be whole numbers 0..K-1, got "
                             f"{y[bad][0].item()!r}")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iu":
        raise TypeError(f"{name}: class labels must be integers 0..K-1, got dtype {y.dtype}")
    if n_classes is None and not y.shape[0]:
        raise ValueError(f"{name}: y has no labels (shape {tuple(y.shape)}), so there are no "
                         "classes to learn")
    k = int(y.max()) + 1 if n_classes is None else int(n_classes)
    bad = (y < 0) | (y >= k)
    if bad.any():
        raise ValueError(
            f"{name}: class label {y[bad][0].item()!r} is out of range for {k} classes "
            f"(valid: 0 to {k - 1})"
        )
    return y, k


def _host_pair(pred, y):
    """A score is a Python number anyway: compare on the host, wherever each side lives."""
    return backend.to_numpy(raw(pred)), backend.to_numpy(raw(y))


def accuracy(pred, y) -> float:
    """Fraction of ``pred`` equal to ``y``."""
    pred, y = _host_pair(pred, y)
    return float((pred == y).mean())


def r2_score(pred, y) -> float:
    """Coefficient of determination R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)².

    For a constant y (Σ(y - ȳ)² = 0) the ratio is undefined: 1.0 for a perfect prediction,
    else 0.0 (scikit-learn's convention)."""
    pred, y = _host_pair(pred, y)
    ss_res = float(((y - pred) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum())
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else 0.0
    return 1.0 - ss_res / ss_tot


class LinearModel(Module):
    """Φ(x) -> ``Linear(n_features, n_outputs)``: the shared body of the GD-trained models.

    ``n_features`` is the width of Φ(x) (the inputs of the linear layer). Left ``None``, the
    layer is built by the first ``fit`` from the data's width, dtype and device.
    Subclasses define ``forward`` (from Φ), ``_targets`` (validate and convert y) and
    ``_loss`` (the training loss on Φ and converted targets).
    """

    n_outputs = 1

    def __init__(self, n_features=None, feature_map=None, seed=None, dtype=None, device=None):
        check_model_options(type(self).__name__, n_features, feature_map)
        self.feature_map = feature_map
        self.seed = seed
        self._n_features = n_features
        self._dtype = None if dtype is None else np.dtype(dtype)
        self._device = device
        self.linear = None
        self.loss_history: list[float] = []
        if n_features is not None and self.n_outputs is not None:
            self._build(n_features, self._dtype or np.float64, device)

    # ------------------------------------------------------------------ building
    def _build(self, n_features, dtype, device):
        self.linear = Linear(int(n_features), int(self.n_outputs), seed=self.seed,
                             dtype=dtype, device=device)

    def _check_built(self):
        if self.linear is None:
            raise RuntimeError(
                f"{type(self).__name__}: the model has no weights yet; call fit() first or "
                "pass n_features (and n_classes) to the constructor"
            )

    @property
    def dtype(self):
        if self.linear is not None:
            return self.linear.weight.dtype
        return self._dtype

    def features(self, X) -> Tensor:
        """Φ(X) as a Tensor of the model's dtype (the inputs of the linear layer)."""
        name = type(self).__name__
        X = as_2d_array(name, X)
        if self.feature_map is not None:
            X = as_2d_array(name, self.feature_map(X))
        dtype = self.dtype
        if dtype is None:
            dtype = X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)
        if isinstance(X, Tensor):
            return X if X.dtype == dtype else X.astype(dtype)
        # host data follows the model to its device (a Tensor input must already be there)
        device = self.linear.weight.device if self.linear is not None else self._device
        return Tensor(X, dtype=dtype, device=device)

    def _ensure_built(self, phi: Tensor):
        expected = self.linear.in_features if self.linear is not None else self._n_features
        if expected is not None and phi.shape[1] != expected:
            raise ValueError(
                f"{type(self).__name__}: Φ(X) has {phi.shape[1]} features but the model was "
                f"built for {expected}"
            )
        if self.linear is None:
            self._build(phi.shape[1], phi.dtype, self._device or phi.device)

    def logits(self, X) -> Tensor:
        """The linear layer's output (N, n_outputs), recorded for backward."""
        self._check_built()
        return self.linear(self.features(X))

    # ------------------------------------------------------------------ training
    def loss(self, X, y) -> Tensor:
        """The training loss J(w) on (X, y), a scalar Tensor ready for ``backward()``."""
        phi = self.features(X)
        self._check_built()
        return self._loss(phi, self._targets_on_device(y, phi))

    def _targets_on_device(self, y, phi):
        """The validated targets, on the device of Φ(X) (checked on the host, once)."""
        return backend.to_device(self._targets(y, phi.shape[0], phi.dtype), phi.device)

    def _check_training_data(self, method, phi, targets):
        name = f"{type(self).__name__}.{method}"
        check_fit_data(name, "X" if self.feature_map is None else "Φ(X)", phi.data)
        check_fit_data(name, "y", targets)

    def _gradient_descent(self, X, y, lr, epochs, batch_size, seed):
        """Plain (minibatch) gradient descent: w <- w - lr ∇J(w), the lecture's Algorithm 2.

        ``batch_size=None`` uses the whole data set per step (batch gradient descent);
        otherwise each epoch visits the samples in a fresh random order (``seed``) in
        minibatches of that size. The mean loss of every epoch goes to ``loss_history``.
        """
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}.fit: lr must be positive, got {lr!r}")
        if int(epochs) != epochs or epochs < 0:
            raise ValueError(f"{type(self).__name__}.fit: epochs must be an integer >= 0")
        phi = self.features(X)
        targets = self._targets_on_device(y, phi)
        self._check_training_data("fit", phi, targets)
        self._ensure_built(phi)
        phi = phi.detach()
        n = phi.shape[0]
        if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
            raise ValueError(f"{type(self).__name__}.fit: batch_size must be a positive integer")
        rng = np.random.default_rng(seed)
        params = self.parameters()
        for _ in range(int(epochs)):
            if batch_size is None or batch_size >= n:
                batches = [None]
            else:
                order = backend.to_device(rng.permutation(n), phi.device)
                batches = [order[i:i + batch_size] for i in range(0, n, int(batch_size))]
            total = 0.0  # Σ weight·loss, kept on the device: one sync per epoch, not per step
            for idx in batches:
                if idx is None:
                    loss = self._loss(phi, targets)
                    weight = n
                else:
                    loss = self._loss(phi[idx], targets[idx])
                    weight = idx.shape[0]
                self.zero_grad()
                loss.backward()
                with no_grad():
                    for p in params:
                        p -= lr * p.grad  # w <- w - ε ∇J(w)
                total = total + loss.data * weight
            value = float(total) / n
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"{type(self).__name__}.fit: the loss became {value} (diverged); "
                    f"lower the learning rate (lr={lr}) or standardise the features"
                )
            self.loss_history.append(value)
        return self

    # ------------------------------------------------------------------ inference
    def _no_grad_logits(self, X):
        with no_grad():
            return self.logits(X).data

    def __repr__(self):
        inner = "unbuilt" if self.linear is None else (
            f"n_features={self.linear.in_features}, n_outputs={self.linear.out_features}")
        fmap = f", feature_map={self.feature_map!r}" if self.feature_map is not None else ""
        return f"{type(self).__name__}({inner}{fmap})"
