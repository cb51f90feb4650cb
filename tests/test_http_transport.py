"""The OpenAI-compatible backend over real HTTP to a scripted server on 127.0.0.1, over both transports.

The lean aiohttp transport (the default) and the openai SDK (``transport="sdk"``) must behave alike: same requests,
same completions, same retry policy and errors. What only the lean transport does (a cap on the answer's size, a
typed reading of the answer) is tested on it alone.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from critica.backends.base import GenerateRequest
from critica.backends.call import Caller, CallPolicy
from critica.backends.openai_compat import OpenAICompatBackend
from critica.backends.registry import create_backend
from critica.config import Settings, from_env
from critica.errors import BackendError, BackendUnavailable, ImagesUnsupported, UserError

SCHEMA = {"type": "object", "properties": {"verdict": {"type": "string"}}, "required": ["verdict"]}
MSGS = [{"role": "user", "content": "Is 2 + 2 = 4?"}]
KEY = "sk-test-0123456789abcdef"
Reply = tuple[int, dict[str, str], bytes | Iterator[bytes]]


def completion(texts: list[str], **extra: Any) -> bytes:
    return json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "served-model",
                       "choices": [{"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": t}}
                                   for i, t in enumerate(texts)],
                       "usage": {"prompt_tokens": 5, "completion_tokens": 2 * len(texts), "total_tokens": 9},
                       **extra}).encode()


def ok(texts: list[str], **extra: Any) -> Reply:
    return 200, {}, completion(texts, **extra)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return status, headers or {}, json.dumps({"error": {"message": message, "type": "x"}}).encode()


class Server:
    """A threaded HTTP server on 127.0.0.1 answering each POST with ``script(body, index)``; records requests."""

    def __init__(self, script: Callable[[dict[str, Any], int], Reply]) -> None:
        self.requests: list[dict[str, Any]] = []  # {"path", "headers", "body"}
        lock = threading.Lock()
        me = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                with lock:
                    i = len(me.requests)
                    me.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                        "body": body})
                status, headers, data = script(body, i)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                try:
                    if isinstance(data, bytes):
                        if "content-length" not in {k.lower() for k in headers}:
                            self.send_header("content-length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                    else:  # a stream: chunked, as long as the client reads
                        self.send_header("transfer-encoding", "chunked")
                        self.end_headers()
                        for chunk in data:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    made: list[Server] = []

    def start(script: Callable[[dict[str, Any], int], Reply]) -> Server:
        made.append(Server(script))
        return made[-1]

    yield start
    for s in made:
        s.close()


@pytest.fixture(params=["aiohttp", "sdk"])
def transport(request) -> str:
    return request.param


def backend(server: Server, transport: str = "aiohttp", **kw: Any) -> OpenAICompatBackend:
    return OpenAICompatBackend("m", base_url=server.base_url, transport=transport, **kw)  # type: ignore[arg-type]


def caller(b: OpenAICompatBackend, **policy: Any) -> Caller:
    return Caller(b, CallPolicy(**{"retries": 2, "backoff_base_s": 0.001, "timeout_s": 10, **policy}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the same behaviour over both transports ---------------------------------------------------------------------------


async def test_happy_path_sends_the_request_and_reads_the_completion(serve, transport):
    s = serve(lambda body, i: ok(["fine"]))
    b = backend(s, transport, api_key=KEY)
    out = await b.generate(GenerateRequest(messages=MSGS, temperature=0.5, max_tokens=7, seed=3, stop=("\n",)))
    await b.aclose()
    assert out.texts == ["fine"] and out.model == "served-model" and out.finish_reasons == ["stop"]
    assert (out.usage.prompt_tokens, out.usage.completion_tokens, out.usage.calls) == (5, 2, 1)
    [req] = s.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["authorization"] == f"Bearer {KEY}"
    assert req["body"] == {"model": "m", "messages": MSGS, "temperature": 0.5, "max_tokens": 7, "seed": 3,
                           "stop": ["\n"]}


async def test_n_is_sent_once_when_the_server_honours_it(serve, transport):
    s = serve(lambda body, i: ok([f"t{k}" for k in range(body.get("n", 1))]))
    out = await backend(s, transport).generate(GenerateRequest(messages=MSGS, n=3, seed=1))
    assert out.texts == ["t0", "t1", "t2"] and len(s.requests) == 1 and s.requests[0]["body"]["n"] == 3


async def test_a_server_ignoring_n_gets_further_seeded_calls(serve, transport):
    s = serve(lambda body, i: ok([f"s{body.get('seed')}"]))
    out = await backend(s, transport).generate(GenerateRequest(messages=MSGS, n=3, seed=7))
    assert out.texts == ["s7", "s8", "s9"] and out.usage.calls == 3
    assert s.requests[0]["body"]["n"] == 3 and "n" not in s.requests[1]["body"]


async def test_response_format_falls_back_json_schema_then_json_object_then_none_and_is_remembered(serve, transport):
    def script(body, i):
        kind = (body.get("response_format") or {}).get("type")
        if kind == "json_schema":
            return error(422, "unknown response_format")
        if kind == "json_object":  # llama.cpp's server blames the format with a 500
            return error(500, "json_schema not supported")
        return ok(['{"verdict": "correct"}'])

    s = serve(script)
    b = backend(s, transport)
    req = GenerateRequest(messages=MSGS, json_schema=SCHEMA)
    assert (await b.generate(req)).texts == ['{"verdict": "correct"}']
    await b.generate(req)
    kinds = [(r["body"].get("response_format") or {}).get("type") for r in s.requests]
    assert kinds == ["json_schema", "json_object", None, None] and b.schema_mode == "none"


async def test_429_is_retried_after_retry_after_and_5xx_is_retried(serve, transport):
    replies = [error(429, "slow down", {"Retry-After": "0.4"}), error(502, "bad gateway"), ok(["fine"])]
    s = serve(lambda body, i: replies[i])
    start = time.perf_counter()
    out = await caller(backend(s, transport), retries=3).generate(GenerateRequest(messages=MSGS))
    assert out.texts == ["fine"] and len(s.requests) == 3
    assert time.perf_counter() - start >= 0.4  # waited as the server asked, not the 1 ms backoff


async def test_503_to_the_end_is_unavailable(serve, transport):
    s = serve(lambda body, i: error(503, "loading model"))
    with pytest.raises(BackendUnavailable) as info:
        await caller(backend(s, transport), retries=1).generate(GenerateRequest(messages=MSGS))
    assert info.value.status == 503 and len(s.requests) == 2 and "loading model" in str(info.value)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_other_4xx_are_not_retried(serve, transport, status):
    s = serve(lambda body, i: error(status, "no"))
    with pytest.raises(BackendError) as info:
        await caller(backend(s, transport), retries=3).generate(GenerateRequest(messages=MSGS))
    assert len(s.requests) == 1 and info.value.status == status
    assert not isinstance(info.value, BackendUnavailable)
    assert f"Error code: {status} - no" in str(info.value)


async def test_a_timeout_is_retried_then_unavailable(serve, transport):
    def slow(body, i):
        time.sleep(1.5)
        return ok(["late"])

    s = serve(slow)
    start = time.perf_counter()
    with pytest.raises(BackendUnavailable, match="APITimeoutError"):
        await caller(backend(s, transport, timeout_s=0.3), retries=1).generate(GenerateRequest(messages=MSGS))
    assert len(s.requests) == 2 and time.perf_counter() - start < 1.5


async def test_connection_refused_is_retried_then_unavailable(transport):
    b = OpenAICompatBackend("m", base_url=f"http://127.0.0.1:{free_port()}/v1", transport=transport)  # type: ignore[arg-type]
    start = time.perf_counter()
    with pytest.raises(BackendUnavailable, match="APIConnectionError") as info:
        await caller(b, retries=1).generate(GenerateRequest(messages=MSGS))
    assert "after 2 attempts" in str(info.value) and time.perf_counter() - start < 5


async def test_images_refused_are_images_unsupported_never_resent_without_them(serve, transport):
    s = serve(lambda body, i: error(400, "image input is not supported"))
    msgs = [{"role": "user", "content": [{"type": "text", "text": "look"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]
    with pytest.raises(ImagesUnsupported, match="image input is not supported") as info:
        await caller(backend(s, transport), retries=3).generate(GenerateRequest(messages=msgs))
    assert info.value.status == 400 and len(s.requests) == 1


async def test_a_key_echoed_by_the_server_is_redacted_from_the_error(serve, transport):
    s = serve(lambda body, i: error(401, f"Incorrect API key provided: {KEY}"))
    with pytest.raises(BackendError) as info:
        await caller(backend(s, transport, api_key=KEY)).generate(GenerateRequest(messages=MSGS))
    assert s.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"
    assert KEY not in str(info.value) and KEY not in str(info.value.body) and "[redacted]" in str(info.value)


async def test_logprobs_and_reasoning_are_read(serve, transport):
    def script(body, i):
        data = json.loads(completion(["final"]))
        data["choices"][0]["logprobs"] = {"content": [{"token": "final", "logprob": -0.5, "bytes": None,
                                                       "top_logprobs": []}]}
        data["choices"][0]["message"]["reasoning_content"] = "thinking..."
        return 200, {}, json.dumps(data).encode()

    s = serve(script)
    out = await backend(s, transport).generate(GenerateRequest(messages=MSGS, logprobs=True))
    assert out.logprobs == [[("final", -0.5)]] and out.reasoning == ["thinking..."]
    assert s.requests[0]["body"]["logprobs"] is True


async def test_no_proxy_environment_is_needed(serve, transport, monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    s = serve(lambda body, i: ok(["fine"]))
    assert (await backend(s, transport).generate(GenerateRequest(messages=MSGS))).texts == ["fine"]


# -- the lean transport -------------------------------------------------------------------------------------------------


def test_the_lean_transport_is_the_default_and_the_sdk_is_selectable(monkeypatch):
    assert create_backend("openai:m", Settings(base_url="http://127.0.0.1:9/v1")).transport == "aiohttp"
    assert create_backend("vllm:m", Settings(transport="sdk")).transport == "sdk"
    monkeypatch.setenv("CRITICA_TRANSPORT", "sdk")
    assert from_env().transport == "sdk"
    monkeypatch.setenv("CRITICA_TRANSPORT", "curl")
    with pytest.raises(UserError, match="CRITICA_TRANSPORT"):
        from_env()
    import openai

    injected = OpenAICompatBackend("m", client=openai.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k"))
    assert injected.transport == "sdk"


async def test_a_proxy_from_the_environment_is_used(serve, monkeypatch):
    for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    proxy = serve(lambda body, i: ok(["via proxy"]))
    monkeypatch.setenv("HTTP_PROXY", proxy.base_url.removesuffix("/v1"))
    monkeypatch.setenv("http_proxy", proxy.base_url.removesuffix("/v1"))
    b = OpenAICompatBackend("m", base_url="http://critica-test.invalid/v1")
    assert (await b.generate(GenerateRequest(messages=MSGS))).texts == ["via proxy"]
    await b.aclose()
    assert proxy.requests[0]["path"] == "http://critica-test.invalid/v1/chat/completions"


async def test_an_endless_body_is_cut_at_the_limit_and_not_retried(serve):
    def endless(body, i):
        def chunks():
            for _ in range(40 * 16):  # 40 MiB in 64 KiB chunks; the client stops reading at 32 MiB
                yield b" " * 65536
        return 200, {}, chunks()

    s = serve(endless)
    with pytest.raises(BackendError, match="ResponseTooLarge") as info:
        await caller(backend(s), retries=3, timeout_s=60).generate(GenerateRequest(messages=MSGS))
    assert "33,554,432-byte limit" in str(info.value) and len(s.requests) == 1


async def test_a_declared_huge_body_is_refused_before_reading(serve):
    s = serve(lambda body, i: (200, {"Content-Length": str(10**12)}, b"{}"))
    with pytest.raises(BackendError, match="ResponseTooLarge: the server's answer is 1,000,000,000,000 bytes"):
        await caller(backend(s), retries=0).generate(GenerateRequest(messages=MSGS))


async def test_a_small_limit_applies_to_error_bodies_too(serve):
    from critica.backends.http import JSONClient, ResponseTooLarge

    s = serve(lambda body, i: (500, {}, iter([b"x" * 4096] * 8)))
    client = JSONClient(s.base_url, max_body_bytes=10_000)
    with pytest.raises(ResponseTooLarge):
        await client.post("/chat/completions", {})
    await client.aclose()


MALFORMED = {
    "not JSON": b"<html>502 Bad Gateway</html>",
    "not UTF-8": b"\xff\xfe{",
    "a list": b"[]",
    "no choices": b'{"id": "c"}',
    "choices not a list": b'{"choices": "yes"}',
    "choice not an object": b'{"choices": [1]}',
    "no message": b'{"choices": [{"index": 0}]}',
    "content a number": b'{"choices": [{"message": {"content": 5}}]}',
    "content an object": b'{"choices": [{"message": {"content": {"verdict": "correct"}}}]}',
    "malformed logprobs": b'{"choices": [{"message": {"content": "x"}, "logprobs": {"content": [{"token": 1}]}}]}',
}


@pytest.mark.parametrize("raw", list(MALFORMED.values()), ids=list(MALFORMED))
async def test_a_malformed_answer_is_a_clear_error_not_retried(serve, raw):
    s = serve(lambda body, i: (200, {}, raw))
    with pytest.raises(BackendError, match="InvalidResponse: .*(not JSON|choices|message|content|logprobs|JSON list)"):
        await caller(backend(s), retries=3).generate(GenerateRequest(messages=MSGS))
    assert len(s.requests) == 1


async def test_odd_but_readable_fields_are_tolerated(serve):
    s = serve(lambda body, i: (200, {}, json.dumps({
        "choices": [{"message": {"content": None}, "finish_reason": 3}],
        "usage": {"prompt_tokens": "many", "completion_tokens": -1}, "model": 7}).encode()))
    out = await backend(s).generate(GenerateRequest(messages=MSGS))
    assert out.texts == [""] and out.finish_reasons == [None] and out.model is None
    assert (out.usage.prompt_tokens, out.usage.completion_tokens, out.usage.calls) == (0, 0, 1)


def test_one_backend_serves_successive_and_concurrent_event_loops_and_closes_their_sessions(serve, caplog):
    """The Ray path runs each chunk in its own asyncio.run with the same backend; threads may run loops at once."""
    s = serve(lambda body, i: ok([f"r{i}"]))
    b = backend(s)

    async def some() -> list[str]:
        outs = await asyncio.gather(*(b.generate(GenerateRequest(messages=MSGS)) for _ in range(4)))
        return [t for o in outs for t in o.texts]

    caplog.set_level(logging.ERROR, logger="asyncio")
    gc.collect()  # what earlier tests left behind is not this test's to judge
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(asyncio.run(some())) == 4
        assert len(asyncio.run(some())) == 4
        results: list[list[str]] = []
        threads = [threading.Thread(target=lambda: results.append(asyncio.run(some()))) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert [len(r) for r in results] == [4, 4, 4]
        asyncio.run(b.aclose())
        gc.collect()
    assert len(s.requests) == 20
    unclosed = [str(w.message) for w in caught if "nclosed" in str(w.message)]
    assert unclosed == [] and not [r for r in caplog.records if "nclosed" in r.getMessage()]


def test_the_sdk_transport_also_serves_successive_event_loops(serve):
    """One AsyncOpenAI per loop: before, the second asyncio.run failed with 'Event loop is closed'."""
    s = serve(lambda body, i: ok([f"r{i}"]))
    b = backend(s, "sdk")

    async def one() -> list[str]:
        return (await b.generate(GenerateRequest(messages=MSGS))).texts

    assert asyncio.run(one()) == ["r0"]
    assert asyncio.run(one()) == ["r1"]

    async def last() -> list[str]:
        texts = await one()
        await b.aclose()
        return texts

    assert asyncio.run(last()) == ["r2"]
    assert len(s.requests) == 3


@pytest.mark.parametrize("transport", ["aiohttp", "sdk"])
def test_openai_base_url_from_the_environment_is_not_read(monkeypatch, transport):
    """Both transports send to --base-url / CRITICA_BASE_URL or OpenAI's API, never to OPENAI_BASE_URL."""
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    b = OpenAICompatBackend("m", api_key="sk-test", transport=transport)  # type: ignore[arg-type]

    async def url() -> str:
        if transport == "aiohttp":
            return b._http.base_url
        return str(b._sdk_client().base_url).rstrip("/")

    assert asyncio.run(url()) == "https://api.openai.com/v1"
