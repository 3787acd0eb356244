"""Step-size schedules: their formulas, and the Robbins–Monro claims in their docstrings
(lecture: "Typically, Σ ε_t = ∞ and Σ ε_t² < ∞"), checked against analytic bounds."""

import math

import numpy as np
import pytest

import microgradlin as mg
from microgradlin.optim import SGD
from microgradlin.optim.schedules import (
    Constant,
    Cosine,
    Exponential,
    InverseTime,
    LRScheduler,
    StepDecay,
)


def test_formulas_by_hand():
    assert [Constant(0.3)(t) for t in (0, 10, 10**6)] == [0.3, 0.3, 0.3]
    # ε₀ / (1 + t/τ): τ = 10 -> t = 10 halves it, t = 30 quarters it
    inv = InverseTime(0.1, tau=10)
    assert inv(0) == 0.1
    assert math.isclose(inv(10), 0.05) and math.isclose(inv(30), 0.025)
    assert math.isclose(InverseTime(1.0, tau=1, power=0.5)(3), 0.5)  # 1/√4
    assert [StepDecay(1.0, step_size=3, gamma=0.5)(t) for t in range(7)] == \
        [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    assert Exponential(2.0, gamma=0.5)(3) == 0.25
    cos = Cosine(1.0, total_steps=10)
    assert cos(0) == 1.0 and math.isclose(cos(5), 0.5) and cos(10) == 0.0 and cos(20) == 0.0
    assert math.isclose(Cosine(1.0, total_steps=10, lr_min=0.1)(5), 0.55)


def test_schedules_return_python_floats():
    for schedule in (Constant(0.1), InverseTime(0.1), StepDecay(0.1, 2), Exponential(0.1, 0.9),
                     Cosine(0.1, 5)):
        assert type(schedule(np.int64(3))) is float


def test_only_inverse_time_with_half_lt_p_le_1_is_robbins_monro():
    assert InverseTime(0.1, tau=5).robbins_monro
    assert InverseTime(0.1, power=0.75).robbins_monro
    assert not InverseTime(0.1, power=0.5).robbins_monro  # Σ 1/t = ∞ for the squares
    assert not InverseTime(0.1, power=1.5).robbins_monro  # Σ 1/t^1.5 < ∞
    for schedule in (Constant(0.1), StepDecay(0.1, 10, 0.5), Exponential(0.1, 0.99),
                     Cosine(0.1, 100), Cosine(0.1, 100, lr_min=0.01)):
        assert not schedule.robbins_monro, schedule


def partial_sums(schedule, T):
    values = np.array([schedule(t) for t in range(T)])
    return values.sum(), (values**2).sum()


def test_inverse_time_sums_grow_without_bound_while_squares_stay_bounded():
    # ε_t = ε₀/(1 + t/τ) is decreasing, so Σ_{t<T} ε_t ≥ ∫_0^T ε = ε₀ τ ln(1 + T/τ) → ∞,
    # and Σ_t ε_t² ≤ ε₀² + ∫_0^∞ ε² = ε₀² (1 + τ) for every T.
    lr, tau = 0.5, 20.0
    schedule = InverseTime(lr, tau)
    for T in (10**3, 10**4, 10**5):
        s, s2 = partial_sums(schedule, T)
        assert s >= lr * tau * math.log(1 + T / tau)
        assert s2 <= lr**2 * (1 + tau)
    assert schedule.sum_diverges and schedule.sum_of_squares_converges


def test_geometric_schedules_have_a_finite_sum():
    # Exponential: Σ ε₀ γ^t = ε₀ / (1 - γ); StepDecay: Σ = ε₀ s / (1 - γ)
    s, _ = partial_sums(Exponential(0.5, 0.9), 10**4)
    assert math.isclose(s, 0.5 / (1 - 0.9), rel_tol=1e-9)
    s, _ = partial_sums(StepDecay(0.5, step_size=4, gamma=0.5), 10**4)
    assert math.isclose(s, 0.5 * 4 / (1 - 0.5), rel_tol=1e-9)
    assert not Exponential(0.5, 0.9).sum_diverges
    assert Exponential(0.5, 0.9).sum_of_squares_converges


def test_constant_and_cosine_flags():
    assert Constant(0.1).sum_diverges and not Constant(0.1).sum_of_squares_converges
    assert not Cosine(0.1, 10).sum_diverges and Cosine(0.1, 10).sum_of_squares_converges
    assert Cosine(0.1, 10, 0.01).sum_diverges
    assert not Cosine(0.1, 10, 0.01).sum_of_squares_converges


def test_lr_scheduler_drives_the_optimizer_and_round_trips():
    p = mg.zeros(2, requires_grad=True)
    opt = SGD([p], lr=123.0)
    sched = LRScheduler(opt, InverseTime(0.1, tau=1))
    assert opt.lr == 0.1  # set at construction, as in PyTorch
    sched.step()
    assert math.isclose(opt.lr, 0.05) and sched.get_last_lr() == [opt.lr]
    sched.step()
    state = sched.state_dict()
    other = LRScheduler(SGD([mg.zeros(1, requires_grad=True)], lr=1.0), InverseTime(0.1, 1))
    other.load_state_dict(state)
    assert other.t == 2 and math.isclose(other.optimizer.lr, 0.1 / 3)


@pytest.mark.parametrize("make, match", [
    (lambda: InverseTime(0.1, tau=0), "tau must be a finite number > 0"),
    (lambda: InverseTime(-0.1), "lr must be"),
    (lambda: StepDecay(0.1, step_size=0), "step_size must be >= 1"),
    (lambda: Exponential(0.1, gamma=1.5), r"gamma must be in \(0, 1\]"),
    (lambda: Cosine(0.1, total_steps=10, lr_min=0.2), "lr_min"),
    (lambda: Constant(float("inf")), "finite"),
])
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_negative_step_is_refused():
    with pytest.raises(ValueError, match="t must be >= 0"):
        Constant(0.1)(-1)


def test_a_fractional_step_is_refused_not_truncated():
    with pytest.raises(ValueError, match=r"step t must be a whole number, got 2\.5"):
        Cosine(0.1, total_steps=10)(2.5)
    assert Cosine(0.1, total_steps=10)(3.0) == Cosine(0.1, total_steps=10)(3)
    assert Constant(0.1)(np.int64(4)) == 0.1
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"Constant: step t must be a whole number"):
            Constant(0.1)(bad)
    for bad in (True, "3"):  # (True is not step 1)
        with pytest.raises(TypeError, match=r"Constant: step t must be a whole number"):
            Constant(0.1)(bad)


def test_lr_scheduler_keeps_each_param_groups_ratio():
    # as PyTorch's StepLR scales each group's own lr
    a, b = mg.zeros(1, requires_grad=True), mg.zeros(1, requires_grad=True)
    opt = SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 1.0}], lr=0.1)
    sched = LRScheduler(opt, StepDecay(0.1, step_size=2, gamma=0.1))
    assert sched.get_last_lr() == [0.1, 1.0]
    for _ in range(2):
        opt.step()
        sched.step()
    lrs = sched.get_last_lr()
    assert math.isclose(lrs[0], 0.01) and math.isclose(lrs[1], 0.1)


def test_lr_scheduler_scales_groups_from_their_own_lr_even_after_a_zero_first():
    # resuming with a first group at lr 0: the others still follow the schedule's decay
    a, b = mg.zeros(1, requires_grad=True), mg.zeros(1, requires_grad=True)
    opt = SGD([{"params": [a], "lr": 0.0}, {"params": [b], "lr": 1.0}], lr=0.1)
    sched = LRScheduler(opt, StepDecay(0.1, step_size=1, gamma=0.5))
    sched.step()
    lrs = sched.get_last_lr()
    assert math.isclose(lrs[0], 0.05) and math.isclose(lrs[1], 0.5)
    c = mg.zeros(1, requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 2.0})  # taken in from its own lr
    sched.step()
    assert math.isclose(sched.get_last_lr()[2], 2.0 * 0.5)


def _two_groups():
    a, b = mg.zeros(1, requires_grad=True), mg.zeros(1, requires_grad=True)
    return SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)


def test_a_warm_up_from_zero_scales_every_group_as_lambda_lr():
    # lr_k(t) = lr_k · f(t) / lr_0 when f(0) = 0: PyTorch's LambdaLR with f(t) / lr_0
    opt = _two_groups()
    sched = LRScheduler(opt, lambda t: 0.1 * min(1.0, t / 4))
    seen = []
    for _ in range(6):
        seen.append(sched.get_last_lr())
        opt.step()
        sched.step()
    expected = [[0.1 * min(1.0, t / 4), 1.0 * min(1.0, t / 4)] for t in range(6)]
    np.testing.assert_allclose(seen, expected, rtol=1e-15)
    opt = SGD([mg.zeros(1, requires_grad=True)], lr=0.1)
    sched = LRScheduler(opt, Constant(0.0))  # a schedule at 0 from the start is no error
    assert sched.get_last_lr() == [0.0]


def test_cosine_brings_every_group_to_the_same_floor():
    # ε_k(t) = ε_min + (ε_k - ε_min)(1 + cos(π t / T)) / 2, as CosineAnnealingLR per group
    opt = _two_groups()
    sched = LRScheduler(opt, Cosine(0.1, total_steps=10, lr_min=0.01))
    for t in range(11):
        c = (1 + math.cos(math.pi * t / 10)) / 2
        np.testing.assert_allclose(sched.get_last_lr(),
                                   [0.01 + 0.09 * c, 0.01 + 0.99 * c], rtol=1e-14)
        opt.step()
        sched.step()
    c = mg.zeros(1, requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 0.5})  # after the schedule reached its floor
    sched.step()
    assert len(sched.get_last_lr()) == 3


def test_a_resumed_scheduler_does_not_decay_twice_whatever_the_loading_order():
    opt = _two_groups()
    sched = LRScheduler(opt, StepDecay(0.1, step_size=1, gamma=0.5))
    for _ in range(3):
        sched.step()
    expected = sched.get_last_lr()
    np.testing.assert_allclose(expected, [0.0125, 0.125], rtol=1e-15)
    opt_state, sched_state = opt.state_dict(), sched.state_dict()
    resumed = _two_groups()
    resumed.load_state_dict(opt_state)  # the optimizer first: its groups at the decayed lrs
    again = LRScheduler(resumed, StepDecay(0.1, step_size=1, gamma=0.5))
    again.load_state_dict(sched_state)
    np.testing.assert_allclose(again.get_last_lr(), expected, rtol=1e-15)
    again.step()
    np.testing.assert_allclose(again.get_last_lr(), [0.00625, 0.0625], rtol=1e-15)


def test_a_callable_at_zero_with_a_first_group_at_zero_cannot_scale_other_groups():
    a, b = mg.zeros(1, requires_grad=True), mg.zeros(1, requires_grad=True)
    opt = SGD([{"params": [a], "lr": 0.0}, {"params": [b], "lr": 1.0}], lr=0.1)
    with pytest.raises(ValueError, match="cannot scale param group 1"):
        LRScheduler(opt, lambda t: 0.1 * t)


def test_a_callable_scales_other_groups_by_the_first_groups_lr_like_lambda_lr():
    # warm-up from 0.1% of the peak: every group rises alike (not by peak / start)
    opt = _two_groups()
    sched = LRScheduler(opt, lambda t: 0.1 * max(1e-3, min(1.0, t / 100)))
    np.testing.assert_allclose(sched.get_last_lr(), [1e-4, 1e-3], rtol=1e-12)
    for _ in range(100):
        sched.step()
    np.testing.assert_allclose(sched.get_last_lr(), [0.1, 1.0], rtol=1e-12)


def test_a_group_added_later_goes_on_from_its_lr_under_a_plain_callable():
    a, b = mg.tensor([1.0], requires_grad=True), mg.tensor([1.0], requires_grad=True)
    opt = SGD([a], lr=0.1)
    schedule = lambda t: 0.01 * (t + 1)  # noqa: E731 (schedule(0) differs from the lr)
    sched = LRScheduler(opt, schedule)
    for _ in range(3):
        sched.step()
    opt.add_param_group({"params": [b], "lr": 0.5})
    sched.step()  # the new group follows the schedule's change from t = 3 to t = 4
    np.testing.assert_allclose(sched.get_last_lr(), [0.05, 0.5 * schedule(4) / schedule(3)],
                               rtol=1e-12)
