"""Panels: several critics (models and/or protocols) judge the same item; one aggregated critique comes out.

Aggregation (PRE peer review, Chu et al. 2024, arXiv:2401.15641; MultiCritique, Lan et al. 2024,
arXiv:2410.15287):

* ``"majority"`` — one vote per member (:func:`~critica.aggregate.reducers.majority`);
* ``"mean"`` — mean probability of "incorrect" over members, using each member's confidence
  (:func:`~critica.aggregate.reducers.mean_probability`);
* ``"weighted"`` — votes weighted per member, typically by a **qualification exam**
  (:func:`qualification_exam`): each member critiques a labelled qualification set and is weighted by its
  measured accuracy (Laplace-smoothed, so a 3-item exam cannot give 0 % or 100 %, then turned into log-odds
  weights: see :attr:`ExamResult.weights`). With ``cut`` the exam is also PRE's pass/fail qualification: a member
  whose exam accuracy is below ``cut`` is excluded from the panel (it judges no item; ``metadata["excluded"]``
  names it), the qualified members vote with their weights. When no member qualifies the panel refuses to judge.

A member that raises or fails becomes an unscored vote: counted, not voted, and never hidden — its error is listed
in ``metadata["failures"]``, its failed calls are in ``usage.failed_calls``, and the panel's critique is *failed*
(:attr:`~critica.types.Critique.failed`: counted by the run, retried by a resumed batch) even when the other members
gave a verdict. When every member fails, the result is unscored with their errors. Every result carries per-item
disagreement in ``metadata["disagreement"]`` and each member's verdict in ``metadata["members"]``.
The qualification set must not overlap the items being judged (use another split or hold the first N out).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from critica.aggregate.reducers import (
    TieBreak,
    disagreement,
    majority,
    mean_probability,
    note_failures,
    phase_latency,
    weighted_majority,
)
from critica.aggregate.voting import _safe
from critica.critics.base import Critic
from critica.errors import UserError
from critica.types import Critique, Item, Verdict

__all__ = ["Panel", "PanelMethod", "Gold", "gold_label", "matches_gold", "ExamResult", "qualification_exam",
           "CallerGroup", "labelled"]

PanelMethod = Literal["majority", "mean", "weighted"]


@dataclass(frozen=True)
class Gold:
    """A gold label: the right verdict and, for an incorrect response, the 0-based first wrong step if known."""

    verdict: Verdict
    first_error_step: int | None = None


def gold_label(item: Item) -> Gold | None:
    """The gold label carried in ``item.metadata``, or None.

    Recognised: ProcessBench's integer ``label`` (-1 = all steps correct, else the first wrong step),
    ``gold_verdict`` ("correct"/"incorrect") with an optional ``gold_first_error`` (0-based).
    """
    meta = item.metadata
    label = meta.get("label")
    if isinstance(label, int) and not isinstance(label, bool):
        return Gold(Verdict.CORRECT) if label < 0 else Gold(Verdict.INCORRECT, label)
    verdict = meta.get("gold_verdict")
    if isinstance(verdict, str) and verdict.lower() in ("correct", "incorrect"):
        first = meta.get("gold_first_error")
        first = first if isinstance(first, int) and not isinstance(first, bool) and first >= 0 else None
        return Gold(Verdict(verdict.lower()), first if verdict.lower() == "incorrect" else None)
    return None


def matches_gold(critique: Critique, gold: Gold, *, step_level: bool = True) -> bool | None:
    """Whether ``critique`` agrees with ``gold``; None when it is unscored (no answer to grade).

    With ``step_level`` (ProcessBench's criterion) an incorrect verdict must also name the gold first wrong step
    when the gold one is known.
    """
    if critique.verdict == Verdict.UNSCORED:
        return None
    if critique.verdict != gold.verdict:
        return False
    if step_level and gold.verdict == Verdict.INCORRECT and gold.first_error_step is not None:
        return critique.first_error_step == gold.first_error_step
    return True


class CallerGroup:
    """Several backend callers closed together (what a composite critic exposes as ``caller``)."""

    def __init__(self, callers: Sequence[Any]) -> None:
        self.callers: list[Any] = []
        for c in callers:
            self.add(c)

    def add(self, caller: Any) -> None:
        """Add ``caller`` unless it is already in the group (by identity); a group is flattened into this one."""
        if isinstance(caller, CallerGroup):
            for c in caller.callers:
                self.add(c)
            return
        if caller is not None and all(caller is not d for d in self.callers):
            self.callers.append(caller)

    @property
    def name(self) -> str:
        return "+".join(getattr(c, "name", "?") for c in self.callers)

    async def aclose(self) -> None:
        for c in self.callers:
            await c.aclose()


def _member_labels(critics: Sequence[Critic]) -> list[str]:
    """One distinct label per member: its name, ``@model`` when it has one caller, ``#index`` if still taken."""
    labels: list[str] = []
    for index, critic in enumerate(critics):
        label = getattr(critic, "name", f"member{index}")
        model = getattr(getattr(critic, "caller", None), "name", None)
        if model and not isinstance(getattr(critic, "caller", None), CallerGroup):
            label = f"{label}@{model}"
        while label in labels:
            label = f"{label}#{index}"
        labels.append(label)
    return labels


class Panel:
    """Several critics on the same item, aggregated by majority, mean probability or exam weights.

    Args:
        members: The critics (run concurrently on each item).
        method: ``"majority"``, ``"mean"`` or ``"weighted"``.
        weights: One weight per member (``"weighted"`` only), e.g. ``ExamResult.weights``.
        exam_items: A labelled qualification set ((item, gold) pairs or items with gold metadata) (``"weighted"`` without ``weights``): the exam runs before the
            first item is judged and its weights are used from then on (``self.exam`` holds the result).
        cut: PRE's pass/fail qualification (with ``exam_items``): members whose raw exam accuracy is below ``cut``
            are excluded; the others vote (with exam weights for ``"weighted"``).
        tie: Tie-break of the verdict vote.
        name: Name of the aggregated critique (default ``panel(<members>)``).
    """

    def __init__(self, members: Sequence[Critic], *, method: PanelMethod = "majority",
                 weights: Sequence[float] | None = None,
                 exam_items: Sequence[Item | tuple[Item, Gold]] | None = None,
                 cut: float | None = None,
                 tie: TieBreak = "first", name: str | None = None) -> None:
        if not members:
            raise ValueError("a panel needs at least one member")
        if method not in ("majority", "mean", "weighted"):
            raise ValueError(f"unknown panel method {method!r}")
        if method == "weighted" and exam_items is None and (weights is None or len(weights) != len(members)):
            raise ValueError("a weighted panel needs one weight per member, or exam_items to measure them")
        if cut is not None and (exam_items is None or weights is not None or not 0 <= cut <= 1):
            raise ValueError("a qualification cut needs exam_items (and no fixed weights) and lies in [0, 1]")
        self.cut = cut
        self.active = list(range(len(members)))
        """Indices of the members that judge items (all, until a cut excludes some)."""
        self.members = list(members)
        self.method = method
        self.weights = list(weights) if weights is not None else None
        self.tie = tie
        self.exam_items = list(exam_items) if exam_items is not None and weights is None else None
        self.exam: ExamResult | None = None
        self._exam_lock: asyncio.Lock | None = None
        self.labels = _member_labels(self.members)
        self.name = name or f"panel[{method}]({','.join(self.labels)})"
        self.caller = CallerGroup([getattr(m, "caller", None) for m in self.members])

    def reduce(self, critiques: Sequence[Critique]) -> Critique:
        """Aggregate one item's member critiques (in member order; only the qualified members' after a cut)."""
        labels = [self.labels[i] for i in self.active]
        weights = [self.weights[i] for i in self.active] if self.weights is not None else None
        if self.method == "mean":
            out = mean_probability(critiques, critic=self.name, tie=self.tie)
        elif self.method == "weighted":
            out = weighted_majority(critiques, weights or [], critic=self.name, tie=self.tie)
        else:
            out = majority(critiques, critic=self.name, tie=self.tie)
        out.metadata["members"] = {lab: c.verdict.value for lab, c in zip(labels, critiques, strict=True)}
        out.metadata["disagreement"] = disagreement(critiques)
        if weights is not None:
            out.metadata["weights"] = dict(zip(labels, weights, strict=True))
        if len(labels) < len(self.labels):
            out.metadata["excluded"] = [lab for lab in self.labels if lab not in labels]
        return note_failures(out, list(zip(labels, critiques, strict=True)))

    async def qualify(self) -> ExamResult | None:
        """Run the qualification exam once (if one is set) and adopt its weights."""
        if self.exam_items is None or self.exam is not None:
            return self.exam
        if self._exam_lock is None:
            self._exam_lock = asyncio.Lock()
        async with self._exam_lock:
            if self.exam is None:
                exam = await qualification_exam(self.members, self.exam_items)
                exam.cut = self.cut
                self.exam = exam
                self.weights = exam.weights
                self.active = [i for i, ok in enumerate(exam.passed) if ok]
        return self.exam

    async def critique(self, item: Item) -> Critique:
        exam = await self.qualify()
        if not self.active and exam is not None:
            raise UserError(f"no panel member passed the qualification exam (cut {self.cut:g}): "
                            + ", ".join(f"{lab} {a:.0%}" for lab, a in zip(exam.labels, exam.accuracy, strict=True)))
        start = time.perf_counter()
        critiques = await asyncio.gather(*(_safe(self.members[i], item) for i in self.active))
        out = self.reduce(critiques)
        out.latency_s = max(time.perf_counter() - start, phase_latency([critiques]))  # members run concurrently
        return out


@dataclass
class ExamResult:
    """Outcome of a qualification exam."""

    labels: list[str]
    """Member labels, in member order."""
    right: list[int]
    """Items each member judged right."""
    unscored: list[int]
    """Items each member left unscored (they count as not right)."""
    n: int
    """Items on the exam (with a gold label)."""
    per_item: list[dict[str, Any]] = field(default_factory=list)
    """One record per exam item: id and, per member, right/wrong/None."""
    cut: float | None = None
    """PRE's qualification threshold on raw accuracy (None: every member qualifies)."""

    @property
    def passed(self) -> list[bool]:
        """Whether each member qualifies: raw accuracy at least ``cut`` (all True without a cut)."""
        return [self.cut is None or a >= self.cut for a in self.accuracy]

    @property
    def accuracy(self) -> list[float]:
        """Raw accuracy per member (unscored counts as wrong)."""
        return [r / self.n if self.n else 0.0 for r in self.right]

    @property
    def smoothed_accuracy(self) -> list[float]:
        """Laplace-smoothed accuracy ``(right + 1) / (n + 2)`` per member."""
        return [(r + 1) / (self.n + 2) for r in self.right]

    @property
    def weights(self) -> list[float]:
        """Panel weights: log-odds of the smoothed accuracy, ``log(p / (1 - p))``, floored at 0.01.

        Log-odds weighting is the optimal weighted majority for independent voters (Nitzan & Paroush 1982):
        a member at chance (p = 0.5) adds nothing, whereas plain accuracy weights would let two coin-flipping
        members outvote an expert. The floor keeps an all-weak panel voting instead of abstaining.
        """
        return [max(0.01, math.log(p / (1 - p))) for p in self.smoothed_accuracy]


def labelled(items: Sequence[Item | tuple[Item, Gold]]) -> list[tuple[Item, Gold]]:
    """Pairs of (item, gold): pairs pass through; items keep only those with a :func:`gold_label`."""
    out = []
    for x in items:
        if isinstance(x, tuple):
            out.append(x)
        elif (g := gold_label(x)) is not None:
            out.append((x, g))
    return out


async def qualification_exam(
    members: Sequence[Critic],
    items: Sequence[Item | tuple[Item, Gold]],
    *,
    judge: Callable[[Critique, Gold], bool | None] = matches_gold,
    concurrency: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> ExamResult:
    """Run every member on the labelled ``items`` and measure its accuracy.

    ``items`` are (item, gold) pairs, or items carrying a gold label in their metadata (see :func:`gold_label`;
    items without one are skipped). A member's failure on an item is a wrong
    answer for the exam, never a crash.

    Returns:
        The exam result; pass ``result.weights`` to ``Panel(method="weighted")``.
    """
    exam = labelled(items)
    labels = _member_labels(members)
    sem = asyncio.Semaphore(max(1, concurrency))
    done = 0
    total = len(exam) * len(members)

    async def one(m: Critic, it: Item) -> Critique:
        nonlocal done
        async with sem:
            c = await _safe(m, it)
        done += 1
        if progress is not None:
            progress(done, total)
        return c

    results = await asyncio.gather(*(asyncio.gather(*(one(m, it) for m in members)) for it, _ in exam))
    right = [0] * len(members)
    unscored_n = [0] * len(members)
    per_item = []
    for (it, gold), crits in zip(exam, results, strict=True):
        rec: dict[str, Any] = {"id": it.id}
        for j, c in enumerate(crits):
            ok = judge(c, gold)
            right[j] += ok is True
            unscored_n[j] += ok is None
            rec[labels[j]] = ok
        per_item.append(rec)
    return ExamResult(labels=labels, right=right, unscored=unscored_n, n=len(exam), per_item=per_item)
