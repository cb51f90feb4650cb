"""Run any critic over many items: bounded concurrency, results streamed as they complete, failures kept as data.

Results reach a :class:`Sink` one at a time, in completion order, the moment each is ready, so a crash loses at
most the items still in flight. Input errors travel through the same sink, in order, so nothing is dropped silently.
Every item runs under an :class:`~critica.budget.ItemBudget` (size checked before any work, time around the critic):
an item over it becomes an ``unscored`` critique with the reason, and the other items go on.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from critica.backends.call import HANDOFF
from critica.backends.transcript import Transcript, capture
from critica.budget import DeadlineExceeded, ItemBudget, deadline_scope, size_reason, time_reason
from critica.critics.base import Critic, unscored
from critica.errors import InputError
from critica.inputs.steps import CACHED_SPLITS
from critica.inputs.steps import warm as warm_steps
from critica.timeouts import FixedTimeouts
from critica.types import Critique, Item, ParseStatus, Usage, Verdict

__all__ = ["Sink", "RunStats", "run_critic", "critique_stream", "critique_within"]

_USAGE_FIELDS = tuple(Usage.model_fields)


class Sink(Protocol):
    """Receives each result as soon as it exists."""

    def write(self, critique: Critique) -> None: ...

    def error(self, error: InputError) -> None: ...


@dataclass
class RunStats:
    """Totals of a run, updated as results arrive."""

    items: int = 0
    input_errors: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {v.value: 0 for v in Verdict})
    parse_status: dict[str, int] = field(default_factory=dict)
    backend_errors: int = 0
    """Critiques with an ``error`` (a backend or critic failure left them unscored). Items over their budget carry
    an ``error`` too but are not counted here: ``over_budget`` counts them."""
    failed_items: int = 0
    """Critiques that are *failed* (:attr:`~critica.types.Critique.failed`): an error, a failed call, or a failed
    panel/cascade/vote member. A superset of ``backend_errors``; ``usage.failed_calls`` counts the calls. Items over
    their budget are failed too (a resume with a larger budget critiques them again)."""
    over_budget: int = 0
    """Unscored because the item exceeded its size or time budget (not counted as failed calls)."""
    no_verdict: int = 0
    """Unscored although parsed and no call failed: a tie, an order-inconsistent pair, an abstention."""
    first_error_named: int = 0
    """Incorrect with a first erroneous step named."""
    latency_total_s: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    # Usage summed field by field as plain ints (building a Usage per result was a measurable share of dispatching
    # one item); `usage` makes the model when it is read.
    _sums: list[int] = field(default_factory=lambda: [0] * len(_USAGE_FIELDS), repr=False)
    _usage: Usage | None = field(default=None, repr=False)

    @property
    def usage(self) -> Usage:
        """Summed usage: tokens spent and replayed from the call cache (``usage.spent_tokens``, ``replayed_tokens``)."""
        if self._usage is None:
            self._usage = Usage(**dict(zip(_USAGE_FIELDS, self._sums, strict=True)))
        return self._usage

    def deliver(self, result: Critique | InputError, sink: Sink) -> None:
        """Count ``result`` and hand it to ``sink`` (every executor's one way to record a result)."""
        if isinstance(result, InputError):
            self.input_errors += 1
            sink.error(result)
        else:
            self.add(result)
            sink.write(result)

    def add(self, c: Critique) -> None:
        # Read through the instance dict: this runs for every result, on the event loop that dispatches requests.
        d = c.__dict__
        verdict, status, error, metadata, usage = d["verdict"], d["parse_status"], d["error"], d["metadata"], d["usage"]
        self.items += 1
        self.verdicts[verdict.value] = self.verdicts.get(verdict.value, 0) + 1
        self.first_error_named += verdict is Verdict.INCORRECT and d["first_error_step"] is not None
        self.parse_status[status.value] = self.parse_status.get(status.value, 0) + 1
        over = isinstance(metadata.get("budget"), dict) if metadata else False
        self.over_budget += over
        self.backend_errors += error is not None and not over
        self.failed_items += c.failed
        self.no_verdict += verdict is Verdict.UNSCORED and status is not ParseStatus.FAILED and error is None
        sums, values = self._sums, usage.__dict__
        for i, name in enumerate(_USAGE_FIELDS):
            sums[i] += values[name]
        self._usage = None
        self.latency_total_s += d["latency_s"]

    @property
    def wall_s(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    @property
    def mean_latency_s(self) -> float:
        return self.latency_total_s / self.items if self.items else 0.0


def _over_budget(item: Item, name: str, reason: str, budget: dict, latency_s: float = 0.0) -> Critique:
    crit = unscored(item, name, reason=reason, error=reason, latency_s=latency_s, explanation=f"Not judged: {reason}.")
    crit.metadata["budget"] = budget
    return crit


def _with_transcript(crit: Critique, transcript: Transcript) -> Critique:
    # A critic that kept its own transcript (a nested critique_within, a loop) keeps it.
    if transcript.calls and "transcript" not in crit.metadata:
        crit.metadata["transcript"] = transcript.as_metadata()
    return crit


async def critique_within(critic: Critic, item: Item, budget: ItemBudget | None = None) -> Critique:
    """``critic.critique(item)`` within ``budget`` (default :class:`~critica.budget.ItemBudget`); never raises for
    the item: an item over its budget, or a critic that raised, becomes an ``unscored`` critique with the reason.

    The size is checked before the critic sees the item. The time budget is applied around the whole critique, and
    the item's deadline is published to cooperative checks (:func:`critica.budget.checkpoint`) so that work in
    worker threads stops too; when this coroutine ends for any reason (done, timed out, cancelled) the deadline is
    abandoned, so nothing keeps computing for an item nobody waits for.

    The model calls made for the item are kept, bounded, in ``metadata["transcript"]``
    (:mod:`critica.backends.transcript`): the prompts sent and the replies, for the UI and for audits.
    """
    budget = ItemBudget() if budget is None else budget
    timeouts = _item_timeouts(budget)
    return await _critique_within(critic, item, budget, timeouts)


def _item_timeouts(budget: ItemBudget) -> FixedTimeouts | None:
    """The timeout group of items under ``budget`` (None: no time limit)."""
    return None if budget.timeout_s is None else FixedTimeouts(budget.timeout_s)


async def _critique_within(critic: Critic, item: Item, budget: ItemBudget, timeouts: FixedTimeouts | None) -> Critique:
    """:func:`critique_within` with the item's timeout taken from ``timeouts`` (one group of ``budget.timeout_s``
    seconds, shared by the items of a stream: one loop timer for all of them)."""
    name = getattr(critic, "name", "critic")
    start = time.perf_counter()
    over = budget.oversize(item)
    if over is not None:
        return _over_budget(item, name, size_reason(over), over)
    deadline = budget.deadline()
    try:
        # tasks and to_thread workers started below copy this context: the deadline, and the transcript recorder
        with deadline_scope(deadline), capture() as transcript:
            if timeouts is None:
                crit = await critic.critique(item)
            else:
                with timeouts.scope():  # in this task: no extra task per item
                    crit = await critic.critique(item)
        return _with_transcript(crit, transcript)
    except (Exception, DeadlineExceeded) as e:  # noqa: BLE001 - one failing item must not end the batch
        latency_s = time.perf_counter() - start
        # a timeout is the budget's only once the deadline has passed; before, it is the critic's own
        if isinstance(e, TimeoutError | DeadlineExceeded) and deadline.expired:
            return _over_budget(item, name, time_reason(budget.timeout_s or 0.0),
                                {"exceeded": "time", "timeout_s": budget.timeout_s}, latency_s)
        return unscored(item, name, reason="critic raised an exception", error=f"{type(e).__name__}: {e}",
                        latency_s=latency_s)
    finally:
        deadline.abandon()


async def critique_stream(
    critic: Critic, records: Iterable[Item | InputError], *, concurrency: int = 4, budget: ItemBudget | None = None,
) -> AsyncIterator[Critique | InputError]:
    """Yield a critique per item (completion order) and each input error, keeping at most ``concurrency`` in flight.

    An item holds one of ``concurrency`` slots while it is critiqued, and gives it up as soon as its first model call
    returns (or when it ends): the next item, already waiting, then sends its request while this one's reply is
    parsed, so the server is kept busy (model calls themselves stay bounded by the caller's own limit). So at most
    ``2 * concurrency`` items are started at once, and ``concurrency`` of those hold slots. A critic that makes no
    model call (the verifiers) holds its slot to the end: ``concurrency`` items at a time, as before.

    A critic may ask for more items in flight (its ``min_in_flight``, if it has one: a verifier judging in worker
    processes keeps two batches per worker, so none waits for its next one); ``concurrency`` is then raised to that.

    Records are pulled lazily, so memory stays bounded by ``concurrency`` whatever the input size. Each item runs
    within ``budget`` (default :class:`~critica.budget.ItemBudget`: 200,000 characters, 300 s), counted from when
    it takes its slot; see :func:`critique_within`.
    """
    concurrency = max(1, concurrency, getattr(critic, "min_in_flight", 1))
    slots = asyncio.Semaphore(concurrency)
    budget = ItemBudget() if budget is None else budget
    timeouts = _item_timeouts(budget)
    # Splitting ahead pays only while the split cache holds every item in progress (2 x concurrency), with room to
    # spare for the splits critics make besides: up to concurrency 256.
    warm = 4 * concurrency <= CACHED_SPLITS

    async def run_item(rec: Item) -> Critique:
        if warm and slots.locked():
            # It will wait for a slot: split its response now (the split is cached), so that once a slot frees the
            # item renders its prompt and sends its request sooner.
            warm_steps(rec)
        await slots.acquire()
        held = True

        def release() -> bool:
            nonlocal held
            if not held:
                return False
            held = False
            slots.release()
            return True

        token = HANDOFF.set(release)  # a ContextVar set, not a context manager: this runs for every item
        try:
            return await _critique_within(critic, rec, budget, timeouts)
        finally:
            HANDOFF.reset(token)
            release()

    pending: set[asyncio.Task[Critique]] = set()
    # Finished tasks in completion order, fed by a done-callback: asyncio.wait(FIRST_COMPLETED) would add and remove
    # a callback on every pending task for each result, O(concurrency) work on the dispatch path per item.
    finished: collections.deque[asyncio.Task[Critique]] = collections.deque()
    wake: list[asyncio.Future[None]] = []

    def on_done(task: asyncio.Task[Critique]) -> None:
        finished.append(task)
        if wake and not wake[0].done():
            wake[0].set_result(None)

    loop = asyncio.get_running_loop()
    it = iter(records)
    exhausted = False
    ready: list[asyncio.Task[Critique]] = []
    try:
        while True:
            started = False
            while not exhausted and len(pending) < 2 * concurrency:
                rec = next(it, None)
                if rec is None:
                    exhausted = True
                    break
                if isinstance(rec, InputError):
                    yield rec
                    continue
                task = asyncio.ensure_future(run_item(rec))
                task.add_done_callback(on_done)
                pending.add(task)
                started = True
            if ready:
                if started:
                    # Let the items just started send their requests before the results are handed on: what the
                    # consumer does with them (stats, writing, storing) then runs while those requests are in flight.
                    await asyncio.sleep(0)
                for task in ready:
                    yield task.result()
                ready.clear()
                continue
            if not pending:
                return
            if not finished:
                wake[:] = [loop.create_future()]
                await wake[0]
            while finished:
                task = finished.popleft()
                pending.discard(task)
                ready.append(task)
    finally:
        for task in pending:
            task.cancel()


async def run_critic(
    critic: Critic, records: Iterable[Item | InputError], sink: Sink, *, concurrency: int = 4, progress=None,
    budget: ItemBudget | None = None,
) -> RunStats:
    """Critique every item, writing each result to ``sink`` as it completes; returns the run's totals.

    ``progress(stats, result)`` is called after each result (the CLI draws its progress bar from it). ``budget``:
    the size and time budget of each item (default :class:`~critica.budget.ItemBudget`).
    """
    stats = RunStats()
    async for result in critique_stream(critic, records, concurrency=concurrency, budget=budget):
        stats.deliver(result, sink)
        if progress is not None:
            progress(stats, result)
    stats.finished = time.perf_counter()
    return stats
