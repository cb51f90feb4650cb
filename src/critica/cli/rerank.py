"""``critica rerank``: best-of-N over given or generated candidates with a critic or a panel; ``--search`` runs
step-level beam search guided by a process critic instead.

Thin over :func:`critica.loops.rerank`, :func:`critica.loops.best_of_n` and :func:`critica.loops.step_search`:
one JSON result per line (a :class:`~critica.loops.Ranking` or a :class:`~critica.loops.SearchResult`), a
progress bar and a summary table.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import typer
from rich.table import Table

from critica.cli import app
from critica.cli.common import (
    ApiKeyFileOpt,
    ApiKeyOpt,
    BaseUrlOpt,
    ConcurrencyOpt,
    ItemMaxCharsOpt,
    ItemTimeoutOpt,
    ModelOpt,
    RetriesOpt,
    TimeoutOpt,
    budget_from,
    err_console,
    limited,
    open_out,
    settings_from,
)
from critica.cli.refine import make_caller, run_with_progress
from critica.critics.registry import available_critics, build_critic
from critica.errors import InputError, UserError
from critica.inputs.load import ReadLimits, parse_mapping, read_items
from critica.redact import Redactor
from critica.types import Item


@app.command()
def rerank(
    input: Path = typer.Argument(..., help="JSONL/JSON items: question with response + candidates (or only a question with --generate/--search)."),
    model: str = ModelOpt,
    critic: list[str] = typer.Option(None, "--critic", help="Critic protocol; repeat for a panel (scores are averaged). Default: processbench."),
    critic_model: str = typer.Option(None, "--critic-model", help="A different model for the critics."),
    generate: int = typer.Option(0, "--generate", "-N", help="Have the model write N candidates per question (best-of-N)."),
    search: bool = typer.Option(False, "--search", help="Step-level beam search guided by the (first) critic instead of reranking."),
    beam: int = typer.Option(2, "--beam", help="Search: partial solutions kept per step."),
    expand: int = typer.Option(2, "--expand", help="Search: next steps proposed per kept partial solution."),
    max_steps: int = typer.Option(8, "--max-steps", help="Search: most steps in a solution."),
    token_budget: int = typer.Option(None, "--token-budget", help="Search: stop once all calls of an item used this many tokens."),
    out: Path = typer.Option(None, "--out", "-o", help="Write results here (JSONL); default stdout."),
    limit: int = typer.Option(None, "--limit", "-n", help="Only the first N items."),
    field_map: list[str] = typer.Option(None, "--map", help="Field mapping ITEM_FIELD=SOURCE_FIELD (repeatable)."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="Completion limit of critic calls and whole answers."),
    step_tokens: int = typer.Option(160, "--step-tokens", help="Search: completion limit of one proposed step."),
    base_url: str = BaseUrlOpt,
    api_key: str = ApiKeyOpt,
    api_key_file: Path = ApiKeyFileOpt,
    concurrency: int = ConcurrencyOpt,
    timeout: float = TimeoutOpt,
    retries: int = RetriesOpt,
    item_max_chars: int = ItemMaxCharsOpt,
    item_timeout: float = ItemTimeoutOpt,
) -> None:
    """Choose the best of several responses with critics, or build a solution step by step with a process critic.

    Exits 1 when any record was malformed, any item had no scorable candidate, or any search found nothing.
    """
    from critica.loops import Generator, best_of_n, step_search
    from critica.loops import rerank as rerank_item

    if generate < 0:
        raise UserError("--generate must be 0 or more")
    settings = settings_from(model=model, base_url=base_url, api_key=api_key, api_key_file=api_key_file, timeout=timeout, retries=retries,
                             concurrency=concurrency, item_max_chars=item_max_chars, item_timeout=item_timeout)
    budget = budget_from(settings)
    redactor = Redactor([settings.api_key])  # the key never reaches the output, whatever a result carries
    names = critic or ["processbench"]
    specs = available_critics()
    needs = [n for n in names if n in specs and specs[n].needs_model]
    if (needs or generate or search) and not settings.model and not critic_model:
        raise UserError("rerank needs a model: pass --model (e.g. --model local:smollm2) or set CRITICA_MODEL")
    main = make_caller(settings.model, settings) if settings.model else None
    critic_caller = make_caller(critic_model, settings) if critic_model else main
    panel = [build_critic(n, critic_caller, **({"max_tokens": max_tokens} if n in needs else {})) for n in names]
    if (generate or search) and main is None:
        raise UserError("--generate and --search need --model for the generator")
    generator = Generator(main, max_tokens=max_tokens, step_max_tokens=step_tokens) if main is not None else None
    # with --generate or --search the model writes the answers, so a record may hold only a question
    records = list(limited(read_items(input, parse_mapping(field_map), limits=ReadLimits.from_settings(settings),
                                      need_response=not (generate or search)), limit))
    errors = [r for r in records if isinstance(r, InputError)]
    for e in errors:
        err_console.print(f"[red]input error[/red] {e}", highlight=False)
    items = [r for r in records if isinstance(r, Item)]
    stream = open_out(out)
    results: list = []

    async def work(advance):
        sem = asyncio.Semaphore(settings.concurrency or 4)

        async def one(item: Item):
            async with sem:
                if search:
                    r = await step_search(item, panel[0], generator, beam=beam, expand=expand, max_steps=max_steps,
                                          max_tokens=token_budget, budget=budget)
                elif generate:
                    r = await best_of_n(item, panel, generator, n=generate, budget=budget)
                else:
                    r = await rerank_item(item, panel, budget=budget)
            stream.write(redactor.json(r.model_dump_json()) + "\n")
            stream.flush()
            results.append(r)
            advance()

        try:
            await asyncio.gather(*(one(i) for i in items))
        finally:
            for c in {id(x): x for x in (main, critic_caller) if x is not None}.values():
                await c.aclose()

    try:
        run_with_progress("searching" if search else "reranking", len(items), work)
    finally:
        if out is not None:
            stream.close()
    if search:
        failed = _search_summary(results)
    else:
        failed = _rank_summary(results, names)
    if errors or failed:
        err_console.print(f"[red]{len(errors)} bad record(s), {failed} item(s) without a result[/red]")
        raise typer.Exit(1)


def _rank_summary(results, names: list[str]) -> int:
    status = Counter(r.status for r in results)
    table = Table(title=f"critica rerank — {' + '.join(names)}")
    for col in ("items", "chosen", "ties", "unscored items", "unscored candidates", "mean best score", "tokens"):
        table.add_column(col, justify="right")
    best = [r.candidates[r.best].score for r in results if r.best is not None]
    table.add_row(str(len(results)), str(len(best)), str(status.get("tie", 0)),
                  str(status.get("unscored", 0) + status.get("no_candidates", 0)),
                  str(sum(len(r.unscored) for r in results)),
                  f"{sum(best) / len(best):.3f}" if best else "-", str(sum(r.usage.total_tokens for r in results)))
    err_console.print(table)
    return sum(r.best is None for r in results)


def _search_summary(results) -> int:
    stops = Counter(r.stop_reason for r in results)
    table = Table(title="critica rerank --search")
    for col in ("items", "complete", *sorted(stops), "mean steps", "nodes", "tokens"):
        table.add_column(col, justify="right")
    table.add_row(str(len(results)), str(sum(r.complete for r in results)), *[str(stops[k]) for k in sorted(stops)],
                  f"{sum(len(r.steps) for r in results) / max(1, len(results)):.1f}",
                  str(sum(len(r.nodes) for r in results)), str(sum(r.usage.total_tokens for r in results)))
    err_console.print(table)
    return sum(not r.steps for r in results)
