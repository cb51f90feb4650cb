import asyncio
import time

import pytest

from critica.backends.base import GenerateRequest
from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend, ScriptedError
from critica.errors import BackendError, BackendUnavailable

REQ = GenerateRequest(messages=[{"role": "user", "content": "hello there"}])


async def test_retries_transient_failures_then_succeeds():
    backend = ScriptedBackend([ScriptedError(), ScriptedError(status=429), "ok"], cycle=False)
    caller = Caller(backend, CallPolicy(retries=3, backoff_base_s=0.001))
    out = await caller.generate(REQ)
    assert out.texts == ["ok"] and backend.calls == 3
    assert caller.usage.calls == 1 and caller.usage.prompt_tokens == 2


async def test_retries_are_bounded():
    backend = ScriptedBackend([ScriptedError("boom")])
    caller = Caller(backend, CallPolicy(retries=2, backoff_base_s=0.001))
    with pytest.raises(BackendError, match="after 3 attempts"):
        await caller.generate(REQ)
    assert backend.calls == 3


async def test_non_retryable_fails_at_once():
    backend = ScriptedBackend([ScriptedError("bad request", retryable=False, status=400)])
    with pytest.raises(BackendError) as info:
        await Caller(backend, CallPolicy(retries=5)).generate(REQ)
    assert backend.calls == 1 and info.value.status == 400


async def test_retry_after_is_honoured():
    backend = ScriptedBackend([ScriptedError(status=429, retry_after=0.3), "ok"], cycle=False)
    start = time.perf_counter()
    await Caller(backend, CallPolicy(retries=1, backoff_base_s=0.001)).generate(REQ)
    assert time.perf_counter() - start >= 0.29


async def test_timeout_is_unavailable_with_clear_message():
    backend = ScriptedBackend(["late"], delay_s=5)
    caller = Caller(backend, CallPolicy(timeout_s=0.1, retries=1, backoff_base_s=0.001))
    start = time.perf_counter()
    with pytest.raises(BackendUnavailable, match=r"no answer within 0.1s \(after 2 attempts\)"):
        await caller.generate(REQ)
    assert time.perf_counter() - start < 1.5


async def test_concurrency_limit_is_respected():
    in_flight = 0
    peak = 0

    def reply(_req, _i):
        return "x"

    class Counting(ScriptedBackend):
        async def generate(self, request):
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.02)
            in_flight -= 1
            return await super().generate(request)

    caller = Caller(Counting(reply), CallPolicy(concurrency=3))
    await asyncio.gather(*(caller.generate(REQ) for _ in range(12)))
    assert peak == 3


async def test_a_waiting_call_is_sent_before_the_freeing_reply_is_handed_back():
    log = []

    class Logging(ScriptedBackend):
        async def generate(self, request):
            log.append("send " + request.messages[0]["content"])
            return await super().generate(request)

    caller = Caller(Logging(["ok"], delay_s=0.01), CallPolicy(concurrency=1, retries=0))

    async def one(text):
        await caller.generate(GenerateRequest(messages=[{"role": "user", "content": text}]))
        log.append("back " + text)

    await asyncio.gather(one("a"), one("b"))
    assert log == ["send a", "send b", "back a", "back b"]
