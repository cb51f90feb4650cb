"""Critics by name, for the CLI, the server and config files.

Each entry says whether it needs a model. Factories import their module lazily, so listing critics is cheap.
Protocols added later register here with :func:`register`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from critica.errors import CriticaError, OptionError, UserError, did_you_mean

if TYPE_CHECKING:  # annotations only: listing critics must not import the engine
    from critica.backends.call import Caller
    from critica.critics.base import Critic

__all__ = ["CriticSpec", "register", "build_critic", "available_critics", "critic_spec"]


@dataclass(frozen=True)
class CriticSpec:
    name: str
    summary: str
    needs_model: bool
    factory: Callable[..., Critic]


_REGISTRY: dict[str, CriticSpec] = {}


def register(name: str, summary: str, *, needs_model: bool = True) -> Callable[[Callable[..., Critic]], Callable[..., Critic]]:
    """Decorator registering ``factory(caller, **options) -> Critic`` under ``name``."""

    def deco(factory: Callable[..., Critic]) -> Callable[..., Critic]:
        _REGISTRY[name] = CriticSpec(name, summary, needs_model, factory)
        return factory

    return deco


def available_critics() -> dict[str, CriticSpec]:
    """All registered critics, by name."""
    _load_builtins()
    return dict(_REGISTRY)


def critic_spec(name: str) -> CriticSpec:
    """The registered critic ``name``.

    Raises:
        UserError: no critic has that name (the message offers the closest names and lists them all).
    """
    specs = available_critics()
    if name not in specs:
        raise UserError(f"unknown critic {name!r}{did_you_mean(name, specs)}; available: {', '.join(sorted(specs))}")
    return specs[name]


def build_critic(name: str, caller: Caller | None, **options: Any) -> Critic:
    """Build the critic ``name``.

    Raises:
        UserError: an unknown name, a missing model, an option the critic does not take or a bad option value
            (the message names the option).
    """
    from critica.critics.options import SAMPLING_OPTIONS, check_options

    spec = critic_spec(name)
    if spec.needs_model and caller is None:
        raise UserError(f"critic {name!r} needs a model: pass --model (e.g. --model local:smollm2) or set CRITICA_MODEL")
    check_options(name, options)
    if not spec.needs_model:
        # Sampling options (checked above) mean nothing without a model: dropped, so one request body or one set of
        # flags serves every critic. Anything else a model-free critic does not take is refused by its factory.
        options = {k: v for k, v in options.items() if k not in SAMPLING_OPTIONS}
    try:
        return spec.factory(caller, **options)
    except TypeError as e:
        # Python 3.13 appends "Did you mean 'x'?" to this message: the option is the first quoted name.
        unexpected = re.search(r"unexpected keyword argument '([^']+)'", str(e))
        if unexpected is None:
            raise UserError(f"critic {name!r} cannot be built with these options ({_short(e)})") from None
        raise OptionError(name, unexpected.group(1), "the critic does not accept this option") from None
    except CriticaError:
        raise
    except Exception as e:  # noqa: BLE001 - built from the caller's options: a value the constructor could not use
        raise UserError(f"critic {name!r} cannot be built with these options ({_short(e)})") from None


def _short(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"


_loaded = False


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from critica.critics import builtins  # noqa: F401 - registers on import
