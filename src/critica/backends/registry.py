"""Model selection by one string: ``PROVIDER:MODEL``.

==========================  ==========================================================================
``local:smollm2``           in-process llama.cpp with the bundled SmolLM2-135M-Instruct (``local`` alone too)
``llamacpp:PATH.gguf``      in-process llama.cpp with any GGUF file
``openai:MODEL``            OpenAI-compatible server; ``--base-url`` / ``CRITICA_BASE_URL`` (default: OpenAI)
``vllm:MODEL``              preset: base URL ``http://127.0.0.1:8000/v1`` unless given
``ollama:MODEL``            preset: base URL ``http://127.0.0.1:11434/v1``
``llamacpp-server:MODEL``   preset: base URL ``http://127.0.0.1:8080/v1``, llama.cpp's JSON-schema dialect
==========================  ==========================================================================

OpenAI-compatible providers send their requests over aiohttp (:mod:`critica.backends.http`); the openai SDK's
client is used instead with ``transport="sdk"`` in the settings (``CRITICA_TRANSPORT=sdk``).

Imports are lazy: a provider's package is imported only when it is selected, and a missing one raises
:class:`~critica.errors.MissingDependency` carrying the install command.
"""

from __future__ import annotations

from typing import Any

from critica.backends.base import Backend
from critica.backends.call import Caller, CallPolicy
from critica.config import Settings
from critica.errors import UserError, did_you_mean

__all__ = ["create_backend", "create_caller", "policy_from", "PROVIDERS"]

_PRESET_URLS = {
    "vllm": "http://127.0.0.1:8000/v1",
    "ollama": "http://127.0.0.1:11434/v1",
    "llamacpp-server": "http://127.0.0.1:8080/v1",
}
PROVIDERS = ("local", "llamacpp", "openai", *_PRESET_URLS)


def create_backend(spec: str, settings: Settings | None = None, *, workers: int = 1) -> Backend:
    """Build the backend named by ``spec`` (see the module docstring), using base URL / key / timeout from settings."""
    settings = settings or Settings()
    provider, _, model = spec.partition(":")
    provider = provider.strip().lower()
    if provider == "local":
        from critica.backends.llamacpp import LlamaCppBackend

        if model not in ("", "smollm2"):
            raise UserError(f"unknown local model {model!r}: the bundled local model is 'local:smollm2'")
        return LlamaCppBackend(name="local:smollm2", workers=workers)
    if provider == "llamacpp":
        from critica.backends.llamacpp import LlamaCppBackend

        if not model:
            raise UserError("model spec 'llamacpp:' needs a GGUF path, e.g. llamacpp:/models/qwen.gguf")
        return LlamaCppBackend(model, name=spec, workers=workers)
    if provider == "openai" or provider in _PRESET_URLS:
        from critica.backends.openai_compat import OpenAICompatBackend

        if not model:
            raise UserError(f"model spec {spec!r} needs a model name, e.g. {provider}:my-model")
        base_url = settings.base_url or _PRESET_URLS.get(provider)
        return OpenAICompatBackend(
            model,
            base_url=base_url,
            api_key=settings.api_key,
            timeout_s=settings.timeout or 120.0,
            schema_mode="json_object" if provider == "llamacpp-server" else "auto",
            name=spec,
            transport=settings.transport or "aiohttp",
        )
    raise UserError(f"unknown model provider {provider!r} in {spec!r}{did_you_mean(provider, PROVIDERS)}; "
                    f"use one of: {', '.join(PROVIDERS)}")


def policy_from(settings: Settings, *, concurrency: int | None = None) -> CallPolicy:
    """The call policy the settings ask for: timeout (default 120 s), retries (default 3), concurrency (default 4)."""
    return CallPolicy(
        timeout_s=settings.timeout or 120.0,
        retries=3 if settings.retries is None else settings.retries,
        concurrency=concurrency or settings.concurrency or 4,
    )


def create_caller(spec: str, settings: Settings | None = None, *, concurrency: int | None = None, cache: Any = None) -> Caller:
    """A :class:`Caller` for model ``spec``: the backend plus the policy from settings (and an optional call cache)."""
    settings = settings or Settings()
    policy = policy_from(settings, concurrency=concurrency)
    return Caller(create_backend(spec, settings, workers=policy.concurrency), policy, cache=cache)
