"""Timeouts of one fixed duration for many tasks, at O(1) each and one event-loop timer in all.

``asyncio.timeout`` schedules a timer per use (a heap push, a cancel, a ``Timeout`` object and its async enter and
exit): at hundreds of calls a second, with a timeout around every backend call and every item, that was ~7% of
the CPU critica spends dispatching one request, all of it on the event loop that must send the next one.

When every timeout of a group has the same duration, deadlines come in the order the scopes were opened, so a
queue in opening order is also a queue in deadline order: a scope appends itself and marks itself closed, and a
single loop timer, set for the oldest open scope's deadline, cancels the tasks whose deadline has passed. What
happens at a deadline is what ``asyncio.timeout`` does: the task is cancelled, and the scope turns that
cancellation, and only that one, into :class:`TimeoutError` as it exits (a cancellation from elsewhere still
propagates as ``CancelledError``).

    timeouts = FixedTimeouts(120.0)
    with timeouts.scope():          # inside a task; a plain ``with``, no await in entering or leaving
        await backend.generate(request)
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["FixedTimeouts"]

_OPEN, _CLOSED, _EXPIRED = 0, 1, 2


class _Entry:
    __slots__ = ("at", "task", "state", "cancelling")

    def __init__(self, at: float, task: asyncio.Task, cancelling: int) -> None:
        self.at = at
        self.task = task
        self.state = _OPEN
        self.cancelling = cancelling


class _LoopState:
    """One loop's open scopes, in opening (so deadline) order, and its timer."""

    __slots__ = ("loop", "queue", "open", "handle", "due")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: deque[_Entry] = deque()
        self.open = 0
        self.handle: asyncio.TimerHandle | None = None
        self.due = 0.0  # the deadline the timer is set for


class FixedTimeouts:
    """Timeout scopes of ``seconds`` each, for the tasks of any event loop (each loop has its own queue and timer,
    so a caller shared by loops in several threads keeps every timeout)."""

    __slots__ = ("seconds", "_last", "_states")

    def __init__(self, seconds: float) -> None:
        if not seconds >= 0:  # also refuses NaN
            raise ValueError(f"a timeout must be a number of seconds, 0 or more, not {seconds}")
        self.seconds = seconds
        self._last: _LoopState | None = None  # the state used last, read without a lock: one object, replaced whole
        self._states: dict[asyncio.AbstractEventLoop, _LoopState] = {}

    def scope(self) -> _Scope:
        """A context manager: the task that enters it is cancelled, and the scope raises ``TimeoutError``, if it is
        still inside ``seconds`` after entering."""
        return _Scope(self)

    def open_scopes(self) -> int:
        """Scopes entered in the running loop and neither left nor expired."""
        state = self._states.get(asyncio.get_running_loop())
        return state.open if state is not None else 0

    def _state(self, loop: asyncio.AbstractEventLoop) -> _LoopState:
        state = self._last
        if state is None or state.loop is not loop:
            state = self._states.get(loop)
            if state is None:
                # loops gone (asyncio.run ended); list() copies the keys at once, while another thread may add one
                for old in [k for k in list(self._states) if k.is_closed()]:
                    self._states.pop(old, None)
                state = self._states[loop] = _LoopState(loop)
            self._last = state
        return state

    def _enter(self) -> tuple[_LoopState, _Entry]:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a timeout scope must be entered inside a task")
        state = self._state(loop)
        entry = _Entry(loop.time() + self.seconds, task, task.cancelling())
        queue = state.queue
        queue.append(entry)
        state.open += 1
        if state.handle is None:
            _schedule(state, entry.at)
        elif len(queue) > 64 and len(queue) > 4 * state.open:
            # One long-open scope at the head keeps the closed ones behind it queued: drop them now and then, so the
            # queue stays within a few times the open scopes (amortised O(1): it has grown 4x since last time).
            state.queue = deque(e for e in queue if e.state == _OPEN)
        return state, entry


def _exit(state: _LoopState, entry: _Entry) -> bool:
    """Close ``entry``; whether its deadline passed (its task was cancelled for it)."""
    if entry.state == _EXPIRED:
        return True
    entry.state = _CLOSED
    state.open -= 1
    queue = state.queue
    while queue and queue[0].state != _OPEN:
        queue.popleft()
    return False


def _schedule(state: _LoopState, at: float) -> None:
    state.due = at
    state.handle = state.loop.call_at(at, _fire, state)


def _fire(state: _LoopState) -> None:
    state.handle = None
    # The loop may run a timer up to its clock's resolution early: what it was set for is due whatever the clock
    # reads.
    now = max(state.loop.time(), state.due)
    queue = state.queue
    while queue:
        entry = queue[0]
        if entry.state == _OPEN:
            if entry.at > now:
                _schedule(state, entry.at)
                return
            entry.state = _EXPIRED
            state.open -= 1
            entry.task.cancel()
        queue.popleft()


class _Scope:
    __slots__ = ("_owner", "_state", "_entry")

    def __init__(self, owner: FixedTimeouts) -> None:
        self._owner = owner

    def __enter__(self) -> _Scope:
        self._state, self._entry = self._owner._enter()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        entry = self._entry
        if _exit(self._state, entry) and entry.task.uncancel() <= entry.cancelling and exc_type is asyncio.CancelledError:
            # the cancellation was this scope's own (as asyncio.timeout decides it)
            raise TimeoutError from exc
