"""Read items from JSONL, JSON and Parquet files (any layout, via field mapping).

Every record becomes either an :class:`~critica.types.Item` or an :class:`~critica.errors.InputError` that names
the file, the line (JSONL), array index (JSON) or row (Parquet) and the field. Reading never stops at a bad record:
callers get the errors in order with the items and decide what to do (the CLI reports them and exits non-zero at
the end). How files are decoded, and the limits that keep a hostile file from exhausting memory, are in
:mod:`critica.inputs.records`; this module maps decoded records to items, with no silent coercion, and refuses an
id that the file already used.

Layouts are recognised by field names. Each ``Item`` field has a list of accepted source names (``question`` is
also read from ``problem``, ``prompt``, ``query``, ``instruction``); an explicit mapping
``{"question": "my_field"}`` overrides them, and dotted paths (``"meta.q"``, ``"messages.0.content"``) reach into
nested objects and lists. When a record holds several aliases of one field, the first in the list wins. Fields
that map to nothing are kept in ``Item.metadata``, so gold labels (ProcessBench's ``label``,
``final_answer_correct``) travel with the item.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from critica.errors import InputError, UserError
from critica.inputs.images import ImageError, parse_images
from critica.inputs.records import ReadLimits, iter_records, json_kind, object_problem
from critica.inputs.seen import SeenIds
from critica.types import Item

__all__ = ["ALIASES", "ReadLimits", "read_items", "record_to_item", "parse_mapping"]

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
    "images": ("images", "image"),
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


_MISSING = object()


def _lookup(record: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    if "." not in path:
        value = record.get(path, _MISSING)
        return (False, None) if value is _MISSING else (True, value)
    cur: Any = record
    for part in path.split("."):
        if isinstance(cur, list) and part.isascii() and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]  # `--map question=messages.0.content` reaches into chat-format lists
            continue
        if not isinstance(cur, Mapping) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def record_to_item(record: Any, *, default_id: str, mapping: Mapping[str, str] | None = None,
                   limits: ReadLimits | None = None, need_response: bool = True,
                   base_dir: str | Path | None = None) -> Item:
    """Turn one decoded record into an Item. Raises ``ValueError`` (with a field name prefix) on bad records.

    Nothing is coerced silently: ``id`` is a string or an integer (kept as its decimal digits); ``question``,
    ``response`` and ``rubric`` are strings; ``reference_answer`` a string or an integer; list fields lists of
    strings. NaN, Infinity, overflowing numbers and lone surrogates anywhere in the record are field errors.
    With ``need_response=False`` a record may hold only a question (its response will be generated).
    ``images`` are checked by :func:`critica.inputs.images.parse_images` under ``limits``; local image paths are
    read only when ``base_dir`` is given (relative ones from it), so a record from an untrusted source (the HTTP
    API passes none) can never read a file.
    """
    return _to_item(record, default_id, mapping, limits or ReadLimits(), need_response, checked=False,
                    base_dir=base_dir)


def _to_item(record: Any, default_id: str, mapping: Mapping[str, str] | None, limits: ReadLimits,
             need_response: bool, *, checked: bool, base_dir: str | Path | None = None) -> Item:
    problem = object_problem(record, checked, limits.max_depth)
    if problem is not None:
        raise _FieldError(*problem)
    mapping = mapping or {}
    data: dict[str, Any] = {}
    used: set[str] = set()
    null_id: str | None = None
    for field, aliases in ALIASES.items():
        sources = (mapping[field],) if field in mapping else aliases
        for src in sources:  # the first alias that holds a value wins; the others stay in metadata
            found, value = _lookup(record, src)
            if found and value is not None:
                data[field] = (src, value)
                used.add(src.split(".")[0])
                break
            if found and field == "id" and null_id is None:
                null_id = src
        else:
            if field in mapping:
                raise _FieldError(mapping[field], "mapped field is missing")
    values = {field: _typed(field, src, value) for field, (src, value) in data.items() if field != "images"}
    if "images" in data:
        src, value = data["images"]
        try:
            values["images"] = parse_images(value, src, base_dir=base_dir, max_bytes=limits.image_max_bytes,
                                            max_count=limits.image_max_count, urls=limits.image_urls)
        except ImageError as e:
            raise _FieldError(e.field, e.reason) from None
    if "id" not in values:
        if null_id is not None:
            raise _FieldError(null_id, "is null; an id is a string or an integer (leave the field out to number "
                                       "records by their position)")
        values["id"] = default_id
    if "question" not in values:
        raise _FieldError("question", "missing (also looked for: " + ", ".join(ALIASES["question"][1:]) + ")")
    if not need_response and "response" not in values and not values.get("steps"):
        values["response"] = ""  # the response will be generated
    raw_meta = record.get("metadata")
    if raw_meta is not None and not isinstance(raw_meta, Mapping):
        raise _FieldError("metadata", f"must be an object, not {json_kind(raw_meta)}")
    metadata = dict(raw_meta or {})
    for k, v in record.items():
        if k in used or k == "metadata":
            continue
        if k in metadata and metadata[k] != v:
            raise _FieldError(k, "is given both at the top level and inside 'metadata', with different values")
        metadata[k] = v
    values["metadata"] = metadata
    try:
        return Item(**values)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or None
        field = loc if loc not in data else data[loc][0]  # name the field as the file spells it
        raise _FieldError(field or "response", err["msg"]) from None


def _typed(field: str, src: str, value: Any) -> Any:
    """``value`` as the type of item field ``field``; a _FieldError naming ``src`` when it is not that type."""
    if field == "id" or field == "reference_answer":
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # integer ids are common in public data (MR-GSM8K, RealCritic): kept as digits
        raise _FieldError(src, f"must be a string or an integer, not {json_kind(value)}")
    if field in _LIST_FIELDS:
        if not isinstance(value, list):
            hint = " (one string is not split into a list: give a list of strings)" if isinstance(value, str) else ""
            raise _FieldError(src, f"must be a list of strings, not {json_kind(value)}{hint}")
        for i, v in enumerate(value):
            if not isinstance(v, str):
                raise _FieldError(f"{src}[{i}]", f"must be a string, not {json_kind(v)} (a list of strings is needed)")
        return value
    if not isinstance(value, str):
        hint = ""
        if isinstance(value, (list, Mapping)):  # chat-format and nested layouts: point at the text inside
            hint = f" (choose the text with --map {field}={src}.{'0' if isinstance(value, list) else 'KEY'}...)"
        raise _FieldError(src, f"must be a string, not {json_kind(value)}{hint}")
    return value


class _FieldError(ValueError):
    def __init__(self, field: str | None, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(reason)


def read_items(path: str | Path, mapping: Mapping[str, str] | None = None, *, limits: ReadLimits | None = None,
               need_response: bool = True, batch_size: int = 1024) -> Iterator[Item | InputError]:
    """Yield an Item or an InputError for every record of a ``.jsonl``, ``.json`` or ``.parquet`` file, in file order.

    Streamed whatever the format (memory stays flat; see :mod:`critica.inputs.records` for the limits, encodings
    and JSON layouts). A record whose id an earlier record of the file already has is an InputError on field
    ``id``, found before anything critiques it: ids are remembered as 128-bit hashes, in a set up to 100,000 and
    then in a temporary on-disk database (:class:`~critica.inputs.seen.SeenIds`), so memory stays flat. A file that does not exist raises ``UserError``. Image paths in a record are read
    relative to the file's directory (:mod:`critica.inputs.images`).
    """
    path = Path(path)
    name = str(path)
    stem = path.stem
    limits = limits or ReadLimits()
    seen = SeenIds()
    try:
        for raw in iter_records(path, limits, batch_size=batch_size):
            if raw.error is not None:
                yield InputError(name, raw.location, None, raw.error)
                continue
            try:
                item = _to_item(raw.value, f"{stem}-{raw.key}", mapping, limits, need_response, checked=raw.clean,
                                base_dir=path.parent)
            except _FieldError as e:
                yield InputError(name, raw.location, e.field, e.reason)
                continue
            if not seen.add(item.id):
                shown = item.id if len(item.id) <= 80 else item.id[:77] + "..."
                yield InputError(name, raw.location, "id", f"duplicate id {shown!r}: an earlier record of this file "
                                                           "has it (ids must be unique within an input)")
                continue
            yield item
    finally:
        seen.close()
