"""run_interruptible: Ctrl-C cancels the work at once and does not wait for threads that cannot be interrupted."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
import threading
import time

import pytest

from critica.errors import UserError
from critica.run.interrupt import RUN_GC, new_loop, run_interruptible

needs_default_handler = pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
    reason="SIGINT is not Python's default handler in this process")


def test_returns_the_result_like_asyncio_run():
    async def work():
        await asyncio.sleep(0)
        return await asyncio.to_thread(lambda: 42)

    assert run_interruptible(work()) == 42


@needs_default_handler
def test_sigint_cancels_the_work_and_leaves_busy_threads_behind():
    release = threading.Event()
    unwound: list[str] = []

    async def work():
        asyncio.get_running_loop().call_later(0.2, signal.raise_signal, signal.SIGINT)
        try:
            # A thread that cannot be interrupted (a verifier check, a llama.cpp decode), and an awaited call.
            await asyncio.gather(asyncio.to_thread(release.wait, 30), asyncio.sleep(30))
        finally:
            unwound.append("finally ran")

    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_interruptible(work(), grace_s=0.5)
        assert time.monotonic() - start < 3.0
        assert unwound == ["finally ran"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back
    finally:
        release.set()


@needs_default_handler
def test_work_that_swallows_the_cancellation_still_ends_as_interrupted():
    async def stubborn():
        asyncio.get_running_loop().call_later(0.1, signal.raise_signal, signal.SIGINT)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return "swallowed"

    with pytest.raises(KeyboardInterrupt):
        run_interruptible(stubborn(), grace_s=0.5)


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        async def work():
            return "done"

        assert run_interruptible(work()) == "done"
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


# --- the run's event loop and collector settings ---------------------------------------------------------------


def _loop_module() -> str:
    async def which():
        return type(asyncio.get_running_loop()).__module__

    return run_interruptible(which())


def test_a_run_uses_uvloop_where_installed_and_asyncio_when_asked(monkeypatch):
    pytest.importorskip("uvloop")
    monkeypatch.delenv("CRITICA_LOOP", raising=False)
    assert _loop_module().startswith("uvloop")
    monkeypatch.setenv("CRITICA_LOOP", "asyncio")
    assert _loop_module().startswith("asyncio")


def test_without_uvloop_auto_falls_back_and_an_explicit_choice_is_an_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    monkeypatch.setenv("CRITICA_LOOP", "auto")
    assert _loop_module().startswith("asyncio")
    monkeypatch.setenv("CRITICA_LOOP", "uvloop")
    with pytest.raises(UserError, match="not installed"):
        new_loop()


def test_an_unknown_loop_name_is_an_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CRITICA_LOOP", "trio")
    with pytest.raises(UserError, match="CRITICA_LOOP=trio is not one of auto, uvloop, asyncio"):
        new_loop()


def test_the_collector_thresholds_are_raised_for_the_run_and_put_back_after(monkeypatch):
    monkeypatch.delenv("CRITICA_LOOP", raising=False)
    before = gc.get_threshold()
    seen = []

    async def work(fail: bool):
        seen.append(gc.get_threshold())
        if fail:
            raise ValueError("boom")

    run_interruptible(work(False))
    with pytest.raises(ValueError):
        run_interruptible(work(True))
    raised = tuple(max(a, b) for a, b in zip(before, RUN_GC, strict=True))  # never lowered below the process's own
    assert seen == [raised] * 2 and raised[0] >= RUN_GC[0]
    assert gc.get_threshold() == before


@pytest.mark.parametrize("choice", ["asyncio", "auto"])
def test_serve_runs_on_the_chosen_loop_with_the_run_collector_settings(monkeypatch, choice):
    uvicorn = pytest.importorskip("uvicorn")
    from critica.cli import main

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(loop=kw["loop"], gc=gc.get_threshold()))
    monkeypatch.setenv("CRITICA_LOOP", choice)
    before = gc.get_threshold()
    assert main(["serve", "--no-store", "--no-ui"]) == 0
    assert seen["loop"] == choice  # uvicorn's own names: its "auto" is uvloop where installed, as ours is
    assert seen["gc"][0] >= RUN_GC[0] and gc.get_threshold() == before
