"""Typed settings; the one place environment variables are read.

Layers merge ``defaults < environment < config file < explicit arguments``: every field is optional, ``None``
means "not set", and :meth:`Settings.merge` lets a later layer override only what it sets.

Environment variables (prefix ``CRITICA_``): ``CRITICA_MODEL``, ``CRITICA_BASE_URL``, ``CRITICA_API_KEY``,
``CRITICA_TIMEOUT``, ``CRITICA_RETRIES``, ``CRITICA_CONCURRENCY``, ``CRITICA_DATA`` (benchmark data directory),
``CRITICA_HOME`` (store directory), ``CRITICA_ITEM_MAX_CHARS`` and ``CRITICA_ITEM_TIMEOUT`` (the per-item budget,
:mod:`critica.budget`; ``0`` means no limit). ``OPENAI_API_KEY`` is used only when no custom base URL is set, so a hosted
key is never sent to a third-party server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Settings", "from_env", "default_data_dir"]


class Settings(BaseModel):
    """Backend and run settings. ``None`` means "not set"."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    """Model spec, e.g. ``local:smollm2``, ``openai:gpt-4o-mini``, ``llamacpp:/path/model.gguf``."""
    base_url: str | None = None
    """Base URL of an OpenAI-compatible server."""
    api_key: str | None = None
    """API key for the server."""
    timeout: float | None = None
    """Per-call timeout in seconds."""
    retries: int | None = None
    """Retries after the first attempt for retryable failures."""
    concurrency: int | None = None
    """Maximum concurrent backend calls / items."""
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    data_dir: str | None = None
    """Directory holding the public benchmark data."""
    home: str | None = None
    """Directory of critica's store and cache."""
    item_max_chars: int | None = None
    """Size budget of one item in characters (default 200,000; 0: no limit); see :mod:`critica.budget`."""
    item_timeout: float | None = None
    """Time budget of one item in seconds (default 300; 0: no limit); see :mod:`critica.budget`."""

    def merge(self, other: Settings | dict[str, Any] | None) -> Settings:
        """Return a copy where every field set in ``other`` overrides this one."""
        if other is None:
            return self
        if isinstance(other, dict):
            other = Settings(**other)
        data = self.model_dump()
        data.update({k: v for k, v in other.model_dump().items() if v is not None})
        return Settings(**data)


def from_env(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from ``CRITICA_*`` environment variables."""
    env = os.environ if environ is None else environ

    def num(name: str, cast: type) -> Any:
        raw = env.get(name)
        if raw in (None, ""):
            return None
        try:
            return cast(raw)
        except ValueError as e:
            from critica.errors import UserError

            raise UserError(f"environment variable {name}={raw!r} is not a valid {cast.__name__}") from e

    base_url = env.get("CRITICA_BASE_URL") or None
    api_key = env.get("CRITICA_API_KEY") or (None if base_url else env.get("OPENAI_API_KEY")) or None
    return Settings(
        model=env.get("CRITICA_MODEL") or None,
        base_url=base_url,
        api_key=api_key,
        timeout=num("CRITICA_TIMEOUT", float),
        retries=num("CRITICA_RETRIES", int),
        concurrency=num("CRITICA_CONCURRENCY", int),
        data_dir=env.get("CRITICA_DATA") or None,
        home=env.get("CRITICA_HOME") or None,
        item_max_chars=num("CRITICA_ITEM_MAX_CHARS", int),
        item_timeout=num("CRITICA_ITEM_TIMEOUT", float),
    )


def default_data_dir(explicit: str | None = None) -> Path:
    """Benchmark data directory: argument > ``CRITICA_DATA`` > ``../shared/data`` (from cwd or the repo)."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CRITICA_DATA")
    if env:
        return Path(env)
    candidates = [Path.cwd() / ".." / "shared" / "data", Path(__file__).resolve().parents[3] / ".." / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return candidates[0]
