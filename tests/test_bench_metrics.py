"""Metric functions against hand-computed values."""

from __future__ import annotations

import pytest

from critica.bench.metrics import (
    FLAG_NO_STEP,
    bootstrap_ci,
    flag_stats,
    harmonic_mean,
    prm_score,
    processbench_scores,
    throughput,
)

LABELS = [2, 0, 3, 1, -1, -1, -1, -1]
PREDS = [2, 0, -1, None, -1, 1, -1, None]  # 2 exact, 1 missed, 1 unscored; on correct: 2 right, 1 false alarm, 1 unscored


def test_processbench_definition():
    s = processbench_scores(LABELS, PREDS)
    assert s["acc_erroneous"] == pytest.approx(2 / 4)
    assert s["acc_correct"] == pytest.approx(2 / 4)  # unscored counts as wrong
    assert s["f1"] == pytest.approx(0.5)
    assert s["unscored"] == 2 and s["n_erroneous"] == 4 and s["n_correct"] == 4


def test_processbench_f1_is_harmonic_mean():
    s = processbench_scores([0, 1, -1, -1], [0, 0, -1, -1])
    assert s["f1"] == pytest.approx(2 * 0.5 * 1.0 / 1.5)


def test_flag_stats():
    f = flag_stats(LABELS, PREDS)
    assert f["flags"] == 3  # 2, 0 and the false alarm 1
    assert f["precision_solution"] == pytest.approx(2 / 3)
    assert f["precision_step"] == pytest.approx(2 / 3)
    assert f["false_alarm_rate"] == pytest.approx(1 / 4)
    assert f["recall_exact"] == pytest.approx(2 / 4)


def test_flag_without_step_counts_at_solution_level_only():
    f = flag_stats([3, -1], [FLAG_NO_STEP, -1])
    assert f["precision_solution"] == 1.0 and f["false_alarm_rate"] == 0.0
    # it names no step, so it makes no step claim: exact-step precision is undefined, not 0
    assert f["located"] == 0 and f["precision_step"] is None and f["recall_exact"] == 0.0
    f = flag_stats([3, 2, -1], [FLAG_NO_STEP, 2, -1])
    assert f["located"] == 1 and f["precision_step"] == 1.0 and f["precision_solution"] == 1.0


def test_bounds_give_bound_precision_and_the_earliest_operating_point():
    labels = [1, 3, 2, -1, 0]
    preds = [FLAG_NO_STEP, FLAG_NO_STEP, 2, FLAG_NO_STEP, -1]
    bounds = [4, 1, None, 0, None]  # item 2 is located (its own bound); item 4 said "no error"
    f = flag_stats(labels, preds, bounds)
    assert f["bounded"] == 4
    # holds: 1 <= 4 (item 0), 2 <= 2 (item 2); fails: 3 > 1 (item 1), correct solution (item 3)
    assert f["precision_bound"] == pytest.approx(2 / 4)
    # earliest: predictions 4, 1, 2, 0, -1 -> exact only on item 2
    assert f["precision_step_earliest"] == pytest.approx(1 / 4) and f["recall_earliest"] == pytest.approx(1 / 4)
    assert f["precision_step"] == 1.0 and f["recall_exact"] == pytest.approx(1 / 4)
    with pytest.raises(ValueError):
        flag_stats(labels, preds, bounds[:2])


def test_late_and_early_flags():
    f = flag_stats([2, 2, 2], [1, 2, 4])
    assert (f["flags_early"], f["flags_exact"], f["flags_late"]) == (1, 1, 1)


def test_undefined_is_none_not_zero():
    assert flag_stats([-1], [-1])["precision_step"] is None
    assert processbench_scores([-1], [-1])["acc_erroneous"] is None
    assert harmonic_mean(None, 1.0) is None and harmonic_mean(0.0, 0.0) == 0.0
    assert throughput(10, 0) is None and throughput(10, 2) == 5


def test_length_mismatch_raises():
    with pytest.raises(ValueError):
        processbench_scores([0], [])


def test_prm_score():
    # item 1: 4 steps, gold errors {1, 2}, predicted {2}; item 2: 3 steps, gold {0}, predicted {}
    s = prm_score([([1, 2], [2], 4), ([0], [], 3)])
    # negative class: TP=1 FP=0 FN=2 -> F1 = 2/4; positive class: TP=4 (steps 0,3 and 1,2 of item 2), FP=2, FN=0 -> 8/10
    assert s["f1_negative"] == pytest.approx(2 / 4)
    assert s["f1_positive"] == pytest.approx(8 / 10)
    assert s["prm_score"] == pytest.approx(0.65)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    data = [1] * 30 + [0] * 70

    def mean(sample):
        return sum(sample) / len(sample)

    a = bootstrap_ci(data, mean, n=500, seed=3)
    assert a == bootstrap_ci(data, mean, n=500, seed=3)
    assert a[0] < 0.3 < a[1] and 0.15 < a[0] and a[1] < 0.45
    assert bootstrap_ci([], mean) is None
