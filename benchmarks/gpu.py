"""GPU speed: microgradlin on CuPy against hand-written CuPy and PyTorch eager, one run.

    python benchmarks/gpu.py [--quick] [--markdown PATH]

float32. Each contender runs its step ``inner`` times between two device synchronisations;
rounds are interleaved and the median reported, in microseconds per step and as ratios.
Needs CuPy and a GPU; PyTorch (CUDA build) is optional.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import microgradlin as mg  # noqa: E402
from microgradlin import functional as F  # noqa: E402

LOGISTIC_SIZES = [(32, 10), (512, 100), (8192, 512), (65536, 1024)]


def timed(contenders, rounds, inner, sync):
    for fn in contenders.values():
        for _ in range(3):
            fn()
    sync()
    samples = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            sync()
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            sync()
            samples[name].append((time.perf_counter() - start) / inner * 1e6)
    return {k: statistics.median(v) for k, v in samples.items()}


def logistic(cp, torch, n, d, lr=0.1):
    rng = np.random.default_rng(0)
    X = cp.asarray(rng.standard_normal((n, d)).astype(np.float32))
    y = cp.asarray((rng.random(n) > 0.5).astype(np.float32))
    w, b = cp.zeros(d, dtype=cp.float32), cp.zeros((), dtype=cp.float32)

    def cupy_step():
        z = X @ w + b
        loss = cp.mean(cp.maximum(z, 0) - z * y + cp.log1p(cp.exp(-cp.abs(z))))
        g = (1 / (1 + cp.exp(-z)) - y) / n
        w[...] -= lr * (X.T @ g)
        b[...] -= lr * g.sum()
        return loss

    Xt, yt = mg.tensor(X), mg.tensor(y)
    wt = mg.zeros(d, dtype=np.float32, requires_grad=True, device="cuda")
    bt = mg.zeros((), dtype=np.float32, requires_grad=True, device="cuda")
    from microgradlin.optim import SGD

    opt = SGD([wt, bt], lr=lr)

    def mg_step():
        loss = F.binary_cross_entropy_with_logits(Xt @ wt + bt, yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    contenders = {"cupy": cupy_step, "microgradlin": mg_step}
    if torch is not None:
        Xp = torch.as_tensor(X, device="cuda")
        yp = torch.as_tensor(y, device="cuda")
        wp = torch.zeros(d, device="cuda", requires_grad=True)
        bp = torch.zeros((), device="cuda", requires_grad=True)
        topt = torch.optim.SGD([wp, bp], lr=lr)

        def torch_step():
            loss = torch.nn.functional.binary_cross_entropy_with_logits(Xp @ wp + bp, yp)
            topt.zero_grad()
            loss.backward()
            topt.step()
            return loss

        contenders["torch"] = torch_step
    return contenders


def full_batch(cp, n=1_000_000, d=256, lr=0.01):
    rng = np.random.default_rng(0)
    X = cp.asarray(rng.standard_normal((n, d), dtype=np.float32))
    y = cp.asarray(rng.standard_normal(n, dtype=np.float32))
    w = cp.zeros(d, dtype=cp.float32)

    def cupy_step():
        r = X @ w - y
        loss = (r * r).mean()
        w[...] -= lr * (2.0 / n) * (X.T @ r)
        return loss

    Xt, yt = mg.tensor(X), mg.tensor(y)
    wt = mg.zeros(d, dtype=np.float32, requires_grad=True, device="cuda")
    from microgradlin.optim import SGD

    opt = SGD([wt], lr=lr)

    def mg_step():
        r = Xt @ wt - yt
        loss = (r * r).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return {"cupy": cupy_step, "microgradlin": mg_step}


def elementwise_chain(cp, torch, length=60):
    """Per-op overhead: a chain of elementwise ops on a (10,) float32 tensor, forward and
    backward (microgradlin, PyTorch) against CuPy's forward alone, per op."""
    x = cp.asarray(np.linspace(-1.0, 1.0, 10, dtype=np.float32))

    def cupy_forward():
        v = x
        for _ in range(length // 6):
            v = cp.exp(cp.tanh(v * 0.9 + 0.1))
            v = 1 / (1 + cp.exp(-v)) - 0.5
        return v

    def autodiff_chain(leaf):
        v = leaf
        for _ in range(length // 6):
            v = (v * 0.9 + 0.1).tanh().exp().sigmoid() - 0.5
        v.sum().backward()
        leaf.grad = None
        return v

    xt = mg.tensor(x, requires_grad=True)
    contenders = {"cupy": cupy_forward, "microgradlin": lambda: autodiff_chain(xt)}
    if torch is not None:
        xp_ = torch.as_tensor(x, device="cuda").requires_grad_()
        contenders["torch"] = lambda: autodiff_chain(xp_)
    return contenders


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", metavar="PATH")
    args = parser.parse_args(argv)
    import cupy as cp

    try:
        import torch

        if not torch.cuda.is_available():
            torch = None
    except ImportError:
        torch = None

    def sync():
        cp.cuda.get_current_stream().synchronize()
        if torch is not None:
            torch.cuda.synchronize()

    rounds = 5 if args.quick else 11
    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    lines = [f"GPU: {name}, CuPy {cp.__version__}"
             + (f", PyTorch {torch.__version__}" if torch is not None else ", no PyTorch")
             + f", float32, µs per step, median of {rounds} interleaved rounds", "",
             "| benchmark | cupy | microgradlin | torch | mg / torch | mg / cupy |",
             "|---|---|---|---|---|---|"]
    for n, d in LOGISTIC_SIZES:
        med = timed(logistic(cp, torch, n, d), rounds, 50 if args.quick else 200, sync)
        t = med.get("torch", float("nan"))
        lines.append(f"| logistic step {n}x{d} | {med['cupy']:.0f} | {med['microgradlin']:.0f}"
                     f" | {t:.0f} | {med['microgradlin'] / t:.2f} | "
                     f"{med['microgradlin'] / med['cupy']:.2f} |")
        print(lines[-1], flush=True)
    med = timed(full_batch(cp), rounds, 10 if args.quick else 30, sync)
    lines.append(f"| full-batch linear GD 1000000x256 | {med['cupy']:.0f} | "
                 f"{med['microgradlin']:.0f} | - | - | {med['microgradlin'] / med['cupy']:.2f} |")
    chain = 60
    med = timed(elementwise_chain(cp, torch, chain), rounds, 20 if args.quick else 100, sync)
    per_op = {k: v / chain for k, v in med.items()}
    t = per_op.get("torch", float("nan"))
    lines.append(f"| elementwise chain (10,), µs per op: fwd+bwd; cupy fwd only | "
                 f"{per_op['cupy']:.1f} | {per_op['microgradlin']:.1f} | {t:.1f} | "
                 f"{per_op['microgradlin'] / t:.2f} | - |")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
