"""The same training code on an NVIDIA GPU (CuPy) or, without one, on the CPU.

Only ``device`` changes: the model's parameters are created there, ``fit`` moves each batch
there, and every op runs with that device's array library. Prints which device it used.

Run it:  python examples/gpu_training.py
"""

from __future__ import annotations

import time

import numpy as np

import microgradlin as mg
from microgradlin import functional as F
from microgradlin.models import LogisticRegression
from microgradlin.train import fit


def main():
    device = "cuda" if mg.cuda.is_available() else "cpu"
    print(f"training on {device}" + ("" if device == "cuda" else
                                     " (no CUDA GPU with CuPy found; the code is the same)"))
    rng = np.random.default_rng(0)
    n, d = 20_000, 32
    X = rng.standard_normal((n, d)).astype(np.float32)
    w_true = rng.standard_normal(d).astype(np.float32)
    y = (X @ w_true + 0.5 * rng.standard_normal(n) > 0).astype(np.float32)

    model = LogisticRegression(n_features=d, seed=0, dtype=np.float32, device=device)
    start = time.perf_counter()
    history = fit(model, F.binary_cross_entropy_with_logits, X, y, method="minibatch",
                  batch_size=512, lr=0.5, epochs=5, seed=0, progress=False)
    seconds = time.perf_counter() - start
    print(f"{history.epochs} epochs, {len(history.steps)} steps in {seconds:.2f} s; "
          f"parameters: {model.linear.weight.dtype} on {model.linear.weight.device}")
    # evaluation data must live where the model lives
    accuracy = model.score(mg.backend.to_device(X, device), mg.backend.to_device(y, device))
    print(f"loss {history.epoch_loss[0]:.4f} -> {history.epoch_loss[-1]:.4f}, "
          f"training accuracy {accuracy:.3f}")
    assert accuracy > 0.85


if __name__ == "__main__":
    main()
