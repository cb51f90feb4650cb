"""Tests for the listing verifier: listed divisors and primes, counts of a listing, number facts in words."""

from __future__ import annotations

import time

import pytest

from critica.types import Item, StepVerdict
from critica.verifiers.listing import ListingVerifier, find_claims


def _verdicts(step: str) -> list[bool]:
    claims, _ = find_claims(step)
    return [c.ok for c in claims]


def _wrong(step: str) -> str | None:
    claims, _ = find_claims(step)
    bad = [c for c in claims if not c.ok]
    return bad[0].message if bad else None


# --- listings ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("step", [
    "The divisors of 20 are 1, 2, 4, 5, 10, and 20.",
    "So the positive factors of $18$ are $1$, $2$, $3$, $6$, $9$, and $18$.",
    "The proper divisors of 28 are 1, 2, 4, 7 and 14.",
    "The prime factors of 84 are 2, 3 and 7.",
    "The prime factors of 12 are 2, 2, 3.",
    "The common factors of 8 and 20 are 1, 2, 4.",
    "The primes less than 20 are 2, 3, 5, 7, 11, 13, 17, 19.",
    "The primes up to 13 are 2, 3, 5, 7, 11, 13.",
    "The prime numbers between 20 and 30 are 23 and 29.",
    "The prime numbers between 11 and 20 are 11, 13, 17, 19.",  # "between": an endpoint may be meant
    "The first five primes are 2, 3, 5, 7, and 11.",
    "The single-digit primes are 2, 3, 5 and 7.",
    "The divisors of 15 are \\(1, 3, 5,\\) and \\(15\\).",
])
def test_true_listings_check_out(step: str) -> None:
    assert _verdicts(step) == [True]


@pytest.mark.parametrize(("step", "expected"), [
    ("The divisors of 36 are 1, 2, 3, 4, 6, 12, 18, 36.", "missing 9"),
    ("The factors of 30 are 1, 2, 3, 5, 6, 10, 12, 15, 30.", "wrongly including 12"),
    ("The proper divisors of 12 are 1, 2, 3, 4, 6, 12.", "wrongly including 12"),
    ("The prime factors of 90 are 2, 3, 5, 9.", "wrongly including 9"),
    ("The primes less than 30 are 2, 3, 5, 7, 11, 13, 17, 19, 23.", "missing 29"),
    ("The primes less than 13 are 2, 3, 5, 7, 11, 13.", "wrongly including 13"),
    ("The prime numbers between 30 and 40 are 31, 33, 37.", "wrongly including 33"),
    ("The first four primes are 1, 2, 3, 5.", "missing 7"),
    ("The common divisors of 12 and 18 are 1, 2, 3.", "missing 6"),
])
def test_false_listings_are_flagged(step: str, expected: str) -> None:
    message = _wrong(step)
    assert message is not None and expected in message


@pytest.mark.parametrize("step", [
    "The divisors of 36 are 1, 2, 3, 4, 6, 9, …, 36.",  # ellipsis
    "The divisors of 36 are 1, 2, 3, etc.",
    "The odd divisors of 36 are 1, 3, 9.",  # a condition this module does not read
    "The divisors of 36 greater than 5 are 6, 9, 12, 18, 36.",
    "The two factors of 12 are 3 and 4.",
    "The factors of -6 are ±1, ±2, ±3, ±6.",
    "The factors of 6 are \\(\\pm 1, \\pm 2\\).",
    "Suppose the divisors of 36 are 1, 2, 3.",  # hypothetical
    "If the divisors of 36 are 1, 2, 3 then the count is 3.",
    "The divisors of n are 1, 2, n.",  # a variable
    "Listing the factors of 50: 1, 2, 5.",  # a heading, not a claim that this is all
    "The divisors of 2^4 are 1, 2, 4, 8, 16.",  # a power as N: not read
])
def test_unreadable_or_hedged_listings_are_skipped(step: str) -> None:
    assert _verdicts(step) == []


# --- counts after a listing ------------------------------------------------------------------------------------------

def test_count_right_after_a_listing() -> None:
    assert _verdicts("The divisors of 12 are 1, 2, 3, 4, 6, 12. So there are 6 divisors.") == [True, True]
    message = _wrong("The divisors of 12 are 1, 2, 3, 4, 6, 12. So there are 5 such divisors.")
    assert message is not None and "6, not 5" in message


def test_count_in_the_next_step_reads_the_previous_listing() -> None:
    steps = ["The primes less than 20 are 2, 3, 5, 7, 11, 13, 17, 19.", "Thus there are 7 such primes in total."]
    item = Item(id="t", question="How many primes are less than 20?", steps=steps)
    findings = ListingVerifier().check(item, steps)
    assert [(f.step, f.verdict) for f in findings] == [(0, StepVerdict.CORRECT), (1, StepVerdict.INCORRECT)]
    assert "8, not 7" in findings[1].message


def test_count_of_other_things_is_not_read() -> None:
    # "numbers" without "such" may be anything; a count with a condition is another set
    assert _verdicts("The divisors of 12 are 1, 2, 3, 4, 6, 12. There are 4 numbers.") == [True]
    assert _verdicts("The divisors of 12 are 1, 2, 3, 4, 6, 12. There are 3 divisors greater than 3.") == [True]


# --- facts -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("step", [
    "The number of divisors of 72 is (3+1)(2+1) = 12.",
    "The number of divisors of 36 is 9 (since 36 = 2^2 × 3^2).",
    "So 36 has 9 positive divisors.",
    "The sum of the divisors of 12 is 28.",
    "The sum of the proper divisors of 28 is 28, so 28 is perfect.",
    "The sum of the digits of 1234 is 1 + 2 + 3 + 4 = 10.",
    "The prime factorization of 360 is 2^3 × 3^2 × 5.",
    "The prime factorization of 100 is 2^2 times 5^2.",
    "The prime factorization of $N = 360$ is $2^3 \\cdot 3^2 \\cdot 5$.",
    "So 360 factors as 2^3 × 3^2 × 5.",
    "Thus 1200 can be written as 12 × 100.",  # a product, not a prime factorization: only the product is checked
    "Since 97 is a prime number, it has two divisors.",
    "91 is not prime.",
    "So 2, 3 and 5 are primes.",
    "Hence 1001 is divisible by 7.",
    "Then 100 is not divisible by 3.",
    "7 divides 91.",
    "The greatest common divisor of 12 and 18 is 6.",
    "The LCM of 4, 6, and 10 is 60.",
])
def test_true_facts_check_out(step: str) -> None:
    verdicts = _verdicts(step)
    assert verdicts and all(verdicts)


@pytest.mark.parametrize(("step", "expected"), [
    ("The number of divisors of 196 is (2+1)(2+1)(1+1) = 18.", "196 has 9"),
    ("So 48 has 8 divisors.", "48 has 10"),
    ("The sum of the divisors of 12 is 27.", "the sum is 28"),
    ("The sum of the digits of 2023 is 8.", "sum to 7"),
    ("The prime factorization of 6432 is 2^6 × 3 × 13.", "6432 = 2^5 × 3 × 67"),
    ("The prime factorization of 180 is 4 × 9 × 5.", "not prime"),
    ("The prime factorization of $M = 1260$ is $2^2 \\cdot 3^2 \\cdot 37$.", "the product is 1332"),
    ("Then 1260 factorizes as $2^2 \\cdot 5 \\cdot 61$.", "1260 = 2^2 × 3^2 × 5 × 7"),
    ("So 500 can be written as 4 × 120.", "the product is 480"),
    ("Since 2018 is a prime number, the group is cyclic.", "2018 = 2 × 1009"),
    ("We see 51 is prime.", "51 = 3 × 17"),
    ("Note that 31 is composite.", "31 is prime"),
    ("Thus 9999 is not divisible by 9.", "9999 = 9 × 1111"),
    ("Hence 121 is divisible by 10.", "121 = 10 × 12 + 1"),
    ("The GCD of 116 and 174 is 2.", "gcd(116, 174) = 58"),
    ("The least common multiple of 6 and 8 is 48.", "lcm(6, 8) = 24"),
])
def test_false_facts_are_flagged(step: str, expected: str) -> None:
    message = _wrong(step)
    assert message is not None and expected in message


@pytest.mark.parametrize("step", [
    "Since 91 = 7 × 13 is not prime, we stop.",  # 13 ends an expression: the claim is about 91
    "Any power of 5 greater than or equal to 2 is divisible by 25.",  # 2 is not the subject
    "Here 2020 is a multiple of 2021 minus 1.",
    "Check whether 51 is prime.",
    "If 87 is prime then we are done.",
    "Is 57 prime?",
    "Suppose 57 is prime.",
    "The prime factorization of 180 is 180 = 2^2 × 3^2 × 5.",  # the algebra checker reads "N = ..."
    "The sum of the digits of 1234 in base 5 is 3.",
    "Then 2x + 12 can be written as 2(x + 6).",  # 12 ends an expression and the right side has a variable
    "So 3 + 12 can be written as 3 × 5.",  # 12 is not the subject
    "The number 12 can be written as 5 + 7.",  # a sum, not a product
    "The number of divisors of 72 is even.",
    "So n is prime and n is divisible by 3.",
    "54 is divisible by 6 with a remainder of 0.",
    "So 2^20 has 21 divisors.",  # 20 is an exponent, not the number
    "The number of divisors of 2^{20} is 21.",
])
def test_hedged_or_unclear_facts_are_skipped(step: str) -> None:
    assert _verdicts(step) == []


# --- the verifier ----------------------------------------------------------------------------------------------------

def test_verifier_findings_shape() -> None:
    steps = [
        "We factor 36 first.",
        "The divisors of 36 are 1, 2, 3, 4, 6, 12, 18, 36.",
        "The divisors of 10 are 1, 2, 5, 10.",
    ]
    item = Item(id="t", question="Find the sum of the divisors of 36.", steps=steps)
    findings = ListingVerifier().check(item, steps)
    assert [(f.step, f.kind, f.verdict) for f in findings] == [
        (1, "listing", StepVerdict.INCORRECT), (2, "listing", StepVerdict.CORRECT)]
    assert "missing 9" in findings[0].message and findings[0].details["correct"] == [1, 2, 3, 4, 6, 9, 12, 18, 36]


def test_never_raises_and_stays_fast() -> None:
    weird = ["", "$$", "the divisors of 999999999999999999999 are 1, 3", "\\boxed{", "1 is prime" * 2000,
             "The primes less than 99999999999 are 2, 3.", "x" * 30_000]
    start = time.perf_counter()
    ListingVerifier().check(Item(id="w", question="q", steps=["a"]), weird)
    assert time.perf_counter() - start < 2.0
