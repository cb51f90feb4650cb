"""``critica runs list|show|export|rank|rm|compare``: stored runs, read and exported through the Python API."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from critica.cli import app
from critica.cli.common import dumps, err_console
from critica.errors import UserError
from critica.report import export as ex
from critica.report.tables import print_result
from critica.store import Store

runs_app = typer.Typer(help="List, inspect, export and remove stored runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

DbOpt = typer.Option(None, "--db", help="Store file (default $CRITICA_HOME/critica.db).")


def _need(store: Store, name: str):
    info = store.get_run(name)
    if info is None:
        raise UserError(f"no run named {name!r} (see: critica runs list)")
    return info


@runs_app.command("list")
def list_cmd(db: Path = DbOpt, as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """All stored runs, newest first."""
    with Store.open(db) as store:
        runs = store.list_runs()
    if as_json:
        typer.echo(dumps([r.model_dump() for r in runs]))
        return
    table = Table(title="runs")
    for col in ("name", "critic", "model", "source", "status", "critiques", "failed", "bad records", "started"):
        table.add_column(col)
    for r in runs:
        table.add_row(r.name, r.protocol or "", r.model or "", r.source or "", r.status, str(r.critiques),
                      f"[red]{r.failed}[/red]" if r.failed else "0", str(r.input_errors), r.started_at)
    print_result(table)


@runs_app.command("show")
def show_cmd(
    name: str = typer.Argument(..., help="Run name."),
    db: Path = DbOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    errors: int = typer.Option(10, "--errors", help="Show at most this many malformed input records."),
) -> None:
    """A run's settings, verdict counts, totals and malformed input records."""
    with Store.open(db) as store:
        info = _need(store, name)
        verdicts = store.verdict_counts(name)
        bad = store.input_errors(name)
    if as_json:
        typer.echo(dumps({**info.model_dump(), "verdicts": verdicts, "bad_records": [e.model_dump() for e in bad]}))
        return
    table = Table(title=f"run {name}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for k, v in [("critic", info.protocol), ("model", info.model), ("source", info.source), ("status", info.status),
                 ("started / ended", f"{info.started_at} / {info.ended_at or '-'}"), ("critiques", info.critiques),
                 ("verdicts", ", ".join(f"{k}: {v}" for k, v in sorted(verdicts.items())) or "-"),
                 ("failed items (retried when the batch is resumed)", info.failed),
                 ("malformed input records", info.input_errors), ("config", dumps(info.config)),
                 ("totals", dumps(info.totals))]:
        table.add_row(k, str(v if v is not None else "-"))
    print_result(table)
    for e in bad[:errors]:
        where = f"{e.source}:{e.location}" + (f" field '{e.field}'" if e.field else "")
        err_console.print(f"[red]bad record[/red] {where}: {e.reason}", highlight=False)
    if len(bad) > errors:
        err_console.print(f"… and {len(bad) - errors} more (--errors N)")


@runs_app.command("export")
def export_cmd(
    name: str = typer.Argument(..., help="Run name."),
    out: Path = typer.Option(None, "--out", "-o", help="Output file; default stdout (not for parquet)."),
    fmt: str = typer.Option(None, "--format", "-f", help="jsonl (critiques, default), parquet (critiques), dpo, kto, listwise, sft. Default from --out's suffix."),
    with_items: bool = typer.Option(False, "--with-items", help="jsonl: add each critique's item."),
    min_margin: float = typer.Option(0.0, "--min-margin", help="dpo: minimum normalised score difference of a pair."),
    best_worst: bool = typer.Option(False, "--best-worst", help="dpo: only the best vs. the worst response per prompt."),
    threshold: float = typer.Option(0.5, "--threshold", help="kto: normalised score at or above which a response is desirable."),
    gold_key: str = typer.Option(None, "--gold-key", help="sft: keep only critiques that agree with the gold label item.metadata[KEY]: its verdict and, when it names one, its first wrong step (0-based; -1 = none)."),
    conversational: bool = typer.Option(False, "--conversational", help="dpo/kto/sft: message lists instead of strings (TRL conversational format)."),
    min_meta_f1: float = typer.Option(None, "--min-meta-f1", help="Keep only critiques whose MetaCritique Meta-F1 (vs the item's reference_critique) is at least this (0-1)."),
    meta_model: str = typer.Option(None, "--meta-model", help="With --min-meta-f1: judge with this model (the paper's prompts) instead of the offline judge."),
    db: Path = DbOpt,
) -> None:
    """Export a run: its critiques (one per line, with item_id), preference pairs, KTO rows, ranked lists or SFT records."""
    if min_meta_f1 is not None and not 0 <= min_meta_f1 <= 1:
        raise UserError(f"--min-meta-f1 must be between 0 and 1, not {min_meta_f1}")
    if meta_model and min_meta_f1 is None:
        raise UserError("--meta-model needs --min-meta-f1")
    fmt = fmt or ("parquet" if out is not None and out.suffix in (".parquet", ".pq") else "jsonl")
    if fmt not in ex.EXPORT_FORMATS:
        raise UserError(f"--format must be one of {', '.join(ex.EXPORT_FORMATS)}, not {fmt!r}")
    with Store.open(db) as store:
        _need(store, name)
        records = store.iter_records(name, with_items=with_items or fmt not in ("jsonl", "parquet") or min_meta_f1 is not None)
        meta_stats = None
        if min_meta_f1 is not None:
            records, meta_stats = _meta_filtered(records, min_meta_f1, meta_model)
        if fmt == "parquet":
            if out is None:
                raise UserError("--format parquet needs --out FILE")
            n = ex.write_parquet(ex.flat_critique_rows(records), out)
        else:
            rows = {
                "jsonl": lambda: ex.critique_rows(records, with_items=with_items),
                "dpo": lambda: ex.preference_pairs(records, min_margin=min_margin,
                                                   pairs="best-worst" if best_worst else "all", conversational=conversational),
                "kto": lambda: ex.kto_records(records, threshold=threshold, conversational=conversational),
                "listwise": lambda: ex.ranked_lists(records),
                "sft": lambda: ex.sft_records(records, gold_key=gold_key, conversational=conversational),
            }[fmt]()
            n = ex.write_jsonl(rows, out if out is not None else sys.stdout)
    err_console.print(f"wrote {n} {fmt} row(s)" + (f" to {out}" if out is not None else ""), highlight=False)
    if n == 0 and min_meta_f1 is None:
        with Store.open(db) as store:
            why = ex.why_no_rows(store.iter_records(name, with_items=True), fmt, min_margin=min_margin,
                                 gold_key=gold_key)
        err_console.print(f"[yellow]why: {why}[/yellow]", highlight=False)
    if meta_stats is not None:
        err_console.print(f"Meta-F1 ≥ {min_meta_f1:g}: kept {meta_stats.kept} critique(s), dropped {meta_stats.below} "
                          f"below and {meta_stats.unscored} unscored (no item, unscored critique or no reference critique)")


def _meta_filtered(records, threshold: float, meta_model: str | None):
    """``records`` through the Meta-F1 filter (:func:`critica.metacritique.filter.meta_f1_filter`), and its stats."""
    from critica.metacritique.filter import FilterStats, meta_f1_filter

    if meta_model:
        from critica.cli.common import settings_from
        from critica.cli.refine import make_caller
        from critica.metacritique.llm import LLMMetaJudge

        judge = LLMMetaJudge(make_caller(meta_model, settings_from(model=meta_model)))
    else:
        from critica.metacritique.offline import OfflineMetaJudge

        judge = OfflineMetaJudge()
    stats = FilterStats()
    return meta_f1_filter(records, threshold, judge, stats=stats), stats


@runs_app.command("rank")
def rank_cmd(
    name: str = typer.Argument(..., help="Run name."),
    by: str = typer.Option("model", "--by", help="Item metadata key naming the evaluated model of each item."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap intervals."),
    db: Path = DbOpt,
) -> None:
    """Rank the evaluated models of a run (PRE, arXiv:2401.15641): each model's mean score over its items, best
    first, with a 95 % bootstrap interval. Items name their model in metadata (--by, default "model")."""
    from critica.report.ranking import rank_models

    with Store.open(db) as store:
        _need(store, name)
        ranking = rank_models(store.iter_records(name, with_items=True), key=by, seed=seed)
    if not ranking.rows:
        raise UserError(f"no scored critique in run {name!r} is about an item with metadata {by!r}: nothing to rank")
    if as_json:
        typer.echo(dumps(ranking.model_dump()))
        return
    table = Table(title=f"models ranked by {ranking.score} — run {name}")
    for col in ("rank", by, "score", "95% CI", "judged correct", "items", "unscored"):
        table.add_column(col, justify="left" if col == by else "right")
    for r in ranking.rows:
        table.add_row(str(r.rank), r.model, f"{r.score:.3f}", f"[{r.ci[0]:.3f}, {r.ci[1]:.3f}]",
                      f"{r.correct_share:.1%}", str(r.items), str(r.unscored))
    print_result(table)
    if ranking.skipped:
        err_console.print(f"{ranking.skipped} critique(s) without an item carrying {by!r} were left out")


@runs_app.command("rm")
def rm_cmd(
    names: list[str] = typer.Argument(..., help="Run name(s)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    db: Path = DbOpt,
) -> None:
    """Remove runs with their items, critiques and input errors (the call cache is kept)."""
    with Store.open(db) as store:
        for name in names:
            info = _need(store, name)
            if not yes and not typer.confirm(f"remove run {name!r} with {info.critiques} critique(s)?"):
                continue
            store.delete_run(name)
            err_console.print(f"removed run {name}")


# The compare command lives in its own module (shared with the web UI's compare view through critica.bench.compare).
from critica.cli.runs_compare import compare_cmd  # noqa: E402

runs_app.command("compare")(compare_cmd)
