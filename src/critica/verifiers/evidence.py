"""Evidence grounding (RAG): is each claim of a response supported by the evidence passages?

A response is split into claims (its steps, each split into sentences); each evidence passage is split into
sentences, addressed as ``[passage, sentence]`` (both 0-based). A claim is labelled ``supported`` (every part of it
is backed by the evidence), ``partially_supported`` (some parts are) or ``not_supported`` (none is), as in WiCE
(Kamoi et al., EMNLP 2023).

**Signals.** The claim, and each of its clauses (split at commas, semicolons, dashes and clause-joining words), is
scored against the evidence sentences:

* **lexical coverage** — the idf-weighted share of its content words (stop words dropped, light stemming, month
  abbreviations expanded, number words as digits) found in its best sentence, its three best sentences together,
  and anywhere in the evidence;
* **semantic similarity** — cosine similarity with the evidence sentences from the offline all-MiniLM-L6-v2 model
  (:mod:`critica.verifiers.embed`), when installed: the best one and the mean of the three best;
* **numbers and named entities** — the share of its numbers (``1,200``, ``41.3%``, a year, ``fifty``) and of its
  capitalised names that appear nowhere in the evidence;
* **negation** — whether the claim is negated and its best sentence is not (or the reverse).

**Decision.** These become a short vector of claim features (:data:`FEATURES`): whole-claim coverage and
similarity say whether anything is supported, the *weakest clause* says whether everything is (WiCE's
``supported`` needs every part backed). A small ordinal logistic regression (:class:`LabelModel`) turns them into one
support score and two cut points into the label (and the three label probabilities). Its coefficients are constants below, fitted
once on the WiCE *dev* split (``python -m critica.bench.wice calibrate``, :func:`critica.bench.wice.fit_label_model`)
and reported on its *test* split; nothing in them refers to particular items.

**Citations.** A clause is *grounded* when its coverage (or, with embeddings, its blend of coverage and similarity)
clears a fixed bar and none of its numbers and at most a few of its names are missing; the claim cites the best
lexical match (and, when it alone clears the bar, the closest sentence in meaning) of each grounded clause — of
every clause when the claim is labelled ``supported``.

Findings: ``not_supported`` → ``incorrect``; ``supported`` → ``correct``; ``partially_supported`` → ``unchecked``
by default (``partial_as="incorrect"`` to flag it), because a partial label says some detail could not be found,
not that the claim is wrong, and a verifier's flags must be precise. ``details`` holds the label, its
probabilities, the cited sentences (``[passage, sentence]`` pairs), the features, every clause's scores and the
method (``lexical+embedding`` or ``lexical``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Literal

from critica.budget import checkpoint
from critica.inputs.steps import split_steps
from critica.types import Item, StepVerdict
from critica.verifiers.base import Finding
from critica.verifiers.embed import Embedder, default_embedder

__all__ = [
    "EvidenceLabel",
    "FEATURES",
    "LabelModel",
    "ClauseRule",
    "ClauseScore",
    "ClaimAssessment",
    "EvidenceVerifier",
    "split_sentences",
    "EMBEDDING_MODEL",
    "LEXICAL_MODEL",
]


class EvidenceLabel(str, Enum):  # noqa: UP042 - same style as critica.types
    """How far the evidence supports a claim (WiCE's three labels); prints as its value, as critica.types' enums."""

    def __str__(self) -> str:
        return str(self.value)

    __format__ = str.__format__

    SUPPORTED = "supported"
    PARTIALLY_SUPPORTED = "partially_supported"
    NOT_SUPPORTED = "not_supported"


FEATURES: tuple[str, ...] = (
    "coverage_best",
    "coverage_top3",
    "coverage_all",
    "clause_coverage_min",
    "clause_coverage_mean",
    "similarity_max",
    "similarity_top3",
    "clause_similarity_min",
    "grounded_share",
    "missing_numbers",
    "missing_names",
    "absent_words",
    "clause_absent_max",
    "negation_mismatch",
)
"""Every claim feature the verifier computes (a :class:`LabelModel` uses a subset):

* ``coverage_best`` / ``coverage_top3`` / ``coverage_all``: idf-weighted share of the claim's content words found in
  its best-matching sentence / in its three best together / anywhere in the evidence.
* ``clause_coverage_min`` / ``clause_coverage_mean``: lowest / idf-weighted mean clause coverage (each clause's
  words found in its two best sentences).
* ``similarity_max`` / ``similarity_top3``: the claim's highest cosine with an evidence sentence / mean of its three
  highest; ``clause_similarity_min``: the lowest over clauses of each clause's highest cosine (all 0 without
  embeddings).
* ``grounded_share``: idf-weighted share of clauses that are grounded (see :class:`ClauseRule`).
* ``missing_numbers`` / ``missing_names``: share of the claim's numbers / names found nowhere in the evidence.
* ``absent_words``: log(1 + the claim's content words found nowhere in the evidence); ``clause_absent_max``: the
  highest idf-weighted share of a clause's words found nowhere.
* ``negation_mismatch``: 1 when exactly one of the claim and its best sentence is negated.
"""


@dataclass(frozen=True)
class LabelModel:
    """Ordinal logistic regression over standardised claim features.

    WiCE's labels are ordered (``not_supported`` < ``partially_supported`` < ``supported``), so one support score
    ``s = Σ_f weight_f · (x_f − mean_f) / scale_f`` and two cut points decide: ``s < cuts[0]`` → ``not_supported``,
    ``s < cuts[1]`` → ``partially_supported``, else ``supported``; ``P(label ≥ k) = σ(s − cuts[k−1])``. One
    weight per feature (instead of one per feature and label) halves what must be fitted on a small calibration
    set. Pure Python: no numpy needed to apply it.
    """

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    cuts: tuple[float, float]

    def __post_init__(self) -> None:
        n = len(self.features)
        if len(self.mean) != n or len(self.scale) != n or len(self.weights) != n:
            raise ValueError("LabelModel: mean, scale and weights need one value per feature")
        if len(self.cuts) != 2 or not self.cuts[0] <= self.cuts[1]:
            raise ValueError("LabelModel: cuts must be two ordered cut points")
        unknown = set(self.features) - set(FEATURES)
        if unknown:
            raise ValueError(f"LabelModel: unknown features {sorted(unknown)}")

    def score(self, x: Mapping[str, float]) -> float:
        """The claim's support score (a missing feature counts as its mean)."""
        return sum(w * (x.get(f, m) - m) / (sc or 1.0)
                   for f, m, sc, w in zip(self.features, self.mean, self.scale, self.weights, strict=True))

    def probabilities(self, x: Mapping[str, float]) -> dict[EvidenceLabel, float]:
        """Label probabilities for a claim's features."""
        s = self.score(x)
        at_least_partial, supported = _sigmoid(s - self.cuts[0]), _sigmoid(s - self.cuts[1])
        return {EvidenceLabel.SUPPORTED: supported,
                EvidenceLabel.PARTIALLY_SUPPORTED: at_least_partial - supported,
                EvidenceLabel.NOT_SUPPORTED: 1.0 - at_least_partial}

    def predict(self, x: Mapping[str, float]) -> EvidenceLabel:
        """The label whose interval holds the claim's score."""
        s = self.score(x)
        if s < self.cuts[0]:
            return EvidenceLabel.NOT_SUPPORTED
        return EvidenceLabel.PARTIALLY_SUPPORTED if s < self.cuts[1] else EvidenceLabel.SUPPORTED


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


@dataclass(frozen=True)
class ClauseRule:
    """When a single clause counts as grounded (for citations, messages and the ``grounded_share`` feature).

    Attributes:
        weight: Weight of embedding similarity against lexical coverage (0 when no embedder is used).
        bar: A clause whose blended support reaches this is grounded...
        entity_missing: ...unless at least this share of its names, or any of its numbers, is missing.
    """

    weight: float = 0.75
    bar: float = 0.5
    entity_missing: float = 0.67


# Chosen on WiCE dev by the earlier threshold calibration (the clause bar that best separated the labels there).
EMBEDDING_CLAUSE_RULE = ClauseRule(weight=0.75, bar=0.5, entity_missing=0.67)
LEXICAL_CLAUSE_RULE = ClauseRule(weight=0.0, bar=0.35, entity_missing=0.5)


# -- fitted label models ---------------------------------------------------------------------------------------
# Fitted on WiCE dev only by ``python -m critica.bench.wice calibrate`` (critica.bench.wice.select_label_model):
# the feature set, L2 penalty and class weight were chosen by repeated 5-fold cross-validation on dev with each
# Wikipedia article's claims kept in one fold (best mean of accuracy and macro-F1), then the model was refitted on
# all 269 dev claims. The printed constants are pasted here unchanged; rerun the command to refit them.
# Embedding model: 6 core features, l2=30, class weight 0.75 (CV accuracy 0.662, macro-F1 0.628).
EMBEDDING_MODEL = LabelModel(
    features=("coverage_all", "similarity_max", "clause_similarity_min", "grounded_share", "missing_numbers", "missing_names"),
    mean=(0.628817, 0.640564, 0.479851, 0.596821, 0.143154, 0.155122),
    scale=(0.221012, 0.141519, 0.165474, 0.381773, 0.304075, 0.266596),
    weights=(0.539262, 0.32666, 0.208175, 0.387136, -0.191123, -0.332218),
    cuts=(-1.727251, 0.833828),
)
# Lexical model (no embedder, so no similarity features): all features, l2=100, class weight 0.5 (CV accuracy
# 0.652, macro-F1 0.574).
LEXICAL_MODEL = LabelModel(
    features=("coverage_best", "coverage_top3", "coverage_all", "clause_coverage_min", "clause_coverage_mean", "grounded_share", "missing_numbers", "missing_names", "absent_words", "clause_absent_max", "negation_mismatch"),
    mean=(0.370496, 0.498508, 0.628817, 0.400849, 0.52162, 0.6231, 0.143154, 0.155122, 1.428116, 0.501787, 0.118959),
    scale=(0.191339, 0.202609, 0.221012, 0.231569, 0.204229, 0.390009, 0.304075, 0.266596, 0.673046, 0.269618, 0.32374),
    weights=(0.164513, 0.186714, 0.174112, 0.082514, 0.147713, 0.227032, -0.11958, -0.200929, -0.083762, -0.068458, -0.009764),
    cuts=(-1.862104, 0.824242),
)

_MAX_SENTENCES = 3000
_MAX_SENTENCE_CHARS = 2000
_MAX_CLAIM_CHARS = 4000
_PREFETCH_CLAIMS = 32
"""Claims of one item whose texts :meth:`EvidenceVerifier.check` embeds in one pass."""

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
_PREFIX = 7
_YEAR_RANGE = re.compile(r"\b(1[5-9]\d\d|20\d\d)(\s*[–—-]\s*)(\d\d)\b")


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
            word = word[: -len(suffix)] + repl
            break
    # Derived forms share a long prefix ("congratulated" / "congratulations", "administrated" / "administration"):
    # matching on the first _PREFIX characters is a cheap stand-in for a full stemmer.
    return word[:_PREFIX]


def _expand_year_ranges(text: str) -> str:
    """``2018–19`` → ``2018–2019``, so the abbreviated year matches a page that writes it in full."""

    def full(m: re.Match[str]) -> str:
        first, second = m.group(1), m.group(3)
        return m.group(0) if int(second) <= int(first[2:]) else f"{first}{m.group(2)}{first[:2]}{second}"

    return _YEAR_RANGE.sub(full, text)


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
    text = _expand_year_ranges(text)
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


@functools.lru_cache(maxsize=65536)
def _analyse_cached(text: str) -> _Text:
    """:func:`_analyse` for evidence sentences, cached: claims often cite the same page (results are read-only)."""
    return _analyse(text)


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


_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|without|none|cannot)\b|n['’]t\b", re.IGNORECASE)


def _negated(text: str) -> bool:
    return _NEGATION.search(text) is not None


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
    grounded: bool = False
    """Whether the clause clears the :class:`ClauseRule` (see the module docstring)."""


@dataclass
class ClaimAssessment:
    """The verdict on one claim, with everything it was based on."""

    claim: str
    label: EvidenceLabel
    citations: list[tuple[int, int]]
    """``(passage, sentence)`` pairs of the sentences that support its grounded clauses."""
    probabilities: dict[str, float]
    """The label model's probability for each label."""
    features: dict[str, float]
    """The claim features the label was computed from (see :data:`FEATURES`)."""
    method: str
    """``lexical+embedding`` or ``lexical``."""
    clauses: list[ClauseScore] = field(default_factory=list)
    truncated: bool = False
    """True when the evidence exceeded the input limits and only its first part was used."""

    @property
    def grounded_share(self) -> float:
        """Idf-weighted share of the claim's clauses that are grounded."""
        return self.features.get("grounded_share", 0.0)

    def to_details(self) -> dict[str, Any]:
        """JSON-ready details for a :class:`~critica.verifiers.base.Finding`."""
        return {
            "label": self.label.value,
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
            "claim": self.claim,
            "citations": [list(c) for c in self.citations],
            "features": {k: round(v, 4) for k, v in self.features.items()},
            "method": self.method,
            "truncated": self.truncated,
            "clauses": [
                {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(c).items()} for c in self.clauses
            ],
        }


@dataclass
class ClaimScore:
    """A claim's clause scores and features, before labelling (what :meth:`EvidenceVerifier.score` returns)."""

    clauses: list[ClauseScore]
    features: dict[str, float]


def _grounded(c: ClauseScore, rule: ClauseRule) -> bool:
    if c.missing_numbers:
        return False
    if c.names and len(c.missing_names) / c.names >= rule.entity_missing:
        return False
    w = rule.weight if c.similarity is not None else 0.0
    return w * (c.similarity or 0.0) + (1 - w) * c.coverage >= rule.bar


class _Evidence:
    """Evidence sentences reduced to what matching needs, with document frequencies for idf weights."""

    def __init__(self, sentences: Sequence[str]) -> None:
        self.sentences = list(sentences)
        self.texts = [_analyse_cached(s) for s in sentences]
        self.words: set[str] = set().union(*(t.words for t in self.texts)) if self.texts else set()
        self.numbers: set[str] = set().union(*(t.numbers for t in self.texts)) if self.texts else set()
        # Names are checked against every word of the evidence, capitalised or not (titles, headers, lower-case
        # web text), so a name only counts as missing when it truly appears nowhere.
        self.lower: set[str] = set()
        for s in sentences:
            self.lower.update(m.group(0).lower().replace("’", "'").removesuffix("'s") for m in _TOKEN.finditer(s))
        self.df: dict[str, int] = {}
        for t in self.texts:
            for w in t.words:
                self.df[w] = self.df.get(w, 0) + 1

    def idf(self, word: str) -> float:
        return math.log(1 + (len(self.texts) + 1) / (1 + self.df.get(word, 0)))

    def ranked(self, words: set[str], weights: Mapping[str, float], k: int) -> list[int]:
        """The ``k`` sentences sharing the most idf weight with ``words`` (ties: earlier sentence first)."""
        scores = [math.fsum(weights[w] for w in words & t.words) for t in self.texts]
        return [j for j in sorted(range(len(scores)), key=lambda j: (-scores[j], j))[:k] if scores[j] > 0]

    def recall(self, words: set[str], weights: Mapping[str, float], among: Sequence[int]) -> float:
        """Idf-weighted share of ``words`` found in the sentences ``among``."""
        total = math.fsum(weights[w] for w in words)
        if not total:
            return 0.0
        found = set().union(*(words & self.texts[j].words for j in among)) if among else set()
        return math.fsum(weights[w] for w in found) / total


_CACHED_EVIDENCE_CHARS = 65_536
"""Evidence up to this many characters is kept in :func:`_evidence_cached` (a WiCE claim's is ~20,000): the cache
holds 128 sets, so at most ~8 MB of text however large the evidence a request sends."""


def _evidence(sentences: tuple[str, ...]) -> _Evidence:
    """:class:`_Evidence` of these sentences, cached when small (read-only once built): a claim's evidence is
    analysed once for :meth:`EvidenceVerifier.prefetch` and again for its scoring, and an item's claims share their
    evidence."""
    if sum(map(len, sentences)) > _CACHED_EVIDENCE_CHARS:
        return _Evidence(sentences)
    return _evidence_cached(sentences)


@functools.lru_cache(maxsize=128)
def _evidence_cached(sentences: tuple[str, ...]) -> _Evidence:
    return _Evidence(sentences)


@dataclass
class _Plan:
    """What :meth:`EvidenceVerifier.score` computes before embedding: the lexical analysis and what to embed."""

    claim: str
    ev: _Evidence
    whole: Any
    weights: dict[str, float]
    clause_texts: list[str]
    clause_words: list[Any]
    candidates: list[int]
    queries: list[str]


class EvidenceVerifier:
    """Labels each claim of a response ``supported`` / ``partially_supported`` / ``not_supported``.

    Args:
        embedder: ``"auto"`` (the offline MiniLM model when installed, else none), an :class:`Embedder`, or None for
            lexical, number and entity matching only.
        model: Label model; default: the one fitted for the method in use (:data:`EMBEDDING_MODEL` or
            :data:`LEXICAL_MODEL`).
        clause_rule: When a clause is grounded; default: the one for the method in use.
        partial_as: Finding verdict for a ``partially_supported`` claim: ``"unchecked"`` (default) or ``"incorrect"``.
        embed_top_k: Embed only this many evidence sentences per claim, those with the most content words in
            common with it (bounds the cost on long pages).
    """

    name = "evidence"

    def __init__(
        self,
        *,
        embedder: Embedder | Literal["auto"] | None = "auto",
        model: LabelModel | None = None,
        clause_rule: ClauseRule | None = None,
        partial_as: Literal["unchecked", "incorrect"] = "unchecked",
        embed_top_k: int = 16,
    ) -> None:
        self.embed_top_k = max(1, embed_top_k)
        self.embedder: Embedder | None = default_embedder() if embedder == "auto" else embedder
        embedded = self.embedder is not None
        self.model = model or (EMBEDDING_MODEL if embedded else LEXICAL_MODEL)
        self.clause_rule = clause_rule or (EMBEDDING_CLAUSE_RULE if embedded else LEXICAL_CLAUSE_RULE)
        self.partial_as = StepVerdict(partial_as)

    @property
    def method(self) -> str:
        """``lexical+embedding`` when an embedder is used, else ``lexical``."""
        return "lexical" if self.embedder is None else "lexical+embedding"

    # -- scoring ---------------------------------------------------------------------------------------------

    def _plan(self, claim: str, sentences: list[str]) -> _Plan:
        claim = claim[:_MAX_CLAIM_CHARS]
        ev = _evidence(tuple(sentences))
        whole = _analyse(claim)
        weights = {w: ev.idf(w) for w in whole.words}
        clause_texts = _clauses(claim)
        clause_words = [_analyse(c) for c in clause_texts]
        for a in clause_words:
            weights.update((w, ev.idf(w)) for w in a.words if w not in weights)
        # Only the sentences sharing the most (idf-weighted) content with the claim are embedded: support almost
        # always shares some vocabulary, and this bounds the CPU cost per claim whatever the page size.
        candidates: list[int] = []
        queries: list[str] = []
        if self.embedder is not None and sentences:
            candidates = ev.ranked(whole.words, weights, self.embed_top_k) or list(range(min(len(sentences),
                                                                                             self.embed_top_k)))
            queries = [claim, *clause_texts] if len(clause_texts) > 1 else [claim]
        return _Plan(claim, ev, whole, weights, clause_texts, clause_words, candidates, queries)

    def prefetch(self, claims: Iterable[tuple[str, list[str]]]) -> None:
        """Embed, in one batched pass, every text that :meth:`assess_sentences` will need for these
        ``(claim, evidence sentences)`` pairs; later calls then read the embedder's cache. A no-op without an
        embedder or when the embedder has no ``prefetch``."""
        prefetch = getattr(self.embedder, "prefetch", None)
        if prefetch is None:
            return
        texts: list[str] = []
        for claim, sentences in claims:
            texts.extend(self.embedding_texts(claim, [s[:_MAX_SENTENCE_CHARS] for s in sentences[:_MAX_SENTENCES]]))
        if texts:
            prefetch(texts)

    def embedding_texts(self, claim: str, sentences: list[str]) -> list[str]:
        """The texts :meth:`score` embeds for exactly these inputs (none without an embedder)."""
        if self.embedder is None or not sentences:
            return []
        plan = self._plan(claim, sentences)
        return [*plan.queries, *(sentences[j] for j in plan.candidates)]

    def score(self, claim: str, sentences: list[str]) -> ClaimScore:
        """Clause scores and claim features of ``claim`` against the evidence ``sentences`` (flattened, in order).

        Pure given the embedder, so a label model can be fitted on cached scores.
        """
        plan = self._plan(claim, sentences)
        claim, ev, whole, weights, clause_texts, clause_words = (plan.claim, plan.ev, plan.whole, plan.weights,
                                                                  plan.clause_texts, plan.clause_words)
        claim_sims: list[float] = []
        clause_sims: list[list[float]] | None = None
        candidates = plan.candidates
        if self.embedder is not None and sentences:
            rows = self.embedder.similarity(plan.queries, [sentences[j] for j in candidates])
            claim_sims = [max(-1.0, min(1.0, float(v))) for v in rows[0]]
            clause_sims = [claim_sims] if len(clause_texts) == 1 else [
                [max(-1.0, min(1.0, float(v))) for v in r] for r in rows[1:]]

        clauses: list[ClauseScore] = []
        for ci, (ctext, a) in enumerate(zip(clause_texts, clause_words, strict=True)):
            total = math.fsum(weights[w] for w in a.words)
            best = ev.ranked(a.words, weights, 2)
            similarity = semantic_best = None
            if clause_sims is not None and clause_sims[ci]:
                k = max(range(len(clause_sims[ci])), key=lambda i: (clause_sims[ci][i], -i))
                semantic_best, similarity = candidates[k], max(0.0, clause_sims[ci][k])
            c = ClauseScore(
                text=ctext, weight=total, coverage=ev.recall(a.words, weights, best), similarity=similarity,
                missing_numbers=sorted(a.numbers - ev.numbers),
                missing_names=sorted(x for x in a.names if x not in ev.lower),
                names=len(a.names), lexical_best=best, semantic_best=semantic_best,
                absent=math.fsum(weights[w] for w in a.words - ev.words) / total if total else 0.0,
            )
            c.grounded = _grounded(c, self.clause_rule)
            clauses.append(c)
        return ClaimScore(clauses, self._features(whole, weights, ev, clauses, claim_sims))

    def _features(self, whole: Any, weights: Mapping[str, float], ev: _Evidence, clauses: list[ClauseScore],
                  claim_sims: list[float]) -> dict[str, float]:
        top3 = ev.ranked(whole.words, weights, 3)
        clause_total = sum(c.weight for c in clauses) or 1.0
        sims = sorted(claim_sims, reverse=True)
        best_sentence = ev.sentences[top3[0]] if top3 else ""
        return {
            "coverage_best": ev.recall(whole.words, weights, top3[:1]),
            "coverage_top3": ev.recall(whole.words, weights, top3),
            "coverage_all": ev.recall(whole.words, weights, range(len(ev.texts))) if ev.texts else 0.0,
            "clause_coverage_min": min((c.coverage for c in clauses), default=0.0),
            "clause_coverage_mean": sum(c.weight * c.coverage for c in clauses) / clause_total,
            "similarity_max": max(0.0, sims[0]) if sims else 0.0,
            "similarity_top3": max(0.0, sum(sims[:3]) / len(sims[:3])) if sims else 0.0,
            "clause_similarity_min": min((c.similarity or 0.0 for c in clauses), default=0.0),
            "grounded_share": sum(c.weight for c in clauses if c.grounded) / clause_total,
            "missing_numbers": len(whole.numbers - ev.numbers) / len(whole.numbers) if whole.numbers else 0.0,
            "missing_names": len(whole.names - ev.lower) / len(whole.names) if whole.names else 0.0,
            "absent_words": math.log1p(len(whole.words - ev.words)),
            "clause_absent_max": max((c.absent for c in clauses), default=0.0),
            "negation_mismatch": float(_negated(" ".join(c.text for c in clauses)) != _negated(best_sentence)),
        }

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
        sentences = [s[:_MAX_SENTENCE_CHARS] for s in sentences[:_MAX_SENTENCES]]
        index = index[:_MAX_SENTENCES]
        scored = self.score(claim, sentences)
        probs = self.model.probabilities(scored.features)
        label = self.model.predict(scored.features)
        cited: list[tuple[int, int]] = []
        for c in scored.clauses:
            if not (c.grounded or label is EvidenceLabel.SUPPORTED):
                continue
            # Cite what grounds the clause: its best lexical match, and its closest sentence in meaning when
            # similarity alone would clear the bar.
            best = list(c.lexical_best[:1])
            if c.semantic_best is not None and (c.similarity or 0.0) >= self.clause_rule.bar:
                best.append(c.semantic_best)
            for j in best:
                if index[j] not in cited:
                    cited.append(index[j])
        return ClaimAssessment(claim=claim, label=label, citations=sorted(cited),
                               probabilities={k.value: v for k, v in probs.items()}, features=scored.features,
                               method=self.method, clauses=scored.clauses, truncated=truncated)

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
        claims = [c for step in steps for c in split_sentences(step) if len(_analyse(c).words) >= _MIN_CLAUSE_TOKENS]
        # Embed the claims' texts in a few batched passes rather than one small pass per claim. Only an
        # optimisation: an error shows up per claim below; the deadline is checked between passes.
        for k in range(0, len(claims), _PREFETCH_CLAIMS):
            checkpoint()
            with contextlib.suppress(Exception):
                self.prefetch((c, sentences) for c in claims[k:k + _PREFETCH_CLAIMS])
        for step_i, step in enumerate(steps):
            for claim in split_sentences(step):
                checkpoint()  # stops here once the item is over its time budget
                if len(_analyse(claim).words) < _MIN_CLAUSE_TOKENS:
                    continue  # greetings, connectives, bare numbers: nothing to ground
                try:
                    a = self.assess_sentences(claim, sentences, passages_index)
                except Exception as e:  # noqa: BLE001 - a verifier must not raise on any text
                    findings.append(Finding("evidence", StepVerdict.UNCHECKED, f"could not check claim: {e}",
                                            step=step_i, details={"claim": claim, "error": repr(e)}))
                    continue
                finding = self._finding(step_i, a)
                if finding.verdict == StepVerdict.UNCHECKED:  # a partial claim, unless partial_as flags it
                    finding = _contradiction(claim, sentences, passages_index, finding) or finding
                findings.append(finding)
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
        if a.label is EvidenceLabel.NOT_SUPPORTED:
            return Finding("evidence", StepVerdict.INCORRECT,
                           f'"{short}" is not supported by the evidence{why}.', step, a.to_details())
        unsupported = [c.text for c in a.clauses if not c.grounded]
        part = "; ".join(f'"{u}"' for u in unsupported[:3]) or "some details"
        return Finding("evidence", self.partial_as,
                       f'"{short}" is only partially supported (by {cites}); unsupported: {part}{why}.',
                       step, a.to_details())


_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})$")
_MIN_SHARED_WORDS = 3
_SAME_FACT_SHARE = 0.8


def _number_slots(text: str) -> list[tuple[str, str]]:
    """(number, the word right after it, lower-cased) for every number written in ``text``."""
    toks = list(_TOKEN.finditer(_expand_year_ranges(text)))
    out = []
    for k, m in enumerate(toks):
        num = _number(m.group(0))
        if num is None:
            continue
        after = toks[k + 1].group(0).lower() if k + 1 < len(toks) else ""
        out.append((num, after))
    return out


def _contradiction(claim: str, sentences: list[str], index: list[tuple[int, int]], finding: Finding) -> Finding | None:
    """An ``incorrect`` finding when a partially supported claim states a number that an evidence sentence about
    the same thing states differently ("opened in 1934" against "opened in 1932"), else None.

    A missing detail only makes a claim partial; a *conflicting* one makes it wrong. "The same thing" is strict so
    the flag stays precise: the sentence holds at least 80% (and at least three) of the claim's content words —
    it states the same fact — and the two numbers are both years or sit in the same slot (the same word right
    after, e.g. a unit). On WiCE (dev and test), where a missing number usually means the retrieved page is about
    something else, this fires on none of the 507 claims.
    """
    mine = _analyse(claim)
    given = set().union(*(_analyse_cached(t).numbers for t in sentences))
    slots = [x for x in _number_slots(claim) if x[0] not in given]
    if not slots:
        return None
    for i, sent in enumerate(sentences):
        theirs = _analyse_cached(sent)
        content = mine.words - mine.numbers
        shared = content & (theirs.words - theirs.numbers)
        if len(shared) < max(_MIN_SHARED_WORDS, _SAME_FACT_SHARE * len(content)):
            continue
        for num, after in slots:
            for other, o_after in _number_slots(sent):
                if other in mine.numbers:
                    continue
                same_slot = (_YEAR.match(num) and _YEAR.match(other)) or (after and after == o_after and
                                                                           not after.isdigit())
                if same_slot:
                    p, s = index[i]
                    details = {**finding.details, "contradiction": {"claimed": num, "evidence": other,
                                                                    "citation": [p, s]}}
                    short = claim if len(claim) <= 120 else claim[:117] + "..."
                    return Finding("evidence", StepVerdict.INCORRECT,
                                   f'"{short}" contradicts passage {p + 1} sentence {s + 1}, which says {other}, '
                                   f"not {num}.", finding.step, details)
    return None
