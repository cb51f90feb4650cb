"""What every replay adapter shares: the result type, the adapter registry and tolerant readers.

A replay adapter turns a file of released generations into :class:`~critica.types.Critique` objects (one per item;
the per-order / per-sample replies are its ``samples``) and computes the benchmark's figures from them. It never
calls a model. A malformed record becomes an :class:`~critica.errors.InputError` naming the file, the record
(line or index) and the field; the records around it still score.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from critica.errors import InputError, UserError
from critica.types import Critique

__all__ = ["RescoreResult", "Adapter", "register_adapter", "get_adapter", "available_formats", "iter_json_array", "iter_json_objects",
           "iter_jsonl", "pct"]


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


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise UserError(f"{path}: no such file") from e
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e})") from e


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    """Yield ``(line_number, record)`` for each non-blank line; a bad line yields an InputError instead."""
    for n, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            yield n, InputError(str(path), f"line {n}", None, f"invalid JSON ({e.msg} at column {e.colno})")
            continue
        if not isinstance(rec, dict):
            yield n, InputError(str(path), f"line {n}", None, f"expected a JSON object, got {type(rec).__name__}")
            continue
        yield n, rec


def iter_json_array(path: Path) -> Iterator[tuple[int, Any | InputError]]:
    """Yield ``(index, element)`` of a top-level JSON array, element by element.

    A truncated or corrupt file still yields every element before the damage, then one InputError naming the index
    and line where reading stopped (so a partial download loses only what is actually missing).
    """
    text = _read_text(path)
    dec = json.JSONDecoder()
    i = _skip_ws(text, 0)
    if i >= len(text) or text[i] != "[":
        yield 0, InputError(str(path), "line 1", None, "expected a JSON array of records")
        return
    i = _skip_ws(text, i + 1)
    index = 0
    if i < len(text) and text[i] == "]":
        return
    while True:
        try:
            value, end = dec.raw_decode(text, i)
        except json.JSONDecodeError as e:
            line = text.count("\n", 0, i) + 1
            yield index, InputError(str(path), f"index {index} (line {line})", None, f"invalid or truncated JSON ({e.msg})")
            return
        yield index, value
        index += 1
        i = _skip_ws(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip_ws(text, i + 1)
            continue
        if i < len(text) and text[i] == "]":
            return
        line = text.count("\n", 0, i) + 1
        yield index, InputError(str(path), f"index {index} (line {line})", None, "file ends before the array is closed (truncated?)")
        return


def iter_json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    """:func:`iter_json_array`, with an InputError for every element that is not a JSON object."""
    for index, value in iter_json_array(path):
        if not isinstance(value, (dict, InputError)):
            value = InputError(str(path), f"index {index}", None, "expected a JSON object")
        yield index, value


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def pct(numerator: float, denominator: float, digits: int = 2) -> float | None:
    """``100·numerator/denominator`` rounded to ``digits`` (the published precision); None for an empty set."""
    if denominator == 0:
        return None
    return round(100.0 * numerator / denominator, digits)


def field_error(path: Path, where: str, field_name: str, reason: str) -> InputError:
    """An InputError for a missing or ill-typed field of one record."""
    return InputError(str(path), where, field_name, reason)
