"""Worker processes for the verifier critic: its checks are pure Python and CPU-bound, so threads share one core.

A shared :class:`~concurrent.futures.ProcessPoolExecutor` judges items in other processes, started by a
``forkserver`` (Linux) or by ``spawn`` (elsewhere, or ``CRITICA_WORKER_START=spawn``:
:func:`critica.config.worker_start_method`), never by a plain fork: forking a process that runs threads and an event
loop is unsafe. Each worker builds the critic once from its
constructor options (the critic object itself is not sent), and judges under a :class:`~critica.budget.Deadline`
rebuilt from the seconds the item has left, so the cooperative time budget holds inside the worker too.

Items go to the workers in batches (:class:`_Batcher`, up to :data:`BATCH_MAX` items per task): a task costs both
processes about as much as a tenth of a typical item's checks. A worker without work gets the waiting items at
once; while every worker has a batch, the next is sent only once it is full. A slow item must not hold up the items
queued behind it in its batch: each item sent has a claim slot in memory shared with the workers, a worker marks it
taken before judging the item, and a batch not back after :data:`STEAL_AFTER_S` has its items not taken yet sent
again (a worker skips an item marked so). An item nobody waits for any more (its run timed out or was cancelled)
is marked too, and no worker starts it.

``workers="auto"`` (``CRITICA_WORKERS`` unset or ``auto``, the default) asks :func:`auto_workers` before each item:
the pool, one process per usable core, is used once it is running or once work is sustained (at least
:data:`AUTO_MIN_ITEMS` items started within :data:`AUTO_WINDOW_S` seconds, counted over every auto critic of the
process, so the server's per-request critics add up) while a core is free (the cores busy over the last seconds,
this process included, from the machine's CPU ticks in ``/proc/stat``, or else the 1-minute load average, are at
most ``cores - 1 +`` :data:`AUTO_MAX_OTHER_LOAD`); until then items are judged in a thread of this process, so a single
critique, a short run, one core or a machine busy with other work never pays for spawning processes and importing
the checks in them.

A pool starts all its workers at once, each building the critic (a warm-up task per worker). Spawned, each first
imports the checks (about a CPU-second each). Under the forkserver, the server imports them once
(:mod:`critica.verifiers.preload`) and each worker forks from it in milliseconds, with the checks imported and the
modules' objects frozen; the server starts as soon as a critic with a worker count above 1 is built (an ``auto``
critic: once a quarter of the items that make work sustained have started, while a core is free), so that it
imports while this process goes on. The forkserver is multiprocessing's, one per process: critica adds its preload to the list already set
(a program's own preload stays) and, where the server already runs (the program started it first), uses it as it
is (the workers then import the checks themselves, as spawned ones do). Each worker takes this process's
environment as it was when the pool started (as a spawned one has it), not the server's. The pool's processes are started
from a thread of their own, and the items wait for them there: starting one blocks until the server has imported. While it starts, an ``auto`` critic goes on judging items in a thread of this
process, one at a time (the others wait for the workers), so that this core does not sit idle for that second; a
critic given an explicit worker count never judges in this process.

A worker that dies (a crash, the OOM killer) breaks the whole pool and fails every item in flight. The pool is then
replaced, and each of those items is judged once more alone in a fresh one-process pool (a few at a time): an item
that kills its worker again fails with :class:`WorkerCrashed`, the others get their critiques. Nothing is lost and
nothing hangs. A forkserver that dies (killed) breaks the pool the same way (the executor learns how its workers
end from the server), and the next process started starts a new server.
The other way round, a worker ends as soon as the process that started it dies, however it died (``kill -9``, the
OOM killer): it never lingers, holding memory, after its parent; the forkserver ends once this process and every
worker are gone.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, InvalidStateError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from critica.types import Critique, Item

# Nothing of critica's beyond this module at import: a worker imports it (to find its initializer) before
# _init_worker runs, and the initializer switches the collector off for the imports that follow (see _init_worker).

__all__ = ["AUTO_MAX_OTHER_LOAD", "AUTO_MIN_ITEMS", "AUTO_WINDOW_S", "PRELOAD", "WorkerCrashed", "auto_workers", "judge_in_pool",
           "shutdown", "start_server", "usable_cores"]

AUTO_MIN_ITEMS = 200
"""Items started within :data:`AUTO_WINDOW_S` that make work "sustained" for ``workers="auto"``: about two seconds
of the checks on one core (ProcessBench), against the second or so each worker spends starting (spawn, imports)."""
AUTO_WINDOW_S = 10.0
AUTO_MAX_OTHER_LOAD = 0.5
"""The pool starts only while the cores busy over the last seconds are at most ``cores - 1 +`` this: a core is free."""


class WorkerCrashed(RuntimeError):
    """The worker process judging an item died (twice: once in the shared pool, once alone)."""


_POOLS: dict[int, _Batcher] = {}  # by worker count: the pool's batcher (its executor: ``.pool``)
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
        within = now - _STARTS[0] <= AUTO_WINDOW_S
        sustained = len(_STARTS) == AUTO_MIN_ITEMS and within
        # checked at most once per CPU sample (every 0.2 s), not for every item of a run on a busy machine
        early = _sample(now) and not _SERVER_STARTED and within and len(_STARTS) >= AUTO_MIN_ITEMS // 4
    if early and _load(now) <= cores - 1 + AUTO_MAX_OTHER_LOAD:
        start_server()  # work is picking up: let the forkserver import the checks before the pool may need it
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


def _sample(now: float) -> bool:
    """Record the machine's CPU ticks, at most every :data:`_SAMPLE_EVERY_S` (called for each auto item); whether
    this call's turn came."""
    if _SAMPLES and now - _SAMPLES[-1][0] < _SAMPLE_EVERY_S:
        return False
    ticks = _cpu_ticks()
    if ticks is not None:
        _SAMPLES.append((now, *ticks))
    return True


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

BATCH_MAX = 8
"""Items sent to a worker in one task, at most. A task costs both processes about half a millisecond (queues,
locks, waking the worker: measured, ProcessBench with 2 workers: 1.1 CPU-seconds in the workers and about as much
in this process for 2,356 items), as much as a tenth of the checks of a typical item."""
STEAL_AFTER_S = 0.5
"""A batch not back after this long (an item in it is slow) has the items no worker started yet sent again, in a
new batch: they do not wait behind the slow one while another worker is free."""
_SLOTS = 4096
"""Claim slots shared with the workers; an item sent while every slot is in use goes without one (not stolen)."""
_FREE, _TAKEN, _SKIP = 0, 1, 2
"""A claim slot's states: sent, not started; started by a worker; not to be started (sent again, or abandoned)."""
_CLAIMS: Any = None  # in a worker: the pool's claim slots


class _Entry:
    """An item waiting for the pool, or sent to it."""

    __slots__ = ("future", "args", "at", "slot", "batch")

    def __init__(self, args: tuple, at: float | None) -> None:
        self.future: Future = Future()
        self.args = args  # factory, options, item, budget_s
        self.at = at  # this process's monotonic time the item must stop at (None: never)
        self.slot = -1  # its claim slot while sent
        self.batch: _Batch | None = None  # the batch that owns it now


class _Batch:
    """Items sent in one task."""

    __slots__ = ("sent", "entries", "slots", "stolen")

    def __init__(self, entries: list[_Entry]) -> None:
        self.sent = time.monotonic()
        self.entries = entries
        self.slots = [e.slot for e in entries if e.slot >= 0]  # all freed once the task is back
        self.stolen = False


class _Batcher:
    """Feeds a pool its items in batches (see :data:`BATCH_MAX`): at most two tasks per worker out (one judged,
    one queued for it), the waiting items shared out over the free tasks, so that an item alone goes at once.

    A batch holds up the items queued in it behind a slow one. So each item sent has a claim slot in memory shared
    with the workers: a worker marks it taken before judging the item, and skips it when it is marked skip. A batch
    not back after :data:`STEAL_AFTER_S` has its items not taken yet marked skip and sent again (by a watch thread),
    and an item nobody waits for any more (its run timed out or was cancelled) is marked skip. The marks are plain
    byte stores, not locked: when both sides read "free" at once, the item is judged twice, and the first critique
    back is the one kept (the checks are deterministic).
    """

    def __init__(self, pool: ProcessPoolExecutor, workers: int, claims: Any, held: bool = False) -> None:
        self.pool = pool
        self.held = held  # nothing is sent until release(): the pool's processes are being started
        self.workers = workers
        self.limit = 2 * workers
        self.claims = claims
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.waiting: deque[_Entry] = deque()
        self.out: set[_Batch] = set()
        self.free: deque[int] = deque(range(_SLOTS) if claims is not None else ())
        self.closed = False
        threading.Thread(target=self._watch, name="critica-pool-steal", daemon=True).start()

    def submit(self, args: tuple, at: float | None) -> Future:
        """Queue an item (``args``: factory, options, item, budget seconds); its future gets the critique."""
        entry = _Entry(args, at)
        with self.lock:
            if self.closed:
                raise BrokenProcessPool("the worker pool was replaced")
            self.waiting.append(entry)
            batches = self._take()
        self._send(batches)
        entry.future.add_done_callback(lambda f: self._abandoned(entry) if f.cancelled() else None)
        return entry.future

    def _abandoned(self, entry: _Entry) -> None:
        slot = entry.slot
        if slot >= 0 and self.claims[slot] == _FREE:
            self.claims[slot] = _SKIP

    def _take(self) -> list[_Batch]:
        """Under the lock: the batches to send now. A worker without a batch gets the waiting items at once (shared
        out over the idle workers); while every worker has one, the next goes only once it is full."""
        batches = []
        while not self.held and self.waiting and len(self.out) < self.limit:
            idle = self.workers - len(self.out)
            if idle <= 0 and len(self.waiting) < BATCH_MAX:
                break  # a batch comes back before this one would be needed: let it fill meanwhile
            k = min(BATCH_MAX, -(-len(self.waiting) // idle)) if idle > 0 else BATCH_MAX
            entries: list[_Entry] = []
            while self.waiting and len(entries) < k:
                entry = self.waiting.popleft()
                if entry.future.done():
                    continue  # cancelled while it waited
                entry.slot = self.free.popleft() if self.free else -1
                if entry.slot >= 0:
                    self.claims[entry.slot] = _FREE
                entries.append(entry)
            if entries:
                batch = _Batch(entries)
                for entry in entries:
                    entry.batch = batch
                if not self.out:
                    self.wake.notify()  # the watch thread sleeps until a batch is out
                self.out.add(batch)
                batches.append(batch)
        return batches

    def release(self) -> None:
        """The pool's processes are started: send the items waiting for them."""
        with self.lock:
            self.held = False
            batches = [] if self.closed else self._take()
        self._send(batches)

    def _send(self, batches: list[_Batch]) -> None:
        for batch in batches:
            now = time.monotonic()
            work = [(e.slot, *e.args[:3], None if e.at is None else max(0.0, e.at - now), e.args[3])
                    for e in batch.entries]
            try:
                task = self.pool.submit(_work_many, work)
            except BaseException as e:  # noqa: BLE001 - a broken or stopped pool: each item gets its error
                if isinstance(e, OSError):
                    # no worker could be started (a forkserver killed and not yet reaped refuses the connection):
                    # a broken pool, so that the items are judged again in a fresh one
                    e = BrokenProcessPool(f"a worker process could not be started ({type(e).__name__}: {e})")
                self._finish(batch, None, e)
                continue
            task.add_done_callback(lambda t, batch=batch: self._finish(batch, t, None))

    def _finish(self, batch: _Batch, task: Future | None, error: BaseException | None) -> None:
        """The batch's task is back (or could not be sent): each item it still owns gets its outcome."""
        with self.lock:
            self.out.discard(batch)
            self.free.extend(batch.slots)
            for entry in batch.entries:
                if entry.batch is batch:
                    entry.slot = -1
            more = [] if self.closed else self._take()
        if task is not None:
            error = CancelledError() if task.cancelled() else task.exception()
        outcomes = [error] * len(batch.entries) if error is not None else task.result()
        for entry, outcome in zip(batch.entries, outcomes, strict=True):
            if entry.batch is batch and outcome is not None:  # None: skipped (sent again, or abandoned)
                _settle(entry.future, outcome)
        self._send(more)

    def _watch(self) -> None:
        """Send again the items not started yet of the batches out for longer than :data:`STEAL_AFTER_S`."""
        with self.lock:
            while not self.closed:
                now = time.monotonic()
                pending = [b for b in self.out if not b.stolen]
                # only from a batch a worker has started: one still queued waits for a worker, not behind an item
                late = [b for b in pending if now - b.sent >= STEAL_AFTER_S and self._started(b)]
                if not late:
                    first = min((b.sent for b in pending), default=None)
                    self.wake.wait(None if first is None else max(STEAL_AFTER_S - (now - first), STEAL_AFTER_S / 4))
                    continue
                stolen = []
                for batch in late:
                    batch.stolen = True
                    for entry in batch.entries:
                        if entry.batch is batch and entry.slot >= 0 and self.claims[entry.slot] == _FREE:
                            self.claims[entry.slot] = _SKIP
                            entry.batch, entry.slot = None, -1
                            stolen.append(entry)
                self.waiting.extendleft(reversed(stolen))  # first in line again
                more = self._take()
                self.lock.release()
                try:
                    self._send(more)
                finally:
                    self.lock.acquire()

    def _started(self, batch: _Batch) -> bool:
        return any(e.batch is batch and e.slot >= 0 and self.claims[e.slot] == _TAKEN for e in batch.entries)

    def close(self, error: BaseException | None) -> None:
        """No more items: those still waiting get ``error`` (None: cancelled)."""
        with self.lock:
            self.closed = True
            waiting, self.waiting = self.waiting, deque()
            self.wake.notify()
        for entry in waiting:
            _settle(entry.future, error if error is not None else CancelledError())


def _settle(future: Future, outcome: Any) -> None:
    try:
        if isinstance(outcome, CancelledError):
            future.cancel()
        elif isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    except InvalidStateError:
        pass  # cancelled meanwhile, or judged twice (see _Batcher)


PRELOAD = ("critica.verifiers.preload",)
"""Modules the forkserver imports before it forks the first worker."""
_SERVER_STARTED = False  # this process has asked for the forkserver (with critica's preload) once


def _context() -> Any:
    """The multiprocessing context the workers start from (:func:`critica.config.worker_start_method`)."""
    from critica.config import worker_start_method

    method = worker_start_method()
    if method == "forkserver":
        start_server()
    return multiprocessing.get_context(method)


def start_server() -> None:
    """Start the forkserver now, with critica's preload, so that it imports the checks while this process goes on;
    nothing where workers spawn. Cheap (the server is started, not waited for) and done once per process."""
    global _SERVER_STARTED
    if _SERVER_STARTED:
        return
    from critica.config import worker_start_method

    if worker_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    with _LOCK:
        if _SERVER_STARTED:
            return
        _SERVER_STARTED = True
        # Added to the list already set, which the multiprocessing module keeps to itself: a program's own preload
        # stays. Too late where the server runs already (the program's): it is used as it is.
        server = getattr(forkserver, "_forkserver", None)
        current = list(getattr(server, "_preload_modules", None) or ["__main__"])
        forkserver.set_forkserver_preload(current + [m for m in PRELOAD if m not in current])
        # in a thread: starting it (and multiprocessing's resource tracker) forks and execs twice, tens of
        # milliseconds an event loop would stand still for; a process started meanwhile waits for it (its lock)
        threading.Thread(target=forkserver.ensure_running, name="critica-forkserver-start", daemon=True).start()


def _pool(workers: int, factory: Any = None, options: tuple = ()) -> _Batcher:
    with _LOCK:
        batcher = _POOLS.get(workers)
    if batcher is not None:
        return batcher
    ctx = _context()  # outside the lock: it may start the forkserver, which takes it
    with _LOCK:
        batcher = _POOLS.get(workers)
        if batcher is None:
            claims = ctx.RawArray("b", _SLOTS)
            pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                       initargs=(claims, dict(os.environ)))
            batcher = _POOLS[workers] = _Batcher(pool, workers, claims, held=True)
            started: Future = Future()
            _WARMING[workers] = [started]
            threading.Thread(target=_start, args=(batcher, started, factory, options), name="critica-pool-start",
                             daemon=True).start()
        return batcher


def _start(batcher: _Batcher, started: Future, factory: Any, options: tuple) -> None:
    """In a thread: start every worker of a new pool, then let its items go; ``started`` is done once each worker
    has built the critic.

    Starting a process blocks until it runs (under the forkserver: until the server has imported the checks, up to a
    second), which must not hold up an event loop. One warm-up task per worker has it build the critic (spawned,
    import the checks first) before the first item comes: the executor starts a process per task submitted while
    none is idle, and each new process takes a task as soon as it is up, long before another has built the critic.
    Until they are all done, auto items are judged in the parent as well."""
    warm: list[Future] = []
    try:
        if factory is not None:
            warm = [batcher.pool.submit(_warm, factory, options) for _ in range(batcher.workers)]
    except BaseException:  # noqa: BLE001, S110 - a broken or stopped pool: the items sent next get its error
        pass
    finally:
        batcher.release()
    for task in warm:
        try:
            task.exception()  # waits
        except BaseException:  # noqa: BLE001, S110 - cancelled: the pool was stopped
            pass
    started.set_result(None)


def _init_worker(claims: Any = None, environ: dict[str, str] | None = None) -> None:
    """Runs first in each worker: keep the pool's claim slots, take ``environ`` (the parent's environment when it
    started the pool), and end the worker when the process that started it dies.

    A worker forked from the forkserver has the server's environment, the parent's at the moment it started the
    server; a spawned one had the parent's as it started the pool, and so has each worker now, however started.

    The executor's queues are shared by every worker (each holds both ends of the pipes), so a parent killed
    without shutting the pool down (SIGKILL, SIGTERM, the OOM killer) leaves its workers blocked on a read that
    never ends, for good. The parent's sentinel becomes ready when it exits, whatever the cause.
    """
    global _CLAIMS
    _CLAIMS = claims
    if environ is not None and environ != os.environ:
        os.environ.clear()
        os.environ.update(environ)
    # The checks' imports come next (with the first task): what they allocate nearly all stays, so the collector's
    # passes over it meanwhile are wasted (measured: 63 M of the 2,649 M instructions from spawn to a worker's first
    # critique). _critic turns it back on once they are done, with the modules' objects frozen.
    gc.disable()
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


WORKER_GC = (5000, 10, 10)
"""A worker's garbage-collector thresholds (Python's default: 700, 10, 10). The checks allocate many short-lived
objects and their memos keep many alive, which each collection of the youngest objects traverses again. With the
modules' objects frozen and these thresholds: 1.8% fewer instructions on 300 ProcessBench items (valgrind), and
227-269 -> 266-282 items per CPU-second in one process (four runs each, interleaved, on a loaded machine: the
collector's traversals miss the caches more than their instruction count says)."""


def _critic(factory: Any, options: tuple) -> Any:
    """In a worker: the critic ``factory(**options)``, built once."""
    key = (factory, options)
    critic = _CRITICS.get(key)
    if critic is None:
        first = not _CRITICS
        try:
            critic = _CRITICS[key] = factory(**dict(options), workers=1)
        finally:
            if first:  # the checks are imported now: what they built stays, so the collector need not traverse it
                gc.collect()
                gc.freeze()
                gc.set_threshold(*WORKER_GC)
                gc.enable()  # off since _init_worker, for the imports
    return critic


def _warm(factory: Any, options: tuple) -> None:
    """Runs in a worker: import the checks and build the critic before the first item comes."""
    _critic(factory, options)


def _drop(workers: int, pool: ProcessPoolExecutor) -> None:
    with _LOCK:
        batcher = _POOLS.get(workers)
        if batcher is None or batcher.pool is not pool:
            return
        del _POOLS[workers]
        _WARMING.pop(workers, None)
    batcher.close(BrokenProcessPool("the worker pool broke"))
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop every worker pool (they also stop at interpreter exit)."""
    with _LOCK:
        batchers = list(_POOLS.values())
        _POOLS.clear()
        _WARMING.clear()
    for batcher in batchers:
        batcher.close(None)
        batcher.pool.shutdown(wait=True, cancel_futures=True)


def _work(factory: Any, options: tuple, item: Item, left_s: float | None, budget_s: float | None,
          since: float | None = None) -> Critique:
    """Runs in a worker: judge ``item`` with the critic ``factory(**options)`` under the item's remaining time,
    counted from ``since`` (a monotonic time; default: now)."""
    from critica.budget import Deadline, deadline_scope

    critic = _critic(factory, options)
    start = time.monotonic() if since is None else since
    with deadline_scope(Deadline(None if left_s is None else start + left_s, budget_s)):
        return critic.judge(item)


def _work_many(work: list[tuple]) -> list[Any]:
    """Runs in a worker: judge a batch, item after item; for each, its critique, the exception it raised, or None
    where it was skipped (its claim slot says so). Each item's remaining time counts from the batch's arrival: the
    time it waited behind the others in the batch is time it waited."""
    from critica.budget import DeadlineExceeded

    arrived = time.monotonic()
    out: list[Any] = []
    for slot, *args in work:
        if slot >= 0:
            if _CLAIMS[slot] != _FREE:
                out.append(None)
                continue
            _CLAIMS[slot] = _TAKEN
        try:
            out.append(_work(*args, since=arrived))
        except (Exception, DeadlineExceeded) as e:  # noqa: BLE001 - the item's own outcome, not the batch's
            out.append(_portable(e))
    return out


def _portable(error: BaseException) -> BaseException:
    """``error``, or a RuntimeError saying what it was where it cannot be pickled back."""
    try:
        pickle.dumps(error)
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


class _Inbox:
    """Hands an event loop the outcomes of its pool futures, a batch's with one wake-up of the loop.

    ``asyncio.wrap_future`` wakes the loop (a write to its self-pipe, a turn of the loop) once per item: a batch's
    items all come back at once, in the executor's thread, so here the first outcome of a burst wakes the loop and
    the others join it in the list it then drains. Otherwise the same as ``wrap_future``: the state is copied once the
    loop runs, and cancelling the awaited future cancels the pool's (the batcher then skips the item).
    """

    __slots__ = ("loop", "lock", "ready")
    _BY_LOOP: weakref.WeakKeyDictionary[Any, _Inbox] = weakref.WeakKeyDictionary()

    def __init__(self, loop: Any) -> None:
        self.loop = weakref.ref(loop)  # weakly: the registry's value must not keep its key (the loop) alive
        self.lock = threading.Lock()
        self.ready: list[tuple[Any, Future]] = []

    @classmethod
    def of(cls, loop: Any) -> _Inbox:
        inbox = cls._BY_LOOP.get(loop)
        if inbox is None:
            with _LOCK:
                inbox = cls._BY_LOOP.setdefault(loop, cls(loop))
        return inbox

    @classmethod
    def wrap(cls, loop: Any, source: Future) -> Any:
        """An asyncio future of ``loop`` (the running one) that gets ``source``'s outcome."""
        self = cls.of(loop)
        dest = loop.create_future()
        dest.add_done_callback(lambda d: source.cancel() if d.cancelled() else None)
        source.add_done_callback(lambda s: self._put(dest, s))
        return dest

    def _put(self, dest: Any, source: Future) -> None:
        with self.lock:
            first = not self.ready
            self.ready.append((dest, source))
        loop = self.loop()
        if first and loop is not None:
            try:
                loop.call_soon_threadsafe(self._drain)
            except RuntimeError:
                pass  # the loop is closed: nobody waits for the outcome

    def _drain(self) -> None:
        with self.lock:
            ready, self.ready = self.ready, []
        for dest, source in ready:
            if dest.cancelled():
                continue
            if source.cancelled():
                dest.cancel()
                continue
            error = source.exception()
            if error is not None:
                dest.set_exception(error)
            else:
                dest.set_result(source.result())


_SOLO = threading.BoundedSemaphore(max(2, usable_cores()))
"""Fresh one-process pools running at once after a crash (each item that was in flight gets one): a crash with
dozens of items in flight must not spawn dozens of processes at once."""


async def judge_in_pool(workers: int, factory: Any, options: tuple, item: Item,
                        local: Callable[[Item], Critique] | None = None) -> Critique:
    """Judge ``item`` in the shared pool of ``workers`` processes (see the module docstring).

    ``local``: the critic's own ``judge``. While the pool starts (its workers spawn and import the checks, about a
    second), items are judged with it here, in a thread, one at a time, rather than all waiting for the workers:
    this process's core would otherwise sit idle then.
    """
    import asyncio  # here: the workers import this module, and need no event loop

    from critica.budget import _CURRENT

    global _LOCAL_BUSY
    current = _CURRENT.get()
    if current is not None:
        current.check()
    batcher = _pool(workers, factory, options)
    if local is not None and not _LOCAL_BUSY and _starting(workers):
        with _LOCK:  # event loops in several threads may share the pool
            here, _LOCAL_BUSY = not _LOCAL_BUSY, True
        if here:
            try:
                return await asyncio.to_thread(local, item)
            finally:
                _LOCAL_BUSY = False
    budget = None if current is None else current.budget_s
    at = None if current is None else current.at
    try:
        return await _Inbox.wrap(asyncio.get_running_loop(), batcher.submit((factory, options, item, budget), at))
    except BrokenProcessPool:
        _drop(workers, batcher.pool)
    # Alone in a fresh process: only the item that kills its worker fails.
    while not _SOLO.acquire(blocking=False):  # polled: a cancelled wait must not take a turn it never gives back
        await asyncio.sleep(0.05)
    solo: ProcessPoolExecutor | None = None
    try:
        for attempt in range(_START_TRIES):
            solo = ProcessPoolExecutor(1, mp_context=_context(), initializer=_init_worker,
                                       initargs=(None, dict(os.environ)))
            left = None if at is None else max(0.0, at - time.monotonic())
            try:
                # in a thread: starting the process waits for the forkserver, which imports the checks again if it
                # died
                task = await asyncio.to_thread(solo.submit, _work, factory, options, item, left, budget)
            except OSError:
                # a forkserver killed but not yet reaped refuses the connection; once it is reaped, the next start
                # starts a new one. A fresh executor each time: the failed one holds the item already.
                solo.shutdown(wait=False, cancel_futures=True)
                if attempt == _START_TRIES - 1:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))
                continue
            return await asyncio.wrap_future(task)
        raise AssertionError("unreachable")  # pragma: no cover
    except BrokenProcessPool:
        raise WorkerCrashed(f"the verifier's worker process died while judging item {item.id!r}") from None
    finally:
        if solo is not None:
            solo.shutdown(wait=False, cancel_futures=True)
        _SOLO.release()


_START_TRIES = 5
"""Tries at starting an item's one-process pool (0.1 s, 0.2 s … apart) before its error is the item's."""
