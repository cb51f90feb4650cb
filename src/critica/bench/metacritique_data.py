"""The MetaCritique annotation data (Sun et al., ACL 2024 Findings): 100 items × 3 human-annotated critiques.

``annotation_data.json`` (GAIR-NLP/MetaCritique, see the data folder's SOURCE.md) holds per item the question, the
response, GPT-4's reference answer and reference critique with its AIUs, and three critiques — ``human_critique``
(Shepherd's human critique), ``llm1_critique`` and ``llm2_critique`` — each with its AIUs, a factuality label per
AIU (``precision_labels``), a coverage label per *reference* AIU (``recall_labels``) and the stored
``precision_score`` / ``recall_score`` / ``f1_score``. The two LLM critiques are not from one model each: every
record names its own model (llama-2-70b/13b-chat, vicuna-13b/33b, WizardLM-13b/70b, selfee-13b, gpt-3.5-turbo).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from critica.errors import UserError
from critica.metacritique.score import paper_scores
from critica.types import Item

__all__ = ["SOURCES", "AnnotatedCritique", "load_annotations", "reproduce_scores"]

SOURCES: dict[str, str] = {"human": "human_critique", "llm1": "llm1_critique", "llm2": "llm2_critique"}
"""Split name → field of ``annotation_data.json``."""


@dataclass
class AnnotatedCritique:
    """One human-annotated critique of one item."""

    id: str
    """``<index>:<source>``."""
    index: int
    """The item's ``index`` (cross-validation folds and bootstrap resamples keep an item's critiques together)."""
    source: str
    model: str | None
    question: str
    response: str
    reference_answer: str
    reference_critique: str
    reference_aius: list[str]
    critique: str
    aius: list[str]
    precision_labels: list[bool]
    recall_labels: list[bool]
    stored: tuple[Any, Any, Any]
    """The stored ``(precision_score, recall_score, f1_score)`` exactly as in the file (``f1_score`` may be int 0)."""

    def item(self, *, given_aius: bool) -> Item:
        """The item a MetaCritique critic judges (the critique and reference critique in its metadata)."""
        md: dict[str, Any] = {"critique": self.critique, "reference_critique": self.reference_critique,
                              "source": self.source, "index": self.index}
        if given_aius:
            md["critique_aius"] = list(self.aius)
            md["reference_aius"] = list(self.reference_aius)
        return Item(id=self.id, question=self.question, response=self.response,
                    reference_answer=self.reference_answer, metadata=md)


def load_annotations(data_dir: Path, *, sources: list[str] | None = None,
                     limit: int | None = None) -> list[AnnotatedCritique]:
    """Read ``metacritique/annotation_data.json``: the annotated critiques of the first ``limit`` items (all by
    default), item by item, in the order of ``sources``.

    Raises:
        UserError: the file is missing or malformed, or a source is unknown.
    """
    chosen = list(sources or SOURCES)
    unknown = [s for s in chosen if s not in SOURCES]
    if unknown:
        raise UserError(f"unknown MetaCritique split(s) {', '.join(unknown)}; available: {', '.join(SOURCES)}")
    path = Path(data_dir) / "metacritique" / "annotation_data.json"
    if not path.is_file():
        raise UserError(f"MetaCritique data not found: {path} (set --data-dir or CRITICA_DATA)")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        out: list[AnnotatedCritique] = []
        for row in rows[:limit] if limit is not None else rows:
            ref = row["gpt4_critique"]
            for source in chosen:
                c = row[SOURCES[source]]
                if len(c["recall_labels"]) != len(ref["aius"]) or len(c["precision_labels"]) != len(c["aius"]):
                    raise ValueError(f"item {row['index']} {source}: labels do not match the AIUs")
                out.append(AnnotatedCritique(
                    id=f"{row['index']}:{source}", index=int(row["index"]), source=source, model=c.get("model"),
                    question=row["question"], response=row["response"], reference_answer=row["gpt4_answer"],
                    reference_critique=ref["critique"], reference_aius=list(ref["aius"]), critique=c["critique"],
                    aius=list(c["aius"]), precision_labels=[bool(v) for v in c["precision_labels"]],
                    recall_labels=[bool(v) for v in c["recall_labels"]],
                    stored=(c["precision_score"], c["recall_score"], c["f1_score"])))
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{path}: unexpected layout ({type(e).__name__}: {e})") from None
    return out


def reproduce_scores(records: list[AnnotatedCritique]) -> list[dict[str, Any]]:
    """Per critique: P/R/F1 recomputed by :func:`critica.metacritique.score.paper_scores` from the human labels,
    the stored ones, and whether they agree exactly (``==`` on every figure, and an integer F1 exactly where the
    paper's rule returns the integer 0)."""
    out = []
    for r in records:
        p, rec, f1 = paper_scores(r.precision_labels, r.recall_labels)
        sp, sr, sf = r.stored
        exact = p == sp and rec == sr and f1 == sf and isinstance(f1, int) == isinstance(sf, int)
        out.append({"id": r.id, "source": r.source, "precision": p, "recall": rec, "f1": f1,
                    "stored": [sp, sr, sf], "exact": exact})
    return out
