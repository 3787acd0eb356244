"""Feature maps Φ: the fixed, predefined features φ_j(x) of the lecture's perceptron.

The lecture's perceptron classifies with y = g(wᵀΦ(x)), Φ(x) = [1, φ_1(x), φ_2(x), ...]ᵀ.
The constant φ_0(x) = 1 (which makes w[0] the bias) is added by the *models*; a feature map
here returns only φ_1, φ_2, ... A linear model on Φ(x) is still linear in w, so everything
the lecture proves (convexity, the perceptron convergence theorem) still holds, but its
decision boundary may be curved in x: XOR becomes separable with the product x_1 x_2
(slide "Limitations of linear classification").

Both maps work on NumPy/CuPy arrays and on Tensors (built with Tensor ops, so a gradient can
flow through them if anyone needs one); rows are samples.

>>> import numpy as np
>>> PolynomialFeatures(degree=2)(np.array([[2.0, 3.0]]))
array([[2., 3., 4., 6., 9.]])
"""

from __future__ import annotations

import itertools

import numpy as np

from .. import backend
from ..ops import concatenate, stack
from ..tensor import Tensor

__all__ = ["PolynomialFeatures", "FunctionFeatures", "add_bias_column"]


def _check_2d(name, X):
    if X.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-D array of samples (N, d), one sample per row, got shape "
            f"{tuple(X.shape)}"
        )


def add_bias_column(X):
    """[1 | X]: prepend the constant feature φ_0(x) = 1, so that w[0] is the bias.

    ``X`` (N, d) -> (N, d + 1). Arrays stay arrays (same dtype), Tensors stay Tensors.
    """
    if isinstance(X, Tensor):
        _check_2d("add_bias_column", X)
        ones = Tensor(backend.get_array_module(X.data).ones((X.shape[0], 1), dtype=X.dtype))
        return concatenate([ones, X], axis=1)
    xp = backend.get_array_module(X)
    X = xp.asarray(X)
    _check_2d("add_bias_column", X)
    dtype = X.dtype if X.dtype.kind == "f" else np.float64
    return xp.concatenate([xp.ones((X.shape[0], 1), dtype=dtype), X.astype(dtype)], axis=1)


class PolynomialFeatures:
    """All monomials of the inputs of total degree 1 to ``degree`` (no constant term).

    For x = (x_1, x_2) and degree 2: [x_1, x_2, x_1², x_1 x_2, x_2²], in the order of
    scikit-learn's ``PolynomialFeatures`` (which, unlike this one, also adds the constant 1
    by default: here the model adds φ_0 = 1 itself; pass ``include_bias=True`` to get it).
    ``interaction_only=True`` keeps only products of distinct inputs (x_1 x_2, not x_1²).
    """

    def __init__(self, degree: int = 2, interaction_only: bool = False,
                 include_bias: bool = False):
        if int(degree) != degree or degree < 1:
            raise ValueError(f"PolynomialFeatures: degree must be an integer >= 1, got {degree!r}")
        self.degree = int(degree)
        self.interaction_only = bool(interaction_only)
        self.include_bias = bool(include_bias)

    def powers(self, n_inputs: int) -> list[tuple[int, ...]]:
        """The monomials as tuples of input indices: (0, 1) is x_0 x_1, (1, 1) is x_1²."""
        combine = (itertools.combinations if self.interaction_only
                   else itertools.combinations_with_replacement)
        terms = [()] if self.include_bias else []
        for k in range(1, self.degree + 1):
            terms.extend(combine(range(n_inputs), k))
        return terms

    def feature_names(self, input_names) -> list[str]:
        """Readable names of the output columns: ["a", "b", "a^2", "a b", "b^2"] for
        input names ["a", "b"] and degree 2."""
        return [_monomial_name(term, input_names) for term in self.powers(len(input_names))]

    def __call__(self, X):
        """Φ(X): one row of monomials per sample. Arrays -> arrays, Tensors -> Tensors."""
        if not isinstance(X, Tensor):
            X = backend.get_array_module(X).asarray(X)
            if X.dtype.kind != "f":
                X = X.astype(np.float64)
        _check_2d("PolynomialFeatures", X)
        columns = [X[:, i] for i in range(X.shape[1])]
        out = []
        for term in self.powers(X.shape[1]):
            if not term:
                one = backend.get_array_module(_data(X)).ones(X.shape[0], dtype=X.dtype)
                out.append(Tensor(one) if isinstance(X, Tensor) else one)
                continue
            value = columns[term[0]]
            for i in term[1:]:
                value = value * columns[i]
            out.append(value)
        if isinstance(X, Tensor):
            return stack(out, axis=1)
        return backend.get_array_module(X).stack(out, axis=1)

    transform = __call__

    def __repr__(self):
        return (f"PolynomialFeatures(degree={self.degree}, "
                f"interaction_only={self.interaction_only}, include_bias={self.include_bias})")


def _data(X):
    return X.data if isinstance(X, Tensor) else X


def _monomial_name(term, input_names):
    if not term:
        return "1"
    parts = []
    for i in sorted(set(term)):
        power = term.count(i)
        parts.append(input_names[i] + (f"^{power}" if power > 1 else ""))
    return " ".join(parts)


class FunctionFeatures:
    """A user-supplied feature map: Φ(X) = fn(X), applied to every sample at once.

    ``fn`` takes the (N, d) inputs and returns (N, m) features (or (N,) for one feature).
    It may use NumPy functions on arrays or Tensor ops on Tensors. Example, the XOR map:

    >>> import numpy as np
    >>> xor = FunctionFeatures(lambda X: X[:, 0] * X[:, 1], name="x0*x1")
    >>> xor(np.array([[1.0, -1.0], [2.0, 3.0]]))
    array([[-1.],
           [ 6.]])
    """

    def __init__(self, fn, name: str | None = None):
        if not callable(fn):
            raise TypeError(f"FunctionFeatures: fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "fn")

    def __call__(self, X):
        out = self.fn(X)
        if not isinstance(out, Tensor):
            out = backend.get_array_module(out).asarray(out)
        if out.ndim == 1:
            out = out.reshape(-1, 1)
        if out.ndim != 2 or out.shape[0] != X.shape[0]:
            raise ValueError(
                f"FunctionFeatures({self.name}): the map must return (N, m) features for N = "
                f"{X.shape[0]} samples, got shape {tuple(out.shape)}"
            )
        return out

    transform = __call__

    def __repr__(self):
        return f"FunctionFeatures({self.name})"
