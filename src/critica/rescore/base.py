"""What every replay adapter shares: the result type, the adapter registry and the record reader.

A replay adapter turns a file of released generations into :class:`~critica.types.Critique` objects (one per item;
the per-order / per-sample replies are its ``samples``) and computes the benchmark's figures from them. It never
calls a model. A malformed record becomes an :class:`~critica.errors.InputError` naming the file, the record
(line or index) and the field; the records around it still score.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from critica.config import from_env
from critica.errors import InputError, UserError
from critica.inputs.records import ReadLimits, iter_records, object_problem
from critica.types import Critique

__all__ = ["RescoreResult", "Adapter", "register_adapter", "get_adapter", "available_formats", "iter_objects", "pct"]


@dataclass
class RescoreResult:
    """Figures and critiques replayed from one file."""

    format: str
    """Adapter name (``llmbar``, ``judgebench`` …)."""
    path: str
    """The file that was replayed."""
    figures: dict[str, Any]
    """The benchmark's figures. Keys without prefix follow the authors' rule (comparable with the paper);
    ``critica_*`` keys are the same figures under critica's own parser (what the critic actually said)."""
    critiques: list[Critique] = field(default_factory=list)
    """One critique per item, in file order."""
    errors: list[InputError] = field(default_factory=list)
    """Malformed records (the rest still scored)."""
    notes: list[str] = field(default_factory=list)
    """How unparseable outputs are counted, which rule was applied, and similar caveats."""
    published: dict[str, Any] = field(default_factory=dict)
    """Figures the authors stored next to the file (e.g. LLMBar ``statistics.json``), when present."""

    def to_json(self) -> dict[str, Any]:
        """The JSON written by ``--json-out``: figures at the top level plus provenance, notes and errors."""
        out: dict[str, Any] = {"format": self.format, "path": self.path}
        out.update(self.figures)
        if self.published:
            out["published"] = self.published
        out["input_errors"] = [str(e) for e in self.errors]
        out["notes"] = list(self.notes)
        return out


Adapter = Callable[..., RescoreResult]
"""``adapter(path, **options) -> RescoreResult``."""

_ADAPTERS: dict[str, tuple[Adapter, str]] = {}


def register_adapter(name: str, summary: str) -> Callable[[Adapter], Adapter]:
    """Decorator registering a replay adapter under ``name``."""

    def deco(fn: Adapter) -> Adapter:
        _ADAPTERS[name] = (fn, summary)
        return fn

    return deco


def available_formats() -> dict[str, str]:
    """Format name → one-line summary of every replay adapter."""
    _load_all()
    return {k: v[1] for k, v in sorted(_ADAPTERS.items())}


def get_adapter(name: str) -> Adapter:
    """The adapter called ``name``.

    Raises:
        UserError: no such format.
    """
    _load_all()
    key = name.lower().replace("_", "-")
    if key not in _ADAPTERS:
        raise UserError(f"unknown rescore format {name!r}; choose one of: {', '.join(sorted(_ADAPTERS))}")
    return _ADAPTERS[key][0]


def _load_all() -> None:
    from critica.rescore import jsonl, judgebench, llmbar, mr_gsm8k, realcritic  # noqa: F401 - register on import


def iter_objects(path: Path) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    """``(line or index, record)`` for each record of a JSONL or JSON file (or ``(row, …)`` for Parquet), in order.

    The bounded reader every command uses (:func:`critica.inputs.records.iter_records`), under the limits the
    ``CRITICA_MAX_*`` variables set: a record that is too large or deep, not valid text or JSON, not an object, or
    that holds a value JSON cannot (NaN, a lone surrogate) comes as an InputError naming the file, the record and
    the field, and costs only itself. A JSON array stops at a syntax error, after the elements before it.
    """
    limits = ReadLimits.from_settings(from_env())
    for rec in iter_records(path, limits):
        problem = (None, rec.error) if rec.error is not None else object_problem(rec.value, rec.clean,
                                                                                 limits.max_depth)
        if problem is not None:
            yield rec.key, InputError(str(path), rec.location, *problem)
        else:
            yield rec.key, rec.value


def pct(numerator: float, denominator: float, digits: int = 2) -> float | None:
    """``100·numerator/denominator`` rounded to ``digits`` (the published precision); None for an empty set."""
    if denominator == 0:
        return None
    return round(100.0 * numerator / denominator, digits)


def field_error(path: Path, where: str, field_name: str, reason: str) -> InputError:
    """An InputError for a missing or ill-typed field of one record."""
    return InputError(str(path), where, field_name, reason)
