"""``critica critics``: the registered critics, listed without importing any of them (nor the engine)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from critica.cli import app
from critica.critics.registry import available_critics


@app.command("critics")
def critics_cmd() -> None:
    """List the available critics and whether they need a model."""
    table = Table(title="critics")
    table.add_column("name")
    table.add_column("needs model")
    table.add_column("what it does")
    for name, spec in sorted(available_critics().items()):
        table.add_row(name, "yes" if spec.needs_model else "no", spec.summary)
    # The listing is the command's result: stdout, as every result table (critica.report.tables). Not
    # critica.cli.common's console: that module brings the settings and the data model with it.
    Console(soft_wrap=True).print(table)
