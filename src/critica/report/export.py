"""Exports of stored critiques: critique files, preference data for DPO/KTO, ranked lists, and critic SFT records.

Every function takes ``(item, critique)`` pairs (what :meth:`critica.store.Store.iter_records` yields) and returns
an iterator of plain dict rows; :func:`write_jsonl` / :func:`write_parquet` stream rows to a file.

**Where response scores come from** (one rule per critique, in this order):

1. ``critique.metadata["scores"]``, one number per response (``Item.response`` then ``Item.candidates``), as the
   ``principles`` critic (DeepSeek-GRM, arXiv:2504.02495) writes them; for a k-sample vote of such critiques the
   summed scores of ``--vote score-sum`` (per sample), else the mean of the samples' scores
   (:func:`per_response_scores`); normalised with ``critique.score``'s scale.
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

Items with images (:attr:`~critica.types.Item.images`) add an ``images`` column (their data URLs or remote URLs, in
item order), and a conversational prompt becomes TRL's vision format (``{"type": "image"}`` parts, one per image,
before the text). Single-response judgements are grouped by question *and* images, so responses about different
images are never paired.

SFT records (DeepCritic, arXiv:2505.00662; MultiCritique, arXiv:2410.15287) teach a model to write critiques: the
prompt asks for a step-by-step critique of the response and the completion is the stored critique, rendered as
per-step judgements, the first error and the verdict (a multi-response critique: every response in the prompt, and
principles, per-response critiques and scores in the completion; a ``deliberate`` critique: DeepCritic's initial
critique, meta-critique and final judgement). With ``gold_key`` only critiques that agree with the item's gold label
(verdict, and first wrong step when gold names one) are kept (rejection sampling against gold, as both papers
filter their data).

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
    "critique_rows", "flat_critique_rows", "per_response_scores", "response_scores", "preference_pairs", "kto_records", "ranked_lists",
    "sft_records", "write_jsonl", "write_parquet", "EXPORT_FORMATS", "why_no_rows",
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


def _numbers(v: Any) -> list[float] | None:
    if isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        return [float(x) for x in v]
    return None


def per_response_scores(critique: Critique) -> list[float] | None:
    """One score per response on the critique's own scale (``critique.score``'s), or None.

    A single critique's ``metadata["scores"]``; for a vote (:class:`~critica.aggregate.voting.VotingCritic` and
    friends), the score-sum reducer's ``metadata["summed"]["scores"]`` divided by the ``summed_n`` samples summed,
    else the mean of the voting samples' ``scores`` — the same order as DeepSeek-GRM's summed reward.
    """
    own = _numbers(critique.metadata.get("scores"))
    if own is not None:
        return own
    summed = critique.metadata.get("summed")
    n = critique.metadata.get("summed_n")
    sums = _numbers(summed.get("scores")) if isinstance(summed, dict) else None
    if sums is not None and isinstance(n, int) and n > 0:
        return [v / n for v in sums]
    lists = [_numbers(c.metadata.get("scores")) for c in critique.samples if c.verdict != Verdict.UNSCORED]
    if lists and all(v is not None and len(v) == len(lists[0]) for v in lists):  # type: ignore[arg-type]
        return [sum(col) / len(lists) for col in zip(*lists, strict=True)]  # type: ignore[misc]
    return None


def response_scores(item: Item, critique: Critique) -> tuple[str, list[tuple[str, float]]] | None:
    """``(group, [(response, score in [0, 1]), ...])`` for one record, or None when it states no usable judgement.

    ``group`` is the item id for multi-response judgements (rules 1 and 2 of the module docstring) and
    ``"prompt:" + question`` for single-response ones (rule 3), so those are compared across items.
    """
    if critique.parse_status == ParseStatus.FAILED:
        return None
    responses = _responses(item)
    scores = per_response_scores(critique)
    if scores is not None and len(scores) == len(responses) and len(responses) > 1:
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
    group = "prompt:" + item.question + _image_key(item)
    if critique.score is not None:
        return group, [(responses[0], critique.score.normalized)]
    if critique.verdict in (Verdict.CORRECT, Verdict.INCORRECT):
        return group, [(responses[0], 1.0 if critique.verdict == Verdict.CORRECT else 0.0)]
    return None


def _image_key(item: Item) -> str:
    """What sets apart the prompts of items with the same question and different images ("" without images): two
    responses are only compared when they answer the same question about the same images."""
    if not item.images:
        return ""
    import hashlib

    return "\x00images:" + hashlib.sha256("\x00".join(im.url for im in item.images).encode()).hexdigest()


def _image_urls(item: Item) -> list[str]:
    return [im.url for im in item.images]


def _groups(records: Iterable[Record]) -> Iterator[tuple[str, list[str], list[tuple[str, float]]]]:
    """Comparison groups ``(question, image urls, scored)``: per item for multi-response judgements, per prompt and
    images (collected) for single ones."""
    by_prompt: dict[str, tuple[str, list[str], list[tuple[str, float]]]] = {}
    for item, critique in records:
        if item is None:
            continue
        got = response_scores(item, critique)
        if got is None:
            continue
        group, scored = got
        if group.startswith("prompt:"):
            prompt, images, seen = by_prompt.setdefault(group, (item.question, _image_urls(item), []))
            seen.extend(scored)
        else:
            yield item.question, _image_urls(item), scored
    yield from by_prompt.values()


def _msg(role: str, text: str, conversational: bool, images: list[str] | None = None) -> Any:
    if not conversational:
        return text
    if images:  # TRL's vision format: one {"type": "image"} per entry of the row's "images" column, then the text
        return [{"role": role, "content": [*({"type": "image"} for _ in images), {"type": "text", "text": text}]}]
    return [{"role": role, "content": text}]


def _images_column(images: list[str]) -> dict[str, Any]:
    """The ``images`` column of a row (data URLs or remote URLs, in item order); absent for an item without."""
    return {"images": images} if images else {}


def preference_pairs(
    records: Iterable[Record], *, min_margin: float = 0.0, pairs: Literal["all", "best-worst"] = "all",
    conversational: bool = False,
) -> Iterator[dict[str, Any]]:
    """DPO / reward-model rows ``{prompt, chosen, rejected, score_chosen, score_rejected}`` (scores in [0, 1]).

    Within each comparison group every pair whose scores differ by more than ``min_margin`` becomes a row (or only
    the best against the worst with ``pairs="best-worst"``); equal scores never make a pair. Identical response
    texts are compared once.
    """
    for prompt, images, scored in _groups(records):
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
                yield {"prompt": _msg("user", prompt, conversational, images),
                       "chosen": _msg("assistant", good, conversational),
                       "rejected": _msg("assistant", bad, conversational), "score_chosen": gs, "score_rejected": bs,
                       **_images_column(images)}


def kto_records(records: Iterable[Record], *, threshold: float = 0.5, conversational: bool = False) -> Iterator[dict[str, Any]]:
    """KTO rows ``{prompt, completion, label}``: ``label`` is True when the response's score is at least
    ``threshold`` (a correct verdict, a preferred response, or a normalised score at or above it)."""
    for prompt, images, scored in _groups(records):
        for text, s in scored:
            yield {"prompt": _msg("user", prompt, conversational, images),
                   "completion": _msg("assistant", text, conversational), "label": bool(s >= threshold), "score": s,
                   **_images_column(images)}


def ranked_lists(records: Iterable[Record], *, min_size: int = 2) -> Iterator[dict[str, Any]]:
    """Listwise rows ``{prompt, completions, scores}`` with completions sorted best first (ties keep input order)."""
    for prompt, images, scored in _groups(records):
        uniq: dict[str, float] = {}
        for text, s in scored:
            uniq.setdefault(text, s)
        if len(uniq) < min_size:
            continue
        ranked = sorted(uniq.items(), key=lambda t: -t[1])
        yield {"prompt": prompt, "completions": [t for t, _ in ranked], "scores": [s for _, s in ranked],
               **_images_column(images)}


# -- SFT ---------------------------------------------------------------------------------------------------------------


def _steps(item: Item) -> list[str]:
    # The one definition of step numbering: the critique's step indices were computed against exactly these steps.
    from critica.inputs.steps import item_steps

    return item_steps(item)


def critique_prompt(item: Item) -> str:
    """The instruction an SFT'd critic model sees: the question and the response's steps, numbered from 1.

    An item with ``candidates`` (a multi-response critic such as ``principles`` judged them all) shows every
    response, as ``[Response i]`` blocks, and the principles given with the item.
    """
    from critica.inputs.steps import numbered

    if item.candidates:
        shown = "\n\n".join(f"[Response {i}]\n{r}" for i, r in enumerate([item.text, *item.candidates], start=1))
        given = ("\n\nPrinciples to apply:\n" + "\n".join(f"- {p}" for p in item.principles)) if item.principles else ""
        return (
            "Review the following responses to the question. State the principles a good response must meet, "
            "critique each response against them, and score each response.\n\n"
            f"Question:\n{item.question}\n\nResponses:\n{shown}{given}"
        )
    steps = "\n".join(f"Step {i}: {s}" for i, s in numbered(_steps(item)))
    return (
        "Review the following solution step by step. For each step say whether it is correct and why, then give "
        "the number of the first incorrect step (or say there is none) and a final verdict.\n\n"
        f"Question:\n{item.question}\n\nSolution:\n{steps}"
    )


def _first_pass_lines(first_pass: Any) -> list[str]:
    """A deliberate critique's initial per-step critique (``metadata["first_pass"]``) as text lines."""
    if not isinstance(first_pass, dict):
        return []
    if isinstance(first_pass.get("text"), str) and first_pass["text"].strip():
        return [first_pass["text"].strip()]  # a free-text first pass, in the critic's own words
    lines = []
    for s in first_pass.get("steps") or []:
        if isinstance(s, dict) and isinstance(s.get("index"), int):
            note = f" — {s['verification']}" if s.get("verification") else ""
            lines.append(f"Step {s['index'] + 1}: {s.get('verdict')}{note}")
    if lines:
        first = first_pass.get("first_error_step")
        lines.append(f"First incorrect step: {first + 1}" if isinstance(first, int) else "First incorrect step: none")
    return lines


def render_critique(critique: Critique) -> str:
    """A stored critique as the text a critic model should learn to write.

    Per-step judgements, explanation, fix, first error, score and verdict. A multi-response critique adds its
    principles, its critique of each response and each response's score. A deliberate (DeepCritic) critique is
    rendered in DeepCritic's order: the initial per-step critique (``metadata["first_pass"]``), the in-depth
    critique of it (the meta-critique, ``explanation``), then the final judgement.
    """
    initial = _first_pass_lines(critique.metadata.get("first_pass"))
    lines: list[str] = []
    if initial:
        lines += ["Initial critique:", *initial, "", "Critique of the initial critique:"]
        if critique.explanation:
            lines.append(critique.explanation.strip())
        lines += ["", "Final judgement:"]
    principles = critique.metadata.get("principles")
    if isinstance(principles, list) and principles:
        lines.append("Principles:\n" + "\n".join(f"- {p}" for p in principles))
    for s in critique.steps:
        note = f" — {s.explanation}" if s.explanation else ""
        lines.append(f"Step {s.index + 1}: {s.verdict.value}{note}")
    critiques = critique.metadata.get("critiques")
    scores = per_response_scores(critique)
    if isinstance(critiques, list) and critiques and scores is not None and len(critiques) == len(scores):
        lines.append("\n".join(f"[Response {i}] {c}" for i, c in enumerate(critiques, start=1)))
    elif critique.explanation and not initial:
        lines.append(("\n" if lines else "") + critique.explanation.strip())
    if critique.suggested_fix:
        lines.append(f"Suggested fix: {critique.suggested_fix.strip()}")
    if scores is not None and len(scores) > 1:
        scale = f" (scale {critique.score.min:g}–{critique.score.max:g})" if critique.score is not None else ""
        lines.append(f"Scores{scale}: " + ", ".join(f"Response {i}: {v:g}" for i, v in enumerate(scores, start=1)))
    else:
        first = critique.first_error_display
        lines.append(f"First incorrect step: {first}" if first is not None else "First incorrect step: none")
    if critique.score is not None:
        lines.append(f"Score: {critique.score.value:g} (scale {critique.score.min:g}–{critique.score.max:g})")
    lines.append(f"Verdict: {critique.verdict.value}")
    return "\n".join(lines)


def _gold_label(value: Any) -> tuple[Verdict, int | None] | None:
    """A gold label as (verdict, 0-based first error or None); None when unreadable.

    ``-1``/None (or "-1") is "no error"; a non-negative integer (or its digits) is the first wrong step;
    ``"correct"``/``"incorrect"`` is a verdict without a step. Booleans and fractional numbers are unreadable.
    """
    if value is None:
        return Verdict.CORRECT, None
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("correct", "incorrect"):
            return Verdict(text), None
        if not text.lstrip("-").isdigit():
            return None
        value = int(text)
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if not isinstance(value, int):
        return None
    if value == -1:
        return Verdict.CORRECT, None
    return (Verdict.INCORRECT, value) if value >= 0 else None


def _agrees_with_gold(critique: Critique, value: Any) -> bool:
    """Whether ``critique`` agrees with the gold label ``value`` (see :func:`_gold_label`): the same verdict and,
    when gold names a first wrong step, the same step. An unreadable label agrees with nothing."""
    gold = _gold_label(value)
    if gold is None or critique.verdict != gold[0]:
        return False
    if gold[0] == Verdict.CORRECT:
        return critique.first_error_step is None
    return gold[1] is None or critique.first_error_step == gold[1]


def sft_records(records: Iterable[Record], *, gold_key: str | None = None, conversational: bool = False) -> Iterator[dict[str, Any]]:
    """SFT rows ``{prompt, completion, item_id, critic}`` from scored critiques.

    Args:
        records: (item, critique) pairs; pairs without an item, or unscored critiques, are skipped.
        gold_key: ``Item.metadata`` key of a gold label (e.g. ProcessBench's ``label``: a 0-based first wrong
            step, -1 or None for "no error"; or ``"correct"``/``"incorrect"``); when given, only critiques that
            agree with it are kept: the gold verdict, and the gold first wrong step when it names one. A critique
            that says ``incorrect`` without a step on a gold-correct item disagrees with gold and is dropped.
        conversational: Emit message lists instead of strings.
    """
    for item, critique in records:
        if item is None or critique.verdict == Verdict.UNSCORED or critique.parse_status == ParseStatus.FAILED:
            continue
        if gold_key is not None and (gold_key not in item.metadata or not _agrees_with_gold(critique, item.metadata[gold_key])):
            continue
        yield {"prompt": _msg("user", critique_prompt(item), conversational, _image_urls(item)),
               "completion": _msg("assistant", render_critique(critique), conversational),
               "item_id": item.id, "critic": critique.critic, **_images_column(_image_urls(item))}


# -- an empty export, explained --------------------------------------------------------------------------------------


def why_no_rows(records: Iterable[Record], fmt: str, *, min_margin: float = 0.0, gold_key: str | None = None) -> str:
    """Why exporting ``records`` as ``fmt`` gave no row, in one sentence a user can act on.

    The records are read again (a run is re-read from the store), counting what each export needs and lacked.
    """
    total = no_item = unjudged = 0
    groups: list[list[tuple[str, float]]] = []
    by_prompt: dict[str, list[tuple[str, float]]] = {}
    gold_missing = 0
    for item, critique in records:
        total += 1
        if item is None:
            no_item += 1
            continue
        if gold_key is not None and gold_key not in item.metadata:
            gold_missing += 1
        got = response_scores(item, critique)
        if got is None:
            unjudged += 1
            continue
        group, scored = got
        if group.startswith("prompt:"):
            by_prompt.setdefault(group, []).extend(scored)
        else:
            groups.append(scored)
    groups.extend(by_prompt.values())
    if total == 0:
        return "the run holds no critiques"
    if no_item == total:
        return f"none of the {total} critique(s) has its item stored, and every export row is built from the item"
    usable = total - no_item - unjudged
    if usable == 0:
        return (f"none of the {total} critique(s) is a usable judgement ({unjudged} unscored or unparsed"
                + (f", {no_item} without its item" if no_item else "") + ")")
    if fmt == "sft":
        if gold_key is not None:
            return (f"no scored critique agrees with the gold label item.metadata[{gold_key!r}]"
                    + (f" ({gold_missing} item(s) have no such key)" if gold_missing else ""))
        return f"no scored critique ({unjudged} unscored or unparsed)"
    if fmt in ("dpo", "listwise"):
        sizes = [len({t for t, _ in g}) for g in groups]
        if max(sizes, default=0) < 2:
            return (f"no pairs: each of the {len(groups)} prompt(s) has one judged response; a pair needs two "
                    "responses to the same prompt (items with `candidates`, or several items with the same question) "
                    "whose scores differ")
        if fmt == "dpo":
            return (f"no pairs: no two responses to the same prompt differ in score by more than --min-margin "
                    f"{min_margin:g} (ties never make a pair)")
    return f"{usable} usable judgement(s), but none fits the {fmt} format"


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
