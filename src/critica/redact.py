"""Keeping keys out of everything critica writes: critiques, stored runs, logs, HTTP answers.

A key can leak without anyone printing it: an OpenAI-compatible server's 401 body echoes the key it was sent, an
exception message quotes a URL or header, code under test reads another process's command line, a model repeats
what it saw. :class:`Redactor` holds the secrets a process was configured with (the backend key, the server's
client keys) and replaces each occurrence with ``[redacted]`` where backend text enters critica — the Caller, on
every completion (before the call cache stores it) and every backend failure it turns into an error message — and
again, as a second line, where text leaves it: the sinks writing critiques (JSONL, the store), the server's answers
and its log handlers. Secrets shorter than :data:`MIN_SECRET_LEN` are not redacted: replacing a short word everywhere
would corrupt critiques, and a key that short protects nothing anyway.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from critica.types import Critique

__all__ = ["Redactor", "RedactingSink", "MASK", "MIN_SECRET_LEN"]

MASK = "[redacted]"
MIN_SECRET_LEN = 6


class Redactor:
    """Replaces configured secrets in text, critiques and JSON-like values."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        found = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LEN}
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets: tuple[str, ...] = tuple(sorted(found, key=len, reverse=True))
        # How a secret can look inside JSON text (escaped quotes or backslashes, \u escapes), for a quick check.
        self._json_forms = {f for s in self.secrets for f in (s, json.dumps(s)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1])}

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def __repr__(self) -> str:
        return f"Redactor({len(self.secrets)} secret(s))"

    def text(self, s: str) -> str:
        """``s`` with every secret replaced by :data:`MASK`."""
        for secret in self.secrets:
            if secret in s:
                s = s.replace(secret, MASK)
        return s

    def carries(self, json_text: str) -> bool:
        """Whether JSON text holds a secret anywhere (in any string, escaped or not)."""
        return any(f in json_text for f in self._json_forms)

    def _walk(self, v: Any) -> Any:
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, dict):
            return {self._walk(k): self._walk(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [self._walk(x) for x in v]
        return v

    def critique(self, c: Critique) -> Critique:
        """``c`` unchanged when it carries no secret, else a copy with each one replaced, wherever it was."""
        if not self.secrets or not self.carries(c.model_dump_json()):
            return c
        return Critique.model_validate(self._walk(c.model_dump(mode="json")))

    def json(self, text: str) -> str:
        """JSON text unchanged when it carries no secret, else the same document with each one replaced."""
        if not self.secrets or not self.carries(text):
            return text
        return json.dumps(self._walk(json.loads(text)), ensure_ascii=False)

    def value(self, v: Any) -> Any:
        """A JSON-like value (dicts, lists, strings, numbers) with the secrets replaced in every string."""
        if not self.secrets or not self.carries(json.dumps(v, default=str)):
            return v
        return self._walk(v)


class RedactingSink:
    """A runner sink that passes every critique through a :class:`Redactor` before the wrapped sink stores it."""

    def __init__(self, sink: Any, redactor: Redactor) -> None:
        self._sink = sink
        self._redactor = redactor

    def write(self, critique: Critique) -> None:
        self._sink.write(self._redactor.critique(critique))

    def __getattr__(self, name: str) -> Any:  # error, remember, done … go to the wrapped sink unchanged
        return getattr(self._sink, name)
