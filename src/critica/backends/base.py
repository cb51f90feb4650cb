"""The backend interface: messages in; n completions, token usage and optional logprobs out.

A backend knows nothing about critiques. It translates a :class:`GenerateRequest` for one provider and classifies
its own exceptions with :meth:`Backend.retry_decision`. Timeouts, bounded retries, the concurrency limit and usage
accounting live once, in :class:`critica.backends.call.CallPolicy`, which every call passes through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from critica.types import Usage

__all__ = ["Message", "GenerateRequest", "Completion", "RetryDecision", "Backend", "CONTROL_TOKENS", "plain_content",
           "ImagesNotAccepted", "image_count", "text_of"]

Message = dict[str, Any]
"""An OpenAI-style chat message: ``{"role": "system"|"user"|"assistant", "content": ...}``. ``content`` is a string,
or, for an item with images, OpenAI's list of content parts: ``{"type": "text", "text": ...}`` and
``{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}`` (what vLLM, llama.cpp's server and
hosted APIs accept)."""


def text_of(content: Any) -> str:
    """The text of a message's ``content``: the string itself, or its text parts joined (image parts left out)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def image_count(messages: list[Message]) -> int:
    """How many image parts ``messages`` carry."""
    return sum(1 for m in messages if isinstance(m.get("content"), list)
               for p in m["content"] if isinstance(p, dict) and p.get("type") == "image_url")


class ImagesNotAccepted(Exception):
    """The backend, or the server behind it, cannot take the request's images. Never retried: the item becomes
    ``unscored`` with this reason rather than being judged without its images."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

CONTROL_TOKENS = r"<\|[^<>|\n]{1,64}\|>|<{1,2}/?(?:s|SYS|start_of_turn|end_of_turn)>{1,2}"
"""Spellings of chat-template control tokens: ``<|im_start|>``, ``<|eot_id|>``, ``<|start_header_id|>``, ``</s>``,
``<<SYS>>``, ``<start_of_turn>`` … A tokenizer that parses special tokens in the rendered prompt turns them into
real control tokens. :mod:`critica.critics.markup` builds its patterns from this one."""
_CONTROL = re.compile(CONTROL_TOKENS)


def plain_content(text: str) -> str:
    """``text`` with chat-template control-token spellings (:data:`CONTROL_TOKENS`) written with ‹ › instead of
    < >, so that tokenizing the rendered prompt cannot turn them into control tokens."""
    return _CONTROL.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text) if "<" in text else text


@dataclass(frozen=True)
class GenerateRequest:
    """One generation request."""

    messages: list[Message]
    n: int = 1
    """Number of completions to sample for this prompt."""
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    json_schema: dict[str, Any] | None = None
    """When set, ask for output constrained to this JSON schema (where the backend supports it)."""
    schema_name: str = "critique"
    logprobs: bool = False
    stop: tuple[str, ...] = ()


@dataclass
class Completion:
    """What a backend returns for one request."""

    texts: list[str]
    """One text per sampled completion (``len(texts) == request.n``)."""
    usage: Usage = field(default_factory=Usage)
    logprobs: list[list[tuple[str, float]]] | None = None
    """Per completion, the (token, logprob) pairs, when requested and supported."""
    model: str | None = None
    finish_reasons: list[str | None] = field(default_factory=list)
    reasoning: list[str | None] = field(default_factory=list)
    """Reasoning text returned separately by reasoning models (``reasoning_content``), per completion."""
    cached: bool = False
    """True when :class:`~critica.backends.call.Caller` replayed this completion from the call cache (no backend
    call was made; ``usage`` is then marked replayed, see :class:`~critica.types.Usage`)."""
    latency_s: float | None = None
    """For a replayed completion, the wall time the original call took (retries included); None otherwise."""


@dataclass(frozen=True)
class RetryDecision:
    """A backend's classification of an exception."""

    retry: bool
    after_s: float | None = None
    """Server-requested delay (Retry-After), if any."""
    unavailable: bool = False
    """True when the server could not be reached or timed out (reported as BackendUnavailable)."""
    status: int | None = None


@runtime_checkable
class Backend(Protocol):
    """A text-generation backend."""

    name: str
    """Spec string identifying the model, e.g. ``local:smollm2``."""

    async def generate(self, request: GenerateRequest) -> Completion:
        """Produce ``request.n`` completions for ``request.messages``."""
        ...

    def retry_decision(self, exc: BaseException) -> RetryDecision:
        """Classify an exception raised by :meth:`generate`."""
        ...

    async def aclose(self) -> None:
        """Release resources (connections, model memory)."""
        ...
