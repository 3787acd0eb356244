"""Logistic regression: binary classification with a sigmoid and the cross-entropy loss.

Slides "Linear classification - Recap" and "Binary classification": with labels
y ∈ {0, 1}, the model says P(y = 1 | x) = p(x; w) = σ(wᵀx), and training minimises the
averaged negative log-likelihood (the cross-entropy)

    J(w) = 1/N Σ_i -y_i log σ(wᵀx_i) - (1 - y_i) log(1 - σ(wᵀx_i)),

whose gradient is ∇J = -1/N Σ_i (y_i - ŷ_i) x_i: proportional to the prediction error.
The loss is computed on the logits with the fused, stable
``F.binary_cross_entropy_with_logits`` (finite even for logits of ±1e4).
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..ops import sigmoid_array
from ..tensor import Tensor
from ._common import LinearModel, accuracy, labels_in

__all__ = ["LogisticRegression"]


class LogisticRegression(LinearModel):
    """Binary logistic regression ŷ = σ(wᵀΦ(x) + b) with labels y ∈ {0, 1}.

    Parameters
    ----------
    n_features : int, optional
        Width of Φ(x). Left out, the first ``fit`` takes it from the data.
    feature_map : callable, optional
        Φ, applied to X first (e.g. ``PolynomialFeatures(2)``).
    seed : int, optional
        Seeds the initial weights (``Linear``'s uniform init).
    dtype, device :
        Of the parameters; by default those of the first training data.

    Labels ``y``: 0 or 1 (any integer, bool or float dtype holding only those values).
    For labels in {-1, +1} pass ``(y + 1) // 2``.
    """

    def forward(self, X) -> Tensor:
        """The logits z = wᵀΦ(x) + b, shape (N,)."""
        return self.logits(X).reshape(-1)

    def _targets(self, y, n, dtype):
        y = labels_in(type(self).__name__, y, (0, 1), n=n,
                      hint="; for labels in {-1, +1} pass (y + 1) // 2")
        return y.astype(dtype)

    def _loss(self, phi, targets):
        return F.binary_cross_entropy_with_logits(self.linear(phi).reshape(-1), targets)

    def fit(self, X, y, lr=0.1, epochs=1000, batch_size=None, seed=None):
        """Gradient descent on the cross-entropy J(w) (mean over samples). Returns ``self``.

        ``batch_size=None``: batch gradient descent; an int: minibatch SGD with a fresh
        random order (``seed``) every epoch. Standardise the features first.
        """
        return self._gradient_descent(X, y, lr, epochs, batch_size, seed)

    def decision_function(self, X):
        """The logits wᵀx + b (N,) as an array: positive means class 1."""
        return self._no_grad_logits(X).reshape(-1)

    def predict_proba(self, X):
        """P(y = 1 | x) = σ(wᵀx + b) for every row, shape (N,)."""
        return sigmoid_array(self.decision_function(X))

    def predict(self, X):
        """The class, 1 where P(y = 1 | x) >= ½ (logit >= 0), else 0 (int64)."""
        return (self.decision_function(X) >= 0).astype(np.int64)

    def score(self, X, y) -> float:
        """Accuracy: the fraction of samples with predict(X) == y."""
        pred = self.predict(X)
        return accuracy(pred, self._targets(y, pred.shape[0], np.float64))
