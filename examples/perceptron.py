"""The perceptron (Rosenblatt, 1958) and its convergence theorem.

On linearly separable data the rule w ← w + yᵢφ(xᵢ) (eq. 6) stops after finitely many
mistakes, at most (R/γ)² by Novikoff's bound, with R = maxᵢ‖φ(xᵢ)‖ and γ the margin of a
unit-norm separator. The delta rule w ← w + ½(yᵢ − ŷᵢ)φ(xᵢ) (eq. 7) is the same rule.

Run it:  python examples/perceptron.py [--out DIR]   (--out also saves a picture)
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from microgradlin.datasets import make_blobs_separable
from microgradlin.models import Perceptron


def main(out=None):
    X, y, w_star, b_star = make_blobs_separable(n=100, d=2, margin=0.1, seed=1)
    p = Perceptron().fit(X, y, epochs=100)  # w₀ = 0, samples in order, eq. 6
    delta = Perceptron().fit(X, y, epochs=100, rule="delta")  # eq. 7

    phi = np.column_stack([np.ones(len(X)), X])  # φ(x) = [1, x]: w[0] is the bias
    u = np.concatenate([[b_star], w_star])
    u /= np.linalg.norm(u)  # a unit-norm separator in feature space
    gamma = (y * (phi @ u)).min()
    radius = np.linalg.norm(phi, axis=1).max()
    bound = (radius / gamma) ** 2

    print(f"mistakes per epoch: {p.mistakes_per_epoch}")
    print(f"converged after {p.n_mistakes} mistakes <= Novikoff bound (R/γ)² = "
          f"({radius:.2f}/{gamma:.4f})² = {bound:.0f}")
    print(f"w = {np.round(p.weight.numpy(), 4).tolist()}, training accuracy "
          f"{p.score(X, y):.2f}")
    same = np.array_equal(p.weight.numpy(), delta.weight.numpy())
    print(f"eq. 6 and the delta rule (eq. 7) give identical weights: {same}")
    assert p.converged and p.n_mistakes <= bound and same
    if out:
        from microgradlin.plot import perceptron_line

        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, "perceptron.png")
        perceptron_line(p, X, y, path=path)
        print(f"wrote {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the picture (optional)")
    main(parser.parse_args().out)
