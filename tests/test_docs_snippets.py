"""Every Python block of README.md and docs/*.md runs as written (issue 16): as a script, offline.

A block preceded by a ``<!-- fragment ... -->`` line is an excerpt that needs names from the text around it, and is
only compiled. A block that names a model runs against a scripted backend put in its place (SmolLM2 on 2 shared cores
takes minutes for the refine loop; what a model says is never checked here, only that the snippet runs as written).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

STUB = """
import critica.backends.registry as _registry
from critica.backends.fake import ScriptedBackend as _Scripted

_registry.create_backend = lambda spec, *a, **k: _Scripted(["Step 1 is right. The answer is 14. Verdict: correct"])
"""
"""Put before a block that names a model: every backend it creates replies with scripted text."""

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"(?P<before>[^\n]*)\n```python\n(?P<code>.*?)\n```", re.S)


def _blocks() -> list:
    out = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = "\n" + doc.read_text(encoding="utf-8")
        for k, m in enumerate(FENCE.finditer(text)):
            fragment = m.group("before").strip().startswith("<!-- fragment")
            out.append(pytest.param(m.group("code"), fragment, id=f"{doc.name}#{k + 1}"))
    return out


BLOCKS = _blocks()


def test_the_docs_have_python_blocks():
    assert len(BLOCKS) >= 7


@pytest.mark.parametrize(("code", "fragment"), BLOCKS)
def test_python_block_runs_as_written(code, fragment, tmp_path):
    compile(code, "<snippet>", "exec")  # top-level `await` is a SyntaxError here: it would not run as a script
    if fragment:
        return
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    script = (STUB + code) if "create_backend(" in code else code
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
