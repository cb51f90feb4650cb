"""Replay published critic/judge generations through critica's parsers and metrics, without calling a model.

``rescore(format, path)`` reads a file of raw generations in a released layout (or the generic ``jsonl``), turns
each item into a :class:`~critica.types.Critique` and computes the benchmark's figures: the authors' rule for
comparability with the paper, and ``critica_*`` figures from critica's own parser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from critica.rescore.base import RescoreResult, available_formats, get_adapter

__all__ = ["rescore", "RescoreResult", "available_formats"]


def rescore(format: str, path: str | Path, **options: Any) -> RescoreResult:
    """Replay ``path`` with the adapter for ``format`` (see :func:`available_formats`).

    Raises:
        UserError: unknown format, missing or unreadable file. Malformed records do not raise: they are in
            ``result.errors`` and the rest is scored.
    """
    return get_adapter(format)(path, **options)
