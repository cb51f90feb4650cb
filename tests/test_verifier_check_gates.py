"""Pre-tests in front of whole-text regex scans of the step checks answer as the scans (issue 15, stop 6).

* ``constants._has_marker`` is ``_NUMERIC_MARKERS.search(text) is not None`` (substring tests, the regex only for
  ``C(``);
* the keyword gates of the listing cue (``steplinks._LISTING``), the rewriting cue (``algebra._REWRITE_CUE_GATE``)
  and the between-formulas words (``algebra._BETWEEN_WORDS``) find what their regexes find;
* ``mathtext._display_breaks`` (``str.replace`` per literal) is the display-delimiter regex's ``sub``;
* ``steplinks.math_spans`` (``str.find``) gives the spans and bodies of the LaTeX math regex's matches;
* ``mathexpr._pretty`` returns an expression without parentheses after its space rewrite (every other rewrite
  needs a parenthesis);
* ``mathtext._kept_lines`` finds the lines of relation marks by substring tests where the text is ASCII and holds
  no "equals": the lines the regex's matches fall on.

Each test fails when its shortcut drops a literal or a key (checked by removing one).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from critica.verifiers import algebra, constants, mathtext, steplinks

_MARKER_PIECES = [
    "\\sqrt", "\\pi", "!", "\\binom", "\\dbinom", "\\tbinom", "\\choose", "\\log", "\\ln", "\\sin", "\\cos", "\\tan",
    "\\cot", "\\sec", "\\csc", "\\lfloor", "\\lceil", "gcd", "lcm", "GCD", "LCM", "\\equiv", "≡", "mod", "^", "C(",
    "aC(", " C(", "C", "(", "\\", "s", "q", "r", "t", "b", "i", "n", "o", "m", "d", "g", "c", "l", "M", "O", "D",
    "\\frac", "{", "}", "2", "x", "=", " ", "$", "\n", "é", "Mod", "GcD",
]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_MARKER_PIECES), max_size=10).map("".join))
def test_has_marker_is_the_marker_regex(text):
    assert constants._has_marker(text) == (constants._NUMERIC_MARKERS.search(text) is not None), text


def test_has_marker_reads_every_alternative():
    for piece in _MARKER_PIECES[:26]:
        assert constants._has_marker(f"x {piece} y"), piece
    assert not constants._has_marker("aC(2) = 3")  # the look-behind: C after a letter is no binomial
    assert not constants._has_marker("\\frac{1}{2} = 0.5")


_GATE_WORDS = [
    # listing cue
    "equations", "system", "pair", "both", "following", "given", "conditions", "cases", "options", "possibilities",
    "constraints", "relations", "each", "respectively", "equation", "systems", "eachother",
    # rewriting cue and its tail
    "expanding", "expand", "expanded", "expands", "multiplying out", "multiplying", "factoring", "factorising",
    "factorizing", "factor", "factored", "factors", "simplifying", "simplify", "simplifies", "simplified",
    "simplifies to", "rewrite", "rewriting", "rewritten as", "can be written as", "can be rewritten as",
    "combining like terms", "the", "left", "hand", "side", "we", "get", "gives", ",", ":",
    # between-formulas words
    "written", "expressed", "becomes", "as", "has", "was", "asked",
    # other text, and letters re folds where str.lower does not
    "x", "=", "3", " ", "\n", "so", "ſ", "\u212a", "\u0130", "é", "-",
]


@st.composite
def _wordy(draw):
    pieces = draw(st.lists(st.sampled_from(_GATE_WORDS), max_size=8))
    cased = [draw(st.sampled_from([p, p.upper(), p.title(), p.swapcase()])) for p in pieces]
    return draw(st.sampled_from(["", " ", "  "])).join(cased)


@settings(max_examples=2000, deadline=None)
@given(_wordy())
def test_check_gates_find_what_their_regexes_find(text):
    for gate in (steplinks._LISTING, algebra._REWRITE_CUE_GATE, algebra._BETWEEN_WORDS):
        got, want = gate.search(text), gate.pattern.search(text)
        assert (got is None) == (want is None), (gate.keys, text)
        if want is not None:
            assert got.span() == want.span() and got.groups() == want.groups()


def test_check_gates_still_find_their_words():
    assert steplinks._LISTING.search("Solve the SYSTEM:") is not None
    assert steplinks._LISTING.search("so we get") is None
    m = algebra._REWRITE_CUE_GATE.search("Expanding the left side, ")
    assert m is not None and m.group("cue") == "Expanding"
    assert algebra._BETWEEN_WORDS.search("which can be written") is not None
    assert algebra._BETWEEN_WORDS.search("so x is 2") is None


_DISPLAY_PIECES = ["\\[", "\\]", "\\(", "\\)", "$$", "$$$", "$", "\\", "\\\\[", "[", "]", "(", ")", "x", " ", "\n",
                   "\\frac", "{", "}"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_DISPLAY_PIECES), max_size=12).map("".join))
def test_display_breaks_are_the_display_regex(text):
    assert mathtext._display_breaks(text) == mathtext._DISPLAY.sub(" \n ", text), text


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(_DISPLAY_PIECES + ["2", "+", "=", "\\times", "\\text{a}", "~"]), max_size=10).map("".join))
def test_normalise_is_unchanged_by_the_display_shortcut(text):
    want = _normalise_old_display(text)
    assert mathtext._normalise(text) == want, text


def _normalise_old_display(text: str) -> str:
    new = mathtext._display_breaks
    # the code before: the regex, on any text holding a backslash or "$$"
    mathtext._display_breaks = lambda t: mathtext._DISPLAY.sub(" \n ", t) if "\\" in t or "$$" in t else t
    try:
        return mathtext._normalise(text)
    finally:
        mathtext._display_breaks = new


_LINE_PIECES = ["=", "%", "≈", "equals", "EQUALS", "Equals", "equal", "equalſ", "is", "x", "3", " ", "\n", "\n", "é"]


def _kept_lines_by_regex(text: str, lines: list[str]) -> list[bool]:
    keep = [False] * (len(lines) + 2)
    line, last = 0, 0
    for m in mathtext._RELATION_MARK.finditer(text):
        line += text.count("\n", last, m.start())
        last = m.start()
        keep[line] = keep[line + 1] = keep[line + 2] = True
    return keep


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_LINE_PIECES), max_size=14).map("".join))
def test_kept_lines_are_those_of_the_regex_marks(text):
    lines = text.split("\n")
    assert mathtext._kept_lines(text, lines) == _kept_lines_by_regex(text, lines), text


_MATH_PIECES = ["$", "$$", "$$$", "\\[", "\\]", "\\(", "\\)", "\\", "[", "]", "(", ")", "x", "= 2", " ", "\n", "\\frac"]


def _spans_by_regex(step: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(m.lastindex)) for m in steplinks._MATH.finditer(step)]


@settings(max_examples=5000, deadline=None)
@given(st.lists(st.sampled_from(_MATH_PIECES), max_size=14).map("".join))
def test_math_spans_are_the_math_regex_matches(step):
    assert steplinks.math_spans(step) == _spans_by_regex(step), step


def test_math_spans_of_unclosed_delimiters_stay_linear():
    import time

    for step in ("\\[" * 50_000, "$" + "x" * 100_000, "\\(x$" * 30_000, "$$x" * 30_000):
        t = time.process_time()
        got = steplinks.math_spans(step)
        assert time.process_time() - t < 1.0
        if len(step) < 60_000:
            assert got == _spans_by_regex(step)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_MATH_PIECES), max_size=14).map("".join))
def test_series_math_bodies_are_the_regex_ones(step):
    from critica.verifiers import series

    assert series._MATH.pattern == steplinks._MATH.pattern and series._MATH.flags == steplinks._MATH.flags
    want = ([m.group(m.lastindex) for m in series._MATH.finditer(step)], series._MATH.sub(" ; ", step))
    assert series._math_bodies(step) == want, step


def _pretty_every_rewrite(expr: str) -> str:
    """mathexpr._pretty before it returned early on an expression without parentheses."""
    from critica.verifiers import mathexpr as M

    expr = M._SPACES.sub(" ", expr).strip()
    expr = M._CLOSE_OPEN.sub(") * (", expr)
    expr = M._DIGIT_OPEN.sub(" * (", expr)
    expr = M._CLOSE_DIGIT.sub(") * ", expr)
    prev = None
    while prev != expr:
        prev = expr
        expr = M._BARE_NUMBER.sub(r"\1", expr)
        expr = M._DOUBLE_PARENS.sub(r"(\1)", expr)
    return expr.replace("( ", "(").replace(" )", ")")


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(["(", ")", "((", "))", "2", "3.5", "1,000", " ", "  ", "\n", "*", "+", "-", "/",
                                 "sqrt", "x"]), max_size=12).map("".join))
def test_pretty_is_unchanged_by_its_parenthesis_pretest(expr):
    from critica.verifiers import mathexpr

    assert mathexpr._pretty(expr) == _pretty_every_rewrite(expr), expr
