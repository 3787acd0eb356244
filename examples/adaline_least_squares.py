"""ADALINE: least squares in closed form, by gradient descent, and with ridge.

Slide "ADALINE": ∇J(w) = 0 gives the normal equations XXᵀw = Xy (samples as columns; in
code, with rows as samples and Φ = [1 | X], ΦᵀΦ w = Φᵀy). Gradient descent on
J(w) = 1/N Σ (yᵢ − wᵀxᵢ)² reaches the same w. When XXᵀ is singular (e.g. a duplicated
feature) there are infinitely many solutions; ridge, (XXᵀ + αI)w = Xy, picks one.

Run it:  python examples/adaline_least_squares.py
"""

from __future__ import annotations

import numpy as np

from microgradlin import functional as F
from microgradlin.datasets import make_housing
from microgradlin.models import Adaline, LinearRegression
from microgradlin.train import fit


def main():
    rooms, price = make_housing(n=100, seed=0)  # price = 50·rooms + 30 + noise
    closed = LinearRegression().fit_closed_form(rooms, price)
    print(f"closed form:      w = [bias, slope] = {np.round(closed.w, 3).tolist()}")

    gd = LinearRegression(n_features=1, seed=0)
    history = fit(gd, F.mse_loss, rooms, price, method="batch", lr=0.03, epochs=1500,
                  progress=False)
    print(f"gradient descent: w = {np.round(gd.w, 3).tolist()} after 1500 epochs "
          f"(J = {history.epoch_loss[-1]:.3f}, R² = {gd.score(rooms, price):.4f})")
    print(f"|w_GD - w_closed| = {np.linalg.norm(gd.w - closed.w):.2e}")

    twice = np.column_stack([rooms, rooms])  # two identical features: XXᵀ is singular
    try:
        LinearRegression().fit_closed_form(twice, price)
    except np.linalg.LinAlgError as exc:
        print(f"alpha=0 on collinear features: LinAlgError ({str(exc)[:60]}...)")
    for alpha in (0.1, 10.0):
        ridge = LinearRegression().fit_closed_form(twice, price, alpha=alpha)
        print(f"ridge alpha={alpha:>4}: w = {np.round(ridge.w, 3).tolist()}")

    # ADALINE proper: the same least squares on labels ±1, classifying by sign(wᵀx)
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y_and = np.array([-1, -1, -1, 1])
    adaline = Adaline().fit_closed_form(X, y_and)
    print(f"ADALINE on AND: w = {np.round(adaline.w, 3).tolist()}, predictions "
          f"{adaline.predict(X).tolist()}, accuracy {adaline.score(X, y_and):.2f}")


if __name__ == "__main__":
    main()
