"""Linear regression and ADALINE (Widrow & Hoff, 1960): a linear unit fit by least squares.

Model ŷ = wᵀx with x[0] = 1 (w[0] is the bias). In code the bias is the ``Linear`` layer's
``bias`` and the rest of w its ``weight`` row; :attr:`LinearRegression.w` gives them back
stacked in the lecture's order [w_0 (bias), w_1, ..., w_d].

Two ways to train it, as on the slides:

- **closed form** (slide "ADALINE"): ∇J = 0 gives the normal equations XXᵀw = Xy with the
  slides' samples-as-columns X. With our rows-as-samples Φ = [1 | X] (N, d+1) that is
  ΦᵀΦ w = Φᵀy, solved by least squares (SVD), never by an explicit inverse; when the
  features are collinear (XXᵀ singular: "points along a line") it refuses and asks for
  ridge, (ΦᵀΦ + αI) w = Φᵀy, which is non-singular for every α > 0.
- **gradient descent** (Algorithms 1-2) on the mean squared error J(w) = 1/N Σ (y_i - ŷ_i)²,
  with the gradient from autodiff.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from .. import functional as F
from ..autograd import no_grad
from ..tensor import Tensor
from ._common import LinearModel, accuracy, labels_in, r2_score, raw
from .features import add_bias_column

__all__ = ["LinearRegression", "Adaline"]


class LinearRegression(LinearModel):
    """Least-squares linear regression ŷ = wᵀΦ(x) + b, with real-valued targets y.

    Parameters
    ----------
    n_features : int, optional
        Width of Φ(x). Left out, the first ``fit`` takes it from the data.
    feature_map : callable, optional
        Φ, applied to X first (e.g. ``PolynomialFeatures(3)`` for a cubic fit).
    seed : int, optional
        Seeds the initial weights (``Linear``'s uniform init) for gradient descent.
    dtype, device :
        Of the parameters; by default those of the first training data (float64 for
        non-float data).

    Targets ``y``: real numbers, shape (N,).

    >>> import numpy as np
    >>> X = np.array([[1.0], [2.0], [3.0]]); y = 2 * X[:, 0] + 1
    >>> LinearRegression().fit_closed_form(X, y).w.round(6).tolist()
    [1.0, 2.0]
    """

    def forward(self, X) -> Tensor:
        """ŷ = Φ(X) wᵀ + b, shape (N,)."""
        return self.logits(X).reshape(-1)

    def _targets(self, y, n, dtype):
        y = raw(y)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(
                f"{type(self).__name__}: y must have shape ({n},) to match X, got "
                f"{tuple(y.shape)}"
            )
        return y.astype(dtype, copy=False)

    def _loss(self, phi, targets):
        return F.mse_loss(self.linear(phi).reshape(-1), targets)

    # ------------------------------------------------------------------ training
    def fit(self, X, y, lr=0.01, epochs=1000, batch_size=None, seed=None):
        """Gradient descent on J(w) = 1/N Σ (y_i - ŷ_i)² (``F.mse_loss``).

        Its gradient is ∇J = -2/N Σ (y_i - ŷ_i) x_i: the lecture's step
        w <- w + ε (y_i - ŷ_i) x_i uses the ½ (y - ŷ)² convention, so our ``lr`` is half its
        ε. ``batch_size=None`` is batch gradient descent; an int gives minibatch SGD
        (``batch_size=1``: the per-sample LMS / delta rule). Returns ``self``.
        """
        return self._gradient_descent(X, y, lr, epochs, batch_size, seed)

    def fit_closed_form(self, X, y, alpha=0.0):
        """Solve the normal equations exactly: w = (XXᵀ + αI)⁻¹ X y (slides' notation).

        With Φ = [1 | Φ(X)] (rows are samples): (ΦᵀΦ + αI) w = Φᵀy. This minimises
        ‖y - Φw‖² + α‖w‖² (the slides' G(w) with J written as ‖y - Xᵀw‖², without 1/N);
        following the lecture, the penalty covers *all* of w, the bias w[0] included.

        ``alpha=0`` is solved by least squares (SVD, stable: no inverse, no squared
        condition number) and raises ``numpy.linalg.LinAlgError`` when Φ has dependent
        columns (XXᵀ singular: infinitely many solutions); ``alpha > 0`` (ridge) always has
        a unique solution, found with ``linalg.solve``. Computed in float64.
        """
        if not alpha >= 0:
            raise ValueError(f"{type(self).__name__}.fit_closed_form: alpha must be >= 0, "
                             f"got {alpha!r}")
        phi = self.features(X)
        targets = self._targets(y, phi.shape[0], phi.dtype)
        self._check_training_data("fit_closed_form", phi, targets)
        self._ensure_built(phi)
        xp = backend.get_array_module(phi.data)
        A = add_bias_column(phi.data).astype(np.float64)  # Φ = [1 | Φ(X)]: the slides' Xᵀ
        b = targets.astype(np.float64)
        if alpha == 0:
            w, _, rank, _ = xp.linalg.lstsq(A, b, rcond=None)
            if int(rank) < A.shape[1]:
                raise np.linalg.LinAlgError(
                    f"{type(self).__name__}.fit_closed_form: XXᵀ is singular (Φ = [1 | X] has "
                    f"rank {int(rank)} < {A.shape[1]} columns: some features are collinear, "
                    "or there are fewer samples than weights), so infinitely many w solve "
                    "the normal equations; pass alpha > 0 for ridge regression"
                )
        else:
            gram = A.T @ A + alpha * xp.eye(A.shape[1])
            w = xp.linalg.solve(gram, A.T @ b)
        with no_grad():
            self.linear.bias.copy_(w[:1].astype(self.dtype))
            self.linear.weight.copy_(w[1:].reshape(1, -1).astype(self.dtype))
        return self

    # ------------------------------------------------------------------ inference
    @property
    def w(self):
        """The lecture's weight vector [w_0 (bias), w_1, ..., w_d] as an array (a copy)."""
        self._check_built()
        xp = backend.get_array_module(self.linear.weight.data)
        return xp.concatenate([self.linear.bias.data, self.linear.weight.data[0]])

    def predict(self, X):
        """ŷ for every row of X, as an array of shape (N,)."""
        return self._no_grad_logits(X).reshape(-1)

    def score(self, X, y) -> float:
        """R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)² (1 is a perfect fit, 0 is predicting ȳ)."""
        pred = self.predict(X)
        return r2_score(pred, self._targets(y, pred.shape[0], pred.dtype))


class Adaline(LinearRegression):
    """ADALINE: a linear unit trained by least squares on labels y ∈ {-1, +1}.

    Training is exactly linear regression on the ±1 targets (closed form or gradient
    descent on the squared error, the Widrow-Hoff / LMS rule); classification thresholds
    the linear output like the perceptron: ŷ = g(wᵀx) with g(s) = +1 for s >= 0, else -1.
    ``score`` is the accuracy.
    """

    def _targets(self, y, n, dtype):
        y = labels_in(type(self).__name__, y, (-1, 1), n=n,
                      hint="; for labels in {0, 1} pass 2 * y - 1")
        return y.astype(dtype)

    def decision_function(self, X):
        """The linear output wᵀx (N,), before the threshold."""
        return super().predict(X)

    def predict(self, X):
        """g(wᵀx) ∈ {-1, +1} (int64), with g(0) = +1 as on the perceptron slide."""
        s = self.decision_function(X)
        return backend.get_array_module(s).where(s >= 0, 1, -1).astype(np.int64)

    def score(self, X, y) -> float:
        """Accuracy: the fraction of samples with predict(X) == y."""
        pred = self.predict(X)
        return accuracy(pred, self._targets(y, pred.shape[0], np.float64))
