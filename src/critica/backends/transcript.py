"""The transcript of a critique: every model call made for one item — the messages sent, the sampling settings and
what came back — bounded in size, kept with the critique (``Critique.metadata["transcript"]``) so that the web UI can
show the prompt and the whole exchange, as inspect's log viewer does, and not only the raw output.

Capture is scoped by a context variable: :func:`capture` opens a recorder for one item (the runner does, around each
critique), and :class:`~critica.backends.call.Caller` adds each call to the open recorder, if any. Tasks started
inside the scope (k samples, panel members) copy the context and so add to the same recorder. Outside a scope
nothing is recorded and nothing is kept.

A call whose messages repeat an earlier call's (k samples of one prompt) keeps ``messages_as_call: i`` (the index
of that call) instead of a copy. A replayed call (the call cache) records the same as the original, so a replayed critique is the original one
(its ``usage`` says it was replayed). Bounds keep a store from growing with long prompts: at most :data:`MAX_CALLS` calls per critique and
:data:`MAX_CHARS` characters per message or reply (cut with a marker saying how much was left out). Replies are
taken after the caller has redacted secrets from them.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from critica.backends.base import Completion, GenerateRequest

__all__ = ["MAX_CALLS", "MAX_CHARS", "Transcript", "capture", "record"]

MAX_CALLS = 16
MAX_CHARS = 8000


def _cut(text: Any) -> Any:
    if not isinstance(text, str) or len(text) <= MAX_CHARS:
        return text
    return text[:MAX_CHARS] + f"\n[… {len(text) - MAX_CHARS} more characters not kept]"


def _content(content: Any) -> Any:
    """A message's content as kept: text cut to size; in multi-part content (text and images), image data cut to a
    stub so a data URL never fills the store."""
    if isinstance(content, str):
        return _cut(content)
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append({**part, "text": _cut(part["text"])})
            elif isinstance(part, dict):
                parts.append({k: (v[:120] + "…" if isinstance(v, str) and len(v) > 120 else
                                  {kk: (vv[:120] + "…" if isinstance(vv, str) and len(vv) > 120 else vv)
                                   for kk, vv in v.items()} if isinstance(v, dict) else v)
                              for k, v in part.items()})
            else:
                parts.append(_cut(str(part)))
        return parts
    return _cut(str(content))


class Transcript:
    """The calls recorded so far in one :func:`capture` scope."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.dropped = 0
        """Calls beyond :data:`MAX_CALLS`, counted but not kept."""

    def add(self, request: GenerateRequest, completion: Completion, sample: int = 0) -> None:
        if len(self.calls) >= MAX_CALLS:
            self.dropped += 1
            return
        # (plain loops and literals: this runs for every call, on the event loop that dispatches the next one)
        sampling: dict[str, Any] = {}
        for key, value in (("temperature", request.temperature), ("top_p", request.top_p),
                           ("max_tokens", request.max_tokens), ("seed", request.seed), ("n", request.n)):
            if value is not None:
                sampling[key] = value
        messages = [{"role": str(m.get("role", "")), "content": _content(m.get("content", ""))} for m in request.messages]
        call: dict[str, Any] = {"messages": messages}
        # k samples of one prompt send the same messages k times: keep them once
        for i, earlier in enumerate(self.calls):
            if earlier.get("messages") == messages:
                call = {"messages_as_call": i}
                break
        call["outputs"] = [_cut(t) for t in completion.texts]
        call["sampling"] = sampling
        call["sample"] = sample
        call["model"] = completion.model
        call["structured"] = request.json_schema is not None
        reasoning = [_cut(r) for r in completion.reasoning if r]
        if reasoning:
            call["reasoning"] = reasoning
        self.calls.append(call)

    def as_metadata(self) -> list[dict[str, Any]]:
        """The calls as stored; a last entry ``{"dropped": n}`` says how many were not kept."""
        return self.calls + ([{"dropped": self.dropped}] if self.dropped else [])


_CURRENT: ContextVar[Transcript | None] = ContextVar("critica_transcript", default=None)


class capture:  # noqa: N801 - used as a function: ``with capture() as transcript:``
    """Record the calls made inside this scope (in this task and the tasks it starts)."""

    # A class rather than @contextmanager: the runner opens one per item (see critica.budget.deadline_scope).
    __slots__ = ("_token",)

    def __enter__(self) -> Transcript:
        transcript = Transcript()
        self._token = _CURRENT.set(transcript)
        return transcript

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._token)


def record(request: GenerateRequest, completion: Completion, sample: int = 0) -> None:
    """Add a call to the open :func:`capture` scope, if any (the caller calls this for every answered call)."""
    transcript = _CURRENT.get()
    if transcript is not None:
        transcript.add(request, completion, sample)
