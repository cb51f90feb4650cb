"""Metrics of first-error identification and step-level error detection: pure functions, no I/O.

Prediction convention (one per item): an ``int`` k ≥ 0 is "the earliest erroneous step is k" (0-based), ``-1`` is
"no error found", :data:`FLAG_NO_STEP` (``-2``) is "the solution is wrong but no step was named" (e.g. a wrong final
answer), and ``None`` is *unscored* (the critic gave no usable answer). Gold labels are k ≥ 0 or -1.

Definitions implemented:

* **ProcessBench** (Zheng et al., 2024, arXiv:2412.06559, §3 "Evaluation"): accuracy on erroneous items = share of
  items with label ≥ 0 whose predicted index equals the label exactly; accuracy on correct items = share of items
  with label -1 predicted -1; **F1** = their harmonic mean. Unscored predictions count as wrong (the official scorer
  counts an unparseable reply as a miss) and are also reported separately. The cross-split figure is the
  unweighted mean of the per-split F1 (the paper's "Avg. F1").
* **Flag precision** (a verifier's view): a *flag* is any prediction other than -1 and None; a *located* flag
  names a step (k ≥ 0). Solution-level precision = flags on erroneous items / flags; exact-step precision =
  located flags equal to the label / located flags (a flag that names no step makes no step claim: it counts for
  the solution-level figures only, and ``located`` says how many flags name a step); false-alarm rate = flags on
  correct items / correct items; recall (exact) = exact flags / erroneous items; recall (solution) = flags on
  erroneous items / erroneous items. An empty denominator gives ``None``, never 0.
* **Bounds** (optional, one per item): a critic may say "the first error is at or before step b" without naming
  it (the verifier does, when a verified false step b may follow an unverifiable earlier error). Bound precision =
  bounded flags with 0 ≤ label ≤ b / bounded flags. The *earliest* operating point names every bound as the first
  error (prediction b): ``recall_earliest`` and ``precision_step_earliest`` are recall and exact-step precision
  there — what the critic would score if it always named its earliest false step.
* **PRMBench** (Song et al., 2025, arXiv:2501.03124, §4.1): every step is a binary instance, *negative* when it is
  one of the annotated ``error_steps``; a step is predicted negative when the critic judged it ``incorrect``.
  PRMScore = 0.5 · F1(negative class) + 0.5 · F1(positive class), pooled over all steps of the split.
* **Bootstrap CIs**: percentile bootstrap over items (Efron & Tibshirani, 1993), ``n`` resamples with a fixed seed.
* **Correlation with human scores**: Pearson's r, Spearman's rho and Kendall's tau-b (``scipy.stats``) between a
  critic's scores and human scores of the same items, each with a percentile bootstrap CI over (score, human) pairs;
  a resample where a side is constant has no correlation and is skipped.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "FLAG_NO_STEP",
    "processbench_scores",
    "flag_stats",
    "prm_score",
    "bootstrap_ci",
    "harmonic_mean",
    "throughput",
    "correlations",
    "mean",
]

FLAG_NO_STEP = -2
Pred = int | None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def harmonic_mean(a: float | None, b: float | None) -> float | None:
    """2ab / (a + b); 0 when both are 0; None when either is undefined."""
    if a is None or b is None:
        return None
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


def processbench_scores(labels: Sequence[int], preds: Sequence[Pred]) -> dict[str, Any]:
    """ProcessBench accuracy on erroneous items, on correct items, and their harmonic-mean F1."""
    if len(labels) != len(preds):
        raise ValueError(f"labels and predictions differ in length: {len(labels)} vs {len(preds)}")
    err = [(g, p) for g, p in zip(labels, preds, strict=True) if g >= 0]
    cor = [(g, p) for g, p in zip(labels, preds, strict=True) if g < 0]
    acc_err = _ratio(sum(p == g for g, p in err), len(err))
    acc_cor = _ratio(sum(p == -1 for _, p in cor), len(cor))
    return {
        "n": len(labels), "n_erroneous": len(err), "n_correct": len(cor),
        "acc_erroneous": acc_err, "acc_correct": acc_cor, "f1": harmonic_mean(acc_err, acc_cor),
        "unscored": sum(p is None for p in preds),
    }


def flag_stats(labels: Sequence[int], preds: Sequence[Pred], bounds: Sequence[int | None] | None = None) -> dict[str, Any]:
    """Flag precision (solution-level and exact-step), false-alarm rate and recall, as defined in the module doc.

    ``bounds`` (optional, aligned with ``labels``): per item, the step at or before which the critic says the
    first error lies (None when it says nothing); adds the bound precision and the earliest operating point.
    """
    if len(labels) != len(preds):
        raise ValueError(f"labels and predictions differ in length: {len(labels)} vs {len(preds)}")
    flags = [(g, p) for g, p in zip(labels, preds, strict=True) if p is not None and p != -1]
    located = [(g, p) for g, p in flags if p >= 0]
    on_err = sum(g >= 0 for g, _ in flags)
    exact = sum(g >= 0 and p == g for g, p in located)
    n_err = sum(g >= 0 for g in labels)
    n_cor = len(labels) - n_err
    out = {
        "flags": len(flags),
        "located": len(located),
        "flags_exact": exact,
        "flags_early": sum(g >= 0 and p < g for g, p in located),
        "flags_late": sum(g >= 0 and p > g for g, p in located),
        "false_alarms": len(flags) - on_err,
        "precision_solution": _ratio(on_err, len(flags)),
        "precision_step": _ratio(exact, len(located)),
        "false_alarm_rate": _ratio(len(flags) - on_err, n_cor),
        "recall_exact": _ratio(exact, n_err),
        "recall_solution": _ratio(on_err, n_err),
    }
    if bounds is not None:
        if len(bounds) != len(labels):
            raise ValueError(f"labels and bounds differ in length: {len(labels)} vs {len(bounds)}")
        # Only flags bound anything; a located flag without an explicit bound is its own.
        bound = [(b if b is not None else (p if p >= 0 else None)) if p is not None and p != -1 else None
                 for p, b in zip(preds, bounds, strict=True)]
        bounded = [(g, b) for g, b in zip(labels, bound, strict=True) if b is not None]
        earliest = [p if b is None else b for p, b in zip(preds, bound, strict=True)]
        e_located = [(g, e) for g, e in zip(labels, earliest, strict=True) if e is not None and e >= 0]
        e_exact = sum(g == e for g, e in e_located)
        out.update({
            "bounded": len(bounded),
            "precision_bound": _ratio(sum(0 <= g <= b for g, b in bounded), len(bounded)),
            "precision_step_earliest": _ratio(e_exact, len(e_located)),
            "recall_earliest": _ratio(e_exact, n_err),
        })
    return out


def prm_score(steps: Sequence[tuple[Sequence[int], Sequence[int], int]]) -> dict[str, Any]:
    """PRMBench PRMScore from ``(gold_error_steps, predicted_error_steps, n_steps)`` per item (0-based indices)."""
    tp = fp = fn = tn = 0  # for the negative (erroneous-step) class
    for gold, pred, n in steps:
        g, p = set(gold), set(pred)
        for i in range(n):
            if i in g and i in p:
                tp += 1
            elif i in p:
                fp += 1
            elif i in g:
                fn += 1
            else:
                tn += 1

    def f1(t: int, f_pos: int, f_neg: int) -> float | None:
        return None if t + f_pos + f_neg == 0 else 2 * t / (2 * t + f_pos + f_neg)

    f1_neg, f1_pos = f1(tp, fp, fn), f1(tn, fn, fp)
    score = None if f1_neg is None or f1_pos is None else 0.5 * f1_neg + 0.5 * f1_pos
    return {"prm_score": score, "f1_negative": f1_neg, "f1_positive": f1_pos, "steps": tp + fp + fn + tn,
            "step_precision_negative": _ratio(tp, tp + fp), "step_recall_negative": _ratio(tp, tp + fn)}


def bootstrap_ci(
    records: Sequence[Any], statistic: Callable[[Sequence[Any]], float | None], *, n: int = 1000, seed: int = 0,
    level: float = 0.95,
) -> list[float] | None:
    """Percentile bootstrap interval ``[lo, hi]`` of ``statistic`` over resampled ``records``; None if undefined."""
    if not records:
        return None
    rng = random.Random(seed)
    values = []
    for _ in range(n):
        sample = [records[rng.randrange(len(records))] for _ in range(len(records))]
        v = statistic(sample)
        if v is not None:
            values.append(v)
    if not values:
        return None
    values.sort()
    lo = values[int((1 - level) / 2 * (len(values) - 1))]
    hi = values[int((1 + level) / 2 * (len(values) - 1))]
    return [lo, hi]


def throughput(items: int, wall_s: float) -> float | None:
    """Items per second of wall time."""
    return items / wall_s if wall_s > 0 else None


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean; None for no values."""
    return sum(values) / len(values) if values else None


def _corr(kind: str, pairs: Sequence[tuple[float, float]]) -> float | None:
    import math

    from scipy import stats

    if len(pairs) < 3:
        return None
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    if len(set(xs)) < 2 or len(set(ys)) < 2:
        return None  # a constant side: the coefficient is undefined, not 0
    if kind == "kendall":
        value = float(stats.kendalltau(xs, ys)[0])
    else:  # Spearman's rho is Pearson's r of the ranks (average ranks for ties), as scipy.stats.spearmanr computes it
        import numpy as np

        if kind == "spearman":
            xs, ys = list(stats.rankdata(xs)), list(stats.rankdata(ys))
        value = float(np.corrcoef(xs, ys)[0, 1])  # what stats.pearsonr returns, without its per-call overhead
    return None if math.isnan(value) else value


def correlations(pred: Sequence[float], human: Sequence[float], *, n: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Pearson, Spearman and Kendall (tau-b) of ``pred`` with ``human``, each with a 95% bootstrap CI over pairs.

    Returns ``{"n", "pearson", "pearson_ci", "spearman", "spearman_ci", "kendall", "kendall_ci"}``; a coefficient is
    None when fewer than 3 pairs remain or either side is constant.
    """
    if len(pred) != len(human):
        raise ValueError(f"scores and human scores differ in length: {len(pred)} vs {len(human)}")
    pairs = [(float(p), float(h)) for p, h in zip(pred, human, strict=True)]
    out: dict[str, Any] = {"n": len(pairs)}
    for kind in ("pearson", "spearman", "kendall"):
        out[kind] = _corr(kind, pairs)
        out[f"{kind}_ci"] = None if out[kind] is None else bootstrap_ci(
            pairs, lambda s, k=kind: _corr(k, s), n=n, seed=seed)
    return out
