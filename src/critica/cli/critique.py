"""``critica critique``: critique every item of a file, streaming JSON critiques as they complete."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from critica.aggregate.spec import scaling_config, scaling_summary, wrap_critic
from critica.backends.registry import create_caller
from critica.cli import INTERRUPTED, app
from critica.cli.common import (
    ApiKeyFileOpt,
    ApiKeyOpt,
    BaseUrlOpt,
    ConcurrencyOpt,
    ItemMaxCharsOpt,
    ItemTimeoutOpt,
    JsonlSink,
    ModelOpt,
    RetriesOpt,
    TimeoutOpt,
    VoteOpt,
    budget_from,
    done_ids,
    err_console,
    limited,
    open_out,
    resume_command,
    settings_from,
    skip_done,
)
from critica.critics.registry import available_critics, build_critic
from critica.errors import UserError
from critica.inputs.load import ReadLimits, parse_mapping, read_items
from critica.run.batch import count_records
from critica.run.runner import RunStats, run_critic


def _critic_help() -> str:
    return "Critic protocol: " + ", ".join(f"{n} ({s.summary})" for n, s in sorted(available_critics().items()))


@app.command()
def critique(
    input: Path = typer.Argument(..., help="JSONL file or JSON array of items (ProcessBench layout works as is)."),
    critic: str = typer.Option(None, "--critic", help="Default: processbench with a model, verifier without. " + _critic_help()),
    model: str = ModelOpt,
    base_url: str = BaseUrlOpt,
    api_key: str = ApiKeyOpt,
    api_key_file: Path = ApiKeyFileOpt,
    out: Path = typer.Option(None, "--out", "-o", help="Write critiques here (JSONL); default stdout."),
    limit: int = typer.Option(None, "--limit", "-n", help="Critique only the first N items."),
    concurrency: int = ConcurrencyOpt,
    timeout: float = TimeoutOpt,
    retries: int = RetriesOpt,
    field_map: list[str] = typer.Option(None, "--map", help="Field mapping ITEM_FIELD=SOURCE_FIELD (repeatable), e.g. --map question=prompt."),
    temperature: float = typer.Option(0.0, "--temperature", help="Sampling temperature."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="Completion token limit per call."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed."),
    structured: bool = typer.Option(True, "--json/--text", help="Ask for schema-constrained JSON (default) or the protocol's free-text format."),
    samples: int = typer.Option(None, "--samples", help="Sample K critiques per item and vote (use --temperature > 0); the maximum with --adaptive."),
    vote: str = VoteOpt,
    adaptive: bool = typer.Option(False, "--adaptive", help="Sample in rounds and stop once more samples cannot change the vote."),
    meta_critic: str = typer.Option(None, "--meta-critic", help="Critic that rates each sample (e.g. meta); only the best half vote."),
    panel: str = typer.Option(None, "--panel", help="Panel of critics: CRITIC[@MODEL][*K],...[;method=majority|mean|exam][;exam=processbench/gsm8k:20][;cut=0.6]."),
    cascade: str = typer.Option(None, "--cascade", help="Cheap critics tried first: CRITIC[@MODEL][*K],...[;threshold=0.75]; escalate when unsure."),
    scaling_file: Path = typer.Option(None, "--scaling-config", help="TOML/JSON file with samples/adaptive/meta_critic/panel/cascade (flags override)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not replay or record backend calls in the call cache ($CRITICA_HOME/critica.db)."),
    resume: bool = typer.Option(False, "--resume", help="With --out: keep the critiques already in the file, critique only the items it lacks (failed critiques are dropped from it and critiqued again), append."),
    item_max_chars: int = ItemMaxCharsOpt,
    item_timeout: float = ItemTimeoutOpt,
) -> None:
    """Critique every item of INPUT; one JSON critique per line, a progress bar, and a summary table at the end.

    Exits 1 when any record was malformed or any item failed — a backend call, or a panel, cascade or vote member,
    failed, or the item was over its budget (after all other items are done; the failed items are written too, with
    the error). Ctrl-C stops at once (exit 130): every line written stays complete, and the summary says how to
    resume (--resume, which also critiques the failed items again).
    """
    if resume and out is None:
        raise UserError("--resume needs --out FILE: the critiques to keep are read from it")
    from critica.redact import Redactor

    settings = settings_from(model=model, base_url=base_url, api_key=api_key, api_key_file=api_key_file, timeout=timeout,
                             retries=retries, concurrency=concurrency, item_max_chars=item_max_chars,
                             item_timeout=item_timeout)
    budget = budget_from(settings)
    conc = settings.concurrency or 4
    caller = None
    if settings.model:
        caller = create_caller(settings.model, settings, concurrency=conc)
        if not no_cache:
            from critica.backends.cache import SqliteCache

            caller.cache = SqliteCache()
    name = critic or ("processbench" if caller is not None else "verifier")
    options = {} if caller is None else {"temperature": temperature, "max_tokens": max_tokens, "seed": seed, "structured": structured}
    built = build_critic(name, caller, **options)
    built = wrap_critic(built, scaling_config(samples=samples, adaptive=adaptive, meta_critic=meta_critic, panel=panel, cascade=cascade, vote=vote, config_file=scaling_file), caller=caller, settings=settings, options=options, concurrency=conc, warn=lambda m: err_console.print(f"[yellow]{m}[/yellow]"))
    retried: list[str] = []
    done = done_ids(out, retried) if resume and out is not None else set()
    skipped = [0]
    records = skip_done(limited(read_items(input, parse_mapping(field_map), limits=ReadLimits.from_settings(settings)),
                                limit), done, skipped)
    stream = open_out(out, append=resume)
    sink = JsonlSink(stream, redactor=Redactor([settings.api_key]))
    live: list[RunStats] = []
    try:
        total = count_records(input) if input.is_file() else None
        if limit is not None:
            total = limit if total is None else min(limit, total)
        if total is not None and done:
            total = max(0, total - len(done))
        stats = _run_with_progress(built, records, sink, conc, total=total, live=live, budget=budget)
    except KeyboardInterrupt:
        stats = live[0] if live else RunStats()
        _summary(stats, name, settings.model, title="interrupted")
        where = f"in {out}" if out is not None else "on stdout"
        err_console.print(f"[yellow]interrupted: {stats.items} critique(s) written {where} (each line complete)"
                          + (f", {skipped[0]} kept from before" if skipped[0] else "") + "[/yellow]")
        if out is not None:
            err_console.print(f"resume with: {resume_command('--resume')}", highlight=False, markup=False)
        else:
            err_console.print("to make a run resumable, write to a file: --out FILE, then add --resume", highlight=False)
        raise typer.Exit(INTERRUPTED) from None
    finally:
        if out is not None:
            stream.close()
    if skipped[0] or retried:
        err_console.print(f"resumed: {skipped[0]} item(s) already in {out} were skipped"
                          + (f"; {len(retried)} failed critique(s) were dropped from it, to be critiqued again"
                             if retried else ""))
    _summary(stats, name, settings.model)
    if caller is not None and caller.cache is not None:
        cs = caller.cache_stats
        err_console.print(f"call cache: {cs.hits} hit(s), {cs.misses} miss(es), {cs.saved.total_tokens} token(s) not re-spent (--no-cache to bypass)")
    for line in scaling_summary(built):
        err_console.print(line)
    failures = stats.input_errors + stats.failed_items
    if failures:
        over = f", {stats.over_budget} item(s) over budget" if stats.over_budget else ""
        err_console.print(f"[red]{stats.input_errors} malformed record(s), {stats.failed_items} failed item(s) "
                          f"({stats.usage.failed_calls} failed call(s)){over}[/red]", highlight=False)
        raise typer.Exit(1)


def _run_with_progress(critic, records, sink, concurrency: int, total: int | None, live: list[RunStats],
                       budget=None) -> RunStats:
    progress = Progress(
        TextColumn("[bold]critiquing"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} items/s"), TextColumn("{task.fields[tokens]} tok"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=err_console, transient=False,
    )
    task = progress.add_task("critique", total=total, rate="0.00", tokens=0)

    def on_result(stats: RunStats, _result: object) -> None:
        if not live:  # the run's totals, kept for the partial summary should the run be interrupted
            live.append(stats)
        rate = stats.items / stats.wall_s if stats.wall_s > 0 else 0.0
        progress.update(task, completed=stats.items + stats.input_errors, rate=f"{rate:.2f}", tokens=stats.usage.spent_tokens)

    from critica.run.interrupt import run_interruptible

    with progress:
        return run_interruptible(_run(critic, records, sink, concurrency, on_result, budget))


async def _run(critic, records, sink, concurrency, on_result, budget=None) -> RunStats:
    try:
        return await run_critic(critic, records, sink, concurrency=concurrency, progress=on_result, budget=budget)
    finally:
        caller = getattr(critic, "caller", None)
        if caller is not None:
            await caller.aclose()


def _summary(stats: RunStats, critic: str, model: str | None, title: str | None = None) -> None:
    table = Table(title=f"critica critique — {critic}" + (f" on {model}" if model else "") + (f" ({title})" if title else ""),
                  show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    rate = stats.items / stats.wall_s if stats.wall_s > 0 else 0.0
    rows = [
        ("items critiqued", stats.items),
        ("correct", stats.verdicts.get("correct", 0)),
        ("incorrect", stats.verdicts.get("incorrect", 0)),
        ("  first error step named", stats.first_error_named),
        ("unscored", stats.verdicts.get("unscored", 0)),
        ("  parsed, no verdict (tie, inconsistent)", stats.no_verdict),
        ("  unparseable output", max(0, stats.parse_status.get("failed", 0) - stats.backend_errors - stats.over_budget)),
        ("  over the item budget (size or time)", stats.over_budget),
        ("parsed after repair", stats.parse_status.get("repaired", 0)),
        ("malformed input records", stats.input_errors),
        ("failed items (error or a failed call/member)", stats.failed_items),
        ("failed calls", stats.usage.failed_calls),
        ("mean latency per item", f"{stats.mean_latency_s:.2f} s"),
        ("tokens spent (prompt + completion)", f"{stats.usage.spent_prompt_tokens} + {stats.usage.spent_completion_tokens}"),
        ("tokens replayed from the call cache", f"{stats.usage.replayed_prompt_tokens} + {stats.usage.replayed_completion_tokens}"
                                                f" ({stats.usage.replayed_calls} call(s))"),
        ("wall time / throughput", f"{stats.wall_s:.1f} s / {rate:.2f} items/s"),
    ]
    for k, v in rows:
        table.add_row(k, str(v))
    err_console.print(table)

