"""Resumable batch jobs: stream a large input through a critic into a stored run, exactly once per item.

How "exactly once" holds under ``kill -9`` at any moment:

* Results are committed one item per transaction by the sink (:class:`critica.store.StoreSink`), and the store
  refuses a second critique for an ``(run, item_id)`` pair, so a commit is all-or-nothing and never doubled.
* On restart the input is read again from the start in chunks; each chunk's ids are checked against the run
  (one indexed query per chunk) and only the missing items are critiqued. An item that was in flight when the
  process died was not committed, so it is critiqued again; one that was committed is skipped.
* Malformed records are stored with file, location, field and reason (unique per location, so re-reading the
  input does not record them twice).

Memory stays flat as input grows: records are pulled lazily (JSONL line by line, JSON arrays element by element,
Parquet with ``pyarrow`` ``iter_batches``; see :mod:`critica.inputs.records`), at most ``concurrency`` items are in
flight, and nothing per item outlives its commit.

The critic is described by a :class:`CriticRecipe` rather than passed as an object, so the Ray executor
(:mod:`critica.run.ray`) can rebuild the same critic on each worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from critica.budget import ItemBudget
from critica.critics.base import Critic
from critica.errors import InputError, UserError
from critica.inputs.load import ReadLimits, read_items
from critica.run.interrupt import run_interruptible
from critica.run.runner import RunStats, run_critic
from critica.types import Critique, Item

if TYPE_CHECKING:
    from critica.run.ray import RayOptions

__all__ = ["CriticRecipe", "BatchSink", "BatchResult", "iter_source", "count_records", "run_batch"]

Executor = Literal["local", "ray"]


class BatchSink(Protocol):
    """A runner sink that can also say which items a run already holds (``critica.store.StoreSink`` is one)."""

    def write(self, critique: Critique) -> None: ...

    def error(self, error: InputError) -> None: ...

    def remember(self, item: Item) -> None: ...

    def done(self, item_ids: list[str]) -> set[str]: ...


@dataclass(frozen=True)
class CriticRecipe:
    """Everything needed to build a critic, in picklable form (sent to Ray workers as is).

    ``critic`` is a registered critic name (``critica critics``) or an import path ``package.module:factory``
    whose factory is called as ``factory(caller, **options)`` (``caller`` is None without a model).
    """

    critic: str
    """Critic name or ``module:factory`` import path."""
    model: str | None = None
    """Model spec; None for model-free critics."""
    options: dict[str, Any] = field(default_factory=dict)
    """Keyword options for the critic factory (sampling, structured …)."""
    settings: dict[str, Any] = field(default_factory=dict, repr=False)
    """:class:`~critica.config.Settings` fields (base URL, key, timeout, retries); left out of the repr, which could
    otherwise print the key in a log or a traceback. Never stored with the run."""
    concurrency: int = 4
    """Calls in flight per process."""
    cache_path: str | None = None
    """SQLite file of the call cache; None disables caching."""
    budget: ItemBudget = field(default_factory=ItemBudget)
    """Size and time budget of each item (:mod:`critica.budget`)."""
    scaling: dict[str, Any] = field(default_factory=dict)
    """:class:`~critica.aggregate.spec.ScalingConfig` fields (``--samples``, ``--vote``, ``--scaling-config``), as
    plain data so the recipe stays picklable; empty: the critic is not wrapped."""

    def build(self) -> Critic:
        """Construct the critic (and its backend, call policy and cache)."""
        from critica.backends.call import Caller
        from critica.backends.registry import create_backend, policy_from
        from critica.config import Settings

        caller = None
        if self.model:
            settings = Settings(**self.settings)
            backend = create_backend(self.model, settings, workers=self.concurrency)
            cache = None
            if self.cache_path:
                from critica.backends.cache import SqliteCache

                cache = SqliteCache(self.cache_path)
            caller = Caller(backend, policy_from(settings, concurrency=self.concurrency), cache=cache)
        from critica.critics.registry import build_critic

        critic = build_critic(self.critic, caller, **self.options)  # a name or a module:factory path
        if not self.scaling:
            return critic
        from critica.aggregate.spec import ScalingConfig, wrap_critic
        from critica.config import Settings

        return wrap_critic(critic, ScalingConfig.model_validate(self.scaling), caller=caller,
                           settings=Settings(model=self.model, **self.settings), options=self.options,
                           concurrency=self.concurrency)


# -- reading ---------------------------------------------------------------------------------------------------------


def iter_source(path: str | Path, mapping: Mapping[str, str] | None = None, *, batch_size: int = 1024,
                limits: ReadLimits | None = None) -> Iterator[Item | InputError]:
    """Yield an Item or an InputError per record of a ``.jsonl``, ``.json`` or ``.parquet`` file, streaming.

    The same reader as ``critica critique`` (:func:`critica.inputs.load.read_items`): same layouts, limits,
    encodings and duplicate-id errors.

    Raises:
        UserError: the file does not exist or cannot be opened as its format.
    """
    path = Path(path)
    if not path.is_file():  # at once, not at the first record
        raise UserError(f"{path}: no such file")
    return read_items(path, mapping, limits=limits, batch_size=batch_size)


def count_records(path: str | Path) -> int | None:
    """Records in ``path`` for progress and ETA, cheaply: JSONL lines or Parquet row count; None if unknown."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        except Exception:  # noqa: BLE001 - only a progress hint
            return None
    if suffix == ".json":
        return None
    n, last = 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


# -- running ---------------------------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """What a batch invocation did."""

    stats: RunStats
    """Totals of the items critiqued by this invocation."""
    skipped: int = 0
    """Items skipped because the run already held their critique (resume)."""
    cache_hits: int = 0
    cache_misses: int = 0
    lost: int = 0
    """Items whose Ray worker or node was lost (after Ray's retries): not stored, critiqued on resume."""


def pending(records: Iterable[Item | InputError], sink: BatchSink, *, chunk: int = 256,
            on_skip: Callable[[int], None] | None = None) -> Iterator[Item | InputError]:
    """Records the run does not hold yet, checked one chunk at a time; input errors pass through."""
    buf: list[Item | InputError] = []

    def flush() -> Iterator[Item | InputError]:
        ids = [r.id for r in buf if isinstance(r, Item)]
        done = sink.done(ids) if ids else set()
        if done and on_skip is not None:
            on_skip(sum(1 for i in ids if i in done))
        for r in buf:
            if isinstance(r, Item):
                if r.id in done:
                    continue
                sink.remember(r)
            yield r
        buf.clear()

    for rec in records:
        buf.append(rec)
        if len(buf) >= chunk:
            yield from flush()
    yield from flush()


def run_batch(
    recipe: CriticRecipe,
    records: Iterable[Item | InputError],
    sink: BatchSink,
    *,
    executor: Executor = "local",
    ray_address: str | None = None,
    progress: Callable[[RunStats, int], None] | None = None,
    chunk: int = 256,
    ray: RayOptions | None = None,
) -> BatchResult:
    """Critique every record the run does not hold yet, committing each result through ``sink`` as it completes.

    Args:
        recipe: How to build the critic (built here for ``local``, on each worker for ``ray``).
        records: Items and input errors, typically :func:`iter_source` (pulled lazily).
        sink: Where results go and what is already done (``Store.sink(run)``).
        executor: ``local`` (asyncio in this process) or ``ray`` (tasks on a Ray cluster).
        ray_address: Cluster address for ``ray``; None starts or joins a local instance.
        ray: :class:`critica.run.ray.RayOptions` (token file, connect timeout, code shipping, chunk size).
        progress: Called as ``progress(stats, skipped)`` after each result.
        chunk: Records checked against the store per query.
    """
    result = BatchResult(stats=RunStats())

    def skip(n: int) -> None:
        result.skipped += n
        if progress is not None:
            progress(result.stats, result.skipped)

    todo = pending(records, sink, chunk=chunk, on_skip=skip)
    if executor == "ray":
        from critica.run.ray import ray_stream

        stats = result.stats
        for out in ray_stream(recipe, todo, address=ray_address, cache_counter=result, options=ray):
            stats.deliver(out, sink)
            if progress is not None:
                progress(stats, result.skipped)
        stats.finished = time.perf_counter()
        return result
    if executor != "local":
        raise UserError(f"unknown executor {executor!r}; use local or ray")
    critic = recipe.build()

    def on_result(stats: RunStats, _r: object) -> None:
        if progress is not None:
            progress(stats, result.skipped)

    async def go() -> RunStats:
        try:
            return await run_critic(critic, todo, sink, concurrency=recipe.concurrency, progress=on_result,
                                    budget=recipe.budget)
        finally:
            caller = getattr(critic, "caller", None)
            if caller is not None:
                await caller.aclose()

    result.stats = run_interruptible(go())  # Ctrl-C: in-flight items cancelled, committed ones kept
    caller = getattr(critic, "caller", None)
    if caller is not None and getattr(caller, "cache_stats", None) is not None:
        result.cache_hits, result.cache_misses = caller.cache_stats.hits, caller.cache_stats.misses
    return result
