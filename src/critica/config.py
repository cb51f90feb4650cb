"""Typed settings; the one place environment variables are read.

Layers merge ``defaults < environment < config file < explicit arguments``: every field is optional, ``None``
means "not set", and :meth:`Settings.merge` lets a later layer override only what it sets.

Environment variables (prefix ``CRITICA_``): ``CRITICA_MODEL``, ``CRITICA_BASE_URL``, ``CRITICA_API_KEY`` (or
``CRITICA_API_KEY_FILE``, a file holding it), ``CRITICA_TIMEOUT``, ``CRITICA_RETRIES``, ``CRITICA_CONCURRENCY``,
``CRITICA_TRANSPORT`` (``aiohttp`` or ``sdk``: the HTTP client of OpenAI-compatible backends),
``CRITICA_LOOP`` (the event loop of a CLI run: :func:`critica.run.interrupt.new_loop`),
``CRITICA_WORKERS`` and ``CRITICA_WORKER_START`` (the verifier's worker processes: :func:`verifier_workers`,
:func:`worker_start_method`), ``CRITICA_DATA`` (benchmark data directory), ``CRITICA_NLTK_DATA`` (NLTK data of the instruction checkers),
``CRITICA_HOME`` (store directory), the input-record limits
``CRITICA_MAX_RECORD_BYTES``, ``CRITICA_MAX_DEPTH``, ``CRITICA_MAX_VALUES``, the image limits
``CRITICA_IMAGE_MAX_BYTES`` and ``CRITICA_IMAGE_MAX_COUNT``, the per-item budget
``CRITICA_ITEM_MAX_CHARS`` and ``CRITICA_ITEM_TIMEOUT`` (:mod:`critica.budget`; ``0`` means no limit); for
``critica serve``, ``CRITICA_SERVER_KEYS`` (or ``CRITICA_SERVER_KEYS_FILE``). ``OPENAI_API_KEY`` is used only when
no custom base URL is set, so a hosted key is never sent to a third-party server.

Keys belong in the environment or in a file, never on a command line: any process on the machine can read another
one's command line (``/proc/PID/cmdline``, ``ps``), while its environment is private to its user.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["Settings", "from_env", "checked_settings", "default_data_dir", "read_key_file", "server_keys_from_env",
           "nltk_data_dir", "loop_choice"]

LOOPS = ("auto", "uvloop", "asyncio")


class Settings(BaseModel):
    """Backend and run settings. ``None`` means "not set"."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    """Model spec, e.g. ``local:smollm2``, ``openai:gpt-4o-mini``, ``llamacpp:/path/model.gguf``."""
    base_url: str | None = None
    """Base URL of an OpenAI-compatible server."""
    api_key: str | None = Field(default=None, repr=False)
    """API key for the server (never shown in a repr, a log or an error)."""
    timeout: float | None = None
    """Per-call timeout in seconds."""
    retries: int | None = None
    """Retries after the first attempt for retryable failures."""
    transport: Literal["aiohttp", "sdk"] | None = None
    """HTTP client of OpenAI-compatible backends: ``aiohttp`` (default; lean) or ``sdk`` (the openai SDK over httpx);
    see :mod:`critica.backends.openai_compat`."""
    concurrency: int | None = None
    """Maximum concurrent backend calls / items."""
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    data_dir: str | None = None
    """Directory holding the public benchmark data."""
    home: str | None = None
    """Directory of critica's store and cache."""
    max_record_bytes: int | None = Field(default=None, ge=1)
    """Largest input record (JSONL line, JSON array element, Parquet row) read; larger ones are input errors.
    Default 64 MiB (:class:`critica.inputs.records.ReadLimits`)."""
    max_depth: int | None = Field(default=None, ge=1)
    """Deepest nesting of arrays/objects in one input record. Default 64."""
    max_values: int | None = Field(default=None, ge=1)
    """Most arrays, objects and members in one input record. Default 1,000,000."""
    image_max_bytes: int | None = Field(default=None, ge=1)
    """Largest image of an item (a file, or a data URL's decoded data); larger ones are input errors. Default 5 MiB
    (:mod:`critica.inputs.images`)."""
    image_max_count: int | None = Field(default=None, ge=1)
    """Most images in one item. Default 8."""
    item_max_chars: int | None = None
    """Size budget of one item in characters (default 200,000; 0: no limit); see :mod:`critica.budget`."""
    item_timeout: float | None = Field(default=None, allow_inf_nan=False)
    """Time budget of one item in seconds (default 300; 0: no limit); see :mod:`critica.budget`."""

    @field_validator("item_max_chars", "item_timeout")
    @classmethod
    def _budget(cls, value: float | None, info: Any) -> float | None:
        if value is not None and value < 0:
            unit = "characters" if info.field_name == "item_max_chars" else "seconds"
            raise ValueError(f"must be 0 (no limit) or a positive number of {unit}")
        return value

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
    api_key = env.get("CRITICA_API_KEY") or None
    if api_key is None and env.get("CRITICA_API_KEY_FILE"):
        api_key = read_key_file(env["CRITICA_API_KEY_FILE"], what="CRITICA_API_KEY_FILE")
    api_key = api_key or (None if base_url else env.get("OPENAI_API_KEY")) or None
    return checked_settings(dict(
        model=env.get("CRITICA_MODEL") or None,
        base_url=base_url,
        api_key=api_key,
        timeout=num("CRITICA_TIMEOUT", float),
        retries=num("CRITICA_RETRIES", int),
        transport=(env.get("CRITICA_TRANSPORT") or "").strip().lower() or None,
        concurrency=num("CRITICA_CONCURRENCY", int),
        data_dir=env.get("CRITICA_DATA") or None,
        home=env.get("CRITICA_HOME") or None,
        max_record_bytes=num("CRITICA_MAX_RECORD_BYTES", int),
        max_depth=num("CRITICA_MAX_DEPTH", int),
        max_values=num("CRITICA_MAX_VALUES", int),
        image_max_bytes=num("CRITICA_IMAGE_MAX_BYTES", int),
        image_max_count=num("CRITICA_IMAGE_MAX_COUNT", int),
        item_max_chars=num("CRITICA_ITEM_MAX_CHARS", int),
        item_timeout=num("CRITICA_ITEM_TIMEOUT", float),
    ), lambda field: f"environment variable CRITICA_{field.upper()}={env.get('CRITICA_' + field.upper())}")


def loop_choice(environ: Mapping[str, str] | None = None) -> str:
    """``CRITICA_LOOP``: which event loop a CLI run uses (``auto``, the default, ``uvloop`` or ``asyncio``)."""
    env = os.environ if environ is None else environ
    raw = env.get("CRITICA_LOOP") or "auto"
    choice = raw.strip().lower()
    if choice not in LOOPS:
        from critica.errors import UserError

        raise UserError(f"environment variable CRITICA_LOOP={raw} is not one of {', '.join(LOOPS)}")
    return choice


def checked_settings(fields: Mapping[str, Any], source: Callable[[str], str]) -> Settings:
    """``Settings(**fields)``; a value out of range is a UserError that names where it came from.

    Args:
        fields: Setting values.
        source: Names where a field's value came from (``"--item-timeout"``, ``"environment variable X=v"``).
    """
    try:
        return Settings(**fields)
    except ValidationError as e:
        from critica.errors import UserError

        first = e.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else "settings"
        if first["type"] == "value_error":
            reason = str(first["ctx"]["error"])
        elif first["type"] == "greater_than_equal" and first["ctx"]["ge"] == 1:
            reason = "must be a positive integer"
        else:
            reason = first["msg"]
        raise UserError(f"{source(field)}: {reason}") from None


def read_key_file(path: str | Path, *, what: str = "key file") -> str:
    """The key in ``path``: its first line that is neither blank nor a ``#`` comment, stripped.

    Raises:
        UserError: the file is missing, unreadable or holds no key.
    """
    keys = read_keys_file(path, what=what)
    return keys[0]


def read_keys_file(path: str | Path, *, what: str = "keys file") -> list[str]:
    """Every key in ``path``, one per line (blank lines and ``#`` comments skipped); UserError when none."""
    from critica.errors import UserError

    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{what} {p}: cannot be read ({type(e).__name__}: {getattr(e, 'strerror', None) or e})") from None
    keys = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not keys:
        raise UserError(f"{what} {p}: holds no key (one per line; # starts a comment)")
    return keys


def server_keys_from_env(environ: dict[str, str] | None = None) -> list[str]:
    """The keys ``critica serve`` accepts from ``CRITICA_SERVER_KEYS`` (comma or space separated) and
    ``CRITICA_SERVER_KEYS_FILE`` (one per line)."""
    env = os.environ if environ is None else environ
    keys = [k for k in (env.get("CRITICA_SERVER_KEYS") or "").replace(",", " ").split() if k]
    if env.get("CRITICA_SERVER_KEYS_FILE"):
        keys += read_keys_file(env["CRITICA_SERVER_KEYS_FILE"], what="CRITICA_SERVER_KEYS_FILE")
    return keys


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


def nltk_data_dir(environ: dict[str, str] | None = None) -> Path:
    """Where the instruction checkers read NLTK data: ``CRITICA_NLTK_DATA`` > ``<data dir>/nltk_data``.

    NLTK also searches its own places (``NLTK_DATA``, ``~/nltk_data`` …) after this one; nothing is downloaded.
    """
    env = os.environ if environ is None else environ
    explicit = (env.get("CRITICA_NLTK_DATA") or "").strip()
    return Path(explicit) if explicit else default_data_dir() / "nltk_data"


def worker_start_method(environ: dict[str, str] | None = None) -> Literal["forkserver", "spawn"]:
    """How the verifier's worker processes start (``CRITICA_WORKER_START``): ``forkserver`` (the default on Linux:
    each worker forks in milliseconds from a server process that imported the checks once) or ``spawn`` (a fresh
    interpreter per worker that imports them itself, about a second; the default elsewhere, and the only choice
    where there is no forkserver). See :mod:`critica.verifiers.pool`.

    Raises:
        UserError: neither ``forkserver`` nor ``spawn``, or ``forkserver`` where the platform has none.
    """
    import multiprocessing
    import sys

    env = os.environ if environ is None else environ
    raw = (env.get("CRITICA_WORKER_START") or "").strip()
    available = "forkserver" in multiprocessing.get_all_start_methods()
    if not raw:
        # macOS has a forkserver too, but spawn is its platform default (frameworks there are not fork-safe)
        return "forkserver" if available and sys.platform.startswith("linux") else "spawn"
    if raw not in ("forkserver", "spawn") or (raw == "forkserver" and not available):
        from critica.errors import UserError

        raise UserError(f"environment variable CRITICA_WORKER_START={raw!r} must be 'forkserver' or 'spawn'"
                        + ("" if available else " (this platform has no forkserver)"))
    return raw  # type: ignore[return-value]


def verifier_workers(environ: dict[str, str] | None = None) -> int | Literal["auto"]:
    """Worker processes for the verifier critic (``CRITICA_WORKERS``): a positive integer, or ``"auto"`` (the
    default, also when unset or empty): one process per core once there is enough work to pay for them
    (:func:`critica.verifiers.pool.auto_workers`); ``1`` always runs the checks in a thread of this process.

    Raises:
        UserError: neither a positive integer nor ``auto``.
    """
    env = os.environ if environ is None else environ
    raw = (env.get("CRITICA_WORKERS") or "").strip()
    if not raw or raw == "auto":
        return "auto"
    try:
        n = int(raw)
        if n < 1:
            raise ValueError
    except ValueError:
        from critica.errors import UserError

        raise UserError(f"environment variable CRITICA_WORKERS={raw!r} must be a positive integer or 'auto'") from None
    return n
