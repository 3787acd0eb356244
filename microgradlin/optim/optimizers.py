"""Gradient-descent optimizers with PyTorch's names and semantics: ``Optimizer``, ``SGD``, ``Adam``.

An optimizer holds the parameters it updates in *parameter groups* (dicts with a ``"params"``
list and that group's hyper-parameters) and a per-parameter ``state`` (momentum buffers,
Adam's moment estimates). Training looks like this::

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for X, y in batches:
        opt.zero_grad()               # forget the previous step's gradients
        loss_fn(model(X), y).backward()  # accumulate ∇J into each p.grad
        opt.step()                    # p ← p - ε·(update built from p.grad)

``step()`` works on the raw arrays (``p.data``) in place: nothing is recorded in the graph
(as under ``mg.no_grad()``), and each parameter's version counter is bumped, so a graph that
saved the old value refuses to run ``backward()`` on it. It never copies data to the host:
the learning rate and the other hyper-parameters are Python numbers, and the only loops are
over groups and parameters.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend
from ..autograd import enable_grad
from ..tensor import Tensor, tick

__all__ = ["Optimizer", "SGD", "Adam"]

_SERIALISABLE = (bool, int, float, str, type(None))


def _nonnegative(value, name: str, who: str) -> float:
    """A hyper-parameter as a finite float >= 0 (Python or NumPy numbers, as PyTorch takes)."""
    if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{who}: {name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_lr(lr, who: str) -> float:
    if isinstance(lr, (str, bytes, bool)):  # (float() would parse "0.1"; PyTorch refuses it)
        raise TypeError(f"{who}: lr must be a number, got {type(lr).__name__} {lr!r}")
    try:
        value = float(lr)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: lr must be a number, got {type(lr).__name__} {lr!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{who}: lr must be a finite number >= 0, got {lr!r}")
    return value


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad``, ``state_dict``.

    ``params`` is an iterable of parameter Tensors, or of dicts ``{"params": [...], "lr": ...}``
    (parameter groups, each overriding some of ``defaults``), as in PyTorch. Subclasses
    implement ``step()``.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}  # parameter Tensor -> dict of its buffers (Tensors hash by id)
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors (e.g. "
                "model.parameters() or [w, b]), got a single Tensor; wrap it in a list"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters, with hyper-parameters defaulting to ``defaults``."""
        who = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{who}: a parameter group must be a dict with a 'params' key")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{who}: parameter {i} is a {type(p).__name__}, expected a Tensor"
                )
            if not p.is_leaf:  # (a frozen leaf, requires_grad=False, is skipped: no grad)
                raise ValueError(
                    f"{who}: parameter {i} (shape {tuple(p.shape)}) is computed from other "
                    "tensors (it has a grad_fn); an optimizer can only update leaves, e.g. "
                    "tensors made with requires_grad=True"
                )
            if id(p) in seen:
                raise ValueError(
                    f"{who}: parameter {i} (shape {tuple(p.shape)}) appears twice; each "
                    "parameter may belong to one group only"
                )
            seen.add(id(p))
        full = {**self.defaults, **group, "params": params}
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(
                f"{who}: unknown hyper-parameters {sorted(unknown)} in a parameter group; "
                f"expected some of {sorted(self.defaults)}"
            )
        full["lr"] = _check_lr(full["lr"], who)
        self._check_group(full)
        self.param_groups.append(full)

    def _check_group(self, group: dict) -> None:
        """Validate one group's hyper-parameters (subclasses override)."""

    @property
    def lr(self) -> float:
        """The learning rate of the first group; setting it sets every group's (schedules
        do this)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value) -> None:
        value = _check_lr(value, f"{type(self).__name__}.lr")
        for group in self.param_groups:
            group["lr"] = value

    # ------------------------------------------------------------------ gradients
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradients before the next ``backward()``.

        ``set_to_none=True`` (the default, as in PyTorch) sets ``p.grad = None``: ``step()``
        then skips ``p`` entirely. ``set_to_none=False`` fills existing gradients with zeros
        (parameters without a gradient keep ``None``): ``step()`` then still applies momentum
        and weight decay to ``p``.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                    p._grad_owned = False
                else:
                    # A fresh zero array rather than grad[...] = 0: the grad array may be
                    # shared with another gradient or read-only, so it is never written into.
                    xp = backend.get_array_module(p.data)
                    p._grad = Tensor._make(xp.zeros_like(p.data), None, False, [0])
                    p._grad_owned = True

    def _closure(self, closure):
        with enable_grad():
            return closure()

    def step(self, closure=None):  # pragma: no cover - abstract
        """Update every parameter that has a gradient. ``closure`` (optional) re-evaluates
        the loss and returns it; it is called first, with grad mode on."""
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    # ------------------------------------------------------------------ state
    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict:
        """A host (NumPy) snapshot: ``{"state": {index: {name: array or number}},
        "param_groups": [{hyper-parameters..., "params": [indices]}]}``, PyTorch's layout.

        Parameters are numbered in group order. What defines the problem rather than the
        progress (a projection, a prox) is not saved: it is part of how the optimizer was
        built, and loading keeps the one it was built with.
        """
        index = {id(p): i for i, p in enumerate(self._params())}
        state = {}
        for p, buffers in self.state.items():
            state[index[id(p)]] = {
                k: (backend.to_numpy(v).copy() if not isinstance(v, _SERIALISABLE) else v)
                for k, v in buffers.items()
            }
        groups = []
        for group in self.param_groups:
            saved = {}
            for k, v in group.items():
                if k in self._structural:
                    continue
                if k == "params":
                    saved[k] = [index[id(p)] for p in v]
                elif isinstance(v, _SERIALISABLE):
                    saved[k] = v
                elif isinstance(v, tuple) and all(isinstance(x, _SERIALISABLE) for x in v):
                    saved[k] = v
            groups.append(saved)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore buffers and hyper-parameters saved by ``state_dict()`` (also after a
        round trip through ``mg.save``/``mg.load``: string keys and NumPy arrays are fine).

        The optimizer must have been built over parameters of the same shapes, in the same
        groups. Arrays are moved to each parameter's device and cast to its dtype.
        """
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict)
            raise KeyError(f"{who}: expected a dict with keys 'param_groups' and 'state', "
                           f"got {got}")
        groups = state_dict["param_groups"]
        if isinstance(groups, dict):  # lists come back from some formats as {"0": ...}
            groups = [groups[k] for k in sorted(groups, key=int)]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{who}: the state has {len(groups)} parameter groups, this "
                             f"optimizer has {len(self.param_groups)}")
        params = self._params()
        for gi, (saved, group) in enumerate(zip(groups, self.param_groups)):
            n_saved = len(saved.get("params", ()))
            if n_saved != len(group["params"]):
                raise ValueError(f"{who}: group {gi} holds {n_saved} parameters in the state "
                                 f"but {len(group['params'])} in this optimizer")
        new_state = {}
        for key, buffers in state_dict["state"].items():
            try:
                i = int(key)
                p = params[i]
            except (ValueError, IndexError):
                raise KeyError(f"{who}: state for parameter {key!r}, but this optimizer has "
                               f"parameters 0..{len(params) - 1}") from None
            new_state[p] = self._restore_buffers(p, i, dict(buffers), who)
        for saved, group in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k == "params" or k in self._structural:
                    continue
                if k not in self.defaults:
                    raise KeyError(f"{who}: unknown hyper-parameter {k!r}; expected some of "
                                   f"{sorted(self.defaults)}")
                if isinstance(self.defaults[k], tuple):
                    v = tuple(float(x) for x in v)
                elif hasattr(v, "item"):  # a 0-d NumPy array from a checkpoint
                    v = v.item()
                group[k] = v
            group["lr"] = _check_lr(group["lr"], who)
            self._check_group(group)
        self.state = new_state

    # Group entries that describe the problem, not the progress: never saved or loaded.
    _structural: tuple = ()

    # Which buffers each parameter's state holds: name -> "array" (shaped like the
    # parameter) or "int" (a step count). Subclasses fill it.
    _buffers: dict = {}

    def _restore_buffers(self, p, i, buffers, who):
        expected = set(self._buffers)
        if set(buffers) != expected:
            raise KeyError(f"{who}: parameter {i} has state {sorted(buffers)}, expected "
                           f"{sorted(expected)}")
        out = {}
        for name, kind in self._buffers.items():
            value = buffers[name]
            if kind == "int":
                out[name] = int(value.item() if hasattr(value, "item") else value)
                continue
            host = backend.to_numpy(value.data if isinstance(value, Tensor) else value)
            if tuple(host.shape) != tuple(p.shape):
                raise ValueError(f"{who}: {name!r} of parameter {i} has shape "
                                 f"{tuple(host.shape)} but the parameter has shape "
                                 f"{tuple(p.shape)}")
            out[name] = backend.to_device(host.astype(p.dtype, copy=True), p.device)
        return out

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            hyper = ", ".join(f"{k}={v!r}" for k, v in group.items()
                              if k != "params" and not callable(v))
            lines.append(f"  group {i}: {len(group['params'])} params, {hyper}")
        return "\n".join(lines) + "\n)"


_ndarray = np.ndarray
_FLOAT64 = np.dtype(np.float64)


def _subtract_in_place(p, delta, who, scale=None):
    """``p.data -= delta`` (``scale * delta`` if a scale is given) on the parameter's own
    array; stamp its version (``bump_version``, inlined: it runs for every parameter at every
    step)."""
    data = p.data
    try:
        if scale is None:
            data -= delta
        elif not data.ndim and data.__class__ is _ndarray and data.dtype is _FLOAT64:
            # a 0-d float64 parameter (a bias): in Python floats, the same IEEE arithmetic
            # at a tenth of the cost of NumPy's 0-d array and scalar paths
            data[()] = float(data) - float(scale) * float(delta)
        else:
            data -= scale * delta
    except ValueError:
        if not getattr(p.data.flags, "writeable", True):  # CuPy arrays have no such flag
            raise _read_only_error(who, p) from None
        raise
    p._vc[0] = tick()


def _read_only_error(who, p):
    return ValueError(
        f"{who}.step: parameter of shape {tuple(p.shape)} holds a read-only array and cannot "
        "be updated in place; give it a writeable copy (p.data = p.data.copy())"
    )


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and L2 decay.

    For each parameter p with gradient g = ∇_p J (PyTorch's update, step t ≥ 1):

    - weight decay λ:   g ← g + λ p
    - momentum μ:       b ← μ b + g   (b ← g at the first step);  d = b, or d = g + μ b with
      ``nesterov=True``;  without momentum d = g
    - update:           p ← p - ε d

    With ``momentum=0`` this is the lecture's rule w_{t+1} = w_t - ε_t ∇_w J, whatever the
    batch the gradient came from (the whole set, one sample, or a minibatch).
    """

    _buffers = {"momentum_buffer": "array"}

    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov,
                                  "weight_decay": weight_decay})

    def _check_group(self, group):
        for name in ("momentum", "weight_decay"):
            group[name] = _nonnegative(group[name], name, "SGD")
        group["nesterov"] = bool(group["nesterov"])
        if group["nesterov"] and group["momentum"] <= 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0 (as in PyTorch)")

    def step(self, closure=None):
        loss = None if closure is None else self._closure(closure)
        state = self.state
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            weight_decay = group["weight_decay"]
            nesterov = group["nesterov"]
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue  # no gradient: not updated at all (PyTorch skips it too)
                g = grad.data  # never written into: it may be shared or read-only
                if weight_decay:
                    g = g + weight_decay * p.data  # ∇(λ/2 ‖p‖²) = λ p
                if momentum:
                    buffers = state.get(p)
                    if buffers is None:
                        # first step: b = g (a copy we own, always an array, even 0-d)
                        buf = backend.get_array_module(p.data).array(g)
                        state[p] = {"momentum_buffer": buf}
                    else:
                        buf = buffers["momentum_buffer"]
                        buf *= momentum  # b ← μ b + g, in place
                        buf += g
                    g = g + momentum * buf if nesterov else buf
                data = p.data  # p ← p - ε d, in place (_subtract_in_place's usual case, inlined)
                if data.__class__ is _ndarray and data.ndim:
                    try:
                        data -= lr * g
                    except ValueError:
                        if not data.flags.writeable:
                            raise _read_only_error("SGD", p) from None
                        raise
                    p._vc[0] = tick()
                else:
                    _subtract_in_place(p, g, "SGD", lr)
        return loss


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction, as ``torch.optim.Adam``.

    For each parameter p with gradient g at step t = 1, 2, ... (β₁, β₂ = ``betas``):

    - weight decay λ (L2, added to the gradient): g ← g + λ p
    - first moment:   m ← β₁ m + (1 - β₁) g
    - second moment:  v ← β₂ v + (1 - β₂) g²
    - bias-corrected: m̂ = m / (1 - β₁ᵗ),  v̂ = v / (1 - β₂ᵗ)
    - update:         p ← p - ε m̂ / (√v̂ + eps)

    At t = 1, m̂ = g and v̂ = g², so the first step moves each coordinate by about ε·sign(g).
    """

    _buffers = {"step": "int", "exp_avg": "array", "exp_avg_sq": "array"}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay})

    def _check_group(self, group):
        betas = tuple(float(b) for b in group["betas"])
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {group['betas']!r}")
        group["betas"] = betas
        for name in ("eps", "weight_decay"):
            group[name] = _nonnegative(group[name], name, "Adam")

    def step(self, closure=None):
        loss = None if closure is None else self._closure(closure)
        state = self.state
        for group in self.param_groups:
            lr = group["lr"]
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                g = grad.data
                if weight_decay:
                    g = g + weight_decay * p.data
                s = state.get(p)
                if s is None:
                    xp = backend.get_array_module(p.data)
                    s = {"step": 0, "exp_avg": xp.zeros_like(p.data),
                         "exp_avg_sq": xp.zeros_like(p.data)}
                    state[p] = s
                s["step"] += 1
                t = s["step"]
                m = s["exp_avg"]
                v = s["exp_avg_sq"]
                m *= beta1  # m ← β₁ m + (1 - β₁) g
                m += (1.0 - beta1) * g
                v *= beta2  # v ← β₂ v + (1 - β₂) g²
                v += (1.0 - beta2) * (g * g)
                # Host-side scalars (t is a Python int): no device synchronisation.
                bias1 = 1.0 - beta1**t
                sqrt_bias2 = math.sqrt(1.0 - beta2**t)
                denom = v**0.5
                denom /= sqrt_bias2
                denom += eps  # √v̂ + eps
                update = m / denom
                update *= lr / bias1  # ε m̂ / (√v̂ + eps)
                _subtract_in_place(p, update, "Adam")
        return loss
