"""Softmax regression (multinomial logistic regression): K classes, cross-entropy loss.

Slide "Multi-class classification": with labels y ∈ {0, ..., K-1} and one weight vector
per class, P(y = c | x) = exp(w_cᵀx) / Σ_k exp(w_kᵀx) = softmax(Wx)_c, and training
minimises J(W) = -1/N Σ_i log P(y = y_i | x_i). Its gradient, with the logits Z = XWᵀ + b
and one-hot targets Y (rows are samples), is ∇_W J = (P - Y)ᵀ X / N (the slides' Xᵀ(P - Y)/N
with W stored as (K, d), as PyTorch's ``Linear`` does). The loss is the fused, stable
``F.cross_entropy`` on the logits (log-sum-exp: slide "Softmax vs. CE loss").
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from ._common import LinearModel, accuracy, class_indices

__all__ = ["SoftmaxRegression"]


class SoftmaxRegression(LinearModel):
    """K-class softmax regression: P(y | x) = softmax(WΦ(x) + b), labels y ∈ {0, ..., K-1}.

    Parameters
    ----------
    n_features : int, optional
        Width of Φ(x). Left out, the first ``fit`` takes it from the data.
    n_classes : int, optional
        K. Left out, the first ``fit`` uses max(y) + 1.
    feature_map, seed, dtype, device :
        As for :class:`~microgradlin.models.LogisticRegression`.

    Labels ``y``: integer class indices 0..K-1, shape (N,) (whole-number floats accepted).
    """

    def __init__(self, n_features=None, n_classes=None, feature_map=None, seed=None,
                 dtype=None, device=None):
        if n_classes is not None and (int(n_classes) != n_classes or n_classes < 2):
            raise ValueError(f"SoftmaxRegression: n_classes must be an integer >= 2, "
                             f"got {n_classes!r}")
        self.n_outputs = None if n_classes is None else int(n_classes)
        super().__init__(n_features, feature_map=feature_map, seed=seed, dtype=dtype,
                         device=device)

    @property
    def n_classes(self):
        return self.n_outputs

    def forward(self, X) -> Tensor:
        """The logits Z = Φ(X) Wᵀ + b, shape (N, K)."""
        return self.logits(X)

    def _targets(self, y, n, dtype):
        y, k = class_indices(type(self).__name__, y, n=n, n_classes=self.n_outputs)
        if self.n_outputs is None:
            if k < 2:
                raise ValueError("SoftmaxRegression: y holds a single class; need K >= 2")
            self.n_outputs = k
        return y

    def _loss(self, phi, targets):
        return F.cross_entropy(self.linear(phi), targets)

    def fit(self, X, y, lr=0.1, epochs=1000, batch_size=None, seed=None):
        """Gradient descent on the cross-entropy J(W) (mean over samples). Returns ``self``."""
        return self._gradient_descent(X, y, lr, epochs, batch_size, seed)

    def decision_function(self, X):
        """The logits (N, K) as an array."""
        return self._no_grad_logits(X)

    def predict_proba(self, X):
        """P(y = c | x) for every row and class, shape (N, K); rows sum to 1."""
        return F.softmax(Tensor(self.decision_function(X)), axis=-1).data

    def predict(self, X):
        """The most probable class for every row, int64 of shape (N,)."""
        return self.decision_function(X).argmax(axis=-1)

    def score(self, X, y) -> float:
        """Accuracy: the fraction of samples with predict(X) == y."""
        pred = self.predict(X)
        return accuracy(pred, self._targets(y, pred.shape[0], np.float64))
