"""The constant-claim and series checkers' shortcuts (issue 15) give what the plain paths give: keyword gates in
front of word-list and marker regexes, the relation pre-test that skips formulas with no relation, and the memoised
numeric comparison with its same-constant shortcut, against the code they replace (copied here)."""

from __future__ import annotations

import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critica.verifiers import constants as C
from critica.verifiers import series as S

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the skip words behind a keyword gate -------------------------------------------------------------------------

_SKIP_WORDS = ["suppose", "assume", "assuming", "guess", "try", "trying", "tried", "test", "testing", "check",
               "recheck", "verify", "plug", "plugging", "incorrect", "wrong", "mistake", "error", "errors",
               "extraneous", "reject", "discard", "invalid", "contradiction", "impossible", "not", "possible", "a",
               "valid", "solution", "satisfy", "re-evaluate", "reevaluate", "re-examine", "reconsider", "hypothesis",
               "counterexample", "false", "true", "substitute", "does", "doesn't", "is", "isn't", "are", "aren't",
               "equal", "hold", "work", "match", "correct", "right", "NOT", "False", "TRY", "ſuppose", "\u212aey",
               "another", "cannot", "greatest", "geometry", "x", "$", "=", " ", "\n", "1", "'", "é",
               # one phrase per multi-word alternative (their only key is "not " or "n't ")
               "not possible", "not a solution", "not a valid solution", "not satisfied", "not true",
               "does not equal", "is not right", "are not correct", "doesn't hold", "isn't correct", "aren't right",
               "Is Not True", "DOESN'T MATCH", "not\ttrue"]


@SETTINGS
@given(st.lists(st.sampled_from(_SKIP_WORDS), max_size=8), st.sampled_from(["", " ", "  "]))
def test_the_skip_gate_finds_what_the_skip_regex_finds(pieces, sep):
    text = sep.join(pieces)
    got, want = C._NUMERIC_SKIP_GATE.search(text), C._NUMERIC_SKIP.search(text)
    assert (got is None) == (want is None)
    if want is not None:
        assert got.span() == want.span()


# --- formulas without a relation ------------------------------------------------------------------------------------

_PIECES = ["=", "\\approx", "≈", "\\equiv", "≡", "\\app", "rox", "\\equ", "iv", "{,}", "\\boxed{", "}", "{", "(",
           ")", "\\sqrt{2}", "\\sqrt", "2", "5", "^", "3!", "\\binom{5}{2}", "10", "\\pmod{7}", "\\text{mod}",
           " \\mod 5", "\\gcd(4, 6)", "\\text{gcd}", "&", "\\\\", ",", " ", "1.5", "\\pi", "\\begin{aligned}",
           "\\end{aligned}", "x", "\\cdot", "+", "-", "\\log_2 8", "\\lfloor 2.5 \\rfloor"]


@SETTINGS
@given(st.lists(st.sampled_from(_PIECES), max_size=10), st.booleans())
def test_a_formula_without_a_relation_has_no_claim(pieces, modular):
    body = "".join(pieces)
    if C._may_relate(body):
        return
    assert C._body_checks.__wrapped__(body, modular) == ()  # what the split and every link would give
    assert C._numeric_sides(body) is None
    assert C._numeric_link(body, modular) == []


@SETTINGS
@given(st.lists(st.sampled_from(_PIECES), max_size=10), st.booleans())
def test_memoised_bodies_give_the_checks_of_a_fresh_reading(pieces, modular):
    body = "".join(pieces)
    step = f"So ${body}$ here."
    mod = modular or bool(C.MODULAR_CONTEXT.search(step))
    fresh = C._body_checks.__wrapped__(body, mod) if C._may_relate(body) else ()
    C._numeric_checks.cache_clear()
    assert C.numeric_checks(step, modular) == (list(fresh) if C._NUMERIC_MARKERS.search(body) else [])
    assert C._body_checks(body, mod) == fresh


def test_a_relation_made_by_unwrapping_is_still_read():
    # "\boxed{…}" and "{,}" removal can join the letters around them: such bodies are never skipped
    assert C._may_relate(r"\app\boxed{rox}") and C._may_relate(r"\app{,}rox")
    assert [c.ok for c in C.numeric_checks(r"So $\sqrt{50} = 5\sqrt{2}$ and $\binom{5}{2} = 11$.")] == [True, False]


# --- the numeric comparison ------------------------------------------------------------------------------------------

def _old_numeric_close(a, b, abs_tol):
    """constants._numeric_close as it was before its memo and shortcut (94104e0)."""
    if abs_tol is None and a.is_Rational and b.is_Rational:
        return a == b
    try:
        va, vb = sympy.N(a, 15), sympy.N(b, 15)
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


_LEAVES = [sympy.sqrt(2), sympy.sqrt(3), sympy.sqrt(50), 5 * sympy.sqrt(2), sympy.pi, sympy.cos(sympy.pi / 9),
           sympy.sin(sympy.pi / 12), sympy.log(3), sympy.Rational(1, 3), sympy.Integer(7), sympy.Integer(0),
           sympy.Float("1.5"), sympy.Float("1.5", 30), sympy.tan(sympy.pi / 9), sympy.root(5, 3)]


def _constants():
    return st.recursive(st.sampled_from(_LEAVES), lambda kids: st.one_of(
        st.tuples(kids, kids).map(lambda t: t[0] + t[1]),
        st.tuples(kids, kids).map(lambda t: t[0] * t[1]),
        st.tuples(kids, kids).map(lambda t: t[0] - t[1]),
        st.tuples(kids, st.integers(1, 3)).map(lambda t: t[0] ** t[1]),
    ), max_leaves=4)


@SETTINGS
@given(_constants(), _constants(), st.sampled_from(["other", "same", "rebuilt", "near"]),
       st.sampled_from([None, sympy.Rational(1, 10), sympy.Rational(1, 1000), sympy.Integer(1)]))
def test_the_numeric_comparison_agrees_with_the_old_one(a, b, how, tol):
    if how == "same":
        b = a
    elif how == "rebuilt":
        b = sympy.sympify(sympy.srepr(a))  # equal in structure, another object
    elif how == "near":
        b = a + sympy.Rational(1, 10**12)
    want = _old_numeric_close(a, b, tol)
    assert C._numeric_close(a, b, tol) == want
    assert C._numeric_close(a, b, tol) == want  # remembered


def test_a_float_side_is_not_remembered_under_an_equal_key():
    # Floats of one value and two precisions compare equal: such keys go to the plain path
    a, b = sympy.Float("0.1", 15) * sympy.sqrt(2), sympy.Float("0.1", 40) * sympy.sqrt(2)
    for x, y in ((a, a), (b, b), (a, b)):
        assert C._numeric_close(x, y, None) == _old_numeric_close(x, y, None)


def test_series_module_still_imports_its_helpers():
    assert S.check_step("$1 + 2 + \\cdots + 100 = 5050$")[0].ok


# --- the series checker's step gate and clause memo ----------------------------------------------------------------

_MARK_PIECES = ["\\dots", "\\ldots", "\\cdots", "\\vdots", "..", ".", "…", "⋯", "\\sum", "\\prod", "C", "P", "(", " ",
                "5", "12", "C(", "P (", "sqrt(", "sqrt", "√", "log", "log_2(", "log_{10}", "ln(", "ln", "gcd(", "lcm (",
                "GCD(", "LCM(", "GCF(", "HCF(", "choose", "mod", "model", "x", "a", "\\", "_", "{", "}", "\n", "é"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_MARK_PIECES), max_size=8))
def test_the_series_step_gate_answers_as_its_regex(pieces):
    text = "".join(pieces)
    assert S._has_mark(text) == (S._ANY_MARK.search(text) is not None)


def test_the_series_step_gate_on_plain_steps():
    for text, want in [("The sum $1 + 2 + \\cdots + 10 = 55$.", True), ("10C3 = 120", True), ("x5C3", False), ("x15C3", True),
                       ("5 choose 2 is 10", True), ("aC(5", False), ("C(5, 2) = 10", True), ("sqrt (2)", True),
                       ("So x = 5.", False), ("17 mod 5 = 2", True), ("a model", False), ("xC5", False)]:
        assert S._has_mark(text) is want, text
        assert (S._ANY_MARK.search(text) is not None) is want, text


def test_a_remembered_clause_is_the_clause_read_afresh_and_a_copy():
    clause = r"1 + 2 + \cdots + 100 = 5051"
    first, second = S._check_clause(clause), S._check_clause(clause)
    fresh = S._read_clause(clause)
    assert first == second == fresh and not fresh.ok
    first.details["claim"] = "changed"
    assert S._check_clause(clause).details == fresh.details


def test_steps_are_remembered_up_to_the_size_limit_only():
    short = r"So $\binom{6}{2} = 16$ and $\sqrt{8} = 2\sqrt{2}$."
    long = short + " " * C.MAX_MEMO_STEP
    assert C.numeric_checks(short) == C._numeric_checks.__wrapped__(short, False)
    assert [c.ok for c in C.numeric_checks(short)] == [False, True]
    before = C._numeric_checks.cache_info().currsize
    assert C.numeric_checks(long) == C._numeric_checks.__wrapped__(long, False)
    assert S.check_step("$1 + 2 + \\cdots + 10 = 56$" + " " * S.MAX_MEMO_STEP)[0].ok is False
    assert C._numeric_checks.cache_info().currsize == before


def test_a_step_that_tests_a_guess_is_skipped_whatever_its_formulas():
    assert C.numeric_checks(r"Suppose $\binom{6}{2} = 16$.") == []
    assert C.numeric_checks(r"It is $\binom{6}{2} = 16$, which is not true.") == []
    assert [c.ok for c in C.numeric_checks(r"It is $\binom{6}{2} = 16$.")] == [False]
    assert C.numeric_checks(r"It is $\binom{6}{2} = 16$ mod 5.", True) == []  # residues: not flagged
