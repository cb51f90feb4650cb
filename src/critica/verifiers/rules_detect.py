"""Checkable constraints read from a free-text instruction ("in at most 50 words", "do not use commas" …).

One fixed list of phrase patterns (:data:`PATTERNS`), each mapped to an IFEval checker with its arguments; the list
is written from the wording of IFEval's own instruction templates and common English, not from any benchmark item,
and ``docs/rules.md`` prints it. A pattern fires only on an explicit, countable request; anything vaguer ("be brief",
"a short paragraph") is left to a model. Counts are digits or the number words one to twenty.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from critica.verifiers.rules import Constraint

__all__ = ["detect_constraints", "PATTERNS"]

_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_N = r"(\d{1,5}|" + "|".join(_NUMBERS) + r")"


def _num(s: str) -> int:
    return int(s) if s.isdigit() else _NUMBERS[s.lower()]


def _count(iid: str, arg: str, relation: str, shift: int = 0) -> Callable[[re.Match[str]], Constraint]:
    return lambda m: Constraint(iid, {arg: _num(m.group("n")) + shift, "relation": relation}, m.group(0))


_WORDS, _SENTENCES = "length_constraints:number_words", "length_constraints:number_sentences"


def _exact_words(m: re.Match[str]) -> Constraint:
    n = _num(m.group("n"))
    return Constraint("count:word_count_range", {"min_words": n, "max_words": n}, m.group(0))


def _sentences_between(m: re.Match[str]) -> list[Constraint]:
    lo, hi = _num(m.group("n")), _num(m.group("m"))
    return [Constraint(_SENTENCES, {"num_sentences": lo, "relation": "at least"}, m.group(0)),
            Constraint(_SENTENCES, {"num_sentences": hi + 1, "relation": "less than"}, m.group(0))]


def _sentences_exact(m: re.Match[str]) -> list[Constraint]:
    n = _num(m.group("n") or m.group("n2"))
    return [Constraint(_SENTENCES, {"num_sentences": n, "relation": "at least"}, m.group(0)),
            Constraint(_SENTENCES, {"num_sentences": n + 1, "relation": "less than"}, m.group(0))]


def _bullets(m: re.Match[str]) -> Constraint:
    return Constraint("detectable_format:number_bullet_lists", {"num_bullets": _num(m.group("n"))}, m.group(0))


def _flag(iid: str) -> Callable[[re.Match[str]], Constraint]:
    return lambda m: Constraint(iid, {}, m.group(0))


def _quoted(m: re.Match[str]) -> list[str]:
    return [a or b for a, b in re.findall(r"\"([^\"]{1,60})\"|'([^']{1,60})'", m.group("list"))]


def _include(m: re.Match[str]) -> Constraint | None:
    words = _quoted(m)
    return Constraint("keywords:existence", {"keywords": words}, m.group(0)) if words else None


def _exclude(m: re.Match[str]) -> Constraint | None:
    words = _quoted(m)
    return Constraint("keywords:forbidden_words", {"forbidden_words": words}, m.group(0)) if words else None


_AT_MOST = r"(?:at most|no more than|not more than|up to|a maximum of|maximum of|max\.?)"
_BELOW = r"(?:under|fewer than|less than)"
_AT_LEAST = r"(?:at least|no less than|no fewer than|a minimum of|minimum of)"
_ABOVE = r"(?:more than|over)"
_SENT = r"sentences?"

PATTERNS: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], Constraint | list[Constraint] | None]]] = [
    ("at most N words", re.compile(rf"\b{_AT_MOST}\s+(?P<n>{_N})\s+words?\b", re.I),
     _count(_WORDS, "num_words", "less than", 1)),
    ("fewer than N words", re.compile(rf"\b{_BELOW}\s+(?P<n>{_N})\s+words?\b", re.I),
     _count(_WORDS, "num_words", "less than")),
    ("N words or fewer", re.compile(rf"\b(?P<n>{_N})\s+words?\s+or\s+(?:less|fewer)\b", re.I),
     _count(_WORDS, "num_words", "less than", 1)),
    ("at least N words", re.compile(rf"\b{_AT_LEAST}\s+(?P<n>{_N})\s+words?\b", re.I),
     _count(_WORDS, "num_words", "at least")),
    ("more than N words", re.compile(rf"\b{_ABOVE}\s+(?P<n>{_N})\s+words?\b", re.I),
     _count(_WORDS, "num_words", "at least", 1)),
    ("exactly N words", re.compile(rf"\bexactly\s+(?P<n>{_N})\s+words?\b", re.I), _exact_words),
    ("at most N sentences", re.compile(rf"\b{_AT_MOST}\s+(?P<n>{_N})\s+{_SENT}\b", re.I),
     _count(_SENTENCES, "num_sentences", "less than", 1)),
    ("fewer than N sentences", re.compile(rf"\b{_BELOW}\s+(?P<n>{_N})\s+{_SENT}\b", re.I),
     _count(_SENTENCES, "num_sentences", "less than")),
    ("N sentences or fewer", re.compile(rf"\b(?P<n>{_N})\s+{_SENT}\s+or\s+(?:less|fewer)\b", re.I),
     _count(_SENTENCES, "num_sentences", "less than", 1)),
    ("at least N sentences", re.compile(rf"\b{_AT_LEAST}\s+(?P<n>{_N})\s+{_SENT}\b", re.I),
     _count(_SENTENCES, "num_sentences", "at least")),
    ("N to M sentences", re.compile(rf"\b(?:between\s+)?(?P<n>{_N})\s*(?:-|–|to|and)\s*(?P<m>{_N})[- ]{_SENT}\b",
                                    re.I), _sentences_between),
    ("exactly / in N sentences", re.compile(rf"\b(?:exactly|in|of|with|using)\s+(?P<n>{_N})\s+{_SENT}\b|"
                                            rf"\b(?P<n2>{_N})-sentence\b", re.I), lambda m: _sentences_exact(m)),
    ("N bullet points", re.compile(rf"\b(?:in|with|as|using|exactly)\s+(?P<n>{_N})\s+bullet(?:[- ]?points?|s)\b",
                                   re.I), _bullets),
    ("all lowercase", re.compile(r"\b(?:all|entirely|only)\s+(?:in\s+)?lower[- ]?case\b|\bin lower[- ]?case "
                                 r"letters only\b", re.I), _flag("change_case:english_lowercase")),
    ("all capital letters", re.compile(r"\b(?:all|entirely|only)\s+(?:in\s+)?(?:capital letters|upper[- ]?case|"
                                       r"caps)\b", re.I), _flag("change_case:english_capital")),
    ("no commas", re.compile(r"\b(?:do not|don't|never|without)\s+(?:use\s+|using\s+)?(?:any\s+)?commas\b", re.I),
     _flag("punctuation:no_comma")),
    ("in JSON format", re.compile(r"\b(?:in|as)\s+(?:valid\s+)?JSON(?:\s+format)?\b", re.I),
     _flag("detectable_format:json_format")),
    ("include the words \"…\"", re.compile(r"\b(?:include|use|mention|contain)s?\s+the\s+(?:key)?words?\s+"
                                           r"(?P<list>(?:\"[^\"]{1,60}\"|'[^']{1,60}')(?:\s*(?:,|and|or)\s*"
                                           r"(?:\"[^\"]{1,60}\"|'[^']{1,60}'))*)", re.I), _include),
    ("do not use the words \"…\"", re.compile(r"\b(?:do not|don't|never|without)\s+(?:use|using|include|including|"
                                              r"mention|mentioning|say|saying)\s+the\s+words?\s+"
                                              r"(?P<list>(?:\"[^\"]{1,60}\"|'[^']{1,60}')(?:\s*(?:,|and|or)\s*"
                                              r"(?:\"[^\"]{1,60}\"|'[^']{1,60}'))*)", re.I), _exclude),
]
"""(name, pattern, constraint builder); a builder may return None (the phrase matched but named nothing usable)."""

_MAX_INSTRUCTION = 20_000  # chars read from an instruction: the phrases sit in the request, not in pasted material


def detect_constraints(instruction: str) -> list[Constraint]:
    """The checkable constraints an instruction states, by :data:`PATTERNS` (deduplicated; a negated "at least"
    inside an include-pattern is not special-cased: the patterns are explicit enough)."""
    text = (instruction or "")[:_MAX_INSTRUCTION]
    out: list[Constraint] = []
    seen: set[tuple[str, str]] = set()
    exclude_spans: list[tuple[int, int]] = []
    for _name, pattern, build in reversed(PATTERNS):  # forbidden words first: "do not use the word" ⊃ "use the word"
        for m in pattern.finditer(text):
            if any(a <= m.start() < b for a, b in exclude_spans):
                continue
            built = build(m)
            if built is None:
                continue
            for c in built if isinstance(built, list) else [built]:
                if c.id == "keywords:forbidden_words":
                    exclude_spans.append((m.start(), m.end()))
                key = (c.id, repr(sorted(c.kwargs.items())))
                if key not in seen:
                    seen.add(key)
                    out.append(c)
    return out


def detected_metadata(instruction: str) -> dict[str, Any]:
    """``Item.metadata`` entries carrying the constraints detected in ``instruction`` (empty when none)."""
    found = detect_constraints(instruction)
    if not found:
        return {}
    return {"instruction_id_list": [c.id for c in found], "kwargs": [dict(c.kwargs) for c in found],
            "constraints_detected": [c.text for c in found]}
