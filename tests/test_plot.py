"""microgradlin.plot: loss curves, decision boundaries, the perceptron's line, regression fits.

The pictures are checked through what was drawn (line data, artists) and through the files
written (valid, non-empty PNG/SVG/PDF); no figure may be left open in pyplot.
"""

import sys
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import matplotlib  # the plot extra, installed with .[dev]
import numpy as np
import pytest

matplotlib.use("Agg")  # the test process itself never needs a window
import matplotlib.pyplot as plt  # noqa: E402

import microgradlin as mg  # noqa: E402
from microgradlin import plot  # noqa: E402
from microgradlin.models import Linear  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def no_leaked_figures():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before, "a plot function left a pyplot figure open"


def assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def assert_svg(path):
    assert ET.parse(path).getroot().tag.endswith("svg")


def by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


# ----------------------------------------------------------------------------- loss curves
def runs():
    """Batch (a plain list), SGD (a dict), minibatch (an object, like train.History).

    As in train.History: wall_time is the time since the start at the end of each epoch,
    epoch_time the duration of each epoch, steps the logged step indices.
    """
    batch = [1.0, 0.5, 0.25, 0.125]
    sgd = {"step_loss": [1.2, 0.9, 0.3, 0.2], "epoch_loss": [0.6, 0.25],
           "wall_time": [0.2, 0.4], "epoch_time": [0.2, 0.2]}
    minibatch = SimpleNamespace(steps=[0, 1, 2, 3], step_loss=[1.0, 0.6, 0.4, 0.3],
                                epoch_loss=[0.8, 0.35], wall_time=[0.1, 0.25],
                                epoch_time=[0.1, 0.15])
    return {"batch": batch, "SGD": sgd, "minibatch": minibatch}


def test_loss_curves_several_runs_on_one_axis_png_and_svg(tmp_path):
    fig = plot.loss_curves(runs(), path=tmp_path / "loss.png", title="GD variants")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["batch", "SGD", "minibatch"]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(ax.lines[2].get_xdata(), [0, 1, 2, 3])  # its steps
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [1.0, 0.5, 0.25, 0.125])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [1.2, 0.9, 0.3, 0.2])
    np.testing.assert_array_equal(ax.lines[2].get_ydata(), [1.0, 0.6, 0.4, 0.3])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step"
    assert ax.get_title() == "GD variants"
    assert_png(tmp_path / "loss.png")
    plot.loss_curves(runs(), path=tmp_path / "loss.svg")
    assert_svg(tmp_path / "loss.svg")


def test_loss_curves_per_epoch_and_against_wall_time():
    fig = plot.loss_curves(runs(), x="epoch")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch"
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), [1, 2])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [0.6, 0.25])
    timed = {k: v for k, v in runs().items() if k != "batch"}
    ax = plot.loss_curves(timed, x="time").axes[0]
    assert ax.get_xlabel() == "wall time (s)"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0.2, 0.4])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [0.6, 0.25])
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), [0.1, 0.25])
    # without wall_time: the running sum of the epoch durations, 1.0 then 1.0 + 1.5
    ax = plot.loss_curves({"e": {"epoch_loss": [3.0, 2.0], "epoch_time": [1.0, 1.5]}},
                          x="time").axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1.0, 2.5])


def test_loss_curves_of_a_real_training_history(tmp_path):
    from microgradlin.train import History

    h = History(steps=[0, 5, 10], step_loss=[2.0, 1.0, 0.5], epoch_loss=[1.5, 0.7],
                epoch_time=[0.5, 0.25], wall_time=[0.5, 0.75])
    fig = plot.loss_curves({"run": h}, x=("step", "epoch", "time"), path=tmp_path / "h.svg")
    step, epoch, time = (ax.lines[0] for ax in fig.axes)
    np.testing.assert_array_equal(step.get_xdata(), [0, 5, 10])
    np.testing.assert_array_equal(epoch.get_xdata(), [1, 2])
    np.testing.assert_array_equal(time.get_xdata(), [0.5, 0.75])
    np.testing.assert_array_equal(time.get_ydata(), [1.5, 0.7])
    assert_svg(tmp_path / "h.svg")


def test_loss_curves_two_panels_epoch_and_time(tmp_path):
    timed = {k: v for k, v in runs().items() if k != "batch"}
    fig = plot.loss_curves(timed, x=("epoch", "time"), path=tmp_path / "two.png")
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "wall time (s)"]
    assert all(len(ax.lines) == 2 for ax in fig.axes)
    assert_png(tmp_path / "two.png")


def test_loss_curves_single_history_tensors_and_linear_scale_when_a_loss_is_zero():
    fig = plot.loss_curves(mg.tensor([2.0, 1.0, 0.0]))
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear"  # log of 0 is undefined
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [2.0, 1.0, 0.0])
    assert plot.loss_curves([2.0, 1.0], log_y=False).axes[0].get_yscale() == "linear"
    # a run may be labelled "loss": it is still one run among several
    ax = plot.loss_curves({"loss": [2.0, 1.0], "val": [3.0, 2.0]}).axes[0]
    assert [line.get_label() for line in ax.lines] == ["loss", "val"]


def test_loss_curves_clear_errors():
    with pytest.raises(ValueError, match="x='time' needs epoch_loss with wall_time"):
        plot.loss_curves({"batch": [1.0, 0.5]}, x="time")
    with pytest.raises(ValueError, match="x must be one of"):
        plot.loss_curves([1.0], x="iteration")
    with pytest.raises(ValueError, match="has no epoch_loss"):
        plot.loss_curves({"r": {"step_loss": [1.0]}}, x="epoch")
    with pytest.raises(ValueError, match="decreases; expected the seconds since the start"):
        plot.loss_curves({"r": {"epoch_loss": [1.0, 0.5], "wall_time": [2.0, 1.0]}}, x="time")
    with pytest.raises(ValueError, match=r"must end in \.png, \.svg or \.pdf"):
        plot.loss_curves([1.0], path="loss.jpg")


def test_missing_matplotlib_gives_the_install_hint(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)  # every import of matplotlib fails
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(plot.MatplotlibNotFound, match=r"pip install microgradlin\[plot\]"):
        plot.loss_curves([1.0, 0.5])


def test_drawing_into_a_given_axes_returns_its_figure():
    fig, ax = plt.subplots()
    try:
        assert plot.loss_curves([1.0, 0.5], ax=ax) is fig
        assert len(ax.lines) == 1
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------- classifiers
def test_predicted_labels_from_scores_probabilities_argmax_and_labels():
    pm = np.array([-1, 1])
    # wᵀφ scores with ±1 labels: the sign (g of the perceptron, eq. 2; 0 counts as +1)
    np.testing.assert_array_equal(plot.predicted_labels([-2.0, 0.0, 3.0], pm), [-1, 1, 1])
    # probabilities with 0/1 labels: threshold 1/2
    np.testing.assert_array_equal(
        plot.predicted_labels(np.array([[0.2], [0.5], [0.9]]), [0, 1]), [0, 1, 1])
    # logits with 0/1 labels (some outside [0, 1]): threshold 0
    np.testing.assert_array_equal(plot.predicted_labels([-0.3, 0.2, 4.0], [0, 1]), [0, 1, 1])
    # an explicit threshold wins
    np.testing.assert_array_equal(
        plot.predicted_labels([0.2, 0.5, 0.9], [0, 1], threshold=0.8), [0, 0, 1])
    # (M, K) scores: the argmax column
    np.testing.assert_array_equal(
        plot.predicted_labels([[1.0, 3.0, 2.0], [5.0, 0.0, 0.0]], [0, 1, 2]), [1, 0])
    # already labels (floats ±1, or booleans)
    np.testing.assert_array_equal(plot.predicted_labels([1.0, -1.0], pm), [1, -1])
    np.testing.assert_array_equal(plot.predicted_labels([True, False], [0, 1]), [1, 0])


def test_decision_boundary_lies_where_the_score_changes_sign(tmp_path):
    """Score x₁ - 0.5: class +1 right of the vertical line x₁ = 0.5."""
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = np.array([-1, 1, -1, 1])
    fig = plot.decision_boundary(lambda P: P[:, 0] - 0.5, X, y, resolution=121,
                                 path=tmp_path / "db.svg", title="halfplane")
    ax = fig.axes[0]
    lines = [c for c in ax.collections if hasattr(c, "get_paths") and c.get_gid() is None
             and type(c).__name__ in ("QuadContourSet", "ContourSet")]
    assert len(lines) == 2  # the filled regions and the boundary line
    boundary = np.concatenate([p.vertices for p in lines[1].get_paths()])
    spacing = 1.2 / 120
    assert np.all(np.abs(boundary[:, 0] - 0.5) <= spacing)
    assert np.ptp(boundary[:, 1]) > 1.0  # it crosses the whole picture vertically
    assert {c.get_gid() for c in ax.collections if c.get_gid()} == {"class -1", "class 1"}
    assert_svg(tmp_path / "db.svg")


def test_decision_boundary_with_models_and_one_hot_targets(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = rng.integers(0, 3, size=30)
    softmax_model = Linear(2, 3, seed=0)  # class scores (M, 3), a Tensor
    fig = plot.decision_boundary(softmax_model, X, np.eye(3)[y], resolution=40,
                                 path=tmp_path / "softmax.png")
    assert len([c for c in fig.axes[0].collections if c.get_gid()]) == 3
    assert_png(tmp_path / "softmax.png")
    # logits (M, 1) as a Tensor: z = x₁ - 0.3, so the boundary is the line x₁ = 0.3
    logistic = Linear(2, 1, seed=1)
    logistic.weight.data[...] = [[1.0, 0.0]]
    logistic.bias.data[...] = -0.3
    for model in (logistic, SimpleNamespace(predict=lambda P: (P[:, 0] >= 0.3) * 1)):
        ax = plot.decision_boundary(model, X, (y > 0).astype(int), resolution=81).axes[0]
        contour = [c for c in ax.collections if type(c).__name__.endswith("ContourSet")][-1]
        vertices = np.concatenate([p.vertices for p in contour.get_paths()])
        spacing = np.ptp(X[:, 0]) * 1.2 / 80
        assert np.all(np.abs(vertices[:, 0] - 0.3) <= spacing)


def test_decision_boundary_clear_errors():
    X = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        plot.decision_boundary(lambda P: P[:, 0], X, np.zeros(4))
    with pytest.raises(ValueError, match="one label per row"):
        plot.decision_boundary(lambda P: P[:, 0], np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match=r"the model returned shape \(1,\) for 400 points"):
        plot.decision_boundary(lambda P: np.zeros(1), np.eye(2), [0, 1], resolution=20)
    with pytest.raises(TypeError, match="expected a callable"):
        plot.decision_boundary(42, np.eye(2), [0, 1])


# ----------------------------------------------------------------------------- perceptron
def test_perceptron_line_normal_and_misclassified_points(tmp_path):
    """w = [-1, 1, 1]: the line x₁ + x₂ = 1, normal (1, 1), +1 where x₁ + x₂ >= 1.

    Points (0,0) → -1 ✓, (2,2) → +1 ✓, (1.5,0) → +1 but y = -1 ✗, (0,-1) → -1 ✓.
    """
    X = np.array([[0.0, 0.0], [2.0, 2.0], [1.5, 0.0], [0.0, -1.0]])
    y = np.array([-1, 1, -1, -1])
    fig = plot.perceptron_line(mg.tensor([-1.0, 1.0, 1.0]), X, y, path=tmp_path / "p.png")
    ax = fig.axes[0]
    (line,) = by_gid(ax, "separating_line")
    x1, x2 = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(-1 + x1 + x2, 0.0, atol=1e-12)
    (arrow,) = by_gid(ax, "normal")
    direction = np.subtract(arrow.xy, arrow.xyann)
    assert direction[0] > 0 and np.isclose(direction[0], direction[1])
    (wrong,) = by_gid(ax, "misclassified")
    np.testing.assert_array_equal(wrong.get_offsets(), [[1.5, 0.0]])
    assert_png(tmp_path / "p.png")
    # a model holding w as .weight (like models.Perceptron) draws the same line
    model = SimpleNamespace(weight=mg.tensor([-1.0, 1.0, 1.0], requires_grad=True))
    (same,) = by_gid(plot.perceptron_line(model, X, y).axes[0], "separating_line")
    np.testing.assert_allclose(same.get_ydata(), x2)


def test_perceptron_line_vertical_and_zero_weights():
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    y = np.array([-1, 1])
    ax = plot.perceptron_line([-1.0, 2.0, 0.0], X, y).axes[0]  # 2x₁ = 1: x₁ = 1/2
    (line,) = by_gid(ax, "separating_line")
    np.testing.assert_allclose(line.get_xdata(), 0.5)
    ax = plot.perceptron_line([0.0, 0.0, 0.0], X, y).axes[0]  # the usual starting point
    assert by_gid(ax, "separating_line") == [] and len(by_gid(ax, "no_line")) == 1
    assert len(by_gid(ax, "misclassified")) == 1  # g(0) = +1 everywhere: (0, 0) is wrong
    with pytest.raises(ValueError, match=r"w must have 3 entries \[w0 \(bias\), w1, w2\]"):
        plot.perceptron_line([1.0, 2.0], X, y)
    with pytest.raises(ValueError, match=r"labels -1 and \+1 \(or 0 and 1\), got \[0, 2\]"):
        plot.perceptron_line([0.0, 1.0, 1.0], X, [0, 2])


def test_perceptron_line_with_0_1_labels():
    """w = [-1, 1, 0]: +1 (here label 1) where x₁ >= 1; (0.5, 0) has y = 1: misclassified."""
    X = np.array([[0.0, 0.0], [2.0, 0.0], [0.5, 0.0]])
    ax = plot.perceptron_line([-1.0, 1.0, 0.0], X, [0, 1, 1]).axes[0]
    (wrong,) = by_gid(ax, "misclassified")
    np.testing.assert_array_equal(wrong.get_offsets(), [[0.5, 0.0]])


# ----------------------------------------------------------------------------- regression
def test_regression_fit_line_and_residuals(tmp_path):
    """predict(x) = 2x + 1; data y = [1, 4, 4] at x = [0, 1, 2]: residuals 0, +1, -1."""
    x = np.array([0.0, 1.0, 2.0])
    y = np.array([1.0, 4.0, 4.0])
    fig = plot.regression_fit(x, y, lambda X: 2 * X + 1, path=tmp_path / "fit.pdf")
    ax = fig.axes[0]
    (fit,) = by_gid(ax, "fit")
    np.testing.assert_allclose(fit.get_ydata(), 2 * fit.get_xdata() + 1)
    assert fit.get_xdata().min() < 0 and fit.get_xdata().max() > 2  # spans the data
    (res,) = by_gid(ax, "residuals")
    segments = [np.asarray(s) for s in res.get_segments()]
    np.testing.assert_allclose(segments, [[[0, 1], [0, 1]], [[1, 4], [1, 3]],
                                          [[2, 4], [2, 5]]])
    assert "MSE = 0.6667" in ax.get_title()  # (0 + 1 + 1) / 3
    assert (tmp_path / "fit.pdf").read_bytes().startswith(b"%PDF")


def test_regression_fit_with_a_model_and_with_several_features(tmp_path):
    model = Linear(1, 1, seed=0)
    x = np.linspace(-1, 1, 10)[:, None]
    plot.regression_fit(x, 3 * x[:, 0], model, path=tmp_path / "lin.svg")
    assert_svg(tmp_path / "lin.svg")
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    ax = plot.regression_fit(X, [1.0, 2.0, 3.0], lambda A: A @ np.array([1.0, 2.0])).axes[0]
    assert ax.get_xlabel() == "true y" and ax.get_ylabel() == "predicted ŷ"
    (points,) = by_gid(ax, "points")
    np.testing.assert_allclose(points.get_offsets(), [[1, 1], [2, 2], [3, 3]])
    with pytest.raises(ValueError, match="one value per point"):
        plot.regression_fit(X, [1.0, 2.0, 3.0], lambda A: A)
