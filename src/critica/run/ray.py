"""The batch runner on a Ray cluster: the same critic, rebuilt on each worker, fed small chunks of items.

The driver keeps reading the input lazily and committing results (so resume, exactly-once and input-error
handling are the local executor's, unchanged); workers only critique. Each worker process builds the critic from
its :class:`~critica.run.batch.CriticRecipe` once and reuses it for every chunk it receives, so a local model is
loaded once per worker, not once per chunk. At most ``max_in_flight`` chunks are outstanding, which bounds the
driver's memory whatever the input size.

Ray is an optional dependency (``pip install 'critica[ray]'``). With ``address=None`` the driver joins the
cluster named by ``RAY_ADDRESS`` or starts a local instance; a Ray session already initialised by the caller is
used as is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from critica.errors import InputError, MissingDependency
from critica.types import Critique, Item

if TYPE_CHECKING:
    from critica.run.batch import CriticRecipe

__all__ = ["ray_stream"]

_CRITICS: dict[str, Any] = {}
"""Critics built in this worker process, by recipe (a worker serves many chunks)."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependency("Ray (--executor ray)", "pip install 'critica[ray]'") from None
    return ray


def _critique_chunk(recipe: CriticRecipe, items: list[Item]) -> tuple[list[Critique], int, int]:
    """Runs on a worker: critique ``items``; returns the critiques and this chunk's cache hits and misses."""
    from critica.run.runner import critique_stream

    key = (repr(recipe), repr(sorted(recipe.settings.items())))  # the repr leaves settings out (they hold the key)
    critic = _CRITICS.get(key)
    if critic is None:
        critic = _CRITICS[key] = recipe.build()
    stats = getattr(getattr(critic, "caller", None), "cache_stats", None)
    hits0, misses0 = (stats.hits, stats.misses) if stats is not None else (0, 0)

    async def collect() -> list[Critique]:
        return [c async for c in critique_stream(critic, items, concurrency=recipe.concurrency,  # type: ignore[misc]
                                                 budget=recipe.budget)]

    out = asyncio.run(collect())
    if stats is None:
        return out, 0, 0
    return out, stats.hits - hits0, stats.misses - misses0


def ray_stream(
    recipe: CriticRecipe,
    records: Iterable[Item | InputError],
    *,
    address: str | None = None,
    chunk: int = 16,
    max_in_flight: int | None = None,
    cache_counter: Any = None,
) -> Iterator[Critique | InputError]:
    """Yield a critique per item (computed on Ray workers) and each input error, as they become available.

    Args:
        recipe: How each worker builds the critic.
        records: Items and input errors, pulled lazily.
        address: Ray cluster address (``ray://host:10001`` or ``host:6379``); None joins ``RAY_ADDRESS`` or starts
            a local instance.
        chunk: Items per Ray task (small chunks lose less work to a crash, large ones amortise task overhead).
        max_in_flight: Outstanding tasks at most (default: twice the cluster's CPUs).
        cache_counter: Object with ``cache_hits``/``cache_misses`` attributes to add the workers' cache counts to.
    """
    ray = _import_ray()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    task = ray.remote(num_cpus=1)(_critique_chunk)
    limit = max_in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    recipe_ref = ray.put(recipe)
    in_flight: list[Any] = []

    def collect(ready: list[Any]) -> Iterator[Critique]:
        for ref in ready:
            in_flight.remove(ref)
            critiques, hits, misses = ray.get(ref)
            if cache_counter is not None:
                cache_counter.cache_hits += hits
                cache_counter.cache_misses += misses
            yield from critiques

    buf: list[Item] = []
    try:
        for rec in records:
            if isinstance(rec, InputError):
                yield rec
                continue
            buf.append(rec)
            if len(buf) >= max(1, chunk):
                in_flight.append(task.remote(recipe_ref, buf))
                buf = []
                while len(in_flight) >= limit:
                    ready, _ = ray.wait(in_flight, num_returns=1)
                    yield from collect(ready)
        if buf:
            in_flight.append(task.remote(recipe_ref, buf))
        while in_flight:
            ready, _ = ray.wait(in_flight, num_returns=1)
            yield from collect(ready)
    finally:
        for ref in in_flight:
            ray.cancel(ref, force=False)
