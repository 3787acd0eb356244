"""Output paths: one check, so that every writer (checkpoints, graph pictures, plots) names
itself and the path when it cannot write there, before any work is done."""

from __future__ import annotations

import os


def check_output_path(where: str, path: str) -> None:
    """Raise a clear error unless ``path`` names a file in an existing directory."""
    if not path:
        raise ValueError(f"{where}: the path is empty; give a file path")
    if os.path.isdir(path) or path.endswith((os.sep, "/")):
        raise IsADirectoryError(f"{where}: {path!r} names a directory; give a file path, e.g. "
                                f"{os.path.join(path, 'out')!r} with its extension")
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(f"{where}: cannot write {path!r}: {directory!r} is a file, "
                                 "not a directory")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{where}: cannot write {path!r}: the directory {directory!r} "
                                "does not exist (create it first)")
