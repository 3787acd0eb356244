"""Autodiff gradients == the lecture's analytic gradients (float64, tight tolerances).

Each test names the slide (and equation) it checks, and states the exact constant of the
loss it uses: the slides mix ½‖ŷ - y‖² (gradient (ŷ - y) x) with ‖ŷ - y‖² and the mean
(gradient 2/N Σ (ŷ_i - y_i) x_i). The analytic side is written here in plain NumPy.
Rows are samples; the slides' samples-as-columns X is our ``Phi.T``.
"""

from __future__ import annotations

import numpy as np
import pytest

import microgradlin as mg
from microgradlin import functional as F
from microgradlin.models import (
    LinearRegression,
    LogisticRegression,
    Perceptron,
    SoftmaxRegression,
    add_bias_column,
)

RTOL, ATOL = 1e-12, 1e-14


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _data(seed=0, n=8, d=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return rng, X, add_bias_column(X)  # Phi = [1 | X]: x[0] = 1, w[0] is the bias


def _lecture_grad(model):
    """The model's gradient stacked as the lecture's w = [w_0 (bias), w_1, ...]."""
    lin = model.linear
    return np.concatenate([lin.bias.grad.numpy(), lin.weight.grad.numpy().ravel()])


# ----------------------------------------------------------------------------- regression
def test_linear_regression_l2_per_sample_gradient():
    # slide "Linear regression" (Problem / Solve using gradient descent):
    # for ℒ = ½ (wᵀx_i - y_i)², ∇_w ℒ = -(y_i - ŷ_i) x_i   (the slide writes ‖ŷ - y‖²: its
    # result is that of the ½ convention; see docs/lecture-notes.md)
    rng, _, Phi = _data(1)
    w = mg.tensor(rng.standard_normal(4), requires_grad=True)
    for x_i, y_i in zip(Phi, rng.standard_normal(8)):
        y_hat = mg.tensor(x_i) @ w
        loss = 0.5 * F.mse_loss(y_hat.reshape(1), np.array([y_i]), reduction="sum")
        (g,) = mg.grad(loss, w)
        np.testing.assert_allclose(g.numpy(), -(y_i - y_hat.item()) * x_i, rtol=RTOL, atol=ATOL)


def test_linear_regression_mse_gradient_has_factor_two_over_n():
    # slide "ADALINE": J(w) = 1/N Σ ‖y_i - wᵀx_i‖² (F.mse_loss, mean), so
    # ∇J = -2/N Σ (y_i - ŷ_i) x_i = -2/N X(y - Xᵀw) in the slides' column notation
    rng, X, Phi = _data(2)
    y = rng.standard_normal(8)
    model = LinearRegression(n_features=3, seed=0)
    model.loss(X, y).backward()
    y_hat = Phi @ model.w
    np.testing.assert_allclose(_lecture_grad(model), -2 / 8 * Phi.T @ (y - y_hat),
                               rtol=RTOL, atol=ATOL)


def test_adaline_vectorised_gradient_of_the_sum():
    # slide "ADALINE": J(w) = ‖y - Xᵀw‖² (sum, no 1/N), ∇J = -2 X (y - Xᵀw)
    rng, _, Phi = _data(3)
    Xc = Phi.T  # the slides' X: one column per sample
    y = rng.standard_normal(8)
    w = mg.tensor(rng.standard_normal(4), requires_grad=True)
    loss = F.mse_loss(mg.tensor(Xc.T) @ w, y, reduction="sum")
    (g,) = mg.grad(loss, w)
    np.testing.assert_allclose(g.numpy(), -2 * Xc @ (y - Xc.T @ w.numpy()), rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------- logistic
def test_logistic_regression_gradient_is_prediction_error_times_x():
    # slide "Binary classification": ℒ = -y log ŷ - (1 - y) log(1 - ŷ), ŷ = σ(wᵀx),
    # ∇_w ℒ = -(y_i - ŷ_i) x_i per sample; the mean over N samples gives -1/N Σ (y_i - ŷ_i) x_i
    rng, X, Phi = _data(4)
    y = rng.integers(0, 2, 8)
    model = LogisticRegression(n_features=3, seed=1)
    model.loss(X, y).backward()
    y_hat = _sigmoid(Phi @ np.concatenate([model.linear.bias.numpy(),
                                           model.linear.weight.numpy()[0]]))
    np.testing.assert_allclose(_lecture_grad(model), -(y - y_hat) @ Phi / 8,
                               rtol=RTOL, atol=ATOL)
    # one sample at a time, with the probability-form loss of the slide (sigmoid, then BCE)
    w = mg.tensor(rng.standard_normal(4), requires_grad=True)
    for x_i, y_i in zip(Phi, y):
        p = mg.sigmoid(mg.tensor(x_i) @ w).reshape(1)
        (g,) = mg.grad(F.binary_cross_entropy(p, np.array([float(y_i)])), w)
        np.testing.assert_allclose(g.numpy(), -(y_i - p.item()) * x_i, rtol=1e-10, atol=ATOL)


def test_sigmoid_derivative():
    # slide "Binary classification": ∂σ/∂x = σ(x)(1 - σ(x))
    x = np.linspace(-8, 8, 33)
    t = mg.tensor(x, requires_grad=True)
    mg.sigmoid(t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), _sigmoid(x) * (1 - _sigmoid(x)), rtol=1e-12)


def test_l2_on_sigmoid_gradient():
    # slide "Should we use ℓ2 as a loss?": ℒ = ½ ‖ŷ - y‖², ŷ = σ(wᵀx_i),
    # ∇_w ℒ = (ŷ_i - y_i) σ(wᵀx_i)(1 - σ(wᵀx_i)) x_i
    rng, _, Phi = _data(5)
    w = mg.tensor(rng.standard_normal(4), requires_grad=True)
    for x_i, y_i in zip(Phi, rng.integers(0, 2, 8)):
        s = mg.sigmoid(mg.tensor(x_i) @ w)
        loss = 0.5 * F.mse_loss(s.reshape(1), np.array([float(y_i)]), reduction="sum")
        (g,) = mg.grad(loss, w)
        sv = s.item()
        np.testing.assert_allclose(g.numpy(), (sv - y_i) * sv * (1 - sv) * x_i,
                                   rtol=RTOL, atol=ATOL)


def test_l2_gradient_vanishes_on_strongly_misclassified_sample_but_ce_does_not():
    # slide "Should we use ℓ2 as a loss?", observations: y_i = 1 and wᵀx_i very negative
    # (the slide says "→ ∞", a sign typo: that sample would be *correctly* classified)
    x = np.array([1.0, 2.0, -1.0])
    w = mg.tensor([0.0, -5.0, 5.0], requires_grad=True)  # wᵀx = -15
    z = mg.tensor(x) @ w
    l2 = 0.5 * (mg.sigmoid(z) - 1.0) ** 2
    ce = F.binary_cross_entropy_with_logits(z.reshape(1), np.array([1.0]))
    (g_l2,) = mg.grad(l2, w, retain_graph=True)
    (g_ce,) = mg.grad(ce, w)
    error = 1.0 - _sigmoid(-15.0)  # y - ŷ ≈ 1
    assert np.linalg.norm(g_l2.numpy()) < 1e-6 * np.linalg.norm(x)  # ≈ σ'(-15) ‖x‖ ≈ 3e-7
    np.testing.assert_allclose(g_ce.numpy(), -error * x, rtol=RTOL)  # proportional to error


# ----------------------------------------------------------------------------- softmax
def test_softmax_regression_gradient():
    # slide "Multi-class classification": J(W) = -1/N Σ_i log P(y = y_i | x_i) with
    # P = softmax; ∇_W J = Xᵀ(P - Y)/N, i.e. (P - Y)ᵀ X / N for W stored (K, d), and
    # ∇_b J = mean of (P - Y)
    rng, X, _ = _data(6, n=10, d=3)
    y = rng.integers(0, 4, 10)
    model = SoftmaxRegression(n_features=3, n_classes=4, seed=2)
    model.loss(X, y).backward()
    W, b = model.linear.weight.numpy(), model.linear.bias.numpy()
    P, Y = _softmax(X @ W.T + b), np.eye(4)[y]
    np.testing.assert_allclose(model.linear.weight.grad.numpy(), (X.T @ (P - Y) / 10).T,
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(model.linear.bias.grad.numpy(), (P - Y).mean(axis=0),
                               rtol=RTOL, atol=ATOL)


def test_softmax_is_invariant_to_shifting_logits():
    # slide "Softmax vs. CE loss": softmax(g_1, g_2, ...) = softmax(g_1 - g', g_2 - g', ...)
    rng = np.random.default_rng(7)
    g = rng.standard_normal((3, 5))
    for shift in (-50.0, 3.0, 700.0):
        np.testing.assert_allclose(F.softmax(mg.tensor(g + shift)).numpy(),
                                   F.softmax(mg.tensor(g)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.softmax(mg.tensor(g)).numpy(), _softmax(g), rtol=1e-14)


def test_log_sum_exp_trick_equality():
    # slide "Softmax vs. CE loss": log Σ_j e^{g_j} = g' + log Σ_j e^{g_j - g'}, and
    # log ŷ_i = g_i - g' - log Σ_j e^{g_j - g'}
    rng = np.random.default_rng(8)
    g = rng.standard_normal((4, 6)) * 3
    direct = np.log(np.exp(g).sum(axis=1))  # safe here: small logits
    np.testing.assert_allclose(mg.logsumexp(mg.tensor(g), axis=1).numpy(), direct, rtol=1e-14)
    gp = g.max(axis=1, keepdims=True)
    log_y = g - gp - np.log(np.exp(g - gp).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(F.log_softmax(mg.tensor(g)).numpy(), log_y, rtol=1e-13)
    np.testing.assert_allclose(F.log_softmax(mg.tensor(g)).numpy(), np.log(_softmax(g)),
                               rtol=1e-12)


def test_naive_softmax_overflows_stable_softmax_does_not():
    # slide "Softmax vs. CE loss", large exponentials: e^{1000} overflows to inf and the
    # naive exp(g)/Σexp(g) gives nan; shifting by g' = max g keeps every exponent <= 0
    g = mg.tensor([[1000.0, 0.0, -1000.0]])
    with np.errstate(all="ignore"):
        naive = (g.exp() / g.exp().sum(axis=1, keepdims=True)).numpy()
    assert np.isnan(naive).any()
    np.testing.assert_allclose(F.softmax(g).numpy(), [[1.0, 0.0, 0.0]])


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_family_finite_at_huge_logits(scale):
    # slide "Softmax vs. CE loss": no NaN/inf at logits of ±1e4 (values and gradients)
    rng = np.random.default_rng(9)
    base = rng.choice([-1.0, 0.0, 1.0], (3, 4)) * scale
    targets = rng.integers(0, 4, 3)
    for fn in (lambda z: F.softmax(z).sum(),
               lambda z: (F.softmax(z) * mg.tensor(rng.standard_normal((3, 4)))).sum(),
               lambda z: F.log_softmax(z).sum(),
               lambda z: mg.logsumexp(z, axis=1).sum(),
               lambda z: F.cross_entropy(z, targets)):
        z = mg.tensor(base, requires_grad=True)
        out = fn(z)
        out.backward()
        assert np.isfinite(out.item()) and np.isfinite(z.grad.numpy()).all()
    # and the log-softmax at huge logits is exact: g_i - max g - log(#maxima)
    ls = F.log_softmax(mg.tensor([[scale, -scale, scale]])).numpy()
    np.testing.assert_allclose(ls, [[-np.log(2), -2 * abs(scale) - np.log(2), -np.log(2)]]
                               if scale > 0 else [[-2 * abs(scale), 0.0, -2 * abs(scale)]])


# ----------------------------------------------------------------------------- perceptron
def test_perceptron_criterion_gradient():
    # slide "Convergence theorem" (proof): J(w) = Σ_i max(0, -y_i wᵀφ(x_i)) (sign corrected),
    # ∇J = -Σ_{i misclassified} y_i φ(x_i); the mean (F.perceptron_loss default) divides by N
    rng, X, Phi = _data(10, n=20, d=2)
    y = rng.choice([-1, 1], 20)
    w = rng.standard_normal(3)
    misclassified = y * (Phi @ w) < 0
    assert 0 < misclassified.sum() < 20  # the test must see both kinds of samples
    expected = -(y[misclassified, None] * Phi[misclassified]).sum(axis=0)

    wt = mg.tensor(w, requires_grad=True)
    (g_sum,) = mg.grad(F.perceptron_loss(mg.tensor(Phi) @ wt, y, reduction="sum"), wt)
    np.testing.assert_allclose(g_sum.numpy(), expected, rtol=RTOL, atol=ATOL)

    model = Perceptron(n_features=2)
    with mg.no_grad():
        model.weight.copy_(w)
    model.loss(X, y).backward()
    np.testing.assert_allclose(model.weight.grad.numpy(), expected / 20, rtol=RTOL, atol=ATOL)
    # its value: the summed margins of the misclassified samples, divided by N
    np.testing.assert_allclose(model.loss(X, y).item(),
                               -(y * (Phi @ w))[misclassified].sum() / 20, rtol=RTOL)


def test_perceptron_update_is_a_gradient_step_on_the_criterion():
    # eq. 6 on a misclassified sample, w <- w + y_i φ(x_i), is exactly w - ∇ℒ_i with
    # ℒ_i = max(0, -y_i wᵀφ(x_i)); on a correct sample ∇ℒ_i = 0 (no update)
    rng, _, Phi = _data(11, n=6, d=2)
    w = rng.standard_normal(3)
    for phi_i, y_i in zip(Phi, rng.choice([-1, 1], 6)):
        wt = mg.tensor(w, requires_grad=True)
        loss = F.perceptron_loss((mg.tensor(phi_i) @ wt).reshape(1), np.array([y_i]))
        (g,) = mg.grad(loss, wt)
        wrong = y_i * (phi_i @ w) < 0
        np.testing.assert_array_equal(w - g.numpy(), w + y_i * phi_i if wrong else w)
