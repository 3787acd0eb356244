"""The losses of ``microgradlin.functional``: values, gradients, stability and bad input.

Expected values are computed here with plain NumPy from each loss's formula (never by the
code under test); gradients are checked against central finite differences in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradlin as mg
from microgradlin import functional as F

REDUCTIONS = ("mean", "sum", "none")


def _rng(seed=0):
    return np.random.default_rng(seed)


def _reduce(values, reduction):
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def _np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ----------------------------------------------------------------------------- regression
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_l1_values(reduction):
    rng = _rng()
    pred, y = rng.standard_normal(7), rng.standard_normal(7)
    mse = F.mse_loss(mg.tensor(pred), y, reduction=reduction)
    l1 = F.l1_loss(mg.tensor(pred), y, reduction=reduction)
    np.testing.assert_allclose(mse.numpy(), _reduce((pred - y) ** 2, reduction), rtol=1e-14)
    np.testing.assert_allclose(l1.numpy(), _reduce(np.abs(pred - y), reduction), rtol=1e-14)


@pytest.mark.parametrize("delta", [1.0, 0.5, 2.0])
def test_huber_matches_torch_definition(delta):
    # torch.nn.functional.huber_loss: 0.5 r² if |r| < δ else δ (|r| - δ/2), values by hand
    r = np.array([0.0, 0.25, -0.75, 1.5, -3.0, 10.0])
    expected = np.where(np.abs(r) < delta, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
    got = F.huber_loss(mg.tensor(r), np.zeros(6), reduction="none", delta=delta)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-15)
    # and two values worked out on paper for δ = 1: r = 0.5 -> 0.125, r = 3 -> 2.5
    one = F.huber_loss(mg.tensor([0.5, 3.0]), [0.0, 0.0], reduction="none")
    np.testing.assert_allclose(one.numpy(), [0.125, 2.5])


def test_huber_gradient_is_r_inside_and_delta_sign_outside():
    r = mg.tensor([0.3, -0.2, 2.0, -5.0], requires_grad=True)
    F.huber_loss(r, np.zeros(4), reduction="sum", delta=1.0).backward()
    np.testing.assert_allclose(r.grad.numpy(), [0.3, -0.2, 1.0, -1.0])


def test_huber_rejects_bad_delta():
    with pytest.raises(ValueError, match="delta"):
        F.huber_loss(mg.tensor([1.0]), [0.0], delta=0.0)


@pytest.mark.parametrize("loss", [F.mse_loss, F.l1_loss, F.huber_loss])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_gradcheck(loss, reduction):
    rng = _rng(1)
    # residuals kept away from 0 and from ±δ, where l1 and huber have kinks
    pred = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    r = rng.choice([-1, 1], (4, 3)) * rng.uniform(0.1, 0.8, (4, 3))
    r[0] += np.sign(r[0]) * 1.5  # some residuals beyond δ = 1
    target = mg.tensor(pred.numpy() - r, requires_grad=True)
    assert mg.gradcheck(lambda p, t: loss(p, t, reduction=reduction), (pred, target))


def test_mse_gradient_formula():
    # d/dŷ mean (ŷ - y)² = 2 (ŷ - y) / N
    rng = _rng(2)
    pred, y = rng.standard_normal(5), rng.standard_normal(5)
    p = mg.tensor(pred, requires_grad=True)
    F.mse_loss(p, y).backward()
    np.testing.assert_allclose(p.grad.numpy(), 2 * (pred - y) / 5, rtol=1e-14)


# ----------------------------------------------------------------------------- binary
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_values(reduction):
    rng = _rng(3)
    p, y = rng.uniform(0.05, 0.95, 6), rng.uniform(0, 1, 6)
    got = F.binary_cross_entropy(mg.tensor(p), y, reduction=reduction)
    expected = -y * np.log(p) - (1 - y) * np.log(1 - p)
    np.testing.assert_allclose(got.numpy(), _reduce(expected, reduction), rtol=1e-14)


def test_binary_cross_entropy_clamps_log_at_minus_100_like_pytorch():
    p = mg.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(p, y, reduction="none")
    # -log(0) clamped to 100; a certain, correct prediction costs exactly 0
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, 0.0, 0.0], rtol=1e-12)
    loss.sum().backward()
    # PyTorch's gradient (p - y) / max(p (1 - p), 1e-12), its 1e-12 a float32 constant
    cap = float(np.float32(1e-12))
    np.testing.assert_array_equal(p.grad.numpy(), [-1 / cap, 1 / cap, 0.0, 0.0])
    # ... also in float32 (e^-100 is below float32's normal range: no floor there)
    p32 = mg.tensor(np.array([0.0, 1.0, 0.0, 1.0], np.float32), requires_grad=True)
    loss32 = F.binary_cross_entropy(p32, y.astype(np.float32), reduction="sum")
    assert loss32.dtype == np.float32 and loss32.item() == 200.0
    loss32.backward()
    assert p32.grad.dtype == np.float32
    np.testing.assert_allclose(p32.grad.numpy(), [-1e12, 1e12, 0.0, 0.0], rtol=1e-6)
    # the cap applies wherever p (1 - p) < 1e-12, and the loss uses log1p(-p)
    q = mg.tensor([1e-20], requires_grad=True)
    loss_q = F.binary_cross_entropy(q, np.array([0.0]), reduction="sum")
    assert loss_q.item() == 1e-20
    loss_q.backward()
    np.testing.assert_allclose(q.grad.numpy(), [1e-20 / cap], rtol=1e-15)


def test_fused_losses_of_an_empty_batch_have_empty_gradients():
    for loss_fn, target in ((F.binary_cross_entropy, np.zeros(0)),
                            (F.binary_cross_entropy_with_logits, np.zeros(0))):
        x = mg.tensor(np.zeros(0), requires_grad=True)
        with np.errstate(invalid="ignore"):
            loss = loss_fn(x, target)
        assert np.isnan(loss.item())
        loss.backward()
        assert x.grad.shape == (0,)
    logits = mg.tensor(np.zeros((0, 3)), requires_grad=True)
    with np.errstate(invalid="ignore"):
        loss = F.cross_entropy(logits, np.zeros(0, dtype=np.int64))
    loss.backward()
    assert logits.grad.shape == (0, 3)


def test_binary_cross_entropy_gradcheck_and_formula():
    rng = _rng(4)
    p = mg.tensor(rng.uniform(0.1, 0.9, 5), requires_grad=True)
    y = mg.tensor(rng.uniform(0, 1, 5), requires_grad=True)
    assert mg.gradcheck(lambda a, b: F.binary_cross_entropy(a, b), (p, y))
    # ∂ℓ/∂p = (p - y) / (p (1 - p)), ÷ N for the mean
    F.binary_cross_entropy(p, y.detach()).backward()
    pv, yv = p.numpy(), y.numpy()
    np.testing.assert_allclose(p.grad.numpy(), (pv - yv) / (pv * (1 - pv)) / 5, rtol=1e-12)


@pytest.mark.parametrize("bad", [1.5, -0.25, np.nan])
def test_binary_cross_entropy_refuses_probabilities_outside_unit_interval(bad):
    p = np.array([0.2, bad, 0.7])
    with pytest.raises(ValueError, match=r"binary_cross_entropy.*\[0, 1\]") as info:
        F.binary_cross_entropy(mg.tensor(p), np.array([0.0, 1.0, 1.0]))
    assert str(bad) in str(info.value)
    with pytest.raises(ValueError, match="target") as info:
        F.binary_cross_entropy(mg.tensor([0.5, 0.5, 0.5]), p)
    assert str(bad) in str(info.value)


def test_binary_cross_entropy_with_logits_matches_probability_form():
    rng = _rng(5)
    z, y = rng.standard_normal(8) * 3, rng.integers(0, 2, 8).astype(float)
    a = F.binary_cross_entropy_with_logits(mg.tensor(z), y, reduction="none")
    b = F.binary_cross_entropy(mg.tensor(_np_sigmoid(z)), y, reduction="none")
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_binary_cross_entropy_with_logits_stable_at_1e4():
    z = mg.tensor([1e4, -1e4, 1e4, -1e4], requires_grad=True)
    y = np.array([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    # max(z, 0) - z y + log1p(exp(-|z|)): wrong by 1e4 costs 1e4, right costs 0
    np.testing.assert_allclose(loss.numpy(), [1e4, 1e4, 0.0, 0.0])
    loss.sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [1.0, -1.0, 0.0, 0.0])  # σ(z) - y


def test_binary_cross_entropy_with_logits_backward_equals_composed_gradient():
    # the fused backward σ(z) - y equals the gradient autodiff derives through σ then BCE
    rng = _rng(6)
    zv, y = rng.standard_normal(6) * 2, rng.uniform(0, 1, 6)
    z1 = mg.tensor(zv, requires_grad=True)
    z2 = mg.tensor(zv, requires_grad=True)
    F.binary_cross_entropy_with_logits(z1, y).backward()
    F.binary_cross_entropy(mg.sigmoid(z2), y).backward()
    np.testing.assert_allclose(z1.grad.numpy(), z2.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(z1.grad.numpy(), (_np_sigmoid(zv) - y) / 6, rtol=1e-12)


# ----------------------------------------------------------------------------- multi-class
def _class_data(seed=7, n=5, k=4):
    rng = _rng(seed)
    return rng.standard_normal((n, k)) * 2, rng.integers(0, k, n)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_values_indices_and_probabilities(reduction):
    z, t = _class_data()
    expected = -np.log(_np_softmax(z)[np.arange(5), t])
    by_index = F.cross_entropy(mg.tensor(z), t, reduction=reduction)
    by_onehot = F.cross_entropy(mg.tensor(z), np.eye(4)[t], reduction=reduction)
    np.testing.assert_allclose(by_index.numpy(), _reduce(expected, reduction), rtol=1e-13)
    np.testing.assert_allclose(by_onehot.numpy(), _reduce(expected, reduction), rtol=1e-13)


def test_cross_entropy_soft_targets():
    z, _ = _class_data()
    Y = _rng(8).dirichlet(np.ones(4), 5)
    expected = -(Y * np.log(_np_softmax(z))).sum(axis=1).mean()
    np.testing.assert_allclose(F.cross_entropy(mg.tensor(z), Y).item(), expected, rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64])
def test_cross_entropy_accepts_any_integer_dtype(dtype):
    z, t = _class_data()
    ref = F.cross_entropy(mg.tensor(z), t.astype(np.int64)).item()
    assert F.cross_entropy(mg.tensor(z), t.astype(dtype)).item() == ref
    assert F.cross_entropy(mg.tensor(z), mg.tensor(t.astype(dtype))).item() == ref


def test_cross_entropy_unbatched_sample():
    z = np.array([1.0, 2.0, 0.5])
    expected = -np.log(_np_softmax(z)[1])
    np.testing.assert_allclose(F.cross_entropy(mg.tensor(z), 1).item(), expected, rtol=1e-14)
    none = F.cross_entropy(mg.tensor(z), 1, reduction="none")
    assert none.shape == ()
    np.testing.assert_allclose(
        F.cross_entropy(mg.tensor(z), np.array([0.0, 1.0, 0.0])).item(), expected, rtol=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck(reduction):
    z, t = _class_data(9)
    zt = mg.tensor(z, requires_grad=True)
    assert mg.gradcheck(lambda a: F.cross_entropy(a, t, reduction=reduction), zt)
    Y = mg.tensor(_rng(10).dirichlet(np.ones(4), 5), requires_grad=True)
    assert mg.gradcheck(lambda a, b: F.cross_entropy(a, b, reduction=reduction), (zt, Y))


def test_cross_entropy_fused_backward_equals_composed_and_formula():
    # slide "Softmax vs. CE loss": the fused op's hand-written backward (P - Y)/N must equal
    # what autodiff derives through softmax -> log -> NLL
    z, t = _class_data(11, n=6, k=3)
    fused = mg.tensor(z, requires_grad=True)
    composed = mg.tensor(z, requires_grad=True)
    F.cross_entropy(fused, t).backward()
    F.cross_entropy_composed(composed, t).backward()
    np.testing.assert_allclose(fused.grad.numpy(), composed.grad.numpy(), rtol=1e-12,
                               atol=1e-16)
    formula = (_np_softmax(z) - np.eye(3)[t]) / 6
    np.testing.assert_allclose(fused.grad.numpy(), formula, rtol=1e-12, atol=1e-16)


def test_cross_entropy_double_backward_matches_composed():
    # create_graph works through the fused backward: same Hessian as the composed ops
    rng = _rng(12)
    X, t = rng.standard_normal((7, 3)), rng.integers(0, 4, 7)
    w = rng.standard_normal(12)
    H_fused = mg.hessian(lambda v: F.cross_entropy(X @ v.reshape(4, 3).T, t), w)
    H_comp = mg.hessian(lambda v: F.cross_entropy_composed(X @ v.reshape(4, 3).T, t), w)
    np.testing.assert_allclose(H_fused.numpy(), H_comp.numpy(), rtol=1e-10, atol=1e-14)


def test_composed_cross_entropy_breaks_where_fused_does_not():
    # logits 1e4 apart: softmax underflows to exactly 0 for the true class, log(0) = -inf
    z = np.array([[0.0, 1e4], [-1e4, 1e4]])
    t = np.array([0, 0])
    composed = mg.tensor(z, requires_grad=True)
    with np.errstate(all="ignore"):
        loss_c = F.cross_entropy_composed(composed, t)
        loss_c.backward()
    assert not np.isfinite(loss_c.item())
    assert not np.isfinite(composed.grad.numpy()).all()

    fused = mg.tensor(z, requires_grad=True)
    loss_f = F.cross_entropy(fused, t)
    loss_f.backward()
    # -log softmax_0 = logsumexp(z) - z_0 = 1e4 and 2e4 (exactly, up to rounding)
    np.testing.assert_allclose(loss_f.item(), (1e4 + 2e4) / 2)
    np.testing.assert_allclose(fused.grad.numpy(), [[-0.5, 0.5], [-0.5, 0.5]])


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_cross_entropy_finite_at_huge_logits(scale):
    rng = _rng(13)
    z = mg.tensor(rng.choice([-1.0, 1.0], (4, 5)) * scale, requires_grad=True)
    for target in (rng.integers(0, 5, 4), rng.dirichlet(np.ones(5), 4)):
        loss = F.cross_entropy(z, target)
        loss.backward()
        assert np.isfinite(loss.item()) and np.isfinite(z.grad.numpy()).all()
        z.grad = None


def test_nll_loss_picks_the_log_probability_of_the_target():
    z, t = _class_data(14)
    logp = np.log(_np_softmax(z))
    got = F.nll_loss(mg.tensor(logp), t, reduction="none")
    np.testing.assert_allclose(got.numpy(), -logp[np.arange(5), t], rtol=1e-15)
    via_log_softmax = F.nll_loss(F.log_softmax(mg.tensor(z)), t)
    np.testing.assert_allclose(via_log_softmax.item(), F.cross_entropy(mg.tensor(z), t).item(),
                               rtol=1e-14)
    lp = mg.tensor(logp, requires_grad=True)
    assert mg.gradcheck(lambda a: F.nll_loss(a, t), lp)


# ----------------------------------------------------------------------------- margins
def test_perceptron_and_hinge_values():
    s = np.array([2.0, -0.5, 0.3, -3.0])
    y = np.array([1, 1, -1, -1])
    perc = F.perceptron_loss(mg.tensor(s), y, reduction="none")
    hinge = F.hinge_loss(mg.tensor(s), y, reduction="none")
    np.testing.assert_allclose(perc.numpy(), [0.0, 0.5, 0.3, 0.0])  # max(0, -y s)
    np.testing.assert_allclose(hinge.numpy(), [0.0, 1.5, 1.3, 0.0])  # max(0, 1 - y s)
    np.testing.assert_allclose(F.hinge_loss(mg.tensor(s), y, margin=3.0).item(),
                               np.mean([1.0, 3.5, 3.3, 0.0]))


@pytest.mark.parametrize("loss", [F.perceptron_loss, F.hinge_loss])
def test_margin_losses_gradcheck(loss):
    rng = _rng(15)
    s = mg.tensor(rng.uniform(0.2, 0.8, 6) * rng.choice([-1, 1], 6) + 0.05, requires_grad=True)
    y = rng.choice([-1, 1], 6)
    assert mg.gradcheck(lambda a: loss(a, y, reduction="sum"), s)


@pytest.mark.parametrize("loss", [F.perceptron_loss, F.hinge_loss])
@pytest.mark.parametrize("bad", [0, 2])
def test_margin_losses_refuse_labels_outside_plus_minus_one(loss, bad):
    with pytest.raises(ValueError, match=rf"-1 or \+1, got {bad}"):
        loss(mg.tensor([0.5, -0.5, 1.0]), np.array([1, -1, bad]))


# ----------------------------------------------------------------------------- bad input
ELEMENTWISE = [F.mse_loss, F.l1_loss, F.huber_loss, F.binary_cross_entropy,
               F.binary_cross_entropy_with_logits, F.perceptron_loss, F.hinge_loss]


@pytest.mark.parametrize("loss", ELEMENTWISE)
def test_losses_refuse_silent_broadcasting(loss):
    pred = mg.tensor(np.full((4, 1), 0.5))  # (N, 1) against (N,) would broadcast to (N, N)
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        loss(pred, np.ones(4))


@pytest.mark.parametrize("loss", [F.mse_loss, F.l1_loss, F.huber_loss, F.binary_cross_entropy,
                                  F.perceptron_loss, F.hinge_loss, F.cross_entropy])
def test_losses_refuse_unknown_reduction(loss):
    with pytest.raises(ValueError, match="reduction"):
        loss(mg.tensor([[0.5, 0.5]]), np.array([[1.0, 0.0]]), reduction="average")


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_fused_losses_honour_a_str_subclass_reduction(reduction):
    # np.str_ (e.g. read from an array of settings) is a str: it must not fall back to "mean"
    z = mg.tensor([[1.0, -2.0], [0.5, 3.0]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    for loss in (F.binary_cross_entropy_with_logits, F.cross_entropy):
        expected = loss(z, y, reduction=reduction).numpy()
        np.testing.assert_array_equal(loss(z, y, reduction=np.str_(reduction)).numpy(),
                                      expected)


def test_binary_cross_entropy_with_logits_refuses_an_unhashable_reduction():
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.binary_cross_entropy_with_logits(mg.tensor([0.5]), np.array([1.0]), reduction=["sum"])


def test_cross_entropy_refuses_bad_targets():
    z = mg.tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="class index 4 is out of range for 4 classes"):
        F.cross_entropy(z, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="class index -1"):
        F.cross_entropy(z, np.array([0, -1, 1]))
    with pytest.raises(IndexError, match="class index 7"):  # PyTorch's error class too
        F.nll_loss(z, np.array([0, 7, 1]))
    with pytest.raises(TypeError, match="integer class indices"):
        F.cross_entropy(z, np.array([0.0, 1.0, 2.0]))  # float labels of shape (N,)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        F.cross_entropy(z, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 3\)"):
        F.cross_entropy(z, np.full((3, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"\[0, 1\], got 2.0"):
        F.cross_entropy(z, np.array([[2.0, -1.0, 0.0, 0.0]] * 3))
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        F.cross_entropy(mg.tensor(np.zeros((2, 3, 4))), np.zeros((2,), dtype=int))
    with pytest.raises(ValueError, match="class index 7"):
        F.nll_loss(z, np.array([7, 0, 0]))


def test_losses_refuse_integer_input():
    with pytest.raises(TypeError, match="mse_loss: input must be floating point"):
        F.mse_loss(np.array([1, 2]), np.array([1, 2]))


# ----------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("name", ["mse", "l1", "huber", "bce", "perceptron", "hinge", "ce",
                                  "ce_probs", "nll"])
def test_float32_stays_float32(name):
    rng = _rng(16)
    if name in ("ce", "ce_probs", "nll"):
        x = mg.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
        t = rng.integers(0, 3, 4)
        call = {"ce": lambda: F.cross_entropy(x, t),
                "ce_probs": lambda: F.cross_entropy(x, np.eye(3)[t]),  # float64 target
                "nll": lambda: F.nll_loss(x, t)}[name]
    else:
        x = mg.tensor(rng.uniform(0.1, 0.9, 4).astype(np.float32), requires_grad=True)
        y01, ypm = np.array([0.0, 1.0, 1.0, 0.0]), np.array([1, -1, 1, -1])
        call = {"mse": lambda: F.mse_loss(x, y01), "l1": lambda: F.l1_loss(x, y01),
                "huber": lambda: F.huber_loss(x, y01),
                "bce": lambda: F.binary_cross_entropy(x, y01),
                "perceptron": lambda: F.perceptron_loss(x, ypm),
                "hinge": lambda: F.hinge_loss(x, ypm)}[name]
    loss = call()
    loss.backward()
    assert loss.dtype == np.float32
    assert x.grad.dtype == np.float32


# ----------------------------------------------------------------------------- properties
@given(n=st.integers(1, 6), k=st.integers(2, 6), scale=st.floats(0.1, 30.0),
       seed=st.integers(0, 2**32 - 1), reduction=st.sampled_from(REDUCTIONS))
def test_fused_and_composed_cross_entropy_agree_on_moderate_logits(n, k, scale, seed,
                                                                   reduction):
    rng = np.random.default_rng(seed)
    z, t = rng.standard_normal((n, k)) * scale, rng.integers(0, k, n)
    a = mg.tensor(z, requires_grad=True)
    b = mg.tensor(z, requires_grad=True)
    la, lb = F.cross_entropy(a, t, reduction=reduction), F.cross_entropy_composed(
        b, t, reduction=reduction)
    np.testing.assert_allclose(la.numpy(), lb.numpy(), rtol=1e-9, atol=1e-12)
    la.sum().backward()
    lb.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_a_positional_weight_array_gets_a_clear_error():
    # PyTorch's third positional argument is weight; here it would be reduction
    with pytest.raises(ValueError, match=r"^cross_entropy: reduction must be one of .* ndarray"):
        F.cross_entropy(mg.tensor(np.zeros((2, 3))), np.array([0, 1]), np.ones(3))


def test_binary_cross_entropy_notices_a_target_changed_in_place():
    p = mg.tensor([0.3, 0.6], requires_grad=True)
    y = mg.tensor([1.0, 0.0])
    loss = F.binary_cross_entropy(p, y)
    y += 0.5  # its gradient reads y: backward must refuse, as PyTorch's
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_with_logits_of_one_0d_logit(reduction, dtype):
    # one sample's loss from a scalar logit: softplus(z) - z y, as PyTorch (0-d in, 0-d out)
    z = mg.tensor(np.array(2.0, dtype), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(z, mg.tensor(np.array(1.0, dtype)), reduction)
    assert loss.shape == () and loss.dtype == dtype
    np.testing.assert_allclose(loss.item(), np.log1p(np.exp(-2.0)), rtol=1e-6)
    loss.backward()
    assert z.grad.shape == () and z.grad.dtype == dtype
    np.testing.assert_allclose(z.grad.item(), 1 / (1 + np.exp(-2.0)) - 1.0, rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_of_one_unbatched_sample(reduction):
    # input (K,) with a 0-d target, as cross_entropy and PyTorch take it
    logp = mg.tensor(np.log([0.2, 0.3, 0.5]), requires_grad=True)
    loss = F.nll_loss(logp, np.array(2), reduction=reduction)
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), -np.log(0.5), rtol=1e-15)
    loss.backward()
    np.testing.assert_array_equal(logp.grad.numpy(), [0.0, 0.0, -1.0])
    with pytest.raises(ValueError, match=r"nll_loss: input must have shape \(N, K\)"):
        F.nll_loss(mg.tensor(np.zeros((2, 3, 4))), np.zeros(2, int))


@pytest.mark.parametrize("bad, shown", [([1.0, -1.0, 1.0, 0.0], "-1.0"),
                                        ([1.0, 2.0, 1.0, 0.0], "2.0"),
                                        ([1.0, np.nan, 1.0, 0.0], "nan")])
def test_bce_with_logits_refuses_targets_outside_0_1(bad, shown):
    z = mg.tensor([0.3, -1.2, 2.0, 0.1])
    for target in (np.array(bad), mg.tensor(bad), bad):
        with pytest.raises(ValueError, match=rf"^binary_cross_entropy_with_logits: target must "
                                             rf"lie in \[0, 1\], got {shown}.*\(y \+ 1\) / 2"):
            F.binary_cross_entropy_with_logits(z, target)
    with pytest.raises(TypeError, match="target must hold numbers in .* dtype <U1"):
        F.binary_cross_entropy_with_logits(z, np.array(["1", "0", "1", "0"]))
    # soft labels and bool/int labels in [0, 1] are fine
    F.binary_cross_entropy_with_logits(z, np.array([1.0, 0.0, 0.25, 1.0]))
    F.binary_cross_entropy_with_logits(z, np.array([True, False, True, False]))


def test_a_target_tensor_is_checked_again_once_it_changes():
    # (a valid target Tensor is not re-read while unchanged: see _check_unit_interval)
    z = mg.tensor([0.3, -1.2])
    y = mg.tensor([1.0, 0.0])
    F.binary_cross_entropy_with_logits(z, y)
    F.binary_cross_entropy_with_logits(z, y)
    y -= 1  # a new version
    with pytest.raises(ValueError, match="got -1.0"):
        F.binary_cross_entropy_with_logits(z, y)
    y = mg.tensor([1.0, 0.0])
    F.binary_cross_entropy_with_logits(z, y)
    y.data = np.array([3.0, 0.0])  # another array
    with pytest.raises(ValueError, match="got 3.0"):
        F.binary_cross_entropy_with_logits(z, y)
    probs = mg.tensor([[0.5, 0.5]])
    F.cross_entropy(mg.tensor([[1.0, 2.0]]), probs)
    with mg.no_grad():
        probs *= 3
    with pytest.raises(ValueError, match="cross_entropy: target probabilities must lie in"):
        F.cross_entropy(mg.tensor([[1.0, 2.0]]), probs)


def test_loss_hyperparameters_must_be_numbers():
    z = mg.tensor([0.5, -1.0])
    for bad in ("a", np.array([1.0, 2.0]), np.nan, None):
        with pytest.raises(TypeError, match=r"^huber_loss: delta must be a finite number"):
            F.huber_loss(z, z, delta=bad)
        with pytest.raises(TypeError, match=r"^hinge_loss: margin must be a finite number"):
            F.hinge_loss(z, np.array([1.0, -1.0]), margin=bad)
    assert F.huber_loss(z, z + 2, delta=np.float32(0.5)).item() == 0.5 * (2 - 0.25)


def test_composed_cross_entropy_checks_targets_as_the_fused_one():
    Z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match=r"^cross_entropy_composed: target probabilities "
                                         r"must lie in \[0, 1\], got -0.33"):
        F.cross_entropy_composed(Z, -np.ones((2, 3)) / 3)
    with pytest.raises(TypeError, match=r"^cross_entropy_composed: target must be integer "
                                        r"class indices of shape \(2,\)"):
        F.cross_entropy_composed(Z, np.array([0.0, 2.0]))
    # one unbatched sample (K,), as the fused one takes it
    one = F.cross_entropy_composed(mg.tensor(Z[0]), np.array(2))
    assert one.shape == ()
    np.testing.assert_allclose(one.item(), F.cross_entropy(Z[0], np.array(2)).item(),
                               rtol=1e-14)


@pytest.mark.parametrize("loss", [F.mse_loss, F.l1_loss, F.perceptron_loss, F.hinge_loss,
                                  F.binary_cross_entropy_with_logits, F.cross_entropy])
@pytest.mark.parametrize("target", [None, "a"])
def test_a_target_that_is_not_numbers_is_refused_by_name(loss, target):
    x = mg.tensor([[0.25, 0.5]]) if loss is F.cross_entropy else mg.tensor([0.25, 0.5])
    with pytest.raises(TypeError, match=rf"^{loss.__name__}: target must be"):
        loss(x, target)


def test_nll_loss_of_one_sample_needs_a_0d_target():
    with pytest.raises(ValueError, match=r"^nll_loss: input must have shape \(N, K\), or \(K,\) "
                                         r"with a 0-d target.*\(3,\) and target \(3,\)"):
        F.nll_loss(mg.tensor([1.0, 2.0, 3.0]), np.array([0, 1, 1]))


# ----------------------------------------------------------------------------- PyTorch's
# cross-entropy options: weight, ignore_index, label_smoothing (checked against torch 2.13
# by hand; here against the formulas, written out in NumPy)
def _reference_cross_entropy(z, target, weight=None, ignore_index=None, eps=0.0,
                             reduction="mean"):
    """PyTorch's documented formula, per sample, in plain NumPy."""
    n, k = z.shape
    logp = z - z.max(axis=1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
    w = np.ones(k) if weight is None else np.asarray(weight, dtype=float)
    if target.ndim == 2:  # probabilities: -Σ_k w_k ((1 - ε) y_ik + ε/K) log p_ik, mean over N
        q = target * (1 - eps) + eps / k
        per = -(w * q * logp).sum(axis=1)
        return {"none": per, "sum": per.sum(), "mean": per.sum() / n}[reduction]
    kept = np.ones(n, bool) if ignore_index is None else target != ignore_index
    per, denom = np.zeros(n), 0.0
    for i in range(n):
        if not kept[i]:
            continue
        t = target[i]
        per[i] = -(1 - eps) * w[t] * logp[i, t] - eps / k * (w * logp[i]).sum()
        denom += w[t]
    return {"none": per, "sum": per.sum(), "mean": per.sum() / denom}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 2])
@pytest.mark.parametrize("eps", [0.0, 0.25])
def test_cross_entropy_options_follow_pytorchs_formula(reduction, weighted, ignore_index, eps):
    rng = np.random.default_rng(7)
    z = rng.standard_normal((6, 4)) * 2
    t = np.array([0, 2, 1, 3, 2, 1])
    weight = rng.random(4) + 0.2 if weighted else None
    got = F.cross_entropy(mg.tensor(z), mg.tensor(t), reduction, weight=weight,
                          ignore_index=ignore_index, label_smoothing=eps)
    want = _reference_cross_entropy(z, t, weight, ignore_index, eps, reduction)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-14)
    # the gradient, by finite differences, with respect to the logits and the weights
    w_t = None if weight is None else mg.tensor(weight, requires_grad=True)
    inputs = [mg.tensor(z, requires_grad=True)] + ([w_t] if weighted else [])
    assert mg.gradcheck(lambda zz, *ww: F.cross_entropy(
        zz, mg.tensor(t), reduction, weight=ww[0] if ww else None, ignore_index=ignore_index,
        label_smoothing=eps), inputs)


@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_cross_entropy_weight_and_smoothing_with_probability_targets(eps):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((5, 3))
    y = rng.dirichlet(np.ones(3), 5)
    weight = np.array([0.5, 2.0, 1.0])
    got = F.cross_entropy(mg.tensor(z), mg.tensor(y), weight=mg.tensor(weight),
                          label_smoothing=eps)
    np.testing.assert_allclose(got.item(), _reference_cross_entropy(z, y, weight, eps=eps),
                               rtol=1e-12)
    assert mg.gradcheck(lambda zz: F.cross_entropy(zz, mg.tensor(y), weight=weight,
                                                   label_smoothing=eps),
                        [mg.tensor(z, requires_grad=True)])


def test_nll_loss_weight_and_ignore_index_match_cross_entropy_on_log_softmax():
    rng = np.random.default_rng(5)
    z = rng.standard_normal((6, 3))
    t = np.array([0, 1, 2, 2, 1, 0])
    weight = np.array([1.0, 3.0, 0.5])
    for reduction in ("mean", "sum", "none"):
        got = F.nll_loss(F.log_softmax(mg.tensor(z), axis=-1), mg.tensor(t), reduction,
                         weight=weight, ignore_index=1)
        want = _reference_cross_entropy(z, t, weight, 1, 0.0, reduction)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-15)


def test_cross_entropy_defaults_keep_the_fused_op_and_one_sample_takes_the_options():
    z = mg.tensor([[1.0, 2.0, 0.5]], requires_grad=True)
    fused = F.cross_entropy(z, mg.tensor(np.array([1])))
    assert type(fused.grad_fn).__name__ == "CrossEntropyWithLogits"
    one = F.cross_entropy(mg.tensor([1.0, 2.0, 0.5]), mg.tensor(np.array(1)),
                          weight=[1.0, 2.0, 3.0], label_smoothing=0.1)
    batch = F.cross_entropy(mg.tensor([[1.0, 2.0, 0.5]]), mg.tensor(np.array([1])),
                            weight=[1.0, 2.0, 3.0], label_smoothing=0.1)
    assert one.shape == () and one.item() == pytest.approx(batch.item(), rel=1e-15)


def test_cross_entropy_with_every_sample_ignored_is_nan_with_zero_gradients():
    import warnings

    z = mg.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 warning from NumPy, as PyTorch gives none
        loss = F.cross_entropy(z, mg.tensor(np.full(3, 2)), ignore_index=2)
        loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(z.grad.numpy(), np.zeros((3, 4)))


def test_cross_entropy_options_refuse_bad_values():
    z = mg.tensor(np.zeros((2, 3)))
    t = mg.tensor(np.array([0, 2]))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\).*got \(2,\)"):
        F.cross_entropy(z, t, weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\]"):
        F.cross_entropy(z, t, label_smoothing=1.5)
    with pytest.raises(TypeError, match=r"label_smoothing must be a number"):
        F.cross_entropy(z, t, label_smoothing="0.1")
    with pytest.raises(TypeError, match=r"weight must be 3 numbers"):
        F.cross_entropy(z, t, weight=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"reduction must be one of .*pass the other options"
                                         r", such as weight=, by keyword"):
        F.cross_entropy(z, t, np.ones(3))  # PyTorch's positional weight
    with pytest.raises(TypeError, match=r"ignore_index must be an integer"):
        F.cross_entropy(z, t, ignore_index=0.5)
    with pytest.raises(ValueError, match=r"ignore_index applies to class-index targets"):
        F.cross_entropy(z, mg.tensor(np.full((2, 3), 1 / 3)), ignore_index=0)
    # an index outside [0, K) is still refused unless it is the one named
    with pytest.raises(IndexError, match=r"class index -100 .* or ignore_index=5"):
        F.cross_entropy(z, mg.tensor(np.array([-100, 5])), ignore_index=5)
    assert F.cross_entropy(z, mg.tensor(np.array([-100, 1])), ignore_index=-100).item() == \
        pytest.approx(np.log(3.0))


def test_weighted_mean_over_weights_summing_to_zero_is_pytorchs_nan():
    # the kept samples weigh 0 in all: the mean is 0/0 (PyTorch: nan, with nan gradients);
    # only "nothing kept" gives nan with zero gradients
    z = mg.tensor([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = F.cross_entropy(z, mg.tensor(np.array([0, 0])), weight=[0.0, 1.0, 1.0],
                               label_smoothing=0.1)
        loss.backward()
    assert np.isnan(loss.item()) and np.isnan(z.grad.numpy()).all()
