"""``deliberate``: DeepCritic-style deliberate step-wise critique, then a critique of that critique.

Source: Yang et al., "DeepCritic: Deliberate Critique with Large Language Models" (arXiv:2505.00662). The critic
judges each step in turn with explicit verification (recompute, check against the question, check against earlier
steps); a second call then critiques that first-pass critique (meta-critique) and gives the final per-step verdicts
and the first error.

Two backend calls per item. The **second** call's answer binds: if it cannot be parsed the critique is unscored —
never the first pass's answer in its place (that would be falling back to an earlier verdict). The first pass is kept
in ``raw_outputs[0]`` and summarised in ``metadata["first_pass"]`` (its own parse: ``first_error_step``,
``parse_status``, the per-step critique ``steps`` (``index`` 0-based, ``verdict``, ``verification``) and, for a
free-text first pass, its ``text``); ``explanation`` is the second call's critique of the first pass (its
``meta_critique``). SFT exports render them in DeepCritic's order: initial critique, meta-critique, final judgement.

Output (JSON): ``{"meta_critique", "steps": [{"step", "verification", "verdict"}], "first_error_step"}``; text:
``Step k verdict: correct|incorrect`` lines and ``First error: k`` (or ``\\boxed{k}``), ``-1`` for none. Steps are
1-based in prompts, 0-based in the critique. A first error outside ``1..n`` makes the critique unscored (it is the
answer); per-step entries outside ``1..n`` are dropped and noted. When ``first_error_step`` is missing it is derived
from the per-step verdicts (``repaired``). ``metadata["steps_disagree"]`` is True when the per-step verdicts put an
error before the stated first error.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from critica.backends.base import Message
from critica.critics.base import unscored
from critica.critics.direct import reference_block, verdict_word
from critica.critics.markup import neutralise
from critica.critics.parse import strip_reasoning
from critica.critics.prompts import load_template
from critica.critics.structured import (
    Notes,
    ProtocolCritic,
    as_int,
    boxed_ints,
    find_json,
    labelled_value,
    numbered_steps,
    step_index,
)
from critica.inputs.steps import item_steps
from critica.types import Critique, Item, ParseStatus, StepJudgment, StepVerdict, Verdict

__all__ = ["DeliberateCritic", "StepwiseAnswer", "parse_stepwise"]

_STEP_ENTRY = {
    "type": "object",
    "properties": {
        "step": {"type": "integer"},
        "verification": {"type": "string"},
        "verdict": {"type": "string", "enum": ["correct", "incorrect"]},
    },
    "required": ["step", "verification", "verdict"],
    "additionalProperties": False,
}
FIRST_PASS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"steps": {"type": "array", "items": _STEP_ENTRY}, "first_error_step": {"type": "integer"}},
    "required": ["steps", "first_error_step"],
    "additionalProperties": False,
}
META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "meta_critique": {"type": "string"},
        "steps": {"type": "array", "items": _STEP_ENTRY},
        "first_error_step": {"type": "integer"},
    },
    "required": ["meta_critique", "steps", "first_error_step"],
    "additionalProperties": False,
}

_NONE = re.compile(r"^\W*(none|no error)\b", re.IGNORECASE)
_STEP_LINE = re.compile(
    r"(?im)^[ \t>#*_\-]*(?:step|paragraph)[ \t]+(\d{1,6})[ \t]*(?:verdict|judgment|judgement)?[ \t*_]*[:\-][ \t*_]*(.+?)[ \t]*$"
)
_ERROR_LABELS = ("first error", "first error step", "first incorrect step", "first wrong step", "earliest error")


@dataclass
class StepwiseAnswer:
    """A parsed step-wise answer: the first error (0-based or None), per-step verdicts, or why it failed."""

    first_error: int | None = None
    steps: dict[int, StepJudgment] = field(default_factory=dict)
    status: ParseStatus = ParseStatus.FAILED
    note: str | None = None
    explanation: str = ""
    disagree: bool = False


def _steps_from_json(entries: Any, n: int, notes: Notes) -> dict[int, StepJudgment]:
    out: dict[int, StepJudgment] = {}
    if not isinstance(entries, list):
        return out
    for pos, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            continue
        number = as_int(entry.get("step", pos))
        verdict = verdict_word(entry.get("verdict"))
        if number is None or verdict is None:
            notes.add("unreadable per-step entry dropped")
            continue
        if not 1 <= number <= n:
            notes.add(f"per-step entry for step {number} outside 1..{n} dropped")
            continue
        sv = StepVerdict.CORRECT if verdict == Verdict.CORRECT else StepVerdict.INCORRECT
        out[number - 1] = StepJudgment(index=number - 1, verdict=sv, explanation=str(entry.get("verification", ""))[:2000])
    return out


def _steps_from_text(text: str, n: int, notes: Notes) -> dict[int, StepJudgment]:
    out: dict[int, StepJudgment] = {}
    for m in _STEP_LINE.finditer(text):
        verdict = verdict_word(m.group(2))
        if verdict is None:
            continue  # "Step 2: we add …" is a check, not a verdict
        number = int(m.group(1))
        if not 1 <= number <= n:
            notes.add(f"verdict for step {number} outside 1..{n} dropped")
            continue
        sv = StepVerdict.CORRECT if verdict == Verdict.CORRECT else StepVerdict.INCORRECT
        out[number - 1] = StepJudgment(index=number - 1, verdict=sv)  # the last verdict for a step binds
    return out


def parse_stepwise(raw: str | None, n: int, *, structured: bool, explanation_key: str = "meta_critique") -> StepwiseAnswer:
    """Parse a step-wise answer (either pass) for a solution of ``n`` steps; never raises."""
    final = strip_reasoning(raw)
    notes = Notes()
    base = ParseStatus.OK
    ans = find_json(raw, structured=structured)
    if ans is not None and ("first_error_step" in ans.value or "steps" in ans.value):
        base = ans.status
        notes.add(ans.note or "")
        steps = _steps_from_json(ans.value.get("steps"), n, notes)
        stated: Any = ans.value.get("first_error_step")
        explanation = str(ans.value.get(explanation_key, "") or "")
    else:
        steps = _steps_from_text(final, n, notes)
        stated = labelled_value(final, _ERROR_LABELS, valid=lambda v: as_int(v) is not None or bool(_NONE.match(v)))
        if isinstance(stated, str) and _NONE.match(stated):
            stated = -1
        if stated is None:
            boxed = boxed_ints(final)
            if len(boxed) == 1:
                stated = boxed[0]
                notes.add("boxed first error instead of a 'First error:' line")
        explanation = final
        if structured and (stated is not None or steps):
            notes.add("free-text answer instead of the requested JSON")
    derived = min((i for i, s in steps.items() if s.verdict == StepVerdict.INCORRECT), default=None)
    value = as_int(stated)
    if value is None:
        if not steps:
            return StepwiseAnswer(note="no first error and no per-step verdicts found", explanation=final[:4000])
        if stated is not None:
            return StepwiseAnswer(note=f"unreadable first error {str(stated)[:40]!r}", explanation=final[:4000])
        notes.add("first error derived from the per-step verdicts")
        first: int | None = derived
    else:
        index = step_index(value, n)
        if isinstance(index, str):
            return StepwiseAnswer(note=f"first error: {index}", explanation=explanation[:4000])
        first = index
    disagree = derived is not None and (first is None or derived < first)
    return StepwiseAnswer(first, steps, notes.status(base), notes.text(), explanation, disagree)


class DeliberateCritic(ProtocolCritic):
    """Deliberate per-step verification, then a meta-critique that gives the final per-step verdicts."""

    name = "deliberate"
    json_schema = META_SCHEMA
    multi_call = True

    def _fields(self, item: Item) -> dict[str, str]:
        return {"question": neutralise(item.question, strict=True), "steps": numbered_steps(item_steps(item)),
                "reference": reference_block(item)}

    def messages(self, item: Item) -> list[Message]:
        """The first-pass prompt."""
        return self.prompt(load_template("deliberate_json" if self.structured else "deliberate").format(**self._fields(item)))

    def meta_messages(self, item: Item, first_pass: str) -> list[Message]:
        """The meta-critique prompt around the first pass's final text (its reasoning block removed)."""
        template = load_template("deliberate_meta_json" if self.structured else "deliberate_meta")
        # the first pass may quote the item: its markup is neutralised like the item's own
        return self.prompt(template.format(first_pass=neutralise(strip_reasoning(first_pass), strict=True) or "(empty)",
                                           **self._fields(item)))

    def parse(self, item: Item, raw: str) -> Critique:
        """Parse a final (meta-critique) answer; used for the second call."""
        n = len(item_steps(item))
        ans = parse_stepwise(raw, n, structured=self.structured)
        if ans.status == ParseStatus.FAILED:
            return unscored(item, self.name, reason=ans.note or "unparseable", explanation=ans.explanation)
        verdict = Verdict.CORRECT if ans.first_error is None else Verdict.INCORRECT
        return Critique(
            item_id=item.id, critic=self.name, verdict=verdict, first_error_step=ans.first_error,
            steps=[ans.steps[i] for i in sorted(ans.steps)], explanation=ans.explanation,
            parse_status=ans.status, parse_error=ans.note, metadata={"steps_disagree": ans.disagree},
        )

    async def run(self, item: Item, seed: int | None) -> Critique:
        start = time.perf_counter()
        first = await self.call(item, self.messages(item), FIRST_PASS_SCHEMA, "deliberate_first_pass", seed=seed)
        if first.error:
            return self.backend_failure(item, [first], start, seed)
        meta = await self.call(item, self.meta_messages(item, first.text or ""), META_SCHEMA, "deliberate_meta", seed=seed)
        if meta.error:
            return self.backend_failure(item, [first, meta], start, seed)
        crit = self.parse(item, meta.text or "")
        fp = parse_stepwise(first.text, len(item_steps(item)), structured=self.structured, explanation_key="")
        crit.metadata["first_pass"] = {
            "first_error_step": fp.first_error, "parse_status": fp.status.value, "parse_error": fp.note,
            # the initial per-step critique itself, so an SFT export can render it as DeepCritic's data does
            "steps": [{"index": i, "verdict": fp.steps[i].verdict.value, "verification": fp.steps[i].explanation or ""}
                      for i in sorted(fp.steps)],
            **({"text": strip_reasoning(first.text or "")[:8000]} if not self.structured or not fp.steps else {}),
        }
        return self.finish(crit, [first, meta], start, seed)
