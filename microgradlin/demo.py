"""``microgradlin demo``: train a tiny linear regression with the engine, in plain sight."""

from __future__ import annotations

import json
import os

import numpy as np

import microgradlin as mg


def run_demo(out="mg-demo", epochs=200, seed=0, lr=0.1, verbose=True) -> int:
    """Fit y = w·x + b by batch gradient descent on the mean squared error.

    Prints the loss falling and the learned weights next to the true ones, and writes
    ``results.json`` (loss per step, learned and true parameters) into ``out``.
    """
    rng = np.random.default_rng(seed)
    true_w = np.array([2.0, -3.0, 0.5])
    true_b = 1.0
    X = rng.standard_normal((200, 3))
    y = X @ true_w + true_b + 0.1 * rng.standard_normal(200)

    w = mg.zeros(3, requires_grad=True, name="w")
    b = mg.zeros((), requires_grad=True, name="b")
    X_t, y_t = mg.tensor(X, name="X"), mg.tensor(y, name="y")
    losses = []
    for step in range(epochs):
        residual = X_t @ w + b - y_t
        loss = (residual * residual).mean()  # J(w) = 1/N Σ (wᵀx_i + b - y_i)²
        loss.backward()
        with mg.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad = None
        b.grad = None
        losses.append(loss.item())
        if verbose and (step % max(1, epochs // 10) == 0 or step == epochs - 1):
            print(f"step {step:4d}   loss {losses[-1]:.6f}")
    if verbose:
        print(f"learned w = {np.round(w.numpy(), 3).tolist()}, b = {b.item():.3f}")
        print(f"true    w = {true_w.tolist()}, b = {true_b}")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "results.json")
    with open(path + ".tmp", "w") as fh:
        json.dump({"loss": losses, "w": w.numpy().tolist(), "b": b.item(),
                   "true_w": true_w.tolist(), "true_b": true_b}, fh, indent=1)
    os.replace(path + ".tmp", path)
    if verbose:
        print(f"wrote {path}")
    return 0
