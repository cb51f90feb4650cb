"""``critica batch``: a resumable, stored run over a large input (local or on Ray)."""

from __future__ import annotations

from pathlib import Path

import typer

from critica.aggregate.spec import scaling_config
from critica.cli import INTERRUPTED, app
from critica.cli.common import (
    ApiKeyFileOpt,
    ApiKeyOpt,
    BaseUrlOpt,
    ConcurrencyOpt,
    CriticOpt,
    ItemMaxCharsOpt,
    ItemTimeoutOpt,
    ModelOpt,
    RetriesOpt,
    TimeoutOpt,
    VoteOpt,
    budget_from,
    err_console,
    limited,
    resume_command,
    settings_from,
)
from critica.cli.progress import Progress
from critica.errors import UserError, did_you_mean
from critica.inputs.load import ReadLimits, parse_mapping
from critica.redact import RedactingSink, Redactor
from critica.report.tables import key_value_table
from critica.run.batch import BatchResult, CriticRecipe, count_records, iter_source, run_batch
from critica.run.ray import DEFAULT_CONNECT_TIMEOUT_S, RayOptions
from critica.run.runner import RunStats
from critica.store import Store


@app.command()
def batch(
    input: Path = typer.Argument(..., help="JSONL, JSON (array) or Parquet file of items; streamed, never loaded whole."),
    run: str = typer.Option(..., "--run", "-r", help="Run name. Running again with the same name resumes: stored items are skipped."),
    critic: str = CriticOpt,
    model: str = ModelOpt,
    base_url: str = BaseUrlOpt,
    api_key: str = ApiKeyOpt,
    api_key_file: Path = ApiKeyFileOpt,
    limit: int = typer.Option(None, "--limit", "-n", help="Only the first N items of the input."),
    concurrency: int = ConcurrencyOpt,
    timeout: float = TimeoutOpt,
    retries: int = RetriesOpt,
    field_map: list[str] = typer.Option(None, "--map", help="Field mapping ITEM_FIELD=SOURCE_FIELD (repeatable)."),
    temperature: float = typer.Option(0.0, "--temperature", help="Sampling temperature."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="Completion token limit per call."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed."),
    structured: bool = typer.Option(True, "--json/--text", help="Schema-constrained JSON (default) or the protocol's free-text format."),
    samples: int = typer.Option(None, "--samples", help="Sample K critiques per item and vote (use --temperature > 0)."),
    vote: str = VoteOpt,
    scaling_file: Path = typer.Option(None, "--scaling-config", help="TOML/JSON file with samples/reducer/adaptive/meta_critic/panel/cascade (flags override)."),
    executor: str = typer.Option("local", "--executor", help="local (this process) or ray (a Ray cluster)."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster: host:port of the head's GCS, ray://host:10001 or auto; default RAY_ADDRESS or a local instance."),
    ray_token_file: Path = typer.Option(None, "--ray-token-file", help="File holding the cluster's auth token (else RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token)."),
    ray_connect_timeout: float = typer.Option(DEFAULT_CONNECT_TIMEOUT_S, "--ray-connect-timeout", min=1.0, help="Seconds to reach the Ray cluster before giving up (exit 2, nothing run)."),
    ray_ship_code: bool = typer.Option(True, "--ray-ship-code/--no-ray-ship-code", help="Send this critica package to the Ray workers (its dependencies must be installed there)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not replay or record backend calls in the call cache."),
    db: Path = typer.Option(None, "--db", help="Store file (default $CRITICA_HOME/critica.db)."),
    item_max_chars: int = ItemMaxCharsOpt,
    item_timeout: float = ItemTimeoutOpt,
) -> None:
    """Critique every item of INPUT into the stored run NAME, committing each result as it completes.

    Killed at any moment (even with SIGKILL) and started again with the same --run, the job finishes with every
    item critiqued exactly once. Items whose calls failed, or that were over their budget, are stored as failed and
    critiqued again on the next run with the same --run. Malformed records are stored with their reason. Exits 1,
    after all other items are done, while the run holds failed items or malformed records.
    """
    if executor not in ("local", "ray"):
        raise UserError(f"--executor must be local or ray, not {executor!r}{did_you_mean(executor, ('local', 'ray'))}")
    settings = settings_from(model=model, base_url=base_url, api_key=api_key, api_key_file=api_key_file, timeout=timeout,
                             retries=retries, concurrency=concurrency, item_max_chars=item_max_chars,
                             item_timeout=item_timeout)
    budget = budget_from(settings)
    conc = settings.concurrency or 4
    name = critic or ("processbench" if settings.model else "verifier")
    options = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed, "structured": structured} if settings.model else {}
    scfg = scaling_config(samples=samples, vote=vote, config_file=scaling_file)
    scaling = scfg.model_dump(mode="json", exclude_defaults=True) if scfg.active else {}
    store = Store.open(db)
    recipe = CriticRecipe(
        critic=name, model=settings.model, options=options, concurrency=conc,
        settings=settings.model_dump(include={"base_url", "api_key", "timeout", "retries", "transport"}, exclude_none=True),
        cache_path=None if no_cache or settings.model is None else str(store.path), budget=budget, scaling=scaling,
    )
    config = {"critic": name, "model": settings.model, "options": options, "input": str(input), "executor": executor,
              "map": list(field_map or []), "limit": limit, "scaling": scaling,
              "item_budget": {"max_chars": budget.max_chars, "timeout_s": budget.timeout_s}}
    records = limited(iter_source(input, parse_mapping(field_map), limits=ReadLimits.from_settings(settings)), limit)
    ray_options = None
    if executor == "ray":
        # Joined before the run is opened: an unreachable cluster or a refused token stops here, in one line
        # (exit 2), before any run is opened or item marked done.
        from critica.run.ray import connect

        ray_options = RayOptions(address=ray_address, token_file=str(ray_token_file) if ray_token_file else None,
                                 connect_timeout_s=ray_connect_timeout, ship_code=ray_ship_code)
        joined = connect(ray_options)
        err_console.print(f"Ray cluster: {joined['nodes']} node(s), {joined['cpus']:g} CPU(s)", highlight=False)
    _open_run(store, run, config, name, settings.model, str(input))
    total = count_records(input)
    if limit is not None:
        total = min(total, limit) if total is not None else limit
    sink = store.sink(run)
    live: list[BatchResult] = []
    redactor = Redactor([settings.api_key])
    try:
        result = _run_with_progress(recipe, records, sink, run, executor, ray_options, total, live, redactor)
    except Exception as e:
        # Whatever stopped the job, the run must not stay 'running' forever: what was committed is kept, and
        # running the same command again resumes it. The error is stored, so the key comes out of it.
        store.finish_run(run, {"error": redactor.text(f"{type(e).__name__}: {e}")}, status="failed")
        raise
    except KeyboardInterrupt:
        # Every committed item stays committed; the run stays 'running', which is what resuming picks up.
        partial = live[0] if live else BatchResult(stats=RunStats())
        _summary(partial, run, store, sink.retried, title="interrupted")
        info = store.get_run(run)
        store.close()
        err_console.print(f"[yellow]interrupted: {partial.stats.items} item(s) committed to run {run!r} by this "
                          f"invocation, {info.critiques if info else 0} stored in all; the rest were not started or "
                          "not finished[/yellow]")
        err_console.print(f"resume with: {resume_command()}", highlight=False, markup=False)
        raise typer.Exit(INTERRUPTED) from None
    info = store.get_run(run)
    totals = {
        "critiques": info.critiques if info else 0, "failed": info.failed if info else 0,
        "input_errors": info.input_errors if info else 0,
        "verdicts": store.verdict_counts(run), "last_invocation": _invocation_totals(result, sink.retried),
    }
    store.finish_run(run, totals)
    _summary(result, run, store, sink.retried)
    store.close()
    # The exit code describes the run as it now stands, not just this invocation: a resume that skipped every
    # stored item still exits 1 while the run holds failed items or malformed records.
    if result.stats.over_budget:
        err_console.print(f"[red]{result.stats.over_budget} item(s) over budget (size or time): stored as "
                          "failed; raise --item-max-chars/--item-timeout and resume to critique them[/red]",
                          highlight=False)
    if result.lost:
        err_console.print(f"[red]{result.lost} item(s) were on a Ray node lost mid-run (after Ray's retries): not "
                          f"stored; run the same command again to critique them[/red]", highlight=False)
    if info is not None and (info.failed or info.input_errors):
        if info.failed:
            err_console.print(f"[red]run {run} holds {info.failed} failed item(s) (a backend call or panel member "
                              f"failed, or the item was over its budget): run the same command again to retry "
                              f"them[/red]", highlight=False)
        if info.input_errors:
            err_console.print(f"[red]run {run} holds {info.input_errors} malformed input record(s): "
                              f"see critica runs show {run}[/red]", highlight=False)
        raise typer.Exit(1)
    if result.lost:
        raise typer.Exit(1)


def _open_run(store: Store, run: str, config: dict, critic: str, model: str | None, source: str) -> None:
    existing = store.get_run(run)
    if existing is not None:
        if (existing.protocol, existing.model) != (critic, model):
            was = f"critic {existing.protocol!r}" + (f" with model {existing.model!r}" if existing.model else " without a model")
            now = f"critic {critic!r}" + (f" with model {model!r}" if model else " without a model")
            raise UserError(f"run {run!r} was made by {was}, not {now}: resume it with the same --critic/--model, "
                            "or choose another --run name")
        if existing.source != source:
            err_console.print(f"[yellow]run {run!r} was started on {existing.source}; resuming on {source}[/yellow]")
        err_console.print(f"resuming run [bold]{run}[/bold]: {existing.critiques} item(s) already stored")
    store.create_run(run, config, model=model, protocol=critic, source=source, exist_ok=True)


def _run_with_progress(recipe, records, sink, run, executor, ray_options, total, live: list[BatchResult],
                       redactor: Redactor) -> BatchResult:
    progress = Progress(f"batch {run}", total=total, console=err_console)

    def on_progress(stats: RunStats, skipped: int) -> None:
        # Kept for the partial summary should the run be interrupted.
        live[:] = [BatchResult(stats=stats, skipped=skipped)]
        progress.update(stats.items + stats.input_errors + skipped, tokens=stats.usage.spent_tokens, resumed=skipped)

    with progress:
        # The backend key is replaced in anything a critique carries before it is stored.
        return run_batch(recipe, records, RedactingSink(sink, redactor), executor=executor, ray=ray_options,
                         progress=on_progress)


def _invocation_totals(result: BatchResult, retried: int) -> dict:
    s = result.stats
    return {
        "items": s.items, "retried": retried, "skipped": result.skipped, "input_errors": s.input_errors,
        "failed_items": s.failed_items, "over_budget": s.over_budget,
        **s.usage.totals(),  # tokens and calls, spent and replayed apart
        "cache_hits": result.cache_hits, "cache_misses": result.cache_misses, "lost": result.lost,
        "wall_s": round(s.wall_s, 3),
    }


def _summary(result: BatchResult, run: str, store: Store, retried: int = 0, title: str | None = None) -> None:
    s = result.stats
    info = store.get_run(run)
    rate = s.items / s.wall_s if s.wall_s > 0 else 0.0
    title = f"critica batch — run {run}" + (f" ({title})" if title else "")
    u = s.usage
    rows = [
        ("items critiqued now", s.items),
        ("  retried (stored as failed before)", retried),
        ("skipped (already stored)", result.skipped),
        ("correct / incorrect / unscored", f"{s.verdicts.get('correct', 0)} / {s.verdicts.get('incorrect', 0)} / {s.verdicts.get('unscored', 0)}"),
        ("malformed input records", s.input_errors),
        ("failed items now (kept, retried on resume)", s.failed_items),
        ("  over the item budget (size or time)", s.over_budget),
        ("failed calls", u.failed_calls),
        ("tokens spent (prompt + completion)", f"{u.spent_prompt_tokens:,} + {u.spent_completion_tokens:,}"),
        ("tokens replayed from the call cache", f"{u.replayed_prompt_tokens:,} + {u.replayed_completion_tokens:,}"),
        ("cache hits / misses", f"{result.cache_hits} / {result.cache_misses}"),
        ("wall time / throughput", f"{s.wall_s:.1f} s / {rate:.2f} items/s"),
        ("stored in run (critiques / failed / bad records)",
         f"{info.critiques} / {info.failed} / {info.input_errors}" if info else "-"),
    ]
    err_console.print(key_value_table(title, rows))
