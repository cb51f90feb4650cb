"""The read side of ``/v1``: stored runs, their items and critiques, and plots."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from critica.server.context import identity, need_store
from critica.server.plots import PLOTS, render_plot
from critica.server.schemas import ErrorBody, ItemDetail, ItemPage, RunSummary
from critica.server.views import get_run, item_detail, item_page, list_runs, run_summary
from critica.store import Store
from critica.types import Critique, ParseStatus, Verdict

__all__ = ["router"]

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


@router.get("/{run}/items", response_model=ItemPage)
def items(
    run: str,
    critic: str | None = Query(None, description="Filter on this critic's critique (default: the run's own)."),
    verdict: Verdict | None = None,
    parse_status: ParseStatus | None = None,
    disagreement: bool | None = Query(None, description="Only items whose critiques disagree (true) or agree (false)."),
    q: str | None = Query(None, description="Search item ids and questions."),
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
    store: Store = Depends(need_store),
) -> ItemPage:
    """The run's items with every critic's verdict, filterable by verdict, critic, disagreement and parse status."""
    return item_page(store, run, critic=critic, verdict=verdict.value if verdict else None,
                     parse_status=parse_status.value if parse_status else None, disagreement=disagreement, q=q,
                     offset=offset, limit=limit)


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
def plot(run: str, kind: str, store: Store = Depends(need_store)) -> Response:
    """A PNG plot of the run (``verdicts``, ``first-error``, ``latency``, ``figures``)."""
    return Response(render_plot(store, run, kind), media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/{run}/items/{item_id:path}", response_model=ItemDetail)
def item(run: str, item_id: str, store: Store = Depends(need_store)) -> ItemDetail:
    """One item with its steps, this run's critique and its peers' critiques side by side."""
    return item_detail(store, run, item_id)
