"""Aggregation and inference-time scaling: many critiques → one, and composite critics that spend more compute.

* :mod:`~critica.aggregate.reducers` — pure ``list[Critique] -> Critique`` functions (majority, weighted, mean
  probability, score-sum) and the helpers behind meta-filtering and adaptive stopping.
* :mod:`~critica.aggregate.voting` — k-sample voting, meta-filtering and adaptive sampling, each a Critic.
* :mod:`~critica.aggregate.panel` — panels of critics with majority / mean / qualification-exam weights.
* :mod:`~critica.aggregate.cascade` — cheap-first routing with escalation and cost accounting.
* :mod:`~critica.aggregate.spec` — the typed config, its CLI spellings and :func:`wrap_critic`.
"""

from critica.aggregate.cascade import Cascade, CascadeStats
from critica.aggregate.panel import ExamResult, Gold, Panel, gold_label, matches_gold, qualification_exam
from critica.aggregate.reducers import (
    Reducer,
    disagreement,
    filter_top,
    majority,
    mean_probability,
    score_sum,
    weighted_majority,
)
from critica.aggregate.spec import ScalingConfig, scaling_config, wrap_critic
from critica.aggregate.voting import AdaptiveVotingCritic, MetaFilteredCritic, SampleCache, VotingCritic

__all__ = [
    "AdaptiveVotingCritic",
    "Cascade",
    "CascadeStats",
    "ExamResult",
    "Gold",
    "MetaFilteredCritic",
    "Panel",
    "Reducer",
    "SampleCache",
    "ScalingConfig",
    "VotingCritic",
    "disagreement",
    "filter_top",
    "gold_label",
    "majority",
    "matches_gold",
    "mean_probability",
    "qualification_exam",
    "scaling_config",
    "score_sum",
    "weighted_majority",
    "wrap_critic",
]
