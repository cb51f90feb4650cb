"""The read side of ``/v1``: stored runs, their items and critiques, figures against gold, plots, and the comparison
of runs over the same items."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from critica.bench.compare import Comparison, compare_runs
from critica.errors import UserError
from critica.server.context import identity, need_store
from critica.server.errors import HTTPProblem
from critica.server.plots import PLOTS, render_plot
from critica.server.schemas import ErrorBody, ItemDetail, ItemPage, RunMetrics, RunSummary
from critica.server.views import (
    SORTS,
    figures_of,
    get_run,
    item_detail,
    item_page,
    list_runs,
    run_metrics,
    run_summary,
)
from critica.store import Store
from critica.types import Critique, ParseStatus, Verdict

__all__ = ["router", "compare_router"]

router = APIRouter(prefix="/v1/runs", tags=["runs"], dependencies=[Depends(identity)],
                   responses={c: {"model": ErrorBody} for c in (401, 403, 404, 501)})


@router.get("", response_model=list[RunSummary])
def runs(store: Store = Depends(need_store)) -> list[RunSummary]:
    """Every stored run with its summary figures, newest first."""
    return list_runs(store)


@router.get("/{run}", response_model=RunSummary)
def run(run: str, store: Store = Depends(need_store)) -> RunSummary:
    """One run's summary figures."""
    return run_summary(store, get_run(store, run))


class Filters:
    """The item filters shared by the item list, the item page (previous/next), the run's figures and its plots."""

    def __init__(
        self,
        critic: str | None = Query(None, description="Filter on this critic's critique (default: the run's own)."),
        verdict: Verdict | None = None,
        parse_status: ParseStatus | None = None,
        disagreement: bool | None = Query(None, description="Only items whose critiques disagree (true) or agree (false)."),
        outcome: Literal["right", "wrong", "no_gold"] | None = Query(
            None, description="Only items the critique gets right or wrong against the item's gold label, or that "
                              "carry none."),
        q: str | None = Query(None, description="Search item ids and questions."),
        sort: str | None = Query(None, description=f"Order by one of {', '.join(SORTS)}; prefix - to reverse."),
    ) -> None:
        self.values: dict[str, Any] = {
            "critic": critic, "verdict": verdict.value if verdict else None,
            "parse_status": parse_status.value if parse_status else None, "disagreement": disagreement,
            "outcome": outcome, "q": q, "sort": sort}


@router.get("/{run}/items", response_model=ItemPage)
def items(
    run: str,
    filters: Filters = Depends(),
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
    store: Store = Depends(need_store),
) -> ItemPage:
    """The run's items with every critic's verdict and the gold label, filterable by verdict, critic, disagreement,
    parse status and outcome against gold, sortable."""
    return item_page(store, run, offset=offset, limit=limit, **filters.values)


@router.get("/{run}/metrics", response_model=RunMetrics)
def metrics(run: str, filters: Filters = Depends(), store: Store = Depends(need_store)) -> RunMetrics:
    """The run's ``critica bench`` figures against the gold labels its items carry, over the filtered items."""
    return run_metrics(store, run, **filters.values)


@router.get("/{run}/critiques", response_model=list[Critique])
def critiques(
    run: str, verdict: Verdict | None = None, parse_status: ParseStatus | None = None,
    offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=1000), store: Store = Depends(need_store),
) -> list[Critique]:
    """The run's critiques in the order they were stored."""
    get_run(store, run)
    return list(store.iter_critiques(run, verdict=verdict, parse_status=parse_status, offset=offset, limit=limit))


@router.get("/{run}/errors")
def input_errors(run: str, store: Store = Depends(need_store)) -> list[dict[str, Any]]:
    """Malformed input records of the run, each with its location, field and reason."""
    get_run(store, run)
    return [e.model_dump() for e in store.input_errors(run)]


@router.get("/{run}/plots/{kind}.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": f"One of: {', '.join(PLOTS)}"}})
def plot(run: str, kind: str, filters: Filters = Depends(), store: Store = Depends(need_store)) -> Response:
    """A PNG plot of the run's filtered items (``verdicts``, ``first-error``, ``latency``, ``figures``)."""
    return Response(render_plot(store, run, kind, filters.values), media_type="image/png",
                    headers={"Cache-Control": "no-store"})


@router.get("/{run}/items/{item_id:path}", response_model=ItemDetail)
def item(run: str, item_id: str, filters: Filters = Depends(),
         also: list[str] = Query([], description="More runs whose critiques of this item to show (e.g. the runs of "
                                                 "a comparison); repeat, or separate with commas."),
         store: Store = Depends(need_store)) -> ItemDetail:
    """One item with its steps, gold label, this run's critique and its peers' critiques side by side; ``prev`` and
    ``next`` follow the filters given."""
    return item_detail(store, run, item_id, also=[n for a in also for n in a.split(",") if n], **filters.values)


compare_router = APIRouter(prefix="/v1", tags=["runs"], dependencies=[Depends(identity)],
                           responses={c: {"model": ErrorBody} for c in (400, 401, 403, 404, 501)})


@compare_router.get("/comparison", response_model=Comparison)
def comparison(
    runs: list[str] = Query(..., description="Two or more run names (repeat the parameter)."),
    disagreement: bool | None = Query(None, description="Only items where the runs disagree (true) or agree (false)."),
    verdict: Verdict | None = Query(None, description="Only items some run gives this verdict."),
    outcome: Literal["all_right", "some_wrong", "all_wrong"] | None = Query(
        None, description="Only items every run gets right, some run gets wrong, or every scored run gets wrong."),
    q: str | None = Query(None, description="Search item ids and questions."),
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
    store: Store = Depends(need_store),
) -> Comparison:
    """Runs over the same items (matched by item id and content, not by file path) side by side: shared items, the
    agreement matrix, each run's bench figures against gold on the shared items, and the items, filtered."""
    names = [n for r in runs for n in r.split(",") if n]
    for n in names:
        get_run(store, n)
    try:
        return compare_runs(store, names, disagreement=disagreement, verdict=verdict.value if verdict else None,
                            outcome=outcome, q=q, offset=offset, limit=limit,
                            figures=lambda run, pairs: figures_of(store, run, pairs))
    except UserError as e:
        raise HTTPProblem(400, str(e)) from None
