"""Calibration of a critic's confidence: expected calibration error and selective accuracy. Pure functions.

Inputs are parallel sequences: ``confidences[i]`` in [0, 1] is the confidence of prediction ``i`` (for a k-sample
vote, the vote share) and ``correct[i]`` whether that prediction was right. Unscored predictions have no
confidence and no correctness: callers leave them out and report how many there were.

* ECE — Naeini et al., "Obtaining Well Calibrated Probabilities Using Bayesian Binning" (AAAI 2015), as used by
  Guo et al., "On Calibration of Modern Neural Networks" (ICML 2017): equal-width bins over [0, 1],
  ``ECE = Σ_b |B_b|/n · |acc(B_b) − conf(B_b)|``. A confidence of exactly 1.0 falls in the last bin.
* Selective accuracy — Geifman & El-Yaniv, "Selective Classification for Deep Neural Networks" (NeurIPS 2017):
  accuracy on the ``coverage`` fraction of predictions with the highest confidence; the risk–coverage curve and
  its area (AURC, lower is better) summarise all coverages. Equal confidences are kept or dropped together
  in input order (a stable sort), so the figure is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CalibrationBin", "reliability_bins", "expected_calibration_error", "selective_accuracy",
           "risk_coverage_curve", "aurc"]


@dataclass(frozen=True)
class CalibrationBin:
    """One bin of a reliability diagram."""

    lo: float
    hi: float
    count: int
    mean_confidence: float
    accuracy: float


def _check(confidences: Sequence[float], correct: Sequence[bool]) -> None:
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences for {len(correct)} outcomes")
    for c in confidences:
        if not (isinstance(c, (int, float)) and not math.isnan(c) and 0 <= c <= 1):
            raise ValueError(f"confidence {c!r} is not within [0, 1]")


def reliability_bins(confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> list[CalibrationBin]:
    """Non-empty equal-width bins with their mean confidence and accuracy (a reliability diagram)."""
    _check(confidences, correct)
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    groups: list[list[int]] = [[] for _ in range(n_bins)]
    for i, c in enumerate(confidences):
        groups[min(n_bins - 1, int(c * n_bins))].append(i)
    out = []
    for b, idx in enumerate(groups):
        if idx:
            out.append(CalibrationBin(
                lo=b / n_bins, hi=(b + 1) / n_bins, count=len(idx),
                mean_confidence=sum(confidences[i] for i in idx) / len(idx),
                accuracy=sum(bool(correct[i]) for i in idx) / len(idx),
            ))
    return out


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> float:
    """ECE with ``n_bins`` equal-width bins; 0.0 for no predictions."""
    n = len(confidences)
    if n == 0:
        _check(confidences, correct)
        return 0.0
    return sum(b.count / n * abs(b.accuracy - b.mean_confidence) for b in reliability_bins(confidences, correct, n_bins))


def _ranked(confidences: Sequence[float]) -> list[int]:
    return sorted(range(len(confidences)), key=lambda i: -confidences[i])


def selective_accuracy(confidences: Sequence[float], correct: Sequence[bool], coverage: float) -> float | None:
    """Accuracy on the ``ceil(coverage · n)`` most confident predictions; None when that is no prediction."""
    _check(confidences, correct)
    if not 0 < coverage <= 1:
        raise ValueError("coverage must be within (0, 1]")
    keep = math.ceil(coverage * len(confidences) - 1e-9)
    if keep == 0:
        return None
    order = _ranked(confidences)[:keep]
    return sum(bool(correct[i]) for i in order) / keep


def risk_coverage_curve(confidences: Sequence[float], correct: Sequence[bool]) -> list[tuple[float, float]]:
    """(coverage, risk = 1 − selective accuracy) after keeping the 1, 2, …, n most confident predictions."""
    _check(confidences, correct)
    n = len(confidences)
    out, right = [], 0
    for kept, i in enumerate(_ranked(confidences), start=1):
        right += bool(correct[i])
        out.append((kept / n, 1 - right / kept))
    return out


def aurc(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """Area under the risk–coverage curve (mean risk over the n coverages); 0.0 for no predictions."""
    curve = risk_coverage_curve(confidences, correct)
    return sum(r for _, r in curve) / len(curve) if curve else 0.0
