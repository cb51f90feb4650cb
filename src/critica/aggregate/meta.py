"""A meta critic: an LLM rates how good a critique is (DeepSeek-GRM's meta RM, Liu et al. 2025, arXiv:2504.02495).

It judges items built by :func:`critica.aggregate.voting.critique_as_item` (problem + solution in the question, the
critique as the response; for a critique of several responses, every response, the principles and each response's
score, since DeepSeek-GRM's meta RM rates the whole generated critique) and returns a 1–10 rating as ``score``. Schema-constrained decoding guarantees an
integer, not its range: out-of-range ratings are clamped and the clamp is recorded in ``parse_error``. Registered
as the critic ``meta`` for ``--meta-critic meta``; any other critic name works too (it judges the same item).
"""

from __future__ import annotations

from typing import Any

from critica.backends.base import Message
from critica.critics.base import LLMCritic, unscored
from critica.critics.parse import extract_json, last_boxed, parse_int, strip_reasoning
from critica.types import Critique, Item, ParseStatus, Score, Verdict

__all__ = ["MetaRater", "META_PROMPT"]

META_PROMPT = """You are checking another reviewer's critique of a solution (or of several responses).

{question}

The reviewer's critique:
{critique}

Is the reviewer's judgement right? Re-check the solution yourself, then rate the critique from 1 (wrong or
useless) to 10 (correct verdict, correct first error, fitting principles and scores, clear explanation).
Answer with a JSON object: {{"analysis": "<your check>", "rating": <integer 1-10>}}"""

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"analysis": {"type": "string"}, "rating": {"type": "integer"}},
    "required": ["analysis", "rating"],
    "additionalProperties": False,
}


class MetaRater(LLMCritic):
    """Rates a critique 1–10; verdict ``correct`` (a good critique) when the rating is at least ``threshold``."""

    name = "meta"
    json_schema = SCHEMA

    def __init__(self, *args: Any, threshold: float = 6, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.threshold = threshold

    def messages(self, item: Item) -> list[Message]:
        return [{"role": "user", "content": META_PROMPT.format(question=item.question, critique=item.text)}]

    def parse(self, item: Item, raw: str) -> Critique:
        final = strip_reasoning(raw)
        js = extract_json(final)
        status, note = ParseStatus.OK, None
        rating: int | None = None
        analysis = final
        if js is not None and "rating" in js.value:
            value = js.value["rating"]
            rating = value if isinstance(value, int) and not isinstance(value, bool) else parse_int(str(value))
            analysis = str(js.value.get("analysis", ""))
            if js.repaired:
                status, note = ParseStatus.REPAIRED, js.note
        else:
            rating = parse_int(last_boxed(final))
            if rating is not None:
                status, note = ParseStatus.REPAIRED, "boxed rating instead of the requested JSON"
        if rating is None:
            return unscored(item, self.name, reason="no rating found in the reply", explanation=final[:2000])
        if not 1 <= rating <= 10:
            note = f"rating {rating} clamped to [1, 10]"
            status = ParseStatus.REPAIRED
            rating = min(10, max(1, rating))
        return Critique(
            item_id=item.id, critic=self.name,
            verdict=Verdict.CORRECT if rating >= self.threshold else Verdict.INCORRECT,
            score=Score(value=rating, min=1, max=10), explanation=analysis, parse_status=status, parse_error=note,
        )
