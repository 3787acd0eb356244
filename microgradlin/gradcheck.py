"""Checking gradients: finite differences (``gradcheck``) and second derivatives
(``hessian``)."""

from __future__ import annotations

import numbers

import numpy as np

from . import backend
from .autograd import enable_grad
from .autograd import grad as _grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when analytic and numerical gradients disagree."""


def _as_outputs(value):
    if isinstance(value, Tensor):
        return (value,)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Tensor) for v in value):
        return tuple(value)
    raise TypeError(f"gradcheck: fn must return a Tensor or a sequence of Tensors, got "
                    f"{type(value).__name__}")


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare the autodiff Jacobian of ``fn`` with central finite differences in float64.

    For every input ``x`` that requires grad and every output ``y`` of ``fn(*inputs)``, the
    numerical Jacobian is ``(y(x + eps·e_j) - y(x - eps·e_j)) / (2·eps)`` and the analytic one
    comes from backward passes with one-hot output gradients. They must agree elementwise
    within ``atol + rtol·|numerical|``.

    Inputs are converted to float64 copies first (float32 differences are too coarse).
    Returns True, or raises :class:`GradcheckError` naming the input, the output, the worst
    element and both values (returns False instead if ``raise_exception=False``).
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {type(fn).__name__}")
    for name, v in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 0 or (
                name == "eps" and not v > 0):
            raise ValueError(f"gradcheck: {name} must be a number {'>' if name == 'eps' else '>='}"
                             f" 0, got {v!r}")
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"gradcheck: inputs must be a Tensor or a sequence, got "
                        f"{type(inputs).__name__}")
    inputs = tuple(inputs)
    checked = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor):
            if x.requires_grad and x.dtype.kind != "f":
                raise TypeError(f"gradcheck: input {i} has non-float dtype {x.dtype}")
            copy = Tensor(x.data, dtype=np.float64, requires_grad=x.requires_grad, name=x.name)
            checked.append(copy)
        else:
            checked.append(x)
    wrt = [i for i, x in enumerate(checked) if isinstance(x, Tensor) and x.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")

    outputs = _as_outputs(fn(*checked))
    for k, y in enumerate(outputs):
        if y.dtype.kind != "f":
            continue
        for i in wrt:
            x = checked[i]
            analytic = _analytic_jacobian(y, x)
            numerical = _numerical_jacobian(fn, checked, i, k, eps)
            err = np.abs(analytic - numerical)
            bound = atol + rtol * np.abs(numerical)
            bad = ~(err <= bound)  # also catches nan
            if bad.any():
                flat = int(np.argmax(np.where(bad, err / bound, -np.inf)))
                row, col = np.unravel_index(flat, analytic.shape)
                out_idx = np.unravel_index(row, y.shape) if y.ndim else ()
                in_idx = np.unravel_index(col, x.shape) if x.ndim else ()
                label = f"input {i}" + (f" ({x.name!r})" if x.name else "")
                message = (
                    f"gradcheck failed for {label}, output {k}: d output{_index(out_idx)} / "
                    f"d input{_index(in_idx)} is {float(analytic[row, col])!r} by autodiff "
                    f"but {float(numerical[row, col])!r} by central differences (eps={eps}); "
                    f"{int(bad.sum())} of {bad.size} Jacobian entries disagree beyond "
                    f"atol={atol}, rtol={rtol}; worst absolute error {float(err.max()):.3e}"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def _index(idx) -> str:
    """``[1, 2]`` (plain ints, not NumPy 2's ``np.int64(1)`` reprs) for a message."""
    return str([int(i) for i in idx])


def _analytic_jacobian(y, x):
    """Rows: output elements; columns: input elements (one backward pass per output)."""
    xp = backend.get_array_module(y.data)
    jac = np.zeros((max(y.data.size, 1), max(x.data.size, 1)))
    if not y.requires_grad:
        # no graph behind y: autodiff says it does not depend on x (e.g. the gradient of a
        # linear function, checked for second derivatives); the numbers must agree
        return jac
    for row in range(y.data.size):
        seed = xp.zeros(y.data.size, dtype=y.dtype)
        seed[row] = 1
        (g,) = _grad(y, x, grad_outputs=seed.reshape(y.shape), retain_graph=True,
                     allow_unused=True)
        if g is not None:
            jac[row] = backend.to_numpy(g.data).reshape(-1)
    return jac


def _numerical_jacobian(fn, inputs, i, k, eps):
    data = inputs[i].data  # perturbed in place, one element at a time
    columns = []
    # Grad mode is left as it is (not no_grad): fn may itself differentiate, e.g.
    # fn = lambda x: mg.grad(f(x), x, create_graph=True)[0] checks second derivatives.
    # Elements in C order, as the analytic rows are flattened (x.T is not C-contiguous:
    # reshape(-1) would be a copy there, and perturbing it would change nothing)
    for index in np.ndindex(data.shape):
        original = data[index].item()
        data[index] = original + eps
        plus = backend.to_numpy(_as_outputs(fn(*inputs))[k].data).astype(np.float64)
        data[index] = original - eps
        minus = backend.to_numpy(_as_outputs(fn(*inputs))[k].data).astype(np.float64)
        data[index] = original
        columns.append(((plus - minus) / (2 * eps)).reshape(-1))
    return np.stack(columns, axis=1) if columns else np.zeros((1, 0))


def hessian(fn, x) -> Tensor:
    """The full Hessian H_ij = ∂²f / ∂x_i ∂x_j of a scalar function of a 1-D tensor.

    Computed by double backward: first ∇f with ``create_graph=True``, then one backward pass
    per component of ∇f. ``x`` may be a Tensor or an array; it is not modified.
    """
    if isinstance(x, Tensor):
        data = x.data
    else:  # an array keeps its float dtype (float32 stays float32), as a Tensor would
        data = x if hasattr(x, "shape") and hasattr(x, "dtype") else np.asarray(x)
        if data.dtype.kind != "f":
            data = data.astype(np.float64)
    if data.ndim != 1:
        raise ValueError(f"hessian: x must be 1-D, got shape {tuple(data.shape)}")
    point = Tensor(data, requires_grad=True)
    with enable_grad():  # also inside no_grad(), as torch.autograd.functional.hessian
        return _hessian_at(fn, point, data)


def _hessian_at(fn, point, data):
    value = fn(point)
    if not isinstance(value, Tensor) or value.data.size != 1:
        raise ValueError("hessian: fn must return a scalar (one-element) tensor")
    xp = backend.get_array_module(data)
    gradient = (_grad(value, point, create_graph=True, allow_unused=True)[0]
                if value.requires_grad else None)
    if gradient is None:  # f does not depend on x (a constant, or a graph that does not
        # reach x): H = 0, as PyTorch
        return Tensor(xp.zeros((data.shape[0], data.shape[0]), dtype=data.dtype))
    rows = []
    for i in range(data.shape[0]):
        component = gradient[i]
        if component.requires_grad:
            (row,) = _grad(component, point, retain_graph=True, allow_unused=True)
        else:
            row = None
        rows.append(xp.zeros_like(point.data) if row is None else row.data)
    return Tensor(xp.stack(rows))
