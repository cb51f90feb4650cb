"""Shortcuts in the verifier's LaTeX parser and exact evaluator give what the plain code gives (issue 15): the parse
memo's key (a side without the whitespace at its ends) and the evaluator's magnitude bound in integers."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_verifier_parse_paths import LATEX, _outcome

from critica.verifiers import mathexpr, symparse

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
