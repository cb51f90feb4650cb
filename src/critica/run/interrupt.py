"""Run a coroutine so that Ctrl-C stops it within a second or two, whatever is in flight.

``asyncio.run`` on Ctrl-C cancels the work and then waits for every worker thread to finish: a verifier deep in a
sympy check or an in-process llama.cpp decode cannot be interrupted, so the command sat silent for half a minute.
:func:`run_interruptible` cancels the work the same way (``finally`` blocks run: tasks in flight are cancelled,
callers closed, results already delivered stay delivered) but bounds the wait, and leaves threads that are still
computing behind rather than joining them. The CLI's entry point then exits without joining them either.

It is also where the CLI's runs get their event loop, tuned for dispatching thousands of requests (see
:func:`new_loop` and :data:`RUN_GC`): with many requests in flight the client's own CPU per request decides how
busy it keeps a server, and both measures cut it (docs/performance.md, "Keeping an OpenAI-compatible server busy").
"""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["run_interruptible", "new_loop", "raise_gc_thresholds", "GRACE_S", "RUN_GC"]

T = TypeVar("T")

GRACE_S = 1.5
"""How long cancelled work may take to unwind (closing HTTP clients, committing) before it is cancelled again and
left behind."""

RUN_GC = (10_000, 10, 10)
"""Collector thresholds while a run is going. Every request in flight keeps a few hundred objects alive (its task,
frames, request, reply, critique); at the default 700 allocations between young collections, each collection walks
hundreds of in-flight items' objects that all survive it. Ten thousand cuts the client's instructions per request
by ~5% at 256 in flight (on top of uvloop's ~8%); the memory held meanwhile is a few thousand small objects more.
Restored after the run."""


def raise_gc_thresholds() -> tuple[int, int, int]:
    """Set the collector to :data:`RUN_GC` (never lower than the process's own thresholds); the thresholds before,
    for the caller to put back (``gc.set_threshold(*before)``) when its run ends."""
    before = gc.get_threshold()
    gc.set_threshold(*(max(a, b) for a, b in zip(before, RUN_GC, strict=True)))
    return before


def new_loop() -> asyncio.AbstractEventLoop:
    """A new event loop for a run: uvloop's where it is installed, else asyncio's.

    ``CRITICA_LOOP`` chooses: ``auto`` (the default), ``uvloop`` (an error if it is not installed) or ``asyncio``.
    uvloop runs the same coroutines on libuv, with transports and callbacks in C: ~8% fewer instructions per request
    dispatched at 256 in flight (docs/performance.md).
    """
    from critica.config import loop_choice

    choice = loop_choice()
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                from critica.errors import UserError

                raise UserError("CRITICA_LOOP=uvloop, but uvloop is not installed (pip install uvloop)") from None
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run_interruptible(main: Coroutine[Any, Any, T], *, grace_s: float = GRACE_S) -> T:
    """``asyncio.run(main)``, except that Ctrl-C (SIGINT) is answered promptly.

    The first Ctrl-C cancels ``main``; once it has unwound (at most ``grace_s`` later) ``KeyboardInterrupt`` is
    raised here. Worker threads of the loop's default executor (``asyncio.to_thread``) are not waited for after an
    interrupt. A second Ctrl-C raises ``KeyboardInterrupt`` at once.
    """
    try:
        loop = new_loop()
    except BaseException:
        main.close()  # never started: no "coroutine was never awaited" warning beside the error
        raise
    executor = ThreadPoolExecutor(thread_name_prefix="critica-worker")
    loop.set_default_executor(executor)
    task = loop.create_task(main)
    interrupted = False

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal interrupted
        if interrupted:
            raise KeyboardInterrupt
        interrupted = True
        loop.call_soon_threadsafe(task.cancel)
        # Cancelled work gets grace_s to unwind; a finally block stuck on something slower is cancelled again.
        loop.call_soon_threadsafe(loop.call_later, grace_s, task.cancel)

    # As asyncio.Runner does: only where Ctrl-C would raise KeyboardInterrupt anyway (main thread, Python's default
    # handler), never overriding a parent's choice to ignore SIGINT (a job started with `&` by a script) or a handler
    # an embedding program installed.
    in_main = (threading.current_thread() is threading.main_thread()
               and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    previous = signal.signal(signal.SIGINT, on_sigint) if in_main else None
    thresholds = raise_gc_thresholds()
    try:
        try:
            result = loop.run_until_complete(task)
        except asyncio.CancelledError:
            if interrupted:
                raise KeyboardInterrupt from None
            raise
        if interrupted:  # the work swallowed the cancellation; the user still asked to stop
            raise KeyboardInterrupt
        return result
    finally:
        gc.set_threshold(*thresholds)
        if in_main:
            signal.signal(signal.SIGINT, previous)
        try:
            _cancel_rest(loop, grace_s)
            loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), grace_s))
        except (TimeoutError, asyncio.CancelledError):
            pass
        finally:
            executor.shutdown(wait=not interrupted, cancel_futures=True)
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_rest(loop: asyncio.AbstractEventLoop, grace_s: float) -> None:
    rest = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not rest:
        return
    for t in rest:
        t.cancel()
    loop.run_until_complete(asyncio.wait(rest, timeout=grace_s))
