"""How close can a Python tape engine get to hand-written NumPy? (informational, no target)

    python benchmarks/floor.py              # sizes 32x10 and 512x100
    python benchmarks/floor.py --quick

The logistic step of ``run.py`` (z = X@w + b, mean BCE-with-logits, backward, SGD) timed
three ways in one run, interleaved: hand-written NumPy, microgradlin, and a *minimal tape*:
the same NumPy formulas as microgradlin's fused ops, recorded as three bare nodes and walked
backward by a ten-line loop. The minimal tape is a floor, not an engine: it has no version
counters, no shape or dtype checks, no broadcasting rules beyond this step's ``+ b``, no
hooks, no ``create_graph``, no error messages. What microgradlin costs above it is the price
of those features in interpreter time; what it costs above NumPy is that plus the floor.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads its BLAS, as in run.py

import argparse  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from run import interleaved_medians, logistic_contenders, logistic_inner  # noqa: E402


class _Value:
    """A minimal tape's tensor: data, the node that made it, its gradient."""

    __slots__ = ("data", "node", "grad")

    def __init__(self, data, node=None):
        self.data, self.node, self.grad = data, node, None


class _Node:
    """A minimal tape's node: which rule, the input values, what the rule needs."""

    __slots__ = ("rule", "inputs", "saved")

    def __init__(self, rule, inputs, saved):
        self.rule, self.inputs, self.saved = rule, inputs, saved


def _matvec(X, w):  # z = X w (X constant)
    return _Value(X.data @ w.data, _Node("matvec", (X, w), X.data))


def _add_scalar(z, b):  # z + b with a 0-d b
    return _Value(z.data + b.data, _Node("add_scalar", (z, b), None))


def _bce_mean(z, y):  # mean softplus(z) - z y, as microgradlin's fused op computes it
    zd = z.data
    sp = np.maximum(zd, 0) + np.log1p(np.exp(-np.abs(zd)))
    loss = np.asarray((sp - zd * y.data).sum() / zd.size)
    return _Value(loss, _Node("bce_mean", (z, y), (zd, y.data, sp)))


def _backward(loss):
    """Reverse walk of a chain of nodes (this step's graph is one)."""
    stack = [(loss, np.ones(()))]
    while stack:
        value, g = stack.pop()
        node = value.node
        if node is None:  # a leaf
            value.grad = g
            continue
        a, b = node.inputs
        if node.rule == "bce_mean":  # dL/dz = (σ(z) - y) / n
            zd, yd, sp = node.saved
            stack.append((a, (np.exp(zd - sp) - yd) * (g / zd.size)))
        elif node.rule == "add_scalar":  # dL/dz = g, dL/db = Σ g
            stack.append((a, g))
            stack.append((b, g.sum()))
        else:  # matvec: dL/dw = Xᵀ g
            stack.append((b, node.saved.T @ g))
        node.saved = None


def minimal_tape_contender(n, d, lr=0.1):
    rng = np.random.default_rng(0)  # the same data as run.logistic_contenders
    X = rng.standard_normal((n, d))
    y = (rng.random(n) > 0.5).astype(np.float64)
    X_v, y_v = _Value(X), _Value(y)
    w, b = _Value(np.zeros(d)), _Value(np.zeros(()))

    def step():
        loss = _bce_mean(_add_scalar(_matvec(X_v, w), b), y_v)
        w.grad = b.grad = None
        _backward(loss)
        w.data -= lr * w.grad
        b.data -= lr * b.grad
        return float(loss.data)

    return step


def check_minimal_tape_agrees(n=64, d=5, steps=5):
    """The floor must compute the same step: compare losses with hand-written NumPy."""
    reference = logistic_contenders(n, d)["numpy"]
    minimal = minimal_tape_contender(n, d)
    ref = [float(reference()) for _ in range(steps)]
    got = [minimal() for _ in range(steps)]
    if not np.allclose(ref, got, rtol=1e-10, atol=1e-12):
        raise SystemExit(f"minimal tape mismatch: numpy {ref} vs minimal tape {got}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else 15
    check_minimal_tape_agrees()
    print("| logistic step | microgradlin / numpy | minimal tape / numpy |")
    print("|---|---|---|")
    for n, d in ((32, 10), (512, 100)):
        contenders = logistic_contenders(n, d)
        contenders["minimal tape"] = minimal_tape_contender(n, d)
        med = interleaved_medians(contenders, rounds, logistic_inner(n, d, args.quick))
        print(f"| {n}x{d} | {med['microgradlin'] / med['numpy']:.2f}x | "
              f"{med['minimal tape'] / med['numpy']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
