"""Every table critica prints: benchmark figures (Markdown), summaries and listings (Rich), run comparisons.

One module so every command looks alike (issue 16):

* **Where**: a table that is the command's result goes to stdout (``bench``, ``rescore``, ``critics``, ``runs list``,
  ``runs show``, ``runs rank``), so it can be redirected or piped. The summary of a run whose results go elsewhere
  (``critique`` writes JSONL on stdout, ``batch`` into the store) goes to stderr with the progress and the warnings.
* **Numbers**: a rate (accuracy, precision, recall, F1, a share) is a percentage with one decimal, ``93.5%``,
  whatever scale it was computed on; its interval ``[88.1, 96.2]%``; a difference of two rates is in percentage
  points, ``+9.8 pts``. Counts and tokens are integers with thousands separators, ``1,310``. Other figures (a
  correlation, a score, a latency) keep three significant digits, never an exponent.
* **Columns**: the preferred order of :data:`PREFERRED_COLUMNS`, then the others in the order the rows state them
  (``acc_before`` before ``acc_after``), never alphabetically.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

__all__ = [
    "PREFERRED_COLUMNS", "columns_of", "is_rate", "format_value", "format_delta", "format_count", "markdown_table",
    "grouped_tables", "compare_rows", "compare_table", "key_value_table", "rows_table", "print_result",
]

PREFERRED_COLUMNS = [
    "split", "n", "acc_erroneous", "acc_correct", "f1", "f1_ci", "flags", "located", "precision_solution",
    "precision_step", "false_alarm_rate", "recall_exact", "precision_bound", "precision_step_earliest",
    "recall_earliest", "prm_score", "flag_in_error_steps", "unscored", "unchecked",
]
# Kept in the JSON, left out of the terminal table unless asked for.
SECONDARY = {"n_erroneous", "n_correct", "f1_mean_of_splits", "precision_step_ci", "recall_solution", "items_per_s",
             "flags_exact", "flags_early", "flags_late", "false_alarms", "steps", "f1_negative", "f1_positive",
             "step_precision_negative", "step_recall_negative", "bounded"}
_SHORT = {
    "n_erroneous": "n_err", "n_correct": "n_cor", "acc_erroneous": "acc_err", "acc_correct": "acc_cor",
    "precision_solution": "prec_sol", "precision_step": "prec_step", "precision_step_ci": "prec_step 95% CI",
    "false_alarm_rate": "FA", "recall_exact": "recall", "recall_solution": "recall_sol", "f1_ci": "F1 95% CI",
    "f1_mean_of_splits": "avg F1", "flag_in_error_steps": "flag∈err", "items_per_s": "items/s", "f1": "F1",
    "precision_bound": "prec_bound", "precision_step_earliest": "prec_step@earliest",
    "recall_earliest": "recall@earliest",
}
_RATES = {"prm_score", "flag_in_error_steps", "agreement", "macro_f1", "s_r_auto", "s_r_manual", "order_consistency"}
_RATE_PATTERN = re.compile(r"(^|_)(acc|accuracy|precision|prec|recall|f1|rate|share|agreement)(_|$)|^Meta-|^sel_acc",
                           re.IGNORECASE)
_FRACTION_OF_ROWS = {"unscored", "unchecked"}
"""Counts in most rows; a float there is the share of the items (the scaling table's ``unscored``)."""


def is_rate(key: str, value: Any = None) -> bool:
    """Whether figure ``key`` is a rate (shown as a percentage): by its name, or a share where counts are usual."""
    base = key[:-3] if key.endswith("_ci") else key
    if base in _RATES or _RATE_PATTERN.search(base):
        return True
    return base in _FRACTION_OF_ROWS and isinstance(value, float)


def _is_count(key: str) -> bool:
    return "token" in key.lower() or key in ("n", "items", "records", "calls")


def format_count(value: float) -> str:
    """``1310.4`` → ``1,310``."""
    return f"{round(value):,}"


def _plain(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value == 0 or abs(value) >= 0.001:
        text = f"{value:.3g}"
        return text if "e" not in text else f"{value:.2f}"
    return f"{value:.1e}"


def format_value(key: str, value: Any, *, percent_scale: bool = False) -> str:
    """A cell of figure ``key``: see the module docstring. ``percent_scale``: rates are already on 0-100 (as the
    papers that ``critica rescore`` reproduces print them), not fractions."""
    if value is None:
        return "–"
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    scale = 1 if percent_scale else 100
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        if is_rate(key, 0.0):
            return f"[{value[0] * scale:.1f}, {value[1] * scale:.1f}]%"
        return f"[{_plain(value[0])}, {_plain(value[1])}]"
    if isinstance(value, float) and is_rate(key, value):
        return f"{value * scale:.1f}%"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return format_count(value) if _is_count(key) else _plain(value)
    return str(value)


def format_delta(key: str, delta: float, *, percent_scale: bool = False) -> str:
    """A difference B − A: percentage points for rates (``+9.8 pts``), else signed like its figure."""
    if is_rate(key, 0.0):
        return f"{delta * (1 if percent_scale else 100):+.1f} pts"
    if isinstance(delta, int) or _is_count(key):
        return f"{round(delta):+,}"
    text = _plain(delta)
    return text if text.startswith("-") else "+" + text


def columns_of(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> list[str]:
    """Columns to show: ``columns`` if given, else the preferred ones present, then any other scalar ones in the
    order the rows first state them."""
    if columns:
        return list(columns)
    present = {k for r in rows for k in r}
    cols = [c for c in PREFERRED_COLUMNS if c in present]
    seen = set(cols)
    for r in rows:
        for k, v in r.items():
            if k not in seen and k not in SECONDARY and isinstance(v, (int, float, str)):
                seen.add(k)
                cols.append(k)
    return cols


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table of ``rows``."""
    cols = columns_of(rows, columns)
    head = "| " + " | ".join(_SHORT.get(c, c) for c in cols) + " |"
    rule = "|" + "|".join("---" if c in ("split", "metric") else "---:" for c in cols) + "|"
    body = ["| " + " | ".join(format_value(c, r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def grouped_tables(rows: Sequence[dict[str, Any]], groups: Sequence[Sequence[str]] | None) -> str:
    """Markdown tables of ``rows``: with ``groups`` (column lists), each row goes to the first group that has all of
    its keys and each group prints its rows in its column order (intervals included); rows no group fits are printed
    by :func:`markdown_table`, as are all rows without groups."""
    if not groups:
        return markdown_table(rows)
    placed: list[list[dict[str, Any]]] = [[] for _ in groups]
    rest = []
    for r in rows:
        home = next((i for i, cols in enumerate(groups) if set(r) <= set(cols)), None)
        (rest if home is None else placed[home]).append(r)
    out = [markdown_table(sub, cols) for sub, cols in zip(placed, groups, strict=True) if sub]
    if rest:
        out.append(markdown_table(rest))
    return "\n\n".join(out)


def compare_rows(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], key: str = "split") -> list[dict[str, Any]]:
    """Per split, each numeric figure of run A, run B and B − A (splits matched by ``key``)."""
    by_b = {r.get(key): r for r in b}
    out = []
    for ra in a:
        rb = by_b.get(ra.get(key))
        if rb is None:
            continue
        for metric in columns_of([ra]):
            va, vb = ra.get(metric), rb.get(metric)
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not isinstance(va, bool):
                out.append({key: ra.get(key), "metric": metric, "a": va, "b": vb, "delta": vb - va})
    return out


def compare_table(diff: Sequence[dict[str, Any]], key: str = "split") -> str:
    """Markdown table of :func:`compare_rows` output: each value formatted as its metric, B − A of a rate in
    percentage points."""
    rows = [{key: d[key], "metric": _SHORT.get(d["metric"], d["metric"]),
             "A": format_value(d["metric"], d["a"]), "B": format_value(d["metric"], d["b"]),
             "B − A": format_delta(d["metric"], d["delta"])} for d in diff]
    return markdown_table(rows, [key, "metric", "A", "B", "B − A"])


def key_value_table(title: str, rows: Iterable[tuple[str, Any]]) -> Table:
    """A two-column Rich table (figure, value) for a command's summary; values are formatted by their figure name
    unless already text."""
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(k, v if isinstance(v, str) else format_value(k, v))
    return table


def rows_table(title: str | None, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, *,
               percent_scale: bool = False) -> Table:
    """A Rich table of ``rows`` (one column per figure, the order of :func:`columns_of`), cells as Markdown tables
    format them."""
    from rich.table import Table

    cols = columns_of(rows, columns)
    table = Table(title=title, title_justify="left")
    for c in cols:
        table.add_column(_SHORT.get(c, c), justify="left" if c in ("split", "name", "figure") else "right")
    for r in rows:
        table.add_row(*[format_value(c, r.get(c), percent_scale=percent_scale) for c in cols])
    return table


def print_result(*renderables: Any) -> None:
    """Print a command's result (tables, their notes) on stdout."""
    from rich.console import Console

    Console(soft_wrap=True, highlight=False).print(*renderables)
