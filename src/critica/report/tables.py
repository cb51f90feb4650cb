"""Benchmark figures as Markdown tables, and the comparison of two runs' figures.

Works on plain row dictionaries (``BenchResult.rows`` or the ``rows`` of a ``--json-out`` file), so any suite's
figures render the same way: one column per metric present in the rows, in a stable preferred order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["PREFERRED_COLUMNS", "columns_of", "format_value", "markdown_table", "compare_rows", "compare_table"]

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
_PERCENT = {"acc_erroneous", "acc_correct", "f1", "f1_ci", "f1_mean_of_splits", "precision_solution", "precision_step",
            "precision_step_ci", "false_alarm_rate", "recall_exact", "recall_solution", "prm_score",
            "flag_in_error_steps", "accuracy", "macro_f1", "f1_negative", "f1_positive", "precision_bound",
            "precision_step_earliest", "recall_earliest"}


def columns_of(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> list[str]:
    """Columns to show: ``columns`` if given, else the preferred ones present, then any other scalar ones."""
    if columns:
        return list(columns)
    present = {k for r in rows for k in r}
    cols = [c for c in PREFERRED_COLUMNS if c in present]
    extra = sorted({k for r in rows for k, v in r.items() if k not in cols and isinstance(v, (int, float, str))
                    and k not in SECONDARY})
    return cols + extra


def format_value(key: str, value: Any) -> str:
    """A cell: percentages for rates, ``[lo, hi]`` for intervals, ``–`` for undefined."""
    if value is None:
        return "–"
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        if key in _PERCENT:
            return f"[{value[0] * 100:.1f}, {value[1] * 100:.1f}]"
        return f"[{value[0]:.3g}, {value[1]:.3g}]"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value * 100:.1f}%" if key in _PERCENT else f"{value:.3g}"
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table of ``rows``."""
    cols = columns_of(rows, columns)
    head = "| " + " | ".join(_SHORT.get(c, c) for c in cols) + " |"
    rule = "|" + "|".join("---" if c == "split" else "---:" for c in cols) + "|"
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
    """Markdown table of :func:`compare_rows` output, each value formatted as its metric (rates in %)."""
    rows = [{key: d[key], "metric": _SHORT.get(d["metric"], d["metric"]),
             "A": format_value(d["metric"], d["a"]), "B": format_value(d["metric"], d["b"]),
             "B − A": format_value(d["metric"], d["delta"])} for d in diff]
    return markdown_table(rows, [key, "metric", "A", "B", "B − A"])
