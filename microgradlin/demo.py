"""``microgradlin demo``: the lecture on linear networks, in pictures, in a few seconds.

:func:`run_demo` runs the lecture's models one after the other and writes into ``out``:

- ``index.html``: every picture with one line of explanation, sections in the lecture's
  order (open it in a browser; links are relative, nothing is fetched from the network);
- ``*.png``: the figures (matplotlib);
- ``*.svg``: computation graphs drawn by Graphviz's ``dot`` (``*.dot`` text instead, with a
  note, when ``dot`` is not installed) and, in ``backward/``, the backward pass of a small
  graph one step at a time;
- ``results.json``: the numbers printed along the way.

Sections (``sections=`` runs a subset): ``engine`` (a graph and its backward pass),
``perceptron`` (convergence on separable data, Novikoff's bound), ``adaline`` (closed form
vs gradient descent, ridge), ``gd`` (batch vs stochastic vs minibatch), ``logistic`` (breast
cancer; why not ℓ2 on a sigmoid), ``softmax`` (iris), ``stable`` (naive vs stable softmax
cross-entropy) and ``xor`` (the perceptron fails, a feature map fixes it).
"""

from __future__ import annotations

import html
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import microgradlin as mg

from . import functional as F
from . import viz

__all__ = ["run_demo", "SECTIONS"]

# section key -> (title, the slides it follows)
SECTIONS = {
    "engine": ("The engine: a computation graph and its backward pass",
               "What is a neural network? (a directed graph of computational units)"),
    "perceptron": ("The perceptron converges on separable data",
                   "The Perceptron, eq. 1–7; Convergence theorem"),
    "adaline": ("ADALINE: the closed form and gradient descent agree",
                "ADALINE; Algorithm 1 (gradient descent)"),
    "gd": ("Batch, stochastic and minibatch gradient descent",
           "Gradient descent: batch GD, SGD, minibatch GD; Robbins–Monro step sizes"),
    "logistic": ("Logistic regression on real data (breast cancer)",
                 "Linear classification recap; Binary classification; Should we use ℓ2 as "
                 "a loss?"),
    "softmax": ("Softmax regression on real data (iris)", "Multi-class classification"),
    "stable": ("Softmax vs. cross-entropy: the numerically stable way",
               "Softmax vs. CE loss – numerical stability issues"),
    "xor": ("Limits of linear classification: XOR", "Limitations of linear classification"),
}


@dataclass
class _Item:
    """One picture (or DOT text) in index.html, with its one-line explanation."""

    path: str  # relative to the output folder
    caption: str


@dataclass
class _Section:
    key: str
    items: list = field(default_factory=list)
    frames: list = field(default_factory=list)  # (path, caption) of the backward pass
    results: list = field(default_factory=list)  # lines of text
    numbers: dict = field(default_factory=dict)  # for results.json


class _Context:
    """Where files go, how to draw them, and what happened (missing tools)."""

    def __init__(self, out: Path, seed: int, verbose: bool):
        self.out = out
        self.seed = seed
        self.verbose = verbose
        self.missing = {}  # tool -> note for index.html
        try:
            from matplotlib.figure import Figure
        except ImportError:
            Figure = None
            self.missing["matplotlib"] = (
                "matplotlib is not installed, so the figures were skipped: "
                "pip install 'microgradlin[plot]' and run the demo again.")
        self._Figure = Figure
        self.can_plot = Figure is not None

    def say(self, text=""):
        if self.verbose:
            print(text, flush=True)

    # ---------------------------------------------------------------- figures
    def figure(self, ncols=1, width=5.2, height=4.2):
        """(figure, list of axes), or (None, None) without matplotlib."""
        if self._Figure is None:
            return None, None
        fig = self._Figure(figsize=(width * ncols, height), layout="constrained")
        axes = fig.subplots(1, ncols, squeeze=False)[0]
        return fig, list(axes)

    def save(self, fig, name, section, caption):
        if fig is None:
            return
        fig.savefig(self.out / name, dpi=100)
        section.items.append(_Item(name, caption))

    # ---------------------------------------------------------------- graphs
    def graph(self, tensor, name, section, caption, **kwargs):
        """``name.svg`` via dot, or ``name.dot`` (DOT text) when Graphviz is missing."""
        try:
            viz.draw(tensor, self.out / f"{name}.svg", **kwargs)
            path = f"{name}.svg"
        except viz.GraphvizNotFound as exc:
            self._no_graphviz(exc)
            (self.out / f"{name}.dot").write_text(viz.to_dot(tensor, **kwargs),
                                                  encoding="utf-8")
            path = f"{name}.dot"
        section.items.append(_Item(path, caption))

    def frames(self, trace, folder, section, **kwargs):
        """One picture per backward step under ``folder`` (DOT text without Graphviz)."""
        target = self.out / folder
        target.mkdir(exist_ok=True)
        try:
            paths = trace.render_frames(target, format="svg", **kwargs)
        except viz.GraphvizNotFound as exc:
            self._no_graphviz(exc)
            paths = []
            for i, text in enumerate(trace.to_dot_frames(**kwargs), start=1):
                path = target / f"step_{i:03d}.dot"
                path.write_text(text, encoding="utf-8")
                paths.append(str(path))
        for path, event in zip(paths, trace.events):
            rel = Path(path).relative_to(self.out).as_posix()
            section.frames.append((rel, f"step {event.step}: {event.op} — {event.rule}"))

    def _no_graphviz(self, exc):
        self.missing.setdefault("dot", (
            f"Graphviz could not draw the graphs ({' '.join(str(exc).split())}). They are "
            "written as DOT text (.dot files, shown below as text): paste one into any "
            "Graphviz viewer, or install Graphviz and run the demo again."))


# ============================================================================ sections
def _engine(ctx, sec):
    """A one-neuron least-squares loss: its graph, and its backward pass step by step."""
    x = mg.tensor([[1.0, 2.0], [3.0, -1.0]], name="x")  # two samples, two features
    y = mg.tensor([1.0, 0.0], name="y")
    w = mg.tensor([0.5, -0.25], requires_grad=True, name="w")
    b = mg.tensor(0.1, requires_grad=True, name="b")
    loss = ((x @ w + b - y) ** 2).mean()  # J = 1/N Σ (wᵀx_i + b - y_i)²
    trace = viz.trace_backward(loss, names={"w": w, "b": b})
    names = {"w": w, "b": b, "x": x, "y": y}
    ctx.graph(loss, "engine_graph", sec,
              "The graph recorded by J = mean((x @ w + b − y)²): parameters in blue, ops in "
              "grey, the data (dashed) only where an op kept it for its backward.",
              names=names, show_constants=True,
              title="J(w, b) = mean((x @ w + b - y)^2)")
    ctx.frames(trace, "backward", sec, show_constants=False)
    (ctx.out / "backward.txt").write_text(str(trace) + "\n", encoding="utf-8")
    loss.backward()
    residual = x.numpy() @ w.numpy() + b.item() - y.numpy()
    by_hand = 2 / 2 * x.numpy().T @ residual  # ∇_w J = 2/N Xᵀ(Xw + b - y)
    assert np.allclose(w.grad.numpy(), by_hand)
    sec.results += [
        f"J = {loss.item():.4f}; the backward pass ran {len(trace)} ops "
        f"({', '.join(e.op for e in trace.events)}), in topological order from the output.",
        f"∇_w J = {np.round(w.grad.numpy(), 4).tolist()} = 2/N Xᵀ(Xw + b − y), as by hand; "
        f"∂J/∂b = {b.grad.item():.4f}: b was broadcast over 2 samples, so the engine summed "
        "its gradient back (un-broadcasting).",
        "backward.txt has the same pass as a table: incoming gradient and local rule per op.",
    ]
    sec.numbers.update(loss=loss.item(), grad_w=w.grad.numpy().tolist(), grad_b=b.grad.item())


def _perceptron(ctx, sec):
    from .datasets import make_blobs_separable
    from .models import Perceptron
    from .plot import perceptron_line

    X, y, w_star, b_star = make_blobs_separable(n=60, d=2, margin=0.05, seed=ctx.seed)
    p = Perceptron().fit(X, y, epochs=100)  # w_0 = 0, eq. 6, samples in order
    phi = np.column_stack([np.ones(len(X)), X])
    u = np.concatenate([[b_star], w_star])
    u /= np.linalg.norm(u)  # a unit-norm separator in feature space [1, x]
    gamma = float((y * (phi @ u)).min())
    radius = float(np.linalg.norm(phi, axis=1).max())
    bound = (radius / gamma) ** 2
    ctx.say(f"  perceptron: converged={p.converged} after {p.n_mistakes} mistakes "
            f"(Novikoff bound (R/γ)² = {bound:.0f}), mistakes per epoch {p.mistakes_per_epoch}")
    history = p.weight_history
    changed = np.flatnonzero(np.any(np.diff(history, axis=0) != 0, axis=1)) + 1
    shown = min(5, len(changed))
    early = history[changed[shown - 1]]
    fig, axes = ctx.figure(ncols=3, width=4.6)
    if fig is not None:
        perceptron_line(early, X, y, ax=axes[0], title=f"after {shown} updates (eq. 6)")
        perceptron_line(p, X, y, ax=axes[1],
                        title=f"converged: {p.n_mistakes} mistakes in total")
        epochs = np.arange(1, len(p.mistakes_per_epoch) + 1)
        axes[2].bar(epochs, p.mistakes_per_epoch, color="tab:orange")
        axes[2].set_xlabel("epoch")
        axes[2].set_ylabel("mistakes (= updates)")
        axes[2].set_xticks(epochs)
        for e, m in zip(epochs, p.mistakes_per_epoch):
            axes[2].text(e, m, str(m), ha="center", va="bottom")
        axes[2].set_title(f"total {p.n_mistakes} ≤ (R/γ)² = {bound:.0f} (Novikoff)")
    ctx.save(fig, "perceptron.png", sec,
             "The rule w ← w + yᵢφ(xᵢ) turns the line until every point is on its side; "
             "the number of updates stays below Novikoff's bound (R/γ)².")
    sec.results += [
        f"Converged after {len(p.mistakes_per_epoch)} epochs and {p.n_mistakes} updates; "
        f"the convergence theorem's bound is (R/γ)² = ({radius:.2f}/{gamma:.3f})² = "
        f"{bound:.0f}.",
        f"Final w = {np.round(p.weight.numpy(), 3).tolist()} (w₀ is the bias), training "
        f"accuracy {p.score(X, y):.2f}.",
    ]
    sec.numbers.update(mistakes=p.n_mistakes, bound=bound, converged=p.converged,
                       mistakes_per_epoch=p.mistakes_per_epoch)


def _adaline(ctx, sec):
    from .datasets import make_housing
    from .models import LinearRegression
    from .plot import regression_fit
    from .train import fit

    rooms, price = make_housing(n=100, seed=ctx.seed)
    closed = LinearRegression().fit_closed_form(rooms, price)  # XXᵀw = Xy, by least squares
    j_star = float(np.mean((closed.predict(rooms) - price) ** 2))
    gd = LinearRegression(n_features=1, seed=ctx.seed)
    lr = 0.03  # below 2/λ_max of the Hessian 2/N ΦᵀΦ (about 0.038 here)
    history = fit(gd, F.mse_loss, rooms, price, method="batch", lr=lr, epochs=400,
                  progress=False)
    gap = np.asarray(history.epoch_loss) - j_star
    ctx.say(f"  adaline: closed form w = {np.round(closed.w, 3).tolist()}, gradient descent "
            f"w = {np.round(gd.w, 3).tolist()} after 400 epochs")
    # ridge on the singular case: a duplicated column makes XXᵀ singular
    twice = np.column_stack([rooms, rooms])
    try:
        LinearRegression().fit_closed_form(twice, price)
        singular = "no error (unexpected)"
    except np.linalg.LinAlgError:
        singular = "LinAlgError (XXᵀ singular: infinitely many solutions)"
    ridge = LinearRegression().fit_closed_form(twice, price, alpha=1.0)
    fig, axes = ctx.figure(ncols=2, width=5.0)
    if fig is not None:
        regression_fit(rooms, price, closed, ax=axes[0],
                       title="house price vs rooms: closed form (red), GD (dashed)")
        grid = np.linspace(rooms.min(), rooms.max(), 2)[:, None]
        axes[0].plot(grid[:, 0], gd.predict(grid), "k--", linewidth=1.5,
                     label="gradient descent")
        axes[0].legend(loc="upper left")
        axes[0].set_xlabel("rooms")
        axes[0].set_ylabel("price (thousands)")
        axes[1].semilogy(np.arange(1, gap.size + 1), np.maximum(gap, 1e-12))
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("J(w_t) − J(w*)")
        axes[1].set_title(f"batch GD, ε = {lr}: the gap to the closed form shrinks "
                          "geometrically", fontsize="medium")
        axes[1].grid(True, alpha=0.3)
    ctx.save(fig, "adaline.png", sec,
             "The normal equations XXᵀw = Xy give the least-squares line at once; gradient "
             "descent reaches the same line, its gap J(w_t) − J(w*) shrinking by a constant "
             "factor per step.")
    sec.results += [
        f"Closed form: w = {np.round(closed.w, 3).tolist()} (true line: price = 50·rooms + "
        f"30); minimum J(w*) = {j_star:.2f}.",
        f"Gradient descent (ε = {lr}, 400 epochs): w = {np.round(gd.w, 3).tolist()}, "
        f"J − J* = {gap[-1]:.2g}.",
        f"With a duplicated column, alpha = 0 gives {singular}; ridge (α = 1) gives "
        f"w = {np.round(ridge.w, 3).tolist()} (the slope split over the two copies).",
    ]
    sec.numbers.update(closed_w=closed.w.tolist(), gd_w=gd.w.tolist(), j_star=j_star,
                       final_gap=float(gap[-1]))


def _gd_variants(ctx, sec):
    from .datasets import make_regression
    from .models import LinearRegression
    from .optim import InverseTime
    from .plot import loss_curves
    from .train import fit

    n, d, epochs = 400, 5, 10
    X, y, _, _ = make_regression(n=n, d=d, noise=0.5, seed=ctx.seed)
    X = X * np.array([1.0, 0.8, 0.5, 0.3, 0.2])  # features of different scales
    A = np.column_stack([X, np.ones(n)])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    j_star = float(np.mean((A @ theta - y) ** 2))
    eig = np.linalg.eigvalsh(2 / n * A.T @ A)  # the Hessian of J is 2/N AᵀA
    runs = {
        "batch GD, ε = 1/λ_max": dict(method="batch", lr=1.0 / eig.max()),
        "SGD, ε_t = 0.05/(1 + t/N)": dict(method="sgd", schedule=InverseTime(0.05, tau=n)),
        "minibatch M = 32, ε_t = 0.3/(1 + t/60)": dict(
            method="minibatch", batch_size=32, schedule=InverseTime(0.3, tau=60)),
    }
    gaps, finals = {}, {}
    for label, kwargs in runs.items():
        model = LinearRegression(n_features=d, seed=ctx.seed)  # the same start for all three
        losses = [model.loss(X, y).item() - j_star]

        def full_loss(state, model=model, losses=losses):
            with mg.no_grad():  # the full J(w) - J(w*), whatever the method saw
                losses.append(model.loss(X, y).item() - j_star)

        h = fit(model, F.mse_loss, X, y, epochs=epochs, seed=ctx.seed, progress=False,
                callbacks=[full_loss], **kwargs)
        gaps[label] = {"steps": list(range(len(losses))), "loss": losses,
                       "epoch_loss": losses, "wall_time": [0.0, *h.wall_time]}
        finals[label] = (losses[-1], len(h.steps) // max(1, h.epochs))
    fig, axes = ctx.figure(ncols=2, width=5.4)
    if fig is not None:
        loss_curves({k: {"steps": v["steps"], "loss": v["loss"]} for k, v in gaps.items()},
                    x="step", ax=axes[0], title="per epoch (one pass over the data)")
        loss_curves({k: {"epoch_loss": v["epoch_loss"], "wall_time": v["wall_time"]}
                     for k, v in gaps.items()}, x="time", ax=axes[1],
                    title="per second of computing")
        axes[0].set_xlabel("epoch (0 = the common start)")
        for ax in axes:
            ax.set_ylabel("J(w) − J(w*)")
        fig.suptitle(f"least squares, N = {n}, d = {d}: three ways to estimate ∇J")
    ctx.save(fig, "gd_variants.png", sec,
             "Per epoch, SGD (N steps) and minibatch GD (N/M steps) get much closer to the "
             "minimum than batch GD (1 step); per second, minibatches use the vectorised "
             "hardware best.")
    for label, (final, steps) in finals.items():
        sec.results.append(f"{label}: {steps} steps per epoch, J − J* = {final:.2g} after "
                           f"{epochs} epochs.")
        ctx.say(f"  gd: {label:<38} J - J* = {final:.2g} after {epochs} epochs")
    sec.results.append(f"Minimum J(w*) = {j_star:.4f}; the Hessian's eigenvalues range from "
                       f"{eig.min():.3f} to {eig.max():.3f}, so batch GD needs about "
                       f"λ_max/λ_min = {eig.max() / eig.min():.0f} steps per e-fold.")
    sec.numbers.update(j_star=j_star, final_gap={k: v[0] for k, v in finals.items()})


def _split_standardize(X, y, seed, stratify=True):
    from .data import Standardizer, train_test_split

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, seed=seed, stratify=y if stratify else None)
    scaler = Standardizer().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _train_with_curves(model, loss_fn, train, test, epochs, lr, seed):
    """Batch GD; full train/test loss and accuracy after every epoch (epoch 0 included)."""
    from .train import fit

    rows = []

    def record(state=None):
        with mg.no_grad():
            rows.append((loss_fn(model(train[0]), train[1]).item(),
                         loss_fn(model(test[0]), test[1]).item(),
                         model.score(*train), model.score(*test)))

    record()
    fit(model, loss_fn, train[0], train[1], method="batch", lr=lr, epochs=epochs, seed=seed,
        progress=False, callbacks=[record])
    return np.array(rows)


def _loss_panel(ax, rows, title):
    epochs = np.arange(len(rows))
    ax.plot(epochs, rows[:, 0], label="train loss")
    ax.plot(epochs, rows[:, 1], label="test loss")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.grid(True, alpha=0.3)
    ax.set_title(title, fontsize="medium")
    twin = ax.twinx()
    twin.plot(epochs, rows[:, 3], color="tab:green", linestyle="--", label="test accuracy")
    twin.set_ylabel("test accuracy")
    twin.set_ylim(0, 1.02)
    lines = ax.get_lines() + twin.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="center right")


def _logistic(ctx, sec):
    from .datasets import load_breast_cancer
    from .models import LogisticRegression

    ds = load_breast_cancer()
    X_train, X_test, y_train, y_test = _split_standardize(ds.X, ds.y, ctx.seed)
    model = LogisticRegression(n_features=X_train.shape[1], seed=ctx.seed)
    rows = _train_with_curves(model, F.binary_cross_entropy_with_logits,
                              (X_train, y_train), (X_test, y_test), epochs=150, lr=0.5,
                              seed=ctx.seed)
    ctx.say(f"  logistic: breast cancer, test accuracy {rows[-1, 3]:.3f} "
            f"(loss {rows[0, 0]:.3f} → {rows[-1, 0]:.3f})")
    # "Should we use ℓ2 as a loss?": the gradient w.r.t. the logit z for y = 1, by autodiff
    z = mg.tensor(np.linspace(-10, 10, 201), requires_grad=True)
    ones = np.ones(201)
    (g_ce,) = mg.grad(F.binary_cross_entropy_with_logits(z, ones, reduction="sum"), [z])
    (g_l2,) = mg.grad((0.5 * (mg.sigmoid(z) - 1.0) ** 2).sum(), [z])
    fig, axes = ctx.figure(ncols=2, width=5.2)
    if fig is not None:
        _loss_panel(axes[0], rows, f"{X_train.shape[0]} training / {X_test.shape[0]} test "
                                   f"samples, {X_train.shape[1]} features")
        zs = z.numpy()
        axes[1].plot(zs, np.abs(g_ce.numpy()), label="cross-entropy: |σ(z) − y|")
        axes[1].plot(zs, np.abs(g_l2.numpy()), label="ℓ2 on σ: |(σ − y)σ(1 − σ)|")
        axes[1].axvspan(-10, -4, color="tab:red", alpha=0.08)
        axes[1].text(-9.6, 0.55, "strongly\nmisclassified", color="tab:red")
        axes[1].set_xlabel("logit z = wᵀx for a sample with y = 1")
        axes[1].set_ylabel("|∂L/∂z| (autodiff)")
        axes[1].set_title("why not ℓ2: its gradient vanishes where the error is largest",
                          fontsize="medium")
        axes[1].legend(loc="upper right")
        axes[1].grid(True, alpha=0.3)
    ctx.save(fig, "logistic.png", sec,
             "Left: logistic regression on breast cancer, loss falling and held-out accuracy "
             "rising. Right: the cross-entropy's gradient grows with the error; ℓ2 on a "
             "sigmoid's vanishes for a confidently wrong sample.")
    sec.results += [
        f"Held-out accuracy {rows[-1, 3]:.3f} after 150 epochs of batch GD (ε = 0.5) on "
        f"standardised features; training loss {rows[0, 0]:.3f} → {rows[-1, 0]:.3f}.",
        f"At z = −10 (y = 1): cross-entropy gradient {abs(g_ce.numpy()[0]):.4f}, ℓ2-on-sigmoid "
        f"gradient {abs(g_l2.numpy()[0]):.2e}.",
    ]
    sec.numbers.update(test_accuracy=float(rows[-1, 3]), train_loss=float(rows[-1, 0]))


def _softmax(ctx, sec):
    from .datasets import load_iris
    from .models import SoftmaxRegression
    from .plot import decision_boundary

    ds = load_iris()
    X_train, X_test, y_train, y_test = _split_standardize(ds.X, ds.y, ctx.seed)
    model = SoftmaxRegression(n_features=4, n_classes=3, seed=ctx.seed)
    rows = _train_with_curves(model, F.cross_entropy, (X_train, y_train), (X_test, y_test),
                              epochs=200, lr=0.5, seed=ctx.seed)
    petals = [ds.feature_names.index(n) for n in ds.feature_names if "petal" in n]
    flat = SoftmaxRegression(n_features=2, n_classes=3, seed=ctx.seed)
    _train_with_curves(flat, F.cross_entropy, (X_train[:, petals], y_train),
                       (X_test[:, petals], y_test), epochs=200, lr=0.5, seed=ctx.seed)
    ctx.say(f"  softmax: iris, test accuracy {rows[-1, 3]:.3f} with 4 features, "
            f"{flat.score(X_test[:, petals], y_test):.3f} with the 2 petal features")
    fig, axes = ctx.figure(ncols=2, width=5.4)
    if fig is not None:
        _loss_panel(axes[0], rows, "all 4 features: loss and held-out accuracy")
        decision_boundary(flat, X_train[:, petals], y_train, ax=axes[1], resolution=150,
                          title="2 petal features: regions of argmax softmax")
        axes[1].set_xlabel("petal length (standardised)")
        axes[1].set_ylabel("petal width (standardised)")
        handles, _ = axes[1].get_legend_handles_labels()
        axes[1].legend(handles, list(ds.target_names), loc="upper left", fontsize="small")
    ctx.save(fig, "softmax.png", sec,
             "Softmax regression: one weight vector per class; the class regions are "
             "convex and meet along straight lines (a linear classifier).")
    loss = F.cross_entropy(model(X_train[:3]), y_train[:3])
    ctx.graph(loss, "softmax_graph", sec,
              "The graph of the softmax regression loss on 3 samples: a Linear layer "
              "(MatMul, Add) feeding the fused, stable cross-entropy.",
              names=model, title="SoftmaxRegression: cross-entropy on 3 samples")
    sec.results += [
        f"Held-out accuracy {rows[-1, 3]:.3f} with all 4 features, "
        f"{flat.score(X_test[:, petals], y_test):.3f} with the 2 petal features.",
        f"Training cross-entropy {rows[0, 0]:.3f} → {rows[-1, 0]:.3f} (ln 3 = 1.099 is "
        "guessing).",
    ]
    sec.numbers.update(test_accuracy=float(rows[-1, 3]))


def _stable(ctx, sec):
    # how far the true class's logit is below the other one (dense where things break)
    gaps = np.unique(np.concatenate([np.logspace(0, 4, 61), np.arange(690.0, 760.0, 1.0)]))
    target = np.array([1])
    fused, composed, naive = [], [], []
    with np.errstate(all="ignore"):
        for gap in gaps:
            z = mg.tensor([[gap, 0.0]])  # the true class (1) is `gap` below the max
            fused.append(F.cross_entropy(z, target).item())
            composed.append(F.cross_entropy_composed(z, target).item())
            e = mg.exp(z)  # the naive softmax: no shift by the max
            naive.append(-mg.log(e[:, 1] / e.sum(axis=1)).item())
        z = mg.tensor([[1e4, -1e4]], requires_grad=True)
        stable_loss = F.cross_entropy(z, np.array([1]))
        stable_loss.backward()
        e = mg.exp(z.detach())
        naive_p = (e / e.sum()).numpy()
    fused, composed, naive = map(np.array, (fused, composed, naive))

    def breaks(values):
        bad = ~np.isfinite(values)
        return float(gaps[bad][0]) if bad.any() else None

    br_naive, br_composed = breaks(naive), breaks(composed)
    fig, axes = ctx.figure(ncols=1, width=7.0, height=4.4)
    if fig is not None:
        ax = axes[0]
        ax.loglog(gaps, fused, linewidth=3, alpha=0.5,
                  label="fused cross_entropy (log-sum-exp)")
        ax.loglog(gaps, np.where(np.isfinite(composed), composed, np.nan), "--",
                  label="softmax (shifted) → log → NLL")
        ax.loglog(gaps, np.where(np.isfinite(naive), naive, np.nan), ":", linewidth=2,
                  label="naive softmax (no shift) → log")
        for where, name, height in ((br_naive, "naive: exp(g) overflows", 1.5),
                                    (br_composed, "composed: softmax → 0, log 0", 8.0)):
            if where is not None:
                ax.axvline(where, color="gray", linewidth=0.8)
                ax.text(where * 1.08, height, f"{name}\n(not finite from {where:.0f})",
                        fontsize="small")
        ax.set_xlabel("how far the true class's logit is below the largest (g′ − g_y)")
        ax.set_ylabel("cross-entropy loss")
        ax.set_title("log softmax = g − g′ − log Σ exp(g − g′) never overflows",
                     fontsize="medium")
        ax.legend(loc="upper left")
        ax.grid(True, alpha=0.3)
    ctx.save(fig, "stable_softmax.png", sec,
             "The same loss three ways: only the fused log-sum-exp form stays finite when the "
             "logits are large (the lecture's g′ = max_j g_j shift).")
    ctx.say(f"  stable: naive breaks at a gap of {br_naive:.0f}, composed at {br_composed:.0f},"
            f" fused at ±1e4 gives loss {stable_loss.item():.1f}")
    sec.results += [
        f"The naive softmax overflows (exp(g) = inf, nan loss) once the gap exceeds "
        f"{br_naive:.0f}; the composed softmax → log gives inf beyond {br_composed:.0f} "
        "(softmax underflows to 0, log 0 = −inf).",
        f"Logits ±1e4: naive softmax = {naive_p.tolist()}; fused cross-entropy = "
        f"{stable_loss.item():.1f} with gradient {z.grad.numpy().tolist()} (finite).",
    ]
    sec.numbers.update(naive_breaks=br_naive, composed_breaks=br_composed,
                       fused_at_1e4=stable_loss.item())


def _xor(ctx, sec):
    from .datasets import make_xor
    from .models import FunctionFeatures, Perceptron
    from .plot import decision_boundary, perceptron_line

    X, y = make_xor(n=80, noise=0.15, seed=ctx.seed)
    raw = Perceptron().fit(X, y, epochs=15)
    product = FunctionFeatures(lambda A: A[:, 0] * A[:, 1], name="x1*x2")
    mapped = Perceptron(feature_map=product).fit(X, y, epochs=15)
    ctx.say(f"  xor: raw perceptron converged={raw.converged} (accuracy "
            f"{raw.score(X, y):.2f}); with φ(x) = x₁x₂ converged={mapped.converged} after "
            f"{mapped.n_mistakes} mistakes")
    fig, axes = ctx.figure(ncols=3, width=4.6)
    if fig is not None:
        perceptron_line(raw, X, y, ax=axes[0],
                        title=f"raw x: no line works (accuracy {raw.score(X, y):.2f})")
        decision_boundary(mapped, X, y, ax=axes[1], resolution=150,
                          title="φ(x) = x₁x₂: separable, converged")
        e1 = np.arange(1, len(raw.mistakes_per_epoch) + 1)
        e2 = np.arange(1, len(mapped.mistakes_per_epoch) + 1)
        axes[2].plot(e1, raw.mistakes_per_epoch, "o-", label="raw features (never 0)")
        axes[2].plot(e2, mapped.mistakes_per_epoch, "s-", label="with φ(x) = x₁x₂")
        axes[2].set_xlabel("epoch")
        axes[2].xaxis.get_major_locator().set_params(integer=True)
        axes[2].set_ylabel("mistakes")
        axes[2].legend()
        axes[2].grid(True, alpha=0.3)
        axes[2].set_title("the convergence theorem, both ways", fontsize="medium")
    ctx.save(fig, "xor.png", sec,
             "XOR is not linearly separable, so the perceptron never stops making mistakes; "
             "in the fixed feature space φ(x) = x₁x₂ it is, and the rule converges.")
    sec.results += [
        f"Raw features: {sum(raw.mistakes_per_epoch)} mistakes in {len(raw.mistakes_per_epoch)}"
        f" epochs, never an epoch without one (converged = {raw.converged}).",
        f"With φ(x) = x₁x₂: converged after {mapped.n_mistakes} mistakes, accuracy "
        f"{mapped.score(X, y):.2f}. Can we learn such features? That is the next lecture.",
    ]
    sec.numbers.update(raw_converged=raw.converged, mapped_converged=mapped.converged,
                       mapped_mistakes=mapped.n_mistakes)


_RUNNERS = {"engine": _engine, "perceptron": _perceptron, "adaline": _adaline,
            "gd": _gd_variants, "logistic": _logistic, "softmax": _softmax,
            "stable": _stable, "xor": _xor}


# ============================================================================ index.html
_CSS = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
.slide { color: #666; font-style: italic; margin-top: -0.6rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #333; margin-top: 0.3rem; }
.frames { display: flex; flex-wrap: wrap; gap: 0.8rem; }
.frames figure { flex: 1 1 14rem; max-width: 24rem; }
.note { background: #fff6db; border: 1px solid #e8d48b; padding: 0.6rem 0.8rem; }
pre { background: #f6f6f6; padding: 0.5rem; overflow-x: auto; font-size: 0.8rem;
      max-height: 20rem; }
code { background: #f3f3f3; padding: 0 0.2rem; }
"""


def _picture(out: Path, path: str, caption: str) -> str:
    cap = html.escape(caption)
    if path.endswith(".dot"):
        text = html.escape((out / path).read_text(encoding="utf-8"))
        return (f'<figure><figcaption>{cap}</figcaption><p>DOT text: '
                f'<a href="{html.escape(path)}">{html.escape(path)}</a> (Graphviz was not '
                f'available to draw it)</p><details><summary>show the DOT text</summary>'
                f'<pre>{text}</pre></details></figure>')
    return (f'<figure><img src="{html.escape(path)}" alt="{cap}" loading="lazy">'
            f'<figcaption>{cap}</figcaption></figure>')


def _write_index(out: Path, sections, seconds, missing) -> None:
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>microgradlin demo: linear networks</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Linear networks, in pictures</h1>",
        "<p>Made by <code>microgradlin demo</code> in "
        f"{seconds:.1f} s. Each section follows slides of the lecture <em>Linear "
        "Networks</em>; the code behind every picture is in "
        "<code>microgradlin/demo.py</code>, and <code>examples/</code> has one short script "
        "per topic. The slide typos and the corrected formulas are listed in "
        "<code>docs/lecture-notes.md</code>.</p>",
    ]
    for note in missing.values():
        parts.append(f'<p class="note">{html.escape(note)}</p>')
    parts.append("<ol>" + "".join(
        f'<li><a href="#{s.key}">{html.escape(SECTIONS[s.key][0])}</a></li>'
        for s in sections) + "</ol>")
    for s in sections:
        title, slides = SECTIONS[s.key]
        parts.append(f'<h2 id="{s.key}">{html.escape(title)}</h2>')
        parts.append(f'<p class="slide">Slides: {html.escape(slides)}</p>')
        for item in s.items:
            parts.append(_picture(out, item.path, item.caption))
        if s.frames:
            parts.append("<p>The backward pass of this graph, one op at a time (red: the op "
                         "whose backward runs; blue edges: gradients already sent; "
                         "<a href=\"backward.txt\">backward.txt</a> as a table):</p>")
            parts.append('<div class="frames">' + "".join(
                _picture(out, path, caption) for path, caption in s.frames) + "</div>")
        if s.results:
            parts.append("<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in s.results)
                         + "</ul>")
    parts.append("</body></html>")
    tmp = out / ".index.html.tmp"
    tmp.write_text("\n".join(parts) + "\n", encoding="utf-8")
    os.replace(tmp, out / "index.html")


# ============================================================================ run
def run_demo(out="mg-demo", seed=0, verbose=True, sections=None) -> int:
    """Run the lecture tour and write the figures, graphs and ``index.html`` into ``out``.

    ``sections``: a list of keys of :data:`SECTIONS` (default: all, in the lecture's
    order). Files of earlier runs with the same names are replaced; nothing else in ``out``
    is touched. Without matplotlib the figures are skipped, without Graphviz's ``dot`` the
    graphs are written as DOT text; ``index.html`` says so. Returns 0.
    """
    keys = list(SECTIONS) if sections is None else list(sections)
    unknown = [k for k in keys if k not in SECTIONS]
    if unknown:
        raise ValueError(f"run_demo: unknown section(s) {unknown}; choose from "
                         f"{list(SECTIONS)}")
    keys = [k for k in SECTIONS if k in keys]  # always the lecture's order
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"run_demo: {str(out)!r} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    ctx = _Context(out, seed, verbose)
    ctx.say(f"microgradlin demo: the lecture on linear networks -> {out}{os.sep}index.html")
    started = time.perf_counter()
    done = []
    for key in keys:
        ctx.say(f"[{len(done) + 1}/{len(keys)}] {SECTIONS[key][0]}")
        section = _Section(key)
        t0 = time.perf_counter()
        _RUNNERS[key](ctx, section)
        section.numbers["seconds"] = time.perf_counter() - t0
        done.append(section)
    seconds = time.perf_counter() - started
    _write_index(out, done, seconds, ctx.missing)
    results = {s.key: {"results": s.results, **s.numbers} for s in done}
    results["seconds"] = seconds
    results["missing"] = ctx.missing
    (out / "results.json").write_text(json.dumps(results, indent=1, default=_plain) + "\n",
                                      encoding="utf-8")
    for note in ctx.missing.values():
        ctx.say(f"note: {note}")
    ctx.say(f"done in {seconds:.1f} s: open {out / 'index.html'} in a browser")
    return 0


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
