"""``rubric``: an absolute score on a user-supplied rubric (Prometheus-style), per aspect when it has several (ACORN).

Sources: Kim et al., "Prometheus: Inducing Fine-grained Evaluation Capability in Language Models"
(arXiv:2310.08491) — feedback, then ``[RESULT] <score>`` on a 1–5 rubric with score descriptions and an optional
reference answer; Brassard et al., "ACORN: Aspect-wise Commonsense Reasoning Explanation Evaluation"
(arXiv:2405.04818), where an explanation is scored on several aspects, one score each.

The rubric is ``Item.rubric``, else the critic's ``rubric`` option, else a generic 1–5 quality rubric
(``prompts/rubric_default.txt``). The scale is ``min_score``..``max_score`` when given, else inferred from the
rubric's ``Score k:`` lines (two or more), else 1–5. Aspects are the ``aspects`` option, else
``Item.metadata["aspects"]``, else the rubric's ``Aspect: <name> …`` lines (two or more make it aspect-wise). Each
name is normalised once, and the prompt, the parser and ``metadata["aspects"]`` all use that form: one line
(whitespace collapsed), protocol markup neutralised (:mod:`critica.critics.markup`), at most 80 characters; at most
20 aspects (``Item.metadata`` is not counted by the item size budget).

Output (JSON): ``{"feedback", "aspect_scores": [{"aspect", "score"}], "score"}``; text: ``Feedback: …``, one
``<aspect>: <score>`` line per aspect, then ``[RESULT] <score>``. Scores are validated: non-integers rounded,
out-of-range values clamped (``repaired``); a missing overall score is the rounded mean of complete aspect scores
(``repaired``); no score at all is ``unscored``. ``verdict`` is ``correct`` when the score passes ``pass_threshold``
(default: above the scale's midpoint, so 4–5 on 1–5). ``metadata``: ``aspect_scores`` ({aspect: score}),
``aspects`` (names asked for), ``feedback``, ``pass_threshold`` when set.
"""

from __future__ import annotations

import re
from typing import Any

from critica.backends.base import Message
from critica.backends.call import Caller
from critica.critics.base import unscored
from critica.critics.direct import reference_block
from critica.critics.markup import neutralise
from critica.critics.parse import last_boxed, strip_reasoning
from critica.critics.principles import passes
from critica.critics.prompts import load_template
from critica.critics.structured import Notes, ProtocolCritic, as_int, clamp, find_json, labelled_value
from critica.types import Critique, Item, ParseStatus, Score, Verdict

__all__ = ["RubricCritic", "rubric_aspects", "rubric_scale"]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "feedback": {"type": "string"},
        "aspect_scores": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"aspect": {"type": "string"}, "score": {"type": "integer"}},
                "required": ["aspect", "score"],
                "additionalProperties": False,
            },
        },
        "score": {"type": "integer"},
    },
    "required": ["feedback", "aspect_scores", "score"],
    "additionalProperties": False,
}
_SCORE_LINE = re.compile(r"(?im)^[ \t*#_\-]*score[ \t]+(\d{1,4})[ \t]*[:)=\-–]")
_ASPECT_LINE = re.compile(r"(?im)^[ \t*#_\-]*(?:aspect|criterion)[ \t]*\d*[ \t]*[:\-][ \t]*(.+?)[ \t]*$")
_RESULT = re.compile(r"\[RESULT\]\s*[:\-]?\s*[\[(]?\s*([+-]?\d{1,6}(?:\.\d{1,3})?)", re.IGNORECASE)
_FEEDBACK = re.compile(r"(?is)feedback[ \t*_]*:[ \t*_]*(.*?)(?=\[RESULT\]|$)")
_LEADING_NUMBER = re.compile(r"^[\s\[(*_]*([+-]?\d{1,6}(?:\.\d{1,3})?)")
_MAX_ASPECTS = 20
"""Most aspects scored per item (ACORN has 8): ``Item.metadata`` is not counted by the size budget, so its
``aspects`` list is capped here."""
_MAX_ASPECT_CHARS = 80
"""Longest aspect name; longer names are cut (like the rubric's ``Aspect:`` lines)."""


def rubric_scale(rubric: str) -> tuple[int, int] | None:
    """The score range described by ``Score k:`` lines, when there are two or more distinct ones."""
    found = {int(k) for k in _SCORE_LINE.findall(rubric)}
    return (min(found), max(found)) if len(found) >= 2 else None


def rubric_aspects(rubric: str) -> list[str]:
    """Aspect names from ``Aspect: <name> — description`` lines (the name ends at a dash, colon or period)."""
    names = []
    for line in _ASPECT_LINE.findall(rubric):
        name = re.split(r"\s+[—–-]\s+|:|\.\s|\s\(", line, maxsplit=1)[0].strip(" *_")[:_MAX_ASPECT_CHARS]
        if name and name.lower() not in (n.lower() for n in names):
            names.append(name)
    return names


def _aspect_names(names: list[Any]) -> list[str]:
    """Aspect names as the prompt shows them and the parser reads them: each becomes a ``<name>: <score>`` answer
    line, so one line (whitespace collapsed), protocol markup neutralised, at most :data:`_MAX_ASPECT_CHARS`
    characters; empty names and repeats (any case) dropped; at most :data:`_MAX_ASPECTS` of them."""
    out: list[str] = []
    for a in names[:_MAX_ASPECTS]:
        name = neutralise(" ".join(str(a).split())[:_MAX_ASPECT_CHARS])
        if name and name.lower() not in (n.lower() for n in out):
            out.append(name)
    return out


def _number(text: Any, notes: Notes, what: str) -> int | None:
    if isinstance(text, str):
        m = _LEADING_NUMBER.match(text)
        return as_int(m.group(1), notes, what) if m else None
    return as_int(text, notes, what)


def _readable(text: str) -> bool:
    """Whether a labelled value or box holds a score (:func:`_number` reads it): the last readable one binds."""
    return _number(text, Notes(), "score") is not None


class RubricCritic(ProtocolCritic):
    """Feedback and an integer score on a rubric, per aspect when the rubric has several."""

    name = "rubric"
    json_schema = SCHEMA
    template = "rubric"
    """Prompt template (``<template>.txt``, ``<template>_json.txt``); the design critic has its own."""
    default_rubric = "rubric_default"
    """Template holding the rubric used when neither the item nor the options give one."""

    def __init__(self, caller: Caller, *, rubric: str | None = None, min_score: int | None = None,
                 max_score: int | None = None, aspects: list[str] | None = None, pass_threshold: float | None = None,
                 **options: Any) -> None:
        super().__init__(caller, **options)
        if (min_score is None) != (max_score is None):
            raise ValueError("give both min_score and max_score, or neither")
        if min_score is not None and max_score is not None and min_score >= max_score:
            raise ValueError(f"min_score {min_score} must be below max_score {max_score}")
        self.rubric, self.scale, self.aspects, self.threshold = rubric, (
            (min_score, max_score) if min_score is not None else None), aspects, pass_threshold

    def setup(self, item: Item) -> tuple[str, int, int, list[str]]:
        """The rubric text, scale and aspect names used for ``item``."""
        rubric = item.rubric or self.rubric or load_template(self.default_rubric)
        lo, hi = self.scale or rubric_scale(rubric) or (1, 5)
        meta_aspects = item.metadata.get("aspects")
        aspects = _aspect_names(self.aspects or (meta_aspects if isinstance(meta_aspects, list) else None)
                                or rubric_aspects(rubric))
        return rubric, lo, hi, aspects if len(aspects) >= 2 else []

    def messages(self, item: Item) -> list[Message]:
        rubric, lo, hi, aspects = self.setup(item)
        aspect_text = aspect_lines = ""
        if aspects:
            aspect_text = (f"The rubric has {len(aspects)} aspects: {', '.join(aspects)}. Score each aspect from {lo} "
                           f"to {hi}, then give an overall score.\n\n")
            aspect_lines = "".join(f"{a}: <an integer from {lo} to {hi}>\n" for a in aspects)
        template = load_template(f"{self.template}_json" if self.structured else self.template)
        return self.prompt(template.format(question=neutralise(item.question), response=neutralise(item.text),
                                           reference=reference_block(item), rubric=neutralise(rubric.strip()), aspect_text=aspect_text, aspect_lines=aspect_lines,
                                           lo=lo, hi=hi))

    def parse(self, item: Item, raw: str) -> Critique:
        _, lo, hi, aspects = self.setup(item)
        final = strip_reasoning(raw)
        notes = Notes()
        base = ParseStatus.OK
        by_aspect: dict[str, int] = {}
        ans = find_json(raw, structured=self.structured)
        if ans is not None and ("score" in ans.value or "aspect_scores" in ans.value):
            base = ans.status
            notes.add(ans.note or "")
            overall = _number(ans.value.get("score"), notes, "score")
            feedback = str(ans.value.get("feedback", ""))
            entries = ans.value.get("aspect_scores")
            if aspects and isinstance(entries, list):
                by_aspect = self._match_aspects(entries, aspects, notes)
        else:
            fb = _FEEDBACK.search(final)
            feedback = fb.group(1).strip() if fb else final
            results = _RESULT.findall(final)
            overall = as_int(results[-1], notes, "score") if results else None
            if overall is None:
                value = labelled_value(final, ("overall score", "final score", "score", "result"), valid=_readable)
                overall = _number(value, notes, "score") if value is not None else None
                if overall is None:
                    box = last_boxed(final, valid=_readable)
                    overall = _number(box, notes, "score") if box else None
                if overall is not None:
                    notes.add("score without the [RESULT] marker")
            for a in aspects:
                v = labelled_value(final, (a,), valid=_readable)
                got = _number(v, notes, f"score of {a}") if v is not None else None
                if got is not None:
                    by_aspect[a] = got
            if self.structured and (overall is not None or by_aspect):
                notes.add("free-text answer instead of the requested JSON")
        by_aspect = {a: clamp(v, lo, hi, notes, f"score of {a}") for a, v in by_aspect.items()}
        if overall is None and aspects and len(by_aspect) == len(aspects):
            overall = int(round(sum(by_aspect.values()) / len(by_aspect) + 1e-9))
            notes.add("overall score derived from the aspect scores")
        if overall is None:
            return unscored(item, self.name, reason="no score found in the reply", explanation=final[:4000])
        overall = clamp(overall, lo, hi, notes)
        return Critique(
            item_id=item.id, critic=self.name,
            verdict=Verdict.CORRECT if passes(overall, lo, hi, self.threshold) else Verdict.INCORRECT,
            score=Score(value=overall, min=lo, max=hi), explanation=feedback,
            parse_status=notes.status(base), parse_error=notes.text(),
            metadata={"aspect_scores": by_aspect, "aspects": aspects, "feedback": feedback,
                      **({"pass_threshold": self.threshold} if self.threshold is not None else {})},
        )

    @staticmethod
    def _match_aspects(entries: list[Any], aspects: list[str], notes: Notes) -> dict[str, int]:
        out: dict[str, int] = {}
        lookup = {a.lower().strip(): a for a in aspects}
        positional = len(entries) == len(aspects)
        for pos, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            value = _number(entry.get("score"), notes, "aspect score")
            name = lookup.get(str(entry.get("aspect", "")).lower().strip())
            if name is None and positional:
                name = aspects[pos]
                notes.add("aspect scores matched by position")
            if name is None or value is None:
                notes.add("unmatched aspect score dropped")
                continue
            out[name] = value
        return out
