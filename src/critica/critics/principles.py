"""``principles``: DeepSeek-GRM pointwise generative reward — principles, critiques, then an integer score each.

Source: Liu et al., "Inference-Time Scaling for Generalist Reward Modeling" (DeepSeek-GRM, arXiv:2504.02495). The
critic first writes principles for this query (self-principled critique tuning), critiques every response against
them, and ends with one integer score per response (1–10 by default).

Responses are ``Item.response`` followed by ``Item.candidates``, shown as ``[Response 1] …``. ``Item.principles``,
when given, are included as principles the critic must apply.

Output (JSON): ``{"principles": [...], "critiques": [...], "scores": [int, ...]}``; text: ``Scores: \\boxed{7, 4}``
(also ``[[7, 4]]`` or ``Scores: 7, 4``). Scores are validated: the count must equal the number of responses (else
unscored — scores cannot be attributed), non-integers are rounded and out-of-range values clamped (both noted,
``repaired``).

The critique is about ``Item.response``: ``score`` is its score; ``verdict`` is ``correct`` when that score passes
``pass_threshold`` (default: above the scale's midpoint, e.g. 6+ on 1–10), else ``incorrect``. ``metadata``:
``scores`` (one per response, in order), ``best`` (indices of the top score), ``principles``, ``critiques``, and
``pass_threshold`` when one is set (score-sum voting applies the same rule to the sum of k samples).
"""

from __future__ import annotations

import re
from typing import Any

from critica.backends.base import Message
from critica.backends.call import Caller
from critica.critics.base import unscored
from critica.critics.markup import neutralise
from critica.critics.parse import strip_reasoning
from critica.critics.prompts import load_template
from critica.critics.structured import Notes, ProtocolCritic, as_int, boxed_ints, clamp, find_json, labelled_value
from critica.types import Critique, Item, ParseStatus, Score, Verdict

__all__ = ["PrinciplesCritic", "passes", "responses_of"]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "principles": {"type": "array", "items": {"type": "string"}},
        "critiques": {"type": "array", "items": {"type": "string"}},
        "scores": {"type": "array", "items": {"type": "integer"}},
    },
    "required": ["principles", "critiques", "scores"],
    "additionalProperties": False,
}
_BRACKETS = re.compile(r"\[\[\s*([^\[\]]{1,200}?)\s*\]\]")


def responses_of(item: Item) -> list[str]:
    """All responses of an item, in order: ``response`` (or its steps) then ``candidates``."""
    return [item.text, *item.candidates]


def passes(value: float, lo: float, hi: float, threshold: float | None) -> bool:
    """Whether a score counts as a pass: ``>= threshold`` when given, else strictly above the scale's midpoint."""
    return value >= threshold if threshold is not None else value > (lo + hi) / 2


def _ints(text: str) -> list[int] | None:
    parts = [p for p in re.split(r"[,;/\s]+", text.strip().strip("[]{}()$")) if p]
    out = []
    for p in parts:
        v = as_int(p)
        if v is None:
            return None
        out.append(v)
    return out or None


class PrinciplesCritic(ProtocolCritic):
    """Principles, then critiques, then one integer score per response."""

    name = "principles"
    json_schema = SCHEMA

    def __init__(self, caller: Caller, *, min_score: int = 1, max_score: int = 10, pass_threshold: float | None = None,
                 **options: Any) -> None:
        super().__init__(caller, **options)
        if min_score >= max_score:
            raise ValueError(f"min_score {min_score} must be below max_score {max_score}")
        self.lo, self.hi, self.threshold = min_score, max_score, pass_threshold

    def messages(self, item: Item) -> list[Message]:
        responses = "\n\n".join(f"[Response {i}]\n{neutralise(r)}" for i, r in enumerate(responses_of(item), 1))
        given = ""
        if item.principles:
            given = "\n[Principles you must include]\n" + "\n".join(f"- {neutralise(p)}" for p in item.principles) + "\n"
        template = load_template("principles_json" if self.structured else "principles")
        return self.prompt(template.format(question=neutralise(item.question), responses=responses, given_principles=given,
                                           lo=self.lo, hi=self.hi))

    @staticmethod
    def _readable_scores(value: str) -> bool:
        m = _BRACKETS.search(value)
        return bool(boxed_ints(value) or _ints(m.group(1) if m else value))

    def _scores_from_text(self, final: str, notes: Notes) -> list[int] | None:
        labelled = labelled_value(final, ("scores", "final scores", "score"), valid=self._readable_scores)
        if labelled is not None:
            inner = boxed_ints(labelled)
            if inner:
                return inner
            m = _BRACKETS.search(labelled)
            got = _ints(m.group(1) if m else labelled)
            if got:
                return got
        inner = boxed_ints(final)
        if inner:
            notes.add("scores in a \\boxed{} without a 'Scores:' label")
            return inner
        for bracket in reversed(_BRACKETS.findall(final)):  # the last readable one binds
            got = _ints(bracket)
            if got:
                notes.add("scores in [[...]] without a 'Scores:' label")
                return got
        return None

    def parse(self, item: Item, raw: str) -> Critique:
        count = len(responses_of(item))
        final = strip_reasoning(raw)
        notes = Notes()
        base = ParseStatus.OK
        principles: list[str] = []
        critiques: list[str] = []
        explanation = final
        ans = find_json(raw, structured=self.structured)
        scores: list[int] | None = None
        if ans is not None and "scores" in ans.value:
            base = ans.status
            notes.add(ans.note or "")
            got = ans.value.get("scores")
            if isinstance(got, (int, float, str)) and not isinstance(got, bool):
                got = [got]
            if isinstance(got, list):
                converted = [as_int(v, notes, "score") for v in got]
                scores = None if any(v is None for v in converted) else [int(v) for v in converted if v is not None]
            principles = [str(p) for p in ans.value.get("principles", []) or []] if isinstance(ans.value.get("principles"), list) else []
            critiques = [str(c) for c in ans.value.get("critiques", []) or []] if isinstance(ans.value.get("critiques"), list) else []
            explanation = "\n\n".join(critiques)
        else:
            scores = self._scores_from_text(final, notes)
            if scores is not None and self.structured:
                notes.add("free-text answer instead of the requested JSON")
        if not scores:
            return unscored(item, self.name, reason="no integer scores found in the reply", explanation=final[:4000])
        if len(scores) != count:
            return unscored(item, self.name, reason=f"{len(scores)} score(s) for {count} response(s)",
                            explanation=explanation[:4000])
        scores = [clamp(v, self.lo, self.hi, notes, f"score of response {i}") for i, v in enumerate(scores, 1)]
        top = max(scores)
        value = scores[0]
        return Critique(
            item_id=item.id, critic=self.name,
            verdict=Verdict.CORRECT if passes(value, self.lo, self.hi, self.threshold) else Verdict.INCORRECT,
            score=Score(value=value, min=self.lo, max=self.hi), explanation=explanation,
            parse_status=notes.status(base), parse_error=notes.text(),
            metadata={"scores": scores, "best": [i for i, v in enumerate(scores) if v == top],
                      "principles": principles, "critiques": critiques,
                      # score_sum applies the same pass rule to the sum of k samples
                      **({"pass_threshold": self.threshold} if self.threshold is not None else {})},
        )
