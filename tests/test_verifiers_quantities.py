"""Unit check: a rate per one time unit times an amount of another is flagged; conversions and ambiguity are not."""

from __future__ import annotations

import pytest

from critica.types import Item, StepVerdict, Verdict
from critica.verifiers.critic import VerifierCritic
from critica.verifiers.quantities import QuantityVerifier, unit_mismatches

# --- inline products: the units are written on the operands ---------------------------------------------------------


@pytest.mark.parametrize("step", [
    "The boat covers 40 km/hr * 2 days = 80 km.",
    "So he drives 2 days x 40 km/hr = 80 km.",
    "She earns $15 per hour * 3 days = $45.",
    "Distance = 30 mph * 45 minutes = 1350 miles.",
    "The pump moves 9 gallons per minute times 2 hours = 18 gallons.",
])
def test_inline_rate_times_other_time_unit_is_flagged(step):
    assert unit_mismatches(step)


@pytest.mark.parametrize("step", [
    "The boat covers 40 km/hr * 48 hours = 1920 km.",  # same unit
    "The boat covers 40 km/hr * 2 days * 24 = 1920 km.",  # conversion factor in the expression
    "Each day has 24 hours, so 40 km/hr * 2 days = 40 * 48 = 1920 km.",  # conversion stated in the step
    "Converting, 40 km/hr * 2 days gives 1920 km.",  # the step speaks of converting
    "She works 8 hours per day * 5 days = 40 hours.",  # rate per day times days
    "She earns $12 per hour * 8 hours per day = $96 per day.",  # the second operand is itself a rate
    "Suppose the boat covers 40 km/hr * 2 days = 80 km.",  # hypothetical
    "He walks 3 miles * 2 days = 6 miles.",  # no rate at all
    "He reads 2 chapters every day for 4-week stretches.",  # no product
])
def test_inline_same_unit_conversion_or_no_rate_is_not_flagged(step):
    assert unit_mismatches(step) == []


# --- prose: the rate and the amount are stated in words, the product uses bare numbers -----------------------------


def test_prose_rate_and_amount_in_different_units_are_flagged():
    assert unit_mismatches("Tom saves 15 stamps per week, so in 3 months he saves 15 * 3 = 45 stamps.") == ["15 * 3"]
    assert unit_mismatches("She is paid $40 per day, so for the 9 hours she gets 9 x $40 = $360.") == ["9 x $40"]


@pytest.mark.parametrize("step", [
    "Tom saves 15 stamps per week, so in 3 weeks he saves 15 * 3 = 45 stamps.",  # same unit
    "Tom saves 15 stamps per week, so in 3 months he saves 15 * 3 * 4 = 180 stamps.",  # not a product of two numbers
    "Tom saves 15 stamps per week, so in 7 days he saves 15 * 7 = 105 stamps.",  # a conversion factor is an operand
    "Tom saves 4 stamps per week, so in 4 months he saves 4 * 4 = 16 stamps.",  # one value in both roles
    "Tom saves 15 stamps per week and buys 3 albums: 15 * 3 = 45.",  # the other number is no time amount
    "He works 5 days a week for 6 weeks: 5 * 6 = 30 days.",  # "5 days a week" is a rate per week, not an amount
])
def test_prose_same_unit_or_ambiguous_is_not_flagged(step):
    assert unit_mismatches(step) == []


def test_odd_text_never_raises():
    for text in ["", "=", "per hour * days =", "1,000,000 km/hr * 1.5.5 days =", "x" * 30_000, "9 x $ = 3"]:
        unit_mismatches(text)


# --- the verifier and the verifier critic ----------------------------------------------------------------------------


def _item(steps: list[str]) -> Item:
    return Item(id="t", question="A ferry sails at 25 km/hr for 4 days. How far does it go?", steps=steps)


def test_verifier_flags_the_step_with_the_mismatch():
    steps = ["The ferry sails at 25 km/hr.", "In 4 days it covers 25 km/hr * 4 days = 100 km.", "The answer is 100."]
    findings = QuantityVerifier().check(_item(steps), steps)
    assert [(f.step, f.verdict, f.kind) for f in findings] == [(1, StepVerdict.INCORRECT, "quantities")]
    assert "25 km/hr * 4 days" in findings[0].message


def test_verifier_is_silent_on_a_correct_solution():
    steps = ["4 days are 4 * 24 = 96 hours.", "It covers 25 km/hr * 96 hours = 2400 km.", "The answer is 2400."]
    assert QuantityVerifier().check(_item(steps), steps) == []


def test_verifier_critic_names_the_mismatch_as_first_error():
    steps = ["The ferry sails at 25 km/hr.", "In 4 days it covers 25 km/hr * 4 days = 100 km.", "The answer is 100."]
    crit = VerifierCritic().judge(_item(steps))
    assert crit.verdict == Verdict.INCORRECT
    assert crit.first_error_step == 1


def test_rates_per_two_time_units_chain_and_are_not_a_mismatch():
    from critica.verifiers.quantities import unit_mismatches

    # hours per day times days per week is hours per week: the conversion is in the two rates
    step = ("He now runs 3+2=5 times a week. Each day he runs for 1+1=2 hours. So he runs 2*5=10 hours a week.")
    assert unit_mismatches(step) == []
    assert unit_mismatches("She saves 20 coins per month, so in 10 years she saves 20 * 10 = 200 coins.") != []
