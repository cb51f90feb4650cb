"""Read-side views of the store for the API and the UI: run summaries, the filtered item list, item pages.

"Peers" of a run are the other runs over the same ``source`` (the same input file or dataset): their critiques of
an item are shown beside the run's own, and disagreement is judged across all of them. A critique's ``samples``
(k-sample votes, panels) count as critiques of their own for disagreement. A critique that carries a refinement
trajectory (``metadata["trajectory"]``) judges a *revised* answer, so it is shown but never counted for disagreement.

Gold labels that items carry in their metadata are shown with each critique marked right or wrong against them, and
a run's figures against gold are the ``critica bench`` figures, computed by the bench code (:mod:`critica.bench.gold`).
One set of filters (:func:`filtered`) drives the item list, the previous/next links of item pages, the figures and
the plots, so they always describe the same items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from critica.bench.compare import content_hash
from critica.bench.gold import gold_of, mark, run_figures
from critica.inputs.steps import item_steps
from critica.server.errors import HTTPProblem
from critica.server.schemas import ItemDetail, ItemPage, ItemRow, RunMetrics, RunSummary
from critica.store import RunInfo, Store
from critica.types import Critique, Item, Verdict

__all__ = ["run_summary", "list_runs", "get_run", "item_page", "item_detail", "disagrees", "labelled", "filtered",
           "run_metrics", "figures_of", "bound", "SORTS", "OUTCOMES"]


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


SORTS = ("item", "verdict", "first_error", "disagreement", "gold", "right")
OUTCOMES = ("right", "wrong", "no_gold")


@dataclass
class Filtered:
    """The run's items that pass the filters, sorted: rows for the list, (item, own critique) pairs for figures."""

    rows: list[ItemRow]
    pairs: list[tuple[Item | None, Critique]]
    critics: list[str]


def _sort_key(kind: str, own_label: str) -> Callable[[ItemRow], Any]:
    def key(r: ItemRow) -> Any:
        if kind == "verdict":
            return r.verdicts.get(own_label, "")
        if kind == "first_error":
            step = r.first_errors.get(own_label)
            return (step is None, step if step is not None else 0)
        if kind == "disagreement":
            return not r.disagreement
        if kind == "gold":
            return "" if r.gold is None else r.gold["text"]
        if kind == "right":
            m = r.right.get(own_label)
            return 2 if m is None else int(m)
        return r.item_id
    return key


def filtered(store: Store, run: str, *, critic: str | None = None, verdict: str | None = None,
             parse_status: str | None = None, disagreement: bool | None = None, q: str | None = None,
             outcome: str | None = None, sort: str | None = None) -> Filtered:
    """Every item of ``run`` that passes the filters (see :func:`item_page`), in ``sort`` order."""
    info = get_run(store, run)
    peer_maps = {p: {c.item_id: c for c in store.iter_critiques(p)} for p in _peers(store, info)}
    rows: list[ItemRow] = []
    pairs: list[tuple[Item | None, Critique]] = []
    critics: dict[str, None] = {}
    own_label = ""
    for item, own in store.iter_records(run):
        entries = list(labelled(own))
        own_label = entries[0][0]
        for peer, by_id in peer_maps.items():
            if own.item_id in by_id:
                entries.extend(labelled(by_id[own.item_id], peer))
        for label, c in entries:
            if "#" not in label:
                critics.setdefault(c.critic)
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
        gold = gold_of(item)
        if outcome is not None:
            m = mark(target, gold)
            if (outcome == "no_gold") != (gold is None) or (outcome == "right" and m is not True) or (
                    outcome == "wrong" and m is not False):
                continue
        question = item.question if item is not None else ""
        if q and q.lower() not in own.item_id.lower() and q.lower() not in question.lower():
            continue
        rows.append(ItemRow(
            item_id=own.item_id, question=question[:300], critics=[label for label, _ in entries],
            verdicts={label: c.verdict.value for label, c in entries},
            first_errors={label: c.first_error_step for label, c in entries},
            parse_status={label: c.parse_status.value for label, c in entries}, disagreement=split,
            gold=gold.as_json() if gold else None, right={label: mark(c, gold) for label, c in entries},
            bounds={label: b for label, c in entries if (b := bound(c)) is not None},
        ))
        pairs.append((item, own))
    if sort:
        kind = sort.lstrip("-")
        if kind not in SORTS:
            raise HTTPProblem(400, f"unknown sort {sort!r}; use one of: {', '.join(SORTS)} (prefix - to reverse)")
        order = sorted(range(len(rows)), key=lambda i: _sort_key(kind, own_label)(rows[i]), reverse=sort.startswith("-"))
        rows, pairs = [rows[i] for i in order], [pairs[i] for i in order]
    return Filtered(rows=rows, pairs=pairs, critics=list(critics))


def item_page(store: Store, run: str, *, offset: int = 0, limit: int = 50, **filters: Any) -> ItemPage:
    """The run's items, filtered: ``verdict``/``parse_status``/``outcome`` (right, wrong or no_gold against the
    item's gold label) apply to the critique by ``critic`` (default: the run's own), ``disagreement`` keeps items
    whose critiques disagree (or agree, when False), ``q`` searches ids and questions; ``sort`` orders them (one
    of :data:`SORTS`, ``-`` first to reverse; default: the order they were stored in)."""
    f = filtered(store, run, **filters)
    return ItemPage(total=len(f.rows), items=f.rows[offset:offset + limit], critics=f.critics)


def bound(c: Critique) -> int | None:
    """The verifier's "the first error is at or before step k" bound (0-based), when the critique gives one."""
    b = c.metadata.get("error_at_or_before")
    return b if isinstance(b, int) and not isinstance(b, bool) else None


_FIGURES: dict[tuple, dict[str, Any]] = {}
FILTERED_RESAMPLES = 200
"""Bootstrap resamples for the CIs of a *filtered* view (the whole run uses the bench's 1000): the point figures are
the same, and a filter change answers in a fraction of the time."""


def figures_of(store: Store, run: str, pairs: list[tuple[Item | None, Critique]], *, n_boot: int = 1000) -> dict[str, Any]:
    """:func:`critica.bench.gold.run_figures` of ``pairs`` (critiques of ``run``), cached per run state and item set
    (the bootstrap CIs take seconds on runs of thousands of items)."""
    info = get_run(store, run)
    key = (str(store.path), run, info.started_at, info.critiques, info.failed, info.ended_at, info.status, n_boot,
           tuple(c.item_id for _, c in pairs))
    if key not in _FIGURES:
        if len(_FIGURES) > 64:
            _FIGURES.clear()
        _FIGURES[key] = run_figures(pairs, n_boot=n_boot)
    return _FIGURES[key]


def run_metrics(store: Store, run: str, **filters: Any) -> RunMetrics:
    """The run's ``critica bench`` figures against gold over the items that pass the filters (the whole run: the
    bench's 1000-resample CIs; filtered: :data:`FILTERED_RESAMPLES`)."""
    narrowed = {k: v for k, v in filters.items() if k != "sort" and v is not None}
    f = filtered(store, run, **narrowed)
    return RunMetrics(**figures_of(store, run, f.pairs, n_boot=FILTERED_RESAMPLES if narrowed else 1000))


def item_detail(store: Store, run: str, item_id: str, *, also: list[str] | None = None, **filters: Any) -> ItemDetail:
    """Everything about one item: the item, its steps, this run's critique and the peers' critiques (and those of
    the runs in ``also``, e.g. the runs of a comparison, when they hold the same item), the gold label and each
    critique's mark against it, and the previous/next items under ``filters`` (as :func:`item_page`)."""
    info = get_run(store, run)
    own = store.get_critique(run, item_id)
    if own is None:
        raise HTTPProblem(404, f"run {run!r} has no item {item_id!r}")
    item = store.get_item(run, item_id)
    critiques, runs = [own], [run]
    extra = [get_run(store, name).name for name in also or [] if name != run]
    for peer in dict.fromkeys([*_peers(store, info), *extra]):
        c = store.get_critique(peer, item_id)
        if c is not None and peer in extra and item is not None:
            # a compared run shows its critique only when its item has the same content (bench.compare's rule)
            theirs = content_hash(store.get_item(peer, item_id))
            if theirs is not None and theirs != content_hash(item):
                c = None
        if c is not None:
            critiques.append(c)
            runs.append(peer)
            if item is None:
                item = store.get_item(peer, item_id)
    flat = [c for crit in critiques for _, c in labelled(crit)]
    gold = gold_of(item)
    ids = [r.item_id for r in filtered(store, run, **filters).rows]
    pos = ids.index(item_id) if item_id in ids else None
    return ItemDetail(run_id=run, item=item, steps=item_steps(item) if item is not None else [],
                      critiques=critiques, critique_runs=runs, disagreement=disagrees(flat),
                      gold=gold.as_json() if gold else None, right=[mark(c, gold) for c in critiques],
                      samples_right=[[mark(s, gold) for s in c.samples] for c in critiques],
                      prev=ids[pos - 1] if pos else None,
                      next=ids[pos + 1] if pos is not None and pos + 1 < len(ids) else None,
                      position=None if pos is None else pos + 1, total=len(ids))
