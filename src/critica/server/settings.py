"""Typed settings of the HTTP server (limits, keys, served models).

Every field has a safe default. Backend settings (base URL, key, per-call timeout) come from a
:class:`critica.config.Settings`, so the server reaches models exactly as the CLI does. Environment variables are
not read here: ``critica serve`` reads them through its options (``CRITICA_SERVER_KEYS`` …).
"""

from __future__ import annotations

from dataclasses import replace

from pydantic import BaseModel, ConfigDict, Field

from critica.budget import ItemBudget
from critica.config import Settings
from critica.inputs.records import ReadLimits
from critica.redact import Redactor

__all__ = ["ServerConfig"]


class ServerConfig(BaseModel):
    """How the server authenticates, limits and answers requests."""

    model_config = ConfigDict(extra="forbid")

    settings: Settings = Field(default_factory=Settings)
    """Backend settings: default model spec, base URL, backend key, per-call timeout, retries, concurrency."""
    models: list[str] = Field(default_factory=list)
    """Model specs clients may choose besides ``settings.model`` (clients can never name an arbitrary spec)."""
    critic: str | None = None
    """Default critic; None means ``processbench`` when a model is served, else ``verifier``."""
    api_keys: list[str] = Field(default_factory=list, repr=False)
    """Accepted API keys. Empty means no keys and only loopback clients (127.0.0.1, ::1) are served."""
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Requests with a larger body are refused with 413 before they are read in full."""
    max_batch: int = Field(default=64, ge=1)
    """Most items in one request (critiques, reward); more is a 413."""
    max_job_batch: int = Field(default=2048, ge=1)
    """Most items in one job."""
    per_key_concurrency: int = Field(default=4, ge=1)
    """Requests one key may have in flight; more are answered 429 at once with Retry-After."""
    request_timeout_s: float = Field(default=300.0, gt=0)
    """A synchronous request that takes longer is answered 504 (long batches belong in jobs)."""
    item_concurrency: int = Field(default=4, ge=1)
    """Items of one request critiqued at once."""
    max_jobs: int = Field(default=64, ge=1)
    """Jobs kept in memory (finished ones are dropped oldest first)."""
    unscored_reward: float = 0.0
    """Reward returned for an item the critic could not judge (``details[i].scored`` is then false)."""
    ui: bool = True
    """Serve the web UI under ``/ui``."""
    image_urls: bool = False
    """Accept remote ``http(s)`` image URLs in items. Off by default: the model server fetches them, so a client could
    make it fetch any address it can reach. Images are always accepted as data URLs; local paths never."""

    @property
    def read_limits(self) -> ReadLimits:
        """How posted items are read: the record and image limits of ``settings``, remote image URLs as
        :attr:`image_urls` says, and never a local file (the API passes no directory to read paths from)."""
        return replace(ReadLimits.from_settings(self.settings), image_urls=self.image_urls)

    @property
    def item_budget(self) -> ItemBudget:
        """Size and time budget of every item of every request and job, from ``settings.item_max_chars`` and
        ``settings.item_timeout`` (defaults: 200,000 characters, 300 s; :mod:`critica.budget`)."""
        return ItemBudget.of(self.settings.item_max_chars, self.settings.item_timeout)

    @property
    def redactor(self) -> Redactor:
        """The backend key and the client keys, replaced in every answer, stored run and log line."""
        return Redactor([self.settings.api_key, *self.api_keys])

    @property
    def default_critic(self) -> str:
        """The critic used when a request names none."""
        return self.critic or ("processbench" if self.settings.model else "verifier")

    @property
    def served_models(self) -> list[str]:
        """Every model spec a request may name, the default first."""
        out = [self.settings.model] if self.settings.model else []
        return out + [m for m in self.models if m not in out]
