"""What the write routes share: validating posted items as the CLI does, and recording results as a stored run."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from critica.errors import InputError, UserError
from critica.inputs.load import ALIASES, record_to_item
from critica.inputs.records import ReadLimits
from critica.run.runner import RunStats
from critica.server.engine import Chosen
from critica.server.errors import HTTPProblem, problem_from_input_error
from critica.server.schemas import FieldProblem
from critica.store import Store
from critica.types import Critique, Item

__all__ = ["parse_items", "Recorder", "new_run_name"]

SOURCE = "request body"


def parse_items(raw: Sequence[Any], mapping: Mapping[str, str], *, max_batch: int,
                limits: ReadLimits | None = None) -> tuple[list[Item], list[FieldProblem]]:
    """Items and per-record problems, exactly as ``critica critique`` reads a file (``items[i]`` for the line),
    except that no image path is ever read: images come as data URLs (or remote URLs, where ``limits`` allow).

    Raises:
        HTTPProblem: 413 when the batch is over the limit, 422 for a bad mapping.
    """
    if len(raw) > max_batch:
        raise HTTPProblem(413, f"batch of {len(raw)} items exceeds the limit of {max_batch} per request; split it "
                               "or submit a job (POST /v1/jobs)")
    for target in mapping:
        if target not in ALIASES:
            raise HTTPProblem(422, f"request body: field 'map': unknown item field {target!r} (one of {', '.join(ALIASES)})")
    items: list[Item] = []
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for i, record in enumerate(raw):
        where = f"items[{i}]"
        try:
            item = record_to_item(record, default_id=f"item-{i}", mapping=mapping, limits=limits, base_dir=None)
        except ValueError as e:  # the reader's field error: carries .field and .reason
            err = InputError(SOURCE, where, getattr(e, "field", None), getattr(e, "reason", str(e)))
            problems.append(problem_from_input_error(err))
            continue
        if item.id in seen:
            err = InputError(SOURCE, where, "id", f"duplicate id {item.id!r} in this request")
            problems.append(problem_from_input_error(err))
            continue
        seen.add(item.id)
        items.append(item)
    return items, problems


def new_run_name() -> str:
    """A fresh run name: ``api-<UTC time>-<random>``."""
    return f"api-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


class Recorder:
    """Writes one request's results into a new stored run, each critique as it lands."""

    def __init__(self, store: Store, name: str | None, chosen: Chosen, *, source: str | None,
                 options: Mapping[str, Any], problems: Sequence[FieldProblem]) -> None:
        self.store = store
        self.name = name or new_run_name()
        self.stats = RunStats()
        try:
            store.create_run(self.name, {"critic": chosen.name, "options": dict(options), "via": "http"},
                             model=chosen.model, protocol=chosen.name, source=source)
        except UserError as e:
            raise HTTPProblem(409, str(e), type="conflict") from None
        for p in problems:
            store.add_input_error(self.name, InputError(SOURCE, p.location, p.field, p.reason))

    def __call__(self, item: Item, critique: Critique) -> None:
        self.stats.add(critique)
        self.store.add_critique(self.name, critique, item)

    def finish(self) -> None:
        """Mark the run finished with its totals."""
        s = self.stats
        self.store.finish_run(self.name, {
            "items": s.items, "verdicts": s.verdicts, "parse_status": s.parse_status,
            "backend_errors": s.backend_errors, **s.usage.totals(), "mean_latency_s": round(s.mean_latency_s, 4),
        })
