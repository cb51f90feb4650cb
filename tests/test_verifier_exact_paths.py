"""The algebra checks' exact fast paths (critica.verifiers.ratpoly) give what the sympy path gives, on generated
polynomials, rational functions and roots (docs/performance.md, "The verifier")."""

from __future__ import annotations

from fractions import Fraction

import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critica.verifiers import ratpoly
from critica.verifiers.algebra import (
    _UNDECIDED,
    _check_pair,
    _check_pair_sympy,
    _degrees,
    _degrees_sympy,
    _differ_by_a_constant,
    _differ_by_a_constant_sympy,
    _identity,
    _identity_sympy,
    _polynomial,
    _polynomial_dense,
)
from critica.verifiers.steplinks import _Link

X, Y, Z = sympy.symbols("x y z")
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_number = st.one_of(st.integers(-6, 6).map(sympy.Integer),
                    st.tuples(st.integers(-7, 7), st.integers(1, 5)).map(lambda t: sympy.Rational(*t)))
# mostly polynomial leaves; a few that are not (roots, pi, 1/x, another kind of number) exercise the hand-over
_leaf = st.one_of(_number, st.sampled_from([X, Y, Z]), st.sampled_from([X, X, Y]),
                  st.sampled_from([sympy.sqrt(2), sympy.pi, 1 / X, X ** sympy.Rational(1, 2), sympy.Float("0.5")]))


def _exprs(leaf, max_power: int = 4):
    return st.recursive(leaf, lambda kids: st.one_of(
        st.tuples(kids, kids).map(lambda t: t[0] + t[1]),
        st.tuples(kids, kids).map(lambda t: t[0] - t[1]),
        st.tuples(kids, kids).map(lambda t: t[0] * t[1]),
        st.tuples(kids, kids).map(lambda t: t[0] / t[1] if t[1] != 0 else t[0]),
        st.tuples(kids, st.integers(0, max_power)).map(lambda t: t[0] ** t[1]),
    ), max_leaves=8)


EXPR = _exprs(_leaf)
UNIVARIATE = _exprs(st.one_of(_number, st.just(X), st.just(X), st.sampled_from([sympy.sqrt(3), 1 / X])), 8)


@st.composite
def _pairs(draw):
    """Two sides that are often an identity, or one slip away from one."""
    a = draw(EXPR)
    how = draw(st.sampled_from(["any", "expanded", "factored", "cancelled", "slip"]))
    if how == "any":
        return a, draw(EXPR)
    if how == "cancelled":
        return a, sympy.cancel(a)
    b = sympy.expand(a) if how == "expanded" else sympy.factor(a) if how == "factored" else sympy.expand(a) + draw(
        _number) * draw(st.sampled_from([X, Y, X * Y, sympy.Integer(1)]))
    return a, b


@SETTINGS
@given(_pairs())
def test_identity_fast_path_agrees_with_sympy(pair):
    a, b = pair
    assert _identity(a, b) == _identity_sympy(a, b)


@SETTINGS
@given(_pairs(), st.sampled_from([0, 1, 2, sympy.Rational(-3, 4)]))
def test_constant_difference_fast_path_agrees_with_sympy(pair, shift):
    # a rewriting cue's last test ("simplifying", "combining like terms"): do the sides differ by a nonzero number?
    a, b = pair
    for left, right in ((a, b), (a, b + shift), (a + shift, sympy.expand(a)), (b, b - shift)):
        assert _differ_by_a_constant(left, right) == _differ_by_a_constant_sympy(left, right), (left, right)


@SETTINGS
@given(EXPR)
def test_degrees_fast_path_agrees_with_sympy(e):
    assert _degrees(e) == _degrees_sympy(e)


def _monic(coeffs):
    return [Fraction(c) / Fraction(coeffs[0]) for c in coeffs] if coeffs else []


@SETTINGS
@given(UNIVARIATE, UNIVARIATE, st.sampled_from([6, 8]))
def test_polynomial_fast_path_agrees_with_sympy(lhs, rhs, max_degree):
    _fast_agrees_with_sympy(lhs, rhs, max_degree)


def _fast_agrees_with_sympy(lhs, rhs, max_degree):
    """The exact path gives sympy's polynomial up to a constant factor, or gives up where sympy does (or defers)."""
    fast = _polynomial_dense(lhs, rhs, X, max_degree)
    slow = _polynomial(lhs, rhs, X, max_degree)
    if fast is _UNDECIDED:
        return
    assert (fast is None) == (slow is None)
    if slow is not None:
        coeffs = [Fraction(int(c.p), int(c.q)) for c in slow.all_coeffs()] if not slow.is_zero else []
        assert _monic(fast) == _monic(coeffs)


def test_a_high_power_that_cancels_is_judged_on_the_difference_as_sympy_does():
    # sympy looks for powers over the cap in lhs - rhs, where x^7 may have cancelled: the polynomial reading leaves
    # any such power to the rational one, which makes sympy's test on lhs - rhs itself
    assert _polynomial_dense(X**7 + X, X**7 + 2, X, 6) == [1, -2]
    assert _polynomial(X**7 + X, X**7 + 2, X, 6).all_coeffs() == [1, -2]
    assert _polynomial_dense(X**7 + X, sympy.Integer(2), X, 6) is None
    assert _polynomial(X**7 + X, sympy.Integer(2), X, 6) is None


def test_rational_functions_are_decided_by_their_reduced_numerator():
    # 1/x^2 = 1/(5 - x)^2: the numerator of the difference in lowest terms, (5 - x)^2 - x^2 = 25 - 10x
    fast = _polynomial_dense(1 / X**2, 1 / (5 - X) ** 2, X)
    assert _monic(fast) == [1, Fraction(-5, 2)]
    assert _monic([Fraction(int(c.p), int(c.q)) for c in _polynomial(1 / X**2, 1 / (5 - X) ** 2, X).all_coeffs()]) == _monic(fast)
    # (x^2 - 1)/(x - 1) = 3: a common factor leaves x + 1 - 3
    assert _monic(_polynomial_dense((X**2 - 1) / (X - 1), sympy.Integer(3), X)) == [1, -2]
    # sympy tests the degree of its own numerator of lhs - rhs (here x^4 + …, over 2 * 1) before lowest terms (-x):
    # a written degree over 2 * max_degree is left to it
    lhs, rhs = 1 / (X + 1) + 1 / ((X + 1) * (X + 2)), (X + 3) / ((X + 1) * (X + 2)) + X
    assert _polynomial(lhs, rhs, X, 1) is None
    assert _polynomial_dense(lhs, rhs, X, 1) is _UNDECIDED
    assert _monic(_polynomial_dense(lhs, rhs, X, 4)) == _monic([Fraction(int(c.p), int(c.q)) for c in
                                                                _polynomial(lhs, rhs, X, 4).all_coeffs()]) == [1, 0]
    assert _polynomial_dense(1 / X**5 + 1 / (X + 1) ** 5 + 1 / (X + 2) ** 5 + 1 / (X + 3) ** 5, sympy.Integer(0), X,
                             6) is _UNDECIDED


_roots = st.lists(st.tuples(st.integers(-4, 4), st.integers(1, 3)), min_size=0, max_size=4)


@SETTINGS
@given(_roots, st.lists(st.integers(-9, 9), min_size=0, max_size=4), st.integers(1, 5))
def test_real_root_count_agrees_with_sympy(roots, extra, scale):
    p = sympy.Integer(scale)
    for r, m in roots:
        p *= (X - r) ** m
    p *= sum((c * X**k for k, c in enumerate(extra)), sympy.Integer(1))  # maybe irrational or complex roots
    poly = sympy.Poly(p, X)
    dense = [Fraction(int(c)) for c in poly.all_coeffs()]
    expected = 0 if poly.degree() <= 0 else poly.sqf_part().count_roots()
    assert ratpoly.count_real_roots(dense) == expected


@SETTINGS
@given(_roots, _roots)
def test_gcd_keeps_the_shared_roots(r1, r2):
    p1 = sympy.Poly(sympy.prod([(X - r) ** m for r, m in r1]) * (X**2 + 1), X)
    p2 = sympy.Poly(sympy.prod([(X - r) ** m for r, m in r2]) * 3, X)
    d1, d2 = ([Fraction(int(c)) for c in p.all_coeffs()] for p in (p1, p2))
    assert ratpoly.count_real_roots(ratpoly.gcd(d1, d2)) == (lambda g: 0 if g.degree() <= 0 else
                                                             g.sqf_part().count_roots())(p1.gcd(p2))


def _latex_side(e) -> str:
    return sympy.latex(e).replace("\\left", "").replace("\\right", "")


@st.composite
def _equation(draw):
    """A LaTeX equation in x: a product of linear factors (or a random polynomial) = a small polynomial."""
    if draw(st.booleans()):
        lhs = sympy.Integer(draw(st.integers(1, 3)))
        for r, m in draw(_roots):
            lhs *= (X - r) ** m
    else:
        lhs = draw(UNIVARIATE)
    rhs = draw(st.one_of(st.just(sympy.Integer(0)), UNIVARIATE))
    return f"{_latex_side(lhs)} = {_latex_side(rhs)}"


@SETTINGS
@given(_equation(), _equation())
def test_consecutive_equations_fast_path_agrees_with_sympy(first, second):
    a, b = _Link(first), _Link(second)
    if a.sides is None or b.sides is None:
        return
    syms = set().union(*(s.free_symbols for s in a.sides + b.sides))
    if syms != {X}:
        return
    fast = _check_pair(a, b, X)
    slow = _check_pair_sympy(a, b, X, False)
    assert (fast is None) == (slow is None)
    if slow is not None:
        assert (fast.kind, fast.ok, fast.message, fast.details) == (slow.kind, slow.ok, slow.message, slow.details)


def test_the_fast_paths_decide_plain_polynomials_without_sympy():
    # the cases the fast path exists for are decided by it (no hand-over)
    assert _polynomial_dense(X**2 - 5 * X + 6, sympy.Integer(0), X) == [1, -5, 6]
    assert ratpoly.poly_of((X + Y) ** 2, (X, Y)) == {(2, 0): 1, (1, 1): 2, (0, 2): 1}
    assert ratpoly.count_real_roots([Fraction(1), Fraction(0), Fraction(-2)]) == 2  # x^2 - 2
    assert ratpoly.count_real_roots([Fraction(1), Fraction(-2), Fraction(1)]) == 1  # (x - 1)^2
    assert ratpoly.count_real_roots([Fraction(1), Fraction(0), Fraction(1)]) == 0  # x^2 + 1


_PIECES = ["x", "y", "ab", "e", "i", "2", "3.5", "10", "\\frac", "\\dfrac", "\\sqrt", "\\pi", "\\theta", "\\thetax",
           "\\omega", "\\alpha", "\\cdot", "\\times", "\\left(", "\\right)", "\\boxed{", "\\text{cm}", "\\", "\\\\",
           "\\,", "{", "}", "(", ")", "[", "]", "+", "-", "*", "/", "^", "_", "=", " ", ".", ",", "\\pm", "±", "!",
           "\\binom", "\\log", "\\sin", "^\\circ", "°", "C(", "\\lfloor", "\\rfloor", "x_1", "ſ", "K"]
LATEXISH = st.lists(st.sampled_from(_PIECES), max_size=14).map("".join)


@settings(max_examples=1500, deadline=None)
@given(LATEXISH)
def test_text_without_symbol_letters_parses_to_numbers_only(text):
    from critica.verifiers.algebra import _pm_values
    from critica.verifiers.symparse import Unparseable, may_have_symbols, parse_latex_expr

    if may_have_symbols(text):
        return
    for part in [text, *text.split("=")]:
        for numeric in (False, True):
            try:
                value, _ = parse_latex_expr(part, numeric)
            except (Unparseable, ValueError, TypeError, ZeroDivisionError, RecursionError, OverflowError):
                continue
            assert not value.free_symbols
    link = _Link(text)
    assert link.sides is None or not any(s.free_symbols for s in link.sides)
    assert _pm_values(text) is None


_WORDS = ["suppose", "assume", "guessing", "try", "trying", "tried", "testing", "check", "verify", "plugging",
          "incorrect", "wrong", "mistakes", "error", "errors", "extraneous", "rejected", "discard", "invalid",
          "contradiction", "impossible", "not possible", "not a solution", "not a valid solution", "not satisfied",
          "re-evaluate", "reevaluate", "recheck", "re-examine", "reexamine", "reconsider", "hypothesis",
          "counterexample", "approximately", "estimate", "rounding", "roughly", "about", "nearly", "≈", "\\approx",
          "\\omega", "ω", "\\zeta", "complex", "root of unity", "roots  of\nunity", "imaginary", "non-real", "nonreal",
          "real", "not", "re", "valid", "a", "x", "1", "_", "-", " ", "\\", "ſ", "\u212a", "\u0130", "\u0131", "é"]


@st.composite
def _wordy(draw):
    pieces = draw(st.lists(st.sampled_from(_WORDS), max_size=8))
    cased = [draw(st.sampled_from([p, p.upper(), p.title(), p.swapcase()])) for p in pieces]
    return draw(st.sampled_from(["", " "])).join(cased)


@settings(max_examples=1500, deadline=None)
@given(_wordy())
def test_keyword_gates_find_what_the_regex_finds(text):
    from critica.verifiers.algebra import _COMPLEX_GATE, _HYPOTHETICAL_GATE

    for gate in (_HYPOTHETICAL_GATE, _COMPLEX_GATE):
        got, want = gate.search(text), gate.pattern.search(text)
        assert (got is None) == (want is None)
        if want is not None:
            assert got.span() == want.span()


def test_keyword_gates_search_non_ascii_text_with_the_regex():
    from critica.verifiers.algebra import _COMPLEX_GATE, _HYPOTHETICAL_GATE

    # re folds ſ onto s and İ onto i where str.lower does not: such text must reach the regex
    assert _HYPOTHETICAL_GATE.search("we ſuppose that") is not None
    assert _COMPLEX_GATE.search("an \u0130maginary root") is not None
    assert _HYPOTHETICAL_GATE.search("so x = 4") is None and _COMPLEX_GATE.search("x^2 = 4") is None
    assert _HYPOTHETICAL_GATE.search("Let us CHECK it") is not None and _COMPLEX_GATE.search("NON-REAL") is not None


@SETTINGS
@given(UNIVARIATE, UNIVARIATE, st.one_of(_number, st.sampled_from([sympy.sqrt(2), 1 + sympy.sqrt(3)])))
def test_holds_fast_path_agrees_with_sympy(lhs, rhs, c):
    from critica.verifiers.algebra import _holds, _holds_sympy

    assert _holds(lhs, rhs, X, c) == _holds_sympy(lhs, rhs, X, c)
    root = sympy.Rational(3, 2)  # an equation it solves, so True is exercised too
    assert _holds(lhs * (X - root), rhs * (X - root), X, root) == _holds_sympy(
        lhs * (X - root), rhs * (X - root), X, root)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # sympy's summation is slow
@given(st.lists(st.tuples(st.integers(-20, 20), st.integers(1, 6)).map(lambda t: Fraction(*t)), max_size=6),
       st.integers(-3000, 3000), st.integers(-5, 5000))
def test_range_sums_agree_with_sympy_summation(coeffs, lo, length):
    k = sympy.Symbol("k")
    p = sum((sympy.Rational(c.numerator, c.denominator) * k**e for e, c in enumerate(reversed(coeffs))),
            sympy.Integer(0))
    hi = lo + length - 1
    expected = sympy.summation(p, (k, lo, hi)) if length > 0 else 0
    got = ratpoly.sum_range(coeffs, lo, hi)
    assert sympy.Rational(got.numerator, got.denominator) == expected


def test_a_long_polynomial_sum_is_decided_exactly():
    from critica.verifiers.series import bigop_value

    assert bigop_value(r"\sum_{k=1}^{2015} \frac{k(k+1)}{2}")[0] == 1365589680
    assert bigop_value(r"\sum_{k=1001}^{2000} (k^2+1)")[0] == sum(j * j + 1 for j in range(1001, 2001))
    assert bigop_value(r"\sum_{k=1}^{1000} k^{13}") is None  # degree over the cap, as before
    assert bigop_value(r"\sum_{k=1}^{1000} \sqrt{2} k") is None  # not rational: sympy's path, as before


_MOD_WORDS = ["mod", "modulo", "modular", "modulus", "\\pmod", "\\bmod", "\\mod", "\\model", "remainder", "remainders",
              "residue", "residues", "congruent", "congruence", "last", "units", "unit", "ones", "final", "rightmost",
              "trailing", "two", "digit", "digits", "zero", "zeros", "zeroes", "MOD", "ſ", "\u212a", "é", "x", "{", " ",
              "\n", "1"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_MOD_WORDS), max_size=8), st.sampled_from(["", " "]))
def test_the_modular_context_gate_finds_what_the_regex_finds(pieces, sep):
    from critica.verifiers.constants import MODULAR_CONTEXT

    text = sep.join(pieces)
    got, want = MODULAR_CONTEXT.search(text), MODULAR_CONTEXT.pattern.search(text)
    assert (got is None) == (want is None)
    if want is not None:
        assert got.span() == want.span()


_LINEAR = st.tuples(st.integers(-3, 3), st.integers(1, 2)).map(lambda t: t[1] * X - t[0])


@st.composite
def _rational_sides(draw):
    """Rational functions whose numerators and denominators often share factors (so lowest terms matter)."""
    shared = draw(st.lists(_LINEAR, max_size=2))
    num = sympy.Mul(*shared, *draw(st.lists(_LINEAR, max_size=3)))
    den = sympy.Mul(*shared, *draw(st.lists(_LINEAR, min_size=1, max_size=3)))
    side = num / den if den != 0 else num
    return side + draw(st.sampled_from([sympy.Integer(0), sympy.Integer(1), X, 1 / X, X**2 / 3]))


@SETTINGS
@given(_rational_sides(), st.one_of(_rational_sides(), UNIVARIATE), st.sampled_from([2, 4, 6, 8]))
def test_rational_fast_path_agrees_with_sympy(lhs, rhs, max_degree):
    _fast_agrees_with_sympy(lhs, rhs, max_degree)
