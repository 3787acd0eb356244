"""Optimizers (SGD, Adam, projected and proximal GD), projections and proxes.

Expected values are worked out by hand from the update formulas (PyTorch's conventions) or
by brute-force search, never by the code under test.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import microgradlin as mg
from microgradlin.models import Linear
from microgradlin.optim import (
    SGD,
    Adam,
    Optimizer,
    ProjectedGD,
    ProximalGD,
    project_box,
    project_l2_ball,
    project_nonnegative,
    project_simplex,
    prox_l1,
    prox_l2,
)

C = np.array([3.0, 4.0])  # loss(p) = c·p has the constant gradient c


def linear_loss_step(opt, p, c=C):
    opt.zero_grad()
    (p * mg.tensor(c)).sum().backward()
    opt.step()


# ----------------------------------------------------------------------------- SGD
def test_sgd_plain_step_is_the_lecture_rule():
    # w_{t+1} = w_t - ε ∇J(w_t): 1 - 0.1·3 = 0.7, -2 - 0.1·4 = -2.4
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    linear_loss_step(SGD([p], lr=0.1), p)
    np.testing.assert_allclose(p.data, [0.7, -2.4], rtol=0, atol=1e-15)


def test_sgd_momentum_first_two_steps_by_hand():
    # b1 = g = (3, 4): p1 = p0 - 0.1 b1 = (0.7, -2.4)
    # b2 = 0.9 b1 + g = (5.7, 7.6): p2 = p1 - 0.1 b2 = (0.13, -3.16)
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9)
    linear_loss_step(opt, p)
    np.testing.assert_allclose(p.data, [0.7, -2.4], atol=1e-15)
    linear_loss_step(opt, p)
    np.testing.assert_allclose(p.data, [0.13, -3.16], atol=1e-14)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [5.7, 7.6], atol=1e-14)


def test_sgd_nesterov_first_two_steps_by_hand():
    # step 1: b = g = (3, 4); d = g + 0.9 b = (5.7, 7.6); p1 = (1 - .57, -2 - .76)
    # step 2: b = 0.9 b + g = (5.7, 7.6); d = g + 0.9 b = (8.13, 10.84); p2 = p1 - 0.1 d
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    linear_loss_step(opt, p)
    np.testing.assert_allclose(p.data, [0.43, -2.76], atol=1e-14)
    linear_loss_step(opt, p)
    np.testing.assert_allclose(p.data, [-0.383, -3.844], atol=1e-14)


def test_sgd_weight_decay_adds_lambda_p_to_the_gradient():
    # g = c + 0.5 p0 = (3.5, 3.0): p1 = (1 - 0.35, -2 - 0.3)
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    linear_loss_step(SGD([p], lr=0.1, weight_decay=0.5), p)
    np.testing.assert_allclose(p.data, [0.65, -2.3], atol=1e-15)


def test_sgd_never_writes_into_the_gradient_array():
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1)
    (p * mg.tensor(C)).sum().backward()
    grad_before = p.grad.data.copy()
    opt.step()
    opt.step()
    np.testing.assert_array_equal(p.grad.data, grad_before)


# ----------------------------------------------------------------------------- Adam
def test_adam_first_step_by_hand():
    # t = 1: m̂ = g, v̂ = g², so p1 = p0 - lr·g/(|g| + eps) coordinatewise
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = Adam([p], lr=0.1)
    linear_loss_step(opt, p)
    expected = [1.0 - 0.1 * 3.0 / (3.0 + 1e-8), -2.0 - 0.1 * 4.0 / (4.0 + 1e-8)]
    np.testing.assert_allclose(p.data, expected, rtol=1e-14)
    assert opt.state[p]["step"] == 1
    np.testing.assert_allclose(opt.state[p]["exp_avg"], [0.3, 0.4], rtol=1e-14)  # (1-β1) g
    np.testing.assert_allclose(opt.state[p]["exp_avg_sq"], [0.009, 0.016], rtol=1e-12)


def test_adam_bias_correction_with_a_constant_gradient():
    # With g constant: m2 = 0.19 g and 1 - β1² = 0.19, v2 = 0.001999 g² and 1 - β2² =
    # 0.001999, so m̂ = g and v̂ = g² again: both steps have the same size lr·g/(|g| + eps).
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = Adam([p], lr=0.1)
    linear_loss_step(opt, p)
    linear_loss_step(opt, p)
    step = 0.1 * C / (C + 1e-8)
    np.testing.assert_allclose(p.data, np.array([1.0, -2.0]) - 2 * step, rtol=1e-12)


def adam_reference(p0, grad_fn, steps, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    """Algorithm 1 of Kingma & Ba (2015), written out in NumPy (PyTorch's eps placement)."""
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t in range(1, steps + 1):
        g = grad_fn(p) + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return p


def test_adam_matches_the_paper_on_a_quadratic():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    p = mg.tensor([1.0, -1.0], requires_grad=True)
    opt = Adam([p], lr=0.05, betas=(0.8, 0.99), weight_decay=0.01)
    At = mg.tensor(A)
    for _ in range(25):
        opt.zero_grad()
        (0.5 * (p @ (At @ p))).backward()  # ∇ = A p
        opt.step()
    expected = adam_reference(np.array([1.0, -1.0]), lambda q: A @ q, 25, 0.05, 0.8, 0.99,
                              wd=0.01)
    np.testing.assert_allclose(p.data, expected, rtol=1e-12)


# ----------------------------------------------------------------------------- semantics
def test_gradients_accumulate_until_zero_grad_as_in_pytorch():
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.1)
    (p * mg.tensor(C)).sum().backward()
    (p * mg.tensor(C)).sum().backward()
    np.testing.assert_array_equal(p.grad.data, [6.0, 8.0])  # summed, not replaced
    opt.zero_grad()
    assert p.grad is None  # set_to_none=True is the default
    (p * mg.tensor(C)).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.data, [0.0, 0.0])
    (p * mg.tensor(C)).sum().backward()
    np.testing.assert_array_equal(p.grad.data, [3.0, 4.0])  # accumulates into the zeros


def test_step_skips_parameters_without_a_gradient():
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    q = mg.tensor([5.0], requires_grad=True)
    opt = SGD([p, q], lr=0.1, momentum=0.9)
    linear_loss_step(opt, p)  # q gets no gradient
    np.testing.assert_array_equal(q.data, [5.0])
    assert q not in opt.state  # no momentum buffer either (PyTorch skips it)


def test_momentum_still_moves_a_parameter_whose_grad_was_zeroed_not_cleared():
    # PyTorch: with set_to_none=False the zero gradient is a real gradient, so the buffer
    # decays and keeps pushing (b = 0.9·g, p2 = p1 - 0.1·0.9·g); with None, nothing moves.
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9)
    linear_loss_step(opt, p)
    opt.zero_grad(set_to_none=False)
    opt.step()
    np.testing.assert_allclose(p.data, [0.7 - 0.27, -2.4 - 0.36], atol=1e-14)
    opt.zero_grad()
    before = p.data.copy()
    opt.step()
    np.testing.assert_array_equal(p.data, before)


def test_step_updates_in_place_and_bumps_the_version():
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    data = p.data
    opt = SGD([p], lr=0.1)
    loss = (p * p).sum()  # saves p for its backward
    loss.backward(retain_graph=True)
    opt.step()
    assert p.data is data  # the same array, updated in place
    with pytest.raises(RuntimeError):
        loss.backward()  # the graph saw the old p: refused, not silently wrong


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
                                  lambda ps: Adam(ps, lr=0.1, weight_decay=0.01)])
def test_float32_parameters_stay_float32(make):
    p = mg.tensor(np.array([1.0, -2.0], dtype=np.float32), requires_grad=True)
    opt = make([p])
    opt.lr = np.float64(0.05)  # a NumPy float64 lr must not promote the update
    for _ in range(2):
        linear_loss_step(opt, p, C.astype(np.float32))
    assert p.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if hasattr(v, "dtype"))


def test_zero_dim_parameter_is_updated_in_place():
    b = mg.zeros((), requires_grad=True)
    opt = SGD([b], lr=0.5)
    opt.zero_grad()
    (b * 2.0).backward()
    opt.step()
    assert b.shape == () and b.item() == -1.0


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: Adam(ps, lr=0.1)])
def test_zero_dim_parameter_keeps_array_state(make):
    # NumPy turns 0-d arithmetic into immutable scalars: buffers must stay arrays so the
    # in-place updates of the next steps are not lost.
    b = mg.zeros((), requires_grad=True)
    opt = make([b])
    values = []
    for _ in range(2):
        opt.zero_grad()
        (b * 2.0).backward()
        opt.step()
        values.append(b.item())
    assert all(isinstance(v, np.ndarray) for v in opt.state[b].values() if not isinstance(v, int))
    if isinstance(opt, SGD):  # b1 = 2, b2 = 0.9·2 + 2 = 3.8: -0.2, then -0.2 - 0.38
        np.testing.assert_allclose(values, [-0.2, -0.58], atol=1e-15)
    else:  # constant gradient: each Adam step is lr·g/(|g| + eps)
        np.testing.assert_allclose(values, [-0.1 * 2 / (2 + 1e-8), -0.2 * 2 / (2 + 1e-8)],
                                   rtol=1e-12)


def test_param_groups_have_their_own_hyperparameters():
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    q = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([{"params": [p]}, {"params": [q], "lr": 1.0}], lr=0.1)
    opt.zero_grad()
    ((p + q) * mg.tensor(C)).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.data, [0.7, -2.4], atol=1e-15)
    np.testing.assert_allclose(q.data, [-2.0, -6.0], atol=1e-15)
    opt.lr = 0.01  # schedules set every group's lr
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.01]


def test_closure_is_evaluated_with_grad_enabled():
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * mg.tensor(C)).sum()
        loss.backward()
        return loss

    with mg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == -5.0
    np.testing.assert_allclose(p.data, [0.7, -2.4], atol=1e-15)


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: Adam(ps, lr=0.05, betas=(0.8, 0.9)),
])
def test_state_dict_round_trip_continues_identically(make):
    X = np.random.default_rng(0).standard_normal((20, 3))
    y = X @ np.array([1.0, -2.0, 0.5])

    def run(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((model(X)[:, 0] - mg.tensor(y)) ** 2).mean().backward()
            opt.step()

    a = Linear(3, 1, seed=1)
    opt_a = make(a.parameters())
    run(a, opt_a, 6)

    b = Linear(3, 1, seed=1)
    opt_b = make(b.parameters())
    run(b, opt_b, 3)
    saved_model, saved_opt = b.state_dict(), opt_b.state_dict()
    c = Linear(3, 1, seed=99)
    opt_c = make(c.parameters())
    c.load_state_dict(saved_model)
    opt_c.load_state_dict(saved_opt)
    run(c, opt_c, 3)
    np.testing.assert_array_equal(c.weight.data, a.weight.data)
    np.testing.assert_array_equal(c.bias.data, a.bias.data)


def test_load_state_dict_refuses_a_wrong_shape_and_missing_buffers():
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9)
    linear_loss_step(opt, p)
    state = opt.state_dict()
    bad = {"state": {0: {"momentum_buffer": np.zeros(3)}},
           "param_groups": state["param_groups"]}
    with pytest.raises(ValueError, match=r"momentum_buffer.*shape \(3,\).*\(2,\)"):
        opt.load_state_dict(bad)
    with pytest.raises(KeyError, match="momentum_buffer"):
        opt.load_state_dict({"state": {0: {}}, "param_groups": state["param_groups"]})
    with pytest.raises(ValueError, match="2 parameters in this|1 parameters in the state"):
        SGD([p, mg.zeros(1, requires_grad=True)], lr=0.1).load_state_dict(state)


@pytest.mark.parametrize("args, error, match", [
    (([],), ValueError, "empty parameter list"),
    ((mg.zeros(2, requires_grad=True),), TypeError, "single Tensor"),
    (([mg.zeros(2, requires_grad=True) * 2],), ValueError, "can only update leaves"),
    (([np.zeros(2)],), TypeError, "expected a Tensor"),
])
def test_bad_parameters_are_refused(args, error, match):
    with pytest.raises(error, match=match):
        SGD(*args, lr=0.1)


def test_a_frozen_leaf_is_taken_and_left_alone_as_in_pytorch():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    frozen = mg.tensor([5.0])  # requires_grad=False: never gets a .grad, never moves
    opt = SGD([w, frozen], lr=0.5, momentum=0.9, weight_decay=0.1)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    assert frozen.grad is None and frozen.numpy().tolist() == [5.0]
    assert not np.array_equal(w.numpy(), [1.0, 2.0])


def test_numpy_numbers_are_taken_as_hyperparameters():
    p = mg.zeros(2, requires_grad=True)
    sgd = SGD([p], lr=np.float32(0.1), momentum=np.float32(0.9), weight_decay=np.int64(0))
    adam = Adam([p], eps=np.float32(1e-8), weight_decay=np.float64(0.0))
    prox = ProximalGD([p], lam=np.float32(0.5))
    for group, name in [(sgd.param_groups[0], "momentum"), (adam.param_groups[0], "eps"),
                        (prox.param_groups[0], "lam")]:
        assert type(group[name]) is float  # stored as Python floats (state_dict-friendly)
    with pytest.raises(ValueError, match=r"momentum must be a finite number >= 0"):
        SGD([p], lr=0.1, momentum=np.float32(-1))
    with pytest.raises(ValueError, match=r"lam must be a finite number >= 0"):
        ProximalGD([p], lam=np.inf)


def test_bad_hyperparameters_are_refused():
    p = mg.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="appears twice"):
        SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="lr must be a finite number >= 0"):
        SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="nesterov=True needs momentum"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="lr must be a finite number"):
        SGD([p], lr=0.1).lr = float("nan")
    with pytest.raises(ValueError, match="unknown hyper-parameters"):
        SGD([{"params": [p], "betas": (0.9, 0.9)}], lr=0.1)


def test_a_read_only_parameter_array_gets_a_clear_error():
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.1)
    (p * mg.tensor(C)).sum().backward()
    p.data.flags.writeable = False
    with pytest.raises(ValueError, match=r"SGD.step: parameter of shape \(2,\) holds a "
                                         r"read-only array"):
        opt.step()


def test_optimizer_base_class_is_exported():
    assert issubclass(SGD, Optimizer) and issubclass(ProjectedGD, Optimizer)


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: Adam(ps, lr=0.05),
    lambda ps: ProjectedGD(ps, lr=0.05, project="l2_ball", radius=0.5),
    lambda ps: ProximalGD(ps, lr=0.05, prox="l1", lam=0.1),
])
def test_steps_on_the_strict_device_match_the_cpu_without_host_round_trips(make):
    # The "strict" device refuses implicit host conversions, as CuPy does.
    X = np.random.default_rng(0).standard_normal((8, 3))
    results = []
    for device in ("cpu", "strict"):
        model = Linear(3, 2, seed=0, device=device)
        Xd = mg.tensor(X, device=device)
        opt = make(model.parameters())
        for _ in range(3):
            opt.zero_grad()
            (model(Xd) ** 2).mean().backward()
            opt.step()
        assert model.weight.device == device
        results.append(model.weight.numpy())
    np.testing.assert_array_equal(results[0], results[1])


# ----------------------------------------------------------------------------- projections
def in_l2_ball(x, r):
    return np.linalg.norm(x) <= r * (1 + 1e-12)


def in_simplex(x, total=1.0):
    return np.all(x >= 0) and abs(x.sum() - total) <= 1e-12 * max(1.0, total) * x.size


def test_projection_hand_cases():
    np.testing.assert_allclose(project_l2_ball(np.array([3.0, 4.0])), [0.6, 0.8], atol=1e-15)
    np.testing.assert_array_equal(project_l2_ball(np.array([0.3, 0.4])), [0.3, 0.4])
    np.testing.assert_array_equal(project_l2_ball(np.zeros(2)), [0.0, 0.0])
    np.testing.assert_allclose(project_l2_ball(np.array([[3.0, 4.0], [0.0, 0.5]]), axis=1),
                               [[0.6, 0.8], [0.0, 0.5]], atol=1e-15)
    np.testing.assert_array_equal(project_box(np.array([-2.0, 0.5, 3.0]), 0.0, 1.0),
                                  [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(project_nonnegative(np.array([-1.0, 0.0, 2.0])),
                                  [0.0, 0.0, 2.0])
    # simplex: (0.5, 2, -1) -> θ = 1 -> (0, 1, 0); equal entries -> uniform; (1, 1, 0) ->
    # θ = 0.5 -> (0.5, 0.5, 0); already on the simplex -> unchanged
    np.testing.assert_allclose(project_simplex(np.array([0.5, 2.0, -1.0])), [0, 1, 0],
                               atol=1e-15)
    np.testing.assert_allclose(project_simplex(np.array([0.1, 0.1, 0.1])), [1 / 3] * 3,
                               atol=1e-15)
    np.testing.assert_allclose(project_simplex(np.array([1.0, 1.0, 0.0])), [0.5, 0.5, 0.0],
                               atol=1e-15)
    np.testing.assert_allclose(project_simplex(np.array([0.2, 0.3, 0.5])), [0.2, 0.3, 0.5],
                               atol=1e-15)
    np.testing.assert_allclose(project_simplex(np.array([1.0, 3.0]), total=2.0), [0.0, 2.0],
                               atol=1e-15)
    # each row separately; and along axis 0 (each column)
    m = np.array([[0.5, 2.0, -1.0], [1.0, 1.0, 0.0]])
    np.testing.assert_allclose(project_simplex(m), [[0, 1, 0], [0.5, 0.5, 0]], atol=1e-15)
    np.testing.assert_allclose(project_simplex(m.T, axis=0), [[0, 0.5], [1, 0.5], [0, 0]],
                               atol=1e-15)


finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


@given(arrays(np.float64, st.integers(1, 6), elements=finite))
def test_projections_land_in_their_set_and_are_idempotent(x):
    cases = [
        (lambda v: project_l2_ball(v, radius=1.5), lambda v: in_l2_ball(v, 1.5)),
        (lambda v: project_box(v, -1.0, 2.0), lambda v: np.all((v >= -1) & (v <= 2))),
        (project_nonnegative, lambda v: np.all(v >= 0)),
        (project_simplex, in_simplex),
    ]
    for project, member in cases:
        once = project(x)
        assert member(once)
        np.testing.assert_allclose(project(once), once, atol=1e-12)  # P(P(x)) = P(x)


def brute_force_nearest(x, candidates):
    distances = np.linalg.norm(candidates - x, axis=1)
    return distances.min()


def grid_2d(lo, hi, n):
    g = np.linspace(lo, hi, n)
    return np.array(list(itertools.product(g, g)))


GRID = grid_2d(-3, 3, 241)  # spacing 0.025
SIMPLEX_GRID = np.array([(a, b, 1 - a - b) for a in np.linspace(0, 1, 201)
                         for b in np.linspace(0, 1, 201) if a + b <= 1 + 1e-12])


@pytest.mark.parametrize("project, member", [
    (lambda v: project_l2_ball(v, radius=1.0), lambda c: np.linalg.norm(c, axis=1) <= 1),
    (lambda v: project_box(v, [-1.0, 0.0], [0.5, 2.0]),
     lambda c: (c[:, 0] >= -1) & (c[:, 0] <= 0.5) & (c[:, 1] >= 0) & (c[:, 1] <= 2)),
    (project_nonnegative, lambda c: np.all(c >= 0, axis=1)),
])
def test_projection_is_the_nearest_point_of_the_set_brute_force_2d(project, member):
    # P_C(x) = argmin_{y ∈ C} ‖y - x‖ (lecture): no grid point of C is closer than P(x).
    candidates = GRID[member(GRID)]
    rng = np.random.default_rng(0)
    for x in rng.uniform(-3, 3, (40, 2)):  # projections stay inside the grid
        p = project(x)
        best = brute_force_nearest(x, candidates)
        assert np.linalg.norm(p - x) <= best + 1e-12
        assert best <= np.linalg.norm(p - x) + 0.025 * np.sqrt(2)  # the grid's resolution


def test_simplex_projection_is_the_nearest_point_brute_force_3d():
    rng = np.random.default_rng(1)
    for x in rng.uniform(-1.5, 1.5, (40, 3)):
        p = project_simplex(x)
        best = brute_force_nearest(x, SIMPLEX_GRID)
        assert in_simplex(p)
        assert np.linalg.norm(p - x) <= best + 1e-12
        assert best <= np.linalg.norm(p - x) + 0.005 * np.sqrt(3)


def test_projections_keep_float32_and_tensors():
    x = np.array([2.0, -1.0, 0.5], dtype=np.float32)
    for project in (project_l2_ball, project_nonnegative, project_simplex,
                    lambda v: project_box(v, 0.0, 1.0)):
        assert project(x).dtype == np.float32
    t = project_simplex(mg.tensor([0.5, 2.0, -1.0]))
    assert isinstance(t, mg.Tensor) and not t.requires_grad


def test_projections_on_the_strict_device_match_the_cpu():
    x = np.random.default_rng(2).standard_normal((4, 5))
    xs = mg.tensor(x, device="strict")
    for project in (lambda v: project_l2_ball(v, 0.5, axis=1), project_nonnegative,
                    project_simplex, lambda v: project_box(v, np.zeros(5), np.ones(5)),
                    lambda v: prox_l1(v, 0.1, 2.0), lambda v: prox_l2(v, 0.1, 2.0)):
        out = project(xs)
        assert out.device == "strict"
        np.testing.assert_array_equal(out.numpy(), project(mg.tensor(x)).numpy())


def test_bad_projection_arguments_are_refused():
    with pytest.raises(ValueError, match="radius must be > 0"):
        project_l2_ball(np.ones(2), radius=0.0)
    with pytest.raises(ValueError, match="box is empty"):
        project_box(np.ones(2), 1.0, 0.0)
    with pytest.raises(TypeError, match="floating-point"):
        project_simplex(np.array([1, 2]))
    with pytest.raises(ValueError, match="unknown projection"):
        ProjectedGD([mg.zeros(2, requires_grad=True)], lr=0.1, project="sphere")
    with pytest.raises(ValueError, match="unknown prox"):
        ProximalGD([mg.zeros(2, requires_grad=True)], lr=0.1, prox="l0")


# ----------------------------------------------------------------------------- proxes
def test_prox_l1_soft_threshold_by_hand():
    # ελ = 1: 3 -> 2, -0.5 -> 0, 0.2 -> 0, -2 -> -1, 1 -> 0 (exactly on the threshold)
    np.testing.assert_array_equal(prox_l1(np.array([3.0, -0.5, 0.2, -2.0, 1.0]), 0.5, 2.0),
                                  [2.0, 0.0, 0.0, -1.0, 0.0])


def test_prox_l2_by_hand():
    np.testing.assert_allclose(prox_l2(np.array([3.0, -1.5]), 0.5, 2.0), [1.5, -0.75])


@pytest.mark.parametrize("prox, penalty", [
    (prox_l1, lambda y, lam: lam * np.abs(y)),
    (prox_l2, lambda y, lam: 0.5 * lam * y**2),
])
def test_prox_is_the_argmin_of_its_definition_brute_force(prox, penalty):
    # prox_{εg}(x) = argmin_y g(y) + (y - x)² / (2ε), separable: check each coordinate.
    ys = np.linspace(-6, 6, 120001)  # spacing 1e-4
    for x, step, lam in [(2.5, 0.5, 1.0), (-0.3, 0.4, 1.0), (0.9, 1.0, 0.7), (-4.0, 0.2, 3.0)]:
        objective = penalty(ys, lam) + (ys - x) ** 2 / (2 * step)
        best = ys[np.argmin(objective)]
        assert abs(prox(np.array([x]), step, lam)[0] - best) <= 1e-4


# ----------------------------------------------------------------------------- PGD / prox GD
def least_squares(n=60, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    return X, y


def mse_grad_step(model, opt, X, y):
    opt.zero_grad()
    loss = ((model(X)[:, 0] - mg.tensor(y)) ** 2).mean()
    loss.backward()
    opt.step()
    return loss


def test_projected_gd_iterates_stay_in_the_simplex_and_reach_a_fixed_point():
    X, y = least_squares()
    model = Linear(4, 1, bias=False, seed=0)
    opt = ProjectedGD(model.parameters(), lr=0.05, project="simplex")
    for _ in range(3000):
        mse_grad_step(model, opt, X, y)
        assert in_simplex(model.weight.data[0])  # every iterate is feasible
    # optimality for convex f on C: w* = P_C(w* - ε ∇f(w*)) (a fixed point of the step)
    w = model.weight.data[0]
    grad = -2 * X.T @ (y - X @ w) / len(y)
    np.testing.assert_allclose(project_simplex(w - 0.05 * grad), w, atol=1e-10)


@pytest.mark.parametrize("project, member", [
    ({"project": "l2_ball", "radius": 0.5}, lambda w: np.linalg.norm(w) <= 0.5 + 1e-12),
    ({"project": "box", "lower": -0.2, "upper": 0.2}, lambda w: np.all(np.abs(w) <= 0.2)),
    ({"project": "nonnegative"}, lambda w: np.all(w >= 0)),
])
def test_projected_gd_iterates_stay_in_the_set(project, member):
    X, y = least_squares(seed=3)
    model = Linear(4, 1, bias=False, seed=0)
    opt = ProjectedGD(model.parameters(), lr=0.1, **project)
    for _ in range(200):
        mse_grad_step(model, opt, X, y)
        assert member(model.weight.data)


def test_projected_gd_groups_can_leave_the_bias_unconstrained():
    X, y = least_squares()
    model = Linear(4, 1, seed=0)
    opt = ProjectedGD([{"params": [model.weight]}, {"params": [model.bias], "project": None}],
                      lr=0.05, project="nonnegative")
    for _ in range(50):
        mse_grad_step(model, opt, X, y + 5.0)
    assert np.all(model.weight.data >= 0) and model.bias.data[0] > 1.0


def test_proximal_gd_l1_recovers_the_support_of_a_sparse_truth():
    rng = np.random.default_rng(0)
    n, d = 200, 20
    X = rng.standard_normal((n, d))
    w_true = np.zeros(d)
    w_true[[2, 7, 13]] = [1.5, -2.0, 1.0]
    y = X @ w_true + 0.05 * rng.standard_normal(n)
    model = Linear(d, 1, bias=False, seed=0)
    opt = ProximalGD(model.parameters(), lr=0.1, prox="l1", lam=0.1)
    for _ in range(500):
        mse_grad_step(model, opt, X, y)
    w = model.weight.data[0]
    assert set(np.flatnonzero(w)) == {2, 7, 13}  # exact zeros elsewhere, thanks to the prox
    np.testing.assert_allclose(w[[2, 7, 13]], w_true[[2, 7, 13]], atol=0.15)


def test_proximal_gd_l2_reaches_the_ridge_closed_form():
    # min (1/N)‖y - Xw‖² + (λ/2)‖w‖²  <=>  ((2/N) XᵀX + λI) w = (2/N) Xᵀy
    X, y = least_squares()
    lam = 0.5
    n = len(y)
    w_ridge = np.linalg.solve(2 / n * X.T @ X + lam * np.eye(4), 2 / n * X.T @ y)
    model = Linear(4, 1, bias=False, seed=0)
    opt = ProximalGD(model.parameters(), lr=0.1, prox="l2", lam=lam)
    for _ in range(2000):
        mse_grad_step(model, opt, X, y)
    np.testing.assert_allclose(model.weight.data[0], w_ridge, atol=1e-10)


def test_proximal_gd_accepts_a_prox_function_and_saves_lam_not_the_prox():
    p = mg.tensor([3.0, -0.5], requires_grad=True)
    opt = ProximalGD([p], lr=0.5, prox=lambda x, step: prox_l1(x, step, lam=2.0))
    opt.zero_grad()
    (p * 0.0).sum().backward()
    opt.step()
    np.testing.assert_array_equal(p.data, [2.0, 0.0])
    opt2 = ProximalGD([mg.zeros(2, requires_grad=True)], lr=0.5, prox="l1", lam=0.3)
    group = opt2.state_dict()["param_groups"][0]
    assert group["lam"] == 0.3 and "prox" not in group  # the prox is how it was built
    opt3 = ProximalGD([mg.zeros(2, requires_grad=True)], lr=0.1, prox="l2", lam=0.0)
    opt3.load_state_dict(opt2.state_dict())
    group = opt3.param_groups[0]
    assert group["prox"] == "l2" and group["lam"] == 0.3 and group["lr"] == 0.5


def test_a_0d_parameter_steps_like_a_vector_one_even_with_a_numpy_float32_lr():
    """The 0-d float64 path updates in Python floats; it must give the vector path's
    numbers, whatever number type the learning rate is (here set directly, unchecked)."""
    scalar = mg.tensor(0.7, requires_grad=True)
    vector = mg.tensor([0.7], requires_grad=True)
    opt = SGD([scalar, vector], lr=0.1)
    opt.param_groups[0]["lr"] = np.float32(0.1)
    for _ in range(3):
        opt.zero_grad()
        (scalar * 1.2345 + (vector * 1.2345).sum()).backward()
        opt.step()
    assert scalar.data.dtype == np.float64
    assert scalar.data.item() == vector.data[0]


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e200), (np.float32, 1e20)])
def test_l2_ball_puts_a_far_away_point_on_the_sphere(dtype, big):
    # ‖x‖² overflows there: the projection must still be x / ‖x‖ · r, not 0
    x = np.array([3.0, -4.0], dtype) * dtype(big)
    out = project_l2_ball(x, 2.0)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, [1.2, -1.6], rtol=1e-6 if dtype == np.float32 else 1e-15)
    rows = project_l2_ball(np.stack([x, np.array([0.3, 0.4], dtype)]), 1.0, axis=1)
    np.testing.assert_allclose(rows, [[0.6, -0.8], [0.3, 0.4]], rtol=1e-6)
    assert project_l2_ball(np.zeros((0, 2)), 1.0, axis=1).shape == (0, 2)


def test_constructors_check_their_arguments_when_called():
    from microgradlin.optim import Constant, Cosine, LRScheduler, StepDecay

    w = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"^ProjectedGD: project='box' takes \['lower', "
                                        r"'upper'\], got \['lowr'\]"):
        ProjectedGD([w], project="box", lowr=1.0)
    with pytest.raises(ValueError, match=r"^LRScheduler \(step 0\): lr must be a finite number"):
        LRScheduler(SGD([w], lr=0.1), lambda t: -1.0)
    with pytest.raises(TypeError, match="^LRScheduler: optimizer must be an Optimizer"):
        LRScheduler(None, Constant(0.1))
    for make, error in ((lambda: StepDecay(0.1, step_size=1.5), "step_size must be an integer"),
                        (lambda: Cosine(0.1, total_steps=1.5), "total_steps must be an integer"),
                        (lambda: Constant("0.1"), "lr must be a number"),
                        (lambda: SGD([w], lr="0.1"), "lr must be a number")):
        with pytest.raises(TypeError, match=error):
            make()
    with pytest.raises(ValueError, match=r"^Constant.from_lr: lr must be a finite number >= 0"):
        Constant(0.1).from_lr(-1)


@pytest.mark.parametrize("dtype, tiny", [(np.float64, 1e-200), (np.float32, 1e-30)])
def test_l2_ball_projects_a_tiny_point_onto_a_tiny_ball(dtype, tiny):
    # Σx² underflows to 0 there: the point must still go onto the sphere of radius r
    out = project_l2_ball(np.array([3.0, 4.0], dtype) * dtype(tiny), radius=tiny)
    np.testing.assert_allclose(out / dtype(tiny), [0.6, 0.8], rtol=1e-5)
