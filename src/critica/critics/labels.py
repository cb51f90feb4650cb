"""Pure parsers for verdict formats that released judge/critic outputs use. Nothing here raises on any input.

Each format has two readers when the authors' published rule and critica's own reading can differ:

* ``*_authors`` functions reproduce the paper's evaluation code rule exactly (for figures comparable with the
  paper), including its quirks (first-match order, substring tests, case sensitivity);
* the plain functions are critica's reading: reasoning blocks stripped, the critic's **final** verdict binds,
  only labels the prompt offered are accepted, anything else is ``None`` (unparsed), never a guess.

Formats:

* **LLMBar** (Zeng et al., ICLR 2024): the judge answers "Output (a)" or "Output (b)"; CoT prompts end with
  "Output (a) is better." Winners are ``"1"``/``"2"`` in the frame the judge saw.
* **Arena-Hard** (Li et al., 2024; used by JudgeBench): the verdict is a label ``[[A>>B]]``, ``[[A>B]]``,
  ``[[A=B]]``, ``[[B>A]]`` or ``[[B>>A]]``. Decisions are ``"A>B"``, ``"B>A"`` or ``"A=B"``.
* **MR-GSM8K** (Zeng et al., 2023): "Final Judgement: … / First Error Step: … / Error Analysis: …", and the
  GPT-4 grader's "Step-by-Step Reasoning: … / Student Error Reason Analysis: … / Final Decision: …".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from critica.critics.parse import MAX_CHARS, strip_reasoning

__all__ = [
    "LLMBAR_RULES",
    "llmbar_winner_authors",
    "llmbar_winner",
    "swap_winner",
    "ARENA_LABEL",
    "arena_labels",
    "arena_decision_authors",
    "arena_decision",
    "flip_decision",
    "MRGSM8KFields",
    "mr_gsm8k_fields_authors",
    "mr_gsm8k_step_authors",
    "mr_gsm8k_verdict_authors",
    "MRGSM8KVerdict",
    "parse_mr_gsm8k",
    "mr_gsm8k_grade_authors",
    "grade_decision_authors",
    "grade_decision",
]

Winner = Literal["1", "2"]
Decision = Literal["A>B", "B>A", "A=B"]

# --------------------------------------------------------------------------------------------------------- LLMBar

LLMBAR_RULES: dict[str, tuple[str, str]] = {
    # The regexes of the LLMBar evaluator configs (LLMEvaluator/evaluators/config/<LLM>/<Strategy>.json).
    "line-start": (r"(?:^|\n) ?Output \(a\)", r"(?:^|\n) ?Output \(b\)"),
    "is-better": (r"Output \(a\) is better.", r"Output \(b\) is better."),
}
"""Rule name → (regex for winner "1", regex for winner "2"), tried in that order with ``re.search``."""

_LLMBAR_COMPILED = {k: (re.compile(a), re.compile(b)) for k, (a, b) in LLMBAR_RULES.items()}
# critica's reading: a line that *starts* with the verdict (markdown allowed), or "Output (x) is better" anywhere.
_LLMBAR_VERDICT = re.compile(
    r"(?:^|\n)[ \t>*#_\"'`-]*(?:final (?:verdict|answer|choice)\s*[:：]?\s*)?[*_\"'`]*output\s*\(([ab])\)"
    r"|output\s*\(([ab])\)\s*(?:\*\*)?\s*is\s+(?:the\s+)?better",
    re.IGNORECASE,
)


def llmbar_winner_authors(text: str | None, rule: str = "line-start") -> Winner | None:
    """The LLMBar authors' winner: strip, try the rule's "1" regex then its "2" regex; the first match wins.

    Args:
        text: The raw completion.
        rule: A key of :data:`LLMBAR_RULES` (``line-start`` for Vanilla-type prompts, ``is-better`` for CoT).

    Returns:
        ``"1"`` (Output (a)), ``"2"`` (Output (b)) or None when neither regex matches. The winner is in the frame
        the judge saw; map it back with :func:`swap_winner` for the swapped presentation.
    """
    if not text:
        return None
    one, two = _LLMBAR_COMPILED[rule]
    t = text[:MAX_CHARS].strip()
    if one.search(t):
        return "1"
    if two.search(t):
        return "2"
    return None


def llmbar_winner(text: str | None) -> Winner | None:
    """critica's reading of an "Output (a)/(b)" verdict: the **last** verdict statement binds.

    A verdict statement is a line starting with "Output (a)"/"Output (b)" (markdown and a "Final verdict:" prefix
    allowed) or "Output (x) is better" anywhere, case-insensitive. Reasoning blocks are removed first.

    Returns:
        ``"1"``, ``"2"`` or None when there is no verdict statement.
    """
    t = strip_reasoning(text)
    last: str | None = None
    for m in _LLMBAR_VERDICT.finditer(t):
        last = (m.group(1) or m.group(2)).lower()
    return None if last is None else ("1" if last == "a" else "2")


def swap_winner(winner: Winner | None) -> Winner | None:
    """Map a winner between the swapped and original frames ("1" ↔ "2"; None stays None)."""
    return None if winner is None else ("2" if winner == "1" else "1")


# ---------------------------------------------------------------------------------------------------- Arena-Hard

ARENA_LABEL = re.compile(r"\[\[([AB<>=]+)\]\]")
"""The Arena-Hard verdict label pattern, as in arena-hard-auto and JudgeBench."""

_ARENA_CANON: dict[str, Decision] = {
    "A>>B": "A>B", "A>B": "A>B", "B<A": "A>B", "B<<A": "A>B",
    "B>>A": "B>A", "B>A": "B>A", "A<B": "B>A", "A<<B": "B>A",
    "A=B": "A=B", "B=A": "A=B",
}


def arena_labels(text: str | None) -> list[str]:
    """Every ``[[…]]`` label in ``text``, in order (empty ones dropped)."""
    if not text:
        return []
    return [m for m in ARENA_LABEL.findall(text[:MAX_CHARS]) if m]


def arena_decision_authors(text: str | None) -> str | None:
    """The JudgeBench authors' Arena-Hard decision: exactly one distinct label → it, with ">>" read as ">".

    No label or two or more distinct labels give None. The label is returned as written otherwise (an unusual
    one such as ``A<B`` stays as is and then scores neither right nor wrong, as in the authors' metric).
    """
    distinct = set(arena_labels(text))
    if len(distinct) != 1:
        return None
    return next(iter(distinct)).strip("\n").replace(">>", ">").strip()


def arena_decision(text: str | None) -> Decision | None:
    """critica's reading of an Arena-Hard verdict: the **last** well-formed label binds (after reasoning).

    Strength (``>>`` vs ``>``) is dropped; ``A<B``-style labels are read as their mirror. A verdict restated in a
    summary therefore does not void the answer, but an earlier label never overrides the final one.
    """
    labels = [lab for lab in arena_labels(strip_reasoning(text)) if lab in _ARENA_CANON]
    return _ARENA_CANON[labels[-1]] if labels else None


def flip_decision(decision: str | None) -> str | None:
    """Swap A and B in a decision ("A>B" ↔ "B>A"); ties, None and anything else are unchanged."""
    return {"A>B": "B>A", "B>A": "A>B"}.get(decision, decision) if decision is not None else None


# ------------------------------------------------------------------------------------------------------ MR-GSM8K


@dataclass(frozen=True)
class MRGSM8KFields:
    """The three fields of an MR-GSM8K critic reply, as the authors' regexes cut them."""

    judgement: str
    """Text between "Final Judgement:" and "First Error Step:"."""
    error_step: str
    """Text between "First Error Step:" and "Error Analysis:"."""
    error_reason: str
    """Everything after "Error Analysis:"."""


_MR_JUDGE = re.compile(r"Final Judgement:\s*(.*?)\s*First Error Step:", re.DOTALL)
_MR_STEP = re.compile(r"First Error Step:\s*(.*?)\s*Error Analysis:", re.DOTALL)
_MR_REASON = re.compile(r"Error Analysis:\s*(.*)", re.DOTALL)
_MR_STEP_NAMES = {f"step {i}": str(i) for i in range(30)}


def mr_gsm8k_fields_authors(text: str | None) -> MRGSM8KFields | None:
    """The MR-GSM8K authors' field extraction (case-sensitive, non-greedy, across lines); None if any is missing."""
    if not text:
        return None
    t = text[:MAX_CHARS]
    j, s, r = _MR_JUDGE.search(t), _MR_STEP.search(t), _MR_REASON.search(t)
    if not (j and s and r):
        return None
    return MRGSM8KFields(j.group(1), s.group(1), r.group(1))


def mr_gsm8k_verdict_authors(judgement: str) -> str:
    """The authors' verdict normalisation: lower-case, "incorrect" → "wrong" (anything else kept as is)."""
    low = judgement.lower()
    return "wrong" if low == "incorrect" else low


def mr_gsm8k_step_authors(error_step: str) -> str:
    """The authors' step normalisation: all digits, or exactly "step N" (N < 30, any case); else ``""``."""
    if error_step.isdigit():
        return error_step.strip()
    return _MR_STEP_NAMES.get(error_step.strip().lower(), "")


@dataclass(frozen=True)
class MRGSM8KVerdict:
    """critica's reading of an MR-GSM8K reply."""

    verdict: Literal["correct", "wrong"] | None
    """The final judgement, or None when absent or not one of the offered words."""
    first_error_step: int | None
    """The 1-based first error step as the critic wrote it, or None ("N/A", absent, unreadable)."""
    error_reason: str | None
    """The error analysis text (None when absent or "N/A")."""


_KEY = r"[*_#\s]*{name}[*_\s]*[:：][*_\s]*"
_MR_FIELDS = {
    "judgement": re.compile(_KEY.format(name=r"final\s+judge?ment"), re.IGNORECASE),
    "step": re.compile(_KEY.format(name=r"first\s+error\s+step"), re.IGNORECASE),
    "reason": re.compile(_KEY.format(name=r"error\s+analysis"), re.IGNORECASE),
}
_NA = re.compile(r"^\W*(?:n/?a|none|no error|not applicable|-1)\W*$", re.IGNORECASE)
_STEP_NUM = re.compile(r"^\W*(?:step\s*)?(\d{1,4})\b", re.IGNORECASE)


def _field_spans(text: str) -> dict[str, tuple[int, int]]:
    """Start/end of the value of each field, using the **last** occurrence of each key (the final answer)."""
    keys: list[tuple[int, int, str]] = []
    for name, pat in _MR_FIELDS.items():
        found = list(pat.finditer(text))
        if found:
            keys.append((found[-1].start(), found[-1].end(), name))
    keys.sort()
    spans: dict[str, tuple[int, int]] = {}
    for i, (_start, end, name) in enumerate(keys):
        stop = keys[i + 1][0] if i + 1 < len(keys) else len(text)
        spans[name] = (end, stop)
    return spans


def parse_mr_gsm8k(text: str | None) -> MRGSM8KVerdict:
    """critica's reading of "Final Judgement / First Error Step / Error Analysis" replies.

    Keys are matched case-insensitively with markdown emphasis allowed ("**Final Judgment:**"), the last
    occurrence of each key binds, and each value runs to the next key. The verdict must be a single offered word
    (correct / wrong / incorrect, brackets and emphasis ignored). The step is an integer, "Step N" or "Step N: …";
    "N/A" or "-1" mean no step.
    """
    t = strip_reasoning(text)
    spans = _field_spans(t)
    verdict: Literal["correct", "wrong"] | None = None
    step: int | None = None
    reason: str | None = None
    if "judgement" in spans:
        raw = t[slice(*spans["judgement"])].strip()
        first_line = raw.splitlines()[0] if raw else ""
        word = re.sub(r"[^a-z]", "", first_line.lower())
        verdict = {"correct": "correct", "wrong": "wrong", "incorrect": "wrong"}.get(word)
    if "step" in spans:
        raw = t[slice(*spans["step"])].strip()
        first_line = raw.splitlines()[0] if raw else ""
        if not _NA.match(first_line):
            m = _STEP_NUM.match(first_line)
            if m and int(m.group(1)) >= 1:
                step = int(m.group(1))
    if "reason" in spans:
        raw = t[slice(*spans["reason"])].strip()
        reason = None if not raw or _NA.match(raw) else raw
    return MRGSM8KVerdict(verdict, step, reason)


_GRADE = {
    "reasoning": re.compile(r"Step-by-Step Reasoning:\s*(.*?)\s*Student Error Reason Analysis:", re.DOTALL),
    "analysis": re.compile(r"Student Error Reason Analysis:\s*(.*?)\s*Final Decision:", re.DOTALL),
    "decision": re.compile(r"Final Decision:\s*(.*)", re.DOTALL),
}


def mr_gsm8k_grade_authors(text: str | None) -> dict[str, str] | None:
    """The MR-GSM8K authors' cut of a GPT-4 grader reply into its three fields (None if any is missing).

    Returns:
        ``{"Error Comprehension": …, "Model Error Reason Analysis": …, "Final Decision": …}`` as stored upstream.
    """
    if not text:
        return None
    t = text[:MAX_CHARS]
    found = {k: p.search(t) for k, p in _GRADE.items()}
    if not all(found.values()):
        return None
    return {
        "Error Comprehension": found["reasoning"].group(1),  # type: ignore[union-attr]
        "Model Error Reason Analysis": found["analysis"].group(1),  # type: ignore[union-attr]
        "Final Decision": found["decision"].group(1),  # type: ignore[union-attr]
    }


def grade_decision_authors(final_decision: str) -> bool:
    """The authors' reason-grade rule: ``'correct' in decision.lower()`` (which would also accept "Incorrect")."""
    return "correct" in final_decision.lower()


def grade_decision(final_decision: str) -> bool | None:
    """critica's reason-grade reading: the decision's words must be exactly "correct" or "wrong"/"incorrect".

    Brackets, dashes and emphasis are ignored. Returns True, False, or None when it is neither.
    """
    word = re.sub(r"[^a-z]", "", final_decision.strip().splitlines()[0].lower()) if final_decision.strip() else ""
    return {"correct": True, "wrong": False, "incorrect": False}.get(word)
