"""Request and response bodies of the HTTP API. Critiques and items are the types of :mod:`critica.types`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from critica.types import Critique, Item, MetaCritiqueResult

__all__ = [
    "ApiError", "ErrorBody", "FieldProblem", "CritiqueRequest", "CritiqueResponse", "RewardSample", "RewardRequest",
    "RewardDetail", "RewardResponse", "CompareRequest", "RefineRequest", "JobRequest", "JobStatus", "RunSummary",
    "ItemRow", "ItemPage", "ItemDetail", "RunMetrics", "CriticInfo", "Health",
]


class FieldProblem(BaseModel):
    """One invalid field, named as the CLI names it."""

    location: str
    """Where in the request: ``items[3]``, ``body.critic`` …"""
    field: str | None = None
    """The offending field, when one can be named."""
    reason: str
    """What is wrong with it."""
    message: str
    """``location: field 'x': reason`` — the CLI's one-line form."""


class ApiError(BaseModel):
    """Every error answer: a type a program can switch on, and a sentence a person can act on."""

    type: str
    """``invalid_request``, ``malformed_json``, ``unauthorized``, ``forbidden``, ``too_large``, ``rate_limited``,
    ``timeout``, ``backend_unavailable``, ``not_implemented``, ``not_found`` …"""
    message: str
    errors: list[FieldProblem] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """The JSON body of every 4xx/5xx answer."""

    error: ApiError


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CritiqueRequest(_Base):
    """Critique one or many items with a chosen critic and model."""

    items: list[dict[str, Any]] = Field(min_length=1)
    """Items in any layout the CLI reads (``question``/``problem``/``prompt`` …, ``response`` or ``steps``)."""
    critic: str | None = None
    """Critic name (``GET /v1/critics``); default: the server's."""
    model: str | None = None
    """One of the served model specs (``GET /v1/critics`` lists them); default: the server's."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Critic options (``temperature``, ``max_tokens``, ``seed``, ``structured`` …)."""
    map: dict[str, str] = Field(default_factory=dict)
    """Field mapping ``{item_field: source_field}``, as ``--map`` on the CLI."""
    store: bool = True
    """Keep the critiques in a stored run (shown in the UI)."""
    run_name: str | None = None
    """Name of the stored run (default: ``api-<time>-<random>``)."""
    source: str | None = None
    """What the items are (a dataset or file name): runs with the same source are shown side by side in the UI."""


class CritiqueResponse(BaseModel):
    """Critiques in request order (items that failed validation are missing and listed in ``errors``)."""

    run_id: str | None = None
    """The stored run, when ``store`` was true and a store is attached."""
    critic: str
    model: str | None = None
    critiques: list[Critique]
    errors: list[FieldProblem] = Field(default_factory=list)


class RewardSample(_Base):
    """One (prompt, response[, reference][, tests]) to score."""

    prompt: str
    response: str
    reference: str | None = None
    tests: list[str] | None = None
    """Code tests (``assert f(2) == 4``) for the code verifier; the judge decides them outside the sandbox."""
    images: list[Any] | None = None
    """Images of the prompt or the response, as items take them (``POST /v1/critiques``): data URLs (or ``{"url",
    "caption", "part"}`` objects); remote URLs only where the server allows them, file paths never. A critic whose
    model cannot take images leaves the sample unscored."""
    id: str | None = None


class RewardRequest(_Base):
    """A batch to score, in critica's shape (``samples``) or OpenRLHF's remote-RM shape (``query``/``prompts``/``labels``)."""

    samples: list[RewardSample] | None = None
    query: list[str] | None = None
    """OpenRLHF: prompt+response texts (the response is what follows the matching ``prompts`` entry)."""
    prompts: list[str] | None = None
    labels: list[str | None] | None = None
    """OpenRLHF: reference answers, one per query."""
    critic: str | None = None
    model: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    include_critiques: bool = True
    """Return the full critiques beside the scores."""


class RewardDetail(BaseModel):
    """How one reward was obtained."""

    scored: bool
    """False when the critic could not judge; the reward is then the server's ``unscored_reward``."""
    verdict: str
    first_error_step: int | None = None
    score: float | None = None
    """The critic's own score normalised to [0, 1], when it gives one."""
    reason: str | None = None
    """Why the item is unscored (parse failure or backend error)."""


class RewardResponse(BaseModel):
    """Scores in request order: ``rewards`` is what RL frameworks read (OpenRLHF's ``score_key``)."""

    rewards: list[float]
    scores: list[float]
    """The same list under the name newer OpenRLHF versions read."""
    details: list[RewardDetail]
    extra_logs: dict[str, list[float]] = Field(default_factory=dict)
    """Per-sample figures an RL trainer may log (``scored`` as 0/1)."""
    critiques: list[Critique] = Field(default_factory=list)
    critic: str
    model: str | None = None


class CompareRequest(_Base):
    """Compare two responses to one question."""

    question: str
    response_a: str
    response_b: str
    reference: str | None = None
    critic: str = "pairwise"
    model: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class RefineRequest(_Base):
    """Critique → revise → re-critique one response."""

    item: dict[str, Any]
    critic: str | None = None
    model: str | None = None
    max_rounds: int = Field(default=2, ge=1, le=8)
    """Most revisions."""
    options: dict[str, Any] = Field(default_factory=dict)
    store: bool = True
    """Keep the trajectory as a stored run (shown round by round in the UI)."""
    run_name: str | None = None
    source: str | None = None


class JobRequest(CritiqueRequest):
    """A long batch run in the background; poll ``GET /v1/jobs/{id}``."""


class JobStatus(BaseModel):
    """State of a background job."""

    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    total: int
    done: int
    run_id: str | None = None
    critic: str
    model: str | None = None
    error: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)
    critiques: list[Critique] | None = None
    """Present once the job is done (``?results=false`` leaves them out)."""


class RunSummary(BaseModel):
    """A stored run with its summary figures."""

    id: str
    """The run's name (unique in the store)."""
    critic: str | None = None
    model: str | None = None
    source: str | None = None
    status: str = "running"
    started_at: str | None = None
    ended_at: str | None = None
    items: int = 0
    """Critiques stored."""
    input_errors: int = 0
    verdicts: dict[str, int] = Field(default_factory=dict)
    scored_share: float | None = None
    """Share of critiques with a verdict (None for an empty run)."""
    totals: dict[str, Any] = Field(default_factory=dict)
    """Totals the run recorded when it finished (benchmark figures, tokens …)."""
    peers: list[str] = Field(default_factory=list)
    """Other runs over the same source (their critiques appear side by side on item pages)."""


class ItemRow(BaseModel):
    """One item of a run in the item list."""

    item_id: str
    question: str
    critics: list[str]
    verdicts: dict[str, str]
    """Critic (and sample) → verdict."""
    first_errors: dict[str, int | None]
    parse_status: dict[str, str]
    disagreement: bool
    """Scored critiques of this item differ in verdict or first error step."""
    gold: dict[str, Any] | None = None
    """The item's gold label (:meth:`critica.bench.gold.GoldLabel.as_json`), None when it carries none."""
    right: dict[str, bool | None] = Field(default_factory=dict)
    """Critic (and sample) → right against gold (None: no gold, or unscored)."""
    bounds: dict[str, int | None] = Field(default_factory=dict)
    """Critic → the verifier's "first error at or before step k" bound (0-based), when it gives one."""


class ItemPage(BaseModel):
    """A page of the item list."""

    total: int
    items: list[ItemRow]
    critics: list[str] = Field(default_factory=list)
    """Every critic with critiques in the run or its peers (what the ``critic`` filter accepts)."""


class RunMetrics(BaseModel):
    """A run's ``critica bench`` figures against the gold labels its items carry
    (:func:`critica.bench.gold.run_figures`), over the items that pass the filters."""

    kind: Literal["step", "label"] | None
    """``step`` (ProcessBench-style labels), ``label`` (WiCE-style labels) or None (no item has gold)."""
    labelled: int
    unlabelled: int
    right: int
    wrong: int
    unscored: int
    figures: dict[str, Any]
    """The bench suite's figures (F1, accuracies, precision, CIs … or accuracy, macro-F1 …)."""
    names: dict[str, str]
    """The headline figures, key → readable name, in reading order."""


class ItemDetail(BaseModel):
    """Everything the item page shows."""

    run_id: str
    item: Item | None
    """The stored item (None when the run kept only critiques)."""
    steps: list[str]
    """The response split into steps, 0-based, as critics saw it."""
    critiques: list[Critique]
    """This run's critique first, then those of peer runs over the same source."""
    critique_runs: list[str]
    """The run each critique comes from, aligned with ``critiques``."""
    disagreement: bool
    gold: dict[str, Any] | None = None
    """The item's gold label, None when it carries none."""
    right: list[bool | None] = Field(default_factory=list)
    """Each critique right against gold, aligned with ``critiques`` (None: no gold, or unscored)."""
    samples_right: list[list[bool | None]] = Field(default_factory=list)
    """The same for each critique's samples."""
    prev: str | None = None
    """The previous item of the run under the filters the page was opened with."""
    next: str | None = None
    """The next item under those filters."""
    position: int | None = None
    """1-based position of this item among the filtered items (None when the filters exclude it)."""
    total: int = 0
    """Items that pass the filters."""


class CriticInfo(BaseModel):
    """A critic the server can run."""

    name: str
    summary: str
    needs_model: bool


class Health(BaseModel):
    """Liveness / readiness."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


class MetaCritiqueRequest(_Base):
    """Score critiques by AIUs (MetaCritique): each item carries ``critique`` and optionally ``reference_critique``."""

    items: list[dict[str, Any]] = Field(min_length=1)
    """Items as ``POST /v1/critiques`` reads them, plus ``critique`` (and ``reference_critique``,
    ``critique_aius``, ``reference_aius``)."""
    critic: Literal["metacritique", "metacritique-llm"] = "metacritique"
    """``metacritique`` (offline, no model) or ``metacritique-llm`` (the paper's prompts, needs a served model)."""
    model: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    map: dict[str, str] = Field(default_factory=dict)


class MetaCritiqueResponse(BaseModel):
    """One result per valid item, in request order; invalid items are listed in ``errors``."""

    critic: str
    model: str | None = None
    results: list[MetaCritiqueResult]
    errors: list[FieldProblem] = Field(default_factory=list)
