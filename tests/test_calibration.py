"""ECE, reliability bins and selective accuracy on hand-computed cases and random data."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critica.bench.calibration import (
    aurc,
    expected_calibration_error,
    reliability_bins,
    risk_coverage_curve,
    selective_accuracy,
)


def test_ece_by_hand():
    # bin [0.6,0.7): conf 0.6, 0.6 → acc 0.5, gap 0.1; bin [0.9,1.0]: conf 1.0, 0.9 → acc 1.0, gap 0.05
    conf = [0.6, 0.6, 1.0, 0.9]
    right = [True, False, True, True]
    assert expected_calibration_error(conf, right) == pytest.approx(0.5 * 0.1 + 0.5 * 0.05)
    bins = reliability_bins(conf, right)
    assert [(b.lo, b.count) for b in bins] == [(pytest.approx(0.6), 2), (pytest.approx(0.9), 2)]


def test_perfectly_calibrated_and_empty():
    assert expected_calibration_error([1.0, 1.0, 0.0], [True, True, False]) == 0.0
    assert expected_calibration_error([], []) == 0.0
    assert selective_accuracy([], [], 0.5) is None
    assert aurc([], []) == 0.0


def test_overconfident_critic():
    assert expected_calibration_error([0.95] * 4, [True, False, False, False]) == pytest.approx(0.7)


def test_selective_accuracy_keeps_the_most_confident():
    conf = [0.9, 0.5, 0.8, 0.6]
    right = [True, False, True, False]
    assert selective_accuracy(conf, right, 0.5) == 1.0
    assert selective_accuracy(conf, right, 0.75) == pytest.approx(2 / 3)
    assert selective_accuracy(conf, right, 1.0) == 0.5
    assert risk_coverage_curve(conf, right) == [(0.25, 0.0), (0.5, 0.0), (0.75, pytest.approx(1 / 3)), (1.0, 0.5)]
    assert aurc(conf, right) == pytest.approx((0 + 0 + 1 / 3 + 0.5) / 4)


def test_ties_are_resolved_in_input_order():
    assert selective_accuracy([0.5, 0.5], [False, True], 0.5) == 0.0


@pytest.mark.parametrize("conf, right", [([1.2], [True]), ([float("nan")], [True]), ([0.5], [])])
def test_bad_input_is_rejected(conf, right):
    with pytest.raises(ValueError):
        expected_calibration_error(conf, right)


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])  # shared, loaded CI cores
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=60), st.integers(1, 20))
def test_properties(pairs, n_bins):
    conf = [c for c, _ in pairs]
    right = [r for _, r in pairs]
    ece = expected_calibration_error(conf, right, n_bins)
    assert 0 <= ece <= 1
    assert sum(b.count for b in reliability_bins(conf, right, n_bins)) == len(pairs)
    # selective accuracy at full coverage is plain accuracy
    assert selective_accuracy(conf, right, 1.0) == pytest.approx(sum(right) / len(right))
    assert 0 <= aurc(conf, right) <= 1
