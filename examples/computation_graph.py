"""A computation graph, as DOT text and as the backward pass replayed step by step.

The engine records every op applied to tensors that require grad; ``viz.to_dot`` turns the
recorded graph into Graphviz DOT text (no Graphviz needed), ``viz.draw`` renders it, and
``viz.trace_backward`` replays ``backward()`` one op at a time: the incoming gradient, the
local rule, what each input receives (summed back over broadcast axes).

Run it:  python examples/computation_graph.py [--out DIR]   (--out also writes graph.dot and,
with Graphviz installed, graph.svg)
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import microgradlin as mg
from microgradlin import functional as F
from microgradlin import viz


def main(out=None):
    X = mg.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], name="X")
    y = np.array([1.0, 0.0, 1.0])
    w = mg.tensor([0.2, -0.4], requires_grad=True, name="w")
    b = mg.tensor(0.0, requires_grad=True, name="b")
    loss = F.binary_cross_entropy_with_logits(X @ w + b, y)  # logistic regression loss

    dot = viz.to_dot(loss)
    print(f"DOT text: {len(dot.splitlines())} lines, starting with:")
    print("\n".join(dot.splitlines()[:6]))
    trace = viz.trace_backward(loss)
    print()
    print(trace)
    loss.backward()
    same = np.allclose(w.grad.numpy(), trace.leaf_grads["w"])
    print(f"\nbackward() gives the traced gradients: {same}")
    assert same
    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "graph.dot"), "w", encoding="utf-8") as f:
            f.write(dot)
        try:
            viz.draw(loss, os.path.join(out, "graph.svg"))
            print(f"wrote {out}/graph.dot and {out}/graph.svg")
        except viz.GraphvizNotFound:
            print(f"wrote {out}/graph.dot (install Graphviz to render it)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for graph.dot / graph.svg (optional)")
    main(parser.parse_args().out)
