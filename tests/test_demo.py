"""``microgradlin demo``: the lecture tour writes every picture, an index.html that shows
them, and numbers that say what the lecture says.

The expected values come from the mathematics, not from the demo: Novikoff's bound, the
overflow thresholds of exp in float64 (log of the largest double, 709.78; the smallest
positive double, e^-745.13), the exact loss at logits ±1e4.
"""

from __future__ import annotations

import json
import re
import shutil
import sys

import pytest

from microgradlin import viz
from microgradlin.demo import SECTIONS, run_demo

HAS_DOT = shutil.which("dot") is not None


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour") / "mg-demo"
    assert run_demo(out=out, verbose=False) == 0
    return out, json.loads((out / "results.json").read_text())


def test_index_shows_every_picture_with_a_caption_in_lecture_order(tour):
    out, _ = tour
    index = (out / "index.html").read_text()
    ids = re.findall(r'<h2 id="(\w+)">', index)
    assert ids == list(SECTIONS)  # the lecture's order
    pictures = re.findall(r'<img src="([^"]+)" alt="([^"]*)"', index)
    expected = {"engine_graph.svg", "perceptron.png", "adaline.png", "gd_variants.png",
                "logistic.png", "softmax.png", "softmax_graph.svg", "stable_softmax.png",
                "xor.png"} if HAS_DOT else set()
    assert expected <= {p for p, _ in pictures}
    for path, caption in pictures:
        assert (out / path).is_file(), path  # relative links that resolve
        assert len(caption) > 30  # one line of explanation each
        assert not path.startswith(("/", "http"))
    assert "http://" not in index and "https://" not in index  # self-contained


def test_png_figures_are_real_images(tour):
    out, _ = tour
    for name in ("perceptron", "adaline", "gd_variants", "logistic", "softmax",
                 "stable_softmax", "xor"):
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_backward_frames_one_per_op(tour):
    out, results = tour
    frames = sorted((out / "backward").iterdir())
    # J = mean((x @ w + b - y)²): MatMul, Add, Sub, Pow, Mean -> five backward steps
    assert [f.stem for f in frames] == [f"step_00{i}" for i in range(1, 6)]
    assert all(f.suffix == (".svg" if HAS_DOT else ".dot") for f in frames)
    table = (out / "backward.txt").read_text()
    assert "Mean" in table and "summed from broadcast shape (2,)" in table
    # x = [[1, 2], [3, -1]], w = [0.5, -0.25], b = 0.1, y = [1, 0]: residual r = [-0.9, 1.85]
    # ∇_w J = 2/2 Xᵀr = [-0.9 + 5.55, -1.8 - 1.85] = [4.65, -3.65]; ∂J/∂b = Σ r = 0.95
    assert results["engine"]["grad_w"] == pytest.approx([4.65, -3.65])
    assert results["engine"]["grad_b"] == pytest.approx(0.95)


def test_the_numbers_say_what_the_lecture_says(tour):
    _, r = tour
    assert r["perceptron"]["converged"]
    assert r["perceptron"]["mistakes"] <= r["perceptron"]["bound"]  # Novikoff
    assert r["perceptron"]["mistakes_per_epoch"][-1] == 0
    assert not r["xor"]["raw_converged"] and r["xor"]["mapped_converged"]
    closed, gd = r["adaline"]["closed_w"], r["adaline"]["gd_w"]
    assert gd == pytest.approx(closed, abs=0.5)  # GD reaches the normal equations' w
    assert closed[1] == pytest.approx(50, abs=3)  # make_housing's slope
    gaps = r["gd"]["final_gap"]
    batch, sgd, minibatch = (gaps[k] for k in gaps)
    assert sgd < batch and minibatch < batch  # per epoch, more steps get closer
    assert r["logistic"]["test_accuracy"] > 0.93
    assert r["softmax"]["test_accuracy"] > 0.85
    # exp overflows past log(DBL_MAX) = 709.78; e^-gap underflows to 0 past 745.13
    assert 709 < r["stable"]["naive_breaks"] <= 711
    assert 745 < r["stable"]["composed_breaks"] <= 747
    assert r["stable"]["fused_at_1e4"] == 2e4  # -log softmax = 1e4 - (-1e4) exactly


def test_without_dot_the_graphs_are_dot_text_and_index_says_so(tmp_path, monkeypatch):
    def missing():
        raise viz.GraphvizNotFound("the Graphviz 'dot' program was not found on PATH")

    monkeypatch.setattr(viz, "_dot_program", missing)
    out = tmp_path / "demo"
    assert run_demo(out=out, verbose=False, sections=["engine"]) == 0
    assert (out / "engine_graph.dot").read_text().startswith("digraph")
    assert sorted(p.name for p in (out / "backward").iterdir())[0] == "step_001.dot"
    index = (out / "index.html").read_text()
    assert 'class="note"' in index and "DOT text" in index and "<pre>digraph" in index
    assert not list(out.rglob("*.svg"))


def test_without_matplotlib_the_figures_are_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    out = tmp_path / "demo"
    assert run_demo(out=out, verbose=False, sections=["perceptron", "stable"]) == 0
    assert not list(out.glob("*.png"))
    index = (out / "index.html").read_text()
    assert "matplotlib is not installed" in index
    assert "Novikoff" in index or "(R/γ)²" in index  # the results are still reported


def test_demo_prints_a_running_commentary(tmp_path, capsys):
    run_demo(out=tmp_path / "d", sections=["stable"])
    printed = capsys.readouterr().out
    assert "naive breaks" in printed and "index.html" in printed


def test_run_demo_rejects_unknown_sections_and_a_file_as_folder(tmp_path):
    with pytest.raises(ValueError, match="unknown section"):
        run_demo(out=tmp_path / "d", sections=["attention"])
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        run_demo(out=tmp_path / "file", sections=["stable"])
