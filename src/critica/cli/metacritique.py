"""``critica metacritique``: Meta-P/R/F1 of the critiques in a file (MetaCritique, Sun et al. 2024).

Each record holds ``question``, ``response``, ideally ``reference_answer``, the ``critique`` to judge and an
optional ``reference_critique`` (and optionally ``critique_aius`` / ``reference_aius``). Without ``--model`` the
offline judge scores them (no LLM); with ``--model`` the LLM judge uses the paper's prompts. Thin over
:func:`critica.metacritique.ameta_critique`: one :class:`~critica.types.MetaCritiqueResult` JSON per line and a
summary table.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.table import Table

from critica.cli import app
from critica.cli.common import (
    ApiKeyFileOpt,
    ApiKeyOpt,
    BaseUrlOpt,
    ConcurrencyOpt,
    ModelOpt,
    RetriesOpt,
    TimeoutOpt,
    err_console,
    limited,
    open_out,
    settings_from,
)
from critica.cli.refine import make_caller, run_with_progress
from critica.errors import InputError, UserError
from critica.inputs.load import ReadLimits, parse_mapping, read_items
from critica.metacritique import ameta_critique
from critica.metacritique.base import meta_input
from critica.metacritique.score import mean_scores
from critica.redact import Redactor
from critica.types import Item, MetaCritiqueResult


@app.command()
def metacritique(
    input: Path = typer.Argument(..., help="JSONL/JSON records: question, response, reference_answer, critique, "
                                           "reference_critique (optional)."),
    model: str = ModelOpt,
    base_url: str = BaseUrlOpt,
    api_key: str = ApiKeyOpt,
    api_key_file: Path = ApiKeyFileOpt,
    out: Path = typer.Option(None, "--out", "-o", help="Write results here (JSONL); default stdout."),
    limit: int = typer.Option(None, "--limit", "-n", help="Only the first N records."),
    field_map: list[str] = typer.Option(None, "--map", help="Field mapping ITEM_FIELD=SOURCE_FIELD (repeatable)."),
    lexical: bool = typer.Option(False, "--lexical", help="Offline judge: lexical matching only (no embedder)."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="LLM judge: completion limit per call."),
    concurrency: int = ConcurrencyOpt,
    timeout: float = TimeoutOpt,
    retries: int = RetriesOpt,
) -> None:
    """Score critiques by atomic information units: Meta-Precision, Meta-Recall and Meta-F1.

    Exits 1 when a record was malformed or lacks a critique, or a result has nothing scored.
    """
    from critica.metacritique.llm import LLMMetaJudge
    from critica.metacritique.offline import OfflineMetaJudge

    settings = settings_from(model=model, base_url=base_url, api_key=api_key, api_key_file=api_key_file,
                             timeout=timeout, retries=retries, concurrency=concurrency)
    redactor = Redactor([settings.api_key])
    caller = make_caller(settings.model, settings) if settings.model else None
    judge = LLMMetaJudge(caller, max_tokens=max_tokens) if caller is not None else \
        OfflineMetaJudge(embedder=None if lexical else "auto")
    records = list(limited(read_items(input, parse_mapping(field_map), limits=ReadLimits.from_settings(settings)), limit))
    errors: list[str] = [str(r) for r in records if isinstance(r, InputError)]
    items: list[Item] = []
    for r in records:
        if isinstance(r, Item):
            try:
                meta_input(r)
                items.append(r)
            except UserError as e:
                errors.append(str(e))
    for e in errors:
        err_console.print(f"[red]input error[/red] {e}", highlight=False)
    stream = open_out(out)
    results: list[MetaCritiqueResult] = []

    async def work(advance):
        sem = asyncio.Semaphore(settings.concurrency or 4)

        async def one(item: Item):
            given = meta_input(item)
            async with sem:
                r = await ameta_critique(item, given.critique, reference_critique=given.reference_critique,
                                         critique_aius=given.critique_aius, reference_aius=given.reference_aius,
                                         judge=judge)
            stream.write(redactor.json(r.model_dump_json()) + "\n")
            stream.flush()
            results.append(r)
            advance()

        try:
            await asyncio.gather(*(one(i) for i in items))
        finally:
            if caller is not None:
                await caller.aclose()

    try:
        run_with_progress("metacritique", len(items), work)
    finally:
        if out is not None:
            stream.close()
    p, r, f1 = mean_scores((x.precision, x.recall, x.f1) for x in results)
    table = Table(title=f"critica metacritique — {judge.name} ({results[0].method if results else judge.name})")
    for col in ("critiques", "Meta-P", "Meta-R", "Meta-F1", "unscored F1", "tokens"):
        table.add_column(col, justify="right")
    table.add_row(str(len(results)), *(f"{v:.3f}" if v is not None else "-" for v in (p, r, f1)),
                  str(sum(x.f1 is None for x in results)), str(sum(x.usage.total_tokens for x in results)))
    err_console.print(table)
    unscored = sum(x.f1 is None for x in results)
    if errors or unscored:
        err_console.print(f"[red]{len(errors)} bad record(s), {unscored} result(s) without Meta-F1[/red]")
        raise typer.Exit(1)
