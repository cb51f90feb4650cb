"""What every MetaCritique judge shares: the inputs it reads from an item, the result it builds, and the critique
it returns as a critic.

A judge scores *the critique of an item*: the item holds the question, the response and (ideally) the reference
answer; the critique to judge and the optional reference critique travel in ``Item.metadata`` under
``critique`` and ``reference_critique`` (top-level fields of an input record land there, so a JSONL line
``{"question", "response", "reference_answer", "critique", "reference_critique"}`` is enough). Given AIUs may come
along as ``critique_aius`` / ``reference_aius`` (lists of strings): they are used as they are, which is how the
benchmark aligns predicted verdicts with the human labels.

As a :class:`~critica.critics.base.Critic`, a judge returns a Critique whose score is Meta-F1 on a 0–1 scale,
whose verdict is ``correct`` (a good critique) when Meta-F1 ≥ ``threshold`` (``unscored`` when Meta-F1 is None),
and whose ``metadata["metacritique"]`` holds the whole :class:`~critica.types.MetaCritiqueResult`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from critica.errors import UserError
from critica.metacritique.score import aiu_scores
from critica.types import (
    Critique,
    HypothesisAIU,
    Item,
    MetaCritiqueResult,
    ParseStatus,
    ReferenceAIU,
    Score,
    Usage,
    Verdict,
)

__all__ = ["MetaJudge", "MetaInput", "meta_input", "build_result", "as_critique", "META_KEY"]

META_KEY = "metacritique"
"""Key of the :class:`~critica.types.MetaCritiqueResult` in a returned critique's metadata."""


@dataclass
class MetaInput:
    """The critique to judge and what it is judged against, read from an item."""

    critique: str
    reference_critique: str | None = None
    critique_aius: list[str] | None = None
    reference_aius: list[str] | None = None


class MetaJudge(Protocol):
    """Anything that scores a critique by AIUs."""

    name: str

    async def judge(self, item: Item, given: MetaInput) -> MetaCritiqueResult:
        """Score ``given.critique`` of ``item``; per-AIU failures are unscored AIUs, never raised."""
        ...


def _strings(value: Any, field: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"metadata field {field!r} must be a list of strings")
    return [v for v in value if v.strip()]


def meta_input(item: Item) -> MetaInput:
    """The :class:`MetaInput` carried by ``item.metadata``.

    Raises:
        UserError: the item has no ``critique`` string, or a field has the wrong type.
    """
    md = item.metadata
    critique = md.get("critique")
    if not isinstance(critique, str):
        raise UserError(f"item {item.id!r}: a MetaCritique item needs a 'critique' string (the critique to judge)")
    ref = md.get("reference_critique")
    if ref is not None and not isinstance(ref, str):
        raise UserError(f"item {item.id!r}: 'reference_critique' must be a string")
    return MetaInput(critique=critique, reference_critique=ref or None,
                     critique_aius=_strings(md.get("critique_aius"), "critique_aius"),
                     reference_aius=_strings(md.get("reference_aius"), "reference_aius"))


def build_result(item: Item, judge: str, given: MetaInput, reference_critique: str, hypothesis: list[HypothesisAIU],
                 reference: list[ReferenceAIU], *, method: str, notes: list[str] | None = None,
                 reference_generated: bool = False, usage: Usage | None = None,
                 error: str | None = None) -> MetaCritiqueResult:
    """A :class:`MetaCritiqueResult` with its scores computed from the AIU verdicts."""
    scores = aiu_scores(hypothesis, reference)
    notes = list(notes or [])
    unscored_h = sum(1 for a in hypothesis if a.verdict.value == "unscored")
    unscored_r = sum(1 for a in reference if a.verdict.value == "unscored")
    if unscored_h or unscored_r:
        notes.append(f"{unscored_h} critique AIU(s) and {unscored_r} reference AIU(s) unscored: left out of P and R")
    if not hypothesis:
        notes.append("the critique has no AIU: precision undefined")
    return MetaCritiqueResult(
        item_id=item.id, judge=judge, critique=given.critique, reference_critique=reference_critique,
        reference_generated=reference_generated, hypothesis_aius=hypothesis, reference_aius=reference,
        method=method, notes=notes, usage=usage or Usage(), error=error, **scores,
    )


def as_critique(item: Item, result: MetaCritiqueResult, *, threshold: float) -> Critique:
    """The critique a MetaCritique critic returns for ``result`` (see the module docstring)."""
    f1 = result.f1
    if f1 is None:
        verdict, status = Verdict.UNSCORED, ParseStatus.FAILED
    else:
        verdict = Verdict.CORRECT if f1 >= threshold else Verdict.INCORRECT
        status = ParseStatus.OK if result.precision_coverage == 1 and result.recall_coverage == 1 else ParseStatus.REPAIRED
    p = "-" if result.precision is None else f"{result.precision:.3f}"
    r = "-" if result.recall is None else f"{result.recall:.3f}"
    explanation = (f"Meta-P {p} ({len(result.hypothesis_aius)} critique AIUs), Meta-R {r} "
                   f"({len(result.reference_aius)} reference AIUs), Meta-F1 {'-' if f1 is None else f'{f1:.3f}'}")
    return Critique(
        item_id=item.id, critic=result.judge, verdict=verdict,
        score=None if f1 is None else Score(value=float(f1), min=0, max=1), explanation=explanation,
        parse_status=status, parse_error=("; ".join(result.notes) or "nothing could be scored") if status != ParseStatus.OK else None,
        usage=result.usage, error=result.error, metadata={META_KEY: result.model_dump(mode="json")},
    )
