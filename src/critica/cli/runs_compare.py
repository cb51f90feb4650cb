"""``critica runs compare A B [C …]``: the compare view of the web UI on the command line — shared items (matched
by id and content), the verdict agreement matrix, each run's bench figures against gold on the shared items, and
the items where the runs disagree. Registered on ``critica runs`` by :mod:`critica.cli.runs`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from critica.bench.compare import compare_runs
from critica.cli.common import dumps
from critica.report.tables import format_value, print_result
from critica.store import Store


def _table(title: str) -> Table:
    return Table(title=title, title_justify="left")  # the style of every other result table (report.tables)


def compare_cmd(
    names: list[str] = typer.Argument(..., help="Two or more run names."),
    db: Path = typer.Option(None, "--db", help="Store file (default $CRITICA_HOME/critica.db)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    show: int = typer.Option(10, "--show", help="List at most this many items where the runs disagree."),
) -> None:
    """Compare runs over the same items: agreement, figures against gold labels, items where they disagree."""
    with Store.open(db) as store:
        c = compare_runs(store, names, disagreement=True, limit=show)
    if as_json:
        typer.echo(dumps(c.model_dump(mode="json")))
        return
    out: list = [f"{c.shared} shared item(s) (matched by id and content)"
              + (f", {c.changed} with the same id but other content (left out)" if c.changed else "")
              + f"; the runs disagree on {c.disagreements}."]
    for r in c.runs:
        out.append(f"  {r.name}: {r.critic or '?'} on {r.model or 'no model'}, {r.items} item(s), {r.only_here} not shared")
    matrix = _table("verdict agreement on shared items both scored")
    matrix.add_column("")
    for r in c.runs:
        matrix.add_column(r.name, justify="right")
    for i, (r, row) in enumerate(zip(c.runs, c.agreement, strict=True)):
        matrix.add_row(r.name, *("-" if i == j else f"{format_value('agreement', a.share)} of {a.n}" for j, a in enumerate(row)))
    out.append(matrix)
    kinds = [r.gold for r in c.runs if r.gold["kind"]]
    if kinds:
        figures = _table("against gold labels (shared items)")
        figures.add_column("figure")
        for r in c.runs:
            figures.add_column(r.name, justify="right")
        for key, name in kinds[0]["names"].items():
            values = [r.gold["figures"].get(key) for r in c.runs]
            if any(v is not None for v in values):
                figures.add_row(name, *(format_value(key, v) for v in values))
        figures.add_row("right / labelled", *(f"{r.gold['right']} / {r.gold['labelled']}" for r in c.runs))
        out.append(figures)
    else:
        out.append("The shared items carry no gold label: no figures against gold.")
    if c.items:
        items = _table(f"items where the runs disagree (first {len(c.items)} of {c.total})")
        items.add_column("item")
        items.add_column("gold")
        for r in c.runs:
            items.add_column(r.name)
        for it in c.items:
            cells = []
            for v, step, right in zip(it.verdicts, it.first_errors, it.right, strict=True):
                mark = "" if right is None else (" ✓" if right else " ✗")
                cells.append(v + (f" @{step + 1}" if step is not None else "") + mark)
            items.add_row(it.item_id, it.gold["text"] if it.gold else "-", *cells)
        out.append(items)
    print_result(*out)
