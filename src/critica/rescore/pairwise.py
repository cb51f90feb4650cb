"""Building pairwise critiques from replayed judge replies (shared by the LLMBar, JudgeBench and jsonl adapters).

Convention for a pairwise critique of an item whose ``response`` is candidate A (``candidates[0]`` is B):
``metadata["preference"]`` is ``"A"``, ``"B"`` or ``"tie"`` **in the original frame** (a judge that saw the pair
swapped is mapped back), and the verdict reads as a judgement of candidate A: ``correct`` = A preferred,
``incorrect`` = B preferred, ``unscored`` = tie, inconsistent or unparsed. ``parse_status`` says whether the reply
could be read at all.
"""

from __future__ import annotations

from typing import Any

from critica.types import Critique, ParseStatus, Verdict

__all__ = ["pairwise_critique", "combine_orders", "PREF_VERDICT"]

PREF_VERDICT = {"A": Verdict.CORRECT, "B": Verdict.INCORRECT, "tie": Verdict.UNSCORED}


def pairwise_critique(
    item_id: str,
    critic: str,
    raw: str,
    preference: str | None,
    *,
    model: str | None,
    parse_error: str = "no verdict label found",
    metadata: dict[str, Any] | None = None,
) -> Critique:
    """One judge reply as a critique; ``preference`` None means the reply could not be parsed."""
    meta = dict(metadata or {})
    meta["preference"] = preference
    if preference is None:
        return Critique(
            item_id=item_id, critic=critic, verdict=Verdict.UNSCORED, parse_status=ParseStatus.FAILED,
            parse_error=parse_error, raw_outputs=[raw], model=None, metadata=meta | {"model": model},
        )
    return Critique(
        item_id=item_id, critic=critic, verdict=PREF_VERDICT[preference], parse_status=ParseStatus.OK,
        raw_outputs=[raw], model=None, metadata=meta | {"model": model}, explanation=raw,
    )


def combine_orders(item_id: str, critic: str, samples: list[Critique], model: str | None, **metadata: Any) -> Critique:
    """One critique per item from its per-order critiques: the shared preference when all orders agree.

    Disagreeing orders give an unscored verdict with ``metadata["consistent"] = False`` (the position bias is the
    finding); the item fails to parse only when no order could be parsed.
    """
    prefs = [s.metadata.get("preference") for s in samples]
    parsed = [p for p in prefs if p is not None]
    consistent = len(parsed) == len(prefs) and len(set(parsed)) == 1
    preference = parsed[0] if consistent else None
    if not parsed:
        return Critique(
            item_id=item_id, critic=critic, verdict=Verdict.UNSCORED, parse_status=ParseStatus.FAILED,
            parse_error="no order could be parsed", samples=samples, model=None,
            raw_outputs=[r for s in samples for r in s.raw_outputs],
            metadata={"preference": None, "consistent": False, "model": model, **metadata},
        )
    status = ParseStatus.OK if len(parsed) == len(prefs) else ParseStatus.REPAIRED
    return Critique(
        item_id=item_id, critic=critic,
        verdict=PREF_VERDICT[preference] if preference else Verdict.UNSCORED,
        parse_status=status,
        parse_error=None if status == ParseStatus.OK else "some presentation orders could not be parsed",
        samples=samples, model=None, raw_outputs=[r for s in samples for r in s.raw_outputs],
        confidence=(max(parsed.count("A"), parsed.count("B"), parsed.count("tie")) / len(prefs)),
        metadata={"preference": preference, "consistent": consistent, "model": model, **metadata},
    )
