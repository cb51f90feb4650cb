"""Critique-driven alignment (CDA) for retrieval-augmented answers, after AlignRAG (Wei et al., 2025,
"AlignRAG: Leveraging Critique Learning for Evidence-Sensitive Retrieval-Augmented Reasoning", arXiv:2504.14858).

AlignRAG treats retrieval-augmented generation as retrieval-augmented *reasoning*: the danger is reasoning that
does not follow the retrieved evidence (ignoring a relevant passage, trusting an irrelevant one, claiming what no
passage says). Its test-time CDA loop, as implemented here:

1. The generator's reasoning over the question and passages (``item.response``; or drafted with the passages
   when ``draft=True``) is the starting rationale.
2. An evidence-aware critic (by default the ``evidence`` protocol) critiques it: which steps are misaligned with
   the passages, citing them (:class:`~critica.types.Critique` ``steps``, ``explanation``, ``metadata``).
3. The generator rewrites the reasoning to fit the evidence (:meth:`Generator.align`), citing passages.
4. Repeat until the critic finds no misalignment or the round limit; the trajectory records every round.

This is :func:`critica.loops.revise.refine` with the alignment rewrite as the reviser, so the stop rules and the
regression guard are the same.
"""

from __future__ import annotations

import time
from typing import Any

from critica.critics.base import Critic
from critica.errors import BackendError, UserError
from critica.loops.generate import Generator
from critica.loops.revise import Trajectory, draft_failed, refine
from critica.types import Item

__all__ = ["align"]


async def align(item: Item, critic: Critic, generator: Generator, *, max_rounds: int = 2, draft: bool = False,
                **options: Any) -> Trajectory:
    """Run critique-driven alignment on one item with retrieved passages.

    Args:
        item: Question, passages (``item.evidence``, required) and the reasoning to align (``item.response``).
        critic: An evidence-aware critic (e.g. ``build_critic("evidence", caller)``); any critic works.
        generator: Rewrites the reasoning to fit the passages.
        max_rounds: Most rewrites.
        draft: Have the generator write the first rationale from the question and passages.
        **options: Further :func:`~critica.loops.revise.refine` options (``check_final``, ``on_unscored``,
            ``budget`` …).

    Raises:
        UserError: the item has no retrieved passages.
    """
    if not item.evidence:
        raise UserError(f"item {item.id!r} has no retrieved passages ('evidence'); alignment needs them")
    start_item = item
    if draft:
        # The draft must see the passages, so it is written here and the loop starts from it.
        start = time.perf_counter()
        try:
            drafted = (await generator.answer(item.question, evidence=item.evidence, item=item))[0]
        except BackendError as e:
            return draft_failed(item, getattr(critic, "name", "critic"), generator.name, e, time.perf_counter() - start)
        start_item = item.model_copy(update={"response": drafted.text, "steps": None})
    trajectory = await refine(start_item, critic, generator, max_rounds=max_rounds, reviser=generator.align, **options)
    trajectory.metadata["mode"] = "cda"
    trajectory.metadata["passages"] = len(item.evidence)
    return trajectory
