"""The same code on every backend: CPU (NumPy), the strict stand-in, and CUDA when present.

The "strict" device wraps NumPy arrays but refuses implicit conversion to NumPy and NumPy's
own functions, as CuPy does, so a host round trip or a NumPy-only call inside an op, loss,
optimizer or training step fails here in CI, without a GPU. CUDA cases skip (with the
reason) on machines without CuPy or a GPU.
"""

import numpy as np
import pytest

import microgradlin as mg
from microgradlin import backend
from microgradlin import functional as F


def _cuda_reason():
    try:
        import cupy  # noqa: F401
    except ImportError:
        return "CuPy is not installed"
    if not backend.cuda_is_available():
        return "CuPy finds no GPU"
    return None


DEVICES = [
    "cpu",
    "strict",
    pytest.param("cuda", marks=pytest.mark.skipif(_cuda_reason() is not None,
                                                  reason=f"no CUDA: {_cuda_reason()}")),
]


def host(t):
    return backend.to_numpy(t.data if isinstance(t, mg.Tensor) else t)


rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((4, 2))
V = rng.standard_normal(4)

# name -> function of one (3, 4) tensor returning a scalar tensor
OPS = {
    "add_bcast": lambda x: (x + x[0]).sum(),
    "sub_mul_div": lambda x: ((x - 1.5) * x / (x * x + 2.0)).sum(),
    "pow_scalar": lambda x: (x**2).sum() + (x.abs() ** 1.5).sum(),
    "pow_tensor": lambda x: (x.abs() + 0.5) ** (x * 0.3),
    "rpow": lambda x: (2.0**x).sum(),
    "matmul_2d": lambda x: (x @ mg.tensor(B, device=x.device)).sum(),
    "matmul_1d": lambda x: (x @ mg.tensor(V, device=x.device)).sum(),
    "exp_log_sqrt": lambda x: ((x.exp() + 1).log() + (x * x + 1).sqrt()).sum(),
    "tanh_sigmoid_relu": lambda x: (x.tanh() + x.sigmoid() + x.relu()).sum(),
    "clip_abs": lambda x: (x.clip(-0.5, 0.5) + x.abs()).sum(),
    "reductions": lambda x: x.sum(axis=0).max() + x.mean(axis=1).min() + x.max(axis=(0, 1)),
    "shape": lambda x: (x.reshape(4, 3).T * x).sum() + x.transpose(1, 0)[1:3].sum(),
    "getitem_fancy": lambda x: (x[[0, 0, 2], 1:] ** 2).sum() + x[x > 0].sum(),
    "maximum_minimum_where": lambda x: (mg.maximum(x, 0.1) + mg.minimum(x, x * 0.5)
                                        + mg.where(x > 0, x, -x)).sum(),
    "concat_stack": lambda x: (mg.concatenate([x, x * 2], axis=1) ** 2).sum()
    + mg.stack([x, x.exp()], axis=0).mean(),
    "softmax_family": lambda x: (F.softmax(x) * F.log_softmax(x, axis=0)).sum()
    + F.logsumexp(x, axis=1).sum(),
    "bce_with_logits": lambda x: F.binary_cross_entropy_with_logits(
        x, mg.tensor((A > 0).astype(np.float64), device=x.device)),
    "pytorch_spellings": lambda x: x.max(dim=1).values.sum() + x.min(dim=0, keepdim=True)
    .values.sum() + x.sum(dim=1, keepdim=True).mean() + F.softmax(x, dim=0)[0].sum()
    + mg.cat([x, x], dim=1).std(dim=1).sum(),
}


def reduce(out):
    return out if out.numel() == 1 else out.sum()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(OPS))
def test_op_matches_cpu(device, name):
    fn = OPS[name]
    x_cpu = mg.tensor(A, requires_grad=True)
    reduce(fn(x_cpu)).backward()
    x = mg.tensor(A, requires_grad=True, device=device)
    out = reduce(fn(x))
    assert out.device == backend.parse_device(device)
    out.backward()
    assert x.grad.device == x.device
    np.testing.assert_allclose(host(out), host(reduce(fn(mg.tensor(A)))), rtol=1e-12)
    np.testing.assert_allclose(host(x.grad), host(x_cpu.grad), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["sub_mul_div", "matmul_2d", "reductions", "getitem_fancy",
                                  "softmax_family", "bce_with_logits", "tanh_sigmoid_relu"])
def test_gradcheck_on_device(device, name):
    x = mg.tensor(A[:2, :3] if name != "matmul_2d" else A, requires_grad=True, device=device)
    fn = OPS[name]
    if name in ("getitem_fancy", "bce_with_logits"):
        x = mg.tensor(A, requires_grad=True, device=device)
    assert mg.gradcheck(lambda v: reduce(fn(v)), [x])


@pytest.mark.parametrize("device", DEVICES)
def test_float32_stays_float32(device):
    x = mg.tensor(A.astype(np.float32), requires_grad=True, device=device)
    y = F.binary_cross_entropy_with_logits(x, mg.tensor((A > 0).astype(np.float32),
                                                        device=device))
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_at_extreme_inputs_match_cpu(device, dtype):
    # on a GPU, sigmoid and the tanh/sigmoid/relu backward rules are single fused kernels
    xs = np.array([-1000.0, -100.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 100.0, 1000.0], dtype)
    weights = np.linspace(0.5, 2.0, xs.size).astype(dtype)
    for act in ("sigmoid", "tanh", "relu"):
        results = []
        for dev in ("cpu", device):
            x = mg.tensor(xs, requires_grad=True, device=dev)
            out = getattr(x, act)()
            (out * mg.tensor(weights, device=dev)).sum().backward()
            results.append((host(out), host(x.grad)))
        (out_cpu, grad_cpu), (out_dev, grad_dev) = results
        assert out_dev.dtype == dtype and grad_dev.dtype == dtype
        tol = 1e-6 if dtype == np.float32 else 1e-15
        np.testing.assert_allclose(out_dev, out_cpu, rtol=tol, atol=tol, err_msg=act)
        np.testing.assert_allclose(grad_dev, grad_cpu, rtol=tol, atol=tol, err_msg=act)


@pytest.mark.parametrize("device", DEVICES)
def test_relu_backward_is_the_threshold_rule_on_every_device(device):
    x = mg.tensor([1.0, -2.0, 0.0], requires_grad=True, device=device)
    x.relu().backward(mg.tensor([np.nan, np.nan, np.inf], device=device))
    np.testing.assert_array_equal(host(x.grad), [np.nan, 0.0, 0.0])


@pytest.mark.parametrize("device", DEVICES)
def test_hessian_on_device(device):
    X = rng.standard_normal((6, 3))
    Xd = mg.tensor(X, device=device)
    w = mg.tensor(rng.standard_normal(3), device=device)
    H = mg.hessian(lambda v: ((Xd @ v) ** 2).mean(), w)
    assert H.device == backend.parse_device(device)
    np.testing.assert_allclose(host(H), 2 * X.T @ X / 6, rtol=1e-12)


@pytest.mark.parametrize("device", ["strict"])
def test_mixing_devices_is_refused_with_both_names(device):
    a = mg.tensor(A, device=device)
    b = mg.tensor(A)
    with pytest.raises(RuntimeError, match=r"add: expected all inputs on the same device.*cpu"
                                           r" and strict"):
        a + b
    with pytest.raises(RuntimeError, match="matmul"):
        a @ mg.tensor(B)


def test_strict_device_refuses_implicit_host_conversion():
    from microgradlin.strict_backend import HostRoundTripError

    a = mg.tensor(A, device="strict")
    with pytest.raises(HostRoundTripError):
        np.asarray(a.data)
    with pytest.raises(HostRoundTripError):
        np.exp(a.data)
    # explicit transfers are fine
    np.testing.assert_array_equal(a.numpy(), A)
    np.testing.assert_array_equal(a.cpu().numpy(), A)


@pytest.mark.parametrize("device", DEVICES)
def test_to_and_back_carries_gradient(device):
    x = mg.tensor(A, requires_grad=True)
    y = (x.to(device) * 3).sum()
    y.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), np.full_like(A, 3.0))


@pytest.mark.parametrize("device", DEVICES)
def test_backward_seed_is_made_on_the_loss_device_after_a_host_backward(device):
    """loss.backward() caches its host seed (a one of the loss's shape and dtype): a loss of
    that shape and dtype on another device must not get the cached host array."""
    host_leaf = mg.tensor(2.0, requires_grad=True)
    (host_leaf * 3.0).backward()  # a 0-d float64 host loss: caches the host seed
    x = mg.tensor(A, device=device, requires_grad=True)
    (x * 2.0).sum().backward()  # a 0-d float64 loss on the device
    assert x.grad.device == backend.parse_device(device)
    np.testing.assert_array_equal(host(x.grad), np.full_like(A, 2.0))
    assert host_leaf.grad.item() == 3.0


@pytest.mark.parametrize("device", DEVICES)
def test_module_to_device(device):
    from microgradlin.models import Linear

    model = Linear(4, 2, seed=0)
    ref = model(A).numpy()
    model.to(device)
    out = model(mg.tensor(A, device=device))
    assert out.device == backend.parse_device(device)
    np.testing.assert_allclose(host(out), ref, rtol=1e-12)


def test_cuda_without_cupy_or_gpu_is_one_clear_error():
    if _cuda_reason() is None:
        pytest.skip("a GPU is present here")
    with pytest.raises(RuntimeError, match=r"(pip install|no usable GPU|GPU)"):
        mg.tensor([1.0], device="cuda")
    assert mg.cuda.is_available() is False


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        mg.tensor([1.0], device="tpu")


# ----------------------------------------------------------------------------- losses, models,
# optimizers and the training loop: the same numbers on every device
LOSS_CASES = {
    "mse": lambda p, d: F.mse_loss(p, mg.tensor(A * 0.5, device=d)),
    "l1": lambda p, d: F.l1_loss(p, mg.tensor(A * 0.5, device=d)),
    "huber": lambda p, d: F.huber_loss(p, mg.tensor(A * 0.5, device=d), delta=0.7),
    "bce": lambda p, d: F.binary_cross_entropy(p.sigmoid(),
                                               mg.tensor((A > 0) * 1.0, device=d)),
    "cross_entropy_index": lambda p, d: F.cross_entropy(
        p, mg.tensor(np.array([0, 3, 1]), device=d)),
    "cross_entropy_probs": lambda p, d: F.cross_entropy(
        p, mg.tensor(np.full((3, 4), 0.25), device=d)),
    "cross_entropy_options": lambda p, d: F.cross_entropy(
        p, mg.tensor(np.array([0, 3, 1]), device=d), weight=mg.tensor(np.abs(V), device=d),
        ignore_index=3, label_smoothing=0.1),
    "cross_entropy_probs_options": lambda p, d: F.cross_entropy(
        p, mg.tensor(np.full((3, 4), 0.25), device=d), weight=mg.tensor(np.abs(V), device=d),
        label_smoothing=0.2),
    "nll_options": lambda p, d: F.nll_loss(
        F.log_softmax(p, axis=-1), mg.tensor(np.array([0, 3, 1]), device=d),
        weight=mg.tensor(np.abs(V), device=d), ignore_index=0),
    "cross_entropy_composed": lambda p, d: F.cross_entropy_composed(
        p, mg.tensor(np.array([0, 3, 1]), device=d)),
    "perceptron": lambda p, d: F.perceptron_loss(p[:, 0], mg.tensor([1.0, -1.0, 1.0],
                                                                    device=d)),
    "hinge": lambda p, d: F.hinge_loss(p[:, 0], mg.tensor([1.0, -1.0, 1.0], device=d)),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_matches_cpu(device, name):
    x_cpu = mg.tensor(A, requires_grad=True)
    LOSS_CASES[name](x_cpu, "cpu").backward()
    x = mg.tensor(A, requires_grad=True, device=device)
    loss = LOSS_CASES[name](x, device)
    loss.backward()
    assert loss.device == x.grad.device == backend.parse_device(device)
    np.testing.assert_allclose(host(loss), host(LOSS_CASES[name](mg.tensor(A), "cpu")),
                               rtol=1e-12)
    np.testing.assert_allclose(host(x.grad), host(x_cpu.grad), rtol=1e-12, atol=1e-15)


def _blobs(n=60, seed=0):
    r = np.random.default_rng(seed)
    X = np.concatenate([r.normal(-1.0, 0.7, (n // 2, 2)), r.normal(1.0, 0.7, (n // 2, 2))])
    y = np.repeat([0, 1], n // 2)
    return X, y


@pytest.mark.parametrize("device", DEVICES)
def test_models_train_identically_on_every_device(device):
    from microgradlin.models import LinearRegression, LogisticRegression, SoftmaxRegression

    X, y = _blobs()
    results = {}
    for dev in ("cpu", device):
        Xd, yd = mg.tensor(X, device=dev), mg.tensor(y, device=dev)
        logistic = LogisticRegression(n_features=2, seed=0).to(dev)
        logistic.fit(Xd, yd, lr=0.5, epochs=30)
        softmax = SoftmaxRegression(n_features=2, n_classes=2, seed=0).to(dev)
        softmax.fit(Xd, yd, lr=0.5, epochs=30)
        linear = LinearRegression(n_features=2, seed=0).to(dev)
        linear.fit(Xd, mg.tensor(X @ [1.5, -2.0] + 0.3, device=dev), lr=0.1, epochs=30)
        results[dev] = [host(p).copy() for m in (logistic, softmax, linear)
                        for p in m.parameters()]
        assert all(p.device == backend.parse_device(dev)
                   for m in (logistic, softmax, linear) for p in m.parameters())
        assert logistic.score(Xd, yd) > 0.9
    for a, b in zip(results["cpu"], results[device]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("optimizer", ["sgd_momentum", "adam", "projected", "proximal"])
def test_optimizers_step_identically_on_every_device(device, optimizer):
    from microgradlin import optim

    trajectories = {}
    for dev in ("cpu", device):
        w = mg.tensor([0.5, -1.0, 2.0], requires_grad=True, device=dev)
        target = mg.tensor([1.0, 0.0, -1.0], device=dev)
        make, kwargs = {
            "sgd_momentum": (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True,
                                             weight_decay=0.01)),
            "adam": (optim.Adam, dict(lr=0.1)),
            "projected": (optim.ProjectedGD, dict(lr=0.3, project="simplex")),
            "proximal": (optim.ProximalGD, dict(lr=0.3, prox="l1", lam=0.5)),
        }[optimizer]
        opt = make([w], **kwargs)
        steps = []
        for _ in range(5):
            opt.zero_grad()
            ((w - target) ** 2).sum().backward()
            opt.step()
            steps.append(host(w).copy())
        assert w.device == backend.parse_device(dev)
        trajectories[dev] = np.array(steps)
    np.testing.assert_allclose(trajectories[device], trajectories["cpu"], rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_fit_gives_the_same_history_on_every_device(device):
    from microgradlin.models import Linear
    from microgradlin.train import fit

    X, _ = _blobs()
    y = X @ np.array([2.0, -1.0]) + 0.5
    histories = {}
    for dev in ("cpu", device):
        model = Linear(2, 1, seed=0)
        hist = fit(model, lambda p, t: F.mse_loss(p.reshape(-1), t), X, y, method="minibatch",
                   batch_size=16, epochs=4, lr=0.1, seed=3, progress=False, device=dev)
        assert model.weight.device == backend.parse_device(dev)
        histories[dev] = np.array(hist.step_loss)
    np.testing.assert_allclose(histories[device], histories["cpu"], rtol=1e-10)


def test_one_element_picked_on_the_strict_device_is_a_view_as_on_the_cpu():
    t = mg.tensor([1.0, 2.0, 3.0], device="strict")
    t[0].fill_(9.0)
    assert t.tolist() == [9.0, 2.0, 3.0]


def test_composed_cross_entropy_refuses_a_weight_or_target_on_another_device():
    z = mg.tensor(A, device="strict")
    t = np.array([0, 3, 1])
    with pytest.raises(RuntimeError, match=r"cross_entropy: expected all inputs on the same "
                                           r"device, but the input is on strict and the "
                                           r"weight on cpu"):
        F.cross_entropy(z, mg.tensor(t, device="strict"), weight=mg.tensor(np.ones(4)))
    with pytest.raises(RuntimeError, match=r"the target on cpu"):
        F.cross_entropy(z, t, ignore_index=1)
    assert F.cross_entropy(z, mg.tensor(t, device="strict"), weight=[1.0, 2.0, 3.0, 4.0],
                           ignore_index=1).device == "strict"
