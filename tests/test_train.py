"""The training loop: the lecture's batch / stochastic / minibatch gradient descent on least
squares, step-size limits, divergence, reproducibility, resuming, callbacks, progress."""

import importlib.util
import math
import pathlib
import sys
import types

import numpy as np
import pytest

import microgradlin as mg
from microgradlin.checkpoint import CheckpointError, load
from microgradlin.data import BatchIterator
from microgradlin.datasets import make_regression
from microgradlin.models import Linear
from microgradlin.optim import SGD, Adam, InverseTime
from microgradlin.train import DivergenceError, History, fit

ROOT = pathlib.Path(__file__).resolve().parents[1]


def mse(pred, target):
    """J = (1/N) Σ (ŷ_i - y_i)² (the lecture's ℓ2 cost), defined here until F.mse_loss exists."""
    return ((pred - target) ** 2).mean()


@pytest.fixture(scope="module")
def problem():
    """Noisy least squares; the closed-form solution solves the normal equations
    ÃᵀÃ θ = Ãᵀy with Ã = [X | 1] (lecture: w = (XXᵀ)⁻¹Xy, the bias as a column of ones)."""
    X, y, _, _ = make_regression(n=200, d=3, noise=0.1, seed=0)
    A = np.column_stack([X, np.ones(len(X))])
    theta = np.linalg.solve(A.T @ A, A.T @ y)
    return X, y.reshape(-1, 1), theta


def params_of(model):
    return np.concatenate([model.weight.data[0], model.bias.data])


def lambda_max(X, y):
    """λ_max of the Hessian of J(θ) = mean((Xw + b - y)²), from mg.hessian (double backward)."""
    Xt, yt = mg.tensor(X), mg.tensor(y[:, 0])
    H = mg.hessian(lambda th: ((Xt @ th[:3] + th[3] - yt) ** 2).mean(), np.zeros(4))
    A = np.column_stack([X, np.ones(len(X))])
    np.testing.assert_allclose(H.numpy(), 2 / len(X) * A.T @ A, rtol=1e-12)  # H = (2/N)ÃᵀÃ
    return float(np.linalg.eigvalsh(H.numpy()).max())


# ----------------------------------------------------------------------------- the lecture
def test_batch_gd_reaches_the_closed_form_solution(problem):
    X, y, theta = problem
    model = Linear(3, 1, seed=0)
    fit(model, mse, X, y, method="batch", lr=1 / lambda_max(X, y), epochs=300, progress=False)
    np.testing.assert_allclose(params_of(model), theta, atol=1e-10)


def test_sgd_with_a_robbins_monro_schedule_reaches_the_closed_form_solution(problem):
    # ε_t = 0.05/(1 + t/200): Σε = ∞, Σε² < ∞; 6000 single-sample steps get within 3e-3
    X, y, theta = problem
    model = Linear(3, 1, seed=0)
    history = fit(model, mse, X, y, method="sgd", schedule=InverseTime(0.05, tau=200),
                  epochs=30, seed=0, progress=False)
    assert len(history.steps) == 30 * 200  # one step per sample
    assert np.abs(params_of(model) - theta).max() < 3e-3


def test_minibatch_gd_reaches_the_closed_form_solution(problem):
    X, y, theta = problem
    model = Linear(3, 1, seed=0)
    history = fit(model, mse, X, y, method="minibatch", batch_size=20,
                  schedule=InverseTime(0.1, tau=100), epochs=60, seed=0, progress=False)
    assert len(history.steps) == 60 * 10
    assert np.abs(params_of(model) - theta).max() < 2e-3


def test_batch_gd_decreases_monotonically_below_two_over_lambda_max(problem):
    # On a quadratic, J(θ - εg) - J(θ) = -ε‖g‖²(1 - ελ/2) < 0 for ε < 2/λ_max.
    X, y, _ = problem
    lr = 1.9 / lambda_max(X, y)
    history = fit(Linear(3, 1, seed=0), mse, X, y, method="batch", lr=lr, epochs=150,
                  progress=False)
    losses = np.array(history.step_loss)
    assert np.all(np.diff(losses[:60]) < 0)  # strictly, while far from the minimum
    assert np.all(np.diff(losses) <= 1e-15)  # and never up, down to round-off


def test_batch_gd_above_two_over_lambda_max_diverges_with_a_clear_error(problem):
    X, y, _ = problem
    lr = 2.1 / lambda_max(X, y)
    seen = []
    with pytest.raises(DivergenceError) as info:
        fit(Linear(3, 1, seed=0), mse, X, y, method="batch", lr=lr, epochs=2000,
            progress=False, callbacks=lambda state: seen.append(state.history.epoch_loss[-1]))
    err = info.value
    message = str(err)
    assert f"step {err.step}" in message and f"lr={lr:.4g}" in message
    assert "lower the learning rate" in message and f"lr={lr / 10:.4g} (a tenth)" in message
    assert err.lr == lr and err.grad_norm > 1e8 and 50 < err.step < 2000
    assert seen[-1] > 1e6 * seen[0]  # the loss grew, epoch after epoch
    assert np.all(np.diff(seen[-20:]) > 0)


def test_a_nan_loss_is_reported_as_divergence():
    X = np.ones((4, 2))
    with pytest.raises(DivergenceError, match=r"step 0 .*the loss is nan"):
        fit(Linear(2, 1, seed=0), lambda p, t: (p * 0 + math.nan).mean(), X, np.ones((4, 1)),
            lr=0.1, progress=False)


def test_minibatch_gradient_is_an_unbiased_estimate_of_the_full_gradient():
    # With a mean loss and equal batches, (1/B) Σ_b ∇J_b = ∇J exactly (up to round-off).
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((120, 3)), rng.standard_normal((120, 1))
    model = Linear(3, 1, seed=0)
    params = model.parameters()

    def gradient(xb, yb):
        return np.concatenate([g.numpy().ravel() for g in mg.grad(mse(model(xb), yb), params)])

    full = gradient(mg.tensor(X), mg.tensor(y))
    grads = [gradient(xb, yb) for xb, yb in BatchIterator(X, y, batch_size=30, seed=0)]
    assert len(grads) == 4
    np.testing.assert_allclose(np.mean(grads, axis=0), full, rtol=1e-12, atol=1e-14)
    assert not np.allclose(grads[0], full, rtol=1e-3)  # each one alone is noisy

    # unequal batches (30, 30, 30, 10): the size-weighted mean is exact, the plain one is not
    X, y = X[:100], y[:100]
    full = gradient(mg.tensor(X), mg.tensor(y))
    pairs = [(len(xb), gradient(xb, yb)) for xb, yb in BatchIterator(X, y, batch_size=30, seed=0)]
    weighted = sum(n * g for n, g in pairs) / 100
    np.testing.assert_allclose(weighted, full, rtol=1e-12, atol=1e-14)
    assert not np.allclose(np.mean([g for _, g in pairs], axis=0), full, rtol=1e-6)


@pytest.mark.parametrize("loss_fn, factor", [
    (lambda p, t: 0.5 * ((p - t) ** 2).sum(), 1.0),  # L = ½(ŷ - y)²: exactly the delta rule
    (mse, 2.0),  # L = (ŷ - y)²: the same rule with ε doubled
])
def test_single_sample_sgd_is_the_adaline_delta_rule(loss_fn, factor):
    # Lecture (ADALINE, Widrow-Hoff): w ← w + ε (y_i - ŷ_i) x_i, with x_i[0] = 1 for the bias.
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(30), rng.standard_normal((30, 2))])
    y = X @ np.array([0.5, 1.0, -2.0]) + 0.1 * rng.standard_normal(30)
    model = Linear(3, 1, bias=False, seed=0)
    w = model.weight.data[0].copy()
    eps = 0.05
    fit(model, loss_fn, X, y.reshape(-1, 1), method="sgd", lr=eps, epochs=1, shuffle=False,
        progress=False)
    for x_i, y_i in zip(X, y):
        y_hat = w @ x_i
        w = w + factor * eps * (y_i - y_hat) * x_i
    np.testing.assert_allclose(model.weight.data[0], w, rtol=1e-13)


# ----------------------------------------------------------------------------- reproducibility
HISTORY_VALUES = ("steps", "step_loss", "lr", "grad_norm", "epoch_loss")


def run_minibatch(X, y, seed, epochs=4, **kwargs):
    model = Linear(3, 1, seed=1)
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = fit(model, mse, X, y, batch_size=16, epochs=epochs, optimizer=opt,
                  schedule=InverseTime(0.05, tau=20), seed=seed, progress=False, **kwargs)
    return model, history


def test_the_same_seed_gives_bit_identical_histories(problem):
    X, y, _ = problem
    (m1, h1), (m2, h2) = run_minibatch(X, y, seed=3), run_minibatch(X, y, seed=3)
    for name in HISTORY_VALUES:
        assert getattr(h1, name) == getattr(h2, name), name
    np.testing.assert_array_equal(params_of(m1), params_of(m2))
    _, h3 = run_minibatch(X, y, seed=4)
    assert h3.step_loss != h1.step_loss


def test_resuming_from_a_checkpoint_continues_bit_identically(problem, tmp_path):
    X, y, _ = problem
    straight_model, straight = run_minibatch(X, y, seed=0, epochs=6)
    path = tmp_path / "run.npz"
    run_minibatch(X, y, seed=0, epochs=3, checkpoint=path)
    model = Linear(3, 1, seed=123)  # another start: the checkpoint must overwrite it
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
    resumed = fit(model, mse, X, y, batch_size=16, epochs=6, optimizer=opt,
                  schedule=InverseTime(0.05, tau=20), seed=0, progress=False, resume=path)
    np.testing.assert_array_equal(params_of(model), params_of(straight_model))
    for name in HISTORY_VALUES:
        assert getattr(resumed, name) == getattr(straight, name), name
    assert len(resumed.wall_time) == 6 and resumed.wall_time == sorted(resumed.wall_time)


def test_a_run_that_stopped_early_can_be_resumed_for_more_epochs(problem, tmp_path):
    X, y, _ = problem
    path = tmp_path / "run.npz"
    first = fit(Linear(3, 1, seed=0), mse, X, y, method="batch", lr=0.3, epochs=500,
                tol=1e-6, checkpoint=path, progress=False, callbacks=None)
    assert first.stopped_early and first.epochs < 500
    more = fit(Linear(3, 1, seed=0), mse, X, y, method="batch", lr=0.3,
               epochs=first.epochs + 3, resume=path, progress=False)
    assert more.epochs == first.epochs + 3 and not more.stopped_early
    assert more.epoch_loss[:first.epochs] == first.epoch_loss


def test_checkpoint_every_k_epochs(problem, tmp_path):
    X, y, _ = problem
    path = tmp_path / "ck.npz"
    saved_epochs = []

    class Spy:
        def on_epoch_end(self, state):
            if path.exists():
                saved_epochs.append(int(load(path)["epoch"]))

    run_minibatch(X, y, seed=0, epochs=5, checkpoint=path, checkpoint_every=2,
                  callbacks=[Spy()])
    # on_epoch_end runs before that epoch's save: epochs 2 and 4 saved, then 5 at the end
    assert saved_epochs == [2, 2, 4] and int(load(path)["epoch"]) == 5


def test_resume_refuses_a_checkpoint_for_another_model(problem, tmp_path):
    X, y, _ = problem
    path = tmp_path / "run.npz"
    run_minibatch(X, y, seed=0, epochs=1, checkpoint=path)
    wider = Linear(3, 2, seed=0)
    with pytest.raises(CheckpointError, match=r"weight.*\(1, 3\).*\(2, 3\)"):
        fit(wider, mse, X, np.repeat(y, 2, axis=1), batch_size=16, lr=0.1, epochs=2,
            resume=path, progress=False)


# ----------------------------------------------------------------------------- the loop
def test_history_records_per_step_and_per_epoch(problem, tmp_path):
    X, y, _ = problem
    h = fit(Linear(3, 1, seed=0), mse, X, y, batch_size=50, lr=0.1, epochs=3,
            progress=False)
    assert h.steps == list(range(12)) and len(h.step_loss) == len(h.grad_norm) == 12
    assert h.lr == [0.1] * 12 and h.epochs == 3 and len(h.epoch_time) == 3
    assert all(g > 0 for g in h.grad_norm)
    # the epoch loss is the size-weighted mean of that epoch's batch losses (equal batches)
    assert math.isclose(h.epoch_loss[0], np.mean(h.step_loss[:4]), rel_tol=1e-12)
    assert h.to_dict()["epoch_loss"] == h.epoch_loss
    again = History.from_dict(h.to_dict())
    assert again.step_loss == h.step_loss and again.steps == h.steps
    h.to_csv(tmp_path / "epochs.csv")
    h.to_csv(tmp_path / "steps.csv", per="step")
    epoch_rows = (tmp_path / "epochs.csv").read_text().splitlines()
    step_rows = (tmp_path / "steps.csv").read_text().splitlines()
    assert epoch_rows[0] == "epoch,loss,epoch_time,wall_time" and len(epoch_rows) == 4
    assert step_rows[0] == "step,loss,lr,grad_norm" and len(step_rows) == 13
    assert float(step_rows[1].split(",")[1]) == h.step_loss[0]  # full precision


def test_grad_norm_is_the_norm_of_all_parameter_gradients(problem):
    X, y, _ = problem
    model = Linear(3, 1, seed=0)
    w, b = model.weight.data.copy(), model.bias.data.copy()
    h = fit(model, mse, X, y, method="batch", lr=0.1, epochs=1, progress=False)
    r = X @ w[0] + b[0] - y[:, 0]  # ∇_w = (2/N) Xᵀr, ∇_b = (2/N) Σ r
    expected = np.linalg.norm(np.r_[2 / len(r) * X.T @ r, 2 / len(r) * r.sum()])
    assert math.isclose(h.grad_norm[0], expected, rel_tol=1e-12)


def test_schedule_sets_the_learning_rate_of_every_step(problem):
    X, y, _ = problem
    h = fit(Linear(3, 1, seed=0), mse, X, y, method="batch", schedule=InverseTime(0.1, tau=2),
            epochs=4, progress=False)
    np.testing.assert_allclose(h.lr, [0.1, 0.1 / 1.5, 0.05, 0.04], rtol=1e-15)
    h = fit(Linear(3, 1, seed=0), mse, X, y, batch_size=100, schedule=InverseTime(0.1, tau=1),
            schedule_per="epoch", epochs=2, progress=False)
    np.testing.assert_allclose(h.lr, [0.1, 0.1, 0.05, 0.05], rtol=1e-15)


def test_log_every_thins_the_record_but_not_the_epoch_loss(problem):
    X, y, _ = problem
    _, every = run_minibatch(X, y, seed=0, epochs=2)
    _, sparse = run_minibatch(X, y, seed=0, epochs=2, log_every=5)
    assert sparse.steps == list(range(0, 26, 5))
    assert sparse.step_loss == every.step_loss[::5]
    assert sparse.epoch_loss == every.epoch_loss


def test_early_stopping_on_a_tolerance(problem):
    X, y, _ = problem
    h = fit(Linear(3, 1, seed=0), mse, X, y, method="batch", lr=0.3, epochs=5000, tol=1e-10,
            patience=3, progress=False)
    assert h.stopped_early and h.epochs < 5000 and "tol=1e-10" in h.stop_reason
    last = h.epoch_loss[-4:]
    assert all(abs(a - b) / a < 1e-10 for a, b in zip(last, last[1:]))


def test_callbacks_functions_objects_and_stopping(problem):
    X, y, _ = problem
    calls = []

    class Recorder:
        def on_train_begin(self, state):
            calls.append("begin")

        def on_epoch_begin(self, state):
            calls.append(f"epoch{state.epoch}")

        def on_step_end(self, state):
            calls.append("step")
            assert isinstance(state.batch_loss, mg.Tensor)

        def on_epoch_end(self, state):
            calls.append("end")
            if state.epoch == 1:
                state.stop = True

        def on_train_end(self, state):
            calls.append("done")

    epochs_seen = []
    h = fit(Linear(3, 1, seed=0), mse, X, y, batch_size=100, lr=0.1, epochs=10,
            progress=False, callbacks=[Recorder(), lambda s: epochs_seen.append(s.epoch)])
    assert calls == ["begin", "epoch0", "step", "step", "end", "epoch1", "step", "step", "end",
                     "done"]
    assert epochs_seen == [0, 1] and h.epochs == 2 and h.stopped_early


def test_adam_and_a_batch_iterator_work_through_fit(problem):
    X, y, theta = problem
    model = Linear(3, 1, seed=0)
    data = BatchIterator(X, y, batch_size=25, seed=0)
    fit(model, mse, data, optimizer=Adam(model.parameters(), lr=0.05), epochs=150,
        progress=False)
    assert np.abs(params_of(model) - theta).max() < 0.02


def test_float32_models_train_in_float32(problem):
    X, y, theta = problem
    model = Linear(3, 1, seed=0, dtype=np.float32)
    h = fit(model, mse, X, y, method="batch", lr=0.3, epochs=100, progress=False)
    assert model.weight.dtype == np.float32 and model.bias.dtype == np.float32
    assert np.abs(params_of(model) - theta).max() < 1e-4 and math.isfinite(h.epoch_loss[-1])


@pytest.mark.parametrize("log_every", [1, 3])
def test_training_on_the_strict_device_matches_the_cpu(problem, log_every):
    # The strict device refuses implicit host copies (as CuPy does): fit may only sync
    # explicitly, once per logged step and once per epoch.
    X, y, _ = problem
    results = []
    for device in ("cpu", "strict"):
        model = Linear(3, 1, seed=0, device=device)
        opt = SGD(model.parameters(), lr=0.05, momentum=0.5)
        h = fit(model, mse, X, y, batch_size=32, epochs=2, optimizer=opt, seed=0,
                log_every=log_every, progress=False)
        results.append((model.weight.numpy(), h))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    for name in HISTORY_VALUES:
        np.testing.assert_allclose(getattr(results[0][1], name), getattr(results[1][1], name),
                                   rtol=1e-12)


def test_a_column_prediction_against_a_flat_target_warns(problem):
    X, y, _ = problem
    with pytest.warns(UserWarning, match=r"\(200, 1\).*\(200,\).*broadcasts"):
        fit(Linear(3, 1, seed=0), mse, X, y[:, 0], method="batch", lr=0.01, epochs=1,
            progress=False)


def test_bad_losses_are_refused(problem):
    X, y, _ = problem
    with pytest.raises(ValueError, match=r"scalar.*shape \(200, 200\).*broadcast"):
        fit(Linear(3, 1, seed=0), lambda p, t: (p - t) ** 2, X, y[:, 0], lr=0.1,
            progress=False)
    with pytest.raises(TypeError, match="scalar Tensor, got float"):
        fit(Linear(3, 1, seed=0), lambda p, t: 1.0, X, y, lr=0.1, progress=False)
    with pytest.raises(RuntimeError, match="does not require grad"):
        fit(Linear(3, 1, seed=0), lambda p, t: mse(p.detach(), t), X, y, lr=0.1,
            progress=False)


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "batch", "batch_size": 10, "lr": 0.1}, "drop batch_size"),
    ({"method": "sgd", "batch_size": 4, "lr": 0.1}, "one sample per step"),
    ({"method": "adagrad", "lr": 0.1}, "method must be one of"),
    ({}, "pass lr="),
    ({"lr": 0.1, "schedule": InverseTime(0.1)}, "not both"),
    ({"lr": 0.1, "log_every": 0}, "log_every"),
    ({"lr": 0.1, "schedule_per": "batch"}, "schedule_per"),
])
def test_bad_arguments_are_refused(problem, kwargs, match):
    X, y, _ = problem
    with pytest.raises(ValueError, match=match):
        fit(Linear(3, 1, seed=0), mse, X, y, progress=False, **kwargs)


def test_an_optimizer_for_another_model_is_refused(problem):
    X, y, _ = problem
    other = Linear(3, 1, seed=0)
    with pytest.raises(ValueError, match="none of the model's parameters"):
        fit(Linear(3, 1, seed=0), mse, X, y, optimizer=SGD(other.parameters(), lr=0.1),
            progress=False)
    with pytest.raises(ValueError, match="only without an optimizer"):
        fit(other, mse, X, y, optimizer=SGD(other.parameters(), lr=0.1), lr=0.1,
            progress=False)


# ----------------------------------------------------------------------------- progress
def test_progress_false_and_auto_off_a_terminal_are_silent(problem, capsys, monkeypatch):
    X, y, _ = problem
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    for progress in (False, "auto"):  # pytest's captured stderr is not a terminal
        fit(Linear(3, 1, seed=0), mse, X, y, lr=0.1, epochs=2, progress=progress)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_progress_true_uses_tqdm_when_installed(problem, monkeypatch):
    X, y, _ = problem
    made = []

    class FakeTqdm:
        def __init__(self, **kwargs):
            self.kwargs, self.n, self.postfix, self.closed = kwargs, 0, None, False
            made.append(self)

        def update(self, n=1):
            self.n += n

        def set_description(self, text, refresh=True):
            self.description = text

        def set_postfix(self, **kwargs):
            self.postfix = kwargs

        def close(self):
            self.closed = True

    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=FakeTqdm))
    fit(Linear(3, 1, seed=0), mse, X, y, batch_size=50, lr=0.1, epochs=3, progress=True)
    (bar,) = made
    assert bar.kwargs["total"] == 12 and bar.n == 12 and bar.closed
    assert bar.description == "epoch 3/3" and "loss" in bar.postfix


def test_progress_true_without_tqdm_prints_a_line_per_epoch(problem, monkeypatch, capsys):
    X, y, _ = problem
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # makes `import tqdm.auto` fail
    monkeypatch.setitem(sys.modules, "tqdm", None)
    fit(Linear(3, 1, seed=0), mse, X, y, lr=0.1, epochs=2, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2  loss ")


# ----------------------------------------------------------------------------- the example
def test_the_gd_variants_example_runs_and_prints_its_table(capsys):
    spec = importlib.util.spec_from_file_location("gd_variants", ROOT / "examples" /
                                                  "gd_variants.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(n=120, epochs=3)
    out = capsys.readouterr().out
    for method in ("batch", "sgd", "minibatch"):
        assert method in out and results[method].epochs == 3
    assert "s/epoch" in out


def test_fit_checks_model_loss_callbacks_and_epochs_before_training():
    from microgradlin import functional as F
    from microgradlin.models import LinearRegression

    X, y = np.arange(8.0).reshape(4, 2), np.arange(4.0)
    model = LinearRegression(n_features=2)
    with pytest.raises(TypeError, match="^fit: model must be a Module"):
        mg.fit(None, F.mse_loss, X, y, lr=0.1)
    for loss in (None, "mse"):
        with pytest.raises(TypeError, match="^fit: loss_fn must be callable"):
            mg.fit(model, loss, X, y, lr=0.1)
    for callbacks in (5, [5], "ab"):
        with pytest.raises(TypeError, match="^fit: a callback must be a function"):
            mg.fit(model, F.mse_loss, X, y, lr=0.1, callbacks=callbacks, progress=False)
    for epochs in (1.5, "a", -1):
        with pytest.raises(ValueError, match="^fit: epochs must be an integer >= 0"):
            mg.fit(model, F.mse_loss, X, y, lr=0.1, epochs=epochs, progress=False)


def test_fit_refuses_a_max_grad_norm_that_is_not_positive():
    from microgradlin import functional as F
    from microgradlin.models import LinearRegression

    X, y = np.arange(8.0).reshape(4, 2), np.arange(4.0)
    for bad in (-1, 0, "a"):
        with pytest.raises(ValueError, match="^fit: max_grad_norm must be a number > 0"):
            mg.fit(LinearRegression(n_features=2), F.mse_loss, X, y, lr=0.1,
                   max_grad_norm=bad, progress=False)
