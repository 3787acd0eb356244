"""Checkpoints: ``save(state, path)`` and ``load(path)``, as ``.npz`` files without pickle.

A state is a nested dict (lists and tuples allowed) whose leaves are arrays, Tensors, NumPy
scalars or Python numbers/strings/None: typically ::

    mg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, path)
    state = mg.load(path)
    model.load_state_dict(state["model"]); opt.load_state_dict(state["optimizer"])

(or :func:`restore`, which does both and reports a mismatch against the file's name).

The file is an ordinary ``.npz`` archive: one entry per array, named by its dotted key path
(``model.weight``, ``optimizer.state.0.momentum_buffer``), plus a JSON manifest entry that
records the nesting, the Python scalars, and each array's shape and dtype. Nothing is
pickled: ``load`` opens it with ``allow_pickle=False``, so loading a file from someone else
cannot run code, and a file that holds pickled objects is refused. A file whose arrays do not
match its manifest (a missing entry, a wrong shape) is refused as well.

Writes go to a temporary file in the same directory, which is flushed and then renamed over
``path`` (``os.replace`` is atomic): a crash mid-save leaves the previous checkpoint intact,
never a truncated one.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from . import backend
from ._files import check_output_path
from .tensor import Tensor

__all__ = ["save", "load", "restore", "CheckpointError"]

MANIFEST = "__microgradlin_checkpoint__"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be trusted or does not fit what it is loaded into."""


# ----------------------------------------------------------------------------- save
def _encode(value, path, arrays):
    """Turn ``value`` into a JSON-able manifest node; arrays go into ``arrays``."""
    where = ".".join(str(k) for k in path) or "<root>"
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"save: key {k!r} at {where!r} is a {type(k).__name__}; keys "
                                "must be strings or ints")
            items.append([k, _encode(v, (*path, k), arrays)])
        return {"t": "dict", "items": items}
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return {"t": kind, "items": [_encode(v, (*path, i), arrays)
                                     for i, v in enumerate(value)]}
    if isinstance(value, (bool, int, float, str)) or value is None:
        return {"t": "py", "v": value}
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if isinstance(value, np.ndarray) or backend.is_device_array(value):
        host = np.asarray(backend.to_numpy(value))
        if host.dtype.hasobject or host.dtype.kind == "V":
            raise TypeError(f"save: {where!r} is an array of dtype {host.dtype}; only numeric, "
                            "boolean and string arrays can be saved without pickle")
        name = ".".join(str(k) for k in path) or "value"
        base, i = name, 1
        while name in arrays or name == MANIFEST:  # e.g. keys "a.b" and ("a", "b")
            i += 1
            name = f"{base}~{i}"
        arrays[name] = host
        return {"t": "array", "name": name, "shape": list(host.shape), "dtype": host.dtype.str}
    raise TypeError(f"save: {where!r} is a {type(value).__name__}; a checkpoint holds dicts, "
                    "lists, arrays, Tensors, numbers and strings (save model.state_dict(), "
                    "not the model)")


def _write_npz(f, arrays: dict) -> None:
    """Write ``arrays`` as an (uncompressed) .npz archive into the open file ``f``.

    What ``np.savez`` does, without its keyword-argument API (where a key named ``file``
    would clash) and with ``allow_pickle=False``.
    """
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in arrays.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def save(state, path) -> None:
    """Write ``state`` (a nested dict of arrays/Tensors/numbers/strings) to ``path`` (.npz).

    Atomic: the data goes to a temporary file next to ``path`` first, then replaces it.
    The file is written at exactly ``path`` (no ``.npz`` is appended).
    """
    arrays: dict = {}
    tree = _encode(state, (), arrays)
    manifest = json.dumps({"format": "microgradlin-checkpoint", "version": FORMAT_VERSION,
                           "tree": tree})
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    check_output_path("save", path)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, {MANIFEST: np.array(manifest), **arrays})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ----------------------------------------------------------------------------- load
def _pickle_kind(path):
    """What pickled content the file holds, by its first bytes: a pickle (protocol 2 and
    later start with the PROTO opcode 0x80), a .npy array of Python objects, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError:
        return None
    if head[:1] == b"\x80":
        return "a pickle file"
    if head == b"\x93NUMPY":
        return "a .npy array of pickled Python objects"
    return None


def _read(npz, name, path):
    try:
        return npz[name]
    except ValueError as exc:
        if "pickle" in str(exc):
            raise CheckpointError(
                f"load: refusing the checkpoint {path!r}: its entry {name!r} holds pickled "
                "Python objects, which could run arbitrary code when loaded. microgradlin "
                "checkpoints contain only plain arrays; re-save the data with mg.save"
            ) from None
        raise CheckpointError(f"load: entry {name!r} of {path!r} is unreadable ({exc})") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CheckpointError(f"load: entry {name!r} of {path!r} is corrupt ({exc})") from None


def _decode(node, npz, path, used):
    kind = node.get("t")
    if kind == "dict":
        return {k: _decode(v, npz, path, used) for k, v in node["items"]}
    if kind in ("list", "tuple"):
        items = [_decode(v, npz, path, used) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "py":
        return node["v"]
    if kind == "array":
        name = node["name"]
        if name not in npz.files:
            raise CheckpointError(f"load: the checkpoint {path!r} is missing the array "
                                  f"{name!r} that its manifest lists (truncated or edited?)")
        used.add(name)
        value = _read(npz, name, path)
        shape, dtype = tuple(node["shape"]), np.dtype(node["dtype"])
        if value.shape != shape or value.dtype != dtype:
            raise CheckpointError(
                f"load: the array {name!r} in {path!r} has shape {value.shape} and dtype "
                f"{value.dtype}, but the manifest says shape {shape} and dtype {dtype} "
                "(the file was edited or is corrupt)"
            )
        return value
    raise CheckpointError(f"load: the manifest of {path!r} has an unknown node {kind!r}")


def load(path):
    """Read a checkpoint written by :func:`save`: the same nesting, with NumPy arrays (on
    the host) for arrays and Tensors, and Python values for Python scalars.

    A plain ``.npz`` without microgradlin's manifest loads as a flat ``{name: array}`` dict.
    Raises :class:`CheckpointError` for pickled content, missing entries or wrong shapes.
    """
    path = os.fspath(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no checkpoint at {path!r}") from None
    except ValueError as exc:
        # (NumPy hands every file that is neither .npz nor .npy to pickle: look at it first)
        kind = _pickle_kind(path) if "pickle" in str(exc) else None
        if kind is not None:
            raise CheckpointError(
                f"load: refusing {path!r}: it is {kind}, which could run arbitrary code "
                "when loaded; microgradlin checkpoints are .npz archives of plain arrays"
            ) from None
        raise CheckpointError(f"load: {path!r} is not a .npz checkpoint (neither a .npz "
                              "archive nor a .npy array)") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CheckpointError(f"load: {path!r} is not a readable .npz checkpoint "
                              f"(truncated or not a checkpoint: {exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise CheckpointError(f"load: {path!r} holds a single .npy array, not a .npz "
                              "checkpoint archive")
    with npz:
        if MANIFEST not in npz.files:
            return {name: _read(npz, name, path) for name in npz.files}
        try:
            manifest = json.loads(str(_read(npz, MANIFEST, path)))
            tree = manifest["tree"]
            version = manifest.get("version")
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"load: the manifest of {path!r} is damaged ({exc})") from None
        if version != FORMAT_VERSION:
            raise CheckpointError(f"load: {path!r} has checkpoint format version {version!r}; "
                                  f"this microgradlin reads version {FORMAT_VERSION}")
        used: set = set()
        state = _decode(tree, npz, path, used)
        extra = sorted(set(npz.files) - used - {MANIFEST})
        if extra:
            raise CheckpointError(f"load: {path!r} holds arrays its manifest does not list: "
                                  f"{extra} (the file was edited)")
        return state


def restore(path_or_state, model=None, optimizer=None) -> dict:
    """Load a checkpoint (a path, or a state already loaded) into ``model`` and
    ``optimizer`` from its ``"model"`` and ``"optimizer"`` entries; return the whole state.

    A missing key or a shape that does not match the model is refused with a
    :class:`CheckpointError` that names the file.
    """
    if isinstance(path_or_state, dict):
        state, where = path_or_state, "the checkpoint"
    else:
        state, where = load(path_or_state), repr(os.fspath(path_or_state))
    for key, target in (("model", model), ("optimizer", optimizer)):
        if target is None:
            continue
        if key not in state:
            raise CheckpointError(f"restore: {where} has no {key!r} entry (it has "
                                  f"{sorted(state)})")
        try:
            target.load_state_dict(state[key])
        except (KeyError, ValueError, TypeError) as exc:
            message = exc.args[0] if exc.args else str(exc)
            raise CheckpointError(f"restore: {where} does not fit the {key} "
                                  f"{type(target).__name__}: {message}") from None
    return state
