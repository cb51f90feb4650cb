"""MetaCritique: precision, recall and F1 of a critique by atomic information units (AIUs).

Sun et al., "The Critique of Critique" (ACL 2024 Findings, arXiv:2401.04518). A critique is split into AIUs;
**Meta-Precision** is the share of them that are factual (judged against the question, the response and the
reference answer), **Meta-Recall** the share of the reference critique's AIUs that the critique covers, and
**Meta-F1** their harmonic mean. Two judges: :class:`OfflineMetaJudge` (critic ``metacritique``, no model) and
:class:`LLMMetaJudge` (critic ``metacritique-llm``, the paper's prompts over any backend). The metric itself is in
:mod:`critica.metacritique.score`.

>>> from critica import Item, meta_critique
>>> item = Item(id="1", question="2+2?", response="5", reference_answer="4")
>>> r = meta_critique(item, "The answer is wrong. The correct answer is 4.",
...                   reference_critique="The answer 5 is incorrect; 2+2 is 4.")  # doctest: +SKIP
>>> r.precision, r.recall, r.f1  # doctest: +SKIP
"""

from __future__ import annotations

from critica.metacritique.aius import split_aius
from critica.metacritique.base import META_KEY, MetaInput, MetaJudge
from critica.metacritique.llm import LLMMetaJudge
from critica.metacritique.offline import OfflineMetaJudge
from critica.metacritique.score import meta_f1, paper_scores
from critica.types import Item, MetaCritiqueResult

__all__ = ["meta_critique", "ameta_critique", "OfflineMetaJudge", "LLMMetaJudge", "MetaJudge", "MetaInput", "META_KEY", "split_aius", "meta_f1",
           "paper_scores"]


async def ameta_critique(item: Item, critique: str, *, reference_critique: str | None = None,
                         critique_aius: list[str] | None = None, reference_aius: list[str] | None = None,
                         judge: MetaJudge | None = None) -> MetaCritiqueResult:
    """Score ``critique`` of ``item`` by AIUs (async). ``judge`` defaults to the offline judge.

    Args:
        item: The question, the response and (ideally) the reference answer.
        critique: The critique to judge.
        reference_critique: The reference critique recall is measured against; without one the LLM judge writes
            one from the reference answer, and the offline judge leaves recall unscored.
        critique_aius, reference_aius: AIUs to use as they are instead of extracting them.
        judge: An :class:`OfflineMetaJudge`, an :class:`LLMMetaJudge` or any :class:`MetaJudge`.
    """
    if judge is None:
        judge = OfflineMetaJudge()
    return await judge.judge(item, MetaInput(critique, reference_critique, critique_aius, reference_aius))


def meta_critique(item: Item, critique: str, *, reference_critique: str | None = None,
                  critique_aius: list[str] | None = None, reference_aius: list[str] | None = None,
                  judge: MetaJudge | None = None) -> MetaCritiqueResult:
    """:func:`ameta_critique` from synchronous code (not inside a running event loop)."""
    import asyncio

    return asyncio.run(ameta_critique(item, critique, reference_critique=reference_critique,
                                      critique_aius=critique_aius, reference_aius=reference_aius, judge=judge))
