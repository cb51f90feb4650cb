"""Split a response into steps: the single definition of step numbering.

Rules, applied in order; the first that yields two or more steps wins:

1. ``Item.steps`` when given (used as is).
2. Explicit step markers at line starts: ``Step 1:``/``Step 2.``, ``**Step 1**``, ``## Step 1``, or a numbered
   list (``1.``/``1)``) whose numbers run 1, 2, 3 … Text before the first marker becomes step 0 if non-empty.
3. Paragraphs: blocks separated by one or more blank lines.
4. Sentences: split after ``.``, ``!`` or ``?`` followed by whitespace and an upper-case letter or digit,
   never inside a decimal number (``3.5``) or after a common abbreviation (``e.g.``, ``Mr.``).
5. Otherwise the whole response is one step.

The split is deterministic: the same text always yields the same steps, each stripped of surrounding whitespace,
and empty steps are dropped. Indices are 0-based (see :mod:`critica.types`).

Display: layouts that label steps themselves (``Step 1: …`` in prompts and SFT exports) number them from 1 with
:func:`numbered`, which drops a step's **own** leading marker (``Step 3:`` at the start of step 3, as rule 2 leaves
it), so a response that numbered its steps is not shown as ``Step 3: Step 3: …``. A marker of another number is
content and is kept (``Step 10:`` on step 1, ``Step 2 is …`` without a separator).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from critica.types import Item

__all__ = ["CACHED_SPLITS", "split_steps", "item_steps", "step_body", "numbered", "warm"]

_MARKER = re.compile(r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*)?[ \t]*step[ \t]+(\d+)\b", re.IGNORECASE | re.MULTILINE)
_OWN_MARKER = re.compile(
    # rule 2's marker, then a separator: ":", ")", "-", a dash, "." not starting a decimal, or the end of the line
    r"^\s*(?:#{1,6}[ \t]*)?(?:\*\*)?[ \t]*step[ \t]+(\d{1,9})\b(?:[ \t]*\*\*)?[ \t]*"
    r"(?:(?:[:)\u2013\u2014-]|\.(?!\d))(?:[ \t]*\*\*)?|(?=\n)|$)\s*",
    re.IGNORECASE,
)
_NUMBERED = re.compile(r"^[ \t]*(\d+)[.)][ \t]+\S", re.MULTILINE)
_PARAGRAPH = re.compile(r"\n[ \t]*\n+")
_ABBREV = ("e.g.", "i.e.", "mr.", "mrs.", "ms.", "dr.", "vs.", "etc.", "approx.", "no.", "fig.", "eq.")
_SENTENCE_END = re.compile(r"[.!?](\s+)(?=[A-Z0-9\\$(\"'])")
"""A sentence end: the mark, then the whitespace (group 1) that splits, before what starts a sentence. (Matching the
mark itself rather than looking behind for it runs about 1.6 times faster; the splits are the same, since the
whitespace of one match never holds the mark of the next.)"""
_WORD_WINDOW = max(map(len, _ABBREV)) + 1
"""Characters read before a sentence end: room for the longest abbreviation and the space before it."""


def _by_markers(text: str, pattern: re.Pattern[str]) -> list[str] | None:
    matches = list(pattern.finditer(text))
    # Only a run numbered 1, 2, 3 … counts: stray numbers ("2) ..." in prose) must not split a response.
    run = []
    expected = 1
    for m in matches:
        if int(m.group(1)) == expected:
            run.append(m)
            expected += 1
    if len(run) < 2:
        return None
    pieces = [text[: run[0].start()]]
    for a, b in zip(run, run[1:] + [None], strict=True):
        pieces.append(text[a.start() : b.start() if b else len(text)])
    return [p.strip() for p in pieces if p.strip()]


def _last_word(text: str, start: int, end: int) -> str:
    """The last word of ``text[start:end]``, lower-cased, when it could be an abbreviation (no longer than the
    longest of :data:`_ABBREV`), else "". Reads only the end of the sentence (:data:`_WORD_WINDOW` characters):
    splitting the whole candidate sentence again after every skipped abbreviation made a response of many "e.g."
    quadratic."""
    window = text[max(start, end - _WORD_WINDOW) : end]
    parts = window.rsplit(None, 1)
    word = parts[-1] if parts else ""
    # whole when whitespace precedes it inside the window, or the window is the whole sentence
    return word.lower() if len(word) < len(window) or end - _WORD_WINDOW <= start else ""


def _by_sentences(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.start(1)
        if _last_word(text, start, end) in _ABBREV:
            continue
        out.append(text[start:end])
        start = m.end()
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]


CACHED_SPLITS = 1024
"""Responses whose split :func:`split_steps` keeps (each up to :data:`_CACHED_CHARS`)."""
_CACHED_CHARS = 16_384
"""Responses up to this size keep their split in a small cache: a critic splits the same response to render its
prompt and again to read the reply, and on the dispatch path that second split was pure waste."""


def split_steps(text: str) -> list[str]:
    """Split free text into steps using the rules in this module's docstring."""
    if len(text) <= _CACHED_CHARS:
        return list(_split_cached(text))
    return _split(text)


@lru_cache(maxsize=CACHED_SPLITS)  # at most 1,024 x 16 KiB of text
def _split_cached(text: str) -> tuple[str, ...]:
    return tuple(_split(text))


def _split(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return []
    # "step" can only match _MARKER (case-insensitively: also "ſtep") where the casefolded text holds it, and a
    # response without the word is the common case: skip the multi-line scan then.
    steps = _by_markers(text, _MARKER) if "step" in text.casefold() else None
    if steps and len(steps) >= 2:
        return steps
    steps = _by_markers(text, _NUMBERED)
    if steps and len(steps) >= 2:
        return steps
    steps = [p.strip() for p in _PARAGRAPH.split(text) if p.strip()]
    if len(steps) >= 2:
        return steps
    steps = _by_sentences(text)
    if len(steps) >= 2:
        return steps
    return [text]


def warm(item: Item) -> None:
    """Split ``item``'s response ahead of use when its split will be cached (small responses only: a large or
    over-budget one is never split before its critic needs it)."""
    text = item.response
    if not item.steps and text and len(text) <= _CACHED_CHARS:
        _split_cached(text)


def item_steps(item: Item) -> list[str]:
    """The steps of an item: its given ``steps``, or its ``response`` segmented by :func:`split_steps`."""
    if item.steps:
        return list(item.steps)
    return split_steps(item.response or "")


def step_body(text: str, number: int) -> str:
    """``text`` without a leading marker of step ``number`` (1-based), for layouts that label steps themselves.

    Only the step's own marker goes (``Step 3:``, ``**Step 3**:``, ``## Step 3`` on step 3); any other leading text,
    including another step's marker, is kept as it is.
    """
    m = _OWN_MARKER.match(text)
    if m is None or int(m.group(1)) != number:
        return text
    return text[m.end() :]


def numbered(steps: Iterable[str]) -> list[tuple[int, str]]:
    """``(number, text)`` for each step: numbered from 1, as people read them, each without its own marker."""
    return [(i, step_body(s, i)) for i, s in enumerate(steps, 1)]
