"""The wrapper every backend call goes through: call cache, timeout, bounded retries with backoff, concurrency limit.

Retries use exponential backoff with full jitter (``uniform(0, base * 2**attempt)``, capped) and honour a
server's Retry-After when it asks for longer. Only failures the backend classifies as retryable (timeouts,
connection errors, 429, 5xx) are retried; a 400 fails at once. After the last attempt the failure is raised as
:class:`~critica.errors.BackendError` / :class:`~critica.errors.BackendUnavailable` with a one-line reason.

With a :class:`~critica.backends.cache.CallCache` attached, a request already answered (same model, messages,
sampling parameters, seed and sample index) is replayed from the cache without any backend call; hits and misses
are counted in ``Caller.cache_stats``. ``Caller.usage`` counts only tokens actually spent. A replayed completion
comes back marked: ``cached=True``, ``latency_s`` of the original call, and its usage counted as replayed
(:meth:`~critica.types.Usage.as_replayed`), so critiques built from it say they were not made now.

This wrapper is where backend text enters critica, so it is where keys are taken out of it. A backend may list the
secrets it was configured with in a ``secrets`` attribute (the OpenAI-compatible backend lists its API key); a
caller may be given more (the server passes its client keys). Each is replaced by ``[redacted]`` in every error this
wrapper raises and in every completion's texts and reasoning — before it is cached, so a model that repeats a key
puts it neither in a critique nor in the call cache.

Every answered call (replayed ones included) is also added to the open transcript, if any
(:mod:`critica.backends.transcript`), so a stored critique keeps the prompt and the exchange behind it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field

from critica.backends.base import Backend, Completion, GenerateRequest, ImagesNotAccepted, image_count
from critica.backends.cache import CacheStats, CallCache, cache_key
from critica.backends.transcript import record
from critica.errors import BackendError, BackendUnavailable, CriticaError, ImagesUnsupported
from critica.redact import Redactor
from critica.timeouts import FixedTimeouts
from critica.types import Usage

__all__ = ["CallPolicy", "Caller", "HANDOFF"]

HANDOFF: ContextVar[Callable[[], bool] | None] = ContextVar("critica_call_handoff", default=None)
"""Set in a context (and so in the tasks started from it), ``release()`` is called each time a backend call
returns, before its reply is used; it returns whether it freed something another task waits for. The runner sets
the release of an item's slot: the next item sends its request while this one's reply is still to be parsed
(:func:`critica.run.runner.critique_stream`)."""


@dataclass(frozen=True)
class CallPolicy:
    """Limits applied to every call."""

    timeout_s: float = 120.0
    """Wall-clock limit of one attempt."""
    retries: int = 3
    """Retries after the first attempt (so at most ``retries + 1`` attempts)."""
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    concurrency: int = 4
    """Maximum calls in flight at once."""


@dataclass
class Caller:
    """Calls one backend under a :class:`CallPolicy`; accumulates usage across calls."""

    backend: Backend
    policy: CallPolicy = field(default_factory=CallPolicy)
    usage: Usage = field(default_factory=Usage)
    cache: CallCache | None = None
    """Where completed calls are kept and replayed from; None disables caching."""
    cache_stats: CacheStats = field(default_factory=CacheStats)
    """Cache hits and misses of this caller."""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Secrets to redact besides the backend's own ``secrets`` (the server passes its client keys)."""
    _redactor: Redactor = field(default_factory=Redactor, init=False, repr=False)
    _sem: asyncio.Semaphore | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _rng: random.Random = field(default_factory=lambda: random.Random(0), init=False, repr=False)
    _timeouts: FixedTimeouts | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._redactor = Redactor([*getattr(self.backend, "secrets", ()), *self.secrets])

    @property
    def name(self) -> str:
        return self.backend.name

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._sem is None or self._loop is not loop:
            self._loop = loop
            self._sem = asyncio.Semaphore(max(1, self.policy.concurrency))
        return self._sem

    async def generate(self, request: GenerateRequest, *, sample: int = 0) -> Completion:
        """Run ``request`` with timeout, retries and the concurrency limit, or replay it from the cache.

        Args:
            request: What to generate.
            sample: Index of this call among repeated calls of the same request (k-sample voting passes 0..k-1),
                part of the cache key so k samples stay k distinct answers.

        Raises:
            ImagesUnsupported: the request carries images and the backend says it cannot take them
                (``accepts_images`` false), or the server refused them. Never retried.
        """
        images = image_count(request.messages)
        if images and not getattr(self.backend, "accepts_images", False):
            raise ImagesUnsupported(
                f"backend {self.backend.name} cannot take image inputs (the item has {images} image"
                f"{'s' if images > 1 else ''}); use a vision-language model over an OpenAI-compatible server "
                "(--model openai:<model> --base-url ...)")
        if self.cache is None:
            completion = await self._generate(request)
            record(request, completion, sample)
            return completion
        key = cache_key(self.backend.name, request, sample)
        entry = self.cache.get(key)
        if entry is not None:
            hit, latency_s = entry
            self.cache_stats.hits += 1
            self.cache_stats.saved = self.cache_stats.saved + hit.usage
            replayed = dataclasses.replace(hit, cached=True, usage=hit.usage.as_replayed(), latency_s=latency_s)
            record(request, replayed, sample)
            return replayed
        self.cache_stats.misses += 1
        start = time.perf_counter()
        completion = await self._generate(request)
        self.cache.put(key, self.backend.name, request, completion, time.perf_counter() - start)
        record(request, completion, sample)
        return completion

    async def _generate(self, request: GenerateRequest) -> Completion:
        attempts = self.policy.retries + 1
        last: BaseException | None = None
        for attempt in range(attempts):
            try:
                sem = self._semaphore()
                # One timer for all this caller's calls (critica.timeouts), not one per call; and not wait_for: the
                # call runs in this task rather than a new one per call.
                async with sem:
                    with self._timeout_scope():
                        completion = await self.backend.generate(request)
                    contended = sem.locked()
                self.usage = self.usage + completion.usage
                release = HANDOFF.get()
                if (release is not None and release()) or contended:
                    # Others wait for what this call just freed (its call slot, the runner's item slot). Woken,
                    # they run in the loop's next round; two yields put this reply's parsing after their requests
                    # have been sent. Without them a burst of replies is all parsed before the next request leaves
                    # (at 256 in flight the server then sat idle for tens of milliseconds per burst).
                    await asyncio.sleep(0)
                    await asyncio.sleep(0)
                return self._redacted(completion)
            except TimeoutError as e:
                last = e
                decision_retry, after, unavailable, status = True, None, True, None
            except CriticaError:
                raise
            except ImagesNotAccepted as e:
                raise ImagesUnsupported(self._redactor.text(f"backend {self.backend.name}: {e}"), status=e.status) from None
            except Exception as e:  # noqa: BLE001 — classified by the backend below
                last = e
                d = self.backend.retry_decision(e)
                decision_retry, after, unavailable, status = d.retry, d.after_s, d.unavailable, d.status
            if not decision_retry or attempt == attempts - 1:
                raise self._final_error(last, unavailable, status, attempt + 1) from None
            delay = self._rng.uniform(0, min(self.policy.backoff_max_s, self.policy.backoff_base_s * 2**attempt))
            if after is not None:
                delay = max(delay, min(after, self.policy.backoff_max_s))
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _timeout_scope(self) -> AbstractContextManager[object]:
        seconds = self.policy.timeout_s
        if seconds is None:
            return nullcontext()
        timeouts = self._timeouts
        if timeouts is None or timeouts.seconds != seconds:  # the policy may be replaced between calls
            timeouts = self._timeouts = FixedTimeouts(seconds)
        return timeouts.scope()

    def _redacted(self, c: Completion) -> Completion:
        """``c`` with the secrets replaced in its texts and reasoning (``c`` itself when it holds none)."""
        if not self._redactor:
            return c
        texts = [self._redactor.text(t) for t in c.texts]
        reasoning = [r if r is None else self._redactor.text(r) for r in c.reasoning]
        if texts == c.texts and reasoning == c.reasoning:
            return c
        return dataclasses.replace(c, texts=texts, reasoning=reasoning)

    def _final_error(self, exc: BaseException | None, unavailable: bool, status: int | None, attempts: int) -> BackendError:
        if isinstance(exc, asyncio.TimeoutError):
            reason = f"no answer within {self.policy.timeout_s:g}s"
        else:
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
        msg = f"backend {self.backend.name}: {reason} (after {attempts} attempt{'s' if attempts > 1 else ''})"
        body = getattr(exc, "body", None)
        cls = BackendUnavailable if unavailable else BackendError
        # A server's error body may quote the key it was sent (OpenAI's 401 does): no secret reaches the message
        # that becomes a critique's error, a log line or an HTTP answer.
        redact = self._redactor.text
        return cls(redact(msg), status=status, body=redact(str(body)) if body is not None else None)

    async def aclose(self) -> None:
        await self.backend.aclose()
