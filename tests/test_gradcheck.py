"""``mg.gradcheck`` and ``mg.hessian`` (issue 2): the checker must pass right gradients and
catch wrong ones (naming the input and the worst element); Hessians and Hessian-vector
products by double backward must match closed forms, including the lecture's."""

from __future__ import annotations

import numpy as np
import pytest

import microgradlin as mg
from microgradlin.autograd import Function
from microgradlin.ops import _raw

RNG = np.random.default_rng(42)
X0 = np.array([0.3, -1.2, 2.0, 0.7])


# ----------------------------------------------------------------------------- deliberately
# wrong backward rules


class SquareMissingFactor2(Function):
    """x², with the 2 of its derivative forgotten."""

    save_inputs = (0,)

    def forward(self, x):
        return x * x

    def backward(self, g, x, out):
        return g * x  # wrong: d/dx x² = 2x


class MulWrongSecondGrad(Function):
    """x * y with d/dy given as y instead of x."""

    save_inputs = (0, 1)

    def forward(self, x, y):
        return x * y

    def backward(self, g, x, y, out):
        return g * y, g * y  # the second is wrong


class SquareWrongAtOneElement(Function):
    """x², right everywhere except the element at flat position 5."""

    save_inputs = (0,)

    def forward(self, x):
        return x * x

    def backward(self, g, x, out):
        bump = np.zeros(x.shape)
        bump.flat[5] = 0.25
        return g * (2 * x + bump)  # d out_5 / d x_5 is off by 0.25


class SquareNotDifferentiableTwice(Function):
    """x² whose backward is right for arrays but treats x as a constant in create_graph
    mode (it reads the raw data): first order passes, second order must not."""

    save_inputs = (0,)

    def forward(self, x):
        return x * x

    def backward(self, g, x, out):
        return g * (2 * _raw(x))


class SquareSlightlyOff(Function):
    """x² with a relative error of 1e-4 in its gradient."""

    save_inputs = (0,)

    def forward(self, x):
        return x * x

    def backward(self, g, x, out):
        return g * 2 * x * (1 + 1e-4)


def test_gradcheck_catches_a_wrong_backward_and_names_the_input():
    x = mg.tensor(X0, requires_grad=True, name="w")
    with pytest.raises(mg.GradcheckError, match=r"input 0 \('w'\), output 0") as info:
        mg.gradcheck(SquareMissingFactor2.apply, [x])
    text = str(info.value)
    assert "by autodiff" in text and "by central differences" in text
    assert "4 of 16 Jacobian entries disagree" in text  # the 4 diagonal entries
    assert isinstance(info.value, AssertionError)  # pytest shows it as a failed assertion


def test_gradcheck_names_the_right_input_among_several():
    a = mg.tensor(X0, requires_grad=True)
    b = mg.tensor(X0 + 1, requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"failed for input 1, output 0"):
        mg.gradcheck(MulWrongSecondGrad.apply, [a, b])
    # with b constant the (right) gradient of a passes
    assert mg.gradcheck(MulWrongSecondGrad.apply, [a, mg.tensor(X0 + 1)])


def test_gradcheck_reports_the_worst_element_with_both_values():
    x = mg.tensor(RNG.uniform(0.5, 1.5, (2, 3)), requires_grad=True)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(SquareWrongAtOneElement.apply, [x])
    text = str(info.value)
    assert "d output[1, 2] / d input[1, 2]" in text  # flat position 5 of a (2, 3) tensor
    true = float(2 * x.numpy()[1, 2])
    assert f"is {true + 0.25!r} by autodiff" in text
    assert "1 of 36 Jacobian entries disagree" in text


def test_gradcheck_of_the_gradient_catches_a_backward_that_is_not_differentiable():
    x = mg.tensor(X0, requires_grad=True)
    assert mg.gradcheck(SquareNotDifferentiableTwice.apply, [x])  # first order is right

    def gradient(v):
        return mg.grad(SquareNotDifferentiableTwice.apply(v).sum(), v, create_graph=True)[0]

    with pytest.raises(mg.GradcheckError, match="input 0"):
        mg.gradcheck(gradient, [x])  # d/dx 2x = 2, but autodiff sees a constant (0)


def test_gradcheck_uses_its_tolerances():
    x = mg.tensor(X0, requires_grad=True)
    assert mg.gradcheck(SquareSlightlyOff.apply, [x])  # 1e-4 relative < rtol = 1e-3
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(SquareSlightlyOff.apply, [x], atol=1e-9, rtol=1e-6)
    assert mg.gradcheck(SquareSlightlyOff.apply, [x], raise_exception=False, atol=1e-9,
                        rtol=1e-6) is False


def test_gradcheck_catches_nan_gradients():
    class NanGrad(Function):
        def forward(self, x):
            return x * 1.0

        def backward(self, g, x, out):
            return g * np.nan

    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(NanGrad.apply, [mg.tensor(X0, requires_grad=True)])


# ----------------------------------------------------------------------------- right
# gradients pass


def test_gradcheck_passes_right_gradients_with_mixed_inputs():
    a = mg.tensor(RNG.normal(size=(2, 3)), requires_grad=True)
    b = mg.tensor(RNG.normal(size=3), requires_grad=True)
    const = mg.tensor(RNG.normal(size=(2, 3)))
    assert mg.gradcheck(lambda a, c, s, b: (a * c + s * b.exp()).tanh(), [a, const, 2.0, b])


def test_gradcheck_checks_every_output_of_a_tuple():
    x = mg.tensor(X0, requires_grad=True)
    assert mg.gradcheck(lambda v: (v * v, v.exp().sum()), [x])

    def one_wrong(v):
        return v.exp(), SquareMissingFactor2.apply(v)

    with pytest.raises(mg.GradcheckError, match="output 1"):
        mg.gradcheck(one_wrong, [x])


def test_gradcheck_works_in_float64_on_copies():
    x32 = mg.tensor(X0.astype(np.float32), requires_grad=True)
    seen = []

    def fn(v):
        seen.append(v.dtype)
        return (v**3).sum()

    assert mg.gradcheck(fn, [x32])  # float32 differences would be far too coarse
    assert set(seen) == {np.dtype(np.float64)}
    assert x32.dtype == np.float32 and x32.grad is None  # the caller's tensor is untouched
    np.testing.assert_array_equal(x32.numpy(), X0.astype(np.float32))


def test_gradcheck_accepts_a_single_tensor():
    assert mg.gradcheck(lambda v: v.sigmoid(), mg.tensor(X0, requires_grad=True))


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        mg.gradcheck(lambda v: v * 2, [mg.tensor(X0)])


def test_gradcheck_of_an_output_without_graph_checks_it_is_constant():
    x = mg.tensor(X0, requires_grad=True)
    assert mg.gradcheck(lambda v: mg.tensor(np.ones(3)), [x])  # really constant: passes
    with pytest.raises(mg.GradcheckError):  # depends on x through .data: the check sees it
        mg.gradcheck(lambda v: mg.tensor(v.numpy() * 2), [x])


# ----------------------------------------------------------------------------- Hessians


def test_hessian_of_a_cube():
    np.testing.assert_allclose(mg.hessian(lambda x: (x**3).sum(), X0).numpy(),
                               np.diag(6 * X0), rtol=1e-14)


def test_hessian_of_sigmoid():
    s = 1 / (1 + np.exp(-X0))
    np.testing.assert_allclose(mg.hessian(lambda x: x.sigmoid().sum(), X0).numpy(),
                               np.diag(s * (1 - s) * (1 - 2 * s)), rtol=1e-12, atol=1e-16)


def test_hessian_of_logsumexp_is_diag_p_minus_p_pT():
    p = np.exp(X0) / np.exp(X0).sum()
    expected = np.diag(p) - np.outer(p, p)
    np.testing.assert_allclose(mg.hessian(mg.logsumexp, X0).numpy(), expected, atol=1e-15)
    composed = mg.hessian(lambda x: x.exp().sum().log(), X0).numpy()  # the same, unfused
    np.testing.assert_allclose(composed, expected, atol=1e-15)


def test_hessian_of_a_quadratic_form():
    A = RNG.normal(size=(4, 4))
    H = mg.hessian(lambda x: 0.5 * (x @ (mg.tensor(A) @ x)), X0).numpy()
    np.testing.assert_allclose(H, (A + A.T) / 2, rtol=1e-14, atol=1e-15)


def test_hessian_of_rosenbrock():
    x, y = 0.5, -0.3
    H = mg.hessian(lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2,
                   np.array([x, y])).numpy()
    expected = [[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200.0]]
    np.testing.assert_allclose(H, expected, rtol=1e-14)


def test_hessian_of_mse_is_2_XtX_over_N_adaline_slide():
    """Lecture, ADALINE: J(w) = 1/N Σ (y_i - wᵀx_i)², so ∇²J = 2 XᵀX / N (rows of X are the
    samples x_iᵀ), whatever w and y are: to float64 precision."""
    N, d = 20, 4
    X = RNG.normal(size=(N, d))
    y = RNG.normal(size=N)
    w0 = RNG.normal(size=d)
    H = mg.hessian(lambda w: ((y - mg.tensor(X) @ w) ** 2).mean(), w0).numpy()
    np.testing.assert_allclose(H, 2 * X.T @ X / N, rtol=1e-13, atol=1e-15)
    assert np.linalg.eigvalsh(H).min() > 0  # convex: positive (semi)definite


def test_hessian_of_the_per_sample_l2_loss_is_x_xT_convexity_slide():
    """Lecture, convexity of linear regression: L(w) = ½ (wᵀx_i − y_i)² has ∇²L = x_i x_iᵀ."""
    x_i = RNG.normal(size=3)
    H = mg.hessian(lambda w: 0.5 * (w @ x_i - 1.5) ** 2, RNG.normal(size=3)).numpy()
    np.testing.assert_allclose(H, np.outer(x_i, x_i), rtol=1e-14)


def test_hessian_of_a_linear_function_is_zero():
    H = mg.hessian(lambda x: (x * np.array([1.0, 2.0, 3.0, 4.0])).sum(), X0)
    np.testing.assert_array_equal(H.numpy(), np.zeros((4, 4)))


def test_hessian_leaves_its_input_alone_and_takes_tensors():
    x = mg.tensor(X0, requires_grad=True)
    H = mg.hessian(lambda v: (v**3).sum(), x)
    assert isinstance(H, mg.Tensor) and H.shape == (4, 4) and not H.requires_grad
    assert x.grad is None
    np.testing.assert_array_equal(x.numpy(), X0)


def test_hessian_errors():
    with pytest.raises(ValueError, match=r"hessian: x must be 1-D, got shape \(2, 2\)"):
        mg.hessian(lambda v: v.sum(), np.ones((2, 2)))
    with pytest.raises(ValueError, match="hessian: fn must return a scalar"):
        mg.hessian(lambda v: v * 2, X0)


# ----------------------------------------------------------------------------- Hessian-vector
# products and higher orders


def test_hessian_vector_product_by_double_backward():
    A = RNG.normal(size=(4, 4))
    A = A + A.T
    v = np.array([1.0, -2.0, 0.5, 3.0])

    def f(x):
        return 0.5 * (x @ (mg.tensor(A) @ x)) + (x**4).sum()

    x = mg.tensor(X0, requires_grad=True)
    (g,) = mg.grad(f(x), x, create_graph=True)
    (hv,) = mg.grad((g * v).sum(), x)
    expected = (A + np.diag(12 * X0**2)) @ v
    np.testing.assert_allclose(hv.numpy(), expected, rtol=1e-13)
    np.testing.assert_allclose(hv.numpy(), mg.hessian(f, X0).numpy() @ v, rtol=1e-13)


def test_third_derivative_by_triple_backward():
    x = mg.tensor(X0, requires_grad=True)
    (g1,) = mg.grad((x**4).sum(), x, create_graph=True)  # 4x³
    (g2,) = mg.grad(g1.sum(), x, create_graph=True)  # 12x²
    (g3,) = mg.grad(g2.sum(), x)  # 24x
    np.testing.assert_allclose(g1.numpy(), 4 * X0**3, rtol=1e-14)
    np.testing.assert_allclose(g2.numpy(), 12 * X0**2, rtol=1e-14)
    np.testing.assert_allclose(g3.numpy(), 24 * X0, rtol=1e-14)


def test_hessian_of_exponential_base():
    """d²/dx² 2^x = 2^x (ln 2)²: the saved base is a Python number in create_graph mode."""
    H = mg.hessian(lambda x: (2.0**x).sum(), X0).numpy()
    np.testing.assert_allclose(H, np.diag(2.0**X0 * np.log(2.0) ** 2), rtol=1e-14)


def test_hessian_of_a_function_that_does_not_depend_on_x_is_zero():
    # as torch.autograd.functional.hessian: zeros, not an error
    for fn in (lambda v: mg.tensor(3.0), lambda v: (v.detach() * 2).sum()):
        np.testing.assert_array_equal(mg.hessian(fn, mg.tensor([1.0, 2.0])).numpy(),
                                      np.zeros((2, 2)))


def test_hessian_inside_no_grad_is_still_the_hessian():
    # as torch.autograd.functional.hessian, which turns grad mode on for its own work
    with mg.no_grad():
        h = mg.hessian(lambda x: (x**3).sum(), np.array([1.0, 2.0]))
        assert not mg.is_grad_enabled()
    np.testing.assert_array_equal(h.numpy(), [[6.0, 0.0], [0.0, 12.0]])


def test_gradcheck_names_bad_arguments():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    square = lambda x: (x * x).sum()  # noqa: E731
    with pytest.raises(TypeError, match="^gradcheck: fn must be callable"):
        mg.gradcheck(None, [w])
    with pytest.raises(TypeError, match="^gradcheck: inputs must be a Tensor or a sequence"):
        mg.gradcheck(square, None)
    for result in (None, 3.0, "a"):
        with pytest.raises(TypeError, match="^gradcheck: fn must return a Tensor"):
            mg.gradcheck(lambda x, r=result: r, [w])
    with pytest.raises(ValueError, match="^gradcheck: eps must be a number > 0"):
        mg.gradcheck(square, [w], eps=-1)
    with pytest.raises(ValueError, match="^gradcheck: atol must be a number >= 0"):
        mg.gradcheck(square, [w], atol=-1)
    assert mg.gradcheck(lambda x: [(x * x).sum(), x.exp()], [w])
