"""The write side of ``/v1``: critiques, rewards, comparisons, refinement, jobs; plus critics, health, readiness."""

from __future__ import annotations

import importlib.util
from typing import Any

from fastapi import APIRouter, Depends, Response

from critica.critics.registry import available_critics
from critica.server.context import AppContext, ctx, identity, limited
from critica.server.engine import Chosen
from critica.server.errors import HTTPProblem, problem_from_input_error
from critica.server.jobs import Job
from critica.server.limits import StrictJSONRoute, within
from critica.server.reward import reward_items, reward_samples, to_reward
from critica.server.schemas import (
    CompareRequest,
    CriticInfo,
    CritiqueRequest,
    CritiqueResponse,
    ErrorBody,
    Health,
    JobRequest,
    JobStatus,
    MetaCritiqueRequest,
    MetaCritiqueResponse,
    RefineRequest,
    RewardRequest,
    RewardResponse,
)
from critica.server.service import Recorder, parse_items
from critica.types import Critique, Item, MetaCritiqueResult

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 409, 413, 422, 429, 500, 501, 503, 504)
}
router = APIRouter(prefix="/v1", responses=_ERRORS, route_class=StrictJSONRoute)


def _check_outage(c: AppContext, chosen: Chosen, critiques: list[Critique]) -> None:
    reason = c.engine.outage(chosen, critiques)
    if reason:
        raise HTTPProblem(503, f"model backend unavailable: {reason}", headers={"Retry-After": "5"})



def _prepare(c: AppContext, body: Any, *, max_batch: int) -> tuple[list, list, Chosen, Recorder | None]:
    """Validate a batch request's items, choose its critic, and open its stored run when asked to.

    Answers 422 when no item is valid; the other items' problems are returned to be reported with the results.
    """
    items, problems = parse_items(body.items, body.map, max_batch=max_batch, limits=c.config.read_limits)
    if not items:
        raise HTTPProblem(422, "no valid item in the request: " + problems[0].message, errors=problems)
    chosen = c.engine.choose(body.critic, body.model, body.options)
    recorder = None
    if body.store and c.store is not None:
        recorder = Recorder(c.store, body.run_name, chosen, source=body.source, options=body.options, problems=problems)
    return items, problems, chosen, recorder

@router.post("/critiques", response_model=CritiqueResponse, tags=["critique"])
async def create_critiques(body: CritiqueRequest, _: str = Depends(limited), c: AppContext = Depends(ctx)) -> CritiqueResponse:
    """Critique one or many items; invalid items are listed in ``errors`` (as the CLI reports them), the rest run.

    Answers 422 when no item is valid, 503 when the model backend is unreachable, 504 past the request timeout.
    """
    items, problems, chosen, recorder = _prepare(c, body, max_batch=c.config.max_batch)
    try:
        critiques = await within(c.engine.run(chosen, items, recorder), c.config.request_timeout_s, "critique request")
    finally:
        if recorder is not None:
            recorder.finish()
    _check_outage(c, chosen, critiques)
    return CritiqueResponse(run_id=recorder.name if recorder else None, critic=chosen.name, model=chosen.model,
                            critiques=critiques, errors=problems)


@router.post("/reward", response_model=RewardResponse, tags=["reward"])
async def reward(body: RewardRequest, _: str = Depends(limited), c: AppContext = Depends(ctx)) -> RewardResponse:
    """Score a batch of (prompt, response[, reference]) for RL training: ``rewards`` in request order, with the
    critiques behind them. Also accepts OpenRLHF's remote reward model body (``query``, ``prompts``, ``labels``)."""
    samples = reward_samples(body)
    if len(samples) > c.config.max_batch:
        raise HTTPProblem(413, f"batch of {len(samples)} samples exceeds the limit of {c.config.max_batch} per request")
    if not samples:
        return RewardResponse(rewards=[], scores=[], details=[], critic=body.critic or c.config.default_critic)
    items = reward_items(samples, c.config.read_limits)
    chosen = c.engine.choose(body.critic, body.model, body.options)
    critiques = await within(c.engine.run(chosen, items), c.config.request_timeout_s, "reward request")
    _check_outage(c, chosen, critiques)
    pairs = [to_reward(cr, c.config.unscored_reward) for cr in critiques]
    rewards = [r for r, _ in pairs]
    details = [d for _, d in pairs]
    return RewardResponse(
        rewards=rewards, scores=rewards, details=details,
        extra_logs={"scored": [1.0 if d.scored else 0.0 for d in details]},
        critiques=critiques if body.include_critiques else [], critic=chosen.name, model=chosen.model,
    )


@router.post("/compare", response_model=Critique, tags=["critique"])
async def compare(body: CompareRequest, _: str = Depends(limited), c: AppContext = Depends(ctx)) -> Critique:
    """Compare two responses to one question with a pairwise critic (answers 501 when none is installed)."""
    if not c.engine.has_critic(body.critic):
        raise HTTPProblem(501, f"pairwise comparison is not available on this server: no critic named {body.critic!r} "
                               f"is registered (available: {', '.join(sorted(available_critics()))})")
    item = Item(id="compare", question=body.question, response=body.response_a, candidates=[body.response_b],
                reference_answer=body.reference)
    chosen = c.engine.choose(body.critic, body.model, body.options)
    critiques = await within(c.engine.run(chosen, [item]), c.config.request_timeout_s, "compare request")
    _check_outage(c, chosen, critiques)
    return critiques[0]


@router.post("/metacritique", response_model=MetaCritiqueResponse, tags=["critique"])
async def metacritique(body: MetaCritiqueRequest, _: str = Depends(limited),
                       c: AppContext = Depends(ctx)) -> MetaCritiqueResponse:
    """Meta-Precision, Meta-Recall and Meta-F1 of each item's ``critique`` (MetaCritique, Sun et al. 2024).

    Answers 422 when no item is valid (an item without a ``critique`` string is invalid), 503 when the model
    backend is unreachable, 504 past the request timeout.
    """
    from critica.errors import InputError, UserError
    from critica.metacritique.base import META_KEY, meta_input

    parsed, problems = parse_items(body.items, body.map, max_batch=c.config.max_batch, limits=c.config.read_limits)
    items = []
    for item in parsed:
        try:
            meta_input(item)
            items.append(item)
        except UserError as e:
            problems.append(problem_from_input_error(InputError("request", f"item {item.id!r}", "critique", str(e))))
    if not items:
        raise HTTPProblem(422, "no valid item in the request: " + problems[0].message, errors=problems)
    chosen = c.engine.choose(body.critic, body.model, body.options)
    critiques = await within(c.engine.run(chosen, items), c.config.request_timeout_s, "metacritique request")
    _check_outage(c, chosen, critiques)
    results = [MetaCritiqueResult.model_validate(cr.metadata[META_KEY]) if META_KEY in cr.metadata else
               MetaCritiqueResult(item_id=cr.item_id, judge=chosen.name, critique="", reference_critique="",
                                  error=cr.error or cr.parse_error) for cr in critiques]
    return MetaCritiqueResponse(critic=chosen.name, model=chosen.model, results=results, errors=problems)


@router.post("/refine", tags=["critique"])
async def refine(body: RefineRequest, _: str = Depends(limited), c: AppContext = Depends(ctx)) -> dict[str, Any]:
    """Critique → revise → re-critique one response, round by round (answers 501 when loops are not installed)."""
    if importlib.util.find_spec("critica.loops.revise") is None:
        raise HTTPProblem(501, "refinement is not available on this server: the critique → revise loop "
                               "(critica.loops.revise) is not part of this build")
    from critica.server.refine import run_refine

    return await within(run_refine(c, body), c.config.request_timeout_s, "refine request")


@router.post("/jobs", response_model=JobStatus, status_code=202, tags=["jobs"])
async def submit_job(body: JobRequest, response: Response, who: str = Depends(limited),
                     c: AppContext = Depends(ctx)) -> JobStatus:
    """Start a long batch in the background; poll ``GET /v1/jobs/{id}`` (the ``Location`` header)."""
    items, problems, chosen, recorder = _prepare(c, body, max_batch=c.config.max_job_batch)
    job = Job(id="", key=who, critic=chosen.name, model=chosen.model, total=len(items),
              run_id=recorder.name if recorder else None, errors=problems)

    async def work(j: Job) -> list[Critique]:
        def landed(item: Item, critique: Critique) -> None:
            j.done += 1
            if recorder is not None:
                recorder(item, critique)

        try:
            out = await c.engine.run(chosen, items, landed)
        finally:
            if recorder is not None:
                recorder.finish()
        reason = c.engine.outage(chosen, out)
        if reason:
            raise HTTPProblem(503, f"model backend unavailable: {reason}")
        return out

    c.jobs.submit(job, work)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job.view(results=False)


@router.get("/jobs", response_model=list[JobStatus], tags=["jobs"])
def list_jobs(who: str = Depends(identity), c: AppContext = Depends(ctx)) -> list[JobStatus]:
    """The caller's jobs (without their results)."""
    return [j.view(results=False) for j in c.jobs.list(who)]


@router.get("/jobs/{job_id}", response_model=JobStatus, tags=["jobs"])
def get_job(job_id: str, results: bool = True, who: str = Depends(identity), c: AppContext = Depends(ctx)) -> JobStatus:
    """A job's progress; its critiques once done (``results=false`` leaves them out)."""
    return c.jobs.get(who, job_id).view(results=results)


@router.delete("/jobs/{job_id}", response_model=JobStatus, tags=["jobs"])
def cancel_job(job_id: str, who: str = Depends(identity), c: AppContext = Depends(ctx)) -> JobStatus:
    """Cancel a job; critiques already stored stay in its run."""
    return c.jobs.cancel(who, job_id).view(results=False)


@router.get("/critics", tags=["meta"])
def critics(_: str = Depends(identity), c: AppContext = Depends(ctx)) -> dict[str, Any]:
    """Critics and models a request may name, with the defaults."""
    infos = [CriticInfo(name=n, summary=s.summary, needs_model=s.needs_model) for n, s in sorted(available_critics().items())]
    return {"critics": [i.model_dump() for i in infos], "models": c.engine.models,
            "default_critic": c.config.default_critic, "default_model": c.engine.models[0] if c.engine.models else None,
            "limits": {"max_batch": c.config.max_batch, "max_job_batch": c.config.max_job_batch,
                       "max_body_bytes": c.config.max_body_bytes, "per_key_concurrency": c.config.per_key_concurrency,
                       "request_timeout_s": c.config.request_timeout_s}}


@router.get("/health", response_model=Health, tags=["meta"])
def health() -> Health:
    """Liveness: the process answers (no auth, no backend call)."""
    return Health(status="ok")


@router.get("/ready", response_model=Health, tags=["meta"], responses={503: {"model": Health}})
def ready(response: Response, c: AppContext = Depends(ctx)) -> Health:
    """Readiness: the store answers and no served backend is known to be down (503 otherwise, with the reason)."""
    checks: dict[str, str] = {}
    ok = True
    if c.store is not None:
        try:
            c.store.get_run("\x00probe")
            checks["store"] = "ok"
        except Exception as e:  # noqa: BLE001 - reported, not raised
            checks["store"], ok = f"error: {e}", False
    for spec in c.engine.models:
        h = c.engine.health().get(spec)
        if h is not None and h.down:
            # The reason (it may name internal hosts) goes to API callers with a key, not to this open probe.
            checks[f"backend {spec}"], ok = "unavailable (last call could not reach it)", False
        else:
            checks[f"backend {spec}"] = "ok" if h is not None else "not called yet"
    if not ok:
        response.status_code = 503
    return Health(status="ok" if ok else "unavailable", checks=checks)
