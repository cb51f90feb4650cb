"""``rules-pairwise``: two responses to a prompt with verifiable constraints; the constraints decide or inform.

``Item.response`` is response A, ``Item.candidates[0]`` response B (as for ``pairwise``). The constraints are those
the item carries (:func:`critica.verifiers.rules.item_constraints`), else those read from the instruction by
:func:`critica.verifiers.rules_detect.detect_constraints` (``detect=False`` turns that off). Both responses are
checked against the same constraints (strict reading):

1. **decide**: when one response violates fewer of the constraints checked on both sides, it is preferred;
   ``metadata["decided_by"] = "rules"``. No model is called.
2. **inform**: otherwise, with a model (``--model``), the ``pairwise`` protocol judges the pair with both sides'
   rule findings appended to its prompt as tool evidence (each response named by its opening words, so the text
   stays true in both presentation orders); ``decided_by = "model"``.
3. Without a model, a pair the rules do not separate gets ``preference = "tie"`` (verdict ``unscored``,
   ``decided_by = None``): the rules found no difference, which is not a judgement that the two are equally good.

The rules do not depend on presentation order, so a pair they decide (or tie) reports the same preference for both
orders (``orders``, ``order_consistent = True``), as the ``pairwise`` protocol's summaries expect.
``metadata``: ``preference`` (``"A"``/``"B"``/``"tie"``/…), ``rules_a`` and ``rules_b`` (each constraint's result),
``violations`` (``[A, B]``), ``constraints_source`` (``"item"``, ``"detected"`` or None) and the inner critique's
metadata when the model judged.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from critica.critics.markup import neutralise
from critica.types import Critique, Item, ParseStatus, Verdict
from critica.verifiers.rules import MAX_CHARS, Constraint, RuleResult, check_response, item_constraints

__all__ = ["RulesPairwiseCritic", "pair_constraints"]


def pair_constraints(item: Item, detect: bool = True) -> tuple[list[Constraint], str | None]:
    """The constraints both responses are checked against, and where they came from."""
    given, _errors = item_constraints(item)
    if given:
        return given, "item"
    if detect:
        from critica.verifiers.rules_detect import detect_constraints

        found = detect_constraints(item.question)
        if found:
            return found, "detected"
    return [], None


def _opening(text: str) -> str:
    words = " ".join((text or "").split())
    return words[:60] + ("…" if len(words) > 60 else "")


def _context(a: str, b: str, ra: list[RuleResult], rb: list[RuleResult]) -> str:
    lines = ["Tool checks of the instruction's verifiable constraints (computed exactly, not by a language model):"]
    for text, results in ((a, ra), (b, rb)):
        lines.append(f"- The response beginning \"{_opening(text)}\":")
        lines += [f"  - {r.constraint.text or r.constraint.id}: {r.status} ({r.evidence})" for r in results]
    lines.append("Use these results as evidence, and judge the rest of the instruction yourself.")
    return neutralise("\n".join(lines), strict=True)


def _same(pref: str) -> list[dict[str, Any]]:
    # the checks do not depend on which response is shown first: both presentation orders give the same answer
    return [{"preference": pref, "parse_status": "ok", "note": "rules"} for _ in range(2)]


class RulesPairwiseCritic:
    """Pairwise preference from verifiable constraints, with an optional ``pairwise`` model critic behind it."""

    def __init__(self, inner: Any | None = None, *, detect: bool = True, max_chars: int = MAX_CHARS) -> None:
        self.inner = inner
        self.detect = detect
        self.max_chars = max_chars
        self.name = "rules-pairwise" if inner is None else f"rules-pairwise:{inner.name}"
        self.caller = getattr(inner, "caller", None)
        self._context: dict[str, str] = {}
        if inner is not None:
            inner.tool_context = lambda item: self._context.get(item.id)

    def rules(self, item: Item) -> tuple[list[RuleResult], list[RuleResult], str | None]:
        """Both responses' results (synchronous; CPU-bound)."""
        constraints, source = pair_constraints(item, self.detect)
        b = item.candidates[0] if item.candidates else ""
        return (check_response(item.text, item.question, constraints, max_chars=self.max_chars),
                check_response(b, item.question, constraints, max_chars=self.max_chars), source)

    async def critique(self, item: Item) -> Critique:
        start = time.perf_counter()
        if not item.candidates:
            from critica.critics.base import unscored

            return unscored(item, self.name, reason="rules-pairwise needs a second response in candidates[0]")
        ra, rb, source = await asyncio.to_thread(self.rules, item)
        both = [i for i, (x, y) in enumerate(zip(ra, rb, strict=True))
                if x.status != "unchecked" and y.status != "unchecked"]
        va = sum(ra[i].status == "violated" for i in both)
        vb = sum(rb[i].status == "violated" for i in both)
        meta: dict[str, Any] = {"rules_a": [r.as_dict() for r in ra], "rules_b": [r.as_dict() for r in rb],
                                "violations": [va, vb], "constraints_source": source}
        if va != vb:
            pref = "A" if va < vb else "B"
            meta.update(preference=pref, decided_by="rules", orders=_same(pref), order_consistent=True)
            return Critique(item_id=item.id, critic=self.name, verdict=Verdict.CORRECT if pref == "A" else
                            Verdict.INCORRECT, confidence=1.0, metadata=meta, latency_s=time.perf_counter() - start,
                            explanation=f"Response {pref} violates fewer of the {len(both)} checked constraint(s) "
                                        f"(A: {va}, B: {vb}).")
        if self.inner is None:
            meta.update(preference="tie", decided_by=None, orders=_same("tie"), order_consistent=True)
            why = ("no checkable constraint in the instruction" if not ra else
                   f"both responses violate {va} of the {len(both)} checked constraint(s)")
            return Critique(item_id=item.id, critic=self.name, verdict=Verdict.UNSCORED, parse_status=ParseStatus.OK,
                            metadata=meta, latency_s=time.perf_counter() - start,
                            explanation=f"The constraints do not separate the responses: {why}.")
        if ra:
            self._context[item.id] = _context(item.text, item.candidates[0], ra, rb)
        try:
            crit = await self.inner.critique(item)
        finally:
            self._context.pop(item.id, None)
        crit.critic = self.name
        crit.metadata.update({**meta, "decided_by": "model"})
        return crit
