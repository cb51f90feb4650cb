"""critica.timeouts.FixedTimeouts: asyncio.timeout's behaviour with one loop timer for a whole group of scopes."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critica.timeouts import FixedTimeouts


async def _sleep_in(timeouts: FixedTimeouts, seconds: float) -> str:
    with timeouts.scope():
        await asyncio.sleep(seconds)
    return "done"


def test_a_scope_past_its_deadline_raises_timeout_error_and_the_others_finish():
    async def main():
        timeouts = FixedTimeouts(0.2)
        results = await asyncio.gather(_sleep_in(timeouts, 5.0), _sleep_in(timeouts, 0.01), _sleep_in(timeouts, 0.0),
                                       return_exceptions=True)
        return results, timeouts.open_scopes()

    loop_start = asyncio.new_event_loop()
    try:
        t0 = loop_start.time()
        (results, still_open) = loop_start.run_until_complete(main())
        elapsed = loop_start.time() - t0
    finally:
        loop_start.close()
    assert isinstance(results[0], TimeoutError)
    assert results[1:] == ["done", "done"]
    assert still_open == 0
    assert elapsed < 3.0  # the 5 s sleep was cut at its deadline


def test_a_cancellation_from_elsewhere_stays_a_cancellation():
    async def main():
        timeouts = FixedTimeouts(30.0)
        task = asyncio.ensure_future(_sleep_in(timeouts, 10.0))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return timeouts.open_scopes()

    assert asyncio.run(main()) == 0


def test_an_outer_timeout_is_not_taken_for_the_scopes_own():
    async def main():
        timeouts = FixedTimeouts(30.0)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await _sleep_in(timeouts, 10.0)
        # the outer timeout's cancellation went through the scope as a cancellation, and the task is not left
        # cancelling: it goes on
        await asyncio.sleep(0)
        assert asyncio.current_task().cancelling() == 0
        return timeouts.open_scopes()

    assert asyncio.run(main()) == 0


def test_one_loop_timer_for_any_number_of_open_scopes():
    # asyncio.timeout puts a timer on the loop's heap per scope; the group keeps one for all of them
    async def main():
        loop = asyncio.get_running_loop()
        timeouts = FixedTimeouts(60.0)
        before = len(loop._scheduled)  # noqa: SLF001 - the loop's timer heap is what this test is about
        gate = asyncio.Event()

        async def hold():
            with timeouts.scope():
                await gate.wait()

        tasks = [asyncio.ensure_future(hold()) for _ in range(500)]
        await asyncio.sleep(0)
        timers = len(loop._scheduled) - before  # noqa: SLF001
        opened = timeouts.open_scopes()
        gate.set()
        await asyncio.gather(*tasks)
        return timers, opened, timeouts.open_scopes()

    assert asyncio.run(main()) == (1, 500, 0)


def test_closed_scopes_behind_a_long_open_one_do_not_pile_up():
    async def main():
        timeouts = FixedTimeouts(60.0)
        gate = asyncio.Event()

        async def hold():
            with timeouts.scope():
                await gate.wait()

        first = asyncio.ensure_future(hold())
        await asyncio.sleep(0)
        for _ in range(20_000):  # each opens and closes behind the one still open at the head
            with timeouts.scope():
                pass
        state = timeouts._states[asyncio.get_running_loop()]  # noqa: SLF001
        queued = len(state.queue)
        gate.set()
        await first
        return queued

    assert asyncio.run(main()) <= 4 * 1 + 64 + 1


def test_every_loop_keeps_its_own_timeouts_also_in_threads_at_once():
    timeouts = FixedTimeouts(0.2)
    out: dict[str, object] = {}

    def run(name: str) -> None:
        async def main():
            return await asyncio.gather(_sleep_in(timeouts, 5.0), _sleep_in(timeouts, 0.0), return_exceptions=True)

        out[name] = asyncio.run(main())

    threads = [threading.Thread(target=run, args=(f"t{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(out) == 3
    for results in out.values():
        assert isinstance(results[0], TimeoutError) and results[1] == "done"
    # and a later asyncio.run (a new loop) starts afresh
    assert isinstance(asyncio.run(asyncio.wait_for(_gather_one(timeouts), 10)), TimeoutError)


async def _gather_one(timeouts: FixedTimeouts):
    (result,) = await asyncio.gather(_sleep_in(timeouts, 5.0), return_exceptions=True)
    return result


def test_a_scope_outside_a_task_or_a_bad_duration_is_refused():
    with pytest.raises(ValueError):
        FixedTimeouts(float("nan"))
    with pytest.raises(ValueError):
        FixedTimeouts(-1)
    with pytest.raises(RuntimeError):
        with FixedTimeouts(1.0).scope():
            pass


@settings(max_examples=15, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=30))
def test_exactly_the_scopes_that_outlive_the_timeout_time_out(slow: list[bool]):
    # staggered starts: deadlines in opening order while earlier scopes close and later ones stay open
    async def main():
        timeouts = FixedTimeouts(0.15)

        async def one(i: int, is_slow: bool):
            await asyncio.sleep(0.002 * i)
            return await _sleep_in(timeouts, 3.0 if is_slow else 0.0)

        return await asyncio.gather(*(one(i, s) for i, s in enumerate(slow)), return_exceptions=True)

    results = asyncio.run(main())
    assert [isinstance(r, TimeoutError) for r in results] == slow
    assert all(r == "done" for r, s in zip(results, slow, strict=True) if not s)
