"""XOR: a linear classifier fails on the raw inputs and succeeds on fixed features.

Slide "Limitations of linear classification": perceptrons and logistic regression separate
classes with a hyperplane in a *predefined, fixed* feature space. XOR is not linearly
separable in (x₁, x₂), so the perceptron never converges; with φ(x) = (x₁, x₂, x₁², x₁x₂, x₂²)
(degree-2 monomials) the product x₁x₂ separates it.

Run it:  python examples/xor_feature_map.py [--out DIR]   (--out also saves a picture)
"""

from __future__ import annotations

import argparse
import os

from microgradlin import functional as F
from microgradlin.datasets import make_xor
from microgradlin.models import LogisticRegression, Perceptron, PolynomialFeatures
from microgradlin.train import fit


def main(out=None):
    X, y = make_xor(n=200, noise=0.2, seed=0)  # labels ±1
    raw = Perceptron().fit(X, y, epochs=20)
    print(f"raw inputs:        converged={raw.converged}, mistakes per epoch "
          f"{raw.mistakes_per_epoch[:8]}..., accuracy {raw.score(X, y):.2f}")

    poly = PolynomialFeatures(degree=2)
    print(f"feature map φ(x) = {poly.feature_names(['x1', 'x2'])}")
    mapped = Perceptron(feature_map=poly).fit(X, y, epochs=20)
    print(f"perceptron on φ(x): converged={mapped.converged} after {mapped.n_mistakes} "
          f"mistakes, accuracy {mapped.score(X, y):.2f}")

    y01 = (y + 1) // 2  # logistic regression wants labels 0/1
    logistic = LogisticRegression(n_features=5, feature_map=poly, seed=0)
    fit(logistic, F.binary_cross_entropy_with_logits, X, y01, method="batch", lr=0.5,
        epochs=200, progress=False)
    print(f"logistic regression on φ(x): accuracy {logistic.score(X, y01):.2f}")
    assert not raw.converged and mapped.converged
    if out:
        from microgradlin.plot import decision_boundary

        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, "xor.png")
        decision_boundary(mapped, X, y, path=path, title="perceptron on φ(x) = monomials")
        print(f"wrote {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the picture (optional)")
    main(parser.parse_args().out)
