"""Shortcuts in the verifier's LaTeX parser and exact evaluator give what the plain code gives (issue 15): the parse
memo's key (a side without the whitespace at its ends) and the evaluator's magnitude bound in integers."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_verifier_parse_paths import LATEX, _outcome

from critica.verifiers import mathexpr, steplinks, symparse
from critica.verifiers.mathtext import _Tok

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# whitespace of every kind, and the spellings that make whitespace at an end matter ("\\ " is a space command)
_EDGE = st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0", "\u2003", "\x1c", "\\ ", " \\ ", "\\", "\\,", "\\\\ ",
                         "\\left", "\\right ", "^\\circ ", "gcd ", "°"])
_TEXT = st.one_of(LATEX, st.tuples(LATEX, _EDGE, LATEX).map("".join), st.sampled_from(["", "x", "2x", "\\gcd(4, 6)"]))


@SETTINGS
@given(_TEXT, _EDGE, _EDGE, st.booleans())
@example("x", "", "\\ ", False)  # "x\\ " reads as "x " (a space command); stripped, a lone backslash is refused
@example("2", " ", "\\ \u2003", True)
def test_the_memo_key_parses_as_the_text(text, before, after, numeric):
    padded = before + text + after
    key = symparse._memo_key(padded)
    assert _outcome(symparse._parse_latex_expr, key, numeric) == _outcome(symparse._parse_latex_expr, padded, numeric)


def test_sides_with_and_without_end_spaces_share_one_memo_entry():
    symparse._parse_memo.cache_clear()
    first = symparse.parse_latex_expr(" 2x + 3 ")
    assert symparse.parse_latex_expr("2x + 3") is first
    assert symparse._parse_memo.cache_info().misses == 1
    assert symparse._memo_key("x \\ ") == "x \\ "  # kept whole: the space after the backslash is a space command
    with pytest.raises(symparse.Unparseable):
        symparse.parse_latex_expr("x \\")
    assert str(symparse.parse_latex_expr("x \\ ")[0]) == "x"


def _bound_plain(v: Fraction) -> None:
    """:func:`mathexpr._bound` as it was: Fraction arithmetic on MAX_MAGNITUDE."""
    if abs(v.numerator) > mathexpr.MAX_MAGNITUDE * max(1, v.denominator) or v.denominator > mathexpr.MAX_MAGNITUDE:
        raise mathexpr.Unevaluable("value too large")


_BIG = 10**60
_EDGE_INTS = st.one_of(st.integers(-3 * _BIG, 3 * _BIG), st.sampled_from([_BIG - 1, _BIG, _BIG + 1, -_BIG, -_BIG - 1]),
                       st.integers(-10**6, 10**6).map(lambda d: _BIG * 7 + d))


@SETTINGS
@given(_EDGE_INTS, st.one_of(st.integers(1, 10**6), st.sampled_from([_BIG - 1, _BIG, _BIG + 1, 7, 3 * _BIG])))
def test_the_integer_magnitude_bound_decides_as_the_fraction_one(num, den):
    v = Fraction(num, den)

    def outcome(fn):
        try:
            fn(v)
        except mathexpr.Unevaluable:
            return "refused"
        return "ok"

    assert outcome(mathexpr._bound) == outcome(_bound_plain)
    assert mathexpr._MAGNITUDE_INT == mathexpr.MAX_MAGNITUDE


# --- the evaluator's flat fast path against its recursive-descent parser ---------------------------------------

_VALUES = st.one_of(st.integers(-20, 20).map(Fraction), st.sampled_from([Fraction(0), Fraction(1, 3), Fraction(-5, 2),
                                                                         Fraction(10**59), Fraction(3, 10**40)]))
_KINDS = st.sampled_from(["NUM", "NUM", "NUM", "+", "-", "*", "/", "LP", "RP", "^", "PCT", "FACT", "SQRT", "×", "UNIT"])


@st.composite
def _runs(draw):
    """Token runs, most of them flat (numbers joined by + - * /, maybe parenthesised), some anything."""
    if draw(st.booleans()):
        kinds = draw(st.lists(_KINDS, min_size=1, max_size=12))
    else:
        kinds = []
        if draw(st.booleans()):
            kinds.append(draw(st.sampled_from(["+", "-"])))
        for k in range(draw(st.integers(1, 6))):
            if k:
                kinds.append(draw(st.sampled_from(["+", "-", "*", "/"])))
            kinds += ["LP", "NUM", "RP"] if draw(st.integers(0, 3)) == 0 else ["NUM"]
        if draw(st.booleans()):
            kinds = ["LP", *kinds, "RP"]
    toks = []
    for pos, k in enumerate(kinds):
        if k == "NUM":
            toks.append(_Tok("NUM", "n", pos, pos + 1, draw(_VALUES)))
        elif k in ("+", "-", "*", "/", "^", "×"):
            toks.append(_Tok("OP", k, pos, pos + 1))
        else:
            toks.append(_Tok(k, k, pos, pos + 1))
    return toks


def _evaluate(toks, subst=None):
    try:
        return "value", mathexpr._Parser(toks, subst).parse()
    except (mathexpr.Unevaluable, ZeroDivisionError, OverflowError, TypeError) as e:
        return "raised", type(e).__name__, e.args


@SETTINGS
@given(_runs(), st.booleans())
def test_the_flat_fast_path_evaluates_as_the_parser(toks, substitute):
    subst = {t.start: t.value + 1 for t in toks[::2] if t.kind == "NUM"} if substitute else None
    fast = _evaluate(toks, subst)
    real = mathexpr._flat_value
    mathexpr._flat_value = lambda _toks, _subst: mathexpr._NOT_FLAT
    try:
        plain = _evaluate(toks, subst)
    finally:
        mathexpr._flat_value = real
    assert fast == plain


def test_flat_runs_take_the_fast_path():
    def num(v, pos):
        return _Tok("NUM", str(v), pos, pos + 1, Fraction(v))

    run = [_Tok("OP", "-", 0, 1), num(3, 1), _Tok("OP", "+", 2, 3), num(4, 3), _Tok("OP", "*", 4, 5), num(2, 5)]
    assert mathexpr._flat_value(run, {}) == 5
    group = [_Tok("LP", "(", 0, 1), _Tok("LP", "(", 1, 2), num(3, 2), _Tok("RP", ")", 3, 4), _Tok("OP", "/", 4, 5),
             _Tok("LP", "(", 5, 6), num(4, 6), _Tok("RP", ")", 7, 8), _Tok("RP", ")", 8, 9)]
    assert mathexpr._flat_value(group, {}) == Fraction(3, 4)
    assert mathexpr._flat_value([num(2, 0), _Tok("OP", "^", 1, 2), num(3, 2)], {}) is mathexpr._NOT_FLAT


# --- plain-text formulas: one regex run per candidate against the token-by-token scan ------------------------------

_PROSE_PIECES = ["x", "y", "ab", "it's", "2", "3.5", "12", "2nd", "1.5cm", "=", "+", "-", "*", "/", "^", "×", "÷", "(",
                 ")", "−", "–", " ", "  ", "\n", "\t", "\u00a0", ",", ".", "so", "we get", "times", "of", "more",
                 "$", "%", "'", "x'", "sqrt", "is", "7(", "=2"]
_FORMULA = st.tuples(st.lists(st.sampled_from(["x", "y", "2", "3.5", "10", "+", "-", "*", "/", "(", ")", "−", "×"]),
                              max_size=5),
                     st.lists(st.sampled_from(["x", "y", "2", "40", "+", "-", "(", ")", "2nd"]), min_size=1, max_size=5),
                     st.sampled_from([" ", "", "  "]), st.sampled_from(["", " ", "  ", "\n", ",", "."])).map(
    lambda t: t[2].join(t[0] + ["="] + t[1]) + t[3])
# prose with formulas in it (most spans need one), and text of any of the pieces
PROSE = st.one_of(st.lists(st.one_of(st.sampled_from(_PROSE_PIECES), _FORMULA), max_size=8).map("".join),
                  st.lists(st.sampled_from(_PROSE_PIECES), max_size=24).map("".join))


# the token pattern as it was (before its number became possessive)
_OLD_PLAIN_TOKEN = re.compile(r"\d+(?:\.\d+)?(?![\d.]*[A-Za-z]{2})|(?<![A-Za-z'])[A-Za-z](?![A-Za-z'])|[-+*/^=×÷()−–]|\s+")


def _plain_spans_scan(prose: str) -> list[tuple[int, int]]:
    """``steplinks._plain_spans`` as it was, one token match at a time."""
    spans: list[tuple[int, int]] = []
    if "=" not in prose:
        return spans
    i = 0
    while i < len(prose):
        m = _OLD_PLAIN_TOKEN.match(prose, i)
        if m is None or m.group().isspace():
            i = i + 1 if m is None else m.end()
            continue
        j = i
        end = i
        while (m := _OLD_PLAIN_TOKEN.match(prose, j)) is not None:
            j = m.end()
            if not m.group().isspace():
                end = j
        text = prose[i:end]
        if "=" in text and steplinks._LETTER.search(text) and steplinks._whole_formula(prose, i, end):
            spans.append((i, end))
        i = max(j, i + 1)
    return spans


@SETTINGS
@given(PROSE)
@example("we get 2x + 30 = 110 , so x = 40 ")
@example("  = x")
def test_plain_formula_spans_are_the_token_scans(prose):
    assert steplinks._plain_spans(prose) == _plain_spans_scan(prose)
