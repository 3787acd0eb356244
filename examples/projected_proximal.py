"""Projected and proximal gradient descent (the convex-optimisation recap).

- Projected GD solves min f(w) s.t. w ∈ C: a gradient step, then the projection
  P_C(x) = argmin_{y ∈ C} ‖y − x‖ back onto the convex set C (here an ℓ2 ball).
- Proximal GD (ISTA) solves min f(w) + λ‖w‖₁: a gradient step on the smooth f, then the
  soft threshold (the prox of λ‖·‖₁), which sets small weights exactly to zero (the lasso).

Run it:  python examples/projected_proximal.py
"""

from __future__ import annotations

import numpy as np

from microgradlin import functional as F
from microgradlin.models import Linear
from microgradlin.optim import ProjectedGD, ProximalGD
from microgradlin.train import fit


def mse(pred, target):
    return F.mse_loss(pred.reshape(-1), target)


def main():
    rng = np.random.default_rng(0)
    n, d = 200, 8
    X = rng.standard_normal((n, d))
    w_true = np.array([3.0, -2.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.0])  # sparse
    y = X @ w_true + 0.1 * rng.standard_normal(n)

    # projected GD: least squares with ‖w‖₂ <= 2 (the unconstrained solution is longer)
    model = Linear(d, 1, bias=False, seed=0)
    opt = ProjectedGD(model.parameters(), lr=0.1, project="l2_ball", radius=2.0)
    fit(model, mse, X, y, method="batch", optimizer=opt, epochs=200, progress=False)
    w = model.weight.numpy()[0]
    unconstrained = np.linalg.lstsq(X, y, rcond=None)[0]
    print(f"unconstrained least squares: ‖w‖ = {np.linalg.norm(unconstrained):.4f}")
    print(f"projected GD on ‖w‖ <= 2: ‖w‖ = {np.linalg.norm(w):.4f}, "
          f"w = {np.round(w, 2).tolist()}")
    assert np.linalg.norm(w) <= 2.0 + 1e-9

    # proximal GD: the lasso, min 1/N Σ (y - wᵀx)² + λ‖w‖₁
    model = Linear(d, 1, bias=False, seed=0)
    opt = ProximalGD(model.parameters(), lr=0.1, prox="l1", lam=0.1)
    fit(model, mse, X, y, method="batch", optimizer=opt, epochs=300, progress=False)
    w = model.weight.numpy()[0]
    zeros = int((w == 0).sum())
    print(f"proximal GD (lasso, λ = 0.1): w = {np.round(w, 2).tolist()}")
    print(f"exact zeros: {zeros} of {d} (the true w has {int((w_true == 0).sum())})")
    assert zeros >= 3


if __name__ == "__main__":
    main()
