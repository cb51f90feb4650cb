"""Read-side views of the store for the API and the UI: run summaries, the filtered item list, item pages.

"Peers" of a run are the other runs over the same ``source`` (the same input file or dataset): their critiques of
an item are shown beside the run's own, and disagreement is judged across all of them. A critique's ``samples``
(k-sample votes, panels) count as critiques of their own for disagreement. A critique that carries a refinement
trajectory (``metadata["trajectory"]``) judges a *revised* answer, so it is shown but never counted for disagreement.
"""

from __future__ import annotations

from collections.abc import Iterator

from critica.inputs.steps import item_steps
from critica.server.errors import HTTPProblem
from critica.server.schemas import ItemDetail, ItemPage, ItemRow, RunSummary
from critica.store import RunInfo, Store
from critica.types import Critique, Verdict

__all__ = ["run_summary", "list_runs", "get_run", "item_page", "item_detail", "disagrees", "labelled"]


def _peers(store: Store, info: RunInfo, runs: list[RunInfo] | None = None) -> list[str]:
    if not info.source:
        return []
    runs = runs if runs is not None else store.list_runs()
    return [r.name for r in runs if r.source == info.source and r.name != info.name]


def run_summary(store: Store, info: RunInfo, runs: list[RunInfo] | None = None) -> RunSummary:
    """The summary figures of one run."""
    verdicts = {v.value: 0 for v in Verdict}
    verdicts.update(store.verdict_counts(info.name))
    n = info.critiques
    scored = n - verdicts.get(Verdict.UNSCORED.value, 0)
    return RunSummary(
        id=info.name, critic=info.protocol, model=info.model, source=info.source, status=info.status,
        started_at=info.started_at, ended_at=info.ended_at, items=n, input_errors=info.input_errors,
        verdicts=verdicts, scored_share=(scored / n) if n else None, totals=info.totals,
        peers=_peers(store, info, runs),
    )


def list_runs(store: Store) -> list[RunSummary]:
    """Every run, newest first."""
    runs = store.list_runs()
    return [run_summary(store, r, runs) for r in runs]


def get_run(store: Store, run: str) -> RunInfo:
    """The run named ``run`` or a 404."""
    info = store.get_run(run)
    if info is None:
        raise HTTPProblem(404, f"no run named {run!r}")
    return info


def labelled(critique: Critique, run: str | None = None) -> Iterator[tuple[str, Critique]]:
    """(label, critique) for a critique and each of its samples; peers' labels carry their run name."""
    base = critique.critic if run is None else f"{critique.critic} ({run})"
    yield base, critique
    for i, s in enumerate(critique.samples):
        yield f"{base} #{i + 1}", s


def disagrees(critiques: list[Critique]) -> bool:
    """Scored critiques differ in verdict, or the ones saying ``incorrect`` differ in their first error step."""
    scored = [c for c in critiques if c.verdict != Verdict.UNSCORED and "trajectory" not in c.metadata]
    if len({c.verdict for c in scored}) > 1:
        return True
    wrong_at = {c.first_error_step for c in scored if c.verdict == Verdict.INCORRECT and c.first_error_step is not None}
    return len(wrong_at) > 1


def _all(critiques: list[tuple[str, Critique]]) -> list[Critique]:
    return [c for _, c in critiques]


def item_page(store: Store, run: str, *, critic: str | None = None, verdict: str | None = None,
              parse_status: str | None = None, disagreement: bool | None = None, q: str | None = None,
              offset: int = 0, limit: int = 50) -> ItemPage:
    """The run's items, filtered: ``verdict``/``parse_status`` apply to the critique by ``critic`` (default: the
    run's own), ``disagreement`` keeps items whose critiques disagree (or agree, when False), ``q`` searches ids
    and questions."""
    info = get_run(store, run)
    peer_maps = {p: {c.item_id: c for c in store.iter_critiques(p)} for p in _peers(store, info)}
    rows: list[ItemRow] = []
    total = 0
    for item, own in store.iter_records(run):
        entries = list(labelled(own))
        for peer, by_id in peer_maps.items():
            if own.item_id in by_id:
                entries.extend(labelled(by_id[own.item_id], peer))
        target = own
        if critic is not None:
            chosen = [c for label, c in entries if c.critic == critic and "#" not in label]
            if not chosen:
                continue
            target = chosen[0]
        if verdict is not None and target.verdict.value != verdict:
            continue
        if parse_status is not None and target.parse_status.value != parse_status:
            continue
        split = disagrees(_all(entries))
        if disagreement is not None and split != disagreement:
            continue
        question = item.question if item is not None else ""
        if q and q.lower() not in own.item_id.lower() and q.lower() not in question.lower():
            continue
        total += 1
        if total <= offset or len(rows) >= limit:
            continue
        rows.append(ItemRow(
            item_id=own.item_id, question=question[:300], critics=[label for label, _ in entries],
            verdicts={label: c.verdict.value for label, c in entries},
            first_errors={label: c.first_error_step for label, c in entries},
            parse_status={label: c.parse_status.value for label, c in entries}, disagreement=split,
        ))
    return ItemPage(total=total, items=rows)


def item_detail(store: Store, run: str, item_id: str) -> ItemDetail:
    """Everything about one item: the item, its steps, this run's critique and the peers' critiques."""
    info = get_run(store, run)
    own = store.get_critique(run, item_id)
    if own is None:
        raise HTTPProblem(404, f"run {run!r} has no item {item_id!r}")
    item = store.get_item(run, item_id)
    critiques, runs = [own], [run]
    for peer in _peers(store, info):
        c = store.get_critique(peer, item_id)
        if c is not None:
            critiques.append(c)
            runs.append(peer)
            if item is None:
                item = store.get_item(peer, item_id)
    flat = [c for crit in critiques for _, c in labelled(crit)]
    return ItemDetail(run_id=run, item=item, steps=item_steps(item) if item is not None else [],
                      critiques=critiques, critique_runs=runs, disagreement=disagrees(flat))
