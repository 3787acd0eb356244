"""A training loop: ``fit(model, loss_fn, X, y, ...)`` and the ``History`` it returns.

One loop runs the lecture's three gradient-descent variants on any model and loss::

    for epoch in range(epochs):
        for X_b, y_b in batches(X, y, batch_size):   # all N, 1, or M samples
            optimizer.zero_grad()
            loss = loss_fn(model(X_b), y_b)          # J on this batch (a mean over its rows)
            loss.backward()                          # ∇J estimated from this batch
            optimizer.step()                         # w ← w - ε_t ∇J

``method="batch"`` (batch GD: one step per epoch on the whole set), ``"sgd"`` (one sample per
step) or ``"minibatch"`` (M samples per step) only choose the batch size. On top of the loop,
``fit`` keeps a :class:`History` (loss per step and per epoch, learning rate, gradient norm,
time), drives a step-size schedule, shows a progress bar on a terminal, stops early when the
loss stops changing, refuses to go on once training diverges (:class:`DivergenceError`),
and writes/resumes checkpoints.

Host synchronisation: a loss value and a gradient norm live on the device; fetching them
costs a sync. ``fit`` fetches both together, once per logged step (``log_every``), and the
epoch loss once per epoch.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import backend
from . import checkpoint as _checkpoint
from .data import BatchIterator
from .optim.optimizers import SGD, Optimizer
from .tensor import Tensor

__all__ = ["fit", "History", "DivergenceError", "TrainState"]

_METHODS = ("batch", "sgd", "minibatch")


class DivergenceError(RuntimeError):
    """Training diverged: the loss is NaN/inf or the gradient norm exploded.

    Attributes ``step``, ``epoch``, ``lr``, ``loss`` and ``grad_norm`` describe where.
    """

    def __init__(self, message, *, step, epoch, lr, loss, grad_norm):
        super().__init__(message)
        self.step, self.epoch, self.lr = step, epoch, lr
        self.loss, self.grad_norm = loss, grad_norm


@dataclass
class History:
    """What happened during :func:`fit`.

    Per logged step (every step with ``log_every=1``): ``steps`` (the global step index t),
    ``step_loss`` (the batch loss before the update), ``lr`` (ε_t used by that update),
    ``grad_norm`` (‖∇J_batch‖₂ over all parameters). Per epoch: ``epoch_loss`` (the mean of
    the batch losses over the epoch, weighted by batch size: the average training loss seen
    during the epoch), ``epoch_time`` (seconds) and ``wall_time`` (seconds since training
    started, at the end of the epoch).
    """

    steps: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    epoch_loss: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    wall_time: list = field(default_factory=list)
    stopped_early: bool = False
    stop_reason: str = ""

    _LISTS = ("steps", "step_loss", "lr", "grad_norm", "epoch_loss", "epoch_time",
              "wall_time")

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.epoch_loss)

    def to_dict(self) -> dict:
        out = {name: list(getattr(self, name)) for name in self._LISTS}
        out["stopped_early"] = self.stopped_early
        out["stop_reason"] = self.stop_reason
        return out

    @classmethod
    def from_dict(cls, d: dict) -> History:
        """Rebuild from ``to_dict()`` output (or its checkpoint round trip: arrays are fine)."""
        h = cls()
        for name in cls._LISTS:
            values = d.get(name, [])
            cast = int if name == "steps" else float
            setattr(h, name, [cast(v) for v in np.asarray(values).reshape(-1).tolist()])
        h.stopped_early = bool(d.get("stopped_early", False))
        h.stop_reason = str(d.get("stop_reason", ""))
        return h

    def to_csv(self, path, per: str = "epoch") -> None:
        """Write one row per epoch (``per="epoch"``: epoch, loss, epoch_time, wall_time) or
        per logged step (``per="step"``: step, loss, lr, grad_norm)."""
        if per == "epoch":
            header = ["epoch", "loss", "epoch_time", "wall_time"]
            rows = zip(range(1, self.epochs + 1), self.epoch_loss, self.epoch_time,
                       self.wall_time)
        elif per == "step":
            header = ["step", "loss", "lr", "grad_norm"]
            rows = zip(self.steps, self.step_loss, self.lr, self.grad_norm)
        else:
            raise ValueError(f"History.to_csv: per must be 'epoch' or 'step', got {per!r}")
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows([[repr(v) if isinstance(v, float) else v for v in row]
                              for row in rows])


@dataclass
class TrainState:
    """Handed to callbacks. Set ``stop = True`` to end training after the current epoch."""

    model: object
    optimizer: Optimizer
    history: History
    epoch: int = 0  # the current epoch (0-based)
    step: int = 0  # optimizer steps taken so far
    batch_loss: Tensor | None = None  # the last batch's loss (a Tensor: no sync forced)
    stop: bool = False


# ----------------------------------------------------------------------------- helpers
def _resolve_method(method, batch_size):
    if method is None:
        method = "batch" if batch_size is None else ("sgd" if batch_size == 1 else "minibatch")
    if method not in _METHODS:
        raise ValueError(f"fit: method must be one of {_METHODS}, got {method!r}")
    if method == "batch":
        if batch_size is not None:
            raise ValueError(f"fit: method='batch' uses the whole training set each step; "
                             f"drop batch_size={batch_size!r} (or use method='minibatch')")
        return method, None
    if method == "sgd":
        if batch_size not in (None, 1):
            raise ValueError(f"fit: method='sgd' uses one sample per step; got "
                             f"batch_size={batch_size!r} (use method='minibatch')")
        return method, 1
    return method, 32 if batch_size is None else batch_size


def _fetch(loss_data, params, xp):
    """(loss value, gradient 2-norm) as Python floats, with one device→host transfer."""
    total = None
    for p in params:
        g = p._grad
        if g is None:
            continue
        flat = g.data.reshape(-1)
        sq = xp.vdot(flat, flat)  # ‖g‖², computed where g lives
        total = sq if total is None else total + sq
    if xp is np:
        return float(loss_data), (math.sqrt(float(total)) if total is not None else 0.0)
    if total is None:
        return float(backend.to_numpy(loss_data)), 0.0
    both = backend.to_numpy(xp.stack([loss_data.reshape(()).astype(xp.float64),
                                      total.reshape(()).astype(xp.float64)]))
    return float(both[0]), math.sqrt(float(both[1]))


def _divergence(step, epoch, lr, loss, grad_norm, max_grad_norm, scheduled):
    if not math.isfinite(loss):
        what = f"the loss is {loss}"
    elif not math.isfinite(grad_norm):
        what = f"the gradient norm is {grad_norm} (loss {loss:.4g})"
    else:
        what = (f"the gradient norm {grad_norm:.4g} exceeds max_grad_norm={max_grad_norm:.4g} "
                f"(loss {loss:.4g})")
    lower = f"{lr / 10:.4g}"
    hint = (f"lower the schedule's starting lr (a tenth of the current one would be {lower})"
            if scheduled else f"try lr={lower} (a tenth)")
    return DivergenceError(
        f"fit: training diverged at step {step} (epoch {epoch + 1}, lr={lr:.4g}): {what}. "
        f"The step size is probably too large (for gradient descent on a quadratic, any "
        f"lr > 2/λ_max(Hessian) diverges): lower the learning rate, {hint}. Standardising "
        f"the features also lowers λ_max.",
        step=step, epoch=epoch, lr=lr, loss=loss, grad_norm=grad_norm)


class _PlainProgress:
    """A line per epoch on stderr: the fallback when tqdm is not installed."""

    def __init__(self, total_epochs):
        self.total_epochs = total_epochs

    def update(self, n=1):
        pass

    def epoch_end(self, epoch, loss, seconds):
        print(f"epoch {epoch + 1}/{self.total_epochs}  loss {loss:.6g}  {seconds:.3f} s",
              file=sys.stderr, flush=True)

    def close(self):
        pass


class _TqdmProgress:
    def __init__(self, tqdm, total, initial, total_epochs):
        self.bar = tqdm(total=total, initial=initial, unit="step", file=sys.stderr,
                        dynamic_ncols=True, leave=True)
        self.total_epochs = total_epochs
        self.update = self.bar.update

    def epoch_end(self, epoch, loss, seconds):
        self.bar.set_description(f"epoch {epoch + 1}/{self.total_epochs}", refresh=False)
        self.bar.set_postfix(loss=f"{loss:.4g}")

    def close(self):
        self.bar.close()


def _interactive() -> bool:
    """stderr is a terminal, or we run in a Jupyter kernel (where tqdm.auto draws a widget)."""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty()) or "ipykernel" in sys.modules


def _make_progress(progress, total_steps, initial, total_epochs):
    if progress is None or progress is False:
        return None
    if progress not in (True, "auto"):
        raise ValueError(f"fit: progress must be 'auto', True or False, got {progress!r}")
    if progress == "auto" and not _interactive():
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _PlainProgress(total_epochs) if progress is True else None
    return _TqdmProgress(tqdm, total_steps, initial, total_epochs)


_HOOKS = ("on_train_begin", "on_epoch_begin", "on_step_end", "on_epoch_end", "on_train_end")


def _call(callbacks, hook, state):
    for cb in callbacks:
        fn = getattr(cb, hook, None)
        if fn is None and hook == "on_epoch_end" and callable(cb):
            fn = cb  # a bare function is an end-of-epoch callback
        if fn is not None:
            fn(state)


def _check_loss(loss, pred, yb):
    if not isinstance(loss, Tensor):
        raise TypeError(f"fit: loss_fn must return a scalar Tensor, got {type(loss).__name__}")
    if loss.data.size != 1:
        hint = ""
        if yb is not None and tuple(pred.shape) != tuple(yb.shape):
            hint = (f"; the prediction has shape {tuple(pred.shape)} and the target "
                    f"{tuple(yb.shape)}: did they broadcast against each other?")
        raise ValueError(f"fit: loss_fn must return a scalar (one element), got shape "
                         f"{tuple(loss.shape)} (reduce it with .mean()){hint}")
    if not loss.requires_grad:
        raise RuntimeError("fit: the loss does not require grad, so no parameter can learn "
                           "from it (was it computed under mg.no_grad(), or from detached "
                           "values?)")


def _has_square_intermediate(loss, n):
    """Did the loss go through an (n, n) array? The mark of (N, 1) - (N,) broadcasting."""
    stack, seen = [loss.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or isinstance(node, Tensor):
            continue
        seen.add(id(node))
        if any(m is not None and tuple(m[0]) == (n, n) for m in node.meta or ()):
            return True
        stack.extend(node.parents)
    return False


# ----------------------------------------------------------------------------- fit
def fit(model, loss_fn, X, y=None, *, method=None, batch_size=None, epochs=10,
        optimizer=None, lr=None, schedule=None, schedule_per="step", seed=0, shuffle=True,
        drop_last=False, callbacks=(), progress="auto", log_every=1, tol=None, patience=1,
        max_grad_norm=1e8, checkpoint=None, checkpoint_every=1, resume=None,
        device=None) -> History:
    """Train ``model`` by (stochastic / minibatch) gradient descent; return a :class:`History`.

    Parameters
    ----------
    model : any Module (``parameters()``, ``model(X)``, ``state_dict()``/``load_state_dict``).
    loss_fn : ``loss_fn(prediction, target) -> scalar Tensor``, a mean over the batch (so the
        step size means the same thing whatever the batch size).
    X, y : training data (arrays, memory-mapped ``.npy``, or Tensors; samples along axis 0),
        or a ready :class:`~microgradlin.data.BatchIterator` as ``X`` with ``y=None``.
    method : ``"batch"`` (the whole set per step), ``"sgd"`` (one sample) or ``"minibatch"``
        (``batch_size`` samples, default 32). Default: inferred from ``batch_size``.
    epochs : total number of epochs (when resuming, training continues up to this number).
    optimizer, lr : an optimizer, or a learning rate for a plain ``SGD`` (one of the two, or
        a ``schedule``).
    schedule : a callable t -> ε_t (see :mod:`microgradlin.optim.schedules`), applied before
        every step (``schedule_per="step"``, t = global step) or every epoch (``"epoch"``).
    seed : the shuffling seed. The same seed (and the same model initialisation) gives
        bit-identical histories.
    shuffle, drop_last : passed to the batch iterator.
    callbacks : functions ``cb(state)`` called at the end of each epoch, or objects with any
        of ``on_train_begin``, ``on_epoch_begin``, ``on_step_end``, ``on_epoch_end``,
        ``on_train_end`` (each gets a :class:`TrainState`; set ``state.stop = True`` to stop).
    progress : ``"auto"`` (a tqdm bar when tqdm is installed and stderr is a terminal or a
        Jupyter notebook),
        ``True`` (always; a line per epoch without tqdm), ``False`` (silent).
    log_every : record step loss/lr/gradient norm every ``log_every`` steps (each record
        costs one device sync; divergence is checked at recorded steps and every epoch end).
    tol, patience : stop early once the relative change of the epoch loss,
        |L_{e-1} - L_e| / |L_{e-1}|, stays below ``tol`` for ``patience`` epochs in a row.
    max_grad_norm : a gradient norm above this counts as divergence (None: only NaN/inf).
    checkpoint, checkpoint_every : save model, optimizer, progress and history there
        every ``checkpoint_every`` epochs and at the end (atomically; see ``mg.save``).
    resume : a checkpoint path to continue from (model, optimizer, epoch, step, history).
    device : where batches go; default: the model's device.

    Raises
    ------
    DivergenceError
        When the loss becomes NaN/inf or the gradient norm exceeds ``max_grad_norm``; the
        message names the step, the epoch and the learning rate, and suggests a lower one.
    """
    if not callable(getattr(model, "parameters", None)) or not callable(model):
        raise TypeError(f"fit: model must be a Module (callable, with parameters()), got "
                        f"{type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"fit: loss_fn must be callable (prediction, target) -> loss, got "
                        f"{type(loss_fn).__name__}")
    if device is not None:
        model.to(device)  # the parameters move in place: an optimizer over them stays valid
    params = list(model.parameters())
    if not params:
        raise ValueError(f"fit: {type(model).__name__} has no parameters to train")
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
        raise ValueError(f"fit: epochs must be an integer >= 0, got {epochs!r}")
    epochs = int(epochs)
    log_every = int(log_every)
    if log_every < 1:
        raise ValueError(f"fit: log_every must be >= 1, got {log_every}")
    if schedule_per not in ("step", "epoch"):
        raise ValueError(f"fit: schedule_per must be 'step' or 'epoch', got {schedule_per!r}")
    if schedule is not None and not callable(schedule):
        raise TypeError(f"fit: schedule must be a callable t -> lr, got "
                        f"{type(schedule).__name__}")
    if max_grad_norm is not None and not (
            isinstance(max_grad_norm, numbers.Real) and max_grad_norm > 0):
        raise ValueError(f"fit: max_grad_norm must be a number > 0 (or None), got "
                         f"{max_grad_norm!r}")
    if tol is not None and not tol >= 0:
        raise ValueError(f"fit: tol must be >= 0, got {tol!r}")
    patience = int(patience)
    if patience < 1:
        raise ValueError(f"fit: patience must be >= 1, got {patience}")
    checkpoint_every = int(checkpoint_every)
    if checkpoint_every < 1:
        raise ValueError(f"fit: checkpoint_every must be >= 1, got {checkpoint_every}")
    if callbacks is None:
        callbacks = ()
    if callable(callbacks) or not isinstance(callbacks, (list, tuple)):
        callbacks = [callbacks]
    callbacks = list(callbacks)
    for cb in callbacks:
        if not (callable(cb) or any(callable(getattr(cb, hook, None)) for hook in _HOOKS)):
            raise TypeError(f"fit: a callback must be a function cb(state) or an object with "
                            f"any of {', '.join(_HOOKS)}, got {cb!r}")

    # ---- the optimizer
    if optimizer is None:
        if lr is not None and schedule is not None:
            raise ValueError("fit: pass the learning rate either as lr= or through the "
                             "schedule, not both")
        if lr is None and schedule is None:
            raise ValueError("fit: pass lr= (the step size ε), a schedule=, or an optimizer=")
        optimizer = SGD(params, lr=lr if lr is not None else schedule(0))
    else:
        if lr is not None:
            raise ValueError("fit: pass lr= only without an optimizer (the optimizer has its "
                             "own lr; set optimizer.lr instead)")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"fit: optimizer must be a microgradlin.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        owned = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if not any(id(p) in owned for p in params):
            raise ValueError("fit: the optimizer holds none of the model's parameters (was it "
                             "built for another model?)")

    # ---- the data
    if isinstance(X, BatchIterator):
        if y is not None:
            raise ValueError("fit: with a BatchIterator as X, pass y=None (it yields both)")
        if method is not None or batch_size is not None:
            raise ValueError("fit: with a BatchIterator as X, its own batch_size is used; "
                             "drop method=/batch_size=")
        data = X
    else:
        if y is None:
            raise ValueError("fit: y (the targets) is required")
        method, batch_size = _resolve_method(method, batch_size)
        dtype = params[0].dtype if params[0].dtype.kind == "f" else None
        data = BatchIterator(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed,
                             drop_last=drop_last, device=device or params[0].device,
                             dtype=dtype)
    steps_per_epoch = len(data)

    # ---- resume
    history = History()
    start_epoch = step = 0
    time_offset = 0.0
    if resume is not None:
        state = _checkpoint.restore(resume, model, optimizer)
        missing = {"epoch", "step", "history"} - set(state)
        if missing:
            raise _checkpoint.CheckpointError(
                f"fit: the checkpoint {os.fspath(resume)!r} has no {sorted(missing)} entries; "
                "it was not written by fit(checkpoint=...)")
        start_epoch, step = int(state["epoch"]), int(state["step"])
        history = History.from_dict(state["history"])
        history.stopped_early, history.stop_reason = False, ""  # this run goes on
        time_offset = history.wall_time[-1] if history.wall_time else 0.0
        saved = state.get("fit", {})
        current = {"n_samples": data.n, "batch_size": data.batch_size, "seed": data.seed}
        changed = {k: (saved[k], v) for k, v in current.items() if k in saved and saved[k] != v}
        if changed:
            warnings.warn(f"fit: resuming {os.fspath(resume)!r} with different settings "
                          f"(saved, now): {changed}; the run will not match an uninterrupted "
                          "one", stacklevel=2)

    def save_checkpoint(epoch_done):
        _checkpoint.save({
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "epoch": epoch_done, "step": step,
            "history": {k: (np.asarray(v, dtype=np.int64 if k == "steps" else np.float64)
                            if isinstance(v, list) else v)
                        for k, v in history.to_dict().items()},
            "fit": {"n_samples": data.n, "batch_size": data.batch_size, "seed": data.seed},
        }, checkpoint)

    # ---- the loop
    xp = backend.get_array_module(params[0].data)
    on_host = xp is np
    train_state = TrainState(model=model, optimizer=optimizer, history=history,
                             epoch=start_epoch, step=step)
    bar = _make_progress(progress, steps_per_epoch * max(epochs, start_epoch),
                         steps_per_epoch * start_epoch, epochs)
    step_hooks = [cb for cb in callbacks if hasattr(cb, "on_step_end")]
    checked = False
    calm_epochs = 0
    scheduled = schedule is not None
    t_start = time.perf_counter() - time_offset
    try:
        _call(callbacks, "on_train_begin", train_state)
        for epoch in range(start_epoch, epochs):
            t_epoch = time.perf_counter()
            train_state.epoch = epoch
            data.set_epoch(epoch)
            if scheduled and schedule_per == "epoch":
                optimizer.lr = schedule(epoch)
            _call(callbacks, "on_epoch_begin", train_state)
            loss_sum = 0.0  # Σ n_b·L_b over the batches whose loss was fetched
            unlogged = 0.0  # the same, on the device, for the others (fetched once)
            seen = 0
            for batch in data:
                xb, yb = batch if isinstance(batch, tuple) else (batch, None)
                if scheduled and schedule_per == "step":
                    optimizer.lr = schedule(step)
                optimizer.zero_grad()
                pred = model(xb)
                loss = loss_fn(pred, yb)
                if not checked:
                    _check_loss(loss, pred, yb)
                    if (yb is not None and tuple(pred.shape) == (*yb.shape, 1)
                            and _has_square_intermediate(loss, yb.shape[0])):
                        warnings.warn(
                            f"fit: the model's output has shape {tuple(pred.shape)} but the "
                            f"target has shape {tuple(yb.shape)}; a loss such as "
                            "((pred - y)**2).mean() broadcasts them to a square matrix. "
                            "Reshape y to a column (y.reshape(-1, 1)) or flatten the "
                            "prediction", stacklevel=2)
                    checked = True
                loss.backward()
                n_b = xb.shape[0]
                seen += n_b
                if step % log_every == 0:
                    lr_now = optimizer.lr
                    value, grad_norm = _fetch(loss.data, params, xp)
                    loss_sum += value * n_b
                    history.steps.append(step)
                    history.step_loss.append(value)
                    history.lr.append(lr_now)
                    history.grad_norm.append(grad_norm)
                    if not (math.isfinite(value) and math.isfinite(grad_norm)) or (
                            max_grad_norm is not None and grad_norm > max_grad_norm):
                        raise _divergence(step, epoch, lr_now, value, grad_norm,
                                          max_grad_norm or math.inf, scheduled)
                elif on_host:
                    loss_sum += float(loss.data) * n_b  # free on the host
                else:
                    unlogged = unlogged + loss.data.astype(xp.float64) * n_b  # no sync
                optimizer.step()
                step += 1
                if bar is not None:
                    bar.update(1)
                if step_hooks:
                    train_state.step, train_state.batch_loss = step, loss
                    _call(step_hooks, "on_step_end", train_state)
            if not isinstance(unlogged, float):
                loss_sum += float(backend.to_numpy(unlogged))
            epoch_loss = loss_sum / seen
            if not math.isfinite(epoch_loss):
                raise _divergence(step - 1, epoch, optimizer.lr, epoch_loss, math.nan,
                                  max_grad_norm or math.inf, scheduled)
            now = time.perf_counter()
            history.epoch_loss.append(epoch_loss)
            history.epoch_time.append(now - t_epoch)
            history.wall_time.append(now - t_start)
            train_state.step = step
            if bar is not None:
                bar.epoch_end(epoch, epoch_loss, now - t_epoch)
            _call(callbacks, "on_epoch_end", train_state)
            if tol is not None and len(history.epoch_loss) >= 2:
                prev = history.epoch_loss[-2]
                change = abs(prev - epoch_loss) / max(abs(prev), 1e-300)
                calm_epochs = calm_epochs + 1 if change < tol else 0
                if calm_epochs >= patience:
                    history.stopped_early = True
                    history.stop_reason = (f"the relative change of the epoch loss "
                                           f"({change:.3g}) stayed below tol={tol} for "
                                           f"{patience} epoch(s)")
            if train_state.stop and not history.stopped_early:
                history.stopped_early = True
                history.stop_reason = "a callback asked to stop"
            last = epoch + 1 == epochs or history.stopped_early
            if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or last):
                save_checkpoint(epoch + 1)
            if history.stopped_early:
                break
        _call(callbacks, "on_train_end", train_state)
    finally:
        if bar is not None:
            bar.close()
    return history
