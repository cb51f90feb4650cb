"""``evidence``: AlignRAG-style retrieval-aware critique — which reasoning steps the retrieved passages fail to support.

Source: Wei et al., "AlignRAG: Leveraging Critique Learning for Evidence-Sensitive Retrieval-Augmented Reasoning"
(arXiv:2504.14858): the critic reads the question, the retrieved passages and the answer's reasoning, and identifies
steps that are unsupported by the evidence, contradict it, or ignore relevant evidence, citing the passages.

Passages (``Item.evidence``) are numbered ``[1] …`` and steps ``Step 1: …`` in the prompt; everything stored is
0-based. An item without passages is unscored without a model call (there is nothing to ground against).

Output (JSON): ``{"analysis", "issues": [{"step", "type", "passages", "explanation"}], "verdict"}`` with ``type`` in
``unsupported`` / ``contradicted`` / ``ignores_evidence`` and ``verdict`` ``grounded`` / ``ungrounded``; text: one
``Issue: Step k | type | passages 1, 3 | explanation`` line per problem (``Issue: none``) and ``Verdict: …``.

``verdict``: ``grounded`` → ``correct``, ``ungrounded`` → ``incorrect``; a missing verdict with at least one valid
issue is ``incorrect`` (``repaired``); otherwise unscored. ``first_error_step`` is the earliest step named by an
issue (when the verdict is ``ungrounded``). Issues with a step outside ``0..n`` or an unknown type are dropped, and
passage numbers outside ``1..len(evidence)`` removed (``repaired``, noted). ``metadata``: ``issues`` (step 0-based or
None for the whole answer, type, passages 0-based, explanation), ``cited_passages`` (0-based, sorted),
``issues_disagree`` (True when the verdict is ``grounded`` but unsupported/contradicted steps were listed).
"""

from __future__ import annotations

import re
from typing import Any

from critica.backends.base import Message
from critica.critics.base import unscored
from critica.critics.markup import neutralise
from critica.critics.parse import strip_reasoning
from critica.critics.prompts import load_template
from critica.critics.structured import (
    Notes,
    ProtocolCritic,
    as_int,
    find_json,
    labelled_value,
    numbered_passages,
    numbered_steps,
)
from critica.inputs.steps import item_steps
from critica.types import Critique, Item, ParseStatus, StepJudgment, StepVerdict, Verdict

__all__ = ["EvidenceCritic", "ISSUE_TYPES"]

ISSUE_TYPES = ("unsupported", "contradicted", "ignores_evidence")
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "analysis": {"type": "string"},
        "issues": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "step": {"type": "integer"},
                    "type": {"type": "string", "enum": list(ISSUE_TYPES)},
                    "passages": {"type": "array", "items": {"type": "integer"}},
                    "explanation": {"type": "string"},
                },
                "required": ["step", "type", "passages", "explanation"],
                "additionalProperties": False,
            },
        },
        "verdict": {"type": "string", "enum": ["grounded", "ungrounded"]},
    },
    "required": ["analysis", "issues", "verdict"],
    "additionalProperties": False,
}
_VERDICT = re.compile(r"^[\s\[(\"'`*_]*(grounded|ungrounded)\b", re.IGNORECASE)
_ISSUE_LINE = re.compile(r"(?im)^[ \t>*_\-]*issue[ \t]*\d*[ \t]*[:\-][ \t]*(.+?)[ \t]*$")
_TYPE_ALIASES = {"unsupported": "unsupported", "not supported": "unsupported", "contradicted": "contradicted",
                 "contradicts": "contradicted", "contradiction": "contradicted", "ignores evidence": "ignores_evidence",
                 "ignored evidence": "ignores_evidence"}


def _verdict(value: Any) -> Verdict | None:
    if not isinstance(value, str):
        return None
    m = _VERDICT.match(value)
    if not m:
        return None
    return Verdict.CORRECT if m.group(1).lower() == "grounded" else Verdict.INCORRECT


def _issue_type(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return _TYPE_ALIASES.get(value.strip().strip("*_`'\"").lower().replace("-", " ").replace("_", " "))


def _passages(value: Any) -> list[int] | None:
    if isinstance(value, list):
        out = [as_int(v) for v in value]
        return None if any(v is None for v in out) else [int(v) for v in out if v is not None]
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        text = re.sub(r"(?i)passages?|\[|\]|p(?=\d)", " ", str(value))
        if re.search(r"(?i)\bnone\b", text) or not text.strip():
            return []
        parts = [p for p in re.split(r"[,;\s]+|\band\b", text) if p]
        out = [as_int(p) for p in parts]
        return None if any(v is None for v in out) else [int(v) for v in out if v is not None]
    return None


class EvidenceCritic(ProtocolCritic):
    """Grounding critique of reasoning steps against retrieved passages, with citations."""

    name = "evidence"
    json_schema = SCHEMA

    def messages(self, item: Item) -> list[Message]:
        template = load_template("evidence_json" if self.structured else "evidence")
        return self.prompt(template.format(question=neutralise(item.question, strict=True), passages=numbered_passages(item.evidence),
                                           steps=numbered_steps(item_steps(item))))

    async def sample(self, item: Item, n: int = 1, seed: int | None = None) -> list[Critique]:
        if not item.evidence:  # nothing to ground against: no model call
            return [unscored(item, self.name, reason="item has no evidence passages to ground the answer against")
                    for _ in range(n)]
        return await super().sample(item, n, seed)

    def _raw_issues(self, final: str, ans_value: dict[str, Any] | None) -> list[dict[str, Any]]:
        if ans_value is not None:
            got = ans_value.get("issues")
            return [e for e in got if isinstance(e, dict)] if isinstance(got, list) else []
        out = []
        for line in _ISSUE_LINE.findall(final):
            parts = [p.strip() for p in line.split("|")]
            if len(parts) < 2:
                continue
            step = re.sub(r"(?i)^step\s*", "", parts[0])
            out.append({"step": step, "type": parts[1], "passages": parts[2] if len(parts) > 2 else [],
                        "explanation": " | ".join(parts[3:])})
        return out

    def parse(self, item: Item, raw: str) -> Critique:
        n, k = len(item_steps(item)), len(item.evidence)
        final = strip_reasoning(raw)
        notes = Notes()
        base = ParseStatus.OK
        ans = find_json(raw, structured=self.structured)
        if ans is not None and ("verdict" in ans.value or "issues" in ans.value):
            base = ans.status
            notes.add(ans.note or "")
            verdict = _verdict(ans.value.get("verdict"))
            explanation = str(ans.value.get("analysis", ""))
            raw_issues = self._raw_issues(final, ans.value)
        else:
            verdict = _verdict(labelled_value(final, ("verdict", "final verdict"), valid=lambda v: _verdict(v) is not None))
            explanation = final
            raw_issues = self._raw_issues(final, None)
            if self.structured and (verdict is not None or raw_issues):
                notes.add("free-text answer instead of the requested JSON")
        issues = self._validate(raw_issues, n, k, notes)
        if verdict is None:
            if not issues:
                return unscored(item, self.name, reason="no verdict ('grounded' or 'ungrounded') found in the reply",
                                explanation=final[:4000])
            verdict = Verdict.INCORRECT
            notes.add("verdict missing; 'ungrounded' from the listed issues")
        flagged = sorted({i["step"] for i in issues if i["step"] is not None})
        first = flagged[0] if flagged and verdict == Verdict.INCORRECT else None
        steps = [StepJudgment(index=s, verdict=StepVerdict.INCORRECT,
                              explanation="; ".join(f"{i['type']}: {i['explanation']}" for i in issues if i["step"] == s))
                 for s in flagged] if verdict == Verdict.INCORRECT else []
        disagree = verdict == Verdict.CORRECT and any(
            i["step"] is not None and i["type"] != "ignores_evidence" for i in issues)
        return Critique(
            item_id=item.id, critic=self.name, verdict=verdict, first_error_step=first, steps=steps,
            explanation=explanation, parse_status=notes.status(base), parse_error=notes.text(),
            metadata={"issues": issues, "cited_passages": sorted({p for i in issues for p in i["passages"]}),
                      "issues_disagree": disagree},
        )

    @staticmethod
    def _validate(raw_issues: list[dict[str, Any]], n: int, k: int, notes: Notes) -> list[dict[str, Any]]:
        out = []
        for entry in raw_issues:
            step = as_int(entry.get("step"))
            kind = _issue_type(entry.get("type"))
            if step is None or not 0 <= step <= n:
                notes.add(f"issue with step {str(entry.get('step'))[:20]!r} outside 0..{n} dropped")
                continue
            if kind is None:
                notes.add(f"issue of unknown type {str(entry.get('type'))[:30]!r} dropped")
                continue
            cited = _passages(entry.get("passages", []))
            if cited is None:
                notes.add("unreadable passage list dropped")
                cited = []
            kept = [p - 1 for p in cited if 1 <= p <= k]
            if len(kept) != len(cited):
                notes.add(f"passage numbers outside 1..{k} removed")
            out.append({"step": None if step == 0 else step - 1, "type": kind, "passages": kept,
                        "explanation": str(entry.get("explanation", ""))[:2000]})
        return out
