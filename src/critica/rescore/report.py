"""Rendering replay figures: a Rich table for people, JSON for machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from critica.report.files import atomic_write_text
from critica.report.tables import format_value
from critica.rescore.base import RescoreResult

__all__ = ["figures_table", "write_json"]


def _fmt(key: str, v: Any) -> str:
    # Replayed figures are on the papers' 0-100 scale; formatted as every other critica table formats them.
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt(k, x)}" for k, x in v.items())
    if isinstance(v, list):
        return f"{len(v)} record(s)"
    return format_value(key, v, percent_scale=True)


def figures_table(result: RescoreResult) -> Table:
    """The figures as a two-column table (plus a "published" column when the authors stored figures beside the file)."""
    table = Table(title=f"critica rescore {result.format} — {result.path}", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    if result.published:
        table.add_column("published", justify="right")
        table.add_column("match")
    for key, value in result.figures.items():
        row = [key, _fmt(key, value)]
        if result.published:
            pub = result.published.get(key)
            row += [_fmt(key, pub) if pub is not None else "", "" if pub is None else ("✓" if pub == value else "✗")]
        table.add_row(*row)
    return table


def write_json(results: list[RescoreResult], path: Path) -> None:
    """Write one result's JSON object (or a list for several) to ``path``."""
    data: Any = results[0].to_json() if len(results) == 1 else [r.to_json() for r in results]
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")  # complete or absent, never cut short
