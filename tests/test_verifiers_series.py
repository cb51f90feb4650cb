"""Series and plain-text function claims (critica.verifiers.series): true claims pass, false ones are flagged with the
correct value, ambiguous or hypothetical text is skipped."""

from __future__ import annotations

import pytest

from critica.types import Item, StepVerdict
from critica.verifiers.series import SeriesVerifier, check_step, series_value


def verdicts(step: str) -> list[bool]:
    return [c.ok for c in check_step(step)]


@pytest.mark.parametrize("step", [
    r"$1 + 2 + 3 + \dots + 100 = 5050$",
    "Adding up: 2 + 4 + 6 + ... + 50 = 650 in all.",
    r"$1 + 3 + 9 + \cdots + 3^{10} = 88573$",
    r"$1^2 + 2^2 + \ldots + 10^2 = 385$",
    r"$2^0 + 2^1 + \cdots + 2^{10} = 2047$",
    r"\[ \frac{1}{2} + \frac{1}{4} + \cdots + \frac{1}{1024} = \frac{1023}{1024} \]",
    r"$1 \cdot 2 \cdot \ldots \cdot 10 = 3628800$",
    r"$10 + (1 + 2 + \cdots + 9) = 55$",
    r"$1 + 2 + \cdots + 10 = \frac{10 \cdot 11}{2}$",
    r"$\sum_{k=1}^{10} k = 55$",
    r"$\sum_{k=1}^{100} k^2 = 338350$",
    r"$\sum_{k=1}^{1000000} k = 500000500000$",
    r"$\sum_{k=1}^{10} (2k - 1) = 100$",
    r"$\sum_{k=0}^{5} \binom{5}{k} = 32$",
    r"$\prod_{k=1}^{5} k = 120$",
])
def test_true_series_claims_hold(step: str) -> None:
    assert verdicts(step) == [True]


@pytest.mark.parametrize("step, correct", [
    (r"$1 + 2 + 3 + \dots + 100 = 5000$", "5050"),
    ("So 2 + 4 + ... + 50 = 640.", "650"),
    (r"$1 + 3 + 9 + \cdots + 3^{10} = 88572$", "88573"),
    (r"$1^2 + 2^2 + \ldots + 10^2 = 386$", "385"),
    (r"$2^0 + 2^1 + \cdots + 2^{10} = 2048$", "2047"),
    (r"$1 \cdot 2 \cdot \ldots \cdot 10 = 362880$", "3628800"),
    (r"$10 + (1 + 2 + \cdots + 9) = 56$", "55"),
    (r"$1 + 3 + \cdots + 99 = \frac{99 \cdot 100}{2}$", "2500"),
    (r"Summing these: \(24 + 23 + ... + 1 = 325\)", "300"),
    (r"$\sum_{k=1}^{10} k = 56$", "55"),
    (r"$\sum_{k=0}^{5} \binom{5}{k} = 31$", "32"),
    (r"$\prod_{k=1}^{5} k = 100$", "120"),
])
def test_false_series_claims_are_flagged_with_the_correct_value(step: str, correct: str) -> None:
    checks = check_step(step)
    assert [c.ok for c in checks] == [False]
    assert checks[0].details["correct"] == correct
    assert correct in checks[0].message


@pytest.mark.parametrize("step", [
    r"$1 + 2 + \dots + 64 = 2080$",  # 1..64 or 1, 2, 4, …, 64?
    r"$1 + 4 + \dots + 100 = 385$",  # 1, 4, 7, … or squares?
    r"$1 \cdot 2 + 2 \cdot 3 + \cdots + 9 \cdot 10 = 330$",  # compound terms
    r"$b = (1 + 2 + \ldots + 9) - i = 45 - i$",  # a variable
    r"$1 + 2 + \cdots + 10 = 55 + 11 = 66$",  # a running total
    r"$\sum_{k=1}^{10} k + 5 = 60$",  # is 5 inside the sum?
    r"$\sum_{i=1}^4 x_i = 4$",  # a sum of unknowns
    r"$1 + \frac{1}{2} + \cdots + \frac{1}{4} = 2$",  # geometric or harmonic?
    r"Suppose $1 + 2 + \dots + 100 = 5000$.",  # a hypothesis
    r"$1 + 2 + \dots + 100 = 5000$. Wait, that is wrong; it is 5050.",  # a self-correction
    r"$1 + 2 + 3 + \dots + n = \frac{n(n+1)}{2}$",
])
def test_ambiguous_series_are_skipped(step: str) -> None:
    assert check_step(step) == []


def test_series_value_reads_bracketed_parts() -> None:
    value, _ = series_value(r"2^{1 + 2 + \cdots + 5}")
    assert value == 2**15


@pytest.mark.parametrize("step", [
    "C(5,2) = 10", "5C2 = 10", "10 choose 2 = 45", "There are P(5,2) = 20 arrangements.", "sqrt(50) = 5sqrt(2)",
    "√98 = 7√2", "log2(8) = 3", "log_2(32) = 5", "gcd(12, 18) = 6", "lcm(4, 6) = 12", "12 mod 5 = 2",
    "so there are C(9, 2) = 36 ways.", "C(100, 2) = 4,950", "sqrt(50) ≈ 7.07",
])
def test_true_plain_text_function_claims_hold(step: str) -> None:
    assert verdicts(step) == [True]


@pytest.mark.parametrize("step, correct", [
    ("C(5,2) = 12", "10"),
    ("5C2 = 11", "10"),
    ("10 choose 2 = 40", "45"),
    ("The number of arrangements is P(6,3) = 100.", "120"),
    ("log2(8) = 4", "3"),
    ("gcd(12, 18) = 3", "6"),
    ("lcm(4, 6) = 24", "12"),
    ("12 mod 5 = 3", "2"),
    ("so there are C(9, 2) = 35 ways.", "36"),
    ("C(100, 4) ≈ 3.96 * 10^8", "3921225"),
])
def test_false_plain_text_function_claims_are_flagged(step: str, correct: str) -> None:
    checks = check_step(step)
    assert [c.ok for c in checks] == [False]
    assert checks[0].details["correct"] == correct


def test_irrational_value_is_flagged_with_its_decimal_value() -> None:
    checks = check_step("sqrt(50) = 5sqrt(3)")
    assert [c.ok for c in checks] == [False]
    assert "7.07" in checks[0].message


@pytest.mark.parametrize("step", [
    "P(5,2) = 20",  # a probability, without words about arrangements
    "log(100) = 2",  # base 10 or e?
    "sqrt(50) ≈ 7",  # precision unclear
    "2x + √4 = 6",  # part of an equation
    "√4 = 2x",
    "5! = 120",  # the arithmetic checker's
    "sqrt(49) = 7",  # the arithmetic checker's
    "Point C(5, 2) = 10 on the graph",  # a point
    "Let's check if gcd(12, 18) = 3.",  # a hypothesis
])
def test_ambiguous_or_foreign_plain_text_is_skipped(step: str) -> None:
    assert check_step(step) == []


def test_a_formula_does_not_run_across_lines() -> None:
    checks = check_step("C(100, 2) = 4950\nC(5, 2) = 10")
    assert [c.ok for c in checks] == [True, True]


def test_verifier_findings() -> None:
    steps = [
        "We add the numbers from 1 to 100.",
        r"$1 + 2 + \cdots + 100 = 5050$",
        r"Then $\sum_{k=1}^{10} k^2 = 380$.",
        "gcd(8, 12) = 4 and lcm(8, 12) = 24.",
    ]
    findings = SeriesVerifier().check(Item(id="t", question="q", steps=steps), steps)
    assert [(f.step, f.verdict) for f in findings] == [
        (1, StepVerdict.CORRECT), (2, StepVerdict.INCORRECT), (3, StepVerdict.CORRECT)]
    assert all(f.kind == "series" for f in findings)
    assert "385" in findings[1].message and "380" in findings[1].message


def test_never_raises_on_odd_text() -> None:
    for text in ["", "=" * 50, "1 + ... + = 3", r"$\sum_{k=1}^{10}$", "C(", "√", "(" * 300 + "1 + 2 + ... + 3 = 6",
                 r"$\sum_{k=1}^{99999999} k = 1$", r"$2^{9999} + 2^{10000} + \cdots + 2^{20000} = 1$"]:
        check_step(text)
