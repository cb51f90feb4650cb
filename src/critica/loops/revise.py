"""Critique → revise → re-critique, until the critic accepts or a round limit, with a regression guard.

The loop, for one item (Madaan et al., 2023, "Self-Refine", arXiv:2303.17651; modes after RealCritic, Tang et
al., 2025, arXiv:2501.14492):

1. The critic critiques the current answer. Each round is recorded: answer, critique, verdict.
2. **Accepted** (:func:`accepts` is True) → stop; the accepted answer is final and is never revised again.
3. **Unscored** (the critic gave no usable judgement) → by default stop and keep the answer: a critique that says
   nothing is not evidence of an error (``on_unscored="revise"`` revises anyway).
4. **Round limit** reached → stop with the current answer.
5. Otherwise the generator revises the answer with the critique. A failed call, an empty revision, or a revision
   without an extractable final answer (when ``extract`` is given) keeps the previous answer; a revision equal to
   the answer stops the loop (a fixed point).

Regression guard: besides never revising an accepted answer, when the critic scores answers (``Critique.score``)
the final answer is the best-scored one among those critiqued; a later revision that the critic scores lower
does not replace it.

Modes: *self-critique* — critic and generator are the same model (``draft=True`` has the generator write the
first answer itself); *cross-critique* — the critic is another model; *iterative* — ``max_rounds > 1``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from critica.budget import ItemBudget
from critica.critics.base import Critic
from critica.errors import BackendError
from critica.loops.generate import Draft, Generator
from critica.run.runner import critique_within
from critica.types import Critique, Item, Usage, Verdict

__all__ = ["StopReason", "Round", "Trajectory", "accepts", "draft_failed", "refine", "refine_many"]

Reviser = Callable[[Item, Critique], Awaitable[Draft]]
Extractor = Callable[[str], str | None]


class StopReason(StrEnum):
    """Why a loop ended."""

    ACCEPTED = "accepted"
    """The critic accepted the current answer."""
    ROUND_LIMIT = "round_limit"
    """``max_rounds`` revisions were made."""
    UNSCORED = "unscored"
    """The critic gave no usable judgement; the answer was kept."""
    GENERATOR_FAILED = "generator_failed"
    """The revision call failed; the previous answer was kept."""
    UNUSABLE_REVISION = "unusable_revision"
    """The revision was empty or had no final answer; the previous answer was kept."""
    NO_CHANGE = "no_change"
    """The revision repeated the answer."""


class Round(BaseModel):
    """One step of a trajectory: the answer as it stood, and what the critic said about it."""

    index: int
    """0 for the initial answer, then one per revision."""
    answer: str
    """The answer critiqued in this round."""
    critique: Critique | None = None
    """The critique of ``answer``; None when the loop ended before critiquing it (``check_final=False``)."""
    verdict: Verdict | None = None
    """``critique.verdict``, repeated for readers of the JSON."""
    accepted: bool | None = None
    """Whether the critic accepted ``answer`` (None: no usable judgement)."""
    revision_error: str | None = None
    """Why revising this answer failed or was rejected, when it did."""
    rejected_revision: str | None = None
    """The text of a revision that was rejected (empty or without a final answer), kept for the reader."""
    usage: Usage = Field(default_factory=Usage)
    """Tokens spent in this round: the critique of ``answer`` and the revision that followed it."""


class Trajectory(BaseModel):
    """The full record of one refinement: every round, the final answer and why the loop stopped."""

    item_id: str
    question: str
    initial_answer: str
    """The answer the loop started from (the item's response, or the generator's draft)."""
    final_answer: str
    """The answer the loop returns."""
    final_round: int
    """Index of the round whose answer is final."""
    stop_reason: StopReason
    rounds: list[Round]
    critic: str
    generator: str
    guard_applied: bool = False
    """True when the regression guard returned an earlier, better-scored answer instead of the last one."""
    usage: Usage = Field(default_factory=Usage)
    """Tokens of every critic and generator call of this item."""
    latency_s: float = 0.0
    error: str | None = None
    """A failure that stopped the item before its first round (e.g. the draft call failed)."""
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Whether the final answer differs from the initial one."""
        return self.final_answer != self.initial_answer

    @property
    def revisions(self) -> int:
        """Number of revisions that were made."""
        return len(self.rounds) - 1


def accepts(critique: Critique, *, threshold: float | None = None) -> bool | None:
    """Whether a critique accepts the answer: True, False, or None when it gives no usable judgement.

    The verdict decides when there is one (``correct`` = accept). A critique with only a score (no verdict)
    accepts when ``score.normalized >= threshold``; without a threshold it gives no judgement.
    """
    if critique.verdict == Verdict.CORRECT:
        return True
    if critique.verdict == Verdict.INCORRECT:
        return False
    if threshold is not None and critique.score is not None and critique.error is None:
        return critique.score.normalized >= threshold
    return None


def _with_answer(item: Item, answer: str) -> Item:
    return item.model_copy(update={"response": answer, "steps": None, "candidates": []})


def _usable(draft: Draft, extract: Extractor | None) -> str | None:
    if not draft.text.strip():
        return "the revision is empty"
    if extract is not None and extract(draft.text) is None:
        return "the revision has no final answer"
    return None


async def refine(
    item: Item,
    critic: Critic,
    generator: Generator,
    *,
    max_rounds: int = 2,
    draft: bool = False,
    check_final: bool = True,
    on_unscored: Literal["stop", "revise"] = "stop",
    accept_threshold: float | None = None,
    extract: Extractor | None = None,
    reviser: Reviser | None = None,
    budget: ItemBudget | None = None,
) -> Trajectory:
    """Critique and revise ``item``'s answer until the critic accepts it or ``max_rounds`` revisions are made.

    Never raises for a per-item problem: failures end the loop and are recorded in the trajectory.

    Args:
        item: The question and the answer to improve (``item.response`` / ``item.steps``).
        critic: Any critic; its verdict (or score, with ``accept_threshold``) decides acceptance.
        generator: Writes the revisions (and the first answer when ``draft``).
        max_rounds: Most revisions to make (0: only critique).
        draft: Have the generator write the initial answer instead of using ``item``'s (self-critique).
        check_final: Critique the last revision too (one more critic call; tells whether the critic accepts it).
        on_unscored: ``stop`` keeps the answer when a critique is unscored; ``revise`` revises anyway.
        accept_threshold: For critics that only score: accept when ``score.normalized`` reaches it.
        extract: Final-answer extractor (e.g. :func:`critica.critics.parse.last_boxed`); a revision it finds
            nothing in is rejected and the previous answer kept.
        reviser: How to revise (default :meth:`Generator.revise`); :mod:`critica.loops.rag` passes ``align``.
        budget: Size and time budget of each critique (default :class:`~critica.budget.ItemBudget`): an answer over
            it is not sent to the critic and its critique is unscored with the reason
            (:func:`~critica.run.runner.critique_within`).
    """
    start = time.perf_counter()
    revise = reviser or generator.revise
    critic_name = getattr(critic, "name", "critic")
    usage = Usage()
    answer = item.text
    if draft:
        try:
            first = (await generator.answer(item.question, item=item))[0]
        except BackendError as e:
            return draft_failed(item, critic_name, generator.name, e, time.perf_counter() - start)
        usage = usage + first.usage
        answer = first.text
    initial = answer
    rounds: list[Round] = []
    stop = StopReason.ROUND_LIMIT
    for r in range(max_rounds + 1):
        last = r == max_rounds
        current = Round(index=r, answer=answer)
        rounds.append(current)
        if last and not check_final and r > 0:
            break
        critique = await critique_within(critic, _with_answer(item, answer), budget)
        current.critique, current.verdict = critique, critique.verdict
        current.accepted = accepts(critique, threshold=accept_threshold)
        current.usage = current.usage + critique.usage
        if current.accepted:
            stop = StopReason.ACCEPTED
            break
        if current.accepted is None and on_unscored == "stop":
            stop = StopReason.UNSCORED
            break
        if last:
            break
        try:
            revision = await revise(_with_answer(item, answer), critique)
        except Exception as e:  # noqa: BLE001 - a failed revision ends this item's loop, not the batch
            current.revision_error = str(e) if isinstance(e, BackendError) else f"{type(e).__name__}: {e}"
            stop = StopReason.GENERATOR_FAILED
            break
        current.usage = current.usage + revision.usage
        problem = _usable(revision, extract)
        if problem is not None:
            current.revision_error, current.rejected_revision = problem, revision.text
            stop = StopReason.UNUSABLE_REVISION
            break
        if revision.text.strip() == answer.strip():
            stop = StopReason.NO_CHANGE
            break
        answer = revision.text
    final_round, guard = _guarded_final(rounds)
    for rnd in rounds:
        usage = usage + rnd.usage
    return Trajectory(
        item_id=item.id, question=item.question, initial_answer=initial, final_answer=rounds[final_round].answer,
        final_round=final_round, stop_reason=stop, rounds=rounds, critic=critic_name, generator=generator.name,
        guard_applied=guard, usage=usage, latency_s=time.perf_counter() - start,
    )


def draft_failed(item: Item, critic: str, generator: str, error: Exception, latency_s: float) -> Trajectory:
    """The trajectory of an item whose first answer could not be written: no rounds, the error kept."""
    return Trajectory(item_id=item.id, question=item.question, initial_answer="", final_answer="", final_round=0,
                      stop_reason=StopReason.GENERATOR_FAILED, rounds=[], critic=critic, generator=generator,
                      error=f"draft failed: {error}", latency_s=latency_s)


def _guarded_final(rounds: list[Round]) -> tuple[int, bool]:
    """The round whose answer is returned: the last, unless the critic scored an earlier one strictly higher."""
    last = len(rounds) - 1
    if rounds[last].accepted:
        return last, False

    def score(r: Round) -> float | None:
        c = r.critique
        return c.score.normalized if c is not None and c.score is not None and c.error is None else None

    last_score = score(rounds[last])
    best, best_score = last, last_score
    for r in rounds[:last]:
        s = score(r)
        # Only a score comparison can say an earlier answer was better; an unscored last answer is not known to
        # be worse, so it is kept.
        if s is not None and last_score is not None and (best_score is None or s > best_score):
            best, best_score = r.index, s
    return best, best != last


async def refine_many(
    items: Iterable[Item], critic: Critic, generator: Generator, *, concurrency: int = 4,
    progress: Callable[[Trajectory], None] | None = None, **options: Any,
) -> list[Trajectory]:
    """:func:`refine` over many items, ``concurrency`` at a time; results in input order.

    ``progress(trajectory)`` is called as each item finishes.
    """
    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(item: Item) -> Trajectory:
        async with sem:
            t = await refine(item, critic, generator, **options)
        if progress is not None:
            progress(t)
        return t

    return list(await asyncio.gather(*(one(i) for i in items)))
