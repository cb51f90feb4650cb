"""One call for scripts: critique a list of items with a critic (and a model) and get the critiques back.

:func:`critique_items` is the synchronous front door (a script, a notebook cell that is not already inside an event
loop); :func:`acritique_items` the same inside ``async`` code. Both run the same runner as ``critica critique``:
per-item budgets, bounded concurrency, failures kept as unscored critiques with the reason, never raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from critica.errors import UserError

if TYPE_CHECKING:
    from critica.budget import ItemBudget
    from critica.config import Settings
    from critica.critics.base import Critic
    from critica.types import Critique, Item

__all__ = ["critique_items", "acritique_items"]


def critique_items(
    items: Iterable[Item | Mapping[str, Any]], critic: str | Critic = "verifier", *, model: str | None = None,
    concurrency: int = 4, budget: ItemBudget | None = None, settings: Settings | None = None, **options: Any,
) -> list[Critique]:
    """Critique ``items`` and return one critique per item, in the order given.

    Args:
        items: :class:`~critica.Item` objects or plain dicts in any layout ``critica critique`` reads (ProcessBench's
            ``problem``/``steps`` included); a dict without ``id`` gets its position.
        critic: a critic name (``critica critics``), a ``module:factory`` import path, or a built critic.
        model: the model spec for critics that need one (``openai:NAME``, ``vllm:NAME``, ``local:smollm2`` …);
            default ``CRITICA_MODEL``. Not used with a built critic.
        concurrency: items in flight at once.
        budget: size and time budget of each item (default: 200,000 characters, 300 s).
        settings: base URL, key, timeout and retries (default: from the environment, as the CLI reads them).
        **options: the critic's options (``max_tokens=256``, ``temperature=0.7``, ``structured=False`` …).

    Returns:
        The critiques. An item that could not be judged (a failed call, an unreadable reply, over its budget) has
        ``verdict == "unscored"`` and says why in ``parse_error`` / ``error``.

    Raises:
        UserError: an unknown critic, a critic that needs a model without one, a bad option, a malformed item; or
            called from inside a running event loop (use :func:`acritique_items` there).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise UserError("critique_items() was called inside a running event loop (a notebook or async code): "
                        "use `await critica.acritique_items(...)` there")
    return asyncio.run(acritique_items(items, critic, model=model, concurrency=concurrency, budget=budget,
                                       settings=settings, **options))


async def acritique_items(
    items: Iterable[Item | Mapping[str, Any]], critic: str | Critic = "verifier", *, model: str | None = None,
    concurrency: int = 4, budget: ItemBudget | None = None, settings: Settings | None = None, **options: Any,
) -> list[Critique]:
    """:func:`critique_items` for ``async`` code: ``await critica.acritique_items(items, "verifier")``."""
    from critica.inputs.load import record_to_item
    from critica.run.runner import critique_stream
    from critica.types import Critique, Item

    todo: list[Item] = []
    for i, rec in enumerate(items):
        if isinstance(rec, Item):
            todo.append(rec)
            continue
        try:
            todo.append(record_to_item(rec, default_id=str(i)))
        except ValueError as e:
            raise UserError(f"item {i}: {e}") from None
    ids = [it.id for it in todo]
    if len(set(ids)) != len(ids):
        raise UserError("items need distinct ids: the critiques are matched to them by id")
    built, caller = _critic(critic, model, settings, concurrency, options)
    got: dict[str, Critique] = {}
    try:
        async for c in critique_stream(built, todo, concurrency=concurrency, budget=budget):
            if isinstance(c, Critique):
                got[c.item_id] = c
    finally:
        if caller is not None:
            await caller.aclose()
    return [got[i] for i in ids]


def _critic(critic: str | Critic, model: str | None, settings: Settings | None, concurrency: int,
            options: dict[str, Any]) -> tuple[Critic, Any]:
    if not isinstance(critic, str):
        if model is not None or options:
            raise UserError("model= and critic options apply to a critic given by name; this critic is built already")
        return critic, None
    from critica.config import from_env
    from critica.critics.registry import build_critic, needs_model

    settings = from_env() if settings is None else from_env().merge(settings)
    spec = model or settings.model
    caller = None
    if spec and needs_model(critic):  # a model-free critic never starts one (CRITICA_MODEL may name a local model)
        from critica.backends.registry import create_caller

        caller = create_caller(spec, settings, concurrency=concurrency)
    return build_critic(critic, caller, **options), caller
