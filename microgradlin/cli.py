"""The ``microgradlin`` command line: ``train``, ``graph``, ``demo`` and ``version``.

::

    microgradlin train --model logistic --data breast_cancer --out runs/bc
    microgradlin train --model softmax --data my.csv --target species --method minibatch
    microgradlin graph --model logistic --out graph.svg
    microgradlin demo --out mg-demo
    microgradlin version

Every subcommand has ``--help``. Errors the user can fix (a bad flag, a missing file, a CSV
with text in a numeric column, a missing target column, a model that does not fit the data,
a GPU asked for without one, a run that diverged) are reported as one line on stderr,
``microgradlin: error: ...``, with exit status 2, and leave no half-written output behind:
``train`` writes into a temporary sibling folder and renames it only once everything is in
place.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PROG = "microgradlin"
MODELS = ("linear", "adaline", "perceptron", "logistic", "softmax")
METHODS = ("batch", "sgd", "minibatch")
SCHEDULES = ("constant", "inverse-time", "step", "exponential", "cosine")
OPTIMIZERS = ("sgd", "momentum", "adam")
DEVICES = ("cpu", "cuda")
GRAPH_FORMATS = (".svg", ".png", ".pdf", ".dot", ".gv")

# What each model is, in one line (for the summary and --help).
MODEL_INFO = {
    "linear": ("LinearRegression", "ŷ = wᵀx + b, mean squared error (least squares)"),
    "adaline": ("Adaline", "ADALINE: ŷ = wᵀx + b fit to labels ±1 by least squares, "
                           "class = sign(ŷ)"),
    "perceptron": ("Perceptron", "y = g(wᵀφ(x)), perceptron criterion "
                                 "J = 1/N Σ max(0, -y wᵀφ(x)), labels ±1"),
    "logistic": ("LogisticRegression", "P(y=1|x) = σ(wᵀx + b), binary cross-entropy on the "
                                       "logits, labels 0/1"),
    "softmax": ("SoftmaxRegression", "P(y=c|x) = softmax(Wx + b)_c, cross-entropy, labels "
                                     "0..K-1"),
}
# A small default data set per model for `graph` (and a sensible first try for `train`).
DEFAULT_DATA = {"linear": "housing", "adaline": "blobs", "perceptron": "blobs",
                "logistic": "breast_cancer", "softmax": "iris"}


class CLIError(Exception):
    """An error the user can fix: printed as one line, exit status 2."""


# ============================================================================ the parser
class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and still exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _int_from(minimum, expected):
    """An argparse type: an integer >= ``minimum`` (``expected`` says so in the error)."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_int = _int_from(1, "a positive integer")
_seed = _int_from(0, "an integer >= 0")  # (NumPy's generators take no negative seed)


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _test_size(text):
    """A fraction in [0, 1) or a whole number of samples."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a fraction in [0, 1) or a number of samples, got {text!r}") from None
    if value == int(value) and value >= 1:
        return int(value)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a fraction in [0, 1) or a number of samples, got {text!r}")
    return value


def _degree(text):
    value = _positive_int(text)
    if value > 5:
        raise argparse.ArgumentTypeError(f"polynomial degree must be 1 to 5, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog=PROG,
        description="microgradlin: a small reverse-mode autodiff engine for teaching and "
                    "training linear networks. Run 'microgradlin demo' for the lecture tour.",
        epilog="Each command has its own --help, e.g. 'microgradlin train --help'.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    # ---------------------------------------------------------------- train
    train = sub.add_parser(
        "train", help="train a lecture model on a built-in data set, a CSV or an .npz file",
        description=textwrap.fill(
            "Train one of the lecture's linear models by gradient descent and write "
            "metrics.csv, metrics.json, params.npz, loss.png, the loss's computation graph "
            "(graph.svg, or graph.dot without Graphviz) and summary.md into --out.", 79),
        epilog="examples:\n"
               "  microgradlin train --model logistic --data breast_cancer --out runs/bc\n"
               "  microgradlin train --model softmax --data iris --method minibatch "
               "--batch-size 16 --epochs 50 --out runs/iris\n"
               "  microgradlin train --model linear --data houses.csv --target price "
               "--out runs/houses\n"
               "  microgradlin train --model perceptron --data xor --poly 2 --out runs/xor\n\n"
               "models:\n" + "\n".join(f"  {k:<11} {v[1]}" for k, v in MODEL_INFO.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("--model", required=True, choices=MODELS, help="which model to train")
    train.add_argument("--data", required=True, metavar="DATA",
                       help="a built-in data set (iris, breast_cancer, diabetes, blobs, xor, "
                            "housing), a CSV file with a header row, or an .npz file with "
                            "arrays X (N, d) and y (N,)")
    train.add_argument("--target", metavar="COLUMN",
                       help="the target column of a CSV file (default: the last column), or "
                            "the name of the target array in an .npz file (default: y)")
    train.add_argument("--method", choices=METHODS,
                       help="batch: all training samples per step; sgd: one sample per step; "
                            "minibatch: --batch-size samples per step (default: batch, or "
                            "minibatch when --batch-size is given)")
    train.add_argument("--batch-size", type=_positive_int, metavar="M",
                       help="samples per step for --method minibatch (default 32)")
    train.add_argument("--epochs", type=_positive_int, default=100,
                       help="passes over the training set (default %(default)s)")
    train.add_argument("--lr", type=_positive_float,
                       help="the (initial) step size ε (default 0.1; 0.01 with adam; 1.0 for "
                            "the perceptron)")
    train.add_argument("--schedule", choices=SCHEDULES, default="constant",
                       help="step-size schedule ε_t: constant; inverse-time ε/(1 + t/τ) with τ "
                            "= steps per epoch (Robbins–Monro); step (×0.1 every third of the "
                            "run); exponential (down to ε/100 at the end); cosine (to 0) "
                            "(default %(default)s)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                       help="sgd: w ← w - ε∇J; momentum: SGD with momentum 0.9; adam "
                            "(default %(default)s)")
    train.add_argument("--poly", type=_degree, metavar="DEGREE",
                       help="feature map φ(x): all monomials up to this degree (e.g. 2 makes "
                            "XOR separable)")
    train.add_argument("--test-size", type=_test_size, default=0.2, metavar="FRACTION",
                       help="held-out share of the samples (or a count); 0 trains on all. "
                            "Classifier splits keep each class's share, so a count is "
                            "rounded class by class (default %(default)s)")
    train.add_argument("--no-standardize", dest="standardize", action="store_false",
                       help="keep the raw features (by default each is standardised with the "
                            "training split's mean and standard deviation)")
    train.add_argument("--seed", type=_seed, default=0,
                       help="seeds the split, the initial weights and the shuffling "
                            "(default %(default)s)")
    train.add_argument("--device", choices=DEVICES, default="cpu",
                       help="where to train; cuda needs CuPy and an NVIDIA GPU "
                            "(default %(default)s)")
    train.add_argument("--out", metavar="DIR",
                       help="output folder (default runs/MODEL-DATA); must not exist or be "
                            "empty unless --overwrite")
    train.add_argument("--overwrite", action="store_true",
                       help="replace --out if it holds an earlier run (never a folder of "
                            "other files)")
    train.add_argument("--quiet", action="store_true",
                       help="no progress: print only the result and the files written")
    train.set_defaults(handler=cmd_train)

    # ---------------------------------------------------------------- graph
    graph = sub.add_parser(
        "graph", help="draw the computation graph of a model's loss",
        description=textwrap.fill(
            "Build a model (untrained, seeded), compute its loss on a few samples and draw "
            "the recorded computation graph. The format follows --out's extension: .svg, "
            ".png or .pdf need the Graphviz 'dot' program; .dot (or .gv) writes DOT text and "
            "needs nothing.", 79),
        epilog="examples:\n"
               "  microgradlin graph --model logistic --out graph.svg\n"
               "  microgradlin graph --model softmax --samples 3 --trace --out softmax.dot",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    graph.add_argument("--model", required=True, choices=MODELS, help="which model")
    graph.add_argument("--data", metavar="DATA",
                       help="where the samples come from (as for train; default: iris for "
                            "softmax, breast_cancer for logistic, housing for linear, blobs "
                            "for adaline and perceptron)")
    graph.add_argument("--target", metavar="COLUMN", help="as for train")
    graph.add_argument("--samples", type=_positive_int, default=4,
                       help="how many samples the loss is computed on (default %(default)s)")
    graph.add_argument("--poly", type=_degree, metavar="DEGREE", help="as for train")
    graph.add_argument("--seed", type=_seed, default=0, help="seeds the initial weights")
    graph.add_argument("--rankdir", choices=("TB", "LR"), default="TB",
                       help="TB: inputs on top; LR: inputs on the left (default %(default)s)")
    graph.add_argument("--show-constants", action="store_true",
                       help="also draw the inputs that need no gradient (the data)")
    graph.add_argument("--trace", action="store_true",
                       help="also print the backward pass, step by step, as a table")
    graph.add_argument("--out", default="graph.svg", metavar="FILE",
                       help="the picture: .svg, .png, .pdf, or .dot/.gv for DOT text "
                            "(default %(default)s)")
    graph.set_defaults(handler=cmd_graph)

    # ---------------------------------------------------------------- demo
    demo = sub.add_parser(
        "demo", help="the lecture tour: figures, graphs and an index.html to read them",
        description="Run the lecture's linear networks one after the other (perceptron, XOR, "
                    "ADALINE, the three gradient-descent variants, logistic and softmax "
                    "regression on real data, the stable softmax) and write the figures, "
                    "the computation-graph pictures and index.html into --out. Takes a few "
                    "seconds on a laptop CPU.",
    )
    demo.add_argument("--out", default="mg-demo", metavar="DIR",
                      help="output folder (default %(default)s); its files are replaced")
    demo.add_argument("--only", metavar="SECTIONS",
                      help="comma-separated subset of the sections: " + ", ".join(
                          _demo_sections()))
    demo.add_argument("--seed", type=_seed, default=0, help="seed (default %(default)s)")
    demo.add_argument("--quiet", action="store_true", help="print only the final line")
    demo.set_defaults(handler=cmd_demo)

    # ---------------------------------------------------------------- version
    version = sub.add_parser("version", help="print versions and which extras are installed",
                             description="Print microgradlin's version and what the optional "
                                         "extras (CuPy, graphviz, dot, matplotlib, tqdm) "
                                         "provide here.")
    version.set_defaults(handler=cmd_version)
    return parser


def _demo_sections():
    from .demo import SECTIONS

    return list(SECTIONS)


# ============================================================================ main
def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 usage or input error)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - only the expected kinds are reported briefly
        if not _expected(exc):
            raise
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _expected(exc) -> bool:
    """Errors that come from the user's input, flags or machine, not from a bug."""
    from .checkpoint import CheckpointError

    return isinstance(exc, (CLIError, ValueError, FileNotFoundError, RuntimeError,
                            CheckpointError, PermissionError, IsADirectoryError,
                            NotADirectoryError, np.linalg.LinAlgError))


def _one_line(exc) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


# ============================================================================ data
@dataclass
class Data:
    """Features and targets as loaded, before any model-specific label mapping."""

    X: np.ndarray
    y: np.ndarray
    name: str
    source: str  # "built-in", "CSV", "NPZ"
    task: str  # "classification" or "regression"
    feature_names: tuple
    class_names: dict | None = None  # label value -> name
    target: str = "y"


def load_data(spec: str, target: str | None = None) -> Data:
    """A built-in name, a .csv or an .npz path -> :class:`Data` (clear errors otherwise)."""
    from . import datasets

    path = Path(spec)
    suffix = path.suffix.lower()
    key = spec.strip().lower().replace("-", "_")
    if key in datasets.BUILTIN_NAMES + datasets.SYNTHETIC_NAMES and not path.exists():
        if target is not None:
            raise CLIError(f"--target applies to CSV and .npz files; the built-in data set "
                           f"{spec!r} has its own target")
        ds = datasets.load(key)
        return _from_dataset(ds, "built-in", "y")
    if suffix == ".csv":
        if not path.is_file():
            raise CLIError(f"--data: no such file: {spec}")
        ds = datasets.load_csv(path, target=target)
        return _from_dataset(ds, "CSV", target or _last_column(path))
    if suffix == ".npz":
        if not path.is_file():
            raise CLIError(f"--data: no such file: {spec}")
        return _load_npz(path, target or "y")
    if path.exists():
        raise CLIError(f"--data: {spec!r} is neither a .csv nor an .npz file")
    names = ", ".join(datasets.BUILTIN_NAMES + datasets.SYNTHETIC_NAMES)
    raise CLIError(f"--data: {spec!r} is not a built-in data set ({names}) nor an existing "
                   ".csv/.npz file")


def _from_dataset(ds, source, target) -> Data:
    classes = None
    if ds.task == "classification":
        values = np.unique(ds.y)
        names = ds.target_names
        if names is not None and len(names) == len(values):
            classes = {int(v): str(n) for v, n in zip(values, names)}
        else:
            classes = {int(v): str(int(v)) for v in values}
    return Data(X=ds.X, y=ds.y, name=ds.name, source=source, task=ds.task,
                feature_names=tuple(ds.feature_names), class_names=classes, target=target)


def _last_column(path: Path) -> str:
    """The name of a CSV file's last column (load_csv's default target)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        for cells in csv.reader(f):
            if any(c.strip() for c in cells):
                return cells[-1].strip()
    return "the last column"


def _load_npz(path: Path, target: str) -> Data:
    import zipfile

    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise CLIError(f"--data: {str(path)!r} is not a readable .npz file ({_one_line(exc)})"
                       ) from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise CLIError(f"--data: {str(path)!r} holds a single array, not an .npz archive with "
                       "arrays X and y")
    with npz:
        missing = [k for k in ("X", target) if k not in npz.files]
        if missing:
            raise CLIError(f"--data: {str(path)!r} has no array {missing[0]!r} (it has "
                           f"{', '.join(npz.files) or 'no arrays'}); expected X (N, d) and "
                           f"{target} (N,)")
        try:
            X, y = npz["X"], npz[target]
        except ValueError as exc:
            raise CLIError(f"--data: {str(path)!r}: {_one_line(exc)} (arrays of Python "
                           "objects are refused: they would need pickle)") from None
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise CLIError(f"--data: X in {str(path)!r} must be a numeric array of shape (N, d), "
                       f"got shape {X.shape} and dtype {X.dtype}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise CLIError(f"--data: {target} in {str(path)!r} must have shape ({X.shape[0]},) to "
                       f"match X {X.shape}, got {y.shape}")
    X = X.astype(np.float64)
    if not np.isfinite(X).all():
        row = int(np.argwhere(~np.isfinite(X))[0][0])
        raise CLIError(f"--data: X in {str(path)!r} has a NaN or infinite value (row {row})")
    if y.dtype.kind in "US":
        names = np.unique(y)
        y = np.searchsorted(names, y).astype(np.int64)
        classes = {i: str(n) for i, n in enumerate(names)}
        task = "classification"
    elif y.dtype.kind in "biuf":
        if not np.isfinite(y.astype(np.float64)).all():
            raise CLIError(f"--data: {target} in {str(path)!r} has a NaN or infinite value")
        values = np.unique(y)
        integral = bool(np.all(values == np.round(values)))
        if y.dtype.kind in "biu" or (integral and len(values) <= 20):
            y = y.astype(np.int64)
            classes = {int(v): str(int(v)) for v in np.unique(y)}
            task = "classification"
        else:
            y, classes, task = y.astype(np.float64), None, "regression"
    else:
        raise CLIError(f"--data: {target} in {str(path)!r} has dtype {y.dtype}; expected "
                       "numbers or strings")
    return Data(X=X, y=y, name=path.stem, source="NPZ", task=task,
                feature_names=tuple(f"x{i + 1}" for i in range(X.shape[1])),
                class_names=classes, target=target)


@dataclass
class Labels:
    """Targets converted for one model, and how they map back to the data's classes."""

    y: np.ndarray
    kind: str  # "regression", "pm1" (±1), "01", "classes"
    names: dict = field(default_factory=dict)  # model label -> class name
    note: str = ""


def labels_for(model: str, data: Data) -> Labels:
    """Check that ``model`` fits the data's target and convert the labels it needs."""
    y, where = data.y, f"the target ({data.target})" if data.source == "CSV" else "the target"
    if model == "linear":
        if data.task == "classification" and any(
                not _is_number(n) for n in (data.class_names or {}).values()):
            raise CLIError(f"--model linear needs a numeric target, but {where} holds class "
                           f"names ({_show(data.class_names.values())}); use --model softmax "
                           "or logistic")
        return Labels(y.astype(np.float64), "regression")
    if data.task == "regression":
        distinct = len(np.unique(y))
        raise CLIError(f"--model {model} needs class labels, but {where} is continuous "
                       f"({distinct} distinct values); use --model linear for regression")
    values = np.unique(y)
    names = data.class_names or {int(v): str(int(v)) for v in values}
    if model == "softmax":
        if len(values) < 2:
            raise CLIError(f"--model softmax needs at least 2 classes, {where} has one")
        index = np.searchsorted(values, y).astype(np.int64)
        mapped = {i: names[int(v)] for i, v in enumerate(values)}
        note = "" if np.array_equal(values, np.arange(len(values))) else \
            "classes renumbered 0..K-1: " + ", ".join(f"{names[int(v)]} → {i}"
                                                      for i, v in enumerate(values))
        return Labels(index, "classes", mapped, note)
    if len(values) != 2:
        raise CLIError(f"--model {model} is a binary classifier, but {where} has "
                       f"{len(values)} classes ({_show(names[int(v)] for v in values)}); use "
                       "--model softmax")
    neg, pos = (int(v) for v in values)
    if model == "logistic":
        out = (y == pos).astype(np.int64)
        mapped = {0: names[neg], 1: names[pos]}
        changed = (neg, pos) != (0, 1)
    else:  # perceptron, adaline: the lecture's ±1
        out = np.where(y == pos, 1, -1).astype(np.int64)
        mapped = {-1: names[neg], 1: names[pos]}
        changed = (neg, pos) != (-1, 1)
    note = ("labels mapped: " + ", ".join(f"{n} → {k:+d}" if model != "logistic"
                                          else f"{n} → {k}" for k, n in mapped.items())
            if changed else "")
    return Labels(out, "01" if model == "logistic" else "pm1", mapped, note)


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _show(items, limit=6) -> str:
    items = [str(i) for i in items]
    return ", ".join(items[:limit]) + (", ..." if len(items) > limit else "")


# ============================================================================ models
def build_model(model: str, n_inputs: int, labels: Labels, poly, seed, device):
    """The model object and its loss function ``loss_fn(prediction, target)``."""
    from . import functional as F
    from .models import (
        Adaline,
        LinearRegression,
        LogisticRegression,
        Perceptron,
        PolynomialFeatures,
        SoftmaxRegression,
    )

    fmap = PolynomialFeatures(poly) if poly else None
    width = len(fmap.powers(n_inputs)) if fmap else n_inputs
    common = dict(n_features=width, feature_map=fmap, seed=seed, device=device)
    if model == "linear":
        return LinearRegression(**common), F.mse_loss
    if model == "adaline":
        return Adaline(**common), F.mse_loss
    if model == "logistic":
        return LogisticRegression(**common), F.binary_cross_entropy_with_logits
    if model == "softmax":
        k = int(labels.y.max()) + 1
        return SoftmaxRegression(n_classes=k, **common), F.cross_entropy
    # The perceptron criterion has zero gradient at w = 0 (every score is 0, relu'(0) = 0),
    # so gradient descent starts from small random weights instead of the rule's zeros.
    perceptron = Perceptron(n_features=width, feature_map=fmap, init="random", seed=seed)
    return perceptron.to(device), F.perceptron_loss


def check_device(device: str) -> str:
    """``device`` if usable; a clear one-line RuntimeError (from the backend) otherwise."""
    from . import backend

    if device != "cpu":
        backend.to_device(np.zeros(1), device)  # raises RuntimeError with the reason
    return device


# ============================================================================ train
def _default_lr(model, optimizer):
    if optimizer == "adam":
        return 0.01
    return 1.0 if model == "perceptron" else 0.1


def _schedule(name, lr, epochs, steps_per_epoch):
    """(schedule or None, schedule_per, description)."""
    from .optim import Cosine, Exponential, InverseTime, StepDecay

    total = epochs * steps_per_epoch
    if name == "constant":
        return None, "step", f"constant ε = {lr:g}"
    if name == "inverse-time":
        tau = steps_per_epoch
        return (InverseTime(lr, tau=tau), "step",
                f"ε_t = {lr:g} / (1 + t/{tau}) (Robbins–Monro)")
    if name == "step":
        every = max(1, epochs // 3)
        return (StepDecay(lr, step_size=every, gamma=0.1), "epoch",
                f"ε × 0.1 every {every} epochs, from {lr:g}")
    if name == "exponential":
        gamma = 0.01 ** (1.0 / max(1, epochs - 1))
        return (Exponential(lr, gamma=gamma), "epoch",
                f"ε_e = {lr:g} · {gamma:.4g}^e (down to {lr / 100:g})")
    return (Cosine(lr, total_steps=total), "step",
            f"cosine from {lr:g} to 0 over {total} steps")


def _optimizer(name, params, lr):
    from .optim import SGD, Adam

    if name == "sgd":
        return SGD(params, lr=lr), "SGD"
    if name == "momentum":
        return SGD(params, lr=lr, momentum=0.9), "SGD with momentum 0.9"
    return Adam(params, lr=lr), "Adam"


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {str(out)!r} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise CLIError(f"--out {str(out)!r} already holds files; pass --overwrite to "
                           "replace it, or choose another folder")
        if not (out / "metrics.json").is_file():  # only ever delete an earlier run
            raise CLIError(f"--out {str(out)!r} holds files that are not a microgradlin run "
                           "(no metrics.json); refusing to delete them, even with --overwrite")
        here = Path.cwd().resolve()
        if out.resolve() == here or out.resolve() in here.parents:
            raise CLIError(f"--out {str(out)!r} is the current folder or contains it; "
                           "choose another folder")
    parent = out.absolute().parent
    while not parent.exists():  # created when the results are written
        parent = parent.parent
    if not parent.is_dir():
        raise CLIError(f"--out {str(out)!r}: {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK):
        raise CLIError(f"--out {str(out)!r}: cannot write into {str(parent)!r} "
                       "(permission denied)")


def _publish(tmp: Path, out: Path, overwrite: bool) -> None:
    """Move the finished folder ``tmp`` to ``out`` (replacing it only with ``overwrite``)."""
    old = None
    if out.is_dir():
        if any(out.iterdir()):
            if not overwrite:  # appeared while we trained
                raise CLIError(f"--out {str(out)!r} was filled by someone else meanwhile; "
                               "nothing written")
            old = Path(tempfile.mkdtemp(prefix=out.name + ".old-", dir=out.absolute().parent))
            os.rmdir(old)
            os.rename(out, old)
        else:
            os.rmdir(out)
    os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class _Recorder:
    """A ``fit`` callback: full train/test loss and score after every epoch, and progress."""

    def __init__(self, model, loss_fn, train, test, metric, epochs, print_every, started):
        self.model, self.loss_fn = model, loss_fn
        self.train, self.test = train, test
        self.metric = metric
        self.epochs = epochs
        self.print_every = print_every
        self.started = started
        self.rows = []

    def evaluate(self, split):
        from .autograd import no_grad

        X, y = split
        with no_grad():
            loss = float(self.loss_fn(self.model(X), y).item())
        return loss, float(self.model.score(X, y))

    def row(self, epoch, lr, grad_norm):
        loss, score = self.evaluate(self.train)
        row = {"epoch": epoch, "loss": loss, "test_loss": None, "lr": lr,
               "grad_norm": grad_norm, "time": time.perf_counter() - self.started,
               f"train_{self.metric}": score, f"test_{self.metric}": None}
        if self.test is not None:
            row["test_loss"], row[f"test_{self.metric}"] = self.evaluate(self.test)
        self.rows.append(row)
        return row

    def on_train_begin(self, state):
        self.row(0, None, None)

    def on_epoch_end(self, state):
        h = state.history
        row = self.row(state.epoch + 1, h.lr[-1] if h.lr else None,
                       h.grad_norm[-1] if h.grad_norm else None)
        e = row["epoch"]
        if self.print_every and (e % self.print_every == 0 or e == self.epochs or e == 1):
            print(_progress_line(row, self.epochs, self.metric), flush=True)


def _fmt(v, digits=4):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _progress_line(row, epochs, metric):
    width = len(str(epochs))
    text = f"epoch {row['epoch']:>{width}}/{epochs}  loss {row['loss']:.6g}"
    if row["test_loss"] is not None:
        text += f"  test loss {row['test_loss']:.6g}"
    text += f"  train {metric} {row[f'train_{metric}']:.4f}"
    if row[f"test_{metric}"] is not None:
        text += f"  test {metric} {row[f'test_{metric}']:.4f}"
    return text


def _interactive() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    if not (isatty and isatty()):
        return False
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def cmd_train(args) -> int:
    from . import backend
    from .data import Standardizer, train_test_split
    from .train import fit

    out = Path(args.out or f"runs/{args.model}-{Path(args.data).stem}")
    _check_out(out, args.overwrite)
    method, batch_size = _method(args.method, args.batch_size)
    device = check_device(args.device)
    data = load_data(args.data, args.target)
    labels = labels_for(args.model, data)
    X, y = data.X, labels.y
    n, d = X.shape
    if n < 2:
        raise CLIError(f"--data: {data.name} has {n} sample; need at least 2")

    # ---- split and standardise (statistics from the training split only)
    stratify = y if labels.kind != "regression" else None
    if args.test_size:
        try:
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=args.test_size, seed=args.seed, stratify=stratify)
        except ValueError as exc:
            raise CLIError(f"--test-size {args.test_size}: {_one_line(exc)}") from None
    else:
        X_train, X_test, y_train, y_test = X, None, y, None
    scaler = Standardizer().fit(X_train) if args.standardize else None
    if scaler is not None:
        X_train = scaler.transform(X_train)
        X_test = None if X_test is None else scaler.transform(X_test)
    if method == "minibatch" and batch_size > len(X_train):
        raise CLIError(f"--batch-size {batch_size} is larger than the {len(X_train)} training "
                       "samples")

    model, loss_fn = build_model(args.model, d, labels, args.poly, args.seed, device)
    params = model.parameters()
    lr = args.lr if args.lr is not None else _default_lr(args.model, args.optimizer)
    steps_per_epoch = (1 if method == "batch" else
                       len(X_train) if method == "sgd" else math.ceil(len(X_train) / batch_size))
    schedule, schedule_per, schedule_text = _schedule(args.schedule, lr, args.epochs,
                                                      steps_per_epoch)
    optimizer, optimizer_text = _optimizer(args.optimizer, params, lr)
    metric = "r2" if labels.kind == "regression" else "accuracy"

    def on_device(a):
        return None if a is None else backend.to_device(a, device)

    train_split = (on_device(X_train), on_device(y_train))
    test_split = None if X_test is None else (on_device(X_test), on_device(y_test))
    interactive = _interactive() and not args.quiet
    print_every = 0 if (args.quiet or interactive) else max(1, args.epochs // 10)
    if not args.quiet:
        split = (f"{len(X_train)} train / {len(X_test)} test samples" if X_test is not None
                 else f"{len(X_train)} samples, no test split")
        print(f"{PROG} train: {MODEL_INFO[args.model][0]} on {data.name} ({split}, {d} "
              f"features{', standardized' if scaler else ''}); {method} gradient descent, "
              f"{args.epochs} epochs, {optimizer_text}, {schedule_text}, device {device}",
              flush=True)
    started = time.perf_counter()
    recorder = _Recorder(model, loss_fn, train_split, test_split, metric, args.epochs,
                         print_every, started)
    history = fit(model, loss_fn, X_train, y_train, method=method,
                  batch_size=batch_size if method == "minibatch" else None,
                  epochs=args.epochs, optimizer=optimizer, schedule=schedule,
                  schedule_per=schedule_per, seed=args.seed,
                  progress="auto" if interactive else False, callbacks=[recorder])
    seconds = time.perf_counter() - started

    # ---- write everything into a temporary sibling, then rename it into place
    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".tmp-", dir=parent))
    try:
        notes = []
        run = {
            "command": " ".join(shlex.quote(a) for a in [PROG, *args.argv]),
            "model": args.model, "model_class": MODEL_INFO[args.model][0],
            "data": {"name": data.name, "source": data.source, "spec": args.data,
                     "samples": n, "features": d, "task": data.task, "target": data.target,
                     "train_samples": len(X_train),
                     "test_samples": 0 if X_test is None else len(X_test),
                     "standardized": scaler is not None,
                     "classes": {str(k): v for k, v in labels.names.items()} or None,
                     "label_note": labels.note},
            "flags": {"method": method, "batch_size": batch_size if method == "minibatch"
                      else (1 if method == "sgd" else len(X_train)),
                      "epochs": args.epochs, "lr": lr, "schedule": args.schedule,
                      "optimizer": args.optimizer, "poly": args.poly,
                      "test_size": args.test_size, "seed": args.seed, "device": device},
            "steps": len(history.steps) if history.steps else args.epochs * steps_per_epoch,
            "seconds": seconds,
            "metric": metric,
            "epochs": recorder.rows,
            "final": recorder.rows[-1],
        }
        _write_metrics(tmp, recorder.rows, run)
        _write_params(tmp, model, scaler)
        if not _write_loss_plot(tmp, recorder.rows, args, data):
            notes.append("loss.png was not drawn: matplotlib is not installed "
                         "(pip install 'microgradlin[plot]')")
        graph_file, graph_note = _write_graph(tmp, model, loss_fn, train_split, args)
        if graph_note:
            notes.append(graph_note)
        files = sorted(p.name for p in tmp.iterdir()) + ["summary.md"]
        _write_summary(tmp, run, model, labels, scaler, schedule_text, optimizer_text,
                       graph_file, notes, files)
        _publish(tmp, out, args.overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    final = recorder.rows[-1]
    result = f"final loss {final['loss']:.6g}, train {metric} {final[f'train_{metric}']:.4f}"
    if final[f"test_{metric}"] is not None:
        result += f", test {metric} {final[f'test_{metric}']:.4f}"
    print(f"{PROG} train: done in {seconds:.2f} s: {result}")
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {out}{os.sep}: {', '.join(sorted(files))}")
    return 0


def _method(method, batch_size):
    if method is None:
        method = "batch" if batch_size is None else ("sgd" if batch_size == 1 else "minibatch")
    if method == "batch" and batch_size is not None:
        raise CLIError("--method batch uses every training sample per step; drop --batch-size "
                       "(or use --method minibatch)")
    if method == "sgd" and batch_size not in (None, 1):
        raise CLIError("--method sgd uses one sample per step; drop --batch-size (or use "
                       "--method minibatch)")
    if method == "minibatch" and batch_size is None:
        batch_size = 32
    return method, batch_size


# ---------------------------------------------------------------------------- outputs
_COLUMNS = ("epoch", "loss", "test_loss", "lr", "grad_norm", "time")


def _write_metrics(folder: Path, rows, run) -> None:
    metric = run["metric"]
    columns = [*_COLUMNS, f"train_{metric}", f"test_{metric}"]
    with open(folder / "metrics.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row[c] is None else (repr(row[c]) if isinstance(row[c], float)
                                                        else row[c]) for c in columns])
    with open(folder / "metrics.json", "w", encoding="utf-8") as f:
        json.dump(run, f, indent=1, allow_nan=False, default=_json_default)
        f.write("\n")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _write_params(folder: Path, model, scaler) -> None:
    from .checkpoint import save

    state = {"model": model.state_dict()}
    if scaler is not None:
        state["standardizer"] = {"mean": scaler.mean_, "scale": scaler.scale_}
    save(state, folder / "params.npz")


def _write_loss_plot(folder: Path, rows, args, data) -> bool:
    from .plot import MatplotlibNotFound, loss_curves

    epochs = [r["epoch"] for r in rows]  # 0 = the initial weights
    curves = {"train": {"steps": epochs, "loss": [r["loss"] for r in rows]}}
    if rows[0]["test_loss"] is not None:
        curves["test"] = {"steps": epochs, "loss": [r["test_loss"] for r in rows]}
    title = f"{args.model} on {data.name}: loss J(w) after each epoch"
    try:
        fig = loss_curves(curves, x="step", title=title)
    except MatplotlibNotFound:
        return False
    fig.axes[0].set_xlabel("epoch (0 = initial weights)")
    fig.savefig(folder / "loss.png", dpi=110)
    return True


def _write_graph(folder: Path, model, loss_fn, train_split, args):
    """graph.svg of the loss on a few training samples; graph.dot when dot is missing."""
    from . import viz

    X, y = train_split
    loss = _small_loss(model, loss_fn, X, y, 4)
    title = f"{MODEL_INFO[args.model][0]}: loss on {min(4, X.shape[0])} training samples"
    try:
        viz.draw(loss, folder / "graph.svg", names=model, title=title)
        return "graph.svg", ""
    except viz.GraphvizNotFound as exc:
        (folder / "graph.dot").write_text(viz.to_dot(loss, names=model, title=title),
                                          encoding="utf-8")
        return "graph.dot", (f"graph.dot holds the graph as DOT text ({_one_line(exc)}); "
                             "render it with `dot -Tsvg graph.dot -o graph.svg`")


def _small_loss(model, loss_fn, X, y, k):
    """The loss on the first ``k`` samples, backpropagated (the graph is kept to draw)."""
    model.zero_grad()
    loss = loss_fn(model(X[:k]), y[:k])
    loss.backward(retain_graph=True)
    return loss


def _write_summary(folder, run, model, labels, scaler, schedule_text, optimizer_text,
                   graph_file, notes, files) -> None:
    data, flags, final = run["data"], run["flags"], run["final"]
    metric = run["metric"]
    metric_name = "R²" if metric == "r2" else "accuracy"
    lines = [
        f"# {run['model_class']} on {data['name']}",
        "",
        f"`{run['command']}`",
        "",
        "## Data",
        "",
        f"- {data['source']} data `{data['spec']}`: {data['samples']} samples, "
        f"{data['features']} features, {data['task']}"
        + (f" (target: {data['target']})." if data["source"] != "built-in" else "."),
    ]
    if labels.names:
        classes = ", ".join(f"{k} = {v}" for k, v in labels.names.items())
        lines.append(f"- Classes as the model sees them: {classes}.")
    if labels.note:
        lines.append(f"- {labels.note[0].upper()}{labels.note[1:]}.")
    split = (f"{data['train_samples']} training / {data['test_samples']} held-out test "
             f"samples (seed {flags['seed']}"
             f"{', stratified by class' if labels.kind != 'regression' else ''})"
             if data["test_samples"] else f"all {data['train_samples']} samples used for "
                                          "training (no test split)")
    lines.append(f"- Split: {split}.")
    lines.append("- Features standardised with the training split's mean and standard "
                 "deviation (saved in params.npz)." if scaler is not None else
                 "- Raw features (not standardised).")
    n_params = sum(int(np.prod(p.shape)) for p in model.parameters())
    lines += [
        "",
        "## Model",
        "",
        f"- {run['model_class']}: {MODEL_INFO[run['model']][1]}.",
        f"- {n_params} trainable numbers"
        + (f"; feature map φ(x): monomials up to degree {flags['poly']}" if flags["poly"]
           else "") + ".",
        "",
        "## Training",
        "",
        f"- {flags['method']} gradient descent: {flags['batch_size']} sample(s) per step, "
        f"{run['steps']} steps over {flags['epochs']} epochs, in {run['seconds']:.2f} s on "
        f"{flags['device']}.",
        f"- Optimizer: {optimizer_text}; step size: {schedule_text}.",
        "",
        "## Results",
        "",
        f"| | loss | {metric_name} |",
        "| --- | --- | --- |",
        f"| initial (epoch 0), train | {_fmt(run['epochs'][0]['loss'])} | "
        f"{_fmt(run['epochs'][0][f'train_{metric}'])} |",
        f"| final, train | {_fmt(final['loss'])} | {_fmt(final[f'train_{metric}'])} |",
    ]
    if final["test_loss"] is not None:
        lines.append(f"| final, test | {_fmt(final['test_loss'])} | "
                     f"{_fmt(final[f'test_{metric}'])} |")
    lines += ["", "![loss](loss.png)" if "loss.png" in files else "", "",
              "## Learned parameters", ""]
    state = model.state_dict()
    total = sum(v.size for v in state.values())
    for name, value in state.items():
        if total <= 40:
            shown = np.array2string(value, precision=4, suppress_small=True,
                                    max_line_width=90).replace("\n", " ")
            lines.append(f"- `{name}` {tuple(value.shape)}: `{shown}`")
        else:
            lines.append(f"- `{name}` {tuple(value.shape)}: ‖·‖ = {np.linalg.norm(value):.4g}")
    if scaler is not None:
        lines.append("- (on standardised features: z = (x - mean) / scale)")
    descriptions = {
        "metrics.csv": "one row per epoch (0 = before training): training loss J(w), test "
                       f"loss, lr, gradient norm at the epoch's last step, seconds since the "
                       f"start, train/test {metric_name}",
        "metrics.json": "the same rows plus the data, flags and final results",
        "params.npz": "the learned parameters (`model.<name>`) and the standardisation "
                      "(`standardizer.mean`, `.scale`): "
                      "`np.load('params.npz', allow_pickle=False)` or "
                      "`microgradlin.checkpoint.load('params.npz')`",
        "loss.png": "training and test loss per epoch",
        "graph.svg": "the computation graph of the loss on 4 training samples, with the "
                     "gradients of the final weights",
        "graph.dot": "the same graph as DOT text (Graphviz's `dot` was not found)",
        "summary.md": "this page",
    }
    lines += ["", "## Files", ""]
    lines += [f"- `{f}`: {descriptions.get(f, '')}" for f in files]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    (folder / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


# ============================================================================ graph
def cmd_graph(args) -> int:
    from . import viz
    from .data import Standardizer

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in GRAPH_FORMATS:
        raise CLIError(f"--out {args.out!r}: the extension must be one of "
                       f"{', '.join(GRAPH_FORMATS)}")
    if not out.absolute().parent.is_dir():
        raise CLIError(f"--out: the folder {str(out.absolute().parent)!r} does not exist")
    data = load_data(args.data or DEFAULT_DATA[args.model], args.target)
    labels = labels_for(args.model, data)
    X = Standardizer().fit_transform(data.X)
    model, loss_fn = build_model(args.model, X.shape[1], labels, args.poly, args.seed, "cpu")
    k = min(args.samples, X.shape[0])
    model.zero_grad()
    loss = loss_fn(model(X[:k]), labels.y[:k])
    title = f"{MODEL_INFO[args.model][0]}: loss on {k} samples of {data.name}"
    options = dict(names=model, rankdir=args.rankdir, show_constants=args.show_constants,
                   title=title)
    trace = viz.trace_backward(loss, names=model) if args.trace else None
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}{suffix}")
    try:
        if suffix in (".dot", ".gv"):
            tmp.write_text(viz.to_dot(loss, **options), encoding="utf-8")
        else:
            try:
                viz.draw(loss, tmp, **options)
            except viz.GraphvizNotFound as exc:
                raise CLIError(f"cannot draw {args.out}: {_one_line(exc)}; or write DOT text "
                               f"with --out {out.with_suffix('.dot')}") from None
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    if trace is not None:
        print(trace)
    print(f"wrote {out} ({len(viz.to_dot(loss).splitlines())} DOT lines: the graph of "
          f"{MODEL_INFO[args.model][0]}'s loss on {k} samples)")
    return 0


# ============================================================================ demo
def cmd_demo(args) -> int:
    from .demo import SECTIONS, run_demo

    only = None
    if args.only:
        only = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = [s for s in only if s not in SECTIONS]
        if unknown or not only:
            raise CLIError(f"--only: unknown section(s) {', '.join(unknown) or '(none)'}; "
                           f"choose from {', '.join(SECTIONS)}")
    started = time.perf_counter()
    status = run_demo(out=args.out, seed=args.seed, verbose=not args.quiet, sections=only)
    if args.quiet:
        print(f"{PROG} demo: done in {time.perf_counter() - started:.1f} s: open "
              f"{Path(args.out) / 'index.html'}")
    return status


# ============================================================================ version
def cmd_version(args) -> int:
    import importlib.metadata as metadata
    import importlib.util
    import platform

    from . import __version__

    def version_of(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    print(f"{PROG} {__version__}")
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    cupy = next((v for v in (version_of("cupy-cuda12x"), version_of("cupy-cuda13x"),
                             version_of("cupy")) if v), None)
    if cupy is None and importlib.util.find_spec("cupy") is not None:
        cupy = "installed"
    print(f"cupy: {cupy or 'not installed (CPU only; GPU: pip install microgradlin[cuda12])'}")
    rows = [("graphviz (Python)", version_of("graphviz"), "pip install microgradlin[viz]"),
            ("matplotlib", version_of("matplotlib"), "pip install microgradlin[plot]"),
            ("tqdm", version_of("tqdm"), "pip install microgradlin[progress]")]
    for name, version, hint in rows:
        print(f"{name}: {version or f'not installed ({hint})'}")
    dot = shutil.which("dot")
    missing = ("not found (apt install graphviz / brew install graphviz); graphs are written "
               "as DOT text")
    print(f"dot: {dot or missing}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
