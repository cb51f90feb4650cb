"""Two or more stored runs over the same items, side by side: which items they share, how often they agree, where
they disagree, and each run's ``critica bench`` figures against the items' gold labels on the shared items.

Runs are matched by **content**, not by where the items were read from: an item is the same in two runs when it has
the same id *and* the same :func:`content_hash` (a hash of everything a critic is shown — question, response,
steps, candidates, reference, evidence … — but not the id or metadata). Two runs over one file read once as
``data/x.jsonl`` and once as ``./x.jsonl`` match; two runs whose item ``q1`` holds different responses do not (they
are counted as ``changed``). An item stored without its content (older runs) matches on its id alone.

Agreement between two runs is over the shared items both scored: the share with the same verdict, and, among items
both call ``incorrect`` with a step, the share naming the same first wrong step. The server's compare view
(``GET /v1/comparison``) and ``critica runs compare`` print these same figures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from critica.bench.gold import gold_of, mark, run_figures
from critica.store import Store
from critica.types import Critique, Item, Verdict

__all__ = ["content_hash", "compare_runs", "Comparison", "ComparedRun", "Agreement", "CompareRow", "OUTCOMES"]

OUTCOMES = ("all_right", "some_wrong", "all_wrong")


def content_hash(item: Item | None) -> str | None:
    """A short hash of what a critic is shown of ``item`` (every field but ``id`` and ``metadata``); None for None."""
    if item is None:
        return None
    shown = item.model_dump(mode="json", exclude={"id", "metadata"})
    return hashlib.sha256(json.dumps(shown, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


class Agreement(BaseModel):
    """How often two runs agree on their shared items."""

    n: int
    """Shared items both runs scored."""
    agree: int
    """Of those, items with the same verdict."""
    share: float | None
    """``agree / n`` (None when ``n`` is 0)."""
    first_error_n: int = 0
    """Shared items both call ``incorrect`` naming a step."""
    first_error_agree: int = 0
    """Of those, items where they name the same step."""


class ComparedRun(BaseModel):
    """One run of a comparison."""

    name: str
    critic: str | None = None
    model: str | None = None
    source: str | None = None
    items: int
    """Critiques the run holds."""
    only_here: int
    """Its items that are not shared by every compared run (absent elsewhere, or with other content)."""
    gold: dict[str, Any]
    """Its ``critica bench`` figures on the shared items (see :func:`critica.bench.gold.run_figures`)."""


class CompareRow(BaseModel):
    """One shared item: each run's verdict, first error and mark against gold, in the order of ``runs``."""

    item_id: str
    question: str
    gold: dict[str, Any] | None = None
    verdicts: list[str]
    first_errors: list[int | None]
    bounds: list[int | None]
    """The verifier's "first error at or before step k" bound (0-based), when a run gives one."""
    right: list[bool | None]
    disagreement: bool


class Comparison(BaseModel):
    """The comparison of ``runs`` (see the module docstring)."""

    runs: list[ComparedRun]
    shared: int
    """Items every run holds with the same content."""
    changed: int
    """Item ids every run holds, but with different content in some run (left out of everything else)."""
    agreement: list[list[Agreement]]
    """``agreement[i][j]``: runs i and j over the shared items."""
    disagreements: int
    """Shared items where the runs disagree (verdict, or first wrong step among ``incorrect`` verdicts)."""
    total: int
    """Shared items that pass the filters."""
    items: list[CompareRow] = Field(default_factory=list)
    """The filtered page of shared items."""


def _bound(c: Critique) -> int | None:
    b = c.metadata.get("error_at_or_before")
    return b if isinstance(b, int) and not isinstance(b, bool) else None


def _split(cs: list[Critique]) -> bool:
    scored = [c for c in cs if c.verdict != Verdict.UNSCORED]
    if len({c.verdict for c in scored}) > 1:
        return True
    steps = {c.first_error_step for c in scored if c.verdict == Verdict.INCORRECT and c.first_error_step is not None}
    return len(steps) > 1


def _agreement(a: list[Critique], b: list[Critique]) -> Agreement:
    both = [(x, y) for x, y in zip(a, b, strict=True) if Verdict.UNSCORED not in (x.verdict, y.verdict)]
    agree = sum(x.verdict == y.verdict for x, y in both)
    located = [(x, y) for x, y in both if x.verdict == y.verdict == Verdict.INCORRECT
               and x.first_error_step is not None and y.first_error_step is not None]
    return Agreement(n=len(both), agree=agree, share=agree / len(both) if both else None,
                     first_error_n=len(located), first_error_agree=sum(x.first_error_step == y.first_error_step
                                                                       for x, y in located))


def compare_runs(
    store: Store, names: list[str], *, disagreement: bool | None = None, verdict: str | None = None,
    outcome: Literal["all_right", "some_wrong", "all_wrong"] | None = None, q: str | None = None,
    offset: int = 0, limit: int = 50, n_boot: int = 1000,
    figures: Callable[[str, list[tuple[Item | None, Critique]]], dict[str, Any]] | None = None,
) -> Comparison:
    """Compare the stored runs ``names`` (two or more, each at most once).

    Filters apply to the listed items only (``items``/``total``), never to the figures: ``disagreement`` keeps
    items where the runs disagree (or agree), ``verdict`` items some run gives that verdict, ``outcome`` items
    that every run gets right (``all_right``), some run gets wrong (``some_wrong``) or every scored run gets wrong
    (``all_wrong``) against gold, ``q`` searches ids and questions. ``figures(run, pairs)`` computes a run's
    figures on the shared items (default :func:`critica.bench.gold.run_figures` with ``n_boot`` resamples; the server
    passes a cached one).

    Raises:
        UserError: fewer than two runs, a repeated name or an unknown run.
    """
    from critica.errors import UserError

    if len(names) < 2 or len(set(names)) != len(names):
        raise UserError("compare needs two or more different runs")
    infos = []
    for n in names:
        info = store.get_run(n)
        if info is None:
            raise UserError(f"no run named {n!r} (see: critica runs list)")
        infos.append(info)
    sides: list[dict[str, tuple[str | None, Item | None, Critique]]] = [
        {c.item_id: (content_hash(item), item, c) for item, c in store.iter_records(n)} for n in names]
    first = sides[0]
    shared: list[str] = []
    changed = 0
    for item_id, (h0, _, _) in first.items():
        if not all(item_id in s for s in sides[1:]):
            continue
        hashes = {h for h, _, _ in (s[item_id] for s in sides) if h is not None}
        if len(hashes) > 1 or (h0 is None and len(hashes) > 1):
            changed += 1
            continue
        shared.append(item_id)
    keep = set(shared)
    if figures is None:
        def figures(_run: str, pairs: list[tuple[Item | None, Critique]]) -> dict[str, Any]:
            return run_figures(pairs, n_boot=n_boot)
    columns = [[s[i][2] for i in shared] for s in sides]
    runs = [ComparedRun(name=info.name, critic=info.protocol, model=info.model, source=info.source,
                        items=len(side), only_here=sum(i not in keep for i in side),
                        gold=figures(info.name, [(side[i][1], side[i][2]) for i in shared]))
            for info, side in zip(infos, sides, strict=True)]
    agreement = [[_agreement(a, b) for b in columns] for a in columns]
    rows: list[CompareRow] = []
    total = disagreeing = 0
    for k, item_id in enumerate(shared):
        cs = [col[k] for col in columns]
        item = next((s[item_id][1] for s in sides if s[item_id][1] is not None), None)
        split = _split(cs)
        disagreeing += split
        gold = gold_of(item)
        marks = [mark(c, gold) for c in cs]
        if disagreement is not None and split != disagreement:
            continue
        if verdict is not None and all(c.verdict.value != verdict for c in cs):
            continue
        scored = [m for m in marks if m is not None]
        if outcome == "all_right" and not (scored and all(scored) and len(scored) == len(marks)):
            continue
        if outcome == "some_wrong" and False not in scored:
            continue
        if outcome == "all_wrong" and not (scored and not any(scored)):
            continue
        question = item.question if item is not None else ""
        if q and q.lower() not in item_id.lower() and q.lower() not in question.lower():
            continue
        total += 1
        if total <= offset or len(rows) >= limit:
            continue
        rows.append(CompareRow(item_id=item_id, question=question[:300],
                               gold=gold.as_json() if gold else None, verdicts=[c.verdict.value for c in cs],
                               first_errors=[c.first_error_step for c in cs], bounds=[_bound(c) for c in cs],
                               right=marks, disagreement=split))
    return Comparison(runs=runs, shared=len(shared), changed=changed, agreement=agreement,
                      disagreements=disagreeing, total=total, items=rows)
