"""Exports of stored critiques: critique files, preference data for DPO/KTO, ranked lists, and critic SFT records.

Every function takes ``(item, critique)`` pairs (what :meth:`critica.store.Store.iter_records` yields) and returns
an iterator of plain dict rows; :func:`write_jsonl` / :func:`write_parquet` stream rows to a file.

**Where response scores come from** (one rule per critique, in this order):

1. ``critique.metadata["scores"]``, one number per response (``Item.response`` then ``Item.candidates``), as the
   ``principles`` critic (DeepSeek-GRM, arXiv:2504.02495) writes them; normalised with ``critique.score``'s scale.
2. ``critique.metadata["preference"]`` ``"A"``/``"B"`` from the ``pairwise`` critic: the preferred response
   scores 1, the other 0. Ties, order-inconsistent and unparsed comparisons give no preference and are skipped.
3. Otherwise the critique is about ``Item.response`` alone: ``critique.score`` normalised to [0, 1], else the
   verdict (``correct`` 1, ``incorrect`` 0). Such responses are grouped **by prompt** across items, so several
   scored responses to one question become comparisons.

Unscored critiques contribute nothing (they are not judgements). Column names follow TRL's dataset formats:
``prompt``/``chosen``/``rejected`` (DPO, reward modelling), ``prompt``/``completion``/``label`` (KTO, unpaired),
``prompt``/``completion`` (SFT, prompt-completion). With ``conversational=True`` prompts and completions are
message lists (``[{"role": "user", "content": ...}]``), TRL's conversational format. Ranked lists for listwise
training are ``prompt``/``completions``/``scores``, best first.

SFT records (DeepCritic, arXiv:2505.00662; MultiCritique, arXiv:2410.15287) teach a model to write critiques: the
prompt asks for a step-by-step critique of the response and the completion is the stored critique, rendered as
per-step judgements, the first error and the verdict. With ``gold_key`` only critiques that agree with the item's
gold first-error label are kept (rejection sampling against gold, as both papers filter their data).

Files are written atomically. This module imports :mod:`critica.types` and :mod:`critica.report.files`, and where
they are used pyarrow and :func:`critica.inputs.steps.item_steps` (the single definition of step numbering, so SFT
prompts number steps exactly as the critiques do).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

from critica.report.files import atomic_open, atomic_path
from critica.types import Critique, Item, ParseStatus, Verdict

__all__ = [
    "critique_rows", "flat_critique_rows", "response_scores", "preference_pairs", "kto_records", "ranked_lists",
    "sft_records", "write_jsonl", "write_parquet", "EXPORT_FORMATS",
]

Record = tuple[Item | None, Critique]
EXPORT_FORMATS = ("jsonl", "parquet", "dpo", "kto", "listwise", "sft")
"""What ``critica runs export --format`` accepts."""


# -- critiques -------------------------------------------------------------------------------------------------------


def critique_rows(records: Iterable[Record], *, with_items: bool = False) -> Iterator[dict[str, Any]]:
    """One row per critique: the full Critique JSON (it starts with ``item_id``), plus ``item`` when asked."""
    for item, critique in records:
        row = critique.model_dump(mode="json")
        if with_items:
            row["item"] = None if item is None else item.model_dump(mode="json")
        yield row


def flat_critique_rows(records: Iterable[Record]) -> Iterator[dict[str, Any]]:
    """One flat row per critique (fixed columns, for Parquet): filter columns plus the full JSON as a string."""
    for _item, c in records:
        yield {
            "item_id": c.item_id, "critic": c.critic, "verdict": c.verdict.value,
            "first_error_step": c.first_error_step, "parse_status": c.parse_status.value,
            "score": None if c.score is None else float(c.score.value),
            "score_normalized": None if c.score is None else float(c.score.normalized),
            "explanation": c.explanation, "model": c.model, "error": c.error,
            # What the critique took (as its usage says), and how much of it was replayed from the call cache.
            "prompt_tokens": c.usage.prompt_tokens, "completion_tokens": c.usage.completion_tokens,
            "replayed_prompt_tokens": c.usage.replayed_prompt_tokens,
            "replayed_completion_tokens": c.usage.replayed_completion_tokens,
            "critique_json": c.model_dump_json(),
        }


# -- scores ----------------------------------------------------------------------------------------------------------


def _responses(item: Item) -> list[str]:
    return [item.text, *item.candidates]


def response_scores(item: Item, critique: Critique) -> tuple[str, list[tuple[str, float]]] | None:
    """``(group, [(response, score in [0, 1]), ...])`` for one record, or None when it states no usable judgement.

    ``group`` is the item id for multi-response judgements (rules 1 and 2 of the module docstring) and
    ``"prompt:" + question`` for single-response ones (rule 3), so those are compared across items.
    """
    if critique.parse_status == ParseStatus.FAILED:
        return None
    responses = _responses(item)
    scores = critique.metadata.get("scores")
    if isinstance(scores, list) and len(scores) == len(responses) and len(responses) > 1:
        if all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores):
            lo, hi = (critique.score.min, critique.score.max) if critique.score else (min(scores), max(scores))
            span = hi - lo
            return item.id, [(r, (s - lo) / span if span else 1.0) for r, s in zip(responses, scores, strict=True)]
    if "preference" in critique.metadata:
        pref = critique.metadata.get("preference")
        if pref in ("A", "B") and len(responses) >= 2:
            a, b = (1.0, 0.0) if pref == "A" else (0.0, 1.0)
            return item.id, [(responses[0], a), (responses[1], b)]
        return None
    if critique.verdict == Verdict.UNSCORED:
        return None
    if critique.score is not None:
        return "prompt:" + item.question, [(responses[0], critique.score.normalized)]
    if critique.verdict in (Verdict.CORRECT, Verdict.INCORRECT):
        return "prompt:" + item.question, [(responses[0], 1.0 if critique.verdict == Verdict.CORRECT else 0.0)]
    return None


def _groups(records: Iterable[Record]) -> Iterator[tuple[str, list[tuple[str, float]]]]:
    """Comparison groups: per item for multi-response judgements, per prompt (collected) for single ones."""
    by_prompt: dict[str, tuple[str, list[tuple[str, float]]]] = {}
    for item, critique in records:
        if item is None:
            continue
        got = response_scores(item, critique)
        if got is None:
            continue
        group, scored = got
        if group.startswith("prompt:"):
            prompt, seen = by_prompt.setdefault(group, (item.question, []))
            seen.extend(scored)
        else:
            yield item.question, scored
    yield from by_prompt.values()


def _msg(role: str, text: str, conversational: bool) -> Any:
    return [{"role": role, "content": text}] if conversational else text


def preference_pairs(
    records: Iterable[Record], *, min_margin: float = 0.0, pairs: Literal["all", "best-worst"] = "all",
    conversational: bool = False,
) -> Iterator[dict[str, Any]]:
    """DPO / reward-model rows ``{prompt, chosen, rejected, score_chosen, score_rejected}`` (scores in [0, 1]).

    Within each comparison group every pair whose scores differ by more than ``min_margin`` becomes a row (or only
    the best against the worst with ``pairs="best-worst"``); equal scores never make a pair. Identical response
    texts are compared once.
    """
    for prompt, scored in _groups(records):
        uniq: dict[str, float] = {}
        for text, s in scored:
            uniq.setdefault(text, s)
        ranked = sorted(uniq.items(), key=lambda t: -t[1])
        if pairs == "best-worst":
            candidates = [(ranked[0], ranked[-1])] if len(ranked) >= 2 else []
        else:
            candidates = [(ranked[i], ranked[j]) for i in range(len(ranked)) for j in range(i + 1, len(ranked))]
        for (good, gs), (bad, bs) in candidates:
            if gs - bs > min_margin:
                yield {"prompt": _msg("user", prompt, conversational), "chosen": _msg("assistant", good, conversational),
                       "rejected": _msg("assistant", bad, conversational), "score_chosen": gs, "score_rejected": bs}


def kto_records(records: Iterable[Record], *, threshold: float = 0.5, conversational: bool = False) -> Iterator[dict[str, Any]]:
    """KTO rows ``{prompt, completion, label}``: ``label`` is True when the response's score is at least
    ``threshold`` (a correct verdict, a preferred response, or a normalised score at or above it)."""
    for prompt, scored in _groups(records):
        for text, s in scored:
            yield {"prompt": _msg("user", prompt, conversational), "completion": _msg("assistant", text, conversational),
                   "label": bool(s >= threshold), "score": s}


def ranked_lists(records: Iterable[Record], *, min_size: int = 2) -> Iterator[dict[str, Any]]:
    """Listwise rows ``{prompt, completions, scores}`` with completions sorted best first (ties keep input order)."""
    for prompt, scored in _groups(records):
        uniq: dict[str, float] = {}
        for text, s in scored:
            uniq.setdefault(text, s)
        if len(uniq) < min_size:
            continue
        ranked = sorted(uniq.items(), key=lambda t: -t[1])
        yield {"prompt": prompt, "completions": [t for t, _ in ranked], "scores": [s for _, s in ranked]}


# -- SFT ---------------------------------------------------------------------------------------------------------------


def _steps(item: Item) -> list[str]:
    # The one definition of step numbering: the critique's step indices were computed against exactly these steps.
    from critica.inputs.steps import item_steps

    return item_steps(item)


def critique_prompt(item: Item) -> str:
    """The instruction an SFT'd critic model sees: the question and the response's steps, numbered from 1."""
    from critica.inputs.steps import numbered

    steps = "\n".join(f"Step {i}: {s}" for i, s in numbered(_steps(item)))
    return (
        "Review the following solution step by step. For each step say whether it is correct and why, then give "
        "the number of the first incorrect step (or say there is none) and a final verdict.\n\n"
        f"Question:\n{item.question}\n\nSolution:\n{steps}"
    )


def render_critique(critique: Critique) -> str:
    """A stored critique as the text a critic model should learn to write."""
    lines = []
    for s in critique.steps:
        note = f" — {s.explanation}" if s.explanation else ""
        lines.append(f"Step {s.index + 1}: {s.verdict.value}{note}")
    if critique.explanation:
        lines.append(("\n" if lines else "") + critique.explanation.strip())
    if critique.suggested_fix:
        lines.append(f"Suggested fix: {critique.suggested_fix.strip()}")
    first = critique.first_error_display
    lines.append(f"First incorrect step: {first}" if first is not None else "First incorrect step: none")
    if critique.score is not None:
        lines.append(f"Score: {critique.score.value:g} (scale {critique.score.min:g}–{critique.score.max:g})")
    lines.append(f"Verdict: {critique.verdict.value}")
    return "\n".join(lines)


def _gold_first_error(value: Any) -> int | None | str:
    """Gold first-error label as a 0-based index or None (``-1``/None mean no error); "bad" when unreadable."""
    if value is None or value == -1 or value == "-1":
        return None
    try:
        index = int(value)
    except (TypeError, ValueError):
        return "bad"
    return index if index >= 0 else "bad"


def sft_records(records: Iterable[Record], *, gold_key: str | None = None, conversational: bool = False) -> Iterator[dict[str, Any]]:
    """SFT rows ``{prompt, completion, item_id, critic}`` from scored critiques.

    Args:
        records: (item, critique) pairs; pairs without an item, or unscored critiques, are skipped.
        gold_key: ``Item.metadata`` key of a gold first-error label (0-based index, -1 or None for "no error",
            e.g. ProcessBench's ``label``); when given, only critiques whose ``first_error_step`` matches it are kept.
        conversational: Emit message lists instead of strings.
    """
    for item, critique in records:
        if item is None or critique.verdict == Verdict.UNSCORED or critique.parse_status == ParseStatus.FAILED:
            continue
        if gold_key is not None:
            if gold_key not in item.metadata:
                continue
            gold = _gold_first_error(item.metadata[gold_key])
            if gold == "bad" or gold != critique.first_error_step:
                continue
        yield {"prompt": _msg("user", critique_prompt(item), conversational),
               "completion": _msg("assistant", render_critique(critique), conversational),
               "item_id": item.id, "critic": critique.critic}


# -- writers -----------------------------------------------------------------------------------------------------------


def write_jsonl(rows: Iterable[dict[str, Any]], out: str | Path | IO[str]) -> int:
    """Write one JSON object per line (streaming); returns the number of rows.

    A path is written atomically (:func:`critica.report.files.atomic_open`): the file appears complete, or not at
    all, however the export ends.
    """
    if isinstance(out, (str, Path)):
        with atomic_open(out, "w") as f:
            return write_jsonl(rows, f)
    n = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_parquet(rows: Iterable[dict[str, Any]], path: str | Path, *, batch_size: int = 2000) -> int:
    """Write rows to a Parquet file in batches (schema from the first batch); returns the number of rows.

    Written atomically, like :func:`write_jsonl`: a Parquet file cut short is unreadable, never a shorter table.
    """
    try:  # before anything is created: without pyarrow no file (and no directory) appears
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        from critica.errors import MissingDependency

        raise MissingDependency("pyarrow (Parquet export)", "pip install 'critica[batch]'") from None
    with atomic_path(path) as tmp:
        return _write_parquet(rows, tmp, batch_size)


def _write_parquet(rows: Iterable[dict[str, Any]], path: Path, batch_size: int) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    schema = None
    n = 0
    buf: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal writer, schema
        if not buf:
            return
        table = pa.Table.from_pylist(buf, schema=schema)
        if writer is None:
            schema = table.schema
            writer = pq.ParquetWriter(path, schema)
        writer.write_table(table)
        buf.clear()

    try:
        for row in rows:
            buf.append(row)
            n += 1
            if len(buf) >= batch_size:
                flush()
        flush()
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # no rows: still leave a valid (empty) file
        pq.write_table(pa.table({}), path)
    return n
