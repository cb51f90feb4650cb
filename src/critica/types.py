"""Typed data model: what goes into a critic and what comes out.

Conventions (the single definition, used everywhere):

* Step indices are **0-based** in every stored object: ``Critique.first_error_step == 0`` means the first step of
  ``Item.steps`` is wrong. Protocols may *prompt* a model 1-based; they convert before building a ``Critique``.
  :func:`display_step` gives the 1-based number a person reads.
* ``first_error_step is None`` means "no step flagged" (the critic found no step error, or could not say).
* A critique whose output could not be parsed has ``verdict == Verdict.UNSCORED`` and
  ``parse_status == ParseStatus.FAILED``. It is never counted as correct or incorrect.

This module does no I/O and imports nothing else from critica.
"""

from __future__ import annotations

import binascii
import re
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Verdict",
    "StepVerdict",
    "ParseStatus",
    "Usage",
    "ImageInput",
    "IMAGE_TYPES",
    "Item",
    "StepJudgment",
    "Score",
    "SamplingParams",
    "Critique",
    "display_step",
    "Factuality",
    "Coverage",
    "HypothesisAIU",
    "ReferenceAIU",
    "MetaCritiqueResult",
]


class _ValueEnum(str, Enum):
    """An enum that prints as its value: ``str(Verdict.CORRECT) == f"{Verdict.CORRECT}" == "correct"``."""

    def __str__(self) -> str:
        return str(self.value)

    __format__ = str.__format__


class Verdict(_ValueEnum):
    """Overall judgement of a response."""

    CORRECT = "correct"
    INCORRECT = "incorrect"
    UNSCORED = "unscored"
    """The critic gave no usable verdict (unparseable output, backend failure, abstention)."""


class StepVerdict(_ValueEnum):
    """Judgement of one step."""

    CORRECT = "correct"
    INCORRECT = "incorrect"
    UNCHECKED = "unchecked"
    """The critic (typically a verifier) could not check this step; says nothing about its correctness."""


class ParseStatus(_ValueEnum):
    """How the critic's raw output became this critique."""

    OK = "ok"
    """Parsed as the protocol asked (valid JSON / the exact answer format)."""
    REPAIRED = "repaired"
    """Parsed after repair: JSON embedded in prose, truncated JSON closed, an alternative answer format."""
    FAILED = "failed"
    """Could not be parsed; the critique is unscored."""


class Usage(BaseModel):
    """Token usage of one or more backend calls.

    The token and call counts cover every call behind a critique, whether it was made now or **replayed** from
    critica's call cache (a replay makes no backend call and spends nothing). The ``replayed_*`` fields say how much
    of each was replayed, so *spent* = total − replayed (:attr:`spent_tokens`). A critique's usage is thus what it
    took to produce it, the same on a cached re-run, while run summaries report what was actually spent.
    ("Replayed" is critica's own cache, not a provider's prompt caching, whose tokens are spent and billed.)
    """

    prompt_tokens: int = 0
    """Tokens in the prompt(s), replayed ones included."""
    completion_tokens: int = 0
    """Tokens generated, replayed ones included."""
    calls: int = 0
    """Number of backend calls that produced this usage, replayed ones included."""
    replayed_calls: int = 0
    """Of ``calls``, those answered from the call cache (no backend call was made)."""
    replayed_prompt_tokens: int = 0
    """Of ``prompt_tokens``, those of replayed calls (not spent now)."""
    replayed_completion_tokens: int = 0
    """Of ``completion_tokens``, those of replayed calls (not spent now)."""
    failed_calls: int = 0
    """Backend calls that failed after their retries (not in ``calls``; the critique records the error)."""

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens (replayed ones included)."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def replayed_tokens(self) -> int:
        """Prompt plus completion tokens replayed from the call cache."""
        return self.replayed_prompt_tokens + self.replayed_completion_tokens

    @property
    def spent_prompt_tokens(self) -> int:
        """Prompt tokens of calls actually made."""
        return self.prompt_tokens - self.replayed_prompt_tokens

    @property
    def spent_completion_tokens(self) -> int:
        """Completion tokens of calls actually made."""
        return self.completion_tokens - self.replayed_completion_tokens

    @property
    def spent_tokens(self) -> int:
        """Prompt plus completion tokens of calls actually made (what a run cost)."""
        return self.total_tokens - self.replayed_tokens

    @property
    def spent_calls(self) -> int:
        """Backend calls actually made (not replayed from the call cache)."""
        return self.calls - self.replayed_calls

    def totals(self) -> dict[str, int]:
        """Spent and replayed apart, as run totals record them: ``prompt_tokens``, ``completion_tokens`` and
        ``calls`` are what was *spent* (a re-run served from the call cache spends nothing), the ``replayed_*``
        entries what was replayed, and ``failed_calls`` the calls that failed after their retries."""
        return {
            "prompt_tokens": self.spent_prompt_tokens, "completion_tokens": self.spent_completion_tokens,
            "replayed_prompt_tokens": self.replayed_prompt_tokens,
            "replayed_completion_tokens": self.replayed_completion_tokens,
            "calls": self.spent_calls, "replayed_calls": self.replayed_calls, "failed_calls": self.failed_calls,
        }

    def as_replayed(self) -> Usage:
        """This usage marked as replayed from the call cache in full (what a cache hit returns)."""
        return self.model_copy(update={
            "replayed_calls": self.calls, "replayed_prompt_tokens": self.prompt_tokens,
            "replayed_completion_tokens": self.completion_tokens,
        })

    def split(self, k: int) -> list[Usage]:
        """``k`` near-equal shares (remainder to the first) that add up exactly to this usage, field by field.

        Used when one request returns k samples: each sample carries its share, and the samples' sum is the call.
        """
        k = max(1, k)
        if k == 1:  # one sample per call, the common case
            return [self.model_copy()]
        parts = {name: _split(value, k) for name, value in self.__dict__.items()}
        return [Usage(**{name: parts[name][i] for name in parts}) for i in range(k)]

    def __add__(self, other: Usage) -> Usage:
        # The plain constructor: pydantic-core validates seven ints faster (~1 µs) than model_construct builds them
        # unvalidated (~5 µs), and usage is added on every call and every result.
        a, b = self.__dict__, other.__dict__
        return Usage(prompt_tokens=a["prompt_tokens"] + b["prompt_tokens"],
                     completion_tokens=a["completion_tokens"] + b["completion_tokens"],
                     calls=a["calls"] + b["calls"], replayed_calls=a["replayed_calls"] + b["replayed_calls"],
                     replayed_prompt_tokens=a["replayed_prompt_tokens"] + b["replayed_prompt_tokens"],
                     replayed_completion_tokens=a["replayed_completion_tokens"] + b["replayed_completion_tokens"],
                     failed_calls=a["failed_calls"] + b["failed_calls"])


def _split(total: int, k: int) -> list[int]:
    base, rem = divmod(max(0, total), k)
    return [base + (1 if i < rem else 0) for i in range(k)]


IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
"""Image types an item may carry: the four that OpenAI-compatible vision servers (vLLM, llama.cpp's server, hosted
APIs) all accept. SVG is not one: it is a document that can hold scripts, not a picture."""

_DATA_HEAD = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,")
_REMOTE_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f]+", re.IGNORECASE)


def _strict_base64(payload: str) -> bool:
    """Whether ``payload`` is strict base64 (C speed: a 5 MiB image checks in milliseconds, a regex takes ~100 ms)."""
    if not payload.isascii():
        return False
    try:
        binascii.a2b_base64(payload, strict_mode=True)
    except binascii.Error:
        return False
    return True


class ImageInput(BaseModel):
    """One image of an item: a data URL holding the image, or a remote ``http(s)`` URL, with an optional caption.

    Local files become data URLs when they are read (:func:`critica.inputs.images.image_file`; the readers do it for
    the paths an input file names), so an item always carries its image and nothing downstream reads a file again.
    A ``file://`` URL, a path or any other scheme is refused here: an item submitted over HTTP can never name a
    file on the server host.
    """

    model_config = ConfigDict(extra="forbid")

    url: str
    """``data:image/<png|jpeg|gif|webp>;base64,<data>`` or an ``http(s)://`` URL, sent to the model as given (critica
    never fetches a remote URL; the model server does)."""
    caption: str | None = None
    """What the image shows or why it is there; shown to the critic beside the image."""
    part: Literal["question", "response"] = "question"
    """Which text the image belongs to: the prompt places it in (or right after) that text; see docs/images.md."""
    source: str | None = None
    """The local file the data URL was read from, as the input named it (a label; never read again)."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        head = _DATA_HEAD.match(value)
        if head is not None and _strict_base64(value[head.end():]):
            return value
        if head is None and _REMOTE_URL.fullmatch(value):
            return value
        head = value[:40]
        if value.startswith("data:"):
            raise ValueError(f"a data URL must be data:<{'|'.join(IMAGE_TYPES)}>;base64,<base64 data> "
                             f"(got {head!r}...)")
        raise ValueError(f"an image url must be a data: URL or an http(s):// URL, not {head!r} (local files are "
                         "read by the input readers, never from an item's url)")

    @property
    def is_data(self) -> bool:
        """Whether the image is held in the item (a data URL) rather than named by a remote URL."""
        return self.url.startswith("data:")

    @property
    def media_type(self) -> str | None:
        """The image type of a data URL (``image/png`` …); None for a remote URL."""
        return self.url[5:self.url.index(";")] if self.is_data else None

    def label(self) -> str:
        """How the image is named in a listing: its source file, its remote URL, or its type and size."""
        if self.source:
            return self.source
        if not self.is_data:
            return self.url
        return f"{self.media_type}, {len(self.url.partition(',')[2]) * 3 // 4:,} bytes"


class Item(BaseModel):
    """One thing to critique: a question and a model's response, with optional context."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    """Stable identifier of the item, unique within its input."""
    question: str
    """The question or instruction the response answers."""
    response: str | None = None
    """The response as free text. At least one of ``response`` and ``steps`` must be given."""
    steps: list[str] | None = None
    """The response already split into steps (0-based). When absent, steps come from segmenting ``response``."""
    candidates: list[str] = Field(default_factory=list)
    """Further responses to the same question, for pairwise comparison, multi-response scoring and best-of-N
    (``response`` is candidate A / the first one; these follow in order)."""
    reference_answer: str | None = None
    """A known-correct final answer or reference response, when available."""
    evidence: list[str] = Field(default_factory=list)
    """Retrieved passages the response should be grounded in (RAG)."""
    rubric: str | None = None
    """A scoring rubric (free text, or score descriptions)."""
    principles: list[str] = Field(default_factory=list)
    """Evaluation principles the critic should apply."""
    tests: list[str] = Field(default_factory=list)
    """Code tests (Python source, e.g. ``assert f(1) == 2``) for code responses."""
    images: list[ImageInput] = Field(default_factory=list)
    """Images of the question or the response (a screenshot, a chart, a photo), for vision-language critics. A
    backend that cannot take images makes the item ``unscored``; it never drops them (docs/images.md)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Anything else carried through unchanged (gold labels, source, generator)."""

    @model_validator(mode="after")
    def _has_answer(self) -> Item:
        if self.response is None and not self.steps:
            raise ValueError("an item needs a 'response' or a non-empty 'steps' list")
        return self

    @property
    def text(self) -> str:
        """The full response text: ``response`` if given, otherwise the steps joined by blank lines."""
        if self.response is not None:
            return self.response
        return "\n\n".join(self.steps or [])


class StepJudgment(BaseModel):
    """The critic's judgement of one step."""

    index: int = Field(ge=0)
    """0-based index into the item's steps."""
    verdict: StepVerdict
    """Whether this step is correct, incorrect or was not checked."""
    explanation: str = ""
    """Why, in words a person can follow (quoting the expression and the correct value for computations)."""


class Score(BaseModel):
    """A numeric score with the scale it is on."""

    value: float
    """The score, always within ``[min, max]`` (critics clamp out-of-range model output and say so)."""
    min: float = 1
    """Lowest value of the scale."""
    max: float = 10
    """Highest value of the scale."""

    @model_validator(mode="after")
    def _in_range(self) -> Score:
        if self.min > self.max:
            raise ValueError(f"score scale min {self.min} > max {self.max}")
        if not (self.min <= self.value <= self.max):
            raise ValueError(f"score {self.value} outside scale [{self.min}, {self.max}]")
        return self

    @property
    def normalized(self) -> float:
        """The score mapped to [0, 1]."""
        span = self.max - self.min
        return 1.0 if span == 0 else (self.value - self.min) / span


class SamplingParams(BaseModel):
    """Sampling settings a critique was produced with."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    n: int = 1


class Critique(BaseModel):
    """A critic's typed judgement of one item."""

    item_id: str
    """The ``Item.id`` this critique is about."""
    critic: str
    """Name of the critic (protocol or verifier) that produced it."""
    verdict: Verdict
    """Overall verdict; ``unscored`` when the critic gave no usable answer."""
    first_error_step: int | None = Field(default=None, ge=0)
    """0-based index of the earliest wrong step, or None when no step is flagged."""
    steps: list[StepJudgment] = Field(default_factory=list)
    """Per-step judgements, when the critic gives them."""
    score: Score | None = None
    """Optional score with its scale."""
    explanation: str = ""
    """The critique in words."""
    suggested_fix: str | None = None
    """How to fix the response, when the critic says."""
    parse_status: ParseStatus = ParseStatus.OK
    """How the raw output was parsed."""
    parse_error: str | None = None
    """Why parsing failed or needed repair."""
    raw_outputs: list[str] = Field(default_factory=list)
    """The raw model outputs the critique was parsed from (empty for verifiers)."""
    usage: Usage = Field(default_factory=Usage)
    """Token usage of the calls behind this critique."""
    latency_s: float = 0.0
    """Wall time spent producing this critique, in seconds."""
    model: str | None = None
    """The model (backend spec) behind it, None for tool-grounded verifiers."""
    sampling: SamplingParams | None = None
    """Sampling parameters of the calls."""
    confidence: float | None = Field(default=None, ge=0, le=1)
    """Confidence in the verdict (e.g. vote share), when known."""
    samples: list[Critique] = Field(default_factory=list)
    """Individual critiques that an aggregate was built from."""
    error: str | None = None
    """Backend or critic failure that left this critique unscored."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Protocol-specific extras (per-response scores, aspect scores, citations …). Composite critics (panels,
    cascades, votes) list the failures of their members here under ``"failures"`` (``"<member>: <error>"``)."""

    @model_validator(mode="after")
    def _consistent(self) -> Critique:
        if self.parse_status == ParseStatus.FAILED and self.verdict != Verdict.UNSCORED:
            raise ValueError("a critique whose output failed to parse must be unscored")
        return self

    @property
    def failed(self) -> bool:
        """Whether something behind this critique failed: its ``error`` is set, a backend call failed after its
        retries (``usage.failed_calls``), or a member of a panel, cascade or vote failed (``metadata["failures"]``).

        A failed critique is kept and counted (it may still carry the verdict of the members that answered), but
        it is not final: a resumed ``critica batch`` critiques the item again and replaces it.
        """
        return self.error is not None or self.usage.failed_calls > 0 or bool(self.metadata.get("failures"))

    @property
    def first_error_display(self) -> int | None:
        """The first error as a 1-based step number for people, or None."""
        return display_step(self.first_error_step)


def display_step(index: int | None) -> int | None:
    """Convert a 0-based step index to the 1-based number shown to people."""
    return None if index is None else index + 1


# -- MetaCritique (Sun et al., "The Critique of Critique", ACL 2024 Findings, arXiv:2401.04518) -----------------


class Factuality(_ValueEnum):
    """Whether one atomic information unit (AIU) of the critique under judgement is true."""

    FACTUAL = "factual"
    NOT_FACTUAL = "not_factual"
    UNSCORED = "unscored"
    """The judge gave no usable answer (unparseable reply, backend failure); never counted as factual."""


class Coverage(_ValueEnum):
    """Whether one AIU of the reference critique is covered by (stated in or deducible from) the critique."""

    COVERED = "covered"
    NOT_COVERED = "not_covered"
    UNSCORED = "unscored"
    """The judge gave no usable answer; never counted as covered."""


class HypothesisAIU(BaseModel):
    """One AIU of the critique under judgement, with its factuality verdict (the Meta-Precision task)."""

    text: str
    verdict: Factuality
    confidence: float | None = Field(default=None, ge=0, le=1)
    """The judge's probability that the AIU is factual, when it gives one (the offline judge does)."""
    evidence: list[str] = Field(default_factory=list)
    """The sentences (of the question, reference answer or reference critique) the verdict rests on."""
    explanation: str = ""
    """The judge's reasoning (an LLM judge's reply) or the signals behind the verdict."""


class ReferenceAIU(BaseModel):
    """One AIU of the reference critique, with whether the critique covers it (the Meta-Recall task)."""

    text: str
    verdict: Coverage
    confidence: float | None = Field(default=None, ge=0, le=1)
    """The judge's probability that the AIU is covered, when it gives one."""
    evidence: list[str] = Field(default_factory=list)
    """The sentences of the critique that cover it."""
    explanation: str = ""


class MetaCritiqueResult(BaseModel):
    """A critique scored by AIUs: Meta-Precision, Meta-Recall and Meta-F1 (None where nothing could be scored).

    Unscored AIUs are left out of both numerator and denominator and counted in ``precision_coverage`` /
    ``recall_coverage``; with every AIU scored the figures are exactly the paper's (``factual / AIUs``,
    ``covered / reference AIUs``, F1 = 0 when either is 0, else the harmonic mean).
    """

    item_id: str
    judge: str
    """Name of the judge (``metacritique`` offline, ``metacritique-llm``)."""
    critique: str
    """The critique that was judged."""
    reference_critique: str
    """The reference critique its recall was measured against (given, or written by the judge)."""
    reference_generated: bool = False
    """True when the judge wrote the reference critique itself (from the reference answer)."""
    hypothesis_aius: list[HypothesisAIU] = Field(default_factory=list)
    reference_aius: list[ReferenceAIU] = Field(default_factory=list)
    precision: float | None = None
    """Share of the scored hypothesis AIUs that are factual; None when none was scored."""
    recall: float | None = None
    """Share of the scored reference AIUs that are covered; None when none was scored."""
    f1: float | None = None
    """Harmonic mean of precision and recall (0 when either is 0); None when either is None."""
    precision_coverage: float = 0.0
    """Share of hypothesis AIUs that were scored (1.0 when every judgment parsed)."""
    recall_coverage: float = 0.0
    """Share of reference AIUs that were scored."""
    method: str = ""
    """How verdicts were reached (e.g. ``lexical+embedding``, ``lexical``, the LLM's name)."""
    notes: list[str] = Field(default_factory=list)
    """Caveats (embedder missing, AIUs unscored, reference written by the judge …)."""
    usage: Usage = Field(default_factory=Usage)
    error: str | None = None
    """A failure that left the result (partly) unscored."""
