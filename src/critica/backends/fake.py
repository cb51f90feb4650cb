"""A scripted backend for tests, demos, docs and stub benchmarks (never selected by a model string).

Replies come from a list (consumed in order, cycling if ``cycle=True``) or a function of the request and the
sample index. A reply that is an exception instance is raised instead, to script failures. Every request is
recorded in ``requests`` so tests can count calls and inspect prompts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from critica.backends.base import Completion, GenerateRequest, RetryDecision, text_of
from critica.types import Usage

__all__ = ["ScriptedBackend", "ScriptedError"]

Reply = str | BaseException


class ScriptedError(Exception):
    """A scripted failure; ``retryable`` decides whether the call policy retries it."""

    def __init__(self, message: str = "scripted failure", *, retryable: bool = True, status: int | None = 500,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class ScriptedBackend:
    """Returns scripted replies; counts tokens as whitespace-separated words."""

    def __init__(
        self,
        replies: Sequence[Reply] | Callable[[GenerateRequest, int], Reply] = ("",),
        *,
        name: str = "scripted",
        cycle: bool = True,
        delay_s: float = 0.0,
        honours_n: bool = True,
        accepts_images: bool = True,
    ) -> None:
        self.name = name
        self.accepts_images = accepts_images
        """Whether requests with image parts reach the script (False: the Caller refuses them, as for a text model)."""
        self._replies = replies
        self._cycle = cycle
        self._pos = 0
        self.delay_s = delay_s
        self.honours_n = honours_n
        self.requests: list[GenerateRequest] = []
        self.calls = 0

    def _next(self, request: GenerateRequest, index: int) -> Reply:
        if callable(self._replies):
            return self._replies(request, index)
        if self._pos >= len(self._replies):
            if not self._cycle:
                raise IndexError("scripted backend ran out of replies")
            self._pos = 0
        reply = self._replies[self._pos]
        self._pos += 1
        return reply

    async def generate(self, request: GenerateRequest) -> Completion:
        self.calls += 1
        self.requests.append(request)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        n = request.n if self.honours_n else 1
        texts = []
        for i in range(n):
            reply = self._next(request, i)
            if isinstance(reply, BaseException):
                raise reply
            texts.append(reply)
        prompt_tokens = sum(len(text_of(m.get("content", "")).split()) for m in request.messages)
        usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=sum(len(t.split()) for t in texts), calls=1)
        return Completion(texts, usage, None, self.name, ["stop"] * n, [None] * n)

    def retry_decision(self, exc: BaseException) -> RetryDecision:
        if isinstance(exc, ScriptedError):
            return RetryDecision(retry=exc.retryable, after_s=exc.retry_after, status=exc.status)
        return RetryDecision(retry=False)

    async def aclose(self) -> None:
        return None
