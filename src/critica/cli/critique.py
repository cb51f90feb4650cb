"""``critica critique``: critique every item of a file, streaming JSON critiques as they complete."""

from __future__ import annotations

from pathlib import Path

import typer

from critica.aggregate.spec import scaling_config, scaling_summary, wrap_critic
from critica.backends.registry import create_caller
from critica.cli import INTERRUPTED, app
from critica.cli.common import (
    ApiKeyFileOpt,
    ApiKeyOpt,
    BaseUrlOpt,
    ConcurrencyOpt,
    CriticOpt,
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
from critica.cli.progress import Progress
from critica.critics.registry import build_critic
from critica.errors import InputError, UserError
from critica.inputs.load import ReadLimits, parse_mapping, read_items
from critica.redact import RedactingSink
from critica.report.tables import key_value_table
from critica.run.batch import count_records
from critica.run.runner import RunStats, run_critic
from critica.types import Critique, Item


@app.command()
def critique(
    input: Path = typer.Argument(..., help="JSONL file or JSON array of items (ProcessBench layout works as is)."),
    critic: str = CriticOpt,
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
    run: str = typer.Option(None, "--run", "-r", help="Name of the stored run (default: critique-CRITIC-DATE-TIME); browse it with `critica serve` or `critica runs show`."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not keep this run in the store ($CRITICA_HOME/critica.db)."),
) -> None:
    """Critique every item of INPUT; one JSON critique per line, a progress bar, and a summary table at the end.

    Every run is also kept in the store (the name is printed at the end; --run NAME to choose it, --no-store to
    keep nothing), where `critica serve` and `critica runs` show it.

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
    redactor = Redactor([settings.api_key])
    stored = None if no_store else _open_stored_run(run, name, settings.model, input, resume, {
        "critic": name, "model": settings.model, "options": options, "input": str(input), "map": list(field_map or []),
        "limit": limit, "out": str(out) if out is not None else None,
        "scaling": {k: v for k, v in {"samples": samples, "vote": vote, "adaptive": adaptive or None,
                                      "meta_critic": meta_critic, "panel": panel, "cascade": cascade}.items() if v}})
    stream = open_out(out, append=resume)
    sink = JsonlSink(stream, redactor=redactor)
    if stored is not None:
        records = _remembered(records, stored.sink)
        sink = _Tee(sink, RedactingSink(stored.sink, redactor))
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
        if stored is not None:
            stored.close(stats, interrupted=True)
        where = f"in {out}" if out is not None else "on stdout"
        err_console.print(f"[yellow]interrupted: {stats.items} critique(s) written {where} (each line complete)"
                          + (f", {skipped[0]} kept from before" if skipped[0] else "") + "[/yellow]")
        if out is not None:
            err_console.print(f"resume with: {resume_command('--resume')}", highlight=False, markup=False)
        else:
            err_console.print("to make a run resumable, write to a file: --out FILE, then add --resume", highlight=False)
        raise typer.Exit(INTERRUPTED) from None
    except Exception:
        if stored is not None:
            stored.store.finish_run(stored.name, {"error": "the command stopped on an error"}, status="failed")
            stored.store.close()
        raise
    finally:
        if out is not None:
            stream.close()
    if skipped[0] or retried:
        err_console.print(f"resumed: {skipped[0]} item(s) already in {out} were skipped"
                          + (f"; {len(retried)} failed critique(s) were dropped from it, to be critiqued again"
                             if retried else ""))
    _summary(stats, name, settings.model)
    if stored is not None:
        stored.close(stats)
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
    progress = Progress("critique", total=total, console=err_console)

    def on_result(stats: RunStats, _result: object) -> None:
        if not live:  # the run's totals, kept for the partial summary should the run be interrupted
            live.append(stats)
        progress.update(stats.items + stats.input_errors, tokens=stats.usage.spent_tokens)

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
    title = f"critica critique — {critic}" + (f" on {model}" if model else "") + (f" ({title})" if title else "")
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
        ("tokens spent (prompt + completion)", f"{stats.usage.spent_prompt_tokens:,} + {stats.usage.spent_completion_tokens:,}"),
        ("tokens replayed from the call cache", f"{stats.usage.replayed_prompt_tokens:,} + {stats.usage.replayed_completion_tokens:,}"
                                                f" ({stats.usage.replayed_calls} call(s))"),
        ("wall time / throughput", f"{stats.wall_s:.1f} s / {rate:.2f} items/s"),
    ]
    err_console.print(key_value_table(title, rows))



# -- the stored run: every `critique` is kept, as `batch` keeps its runs -------------------------------------------


class _StoredRun:
    """The store and the run this invocation writes into, closed with the run's totals."""

    def __init__(self, store, name: str) -> None:
        self.store = store
        self.name = name
        self.sink = store.sink(name)

    def close(self, stats: RunStats, *, interrupted: bool = False) -> None:
        info = self.store.get_run(self.name)
        totals = {"critiques": info.critiques if info else 0, "failed": info.failed if info else 0,
                  "input_errors": info.input_errors if info else 0, "verdicts": self.store.verdict_counts(self.name),
                  "last_invocation": {"items": stats.items, "input_errors": stats.input_errors,
                                      "failed_items": stats.failed_items, **stats.usage.totals(),
                                      "wall_s": round(stats.wall_s, 3), "interrupted": interrupted}}
        self.store.finish_run(self.name, totals)
        self.store.close()
        err_console.print(f"stored as run [bold]{self.name}[/bold]: see it with `critica runs show {self.name}` or "
                          "`critica serve` (--no-store keeps nothing)", highlight=False)


def _open_stored_run(run: str | None, critic: str, model: str | None, input: Path, resume: bool,
                     config: dict) -> _StoredRun:
    from critica.store import Store

    store = Store.open()
    name = run or _generated_name(store, critic)
    existing = store.get_run(name)
    if existing is not None and not resume:
        store.close()
        raise UserError(f"run {name!r} already exists: choose another --run name, add --resume to carry it on, or "
                        f"remove it (critica runs rm {name})")
    if existing is not None and (existing.protocol, existing.model) != (critic, model):
        store.close()
        was = f"critic {existing.protocol!r}" + (f" with model {existing.model!r}" if existing.model else " without a model")
        now = f"critic {critic!r}" + (f" with model {model!r}" if model else " without a model")
        raise UserError(f"run {name!r} was made by {was}, not {now}: resume it with the same --critic/--model, or choose "
                        "another --run name")
    store.create_run(name, config, model=model, protocol=critic, source=str(input), exist_ok=True)
    return _StoredRun(store, name)


def _generated_name(store, critic: str) -> str:
    from datetime import datetime

    base = f"critique-{critic.replace(':', '-').replace('/', '-')}-{datetime.now():%Y%m%d-%H%M%S}"
    name, n = base, 1
    while store.get_run(name) is not None:  # two runs within a second
        n += 1
        name = f"{base}-{n}"
    return name


def _remembered(records, store_sink):
    """``records`` passed through, each item handed to the store sink first (stored with its critique)."""
    for rec in records:
        if isinstance(rec, Item):
            store_sink.remember(rec)
        yield rec


class _Tee:
    """A runner sink writing each result to the JSONL output and to the stored run."""

    def __init__(self, *sinks) -> None:
        self.sinks = sinks
        self.errors = sinks[0].errors

    def write(self, critique: Critique) -> None:
        for s in self.sinks:
            s.write(critique)

    def error(self, error: InputError) -> None:
        for s in self.sinks:
            s.error(error)
