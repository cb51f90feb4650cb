"""Agreement of a MetaCritique judge with the human labels: AIU-level accuracy / macro-F1 and critique-level
correlations, with cluster-bootstrap CIs and trivial baselines. Pure functions over per-critique records.

* **AIU level** (the human AIUs are given to the judge, so verdicts align one to one with the labels): accuracy and
  macro-F1 over {true, false} of factuality (hypothesis AIUs) and coverage (reference AIUs). An unscored verdict
  counts as wrong (:mod:`critica.bench.classification`'s convention).
* **Critique level**: Pearson, Spearman and Kendall (tau-b) correlation, from :mod:`scipy.stats`, of predicted
  Meta-P / Meta-R / Meta-F1 with the ones computed from the human labels, over the annotated critiques (a pair
  whose prediction is None is left out; ``n`` says how many remain).
* **CIs**: 95% percentile bootstrap over *items* (an item's three critiques are resampled together), with
  :func:`critica.bench.metrics.bootstrap_ci`.
* **Thresholds fitted by cross-validation**: for a judge that gives a probability per AIU (the offline one), and
  for the token-overlap baseline, the threshold that maximises macro-F1 on the training folds is applied to the
  held-out fold; folds group critiques by item, so no item is ever scored by a threshold fitted on it.
* **Baselines**: majority class (chosen on the training folds); *token overlap* — the share of an AIU's content
  words found in its evidence (the critique for coverage; question, response, reference answer and reference
  critique for factuality), thresholded by cross-validation; at critique level, *critique length* (words) and
  *token overlap* (unigram F1 of content words between critique and reference critique).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from typing import Any

from critica.bench.metrics import bootstrap_ci
from critica.metacritique.score import paper_scores

__all__ = ["grouped_folds", "cv_threshold_predictions", "aiu_figures", "correlation_figures", "content_words",
           "overlap_share", "unigram_f1"]

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("""a an the is are was were be been being of to in on for with as at by from and or not no but this that
these those it its they them their he she his her i we you your our model generated answer response critique should
would could can will may might do does did has have had than then so such which who whom what there here also more
very just only""".split())


def content_words(text: str) -> set[str]:
    """Lower-cased alphanumeric words of ``text`` minus stop words (and the words every critique uses)."""
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def overlap_share(claim: str, evidence: str) -> float:
    """Share of the claim's content words found in the evidence (0 for a claim without content words)."""
    words = content_words(claim)
    return len(words & content_words(evidence)) / len(words) if words else 0.0


def unigram_f1(a: str, b: str) -> float:
    """F1 of the content-word sets of two texts."""
    wa, wb = content_words(a), content_words(b)
    common = len(wa & wb)
    if not common:
        return 0.0
    p, r = common / len(wa), common / len(wb)
    return 2 * p * r / (p + r)


def grouped_folds(groups: Sequence[int], k: int = 5, seed: int = 0) -> dict[int, int]:
    """Group → fold (0..k-1), groups shuffled with ``seed`` and dealt round-robin."""
    uniq = sorted(set(groups))
    random.Random(seed).shuffle(uniq)
    return {g: i % k for i, g in enumerate(uniq)}


def _macro_f1(gold: Sequence[bool], pred: Sequence[bool | None]) -> float:
    f1s = []
    for lab in (True, False):
        tp = sum(g == lab and p == lab for g, p in zip(gold, pred, strict=True))
        fp = sum(g != lab and p == lab for g, p in zip(gold, pred, strict=True))
        fn = sum(g == lab and p != lab for g, p in zip(gold, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / 2


def _accuracy(gold: Sequence[bool], pred: Sequence[bool | None]) -> float:
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0


def _best_threshold(scores: Sequence[float], gold: Sequence[bool]) -> float:
    cands = sorted(set(round(s, 4) for s in scores))
    if not cands:
        return 0.5
    step = max(1, len(cands) // 200)  # at most ~200 candidate cuts: enough, and fast
    best, best_t = -1.0, 0.5
    for t in cands[::step] + [cands[-1] + 1e-9]:
        f = _macro_f1(gold, [s >= t for s in scores])
        if f > best or (f == best and abs(t - 0.5) < abs(best_t - 0.5)):
            best, best_t = f, t
    return best_t


def cv_threshold_predictions(scores: Sequence[float | None], gold: Sequence[bool], groups: Sequence[int], *,
                             k: int = 5, seed: int = 0) -> tuple[list[bool | None], list[float]]:
    """Out-of-fold predictions ``score ≥ t`` with ``t`` fitted (max macro-F1) on the other folds; None scores stay
    None. Returns the predictions and the threshold of each fold."""
    fold = grouped_folds(groups, k, seed)
    preds: list[bool | None] = [None] * len(scores)
    cuts = []
    for f in range(k):
        train = [i for i, g in enumerate(groups) if fold[g] != f and scores[i] is not None]
        t = _best_threshold([scores[i] for i in train], [gold[i] for i in train])  # type: ignore[misc]
        cuts.append(t)
        for i, g in enumerate(groups):
            if fold[g] == f and scores[i] is not None:
                preds[i] = scores[i] >= t  # type: ignore[operator]
    return preds, cuts


def cv_majority(gold: Sequence[bool], groups: Sequence[int], *, k: int = 5, seed: int = 0) -> list[bool | None]:
    """Out-of-fold majority-class predictions (the majority of the training folds)."""
    fold = grouped_folds(groups, k, seed)
    out: list[bool | None] = [None] * len(gold)
    for f in range(k):
        train = [gold[i] for i, g in enumerate(groups) if fold[g] != f]
        major = sum(train) * 2 >= len(train)
        for i, g in enumerate(groups):
            if fold[g] == f:
                out[i] = major
    return out


def _clusters(groups: Sequence[int], *columns: Sequence[Any]) -> list[list[tuple[Any, ...]]]:
    by: dict[int, list[tuple[Any, ...]]] = {}
    for i, g in enumerate(groups):
        by.setdefault(g, []).append(tuple(col[i] for col in columns))
    return list(by.values())


def aiu_figures(gold: Sequence[bool], pred: Sequence[bool | None], groups: Sequence[int], *, n_boot: int = 1000,
                seed: int = 0) -> dict[str, Any]:
    """Accuracy and macro-F1 with item-cluster bootstrap CIs; unscored predictions count as wrong."""
    clusters = _clusters(groups, gold, pred)

    def stat(fn: Callable[[Sequence[bool], Sequence[bool | None]], float]) -> Callable[[Sequence[Any]], float]:
        def go(sample: Sequence[Any]) -> float:
            flat = [x for c in sample for x in c]
            return fn([g for g, _ in flat], [p for _, p in flat])
        return go

    return {
        "n": len(gold), "unscored": sum(p is None for p in pred),
        "accuracy": _accuracy(gold, pred), "accuracy_ci": bootstrap_ci(clusters, stat(_accuracy), n=n_boot, seed=seed),
        "macro_f1": _macro_f1(gold, pred), "macro_f1_ci": bootstrap_ci(clusters, stat(_macro_f1), n=n_boot, seed=seed),
    }


def correlation_figures(pred: Sequence[float | None], human: Sequence[float], groups: Sequence[int], *,
                        n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Pearson, Spearman and Kendall correlation of ``pred`` with ``human`` (None predictions left out), with
    item-cluster bootstrap CIs."""
    import importlib.util
    import warnings

    if importlib.util.find_spec("scipy") is None:
        from critica.errors import MissingDependency

        raise MissingDependency("scipy (correlations of the metacritique benchmark)", "pip install 'critica[stats]'")
    from scipy import stats

    keep = [i for i, p in enumerate(pred) if p is not None]
    xs = [float(pred[i]) for i in keep]  # type: ignore[arg-type]
    ys = [float(human[i]) for i in keep]
    clusters = _clusters([groups[i] for i in keep], xs, ys)
    fns = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}

    def corr(fn: Any, a: Sequence[float], b: Sequence[float]) -> float | None:
        if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = float(fn(a, b)[0])
        return None if v != v else v

    out: dict[str, Any] = {"n": len(keep)}
    for name, fn in fns.items():
        out[name] = corr(fn, xs, ys)

        def stat(sample: Sequence[Any], fn: Any = fn) -> float | None:
            flat = [x for c in sample for x in c]
            return corr(fn, [a for a, _ in flat], [b for _, b in flat])

        out[f"{name}_ci"] = bootstrap_ci(clusters, stat, n=n_boot, seed=seed)
    return out


def scores_from_labels(precision: Sequence[bool | None], recall: Sequence[bool | None]) -> tuple[Any, Any, Any]:
    """(P, R, F1) by the paper's rule (unscored labels left out)."""
    return paper_scores(precision, recall)
