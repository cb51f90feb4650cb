"""Request limits: body size (ASGI middleware), strict JSON, per-key concurrency, and a wall-clock timeout per request.

The body limit acts before the app reads anything: a declared ``Content-Length`` over the limit is answered 413 at
once, and a chunked body is read only up to the limit. The per-key limit answers 429 immediately rather than
queueing, because a queued HTTP request holds a connection and still times out on the client side.

Bodies are parsed as strict JSON (:class:`StrictJSONRoute`): ``NaN``, ``Infinity``, numbers that overflow to
infinity (``1e400``), integers over 4300 digits and nesting deeper than :data:`MAX_JSON_DEPTH` are a 400
``malformed_json`` answer, because Python's ``json`` would accept the first three and a value that cannot be written
back as JSON (or a structure too deep to walk) would otherwise fail somewhere far from the request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from critica.server.errors import HTTPProblem, error_response

__all__ = ["BodySizeLimit", "KeyLimiter", "within", "StrictJSONRoute", "strict_json_loads", "MAX_JSON_DEPTH"]

T = TypeVar("T")

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a request body may have (items and options need a handful)."""

_STRING = re.compile(rb'"(?:[^"\\\\]|\\\\.)*"', re.DOTALL)
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")  # every byte but the brackets, for bytes.translate


def _depth(body: bytes) -> int:
    """Deepest bracket nesting outside strings (C-speed: strings cut out, brackets kept, a running sum)."""
    brackets = _STRING.sub(b"", body).translate(None, _BRACKETS)
    steps = (1 if b in b"[{" else -1 for b in brackets)
    return max(itertools.accumulate(steps), default=0)


def strict_json_loads(body: bytes | str) -> Any:
    """``json.loads`` that refuses what JSON (RFC 8259) or this server cannot carry; raises JSONDecodeError."""
    def constant(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not valid JSON (no NaN or Infinity)", "", _find(body, name))

    def real(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise json.JSONDecodeError(f"number {text[:20]} is too large", "", _find(body, text))
        return value

    raw = body.encode() if isinstance(body, str) else body
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _depth(raw) > MAX_JSON_DEPTH:
        raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", "", 0)
    try:
        return json.loads(body, parse_constant=constant, parse_float=real)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as e:  # integers over 4300 digits, bad UTF-8
        raise json.JSONDecodeError(" ".join(str(e).split())[:200], "", 0) from None


def _find(body: bytes | str, token: str) -> int:
    at = (body.decode("utf-8", "replace") if isinstance(body, bytes) else body).find(token)
    return max(at, 0)


class _StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_json_loads(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is parsed by :func:`strict_json_loads` (FastAPI answers its errors as ``json_invalid``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(_StrictJSONRequest(request.scope, request.receive))

        return strict


class BodySizeLimit:
    """Refuse request bodies larger than ``max_bytes`` with a 413 JSON error."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: str) -> None:
        resp = error_response(413, "too_large", f"request body of {size} exceeds the limit of {self.max_bytes} bytes")
        await resp(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length > self.max_bytes:
                await self._refuse(scope, receive, send, f"{length} bytes")
                return
            if length >= 0:
                await self.app(scope, self._counting(receive), send)
                return
        # No (valid) length declared: buffer up to the limit, then replay to the app.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            body = msg.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, f"more than {self.max_bytes} bytes")
                return
            chunks.append(body)
            more = msg.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _counting(self, receive: Receive) -> Receive:
        # A client that declares a small length and sends more is cut off at the limit.
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    return {"type": "http.disconnect"}
            return msg

        return counted


class KeyLimiter:
    """At most ``limit`` requests in flight per key; the next one is refused with 429."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_flight: dict[str, int] = {}

    def in_flight(self, key: str) -> int:
        """Requests of ``key`` now running."""
        return self._in_flight.get(key, 0)

    def acquire(self, key: str) -> None:
        """Count one more request of ``key`` or raise 429."""
        if self._in_flight.get(key, 0) >= self.limit:
            raise HTTPProblem(429, f"too many concurrent requests for this key (limit {self.limit}); retry shortly "
                                   "or submit long batches as a job (POST /v1/jobs)", headers={"Retry-After": "1"})
        self._in_flight[key] = self._in_flight.get(key, 0) + 1

    def release(self, key: str) -> None:
        """Count one request of ``key`` as finished."""
        n = self._in_flight.get(key, 0) - 1
        if n <= 0:
            self._in_flight.pop(key, None)
        else:
            self._in_flight[key] = n


async def within(work: Awaitable[T], timeout_s: float, what: str = "request") -> T:
    """Await ``work`` or raise 504 naming the limit (the work is cancelled)."""
    try:
        return await asyncio.wait_for(work, timeout_s)
    except TimeoutError:
        raise HTTPProblem(504, f"{what} did not finish within {timeout_s:g}s; send fewer items or submit a job "
                               "(POST /v1/jobs) and poll it") from None


