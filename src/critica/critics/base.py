"""The Critic protocol, and the shared machinery of LLM critics.

A critic turns an :class:`~critica.types.Item` into a :class:`~critica.types.Critique`. It never raises for a
per-item problem: a backend failure or an unparseable reply becomes an ``unscored`` critique carrying the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from critica.backends.base import Completion, GenerateRequest, Message
from critica.backends.call import Caller
from critica.errors import BackendError, ImagesUnsupported
from critica.types import Critique, Item, ParseStatus, SamplingParams, Usage, Verdict

__all__ = ["Critic", "LLMCritic", "unscored", "call_latency", "failure_reason"]


@runtime_checkable
class Critic(Protocol):
    """Anything that critiques an item."""

    name: str

    async def critique(self, item: Item) -> Critique:
        """Judge ``item``; per-item failures are returned as unscored critiques, not raised."""
        ...


def unscored(item: Item, critic: str, *, reason: str, raw: list[str] | None = None, **extra: Any) -> Critique:
    """A critique that carries no verdict, with the reason why.

    A reply that could not be read is kept whole in ``raw_outputs`` only: ``explanation`` says plainly what failed
    (never the raw, possibly cut-off JSON), so a reader of ``explanation`` never mistakes a fragment for a critique.
    """
    failed = extra.pop("parse_status", ParseStatus.FAILED)
    if failed == ParseStatus.FAILED:
        extra["explanation"] = f"Not judged: {reason}."
    return Critique(
        item_id=item.id, critic=critic, verdict=Verdict.UNSCORED, parse_status=failed,
        parse_error=reason if failed == ParseStatus.FAILED else None, raw_outputs=raw or [], **extra,
    )


def failure_reason(e: BackendError) -> str:
    """The ``parse_error`` of a critique a backend failure left unscored."""
    return "images not accepted by the backend" if isinstance(e, ImagesUnsupported) else "backend failure"


def call_latency(completion: Completion, took_s: float) -> float:
    """The seconds a backend call counts for in a critique's latency: ``took_s``, the wall time it took now, or for a
    call replayed from the call cache the original call's wall time (the replay itself takes microseconds).

    The one rule for every critic: a critique's ``latency_s`` is its wall time with each call's time now replaced by
    the time that call counts for, so a cached re-run reports the latency of the run that made the calls.
    """
    return took_s if completion.latency_s is None else completion.latency_s


class LLMCritic:
    """Base of prompt-based critics: build messages, call the backend, parse each sample.

    Subclasses implement :meth:`messages` and :meth:`parse`; ``parse`` receives one raw completion and returns a
    critique (with ``parse_status`` set). With ``n > 1`` the first sample is the critique and all are kept in
    ``samples``; voting over them lives in :mod:`critica.aggregate`.
    """

    name = "llm"
    json_schema: dict[str, Any] | None = None
    tool_context: Callable[[Item], str | None] | None = None
    """Set by the tool-augmented protocol: text (verifier findings) appended to the item's last user message."""

    def __init__(
        self,
        caller: Caller,
        *,
        temperature: float | None = 0.0,
        max_tokens: int | None = 1024,
        seed: int | None = 0,
        structured: bool = True,
    ) -> None:
        self.caller = caller
        self.sampling = SamplingParams(temperature=temperature, max_tokens=max_tokens, seed=seed)
        self.structured = structured

    def messages(self, item: Item) -> list[Message]:  # pragma: no cover - abstract
        raise NotImplementedError

    def parse(self, item: Item, raw: str) -> Critique:  # pragma: no cover - abstract
        raise NotImplementedError

    def augment(self, item: Item, messages: list[Message]) -> list[Message]:
        """``messages`` with :attr:`tool_context` (if any) appended to the last user message, then the item's images
        placed in it (:func:`critica.critics.images.attach_images`)."""
        from critica.critics.images import attach_images

        extra = self.tool_context(item) if self.tool_context is not None else None
        if not extra:
            return attach_images(item, messages)
        out = [dict(m) for m in messages]
        for m in reversed(out):
            if m.get("role") == "user":
                m["content"] = f"{m['content']}\n\n{extra}"
                break
        return attach_images(item, out)

    def request(self, item: Item, *, n: int = 1, seed: int | None = None) -> GenerateRequest:
        return GenerateRequest(
            messages=self.augment(item, self.messages(item)),
            n=n,
            temperature=self.sampling.temperature,
            max_tokens=self.sampling.max_tokens,
            seed=self.sampling.seed if seed is None else seed,
            json_schema=self.json_schema if self.structured else None,
            schema_name=self.name.replace("-", "_"),
        )

    async def sample(self, item: Item, n: int = 1, seed: int | None = None) -> list[Critique]:
        """``n`` independent critiques of ``item`` from one request (the prompt is processed once where possible)."""
        start = time.perf_counter()
        try:
            completion = await self.caller.generate(self.request(item, n=n, seed=seed))
        except BackendError as e:
            crit = unscored(item, self.name, reason=failure_reason(e), error=str(e), model=self.caller.name,
                            latency_s=time.perf_counter() - start)
            out = [crit.model_copy(deep=True) for _ in range(n)]
            out[0].usage = Usage(failed_calls=1)  # one request failed, whatever n it asked for
            return out
        latency = call_latency(completion, time.perf_counter() - start)  # each sample's wall time is the one call
        k = max(1, len(completion.texts))
        # Split the request's usage so that the samples' usages add up exactly to what was spent (and replayed).
        shares = completion.usage.split(k)
        out = []
        for i, text in enumerate(completion.texts):
            crit = self.parse(item, text)
            crit.raw_outputs = [text]
            crit.model = self.caller.name
            crit.sampling = self.sampling.model_copy(update={"n": n, "seed": (self.sampling.seed or 0) + i if seed is None else seed + i})
            crit.latency_s = latency
            crit.usage = shares[i]
            out.append(crit)
        return out

    async def critique(self, item: Item) -> Critique:
        return (await self.sample(item, 1))[0]

