"""``pairwise``: compare two responses (A/B, with tie), in both orders; order-inconsistency is reported, not resolved.

Sources: Zheng et al., "Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena" (arXiv:2306.05685: position bias,
run both orders and count a disagreement as inconsistent); Arena-Hard's ``[[A>B]]`` labels as used by JudgeBench
(Tan et al., arXiv:2410.12784); LLMBar (Zeng et al., arXiv:2310.07641) for instruction-following pairs.

``Item.response`` is response A, ``Item.candidates[0]`` response B. By default the critic is asked twice: once with
A shown first and once with B shown first; the second answer is mapped back to the original frame.

Output per call (JSON): ``{"explanation", "winner": "A"|"B"|"tie"}``; text: a final ``[[A>B]]`` / ``[[B>A]]`` /
``[[A=B]]`` label (read by :func:`critica.critics.labels.arena_decision`: the last well-formed label binds).

What the critique says (``metadata["preference"]`` is the answer; ``verdict`` is about response A):

==================================  =============  ==============  ============================================
both orders                          preference     verdict         parse_status
==================================  =============  ==============  ============================================
agree on A / on B                    ``"A"``/``"B"``  correct/incorrect  worst of the two (ok/repaired)
agree on a tie                       ``"tie"``      unscored        ok/repaired (a tie is an answer, not a failure)
disagree (incl. tie vs. a winner)    ``"inconsistent"`` unscored    ok/repaired; ``order_consistent`` False
either order unparseable             None           unscored        failed (never a tie, never a winner)
==================================  =============  ==============  ============================================

``verdict`` ``correct`` means "A is preferred over B", ``incorrect`` "B is preferred over A" — a relative judgement,
not a claim that A is right. Summaries of pairwise runs should read ``metadata["preference"]``;
``metadata["orders"]`` keeps each call's own preference (original frame), parse status and note, so other
combination rules (e.g. JudgeBench's, where a tie plus a winner counts for the winner) can be applied afterwards.
``metadata["order_consistent"]`` is True/False when both orders parsed, None otherwise or with one order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from critica.backends.base import Message
from critica.backends.call import Caller
from critica.critics.base import unscored
from critica.critics.direct import reference_block
from critica.critics.labels import arena_decision
from critica.critics.markup import neutralise
from critica.critics.parse import strip_reasoning
from critica.critics.prompts import load_template
from critica.critics.structured import Notes, ProtocolCritic, Reply, find_json, labelled_value
from critica.types import Critique, Item, ParseStatus, Verdict

__all__ = ["PairwiseCritic", "OrderJudgment", "parse_preference", "combine_orders"]

Preference = Literal["A", "B", "tie"]
_DECISION = {"A>B": "A", "B>A": "B", "A=B": "tie"}
_SWAP = {"A": "B", "B": "A", "tie": "tie"}


@dataclass
class OrderJudgment:
    """One call's answer: the preference in the frame the judge saw, and how it was parsed."""

    preference: Preference | None
    status: ParseStatus
    note: str | None
    explanation: str


def _word(value: Any, allow_tie: bool) -> Preference | None:
    if not isinstance(value, str):
        return None
    v = value.strip().strip("*_`'\"[]().").strip()
    low = v.lower()
    for prefix in ("response ", "output ", "assistant "):
        if low.startswith(prefix):
            low = low[len(prefix):].strip()
    if low in ("a", "b"):
        return low.upper()  # type: ignore[return-value]
    if allow_tie and low in ("tie", "a=b", "equal", "both"):
        return "tie"
    return None


def parse_preference(raw: str | None, *, structured: bool, allow_tie: bool = True) -> OrderJudgment:
    """Parse one pairwise answer (in the frame the judge saw); never raises."""
    final = strip_reasoning(raw)
    notes = Notes()
    base = ParseStatus.OK
    ans = find_json(raw, structured=structured)
    pref: Preference | None = None
    explanation = final
    if ans is not None and "winner" in ans.value:
        base = ans.status
        notes.add(ans.note or "")
        pref = _word(ans.value.get("winner"), allow_tie)
        if pref is not None and ans.value.get("winner") not in ("A", "B", "tie"):
            notes.add("winner written in another form")
        explanation = str(ans.value.get("explanation", ""))
    else:
        decision = arena_decision(final)
        if decision is not None:
            pref = _DECISION[decision]  # type: ignore[assignment]
        else:
            pref = _word(labelled_value(final, ("winner", "better response", "final verdict", "verdict"),
                                        valid=lambda v: _word(v, allow_tie) is not None), allow_tie)
            if pref is not None:
                notes.add("'Winner:' line instead of a [[A>B]] label")
        if pref is not None and structured:
            notes.add("free-text answer instead of the requested JSON")
    if pref == "tie" and not allow_tie:
        return OrderJudgment(None, ParseStatus.FAILED, "a tie, which this prompt did not offer", explanation)
    if pref is None:
        return OrderJudgment(None, ParseStatus.FAILED, "no preference (A, B or tie) found in the reply", explanation)
    return OrderJudgment(pref, notes.status(base), notes.text(), explanation)


def combine_orders(first: Preference | None, second: Preference | None) -> str | None:
    """Both orders' preferences (original frame) → ``"A"``/``"B"``/``"tie"``, ``"inconsistent"``, or None (unparsed)."""
    if first is None or second is None:
        return None
    return first if first == second else "inconsistent"


class PairwiseCritic(ProtocolCritic):
    """A/B preference, run in both orders by default."""

    name = "pairwise"
    multi_call = True

    def __init__(self, caller: Caller, *, both_orders: bool = True, allow_tie: bool = True, **options: Any) -> None:
        super().__init__(caller, **options)
        self.both_orders = both_orders
        self.allow_tie = allow_tie

    @property
    def json_schema(self) -> dict[str, Any]:  # type: ignore[override]
        return {
            "type": "object",
            "properties": {
                "explanation": {"type": "string"},
                "winner": {"type": "string", "enum": ["A", "B", "tie"] if self.allow_tie else ["A", "B"]},
            },
            "required": ["explanation", "winner"],
            "additionalProperties": False,
        }

    def order_messages(self, item: Item, swapped: bool) -> list[Message]:
        """The prompt with A first (``swapped=False``) or B first."""
        a, b = neutralise(item.text), neutralise(item.candidates[0])
        if swapped:
            a, b = b, a
        if self.structured:
            template = load_template("pairwise_json")
            extra = {"winner_text": '"A", "B" or "tie"' if self.allow_tie else '"A" or "B"'}
        else:
            template = load_template("pairwise")
            extra = {"tie_text": ", [[A=B]] if they are equally good" if self.allow_tie else ""}
        return self.prompt(template.format(question=neutralise(item.question), response_a=a, response_b=b,
                                           reference=reference_block(item), **extra))

    def messages(self, item: Item) -> list[Message]:
        return self.order_messages(item, swapped=False)

    def parse(self, item: Item, raw: str) -> Critique:
        """A single-order answer (A shown first) as a critique."""
        return self._build(item, [parse_preference(raw, structured=self.structured, allow_tie=self.allow_tie)])

    def _build(self, item: Item, judged: list[OrderJudgment]) -> Critique:
        frames = [j.preference if i == 0 else (None if j.preference is None else _SWAP[j.preference])
                  for i, j in enumerate(judged)]
        orders = [
            {"order": "AB" if i == 0 else "BA", "preference": p, "parse_status": j.status.value, "note": j.note}
            for i, (j, p) in enumerate(zip(judged, frames, strict=True))
        ]
        explanation = "\n\n".join(f"[{o['order']}] {j.explanation}" for o, j in zip(orders, judged, strict=True)) if len(judged) > 1 \
            else judged[0].explanation
        failed = [o for o, j in zip(orders, judged, strict=True) if j.status == ParseStatus.FAILED]
        if failed:
            reason = "; ".join(f"order {o['order']}: {o['note']}" for o in failed)
            return unscored(item, self.name, reason=reason, explanation=explanation,
                            metadata={"preference": None, "order_consistent": None, "orders": orders})
        pref = frames[0] if len(frames) == 1 else combine_orders(frames[0], frames[1])
        notes = Notes()
        for o in orders:
            if o["note"]:
                notes.add(f"order {o['order']}: {o['note']}")
        status = ParseStatus.REPAIRED if any(j.status == ParseStatus.REPAIRED for j in judged) else ParseStatus.OK
        verdict = {"A": Verdict.CORRECT, "B": Verdict.INCORRECT}.get(pref or "", Verdict.UNSCORED)
        consistent = None if len(frames) == 1 else pref != "inconsistent"
        return Critique(
            item_id=item.id, critic=self.name, verdict=verdict, explanation=explanation, parse_status=status,
            parse_error=notes.text(),
            metadata={"preference": pref, "order_consistent": consistent, "orders": orders},
        )

    async def run(self, item: Item, seed: int | None) -> Critique:
        start = time.perf_counter()
        if not item.candidates:
            return unscored(item, self.name, reason="pairwise needs two responses: 'response' and 'candidates[0]'",
                            metadata={"preference": None, "order_consistent": None, "orders": []})
        calls = [self.call(item, self.order_messages(item, swapped=False), self.json_schema, seed=seed)]
        if self.both_orders:
            calls.append(self.call(item, self.order_messages(item, swapped=True), self.json_schema, seed=seed))
        replies: list[Reply] = await self.gather(*calls)
        if any(r.error for r in replies):
            crit = self.backend_failure(item, replies, start, seed)
            crit.metadata = {"preference": None, "order_consistent": None, "orders": []}
            return crit
        judged = [parse_preference(r.text, structured=self.structured, allow_tie=self.allow_tie) for r in replies]
        return self.finish(self._build(item, judged), replies, start, seed)
