"""``Module``: the small base class of every model, and ``Linear``, the affine layer."""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor, bump_version


class Module:
    """A model: holds parameters (leaf Tensors with ``requires_grad=True``) and sub-modules.

    Subclasses define ``forward(x)``; ``model(x)`` calls it. Attributes that are parameter
    Tensors or Modules are found automatically, in attribute order, as in PyTorch.
    """

    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __setattr__(self, name, value):
        # A tensor that requires grad when assigned is a parameter for good: freezing it later
        # (requires_grad_(False)) keeps it in parameters() and state_dict(), as in PyTorch.
        if isinstance(value, Tensor) and value.requires_grad and value.is_leaf:
            self.__dict__.setdefault("_parameter_names", set()).add(name)
        object.__setattr__(self, name, value)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def named_parameters(self, prefix=""):
        """(name, parameter) pairs, sub-modules' names dotted (``"linear.weight"``)."""
        seen = set()
        registered = self.__dict__.get("_parameter_names", ())
        for name, value in vars(self).items():
            if isinstance(value, Tensor) and value.is_leaf and (
                    value.requires_grad or name in registered):
                if id(value) not in seen:
                    seen.add(id(value))
                    yield prefix + name, value
            elif isinstance(value, Module):
                for sub_name, p in value.named_parameters(prefix + name + "."):
                    if id(p) not in seen:
                        seen.add(id(p))
                        yield sub_name, p

    def parameters(self):
        """The trainable tensors, in a fixed order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients (``grad = None``, as PyTorch does by default)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor(backend.get_array_module(p.data).zeros_like(p.data))

    def state_dict(self) -> dict:
        """Parameter name -> a copy of its array (NumPy, on the host)."""
        return {name: backend.to_numpy(p.data).copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays from ``state`` into the parameters (shapes must match)."""
        params = dict(self.named_parameters())
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        if strict and (missing or unexpected):
            raise KeyError(
                f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        for name, p in params.items():
            if name not in state:
                continue
            value = state[name]
            value = np.asarray(backend.to_numpy(value.data if isinstance(value, Tensor) else value))
            if value.shape != tuple(p.shape):
                raise ValueError(
                    f"load_state_dict for {type(self).__name__}: {name!r} has shape "
                    f"{value.shape} in the state but {tuple(p.shape)} in the model"
                )
            p.data = backend.to_device(value.astype(p.dtype), p.device)
            bump_version(p)

    def to(self, device) -> Module:
        """Move every parameter to ``device`` in place (the same Tensor objects)."""
        for p in self.parameters():
            p.data = backend.to_device(p.data, device)
            p.grad = None
        return self

    @property
    def device(self) -> str:
        params = self.parameters()
        return params[0].device if params else "cpu"

    def __repr__(self):
        shapes = ", ".join(f"{n}: {tuple(p.shape)}" for n, p in self.named_parameters())
        return f"{type(self).__name__}({shapes})"


class Linear(Module):
    """Affine map y = x Wᵀ + b, with W of shape (out_features, in_features) as in PyTorch.

    Initialised from U(-1/√in, 1/√in) (PyTorch's default) with a NumPy generator seeded by
    ``seed``, so two models built with the same seed are identical.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, seed=None,
                 dtype=np.float64, device=None):
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral):
                raise TypeError(f"Linear: {what} must be an integer, got {n!r}")
        if in_features <= 0 or out_features <= 0:
            raise ValueError(
                f"Linear: in_features and out_features must be positive, got "
                f"{in_features} and {out_features}"
            )
        in_features, out_features = int(in_features), int(out_features)
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(in_features)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Tensor(rng.uniform(-bound, bound, (out_features, in_features)),
                             dtype=dtype, requires_grad=True, name="weight", device=device)
        self.bias = (Tensor(rng.uniform(-bound, bound, out_features), dtype=dtype,
                            requires_grad=True, name="bias", device=device)
                     if bias else None)

    def forward(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=self.weight.dtype, device=self.weight.device)
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(
                f"Linear: input has shape {tuple(x.shape)} but the layer expects "
                f"(..., {self.in_features}) features"
            )
        out = x @ self.weight.T
        return out + self.bias if self.bias is not None else out
