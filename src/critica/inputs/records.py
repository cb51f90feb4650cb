"""Raw records from JSONL, JSON and Parquet files, read with bounded memory whatever the file holds.

This is the one reader under ``critica critique``, ``critica batch`` and every other command that reads items
(:func:`critica.inputs.load.read_items` turns these records into items). Each record comes out as a decoded value
or as the reason it could not be decoded, with its location (``line N``, ``index N``, ``row N``); one bad record
never costs its neighbours, and no input makes the reader's memory grow past a few records.

What a hostile file meets:

* **Size.** A record larger than ``max_record_bytes`` (a JSONL line, a JSON array element, a Parquet row) is an
  input error; the reader skips it without holding it (a 1 GB line without a newline costs one buffer).
* **Nesting and value count.** A record nested deeper than ``max_depth`` or holding more than ``max_values`` arrays,
  objects and commas is an input error, found by a scan of its bytes *before* it is decoded: ``json.loads`` never
  recurses on it and never builds millions of tiny objects from a small file. JSON documents are split into their
  array elements by a byte scanner of our own (:mod:`critica.inputs.jsondoc`) that keeps one byte per level, not
  one prefix string per level as ``ijson`` does (100,000 nested ``[`` cost ``ijson.items`` ~23 GB, since each
  level's prefix is as long as the depth).
* **Encodings.** UTF-8 with or without a BOM; UTF-16 and UTF-32 (LE or BE) with a BOM are transcoded to UTF-8 as they
  are read. A record that is not valid text in its encoding is an input error, and only that record.
* **Numbers and strings.** ``NaN``/``Infinity`` literals, numbers that overflow a float (``1e999999``) and integers
  of more than 4,300 digits (Python's own ``int()`` limit) become :class:`Invalid` markers, reported with their field
  by :func:`find_problem` (so ``field 'id': NaN is not a number`` rather than a silent ``"nan"``). So do strings
  holding lone surrogates (``"\\ud800"``), which cannot be encoded and would fail later in SQLite or JSON output.
* **Duplicate keys.** A key given twice in one object (``{"question": "benign", …, "question": "evil"}``) would
  silently keep its last value: it becomes an :class:`Invalid` marker too, reported with its field.

A JSON array cannot be read past a syntax error (where the next record starts is unknown), so the records before
it are kept and the error names the index, line and column where reading stopped. JSONL resumes at the next line.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import IO, Any

from critica.errors import UserError

__all__ = ["ReadLimits", "RawRecord", "Invalid", "Unreadable", "iter_records", "strict_loads", "find_problem",
           "object_problem", "json_kind"]


@dataclass(frozen=True)
class ReadLimits:
    """Limits on one input record. Past any of them the record is an input error; the others are still read.

    Settable with ``CRITICA_MAX_RECORD_BYTES``, ``CRITICA_MAX_DEPTH`` and ``CRITICA_MAX_VALUES``.
    """

    max_record_bytes: int = 64 * 1024 * 1024
    """Bytes of one record (a JSONL line, a JSON array element, a Parquet row's text), as UTF-8. The default (64 MiB)
    reads a 50 MB response, so item size budgets downstream can judge it; the reader's memory is a few times this."""
    max_depth: int = 64
    """Nesting of arrays and objects within one record (public benchmark records nest at most 5 deep)."""
    max_values: int = 1_000_000
    """Arrays, objects and list/object members in one record: bounds what decoding a record can allocate
    (a 64 MiB line of ``[],`` would otherwise be ~20 million Python lists)."""
    image_max_bytes: int = 5 * 1024 * 1024
    """Bytes of one image (a file, or a data URL's decoded data): 5 MiB, under every vision API's own limit (OpenAI:
    20 MB; llama.cpp's server and vLLM take what their HTTP body limit does). :mod:`critica.inputs.images`."""
    image_max_count: int = 8
    """Images in one item."""
    image_urls: bool = True
    """Whether an item may name a remote ``http(s)`` image URL (passed to the model server, which fetches it). The
    HTTP API refuses them unless ``critica serve --image-urls``: the model server would fetch any address a client
    names."""

    def __post_init__(self) -> None:
        for name in ("max_record_bytes", "max_depth", "max_values", "image_max_bytes", "image_max_count"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"ReadLimits.{name} must be a positive integer, not {getattr(self, name)!r}")

    @classmethod
    def from_settings(cls, settings: Any) -> ReadLimits:
        """The limits a :class:`~critica.config.Settings` sets, defaults for the rest."""
        given = {k: getattr(settings, k, None)
                 for k in ("max_record_bytes", "max_depth", "max_values", "image_max_bytes", "image_max_count")}
        return cls(**{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read: its location and either its decoded value or why it could not be decoded."""

    location: str
    """``line N`` (JSONL), ``index N`` (JSON array), ``row N`` (Parquet)."""
    key: int
    """The line, index or row number: the suffix of the record's default id."""
    value: Any = None
    """The decoded JSON value (may hold :class:`Invalid` markers); None when ``error`` is set."""
    error: str | None = None
    """Why the record could not be decoded (too large, too deep, not valid text or JSON)."""
    clean: bool = False
    """True when decoding proved :func:`find_problem` has nothing to find (no marker made, no surrogate escape,
    depth measured): the value need not be walked again."""


class Invalid:
    """A value the reader refused (NaN, an overflowing number, a huge integer, binary data, a duplicated key's
    values): reported with its field."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Invalid({self.reason!r})"


MAX_INT_DIGITS = 4300  # sys.int_info.default_max_str_digits: int() refuses more, with a ValueError json does not catch


class _Hooks:
    """``json.loads`` hooks that turn what must not become data into :class:`Invalid` markers, and remember it."""

    __slots__ = ("marked",)

    def __init__(self) -> None:
        self.marked = False

    def parse_constant(self, name: str) -> Invalid:
        self.marked = True
        return Invalid(f"{name} is not a number (JSON has no NaN or Infinity)")

    def parse_int(self, text: str) -> int | Invalid:
        digits = len(text) - text.startswith("-")
        if digits > MAX_INT_DIGITS:
            self.marked = True
            return Invalid(f"an integer of {digits} digits (the limit is {MAX_INT_DIGITS})")
        return int(text)

    def parse_float(self, text: str) -> float | Invalid:
        value = float(text)
        if not math.isfinite(value):
            self.marked = True
            return Invalid(f"the number {text[:24]}{'…' if len(text) > 24 else ''} is too large for a float")
        return value

    def object_pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) < len(pairs):  # json.loads would keep the last value silently: which one was meant is unknown
            self.marked = True
            for key, n in Counter(k for k, _ in pairs).items():
                if n > 1:
                    obj[key] = Invalid(f"duplicate key: given {n} times in one object (which value is meant is "
                                       "unknown)")
        return obj


def json_kind(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages (``array``, ``object``, ``number`` …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    return type(value).__name__


# -- value checks ----------------------------------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")


def find_problem(value: Any, max_depth: int = ReadLimits.max_depth) -> tuple[str | None, str] | None:
    """The first thing in ``value`` that must not become data, as ``(field path, reason)``; None if it is clean.

    Refused: :class:`Invalid` markers, non-finite floats, strings and keys with lone surrogates, nesting deeper than
    ``max_depth``, and values that are not JSON types. The walk is iterative, so any depth is safe to check
    (request bodies reach here parsed by the web framework, not by this reader).
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        v, path = stack.pop()
        t = type(v)
        if t is str:
            if _SURROGATE.search(v):
                return _path(path), "holds a lone surrogate (\\ud800-\\udfff), which is not valid Unicode text"
        elif v is None or t is int or t is bool:
            continue
        elif t is float:
            if not math.isfinite(v):
                name = "NaN" if v != v else "Infinity" if v > 0 else "-Infinity"
                return _path(path), f"{name} is not a number (JSON has no NaN or Infinity)"
        elif t is Invalid:
            return _path(path), v.reason
        elif isinstance(v, (Mapping, list, tuple)):
            if len(path) >= max_depth:
                return _path(path), f"nested deeper than the limit of {max_depth} levels (max_depth, CRITICA_MAX_DEPTH)"
            if isinstance(v, Mapping):
                for k, child in v.items():
                    if type(k) is not str or _SURROGATE.search(k):
                        return _path(path), f"has a key that is not valid text: {k!r:.40}"
                    stack.append((child, (*path, k)))
            else:
                stack.extend((child, (*path, i)) for i, child in enumerate(v))
        elif isinstance(v, (str, int, float)):  # subclasses (an IntEnum, a numpy scalar): check as their base
            stack.append((str(v) if isinstance(v, str) else float(v) if isinstance(v, float) else int(v), path))
        else:
            return _path(path), f"{type(v).__name__} is not a JSON value"
    return None


def object_problem(value: Any, clean: bool = False,
                   max_depth: int = ReadLimits.max_depth) -> tuple[str | None, str] | None:
    """Why a decoded record cannot be read as a record, as ``(field path, reason)``; None if it can.

    A record is a JSON object; then :func:`find_problem` decides, unless ``clean`` (the reader proved it clean while
    decoding it: ``RawRecord.clean``).
    """
    if not isinstance(value, Mapping):
        return None, f"expected a JSON object, got {json_kind(value)}"
    return None if clean else find_problem(value, max_depth)


def _path(parts: tuple[str | int, ...]) -> str | None:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or None


# -- encodings -------------------------------------------------------------------------------------------------------

_BOMS = (  # UTF-32 first: its LE BOM begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_MARK = "critica.invalid-text"
# Text that is not valid in its encoding becomes a lone surrogate, which the strict UTF-8 decode of its record
# refuses: the error stays with that record instead of ending the file.
codecs.register_error(_MARK, lambda e: ("\udcff", e.end))


class _Transcoder(io.RawIOBase):
    """A UTF-16/UTF-32 byte stream read as UTF-8 bytes, decoded incrementally (never more than a chunk at once)."""

    def __init__(self, raw: IO[bytes], encoding: str) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)(errors=_MARK)
        self._out = b""
        self._at = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while self._at >= len(self._out):
            if self._done:
                return 0
            data = self._raw.read(1 << 16)
            self._done = not data
            self._out = self._decoder.decode(data, final=self._done).encode("utf-8", "surrogatepass")
            self._at = 0
        n = min(len(b), len(self._out) - self._at)
        b[:n] = self._out[self._at:self._at + n]
        self._at += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


@contextmanager
def _open_utf8(path: Path) -> Iterator[tuple[io.BufferedReader, str]]:
    """The file as a buffered stream of UTF-8 bytes (BOM removed), and the name of its encoding."""
    raw = open(path, "rb", buffering=1 << 16)  # noqa: SIM115 - closed below, or by the transcoder
    try:
        head = raw.read(4)
        bom, encoding = next(((b, e) for b, e in _BOMS if head.startswith(b)), (b"", "utf-8"))
        raw.seek(len(bom))
        if encoding == "utf-8":
            yield raw, "UTF-8"
        else:
            with io.BufferedReader(_Transcoder(raw, encoding), buffer_size=1 << 16) as f:
                yield f, encoding.upper()
    finally:
        raw.close()


# -- decoding one record ---------------------------------------------------------------------------------------------

JSON_WS = b" \t\r\n"
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class Unreadable(Exception):
    """A record's bytes that are not a JSON value: too deep, too many values, not valid text, not valid JSON."""

    def __init__(self, reason: str, pos: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pos = pos  # character offset in the record, for JSON syntax errors


def _shape_errors(depth: int, values: int, limits: ReadLimits) -> str | None:
    if depth > limits.max_depth:
        return f"nested deeper than the limit of {limits.max_depth} levels (max_depth, CRITICA_MAX_DEPTH)"
    if values > limits.max_values:
        return (f"holds more than {limits.max_values} values, the limit (max_values, CRITICA_MAX_VALUES)")
    return None


def _shape(text: str, limits: ReadLimits) -> tuple[int, int]:
    """Nesting depth and value count of JSON ``text``, as far as the limits need them (they are only compared with
    the limits): a depth within ``max_depth`` may be given as any number up to it."""
    opens = text.count("[") + text.count("{")
    values = opens + text.count(",")
    if opens <= limits.max_depth and values <= limits.max_values:
        return opens, values  # cannot be past either limit: skip the exact scan
    bare = _STRING.sub('""', text)  # brackets and commas inside strings are text
    return _depth(bare, limits.max_depth), bare.count("[") + bare.count("{") + bare.count(",")


_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEP = {ord("["): 1, ord("]"): -1}


def _depth(bare: str, limit: int) -> int:
    """How deep the brackets of ``bare`` (JSON text with its strings emptied) nest: ``limit + 1`` when deeper than
    ``limit``, else ``limit`` — the deepest point of a running count (+1 per opener, -1 per closer), at C speed.

    A Python loop over the brackets took 5 s for a 30 MB line of ``[],``. Here one pass removes every innermost
    ``[]``, which lowers the deepest point by exactly one once unclosed brackets are closed at the end (every deepest
    point is an opener followed by a closer), and usually leaves little; a C-level running count of the rest stops at
    the first point past the limit.
    """
    brackets = bare.encode("utf-8", "surrogatepass").translate(_SQUARE, _NOT_BRACKETS)
    brackets += b"]" * (2 * brackets.count(b"[") - len(brackets))  # close what is left open (nothing if negative)
    rest = brackets.replace(b"[]", b"")
    deeper = next(filter(limit.__le__, accumulate(map(_STEP.__getitem__, rest))), None)  # limit - 1 after the pass
    return limit if deeper is None else limit + 1


def decode_record(raw: bytes, encoding: str, limits: ReadLimits,
                  shape: tuple[int, int] | None = None) -> tuple[Any, bool]:
    """One record's bytes (UTF-8) → its JSON value, and whether it is clean (see ``RawRecord.clean``).

    ``shape`` is the record's (depth, value count) when the caller measured it already; else it is measured here.

    Raises:
        Unreadable: with the reason (and the offset of a JSON syntax error).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if encoding == "UTF-8":
            raise Unreadable(f"not valid UTF-8 text: byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the "
                              "record") from None
        raise Unreadable(f"not valid {encoding} text") from None
    problem = _shape_errors(*(shape or _shape(text, limits)), limits)
    if problem:
        raise Unreadable(problem)
    hooks = _Hooks()
    try:
        value = json.loads(text, parse_constant=hooks.parse_constant, parse_int=hooks.parse_int,
                           parse_float=hooks.parse_float, object_pairs_hook=hooks.object_pairs)
        # Lone surrogates can only come from \\uD8xx-\\uDFxx escapes (strict UTF-8 refuses encoded ones).
        return value, not hooks.marked and not _SURROGATE_ESCAPE.search(text)
    except json.JSONDecodeError as e:
        raise Unreadable(f"invalid JSON: {e.msg}", e.pos) from None
    except RecursionError:  # not reachable under a sane max_depth; kept so no depth can crash the reader
        raise Unreadable(f"nested deeper than the limit of {limits.max_depth} levels (max_depth)") from None


def strict_loads(raw: bytes, limits: ReadLimits) -> Any:
    """One JSON value from UTF-8 bytes (a leading BOM allowed), refused whole where the reader would refuse a record
    or one of its fields: too large, deep or many-valued, not valid UTF-8 or JSON, or holding what JSON cannot carry
    (NaN, Infinity, an overflowing number, a huge integer, a lone surrogate, a duplicate key). For request bodies.

    Raises:
        Unreadable: with the reason (naming the field where there is one) and, for a JSON syntax error, its offset.
    """
    raw = raw.removeprefix(codecs.BOM_UTF8)
    if len(raw) > limits.max_record_bytes:
        raise Unreadable(too_large(limits))
    value, clean = decode_record(raw, "UTF-8", limits)
    problem = None if clean else find_problem(value, limits.max_depth)
    if problem is not None:
        field, reason = problem
        raise Unreadable(reason if field is None else f"field '{field}': {reason}")
    return value


def too_large(limits: ReadLimits) -> str:
    """The reason given for a record past ``max_record_bytes``."""
    return (f"record is larger than the limit of {limits.max_record_bytes} bytes "
            "(max_record_bytes, CRITICA_MAX_RECORD_BYTES); skipped without reading it whole")


# -- JSONL -----------------------------------------------------------------------------------------------------------


def _jsonl(f: io.BufferedReader, encoding: str, limits: ReadLimits) -> Iterator[RawRecord]:
    cap = limits.max_record_bytes
    lineno = 0
    while line := f.readline(cap + 2):  # content, "\r\n", and one byte more to see that it is too long
        lineno += 1
        where = f"line {lineno}"
        if not line.endswith(b"\n") and len(line) == cap + 2:
            while (rest := f.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass  # the rest of an oversized line, dropped a buffer at a time
            yield RawRecord(where, lineno, error=too_large(limits))
            continue
        line = line.strip(JSON_WS)
        if line.startswith(codecs.BOM_UTF8):  # a BOM inside the file: concatenated files (`cat a.jsonl b.jsonl`)
            line = line[len(codecs.BOM_UTF8):].strip(JSON_WS)
        if not line:
            continue
        if len(line) > cap:
            yield RawRecord(where, lineno, error=too_large(limits))
            continue
        try:
            value, clean = decode_record(line, encoding, limits)
        except Unreadable as e:
            col = "" if e.pos is None else f" at column {e.pos + 1}"
            hint = " (NUL bytes: UTF-16 without a byte order mark? save the file as UTF-8)" \
                if e.pos is not None and line.count(b"\x00") * 3 > len(line) else ""
            yield RawRecord(where, lineno, error=e.reason + col + hint)
        else:
            yield RawRecord(where, lineno, value, clean=clean)


def _looks_like_jsonl(f: io.BufferedReader, suffix: str) -> bool:
    """A file not named ``.jsonl`` is JSONL when it starts with an object and, for ``.json`` files, its first line
    holds a whole JSON value with another line after it (JSONL saved as ``.json``)."""
    head = f.peek(1 << 16)[: 1 << 16]
    body = head.lstrip(JSON_WS)
    if not body.startswith(b"{"):
        return False
    if suffix != ".json":
        return True
    line, nl, rest = body.partition(b"\n")
    if not nl or not rest.lstrip(JSON_WS).startswith(b"{"):
        return False
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


# -- entry point -----------------------------------------------------------------------------------------------------


def iter_records(path: str | Path, limits: ReadLimits | None = None, *, batch_size: int = 1024) -> Iterator[RawRecord]:
    """Every record of a ``.jsonl``, ``.json`` or ``.parquet`` file, in file order, streamed.

    JSONL is read line by line; a JSON file holds an array of records, an object with the array under
    ``items``/``data``/``records`` (the first of them in the file), or one record; a file of JSON lines named
    ``.json`` is read as JSONL. Parquet is read a batch of rows at a time (``batch_size`` at most).

    Raises:
        UserError: the file does not exist, or is not a readable Parquet file.
        MissingDependency: Parquet input without pyarrow.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    limits = limits or ReadLimits()
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        from critica.inputs.parquet import parquet_records

        yield from parquet_records(path, limits, batch_size)
        return
    with _open_utf8(path) as (f, encoding):
        if suffix in (".jsonl", ".ndjson") or _looks_like_jsonl(f, suffix):
            yield from _jsonl(f, encoding, limits)
        else:
            from critica.inputs.jsondoc import DocumentReader

            yield from DocumentReader(f, encoding, limits).records()
