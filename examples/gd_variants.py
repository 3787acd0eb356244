"""Batch, stochastic and minibatch gradient descent on one least-squares problem.

The lecture's three ways of estimating ∇J(w) = (1/N) Σᵢ ∇L(w, xᵢ, yᵢ), run on the same model
from the same starting point:

- batch GD:      the whole training set per step, one step per epoch, constant ε;
- SGD:           one sample per step, N steps per epoch, ε_t = ε₀/(1 + t/τ) (Robbins–Monro);
- minibatch GD:  M samples per step, N/M steps per epoch, the same kind of schedule.

After every epoch it evaluates the full training loss J(w) (the same quantity for all
three) and prints it with the time per epoch, then the distance to the closed-form solution
w* = (ÃᵀÃ)⁻¹Ãᵀy. Run it:  python examples/gd_variants.py
"""

from __future__ import annotations

import numpy as np

import microgradlin as mg
from microgradlin.datasets import make_regression
from microgradlin.models import Linear
from microgradlin.optim import InverseTime
from microgradlin.train import fit


def mse(pred, target):
    """J = (1/N) Σ (ŷᵢ - yᵢ)²."""
    return ((pred - target) ** 2).mean()


def main(n: int = 1000, d: int = 5, epochs: int = 10, seed: int = 0) -> dict:
    X, y, _, _ = make_regression(n=n, d=d, noise=0.5, seed=seed)
    y = y.reshape(-1, 1)
    A = np.column_stack([X, np.ones(n)])
    theta_star = np.linalg.solve(A.T @ A, A.T @ y[:, 0])
    best = float(np.mean((A @ theta_star - y[:, 0]) ** 2))
    # the largest stable constant step for batch GD is 2/λ_max, H = (2/N) ÃᵀÃ
    lam_max = float(np.linalg.eigvalsh(2 / n * A.T @ A).max())

    Xt, yt = mg.tensor(X), mg.tensor(y)
    runs = {
        "batch": dict(method="batch", lr=1.0 / lam_max),
        "sgd": dict(method="sgd", schedule=InverseTime(0.02, tau=n)),
        "minibatch": dict(method="minibatch", batch_size=32,
                          schedule=InverseTime(0.1, tau=5 * n // 32)),
    }
    histories, full_losses, distances = {}, {}, {}
    for name, kwargs in runs.items():
        model = Linear(d, 1, seed=seed)  # the same start for every method
        losses = []

        def full_loss(state, model=model, losses=losses):
            with mg.no_grad():
                losses.append(mse(model(Xt), yt).item())

        histories[name] = fit(model, mse, X, y, epochs=epochs, seed=seed, progress=False,
                              callbacks=[full_loss], **kwargs)
        full_losses[name] = losses
        theta = np.concatenate([model.weight.numpy()[0], model.bias.numpy()])
        distances[name] = float(np.linalg.norm(theta - theta_star))

    names = list(runs)
    print(f"least squares: N={n}, d={d}; minimum J(w*) = {best:.6f}; "
          f"batch GD uses ε = 1/λ_max = {1 / lam_max:.3f}\n")
    print("full training loss J(w) after each epoch")
    print("epoch | " + " | ".join(f"{k:>12}" for k in names))
    for e in range(epochs):
        print(f"{e + 1:>5} | " + " | ".join(f"{full_losses[k][e]:>12.6f}" for k in names))
    print()
    print(f"{'method':>9} | steps/epoch | {'s/epoch':>9} | ‖θ - θ*‖")
    for k in names:
        h = histories[k]
        steps = len(h.steps) // h.epochs
        print(f"{k:>9} | {steps:>11} | {np.mean(h.epoch_time):>9.4f} | {distances[k]:.2e}")
    return histories


if __name__ == "__main__":
    main()
