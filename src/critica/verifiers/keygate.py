"""Word-list searches with an exact pre-test: a text that contains none of the list's keywords is not searched.

Searching every step for a case-insensitive word list (``\\b(?:suppos\\w*|assum\\w*|…)\\b``) costs Python's ``re``
a try at every position, even with :func:`critica.verifiers.fastre.guarded` (~25 µs a step on ProcessBench). Most
steps hold none of the words, and ``str.lower`` plus a few substring tests (C speed) tell so much faster.

Exact by construction: ``keys`` are lowercase substrings such that every match of the pattern, lowercased, contains
one of them. On ASCII text, ``IGNORECASE`` pairs exactly the ASCII letters that ``str.lower`` folds together, so a
text whose lowercase form contains no key has no match. Other text goes straight to the regex: ``re`` folds a few
non-ASCII characters onto ASCII letters (``ſ`` matches ``s``, ``K`` the Kelvin sign ``k``, ``İ`` ``i``) that
``str.lower`` does not map to the same letters.

A gate given a ``lead`` also starts its search near the keys: where every match, lowercased, holds a key at most
``lead`` characters after the match's start, no match starts more than ``lead`` characters before the first key of
the text (which comes at or before the key a match holds), so searching from there finds the same leftmost match
(``re`` reads the characters before the start position for ``\\b`` and look-behinds: the same as from 0). The gated
steps hold a key in two searches of three, mostly far into the text, which the search from 0 tried position by
position.
"""

from __future__ import annotations

import re

__all__ = ["KeywordGate", "search_from_keys"]


class KeywordGate:
    """``pattern.search`` behind a keyword pre-test (see the module docstring); ``keys`` must be lowercase.

    Outcomes are remembered by text (``search`` is a pure function of it, and a :class:`re.Match` is immutable): the
    checks search the same step text with one gate more than once (the modular context of a step's constant claims,
    then of the item), and solutions of one problem share steps (a fifth to a quarter of the searches on
    ProcessBench repeat a text seen before). Texts of up to :data:`MEMO_TEXT_CHARS` characters are kept, at most
    :data:`MEMO_SIZE` of them and :data:`MEMO_CHARS` characters in all per gate (the table is emptied when either is
    reached), so the text it keeps alive is bounded whatever the input."""

    __slots__ = ("keys", "pattern", "lead", "_memo", "_chars")

    def __init__(self, pattern: re.Pattern[str], keys: tuple[str, ...], lead: int | None = None) -> None:
        if any(k != k.lower() or not k.isascii() for k in keys):
            raise ValueError("keys must be lowercase ASCII")
        self.pattern = pattern
        self.keys = keys
        self.lead = lead  # None: some match may start any distance before its key (the search starts at 0)
        self._memo: dict[str, re.Match[str] | None] = {}
        self._chars = 0

    def search(self, text: str) -> re.Match[str] | None:
        memo = self._memo
        try:
            return memo[text]
        except KeyError:
            pass
        m = self._search(text)
        if len(text) <= MEMO_TEXT_CHARS:
            if len(memo) >= MEMO_SIZE or self._chars >= MEMO_CHARS:
                memo.clear()
                self._chars = 0
            memo[text] = m
            self._chars += len(text)
        return m

    def _search(self, text: str) -> re.Match[str] | None:
        if text.isascii():
            return search_from_keys(self.pattern, self.keys, self.lead, text, text.lower())
        return self.pattern.search(text)


def search_from_keys(pattern: re.Pattern[str], keys: tuple[str, ...], lead: int | None, text: str,
                     low: str) -> re.Match[str] | None:
    """``pattern.search(text)`` for an ASCII ``text`` whose lowercase form is ``low``, by the pre-test and (with a
    ``lead``) the start near the first key of :class:`KeywordGate` (see the module docstring)."""
    for k in keys:  # a loop, not any() over a generator: a resumed frame per key cost a fifth more
        if k in low:
            break
    else:
        return None
    if lead is None:
        return pattern.search(text)
    first = low.find(k)
    if first < FAR:
        # the search from 0 tries few positions before this key: fewer than finding the first key would cost
        return pattern.search(text)
    # the first key of the text: an earlier one of the keys after k (those before k are absent)
    for other in keys[keys.index(k) + 1 :]:
        i = low.find(other, 0, first + len(other) - 1)
        if i >= 0:
            first = i
    return pattern.search(text, max(0, first - lead))


FAR = 48
"""Where the first key found lies this far into the text or farther, the search starts near the first key of all;
nearer, from 0 (the same outcome either way, only the cost differs): finding the first key costs a substring search
per key left, more than the search from 0 saves on short steps (MR-GSM8K and PRMBench lost instructions when every
search looked for it)."""

MEMO_SIZE = 4096
MEMO_TEXT_CHARS = 2000
MEMO_CHARS = 500_000
"""How many texts a gate remembers, the longest, and their characters in all (at most 2 MB a gate, four bytes a
character: hostile steps of 2,000 characters each could otherwise keep 8 M characters alive per gate)."""
