"""Classification metrics over gold and predicted labels: pure functions, no I/O.

Conventions: a prediction of ``None`` is *unscored* (the critic gave no usable label). Unscored items stay in the
denominator: they count as wrong for accuracy and as a missed gold label (a false negative) for F1, never as a false
positive of any label, so a critic cannot raise its figures by abstaining. Their number is reported beside.

Definitions: accuracy = correct / all; per-label precision = TP / (TP + FP), recall = TP / (TP + FN),
F1 = harmonic mean (0 when undefined); macro-F1 = unweighted mean of the per-label F1 over the given label set
(as in WiCE, Kamoi et al. 2023, and scikit-learn's ``average="macro"``). Confidence intervals are percentile
bootstrap intervals over items (Efron & Tibshirani 1993), resampled with a fixed seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = [
    "accuracy",
    "confusion_matrix",
    "per_label",
    "macro_f1",
    "bootstrap_ci",
    "unscored_count",
]

Labels = Sequence[str]
Preds = Sequence[str | None]


def _check(gold: Labels, pred: Preds) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold and predictions differ in length: {len(gold)} vs {len(pred)}")


def unscored_count(pred: Preds) -> int:
    """How many predictions are unscored (None)."""
    return sum(p is None for p in pred)


def accuracy(gold: Labels, pred: Preds) -> float:
    """Share of items whose prediction equals the gold label (unscored counts as wrong); 0.0 when empty."""
    _check(gold, pred)
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0


def confusion_matrix(gold: Labels, pred: Preds, labels: Labels) -> dict[str, dict[str, int]]:
    """``matrix[gold][pred]`` counts, with an ``unscored`` column for None predictions."""
    _check(gold, pred)
    cols = [*labels, "unscored"]
    matrix = {g: dict.fromkeys(cols, 0) for g in labels}
    for g, p in zip(gold, pred, strict=True):
        row = matrix.setdefault(g, dict.fromkeys(cols, 0))
        key = "unscored" if p is None else p
        row[key] = row.get(key, 0) + 1
    return matrix


def per_label(gold: Labels, pred: Preds, labels: Labels) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of each label."""
    _check(gold, pred)
    out: dict[str, dict[str, float]] = {}
    for lab in labels:
        tp = sum(g == lab and p == lab for g, p in zip(gold, pred, strict=True))
        fp = sum(g != lab and p == lab for g, p in zip(gold, pred, strict=True))
        fn = sum(g == lab and p != lab for g, p in zip(gold, pred, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[lab] = {"precision": precision, "recall": recall, "f1": f1, "support": float(tp + fn)}
    return out


def macro_f1(gold: Labels, pred: Preds, labels: Labels) -> float:
    """Unweighted mean F1 over ``labels``."""
    scores = per_label(gold, pred, labels)
    return sum(s["f1"] for s in scores.values()) / len(labels) if labels else 0.0


def bootstrap_ci(
    gold: Labels,
    pred: Preds,
    metric: Callable[[Labels, Preds], float],
    *,
    n: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap ``(lo, hi)`` interval of ``metric(gold, pred)`` resampling items with replacement.

    Args:
        gold: Gold labels.
        pred: Predictions (None = unscored).
        metric: A function of (gold, pred), e.g. :func:`accuracy` or ``lambda g, p: macro_f1(g, p, LABELS)``.
        n: Number of resamples.
        alpha: 0.05 gives a 95% interval.
        seed: Seed of the resampling, so the interval is reproducible.
    """
    from critica.bench.metrics import bootstrap_ci as _bootstrap

    _check(gold, pred)
    pairs = list(zip(gold, pred, strict=True))
    # The resampling itself is the shared helper of critica.bench.metrics; this adapts it to (gold, pred) lists.
    ci = _bootstrap(pairs, lambda s: metric([g for g, _ in s], [p for _, p in s]), n=n, seed=seed, level=1 - alpha)
    return (ci[0], ci[1]) if ci else (0.0, 0.0)
