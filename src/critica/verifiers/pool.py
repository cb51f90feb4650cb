"""Worker processes for the verifier critic: its checks are pure Python and CPU-bound, so threads share one core.

A shared :class:`~concurrent.futures.ProcessPoolExecutor` (``spawn`` context: forking a process that runs threads
and an event loop is unsafe) judges items in other processes. Each worker builds the critic once from its
constructor options (the critic object itself is not sent), and judges under a :class:`~critica.budget.Deadline`
rebuilt from the seconds the item has left, so the cooperative time budget holds inside the worker too.

``workers="auto"`` (``CRITICA_WORKERS`` unset or ``auto``, the default) asks :func:`auto_workers` before each item:
the pool, one process per usable core, is used once it is running or once work is sustained (at least
:data:`AUTO_MIN_ITEMS` items started within :data:`AUTO_WINDOW_S` seconds, counted over every auto critic of the
process, so the server's per-request critics add up) while a core is free (the cores busy over the last seconds,
this process included, from the machine's CPU ticks in ``/proc/stat``, or else the 1-minute load average, are at
most ``cores - 1 +`` :data:`AUTO_MAX_OTHER_LOAD`); until then items are judged in a thread of this process, so a single
critique, a short run, one core or a machine busy with other work never pays for spawning processes and importing
the checks in them.

A pool starts all its workers at once, each importing the checks and building the critic (a warm-up task per
worker, about a second on spawn). While it starts, an ``auto`` critic goes on judging items in a thread of this
process, one at a time (the others wait for the workers), so that this core does not sit idle for that second; a
critic given an explicit worker count never judges in this process.

A worker that dies (a crash, the OOM killer) breaks the whole pool and fails every item in flight. The pool is then
replaced, and each of those items is judged once more alone in a fresh one-process pool: an item that kills its
worker again fails with :class:`WorkerCrashed`, the others get their critiques. Nothing is lost and nothing hangs.
The other way round, a worker ends as soon as the process that started it dies, however it died (``kill -9``, the
OOM killer): it never lingers, holding memory, after its parent.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from critica.budget import _CURRENT, Deadline, deadline_scope
from critica.types import Critique, Item

__all__ = ["AUTO_MAX_OTHER_LOAD", "AUTO_MIN_ITEMS", "AUTO_WINDOW_S", "WorkerCrashed", "auto_workers", "judge_in_pool", "shutdown",
           "usable_cores"]

AUTO_MIN_ITEMS = 200
"""Items started within :data:`AUTO_WINDOW_S` that make work "sustained" for ``workers="auto"``: about two seconds
of the checks on one core (ProcessBench), against the second or so each worker spends starting (spawn, imports)."""
AUTO_WINDOW_S = 10.0
AUTO_MAX_OTHER_LOAD = 0.5
"""The pool starts only while the cores busy over the last seconds are at most ``cores - 1 +`` this: a core is free."""


class WorkerCrashed(RuntimeError):
    """The worker process judging an item died (twice: once in the shared pool, once alone)."""


_POOLS: dict[int, ProcessPoolExecutor] = {}
_LOCK = threading.Lock()
_CRITICS: dict[Any, Any] = {}  # in a worker: critics built from their options


_STARTS: deque[float] = deque(maxlen=AUTO_MIN_ITEMS)  # when the latest auto items started (monotonic seconds)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform says, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def auto_workers() -> int:
    """Processes to judge the next item of a ``workers="auto"`` critic in: 1 (a thread of this process) or the
    pool's size, one per usable core (see the module docstring)."""
    cores = usable_cores()
    if cores < 2:
        return 1
    now = time.monotonic()
    with _LOCK:
        if cores in _POOLS:
            return cores
        _STARTS.append(now)
        sustained = len(_STARTS) == AUTO_MIN_ITEMS and now - _STARTS[0] <= AUTO_WINDOW_S
        _sample(now)
    # Other processes keeping the cores busy: the pool's processes would only take turns with them and with this
    # one, and pay their start-up besides (measured: slower than one thread at a load average of 4-8 on 2 cores).
    return cores if sustained and _load(now) <= cores - 1 + AUTO_MAX_OTHER_LOAD else 1


_SAMPLES: deque[tuple[float, int, int]] = deque(maxlen=16)  # (monotonic s, busy, total) CPU ticks, every 0.2 s
_SAMPLE_EVERY_S = 0.2
_SPAN_S = 3.0
"""Samples older than this are not used: the load is that of the last seconds."""
_MIN_SPAN_S = 0.5
"""Shortest span of CPU samples that :func:`_load` trusts; under it, the 1-minute load average is used."""


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the whole machine since boot, from ``/proc/stat``; None where there is none."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline(4096).split()
        # user nice system idle iowait [irq softirq steal]; guest time is already in user
        ticks = [int(x) for x in fields[1:9]] if fields[:1] == [b"cpu"] else []
    except (OSError, ValueError):
        return None
    if len(ticks) < 5:
        return None
    total = sum(ticks)
    return total - ticks[3] - ticks[4], total


def _sample(now: float) -> None:
    """Record the machine's CPU ticks, at most every :data:`_SAMPLE_EVERY_S` (called for each auto item)."""
    if _SAMPLES and now - _SAMPLES[-1][0] < _SAMPLE_EVERY_S:
        return
    ticks = _cpu_ticks()
    if ticks is not None:
        _SAMPLES.append((now, *ticks))


def _load(now: float) -> float:
    """Cores busy over the last seconds (this process's own busy thread counts about 1): the machine's CPU ticks
    over the last :data:`_SPAN_S` seconds of samples, which follows a change in a second where the 1-minute load average
    (the fallback, where ``/proc/stat`` is missing or the span is under :data:`_MIN_SPAN_S`) lags by a minute."""
    ticks = _cpu_ticks()
    with _LOCK:
        first = next((s for s in _SAMPLES if now - s[0] <= _SPAN_S), None)
    if ticks is not None and first is not None and now - first[0] >= _MIN_SPAN_S and ticks[1] > first[2]:
        return (os.cpu_count() or 1) * (ticks[0] - first[1]) / (ticks[1] - first[2])
    return _load_1min()


def _load_1min() -> float:
    """The 1-minute load average (0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


_WARMING: dict[int, list[Future]] = {}  # a starting pool's warm-up tasks: one per worker, done once all are up
_LOCAL_BUSY = False  # an item is being judged in this process while a pool starts (one at a time)


def _pool(workers: int, factory: Any = None, options: tuple = ()) -> ProcessPoolExecutor:
    with _LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_init_worker)
            _POOLS[workers] = pool
            if factory is not None:
                # Start every worker now and have it import the checks and build the critic (about a second on
                # spawn): one warm-up task per worker (the executor spawns a process per task submitted while none
                # is idle, and each new process takes a task as soon as its interpreter is up, long before another
                # has imported the checks). Until they are all done, auto items are judged here as well.
                _WARMING[workers] = [pool.submit(_warm, factory, options) for _ in range(workers)]
        return pool


def _init_worker() -> None:
    """Runs first in each worker: end the worker when the process that started it dies.

    The executor's queues are shared by every worker (each holds both ends of the pipes), so a parent killed
    without shutting the pool down (SIGKILL, SIGTERM, the OOM killer) leaves its workers blocked on a read that
    never ends, for good. The parent's sentinel becomes ready when it exits, whatever the cause.
    """
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), name="critica-parent-watch", daemon=True).start()


def _exit_with(sentinel: int) -> None:
    from multiprocessing.connection import wait

    wait([sentinel])
    os._exit(0)  # nothing to clean up: the results have nowhere to go


def _starting(workers: int) -> bool:
    """Whether the pool of ``workers`` is still starting (a warm-up task not done)."""
    warming = _WARMING.get(workers)
    if warming is None:
        return False
    if all(f.done() for f in warming):
        _WARMING.pop(workers, None)
        return False
    return True


def _critic(factory: Any, options: tuple) -> Any:
    """In a worker: the critic ``factory(**options)``, built once."""
    key = (factory, options)
    critic = _CRITICS.get(key)
    if critic is None:
        critic = _CRITICS[key] = factory(**dict(options), workers=1)
    return critic


def _warm(factory: Any, options: tuple) -> None:
    """Runs in a worker: import the checks and build the critic before the first item comes."""
    _critic(factory, options)


def _drop(workers: int, pool: ProcessPoolExecutor) -> None:
    with _LOCK:
        if _POOLS.get(workers) is pool:
            del _POOLS[workers]
            _WARMING.pop(workers, None)
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop every worker pool (they also stop at interpreter exit)."""
    with _LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
        _WARMING.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


def _work(factory: Any, options: tuple, item: Item, left_s: float | None, budget_s: float | None) -> Critique:
    """Runs in a worker: judge ``item`` with the critic ``factory(**options)`` under the item's remaining time."""
    critic = _critic(factory, options)
    deadline = Deadline(None if left_s is None else time.monotonic() + left_s, budget_s)
    with deadline_scope(deadline):
        return critic.judge(item)


async def judge_in_pool(workers: int, factory: Any, options: tuple, item: Item,
                        local: Callable[[Item], Critique] | None = None) -> Critique:
    """Judge ``item`` in the shared pool of ``workers`` processes (see the module docstring).

    ``local``: the critic's own ``judge``. While the pool starts (its workers spawn and import the checks, about a
    second), items are judged with it here, in a thread, one at a time, rather than all waiting for the workers:
    this process's core would otherwise sit idle then.
    """
    global _LOCAL_BUSY
    current = _CURRENT.get()
    if current is not None:
        current.check()
    pool = _pool(workers, factory, options)
    if local is not None and not _LOCAL_BUSY and _starting(workers):
        with _LOCK:  # event loops in several threads may share the pool
            here, _LOCAL_BUSY = not _LOCAL_BUSY, True
        if here:
            try:
                return await asyncio.to_thread(local, item)
            finally:
                _LOCAL_BUSY = False
    left = None if current is None or current.at is None else max(0.0, current.at - time.monotonic())
    budget = None if current is None else current.budget_s
    args = (factory, options, item, left, budget)
    try:
        return await asyncio.wrap_future(pool.submit(_work, *args))
    except BrokenProcessPool:
        _drop(workers, pool)
    # Alone in a fresh process: only the item that kills its worker fails.
    solo = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker)
    try:
        if current is not None:
            left = None if current.at is None else max(0.0, current.at - time.monotonic())
            args = (factory, options, item, left, budget)
        return await asyncio.wrap_future(solo.submit(_work, *args))
    except BrokenProcessPool:
        raise WorkerCrashed(f"the verifier's worker process died while judging item {item.id!r}") from None
    finally:
        solo.shutdown(wait=False, cancel_futures=True)
