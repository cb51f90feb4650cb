"""The call cache: a completed backend call, keyed on everything that can change its output, is made only once.

The key is a SHA-256 over the backend's name (its model spec), every field of the
:class:`~critica.backends.base.GenerateRequest` (messages, ``n``, temperature, top_p, max_tokens, seed, JSON schema,
logprobs, stop …; new request fields enter the key automatically) and the **sample index**. The sample index is what
keeps k-sample voting honest: k calls of one request that pass indices ``0..k-1`` are k cache entries, so a re-run
replays the same k answers instead of collapsing them into one.

Only successful calls are cached; failures are retried on the next run. A replayed completion is marked
(``Completion.cached``, its usage counted as replayed, the original call's latency kept), so a cached re-run is
never mistaken for fresh work. Entries live in the ``call_cache`` table
of the store's database (``$CRITICA_HOME/critica.db``), which doubles as the per-call record: model, token counts,
latency, when it was made, and how often it was replayed. An image's data URL enters the key in full but is
recorded in the ``request`` column by its SHA-256 (``data:image/png;sha256=…``): the item and its run already hold the
image, and a cached call need not store it again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from critica.backends.base import Completion, GenerateRequest
from critica.types import Usage

__all__ = ["CallCache", "SqliteCache", "CacheStats", "cache_key"]

_KEY_VERSION = 1  # bump when the key layout changes, so old entries are simply never hit


def cache_key(model: str, request: GenerateRequest, sample: int = 0) -> str:
    """The cache key of ``request`` sent to ``model`` as sample number ``sample`` (hex SHA-256)."""
    payload: dict[str, Any] = dataclasses.asdict(request)
    payload["stop"] = list(request.stop)
    payload.update({"_v": _KEY_VERSION, "_model": model, "_sample": sample})
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _compact(message: dict[str, Any]) -> dict[str, Any]:
    """``message`` as the cache records it: each image data URL replaced by its type and SHA-256."""
    content = message.get("content")
    if not isinstance(content, list):
        return message
    parts = []
    for part in content:
        url = part.get("image_url", {}).get("url", "") if isinstance(part, dict) else ""
        if isinstance(url, str) and url.startswith("data:"):
            head = url.partition(",")[0].removesuffix(";base64")
            digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
            part = {**part, "image_url": {**part["image_url"], "url": f"{head};sha256={digest}"}}
        parts.append(part)
    return {**message, "content": parts}


@dataclass
class CacheStats:
    """Hits and misses seen by one :class:`~critica.backends.call.Caller`."""

    hits: int = 0
    """Calls answered from the cache (no backend call made)."""
    misses: int = 0
    """Calls that went to the backend (and were then cached if they succeeded)."""
    saved: Usage = dataclasses.field(default_factory=Usage)
    """Token usage the hits would have cost."""

    @property
    def hit_rate(self) -> float:
        """Share of lookups that hit, 0 when there were none."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class CallCache(Protocol):
    """Where completed calls are kept."""

    def get(self, key: str) -> tuple[Completion, float | None] | None:
        """The completion stored under ``key`` and the original call's wall time (None if unknown), or None."""
        ...

    def put(self, key: str, model: str, request: GenerateRequest, completion: Completion, latency_s: float) -> None:
        """Store ``completion`` under ``key`` (first write wins)."""
        ...


def _completion_to_json(c: Completion) -> str:
    return json.dumps({
        "texts": c.texts, "usage": c.usage.model_dump(), "logprobs": c.logprobs, "model": c.model,
        "finish_reasons": c.finish_reasons, "reasoning": c.reasoning,
    })


def _completion_from_json(s: str) -> Completion:
    d = json.loads(s)
    logprobs = d.get("logprobs")
    if logprobs is not None:
        logprobs = [[(str(t), float(p)) for t, p in seq] for seq in logprobs]
    return Completion(
        texts=list(d["texts"]), usage=Usage(**d.get("usage", {})), logprobs=logprobs, model=d.get("model"),
        finish_reasons=list(d.get("finish_reasons", [])), reasoning=list(d.get("reasoning", [])),
    )


class SqliteCache:
    """A :class:`CallCache` in the store's SQLite database (WAL: several processes may share it)."""

    def __init__(self, path: str | Path | None = None) -> None:
        from critica.store.sqlite import DB_NAME, connect, default_home

        self.path = Path(path) if path is not None else default_home() / DB_NAME
        """Database file."""
        self._conn = connect(self.path)
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[Completion, float | None] | None:
        with self._lock:
            row = self._conn.execute("SELECT completion, latency_s FROM call_cache WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            self._conn.execute(
                "UPDATE call_cache SET hits = hits + 1, last_hit_at = ? WHERE key = ?",
                (datetime.now(UTC).isoformat(timespec="seconds"), key),
            )
        return _completion_from_json(row[0]), (float(row[1]) if row[1] is not None else None)

    def put(self, key: str, model: str, request: GenerateRequest, completion: Completion, latency_s: float) -> None:
        req = dataclasses.asdict(request)
        req["messages"] = [_compact(m) for m in req["messages"]]
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO call_cache (key, model, request, completion, prompt_tokens, completion_tokens, "
                "latency_s, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key, model, json.dumps(req, default=str), _completion_to_json(completion),
                    completion.usage.prompt_tokens, completion.usage.completion_tokens, latency_s,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM call_cache").fetchone()[0])

    def clear(self, model: str | None = None) -> int:
        """Delete every entry (or those of ``model``); returns how many were removed."""
        with self._lock:
            if model is None:
                cur = self._conn.execute("DELETE FROM call_cache")
            else:
                cur = self._conn.execute("DELETE FROM call_cache WHERE model = ?", (model,))
        return cur.rowcount

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
