"""Evidence grounding (RAG): is each claim of a response supported by the evidence passages?

A response is split into claims (its steps, each split into sentences); each evidence passage is split into
sentences, addressed as ``[passage, sentence]`` (both 0-based). Each claim is split into clauses (at commas,
semicolons, dashes and clause-joining words), and every clause is scored against the evidence:

* **lexical coverage** — the share of the clause's content words (stop words dropped, light stemming, month
  abbreviations expanded), weighted by rarity within the evidence (idf), found in its two best-matching sentences;
* **semantic similarity** — the highest cosine similarity between the clause and any evidence sentence, from the
  offline all-MiniLM-L6-v2 model (:mod:`critica.verifiers.embed`), when installed;
* **numbers and named entities** — a number (``1,200``, ``41.3%``, a year, ``fifty``) or a capitalised name in the
  clause that appears nowhere in the evidence is strong evidence against support: the clause counts as unsupported
  whatever its other scores.

A clause is supported when ``w·similarity + (1-w)·coverage`` reaches a threshold and none of its numbers or most of
its names are missing. The claim's label follows from the weighted share of supported clauses: ``supported`` when
(nearly) all are and little of the claim's vocabulary is absent from the whole evidence, ``not_supported`` when
(nearly) none are, ``partially_supported`` otherwise. The thresholds were
calibrated once on the WiCE *dev* split (``python -m critica.bench.wice calibrate``) and are reported on its *test*
split; they are general constants, never tied to items.

Findings: ``not_supported`` → ``incorrect``; ``supported`` → ``correct``; ``partially_supported`` → ``unchecked``
by default (``partial_as="incorrect"`` to flag it), because a partial label says some detail could not be found,
not that the claim is wrong, and a verifier's flags must be precise. ``details`` holds the label, the cited
sentences (``[passage, sentence]`` pairs), every score and the method (``lexical+embedding`` or ``lexical``).
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Literal

from critica.inputs.steps import split_steps
from critica.types import Item, StepVerdict
from critica.verifiers.base import Finding
from critica.verifiers.embed import Embedder, default_embedder

__all__ = [
    "EvidenceLabel",
    "EvidenceThresholds",
    "ClauseScore",
    "ClaimAssessment",
    "EvidenceVerifier",
    "split_sentences",
    "label_claim",
]


class EvidenceLabel(str, Enum):  # noqa: UP042 - same style as critica.types
    """How far the evidence supports a claim (WiCE's three labels)."""

    SUPPORTED = "supported"
    PARTIALLY_SUPPORTED = "partially_supported"
    NOT_SUPPORTED = "not_supported"


@dataclass(frozen=True)
class EvidenceThresholds:
    """Decision constants; the defaults were calibrated on WiCE dev (see the module docstring).

    Attributes:
        weight: Weight of embedding similarity against lexical coverage in a clause's support (ignored, i.e. 0,
            when no embedder is available).
        clause: A clause whose combined support reaches this is supported.
        supported: Share of supported clause weight at or above which the claim is ``supported``.
        not_supported: Share at or below which the claim is ``not_supported``.
        entity_missing: A clause with at least this share of its names missing from the evidence is unsupported.
        uncovered: A claim whose content words are absent from the whole evidence by more than this (idf-weighted)
            share cannot be ``supported`` (at most ``partially_supported``).
    """

    weight: float = 0.5
    clause: float = 0.55
    supported: float = 0.99
    not_supported: float = 0.25
    entity_missing: float = 0.5
    uncovered: float = 1.0


# Calibrated on WiCE dev (macro-F1 0.595 there) by ``python -m critica.bench.wice calibrate``.
DEFAULT_THRESHOLDS = EvidenceThresholds(weight=0.75, clause=0.5, supported=0.9, not_supported=0.15,
                                        entity_missing=0.67, uncovered=0.4)
# Calibrated on WiCE dev (macro-F1 0.580 there) by ``python -m critica.bench.wice calibrate``.
LEXICAL_THRESHOLDS = EvidenceThresholds(weight=0.0, clause=0.35, supported=0.85, not_supported=0.15, uncovered=0.4)

# Input limits keep one hostile item from stalling a batch; what was cut is recorded in the details.
_MAX_SENTENCES = 3000
_MAX_SENTENCE_CHARS = 2000
_MAX_CLAIM_CHARS = 4000

_STOP = frozenset(
    """a an the and or but nor of to in on at by for with from as into onto upon about over under after before
    between through during without within among against than then that this these those there here it its it's is
    are was were be been being am has have had having do does did done can could will would shall should may might
    must not no so such very also just only both each either neither other another any some all most more many much
    few which who whom whose what when where why how he she they them his her their theirs our ours we us you your
    i me my mine him himself herself itself themselves one s t said says well while whereas since until unless
    if because though although yet up down out off again further once include includes including included
    currently became become becomes later first""".split()
)
_MONTHS = {
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june", "jul": "july",
    "aug": "august", "sep": "september", "sept": "september", "oct": "october", "nov": "november", "dec": "december",
}
_MONTH_NAMES = frozenset(_MONTHS.values()) | {"may"}
_NUMBER_WORDS = {
    w: str(i) for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
     "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000"}
_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_CLAUSE_SPLIT = re.compile(
    r"\s*[;:()\[\]]\s*|,\s+|\s+[–—-]\s+|\s+(?:and|but|while|whereas|which|who|where|although|though|after|before)\s+",
    re.IGNORECASE,
)
_MIN_CLAUSE_TOKENS = 3


def split_sentences(text: str, _depth: int = 0) -> list[str]:
    """Split a passage into sentences with :func:`critica.inputs.steps.split_steps`, applied until it is stable."""
    pieces = split_steps(text)
    if len(pieces) <= 1 or _depth >= 3:
        return pieces
    out: list[str] = []
    for p in pieces:
        out.extend(split_sentences(p, _depth + 1))
    return out


def _stem(word: str) -> str:
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + repl
    return word


def _number(tok: str) -> str | None:
    if tok[0].isdigit():
        raw = tok.replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            return None
        return str(int(value)) if value == int(value) else repr(value)
    return _NUMBER_WORDS.get(tok.lower())


@dataclass
class _Text:
    """A sentence reduced to what matching needs."""

    words: set[str]
    """Stemmed content words (numbers included in normalised form)."""
    numbers: set[str]
    names: set[str]
    """Lower-cased capitalised words that are not the sentence's first word (proper-noun candidates)."""


def _analyse(text: str) -> _Text:
    words: set[str] = set()
    numbers: set[str] = set()
    names: set[str] = set()
    for k, m in enumerate(_TOKEN.finditer(text)):
        tok = m.group(0)
        low = tok.lower().replace("’", "'")
        if low.endswith("'s"):
            low = low[:-2]
        num = _number(tok)
        if num is not None:
            numbers.add(num)
            words.add(num)
            continue
        low = _MONTHS.get(low.rstrip("."), low)
        if low in _STOP or len(low) < 2:
            continue
        if k > 0 and tok[0].isupper() and low not in _MONTH_NAMES:
            names.add(low)
        words.add(_stem(low))
    return _Text(words, numbers, names)


def _clauses(claim: str) -> list[str]:
    parts = [p.strip() for p in _CLAUSE_SPLIT.split(claim) if p and p.strip()]
    merged: list[str] = []
    for p in parts:
        # Fragments too short to carry a claim of their own ("in 2004") stay attached to their neighbour.
        if merged and len(_analyse(p).words) < _MIN_CLAUSE_TOKENS:
            merged[-1] = f"{merged[-1]}, {p}"
        else:
            merged.append(p)
    if len(merged) > 1 and len(_analyse(merged[0]).words) < _MIN_CLAUSE_TOKENS:
        merged[1] = f"{merged[0]}, {merged[1]}"
        merged.pop(0)
    return merged or [claim]


@dataclass
class ClauseScore:
    """How well one clause of a claim is supported."""

    text: str
    weight: float
    """Idf weight of the clause's content words (its share of the claim)."""
    coverage: float
    """Idf-weighted share of its content words found in its two best lexical matches."""
    similarity: float | None
    """Highest embedding cosine with an evidence sentence (None without an embedder)."""
    missing_numbers: list[str]
    missing_names: list[str]
    names: int
    """How many name candidates the clause has."""
    lexical_best: list[int]
    """Indices (into the flattened evidence sentences) of the best lexical matches."""
    semantic_best: int | None
    absent: float = 0.0
    """Idf-weighted share of its content words found nowhere in the evidence."""


@dataclass
class ClaimAssessment:
    """The verdict on one claim, with everything it was based on."""

    claim: str
    label: EvidenceLabel
    citations: list[tuple[int, int]]
    """``(passage, sentence)`` pairs of the sentences that support its supported clauses."""
    supported_share: float
    """Weighted share of clauses judged supported."""
    method: str
    """``lexical+embedding`` or ``lexical``."""
    clauses: list[ClauseScore] = field(default_factory=list)
    truncated: bool = False
    """True when the evidence exceeded the input limits and only its first part was used."""

    def to_details(self) -> dict[str, Any]:
        """JSON-ready details for a :class:`~critica.verifiers.base.Finding`."""
        return {
            "label": self.label.value,
            "claim": self.claim,
            "citations": [list(c) for c in self.citations],
            "supported_share": round(self.supported_share, 4),
            "method": self.method,
            "truncated": self.truncated,
            "clauses": [
                {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(c).items()} for c in self.clauses
            ],
        }


def _clause_supported(c: ClauseScore, t: EvidenceThresholds) -> bool:
    if c.missing_numbers:
        return False
    if c.names and len(c.missing_names) / c.names >= t.entity_missing:
        return False
    w = t.weight if c.similarity is not None else 0.0
    support = w * (c.similarity or 0.0) + (1 - w) * c.coverage
    return support >= t.clause


def label_claim(clauses: list[ClauseScore], t: EvidenceThresholds) -> tuple[EvidenceLabel, float, list[bool]]:
    """Label a claim from its clause scores: pure, so thresholds can be calibrated on cached scores.

    Returns:
        The label, the weighted share of supported clauses, and which clauses were supported.
    """
    ok = [_clause_supported(c, t) for c in clauses]
    total = sum(c.weight for c in clauses) or 1.0
    share = sum(c.weight for c, good in zip(clauses, ok, strict=True) if good) / total
    absent = sum(c.weight * c.absent for c in clauses) / total
    if share >= t.supported and absent <= t.uncovered:
        label = EvidenceLabel.SUPPORTED
    elif share <= t.not_supported:
        label = EvidenceLabel.NOT_SUPPORTED
    else:
        label = EvidenceLabel.PARTIALLY_SUPPORTED
    return label, share, ok


class EvidenceVerifier:
    """Labels each claim of a response ``supported`` / ``partially_supported`` / ``not_supported``.

    Args:
        embedder: ``"auto"`` (the offline MiniLM model when installed, else none), an :class:`Embedder`, or None for
            lexical, number and entity matching only.
        thresholds: Decision constants; default: the calibrated ones for the method in use.
        partial_as: Finding verdict for a ``partially_supported`` claim: ``"unchecked"`` (default) or ``"incorrect"``.
        embed_top_k: Embed only this many evidence sentences per claim, those with the most content words in
            common with it (bounds the cost on long pages).
    """

    name = "evidence"

    def __init__(
        self,
        *,
        embedder: Embedder | Literal["auto"] | None = "auto",
        thresholds: EvidenceThresholds | None = None,
        partial_as: Literal["unchecked", "incorrect"] = "unchecked",
        embed_top_k: int = 32,
    ) -> None:
        self.embed_top_k = max(1, embed_top_k)
        self.embedder: Embedder | None = default_embedder() if embedder == "auto" else embedder
        self.thresholds = thresholds or (DEFAULT_THRESHOLDS if self.embedder is not None else LEXICAL_THRESHOLDS)
        self.partial_as = StepVerdict(partial_as)

    @property
    def method(self) -> str:
        """``lexical+embedding`` when an embedder is used, else ``lexical``."""
        return "lexical" if self.embedder is None else "lexical+embedding"

    # -- scoring ---------------------------------------------------------------------------------------------

    def score_clauses(self, claim: str, sentences: list[str]) -> list[ClauseScore]:
        """Score every clause of ``claim`` against the evidence ``sentences`` (flattened, in order)."""
        claim = claim[:_MAX_CLAIM_CHARS]
        texts = [_analyse(s) for s in sentences]
        all_words: set[str] = set().union(*(t.words for t in texts)) if texts else set()
        all_numbers: set[str] = set().union(*(t.numbers for t in texts)) if texts else set()
        # Names are checked against every word of the evidence, capitalised or not (titles, headers, lower-case
        # web text), so a name only counts as missing when it truly appears nowhere.
        all_lower: set[str] = set()
        for s in sentences:
            all_lower.update(m.group(0).lower().replace("’", "'").removesuffix("'s") for m in _TOKEN.finditer(s))
        n = len(texts) + 1
        df: dict[str, int] = {}
        for t in texts:
            for w in t.words:
                df[w] = df.get(w, 0) + 1

        def idf(w: str) -> float:
            return math.log(1 + n / (1 + df.get(w, 0)))

        clause_texts = _clauses(claim)
        sims: list[list[float]] | None = None
        if self.embedder is not None and sentences:
            # Only the sentences sharing the most (idf-weighted) content with the claim are embedded: support
            # almost always shares some vocabulary, and this bounds the CPU cost per claim whatever the page size.
            whole = _analyse(claim).words
            overlap = [sum(idf(w) for w in whole & t.words) for t in texts]
            candidates = sorted(range(len(texts)), key=lambda j: -overlap[j])[: self.embed_top_k]
            cand_sims = self.embedder.similarity(clause_texts, [sentences[j] for j in candidates])
            sims = [[0.0] * len(texts) for _ in clause_texts]
            for ci, row in enumerate(cand_sims):
                for j, value in zip(candidates, row, strict=True):
                    sims[ci][j] = value
        out: list[ClauseScore] = []
        for ci, ctext in enumerate(clause_texts):
            a = _analyse(ctext)
            weights = {w: idf(w) for w in a.words}
            total = sum(weights.values())
            scores = [sum(weights[w] for w in a.words & t.words) for t in texts]
            ranked = [j for j in sorted(range(len(texts)), key=lambda j: -scores[j])[:2] if scores[j] > 0]
            covered = set().union(*(a.words & texts[j].words for j in ranked)) if ranked else set()
            coverage = sum(weights[w] for w in covered) / total if total else 0.0
            similarity = None
            semantic_best = None
            if sims is not None and sims[ci]:
                semantic_best = max(range(len(sims[ci])), key=sims[ci].__getitem__)
                similarity = max(0.0, min(1.0, float(sims[ci][semantic_best])))
            out.append(ClauseScore(
                text=ctext, weight=total, coverage=coverage, similarity=similarity,
                missing_numbers=sorted(a.numbers - all_numbers),
                missing_names=sorted(x for x in a.names if x not in all_lower),
                names=len(a.names), lexical_best=ranked, semantic_best=semantic_best,
                absent=sum(weights[w] for w in a.words - all_words) / total if total else 0.0,
            ))
        return out

    def assess(self, claim: str, passages: list[str]) -> ClaimAssessment:
        """Label one claim against evidence passages (each split into sentences)."""
        index: list[tuple[int, int]] = []
        sentences: list[str] = []
        for p, passage in enumerate(passages):
            for s, sent in enumerate(split_sentences(passage)):
                index.append((p, s))
                sentences.append(sent[:_MAX_SENTENCE_CHARS])
        return self.assess_sentences(claim, sentences, index)

    def assess_sentences(
        self, claim: str, sentences: list[str], index: list[tuple[int, int]] | None = None
    ) -> ClaimAssessment:
        """Label one claim against already-split evidence sentences, addressed by ``index`` (default ``(0, i)``)."""
        index = index or [(0, i) for i in range(len(sentences))]
        truncated = len(sentences) > _MAX_SENTENCES
        sentences, index = sentences[:_MAX_SENTENCES], index[:_MAX_SENTENCES]
        clauses = self.score_clauses(claim, sentences)
        label, share, ok = label_claim(clauses, self.thresholds)
        cited: list[tuple[int, int]] = []
        for c, good in zip(clauses, ok, strict=True):
            if not good:
                continue
            # Cite what made the clause supported: its best lexical match, and its closest sentence in meaning
            # when similarity alone would clear the bar.
            best = list(c.lexical_best[:1])
            if c.semantic_best is not None and (c.similarity or 0.0) >= self.thresholds.clause:
                best.append(c.semantic_best)
            for j in best:
                if index[j] not in cited:
                    cited.append(index[j])
        return ClaimAssessment(claim=claim, label=label, citations=sorted(cited), supported_share=share,
                               method=self.method, clauses=clauses, truncated=truncated)

    # -- Verifier protocol -----------------------------------------------------------------------------------

    def check(self, item: Item, steps: list[str]) -> list[Finding]:
        """One finding per checkable claim (sentence) of each step; none when the item has no evidence."""
        if not item.evidence:
            return []
        passages_index: list[tuple[int, int]] = []
        sentences: list[str] = []
        for p, passage in enumerate(item.evidence):
            for s, sent in enumerate(split_sentences(passage)):
                passages_index.append((p, s))
                sentences.append(sent[:_MAX_SENTENCE_CHARS])
        findings: list[Finding] = []
        for step_i, step in enumerate(steps):
            for claim in split_sentences(step):
                if len(_analyse(claim).words) < _MIN_CLAUSE_TOKENS:
                    continue  # greetings, connectives, bare numbers: nothing to ground
                try:
                    a = self.assess_sentences(claim, sentences, passages_index)
                except Exception as e:  # noqa: BLE001 - a verifier must not raise on any text
                    findings.append(Finding("evidence", StepVerdict.UNCHECKED, f"could not check claim: {e}",
                                            step=step_i, details={"claim": claim, "error": repr(e)}))
                    continue
                findings.append(self._finding(step_i, a))
        return findings

    async def acheck(self, item: Item, steps: list[str]) -> list[Finding]:
        """:meth:`check` in a worker thread, so embedding never blocks the event loop."""
        return await asyncio.to_thread(self.check, item, steps)

    def _finding(self, step: int, a: ClaimAssessment) -> Finding:
        cites = ", ".join(f"passage {p + 1} sentence {s + 1}" for p, s in a.citations) or "no sentence"
        short = a.claim if len(a.claim) <= 120 else a.claim[:117] + "..."
        if a.label is EvidenceLabel.SUPPORTED:
            return Finding("evidence", StepVerdict.CORRECT, f'"{short}" is supported by {cites}.', step, a.to_details())
        missing = sorted({x for c in a.clauses for x in c.missing_numbers + c.missing_names})
        why = f" ({', '.join(missing[:6])} not found in the evidence)" if missing else ""
        unsupported = [c.text for c, ok in zip(a.clauses, label_claim(a.clauses, self.thresholds)[2], strict=True) if not ok]
        if a.label is EvidenceLabel.NOT_SUPPORTED:
            return Finding("evidence", StepVerdict.INCORRECT,
                           f'"{short}" is not supported by the evidence{why}.', step, a.to_details())
        part = "; ".join(f'"{u}"' for u in unsupported[:3])
        return Finding("evidence", self.partial_as,
                       f'"{short}" is only partially supported (by {cites}); unsupported: {part}{why}.',
                       step, a.to_details())
