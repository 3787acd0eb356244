"""The perceptron (Rosenblatt, 1958), exactly as on the slides.

Classifier (eq. 1-2): y = g(wᵀΦ(x)), with Φ(x) = [1, φ_1(x), φ_2(x), ...]ᵀ (φ_0 = 1 makes
w[0] the bias) and g(s) = +1 if s >= 0, -1 if s < 0. Labels y ∈ {-1, +1}.

Training is mistake-driven and needs no autodiff. Presenting the samples one at a time:

- eq. 6 (the perceptron rule): w <- w + y_i φ(x_i) if g(wᵀφ(x_i)) != y_i, else unchanged;
- eq. 7 (the delta rule):      w <- w + ½ (y_i - ŷ_i) φ(x_i), with ŷ_i = g(wᵀφ(x_i)).

They are the same rule: a correct sample has y_i - ŷ_i = 0, a wrong one y_i - ŷ_i = 2 y_i.
Training stops after the first epoch without a mistake; by the convergence theorem that
happens iff the data are linearly separable (in feature space), after at most (R/γ)²
mistakes (Novikoff). The criterion the rule descends is the perceptron loss
J(w) = 1/N Σ max(0, -y_i wᵀφ(x_i)) (``F.perceptron_loss``; the slide's sign is a typo),
available as :meth:`Perceptron.loss` for gradient checks.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from .. import functional as F
from ..autograd import no_grad
from ..tensor import Tensor
from ._common import accuracy, as_2d_array, check_fit_data, check_model_options, labels_in, raw
from .features import add_bias_column
from .module import Module

__all__ = ["Perceptron"]

_RULES = ("perceptron", "delta")


class Perceptron(Module):
    """Rosenblatt's perceptron y = g(wᵀΦ(x)) with labels in {-1, +1}.

    Parameters
    ----------
    n_features : int, optional
        Number of features φ_1..φ_m (without φ_0 = 1); ``weight`` then has m + 1 entries.
        Left out, the first ``fit`` takes it from the data.
    feature_map : callable, optional
        Φ without the constant (e.g. ``PolynomialFeatures(2)``); the identity by default.
    init : {"zeros", "random"}
        w_0: zeros (the lecture's and the convergence theorem's choice) or small normal
        values drawn with ``seed``.
    seed : int, optional
        Seed for ``init="random"``.
    dtype : optional
        Of the weights; float64 unless the first training data are float32.

    Attributes set by :meth:`fit`
    ----------------------------
    weight : Tensor (m + 1,)
        w, with w[0] the bias.
    mistakes_per_epoch : list of int
        How many samples each epoch misclassified (= number of updates).
    weight_history : array (T + 1, m + 1)
        w_0, then w after each of the T samples presented (one row per step).
    converged : bool
        Whether an epoch ended without a mistake.
    """

    def __init__(self, n_features=None, feature_map=None, init="zeros", seed=None,
                 dtype=None):
        if init not in ("zeros", "random"):
            raise ValueError(f"Perceptron: init must be 'zeros' or 'random', got {init!r}")
        check_model_options("Perceptron", n_features, feature_map)
        self.feature_map = feature_map
        self.init = init
        self.seed = seed
        self._dtype = None if dtype is None else np.dtype(dtype)
        self.weight = None
        self.mistakes_per_epoch: list[int] = []
        self.weight_history = None
        self.converged = False
        if n_features is not None:
            self._build(int(n_features) + 1, self._dtype or np.float64, None)

    def _build(self, size, dtype, device):
        if self.init == "zeros":
            w0 = np.zeros(size)
        else:
            w0 = 0.01 * np.random.default_rng(self.seed).standard_normal(size)
        self.weight = Tensor(w0, dtype=dtype, requires_grad=True, name="w", device=device)

    # ------------------------------------------------------------------ features
    def features(self, X):
        """Φ(X) = [1 | φ(X)] as an array (N, m + 1) (or a Tensor for Tensor inputs)."""
        X = as_2d_array("Perceptron", X)
        if self.feature_map is not None:
            X = as_2d_array("Perceptron", self.feature_map(X))
        dtype = self.weight.dtype if self.weight is not None else (
            self._dtype or (X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)))
        if isinstance(X, Tensor):
            X = X if X.dtype == dtype else X.astype(dtype)
        else:
            X = X.astype(dtype, copy=False)
        phi = add_bias_column(X)
        if self.weight is not None and phi.shape[1] != self.weight.shape[0]:
            raise ValueError(
                f"Perceptron: Φ(X) has {phi.shape[1]} columns (with φ_0 = 1) but w has "
                f"{self.weight.shape[0]} entries"
            )
        return phi

    def forward(self, X) -> Tensor:
        """The scores wᵀΦ(x), shape (N,), recorded for backward."""
        self._check_built()
        phi = self.features(X)
        return (phi if isinstance(phi, Tensor) else Tensor(phi)) @ self.weight

    def _check_built(self):
        if self.weight is None:
            raise RuntimeError(
                "Perceptron: the model has no weights yet; call fit() first or pass n_features"
            )

    def loss(self, X, y) -> Tensor:
        """The perceptron criterion J(w) = 1/N Σ max(0, -y_i wᵀφ(x_i)) as a Tensor."""
        y = labels_in("Perceptron", y, (-1, 1), hint="; for labels in {0, 1} pass 2 * y - 1")
        return F.perceptron_loss(self(X), y)

    # ------------------------------------------------------------------ training
    def fit(self, X, y, epochs=100, rule="perceptron", shuffle=False, seed=None,
            record_history=True):
        """Train with the lecture's mistake-driven rule, one sample at a time.

        Parameters
        ----------
        X : (N, d) array or Tensor; y : (N,) labels in {-1, +1}.
        epochs : int
            At most this many passes over the data; stops early after an epoch without a
            mistake (``converged = True``).
        rule : {"perceptron", "delta"}
            eq. 6, w <- w + y_i φ(x_i) on a mistake; or eq. 7, w <- w + ½ (y_i - ŷ_i) φ(x_i)
            on every sample. Both give the same weights.
        shuffle : bool
            Present the samples in a new random order (``seed``) every epoch; by default
            in the given order.
        record_history : bool
            Keep ``weight_history`` (one row per sample presented).

        Training continues from the current w (zeros for a new model). Returns ``self``.
        """
        if rule not in _RULES:
            raise ValueError(f"Perceptron.fit: rule must be one of {_RULES}, got {rule!r}")
        if int(epochs) != epochs or epochs < 0:
            raise ValueError(f"Perceptron.fit: epochs must be an integer >= 0, got {epochs!r}")
        phi = raw(self.features(X))
        y = labels_in("Perceptron", y, (-1, 1), n=phi.shape[0],
                      hint="; for labels in {0, 1} pass 2 * y - 1")
        check_fit_data("Perceptron.fit", "X" if self.feature_map is None else "Φ(X)",
                       phi[:, 1:])
        if self.weight is None:
            self._build(phi.shape[1], phi.dtype, backend.device_of(phi))
        labels = [int(v) for v in backend.to_numpy(y).tolist()]
        rows = list(phi)  # one view per sample
        w = self.weight.data.copy()
        history = [w] if record_history else None
        rng = np.random.default_rng(seed)
        self.mistakes_per_epoch = []
        self.converged = False
        for _ in range(int(epochs)):
            order = rng.permutation(len(rows)) if shuffle else range(len(rows))
            mistakes = 0
            for i in order:
                phi_i, y_i = rows[i], labels[i]
                y_hat = 1 if float(phi_i @ w) >= 0 else -1  # g(wᵀφ(x_i)), eq. 2
                if rule == "perceptron":
                    if y_hat != y_i:
                        w = w + y_i * phi_i  # eq. 6
                else:
                    w = w + 0.5 * (y_i - y_hat) * phi_i  # eq. 7 (the delta rule)
                mistakes += y_hat != y_i
                if record_history:
                    history.append(w)
            self.mistakes_per_epoch.append(int(mistakes))
            if mistakes == 0:
                self.converged = True
                break
        with no_grad():
            self.weight.copy_(w)
        if record_history:
            self.weight_history = backend.get_array_module(w).stack(history)
        return self

    @property
    def n_mistakes(self) -> int:
        """Total number of updates (mistakes) made by the last ``fit``."""
        return int(sum(self.mistakes_per_epoch))

    # ------------------------------------------------------------------ inference
    def decision_function(self, X):
        """The scores wᵀΦ(x) (N,) as an array."""
        with no_grad():
            return self(X).data

    def predict(self, X):
        """g(wᵀΦ(x)) ∈ {-1, +1} (int64), with g(0) = +1 (eq. 2)."""
        s = self.decision_function(X)
        return backend.get_array_module(s).where(s >= 0, 1, -1).astype(np.int64)

    def score(self, X, y) -> float:
        """Accuracy: the fraction of samples with predict(X) == y."""
        pred = self.predict(X)
        return accuracy(pred, labels_in("Perceptron", y, (-1, 1), n=pred.shape[0],
                                        hint="; for labels in {0, 1} pass 2 * y - 1"))

    def __repr__(self):
        size = "unbuilt" if self.weight is None else f"w: ({self.weight.shape[0]},)"
        return f"Perceptron({size})"
