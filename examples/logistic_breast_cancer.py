"""Logistic regression on the Wisconsin breast-cancer data, with a held-out test set.

Slides "Linear classification – Recap" and "Binary classification": P(y=1|x) = σ(wᵀx + b),
trained by minimising the mean cross-entropy, whose gradient is ∇_w J = −1/N Σ (yᵢ − ŷᵢ)xᵢ
(the prediction error times the input). The script checks that formula against autodiff,
then trains by minibatch gradient descent and reports the held-out accuracy.

Run it:  python examples/logistic_breast_cancer.py
"""

from __future__ import annotations

import numpy as np

from microgradlin import functional as F
from microgradlin.data import Standardizer, train_test_split
from microgradlin.datasets import load_breast_cancer
from microgradlin.models import LogisticRegression
from microgradlin.train import fit


def main():
    ds = load_breast_cancer()
    X_train, X_test, y_train, y_test = train_test_split(ds.X, ds.y, test_size=0.2, seed=0,
                                                        stratify=ds.y)
    scaler = Standardizer().fit(X_train)  # statistics of the training split only
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    model = LogisticRegression(n_features=X_train.shape[1], seed=0)

    # the slide's gradient, -1/N Σ (y_i - ŷ_i) x_i, against autodiff
    loss = model.loss(X_train, y_train)
    loss.backward()
    y_hat = model.predict_proba(X_train)
    by_hand = -((y_train - y_hat) @ X_train) / len(y_train)
    print(f"max |autodiff - formula| for ∇_w J: "
          f"{np.abs(model.linear.weight.grad.numpy()[0] - by_hand).max():.2e}")
    model.zero_grad()

    history = fit(model, F.binary_cross_entropy_with_logits, X_train, y_train,
                  method="minibatch", batch_size=32, lr=0.1, epochs=30, seed=0,
                  progress=False)
    print(f"{len(X_train)} training / {len(X_test)} test samples, {X_train.shape[1]} features")
    print(f"training loss: {history.epoch_loss[0]:.4f} (epoch 1) -> "
          f"{history.epoch_loss[-1]:.4f} (epoch {history.epochs})")
    accuracy = model.score(X_test, y_test)
    print(f"held-out test accuracy: {accuracy:.3f}")
    assert accuracy > 0.93


if __name__ == "__main__":
    main()
