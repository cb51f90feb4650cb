"""Read items from JSONL files and JSON arrays (any layout, via field mapping).

Every record becomes either an :class:`~critica.types.Item` or an :class:`~critica.errors.InputError` that names
the file, the line (JSONL) or array index (JSON) and the field. Reading never stops at a bad record: callers get
the errors in order with the items and decide what to do (the CLI reports them and exits non-zero at the end).

Layouts are recognised by field names. Each ``Item`` field has a list of accepted source names (``question`` is
also read from ``problem``, ``prompt``, ``query``, ``instruction``); an explicit mapping
``{"question": "my_field"}`` overrides them, and dotted paths (``"meta.q"``) reach into nested objects. Fields
that map to nothing are kept in ``Item.metadata``, so gold labels (ProcessBench's ``label``,
``final_answer_correct``) travel with the item.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from critica.errors import InputError, UserError
from critica.types import Item

__all__ = ["ALIASES", "read_items", "record_to_item", "parse_mapping"]

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "item_id", "uid", "idx", "question_id"),
    "question": ("question", "problem", "prompt", "query", "instruction", "input"),
    "response": ("response", "solution", "output", "completion", "model_output", "answer_text"),
    "steps": ("steps",),
    "candidates": ("candidates", "responses"),
    "reference_answer": ("reference_answer", "reference", "gold_answer", "ground_truth", "target"),
    "evidence": ("evidence", "passages", "contexts", "context", "documents"),
    "rubric": ("rubric",),
    "principles": ("principles",),
    "tests": ("tests", "test_list"),
}
_LIST_FIELDS = {"steps", "candidates", "evidence", "principles", "tests"}


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """Parse ``["question=problem", "response=solution"]`` into a mapping, rejecting unknown target fields."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        target, sep, source = pair.partition("=")
        target, source = target.strip(), source.strip()
        if not sep or not target or not source:
            raise UserError(f"field mapping {pair!r} must look like ITEM_FIELD=SOURCE_FIELD")
        if target not in ALIASES:
            raise UserError(f"field mapping {pair!r}: unknown item field {target!r} (one of {', '.join(ALIASES)})")
        mapping[target] = source
    return mapping


def _lookup(record: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    cur: Any = record
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def record_to_item(record: Any, *, default_id: str, mapping: Mapping[str, str] | None = None) -> Item:
    """Turn one decoded record into an Item. Raises ``ValueError`` (with a field name prefix) on bad records."""
    if not isinstance(record, Mapping):
        raise _FieldError(None, f"expected a JSON object, got {type(record).__name__}")
    mapping = mapping or {}
    data: dict[str, Any] = {}
    used: set[str] = set()
    for field, aliases in ALIASES.items():
        sources = (mapping[field],) if field in mapping else aliases
        for src in sources:
            found, value = _lookup(record, src)
            if found and value is not None:
                data[field] = value
                used.add(src.split(".")[0])
                break
        else:
            if field in mapping:
                raise _FieldError(mapping[field], "mapped field is missing")
    for field in _LIST_FIELDS & data.keys():
        if isinstance(data[field], str):
            data[field] = [data[field]]
        if not isinstance(data[field], list) or not all(isinstance(s, str) for s in data[field]):
            raise _FieldError(field, "must be a list of strings")
    if "id" in data:
        data["id"] = str(data["id"])
    else:
        data["id"] = default_id
    for field in ("question", "reference_answer"):
        if field in data and not isinstance(data[field], str):
            data[field] = json.dumps(data[field]) if isinstance(data[field], (dict, list)) else str(data[field])
    if "question" not in data:
        raise _FieldError("question", "missing (also looked for: " + ", ".join(ALIASES["question"][1:]) + ")")
    metadata = dict(record.get("metadata") or {}) if isinstance(record.get("metadata"), Mapping) else {}
    metadata.update({k: v for k, v in record.items() if k not in used and k != "metadata"})
    data["metadata"] = metadata
    try:
        return Item(**data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or None
        raise _FieldError(loc or "response", err["msg"]) from None


class _FieldError(ValueError):
    def __init__(self, field: str | None, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(reason)


def read_items(path: str | Path, mapping: Mapping[str, str] | None = None) -> Iterator[Item | InputError]:
    """Yield an Item or an InputError for every record of a ``.jsonl`` or ``.json`` file, in file order.

    JSONL is streamed line by line (memory stays flat). A JSON file may hold an array of records or an object with
    a list under ``items``/``data``/``records``. A file that cannot be opened or decoded raises ``UserError``.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    name = str(path)
    stem = path.stem
    if path.suffix == ".jsonl" or _looks_like_jsonl(path):
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    yield InputError(name, f"line {lineno}", None, f"invalid JSON: {e.msg} at column {e.colno}")
                    continue
                yield _convert(record, name, f"line {lineno}", f"{stem}-{lineno}", mapping)
        return
    try:
        with path.open(encoding="utf-8") as f:
            doc = json.load(f)
    except json.JSONDecodeError as e:
        raise UserError(f"{name}:line {e.lineno}: invalid JSON: {e.msg} at column {e.colno}") from None
    if isinstance(doc, Mapping):
        for key in ("items", "data", "records"):
            if isinstance(doc.get(key), list):
                doc = doc[key]
                break
        else:
            doc = [doc]
    if not isinstance(doc, list):
        raise UserError(f"{name}: expected a JSON array of records")
    for index, record in enumerate(doc):
        yield _convert(record, name, f"index {index}", f"{stem}-{index}", mapping)


def _convert(record: Any, name: str, where: str, default_id: str, mapping: Mapping[str, str] | None) -> Item | InputError:
    try:
        return record_to_item(record, default_id=default_id, mapping=mapping)
    except _FieldError as e:
        return InputError(name, where, e.field, e.reason)


def _looks_like_jsonl(path: Path) -> bool:
    if path.suffix != ".json":
        with path.open(encoding="utf-8") as f:
            head = f.read(1).lstrip()
        return head == "{"
    return False
