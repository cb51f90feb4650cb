"""Cascades (routing): a cheap critic first, an expensive one only when the cheap one is unsure or abstains.

Stage ``i`` answers an item when its critique is scored and either has no confidence or a confidence of at least
``threshold``; otherwise the item escalates to stage ``i + 1``. The last stage always answers (even unscored).
A stage that fails (backend error, exception) escalates like an unsure one; its error is listed in
``metadata["failures"]`` and its failed calls are counted, so the cascade's critique is *failed* (retried on resume).
A tool-grounded verifier that abstains when it can check nothing is the natural first stage; a small model under
:class:`~critica.aggregate.voting.VotingCritic` (which gives a vote-share confidence) is another.

:class:`CascadeStats` accumulates, over a run, how many items each stage answered, the fraction escalated and the
cost saved against running the last stage on every item. Cost is counted in tokens and in critic wall time; the
last stage's per-item cost is estimated from the items it actually judged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from critica.aggregate.panel import CallerGroup, _member_labels
from critica.aggregate.reducers import note_failures, phase_latency, sum_usage
from critica.aggregate.voting import _safe
from critica.critics.base import Critic
from critica.types import Critique, Item, Verdict

__all__ = ["Cascade", "CascadeStats"]


@dataclass
class CascadeStats:
    """Totals of a cascade over the items it has judged so far."""

    stages: list[str]
    items: int = 0
    answered: list[int] = field(default_factory=list)
    """Items answered by each stage."""
    ran: list[int] = field(default_factory=list)
    """Items each stage was run on."""
    tokens: list[int] = field(default_factory=list)
    """Prompt + completion tokens of each stage's critiques (what they took: replayed ones included)."""
    seconds: list[float] = field(default_factory=list)
    """Critic wall time spent in each stage (a critique replayed from the call cache counts for its original latency,
    as its tokens count in ``tokens``)."""

    def __post_init__(self) -> None:
        n = len(self.stages)
        self.answered = self.answered or [0] * n
        self.ran = self.ran or [0] * n
        self.tokens = self.tokens or [0] * n
        self.seconds = self.seconds or [0.0] * n

    @property
    def escalated(self) -> float:
        """Fraction of items that went past the first stage."""
        return (self.items - self.answered[0]) / self.items if self.items else 0.0

    def _saved(self, spent: Sequence[float]) -> float | None:
        if not self.items or not self.ran[-1]:
            return None
        baseline = self.items * spent[-1] / self.ran[-1]
        return 1 - sum(spent) / baseline if baseline > 0 else None

    @property
    def tokens_saved(self) -> float | None:
        """1 - tokens spent / estimated tokens of the last stage on every item (None: last stage never ran)."""
        return self._saved(self.tokens)

    @property
    def time_saved(self) -> float | None:
        """The same ratio for critic wall time."""
        return self._saved(self.seconds)

    def summary(self) -> dict[str, Any]:
        """Figures for a report table."""
        return {
            "items": self.items,
            "answered_by_stage": dict(zip(self.stages, self.answered, strict=True)),
            "escalated": round(self.escalated, 4),
            "tokens_by_stage": dict(zip(self.stages, self.tokens, strict=True)),
            "tokens_saved": None if self.tokens_saved is None else round(self.tokens_saved, 4),
            "time_saved": None if self.time_saved is None else round(self.time_saved, 4),
        }


class Cascade:
    """Critics tried in order, cheapest first; see the module docstring for the escalation rule.

    Args:
        stages: Critics from cheapest to most expensive (at least one).
        threshold: Minimum confidence for an early stage's answer to stand.
        name: Name of the resulting critique (default ``cascade(a>b>…)``).
    """

    def __init__(self, stages: Sequence[Critic], *, threshold: float = 0.75, name: str | None = None) -> None:
        if not stages:
            raise ValueError("a cascade needs at least one stage")
        if not 0 <= threshold <= 1:
            raise ValueError("threshold must be within [0, 1]")
        self.stages = list(stages)
        self.threshold = threshold
        self.name = name or "cascade(" + ">".join(getattr(s, "name", "?") for s in self.stages) + ")"
        self.labels = _member_labels(self.stages)
        """One distinct label per stage, as a panel labels its members (``processbench@a``, ``processbench@b``)."""
        self.stats = CascadeStats(list(self.labels))
        self.caller = CallerGroup([getattr(s, "caller", None) for s in self.stages])

    def accepts(self, critique: Critique) -> bool:
        """Whether an early stage's critique stands (scored, and confident enough when it states a confidence)."""
        if critique.verdict == Verdict.UNSCORED:
            return False
        return critique.confidence is None or critique.confidence >= self.threshold

    async def critique(self, item: Item) -> Critique:
        start = time.perf_counter()
        tried: list[Critique] = []
        path: list[dict[str, Any]] = []
        for i, stage in enumerate(self.stages):
            t0 = time.perf_counter()
            c = await _safe(stage, item)
            spent = time.perf_counter() - t0
            tried.append(c)
            self.stats.ran[i] += 1
            self.stats.tokens[i] += c.usage.total_tokens
            self.stats.seconds[i] += max(spent, c.latency_s)  # a replay counts for its original time, as tokens do
            path.append({"stage": self.labels[i], "verdict": c.verdict.value, "confidence": c.confidence})
            if i == len(self.stages) - 1 or self.accepts(c):
                break
        answered = len(tried) - 1
        self.stats.items += 1
        self.stats.answered[answered] += 1
        out = tried[-1].model_copy(update={
            "critic": self.name,
            "usage": sum_usage(tried),
            "latency_s": max(time.perf_counter() - start, phase_latency([c] for c in tried)),  # one stage after another
            "samples": tried,
        })
        out.metadata = {**tried[-1].metadata, "cascade": {"stage": answered, "escalated": answered > 0,
                                                           "path": path}}
        # An early stage's failure is escalated past, but still a failure of this item: listed, counted, retried.
        return note_failures(out, [(p["stage"], c) for p, c in zip(path, tried, strict=True)])
