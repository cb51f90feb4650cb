"""How the verifier's worker processes start (``CRITICA_WORKER_START``): forked from a forkserver that imported the
checks once, or spawned; the pool's rules (crash recovery, the killed-parent watch) hold either way."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest
from test_verifier_pool import ITEMS, CrashCritic, _alive, _plain, fresh_auto  # noqa: F401 - fresh_auto: a fixture

from critica.types import Item
from critica.verifiers import pool
from critica.verifiers.critic import VerifierCritic

FORKSERVER = "forkserver" in multiprocessing.get_all_start_methods()
METHODS = ["spawn", pytest.param("forkserver", marks=pytest.mark.skipif(not FORKSERVER, reason="no forkserver"))]


@pytest.fixture(autouse=True)
def _pools():
    yield
    pool.shutdown()


def _in_worker(expr: str, workers: int = 2):
    """``expr`` evaluated in a worker of a fresh pool (no warm-up task: what the worker had before its first)."""
    batcher = pool._pool(workers)
    return batcher.pool.submit(eval, expr).result(timeout=120)


def _server_up() -> None:
    """Wait until the forkserver start_server() asked for runs (it is started in a thread)."""
    if not FORKSERVER:
        return
    from multiprocessing import forkserver

    with forkserver._forkserver._lock:  # held while it starts
        pass


def test_start_method_setting():
    from critica.config import worker_start_method
    from critica.errors import UserError

    default = "forkserver" if FORKSERVER and sys.platform.startswith("linux") else "spawn"
    assert worker_start_method({}) == worker_start_method({"CRITICA_WORKER_START": " "}) == default
    assert worker_start_method({"CRITICA_WORKER_START": "spawn"}) == "spawn"
    for bad in ("fork", "Spawn", "threads"):
        with pytest.raises(UserError, match="CRITICA_WORKER_START"):
            worker_start_method({"CRITICA_WORKER_START": bad})


def test_a_bad_start_method_is_reported_when_the_critic_is_built(monkeypatch):
    from critica.errors import UserError

    monkeypatch.setenv("CRITICA_WORKER_START", "fork")
    with pytest.raises(UserError, match="CRITICA_WORKER_START"):
        VerifierCritic(workers=2)
    VerifierCritic(workers=1)  # judges in this process: no worker ever starts


@pytest.mark.skipif(not FORKSERVER, reason="no forkserver")
def test_a_forked_worker_has_the_checks_imported_and_frozen_before_its_first_task(monkeypatch):
    monkeypatch.setenv("CRITICA_WORKER_START", "forkserver")
    from multiprocessing import forkserver

    loaded, frozen, parent = _in_worker(
        "(['critica.verifiers.critic' in __import__('sys').modules, 'sympy' in __import__('sys').modules],"
        " __import__('gc').get_freeze_count(), __import__('os').getppid())")
    assert loaded == [True, True]
    assert frozen > 10_000  # the modules' objects: its collections skip them (and leave their pages shared)
    assert parent == forkserver._forkserver._forkserver_pid != os.getpid()  # forked by the server, not spawned here


def test_a_spawned_worker_imports_the_checks_itself(monkeypatch):
    monkeypatch.setenv("CRITICA_WORKER_START", "spawn")
    loaded, parent = _in_worker("('critica.verifiers.critic' in __import__('sys').modules, __import__('os').getppid())")
    assert not loaded and parent == os.getpid()


@pytest.mark.parametrize("method", METHODS)
def test_workers_have_the_environment_of_the_pools_start(monkeypatch, method):
    # a forked worker would have the server's, i.e. this process's when the server started (earlier: here, now)
    monkeypatch.setenv("CRITICA_WORKER_START", method)
    monkeypatch.delenv("CRITICA_TEST_ENV", raising=False)
    pool.start_server()
    _server_up()
    monkeypatch.setenv("CRITICA_TEST_ENV", "set after the server started")
    assert _in_worker("__import__('os').environ.get('CRITICA_TEST_ENV')") == "set after the server started"


@pytest.mark.parametrize("method", METHODS)
def test_a_crashed_worker_is_replaced_and_only_its_item_fails(monkeypatch, method):
    monkeypatch.setenv("CRITICA_WORKER_START", method)
    crash = Item(id="crash", question="q", steps=["1 + 1 = 2"])

    async def run():
        critic = CrashCritic(workers=2)
        first = await asyncio.gather(*(critic.critique(i) for i in [*ITEMS, crash]), return_exceptions=True)
        broken = pool._POOLS.get(2)
        after = await asyncio.gather(*(critic.critique(i) for i in ITEMS))  # in the pool that replaced it
        return first, broken, after

    first, broken, after = asyncio.run(run())
    assert isinstance(first[-1], pool.WorkerCrashed) and "crash" in str(first[-1])
    expected = [_plain(VerifierCritic(workers=1).judge(i)) for i in ITEMS]
    assert [_plain(c) for c in first[:-1]] == expected == [_plain(c) for c in after]
    assert pool._POOLS[2] is not broken or broken is None


_ORPHAN_PARENT = """
import asyncio
from multiprocessing import forkserver
from critica.types import Item
from critica.verifiers import pool
from critica.verifiers.critic import VerifierCritic

async def main():
    await VerifierCritic(workers=2).critique(Item(id="a", question="q", steps=["1 + 2 = 3"]))
    print(*pool._POOLS[2].pool._processes, forkserver._forkserver._forkserver_pid or "", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
@pytest.mark.parametrize("method", METHODS)
def test_workers_and_the_forkserver_exit_when_their_parent_is_killed(method):
    env = {**os.environ, "CRITICA_WORKER_START": method}
    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_PARENT], stdout=subprocess.PIPE, text=True, env=env)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == (3 if method == "forkserver" else 2) and all(_alive(p) for p in pids)
    finally:
        parent.send_signal(signal.SIGKILL)  # no shutdown, no atexit: as the OOM killer or `kill -9` would
        parent.wait(timeout=30)
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in pids if _alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"processes {left} (workers, then the forkserver) outlived their killed parent"


@pytest.mark.skipif(not FORKSERVER, reason="no forkserver")
def test_a_programs_own_forkserver_preload_is_kept():
    code = ("import multiprocessing as mp; from critica.verifiers import pool; from multiprocessing import forkserver;"
            "mp.set_forkserver_preload(['json']); pool.start_server();"
            "print(forkserver._forkserver._preload_modules)")
    env = {**os.environ, "CRITICA_WORKER_START": "forkserver"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=60)
    assert out.stdout.strip() == str(["json", *pool.PRELOAD])


def test_items_wait_while_the_pools_processes_start(monkeypatch):
    # starting a process blocks (under the forkserver, until the server has imported the checks): a thread of its
    # own starts them, and the event loop goes on meanwhile
    import threading

    gate = threading.Event()
    real = pool._start

    def slow_start(*args):
        gate.wait(30)
        real(*args)

    monkeypatch.setattr(pool, "_start", slow_start)

    async def run():
        critic = VerifierCritic(workers=2)
        task = asyncio.ensure_future(critic.critique(ITEMS[1]))
        ticks = 0
        while ticks < 10:  # the loop turns while the pool is held
            await asyncio.sleep(0.01)
            ticks += 1
        assert not task.done() and pool._starting(2)
        gate.set()
        return await task

    assert _plain(asyncio.run(run())) == _plain(VerifierCritic(workers=1).judge(ITEMS[1]))


@pytest.mark.skipif(not FORKSERVER, reason="no forkserver")
def test_a_killed_forkserver_loses_no_item(monkeypatch):
    # the executor hears of its workers' ends through the server: its death breaks the pool, which is replaced
    # as after a crash (the items in flight judged alone, a new server started for them)
    from multiprocessing import forkserver

    monkeypatch.setenv("CRITICA_WORKER_START", "forkserver")

    async def run():
        critic = VerifierCritic(workers=2)
        await critic.critique(ITEMS[0])
        while pool._starting(2):
            await asyncio.sleep(0.05)
        os.kill(forkserver._forkserver._forkserver_pid, signal.SIGKILL)
        return await asyncio.gather(*(critic.critique(i) for i in ITEMS * 2))

    out = asyncio.run(run())
    assert [_plain(c) for c in out] == [_plain(VerifierCritic(workers=1).judge(i)) for i in ITEMS * 2]
    assert _in_worker("__import__('os').getppid()") == forkserver._forkserver._forkserver_pid  # the new server


@pytest.mark.usefixtures("fresh_auto")
def test_auto_starts_the_forkserver_early_only_while_a_core_is_free(monkeypatch):
    started = []
    monkeypatch.setattr(pool, "_SERVER_STARTED", False)
    monkeypatch.setattr(pool, "start_server", lambda: started.append(len(pool._STARTS)))
    clock = [1000.0]
    monkeypatch.setattr(pool.time, "monotonic", lambda: clock[0])
    load = [1.8]  # two cores, one busy with another process
    monkeypatch.setattr(pool, "_load_1min", lambda: load[0])
    for _ in range(pool.AUTO_MIN_ITEMS // 2):
        clock[0] += 0.01
        pool.auto_workers()
    assert not started
    load[0] = 0.9
    for _ in range(pool.AUTO_MIN_ITEMS // 4):
        clock[0] += 0.01
        pool.auto_workers()
    assert started  # before the pool itself: work is sustained only at AUTO_MIN_ITEMS
    assert started[0] < pool.AUTO_MIN_ITEMS


def test_workers_that_cannot_start_for_a_moment_lose_no_item(monkeypatch):
    # a forkserver killed but not yet reaped refuses connections (ConnectionRefusedError from starting a worker):
    # the pool counts as broken and the item's one-process pool is tried again a little later
    from concurrent.futures import ProcessPoolExecutor

    refusals = {"left": 5}  # the two warm-up tasks, the batch, then two tries of the item's own pool

    class Flaky(ProcessPoolExecutor):
        def submit(self, *args, **kwargs):
            if refusals["left"] > 0:
                refusals["left"] -= 1
                raise ConnectionRefusedError(111, "Connection refused")
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(pool, "ProcessPoolExecutor", Flaky)

    async def run():
        return await VerifierCritic(workers=2).critique(ITEMS[1])

    got = asyncio.run(run())
    assert refusals["left"] == 0
    assert _plain(got) == _plain(VerifierCritic(workers=1).judge(ITEMS[1]))
