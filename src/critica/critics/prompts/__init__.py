"""Prompt templates, one file per protocol and variant, read with :func:`load_template`.

Users override a template by putting a file with the same name in ``$CRITICA_PROMPTS`` (or passing a path).
Templates use ``str.format`` fields; literal braces are doubled.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path

__all__ = ["load_template"]


def load_template(name: str) -> str:
    """Text of template ``name`` (e.g. ``"processbench"``), user overrides first."""
    override_dir = os.environ.get("CRITICA_PROMPTS")
    if override_dir:
        p = Path(override_dir) / f"{name}.txt"
        if p.is_file():
            return p.read_text(encoding="utf-8")
    return _packaged(name)


@cache
def _packaged(name: str) -> str:
    # Read once per process: critics render a prompt per request, and a file read per prompt was the largest cost
    # of dispatching one (the packaged templates do not change while critica runs).
    return resources.files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8")
