"""Arithmetic verifier: cases as data (tests/data/arithmetic_cases.json), plus limits and the Verifier protocol."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critica.types import Item, StepVerdict
from critica.verifiers.math import ArithmeticVerifier, check_step, find_computations

CASES = json.loads((Path(__file__).parent / "data" / "arithmetic_cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:40] for c in CASES])
def test_case(case):
    comps, wrong = check_step(case["text"])
    assert wrong is case["wrong"], (case.get("why"), [(c.expression, c.ok) for c in comps])
    if "checked" in case:
        assert len(comps) == case["checked"], [(c.expression, c.ok) for c in comps]


def test_wrong_finding_quotes_expression_and_correct_value():
    item = Item(id="a", question="q", steps=["We start with 3 apples.", "Then 3 * 12 = 38 apples.", "So 38 - 1 = 37."])
    findings = ArithmeticVerifier().check(item, item.steps)
    by_step = {f.step: f for f in findings}
    assert 0 not in by_step  # nothing to check: no finding, the step stays unchecked
    assert by_step[1].verdict == StepVerdict.INCORRECT
    assert "3 * 12 = 38" in by_step[1].message and "36" in by_step[1].message
    assert by_step[1].details["correct_value"] == "36"
    assert by_step[2].verdict == StepVerdict.CORRECT


@settings(max_examples=200, deadline=None)
@given(a=st.integers(-10**6, 10**6), b=st.integers(-10**6, 10**6), op=st.sampled_from(["+", "-", "*"]))
def test_true_integer_equations_are_never_flagged(a, b, op):
    value = {"+": a + b, "-": a - b, "*": a * b}[op]
    _, wrong = check_step(f"We get {a} {op} {b} = {value}.")
    assert not wrong


@settings(max_examples=200, deadline=None)
@given(a=st.integers(0, 10**4), b=st.integers(0, 10**4), off=st.integers(1, 50), op=st.sampled_from(["+", "*"]))
def test_false_integer_equations_are_flagged(a, b, off, op):
    value = {"+": a + b, "*": a * b}[op] + off
    _, wrong = check_step(f"We get {a} {op} {b} = {value}.")
    assert wrong


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_on_any_text(text):
    find_computations(text)


def test_bounded_time_on_hostile_input():
    hostile = ("(" * 500 + "9" * 5000 + ")" * 500 + " = 1 ") * 20 + "\\frac{" * 2000
    start = time.perf_counter()
    check_step(hostile)
    assert time.perf_counter() - start < 5


def test_implicit_products_stay_visible_in_messages():
    from critica.verifiers.math import find_computations

    (comp,) = find_computations(r"\frac{(182)(181)}{2} = 16,511")
    assert not comp.ok and comp.left == 16471
    assert "182 * 181" in comp.message


# (text, whether a false computation is flagged, why). Each pattern has a true, a false and a skipped variant.
PATTERNS = [
    # implicit products: a glued "3(4)" or "(2)(5)" computes, like "3 * 4"
    ("So 3(4) = 12.", False, "implicit product, true"),
    ("So 3(4) = 13.", True, "implicit product, false"),
    ("Then x = 0.99(1500) = 1489 beans.", True, "implicit product after a variable's '='"),
    ("(7)(9)(15)(6) = 5670", False, "product of parenthesised factors, true"),
    ("by equation 3 (2) = 5 we get", False, "a spaced '3 (2)' may be a reference: not a claimed product"),
    # a stated percentage is a bare quantity: "84% = 28%" sets up an equation, it computes nothing
    ("so we can set up the equation: 84% = 28%.", False, "two bare percentages"),
    # hyphenated words are prose, not subtractions that make the expression start earlier
    ("the total cost of the T-shirts is 2 * $8 = $16.", False, "hyphenated word before a true product"),
    ("the total cost of the T-shirts is 2 * $8 = $17.", True, "hyphenated word before a false product"),
    # words in parentheses after an operator are an unknown operand, not an annotation to drop
    ("Step 10: 6 * (number of strawberry cubes) - 4 = 116", False, "operand in words"),
    ("7995 (total cookies) - 2595 (rainbow cookies) = 5400", False, "annotation after a number, true"),
    ("7995 (total cookies) - 2595 (rainbow cookies) = 5300", True, "annotation after a number, false"),
    # a compound quantity "1 hour and 20 minutes" belongs to the sum that began before it
    ("The total is 40 + 1 hour and 20 minutes + 50 minutes = 40 + 80 minutes + 50 minutes = 170 minutes.", False,
     "compound quantity inside a sum"),
    # a negative running total leads the right side
    ("K = 37 - 52 = -15 + 37 = 22.", False, "negative running total, true"),
    ("K = 37 - 52 = -15 + 37 = 15.", True, "negative running total, false end"),
    # the sign of a calculator-tag result given in words after it
    ("He gets $3500-$4000 = $<<3500-4000=500>>500 in change.", False, "difference stated as change"),
    ("He has 50-110 = <<50-110=60>>60 feet of fence.", True, "a sign dropped without words"),
    # admitting an error does not make a computation hypothetical; testing a value does
    ("The minimum is claimed to be 4*4=14, which is incorrect.", True, "false claim admitted as incorrect"),
    ("Substituting x = 3: 2 + 1 = 1 (False)", False, "a trial substitution shown false"),
    ("Let's try 53 + 57 = 111 and see if it works.", False, "a trial"),
    # what follows "power of", "raised to", "square of" is an argument, not a value
    ("I state that 4 raised to the power of 3/4 equals 8.", False, "exponent argument"),
    ("the square of 3 + 4 = 7", False, "argument of 'square of'"),
    ("They raised $430 + $750 + $700 = $1980.", True, "'raised' as a verb before a false sum"),
    ("The area is (6 feet + 2 feet) * (8 feet + 2 feet) = 14 square feet.", True, "'square feet' after a result"),
    # a label defined twice in a row, or a line starting with "=", restates the expression before it
    (r"\[ \text{Total pens} = 12 + 30 + 41 \] \[ \text{Total pens} = 83 \]", False, "same label, true"),
    (r"\[ \text{Total pens} = 12 + 30 + 41 \] \[ \text{Total pens} = 93 \]", True, "same label, false"),
    ("Daily pay = $105 / 5. Daily pay = $22.", True, "same label across sentences, false"),
    (r"\[ y = 7 + 5 \] \[ = 13 \]", True, "a line starting with '='"),
    ("Total = 5 + 3\nTotal = 9 + 2 = 11", False, "an update with a new expression is not a restatement"),
    ("x = -1, x = 2", False, "alternative values"),
    ("Cost = 4 + 6. Then we add tax. Cost = 11.", False, "other text between the two: not linked"),
]


@pytest.mark.parametrize(("text", "wrong", "why"), PATTERNS, ids=[p[2] for p in PATTERNS])
def test_patterns(text, wrong, why):
    comps, flagged = check_step(text)
    assert flagged is wrong, (why, [(c.expression, c.ok) for c in comps])


def test_messages_show_implicit_products():
    (comp,) = find_computations("x = 7(23) + 5 = 164")
    assert "7 * 23 + 5" in comp.message and "166" in comp.message
    (comp,) = find_computations("we get 2(1) + (-2) = 1")
    assert "2 * 1 + (-2)" in comp.message


REMAINDERS = [
    ("54 / 8 = 6 remainder 6", False, "true division with remainder"),
    ("54 / 8 = 6 remainder 4", True, "false remainder (54 / 8 rounds to 6, yet 54 = 6 * 8 + 6)"),
    (r"\(1121 \div 3^5 = 1121 \div 243 = 4\) remainder \(133\)", True, "remainder after inline math"),
    (r"$$ 10 \div 13 = 0\, \text{R}\, 10 $$", False, "remainder written R"),
    ("7 / 2 = 3 R 2", True, "false remainder written R"),
    ("49/9 = 5 with a remainder of 4", False, "with a remainder of"),
    ("1 + 9 / 4 = 2 remainder 1", False, "not one division: skipped"),
    ("When we divide 49 by 4 we get 12 with a remainder of 1.", False, "prose division, true"),
    ("When we divide 49 by 4 we get 12 with a remainder of 2.", True, "prose division, false remainder"),
    ("So 160 goes into 570 four times, with a remainder of 10.", True, "goes into, false quotient in words"),
    ("So 160 goes into 1000 six times, with a remainder of 40.", False, "goes into, true"),
    ("Dividing 27 by six gives 4 with a remainder of 3.", False, "divisor in words"),
    ("2004 divided by 12 is 167 with a remainder of 1", True, "divided by ... is, false"),
    ("the remainder when 10 is divided by 83 is 10", False, "no quotient stated: not checked"),
]


@pytest.mark.parametrize(("text", "wrong", "why"), REMAINDERS, ids=[p[2] for p in REMAINDERS])
def test_remainders(text, wrong, why):
    comps, flagged = check_step(text)
    assert flagged is wrong, (why, [(c.expression, c.ok) for c in comps])
    if wrong:
        assert "remainder" in next(c for c in comps if not c.ok).message


def test_token_position_key_is_the_dataclass_equality():
    """The constant-time ``toks.index`` compares the fields dataclass equality compares: a field added to the token
    must be added to the key, or two tokens that differ only in it would share a position."""
    import dataclasses
    from fractions import Fraction

    from critica.verifiers.math import _Positions, _tok_key
    from critica.verifiers.mathtext import _Tok

    t = _Tok("NUM", "6", 3, 4, Fraction(6), True, 0, Fraction(4))
    assert _tok_key(t) == dataclasses.astuple(t)
    twin, other = dataclasses.replace(t), dataclasses.replace(t, remainder=None)
    index = _Positions([other, t])
    assert index(twin) == 1 and index(other) == 0
    with pytest.raises(ValueError):
        index(dataclasses.replace(t, start=9))
