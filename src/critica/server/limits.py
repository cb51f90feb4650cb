"""Request limits: body size (ASGI middleware), strict JSON, per-key concurrency, and a wall-clock timeout per request.

The body limit acts before the app reads anything: a declared ``Content-Length`` over the limit is answered 413 at
once, and a chunked body is read only up to the limit. The per-key limit answers 429 immediately rather than
queueing, because a queued HTTP request holds a connection and still times out on the client side.

Bodies are parsed as strict JSON (:class:`StrictJSONRoute`) by the input reader's decoder
(:func:`critica.inputs.records.strict_loads`): ``NaN``, ``Infinity``, numbers that overflow to infinity (``1e400``),
integers over 4300 digits, lone surrogates, duplicate keys and nesting deeper than :data:`MAX_JSON_DEPTH` are a 400
``malformed_json`` answer, because Python's ``json`` would accept most of them and a value that cannot be written
back as JSON (or a structure too deep to walk) would otherwise fail somewhere far from the request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from critica.inputs.records import ReadLimits, Unreadable, strict_loads
from critica.server.errors import HTTPProblem, error_response

__all__ = ["BodySizeLimit", "KeyLimiter", "within", "StrictJSONRoute", "strict_json_loads", "MAX_JSON_DEPTH"]

T = TypeVar("T")

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a request body may have (items and options need a handful)."""

_BODY_LIMITS = ReadLimits(max_depth=MAX_JSON_DEPTH)


def strict_json_loads(body: bytes | str) -> Any:
    """The body as JSON, refused where JSON (RFC 8259) or this server cannot carry it; raises JSONDecodeError."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    try:
        return strict_loads(raw, _BODY_LIMITS)
    except Unreadable as e:  # FastAPI answers a JSONDecodeError as json_invalid, which is our 400 malformed_json
        raise json.JSONDecodeError(e.reason.removeprefix("invalid JSON: "), "", e.pos or 0) from None


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


