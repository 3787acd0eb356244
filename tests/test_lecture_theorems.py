"""The lecture's theorems and equivalences, checked on data.

- eq. 3/5 (case by case), eq. 6 (the perceptron rule) and eq. 7 (the delta rule) produce
  the same weight sequence;
- the perceptron convergence theorem, with Novikoff's bound (R/γ)² on the mistakes;
- XOR is not linearly separable, but is after a feature map (slide "Limitations");
- ADALINE: gradient descent reaches the closed form; ridge when XXᵀ is singular;
- slide "Convexity": Hessians of the convex losses of linear models, from ``mg.hessian``,
  equal their closed forms and are positive semidefinite; ℓ2 on a sigmoid is not convex.

The slides write samples as columns (X = [x_0 | x_1 | ...]); here Phi has one sample per
row, so the slides' X is ``Phi.T`` and their XXᵀ is ``Phi.T @ Phi``.
"""

from __future__ import annotations

import numpy as np
import pytest

import microgradlin as mg
from microgradlin import datasets as D
from microgradlin import functional as F
from microgradlin.models import (
    LinearRegression,
    Perceptron,
    PolynomialFeatures,
    add_bias_column,
)


def _lecture_rule_eq3(Phi, y, epochs):
    """eq. 3/5 written out case by case, independently of the package (w_0 = 0)."""
    w = np.zeros(Phi.shape[1])
    history = [w]
    for _ in range(epochs):
        mistakes = 0
        for phi, label in zip(Phi, y):
            predicted = 1 if w @ phi >= 0 else -1  # g of eq. 2
            if predicted == -1 and label == 1:  # incorrectly classified as -1
                w = w + phi
                mistakes += 1
            elif predicted == 1 and label == -1:  # incorrectly classified as +1
                w = w - phi
                mistakes += 1
            history.append(w)
        if mistakes == 0:
            break
    return np.array(history)


# ----------------------------------------------------------------------------- perceptron
@pytest.mark.parametrize("data", ["blobs", "xor"])
def test_perceptron_rule_eq6_and_delta_rule_eq7_give_identical_weights(data):
    if data == "blobs":
        X, y, _, _ = D.make_blobs_separable(n=60, margin=0.2, seed=3)
    else:
        X, y = D.make_xor(n=40, seed=3)  # never converges: many updates to compare
    eq6 = Perceptron().fit(X, y, epochs=30, rule="perceptron")
    eq7 = Perceptron().fit(X, y, epochs=30, rule="delta")
    assert eq6.weight_history.shape[0] > 2
    np.testing.assert_array_equal(eq6.weight_history, eq7.weight_history)
    assert eq6.mistakes_per_epoch == eq7.mistakes_per_epoch
    # and both equal the case-by-case eq. 3/5, coded independently above
    np.testing.assert_array_equal(eq6.weight_history,
                                  _lecture_rule_eq3(add_bias_column(X), y, 30))


def test_rules_agree_with_shuffling_and_random_start():
    X, y, _, _ = D.make_blobs_separable(n=50, margin=0.1, seed=4)
    a = Perceptron(init="random", seed=1).fit(X, y, epochs=20, rule="perceptron",
                                              shuffle=True, seed=7)
    b = Perceptron(init="random", seed=1).fit(X, y, epochs=20, rule="delta",
                                              shuffle=True, seed=7)
    np.testing.assert_array_equal(a.weight_history, b.weight_history)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_perceptron_convergence_theorem_novikoff_bound(seed):
    # slide "Convergence theorem": on linearly separable data the rule converges; with
    # w_0 = 0, R = max ‖φ(x_i)‖ and γ = min y_i u*ᵀφ(x_i) for a unit separating u*, the
    # number of mistakes is at most (R/γ)² (Novikoff, 1962)
    X, y, w_star, b_star = D.make_blobs_separable(n=100, d=3, margin=0.3, seed=seed)
    Phi = add_bias_column(X)
    u = np.concatenate([[b_star], w_star])
    u /= np.linalg.norm(u)
    gamma = (y * (Phi @ u)).min()
    assert gamma > 0  # u separates the data, in the augmented space
    R = np.linalg.norm(Phi, axis=1).max()
    bound = (R / gamma) ** 2

    model = Perceptron().fit(X, y, epochs=int(bound) + 2)
    assert model.converged
    assert model.mistakes_per_epoch[-1] == 0
    assert all(m > 0 for m in model.mistakes_per_epoch[:-1])
    assert 0 < model.n_mistakes <= bound
    # "⇐": the weights found separate the data
    np.testing.assert_array_equal(model.predict(X), y)


def test_perceptron_never_converges_on_xor():
    # XOR is not linearly separable, so no epoch is ever free of mistakes
    X, y = D.make_xor(n=100, seed=0)
    model = Perceptron().fit(X, y, epochs=200)
    assert not model.converged
    assert len(model.mistakes_per_epoch) == 200
    assert min(model.mistakes_per_epoch) > 0


def test_xor_becomes_separable_after_a_feature_map():
    # slide "Limitations of linear classification": in the feature space of degree-2
    # monomials [1, x1, x2, x1², x1 x2, x2²], u* = -e_{x1 x2} separates XOR (y = -sign(x1 x2)),
    # so the theorem applies there, bound included
    X, y = D.make_xor(n=100, seed=0)
    fmap = PolynomialFeatures(degree=2)
    Phi = add_bias_column(fmap(X))
    u = np.zeros(6)
    u[4] = -1.0
    gamma = (y * (Phi @ u)).min()
    assert gamma > 0
    bound = (np.linalg.norm(Phi, axis=1).max() / gamma) ** 2
    model = Perceptron(feature_map=fmap).fit(X, y, epochs=int(bound) + 2)
    assert model.converged and model.n_mistakes <= bound
    assert model.score(X, y) == 1.0


# ----------------------------------------------------------------------------- ADALINE
def test_adaline_gradient_descent_converges_to_closed_form():
    # slide "ADALINE": XXᵀw = Xy; gradient descent on J(w) = 1/N Σ (y_i - wᵀx_i)² reaches it
    X, y, _, _ = D.make_regression(n=80, d=4, noise=0.5, seed=1)
    Xc = add_bias_column(X).T  # the slides' X, samples as columns
    w_slide = np.linalg.solve(Xc @ Xc.T, Xc @ y)  # w = (XXᵀ)⁻¹ X y, written as on the slide

    closed = LinearRegression().fit_closed_form(X, y)
    np.testing.assert_allclose(closed.w, w_slide, rtol=1e-10, atol=1e-12)

    gd = LinearRegression(seed=0).fit(X, y, lr=0.1, epochs=3000)
    np.testing.assert_allclose(gd.w, w_slide, rtol=1e-8, atol=1e-10)
    # the loss history decreases to the least-squares minimum J(w*)
    j_star = np.mean((y - Xc.T @ w_slide) ** 2)
    assert gd.loss_history[0] > gd.loss_history[-1]
    np.testing.assert_allclose(gd.loss_history[-1], j_star, rtol=1e-10)


def test_adaline_singular_case_needs_ridge():
    # slide "ADALINE": XXᵀ singular (collinear inputs: points along a line) -> infinitely
    # many solutions; ridge min J(w) + α wᵀw has the unique w = (XXᵀ + αI)⁻¹ X y
    rng = np.random.default_rng(2)
    x1 = rng.standard_normal(30)
    X = np.stack([x1, 2.0 * x1], axis=1)  # second feature = 2 × first
    y = 3.0 * x1 + 0.5 + 0.1 * rng.standard_normal(30)
    Xc = add_bias_column(X).T
    assert np.linalg.matrix_rank(Xc @ Xc.T) == 2  # 3 × 3 but rank 2: singular

    with pytest.raises(np.linalg.LinAlgError, match="singular.*alpha > 0"):
        LinearRegression().fit_closed_form(X, y)

    for alpha in (1e-3, 0.1, 10.0):
        ridge = LinearRegression().fit_closed_form(X, y, alpha=alpha)
        w_slide = np.linalg.inv(Xc @ Xc.T + alpha * np.eye(3)) @ Xc @ y  # the slide, literally
        np.testing.assert_allclose(ridge.w, w_slide, rtol=1e-9, atol=1e-12)
        # it is the minimiser: ∇G(w) = 0 for G(w) = ‖y - Xᵀw‖² + α wᵀw (autodiff)
        w = mg.tensor(ridge.w, requires_grad=True)
        G = F.mse_loss(mg.tensor(Xc.T) @ w, y, reduction="sum") + alpha * (w * w).sum()
        (g,) = mg.grad(G, w)
        assert np.abs(g.numpy()).max() < 1e-9 * np.abs(Xc @ y).max()


def test_singular_case_has_many_least_squares_solutions():
    # "infinite no. of solutions": moving w along the null space of Xᵀ leaves J unchanged
    rng = np.random.default_rng(3)
    x1 = rng.standard_normal(20)
    X = np.stack([x1, 2.0 * x1], axis=1)
    y = x1 + rng.standard_normal(20) * 0.1
    Phi = add_bias_column(X)
    w = LinearRegression().fit_closed_form(X, y, alpha=1e-6).w
    null = np.array([0.0, 2.0, -1.0])  # Phi @ null = 2 x1 - 2 x1 = 0
    np.testing.assert_allclose(Phi @ null, 0.0, atol=1e-15)
    j = [F.mse_loss(mg.tensor(Phi @ (w + t * null)), y).item() for t in (0.0, 1.0, -5.0)]
    np.testing.assert_allclose(j, j[0], rtol=1e-10)


# ----------------------------------------------------------------------------- convexity
def _psd(H, tol=1e-12):
    H = np.asarray(H)
    np.testing.assert_allclose(H, H.T, atol=1e-14)  # symmetric
    return np.linalg.eigvalsh(H).min() >= -tol * max(1.0, np.abs(H).max())


def _problem(seed=0, n=12, d=3):
    rng = np.random.default_rng(seed)
    Phi = add_bias_column(rng.standard_normal((n, d)))
    return rng, Phi, rng.standard_normal(d + 1)


def test_hessian_mse_linear_model():
    # slide "Convexity" / "Linear regression": J(w) = 1/N Σ (wᵀx_i - y_i)², H = 2/N XᵀX
    rng, Phi, w = _problem(0)
    y = rng.standard_normal(12)
    H = mg.hessian(lambda v: F.mse_loss(mg.tensor(Phi) @ v, y), w).numpy()
    np.testing.assert_allclose(H, 2 / 12 * Phi.T @ Phi, rtol=1e-12, atol=1e-14)
    assert _psd(H)


def test_hessian_of_one_sample_l2_is_x_xT():
    # slide "Linear regression with ℓ2 loss is convex": ℒ = ½ (wᵀx_i - y_i)², ∇²ℒ = x_i x_iᵀ,
    # and vᵀ x_i x_iᵀ v = (x_iᵀ v)² >= 0
    rng, Phi, w = _problem(1)
    x_i, y_i = Phi[0], 0.7
    H = mg.hessian(lambda v: 0.5 * ((mg.tensor(x_i) @ v - y_i) ** 2), w).numpy()
    np.testing.assert_allclose(H, np.outer(x_i, x_i), rtol=1e-13, atol=1e-15)
    for v in rng.standard_normal((5, 4)):
        np.testing.assert_allclose(v @ H @ v, (x_i @ v) ** 2, rtol=1e-12)
    assert _psd(H)


def test_hessian_logistic_cross_entropy():
    # slide "Convexity" / "Binary classification": H = Xᵀ diag(p(1-p)) X / N, p = σ(Xw)
    rng, Phi, w = _problem(2)
    y = rng.integers(0, 2, 12).astype(float)
    H = mg.hessian(lambda v: F.binary_cross_entropy_with_logits(mg.tensor(Phi) @ v, y),
                   w).numpy()
    p = 1 / (1 + np.exp(-Phi @ w))
    np.testing.assert_allclose(H, Phi.T @ np.diag(p * (1 - p)) @ Phi / 12,
                               rtol=1e-12, atol=1e-15)
    assert _psd(H)


def test_hessian_softmax_cross_entropy():
    # softmax regression, W (K, d) flattened row by row:
    # H[(k,a),(l,b)] = 1/N Σ_i (p_ik δ_kl - p_ik p_il) x_ia x_ib
    rng, Phi, _ = _problem(3, n=9, d=2)
    K, d = 3, Phi.shape[1]
    t = rng.integers(0, K, 9)
    w = rng.standard_normal(K * d)
    H = mg.hessian(lambda v: F.cross_entropy(mg.tensor(Phi) @ v.reshape(K, d).T, t),
                   w).numpy()
    Z = Phi @ w.reshape(K, d).T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    expected = np.zeros((K * d, K * d))
    for p, x in zip(P, Phi):
        expected += np.kron(np.diag(p) - np.outer(p, p), np.outer(x, x))
    np.testing.assert_allclose(H, expected / 9, rtol=1e-11, atol=1e-14)
    assert _psd(H)


def test_hessian_huber_linear_model():
    # Huber: ½ r² inside |r| < δ, linear outside: H = Xᵀ diag(1[|r_i| < δ]) X / N
    rng, Phi, w = _problem(4, n=15)
    y = Phi @ w + rng.choice([-1, 1], 15) * rng.uniform(0.1, 3.0, 15)
    r = Phi @ w - y
    inside = (np.abs(r) < 1.0).astype(float)
    assert 0 < inside.sum() < 15
    H = mg.hessian(lambda v: F.huber_loss(mg.tensor(Phi) @ v, y), w).numpy()
    np.testing.assert_allclose(H, Phi.T @ np.diag(inside) @ Phi / 15, rtol=1e-12, atol=1e-15)
    assert _psd(H)


@pytest.mark.parametrize("name", ["mse", "l1", "huber", "logistic", "softmax", "hinge",
                                  "perceptron"])
def test_convexity_inequality_along_segments(name):
    # slide "Convexity" (definition): f(αw₁ + (1-α)w₂) <= α f(w₁) + (1-α) f(w₂)
    rng = np.random.default_rng(5)
    Phi = add_bias_column(rng.standard_normal((20, 2)))
    yr = rng.standard_normal(20)
    y01 = rng.integers(0, 2, 20).astype(float)
    ypm = 2 * y01 - 1
    t = rng.integers(0, 3, 20)
    losses = {
        "mse": (lambda v: F.mse_loss(mg.tensor(Phi) @ v, yr), 3),
        "l1": (lambda v: F.l1_loss(mg.tensor(Phi) @ v, yr), 3),
        "huber": (lambda v: F.huber_loss(mg.tensor(Phi) @ v, yr), 3),
        "logistic": (lambda v: F.binary_cross_entropy_with_logits(mg.tensor(Phi) @ v, y01), 3),
        "softmax": (lambda v: F.cross_entropy(mg.tensor(Phi) @ v.reshape(3, 3).T, t), 9),
        "hinge": (lambda v: F.hinge_loss(mg.tensor(Phi) @ v, ypm), 3),
        "perceptron": (lambda v: F.perceptron_loss(mg.tensor(Phi) @ v, ypm), 3),
    }
    f, size = losses[name]
    for _ in range(20):
        w1, w2 = rng.standard_normal(size) * 2, rng.standard_normal(size) * 2
        for a in (0.1, 0.5, 0.9):
            mid = f(mg.tensor(a * w1 + (1 - a) * w2)).item()
            chord = a * f(mg.tensor(w1)).item() + (1 - a) * f(mg.tensor(w2)).item()
            assert mid <= chord + 1e-12


def _l2_on_sigmoid(x):
    """f(w) = ½ (σ(wᵀx) - 1)², a one-element (1,) tensor."""
    return lambda v: 0.5 * (mg.sigmoid((mg.tensor(x) @ v).reshape(1)) - 1.0) ** 2


def test_l2_on_sigmoid_is_not_convex():
    # slide "Binary classification", "Question: is logistic regression convex for ℓ2?": no.
    # f(w) = ½ (σ(wᵀx) - 1)² has ∇²f = -σ(1 - σ)²(1 - 3σ) x xᵀ, negative wherever σ < 1/3
    x = np.array([1.0, 0.5])
    w = np.array([-2.0, -1.0])  # wᵀx = -2.5, σ ≈ 0.076
    H = mg.hessian(_l2_on_sigmoid(x), w).numpy()
    s = 1 / (1 + np.exp(-(x @ w)))
    expected = -s * (1 - s) * (1 - s) * (1 - 3 * s) * np.outer(x, x)
    np.testing.assert_allclose(H, expected, rtol=1e-12)
    assert np.linalg.eigvalsh(H).min() < -1e-3  # not positive semidefinite
    # while cross-entropy on the same model is convex there
    Hc = mg.hessian(lambda v: F.binary_cross_entropy_with_logits(
        (mg.tensor(x) @ v).reshape(1), np.array([1.0])), w).numpy()
    assert _psd(Hc)


def test_l2_on_sigmoid_hessian_with_a_0d_loss():
    # the same Hessian as above, written the natural way: the loss is a 0-d tensor
    x = np.array([1.0, 0.5])
    w = np.array([-2.0, -1.0])
    H0 = mg.hessian(lambda v: 0.5 * (mg.sigmoid(mg.tensor(x) @ v) - 1.0) ** 2, w).numpy()
    np.testing.assert_allclose(H0, mg.hessian(_l2_on_sigmoid(x), w).numpy(), rtol=1e-12)
