"""Final-answer extraction and equivalence against the item's own reference answer.

Extraction order (the first that matches wins): the last ``\\boxed{…}`` / ``\\fbox{…}``; GSM8K's ``#### 42``;
"the (final) answer is …"; the last number of the last step. Equivalence is decided by
`math-verify <https://github.com/huggingface/Math-Verify>`_ (symbolic, LaTeX-aware: ``\\frac12`` = ``0.5``,
``{1,2}`` = ``{2,1}``), with an exact-number fast path. math-verify's own timeouts use ``signal.alarm``, which only
works in the main thread; elsewhere the input-size limits below bound the work instead.

The reference answer is only ever ``Item.reference_answer``: nothing is looked up by matching question text.
"""

from __future__ import annotations

import re
import threading
from fractions import Fraction

from critica.types import Item, StepVerdict
from critica.verifiers.base import Finding

__all__ = ["extract_final_answer", "answers_equivalent", "FinalAnswerVerifier"]

MAX_ANSWER_CHARS = 400

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_HASHES = re.compile(r"####\s*([^\n]+)")
_ANSWER_IS = re.compile(
    r"(?:final answer|the answer|answer)\s*(?:is|:)\s*[:\s]*(.+?)(?:\.\s|\.$|\n|$)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def _last_boxed(text: str) -> str | None:
    matches = list(_BOXED.finditer(text))
    for m in reversed(matches):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            return text[m.end() : i - 1].strip()
    return None


def extract_final_answer(text: str) -> tuple[str, str] | None:
    """The final answer of a response and how it was found (``boxed``, ``####``, ``answer is``, ``last number``)."""
    text = text[-20_000:]
    boxed = _last_boxed(text)
    if boxed:
        return boxed, "boxed"
    hashes = _HASHES.findall(text)
    if hashes:
        return hashes[-1].strip(), "####"
    said = _ANSWER_IS.findall(text)
    if said:
        return said[-1].strip().strip("*$ "), "answer is"
    numbers = _NUMBER.findall(text.strip().splitlines()[-1] if text.strip() else "")
    if numbers:
        return numbers[-1], "last number"
    return None


def _plain_number(s: str) -> Fraction | None:
    s = s.strip().strip("$").replace("\\$", "").replace(",", "").replace("\\!", "").strip()
    s = re.sub(r"\\(?:text|mathrm)\{[^}]*\}", "", s).strip()
    s = re.sub(r"\s*(?:dollars?|cents?|units?|[a-zA-Z]+)\.?$", "", s).strip()
    if re.fullmatch(r"-?\d+(?:\.\d+)?|-?\.\d+", s):
        return Fraction(s)
    return None


def answers_equivalent(answer: str, reference: str) -> bool | None:
    """Whether ``answer`` equals ``reference`` mathematically; None when it cannot be decided."""
    answer, reference = answer[:MAX_ANSWER_CHARS], reference[:MAX_ANSWER_CHARS]
    a, r = _plain_number(answer), _plain_number(reference)
    if a is not None and r is not None:
        return a == r
    try:
        from math_verify import parse, verify
    except ImportError:  # pragma: no cover - math-verify is a base dependency
        return None
    main = threading.current_thread() is threading.main_thread()
    timeout = 5 if main else None
    try:
        gold = parse(_wrap(reference), parsing_timeout=timeout)
        pred = parse(_wrap(answer), parsing_timeout=timeout)
        if not gold or not pred:
            return None
        return bool(verify(gold, pred, timeout_seconds=timeout))
    except Exception:  # noqa: BLE001 - math-verify raises many kinds on odd LaTeX: undecided, not wrong
        return None


def _wrap(s: str) -> str:
    s = s.strip()
    return s if s.startswith("$") or "\\boxed" in s else f"${s}$"


class FinalAnswerVerifier:
    """Compares the response's final answer with ``Item.reference_answer`` (when there is one)."""

    name = "final_answer"

    def check(self, item: Item, steps: list[str]) -> list[Finding]:
        """One whole-response finding: ``correct``/``incorrect`` with both answers quoted, ``unchecked`` when the
        answer cannot be found or compared; nothing when the item has no reference answer."""
        if not item.reference_answer:
            return []
        found = extract_final_answer("\n\n".join(steps) if steps else item.text)
        if found is None:
            return [Finding("final_answer", StepVerdict.UNCHECKED, "no final answer could be found in the response",
                            details={"reference": item.reference_answer})]
        answer, how = found
        same = answers_equivalent(answer, item.reference_answer)
        details = {"answer": answer, "reference": item.reference_answer, "extracted_by": how}
        if same is None:
            return [Finding("final_answer", StepVerdict.UNCHECKED,
                            f"could not compare the final answer {answer!r} with the reference {item.reference_answer!r}",
                            details=details)]
        if same:
            return [Finding("final_answer", StepVerdict.CORRECT,
                            f"the final answer {answer!r} matches the reference answer", details=details)]
        return [Finding("final_answer", StepVerdict.INCORRECT,
                        f"the final answer {answer!r} does not match the reference answer {item.reference_answer!r}",
                        details=details)]
