"""The constant-claim and series checkers' second round of shortcuts (issue 15) give what the paths they replace
give: the realness test read from the tree (instead of sympy's assumption system), the closed-form power sums
(instead of ``sympy.summation``), one evaluation of the true value in the series comparison; and the step memos hand
out copies of their lists."""

from __future__ import annotations

from decimal import Decimal

import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critica.verifiers import constants as C
from critica.verifiers import series as S

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the step memos hand out copies ----------------------------------------------------------------------------------

def test_a_caller_editing_the_constant_checks_never_reaches_the_memo():
    step = r"So $\binom{6}{2} = 16$ and $\sqrt{8} = 2\sqrt{2}$."
    first = C.numeric_checks(step)
    assert [c.ok for c in first] == [False, True]
    first.clear()
    assert [c.ok for c in C.numeric_checks(step)] == [False, True]
    C.numeric_checks(step).append("junk")
    assert [c.ok for c in C.numeric_checks(step)] == [False, True]


def test_a_caller_editing_the_series_checks_never_reaches_the_memo():
    step = r"So $1 + 2 + \cdots + 10 = 56$."
    first = S.check_step(step)
    assert [c.ok for c in first] == [False]
    first.pop()
    assert [c.ok for c in S.check_step(step)] == [False]


# --- realness read from the tree -------------------------------------------------------------------------------------

_REAL_LEAVES = [sympy.Integer(2), sympy.Integer(-3), sympy.Integer(0), sympy.Rational(5, 8), sympy.Rational(-1, 4),
                sympy.pi, sympy.E, sympy.sqrt(2), sympy.sqrt(5), sympy.Float("1.5"), sympy.I, sympy.cos(sympy.pi / 9),
                sympy.log(3), sympy.oo, sympy.root(3, 3), sympy.log(sympy.Rational(2, 7)), sympy.sin(3 * sympy.pi / 7),
                sympy.tan(sympy.pi / 9), sympy.sin(sympy.sqrt(2) - 3), sympy.cos(1 + sympy.I)]


def _trees():
    return st.recursive(st.sampled_from(_REAL_LEAVES), lambda kids: st.one_of(
        st.tuples(kids, kids).map(lambda t: t[0] + t[1]),
        st.tuples(kids, kids).map(lambda t: t[0] - t[1]),
        st.tuples(kids, kids).map(lambda t: t[0] * t[1]),
        st.tuples(kids, kids).map(lambda t: t[0] / t[1] if t[1] != 0 else t[0]),
        st.tuples(kids, st.sampled_from([sympy.Rational(1, 2), sympy.Rational(1, 3), sympy.Rational(-1, 2),
                                         sympy.Integer(2), sympy.Integer(-1), sympy.Integer(3)])).map(
            lambda t: t[0] ** t[1]),
        kids.map(sympy.sqrt),
        kids.map(sympy.sin),
        kids.map(sympy.cos),
    ), max_leaves=6)


@SETTINGS
@given(_trees())
def test_surely_real_only_where_sympy_says_real(e):
    # fresh objects (sympy remembers assumptions on each object): sympy's answer from scratch
    e = sympy.sympify(sympy.srepr(e))
    if C.surely_real(e):
        assert e.is_real is True, e
    if C._sign(e) == 1:
        assert e.is_positive is True, e


def test_surely_real_on_parsed_sides():
    for text, want in [(r"5\sqrt{2}", True), (r"\sqrt{\frac{\sqrt{5}}{8} + \frac{5}{8}}", True), ("1 - \\sqrt{2}", True),
                       (r"\sqrt{1 - \sqrt{2}}", False), (r"\pi^{1/3}", True), (r"\sin 20^\circ", True),
                       (r"(1 - \sqrt{3})^3", True), (r"\log_8 256", True), (r"\tan 20^\circ", False),
                       (r"\frac{1}{1 - \sqrt{3}}", False)]:
        v, _ = C.parse_latex_expr(text, numeric=True)
        assert C.surely_real(v) is want, text


@SETTINGS
@given(st.sampled_from([r"\sqrt{%d}", r"%d\sqrt{2}", r"\frac{\sqrt{%d}}{3}", r"\sqrt{%d} - 3", r"\sqrt{3 - \sqrt{%d}}",
                        r"\sqrt[3]{%d}", r"\pi^{%d}", r"\frac{1}{\sqrt{%d} - 2}", r"\log_2 %d", r"\sqrt{-%d}",
                        r"(2 - \sqrt{%d})^3", r"\sin %d^\circ", r"\cos(%d^\circ) - \sqrt{2}", r"\ln \frac{%d}{7}",
                        r"\log_{%d} 9", r"\frac{\log_3 %d}{2}", r"\sqrt{\sin %d^\circ}", r"\tan %d^\circ"]),
       st.integers(0, 40))
def test_constant_sides_read_as_with_the_assumption_query(template, n):
    text = template % n
    for parse, cut in ((C._parse_constant, C), (S._const, S)):
        got = parse.__wrapped__(text)
        real = cut.surely_real
        try:
            cut.surely_real = lambda e: False  # the old path: sympy's is_real alone
            want = parse.__wrapped__(text)
        finally:
            cut.surely_real = real
        assert got == want, text


# --- closed-form power sums -----------------------------------------------------------------------------------------

def _old_power_sum(a, s, p, n):
    k = sympy.Symbol("k", integer=True)
    return sympy.summation((a + s * k) ** p, (k, 0, n - 1))


_RATIONALS = st.builds(sympy.Rational, st.integers(-30, 30), st.integers(1, 6))


@SETTINGS
@given(_RATIONALS, _RATIONALS.filter(lambda r: r != 0), st.integers(0, 8), st.integers(1, 3000))
def test_the_power_sum_is_sympys_summation(a, s, p, n):
    got = S._power_sum(a, s, p, n)
    assert got == _old_power_sum(a, s, p, n)
    assert isinstance(got, sympy.Rational)


def test_power_series_claims_still_decided():
    assert S.check_step(r"$1^2 + 2^2 + \cdots + 10^2 = 385$")[0].ok
    assert not S.check_step(r"$1^3 + 2^3 + \cdots + 10^3 = 3020$")[0].ok


# --- the series comparison evaluates the true value once ------------------------------------------------------------

def _old_equal(true, stated, stated_raw, approx):
    """series._equal before this change (c0dfb4d)."""
    places = [len(d) for d in S._DECIMAL.findall(stated_raw)]
    exact = true.is_Rational and stated.is_Rational
    if approx and not places:
        return None
    if exact and not places and not approx:
        return bool(true == stated)
    try:
        d = abs(sympy.N(true - stated, 50))
        scale = max(sympy.Float(1), abs(sympy.N(true, 15)))
        if places:
            tol = max(sympy.Float(10) ** -min(places), sympy.Float("0.005") * abs(sympy.N(true, 15)))
            if approx:
                tol = max(tol, sympy.Float("0.02") * abs(sympy.N(true, 15)))
            return bool(d <= tol * (1 + sympy.Float("1e-12")))
        if S._LITERAL.match(stated_raw) and not true.is_Rational:
            return bool(d <= 1)
        if d / scale < sympy.Float("1e-30"):
            return True
        if d / scale < sympy.Float("1e-10"):
            return None
        return False
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError, AttributeError):
        return None


@SETTINGS
@given(st.sampled_from(_REAL_LEAVES[:11]), st.sampled_from(_REAL_LEAVES[:11]),
       st.sampled_from(["0", "7", "1.4", "1.41", "3.1416", "-2.5", "x"]), st.booleans(),
       st.sampled_from(["other", "near", "rounded", "scaled"]),
       st.sampled_from(["0.004", "0.0049", "0.0051", "0.019", "0.0199", "0.0201", "0.0205", "-0.0205", "0.3"]))
def test_the_series_comparison_agrees_with_the_old_one(true, stated, raw, approx, how, off):
    if how == "near":
        stated = true + sympy.Rational(1, 1000)
    elif how == "scaled":  # around the relative tolerances (0.5%, 2%)
        stated = true * (1 + sympy.Rational(off))
    elif how == "rounded":
        stated = sympy.Rational(str(sympy.N(true, 4))) if true.is_real else stated
    assert S._equal(true, stated, raw, approx) == _old_equal(true, stated, raw, approx)


# --- the unit check's time-word gate --------------------------------------------------------------------------------

_TIME_PIECES = ["5", "12", "1,000", "2.5", " ", "  ", "\n", "$", "hours", "Hour", "HRS", "hr", "h", "days", "DAY",
                "weeks", "month", "Months", "years", "yr", "YRS", "seconds", "sec", "Secs", "minutes", "mins", "MIN",
                "ſec", "ſeconds", "\u212a", "İ", "é", "per", "a", "an", "each", "every", "/", "*", "x", "×", "=",
                "km", "coins", "three", "minus", "today", "second", "mph", "."]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_TIME_PIECES), max_size=10))
def test_the_time_gate_never_hides_an_amount_of_time(pieces):
    from critica.verifiers import quantities as Q

    text = "".join(pieces)
    if not Q._may_hold_time(text):
        assert Q._AMOUNT.search(text) is None, text
        assert Q.unit_mismatches(text) == []


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_TIME_PIECES), max_size=14))
def test_unit_mismatches_as_without_the_gate(pieces):
    from critica.verifiers import quantities as Q

    text = "".join(pieces)
    got = Q.unit_mismatches(text)
    gate = Q._may_hold_time
    try:
        Q._may_hold_time = lambda t: True
        want = Q.unit_mismatches(text)
    finally:
        Q._may_hold_time = gate
    assert got == want


def test_the_time_gate_on_plain_steps():
    from critica.verifiers import quantities as Q

    assert Q.unit_mismatches("He earns 50 km/hr * 3 days = 150 km.") != []
    assert Q._may_hold_time("50 KM/HR * 3 DAYS") and Q._may_hold_time("3 ſeconds")
    assert not Q._may_hold_time("So 3 + 4 = 7.")


# --- interval bounds decide the series comparison's decimal branch -------------------------------------------------

_TRIG_LEAVES = [sympy.cos(sympy.pi / 9), sympy.sin(sympy.pi * sympy.Rational(61, 360)), sympy.cos(sympy.Rational(1, 3)),
                sympy.sqrt(sympy.sqrt(5) / 8 + sympy.Rational(5, 8)), sympy.sqrt(2), sympy.pi, sympy.E,
                sympy.Rational(7, 3), sympy.Integer(-2), sympy.log(2), sympy.sqrt(3) - sympy.Rational(17, 10)]


def _trig_trees():
    return st.recursive(st.sampled_from(_TRIG_LEAVES), lambda kids: st.one_of(
        st.tuples(kids, kids).map(lambda t: t[0] + t[1]),
        st.tuples(kids, kids).map(lambda t: t[0] - t[1]),
        st.tuples(kids, kids).map(lambda t: t[0] * t[1]),
        st.tuples(kids, kids).map(lambda t: t[0] / t[1] if t[1] != 0 else t[0]),
        st.tuples(kids, st.sampled_from([sympy.Rational(1, 2), sympy.Integer(2), sympy.Integer(-1), sympy.Integer(3),
                                         sympy.Rational(-3, 2)])).map(lambda t: t[0] ** t[1]),
        kids.map(sympy.cos),
    ), max_leaves=5)


_OFFSETS = ["0", "1e-13", "0.001", "0.0049", "0.005", "0.0051", "0.0199", "0.02", "0.0201", "-0.005", "-0.02", "0.5"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trig_trees(), st.integers(1, 9), st.sampled_from(_OFFSETS), st.booleans(), st.integers(-3, 3))
def test_bounds_decide_the_decimal_comparison_as_sympy(true, places, off, approx, nudge):
    # a decimal stated value near the true one, near the tolerances (one unit of the last place, 0.5%, 2%)
    if not true.is_real or true.has(sympy.zoo, sympy.nan):
        return
    target = Decimal(str(sympy.N(true * (1 + sympy.Rational(off)), 40)))
    raw = f"{target + Decimal(nudge).scaleb(-places):.{places}f}"
    stated = sympy.Rational(raw)
    want = _old_equal(true, stated, raw, approx)
    assert S._equal(true, stated, raw, approx) == want, (true, raw, approx)


def test_bounds_are_rigorous_and_refuse_what_they_do_not_read():
    from fractions import Fraction

    lo, hi = C.bounds(sympy.sqrt(2) + sympy.cos(sympy.pi / 9))
    exact = sympy.N(sympy.sqrt(2) + sympy.cos(sympy.pi / 9), 60)
    assert lo <= Fraction(str(exact)) <= hi and hi - lo < Fraction(1, 10**40)
    assert C.bounds(sympy.tan(sympy.pi / 9)) is None and C.bounds(sympy.sqrt(1 - sympy.sqrt(3))) is None
    assert C.bounds(sympy.Float("1.5") * sympy.sqrt(2)) is None  # a Float: left to the sympy path
    assert S._within_by_bounds(sympy.sqrt(2), sympy.Rational(141, 100), 2, False) is True
    assert S._within_by_bounds(sympy.sqrt(2), sympy.Rational(150, 100), 2, False) is False


def _old_numeric_close_sympy(a, b, abs_tol):
    """constants._numeric_close_sympy before the bounds (c0dfb4d)."""
    try:
        va = sympy.N(a, 15)
        if a == b and (a - b) == 0:
            return True if va.is_real else None
        vb = sympy.N(b, 15)
        d = abs(sympy.N(a - b, 50))
        if not (va.is_real and vb.is_real and d.is_real):
            return None
        scale = max(sympy.Float(1), abs(va), abs(vb))
        if abs_tol is not None:
            return bool(d <= max(abs_tol, C.APPROX_REL_TOL * abs(va)) * (1 + sympy.Float("1e-12")))
        if d / scale < sympy.Float("1e-30"):
            return True
        if d / scale < sympy.Float("1e-10"):
            return None
        return False if abs(sympy.N(a - b, 80)) / scale > sympy.Float("1e-10") else None
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError, AttributeError):
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trig_trees(), st.sampled_from(["same", "other"]), _trig_trees(),
       st.sampled_from(["0", "1e-40", "1e-12", "3e-11", "1e-9", "1e-6", "0.019", "0.02", "0.021", "-0.02", "0.3"]),
       st.sampled_from([None, sympy.Rational(1, 10), sympy.Rational(1, 1000), sympy.Integer(1)]))
def test_bounds_decide_the_constant_comparison_as_sympy(a, how, other, off, tol):
    b = a * (1 + sympy.Rational(off)) if how == "same" else other
    assert C._numeric_close_sympy(a, b, tol) == _old_numeric_close_sympy(a, b, tol), (a, b, tol)


def test_bounds_leave_huge_powers_and_trig_arguments_to_the_sympy_path_at_once():
    import time

    t = time.perf_counter()
    # minutes of argument reduction or of digits without the caps (cos of 10^(10^6): ~2 min)
    assert C.bounds(sympy.cos(sympy.Pow(10, 10**6, evaluate=False), evaluate=False)) is None
    assert C.bounds(sympy.sin(sympy.Pow(sympy.pi, 10**6, evaluate=False), evaluate=False)) is None
    assert C.bounds(sympy.Pow(sympy.pi, 10**9, evaluate=False)) is None
    assert time.perf_counter() - t < 5
    lo, hi = C.bounds(sympy.cos(sympy.Integer(1000)) + sympy.Pow(sympy.sqrt(2), 999, evaluate=False))
    assert lo <= sympy.N(sympy.cos(1000) + sympy.sqrt(2) ** 999, 60) <= hi
