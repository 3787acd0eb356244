"""The code in README.md and docs/*.md runs, so the documentation cannot rot.

Convention: fenced blocks marked ```python are executed, in order, one namespace per file
(later blocks may use names from earlier ones); blocks marked ```py are excerpts of the
source shown for reading and are not run. Blocks run in a temporary working directory.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(path):
    return BLOCK.findall(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", [f for f in FILES if python_blocks(f)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"doc_{path.stem}"}
    for number, code in enumerate(python_blocks(path), 1):
        try:
            exec(compile(code, f"{path.name} block {number}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the failure report
            raise AssertionError(f"{path.name}, python block {number} failed: {exc!r}\n"
                                 f"{code}") from exc


def test_docs_have_runnable_examples():
    assert any(python_blocks(f) for f in FILES)


def test_the_api_reference_is_generated_from_the_current_docstrings():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "docs" / "make_api.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
