"""Progress on stderr for every command whose work can take more than a few seconds (issue 16).

One helper, two faces. On a terminal, a Rich progress bar (items done, items/s, tokens, elapsed, ETA). Anywhere else
(stderr redirected to a file, a CI log, a pipe) a Rich bar would print nothing until the end, so plain lines are
written instead: the first after :data:`FIRST_S` seconds (a job that ends sooner prints none), then one every
:data:`EVERY_S` seconds while the job runs, and one when it ends — few enough for a log, often enough to see that a
long ``bench wice`` or a local-model run is alive. A background thread writes them, so a phase that reports no item
for minutes (loading a model, fitting a calibration) still shows its elapsed time.

Usage::

    with Progress("bench wice", total=None, unit="claims") as p:
        run(..., progress=lambda done, total: p.update(done, total))
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

from rich.console import Console

__all__ = ["FIRST_S", "EVERY_S", "Progress", "eta_text"]

FIRST_S = 5.0
"""Seconds before the first plain line: shorter jobs print none."""
EVERY_S = 30.0
"""Seconds between plain lines."""


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def eta_text(done: int, total: int | None, elapsed: float) -> str:
    """The time left at the rate so far, ``0:01:05``; ``?`` while it cannot be estimated."""
    if not total or done <= 0 or elapsed <= 0 or done > total:
        return "?"
    return _clock(elapsed / done * (total - done))


class Progress:
    """Items done out of a total (None: unknown), on stderr; a context manager.

    Args:
        label: what is running, e.g. ``"critique"`` or ``"bench wice"``.
        total: the number of items, when known.
        unit: what an item is, in the plain lines ("items", "claims", "files").
        console: where to write (default: a stderr console); a terminal gets the Rich bar.
        first_s, every_s: the plain lines' schedule (defaults :data:`FIRST_S`, :data:`EVERY_S`).
    """

    def __init__(self, label: str, *, total: int | None = None, unit: str = "items", console: Console | None = None,
                 first_s: float | None = None, every_s: float | None = None) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self.tokens: int | None = None
        self.fields: dict[str, Any] = {}
        self.console = console or Console(stderr=True, soft_wrap=True)
        self.first_s = FIRST_S if first_s is None else first_s
        self.every_s = EVERY_S if every_s is None else every_s
        self.lines = 0
        """Plain lines written so far (for tests)."""
        self._start = 0.0
        self._bar: Any = None
        self._task: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start if self._start else 0.0

    @property
    def rate(self) -> float:
        e = self.elapsed
        return self.done / e if e > 0 else 0.0

    def __enter__(self) -> Progress:
        self._start = time.monotonic()
        if self.console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn(f"[bold]{self.label}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} {task.fields[unit]}/s"), TextColumn("{task.fields[extra]}"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=self.console,
            )
            self._task = self._bar.add_task(self.label, total=self.total, rate="0.00", unit=self.unit, extra="")
            self._bar.start()
        else:
            self._thread = threading.Thread(target=self._beat, name=f"progress {self.label}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.lines:  # a job long enough to have reported says how it ended
            self._line("stopped" if exc_type is not None else "done")

    def update(self, done: int, total: int | None = None, *, tokens: int | None = None, **fields: Any) -> None:
        """``done`` items so far (and the total, the tokens spent and extra figures, when known)."""
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total
            if tokens is not None:
                self.tokens = tokens
            self.fields.update(fields)
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=self.total, rate=f"{self.rate:.2f}",
                             extra=self._extra())

    def advance(self, n: int = 1) -> None:
        self.update(self.done + n)

    def _extra(self) -> str:
        parts = [] if self.tokens is None else [f"{self.tokens:,} tok"]
        parts += [f"{v} {k}" for k, v in self.fields.items()]
        return ", ".join(parts)

    def text(self, state: str | None = None) -> str:
        """The plain line: ``critique: 120/500 items (24%), 3.10 items/s, 1,204 tok, elapsed 0:00:38, ETA 0:02:02``."""
        with self._lock:
            done, total, elapsed = self.done, self.total, self.elapsed
            extra = self._extra()
        head = f"{self.label}: {done:,}" + (f"/{total:,}" if total else "") + f" {self.unit}"
        if total:
            head += f" ({100 * done / total:.0f}%)"
        parts = [head, f"{self.rate:.2f} {self.unit}/s"] + ([extra] if extra else []) + [f"elapsed {_clock(elapsed)}"]
        if state is None:
            parts.append(f"ETA {eta_text(done, total, elapsed)}")
        else:
            parts.append(state)
        return ", ".join(parts)

    def _line(self, state: str | None = None) -> None:
        self.console.print(self.text(state), highlight=False, markup=False)
        self.lines += 1

    def _beat(self) -> None:
        wait = self.first_s
        while not self._stop.wait(wait):
            self._line()
            wait = self.every_s
