"""The equation checker's cheaper paths give what the plain paths give (issue 15, "the verifier uses one core"):
the parser's exact rationals against an all-sympy parse, the step-check memo against an unmemoised check, and the
shortcuts in reading a step into links against the full reading, on generated text."""

from __future__ import annotations

import re

import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critica.verifiers import algebra, steplinks, symparse
from critica.verifiers.steplinks import _IMPLY_CMDS, _Link, _sequence, _split_math, _split_scan, may_have_links

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the parser: exact rationals against all-sympy ---------------------------------------------------------------


def _reference(text: str, numeric: bool):
    """What :func:`symparse._parse_latex_expr` gave before the exact path: every value a sympy object."""
    for pat, rep in symparse._PRE:
        text = pat.sub(rep, text)
    if numeric:
        for pat, fn in symparse._NUMERIC_PRE:
            text = pat.sub(fn, text)
    if not text.strip():
        raise symparse.Unparseable("empty")
    parser = symparse._Parser(symparse._tokenize(text), numeric, exact=False)
    expr = parser.parse()
    if numeric and parser.symbols:
        raise symparse.Unparseable("a variable")
    if expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise symparse.Unparseable("undefined")
    return expr, parser.decimal


def _outcome(fn, text: str, numeric: bool):
    try:
        expr, decimal = fn(text, numeric)
    except Exception as e:  # noqa: BLE001 - the kind of refusal must agree too
        return "raised", type(e).__name__, e.args
    return sympy.srepr(expr), type(expr).__name__, decimal


_NUMBERS = st.one_of(st.integers(0, 40).map(str), st.sampled_from(["0", "1", "2", "10", "0.5", "1.05", "2.25", "100",
                                                                    "12345678901234567890", "007", "3.0"]))
_ATOMS = st.one_of(_NUMBERS, _NUMBERS, st.sampled_from(["x", "y", "\\pi", "\\theta", "e"]))


def _latex(kids):
    return st.one_of(
        st.tuples(kids, st.sampled_from(["+", "-", " \\cdot ", "*", "/", " \\times ", "", " ", "−", "×", "·", "\\div",
                                         "\\,", "\\ast"]), kids).map("".join),
        kids.map(lambda k: f"\\left({k}\\right)"),
        st.tuples(kids, kids).map(lambda t: f"\\dfrac{{{t[0]}}}{{{t[1]}}}"),
        st.tuples(kids, st.sampled_from(["^2", "^3", "^0", "^{-1}", "^{-2}", "^{1/2}", "^{2/3}", "^{0.5}", "^{12}",
                                         "^{70}", "^{x}", "^{-3}", "^9"])).map(lambda t: f"({t[0]}){t[1]}"),
        kids.map(lambda k: f"({k})"),
        kids.map(lambda k: f"-{k}"),
        st.tuples(kids, kids).map(lambda t: f"\\frac{{{t[0]}}}{{{t[1]}}}"),
        kids.map(lambda k: f"\\sqrt{{{k}}}"),
        st.tuples(st.sampled_from(["2", "3", "x", "1.5"]), kids).map(lambda t: f"\\sqrt[{t[0]}]{{{t[1]}}}"),
        kids.map(lambda k: f"({k})!"),
        st.tuples(kids, kids).map(lambda t: f"\\binom{{{t[0]}}}{{{t[1]}}}"),
        kids.map(lambda k: f"\\lfloor {k} \\rfloor"),
        st.tuples(kids, kids).map(lambda t: f"\\gcd({t[0]}, {t[1]})"),
        st.tuples(st.sampled_from(["2", "10", "3"]), kids).map(lambda t: f"\\log_{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["\\sin", "\\cos", "\\tan", "\\sin^2"]), kids).map(lambda t: f"{t[0]}({t[1]}^\\circ)"),
        st.tuples(st.sampled_from(["\\sin", "\\cos"]), kids).map(lambda t: f"{t[0]}(\\frac{{{t[1]}\\pi}}{{6}})"),
    )


LATEX = st.recursive(_ATOMS, _latex, max_leaves=7)


@SETTINGS
@given(LATEX, st.booleans())
def test_exact_rationals_parse_as_the_all_sympy_parse(text, numeric):
    assert _outcome(symparse._parse_latex_expr, text, numeric) == _outcome(_reference, text, numeric)


def test_rationals_stay_fractions_until_the_end_and_come_out_as_sympy_rationals():
    for text, value in [("2^3 + 4 \\times 5", 28), ("\\frac{3}{4} - 0.5", sympy.Rational(1, 4)), ("2^{-2}", sympy.Rational(1, 4)),
                        ("(1.05)^3", sympy.Rational(9261, 8000)), ("3!", 6)]:
        expr, _ = symparse._parse_latex_expr(text, True)
        assert isinstance(expr, sympy.Rational) and expr == value
    expr, decimal = symparse._parse_latex_expr("0.5x + \\frac{1}{2}", False)
    assert expr == sympy.Rational(1, 2) * sympy.Symbol("x") + sympy.Rational(1, 2) and decimal


def test_a_power_out_of_float_range_is_parsed_the_sympy_way(monkeypatch):
    calls = []
    real = symparse._Parser.__init__

    def spy(self, toks, numeric=False, exact=True):
        calls.append(exact)
        real(self, toks, numeric, exact)

    monkeypatch.setattr(symparse._Parser, "__init__", spy)
    big = " \\cdot ".join(["1" + "0" * 29] * 11)  # 10^319: no double holds it
    for text in (f"({big})^2", f"({big})^{{0}}", f"(\\frac{{1}}{{{big}}})^2"):
        calls.clear()
        got = _outcome(symparse._parse_latex_expr, text, True)
        assert calls == [True, False]  # the exact path handed it over
        assert got == _outcome(_reference, text, True)


# --- reading a step: shortcuts against the full reading ----------------------------------------------------------

_PIECES = ["x", "2", "=", " ", "+", "\\to", "\\tomato", "→", "⇒", ",", ";", "\\quad", "\\text{ or }", "(", ")", "{",
           "}", "&", "\\\\", "\\begin{aligned}", "\\end{aligned}", "1{,}000", "1,000", "so", " we get ", "\\frac{1}{2}",
           "\\Rightarrow", "\\implies", "y", "."]
_SEG = st.lists(st.sampled_from(_PIECES), max_size=14).map("".join)
_STEP = st.lists(st.one_of(st.sampled_from(_PIECES), st.sampled_from(["$", "$$", "\\(", "\\)", "\\[", "\\]"]),
                           _SEG.map(lambda s: f"${s}$")), max_size=12).map("".join)


@SETTINGS
@given(_SEG)
def test_a_segment_without_split_points_is_one_link_as_the_scan_finds(seg):
    prepared = steplinks._BRACED_COMMA.sub("", seg) if "{,}" in seg else seg
    assert _split_math(seg) == _split_scan(prepared.replace("&", " "))


def _segments_reference(step: str) -> list[tuple[bool, str]]:
    """:func:`steplinks._segments` as it was: every prose piece through the plain-formula reader."""
    out: list[tuple[bool, str]] = []
    pos = 0

    def prose(text: str) -> None:
        p = 0
        for a, b in steplinks._plain_spans(text):
            out.append((False, text[p:a]))
            out.append((True, text[a:b].replace("×", "*").replace("÷", "/")))
            p = b
        out.append((False, text[p:]))

    for m in steplinks._MATH.finditer(step):
        prose(step[pos : m.start()])
        out.append((True, next(g for g in m.groups() if g is not None)))
        pos = m.end()
    prose(step[pos:])
    return out


@SETTINGS
@given(st.one_of(_STEP, st.lists(st.sampled_from(["2x = 4", " so ", "x = 2", "$x$", " and ", "3 × 4 = 12", "\n"]),
                                 max_size=8).map("".join)))
def test_segments_and_links_agree_with_the_full_reading(step):
    assert steplinks._segments.__wrapped__(step) == _segments_reference(step) == steplinks._segments(step)
    if not may_have_links(step):
        assert "=" not in step and not re.search(_IMPLY_CMDS, step)
        assert _sequence.__wrapped__(step)[0] == []


# --- the step-check memo -----------------------------------------------------------------------------------------

_STEPS = [
    "Solving $2x + 3 = 7$, we get $x = 2$.",
    "So $x + 1 = 4 \\Rightarrow x = 4$.",
    "Expanding, $(x + 1)^2 = x^2 + 2x + 2$.",
    "Dividing both sides by 2, we get $x = 3$.",
    "$x^2 - 5x + 6 = 0 \\Rightarrow (x - 2)(x - 3) = 0 \\Rightarrow x = 2$ or $x = 4$.",
    "The answer is 12.",
    "We can rewrite $8(8^x)$ as $2^3 \\cdot 2^{x}$.",
    "Therefore $3x = 12$",
]


@given(st.lists(st.sampled_from(range(len(_STEPS))), min_size=1, max_size=10))
@settings(max_examples=60, deadline=None)
def test_memoised_step_checks_equal_fresh_ones_whatever_came_before(order):
    before = None
    for k in order:
        step = _STEPS[k]
        got = algebra.check_step(step, before)
        assert got == algebra._check_step(step, before)
        got.append("changed by a caller")  # a caller's list is its own
        assert "changed by a caller" not in algebra.check_step(step, before)
        before = algebra.step_tail(step)


def test_the_formula_before_a_step_is_checked_through_its_text():
    tail = algebra.step_tail("Solving, $2x + 3 = 7$")
    assert isinstance(tail, _Link)
    wrong = algebra.check_step("So $x = 3$.", tail)
    assert [c.ok for c in wrong] == [False] and "2*x + 3 = 7" in wrong[0].message
    assert algebra.check_step("So $x = 3$.", _Link("2x + 3 = 9")) != wrong  # another formula, another answer
    assert algebra.check_step("So $x = 3$.") == []


def test_long_steps_are_checked_without_the_memo():
    step = "So $x + 1 = 4 \\Rightarrow x = 4$. " + "Words only. " * (algebra.MEMO_STEP_CHARS // 12)
    assert len(step) > algebra.MEMO_STEP_CHARS
    before = algebra._check_step_memo.cache_info().currsize
    got = algebra.check_step(step)
    assert got == algebra._check_step(step, None) and [c.ok for c in got] == [False]
    assert algebra._check_step_memo.cache_info().currsize == before
