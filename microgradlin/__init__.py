"""microgradlin: a small, readable reverse-mode autodiff engine for linear networks.

>>> import microgradlin as mg
>>> w = mg.tensor([1.0, -2.0], requires_grad=True)
>>> loss = ((w * w).sum() - 1) ** 2
>>> loss.backward()
>>> w.grad
tensor([ 16., -32.])
"""

from numpy import bool_, float16, float32, float64, int32, int64  # dtype aliases

from .tensor import Tensor  # noqa: I001  (first: the core modules import it)
from . import backend, cuda
from .autograd import enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled
from .factory import arange, full, ones, ones_like, tensor, zeros, zeros_like
from .gradcheck import GradcheckError, gradcheck, hessian
from .ops import (
    abs,
    cat,
    concatenate,
    exp,
    log,
    logsumexp,
    matmul,
    maximum,
    minimum,
    relu,
    sigmoid,
    sqrt,
    stack,
    tanh,
    where,
)
from . import functional, models, optim, data  # noqa: E402  (the layers above the core)
from .checkpoint import load, save  # noqa: E402
from .train import fit  # noqa: E402
from . import viz, plot  # noqa: E402  (graphviz / matplotlib are imported only when used)
from .viz import trace_backward  # noqa: E402

__version__ = "0.1.0"

bool = bool_  # noqa: A001 - mg.bool as in torch.bool

__all__ = [
    "Tensor", "tensor", "zeros", "ones", "full", "zeros_like", "ones_like", "arange",
    "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "gradcheck", "GradcheckError", "hessian",
    "maximum", "minimum", "where", "concatenate", "cat", "stack", "matmul",
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "logsumexp",
    "float16", "float32", "float64", "int32", "int64", "bool", "backend", "cuda",
    "functional", "models", "optim", "data", "viz", "plot", "fit", "save", "load",
    "trace_backward",
]
