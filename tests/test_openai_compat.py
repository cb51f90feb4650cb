"""The OpenAI-compatible backend against httpx.MockTransport under the real openai SDK."""

import json

import httpx
import openai
import pytest

from critica.backends.base import GenerateRequest
from critica.backends.call import Caller, CallPolicy
from critica.backends.openai_compat import OpenAICompatBackend
from critica.errors import BackendError

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def _completion(texts, prompt_tokens=10, completion_tokens=3):
    return {
        "id": "x", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"} for i, t in enumerate(texts)],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
    }


def _backend(handler, **kw):
    client = openai.AsyncOpenAI(base_url="http://test/v1", api_key="k", max_retries=0,
                                http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    return OpenAICompatBackend("m", client=client, **kw)


async def test_fills_missing_choices_with_seeded_calls():
    seen = []

    def handler(request):
        body = json.loads(request.content)
        seen.append(body)
        return httpx.Response(200, json=_completion([f"s{body.get('seed')}"]))

    out = await _backend(handler).generate(GenerateRequest(messages=[{"role": "user", "content": "q"}], n=3, seed=7))
    assert out.texts == ["s7", "s8", "s9"]
    assert seen[0]["n"] == 3 and "n" not in seen[1]
    assert out.usage.calls == 3 and out.usage.prompt_tokens == 30


async def test_schema_dialect_falls_back_and_is_remembered():
    formats = []

    def handler(request):
        body = json.loads(request.content)
        fmt = body.get("response_format", {})
        formats.append(fmt.get("type"))
        if fmt.get("type") == "json_schema":
            return httpx.Response(422, json={"error": "unknown response_format"})
        assert fmt["schema"] == SCHEMA
        return httpx.Response(200, json=_completion(['{"a": 1}']))

    backend = _backend(handler)
    req = GenerateRequest(messages=[{"role": "user", "content": "q"}], json_schema=SCHEMA)
    assert (await backend.generate(req)).texts == ['{"a": 1}']
    await backend.generate(req)
    assert formats == ["json_schema", "json_object", "json_object"]


async def test_rate_limit_is_retried_with_retry_after_then_400_is_not():
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(429, headers={"retry-after": "0"}, json={"error": "slow down"})
        if calls["n"] == 2:
            return httpx.Response(503, json={"error": "busy"})
        return httpx.Response(200, json=_completion(["fine"]))

    caller = Caller(_backend(handler), CallPolicy(retries=3, backoff_base_s=0.001))
    assert (await caller.generate(GenerateRequest(messages=[{"role": "user", "content": "q"}]))).texts == ["fine"]

    def bad(request):
        calls["n"] += 1
        return httpx.Response(400, json={"error": "bad"})

    calls["n"] = 0
    with pytest.raises(BackendError) as info:
        await Caller(_backend(bad), CallPolicy(retries=3)).generate(GenerateRequest(messages=[{"role": "user", "content": "q"}]))
    assert calls["n"] == 1 and info.value.status == 400


def test_custom_base_url_never_gets_hosted_key(monkeypatch):
    from critica.config import from_env

    monkeypatch.setenv("OPENAI_API_KEY", "sk-hosted")
    monkeypatch.setenv("CRITICA_BASE_URL", "http://127.0.0.1:9/v1")
    assert from_env().api_key is None
    monkeypatch.delenv("CRITICA_BASE_URL")
    assert from_env().api_key == "sk-hosted"


async def test_logprobs_and_reasoning_are_read():
    def handler(request):
        body = json.loads(request.content)
        assert body["logprobs"] is True
        data = _completion(["final"])
        data["choices"][0]["logprobs"] = {"content": [{"token": "final", "logprob": -0.5, "bytes": None, "top_logprobs": []}]}
        data["choices"][0]["message"]["reasoning_content"] = "thinking..."
        return httpx.Response(200, json=data)

    out = await _backend(handler).generate(GenerateRequest(messages=[{"role": "user", "content": "q"}], logprobs=True))
    assert out.logprobs == [[("final", -0.5)]] and out.reasoning == ["thinking..."]
