"""Word-list searches with an exact pre-test: a text that contains none of the list's keywords is not searched.

Searching every step for a case-insensitive word list (``\\b(?:suppos\\w*|assum\\w*|…)\\b``) costs Python's ``re``
a try at every position, even with :func:`critica.verifiers.fastre.guarded` (~25 µs a step on ProcessBench). Most
steps hold none of the words, and ``str.lower`` plus a few substring tests (C speed) tell so much faster.

Exact by construction: ``keys`` are lowercase substrings such that every match of the pattern, lowercased, contains
one of them. On ASCII text, ``IGNORECASE`` pairs exactly the ASCII letters that ``str.lower`` folds together, so a
text whose lowercase form contains no key has no match. Other text goes straight to the regex: ``re`` folds a few
non-ASCII characters onto ASCII letters (``ſ`` matches ``s``, ``K`` the Kelvin sign ``k``, ``İ`` ``i``) that
``str.lower`` does not map to the same letters.
"""

from __future__ import annotations

import re

__all__ = ["KeywordGate"]


class KeywordGate:
    """``pattern.search`` behind a keyword pre-test (see the module docstring); ``keys`` must be lowercase."""

    __slots__ = ("keys", "pattern")

    def __init__(self, pattern: re.Pattern[str], keys: tuple[str, ...]) -> None:
        if any(k != k.lower() or not k.isascii() for k in keys):
            raise ValueError("keys must be lowercase ASCII")
        self.pattern = pattern
        self.keys = keys

    def search(self, text: str) -> re.Match[str] | None:
        if text.isascii():
            low = text.lower()
            if not any(k in low for k in self.keys):
                return None
        return self.pattern.search(text)
