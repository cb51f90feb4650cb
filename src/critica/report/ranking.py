"""Ranking evaluated models from stored critiques (PRE, Chu et al. 2024, arXiv:2401.15641).

PRE has a panel of qualified reviewer LLMs rate the answers of several evaluated models and ranks the models by
their aggregated ratings. Here the aggregated rating of an answer is its stored critique (a panel's critique when a
panel judged the run): its normalised score when it has one, else 1 for ``correct`` and 0 for ``incorrect``.
A model's score is the mean over its answers; models are ranked best first (ties share the better rank), each with
a 95 % percentile bootstrap interval over its items. The evaluated model is read from ``Item.metadata[key]``.
Unscored critiques are counted, never scored as 0.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from pydantic import BaseModel

from critica.types import Critique, Item, Verdict

__all__ = ["ModelRank", "Ranking", "rank_models"]


class ModelRank(BaseModel):
    """One evaluated model's place in a ranking."""

    rank: int
    """1 = best; models with equal scores share the better rank."""
    model: str
    score: float
    """Mean per-answer score in [0, 1]."""
    ci: tuple[float, float]
    """95 % percentile bootstrap interval of ``score`` (resampling the model's items)."""
    correct_share: float
    """Share of the model's scored answers judged ``correct``."""
    items: int
    """Scored answers."""
    unscored: int
    """Answers whose critique was unscored (not in ``score``)."""


class Ranking(BaseModel):
    """Models ranked by their answers' critiques."""

    key: str
    """``Item.metadata`` key that names the evaluated model."""
    score: str
    """What a model's score is the mean of (``normalised score or verdict``)."""
    rows: list[ModelRank]
    skipped: int = 0
    """Critiques left out: no item, or the item names no model."""


def _answer_score(c: Critique) -> float | None:
    if c.verdict == Verdict.UNSCORED:
        return None
    if c.score is not None:
        return c.score.normalized
    return 1.0 if c.verdict == Verdict.CORRECT else 0.0 if c.verdict == Verdict.INCORRECT else None


def _bootstrap(values: list[float], seed: int, resamples: int) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean (the same recipe as ``critica.bench.metrics.bootstrap_ci``)."""
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return means[int(0.025 * (resamples - 1))], means[int(0.975 * (resamples - 1))]


def rank_models(records: Iterable[tuple[Item | None, Critique]], *, key: str = "model", seed: int = 0,
                resamples: int = 2000) -> Ranking:
    """Rank the models named by ``item.metadata[key]`` by the mean score of their answers' critiques.

    Args:
        records: (item, critique) pairs, e.g. :meth:`critica.store.Store.iter_records`.
        key: Metadata key naming the evaluated model of an item.
        seed: Seed of the bootstrap.
        resamples: Bootstrap resamples per model.
    """
    scores: dict[str, list[float]] = {}
    verdicts: dict[str, list[bool]] = {}
    unscored: dict[str, int] = {}
    skipped = 0
    for item, c in records:
        model = None if item is None else item.metadata.get(key)
        if model is None or isinstance(model, (dict, list)):
            skipped += 1
            continue
        name = str(model)
        unscored.setdefault(name, 0)
        s = _answer_score(c)
        if s is None:
            unscored[name] += 1
            continue
        scores.setdefault(name, []).append(s)
        verdicts.setdefault(name, []).append(c.verdict == Verdict.CORRECT)
    rows = []
    for name in unscored:
        values = scores.get(name, [])
        if not values:
            continue
        rows.append(ModelRank(rank=0, model=name, score=sum(values) / len(values), ci=_bootstrap(values, seed, resamples),
                              correct_share=sum(verdicts[name]) / len(values), items=len(values),
                              unscored=unscored[name]))
    rows.sort(key=lambda r: (-r.score, r.model))
    for i, r in enumerate(rows):
        r.rank = rows[i - 1].rank if i and rows[i - 1].score == r.score else i + 1
    return Ranking(key=key, score="normalised score or verdict", rows=rows, skipped=skipped)
