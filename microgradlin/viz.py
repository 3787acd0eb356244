"""Pictures of the computation graph, and a step-by-step replay of the backward pass.

>>> import microgradlin as mg
>>> from microgradlin import viz
>>> w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
>>> x = mg.tensor([3.0, 4.0])
>>> loss = ((w * x).sum() - 1) ** 2
>>> print(viz.to_dot(loss).splitlines()[0])
digraph microgradlin {
>>> trace = viz.trace_backward(loss)          # the graph is left as it was
>>> [event.op for event in trace.events]
['Pow', 'Sub', 'Sum', 'Mul']
>>> trace.leaf_grads["w"]                     # what loss.backward() will put in w.grad
array([60., 80.])

What the picture shows
----------------------
The engine records, for each op, its *node* (a :class:`~microgradlin.autograd.Function`)
and for each input the node that produced it, the leaf tensor itself (a parameter:
a leaf with ``requires_grad=True``), or ``None`` for an input that needs no gradient.
So the picture has:

* **parameters** (boxes, light blue): name, shape, dtype, a summary of data and grad;
* **op nodes** (ellipses, grey): the op's name (``MatMul``, ``Add``, ``Sigmoid``, ...),
  its output's shape and dtype (read from the consumer's record of its inputs), and its
  output value when the graph kept it (ops that save their output, or whose consumer saved
  its inputs) -- the engine does not keep intermediate tensors otherwise;
* **the output** (a box, light green): the tensor you passed in;
* edges from each input to the op that consumed it.

Constants (inputs that need no gradient, such as the data ``x`` above) are not part of the
graph: the engine keeps no reference to them. By default they are not drawn. With
``show_constants=True`` each one gets a dashed box showing its shape and value when the
consuming op saved that value for its backward (``Mul`` does, ``Add`` does not); otherwise
the box only says "constant (not kept)". Summaries are a scalar's value or
min/mean/max -- never a whole array.

:func:`to_dot` needs nothing but Python; :func:`draw` needs the ``graphviz`` package
(``pip install microgradlin[viz]``) and, to render, the Graphviz ``dot`` program
(``apt install graphviz`` / ``brew install graphviz``).
"""

from __future__ import annotations

import heapq
import inspect
import os
import shutil
import subprocess
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from . import backend
from ._files import check_output_path
from .autograd import Function, _fit, no_grad
from .tensor import Tensor

__all__ = [
    "to_dot", "draw", "trace_backward", "BackwardTrace", "BackwardEvent", "InputGrad",
    "GraphvizNotFound", "summarize", "local_rule", "render_dot",
]

FORMATS = ("svg", "png", "pdf")
_RANKDIRS = ("TB", "LR", "BT", "RL")

# Styles: parameters, the output, ops, constants, the "… more" node; frames add the rest.
_STYLE = {
    "param": {"shape": "box", "style": "filled,rounded", "fillcolor": "lightblue"},
    "output": {"shape": "box", "style": "filled,bold", "fillcolor": "palegreen"},
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "whitesmoke"},
    "const": {"shape": "box", "style": "dashed", "color": "gray40"},
    "more": {"shape": "note", "style": "dashed", "color": "gray40"},
}
_CURRENT = {"color": "red", "penwidth": "3"}  # the node whose backward runs in a frame
_DONE = {"color": "gray50"}  # nodes whose backward already ran
_GRAD_EDGE = {"color": "blue", "fontcolor": "blue"}  # an edge that carried a gradient
_CURRENT_EDGE = {"color": "red", "fontcolor": "red", "penwidth": "2"}

_NO_PACKAGE = (
    "the 'graphviz' Python package is not installed: pip install microgradlin[viz] "
    "(or pip install graphviz); to_dot() works without it"
)
_NO_DOT = (
    "the Graphviz 'dot' program was not found on PATH: install it with "
    "`apt install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
    "`conda install graphviz`; to_dot() works without it"
)


class GraphvizNotFound(RuntimeError):
    """The ``graphviz`` Python package or the ``dot`` program is missing (says how to install)."""


# ----------------------------------------------------------------------------- summaries
def _fmt(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{float(v):.4g}"


def summarize(value) -> str:
    """A short text for an array: the value of a one-element array, else min/mean/max.

    >>> summarize(np.array(2.5)), summarize(np.array([1.0, 2.0, 6.0]))
    ('2.5', 'min 1 mean 3 max 6')
    """
    if value is None:
        return "None"
    if isinstance(value, Tensor):
        value = value.data
    if not hasattr(value, "shape"):
        return _fmt(value)
    if value.size == 0:
        return "empty"
    if value.size == 1:
        return _fmt(value.reshape(()).item())
    mean = value.mean() if value.dtype.kind != "b" else value.astype(np.float64).mean()
    return f"min {_fmt(value.min().item())} mean {_fmt(mean.item())} max {_fmt(value.max().item())}"


def _short(value, max_items=6) -> str:
    """Like :func:`summarize`, but small arrays are written out (for the text table)."""
    if value is None or not hasattr(value, "shape") or value.size in (0, 1):
        return summarize(value)
    if value.size > max_items:
        return f"{summarize(value)} {tuple(value.shape)}"
    items = "[" + ", ".join(_fmt(v) for v in backend.to_numpy(value).ravel().tolist()) + "]"
    return items if value.ndim == 1 else f"{items} {tuple(value.shape)}"


def _shape_dtype(shape, dtype) -> str:
    return f"{tuple(shape)} {np.dtype(dtype)}"


# ----------------------------------------------------------------------------- names
class _Names:
    """Who is called what: names given by the user (name -> tensor), then ``t.name``."""

    def __init__(self, names, where):
        self.leaf, self.node, self.data = {}, {}, {}
        if names is None:
            return
        if hasattr(names, "named_parameters"):  # a Module
            names = names.named_parameters()
        items = names.items() if isinstance(names, dict) else names
        for item in items:
            try:
                name, t = item
            except (TypeError, ValueError):
                raise TypeError(
                    f"{where}: names must map name -> Tensor (a dict, pairs, or a Module), "
                    f"got an item {item!r}"
                ) from None
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"{where}: names[{name!r}] must be a Tensor, got {type(t).__name__}"
                )
            if t.grad_fn is not None:
                self.node[id(t.grad_fn)] = str(name)
            else:
                self.leaf[id(t)] = str(name)
            self.data[id(t.data)] = str(name)  # constants are recognised by their array


# ----------------------------------------------------------------------------- graph
@dataclass
class _DotNode:
    id: str
    kind: str  # "output", "param", "op", "const", "more"
    lines: list
    attrs: dict
    grad_line: int | None = None  # which line holds the grad summary (params, output)


@dataclass
class _DotEdge:
    src: str
    dst: str
    attrs: dict = field(default_factory=dict)


class _Graph:
    """Nodes and edges in traversal order, with ids ``n0`` (the output), ``n1``, ...

    Ops and parameters get ``n`` ids in breadth-first order from the output, so the ids do
    not depend on options; constants get ``c`` ids, the truncation node the id ``more``.
    """

    def __init__(self):
        self.nodes: list[_DotNode] = []
        self.edges: list[_DotEdge] = []
        self.id_of: dict = {}  # id(Function, leaf Tensor or output), or a constant's key -> id
        self.name_of: dict[int, str] = {}  # id(leaf) -> its unique name
        self.leaves: list[Tensor] = []  # parameters in traversal order
        self.edge_of: dict[tuple, int] = {}  # (id(consumer node), input index) -> edge
        self.hidden = 0  # nodes left out by max_nodes
        self.keep = []  # the graph objects (keeps the ids above valid)


def _leaf_name(leaf, names, used):
    """The leaf's name: from ``names``, else ``leaf.name``, else param0, param1, ..."""
    name = names.leaf.get(id(leaf)) or leaf.name
    if not name:
        name = f"param{used.setdefault('#params', 0)}"
        used["#params"] += 1
    base, k = name, 2
    while name in used:  # two leaves called "weight": weight, weight#2
        name = f"{base}#{k}"
        k += 1
    used[name] = True
    return name


def _tensor_lines(name, t, show_data, show_grad):
    lines = [name, _shape_dtype(t.shape, t.dtype)]
    if show_data:
        lines.append(f"data: {summarize(t.data)}")
    grad_line = None
    if show_grad and (t.grad is not None or (t.is_leaf and t.requires_grad) or t.retains_grad):
        grad_line = len(lines)
        lines.append(f"grad: {summarize(t.grad)}")
    return lines, grad_line


def _op_lines(node, name, out_meta, value, show_data, show_grad):
    op = type(node).__name__
    lines = [f"{name} = {op}" if name else op]
    if out_meta is not None:
        lines.append(_shape_dtype(*out_meta))
    if show_data and value is not None:
        lines.append(f"value: {summarize(value)}")
    retained = node.retained() if getattr(node, "retained", None) is not None else None
    if show_grad and retained is not None and retained.grad is not None:
        lines.append(f"grad: {summarize(retained.grad)}")
    return lines


def _saved(node, i):
    """The value input ``i`` (or the output, i = -1) had, if the node kept it."""
    saved = node.saved
    return None if saved is None else saved[i]


def _build_graph(tensor, names=None, show_data=True, show_grad=True, show_constants=False,
                 max_nodes=200, where="to_dot") -> _Graph:
    """Walk the graph breadth-first from ``tensor`` (iteratively) and lay out its nodes."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{where}: expected a Tensor, got {type(tensor).__name__}")
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(
            max_nodes, (int, np.integer)) or max_nodes < 1):
        raise ValueError(f"{where}: max_nodes must be a positive int or None, got {max_nodes!r}")
    names = names if isinstance(names, _Names) else _Names(names, where)
    limit = float("inf") if max_nodes is None else int(max_nodes)
    g = _Graph()
    used_names: dict = {}
    more_edges: set = set()  # (src, dst) pairs already linked to the "more" node
    counter = {"n": 0, "c": 0}

    def new_id(prefix):
        i = counter[prefix]
        counter[prefix] = i + 1
        return f"{prefix}{i}"

    def fits():
        return len(g.nodes) < limit

    def link(src, dst, consumer=None, index=None):
        if src == "more" or dst == "more":
            if (src, dst) in more_edges:
                return
            more_edges.add((src, dst))
        if consumer is not None:
            g.edge_of[(id(consumer), index)] = len(g.edges)
        g.edges.append(_DotEdge(src, dst))

    # the output
    out_name = names.node.get(id(tensor.grad_fn)) if tensor.grad_fn is not None else None
    out_name = out_name or names.leaf.get(id(tensor)) or tensor.name or "output"
    lines, grad_line = _tensor_lines(out_name, tensor, show_data, show_grad)
    g.nodes.append(_DotNode(new_id("n"), "output", lines, dict(_STYLE["output"]), grad_line))
    g.id_of[id(tensor)] = "n0"
    g.keep.append(tensor)
    if tensor.grad_fn is None:
        if tensor.requires_grad:
            g.name_of[id(tensor)] = out_name
            g.leaves.append(tensor)
        return g

    root = tensor.grad_fn
    # (shape, dtype) of each node's output: elementwise nodes keep no meta of their own
    # (their inputs look like their output), so it is handed down from the consumer
    out_meta = {id(root): (tuple(tensor.shape), tensor.dtype)}
    queue = deque([root])
    g.keep.append(root)
    if not fits():
        g.hidden += 1
        link("more", "n0")
    else:
        nid = g.id_of[id(root)] = new_id("n")
        lines = _op_lines(root, None, out_meta[id(root)], None, show_data, show_grad)
        g.nodes.append(_DotNode(nid, "op", lines, dict(_STYLE["op"])))
        link(nid, "n0")
    seen = {id(root)}
    seen_consts: set = set()
    while queue:
        node = queue.popleft()
        node_id = g.id_of.get(id(node))
        for i, p in enumerate(node.parents):
            if p is not None and p.__class__ is not Tensor and id(p) not in out_meta:
                out_meta[id(p)] = (node.meta[i] if node.meta is not None
                                   else out_meta[id(node)])
            if p is None:  # a constant: not part of the graph, drawn only on request
                if not show_constants:
                    continue
                value = _saved(node, i)
                # one box per saved array (an array used twice is drawn once); numbers and
                # values not kept get a box per use
                key = ("c", id(value)) if hasattr(value, "shape") else ("c", id(node), i)
                if key in seen_consts:
                    if node_id is not None:
                        link(g.id_of.get(key, "more"), node_id, node, i)
                    continue
                seen_consts.add(key)
                if node_id is None or not fits():
                    g.hidden += 1
                    if node_id is not None:
                        link("more", node_id)
                    continue
                cid = new_id("c")
                g.id_of[key] = cid
                name = names.data.get(id(value)) if value is not None else None
                if value is None:
                    lines = ["constant (not kept)"]
                elif not hasattr(value, "shape"):  # a Python number, e.g. the 2 of x ** 2
                    lines = [name or "constant", "Python number"]
                    if show_data:
                        lines.append(f"data: {summarize(value)}")
                else:
                    lines = [name or "constant", _shape_dtype(value.shape, value.dtype)]
                    if show_data:
                        lines.append(f"data: {summarize(value)}")
                g.nodes.append(_DotNode(cid, "const", lines, dict(_STYLE["const"])))
                link(cid, node_id, node, i)
                continue
            key = id(p)
            if key in seen:
                src = g.id_of.get(key, "more")
                if node_id is not None:
                    link(src, node_id, node, i)
                elif src != "more":
                    link(src, "more")
                continue
            seen.add(key)
            g.keep.append(p)
            is_leaf = p.__class__ is Tensor
            if is_leaf:
                leaf_name = _leaf_name(p, names, used_names)
                g.name_of[key] = leaf_name
                g.leaves.append(p)
            else:
                queue.append(p)
            if node_id is None or not fits():
                g.hidden += 1
                if node_id is not None:
                    link("more", node_id)
                continue
            pid = new_id("n")
            g.id_of[key] = pid
            if is_leaf:
                lines, grad_line = _tensor_lines(leaf_name, p, show_data, show_grad)
                g.nodes.append(_DotNode(pid, "param", lines, dict(_STYLE["param"]), grad_line))
            else:
                value = _saved(p, -1) if p.save_output else None
                if value is None:
                    value = _saved(node, i)
                lines = _op_lines(p, names.node.get(key), out_meta[key], value,
                                  show_data, show_grad)
                g.nodes.append(_DotNode(pid, "op", lines, dict(_STYLE["op"])))
            link(pid, node_id, node, i)
    if g.hidden:
        word = "node" if g.hidden == 1 else "nodes"
        g.nodes.append(_DotNode("more", "more", [f"… {g.hidden} more {word}"],
                                dict(_STYLE["more"])))
    return g


# ----------------------------------------------------------------------------- DOT text
def _escape(text) -> str:
    """Escape text for a double-quoted DOT string (newlines become centred line breaks)."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\r", "").replace("\n", "\\n")


def _attr_text(attrs) -> str:
    return ", ".join(f'{k}="{_escape(v)}"' for k, v in attrs.items())


def _graph_attrs(rankdir, title, where="to_dot"):
    if rankdir not in _RANKDIRS:
        raise ValueError(f"{where}: rankdir must be one of {_RANKDIRS}, got {rankdir!r}")
    attrs = {"rankdir": rankdir, "fontname": "Helvetica"}
    if title:
        attrs.update(label=title, labelloc="t", fontsize="14")
    return attrs


_NODE_DEFAULTS = {"fontname": "Helvetica", "fontsize": "10"}
_EDGE_DEFAULTS = {"fontname": "Helvetica", "fontsize": "9"}


def _dot_text(g: _Graph, rankdir="TB", title=None) -> str:
    lines = [
        "digraph microgradlin {",
        f"  graph [{_attr_text(_graph_attrs(rankdir, title))}]",
        f"  node [{_attr_text(_NODE_DEFAULTS)}]",
        f"  edge [{_attr_text(_EDGE_DEFAULTS)}]",
    ]
    for n in g.nodes:
        attrs = {"label": "\n".join(n.lines), **n.attrs}
        lines.append(f"  {n.id} [{_attr_text(attrs)}]")
    for e in g.edges:
        lines.append(f"  {e.src} -> {e.dst}" + (f" [{_attr_text(e.attrs)}]" if e.attrs else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_dot(tensor, names=None, rankdir="TB", show_data=True, show_grad=True,
           show_constants=False, max_nodes=200, title=None) -> str:
    """The computation graph that produced ``tensor``, as Graphviz DOT text.

    Needs no Graphviz: paste the text into any DOT viewer, or use :func:`draw`.

    Parameters
    ----------
    tensor : Tensor
        The output (usually the loss); its whole graph is walked (iteratively).
    names : dict name -> Tensor, pairs, or a Module, optional
        Names for parameters (``names={"w": w}``, ``names=model``), intermediate tensors
        (shown on their op node) and constants; otherwise ``t.name``, else ``param0``, ...
    rankdir : "TB" (inputs on top) or "LR" (inputs on the left); "BT", "RL" also work.
    show_data, show_grad : bool
        Whether labels carry a summary of the data / the grad (value or min/mean/max).
    show_constants : bool
        Draw inputs that need no gradient (dashed boxes). The engine keeps no reference to
        them, so only values an op saved for its backward can be shown.
    max_nodes : int or None
        Draw at most this many nodes (breadth-first from the output); the rest become one
        "… N more nodes" node.
    title : str, optional
        A caption at the top.

    Node ids are deterministic: ``n0`` is the output, then ``n1``, ``n2``, ... in
    breadth-first order; constants are ``c0``, ``c1``, ...
    """
    g = _build_graph(tensor, names, show_data, show_grad, show_constants, max_nodes)
    return _dot_text(g, rankdir, title)


# ----------------------------------------------------------------------------- rendering
def _import_graphviz():
    try:
        import graphviz
    except ImportError:
        raise GraphvizNotFound(_NO_PACKAGE) from None
    return graphviz


_DIGRAPH_CLASS = None


def _digraph_class(graphviz):
    """A ``graphviz.Digraph`` whose Jupyter display says how to install ``dot`` if missing."""
    global _DIGRAPH_CLASS
    if _DIGRAPH_CLASS is None or not issubclass(_DIGRAPH_CLASS, graphviz.Digraph):

        class Digraph(graphviz.Digraph):
            __doc__ = graphviz.Digraph.__doc__

            def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
                try:
                    return super()._repr_mimebundle_(include, exclude, **kwargs)
                except graphviz.ExecutableNotFound:
                    return {"text/plain": f"{type(self).__module__}: {_NO_DOT}"}

        Digraph.__module__ = __name__
        Digraph.__qualname__ = "Digraph"
        _DIGRAPH_CLASS = Digraph
    return _DIGRAPH_CLASS


def _resolve_output(where, path, format):
    """(format, path with the right extension) from ``path`` and ``format``."""
    if format is not None and format not in FORMATS:
        raise ValueError(f"{where}: format must be one of {FORMATS}, got {format!r}")
    if path is None:
        return format or "svg", None
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    if suffix in FORMATS:
        if format is not None and format != suffix:
            raise ValueError(
                f"{where}: path {path!r} ends in .{suffix} but format={format!r}; "
                "make them agree (or leave format out)"
            )
        return suffix, path
    fmt = format or "svg"
    return fmt, f"{path}.{fmt}"


def _dot_program() -> str:
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFound(_NO_DOT)
    return dot


def render_dot(text: str, format="svg") -> bytes:
    """Run the Graphviz ``dot`` program on DOT ``text``; return the SVG/PNG/PDF bytes."""
    if format not in FORMATS:
        raise ValueError(f"render_dot: format must be one of {FORMATS}, got {format!r}")
    try:
        done = subprocess.run([_dot_program(), f"-T{format}"], input=text.encode("utf-8"),
                              capture_output=True, check=False)
    except OSError:
        raise GraphvizNotFound(_NO_DOT) from None
    if done.returncode != 0:
        raise RuntimeError(
            f"render_dot: dot exited with status {done.returncode}: "
            f"{done.stderr.decode('utf-8', 'replace').strip()}"
        )
    return done.stdout


def _write(path, data: bytes):
    with open(path, "wb") as f:
        f.write(data)


def draw(tensor, path=None, format=None, *, names=None, rankdir="TB", show_data=True,
         show_grad=True, show_constants=False, max_nodes=200, title=None):
    """The computation graph of ``tensor`` as a ``graphviz.Digraph``; saved if ``path``.

    In Jupyter the returned object displays itself inline. With ``path``, the graph is
    rendered by Graphviz's ``dot`` to ``path``: the format is taken from its extension
    (``.svg``, ``.png``, ``.pdf``), or from ``format`` (default "svg"), whose extension is
    then appended (``draw(loss, "graph", format="png")`` writes ``graph.png``). The other
    arguments are those of :func:`to_dot`.

    Raises :class:`GraphvizNotFound`, with the command that installs it, when the
    ``graphviz`` package (always needed) or the ``dot`` program (needed to render) is missing.
    """
    fmt, out_path = _resolve_output("draw", path, format)
    if out_path is not None:
        check_output_path("draw", out_path)
    graph_attrs = _graph_attrs(rankdir, title, "draw")
    g = _build_graph(tensor, names, show_data, show_grad, show_constants, max_nodes, "draw")
    graphviz = _import_graphviz()
    digraph = _digraph_class(graphviz)(
        name="microgradlin", format=fmt,
        graph_attr={k: graphviz.nohtml(_escape(v)) for k, v in graph_attrs.items()},
        node_attr=dict(_NODE_DEFAULTS), edge_attr=dict(_EDGE_DEFAULTS),
    )
    for n in g.nodes:
        attrs = {k: graphviz.nohtml(_escape(v)) for k, v in n.attrs.items()}
        digraph.node(n.id, label=graphviz.nohtml(_escape("\n".join(n.lines))), **attrs)
    for e in g.edges:
        digraph.edge(e.src, e.dst, **{k: graphviz.nohtml(_escape(v)) for k, v in e.attrs.items()})
    if out_path is not None:
        _write(out_path, render_dot(digraph.source, fmt))
    return digraph


# ----------------------------------------------------------------------------- tracer
# The local derivative of each op, as a student writes it; G is the incoming gradient.
_RULES = {
    "Add": "∂/∂x = 1, ∂/∂y = 1",
    "Sub": "∂/∂x = 1, ∂/∂y = -1",
    "Mul": "∂/∂x = y, ∂/∂y = x",
    "Div": "∂/∂x = 1/y, ∂/∂y = -x/y²",
    "Neg": "∂/∂x = -1",
    "Pow": "∂/∂x = p·x^(p-1), ∂/∂p = x^p·log x",
    "MatMul": "∂/∂A = G·Bᵀ, ∂/∂B = Aᵀ·G",
    "Exp": "∂/∂x = exp(x)",
    "Log": "∂/∂x = 1/x",
    "Sqrt": "∂/∂x = 1/(2·√x)",
    "Abs": "∂/∂x = sign(x)",
    "Tanh": "∂/∂x = 1 - tanh²(x)",
    "Sigmoid": "∂/∂x = s·(1-s), s = σ(x)",
    "Relu": "∂/∂x = 1 if x > 0 else 0",
    "Clip": "∂/∂x = 1 inside [lo, hi], else 0",
    "Maximum": "∂/∂x = 1 where x > y (½ on ties), ∂/∂y = the rest",
    "Minimum": "∂/∂x = 1 where x < y (½ on ties), ∂/∂y = the rest",
    "Where": "∂/∂x = 1 where condition, ∂/∂y = 1 elsewhere",
    "Cast": "∂/∂x = 1 (gradient cast back to x's dtype)",
    "ToDevice": "∂/∂x = 1 (gradient moved back to x's device)",
    "Sum": "∂/∂xᵢ = 1: G copied to every summed element",
    "Mean": "∂/∂xᵢ = 1/n: G/n copied to every averaged element",
    "Max": "∂/∂xᵢ = 1 for the maximum (shared among ties), else 0",
    "Min": "∂/∂xᵢ = 1 for the minimum (shared among ties), else 0",
    "LogSumExp": "∂/∂xᵢ = softmax(x)ᵢ",
    "Reshape": "G reshaped back to x's shape",
    "Transpose": "G transposed back",
    "BroadcastTo": "G summed over the broadcast axes",
    "SumTo": "G broadcast back to x's shape",
    "Getitem": "G scattered back to the selected positions (repeats add up)",
    "Scatter": "G read back at the same positions",
    "Concatenate": "each input gets its own slice of G",
    "Stack": "input i gets slice i of G",
    "BCEWithLogits": "∂/∂z = σ(z) - y, ∂/∂y = -z",
}


def local_rule(node) -> str:
    """The local derivative rule of a graph node, as short text.

    From a small table for the built-in ops, else the comment above the op's ``backward``
    (where microgradlin ops keep their formula), else the first line of its docstring.
    """
    cls = type(node)
    rule = _RULES.get(cls.__name__)
    if rule is None:
        comment = inspect.getcomments(cls.backward) if hasattr(cls, "backward") else None
        if comment:
            rule = " ".join(line.lstrip("#").strip() for line in comment.strip().splitlines())
        else:
            doc = inspect.getdoc(cls) or ""
            rule = doc.strip().splitlines()[0] if doc.strip() else "(no rule recorded)"
    extra = []
    if cls.__name__ == "Pow" and node.saved is not None and np.ndim(node.saved[1]) == 0:
        extra.append(f"p = {_fmt(np.asarray(backend.to_numpy(node.saved[1])).item())}")
    if cls.__name__ == "BCEWithLogits" and getattr(node, "reduction", None) == "mean":
        extra.append(f"mean: divided by n = {node.n}")
    if cls.__name__ in ("Sum", "Mean") and getattr(node, "in_shape", None) is not None:
        if node.axis is not None:
            extra.append(f"axis = {node.axis}")
        if cls.__name__ == "Mean":
            count = int(np.prod([node.in_shape[a] for a in node.axes])) if node.axes else 1
            extra.append(f"n = {count}")
    return rule + (f" ({', '.join(extra)})" if extra else "")


@dataclass
class InputGrad:
    """What one input of an op received during the backward pass."""

    index: int  # which input of the op
    target: str  # "Sub n2", "w n5", or "constant"
    node_id: str | None  # its id in the pictures (None for constants)
    grad: object  # the array sent (after un-broadcasting), or None (no grad needed)
    broadcast_from: tuple | None = None  # the shape before the engine summed it back

    @property
    def summary(self) -> str:
        return "— (needs no grad)" if self.grad is None else summarize(self.grad)


@dataclass
class BackwardEvent:
    """One step of the backward pass: a node's backward ran once."""

    step: int  # 1, 2, ... in the order the engine runs them
    op: str  # the op's name, e.g. "MatMul"
    node_id: str  # the node's id in to_dot pictures ("n1", ...)
    node: Function = field(repr=False)
    grad_output: object = field(repr=False)  # the incoming gradient (summed over consumers)
    rule: str = ""  # the local derivative rule
    inputs: list = field(default_factory=list)  # one InputGrad per input of the op

    @property
    def grad_output_summary(self) -> str:
        return summarize(self.grad_output)


class BackwardTrace:
    """The backward pass replayed step by step (see :func:`trace_backward`).

    ``events``: one :class:`BackwardEvent` per op, in the engine's order; ``leaf_grads``:
    parameter name -> the gradient ``backward()`` would accumulate into its ``.grad``.
    ``str(trace)`` is a text table; ``to_dot_frames()`` / ``render_frames()`` give one
    picture per step, the current node outlined in red, edges labelled with gradients.
    """

    def __init__(self, output, names, graph, events, leaf_grads, seed):
        self.output = output
        self.events: list[BackwardEvent] = events
        self.leaf_grads: dict = leaf_grads
        self.seed = seed
        self._names = names
        self._graph = graph

    def __len__(self):
        return len(self.events)

    def __iter__(self):
        return iter(self.events)

    def __repr__(self):
        return (f"<BackwardTrace: {len(self.events)} steps, "
                f"parameters {', '.join(self.leaf_grads) or '(none)'}>")

    def grad(self, tensor):
        """The traced gradient of a parameter tensor (what ``backward()`` gives it)."""
        name = self._graph.name_of.get(id(tensor))
        if name is None:
            raise KeyError("trace.grad: this tensor is not a parameter of the traced graph")
        return self.leaf_grads[name]

    def __str__(self):
        out = [
            f"Backward pass of {self._graph.nodes[0].lines[0]} "
            f"(seed {_short(self.seed)}): {len(self.events)} steps",
            f"{'step':>4}  {'op (node)':<20} {'incoming grad':<26} local rule",
        ]
        for e in self.events:
            head = f"{e.op} ({e.node_id})"
            out.append(f"{e.step:>4}  {head:<20} {_short(e.grad_output):<26} {e.rule}")
            for inp in e.inputs:
                sent = "— (needs no grad)" if inp.grad is None else _short(inp.grad)
                note = (f"  (summed from broadcast shape {inp.broadcast_from})"
                        if inp.broadcast_from is not None else "")
                out.append(f"{'':>6}→ input {inp.index}: {inp.target:<16} {sent}{note}")
        out.append("Parameter gradients:")
        for name, value in self.leaf_grads.items():
            out.append(f"  {name}: {_short(value)}")
        return "\n".join(out)

    def to_dot_frames(self, rankdir="TB", show_data=True, show_constants=False,
                      max_nodes=200) -> list[str]:
        """One DOT text per step: the current node in red, edges carrying their gradients.

        Parameter boxes show the gradient accumulated so far; edges that already carried a
        gradient are blue and labelled with it, the current step's edges are red.
        """
        g = _build_graph(self.output, self._names, show_data, True, show_constants,
                         max_nodes, where="to_dot_frames")
        by_id = {n.id: n for n in g.nodes}
        leaf_of = {g.id_of[id(leaf)]: leaf for leaf in g.leaves if id(leaf) in g.id_of}
        if g.edges and g.edges[0].dst == "n0":  # the seed enters the root
            g.edges[0].attrs = {"label": f"seed {summarize(self.seed)}", **_GRAD_EDGE}
        running = {}  # node id of a leaf -> gradient accumulated so far
        for nid in leaf_of:
            node = by_id[nid]
            if node.grad_line is not None:
                node.lines[node.grad_line] = "grad so far: —"
        frames = []
        total = len(self.events)
        for e in self.events:
            for n in g.nodes:  # the previous current node becomes "done"
                if n.attrs.get("color") == _CURRENT["color"]:
                    n.attrs = {**n.attrs, **_DONE, "penwidth": "1"}
            for edge in g.edges:
                if edge.attrs.get("color") == _CURRENT_EDGE["color"]:
                    edge.attrs = {**edge.attrs, **_GRAD_EDGE, "penwidth": "1"}
            current = by_id.get(e.node_id) or by_id.get("more")
            if current is not None:
                current.attrs = {**current.attrs, **_CURRENT}
            for inp in e.inputs:
                idx = g.edge_of.get((id(e.node), inp.index))
                if idx is not None and inp.grad is not None:
                    g.edges[idx].attrs = {"label": summarize(inp.grad), **_CURRENT_EDGE}
                if inp.node_id in leaf_of and inp.grad is not None:
                    prev = running.get(inp.node_id)
                    running[inp.node_id] = inp.grad if prev is None else prev + inp.grad
                    node = by_id[inp.node_id]
                    if node.grad_line is not None:
                        node.lines[node.grad_line] = (
                            f"grad so far: {summarize(running[inp.node_id])}")
            title = (f"step {e.step}/{total}: {e.op} ({e.node_id}), incoming grad "
                     f"{summarize(e.grad_output)}\n{e.op}: {e.rule}")
            frames.append(_dot_text(g, rankdir, title))
        return frames

    def render_frames(self, folder, format="svg", **kwargs) -> list[str]:
        """Render each frame with ``dot`` to ``folder/step_001.<format>``, ...; return paths."""
        if format not in FORMATS:
            raise ValueError(f"render_frames: format must be one of {FORMATS}, got {format!r}")
        _dot_program()  # fail before creating anything when dot is missing
        folder = os.fspath(folder)
        os.makedirs(folder, exist_ok=True)
        paths = []
        for i, text in enumerate(self.to_dot_frames(**kwargs), start=1):
            path = os.path.join(folder, f"step_{i:03d}.{format}")
            _write(path, render_dot(text, format))
            paths.append(path)
        return paths


def _freed(node):
    return RuntimeError(
        f"trace_backward: the graph was already freed by backward() (node "
        f"{type(node).__name__} has no saved values left). Call trace_backward(loss) before "
        "loss.backward(), or call loss.backward(retain_graph=True) to keep the graph."
    )


def _copy(v):
    return v.copy() if hasattr(v, "shape") and hasattr(v, "copy") else v


def trace_backward(loss, gradient=None, names=None) -> BackwardTrace:
    """Replay the backward pass of ``loss`` one op at a time, recording every gradient.

    The replay follows the engine exactly (same order: newest node first, so the
    gradients of a node are summed over its consumers before its backward runs; each input's
    gradient summed back to its shape), on copies, so the graph is left intact and no
    ``.grad`` is touched: ``loss.backward()`` still works afterwards and gives
    ``trace.leaf_grads``.

    ``gradient`` is d(something)/d(loss), needed only when ``loss`` has several elements;
    ``names`` names the parameters as in :func:`to_dot`.
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"trace_backward: expected a Tensor, got {type(loss).__name__}")
    root = loss.grad_fn
    if root is None:
        raise RuntimeError(
            "trace_backward: this tensor was not produced by a recorded op (it is a leaf, or "
            "was computed under no_grad() or from tensors without requires_grad=True): "
            "there is no backward pass to trace"
        )
    xp = backend.get_array_module(loss.data)
    if gradient is None:
        if loss.data.size != 1:
            raise RuntimeError(
                f"trace_backward: the output has shape {tuple(loss.shape)}; pass gradient= "
                "of that shape, or reduce it first (e.g. loss.sum())"
            )
        seed = xp.ones(loss.data.shape, dtype=loss.data.dtype)
    else:
        seed = xp.array(gradient.data if isinstance(gradient, Tensor) else gradient,
                        dtype=loss.data.dtype)
        if seed.shape != loss.data.shape:
            raise RuntimeError(
                f"trace_backward: gradient has shape {tuple(seed.shape)} but the output has "
                f"shape {tuple(loss.shape)}; they must match"
            )
    names = _Names(names, "trace_backward")
    graph = _build_graph(loss, names, False, False, False, None, where="trace_backward")

    def label(obj):
        nid = graph.id_of[id(obj)]
        if obj.__class__ is Tensor:
            return f"{graph.name_of[id(obj)]} {nid}", nid
        return f"{type(obj).__name__} {nid}", nid

    # the engine's order: newest node first (by its sequence number), so a node runs after
    # all its consumers; its gradient is the sum of what they sent
    buffers = {root: seed}
    leaf_grads = {}
    events = []
    waiting = [(-root.seq, root)]
    with no_grad():
        while waiting:
            node = heapq.heappop(waiting)[1]
            g = buffers.pop(node)
            if node.saved is None:
                raise _freed(node)
            for vc in node.versions or ():
                if vc[0] > node.seq:  # stamped by an in-place change after the node was made
                    raise RuntimeError(
                        f"trace_backward: a value saved for the backward of "
                        f"{type(node).__name__} was modified in place after it was saved"
                    )
            grads = node.backward(_copy(g), *[_copy(v) for v in node.saved])
            if len(node.parents) == 1 and grads.__class__ is not tuple:
                grads = (grads,)  # (a custom backward may also return a 1-tuple)
            _, nid = label(node)
            event = BackwardEvent(len(events) + 1, type(node).__name__, nid, node, _copy(g),
                                  local_rule(node))
            metas = node.meta or (None,) * len(node.parents)  # None: no broadcasting
            for i, (p, gi, meta) in enumerate(zip(node.parents, grads, metas)):
                if p is None:
                    event.inputs.append(InputGrad(i, "constant", None, None))
                    continue
                if gi is None:  # a custom backward's "no gradient here", as the engine reads it
                    event.inputs.append(InputGrad(i, *label(p), None))
                    continue
                broadcast_from = None
                if meta is not None:
                    if gi.shape != meta[0]:
                        broadcast_from = tuple(gi.shape)
                    gi = _fit(node, gi, meta)
                target, pid = label(p)
                event.inputs.append(InputGrad(i, target, pid, _copy(gi), broadcast_from))
                if p.__class__ is Tensor:
                    key = graph.name_of[id(p)]
                    leaf_grads[key] = gi if key not in leaf_grads else leaf_grads[key] + gi
                    continue
                if p in buffers:
                    buffers[p] = buffers[p] + gi
                else:
                    buffers[p] = gi
                    heapq.heappush(waiting, (-p.seq, p))
            events.append(event)
    ordered = {graph.name_of[id(leaf)]: leaf_grads[graph.name_of[id(leaf)]]
               for leaf in graph.leaves if graph.name_of[id(leaf)] in leaf_grads}
    return BackwardTrace(loss, names, graph, events, {k: _copy(v) for k, v in ordered.items()},
                         seed)
