"""Step-size schedules ε_t: callables ``schedule(t) -> lr`` for t = 0, 1, 2, ...

The lecture's convergence condition for (stochastic) gradient descent is Robbins–Monro's:

    Σ_t ε_t = ∞   (steps never get too small to reach the minimum from anywhere)
    Σ_t ε_t² < ∞  (steps shrink fast enough to average the gradient noise away)

Each schedule states in its docstring, and in its attributes ``sum_diverges`` (Σε = ∞),
``sum_of_squares_converges`` (Σε² < ∞) and ``robbins_monro`` (both), whether it meets them.
Only :class:`InverseTime` (with 1/2 < power ≤ 1) does; the others are what practitioners use
with a fixed budget of steps, where "∞" never comes.

Use one with :func:`microgradlin.fit` (``schedule=InverseTime(0.1, tau=100)``), or drive an
optimizer by hand with :class:`LRScheduler`::

    sched = LRScheduler(opt, Cosine(0.1, total_steps=1000))
    for ...:
        ...; opt.step(); sched.step()
"""

from __future__ import annotations

import copy
import math
import numbers

from .optimizers import _check_lr

__all__ = ["Schedule", "Constant", "InverseTime", "StepDecay", "Exponential", "Cosine",
           "LRScheduler"]


def _positive(name, value, who, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {name} must be a number, got {value!r}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and math.isfinite(value)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{who}: {name} must be a finite number {bound}, got {value!r}")
    return value


def _count(name, value, who):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{who}: {name} must be an integer, got {value!r}")
    return int(value)


class Schedule:
    """Base class: ``schedule(t)`` returns the learning rate (a Python float) at step t ≥ 0."""

    sum_diverges: bool = False
    sum_of_squares_converges: bool = False

    @property
    def robbins_monro(self) -> bool:
        """True when Σ ε_t = ∞ and Σ ε_t² < ∞ (the lecture's convergence condition)."""
        return self.sum_diverges and self.sum_of_squares_converges

    def __call__(self, t) -> float:
        if isinstance(t, bool) or not isinstance(t, numbers.Real):
            raise TypeError(f"{type(self).__name__}: step t must be a whole number, got {t!r}")
        if not math.isfinite(t) or int(t) != t:  # (2.5 would be read as step 2)
            raise ValueError(f"{type(self).__name__}: step t must be a whole number, got {t!r}")
        t = int(t)
        if t < 0:
            raise ValueError(f"{type(self).__name__}: step t must be >= 0, got {t}")
        return float(self.lr_at(t))

    def lr_at(self, t: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def from_lr(self, lr: float) -> Schedule:
        """The same schedule started from another initial rate ε₀ (another param group's):
        every formula here is ε₀ times a decay, except Cosine's floor ε_min, which stays
        where it is (as PyTorch's schedulers treat each group)."""
        other = copy.copy(self)
        other.lr = _positive("lr", lr, f"{type(self).__name__}.from_lr", allow_zero=True)
        return other

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Constant(Schedule):
    """ε_t = ε₀.

    Σε = ∞ but Σε² = ∞ too: **not** Robbins–Monro. Batch gradient descent converges with a
    constant ε < 2/λ_max(H); SGD and minibatch GD only reach a neighbourhood of the minimum
    whose size grows with ε (the gradient noise never averages out).
    """

    def __init__(self, lr: float):
        self.lr = _positive("lr", lr, "Constant", allow_zero=True)
        self.sum_diverges = self.lr > 0
        self.sum_of_squares_converges = self.lr == 0  # only the useless ε = 0

    def lr_at(self, t):
        return self.lr


class InverseTime(Schedule):
    """ε_t = ε₀ / (1 + t/τ)^p   (``power`` p = 1 by default: ε₀/(1 + t/τ)).

    Robbins–Monro exactly when 1/2 < p ≤ 1: Σ 1/t^p diverges for p ≤ 1, and Σ 1/t^{2p}
    converges for p > 1/2. With p = 1 (the classic choice), ε stays near ε₀ for the first
    ~τ steps, then decays like ε₀τ/t.
    """

    def __init__(self, lr: float, tau: float = 1.0, power: float = 1.0):
        self.lr = _positive("lr", lr, "InverseTime")
        self.tau = _positive("tau", tau, "InverseTime")
        self.power = _positive("power", power, "InverseTime")
        self.sum_diverges = self.power <= 1.0
        self.sum_of_squares_converges = self.power > 0.5

    def lr_at(self, t):
        return self.lr / (1.0 + t / self.tau) ** self.power


class StepDecay(Schedule):
    """ε_t = ε₀ · γ^⌊t / s⌋: multiply by γ every s = ``step_size`` steps (PyTorch's StepLR).

    For γ < 1 the sum is geometric, Σε = ε₀ s / (1 - γ) < ∞: **not** Robbins–Monro (the steps
    die out before a far-away minimum is reached). γ = 1 is the constant schedule.
    """

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1):
        self.lr = _positive("lr", lr, "StepDecay")
        self.step_size = _count("step_size", step_size, "StepDecay")
        if self.step_size < 1:
            raise ValueError(f"StepDecay: step_size must be >= 1, got {step_size!r}")
        self.gamma = _positive("gamma", gamma, "StepDecay")
        if self.gamma > 1:
            raise ValueError(f"StepDecay: gamma must be in (0, 1], got {gamma!r}")
        self.sum_diverges = self.gamma == 1.0
        self.sum_of_squares_converges = self.gamma < 1.0

    def lr_at(self, t):
        return self.lr * self.gamma ** (t // self.step_size)


class Exponential(Schedule):
    """ε_t = ε₀ · γ^t (PyTorch's ExponentialLR).

    For γ < 1, Σε = ε₀ / (1 - γ) < ∞ and Σε² = ε₀² / (1 - γ²) < ∞: **not** Robbins–Monro.
    """

    def __init__(self, lr: float, gamma: float):
        self.lr = _positive("lr", lr, "Exponential")
        self.gamma = _positive("gamma", gamma, "Exponential")
        if self.gamma > 1:
            raise ValueError(f"Exponential: gamma must be in (0, 1], got {gamma!r}")
        self.sum_diverges = self.gamma == 1.0
        self.sum_of_squares_converges = self.gamma < 1.0

    def lr_at(self, t):
        return self.lr * self.gamma**t


class Cosine(Schedule):
    """ε_t = ε_min + (ε₀ - ε_min) · (1 + cos(π t / T)) / 2 for t ≤ T, then ε_min
    (PyTorch's CosineAnnealingLR for one half-period; T = ``total_steps``).

    A finite horizon: with ε_min = 0 both Σε and Σε² are finite, with ε_min > 0 both are
    infinite, so it is **never** Robbins–Monro. Popular because it spends the budget well.
    """

    def __init__(self, lr: float, total_steps: int, lr_min: float = 0.0):
        self.lr = _positive("lr", lr, "Cosine")
        self.total_steps = _count("total_steps", total_steps, "Cosine")
        if self.total_steps < 1:
            raise ValueError(f"Cosine: total_steps must be >= 1, got {total_steps!r}")
        self.lr_min = _positive("lr_min", lr_min, "Cosine", allow_zero=True)
        if self.lr_min > self.lr:
            raise ValueError(f"Cosine: lr_min ({lr_min}) must not exceed lr ({lr})")
        self.sum_diverges = self.lr_min > 0
        self.sum_of_squares_converges = self.lr_min == 0

    def lr_at(self, t):
        if t >= self.total_steps:
            return self.lr_min
        cos = math.cos(math.pi * t / self.total_steps)
        return self.lr_min + (self.lr - self.lr_min) * (1.0 + cos) / 2.0


class LRScheduler:
    """Drive an optimizer's learning rate with a schedule, PyTorch-style.

    The schedule gives the learning rate itself (``Cosine(0.1, ...)`` starts at 0.1): on
    construction the first param group's lr is set to ``schedule(0)``, and each ``step()``
    (call it after ``optimizer.step()``) advances t by one and sets it to ``schedule(t)``.

    Other param groups follow the same schedule from their own lr, as PyTorch's schedulers
    treat each group: groups at 0.1 and 1.0 under ``StepDecay(0.1, s, 0.1)`` go to 0.01 and
    0.1 after s steps; under ``Cosine(0.1, T, lr_min)`` both end at lr_min. A plain callable
    ``t -> lr`` scales them as PyTorch's LambdaLR with the factor schedule(t) / lr₀: group k
    gets lr_k · schedule(t) / lr₀, lr₀ the first group's lr when the scheduler was made
    (so a warm-up from 0, or from any small rate, raises every group alike).
    A group added later (``add_param_group``) goes on from its lr with the schedule's decay.
    """

    def __init__(self, optimizer, schedule):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"LRScheduler: optimizer must be an Optimizer, got "
                            f"{type(optimizer).__name__}")
        if not callable(schedule):
            raise TypeError(f"LRScheduler: schedule must be callable t -> lr, got "
                            f"{type(schedule).__name__}")
        self.optimizer = optimizer
        self.schedule = schedule
        self.t = 0
        # each group's lr at t = 0 (PyTorch's initial_lr), and its own schedule
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self._schedules = []
        self._apply()

    def _group_schedule(self, k, base):
        schedule = self.schedule
        if k == 0:
            return schedule
        if isinstance(schedule, Schedule) and hasattr(schedule, "lr"):
            return schedule.from_lr(base)
        ref = self.base_lrs[0]  # LambdaLR's factor: schedule(t) / the first group's lr
        if not ref:
            raise ValueError(
                f"LRScheduler: cannot scale param group {k} by the schedule: the first "
                "group's lr is 0; give it the schedule's peak lr")
        return lambda t: base * (schedule(t) / ref)

    def _apply(self) -> None:
        groups = self.optimizer.param_groups
        for k in range(len(self.base_lrs), len(groups)):  # added since the last step: on
            # from its lr then, as if it had followed the schedule's decay all along
            unit = self._group_schedule(k, 1.0)  # this group's schedule per unit of base lr
            decay = unit(self._applied_t)
            self.base_lrs.append(groups[k]["lr"] / decay if decay else groups[k]["lr"])
        self._schedules += [self._group_schedule(k, self.base_lrs[k])
                            for k in range(len(self._schedules), len(groups))]
        for group, schedule in zip(groups, self._schedules):
            group["lr"] = _check_lr(schedule(self.t), f"LRScheduler (step {self.t})")
        self._applied_t = self.t

    def step(self) -> None:
        self.t += 1
        self._apply()

    def get_last_lr(self) -> list:
        """The current learning rate of each param group (a list, as in PyTorch)."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """The step count and each group's initial lr (so that loading it needs no care
        about the order in which the optimizer's state was loaded)."""
        return {"t": self.t, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict) -> None:
        t = state["t"]
        self.t = int(t.item() if hasattr(t, "item") else t)
        if "base_lrs" in state:
            self.base_lrs = [float(lr) for lr in state["base_lrs"]]
            self._schedules = []
        self._apply()
