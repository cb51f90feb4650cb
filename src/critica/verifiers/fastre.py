"""Faster whole-step regex scans, with the same matches: a look-ahead for the characters a match can start with.

The step checks search every step for word lists such as ``\\b(?:suppos\\w*|assum\\w*|…)\\b`` (case-insensitive).
Python's ``re`` tries every alternative at every position of the text; it skips positions quickly only when it
knows the characters a match can start with, which it does not work out for a case-insensitive alternation or
one behind ``\\b``. :func:`guarded` works that set out from the parsed pattern and puts it in front as a
look-ahead, ``(?=[sSaA…])(?:PATTERN)``: zero-width, no group of its own, and every match of PATTERN starts with a
character of the set (case folding included: under IGNORECASE the class folds exactly as the literals it was
made from), so ``search``, ``match``, ``finditer``, ``sub`` and ``split`` give the same matches, spans and groups.
Only the ``pattern`` attribute differs: compose new patterns from the original's text, not from a guarded one's.

When the set cannot be worked out (a pattern that can match the empty string, starts with ``.`` or a negated class,
uses inline flags or back-references …), the pattern is returned unchanged.
"""

from __future__ import annotations

import re
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]

__all__ = ["guarded"]


class _GiveUp(Exception):
    pass


_CATEGORY = {C.CATEGORY_DIGIT: r"\d", C.CATEGORY_NOT_DIGIT: r"\D", C.CATEGORY_SPACE: r"\s",
             C.CATEGORY_NOT_SPACE: r"\S", C.CATEGORY_WORD: r"\w", C.CATEGORY_NOT_WORD: r"\W"}
_REPEATS = {C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT}


def _first(items: list, out: set) -> bool:
    """Add to ``out`` the class items a match of the sequence ``items`` can start with; True when it can be empty."""
    for op, av in items:
        if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
            continue  # zero-width: the first character comes after it
        if op is C.LITERAL:
            out.add((C.LITERAL, av))
            return False
        if op is C.IN:
            if any(o is C.NEGATE for o, _ in av):
                raise _GiveUp
            for o, a in av:
                if o is C.CATEGORY and a not in _CATEGORY or o not in (C.LITERAL, C.RANGE, C.CATEGORY):
                    raise _GiveUp
                out.add((o, a))
            return False
        if op is C.BRANCH:
            empty = False
            for sub in av[1]:
                empty |= _first(list(sub), out)
            if not empty:
                return False
            continue
        if op is C.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                raise _GiveUp
            if not _first(list(sub), out):
                return False
            continue
        if op is C.ATOMIC_GROUP:
            if not _first(list(av), out):
                return False
            continue
        if op in _REPEATS:
            lo, _hi, sub = av
            if not _first(list(sub), out) and lo > 0:
                return False
            continue
        raise _GiveUp  # ANY, NOT_LITERAL, GROUPREF, conditionals …: not worked out
    return True


def _render(item: tuple) -> str:
    op, av = item
    if op is C.LITERAL:
        return re.escape(chr(av))
    if op is C.RANGE:
        return f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}"
    return _CATEGORY[av]


def guarded(pattern: re.Pattern[str] | str, flags: int = 0) -> re.Pattern[str]:
    """``pattern`` with a look-ahead for the characters its matches can start with (see the module docstring), or
    ``pattern`` itself (compiled) when they cannot be worked out.

    Give the pattern as text (with ``flags``) rather than compiled where it is written: the text is then compiled
    once, guarded or not. Compiling it first as well cost every process that imports the step checks (each worker
    of the pool, on start) a second compile of its largest patterns."""
    original = pattern if isinstance(pattern, re.Pattern) else None
    if original is not None:
        text, flags = original.pattern, original.flags
    else:
        text = pattern
    try:
        flags = _parser.fix_flags(text, flags)  # what re.compile makes of them (re.UNICODE added for text)
        parsed = _parser.parse(text, flags)
        if parsed.state.flags & ~(re.IGNORECASE | re.UNICODE | re.DOTALL | re.MULTILINE) & 0xFF:
            return _plain(original, text, flags)  # VERBOSE, LOCALE, ASCII …: keep it simple
        if parsed.state.flags != flags:
            return _plain(original, text, flags)  # inline global flags ("(?i)…") must stay at the very start
        first: set = set()
        if _first(list(parsed), first) or not first:
            return _plain(original, text, flags)
        cls = "".join(sorted(_render(i) for i in first))
        return re.compile(f"(?=[{cls}])(?:{text})", flags)
    except (_GiveUp, re.error, AttributeError, TypeError, ValueError, KeyError):
        return _plain(original, text, flags)  # an invalid pattern raises here as re.compile would


def _plain(original: re.Pattern[str] | None, text: str, flags: int) -> re.Pattern[str]:
    return original if original is not None else re.compile(text, flags)
