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
