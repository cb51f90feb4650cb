"""The shape of a benchmark: a suite reads public data, runs a critic, and returns figures.

A suite is a function ``run(ctx) -> BenchResult`` registered under a name with :func:`register_suite`; the
``critica bench NAME`` command looks it up, runs it and renders the result (terminal Markdown table, JSON file with
every per-item record, ``--compare`` of two JSON files). Suites compute figures with the pure functions in
:mod:`critica.bench.metrics`; they never print.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from critica.budget import ItemBudget
from critica.config import Settings
from critica.critics.base import Critic
from critica.run.interrupt import run_interruptible
from critica.types import Critique, Item

__all__ = ["BenchContext", "BenchResult", "Suite", "register_suite", "get_suite", "available_suites", "critique_records"]


@dataclass
class BenchContext:
    """Everything a suite needs from the command line."""

    data_dir: Path
    """Root of the public benchmark data (``--data-dir`` / ``CRITICA_DATA`` / ``../shared/data``)."""
    make_critic: Callable[[], Critic]
    """Builds the critic under test (a fresh one per call is allowed)."""
    critic_name: str = "verifier"
    model: str | None = None
    limit: int | None = None
    """At most this many items per split (None: all)."""
    splits: list[str] | None = None
    """Only these splits (None: all of the suite's splits)."""
    concurrency: int = 4
    seed: int = 0
    """Seed of bootstrap resampling and any sampling."""
    options: dict[str, Any] = field(default_factory=dict)
    """Suite-specific options (e.g. samples=[1,2,4,8])."""
    progress: Callable[[int, int | None], None] | None = None
    """Called with (done, total) as items finish."""
    budget: ItemBudget = field(default_factory=ItemBudget)
    """Size and time budget of each item (:mod:`critica.budget`); the defaults fit every public benchmark item."""
    structured: bool = True
    """The answer format asked of LLM critics: schema-constrained JSON (``--json``, default) or the protocol's free
    text (``--text``)."""
    settings: Settings | None = None
    """The run's settings (base URL, API key, timeouts, retries; environment merged with flags), for suites that
    build further backends themselves (realcritic's ``critic_model`` / ``generator_model``). None: the environment."""
    critic_options: dict[str, Any] = field(default_factory=dict)
    """Options the critic under test was built with (temperature, max_tokens, seed, structured); a second critic a
    suite builds gets the same."""


@dataclass
class BenchResult:
    """Figures of one benchmark run."""

    suite: str
    critic: str
    model: str | None
    rows: list[dict[str, Any]]
    """One row per split (and an ``average``/``overall`` row): metric name → value; CIs as ``[lo, hi]`` lists."""
    items: list[dict[str, Any]] = field(default_factory=list)
    """Every per-item record (id, split, gold, prediction, correct?, parse status …)."""
    notes: list[str] = field(default_factory=list)
    """Definitions and caveats printed under the table (e.g. how unscored items are counted)."""
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else worth keeping (plots written, token totals …). ``tables``: column lists, one printed table each
    (see :func:`critica.report.tables.grouped_tables`), for suites whose figures carry intervals."""


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    run: Callable[[BenchContext], BenchResult]
    vote: str = "majority"
    """How ``--samples K`` votes by default (:attr:`critica.aggregate.spec.ScalingConfig.reducer`): a suite whose
    source defines Maj@k (ProcessBench: ``answer_mode``) votes that way unless the user picks a reducer."""


_SUITES: dict[str, Suite] = {}


def register_suite(name: str, description: str, *, vote: str = "majority") -> Callable[[Callable[[BenchContext], BenchResult]], Callable[[BenchContext], BenchResult]]:
    """Decorator: register ``run(ctx) -> BenchResult`` as benchmark ``name`` (``vote``: see :attr:`Suite.vote`)."""

    def deco(fn: Callable[[BenchContext], BenchResult]) -> Callable[[BenchContext], BenchResult]:
        _SUITES[name] = Suite(name, description, fn, vote)
        return fn

    return deco


def available_suites() -> dict[str, Suite]:
    from critica.bench import suites  # noqa: F401 - registers the built-in suites on import

    return dict(_SUITES)


def get_suite(name: str) -> Suite:
    from critica.errors import UserError

    suites = available_suites()
    if name not in suites:
        raise UserError(f"unknown benchmark {name!r}; available: {', '.join(sorted(suites)) or 'none'}")
    return suites[name]


T = TypeVar("T")


def critique_records(
    ctx: BenchContext,
    labeled: Sequence[T],
    item_of: Callable[[T], Item],
    record: Callable[[T, Critique], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Critique every labelled item with the context's critic and return one record per item, in input order.

    Runs with the context's concurrency, reports progress as items finish, and closes the critic's backend at the end.
    """
    from critica.run.runner import critique_stream

    async def go() -> list[dict[str, Any]]:
        critic = ctx.make_critic()
        by_id = {item_of(x).id: x for x in labeled}
        out: list[dict[str, Any]] = []
        try:
            async for c in critique_stream(critic, (item_of(x) for x in labeled), concurrency=ctx.concurrency,
                                           budget=ctx.budget):
                out.append(record(by_id[c.item_id], c))  # type: ignore[union-attr]
                if ctx.progress:
                    ctx.progress(len(out), len(labeled))
        finally:
            caller = getattr(critic, "caller", None)
            if caller is not None:
                await caller.aclose()
        order = {item_of(x).id: i for i, x in enumerate(labeled)}
        out.sort(key=lambda r: order[r["id"]])
        return out

    return run_interruptible(go())
