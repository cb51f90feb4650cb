"""``critica refine``: critique → revise loops (self, cross, iterative) and critique-driven alignment for RAG.

Thin over :mod:`critica.loops`: builds the critic and the generator, runs :func:`~critica.loops.refine` (or
:func:`~critica.loops.align` with ``--rag``) over the items, streams one JSON trajectory per line, and prints a
summary; ``--show`` prints every trajectory round by round.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import typer
from rich.table import Table

from critica.backends.call import Caller
from critica.backends.registry import create_caller
from critica.cli import INTERRUPTED, app
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
from critica.config import Settings
from critica.critics.parse import last_boxed
from critica.critics.registry import available_critics, build_critic
from critica.errors import InputError, UserError
from critica.inputs.load import ReadLimits, parse_mapping, read_items
from critica.redact import Redactor
from critica.run.interrupt import run_interruptible
from critica.types import Item


def make_caller(spec: str, settings: Settings) -> Caller:
    """A Caller for model ``spec`` under the command's timeout, retries and concurrency."""
    return create_caller(spec, settings)


def run_with_progress(label: str, total: int | None, work) -> list:
    """Run coroutine factory ``work(advance)`` with progress on stderr; ``advance()`` marks one item done."""
    from critica.cli.progress import Progress

    with Progress(label, total=total, console=err_console) as progress:
        return run_interruptible(work(progress.advance))


@app.command()
def refine(
    input: Path = typer.Argument(..., help="JSONL/JSON items: question and response (with --draft, a question is enough)."),
    model: str = ModelOpt,
    critic: str = typer.Option(None, "--critic", help="Critic protocol (default: processbench; evidence with --rag)."),
    critic_model: str = typer.Option(None, "--critic-model", help="Cross-critique: a different model for the critic."),
    generator_model: str = typer.Option(None, "--generator-model", help="Model that revises (default: --model)."),
    rounds: int = typer.Option(2, "--rounds", "-r", help="Most revisions per item (1: single round; >1: iterative)."),
    draft: bool = typer.Option(False, "--draft", help="Self-critique: the generator writes the first answer itself."),
    rag: bool = typer.Option(False, "--rag", help="Critique-driven alignment (AlignRAG): rewrite reasoning to fit the item's evidence."),
    check_final: bool = typer.Option(True, "--check-final/--no-check-final", help="Critique the last revision too."),
    on_unscored: str = typer.Option("stop", "--on-unscored", help="When the critic gives no verdict: stop (keep the answer) or revise."),
    accept_threshold: float = typer.Option(None, "--accept-threshold", help="For score-only critics: accept at this normalised score (0-1)."),
    require_boxed: bool = typer.Option(False, "--require-boxed", help="Reject revisions without a \\boxed{} final answer."),
    out: Path = typer.Option(None, "--out", "-o", help="Write trajectories here (JSONL); default stdout."),
    show: bool = typer.Option(False, "--show", help="Print every trajectory round by round."),
    limit: int = typer.Option(None, "--limit", "-n", help="Only the first N items."),
    field_map: list[str] = typer.Option(None, "--map", help="Field mapping ITEM_FIELD=SOURCE_FIELD (repeatable)."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="Completion limit of critic and generator calls."),
    temperature: float = typer.Option(0.0, "--temperature", help="Sampling temperature of critic and generator."),
    base_url: str = BaseUrlOpt,
    api_key: str = ApiKeyOpt,
    api_key_file: Path = ApiKeyFileOpt,
    concurrency: int = ConcurrencyOpt,
    timeout: float = TimeoutOpt,
    retries: int = RetriesOpt,
    item_max_chars: int = ItemMaxCharsOpt,
    item_timeout: float = ItemTimeoutOpt,
) -> None:
    """Critique and revise each item's answer until the critic accepts it or the round limit.

    Exits 1 when any record was malformed or any item failed.
    """
    from critica.loops import Generator, align
    from critica.loops import refine as refine_item

    if on_unscored not in ("stop", "revise"):
        raise UserError("--on-unscored must be 'stop' or 'revise'")
    if rounds < 0:
        raise UserError("--rounds must be 0 or more")
    settings = settings_from(model=model, base_url=base_url, api_key=api_key, api_key_file=api_key_file, timeout=timeout, retries=retries,
                             concurrency=concurrency, item_max_chars=item_max_chars, item_timeout=item_timeout)
    budget = budget_from(settings)
    redactor = Redactor([settings.api_key])  # the key never reaches the output, whatever a result carries
    if not settings.model and not (critic_model and generator_model):
        raise UserError("refine needs a model: pass --model (e.g. --model local:smollm2) or set CRITICA_MODEL")
    main = make_caller(settings.model, settings) if settings.model else None
    critic_caller = make_caller(critic_model, settings) if critic_model else main
    gen_caller = make_caller(generator_model, settings) if generator_model else main
    name = critic or ("evidence" if rag else "processbench")
    needs_model = name in available_critics() and available_critics()[name].needs_model
    built = build_critic(name, critic_caller, **({"temperature": temperature, "max_tokens": max_tokens} if needs_model else {}))
    generator = Generator(gen_caller, temperature=temperature, max_tokens=max_tokens)
    options = {"max_rounds": rounds, "draft": draft, "check_final": check_final, "on_unscored": on_unscored,
               "accept_threshold": accept_threshold, "extract": last_boxed if require_boxed else None, "budget": budget}
    # with --draft the generator writes the answer, so a record may hold only a question
    records = list(limited(read_items(input, parse_mapping(field_map), limits=ReadLimits.from_settings(settings),
                                      need_response=not draft), limit))
    errors = [r for r in records if isinstance(r, InputError)]
    for e in errors:
        err_console.print(f"[red]input error[/red] {e}", highlight=False)
    items = [r for r in records if isinstance(r, Item)]
    stream = open_out(out)
    trajectories = []

    async def work(advance):
        sem = asyncio.Semaphore(settings.concurrency or 4)

        async def one(item: Item):
            async with sem:
                try:
                    t = await (align(item, built, generator, **options) if rag else refine_item(item, built, generator, **options))
                except UserError as e:  # e.g. --rag on an item without passages: that item only
                    errors.append(InputError(str(input), f"item {item.id}", "evidence", str(e)))
                    err_console.print(f"[red]input error[/red] {errors[-1]}", highlight=False)
                    advance()
                    return
            stream.write(redactor.json(t.model_dump_json()) + "\n")
            stream.flush()
            trajectories.append(t)
            advance()

        try:
            await asyncio.gather(*(one(i) for i in items))
        finally:
            for c in {id(x): x for x in (main, critic_caller, gen_caller) if x is not None}.values():
                await c.aclose()

    try:
        run_with_progress("refining", len(items), work)
    except KeyboardInterrupt:
        _summary(trajectories, name, generator.name)
        where = f"to {out}" if out is not None else "to stdout"
        err_console.print(f"[yellow]interrupted: {len(trajectories)} of {len(items)} trajectories written {where} (each "
                          "line complete); refine does not resume: run the items missing from the output again[/yellow]")
        raise typer.Exit(INTERRUPTED) from None
    finally:
        if out is not None:
            stream.close()
    if show:
        for t in sorted(trajectories, key=lambda t: t.item_id):
            _show(t)
    _summary(trajectories, name, generator.name)
    failed = sum(t.error is not None for t in trajectories)
    if errors or failed:
        err_console.print(f"[red]{len(errors)} bad record(s), {failed} failed item(s)[/red]")
        raise typer.Exit(1)


def _show(t) -> None:
    err_console.rule(f"{t.item_id} — {t.stop_reason.value}, final = round {t.final_round}"
                     + (" (regression guard)" if t.guard_applied else ""))
    for r in t.rounds:
        verdict = r.verdict.value if r.verdict else "not critiqued"
        err_console.print(f"[bold]round {r.index}[/bold] verdict: {verdict}", highlight=False)
        err_console.print(r.answer.strip()[:1500], highlight=False, markup=False)
        if r.critique is not None and (r.critique.explanation or r.critique.error):
            err_console.print("[dim]critique:[/dim] " + (r.critique.error or r.critique.explanation)[:800].replace("[", "\\["),
                              highlight=False)
        if r.revision_error:
            err_console.print(f"[yellow]revision rejected:[/yellow] {r.revision_error}", highlight=False, markup=True)


def _summary(trajectories, critic: str, generator: str) -> None:
    stops = Counter(t.stop_reason.value for t in trajectories)
    table = Table(title=f"critica refine — critic {critic}, generator {generator}")
    for col in ("items", "accepted", "changed", "revisions", "guard", *sorted(k for k in stops if k != "accepted"), "tokens"):
        table.add_column(col, justify="right")
    table.add_row(
        str(len(trajectories)), str(stops.get("accepted", 0)), str(sum(t.changed for t in trajectories)),
        str(sum(t.revisions for t in trajectories)), str(sum(t.guard_applied for t in trajectories)),
        *[str(stops[k]) for k in sorted(k for k in stops if k != "accepted")],
        str(sum(t.usage.total_tokens for t in trajectories)),
    )
    err_console.print(table)
