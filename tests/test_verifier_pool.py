"""The verifier critic in worker processes (``workers`` > 1): same critiques, crashes and deadlines contained."""

from __future__ import annotations

import asyncio
import collections
import os
import time

import pytest

from critica.budget import Deadline, DeadlineExceeded, checkpoint, deadline_scope
from critica.types import Item
from critica.verifiers import pool
from critica.verifiers.critic import VerifierCritic

ITEMS = [
    Item(id="ok", question="q", steps=["3 * 12 = 36 apples.", "36 - 10 = 26.", "The answer is \\boxed{26}."],
         reference_answer="26"),
    Item(id="slip", question="q", steps=["We have 12 apples.", "3 * 12 = 38 apples.", "38 - 10 = 28.", "The answer is 28."]),
    Item(id="alg", question="Solve 2x + 3 = 11.", steps=["2x = 8", "x = 5", "The answer is 5."], reference_answer="4"),
]


class CrashCritic(VerifierCritic):
    """Kills its worker process on the item "crash" (a stand-in for a segfault or the OOM killer)."""

    def judge(self, item: Item):
        if item.id == "crash":
            os._exit(3)
        return super().judge(item)


class SlowCritic(VerifierCritic):
    """Spins, checking its deadline like the real step checks do, until the item's budget stops it."""

    def judge(self, item: Item):
        while True:
            checkpoint()
            time.sleep(0.01)


def _plain(c):
    return c.model_dump(mode="json", exclude={"latency_s"})


@pytest.fixture(autouse=True)
def _pools():
    yield
    pool.shutdown()


def test_pool_gives_the_thread_critiques():
    async def both():
        thread, procs = VerifierCritic(workers=1), VerifierCritic(workers=2)
        a = [await thread.critique(i) for i in ITEMS]
        b = await asyncio.gather(*(procs.critique(i) for i in ITEMS))
        return a, b

    a, b = asyncio.run(both())
    assert [_plain(c) for c in b] == [_plain(c) for c in a]
    assert a[1].first_error_step == 1  # the items do exercise findings


def test_a_worker_crash_fails_only_its_item():
    async def run():
        critic = CrashCritic(workers=2)
        crash = Item(id="crash", question="q", steps=["1 + 1 = 2"])
        return await asyncio.gather(*(critic.critique(i) for i in [*ITEMS, crash]), return_exceptions=True)

    out = asyncio.run(run())
    assert isinstance(out[-1], pool.WorkerCrashed) and "crash" in str(out[-1])
    assert [_plain(c) for c in out[:-1]] == [_plain(VerifierCritic(workers=1).judge(i)) for i in ITEMS]


def test_the_item_deadline_holds_inside_the_worker():
    async def run():
        critic = SlowCritic(workers=2)
        with deadline_scope(Deadline(time.monotonic() + 3.0, 3.0)):
            return await critic.critique(ITEMS[0])

    start = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="time budget of 3 s"):
        asyncio.run(run())
    assert time.monotonic() - start < 20


def test_workers_setting():
    from critica.config import verifier_workers
    from critica.errors import UserError

    assert verifier_workers({}) == "auto" and verifier_workers({"CRITICA_WORKERS": ""}) == "auto"
    assert verifier_workers({"CRITICA_WORKERS": "auto"}) == "auto"
    assert verifier_workers({"CRITICA_WORKERS": "3"}) == 3 and verifier_workers({"CRITICA_WORKERS": "1"}) == 1
    for bad in ("0", "-1", "two"):
        with pytest.raises(UserError, match="CRITICA_WORKERS"):
            verifier_workers({"CRITICA_WORKERS": bad})
    with pytest.raises(ValueError, match="workers"):
        VerifierCritic(workers=0)
    with pytest.raises(ValueError, match="workers"):
        VerifierCritic(workers="all")


def test_auto_is_the_default(monkeypatch):
    monkeypatch.delenv("CRITICA_WORKERS")  # tests pin 1 (conftest); users get auto
    assert VerifierCritic().workers == "auto"
    monkeypatch.setenv("CRITICA_WORKERS", "1")
    assert VerifierCritic().workers == 1


@pytest.fixture
def fresh_auto(monkeypatch):
    """An empty record of recent auto items, and two usable cores whatever the machine has."""
    monkeypatch.setattr(pool, "_STARTS", collections.deque(maxlen=pool.AUTO_MIN_ITEMS))
    monkeypatch.setattr(pool, "usable_cores", lambda: 2)
    monkeypatch.setattr(pool, "_load_1min", lambda: 0.9)  # this process's own thread, nothing else
    monkeypatch.setattr(pool, "_cpu_ticks", lambda: None)  # as on a platform without /proc/stat
    monkeypatch.setattr(pool, "_SAMPLES", collections.deque(maxlen=16))


def test_auto_starts_the_pool_only_under_sustained_load(fresh_auto, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(pool.time, "monotonic", lambda: clock[0])
    # a trickle: one item every second never adds up to AUTO_MIN_ITEMS within AUTO_WINDOW_S
    for _ in range(2 * pool.AUTO_MIN_ITEMS):
        clock[0] += 1.0
        assert pool.auto_workers() == 1
    # a burst does, on the item that completes it
    clock[0] += pool.AUTO_WINDOW_S + 1
    got = [pool.auto_workers() for _ in range(pool.AUTO_MIN_ITEMS)]
    assert set(got[:-1]) == {1} and got[-1] == 2
    monkeypatch.setattr(pool, "usable_cores", lambda: 1)
    assert pool.auto_workers() == 1  # one core: never a pool


def test_auto_leaves_a_busy_machine_alone(fresh_auto, monkeypatch):
    load = [1.8]  # two cores, and another process keeps one of them busy
    monkeypatch.setattr(pool, "_load_1min", lambda: load[0])
    assert {pool.auto_workers() for _ in range(3 * pool.AUTO_MIN_ITEMS)} == {1}
    load[0] = 1.2  # it stopped: the pool starts on the next item of the sustained run
    assert pool.auto_workers() == 2


def test_auto_judges_in_process_then_in_the_pool_with_the_same_critiques(fresh_auto, monkeypatch):
    monkeypatch.setattr(pool, "_STARTS", collections.deque(maxlen=3))
    monkeypatch.setattr(pool, "AUTO_MIN_ITEMS", 3)
    expected = [_plain(VerifierCritic(workers=1).judge(i)) for i in ITEMS]

    async def run(critic):
        out, pools = [], []
        for i in ITEMS:
            out.append(await critic.critique(i))
            pools.append(list(pool._POOLS))
        return out, pools

    first, pools = asyncio.run(run(VerifierCritic(workers="auto")))
    assert [_plain(c) for c in first] == expected
    assert pools == [[], [], [2]]  # the third item made the load sustained: it went to a pool of two
    second, pools = asyncio.run(run(VerifierCritic(workers="auto")))  # a new critic, as the server builds per request
    assert [_plain(c) for c in second] == expected and pools == [[2]] * 3


def test_the_runner_makes_a_crashed_or_slow_item_unscored():
    from critica.budget import ItemBudget
    from critica.run.runner import critique_within

    crash = Item(id="crash", question="q", steps=["1 + 1 = 2"])
    # a generous budget for the crash: two process start-ups, slow on a loaded machine
    crashed = asyncio.run(critique_within(CrashCritic(workers=2), crash, ItemBudget(timeout_s=60.0)))
    slow = asyncio.run(critique_within(SlowCritic(workers=2), ITEMS[0], ItemBudget(timeout_s=3.0)))
    assert crashed.verdict.value == "unscored" and "WorkerCrashed" in (crashed.error or "")
    assert slow.verdict.value == "unscored" and "time budget of 3 s exceeded" in slow.explanation


def test_auto_follows_the_load_of_the_last_seconds_not_the_last_minute(fresh_auto, monkeypatch):
    """With /proc/stat, the rule reads the cores busy over the last seconds: another process that stops is seen
    within a second, while the 1-minute load average (1.8 here) would keep the pool off for a minute."""
    clock = [1000.0]
    monkeypatch.setattr(pool.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(pool, "_load_1min", lambda: 1.8)
    monkeypatch.setattr(pool.os, "cpu_count", lambda: 2)
    ticks = [0, 0]  # busy, total: 100 ticks per second on two cores
    monkeypatch.setattr(pool, "_cpu_ticks", lambda: (ticks[0], ticks[1]))

    def run(seconds: float, busy_cores: float, items: int) -> list[int]:
        got = []
        for _ in range(items):
            dt = seconds / items
            clock[0] += dt
            ticks[0] += round(100 * dt * busy_cores)
            ticks[1] += round(100 * dt * 2)
            got.append(pool.auto_workers())
        return got

    # this process (1 core) and another one (1 core): sustained work, but no core is free
    assert set(run(2.0, 2.0, pool.AUTO_MIN_ITEMS)) == {1}
    # the other process stopped a second ago: the pool starts although the 1-minute average is still 1.8
    got = run(1.0, 1.0, 100) + run(3.0, 1.0, 100)
    assert got[-1] == 2 and got[0] == 1


def test_cpu_ticks_reads_proc_stat_where_there_is_one():
    ticks = pool._cpu_ticks()
    if not os.path.exists("/proc/stat"):
        assert ticks is None
        return
    busy, total = ticks
    assert 0 <= busy <= total and total > 0


class PidCritic(VerifierCritic):
    """Says which process judged each item."""

    def judge(self, item: Item):
        crit = super().judge(item)
        crit.metadata["pid"] = os.getpid()
        return crit


def test_auto_judges_here_one_at_a_time_while_its_pool_starts_then_in_the_workers(fresh_auto, monkeypatch):
    monkeypatch.setattr(pool, "_STARTS", collections.deque(maxlen=1))
    monkeypatch.setattr(pool, "AUTO_MIN_ITEMS", 1)  # sustained from the first item: the pool starts at once

    async def batch(critic):
        return await asyncio.gather(*(critic.critique(i) for i in ITEMS * 3))

    async def once_started(critic):
        while pool._starting(2):  # the workers import the checks (about a second)
            await asyncio.sleep(0.05)
        return await batch(critic)

    critic = PidCritic(workers="auto")
    first = asyncio.run(batch(critic))
    here = os.getpid()
    # the first item is judged in this process (its core would idle while the workers start), the others wait for
    # the workers; once the pool is up, every item goes there
    assert first[0].metadata["pid"] == here and all(c.metadata["pid"] != here for c in first[1:2])
    later = asyncio.run(once_started(critic))
    assert all(c.metadata["pid"] != here for c in later)
    expected = [{k: v for k, v in _plain(VerifierCritic(workers=1).judge(i)).items() if k != "metadata"}
                for i in ITEMS * 3]
    for batch in (first, later):
        assert [{k: v for k, v in _plain(c).items() if k != "metadata"} for c in batch] == expected


def test_an_explicit_worker_count_never_judges_here_even_while_the_pool_starts():
    async def run():
        return await asyncio.gather(*(PidCritic(workers=2).critique(i) for i in ITEMS))

    assert all(c.metadata["pid"] != os.getpid() for c in asyncio.run(run()))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_a_verifier_in_worker_processes_keeps_two_batches_per_worker_in_flight(monkeypatch):
    assert VerifierCritic(workers=1).min_in_flight == 1
    assert VerifierCritic(workers=3).min_in_flight == 6 * pool.BATCH_MAX
    monkeypatch.setattr(pool, "usable_cores", lambda: 2)
    assert VerifierCritic(workers="auto").min_in_flight == 4 * pool.BATCH_MAX
    monkeypatch.setattr(pool, "usable_cores", lambda: 1)
    assert VerifierCritic(workers="auto").min_in_flight == 1  # one core: no pool, a thread


class MarkCritic(VerifierCritic):
    """Appends the id of each item it judges to the file named by CRITICA_TEST_MARKS; "slow" items take seconds."""

    def judge(self, item: Item):
        with open(os.environ["CRITICA_TEST_MARKS"], "a") as f:
            f.write(item.id + "\n")
        if item.id.startswith("slow"):
            end = time.monotonic() + float(item.id.split("-")[1])
            while time.monotonic() < end:
                checkpoint()
                time.sleep(0.01)
        return super().judge(item)


def _marks(path) -> collections.Counter:
    return collections.Counter(path.read_text().split()) if path.exists() else collections.Counter()


def _fast(n: int) -> list[Item]:
    return [Item(id=f"f{i}", question="q", steps=[f"{i} + 1 = {i + 1}"]) for i in range(n)]


async def _started(critic) -> None:
    await critic.critique(Item(id="warm", question="q", steps=["1 + 1 = 2"]))
    while pool._starting(2):
        await asyncio.sleep(0.05)


def test_items_go_in_batches_and_get_the_critiques_of_one_at_a_time(monkeypatch, tmp_path):
    monkeypatch.setenv("CRITICA_TEST_MARKS", str(tmp_path / "marks"))
    items = [*ITEMS, *_fast(37)] * 2
    sizes = []

    async def run():
        critic = MarkCritic(workers=2)
        await _started(critic)
        submit = pool._POOLS[2].pool.submit
        monkeypatch.setattr(pool._POOLS[2].pool, "submit", lambda fn, work: (sizes.append(len(work)), submit(fn, work))[1])
        return await asyncio.gather(*(critic.critique(i) for i in items))

    got = asyncio.run(run())
    assert [_plain(c) for c in got] == [_plain(VerifierCritic(workers=1).judge(i)) for i in items]
    assert sum(sizes) == len(items) and max(sizes) == pool.BATCH_MAX  # 80 at once: full batches
    marks = _marks(tmp_path / "marks")
    assert all(marks[i.id] == 2 for i in items)  # each judged once (every item is there twice)


def _item(id_: str) -> Item:
    return Item(id=id_, question="q", steps=["1 + 1 = 2"])


async def _busy(critic, seconds: int) -> list[asyncio.Future]:
    """Keep both workers busy for ``seconds``: the next items wait, and go as one full batch."""
    busy = [asyncio.ensure_future(critic.critique(_item(f"slow-{seconds}-{k}"))) for k in "ab"]
    await asyncio.sleep(0.3)
    return busy


def test_a_slow_item_does_not_hold_up_the_items_batched_behind_it(monkeypatch, tmp_path):
    monkeypatch.setenv("CRITICA_TEST_MARKS", str(tmp_path / "marks"))
    done: dict[str, float] = {}

    async def run():
        critic = MarkCritic(workers=2)
        await _started(critic)
        busy = await _busy(critic, 1)
        start = time.monotonic()

        async def one(item):
            await critic.critique(item)
            done[item.id] = time.monotonic() - start

        # one full batch, the slow item first; a worker takes it at ~1 s, the other is idle from then on
        await asyncio.gather(*(one(i) for i in [_item("slow-8"), *_fast(pool.BATCH_MAX - 1)]), *busy)

    asyncio.run(run())
    assert pool.BATCH_MAX >= 2 and done["slow-8"] >= 8
    # the items behind it were sent again once their batch was late, and judged by the other worker
    assert max(t for k, t in done.items() if k != "slow-8") < 8 - 3
    marks = _marks(tmp_path / "marks")
    assert marks["slow-8"] == 1 and all(marks[f"f{i}"] == 1 for i in range(pool.BATCH_MAX - 1))


def test_an_item_nobody_waits_for_is_not_judged(monkeypatch, tmp_path):
    monkeypatch.setenv("CRITICA_TEST_MARKS", str(tmp_path / "marks"))
    monkeypatch.setattr(pool, "STEAL_AFTER_S", 60.0)  # nothing is sent again: the batch keeps its items

    async def run():
        critic = MarkCritic(workers=2)
        await _started(critic)
        busy = await _busy(critic, 2)
        batch = [asyncio.ensure_future(critic.critique(i)) for i in [_item("slow-1"), *_fast(pool.BATCH_MAX - 1)]]
        await asyncio.sleep(0.3)
        for f in batch[1:]:
            f.cancel()  # their runs timed out, say: they wait in a batch no worker has started
        await asyncio.gather(batch[0], *busy)

    asyncio.run(run())
    marks = _marks(tmp_path / "marks")
    assert marks["slow-1"] == 1 and not any(marks[f"f{i}"] for i in range(pool.BATCH_MAX - 1))


class GcCritic(VerifierCritic):
    """Says the garbage-collector thresholds of the process that judged the item."""

    def judge(self, item: Item):
        import gc

        crit = super().judge(item)
        crit.metadata["gc"] = list(gc.get_threshold())
        crit.metadata["gc_on"] = gc.isenabled()
        return crit


def test_workers_collect_garbage_less_often_than_the_default():
    import gc

    async def run():
        return await GcCritic(workers=2).critique(ITEMS[0])

    crit = asyncio.run(run())
    assert crit.metadata["gc"] == list(pool.WORKER_GC) != list(gc.get_threshold())
    assert crit.metadata["gc_on"]  # off only while the worker imports the checks


def test_a_worker_finds_its_initializer_before_importing_the_checks():
    # _init_worker turns the collector off for the imports: importing the pool must not do them before it runs
    import subprocess
    import sys

    code = "import sys, critica.verifiers.pool; print(sorted(m for m in sys.modules if m.startswith('critica')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(["critica", "critica.verifiers", "critica.verifiers.pool"])


def _outcome(x):
    return (type(x).__name__, str(x)) if isinstance(x, BaseException) else x


def test_the_inbox_hands_on_outcomes_as_wrap_future_does():
    # results, exceptions and cancellations set in bursts from another thread (as a batch comes back), or already set
    import threading
    from concurrent.futures import Future

    def settle(futures):
        for i, f in enumerate(futures):
            if i % 3 == 0:
                f.set_result(i)
            elif i % 3 == 1:
                f.set_exception(ValueError(i))
            else:
                f.cancel()

    async def run(wrap):
        loop = asyncio.get_running_loop()
        early = [Future() for _ in range(6)]
        settle(early)
        sources = [Future() for _ in range(60)]
        waits = [wrap(loop, f) for f in early + sources]
        for k in range(0, 60, 8):  # batches of 8, each from its own thread
            threading.Thread(target=settle, args=(sources[k:k + 8],)).start()
        return [_outcome(x) for x in await asyncio.gather(*waits, return_exceptions=True)]

    fast = asyncio.run(run(pool._Inbox.wrap))
    assert fast == asyncio.run(run(lambda _loop, f: asyncio.wrap_future(f)))
    kinds = {x[0] if isinstance(x, tuple) else "result" for x in fast}
    assert kinds == {"result", "ValueError", "CancelledError"} and len(fast) == 66


def test_cancelling_the_awaited_future_cancels_the_pools():
    from concurrent.futures import Future

    async def run():
        source = Future()
        dest = pool._Inbox.wrap(asyncio.get_running_loop(), source)
        dest.cancel()
        await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
        return source.cancelled()

    assert asyncio.run(run())
