"""microgradlin speed, as ratios against hand-written NumPy measured in the same run.

    python benchmarks/run.py            # CPU table (add --torch to include PyTorch eager)
    python benchmarks/run.py --quick    # fewer repeats
    python benchmarks/run.py --chains   # also chains of one op each (no target)

Method: one BLAS thread, float64, contenders interleaved round by round (so machine noise
hits all of them alike), the median of the rounds reported. Ratios, not absolute times, are
the result: these machines are shared and noisy.

Benchmarks
----------
logistic step   z = X@w + b, BCE-with-logits (mean), backward, SGD update.
                Reference: the same step by hand in NumPy (loss value and analytic gradient).
elementwise     a chain of elementwise ops on a (10,)-shaped tensor, forward + backward,
                per op, against NumPy's forward-only time per op.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads its BLAS

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import microgradlin as mg  # noqa: E402
from microgradlin import functional as F  # noqa: E402

TARGETS_LOGISTIC = {(32, 10): 2.0, (512, 100): 1.3, (8192, 512): 1.1}
TARGET_ELEMENTWISE = 5.0


def interleaved_medians(contenders: dict, rounds: int, inner: int) -> dict:
    """Median seconds per call of each contender, timed in alternating rounds."""
    for fn in contenders.values():  # warm up (allocators, caches, first-call costs)
        for _ in range(max(1, inner // 4)):
            fn()
    samples = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - start) / inner)
    return {name: statistics.median(s) for name, s in samples.items()}


# ----------------------------------------------------------------------------- logistic
def logistic_inner(n, d, quick=False):
    """Steps per timed round of the logistic benchmark: about the same time at every size."""
    inner = max(3, int(20000 / (1 + n * d / 2000)))
    return max(2, inner // 4) if quick else inner


def logistic_contenders(n, d, lr=0.1, with_torch=False, aligned_numpy=False, classic=False):
    """The step three ways. NumPy works on arrays as NumPy allocates them (16-byte aligned);
    microgradlin's tensors are copies on 64-byte boundaries (``backend.aligned``).
    ``aligned_numpy=True`` gives NumPy such copies too: the ratio then shows the engine's
    bookkeeping alone, without the faster BLAS reads. ``classic=True`` updates microgradlin's
    parameters as PyTorch's classic loop does (``with no_grad(): w -= lr * w.grad``) instead
    of with ``optim.SGD``."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = (rng.random(n) > 0.5).astype(np.float64)

    state = {"w": np.zeros(d), "b": np.zeros(())}
    if aligned_numpy:
        X, y, state["w"] = (mg.backend.aligned(a.copy()) for a in (X, y, state["w"]))

    def numpy_step():
        w, b = state["w"], state["b"]
        z = X @ w + b
        loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
        p = 1.0 / (1.0 + np.exp(-z))
        g = (p - y) / n  # dL/dz for the mean BCE
        w -= lr * (X.T @ g)
        b -= lr * g.sum()
        return loss

    X_t, y_t = mg.tensor(X), mg.tensor(y)
    w_t = mg.zeros(d, requires_grad=True)
    b_t = mg.zeros((), requires_grad=True)
    try:
        from microgradlin.optim import SGD

        opt = SGD([w_t, b_t], lr=lr)
    except ImportError:  # pragma: no cover - before the optim module existed
        opt = None

    def mg_classic_step():
        nonlocal w_t, b_t  # (-= returns the same tensor)
        loss = F.binary_cross_entropy_with_logits(X_t @ w_t + b_t, y_t)
        loss.backward()
        with mg.no_grad():
            w_t -= lr * w_t.grad
            b_t -= lr * b_t.grad
        w_t.grad = None
        b_t.grad = None
        return loss

    def mg_step():
        loss = F.binary_cross_entropy_with_logits(X_t @ w_t + b_t, y_t)
        if opt is not None:
            opt.zero_grad()
            loss.backward()
            opt.step()
        else:
            w_t.grad = b_t.grad = None
            loss.backward()
            w_t.data -= lr * w_t.grad.data
            b_t.data -= lr * b_t.grad.data
        return loss

    contenders = {"numpy": numpy_step, "microgradlin": mg_classic_step if classic else mg_step}
    if with_torch:
        import torch

        torch.set_num_threads(1)
        Xp, yp = torch.tensor(X), torch.tensor(y)
        wp = torch.zeros(d, dtype=torch.float64, requires_grad=True)
        bp = torch.zeros((), dtype=torch.float64, requires_grad=True)
        topt = torch.optim.SGD([wp, bp], lr=lr)

        def torch_step():
            loss = torch.nn.functional.binary_cross_entropy_with_logits(Xp @ wp + bp, yp)
            topt.zero_grad()
            loss.backward()
            topt.step()
            return loss

        contenders["torch"] = torch_step
    return contenders


def check_logistic_agree(n=64, d=5, steps=5):
    """The contenders must compute the same thing: compare losses over a few steps."""
    for classic in (False, True):
        contenders = logistic_contenders(n, d, with_torch=False, classic=classic)
        ref = [float(contenders["numpy"]()) for _ in range(steps)]
        got = [float(contenders["microgradlin"]().item()) for _ in range(steps)]
        if not np.allclose(ref, got, rtol=1e-10, atol=1e-12):
            raise SystemExit(f"logistic step mismatch (classic={classic}): numpy {ref} vs "
                             f"microgradlin {got}")


# ----------------------------------------------------------------------------- elementwise
CHAIN = ("mul", "add", "tanh", "exp", "sigmoid", "sub")  # one of each, repeated


def elementwise_contenders(length=60, with_torch=False):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10) * 0.1

    def numpy_forward():
        v = x
        for _ in range(length // len(CHAIN)):
            v = v * 0.9
            v = v + 0.1
            v = np.tanh(v)
            v = np.exp(v)
            v = 1.0 / (1.0 + np.exp(-v))
            v = v - 0.5
        return v

    def autodiff_chain(v):
        """The same chain on a microgradlin or a PyTorch tensor, forward then backward."""
        leaf = v
        for _ in range(length // len(CHAIN)):
            v = v * 0.9
            v = v + 0.1
            v = v.tanh()
            v = v.exp()
            v = v.sigmoid()
            v = v - 0.5
        v.sum().backward()
        leaf.grad = None
        return v

    x_t = mg.tensor(x, requires_grad=True)

    def mg_forward_backward():
        return autodiff_chain(x_t)

    contenders = {"numpy": numpy_forward, "microgradlin": mg_forward_backward}
    if with_torch:
        import torch

        xp_ = torch.tensor(x, requires_grad=True)

        def torch_forward_backward():
            return autodiff_chain(xp_)

        contenders["torch"] = torch_forward_backward
    return contenders


# ----------------------------------------------------------------------------- one-op chains
# Informational (no target): the chain's ratio depends on its ops. Each pair is the same op
# on a microgradlin tensor and on a NumPy array; w joins every step in the last one.
ONE_OP_CHAINS = {
    "x * 1.01": (lambda v, w: v * 1.01, lambda v, w: v * 1.01),
    "x + 0.01": (lambda v, w: v + 0.01, lambda v, w: v + 0.01),
    "tanh(x)": (lambda v, w: v.tanh(), lambda v, w: np.tanh(v)),
    "sigmoid(x)": (lambda v, w: v.sigmoid(), lambda v, w: 1.0 / (1.0 + np.exp(-v))),
    "sqrt(x)": (lambda v, w: v.sqrt(), lambda v, w: np.sqrt(v)),
    "x * w (w requires grad)": (lambda v, w: v * w, lambda v, w: v * w),
}


def one_op_chain_ratios(rounds, length=30):
    x = np.random.default_rng(0).random(10) + 0.5
    w = np.full(10, 1.001)
    x_t, w_t = mg.tensor(x, requires_grad=True), mg.tensor(w, requires_grad=True)
    ratios = {}
    for name, (mg_op, np_op) in ONE_OP_CHAINS.items():
        def numpy_forward(np_op=np_op):
            v = x
            for _ in range(length):
                v = np_op(v, w)
            return v

        def mg_forward_backward(mg_op=mg_op):
            v = x_t
            for _ in range(length):
                v = mg_op(v, w_t)
            v.sum().backward()
            x_t.grad = w_t.grad = None

        med = interleaved_medians({"numpy": numpy_forward, "microgradlin": mg_forward_backward},
                                  rounds, 20)
        ratios[name] = med["microgradlin"] / med["numpy"]
    return ratios


# ----------------------------------------------------------------------------- report
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--torch", action="store_true", help="include PyTorch eager")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--markdown", metavar="PATH", help="also write the table here")
    parser.add_argument("--chains", action="store_true",
                        help="also time chains of one op each (informational, no target)")
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else 15

    check_logistic_agree()
    lines = [
        f"microgradlin {mg.__version__} on {platform.machine()}, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, one BLAS thread, float64, "
        f"median of {rounds} interleaved rounds",
        "",
        "| benchmark | target | microgradlin / numpy" + (" | torch / numpy |" if args.torch
                                                         else " |"),
        "|---|---|---" + ("|---|" if args.torch else "|"),
    ]
    ok = True
    for (n, d), target in TARGETS_LOGISTIC.items():
        med = interleaved_medians(logistic_contenders(n, d, with_torch=args.torch), rounds,
                                  logistic_inner(n, d, args.quick))
        ratio = med["microgradlin"] / med["numpy"]
        ok &= ratio <= target
        row = f"| logistic step {n}x{d} | <= {target}x | {ratio:.2f}x"
        row += f" | {med['torch'] / med['numpy']:.2f}x |" if args.torch else " |"
        lines.append(row)
    # informational: NumPy on 64-byte-aligned arrays too, so only bookkeeping differs
    n, d = 512, 100
    med = interleaved_medians(logistic_contenders(n, d, aligned_numpy=True), rounds,
                              logistic_inner(n, d, args.quick))
    lines.append(f"| logistic step {n}x{d}, NumPy on 64-byte-aligned arrays too "
                 f"(informational) | - | {med['microgradlin'] / med['numpy']:.2f}x"
                 + (" | |" if args.torch else " |"))
    # informational: PyTorch's classic loop instead of optim.SGD
    med = interleaved_medians(logistic_contenders(n, d, classic=True), rounds,
                              logistic_inner(n, d, args.quick))
    lines.append(f"| logistic step {n}x{d}, updated by `with no_grad(): w -= lr * w.grad` "
                 f"(informational) | - | {med['microgradlin'] / med['numpy']:.2f}x"
                 + (" | |" if args.torch else " |"))
    length = 60
    med = interleaved_medians(elementwise_contenders(length, with_torch=args.torch), rounds,
                              300 if not args.quick else 60)
    ratio = med["microgradlin"] / med["numpy"]
    ok &= ratio <= TARGET_ELEMENTWISE
    row = (f"| elementwise chain, (10,), fwd+bwd per op vs numpy fwd per op | "
           f"<= {TARGET_ELEMENTWISE}x | {ratio:.2f}x")
    row += f" | {med['torch'] / med['numpy']:.2f}x |" if args.torch else " |"
    lines.append(row)
    lines.append("")
    lines.append("all targets met" if ok else "some targets NOT met (see rows above)")
    if args.chains:
        lines += ["", "| chain of one op, (10,), fwd+bwd per op vs numpy fwd per op | "
                      "microgradlin / numpy |", "|---|---|"]
        for name, ratio in one_op_chain_ratios(rounds).items():
            lines.append(f"| {name} | {ratio:.2f}x |")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
