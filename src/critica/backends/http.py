"""A lean JSON-over-HTTP client for OpenAI-compatible servers, on aiohttp.

Why not the openai SDK: its httpx stack costs ~2.5 ms of CPU per request against ~0.2 ms for aiohttp (request and
response objects, pydantic models), and on a busy machine that CPU is what delays the next request. This module
posts a JSON body and returns the decoded JSON answer, nothing more; :mod:`critica.backends.openai_compat` builds the
request and reads the answer.

* One :class:`aiohttp.ClientSession` per event loop, made on first use inside that loop. A backend outlives loops
  (the Ray path runs each chunk in its own ``asyncio.run``; the server and tests run their own), and an aiohttp
  session belongs to the loop it was made in. A session is closed by :meth:`JSONClient.aclose`, or when its loop
  shuts down (``asyncio.run`` closes async generators, and each session is tied to one).
* Keep-alive connections with no connection cap of their own: the Caller's concurrency limit is the cap.
* Proxies from the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``, as aiohttp's ``trust_env`` reads
  them, once per session rather than per request), TLS verified against the system's certificates and
  certifi's (what the SDK used), a total timeout per request.
* A body is read up to :data:`MAX_BODY_BYTES`; past that the request fails with :class:`ResponseTooLarge` (a
  hostile or broken server answering without end cannot exhaust memory).

Failures are raised with the openai SDK's names and messages, so errors read as before (``APIConnectionError:
Connection error.``, ``RateLimitError: Error code: 429 - slow down``): :class:`APIConnectionError`,
:class:`APITimeoutError`, :class:`APIStatusError` (one subclass per status family), plus :class:`ResponseTooLarge`
and :class:`InvalidResponse` for answers that cannot be read.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Mapping
from typing import Any

from critica import jsonio

__all__ = ["JSONClient", "APIError", "APIConnectionError", "APITimeoutError", "APIStatusError", "ResponseTooLarge",
           "InvalidResponse", "MAX_BODY_BYTES"]

MAX_BODY_BYTES = 32 * 1024 * 1024
"""Largest answer body read (32 MiB): a chat completion with logprobs is kilobytes; more is a broken server."""


class APIError(Exception):
    """A request that did not produce a usable answer."""


class APIConnectionError(APIError):
    """The server could not be reached, or the connection broke before the answer was read."""

    def __init__(self, message: str = "Connection error.") -> None:
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """No complete answer within the timeout."""

    def __init__(self, message: str = "Request timed out.") -> None:
        super().__init__(message)


class APIStatusError(APIError):
    """The server answered with an HTTP error status.

    Attributes:
        status_code: The HTTP status.
        text: The answer's body as text (at most :data:`MAX_BODY_BYTES`).
        body: The decoded JSON body's ``error`` member (or the whole body; the text when it is not JSON).
        headers: The answer's headers (``retry-after`` is read from them).
    """

    def __init__(self, message: str, *, status_code: int, text: str, body: Any, headers: Mapping[str, str]) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.text = text
        self.body = body
        self.headers = headers


# The SDK's names, so that an error reads the same over either transport.
class BadRequestError(APIStatusError): ...
class AuthenticationError(APIStatusError): ...
class PermissionDeniedError(APIStatusError): ...
class NotFoundError(APIStatusError): ...
class ConflictError(APIStatusError): ...
class UnprocessableEntityError(APIStatusError): ...
class RateLimitError(APIStatusError): ...
class InternalServerError(APIStatusError): ...


_BY_STATUS: dict[int, type[APIStatusError]] = {400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
                                               404: NotFoundError, 409: ConflictError, 422: UnprocessableEntityError,
                                               429: RateLimitError}


class ResponseTooLarge(APIError):
    """The answer's body is larger than the limit; it was not read further."""


class InvalidResponse(APIError):
    """The answer is not what an OpenAI-compatible server sends (not JSON, no choices …)."""


def status_error(status: int, raw: bytes, headers: Mapping[str, str]) -> APIStatusError:
    """The error for an HTTP error answer, worded as the openai SDK words it."""
    text = raw.decode("utf-8", "replace")
    message = f"Error code: {status}"
    body: Any = text
    try:
        body = json.loads(text)
    except ValueError:
        pass
    else:
        error = body.get("error", body) if isinstance(body, dict) else None
        detail = error.get("message") if isinstance(error, dict) else None
        if isinstance(detail, str) and detail:
            message += f" - {detail}"
        body = error if error is not None else body
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    return cls(message, status_code=status, text=text, body=body, headers=headers)


class JSONClient:
    """POSTs JSON to one server and returns its decoded JSON answer.

    Args:
        base_url: The server's base URL (``http://127.0.0.1:8000/v1``); paths are appended to it.
        headers: Headers sent with every request (the key's ``Authorization``).
        timeout_s: Total time for one request: connecting, sending and reading the whole answer.
        max_body_bytes: Largest answer body read.
    """

    def __init__(self, base_url: str, *, headers: Mapping[str, str] | None = None, timeout_s: float = 120.0,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self._lock = threading.Lock()
        self._sessions: dict[asyncio.AbstractEventLoop, tuple[Any, AsyncIterator[None]]] = {}
        # The session of the loop used last, read without the lock: one tuple, replaced whole.
        self._last: tuple[asyncio.AbstractEventLoop, Any] | None = None
        self._proxy: tuple[Any, Any] = (None, None)

    async def post(self, path: str, payload: Any) -> Any:
        """POST ``payload`` as JSON to ``base_url + path``; the decoded JSON answer.

        Raises:
            APIStatusError: an HTTP error status (the body is read, up to the limit, for the message).
            APIConnectionError / APITimeoutError: no connection, a broken one, or no whole answer in time.
            ResponseTooLarge: a body over ``max_body_bytes``.
            InvalidResponse: a 2xx answer whose body is not JSON.
        """
        import aiohttp

        session = await self._session()
        data = jsonio.dumps(payload)
        try:
            async with session.post(self.base_url + path, data=data, proxy=self._proxy[0],
                                    proxy_auth=self._proxy[1]) as resp:
                raw = await self._read(resp)
                status = resp.status
                if status >= 400:
                    raise status_error(status, raw, resp.headers)
        except TimeoutError:  # aiohttp's ServerTimeoutError and ConnectionTimeoutError are TimeoutErrors too
            raise APITimeoutError() from None
        except aiohttp.ClientError as e:
            # Unreachable, refused, reset, a malformed HTTP answer, a body cut short: the SDK's "Connection error."
            raise APIConnectionError(f"Connection error. ({type(e).__name__}: {e})" if str(e) else
                                     "Connection error.") from None
        try:
            return jsonio.loads(raw)
        except ValueError:  # UnicodeDecodeError included
            preview = " ".join(raw[:200].decode("utf-8", "replace").split())
            raise InvalidResponse(f"the server's answer (HTTP {status}) is not JSON: {preview!r}") from None

    async def _read(self, resp: Any) -> bytes:
        cap = self.max_body_bytes
        length = resp.content_length
        if length is not None and length > cap:
            raise ResponseTooLarge(f"the server's answer is {length:,} bytes, over the {cap:,}-byte limit")
        if length is not None and "Content-Encoding" not in resp.headers:
            return await resp.read()  # the common case: a small, plain body of known length, read at once
        chunks, size = [], 0
        while chunk := await resp.content.readany():
            size += len(chunk)
            if size > cap:
                raise ResponseTooLarge(f"the server's answer is over the {cap:,}-byte limit; it was not read further")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _session(self) -> Any:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0] is loop:
            return last[1]
        with self._lock:
            held = self._sessions.get(loop)
            stale = [k for k in self._sessions if k.is_closed()]
            dead = [self._sessions.pop(k) for k in stale]
        for session, _ in dead:
            _forget(session)
        if held is None or held[0].closed:
            session = self._new_session()
            guard = _close_with_loop(session)
            # The loop now tracks the guard: when it shuts down (asyncio.run does), the guard closes the session.
            await guard.__anext__()
            held = (session, guard)
            with self._lock:
                self._sessions[loop] = held
        self._last = (loop, held[0])
        return held[0]

    def _new_session(self) -> Any:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=0, ssl=_ssl_context() if self.base_url.startswith("https:") else True)
        # Proxies from the environment (HTTP(S)_PROXY, NO_PROXY), found once here: aiohttp's trust_env would look
        # them up (and read ~/.netrc) in a worker thread on every request, two thread hops that cost more CPU than
        # the request itself. The key is always sent as a header, so netrc credentials would never apply.
        self._proxy = _env_proxy(self.base_url)
        return aiohttp.ClientSession(connector=connector, headers={"Content-Type": "application/json", **self.headers},
                                     timeout=aiohttp.ClientTimeout(total=self.timeout_s))

    async def aclose(self) -> None:
        """Close the sessions: this loop's now; those of other running loops from within them; forget the rest."""
        loop = asyncio.get_running_loop()
        with self._lock:
            held, self._sessions, self._last = dict(self._sessions), {}, None
        for owner, (session, guard) in held.items():
            if owner is loop:
                await guard.aclose()
            elif not owner.is_closed() and owner.is_running():
                asyncio.run_coroutine_threadsafe(guard.aclose(), owner)
            else:
                _forget(session)


async def _close_with_loop(session: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await session.close()


def _forget(session: Any) -> None:
    """Mark a session of a loop that is gone closed, without the warnings an unclosed one prints when collected."""
    connector = session.connector
    if connector is None or connector.closed:
        return
    # Its loop is closed: there is nothing left to wait for, so the close awaitable finishes on its first step.
    step = connector.close().__await__()
    try:
        step.send(None)
    except StopIteration:
        pass


def _env_proxy(url: str) -> tuple[Any, Any]:
    """The proxy (and its credentials) the environment names for ``url``, as aiohttp's ``trust_env`` finds it."""
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    try:
        return get_env_proxy_for_url(URL(url))
    except LookupError:  # none, or NO_PROXY covers the host
        return None, None


_SSL: Any = None


def _ssl_context() -> Any:
    """TLS with verification against the system's certificates and certifi's (what the openai SDK trusted)."""
    global _SSL
    if _SSL is None:
        import ssl

        ctx = ssl.create_default_context()
        try:
            import certifi

            ctx.load_verify_locations(certifi.where())
        except (ImportError, OSError):
            pass
        _SSL = ctx
    return _SSL
