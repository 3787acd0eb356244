"""Training plots: loss curves, decision boundaries, the perceptron's line, regression fits.

Needs matplotlib (``pip install microgradlin[plot]``), imported only when a function runs.

Every function returns a :class:`matplotlib.figure.Figure` and saves it to ``path`` when
given (``.png``, ``.svg`` or ``.pdf``, from the extension). Figures are built with
matplotlib's object-oriented API (``Figure()``), never through ``pyplot``: nothing is
shown, no GUI backend is needed (headless, as with Agg), no global backend is switched
behind your back, and no figure is left open in pyplot's registry. In Jupyter the returned
figure displays inline once the inline backend is active (``%matplotlib inline`` or any
``import matplotlib.pyplot``). Pass ``ax=`` to draw into an axes of your own figure instead.

>>> from microgradlin import plot
>>> fig = plot.loss_curves({"batch": [1.0, 0.5, 0.25], "SGD": [1.0, 0.7, 0.2]})
>>> len(fig.axes[0].lines)
2
"""

from __future__ import annotations

import os

import numpy as np

from . import backend
from ._files import check_output_path
from .autograd import no_grad
from .tensor import Tensor

__all__ = [
    "loss_curves", "decision_boundary", "perceptron_line", "regression_fit",
    "predicted_labels", "MatplotlibNotFound",
]

_EXTENSIONS = (".png", ".svg", ".pdf")
_X_KINDS = ("step", "epoch", "time")
_HISTORY_KEYS = ("steps", "step_loss", "epoch_loss", "wall_time", "epoch_time")


class MatplotlibNotFound(RuntimeError):
    """matplotlib is not installed (the message says how to install it)."""


# ----------------------------------------------------------------------------- helpers
def _figure_class(where):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MatplotlibNotFound(
            f"{where} needs matplotlib: pip install microgradlin[plot] (or pip install "
            "matplotlib)"
        ) from None
    return Figure


def _check_path(where, path):
    if path is None:
        return None
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() not in _EXTENSIONS:
        raise ValueError(
            f"{where}: path {path!r} must end in .png, .svg or .pdf (the format is taken "
            "from the extension)"
        )
    check_output_path(where, path)
    return path


def _start(where, path, ax, figsize=(6.4, 4.8), ncols=1):
    """(figure, axes, path): ``ax``'s figure, or a new one with ``ncols`` panels (no pyplot).

    With ``ncols > 1`` the axes come back as a list.
    """
    path = _check_path(where, path)
    Figure = _figure_class(where)
    if ax is not None:
        return ax.figure, ax, path
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, (axes[0] if ncols == 1 else list(axes)), path


def _finish(fig, path):
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def _host(value, where, what):
    """A NumPy array from a Tensor, CuPy/NumPy array or nested list."""
    if isinstance(value, Tensor):
        value = value.data
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        value = backend.to_numpy(value)
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: {what} must be array-like ({exc})") from None


def _points(where, X, y):
    """Check 2-D points X (N, 2) and labels y (N,) (one-hot (N, K) becomes argmax)."""
    X = _host(X, where, "X").astype(np.float64)
    y = _host(y, where, "y")
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"{where}: X must have shape (N, 2) (two features, to draw a plane), got "
            f"{X.shape}"
        )
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)  # one-hot targets
    y = y.reshape(-1) if y.ndim == 2 else y
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"{where}: y must have one label per row of X, i.e. shape ({X.shape[0]},), got "
            f"{y.shape}"
        )
    return X, y


def _box(X, margin=0.1):
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 2.0)
    return lo - margin * span, hi + margin * span


def _evaluate(where, model, inputs):
    """``model.predict(inputs)`` or ``model(inputs)`` as a NumPy array, without a graph."""
    fn = model.predict if hasattr(model, "predict") else model
    if not callable(fn):
        raise TypeError(
            f"{where}: expected a callable (array (M, d) -> scores or labels) or an object "
            f"with predict(), got {type(model).__name__}"
        )
    with no_grad():
        out = fn(inputs)
    out = _host(out, where, "the model's output")
    if out.ndim == 0 or out.shape[0] != inputs.shape[0]:
        raise ValueError(
            f"{where}: the model returned shape {out.shape} for {inputs.shape[0]} points; "
            f"expected ({inputs.shape[0]},), ({inputs.shape[0]}, 1) or "
            f"({inputs.shape[0]}, K)"
        )
    return out


def _class_colors(n):
    from matplotlib import colormaps

    palette = colormaps["tab10"].colors
    return [palette[i % len(palette)] for i in range(n)]


def predicted_labels(scores, classes, threshold=None):
    """Labels from a model's output on many points (how regions are coloured).

    * booleans, or values that are all class labels (e.g. a perceptron's ±1): labels;
    * shape (M, K), K > 1 (softmax / one-vs-rest scores): the argmax column k is label k;
    * otherwise one score per point (logit, wᵀφ, or a probability): the larger class where
      score >= ``threshold``, else the smaller. ``threshold`` defaults to 0.5 when every
      score lies in [0, 1] (probabilities) and to 0 otherwise (logits, wᵀφ).
    """
    scores = np.asarray(scores)
    classes = np.asarray(classes)
    neg, pos = (classes[0], classes[-1]) if classes.size >= 2 else (0, 1)
    if scores.ndim == 2 and scores.shape[1] > 1:
        return scores.argmax(axis=1)
    scores = scores.reshape(-1)
    if scores.dtype.kind == "b":
        return np.where(scores, pos, neg)
    if classes.size and np.isin(scores, classes).all():
        return scores.astype(classes.dtype, copy=False)
    if threshold is None:
        threshold = 0.5 if ((scores >= 0) & (scores <= 1)).all() else 0.0
    return np.where(scores >= threshold, pos, neg)


# ----------------------------------------------------------------------------- loss curves
def _history_series(where, label, history) -> dict:
    """The loss series of one run: a list of losses, a dict, or an object (duck typing)."""
    series = {}
    if isinstance(history, dict):
        series = {k: history[k] for k in _HISTORY_KEYS if k in history}
        if "loss" in history and "step_loss" not in series:
            series["step_loss"] = history["loss"]
        if not series.keys() - {"steps"}:
            raise ValueError(
                f"{where}: run {label!r} is a dict without any of the keys "
                f"{_HISTORY_KEYS + ('loss',)}"
            )
    elif any(hasattr(history, k) for k in _HISTORY_KEYS[1:]):
        series = {k: getattr(history, k) for k in _HISTORY_KEYS
                  if getattr(history, k, None) is not None}
    else:
        series = {"plain": history}
    out = {}
    for k, v in series.items():
        arr = _host(v, where, f"{k} of run {label!r}")
        if arr.ndim == 0:
            continue  # e.g. a total time: not a curve
        out[k] = arr.astype(np.float64).reshape(-1)
    return out


def _curve(where, label, series, x):
    """(xs, ys, x-axis label) of one run for x = "step", "epoch" or "time"."""
    plain = series.get("plain")
    if x in ("step", "epoch"):
        ys = series.get(f"{x}_loss", plain)
        if ys is None:
            have = ", ".join(sorted(series)) or "nothing"
            raise ValueError(f"{where}: run {label!r} has no {x}_loss (it has {have})")
        steps = series.get("steps")
        if x == "step" and steps is not None and steps.size == ys.size:
            return steps, ys, x  # the logged step indices (every log_every-th step)
        return np.arange(1, ys.size + 1), ys, x
    # x == "time": the epoch losses against the seconds since the start of training
    ys, wall, durations = (series.get(k) for k in ("epoch_loss", "wall_time", "epoch_time"))
    if ys is not None and wall is not None and wall.size == ys.size:
        if np.any(np.diff(wall) < 0):
            raise ValueError(
                f"{where}: wall_time of run {label!r} decreases; expected the seconds since "
                "the start of training at the end of each epoch"
            )
        return wall, ys, "wall time (s)"
    if ys is not None and durations is not None and durations.size == ys.size:
        return np.cumsum(durations), ys, "wall time (s)"
    sizes = ", ".join(f"{k}: {v.size}" for k, v in series.items())
    raise ValueError(
        f"{where}: x='time' needs epoch_loss with wall_time (or epoch_time), one entry per "
        f"epoch; run {label!r} has {sizes}"
    )


def loss_curves(histories, x="step", path=None, log_y=True, title=None, ax=None):
    """Loss curves of one or several runs on one axis (e.g. batch vs SGD vs minibatch).

    Parameters
    ----------
    histories : dict label -> history, or a single history
        A history is a list/array of losses (plotted against 1, 2, ...), or a dict or an
        object (``microgradlin.train.History``) with some of ``steps`` and ``step_loss``
        (per logged step), ``epoch_loss``, ``wall_time`` (seconds since the start of
        training, at the end of each epoch) and ``epoch_time`` (seconds per epoch); in a
        dict, ``loss`` may stand for ``step_loss``.
    x : "step", "epoch", "time", or a tuple of them
        The horizontal axis: the step (``steps`` when given), the epoch, or the wall time
        (epoch losses against ``wall_time``, else against the running sum of
        ``epoch_time``). A tuple draws one panel per entry, side by side
        (``x=("epoch", "time")``).
    log_y : bool
        A log-scale loss axis (linear if some loss is <= 0).
    ax : matplotlib Axes, optional
        Draw there instead of a new figure (only with a single ``x``).
    """
    where = "loss_curves"
    kinds = (x,) if isinstance(x, str) else tuple(x)
    bad = [k for k in kinds if k not in _X_KINDS]
    if not kinds or bad:
        raise ValueError(f"{where}: x must be one of {_X_KINDS} or a tuple of them, got {x!r}")
    if ax is not None and len(kinds) > 1:
        raise ValueError(f"{where}: ax= draws one panel; pass a single x, not {x!r}")
    if not isinstance(histories, dict) or any(k in histories for k in _HISTORY_KEYS[1:]):
        histories = {"loss": histories}  # a single run
    if not histories:
        raise ValueError(f"{where}: no runs to plot")
    runs = {label: _history_series(where, label, h) for label, h in histories.items()}
    fig, axes, path = _start(where, path, ax, figsize=(6.4 * len(kinds), 4.8),
                             ncols=len(kinds))  # (MatplotlibNotFound without matplotlib)
    from matplotlib.ticker import MaxNLocator

    axes = axes if isinstance(axes, list) else [axes]
    colors = _class_colors(len(runs))
    for panel, kind in zip(axes, kinds):
        positive = True
        for (label, series), color in zip(runs.items(), colors):
            xs, ys, xlabel = _curve(where, label, series, kind)
            positive = positive and bool(np.all(ys[np.isfinite(ys)] > 0))
            panel.plot(xs, ys, label=str(label), color=color, linewidth=1.2,
                       marker="o" if ys.size <= 30 else None, markersize=3)
        panel.set_xlabel(xlabel)
        panel.set_ylabel("loss")
        if kind != "time":
            panel.xaxis.set_major_locator(MaxNLocator(integer=True))
        if log_y and positive:
            panel.set_yscale("log")
        panel.grid(True, alpha=0.3)
        if len(runs) > 1 or list(runs) != ["loss"]:
            panel.legend()
    if title:
        (axes[0].set_title if len(kinds) == 1 else fig.suptitle)(title)
    return _finish(fig, path)


# ----------------------------------------------------------------------------- classifiers
def decision_boundary(model_or_fn, X, y, path=None, resolution=200, ax=None, title=None,
                      threshold=None):
    """The regions a 2-D classifier assigns to each class, with the data points on top.

    ``model_or_fn`` maps an (M, 2) NumPy array to scores or labels: a function, a model
    (``Linear(2, 1)`` gives logits, ``Linear(2, K)`` class scores), or an object with
    ``predict``. Its output becomes labels by :func:`predicted_labels` (labels as they
    are; (M, K) by argmax; one score per point thresholded at ``threshold``). ``y`` holds
    the labels ((N,) or one-hot (N, K)); ``resolution`` is the grid size per axis.
    """
    where = "decision_boundary"
    X, y = _points(where, X, y)
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or \
            resolution < 2:
        raise ValueError(f"{where}: resolution must be an int >= 2, got {resolution!r}")
    fig, ax, path = _start(where, path, ax)
    lo, hi = _box(X)
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([g1.ravel(), g2.ravel()])
    classes = np.unique(y)
    labels = predicted_labels(_evaluate(where, model_or_fn, grid), classes, threshold)
    every = np.unique(np.concatenate([classes, np.unique(labels).astype(classes.dtype)]))
    colors = _class_colors(every.size)
    index = np.searchsorted(every, labels).reshape(g1.shape)
    levels = np.arange(every.size + 1) - 0.5
    ax.contourf(g1, g2, index, levels=levels, colors=colors, alpha=0.25)
    if every.size > 1:
        ax.contour(g1, g2, index, levels=levels[1:-1], colors="k", linewidths=1.0)
    for k, c in enumerate(every):
        mask = y == c
        if mask.any():
            ax.scatter(X[mask, 0], X[mask, 1], color=colors[k], edgecolors="k", s=25,
                       label=f"class {c}", gid=f"class {c}")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    if title:
        ax.set_title(title)
    return _finish(fig, path)


def perceptron_line(w, X, y, path=None, ax=None, title=None):
    """The perceptron's separating line w₀ + w₁x₁ + w₂x₂ = 0 and its normal (w₁, w₂).

    ``w = [w0 (bias), w1, w2]`` with φ₀ = 1 (lecture, eq. 1), or a model with such a
    ``weight`` (``microgradlin.models.Perceptron`` on two features): it says +1 where
    wᵀφ(x) >= 0. The normal arrow points into that half-plane (shaded); points the current
    ``w`` misclassifies are ringed in red. ``y`` is ±1 (or 0/1).
    """
    where = "perceptron_line"
    if hasattr(w, "weight"):
        w = w.weight
    w = _host(w, where, "w").astype(np.float64).reshape(-1)
    if w.shape != (3,):
        raise ValueError(
            f"{where}: w must have 3 entries [w0 (bias), w1, w2], got shape {w.shape}"
        )
    X, y = _points(where, X, y)
    fig, ax, path = _start(where, path, ax)
    lo, hi = _box(X, margin=0.15)
    w0, w1, w2 = w
    classes = set(np.unique(y).tolist())
    if classes <= {-1, 1}:
        neg, pos = -1, 1  # the lecture's labels
    elif classes <= {0, 1}:
        neg, pos = 0, 1
    else:
        raise ValueError(
            f"{where}: y must hold the labels -1 and +1 (or 0 and 1), got {sorted(classes)}"
        )
    score = w0 + X @ w[1:]
    predicted = np.where(score >= 0, pos, neg)  # g(wᵀφ) of eq. 2
    colors = {neg: "tab:blue", pos: "tab:orange"}
    # the +1 half-plane, lightly shaded
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    plus = (w0 + w1 * g1 + w2 * g2 >= 0).astype(float)
    ax.contourf(g1, g2, plus, levels=[-0.5, 0.5, 1.5], colors=[colors[neg], colors[pos]],
                alpha=0.12)
    for c in (neg, pos):
        mask = y == c
        if mask.any():
            ax.scatter(X[mask, 0], X[mask, 1], color=colors[c], edgecolors="k", s=25,
                       label=f"y = {c:+g}" if neg == -1 else f"y = {c}", gid=f"class {c}")
    wrong = predicted != y
    if wrong.any():
        ax.scatter(X[wrong, 0], X[wrong, 1], facecolors="none", edgecolors="red", s=110,
                   linewidths=1.5, label=f"misclassified ({int(wrong.sum())})",
                   gid="misclassified")
    norm2 = w1 * w1 + w2 * w2
    if norm2 == 0:
        side = "+1" if w0 >= 0 else "-1"
        ax.text(0.5, 0.5, f"w₁ = w₂ = 0: no separating line yet\n(every point is {side})",
                transform=ax.transAxes, ha="center", va="center", gid="no_line")
    else:
        if abs(w2) >= abs(w1):  # solve for x₂ (the better-conditioned way)
            x1 = np.linspace(lo[0], hi[0], 2)
            x2 = -(w0 + w1 * x1) / w2
        else:
            x2 = np.linspace(lo[1], hi[1], 2)
            x1 = -(w0 + w2 * x2) / w1
        ax.plot(x1, x2, color="k", linewidth=2, label="w₀ + w₁x₁ + w₂x₂ = 0",
                gid="separating_line")
        # the normal, from the point of the line nearest the centre of the picture
        centre = (lo + hi) / 2
        foot = centre - (w0 + w[1:] @ centre) * w[1:] / norm2
        step = 0.2 * float(np.min(hi - lo)) * w[1:] / np.sqrt(norm2)
        ax.annotate("", xy=tuple(foot + step), xytext=tuple(foot),
                    arrowprops={"arrowstyle": "->", "color": "k", "linewidth": 2},
                    gid="normal")
        ax.text(*(foot + 1.1 * step), f"w = ({w1:.3g}, {w2:.3g})", gid="normal_label",
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none"})
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    ax.set_title(title or f"perceptron: w = [{w0:.3g}, {w1:.3g}, {w2:.3g}]")
    return _finish(fig, path)


# ----------------------------------------------------------------------------- regression
def regression_fit(x, y, predict, path=None, ax=None, title=None, residuals=True):
    """A regression model's fit: data and fitted curve, residuals as thin vertical lines.

    ``predict`` maps an (M, d) array to (M,) or (M, 1) predictions (a function, a model
    such as ``Linear(1, 1)``, or an object with ``predict``). With one feature (``x`` of
    shape (N,) or (N, 1)) the curve is drawn over x; with several, predicted values are
    plotted against the true ones, around the diagonal ŷ = y.
    """
    where = "regression_fit"
    x = _host(x, where, "x").astype(np.float64)
    y = _host(y, where, "y").astype(np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(
            f"{where}: x must be (N,) or (N, d) and y (N,); got x {x.shape} and y {y.shape}"
        )
    fig, ax, path = _start(where, path, ax)
    fitted = _evaluate(where, predict, x).reshape(x.shape[0], -1)
    if fitted.shape[1] != 1:
        raise ValueError(f"{where}: predict must give one value per point, got {fitted.shape}")
    fitted = fitted[:, 0]
    if x.shape[1] == 1:
        xs = x[:, 0]
        ax.scatter(xs, y, color="tab:blue", s=20, label="data", gid="points")
        lo, hi = _box(x)
        grid = np.linspace(lo[0], hi[0], 200)[:, None]
        curve = _evaluate(where, predict, grid).reshape(-1)
        ax.plot(grid[:, 0], curve, color="tab:red", linewidth=2, label="fit", gid="fit")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    else:
        xs = y
        ax.scatter(y, fitted, color="tab:blue", s=20, label="predictions", gid="points")
        both = np.concatenate([y, fitted])
        ends = [both.min(), both.max()]
        ax.plot(ends, ends, color="k", linewidth=1, label="ŷ = y", gid="fit")
        ax.set_xlabel("true y")
        ax.set_ylabel("predicted ŷ")
    if residuals:
        from matplotlib.collections import LineCollection

        if x.shape[1] == 1:
            segments = np.stack([np.column_stack([xs, y]), np.column_stack([xs, fitted])], 1)
        else:
            segments = np.stack([np.column_stack([y, fitted]), np.column_stack([y, y])], 1)
        ax.add_collection(LineCollection(segments, colors="gray", linewidths=0.8,
                                         label="residuals", gid="residuals"))
    mse = float(np.mean((fitted - y) ** 2))
    ax.legend(loc="best")
    ax.set_title(title or f"fit (MSE = {mse:.4g})")
    return _finish(fig, path)
