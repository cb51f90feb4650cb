"""The server's wiring to the engine: one Caller per served model, critics by name, outage tracking.

Routes never build backends or critics themselves. Each served model gets one :class:`~critica.backends.call.Caller`
for the life of the app, so the concurrency limit holds across requests and an in-process model loads once. The
caller remembers whether its last call found the backend unreachable: a request whose every item failed that way
is answered 503 (the server itself stays up), and ``/v1/ready`` reports the backend as down until a call succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from critica.backends.base import Backend, Completion, GenerateRequest
from critica.backends.call import Caller, CallPolicy
from critica.backends.registry import create_backend
from critica.critics.base import Critic
from critica.critics.registry import available_critics, build_critic, critic_spec
from critica.errors import BackendUnavailable, MissingDependency, OptionError, UserError
from critica.run.runner import critique_stream
from critica.server.errors import HTTPProblem
from critica.server.schemas import FieldProblem
from critica.server.settings import ServerConfig
from critica.types import Critique, Item

__all__ = ["Engine", "BackendHealth", "Chosen"]


@dataclass
class BackendHealth:
    """Whether a served model's backend answered its last call."""

    down_reason: str | None = None
    """The last BackendUnavailable message, until a call succeeds again."""

    @property
    def down(self) -> bool:
        return self.down_reason is not None


@dataclass
class _WatchedCaller(Caller):
    health: BackendHealth = field(default_factory=BackendHealth)

    async def generate(self, request: GenerateRequest) -> Completion:
        try:
            completion = await super().generate(request)
        except BackendUnavailable as e:
            self.health.down_reason = str(e)
            raise
        self.health.down_reason = None
        return completion


@dataclass(frozen=True)
class Chosen:
    """A critic built for one request, with the names it answers under."""

    critic: Critic
    name: str
    model: str | None


class Engine:
    """Builds critics for requests and runs them.

    Args:
        config: The server configuration (served models, backend settings, default critic).
        backends: Backends to use instead of building them from specs (tests inject scripted ones).
    """

    def __init__(self, config: ServerConfig, backends: Mapping[str, Backend] | None = None) -> None:
        self.config = config
        self.redactor = config.redactor
        """The backend key and the client keys, replaced in every critique this engine returns or records."""
        self._injected = dict(backends or {})
        self._callers: dict[str, _WatchedCaller] = {}

    @property
    def models(self) -> list[str]:
        """Model specs a request may name, the default first."""
        out = self.config.served_models
        return out + [m for m in self._injected if m not in out]

    def health(self) -> dict[str, BackendHealth]:
        """Health of every backend built so far."""
        return {spec: c.health for spec, c in self._callers.items()}

    def caller(self, model: str | None) -> _WatchedCaller | None:
        """The shared caller of ``model`` (default model when None); None when the server serves no model."""
        spec = model or (self.models[0] if self.models else None)
        if spec is None:
            return None
        self._check_served(spec)
        if spec not in self._callers:
            s = self.config.settings
            conc = s.concurrency or 4
            backend = self._injected.get(spec)
            if backend is None:
                try:
                    backend = create_backend(spec, s, workers=1)
                except MissingDependency as e:
                    raise HTTPProblem(501, str(e)) from None
                except UserError as e:
                    raise HTTPProblem(400, str(e)) from None
            policy = CallPolicy(timeout_s=s.timeout or 120.0, retries=1 if s.retries is None else s.retries,
                                concurrency=conc)
            # Every key the server holds is taken out of what the model says, before any critique is built from it.
            self._callers[spec] = _WatchedCaller(backend, policy, secrets=self.redactor.secrets)
        return self._callers[spec]

    def _check_served(self, model: str) -> None:
        if model not in self.models:
            raise HTTPProblem(400, f"model {model!r} is not served here; served: {', '.join(self.models) or 'none'}")

    def choose(self, critic: str | None, model: str | None, options: Mapping[str, Any] | None = None) -> Chosen:
        """Build the critic a request asked for, or raise a 4xx/501 naming what is wrong."""
        name = critic or self.config.default_critic
        try:
            spec = critic_spec(name)
        except UserError as e:
            raise HTTPProblem(400, str(e)) from None
        if model is not None:
            # Checked for every critic: a model-free critic must not silently ignore a model the client asked for.
            self._check_served(model)
        caller = None
        if spec.needs_model:
            caller = self.caller(model)
            if caller is None:
                raise HTTPProblem(400, f"critic {name!r} needs a model and this server serves none "
                                       "(start it with --model)")
        try:
            built = build_critic(name, caller, **dict(options or {}))
        except MissingDependency as e:
            raise HTTPProblem(501, str(e)) from None
        except OptionError as e:
            field = f"options.{e.option}"
            raise HTTPProblem(400, str(e), errors=[FieldProblem(
                location="request body", field=field, reason=e.reason,
                message=f"request body: field '{field}': {e.reason}")]) from None
        except UserError as e:
            raise HTTPProblem(400, str(e)) from None
        return Chosen(built, name, caller.name if caller is not None else None)

    def has_critic(self, name: str) -> bool:
        """Whether a critic named ``name`` is registered."""
        return name in available_critics()

    async def run(self, chosen: Chosen, items: Sequence[Item],
                  on_result: Callable[[Item, Critique], None] | None = None) -> list[Critique]:
        """Critique ``items`` (ids must be unique); results in input order. ``on_result`` sees each as it lands.

        Every item runs within the configured item budget: one over it is answered unscored with the reason (and a
        request cancelled by its timeout abandons its items, so their verifier threads stop too)."""
        by_id = {item.id: item for item in items}
        if len(by_id) != len(items):
            raise ValueError("item ids must be unique within one request")
        done: dict[str, Critique] = {}
        async for result in critique_stream(chosen.critic, items, concurrency=self.config.item_concurrency,
                                            budget=self.config.item_budget):
            assert isinstance(result, Critique)
            result = self.redactor.critique(result)
            done[result.item_id] = result
            if on_result is not None:
                on_result(by_id[result.item_id], result)
        return [done[item.id] for item in items]

    def outage(self, chosen: Chosen, critiques: Sequence[Critique]) -> str | None:
        """The reason to answer 503: every critique failed because the backend is unreachable."""
        if chosen.model is None or not critiques or not all(c.error for c in critiques):
            return None
        caller = self._callers.get(chosen.model)
        return caller.health.down_reason if caller is not None else None

    async def aclose(self) -> None:
        """Release the backends this engine built (injected ones belong to whoever passed them)."""
        for spec, caller in self._callers.items():
            if spec not in self._injected:
                await caller.aclose()
        self._callers.clear()
