"""Pure text → structured answer helpers. Nothing here raises on any input; failure is a return value.

Rules that every protocol parser follows:

* Reasoning blocks (``<think>…</think>``, also an unclosed ``<think>`` at the start) are removed first; answers are
  read only from what follows them.
* The critic's **final** answer binds: the last ``\\boxed{}`` / the last JSON object, never an earlier one.
* A placeholder is not an answer: models often answer, then echo the prompt's template (``Verdict: <correct or
  incorrect>``, ``\\boxed{}``). Every reader of a repeated field (labelled lines, boxes) takes the **last
  occurrence with a valid value** for that field; placeholders (:func:`is_placeholder`) and values the field cannot
  read are skipped. Between conflicting valid answers the last still wins.
* Inputs are capped (:data:`MAX_CHARS`) before any regex or JSON work, so hostile output cannot stall a parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from critica import jsonio

__all__ = [
    "MAX_CHARS", "strip_reasoning", "last_boxed", "all_boxed", "extract_json", "parse_int", "is_placeholder", "JsonResult",
]

MAX_CHARS = 200_000
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_OPEN = re.compile(r"<think>", re.IGNORECASE)
_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_INT = re.compile(r"^[+-]?\d{1,9}$")


def strip_reasoning(text: str | None) -> str:
    """Remove ``<think>`` blocks; an unclosed one swallows everything (no final answer was given)."""
    if not text:
        return ""
    text = text[:MAX_CHARS]
    if "<" not in text:  # no tag at all (most replies): nothing to remove
        return text.strip()
    # One left-to-right pass (same result as substituting _THINK, which is quadratic on many unclosed tags).
    # (Regex searches, not str.lower() offsets: lower-casing can change the length of non-ASCII text.)
    kept: list[str] = []
    pos = 0
    while True:
        start = _OPEN.search(text, pos)
        end = _CLOSE.search(text, start.end()) if start else None
        if start is None or end is None:
            kept.append(text[pos:])
            break
        kept.append(text[pos : start.start()])
        pos = end.end()
    text = "".join(kept)
    closes = list(_CLOSE.finditer(text))
    if closes:  # opening tag added by the chat template, only the closing one is in the output
        text = text[closes[-1].end() :]
    else:
        first = _OPEN.search(text)
        if first:
            text = text[: first.start()]
    return text.strip()


def all_boxed(text: str) -> list[str]:
    """Contents of every ``\\boxed{...}`` / ``\\fbox{...}`` with balanced braces, in order."""
    text = text[:MAX_CHARS]
    opens = {m.end() - 1 for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text)}
    if not opens:
        return []
    # One pass of brace matching (a scan per box is quadratic on many unclosed boxes).
    found: list[tuple[int, str]] = []
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            start = stack.pop()
            if start in opens:
                found.append((start, text[start + 1 : i].strip()))
    return [content for _, content in sorted(found)]


def is_placeholder(value: str | None) -> bool:
    """Whether ``value`` is a template placeholder echoed back rather than an answer.

    A placeholder is a value wholly in angle brackets (``<correct or incorrect>``, ``**<index>**``), alone or in a
    box (``\\boxed{<index>}``), or an empty box. Answers never take that shape: angle-bracketed text is how
    critica's templates (and most others) mark what to fill in.
    """
    if value is None:
        return False
    t = value.strip().strip("*_`'\" .").strip()
    m = re.match(r"^\\(?:boxed|fbox)\s*\{(.*)\}$", t, re.DOTALL)
    if m:
        t = m.group(1).strip()
        if not t:
            return True
    return len(t) >= 2 and t[0] == "<" and t[-1] == ">" and "<" not in t[1:-1] and ">" not in t[1:-1]


def last_boxed(text: str, valid: Callable[[str], bool] | None = None) -> str | None:
    """Content of the last complete ``\\boxed{}`` that is an answer, or None.

    Empty and placeholder boxes (:func:`is_placeholder`) are skipped, and so is any box ``valid`` rejects: the last
    box the field can read binds (see the module docstring).
    """
    for box in reversed(all_boxed(text)):
        if box and not is_placeholder(box) and (valid is None or valid(box)):
            return box
    return None


def parse_int(text: str | None) -> int | None:
    """An integer written plainly (``3``, ``-1``, ``+2``, ``{3}``, ``$3$``, ``\\text{3}``), else None."""
    if text is None:
        return None
    t = text.strip().strip("$").strip()
    t = re.sub(r"^\\text\{(.*)\}$", r"\1", t).strip().strip("{}").strip().rstrip(".")
    return int(t) if _INT.match(t) else None


@dataclass
class JsonResult:
    """A JSON object found in text: the value and whether it needed repair."""

    value: dict[str, Any]
    repaired: bool
    note: str = ""


def _candidates(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    depth, start, in_str, esc = 0, -1, False, False
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"' and depth > 0:
            in_str = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    return spans


def _close_truncated(fragment: str) -> str | None:
    """Close an object cut off mid-way (strings, arrays, objects), dropping a dangling key or comma."""
    stack: list[str] = []
    in_str, esc = False, False
    for ch in fragment:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    if not stack:
        return None
    s = fragment + ('"' if in_str else "")
    s = re.sub(r",\s*$", "", s.rstrip())
    s = re.sub(r',?\s*"[^"]*"\s*:\s*$', "", s)  # a key with no value
    return s + "".join(reversed(stack))


def extract_json(text: str | None) -> JsonResult | None:
    """The last JSON object in ``text``: exact (the whole text), embedded in prose/fences, or truncated and closed."""
    if not text:
        return None
    text = strip_reasoning(text)
    stripped = text.strip()
    try:
        value = jsonio.loads(stripped)
        if isinstance(value, dict):
            return JsonResult(value, repaired=False)
    except (ValueError, RecursionError):  # ValueError: also over-long digit runs
        pass
    for start, end in reversed(_candidates(stripped)):
        try:
            value = jsonio.loads(stripped[start:end])
        except (ValueError, RecursionError):  # ValueError: also over-long digit runs
            continue
        if isinstance(value, dict):
            return JsonResult(value, repaired=True, note="JSON object embedded in other text")
    first = stripped.find("{")
    if first >= 0:
        closed = _close_truncated(stripped[first:])
        if closed:
            try:
                value = jsonio.loads(closed)
            except (ValueError, RecursionError):  # ValueError: also over-long digit runs
                value = None
            if isinstance(value, dict):
                return JsonResult(value, repaired=True, note="truncated JSON closed")
    return None
