"""An equation that does not follow from the one before is reported with both real solution sets; where every real
root of both is rational they come from :func:`critica.verifiers.ratpoly.rational_roots` (issue 15) instead of
sympy's ``real_roots``. The roots and the whole message are sympy's."""

from __future__ import annotations

from fractions import Fraction

import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critica.verifiers import algebra as A
from critica.verifiers import ratpoly
from critica.verifiers.steplinks import _Link

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
X = sympy.Symbol("x")
_ROOTS = st.builds(Fraction, st.integers(-12, 12), st.integers(1, 6))


def _poly(roots: list[Fraction], extra: list[tuple[int, int]], lead: Fraction) -> sympy.Poly:
    """``lead · Π (x - r) · Π (x^2 + b x + c)``."""
    e = sympy.Rational(lead.numerator, lead.denominator)
    for r in roots:
        e *= X - sympy.Rational(r.numerator, r.denominator)
    for b, c in extra:
        e *= X**2 + b * X + c
    return sympy.Poly(sympy.expand(e), X, domain="QQ")


@SETTINGS
@given(st.lists(_ROOTS, max_size=4), st.lists(st.tuples(st.integers(-6, 6), st.integers(-9, 9)), max_size=2),
       _ROOTS.filter(lambda r: r != 0))
def test_rational_roots_are_the_rational_real_roots(roots, extra, lead):
    poly = _poly(roots, extra, lead)
    if poly.degree() < 1:
        return
    got = ratpoly.rational_roots([Fraction(int(sympy.fraction(c)[0]), int(sympy.fraction(c)[1]))
                                  for c in poly.all_coeffs()])
    real = set(poly.real_roots(multiple=True))
    assert got is not None
    assert {sympy.Rational(r.numerator, r.denominator) for r in got} == {r for r in real if r.is_Rational}
    assert set(roots) <= got


def test_rational_roots_refuses_long_searches():
    assert ratpoly.rational_roots([Fraction(1), Fraction(0), Fraction(-(10**9 + 7))]) is None
    assert ratpoly.rational_roots([Fraction(1), Fraction(0), Fraction(-4)]) == {Fraction(2), Fraction(-2)}
    assert ratpoly.rational_roots([Fraction(3), Fraction(0), Fraction(0)]) == {Fraction(0)}


def _side(roots: list[int], extra: int) -> str:
    factors = "".join(f"(x {'-' if r >= 0 else '+'} {abs(r)})" for r in roots)
    return (factors + (f"(x^2 + {extra})" if extra else "")) or "1"


@SETTINGS
@given(st.lists(st.integers(-7, 7), min_size=1, max_size=3), st.lists(st.integers(-7, 7), min_size=1, max_size=3),
       st.sampled_from([0, 0, 1, 3]), st.sampled_from([0, 0, 2]), st.sampled_from(["0", "5", "2x"]))
def test_a_failed_implication_reads_as_on_the_sympy_path(roots1, roots2, e1, e2, right):
    first, second = _Link(f"{_side(roots1, e1)} = {right}"), _Link(f"{_side(roots2, e2)} = {right}")
    if first.sides is None or second.sides is None:
        return
    want = A._check_pair_sympy(_Link(first.raw), _Link(second.raw), X, False)
    got = A._check_pair(first, second, X, False)
    assert (got is None) == (want is None)
    if got is not None:
        assert (got.ok, got.message, got.details) == (want.ok, want.message, want.details)


def test_a_failed_implication_quotes_rational_solutions():
    got = A._check_pair(_Link("(x - 2)(x + 3) = 0"), _Link("x - 2 = 1"), X, False)
    assert got is not None and not got.ok
    assert "x = 3 solves the second but not the first (whose real solutions are x = -3, 2)" in got.message
