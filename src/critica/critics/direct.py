"""``direct``: an overall correct/incorrect verdict with an explanation (CriticBench-style critique).

Source: Lin et al., "CriticBench: Benchmarking LLMs for Critique-Correct Reasoning" (arXiv:2402.14809), whose
critique prompts end in a correct/incorrect conclusion; here the critic also names the first wrong step.

Output (JSON, the default): ``{"explanation", "first_error_step", "suggested_fix", "verdict"}``; text:
``First error: <k or -1>`` and ``Verdict: <correct|incorrect>`` as the last lines. Steps are numbered from 1 in the
prompt; the critique's ``first_error_step`` is 0-based. Only ``correct``/``incorrect`` are accepted as verdicts
(``partially correct`` is not a label the prompt offered: unscored). The verdict binds: a first error given with
verdict ``correct``, or one outside ``1..n``, is dropped and noted (``repaired``).
"""

from __future__ import annotations

import re
from typing import Any

from critica.backends.base import Message
from critica.critics.base import unscored
from critica.critics.markup import neutralise
from critica.critics.parse import last_boxed, strip_reasoning
from critica.critics.prompts import load_template
from critica.critics.structured import (
    Notes,
    ProtocolCritic,
    as_int,
    find_json,
    labelled_value,
    numbered_steps,
    step_index,
)
from critica.inputs.steps import item_steps
from critica.types import Critique, Item, ParseStatus, StepJudgment, StepVerdict, Verdict

__all__ = ["DirectCritic", "verdict_word", "reference_block"]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "explanation": {"type": "string"},
        "first_error_step": {"type": "integer"},
        "suggested_fix": {"type": "string"},
        "verdict": {"type": "string", "enum": ["correct", "incorrect"]},
    },
    "required": ["explanation", "first_error_step", "suggested_fix", "verdict"],
    "additionalProperties": False,
}

_VERDICT_LABELS = ("verdict", "final verdict", "conclusion", "judgment", "judgement", "final judgment")
_ERROR_LABELS = ("first error", "first error step", "first wrong step", "earliest error", "first incorrect step")
_WORD = re.compile(
    r"^[\s\[\(\"'`*_]*(?:the\s+(?:solution|response|answer|reasoning)\s+is\s+)?(correct|incorrect)\b",
    re.IGNORECASE,
)
_NONE = re.compile(r"^\W*(none|no error|n/?a)\b", re.IGNORECASE)
_BOTH = re.compile(r"^[\s\[\(\"'`*_<]*(?:in)?correct\s*(?:or|/|\|)\s*(?:in)?correct\b", re.IGNORECASE)


def verdict_word(value: Any, labels: tuple[str, str] = ("correct", "incorrect")) -> Verdict | None:
    """``correct``/``incorrect`` (also ``**Incorrect**``, ``The solution is correct.``) → Verdict; anything else None.

    Both labels offered as alternatives (``correct or incorrect``, ``correct|incorrect``: the template's placeholder
    echoed without its brackets) are no verdict.
    """
    if not isinstance(value, str):
        return None
    m = _WORD.match(value)
    if not m or _BOTH.match(value):
        return None
    word = m.group(1).lower()
    return Verdict.CORRECT if word == labels[0] else Verdict.INCORRECT


def reference_block(item: Item) -> str:
    """The ``[Reference answer]`` section when the item has one, else an empty line."""
    return f"\n[Reference answer]\n{neutralise(item.reference_answer, strict=True)}\n" if item.reference_answer else ""


class DirectCritic(ProtocolCritic):
    """Overall verdict, explanation, first wrong step and a suggested fix."""

    name = "direct"
    json_schema = SCHEMA

    def messages(self, item: Item) -> list[Message]:
        template = load_template("direct_json" if self.structured else "direct")
        return self.prompt(template.format(question=neutralise(item.question, strict=True), steps=numbered_steps(item_steps(item)),
                                           reference=reference_block(item)))

    def parse(self, item: Item, raw: str) -> Critique:
        n = len(item_steps(item))
        final = strip_reasoning(raw)
        notes = Notes()
        base = ParseStatus.OK
        fix: str | None = None
        ans = find_json(raw, structured=self.structured)
        if ans is not None and "verdict" in ans.value:
            base = ans.status
            notes.add(ans.note or "")
            verdict = verdict_word(ans.value.get("verdict"))
            if verdict is not None and ans.value.get("verdict") not in ("correct", "incorrect"):
                notes.add("verdict written in another form")
            step_raw: Any = ans.value.get("first_error_step")
            explanation = str(ans.value.get("explanation", ""))
            fix = str(ans.value.get("suggested_fix") or "") or None
        else:
            word = labelled_value(final, _VERDICT_LABELS, valid=lambda v: verdict_word(v) is not None)
            verdict = verdict_word(word)
            if verdict is None:
                boxed = last_boxed(final, valid=lambda v: verdict_word(v) is not None)
                verdict = verdict_word(boxed) if boxed is not None else None
                if verdict is not None:
                    notes.add("boxed verdict instead of a 'Verdict:' line")
            step_raw = labelled_value(final, _ERROR_LABELS, valid=lambda v: as_int(v) is not None or bool(_NONE.match(v)))
            if isinstance(step_raw, str) and _NONE.match(step_raw):
                step_raw = -1
            explanation = final
            if self.structured and verdict is not None:
                notes.add("free-text answer instead of the requested JSON")
        if verdict is None:
            return unscored(item, self.name, reason="no verdict ('correct' or 'incorrect') found in the reply",
                            explanation=final[:4000])
        first = self._first_error(step_raw, n, verdict, notes)
        steps = [StepJudgment(index=first, verdict=StepVerdict.INCORRECT, explanation="first error")] if first is not None else []
        return Critique(
            item_id=item.id, critic=self.name, verdict=verdict, first_error_step=first, steps=steps,
            explanation=explanation, suggested_fix=fix, parse_status=notes.status(base), parse_error=notes.text(),
        )

    @staticmethod
    def _first_error(step_raw: Any, n: int, verdict: Verdict, notes: Notes) -> int | None:
        if step_raw is None or step_raw == "":
            return None
        value = as_int(step_raw)
        index = step_index(value, n)
        if isinstance(index, str):
            notes.add(f"first error ({step_raw!s:.40}): {index}; ignored")
            return None
        if index is not None and verdict == Verdict.CORRECT:
            notes.add("first error step given with verdict 'correct'; ignored")
            return None
        return index
