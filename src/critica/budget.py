"""Per-item budgets: how much text one item may carry and how long a critic may spend on it.

Inputs are written by models optimised against the judge, so one item must never be able to hold a run, a worker
or a backend: every item passed to the runner (:mod:`critica.run.runner`, which the CLI, batch jobs, benchmarks and
the server all use) gets an :class:`ItemBudget`.

* **Size** — the characters of the item's text fields (:data:`TEXT_FIELDS`) are counted before any work (each
  entry of a list at least one, so a million empty steps do not pass as nothing). Over ``max_chars`` the item is
  not critiqued at all (no verifier runs, nothing is sent to a backend) and becomes an ``unscored`` critique saying
  which fields are how large. The default, 200,000 characters (about 50,000 tokens),
  is 3.5 times the largest item of the public benchmarks critica reads (a WiCE claim with its evidence: 57,785
  characters; ProcessBench, PRMBench and JudgeBench items stay under 10,000).
* **Time** — a critic gets ``timeout_s`` seconds per item (default 300), queueing for a backend slot included, so
  the budget bounds retries × calls of LLM critics as well. Past it the item becomes ``unscored`` with the reason
  "time budget of N s exceeded" and the other items go on. An asyncio timeout cannot stop a thread, so CPU-bound
  critics (the verifier runs its checks in a worker thread) also stop *cooperatively*: the runner publishes the
  item's :class:`Deadline` in a context variable (which ``asyncio.to_thread`` and tasks copy), and the checks call
  :func:`checkpoint` between steps, which raises :class:`DeadlineExceeded` once the deadline has passed or the item
  was abandoned (timed out, or its run cancelled). A timed-out item therefore stops using CPU within one step check
  of its budget.

Settings, flags and server options give ``0`` for "no limit" (:meth:`ItemBudget.of`). This module imports
nothing of critica's but the data model.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from critica.types import Item

__all__ = [
    "DEFAULT_MAX_CHARS",
    "DEFAULT_TIMEOUT_S",
    "TEXT_FIELDS",
    "ItemBudget",
    "Deadline",
    "DeadlineExceeded",
    "item_chars",
    "size_reason",
    "time_reason",
    "checkpoint",
    "deadline_scope",
]

DEFAULT_MAX_CHARS = 200_000
"""Default size budget of one item, in characters of its text fields."""
DEFAULT_TIMEOUT_S = 300.0
"""Default time budget of one item, in seconds."""
TEXT_FIELDS = tuple(name for name in Item.model_fields if name not in ("id", "metadata"))
"""The Item fields a critic reads as text: every field but ``id`` and ``metadata`` (so a new field is counted).
Of ``images`` only the captions count (one character at least per image): the images themselves are bounded by the
image limits of the readers (:mod:`critica.inputs.images`), not by characters. ``metadata`` is not counted; the critics that read text from it cap what they take (the rubric critic's
``aspects``: at most 20 names of at most 80 characters)."""


def item_chars(item: Item) -> dict[str, int]:
    """Characters of each non-empty text field of ``item`` (lists: the sum of their strings, an empty string counting
    as one, since every entry costs a line or a label in a prompt)."""
    out: dict[str, int] = {}
    fields = item.__dict__
    for name in TEXT_FIELDS:
        value = fields[name]
        if not value:
            continue
        if name == "images":
            value = [image.caption or "" for image in value]
        out[name] = sum(max(1, len(s)) for s in value) if isinstance(value, list) else len(value)
    return out


@dataclass(frozen=True)
class ItemBudget:
    """The size and time budget of each item; ``None`` disables a limit."""

    max_chars: int | None = DEFAULT_MAX_CHARS
    """Most characters of an item's text fields (see :data:`TEXT_FIELDS`); None: no limit."""
    timeout_s: float | None = DEFAULT_TIMEOUT_S
    """Most seconds a critic may spend on one item; None: no limit."""

    @classmethod
    def of(cls, max_chars: int | None = None, timeout_s: float | None = None) -> ItemBudget:
        """A budget from user settings: ``None`` means "the default", ``0`` means "no limit".

        Raises:
            ValueError: a negative value.
        """
        if max_chars is not None and max_chars < 0:
            raise ValueError(f"the item size budget must be 0 (no limit) or a positive number of characters, not {max_chars}")
        if timeout_s is not None and not timeout_s >= 0:  # also refuses NaN
            raise ValueError(f"the item time budget must be 0 (no limit) or a positive number of seconds, not {timeout_s}")
        return cls(
            max_chars=DEFAULT_MAX_CHARS if max_chars is None else (max_chars or None),
            timeout_s=DEFAULT_TIMEOUT_S if timeout_s is None else (float(timeout_s) or None),
        )

    def oversize(self, item: Item) -> dict[str, Any] | None:
        """None when ``item`` fits the size budget, else what went over: ``{"exceeded": "size", "max_chars",
        "chars", "fields": {field: chars}}``."""
        if self.max_chars is None:
            return None
        fields = item_chars(item)
        total = sum(fields.values())
        if total <= self.max_chars:
            return None
        return {"exceeded": "size", "max_chars": self.max_chars, "chars": total, "fields": fields}

    def deadline(self) -> Deadline:
        """A deadline starting now."""
        return Deadline(None if self.timeout_s is None else time.monotonic() + self.timeout_s, self.timeout_s)


def size_reason(over: dict[str, Any]) -> str:
    """The sentence an over-size critique carries."""
    fields = ", ".join(f"{k} {v:,}" for k, v in sorted(over["fields"].items(), key=lambda kv: -kv[1]))
    return (f"item of {over['chars']:,} characters exceeds the size budget of {over['max_chars']:,} ({fields}); "
            "not critiqued")


def time_reason(timeout_s: float) -> str:
    """The sentence a timed-out critique carries."""
    return f"time budget of {timeout_s:g} s exceeded"


class DeadlineExceeded(BaseException):
    """Raised by :func:`checkpoint` when the current item's deadline has passed or the item was abandoned.

    A ``BaseException`` (like ``asyncio.CancelledError``) on purpose: verifiers catch ``Exception`` around each step
    so that no text can make them raise, and this must get past those handlers to stop the item.
    """


class Deadline:
    """When the current item must stop; :meth:`abandon` stops it early (timed out, or its run cancelled)."""

    def __init__(self, at: float | None, budget_s: float | None = None) -> None:
        self.at = at
        """``time.monotonic()`` value after which work on the item should stop; None: never."""
        self.budget_s = budget_s
        # A plain flag, read by the item's worker threads: one bool store is atomic, and a threading.Event (a
        # Condition and a Lock) per item was a measurable share of dispatching one.
        self._abandoned = False

    def abandon(self) -> None:
        """Nobody waits for this item's result any more: its checks stop at their next :func:`checkpoint`."""
        self._abandoned = True

    @property
    def expired(self) -> bool:
        """Whether work on the item should stop now."""
        return self._abandoned or (self.at is not None and time.monotonic() > self.at)

    def check(self) -> None:
        """Raise :class:`DeadlineExceeded` if work on the item should stop."""
        if self.expired:
            raise DeadlineExceeded(time_reason(self.budget_s) if self.budget_s is not None else "item abandoned")


_CURRENT: ContextVar[Deadline | None] = ContextVar("critica_item_deadline", default=None)


def checkpoint() -> None:
    """Stop the current item (raise :class:`DeadlineExceeded`) if its deadline has passed; a no-op outside the
    runner. Cheap enough to call once per step of every check."""
    deadline = _CURRENT.get()
    if deadline is not None:
        deadline.check()


class deadline_scope:  # noqa: N801 - used as a function: ``with deadline_scope(d):``
    """Make ``deadline`` the current item's deadline for the code (and the tasks and threads it starts) inside."""

    # A class rather than @contextmanager: the runner enters one per item, and a generator-based context manager
    # costs several times more per use.
    __slots__ = ("deadline", "_token")

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __enter__(self) -> Deadline:
        self._token = _CURRENT.set(self.deadline)
        return self.deadline

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._token)
