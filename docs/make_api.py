"""Generate docs/api.md, the API reference, from the package's docstrings and signatures.

Run it from anywhere after changing a public name or docstring, and commit the result::

    python docs/make_api.py            # rewrites docs/api.md
    python docs/make_api.py --check    # exit 1 if docs/api.md is out of date

Each module contributes the names in its ``__all__``, in that order: a signature and the
first sentence of the docstring; classes also list their public methods and properties.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "api.md"

# (module, title, what it is for). Order: core first, then the layers built on it.
MODULES = [
    ("microgradlin", "microgradlin", "the Tensor, creating tensors, autograd, checks"),
    ("microgradlin.functional", "microgradlin.functional (F)",
     "activations and the lecture's losses"),
    ("microgradlin.models", "microgradlin.models", "Module, Linear and the lecture's models"),
    ("microgradlin.optim", "microgradlin.optim", "optimizers, projections, proxes, schedules"),
    ("microgradlin.data", "microgradlin.data", "batches, train/test split, standardisation"),
    ("microgradlin.train", "microgradlin.train", "the training loop"),
    ("microgradlin.checkpoint", "microgradlin.checkpoint", "saving without pickle"),
    ("microgradlin.datasets", "microgradlin.datasets", "real and synthetic data sets"),
    ("microgradlin.viz", "microgradlin.viz", "computation-graph pictures, backward tracer"),
    ("microgradlin.plot", "microgradlin.plot", "training plots (matplotlib)"),
    ("microgradlin.backend", "microgradlin.backend", "NumPy/CuPy seam, devices"),
    ("microgradlin.cuda", "microgradlin.cuda", "GPU helpers"),
    ("microgradlin.autograd", "microgradlin.autograd", "writing a new op (Function)"),
    ("microgradlin.demo", "microgradlin.demo", "the lecture tour"),
    ("microgradlin.cli", "microgradlin.cli", "the command line"),
]
# Modules without __all__: the names to document.
EXPLICIT = {
    "microgradlin.backend": ["get_array_module", "device_of", "parse_device", "to_device",
                             "to_numpy", "is_device_array", "cuda_is_available",
                             "cuda_device_count", "empty_aligned", "aligned_copy", "aligned"],
    "microgradlin.cuda": ["is_available", "device_count", "synchronize"],
    "microgradlin.autograd": ["Function", "run_backward", "grad", "no_grad", "enable_grad"],
    "microgradlin.cli": ["main", "build_parser"],
}
DTYPE_ALIASES = ("float16", "float32", "float64", "int32", "int64", "bool")


def first_sentence(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    paragraph = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    if not paragraph:
        return ""
    depth = 0
    for i, ch in enumerate(paragraph):  # the first ". " outside parentheses, not "et al."
        depth += (ch in "([{") - (ch in ")]}")
        if ch == "." and depth <= 0 and paragraph[i + 1:i + 2] == " ":
            word = paragraph[:i].split(" ")[-1]
            if word not in ("al", "e.g", "i.e", "eq", "vs", "cf"):
                paragraph = paragraph[: i + 1]
                break
    return paragraph.replace("|", "\\|")


def _entry(head, obj) -> str:
    text = first_sentence(obj)
    return f"{head}: {text}" if text else head


def _default(value) -> str:
    if inspect.isclass(value) or inspect.isfunction(value) or inspect.isbuiltin(value):
        return getattr(value, "__name__", repr(value))
    text = repr(value)
    return "<default>" if " at 0x" in text else text


def signature(obj, drop_self=False) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    parts = []
    seen_kw_only = False
    params = list(sig.parameters.values())
    # (a module function that is also a method, as Tensor.backward = autograd.backward, names
    # its instance otherwise: its first parameter is dropped too)
    if drop_self and params and (params[0].name in ("self", "cls")
                                 or "." not in getattr(obj, "__qualname__", ".")):
        params = params[1:]
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
            seen_kw_only = True
            continue
        if p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
            continue
        if p.kind is p.KEYWORD_ONLY and not seen_kw_only:
            parts.append("*")
            seen_kw_only = True
        text = p.name
        if p.default is not p.empty:
            text += f"={_default(p.default)}"
        parts.append(text)
    return "(" + ", ".join(parts) + ")"


# every Function subclass gets these built for it (autograd.Function.__init_subclass__)
_GENERATED = ("apply_unary", "apply_binary")


def members(cls):
    """Public methods and properties defined by ``cls`` itself (not inherited)."""
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_") or name in _GENERATED:
            continue
        if isinstance(value, property):  # (its own doc: a C getter's would be its class's)
            out.append((name, "property", value))
        elif isinstance(value, (staticmethod, classmethod)):
            out.append((name, "method", value.__func__))
        elif inspect.isfunction(value):
            out.append((name, "method", value))
    return out


def document(module_name, title, purpose) -> list:
    module = importlib.import_module(module_name)
    names = EXPLICIT.get(module_name) or list(getattr(module, "__all__", []))
    lines = [f"## {title}", "", f"*{purpose}.* {first_sentence(module)}".rstrip(), ""]
    if module_name == "microgradlin":
        names = [n for n in names if n not in DTYPE_ALIASES]
    for name in names:
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            lines.append(f"- `{name}`: the `{obj.__name__}` module (below).")
            continue
        if inspect.isclass(obj):
            base = "" if obj.__bases__ == (object,) else \
                f"({', '.join(b.__name__ for b in obj.__bases__)})"
            init = obj.__init__ if "__init__" in vars(obj) else None
            sig = signature(init, drop_self=True) if init is not None else ""
            lines.append(_entry(f"- **class `{name}{sig}`**" + (f" {base}" if base else ""),
                                obj))
            for member, kind, fn in members(obj):
                head = (f"`.{member}` (property)" if kind == "property"
                        else f"`.{member}{signature(fn, drop_self=True)}`")
                lines.append(_entry(f"  - {head}", fn))
        elif callable(obj):
            lines.append(_entry(f"- `{name}{signature(obj)}`", obj))
        else:
            shown = repr(obj) if len(repr(obj)) < 80 else type(obj).__name__
            lines.append(f"- `{name}` = `{shown}`")
    if module_name == "microgradlin":
        lines.append(f"- dtypes: {', '.join(f'`mg.{n}`' for n in DTYPE_ALIASES)} (NumPy's)")
    lines.append("")
    return lines


def render() -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `python docs/make_api.py` (do not edit by hand; a "
        "test checks that every public name is listed). Each entry gives the signature and "
        "the first sentence of the docstring; `help(name)` in Python shows the rest, with "
        "the formulas. Names follow PyTorch wherever the concept exists.",
        "",
        "Modules: " + ", ".join(f"[{m}](#{t.split(' ')[0].replace('.', '')})"
                               for m, t, _ in MODULES) + ".",
        "",
    ]
    for module_name, title, purpose in MODULES:
        lines += document(module_name, title, purpose)
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/api.md from docstrings.")
    parser.add_argument("--check", action="store_true",
                        help="only check that docs/api.md is current (exit 1 if not)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print("docs/api.md is out of date: run python docs/make_api.py", file=sys.stderr)
            return 1
        print("docs/api.md is up to date")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
