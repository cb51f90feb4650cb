"""Critics by name, for the CLI, the server and config files.

Each entry says whether it needs a model. Factories import their module lazily, so listing critics is cheap.
Protocols added later register here with :func:`register`.

**A critic of your own** needs no registration: ``--critic mypkg.critics:make_critic`` (and
``build_critic("mypkg.critics:make_critic", caller)``) imports ``mypkg.critics`` and calls ``make_critic`` as a
:class:`CriticFactory`: ``make_critic(caller, **options) -> Critic``, where ``caller`` is the
:class:`~critica.backends.call.Caller` of ``--model`` (None without a model) and ``options`` the sampling options the
command was given (``temperature``, ``max_tokens``, ``seed``, ``structured``; none without a model). The critic it
returns has a ``name`` and ``async def critique(self, item) -> Critique`` (:class:`~critica.critics.base.Critic`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from critica.errors import CriticaError, OptionError, UserError, did_you_mean

if TYPE_CHECKING:  # annotations only: listing critics must not import the engine
    from critica.backends.call import Caller
    from critica.critics.base import Critic

__all__ = ["CriticFactory", "CriticSpec", "register", "build_critic", "available_critics", "critic_spec"]


class CriticFactory(Protocol):
    """What ``--critic module:factory`` calls: ``factory(caller, **options) -> Critic``.

    Example (``mypkg/critics.py``, used as ``critica critique items.jsonl --critic mypkg.critics:make_critic``)::

        from critica import Critique, Item, Verdict

        class Shouty:
            name = "shouty"

            async def critique(self, item: Item) -> Critique:
                ok = not item.response.isupper()
                return Critique(item_id=item.id, critic=self.name,
                                verdict=Verdict.CORRECT if ok else Verdict.INCORRECT)

        def make_critic(caller=None, **options):
            return Shouty()
    """

    def __call__(self, caller: Caller | None, /, **options: Any) -> Critic: ...


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


def build_critic(name: str, caller: Caller | None = None, **options: Any) -> Critic:
    """Build the critic ``name`` (a registered name, or a ``module:factory`` import path: see
    :class:`CriticFactory`); ``caller`` is needed by critics that call a model, and only by them.

    Raises:
        UserError: an unknown name, a missing model, an option the critic does not take or a bad option value
            (the message names the option).
    """
    from critica.critics.options import SAMPLING_OPTIONS, check_options

    if ":" in name:
        return import_factory(name)(caller, **options)
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


def import_factory(path: str) -> CriticFactory:
    """The factory named by ``package.module:function``.

    Raises:
        UserError: the module cannot be imported, or has no such callable.
    """
    import importlib

    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UserError(f"critic {path!r}: cannot import module {module_name!r} ({e})") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise UserError(f"critic {path!r}: {module_name} has no callable {attr!r}")
    return factory  # type: ignore[no-any-return]


def needs_model(name: str) -> bool:
    """Whether critic ``name`` calls a model (a ``module:factory`` critic may: it gets the caller when there is one)."""
    return True if ":" in name else critic_spec(name).needs_model


def _short(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"


_loaded = False


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from critica.critics import builtins  # noqa: F401 - registers on import
