"""Cheaper text paths of the step checks give what the plain ones give (issue 15, round 2).

* :class:`critica.verifiers.keygate.KeywordGate` remembers outcomes by text: a remembered outcome is the search's,
  and the table stays bounded;
* :func:`critica.verifiers.listing._normalise` skips a rewrite when the text holds none of its needles: the result
  is the one every rewrite run in turn gives.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from critica.verifiers import keygate, listing, steplinks
from critica.verifiers.keygate import KeywordGate

# --- keyword gate ------------------------------------------------------------------------------------------------

_WORDS = ["suppose", "Suppose", "SUPPOSE", "ſuppose", "assume", "x", "=", "3", " ", "\n", "the", "so", "é", "mod", "mod 7"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_WORDS), max_size=6).map(" ".join), min_size=1, max_size=12))
def test_a_gate_answers_as_its_search_whatever_it_remembers(texts):
    pattern = re.compile(r"\b(?:suppos\w*|assum\w*)\b", re.IGNORECASE)
    gate = KeywordGate(pattern, ("suppos", "assum"))
    for text in texts + texts[::-1]:  # each text again, some right after, some after others
        got, want = gate.search(text), pattern.search(text)
        assert (got is None) == (want is None), text
        if want is not None:
            assert got.span() == want.span() and got.group() == want.group()


def test_a_gate_remembers_a_bounded_number_of_short_texts(monkeypatch):
    monkeypatch.setattr(keygate, "MEMO_SIZE", 3)
    calls: list[str] = []

    class Counting:
        def search(self, text):
            calls.append(text)
            return None

    gate = KeywordGate(Counting(), ("a",))  # type: ignore[arg-type]
    gate.search("a1")
    gate.search("a1")
    assert calls == ["a1"]  # the second search of the text is remembered
    for t in ("a2", "a3", "a4", "a5"):
        gate.search(t)
    assert len(gate._memo) <= 3
    long = "a" * (keygate.MEMO_TEXT_CHARS + 1)
    gate.search(long)
    gate.search(long)
    assert calls.count(long) == 2  # a long text is searched every time, never kept
    assert long not in gate._memo


def test_a_gate_keeps_a_bounded_number_of_characters_alive(monkeypatch):
    monkeypatch.setattr(keygate, "MEMO_CHARS", 5_000)
    gate = KeywordGate(re.compile("a"), ("a",))
    for k in range(200):  # hostile steps: long distinct texts, far fewer than MEMO_SIZE
        gate.search(f"{k:04d}" + "a" * (keygate.MEMO_TEXT_CHARS - 4))
        assert sum(map(len, gate._memo)) <= 5_000 + keygate.MEMO_TEXT_CHARS


def test_a_gate_stops_texts_without_keys_before_the_search():
    class Failing:
        def search(self, text):
            raise AssertionError(f"searched {text!r}")

    gate = KeywordGate(Failing(), ("suppos",))  # type: ignore[arg-type]
    assert gate.search("so 3 * 4 = 12") is None
    assert gate.search("SO 3 * 4 = 12") is None


# --- listing normalisation -----------------------------------------------------------------------------------------

_LATEX = [
    "\\text{", "\\textbf{", "\\mathrm{", "\\mathbf{", "\\mbox{", "\\operatorname{", "\\boxed{", "}", "{", "\\left",
    "\\right", "\\big", "\\Big", "\\bigl", "(", ")", "\\ldots", "\\cdots", "\\dots", "\\dotsc", "...", "…", "\\times",
    "\\cdot", "\\ast", "·", "⋅", "\\pm", "\\mp", "±", "∓", "\\le", "\\leq", "\\leqslant", "\\ge", "\\geq", "\\quad",
    "\\qquad", "\\,", "\\;", "\\:", "\\!", "\\ ", "\\{", "\\}", "$", "$$", "\\(", "\\)", "\\[", "\\]", "**", "^{", "^",
    "−", "–", " ", "  ", "\t", " ,", " ;", " .", ",", ";", ".", "12", "7", "x", "a", "\n", "\\", "t", "l",
]


def _normalise_every_rewrite(text: str) -> str:
    for pat, rep in listing._NORMALISE:
        text = pat.sub(rep, text)
    return text


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_LATEX), max_size=14).map("".join))
def test_listing_normalisation_skips_only_rewrites_that_change_nothing(text):
    assert listing._normalise(text) == _normalise_every_rewrite(text)


def test_listing_normalisation_still_rewrites():
    assert listing._normalise("$\\text{the divisors}$ of 12 are 1 , 2,\t3") == " the divisors of 12 are 1, 2, 3"
    assert len(listing._NORMALISE_NEEDLES) == len(listing._NORMALISE)


# --- splitting a math segment ----------------------------------------------------------------------------------------

_SPLIT_OR_BRACKET = re.compile("[" + re.escape("".join(sorted(steplinks._SPLIT_FIRST)) + "({[)}]") + "]")


def _split_scan_every_bracket(seg: str) -> list:
    """steplinks._split_scan as it was before 2026-12-07: a Python visit of every bracket and split character."""
    out: list = []
    depth = 0
    start = 0
    i = 0
    if "\\begin" in seg or "\\end" in seg:
        seg = steplinks._ENVIRONMENT.sub(lambda _m: " \\\\ ", seg)
    while (c := _SPLIT_OR_BRACKET.search(seg, i)) is not None:
        i = c.start()
        ch = seg[i]
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif depth == 0:
            m = steplinks._MATH_SPLIT.match(seg, i)
            if m and not (m.group() == "," and steplinks._thousands_comma(seg, i)):
                out.append(steplinks._make_link(seg[start:i]))
                kind = m.lastgroup or "COMMA"
                out.append(steplinks._Conn("IMPLY" if kind == "IMPLYTXT" else kind))
                i = start = m.end()
                continue
        i += 1
    out.append(steplinks._make_link(seg[start:]))
    out = [p for p in out if not (isinstance(p, steplinks._Link) and not p.raw.strip())]
    while out and isinstance(out[0], steplinks._Conn) and out[0].kind != "IMPLY":
        out.pop(0)
    while out and isinstance(out[-1], steplinks._Conn) and out[-1].kind != "IMPLY":
        out.pop()
    return out


def _shape(parts: list) -> list[tuple[str, str]]:
    return [("link", p.raw) if isinstance(p, steplinks._Link) else (p.kind, p.text) for p in parts]


_MATH_PIECES = [
    "x", "2", "=", "+", " ", ",", ";", "1,000", "3,", "(", ")", "{", "}", "[", "]", "\\frac", "\\cdot", "\\left(",
    "\\right)", "\\Rightarrow", "\\implies", "\\Longrightarrow", "\\longrightarrow", "\\rightarrow", "\\to", "\\top",
    "\\therefore", "\\Leftrightarrow", "\\iff", "\\Longleftrightarrow", "⟹", "⇒", "→", "⟺", "⇔", "\\\\", "\\quad",
    "\\qquad", "\\text{ and }", "\\text{,}", "\\text{ or }", "\\lor", "\\vee", "\\text{ so }", "\\text{which gives}",
    "\\text{", "\\begin{aligned}", "\\end{aligned}", "\\", "\\l", "\\R", "\\q", "\\t", "\\v", "\\i", "\\L", "\\r",
]


@settings(max_examples=4000, deadline=None)
@given(st.lists(st.sampled_from(_MATH_PIECES), max_size=16).map("".join))
def test_a_math_segment_splits_as_when_every_bracket_was_visited(seg):
    assert _shape(steplinks._split_scan(seg)) == _shape(_split_scan_every_bracket(seg))


def test_a_math_segment_still_splits_at_depth_zero_only():
    parts = _shape(steplinks._split_scan("f(x, y) = 2x, \\frac{a}{b} \\Rightarrow x = 1 \\\\ y = 2"))
    assert parts == [("link", "f(x, y) = 2x"), ("COMMA", ""), ("link", "\\frac{a}{b}"), ("IMPLY", ""),
                     ("link", "x = 1"), ("ROW", ""), ("link", "y = 2")]


# --- gates that start their search near the first key -----------------------------------------------------------

_GATE_PIECES = [
    "re-evaluate", "reevaluating", "re-examine", "recheck", "rechecking", "\\approx", "\\Approx", "approx", "≈",
    "does not equal", "doesn't hold", "is not correct", "isn't right", "are not", "aren't satisfying", "not true",
    "not a valid solution", "not a solution", "not possible", "not satisfied", "not", "n't", "does", "is", "are",
    "suppose", "Assume", "TRY", "trying", "tried", "retry", "entry", "tests", "contest", "checking", "verify", "plug",
    "wrong", "errors", "estimate", "around", "roughly", "about", "nearly", "false", "substitute", "written",
    "rewritten", "expressed", "simplifies", "becomes", "as", "has", "as-is", "equations", "system", "pair", "both",
    "each", "respectively", "given", "cases", "x", "=", "3", "2x + 1", ",", ".", "-", " ", "\n", "é",
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_GATE_PIECES), max_size=14), st.sampled_from(["", " ", "-", "\\", "re", "doe"]))
def test_gates_with_a_lead_find_the_match_a_search_from_the_start_finds(pieces, glue):
    from critica.verifiers import algebra, constants

    text = glue.join(pieces)
    far = keygate.FAR
    try:
        for keygate.FAR in (0, far):  # 0: every search starts near the first key (most texts here are short)
            for gate in (algebra._HYPOTHETICAL_GATE, constants._NUMERIC_SKIP_GATE, algebra._BETWEEN_WORDS,
                         steplinks._LISTING):
                assert gate.lead is not None
                got, want = gate._search(text), gate.pattern.search(text)
                assert (got is None) == (want is None), (gate.pattern.pattern, text)
                if want is not None:
                    assert got.span() == want.span() and got.groups() == want.groups(), (gate.pattern.pattern, text)
    finally:
        keygate.FAR = far


def test_a_lead_too_short_loses_the_match_before_the_key():
    # the check above would fail with a smaller lead: "does " stands five characters before "not "
    from critica.verifiers import constants

    gate = KeywordGate(constants._NUMERIC_SKIP, constants._NUMERIC_SKIP_GATE.keys, lead=4)
    text = "so " + "x " * keygate.FAR + "does not equal 3"  # the key far enough in to start the search near it
    assert constants._NUMERIC_SKIP_GATE.search(text).group() == "does not equal"
    assert gate.search(text) is None
