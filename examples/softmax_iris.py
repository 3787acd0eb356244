"""Softmax regression on Fisher's iris flowers: three classes, one weight vector each.

Slide "Multi-class classification": P(y=c|x) = softmax(Wx + b)_c, trained on the mean
cross-entropy J(W) = −1/N Σ log P(yᵢ|xᵢ), whose gradient is (P − Y)ᵀX/N (one-hot Y,
rows as samples). The script checks that formula, trains, and prints a confusion matrix.

Run it:  python examples/softmax_iris.py
"""

from __future__ import annotations

import numpy as np

from microgradlin import functional as F
from microgradlin.data import Standardizer, train_test_split
from microgradlin.datasets import load_iris
from microgradlin.models import SoftmaxRegression
from microgradlin.train import fit


def main():
    ds = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(ds.X, ds.y, test_size=0.3, seed=1,
                                                        stratify=ds.y)
    scaler = Standardizer().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    model = SoftmaxRegression(n_features=4, n_classes=3, seed=0)

    model.loss(X_train, y_train).backward()
    P = model.predict_proba(X_train)
    Y = np.eye(3)[y_train]
    by_hand = (P - Y).T @ X_train / len(X_train)  # ∇_W J = (P - Y)ᵀX / N
    print(f"max |autodiff - (P - Y)ᵀX/N|: "
          f"{np.abs(model.linear.weight.grad.numpy() - by_hand).max():.2e}")
    model.zero_grad()

    fit(model, F.cross_entropy, X_train, y_train, method="batch", lr=0.5, epochs=300,
        progress=False)
    pred = model.predict(X_test)
    accuracy = float((pred == y_test).mean())
    print(f"held-out accuracy on {len(y_test)} flowers: {accuracy:.3f}")
    confusion = np.zeros((3, 3), dtype=int)
    np.add.at(confusion, (y_test, pred), 1)
    width = max(len(n) for n in ds.target_names)
    print("confusion matrix (rows: true class, columns: predicted):")
    for name, row in zip(ds.target_names, confusion):
        print(f"  {name:>{width}}  " + " ".join(f"{v:3d}" for v in row))
    assert accuracy > 0.85


if __name__ == "__main__":
    main()
