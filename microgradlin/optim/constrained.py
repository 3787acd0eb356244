"""Constrained and composite problems: projected and proximal gradient descent.

*Projected GD* solves min f(w) s.t. w ∈ C for a closed convex set C: a gradient step, then
the Euclidean projection back onto C (the lecture's P_C(x) = argmin_{y ∈ C} ‖y - x‖)::

    w ← P_C(w - ε ∇f(w))

*Proximal GD* solves min f(w) + g(w) for a smooth f and a convex, possibly non-smooth g
(an ℓ1 penalty, say): a gradient step on f, then the proximal operator of g::

    w ← prox_{εg}(w - ε ∇f(w)),   prox_{εg}(x) = argmin_y  g(y) + ‖y - x‖² / (2ε)

A projection is the prox of the set's indicator function, so projected GD is a special case.
Both converge to the global minimum for convex f with ε < 2/L (L the Lipschitz constant of
∇f), like plain gradient descent.

Every projection and prox below is a small function on arrays (NumPy or CuPy, chosen from
the data) or Tensors (the result is a Tensor outside the graph).
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from .. import backend
from ..tensor import Tensor, bump_version
from .optimizers import Optimizer, _nonnegative

__all__ = [
    "ProjectedGD", "ProximalGD",
    "project_l2_ball", "project_box", "project_nonnegative", "project_simplex",
    "prox_l1", "prox_l2",
]


def _unwrap(x, who):
    if isinstance(x, Tensor):
        return x.data, True
    if isinstance(x, np.ndarray) or backend.is_device_array(x):
        return x, False
    if isinstance(x, (list, tuple, float, int)):
        return np.asarray(x, dtype=np.float64), False
    raise TypeError(f"{who}: expected an array or a Tensor, got {type(x).__name__}")


def _wrap(data, was_tensor):
    return Tensor._make(data, None, False, [0]) if was_tensor else data


def _check_float(data, who):
    if data.dtype.kind != "f":
        raise TypeError(f"{who}: expected floating-point values, got dtype {data.dtype}")


# ----------------------------------------------------------------------------- projections
def project_l2_ball(x, radius: float = 1.0, axis=None):
    """Projection onto the ℓ2 ball {y : ‖y‖₂ ≤ r}:  P(x) = x · min(1, r / ‖x‖₂).

    Points inside stay where they are; points outside are scaled back onto the sphere along
    the ray to the origin. ``axis=None`` treats the whole array as one vector; an integer
    ``axis`` projects each slice along it onto its own ball (e.g. ``axis=1`` bounds the norm
    of every row of a weight matrix).
    """
    data, was_tensor = _unwrap(x, "project_l2_ball")
    _check_float(data, "project_l2_ball")
    radius = float(radius)
    if not radius > 0:
        raise ValueError(f"project_l2_ball: radius must be > 0, got {radius!r}")
    xp = backend.get_array_module(data)
    if not data.size:
        return _wrap(data.copy(), was_tensor)
    with np.errstate(over="ignore"):
        norm = xp.sqrt((data * data).sum(axis=axis, keepdims=True))
    tiny = np.finfo(data.dtype).tiny
    host = isinstance(data, np.ndarray)
    if not host or not (np.isfinite(norm).all() and (norm >= tiny).all()):
        # Σx² overflowed (|x| ≳ 1e154, 1e19 in float32: a far-away point would land at 0,
        # not on the sphere) or underflowed (|x| ≲ 1e-154: a tiny point outside a tiny ball
        # would stay): there ‖x‖ = s ‖x / s‖ with s = max|x| (on a device computed always
        # and picked where needed, rather than reading a check back)
        scale = xp.abs(data).max(axis=axis, keepdims=True)
        scale = xp.where(scale > 0, scale, 1)
        scaled = data / scale
        safe = scale * xp.sqrt((scaled * scaled).sum(axis=axis, keepdims=True))
        norm = xp.where(xp.isinf(norm) | (norm < tiny), safe, norm)
    factor = radius / xp.maximum(norm, radius)  # = min(1, r/‖x‖), with no 0/0 at x = 0
    return _wrap(data * factor.astype(data.dtype), was_tensor)


def project_box(x, lower=-np.inf, upper=np.inf):
    """Projection onto the box {y : lower ≤ y ≤ upper} (elementwise):  P(x) = clip(x, l, u).

    The box is a product of intervals, so the nearest point is found coordinate by
    coordinate. ``lower`` and ``upper`` are numbers or arrays broadcastable to ``x``.
    """
    data, was_tensor = _unwrap(x, "project_box")
    _check_float(data, "project_box")
    lo = backend.to_numpy(lower.data if isinstance(lower, Tensor) else lower)
    hi = backend.to_numpy(upper.data if isinstance(upper, Tensor) else upper)
    if np.any(np.asarray(lo) > np.asarray(hi)):
        raise ValueError(f"project_box: the box is empty: lower {lower!r} > upper {upper!r} "
                         "somewhere")
    xp = backend.get_array_module(data)
    device = backend.device_of(data)

    def bound(b):
        b = np.asarray(b, dtype=data.dtype)
        if b.ndim == 0:
            return b.item()  # a Python number: NumPy and CuPy both accept it, dtype kept
        return b if device == "cpu" else backend.to_device(b, device)

    return _wrap(xp.clip(data, bound(lo), bound(hi)), was_tensor)


def project_nonnegative(x):
    """Projection onto the non-negative orthant {y : y ≥ 0}:  P(x) = max(x, 0) (elementwise)."""
    data, was_tensor = _unwrap(x, "project_nonnegative")
    _check_float(data, "project_nonnegative")
    xp = backend.get_array_module(data)
    return _wrap(xp.maximum(data, data.dtype.type(0)), was_tensor)


def project_simplex(x, total: float = 1.0, axis: int = -1):
    """Projection onto the simplex {y : y ≥ 0, Σᵢ yᵢ = s} (s = ``total``; s = 1 gives the
    probability simplex), along ``axis`` (each row of a matrix is projected separately).

    The solution has the form P(x) = max(x - θ, 0) for the threshold θ that makes the result
    sum to s. Sort-based algorithm (Held et al. 1974; Duchi et al. 2008), O(n log n):

    1. sort x in decreasing order: u₁ ≥ u₂ ≥ ... ≥ uₙ
    2. ρ = max{ j : u_j - (Σ_{k≤j} u_k - s) / j > 0 }   (the number of positive outputs)
    3. θ = (Σ_{k≤ρ} u_k - s) / ρ,   P(x) = max(x - θ, 0)
    """
    data, was_tensor = _unwrap(x, "project_simplex")
    _check_float(data, "project_simplex")
    total = float(total)
    if not total > 0:
        raise ValueError(f"project_simplex: total must be > 0, got {total!r}")
    if data.ndim == 0:
        raise ValueError("project_simplex: expected at least one axis, got a 0-d array")
    xp = backend.get_array_module(data)
    moved = xp.moveaxis(data, axis, -1)
    n = moved.shape[-1]
    u = -xp.sort(-moved, axis=-1)  # decreasing
    cumsum = xp.cumsum(u, axis=-1) - total  # Σ_{k≤j} u_k - s
    j = xp.arange(1, n + 1, dtype=data.dtype)
    positive = u - cumsum / j > 0  # True for j = 1..ρ, then False
    rho = positive.sum(axis=-1, keepdims=True)  # ≥ 1 always: u₁ - (u₁ - s) = s > 0
    theta = xp.take_along_axis(cumsum, rho - 1, axis=-1) / rho.astype(data.dtype)
    out = xp.maximum(moved - theta, data.dtype.type(0))
    return _wrap(xp.moveaxis(out, -1, axis), was_tensor)


_PROJECTIONS = {
    "l2_ball": project_l2_ball,
    "box": project_box,
    "nonnegative": project_nonnegative,
    "simplex": project_simplex,
}


# ----------------------------------------------------------------------------- proxes
def prox_l1(x, step: float, lam: float):
    """Prox of g(w) = λ‖w‖₁ with step ε: the soft threshold (the lasso's step)

        prox(x)ᵢ = sign(xᵢ) · max(|xᵢ| - ελ, 0)

    Coordinates with |xᵢ| ≤ ελ become exactly 0: that is how proximal GD finds sparse
    solutions, which a plain subgradient step never does.
    """
    data, was_tensor = _unwrap(x, "prox_l1")
    _check_float(data, "prox_l1")
    threshold = float(step) * float(lam)
    if threshold < 0:
        raise ValueError(f"prox_l1: step·lam must be >= 0, got {step!r}·{lam!r}")
    xp = backend.get_array_module(data)
    shrunk = xp.maximum(xp.abs(data) - data.dtype.type(threshold), data.dtype.type(0))
    return _wrap(xp.sign(data) * shrunk, was_tensor)


def prox_l2(x, step: float, lam: float):
    """Prox of g(w) = (λ/2)‖w‖₂² with step ε (ridge):  prox(x) = x / (1 + ελ).

    Setting the gradient of (λ/2)‖y‖² + ‖y - x‖²/(2ε) to zero gives λy + (y - x)/ε = 0. It
    shrinks every coordinate by the same factor and never makes one exactly 0.
    """
    data, was_tensor = _unwrap(x, "prox_l2")
    _check_float(data, "prox_l2")
    factor = 1.0 + float(step) * float(lam)
    if factor <= 0:
        raise ValueError(f"prox_l2: 1 + step·lam must be > 0, got {step!r}·{lam!r}")
    return _wrap(data / data.dtype.type(factor), was_tensor)


_PROXES = {"l1": prox_l1, "l2": prox_l2}


# ----------------------------------------------------------------------------- optimizers
def _assign(p, new, who):
    """Write the new iterate into the parameter's array in place; bump its version."""
    if isinstance(new, Tensor):
        new = new.data
    if tuple(new.shape) != tuple(p.shape):
        raise ValueError(f"{who}.step: the projection/prox returned shape {tuple(new.shape)} "
                         f"for a parameter of shape {tuple(p.shape)}")
    p.data[...] = new
    bump_version(p)


def _resolve_projection(project, kwargs):
    if project is None or callable(project):
        if kwargs:
            raise TypeError(f"ProjectedGD: keyword arguments {sorted(kwargs)} are only used "
                            "with a projection given by name, e.g. project='l2_ball', radius=2")
        return project
    if isinstance(project, str) and project in _PROJECTIONS:
        fn = _PROJECTIONS[project]
        try:  # misspelt options fail now, not at the first step()
            inspect.signature(fn).bind(None, **kwargs)
        except TypeError as exc:
            raise TypeError(f"ProjectedGD: project={project!r} takes "
                            f"{list(inspect.signature(fn).parameters)[1:]}, got {sorted(kwargs)} "
                            f"({exc})") from None
        return functools.partial(fn, **kwargs) if kwargs else fn
    raise ValueError(f"ProjectedGD: unknown projection {project!r}; expected a callable "
                     f"x -> P_C(x) or one of {sorted(_PROJECTIONS)}")


class ProjectedGD(Optimizer):
    """Projected gradient descent:  w ← P_C(w - ε ∇f(w)).

    ``project`` is a function array -> array (its projection P_C, applied to each parameter
    after the gradient step), ``None`` (no constraint, e.g. for a bias in a parameter
    group), or a name with its keyword arguments::

        ProjectedGD(model.parameters(), lr=0.1, project="l2_ball", radius=2.0)
        ProjectedGD(params, lr=0.1, project="box", lower=0.0, upper=1.0)
        ProjectedGD(params, lr=0.1, project="nonnegative")
        ProjectedGD(params, lr=0.1, project="simplex")        # each row sums to 1
        ProjectedGD([{"params": [w]}, {"params": [b], "project": None}], lr=0.1,
                    project="simplex")

    Every iterate after the first ``step()`` lies in C (the starting point need not).
    """

    _structural = ("project",)

    def __init__(self, params, lr=0.01, project=None, **kwargs):
        super().__init__(params, {"lr": lr, "project": _resolve_projection(project, kwargs)})

    def _check_group(self, group):
        group["project"] = _resolve_projection(group["project"], {})

    def step(self, closure=None):
        loss = None if closure is None else self._closure(closure)
        for group in self.param_groups:
            lr = group["lr"]
            project = group["project"]
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                new = p.data - lr * grad.data  # the gradient step
                if project is not None:
                    new = project(new)  # back onto C
                _assign(p, new, type(self).__name__)
        return loss


class ProximalGD(Optimizer):
    """Proximal gradient descent (ISTA for the lasso):  w ← prox_{εg}(w - ε ∇f(w)).

    The loss given to ``backward()`` is the smooth part f only; the non-smooth part g is
    handled by ``prox``: ``"l1"`` (g = λ‖w‖₁, soft threshold), ``"l2"`` (g = (λ/2)‖w‖²),
    with λ = ``lam``, a function ``prox(x, step) -> array``, or ``None`` (no prox, e.g. for
    a bias in its own parameter group)::

        ProximalGD([{"params": [model.weight]}, {"params": [model.bias], "prox": None}],
                   lr=0.1, prox="l1", lam=0.05)
    """

    _structural = ("prox",)

    def __init__(self, params, lr=0.01, prox="l1", lam=0.0):
        super().__init__(params, {"lr": lr, "prox": prox, "lam": lam})

    def _check_group(self, group):
        prox = group["prox"]
        if not (prox is None or callable(prox) or prox in _PROXES):
            raise ValueError(f"ProximalGD: unknown prox {prox!r}; expected a callable "
                             f"(x, step) -> array, None, or one of {sorted(_PROXES)}")
        group["lam"] = _nonnegative(group["lam"], "lam", "ProximalGD")

    def step(self, closure=None):
        loss = None if closure is None else self._closure(closure)
        for group in self.param_groups:
            lr = group["lr"]
            prox = group["prox"]
            lam = group["lam"]
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                new = p.data - lr * grad.data  # gradient step on the smooth part f
                if isinstance(prox, str):
                    new = _PROXES[prox](new, lr, lam)  # prox of the non-smooth part g
                elif prox is not None:
                    new = prox(new, lr)
                _assign(p, new, type(self).__name__)
        return loss
