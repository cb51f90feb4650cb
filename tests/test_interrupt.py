"""run_interruptible: Ctrl-C cancels the work at once and does not wait for threads that cannot be interrupted."""

from __future__ import annotations

import asyncio
import signal
import threading
import time

import pytest

from critica.run.interrupt import run_interruptible

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
