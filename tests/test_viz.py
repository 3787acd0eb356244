"""microgradlin.viz: DOT text, rendering with the real ``dot``, and the backward tracer.

Expected numbers in the tracer tests were worked out by hand (written in each test's
docstring), never computed by the code under test.
"""

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import microgradlin as mg
from microgradlin import functional as F
from microgradlin import viz

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(
    not HAS_DOT,
    reason="the Graphviz `dot` binary is not installed here (apt install graphviz); "
    "CI (.ci/run) installs it, so these rendering tests run there",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def tiny():
    """w = [1, 2] (a parameter), x = [3, 4] (data), loss = ((w * x).sum() - 1) ** 2 = 100."""
    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    x = mg.tensor([3.0, 4.0])
    loss = ((w * x).sum() - 1) ** 2
    return w, x, loss


def node_lines(dot):
    """node id -> its attribute text, for the node statements of a DOT text."""
    return dict(re.findall(r"^  ([nc]\d+|more) \[(.*)\]$", dot, flags=re.M))


def edges(dot):
    return re.findall(r"^  (\w+) -> (\w+)", dot, flags=re.M)


# ----------------------------------------------------------------------------- to_dot
def test_to_dot_tiny_graph_nodes_labels_edges_and_styles():
    w, x, loss = tiny()
    dot = viz.to_dot(loss)
    assert dot.startswith("digraph microgradlin {") and dot.rstrip().endswith("}")
    nodes = node_lines(dot)
    # breadth-first from the output: loss, Pow, Sub, Sum, Mul, w (the constants are hidden)
    assert list(nodes) == ["n0", "n1", "n2", "n3", "n4", "n5"]
    assert nodes["n0"].startswith(r'label="output\n() float64\ndata: 100"')
    assert 'shape="box"' in nodes["n0"] and 'fillcolor="palegreen"' in nodes["n0"]
    for nid, op, shape in [("n1", "Pow", "()"), ("n2", "Sub", "()"), ("n3", "Sum", "()"),
                           ("n4", "Mul", "(2,)")]:
        assert nodes[nid].startswith(f'label="{op}\\n{shape} float64'), nodes[nid]
        assert 'shape="ellipse"' in nodes[nid]
    # Pow saved its base (w·x summed, minus 1) = 10: the Sub node's value is known
    assert r"value: 10" in nodes["n2"]
    assert nodes["n5"].startswith(
        r'label="w\n(2,) float64\ndata: min 1 mean 1.5 max 2\ngrad: None"')
    assert 'fillcolor="lightblue"' in nodes["n5"] and 'shape="box"' in nodes["n5"]
    assert edges(dot) == [("n1", "n0"), ("n2", "n1"), ("n3", "n2"), ("n4", "n3"), ("n5", "n4")]
    assert 'rankdir="TB"' in dot
    # no whole arrays in labels: summaries only
    labels = re.findall(r'label="([^"]*)"', dot)
    assert len(labels) == 6 and not any("[" in lab or "," in lab.replace("(2,)", "")
                                        for lab in labels)


def test_to_dot_after_backward_shows_the_grad_summary():
    """d/dw ((w·x) - 1)² = 2·10·x = [60, 80]: min 60, mean 70, max 80."""
    w, x, loss = tiny()
    loss.backward()
    assert r"grad: min 60 mean 70 max 80" in node_lines(viz.to_dot(loss))["n5"]


def test_to_dot_options_rankdir_title_no_data_no_grad():
    w, x, loss = tiny()
    dot = viz.to_dot(loss, rankdir="LR", show_data=False, show_grad=False, title="my graph")
    assert 'rankdir="LR"' in dot and 'label="my graph"' in dot
    assert "data:" not in dot and "grad:" not in dot and "value:" not in dot
    with pytest.raises(ValueError, match="rankdir"):
        viz.to_dot(loss, rankdir="sideways")
    with pytest.raises(ValueError, match="max_nodes"):
        viz.to_dot(loss, max_nodes=0)
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.to_dot([1, 2])


def test_to_dot_names_mapping_and_default_param_names():
    w, x, loss = tiny()
    v = mg.tensor([1.0], requires_grad=True)  # unnamed
    out = loss * v
    nodes = node_lines(viz.to_dot(out, names={"weights": w, "loss": loss}))
    labels = [re.match(r'label="([^"]*)"', a).group(1) for a in nodes.values()]
    assert labels[0].startswith("output")
    assert any(lab.startswith(r"loss = Pow\n") for lab in labels)  # an intermediate, named
    assert any(lab.startswith(r"weights\n(2,)") for lab in labels)
    assert any(lab.startswith(r"param0\n(1,)") for lab in labels)
    with pytest.raises(TypeError, match="must be a Tensor"):
        viz.to_dot(loss, names={"w": [1.0, 2.0]})


def test_to_dot_module_names_and_duplicate_names_are_made_unique():
    from microgradlin.models import Linear

    a, b = Linear(2, 2, seed=0), Linear(2, 1, seed=1)  # both call their tensors "weight"
    out = b(a(np.ones((3, 2)))).sum()
    labels = viz.to_dot(out)
    # breadth-first from the output: the second layer's weight (1, 2) is met first
    assert r'label="weight\n(1, 2)' in labels and r'label="weight#2\n(2, 2)' in labels
    named = viz.to_dot(out, names={"first.weight": a.weight})
    assert r'label="first.weight\n(2, 2)' in named


def test_to_dot_shows_constants_only_on_request_and_honestly():
    w, x, loss = tiny()
    assert "c0" not in viz.to_dot(loss)
    dot = viz.to_dot(loss, show_constants=True, names={"x": x})
    nodes = node_lines(dot)
    consts = {k: v for k, v in nodes.items() if k.startswith("c")}
    assert len(consts) == 3  # the 2 of ** 2, the 1 of - 1, and x
    # Mul saved x for its backward: shape, dtype and value are known, and its name
    assert any(v.startswith(r'label="x\n(2,) float64\ndata: min 3 mean 3.5 max 4"')
               for v in consts.values())
    # Pow saved its exponent, a Python number
    assert any(v.startswith(r'label="constant\nPython number\ndata: 2"') for v in consts.values())
    # Sub saves nothing: the 1 is not kept anywhere
    assert any(v.startswith('label="constant (not kept)"') for v in consts.values())
    assert all('style="dashed"' in v for v in consts.values())
    assert len(edges(dot)) == 5 + 3
    # the n ids do not move when constants are shown
    assert [k for k in nodes if k.startswith("n")] == ["n0", "n1", "n2", "n3", "n4", "n5"]


def test_to_dot_shared_nodes_are_drawn_once_with_one_edge_per_use():
    """u = w * w uses w twice; s = u + u uses u twice: 2 edges each, one node each."""
    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    u = w * w
    out = (u + u).sum()
    dot = viz.to_dot(out)
    nodes = node_lines(dot)
    assert len(nodes) == 5  # output, Sum, Add, Mul, w
    assert edges(dot).count(("n3", "n2")) == 2  # Mul -> Add twice
    assert edges(dot).count(("n4", "n3")) == 2  # w -> Mul twice


def test_to_dot_of_a_leaf_and_of_a_tensor_without_graph():
    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    dot = viz.to_dot(w)
    assert list(node_lines(dot)) == ["n0"] and edges(dot) == []
    assert r'label="w\n(2,) float64' in dot
    c = mg.tensor(3.0) * 2
    assert r'label="output\n() float64\ndata: 6"' in viz.to_dot(c)


def test_to_dot_escapes_quotes_backslashes_and_newlines():
    w = mg.tensor([1.0], requires_grad=True, name='a"b\\c\nd')
    dot = viz.to_dot((w * 2).sum())
    assert r'label="a\"b\\c\nd\n(1,) float64' in dot


def test_to_dot_node_limit_on_a_100000_op_chain_is_iterative():
    """1 leaf + 100,000 Mul nodes + the output = 100,002 nodes; 50 drawn, 99,952 left."""
    w = mg.tensor([1.0], requires_grad=True, name="w")
    x = w
    for _ in range(100_000):
        x = x * 1.0
    limit = sys.getrecursionlimit()
    dot = viz.to_dot(x, max_nodes=50)
    assert sys.getrecursionlimit() == limit
    nodes = node_lines(dot)
    assert len(nodes) == 51 and "more" in nodes
    assert nodes["more"].startswith('label="… 99952 more nodes"')
    assert ("more", "n49") in edges(dot)


def test_to_dot_node_limit_of_one_keeps_only_the_output():
    w, x, loss = tiny()
    dot = viz.to_dot(loss, max_nodes=1)
    assert list(node_lines(dot)) == ["n0", "more"]
    assert 'label="… 5 more nodes"' in dot and edges(dot) == [("more", "n0")]


def test_summaries_are_value_or_min_mean_max():
    assert viz.summarize(None) == "None"
    assert viz.summarize(np.array(2.5)) == "2.5"
    assert viz.summarize(np.array([[7.0]])) == "7"
    assert viz.summarize(np.array([1.0, 2.0, 6.0])) == "min 1 mean 3 max 6"
    assert viz.summarize(np.array([True, False])) == "min False mean 0.5 max True"
    assert viz.summarize(np.zeros((0,))) == "empty"
    assert viz.summarize(mg.tensor([1.0, 3.0])) == "min 1 mean 2 max 3"
    assert viz.summarize(np.arange(10**6, dtype=np.float64)) == "min 0 mean 5e+05 max 1e+06"


# ----------------------------------------------------------------------------- draw
def test_draw_returns_a_digraph_with_the_same_nodes_and_edges():
    import graphviz  # the viz extra, installed with .[dev]

    w, x, loss = tiny()
    g = viz.draw(loss, rankdir="LR", title="t")
    assert isinstance(g, graphviz.Digraph)
    src = g.source
    for nid in ["n0", "n1", "n2", "n3", "n4", "n5"]:
        assert re.search(rf"^\s+{nid} \[", src, flags=re.M)
    assert len(re.findall(r"->", src)) == 5
    assert r'"w\n(2,) float64\ndata: min 1 mean 1.5 max 2\ngrad: None"' in src
    assert "rankdir=LR" in src and "fillcolor=lightblue" in src


def test_draw_escapes_like_to_dot():
    w = mg.tensor([1.0], requires_grad=True, name='<a"b\\c>')
    src = viz.draw((w * 2).sum()).source
    assert r'"<a\"b\\c>\n(1,) float64' in src


@needs_dot
def test_draw_renders_valid_svg_and_png_with_the_real_dot(tmp_path):
    w, x, loss = tiny()
    loss.backward()
    viz.draw(loss, tmp_path / "graph.svg")
    root = ET.parse(tmp_path / "graph.svg").getroot()
    assert root.tag.endswith("svg")
    text = (tmp_path / "graph.svg").read_text(encoding="utf-8")
    assert "Pow" in text and "min 60 mean 70 max 80" in text
    viz.draw(loss, tmp_path / "graph", format="png")  # the extension is appended
    data = (tmp_path / "graph.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    viz.draw(loss, tmp_path / "graph.pdf")
    assert (tmp_path / "graph.pdf").read_bytes().startswith(b"%PDF")


@needs_dot
def test_to_dot_text_with_tricky_names_is_accepted_by_dot(tmp_path):
    w = mg.tensor([1.0], requires_grad=True, name='a"b\\c{}|<>')
    svg = viz.render_dot(viz.to_dot((w * 2).sum(), show_constants=True), "svg")
    assert ET.fromstring(svg).tag.endswith("svg")
    assert "a&quot;b\\c{}|&lt;&gt;" in svg.decode("utf-8")


def test_draw_path_and_format_must_agree(tmp_path):
    w, x, loss = tiny()
    with pytest.raises(ValueError, match="ends in .svg but format='png'"):
        viz.draw(loss, tmp_path / "g.svg", format="png")
    with pytest.raises(ValueError, match="format must be one of"):
        viz.draw(loss, format="gif")


def test_missing_graphviz_package_gives_one_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    w, x, loss = tiny()
    with pytest.raises(viz.GraphvizNotFound, match=r"pip install microgradlin\[viz\]") as info:
        viz.draw(loss)
    assert isinstance(info.value, RuntimeError)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "digraph" in viz.to_dot(loss)  # the text needs no package


def test_missing_dot_binary_gives_one_install_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    w, x, loss = tiny()
    g = viz.draw(loss)  # building the graph needs no binary
    with pytest.raises(viz.GraphvizNotFound) as info:
        viz.draw(loss, tmp_path / "g.svg")
    message = str(info.value)
    assert "apt install graphviz" in message and "brew install graphviz" in message
    assert info.value.__cause__ is None
    assert not (tmp_path / "g.svg").exists()
    # in Jupyter the graph shows the same hint instead of a traceback
    bundle = g._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and "apt install graphviz" in bundle["text/plain"]
    with pytest.raises(viz.GraphvizNotFound, match="brew install graphviz"):
        viz.trace_backward(loss).render_frames(tmp_path / "frames")
    assert not (tmp_path / "frames").exists()  # nothing half-written


def test_importing_the_package_imports_neither_graphviz_nor_matplotlib():
    code = (
        "import sys, microgradlin, microgradlin.viz, microgradlin.plot\n"
        "bad = [m for m in ('graphviz', 'matplotlib') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


# ----------------------------------------------------------------------------- tracer
def test_trace_backward_hand_worked_tiny_example():
    """loss = (s - 1)², s = Σ w·x, w = [1, 2], x = [3, 4]: s = 11, s - 1 = 10, loss = 100.

    Engine order (newest node first, from the output):
      1. Pow:  incoming 1;  d(u²)/du = 2u = 20        -> Sub gets 20
      2. Sub:  incoming 20; d(s - 1)/ds = 1            -> Sum gets 20
      3. Sum:  incoming 20; copied to each element     -> Mul gets [20, 20]
      4. Mul:  incoming [20, 20]; d(w·x)/dw = x        -> w gets [20·3, 20·4] = [60, 80]
    """
    w, x, loss = tiny()
    trace = viz.trace_backward(loss)
    assert [e.op for e in trace.events] == ["Pow", "Sub", "Sum", "Mul"]
    assert [e.step for e in trace.events] == [1, 2, 3, 4]
    assert [e.node_id for e in trace.events] == ["n1", "n2", "n3", "n4"]
    incoming = [1.0, 20.0, 20.0, [20.0, 20.0]]
    sent = [20.0, 20.0, [20.0, 20.0], [60.0, 80.0]]
    for e, g_in, g_out in zip(trace.events, incoming, sent):
        np.testing.assert_allclose(e.grad_output, g_in)
        np.testing.assert_allclose(e.inputs[0].grad, g_out)
    # the constants (2, 1, x) need no gradient
    assert [e.inputs[-1].target for e in trace.events] == ["constant", "constant", "Mul n4",
                                                           "constant"]
    assert trace.events[0].inputs[1].grad is None
    assert trace.events[3].inputs[0].target == "w n5"
    assert "p·x^(p-1)" in trace.events[0].rule and "p = 2" in trace.events[0].rule
    assert trace.events[3].rule == "∂/∂x = y, ∂/∂y = x"
    np.testing.assert_allclose(trace.leaf_grads["w"], [60.0, 80.0])
    np.testing.assert_allclose(trace.grad(w), [60.0, 80.0])
    # the tracer touched no .grad and did not free the graph: backward still works
    assert w.grad is None
    loss.backward()
    np.testing.assert_allclose(w.grad.data, trace.leaf_grads["w"])


def test_trace_text_table_lists_every_step():
    w, x, loss = tiny()
    text = str(viz.trace_backward(loss))
    lines = text.splitlines()
    assert lines[0] == "Backward pass of output (seed 1): 4 steps"
    steps = [line for line in lines if re.match(r"^\s+\d+\s", line)]
    assert [s.split()[:3] for s in steps] == [["1", "Pow", "(n1)"], ["2", "Sub", "(n2)"],
                                              ["3", "Sum", "(n3)"], ["4", "Mul", "(n4)"]]
    assert "→ input 0: w n5" in text and "[60, 80]" in text
    assert "— (needs no grad)" in text
    assert lines[-1] == "  w: [60, 80]"


def test_trace_sums_gradients_from_several_consumers_before_running_a_node():
    """u = w·w (elementwise), loss = Σ (u + u), w = [1, 2]; d loss/dw = 4w = [4, 8].

      1. Sum: incoming 1                 -> Add gets [1, 1]
      2. Add: incoming [1, 1]            -> both inputs (u, u) get [1, 1]
      3. Mul: incoming [1, 1] + [1, 1] = [2, 2] (run once, after both arrived)
              -> input 0 gets g·w = [2, 4], input 1 gets g·w = [2, 4]; w: [4, 8]
    """
    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    u = w * w
    loss = (u + u).sum()
    trace = viz.trace_backward(loss)
    assert [e.op for e in trace.events] == ["Sum", "Add", "Mul"]
    np.testing.assert_allclose(trace.events[2].grad_output, [2.0, 2.0])
    np.testing.assert_allclose(trace.events[2].inputs[0].grad, [2.0, 4.0])
    np.testing.assert_allclose(trace.events[2].inputs[1].grad, [2.0, 4.0])
    np.testing.assert_allclose(trace.leaf_grads["w"], [4.0, 8.0])
    loss.backward()
    np.testing.assert_allclose(w.grad.data, trace.leaf_grads["w"])


def test_trace_records_un_broadcasting():
    """w = [2] (shape (1,)) broadcast against x = [3, 4]; loss = Σ w·x = 14.

    Mul sends g·x = [3, 4] (shape (2,)); the engine sums it back to w's shape: [7].
    """
    w = mg.tensor([2.0], requires_grad=True, name="w")
    loss = (w * mg.tensor([3.0, 4.0])).sum()
    trace = viz.trace_backward(loss)
    mul = trace.events[1]
    assert mul.op == "Mul" and mul.inputs[0].broadcast_from == (2,)
    np.testing.assert_allclose(mul.inputs[0].grad, [7.0])
    assert "summed from broadcast shape (2,)" in str(trace)
    loss.backward()
    np.testing.assert_allclose(w.grad.data, trace.leaf_grads["w"])


def test_trace_logistic_regression_matches_the_binary_classification_slide():
    """Slide "Binary classification": ∇_w L = -(y - ŷ) x for the cross-entropy of σ(wᵀx).

    x = [1, 2] (one row), w = [0, 0]ᵀ, y = 1: z = 0, ŷ = σ(0) = 1/2.
      1. BCEWithLogits: incoming 1; ∂L/∂z = σ(z) - y = -1/2   -> MatMul gets [[-0.5]]
      2. MatMul: ∂/∂w = xᵀ·G = [[1], [2]]·(-1/2) = [[-0.5], [-1]] = -(y - ŷ) x
    """
    X = mg.tensor([[1.0, 2.0]])
    w = mg.tensor([[0.0], [0.0]], requires_grad=True, name="w")
    y = mg.tensor([[1.0]])
    loss = F.binary_cross_entropy_with_logits(X @ w, y)
    trace = viz.trace_backward(loss)
    assert [e.op for e in trace.events] == ["BCEWithLogits", "MatMul"]
    bce, matmul = trace.events
    assert "σ(z) - y" in bce.rule and "n = 1" in bce.rule
    np.testing.assert_allclose(bce.inputs[0].grad, [[-0.5]])
    assert bce.inputs[1].grad is None  # the target is a constant
    assert matmul.rule == "∂/∂A = G·Bᵀ, ∂/∂B = Aᵀ·G"
    np.testing.assert_allclose(matmul.inputs[1].grad, [[-0.5], [-1.0]])
    loss.backward()
    np.testing.assert_allclose(w.grad.data, trace.leaf_grads["w"])


def test_trace_sigmoid_l2_matches_the_should_we_use_l2_slide():
    """Slide "Should we use ℓ2 as a loss?": ∇_w ½(ŷ - y)² = (ŷ - y) σ(1 - σ) x, ŷ = σ(wᵀx).

    x = [1, 2], w = [0, 0], y = 1: ŷ = 1/2, so ∇_w = (-1/2)(1/4)[1, 2] = [-0.125, -0.25].
      1. Mul (½ ·):   incoming 1          -> Pow gets 0.5
      2. Pow (²):     2·(ŷ - y)·0.5 = -0.5 -> Sub gets -0.5
      3. Sub (- y):                        -> Sigmoid gets -0.5
      4. Sigmoid:     -0.5 · ½ · ½ = -0.125 -> MatMul gets -0.125
      5. MatMul (xᵀw, inner product): g·x  -> w gets [-0.125, -0.25]
    """
    x = mg.tensor([1.0, 2.0])
    w = mg.tensor([0.0, 0.0], requires_grad=True, name="w")
    loss = 0.5 * ((x @ w).sigmoid() - 1.0) ** 2
    trace = viz.trace_backward(loss)
    assert [e.op for e in trace.events] == ["Mul", "Pow", "Sub", "Sigmoid", "MatMul"]
    sent = [0.5, -0.5, -0.5, -0.125]
    for e, g in zip(trace.events[:4], sent):
        grads = [i.grad for i in e.inputs if i.grad is not None]
        assert len(grads) == 1
        np.testing.assert_allclose(grads[0], g)
    assert trace.events[3].rule == "∂/∂x = s·(1-s), s = σ(x)"
    np.testing.assert_allclose(trace.leaf_grads["w"], [-0.125, -0.25])
    loss.backward()
    np.testing.assert_allclose(w.grad.data, trace.leaf_grads["w"])


def test_trace_of_a_model_matches_backward_for_every_parameter():
    from microgradlin.models import Linear

    rng = np.random.default_rng(0)
    model = Linear(3, 2, seed=0)
    X = rng.normal(size=(5, 3))
    loss = (model(X).tanh() ** 2).mean()
    trace = viz.trace_backward(loss, names=model)
    assert set(trace.leaf_grads) == {"weight", "bias"}
    loss.backward()
    np.testing.assert_allclose(trace.leaf_grads["weight"], model.weight.grad.data)
    np.testing.assert_allclose(trace.leaf_grads["bias"], model.bias.grad.data)


def test_trace_with_a_gradient_for_a_non_scalar_output():
    """out = 3·w, gradient v = [1, 10]: d(v·out)/dw = 3v = [3, 30]."""
    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    out = w * 3.0
    with pytest.raises(RuntimeError, match="pass gradient="):
        viz.trace_backward(out)
    trace = viz.trace_backward(out, gradient=[1.0, 10.0])
    np.testing.assert_allclose(trace.leaf_grads["w"], [3.0, 30.0])


def test_trace_refuses_a_freed_graph_and_works_on_a_retained_one():
    w, x, loss = tiny()
    loss.backward()
    with pytest.raises(RuntimeError, match="before loss.backward.*retain_graph=True"):
        viz.trace_backward(loss)
    w, x, loss = tiny()
    loss.backward(retain_graph=True)
    trace = viz.trace_backward(loss)
    np.testing.assert_allclose(trace.leaf_grads["w"], [60.0, 80.0])
    np.testing.assert_allclose(w.grad.data, [60.0, 80.0])  # untouched by the trace


def test_trace_refuses_tensors_without_a_graph():
    with pytest.raises(RuntimeError, match="no backward pass to trace"):
        viz.trace_backward(mg.tensor(1.0, requires_grad=True))
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.trace_backward(1.0)


def test_local_rule_falls_back_to_the_backward_comment_then_the_docstring():
    from microgradlin.autograd import Function

    class Cube(Function):
        """x³, for this test."""

        save_inputs = (0,)

        def forward(self, x):
            return x**3

        # d/dx x³ = 3x²
        def backward(self, g, x, out):
            return 3 * g * x * x

    class Twice(Function):
        """2x, undocumented gradient."""

        def forward(self, x):
            return 2 * x

        def backward(self, g, x, out):
            return 2 * g

    w = mg.tensor([2.0], requires_grad=True, name="w")
    trace = viz.trace_backward(Twice.apply(Cube.apply(w)).sum())
    assert [e.op for e in trace.events] == ["Sum", "Twice", "Cube"]
    assert trace.events[1].rule == "2x, undocumented gradient."
    assert trace.events[2].rule == "d/dx x³ = 3x²"
    np.testing.assert_allclose(trace.leaf_grads["w"], [24.0])  # 2 · 3 · 2²


# ----------------------------------------------------------------------------- frames
def test_frames_highlight_the_current_node_and_label_edges_with_gradients():
    w, x, loss = tiny()
    frames = viz.trace_backward(loss).to_dot_frames()
    assert len(frames) == 4
    for k, frame in enumerate(frames, start=1):
        nodes = node_lines(frame)
        red = [nid for nid, attrs in nodes.items() if 'color="red"' in attrs]
        assert red == [f"n{k}"], (k, red)
        assert f"step {k}/4" in frame
    last = frames[-1]
    assert re.search(r'n5 -> n4 \[label="min 60 mean 70 max 80", color="red"', last)
    assert re.search(r'n2 -> n1 \[label="20", color="blue"', last)
    assert re.search(r'n1 -> n0 \[label="seed 1"', last)
    assert "grad so far: min 60 mean 70 max 80" in node_lines(last)["n5"]
    assert "grad so far: —" in node_lines(frames[0])["n5"]  # nothing reached w at step 1


@needs_dot
def test_render_frames_writes_one_valid_svg_per_step(tmp_path):
    w, x, loss = tiny()
    paths = viz.trace_backward(loss).render_frames(tmp_path / "frames")
    assert [os.path.basename(p) for p in paths] == [f"step_00{i}.svg" for i in range(1, 5)]
    for p in paths:
        assert ET.parse(p).getroot().tag.endswith("svg")
    png = viz.trace_backward(loss).render_frames(tmp_path / "png", format="png")
    assert all(open(p, "rb").read(8) == PNG_SIGNATURE for p in png)


def test_show_constants_one_box_per_saved_array_and_per_number_use():
    """x (one array) feeds two Muls: one box, two edges; the 2 of each ** 2: two boxes."""
    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    x = mg.tensor([3.0, 4.0])
    loss = (w * x).sum() ** 2 + ((w + 1) * x).sum() ** 2
    dot = viz.to_dot(loss, show_constants=True, names={"x": x})
    consts = {k: v for k, v in node_lines(dot).items() if k.startswith("c")}
    x_boxes = [k for k, v in consts.items() if v.startswith(r'label="x\n')]
    two_boxes = [k for k, v in consts.items() if r"Python number\ndata: 2" in v]
    assert len(x_boxes) == 1 and len(two_boxes) == 2
    assert sum(src == x_boxes[0] for src, _ in edges(dot)) == 2


def test_every_op_box_shows_its_output_shape_and_dtype_even_after_backward():
    """Elementwise nodes keep no shape of their own (their inputs look like their output):
    the picture hands the shape down from the consumer, before and after backward."""
    w = mg.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True, name="w")
    b = mg.tensor(np.ones(3, dtype=np.float32), requires_grad=True, name="b")
    h = ((w * 2.0 + b).tanh() * 0.5).exp()  # broadcast add, then elementwise only
    loss = h.sum(axis=0).mean()
    for when in ("before", "after"):
        ops = {v.split("\\n")[0].split('"')[1]: v for v in node_lines(viz.to_dot(loss)).values()
               if 'label="' in v and "\\n(" in v and not v.startswith('label="w')
               and not v.startswith('label="b') and not v.startswith('label="output')}
        for name in ("Mul", "Add", "Tanh", "Exp"):
            assert any(k == name and "(2, 3) float32" in v for k, v in ops.items()), (when, name)
        assert any(k == "Sum" and "(3,) float32" in v for k, v in ops.items()), when
        if when == "before":
            loss.backward()


def test_draw_and_plots_name_a_missing_output_directory(tmp_path):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    missing = tmp_path / "no-such-dir"
    with pytest.raises(FileNotFoundError, match=r"draw: cannot write .*no-such-dir.* does not "
                                                r"exist"):
        viz.draw((x * 2).sum(), missing / "graph.svg")
    pytest.importorskip("matplotlib")
    from microgradlin import plot

    with pytest.raises(FileNotFoundError, match=r"loss_curves: cannot write .*no-such-dir"):
        plot.loss_curves({"run": [1.0, 0.5]}, path=missing / "loss.png")
