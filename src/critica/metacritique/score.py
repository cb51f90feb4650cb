"""Meta-Precision, Meta-Recall and Meta-F1 of a critique from its AIU verdicts: pure functions.

The definitions are those of "The Critique of Critique" (Sun et al., ACL 2024 Findings, arXiv:2401.04518) as its
scorer computes them (GAIR-NLP/MetaCritique ``meta_critique/cal_meta_scores.py``):

* per critique, precision = factual AIUs / AIUs of the critique, recall = covered AIUs / AIUs of the reference
  critique, both in float division;
* F1 = ``0`` when precision or recall is 0, else ``2 / (1/p + 1/r)`` — written exactly so, because
  ``2pr / (p + r)`` differs in the last digit for some values and the published scores are compared to the last
  digit (the upstream function returns the *integer* 0 in the zero case, which is why some stored ``f1_score`` are
  ``0`` and not ``0.0``);
* dataset level: the plain mean over critiques of each of P, R and F1 (the mean of per-critique F1, not the F1 of
  the means).

critica departs from upstream in one place: upstream counts an unparseable judgment (``None``) as *not* factual or
covered; here it is **unscored** — left out of numerator and denominator and reported as coverage — and a critique
with nothing scored has P (or R, and F1) ``None``. With every AIU scored the two rules agree exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from critica.types import Coverage, Factuality, HypothesisAIU, ReferenceAIU

__all__ = ["share_true", "meta_f1", "paper_scores", "aiu_scores", "mean_scores"]


def share_true(labels: Sequence[bool | None]) -> float | None:
    """Share of True among the scored labels (None ones left out); None when no label is scored."""
    scored = [v for v in labels if v is not None]
    if not scored:
        return None
    return sum(1 for v in scored if v) / len(scored)


def meta_f1(precision: float | None, recall: float | None) -> float | None:
    """The paper's F1: 0 when either is 0, else ``2 / (1/p + 1/r)``; None when either is None."""
    if precision is None or recall is None:
        return None
    if precision == 0 or recall == 0:
        return 0
    return 2 / (1 / precision + 1 / recall)


def paper_scores(precision_labels: Sequence[bool | None],
                 recall_labels: Sequence[bool | None]) -> tuple[float | None, float | None, float | None]:
    """(P, R, F1) of one critique from per-AIU labels (True = factual / covered, None = unscored)."""
    p, r = share_true(precision_labels), share_true(recall_labels)
    return p, r, meta_f1(p, r)


def aiu_scores(hypothesis: Sequence[HypothesisAIU], reference: Sequence[ReferenceAIU]) -> dict[str, float | None]:
    """P, R, F1 and the two coverage figures of judged AIUs (the fields of a MetaCritiqueResult)."""
    hyp = [None if a.verdict is Factuality.UNSCORED else a.verdict is Factuality.FACTUAL for a in hypothesis]
    ref = [None if a.verdict is Coverage.UNSCORED else a.verdict is Coverage.COVERED for a in reference]
    p, r, f1 = paper_scores(hyp, ref)
    return {
        "precision": p, "recall": r, "f1": f1,
        "precision_coverage": sum(v is not None for v in hyp) / len(hyp) if hyp else 0.0,
        "recall_coverage": sum(v is not None for v in ref) / len(ref) if ref else 0.0,
    }


def mean_scores(rows: Iterable[tuple[float | None, float | None, float | None]]) -> tuple[float | None, ...]:
    """Dataset-level (Meta-P, Meta-R, Meta-F1): the mean over critiques of each, None values left out."""
    cols: list[list[float]] = [[], [], []]
    for row in rows:
        for i, v in enumerate(row):
            if v is not None:
                cols[i].append(v)
    return tuple(sum(c) / len(c) if c else None for c in cols)
