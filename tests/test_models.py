"""The lecture's models: API, inputs and labels, feature maps, and accuracy on real data."""

from __future__ import annotations

import numpy as np
import pytest

import microgradlin as mg
from microgradlin import datasets as D
from microgradlin.models import (
    Adaline,
    FunctionFeatures,
    LinearRegression,
    LogisticRegression,
    Module,
    Perceptron,
    PolynomialFeatures,
    SoftmaxRegression,
    add_bias_column,
)


def _stratified_folds(y, k, seed):
    rng = np.random.default_rng(seed)
    folds = [[] for _ in range(k)]
    for c in np.unique(y):
        for j, part in enumerate(np.array_split(rng.permutation(np.flatnonzero(y == c)), k)):
            folds[j].extend(part.tolist())
    return [np.array(f) for f in folds]


def _cross_validated_accuracy(make_model, ds, k=5, seed=0, **fit):
    """Mean held-out accuracy over k stratified folds, features standardised with the
    training folds' mean and standard deviation only."""
    folds = _stratified_folds(ds.y, k, seed)
    scores = []
    for j in range(k):
        test = folds[j]
        train = np.concatenate([folds[i] for i in range(k) if i != j])
        mu, sd = ds.X[train].mean(axis=0), ds.X[train].std(axis=0)
        model = make_model().fit((ds.X[train] - mu) / sd, ds.y[train], **fit)
        scores.append(model.score((ds.X[test] - mu) / sd, ds.y[test]))
    return float(np.mean(scores)), scores


# ----------------------------------------------------------------------------- real data
def test_logistic_regression_breast_cancer_held_out_accuracy():
    # Wisconsin diagnostic breast cancer: linear models are known to reach ~0.95-0.98
    mean, folds = _cross_validated_accuracy(lambda: LogisticRegression(seed=0),
                                            D.load_breast_cancer(), lr=0.1, epochs=1000)
    assert mean >= 0.95, folds


def test_softmax_regression_iris_held_out_accuracy():
    # Fisher's iris: a linear softmax classifier is known to reach ~0.95-0.97
    mean, folds = _cross_validated_accuracy(lambda: SoftmaxRegression(seed=0),
                                            D.load_iris(), lr=0.1, epochs=1000)
    assert mean >= 0.93, folds


def test_linear_regression_diabetes_r2():
    # ordinary least squares on all ten diabetes features: R² = 0.5177 (in-sample), the
    # figure scikit-learn's LinearRegression gives on this data set
    ds = D.load_diabetes()
    model = LinearRegression().fit_closed_form(ds.X, ds.y)
    assert model.score(ds.X, ds.y) == pytest.approx(0.5177, abs=5e-4)
    # gradient descent on standardised features reaches the same fit
    Xs = (ds.X - ds.X.mean(axis=0)) / ds.X.std(axis=0)
    gd = LinearRegression(seed=0).fit(Xs, ds.y, lr=0.1, epochs=5000)
    assert gd.score(Xs, ds.y) == pytest.approx(model.score(ds.X, ds.y), abs=1e-4)


# ----------------------------------------------------------------------------- API
def _binary_problem(seed=0):
    X, y, _, _ = D.make_blobs_separable(n=40, d=2, margin=0.5, seed=seed)
    return X, y, (y + 1) // 2  # labels {-1, +1} and {0, 1}


def test_models_are_modules_with_parameters():
    X, _, y01 = _binary_problem()
    model = LogisticRegression(n_features=2, seed=0)
    assert isinstance(model, Module)
    assert [name for name, _ in model.named_parameters()] == ["linear.weight", "linear.bias"]
    loss = model.loss(X, y01)
    assert loss.shape == () and loss.requires_grad
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    perceptron = Perceptron(n_features=2)
    assert [name for name, _ in perceptron.named_parameters()] == ["weight"]


def test_logistic_regression_predictions():
    X, _, y01 = _binary_problem(1)
    model = LogisticRegression(seed=0).fit(X, y01, lr=0.5, epochs=300)
    proba = model.predict_proba(X)
    assert proba.shape == (40,) and ((proba > 0) & (proba < 1)).all()
    np.testing.assert_array_equal(model.predict(X), (proba >= 0.5).astype(int))
    assert model.predict(X).dtype == np.int64
    assert model.score(X, y01) == 1.0  # separable data
    # predict_proba is σ of the logits, computed here by hand from the weights
    w, b = model.linear.weight.numpy()[0], model.linear.bias.numpy()[0]
    np.testing.assert_allclose(proba, 1 / (1 + np.exp(-(X @ w + b))), rtol=1e-12)
    assert model.loss_history[-1] < model.loss_history[0]


def test_softmax_regression_predictions():
    X, y = D.make_classification(n=90, d=2, k=3, seed=2)
    model = SoftmaxRegression(seed=0).fit(X, y, lr=0.1, epochs=300)
    assert model.n_classes == 3
    P = model.predict_proba(X)
    assert P.shape == (90, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), P.argmax(axis=1))
    assert model.score(X, y) > 0.8


def test_softmax_regression_with_explicit_classes_accepts_missing_labels():
    X, y = D.make_classification(n=30, d=2, k=3, seed=3)
    keep = y < 2  # only classes 0 and 1 in the data, but K = 4 declared
    model = SoftmaxRegression(n_features=2, n_classes=4, seed=0).fit(X[keep], y[keep],
                                                                     epochs=5)
    assert model.predict_proba(X).shape == (30, 4)


def test_adaline_classifies_with_the_sign():
    X, ypm, _ = _binary_problem(4)
    model = Adaline().fit_closed_form(X, ypm)
    assert set(np.unique(model.predict(X))) <= {-1, 1}
    np.testing.assert_array_equal(model.predict(X),
                                  np.where(model.decision_function(X) >= 0, 1, -1))
    assert model.score(X, ypm) >= 0.95


def test_linear_regression_predict_and_w():
    X, y, w_true, b_true = D.make_regression(n=50, d=2, noise=0.0, seed=5)
    model = LinearRegression().fit_closed_form(X, y)
    np.testing.assert_allclose(model.w, np.concatenate([[b_true], w_true]), rtol=1e-10)
    np.testing.assert_allclose(model.predict(X), y, rtol=1e-10, atol=1e-12)
    assert model.score(X, y) == pytest.approx(1.0)


def test_minibatch_training_is_reproducible_with_a_seed():
    X, y, _, _ = D.make_regression(n=40, d=3, seed=6)
    a = LinearRegression(seed=1).fit(X, y, lr=0.05, epochs=20, batch_size=8, seed=3)
    b = LinearRegression(seed=1).fit(X, y, lr=0.05, epochs=20, batch_size=8, seed=3)
    c = LinearRegression(seed=1).fit(X, y, lr=0.05, epochs=20, batch_size=8, seed=4)
    np.testing.assert_array_equal(a.w, b.w)
    assert not np.array_equal(a.w, c.w)
    assert len(a.loss_history) == 20


def test_models_accept_tensors_and_lists():
    X, ypm, y01 = _binary_problem(7)
    ref = LogisticRegression(seed=0).fit(X, y01, epochs=50)
    from_tensors = LogisticRegression(seed=0).fit(mg.tensor(X), mg.tensor(y01), epochs=50)
    from_lists = LogisticRegression(seed=0).fit(X.tolist(), y01.tolist(), epochs=50)
    np.testing.assert_array_equal(ref.linear.weight.numpy(), from_tensors.linear.weight.numpy())
    np.testing.assert_array_equal(ref.linear.weight.numpy(), from_lists.linear.weight.numpy())
    p = Perceptron().fit(mg.tensor(X), mg.tensor(ypm))
    np.testing.assert_array_equal(p.predict(mg.tensor(X)), Perceptron().fit(X, ypm).predict(X))


@pytest.mark.parametrize("cls", [LinearRegression, LogisticRegression, SoftmaxRegression,
                                 Perceptron, Adaline])
def test_float32_data_keeps_the_model_float32(cls):
    X, ypm, y01 = _binary_problem(8)
    y = {Perceptron: ypm, Adaline: ypm}.get(cls, y01)
    model = cls().fit(X.astype(np.float32), y, epochs=5)
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model.loss(X.astype(np.float32), y).dtype == np.float32
    # float64 data fed to a float32 model is converted, not mixed in
    assert model.loss(X, y).dtype == np.float32


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls, labels, message", [
    (Perceptron, [1, -1, 0, 1], r"\{-1, 1\}, got 0.*2 \* y - 1"),
    (Adaline, [1, -1, 2, 1], r"\{-1, 1\}, got 2"),
    (LogisticRegression, [0, 1, -1, 1], r"\{0, 1\}, got -1.*\(y \+ 1\) // 2"),
    (SoftmaxRegression, [0, 1, -3, 1], r"class label -3"),
])
def test_models_refuse_labels_outside_their_set(cls, labels, message):
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ValueError, match=message):
        cls().fit(X, np.array(labels))


def test_model_input_errors():
    with pytest.raises(ValueError, match=r"shape \(N, d\).*reshape\(-1, 1\)"):
        LinearRegression().fit(np.arange(5.0), np.arange(5.0))
    with pytest.raises(ValueError, match="X has 4 samples but y has 3"):
        LogisticRegression().fit(np.zeros((4, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        LinearRegression().fit(np.zeros((4, 2)), np.zeros((4, 1)))
    with pytest.raises(RuntimeError, match="call fit"):
        LogisticRegression().predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="built for 2"):
        LogisticRegression(n_features=2).fit(np.zeros((4, 3)), np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="built for 2"):
        SoftmaxRegression(n_features=2).fit(np.zeros((4, 3)), np.array([0, 1, 2, 1]))
    with pytest.raises(ValueError, match="rule"):
        Perceptron().fit(np.zeros((2, 2)), np.array([1, -1]), rule="hebb")
    with pytest.raises(ValueError, match="class labels must be whole numbers"):
        SoftmaxRegression().fit(np.zeros((2, 2)), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="n_classes"):
        SoftmaxRegression(n_classes=1)
    with pytest.raises(ValueError, match="class label 3"):
        SoftmaxRegression(n_classes=3).fit(np.zeros((2, 2)), np.array([0, 3]))


def test_divergence_is_reported():
    X, y, _, _ = D.make_regression(n=20, d=2, seed=9)
    with np.errstate(over="ignore", invalid="ignore"), \
            pytest.raises(FloatingPointError, match="lower the learning rate"):
        LinearRegression(seed=0).fit(X * 1e3, y, lr=10.0, epochs=200)


# ----------------------------------------------------------------------------- features
def test_polynomial_features_values_and_order():
    X = np.array([[2.0, 3.0], [-1.0, 0.5]])
    # [x1, x2, x1², x1 x2, x2²], worked out by hand
    np.testing.assert_array_equal(PolynomialFeatures(2)(X),
                                  [[2, 3, 4, 6, 9], [-1, 0.5, 1, -0.5, 0.25]])
    np.testing.assert_array_equal(PolynomialFeatures(2, interaction_only=True)(X),
                                  [[2, 3, 6], [-1, 0.5, -0.5]])
    np.testing.assert_array_equal(PolynomialFeatures(1, include_bias=True)(X),
                                  [[1, 2, 3], [1, -1, 0.5]])
    assert PolynomialFeatures(3)(np.ones((4, 3))).shape == (4, 3 + 6 + 10)
    assert PolynomialFeatures(2).feature_names(["a", "b"]) == ["a", "b", "a^2", "a b", "b^2"]
    with pytest.raises(ValueError, match="degree"):
        PolynomialFeatures(0)


def test_polynomial_features_on_tensors_are_differentiable():
    x = mg.tensor([[2.0, 3.0]], requires_grad=True)
    PolynomialFeatures(2)(x).sum().backward()
    # d/dx1 (x1 + x2 + x1² + x1x2 + x2²) = 1 + 2x1 + x2 = 8, d/dx2 = 1 + x1 + 2x2 = 9
    np.testing.assert_allclose(x.grad.numpy(), [[8.0, 9.0]])


def test_function_features_and_bias_column():
    fmap = FunctionFeatures(lambda X: X[:, 0] * X[:, 1], name="product")
    np.testing.assert_array_equal(fmap(np.array([[2.0, -3.0]])), [[-6.0]])
    np.testing.assert_array_equal(add_bias_column(np.array([[5.0], [6.0]])), [[1, 5], [1, 6]])
    with pytest.raises(ValueError, match="product"):
        FunctionFeatures(lambda X: X[:1], name="product")(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="callable"):
        FunctionFeatures(3)


def test_xor_perceptron_fails_raw_and_succeeds_with_a_feature_map():
    # slide "Limitations of linear classification": XOR and its transformation
    X, y = D.make_xor(n=80, seed=1)
    raw = Perceptron().fit(X, y, epochs=100)
    assert not raw.converged and raw.score(X, y) < 1.0
    for fmap in (PolynomialFeatures(2), FunctionFeatures(lambda X: X[:, :1] * X[:, 1:])):
        mapped = Perceptron(feature_map=fmap).fit(X, y, epochs=100)
        assert mapped.converged and mapped.score(X, y) == 1.0


def test_logistic_regression_with_feature_map_solves_xor():
    X, y = D.make_xor(n=80, seed=2)
    y01 = (y + 1) // 2
    assert LogisticRegression(seed=0).fit(X, y01, lr=0.5, epochs=200).score(X, y01) < 0.8
    mapped = LogisticRegression(feature_map=PolynomialFeatures(2), seed=0)
    assert mapped.fit(X, y01, lr=0.5, epochs=200).score(X, y01) == 1.0


def test_perceptron_records_history():
    X, y, _, _ = D.make_blobs_separable(n=30, seed=10)
    model = Perceptron().fit(X, y, epochs=50)
    steps = len(model.mistakes_per_epoch) * 30
    assert model.weight_history.shape == (steps + 1, 3)
    np.testing.assert_array_equal(model.weight_history[0], 0.0)  # w_0 = 0
    np.testing.assert_array_equal(model.weight_history[-1], model.weight.numpy())
    # the number of rows that changed is the number of mistakes (eq. 6 updates)
    changed = np.any(np.diff(model.weight_history, axis=0) != 0, axis=1).sum()
    assert changed == model.n_mistakes
    assert Perceptron().fit(X, y, record_history=False).weight_history is None


def test_a_frozen_parameter_stays_a_parameter():
    """PyTorch: requires_grad_(False) freezes a parameter; it stays in state_dict()."""
    from microgradlin.models import Linear

    lin = Linear(3, 2, seed=0)
    lin.bias.requires_grad_(False)
    assert [name for name, _ in lin.named_parameters()] == ["weight", "bias"]
    assert set(lin.state_dict()) == {"weight", "bias"}
    state = lin.state_dict()
    state["bias"] = state["bias"] + 1.0
    lin.load_state_dict(state)
    assert (lin.bias.numpy() == state["bias"]).all()


# ----------------------------------------------------------------------------- bad data
_X4 = np.array([[-2.0], [-1.0], [1.0], [2.0]])
_PM = np.array([-1, -1, 1, 1])
_01 = np.array([0, 0, 1, 1])


def _fitted():
    from microgradlin.models import (
        Adaline,
        LinearRegression,
        LogisticRegression,
        Perceptron,
        SoftmaxRegression,
    )

    return [(Perceptron().fit(_X4, _PM), _PM, "Perceptron"),
            (Adaline().fit_closed_form(_X4, _PM), _PM, "Adaline"),
            (LogisticRegression(seed=0).fit(_X4, _01, epochs=50), _01, "LogisticRegression"),
            (SoftmaxRegression(seed=0).fit(_X4, _01, epochs=50), _01, "SoftmaxRegression"),
            (LinearRegression().fit_closed_form(_X4, 3 * _X4[:, 0] + 1), 3 * _X4[:, 0] + 1,
             "LinearRegression")]


def test_score_checks_y_as_fit_does():
    # an (N, 1) y would broadcast against the (N,) predictions to (N, N): a wrong score
    for model, y, name in _fitted():
        assert model.score(_X4, y) == 1.0
        with pytest.raises(ValueError, match=rf"^{name}: y must have shape .*\(4, 1\)"):
            model.score(_X4, y[:, None])
        with pytest.raises(ValueError, match=rf"^{name}: .*\(3,\)|^{name}: X has 4 samples"):
            model.score(_X4, y[:3])
    perceptron = _fitted()[0][0]
    with pytest.raises(ValueError, match=r"labels must be in \{-1, 1\}, got 0"):
        perceptron.score(_X4, _01)  # {0, 1} labels on a ±1 model


def test_r2_of_a_constant_target_follows_scikit_learn():
    # Σ(y - ȳ)² = 0: R² is 1 for a perfect prediction, else 0 (not a ZeroDivisionError)
    from microgradlin.models import LinearRegression

    model = LinearRegression().fit_closed_form(_X4, 3 * _X4[:, 0] + 1)
    assert model.score(_X4[:1], np.array([-5.0])) == 1.0
    assert model.score(_X4[:1], np.array([0.0])) == 0.0


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_fit_refuses_nan_and_inf_data(bad):
    from microgradlin.models import LinearRegression, LogisticRegression, Perceptron

    Xb = _X4.copy()
    Xb[2, 0] = bad
    shown = repr(float(bad))
    fits = [(lambda: Perceptron().fit(Xb, _PM), "Perceptron.fit"),
            (lambda: LinearRegression().fit_closed_form(Xb, _X4[:, 0]),
             "LinearRegression.fit_closed_form"),
            (lambda: LinearRegression().fit(Xb, _X4[:, 0], epochs=2), "LinearRegression.fit"),
            (lambda: LogisticRegression().fit(Xb, _01, epochs=2), "LogisticRegression.fit")]
    for fit, name in fits:
        with pytest.raises(ValueError, match=rf"^{name}: X contains {shown} \(sample 2\)"):
            fit()
    yb = _X4[:, 0].copy()
    yb[0] = bad
    with pytest.raises(ValueError, match=rf"y contains {shown} \(sample 0\)"):
        LinearRegression().fit_closed_form(_X4, yb)


def test_fit_refuses_empty_data():
    from microgradlin.models import (
        LinearRegression,
        LogisticRegression,
        Perceptron,
        SoftmaxRegression,
    )

    empty = np.zeros((0, 2))
    for fit in (lambda: Perceptron().fit(empty, np.zeros(0)),
                lambda: LinearRegression().fit_closed_form(empty, np.zeros(0), alpha=1.0),
                lambda: LinearRegression().fit(empty, np.zeros(0)),
                lambda: LogisticRegression().fit(empty, np.zeros(0)),
                lambda: SoftmaxRegression(n_classes=3).fit(empty, np.zeros(0, int))):
        with pytest.raises(ValueError, match=r"X has no samples \(shape \(0, 2\)\)"):
            fit()
    with pytest.raises(ValueError, match="y has no labels"):
        SoftmaxRegression().fit(empty, np.zeros(0, int))


def test_class_labels_that_are_not_whole_numbers_are_shown():
    from microgradlin.models import SoftmaxRegression

    for bad, shown in ((1.5, "1.5"), (np.inf, "inf"), (np.nan, "nan")):
        with pytest.raises(ValueError, match=rf"whole numbers 0..K-1, got {shown}"):
            SoftmaxRegression().fit(_X4, [0.0, 1.0, bad, 1.0])


@pytest.mark.parametrize("bad", [2.5, "3", True, None])
def test_linear_sizes_must_be_integers(bad):
    from microgradlin.models import Linear

    with pytest.raises(TypeError, match=r"^Linear: in_features must be an integer"):
        Linear(bad, 1)
    assert Linear(np.int64(3), 2).weight.shape == (2, 3)


def test_model_constructors_check_feature_map_and_n_features():
    from microgradlin.models import Perceptron, SoftmaxRegression

    for make in (lambda: Perceptron(feature_map=5), lambda: SoftmaxRegression(feature_map="p")):
        with pytest.raises(TypeError, match=r"feature_map must be a callable"):
            make()
    for n in (-1, 2.5, 0):
        with pytest.raises(ValueError, match=r"n_features must be an integer >= 1"):
            Perceptron(n_features=n)
