"""``critica rescore``: replay published critic outputs through critica's parsers and metrics (no model calls)."""

from __future__ import annotations

from pathlib import Path

import typer

from critica.cli import app
from critica.cli.common import err_console
from critica.cli.progress import Progress
from critica.report.tables import print_result
from critica.rescore import available_formats, rescore
from critica.rescore.base import RescoreResult
from critica.rescore.report import figures_table, write_json


def _format_help() -> str:
    return "Format: " + "; ".join(f"{k} ({v})" for k, v in available_formats().items())


@app.command("rescore")
def rescore_cmd(
    format: str = typer.Argument(..., help="llmbar, judgebench, realcritic, mr-gsm8k or jsonl."),
    path: Path = typer.Argument(..., help="The released file (a directory: every result file of that format in it)."),
    json_out: Path = typer.Option(None, "--json-out", help="Write the figures as JSON here."),
    run: str = typer.Option(None, "--run", help="Store the replayed critiques in the store under this run name."),
    parser: str = typer.Option(None, "--parser", help="jsonl only: arena, llmbar, mr-gsm8k or boxed (default arena)."),
    rule: str = typer.Option(None, "--rule", help="llmbar only: force the winner regexes (line-start or is-better)."),
    strategy: str = typer.Option(None, "--strategy", help="llmbar only: LLM/Strategy (e.g. GPT-4/CoT) when the path does not say."),
    mcc: float = typer.Option(None, "--mcc", help="mr-gsm8k only: published task-1 MCC, for the MR-Scores."),
    step: float = typer.Option(None, "--step", help="mr-gsm8k only: published task-2 Step accuracy, in percent."),
) -> None:
    """Re-score raw generations as released: a table of figures (authors' rule and critica's), JSON with --json-out.

    Exits 1 when any record was malformed (after every other record is scored).
    """
    options = {k: v for k, v in {"parser": parser, "rule": rule, "strategy": strategy, "mcc": mcc, "step": step}.items() if v is not None}
    files = _files(format, path)
    results: list[RescoreResult] = []
    # A directory of released files can take minutes: progress on stderr, the figures on stdout.
    progress = Progress(f"rescore {format}", total=len(files), unit="files", console=err_console)
    with progress:
        for f in files:
            results.append(rescore(format, f, **options))
            progress.advance()
    for result in results:
        # The figures are the command's result: stdout, as every command prints its result table.
        print_result(figures_table(result))
        for note in result.notes:
            print_result(f"  [dim]{note}[/dim]")
        for e in result.errors:
            err_console.print(f"[red]input error[/red] {e}", highlight=False)
    if json_out is not None:
        write_json(results, json_out)
    if run:
        _store(run, format, results)
    bad = sum(len(r.errors) for r in results)
    if bad:
        err_console.print(f"[red]{bad} malformed record(s); every other record was scored[/red]")
        raise typer.Exit(1)


_PATTERNS = {"llmbar": "result.json", "judgebench": "*.jsonl", "realcritic": "*critic_and_correct*.jsonl",
             "mr-gsm8k": "*_eval_results.json", "jsonl": "*.jsonl"}


def _files(format: str, path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    pattern = _PATTERNS.get(format.lower().replace("_", "-"), "*")
    found = sorted(p for p in path.rglob(pattern) if p.is_file())
    if not found:
        from critica.errors import UserError

        raise UserError(f"{path}: no {pattern} files for format {format}")
    return found


def _store(run: str, format: str, results: list[RescoreResult]) -> None:
    from critica.store import Store

    with Store.open() as store:
        store.create_run(run, {"format": format, "paths": [r.path for r in results]}, protocol=f"rescore:{format}",
                         source=", ".join(r.path for r in results))
        added = 0
        for r in results:
            for c in r.critiques:
                # One run holds one critique per item id: several files need their path in the id.
                if len(results) > 1:
                    c = c.model_copy(update={"item_id": f"{r.path}#{c.item_id}"})
                added += store.add_critique(run, c)
            for e in r.errors:
                store.add_input_error(run, e)
        store.finish_run(run, {"figures": [r.figures for r in results], "critiques": added})
    err_console.print(f"stored {added} critique(s) in run [bold]{run}[/bold]")
