"""The step split's fast paths (a "step" pre-check, a sentence-end pattern without a look-behind) split every text
exactly as the rules did before them: the earlier implementation is kept here as the oracle."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from critica.inputs import steps as S

# --- the oracle: the split as it was written before the fast paths (critica 94104e0) ----------------------------

_OLD_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\\$(\"'])")


def _old_by_sentences(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _OLD_SENTENCE_END.finditer(text):
        if S._last_word(text, start, m.start()) in S._ABBREV:
            continue
        out.append(text[start : m.start()])
        start = m.end()
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]


def _old_split(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return []
    for splitter in (
        lambda t: S._by_markers(t, S._MARKER),
        lambda t: S._by_markers(t, S._NUMBERED),
        lambda t: [p.strip() for p in S._PARAGRAPH.split(t) if p.strip()],
        _old_by_sentences,
    ):
        steps = splitter(text)
        if steps and len(steps) >= 2:
            return steps
    return [text]


# --- texts made of the pieces the rules look at --------------------------------------------------------------------

_PIECES = st.sampled_from([
    "Step 1:", "step 2.", "STEP 3", "ſtep 1:", "ſTEP 2:", "**Step 1**", "## Step 2", "Step 10:", "Steps", "stepping",
    "1.", "2)", "3.", "1) ", "e.g.", "i.e.", "Mr.", "etc.", "approx.", "3.5", "2.", ".", "!", "?", "...", " ", "  ",
    "\t", "\n", "\n\n", "\r\n", "\n \n", "A", "The", "x", "9", "$x$", "(a)", "\"Q\"", "'q'", "\\frac", "ẞ", "ß",
    "K", "é", "\u00a0", "\u2003", "so", "then", "we get", "=", "+",
])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_the_split_is_the_old_split_on_texts_of_markers_marks_and_spaces(text: str):
    assert S._split(text) == _old_split(text)


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=st.sampled_from("Sstepſ .!?\n\t1234)(#*:eE.A$\"'\u00a0"), max_size=80))
def test_the_split_is_the_old_split_on_dense_texts(text: str):
    assert S._split(text) == _old_split(text)


def test_a_long_s_step_marker_still_splits():
    # IGNORECASE matches "ſ" (U+017F) as "s": the pre-check must not skip it (casefold, not lower)
    text = "ſtep 1: add 2 and 3\nſtep 2: the sum is 5"
    assert S._split(text) == _old_split(text) == ["ſtep 1: add 2 and 3", "ſtep 2: the sum is 5"]
