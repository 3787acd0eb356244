"""Regenerate the pictures in docs/images (used by README.md and docs/tutorial.md).

    python docs/images/make_images.py

The figures come from the lecture tour (``microgradlin.demo.run_demo``), copied here with
fewer colours to keep the repository small; the graphs are drawn with ``viz.draw`` and need
Graphviz's ``dot`` program. Deterministic: the same code gives the same pictures.
"""

from __future__ import annotations

import pathlib
import shutil
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

import numpy as np  # noqa: E402

import microgradlin as mg  # noqa: E402
from microgradlin import functional as F  # noqa: E402
from microgradlin import viz  # noqa: E402
from microgradlin.demo import run_demo  # noqa: E402

FIGURES = ["perceptron.png", "xor.png", "adaline.png", "gd_variants.png", "logistic.png",
           "softmax.png", "stable_softmax.png"]
GRAPHS = {"engine_graph.svg": "engine_graph.svg", "backward/step_004.svg": "backward_step.svg"}


def shrink_png(source, target, colors=128):
    """Copy a PNG with a palette of ``colors`` (a third of the size, same look)."""
    try:
        from PIL import Image
    except ImportError:  # Pillow comes with matplotlib; copy as is otherwise
        shutil.copyfile(source, target)
        return
    with Image.open(source) as image:
        image.convert("RGB").quantize(colors=colors, dither=Image.Dither.NONE).save(
            target, optimize=True)


def readme_graph(path):
    """One logistic neuron on two samples: the picture at the top of the README."""
    X = mg.tensor([[1.0, 2.0], [3.0, -1.0]], name="X")
    w = mg.tensor([0.5, -0.25], requires_grad=True, name="w")
    b = mg.tensor(0.0, requires_grad=True, name="b")
    loss = F.binary_cross_entropy_with_logits(X @ w + b, np.array([1.0, 0.0]))
    loss.backward(retain_graph=True)
    viz.draw(loss, path, rankdir="LR",
             title="loss = BCE(X @ w + b, y) after loss.backward()")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        run_demo(out=tmp, verbose=False)
        for name in FIGURES:
            shrink_png(pathlib.Path(tmp) / name, HERE / name)
        for source, target in GRAPHS.items():
            shutil.copyfile(pathlib.Path(tmp) / source, HERE / target)
    readme_graph(HERE / "readme_graph.svg")
    for p in sorted(HERE.iterdir()):
        if p.suffix in (".png", ".svg"):
            print(f"{p.name:<22} {p.stat().st_size / 1024:6.1f} KB")


if __name__ == "__main__":
    main()
