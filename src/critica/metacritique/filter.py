"""Keep only critiques whose Meta-F1 reaches a threshold: the data filter of MetaCritique (Sun et al. 2024) and
MultiCritique (Lan et al., arXiv:2410.15287), which train critics only on critiques that score well.

Works on the ``(item, critique)`` records a stored run yields (:meth:`critica.store.Store.iter_records`), before
any export (SFT, DPO …). The critique judged is the text an SFT export would teach
(:func:`critica.report.export.render_critique`), against the item's ``reference_critique`` (``Item.metadata``);
without one the offline judge cannot score recall, so the record is dropped (the LLM judge writes a reference
critique from the reference answer instead). A record whose Meta-F1 is None (nothing scored) is dropped. Every
kept critique carries its scores in ``metadata["metacritique"]``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from critica.metacritique.base import META_KEY, MetaInput, MetaJudge
from critica.types import Critique, Item, Verdict

__all__ = ["FilterStats", "meta_f1_filter"]

Record = tuple[Item | None, Critique]


@dataclass
class FilterStats:
    """What the filter did."""

    kept: int = 0
    below: int = 0
    """Dropped: Meta-F1 under the threshold."""
    unscored: int = 0
    """Dropped: no item, an unscored critique, or Meta-F1 None (e.g. no reference critique)."""


def meta_f1_filter(records: Iterable[Record], threshold: float, judge: MetaJudge, *, stats: FilterStats | None = None,
                   batch: int = 32, concurrency: int = 4) -> Iterator[Record]:
    """Yield the records whose critique has Meta-F1 ≥ ``threshold`` (in input order), scoring ``batch`` at a time."""
    from critica.report.export import render_critique

    stats = stats if stats is not None else FilterStats()

    async def score(chunk: list[Record]) -> list[float | None]:
        gate = asyncio.Semaphore(concurrency)

        async def one(item: Item, critique: Critique) -> float | None:
            ref = item.metadata.get("reference_critique")
            async with gate:
                result = await judge.judge(item, MetaInput(render_critique(critique),
                                                           ref if isinstance(ref, str) and ref else None))
            critique.metadata[META_KEY] = result.model_dump(mode="json")
            return result.f1

        return list(await asyncio.gather(*(one(i, c) for i, c in chunk)))  # type: ignore[arg-type]

    chunk: list[Record] = []

    def flush() -> Iterator[Record]:
        f1s = asyncio.run(score(chunk))
        for rec, f1 in zip(chunk, f1s, strict=True):
            if f1 is None:
                stats.unscored += 1
            elif f1 >= threshold:
                stats.kept += 1
                yield rec
            else:
                stats.below += 1
        chunk.clear()

    for item, critique in records:
        if item is None or critique.verdict == Verdict.UNSCORED:
            stats.unscored += 1
            continue
        chunk.append((item, critique))
        if len(chunk) >= batch:
            yield from flush()
    if chunk:
        yield from flush()
