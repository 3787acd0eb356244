"""Convexity through the Hessian, computed by double backward (``mg.hessian``).

Slides "Convexity" and "Linear regression": a twice-differentiable f is convex iff its
Hessian is positive semidefinite everywhere. For the mean squared error of a linear model
the Hessian is 2/N XᵀX (eigenvalues ≥ 0), for logistic regression Xᵀdiag(p(1 − p))X/N, and
for the ℓ2 loss on a sigmoid it can be negative: that loss is not convex.

Run it:  python examples/hessian_convexity.py
"""

from __future__ import annotations

import numpy as np

import microgradlin as mg
from microgradlin import functional as F


def main():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    y = rng.standard_normal(20)
    labels = (rng.random(20) < 0.5).astype(float)
    Xt = mg.tensor(X)

    H = mg.hessian(lambda w: F.mse_loss(Xt @ w, y), rng.standard_normal(3)).numpy()
    print(f"MSE: Hessian == 2/N XᵀX: {np.allclose(H, 2 / 20 * X.T @ X)}, eigenvalues "
          f"{np.round(np.linalg.eigvalsh(H), 4).tolist()}")

    w0 = rng.standard_normal(3)
    H = mg.hessian(lambda w: F.binary_cross_entropy_with_logits(Xt @ w, labels), w0).numpy()
    p = 1 / (1 + np.exp(-X @ w0))
    print(f"logistic: Hessian == Xᵀdiag(p(1-p))X/N: "
          f"{np.allclose(H, X.T @ np.diag(p * (1 - p)) @ X / 20)}, smallest eigenvalue "
          f"{np.linalg.eigvalsh(H).min():.4f} >= 0")

    # ℓ2 on a sigmoid, one sample with y = 1, as a function of the logit z = w
    def l2_on_sigmoid(w):
        return 0.5 * (mg.sigmoid(w) - 1.0) ** 2

    curvatures = {z: mg.hessian(lambda w: l2_on_sigmoid(w).sum(), np.array([z])).item()
                  for z in (-4.0, 0.0, 4.0)}
    print("ℓ2 on a sigmoid, second derivative at z = -4, 0, 4: "
          + ", ".join(f"{v:.4f}" for v in curvatures.values())
          + "  (negative at z = -4: not convex)")
    assert curvatures[-4.0] < 0


if __name__ == "__main__":
    main()
