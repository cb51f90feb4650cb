"""Run a coroutine so that Ctrl-C stops it within a second or two, whatever is in flight.

``asyncio.run`` on Ctrl-C cancels the work and then waits for every worker thread to finish: a verifier deep in a
sympy check or an in-process llama.cpp decode cannot be interrupted, so the command sat silent for half a minute.
:func:`run_interruptible` cancels the work the same way (``finally`` blocks run: tasks in flight are cancelled,
callers closed, results already delivered stay delivered) but bounds the wait, and leaves threads that are still
computing behind rather than joining them. The CLI's entry point then exits without joining them either.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["run_interruptible", "GRACE_S"]

T = TypeVar("T")

GRACE_S = 1.5
"""How long cancelled work may take to unwind (closing HTTP clients, committing) before it is cancelled again and
left behind."""


def run_interruptible(main: Coroutine[Any, Any, T], *, grace_s: float = GRACE_S) -> T:
    """``asyncio.run(main)``, except that Ctrl-C (SIGINT) is answered promptly.

    The first Ctrl-C cancels ``main``; once it has unwound (at most ``grace_s`` later) ``KeyboardInterrupt`` is
    raised here. Worker threads of the loop's default executor (``asyncio.to_thread``) are not waited for after an
    interrupt. A second Ctrl-C raises ``KeyboardInterrupt`` at once.
    """
    loop = asyncio.new_event_loop()
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
