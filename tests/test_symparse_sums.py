"""The parser adds a sum's terms with one ``sympy.Add`` (issue 15): the same expression as adding them one by one,
left to right, as the parser did before (``(a + b) - c``, sympy's ``+`` and ``-`` on each partial sum)."""

from __future__ import annotations

import functools

import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critica.verifiers.symparse import Unparseable, parse_latex_expr

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_TERMS = ["x", "2x", "3", "\\frac{1}{2}", "\\sqrt{2}", "2\\sqrt{3}", "x^2", "3x^2", "(x + 1)", "2(x - 3)",
          "(x + 1)(x - 1)", "\\frac{x}{3}", "\\pi", "y", "xy", "\\sqrt{x}", "0", "\\frac{1}{x + 1}", "(2 - \\sqrt{3})",
          "\\sqrt{5 - 2\\sqrt{6}}", "x^{-1}", "-x", "(3 - x)^2", "1.5"]


def _old_sum(signs: list[str], terms: list[str]) -> sympy.Expr:
    """The pairwise sum of the separately parsed terms, as the parser used to build it."""
    values = [parse_latex_expr(t)[0] for t in terms]
    first = -values[0] if signs[0] == "-" else values[0]
    return functools.reduce(lambda acc, sv: acc + sv[1] if sv[0] == "+" else acc - sv[1],
                            zip(signs[1:], values[1:], strict=True), first)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["+", "-"]), st.sampled_from(_TERMS)), min_size=1, max_size=7),
       st.booleans(), st.booleans())
def test_a_sum_is_the_pairwise_sum_of_its_terms(pairs, lead_sign, numeric):
    signs = [s for s, _ in pairs]
    terms = [t for _, t in pairs]
    if not lead_sign:
        signs[0] = "+"
    text = ("-" if signs[0] == "-" else "") + terms[0] + "".join(f" {s} {t}" for s, t in zip(signs[1:], terms[1:],
                                                                                          strict=True))
    try:
        got, _ = parse_latex_expr(text)
    except Unparseable:
        return  # e.g. a term the grammar refuses after a sign ("- -x"): no sum to compare
    want = _old_sum(signs, terms)
    assert sympy.srepr(got) == sympy.srepr(want), text
    if numeric and not any(c.isalpha() and c not in "fracsqrtpi" for t in terms for c in t):
        assert sympy.srepr(parse_latex_expr(text, numeric=True)[0]) == sympy.srepr(want), text


def test_sums_collect_like_terms_and_numbers():
    assert parse_latex_expr("x + 2 + 3x - 2")[0] == 4 * sympy.Symbol("x")
    assert parse_latex_expr("\\sqrt{2} + 1 - \\sqrt{2}")[0] == 1
    assert parse_latex_expr("(x + 1) - (x + 1)")[0] == 0
