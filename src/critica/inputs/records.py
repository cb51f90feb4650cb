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
  array elements by a byte scanner of our own that keeps one counter per level, not one prefix string per level as
  ``ijson`` does (100,000 nested ``[`` cost ``ijson.items`` ~23 GB, since each level's prefix is as long as the depth).
* **Encodings.** UTF-8 with or without a BOM; UTF-16 and UTF-32 (LE or BE) with a BOM are transcoded to UTF-8 as they
  are read. A record that is not valid text in its encoding is an input error, and only that record.
* **Numbers and strings.** ``NaN``/``Infinity`` literals, numbers that overflow a float (``1e999999``) and integers
  of more than 4,300 digits (Python's own ``int()`` limit) become :class:`Invalid` markers, reported with their field
  by :func:`find_problem` (so ``field 'id': NaN is not a number`` rather than a silent ``"nan"``). So do strings
  holding lone surrogates (``"\\ud800"``), which cannot be encoded and would fail later in SQLite or JSON output.

A JSON array cannot be read past a syntax error (where the next record starts is unknown), so the records before
it are kept and the error names the index, line and column where reading stopped. JSONL resumes at the next line.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import decimal
import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["ReadLimits", "RawRecord", "Invalid", "iter_records", "find_problem", "json_kind"]


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

    def __post_init__(self) -> None:
        for name in ("max_record_bytes", "max_depth", "max_values"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"ReadLimits.{name} must be a positive integer, not {getattr(self, name)!r}")

    @classmethod
    def from_settings(cls, settings: Any) -> ReadLimits:
        """The limits a :class:`~critica.config.Settings` sets, defaults for the rest."""
        given = {k: getattr(settings, k, None) for k in ("max_record_bytes", "max_depth", "max_values")}
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
    """A value the reader refused (NaN, an overflowing number, a huge integer, binary data): reported with its field."""

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

    def constant(self, name: str) -> Invalid:
        self.marked = True
        return Invalid(f"{name} is not a number (JSON has no NaN or Infinity)")

    def int(self, text: str) -> int | Invalid:
        digits = len(text) - text.startswith("-")
        if digits > MAX_INT_DIGITS:
            self.marked = True
            return Invalid(f"an integer of {digits} digits (the limit is {MAX_INT_DIGITS})")
        return int(text)

    def float(self, text: str) -> float | Invalid:
        value = float(text)
        if not math.isfinite(value):
            self.marked = True
            return Invalid(f"the number {text[:24]}{'…' if len(text) > 24 else ''} is too large for a float")
        return value


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

_WS = b" \t\r\n"
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NESTING = re.compile(r"[\[\]{}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _Unreadable(Exception):
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
    """Nesting depth and value count of JSON ``text`` (upper bounds are enough: they are only compared to limits)."""
    opens = text.count("[") + text.count("{")
    values = opens + text.count(",")
    if opens <= limits.max_depth and values <= limits.max_values:
        return opens, values  # cannot be past either limit: skip the exact scan
    bare = _STRING.sub('""', text)  # brackets and commas inside strings are text
    depth = deepest = 0
    for m in _NESTING.finditer(bare):
        depth += 1 if m.group() in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > limits.max_depth:
                break
    return deepest, bare.count("[") + bare.count("{") + bare.count(",")


def _decode(raw: bytes, encoding: str, limits: ReadLimits, shape: tuple[int, int] | None = None) -> tuple[Any, bool]:
    """One record's bytes (UTF-8) → its JSON value, and whether it is clean (see ``RawRecord.clean``).

    Raises:
        _Unreadable: with the reason (and the offset of a JSON syntax error).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if encoding == "UTF-8":
            raise _Unreadable(f"not valid UTF-8 text: byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the "
                              "record") from None
        raise _Unreadable(f"not valid {encoding} text") from None
    problem = _shape_errors(*(shape or _shape(text, limits)), limits)
    if problem:
        raise _Unreadable(problem)
    hooks = _Hooks()
    try:
        value = json.loads(text, parse_constant=hooks.constant, parse_int=hooks.int, parse_float=hooks.float)
        # Lone surrogates can only come from \\uD8xx-\\uDFxx escapes (strict UTF-8 refuses encoded ones).
        return value, not hooks.marked and not _SURROGATE_ESCAPE.search(text)
    except json.JSONDecodeError as e:
        raise _Unreadable(f"invalid JSON: {e.msg}", e.pos) from None
    except RecursionError:  # not reachable under a sane max_depth; kept so no depth can crash the reader
        raise _Unreadable(f"nested deeper than the limit of {limits.max_depth} levels (max_depth)") from None


def _decoded(raw: bytes, encoding: str, limits: ReadLimits, shape: tuple[int, int] | None = None) -> tuple[Any, None, bool]:
    value, clean = _decode(raw, encoding, limits, shape)
    return value, None, clean


def _too_large(limits: ReadLimits) -> str:
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
            yield RawRecord(where, lineno, error=_too_large(limits))
            continue
        line = line.strip(_WS)
        if line.startswith(codecs.BOM_UTF8):  # a BOM inside the file: concatenated files (`cat a.jsonl b.jsonl`)
            line = line[len(codecs.BOM_UTF8):].strip(_WS)
        if not line:
            continue
        if len(line) > cap:
            yield RawRecord(where, lineno, error=_too_large(limits))
            continue
        try:
            yield RawRecord(where, lineno, *_decoded(line, encoding, limits))
        except _Unreadable as e:
            col = "" if e.pos is None else f" at column {e.pos + 1}"
            yield RawRecord(where, lineno, error=e.reason + col)


# -- JSON documents --------------------------------------------------------------------------------------------------

_QUOTE, _BACKSLASH, _COMMA = ord('"'), ord("\\"), ord(",")
_OPENERS = {ord("["): ord("]"), ord("{"): ord("}")}
_CLOSERS = {ord("]"), ord("}")}
_STRING_BODY = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.S)
_SKIP = re.compile(rb'(?:[^"\[\]{},]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+', re.S)  # possessive: no backtracking
_STRUCTURE = frozenset(b"[]{},")
_WRAPPER_KEY = re.compile(rb'[{,\s]"(items|data|records)"\s*:\s*\Z')
_CHUNK = 1 << 20


class _DocumentReader:
    """Splits a JSON document into its records without decoding it: the root array's elements, the elements of the
    first ``items``/``data``/``records`` list of a root object, or else the root object itself (one record).

    The scan follows strings (with escapes) and brackets only, with regex jumps over everything else, so it costs
    one small counter per nesting level and at most one record of buffer. Each record's bytes are then decoded on
    their own, with the depth and value count the scan measured.
    """

    def __init__(self, f: io.BufferedReader, encoding: str, limits: ReadLimits) -> None:
        self.f, self.encoding, self.limits = f, encoding, limits
        self.buf = bytearray()
        self.pos = 0  # scan position in buf
        self.eof = False
        self.dropped_lines = 0  # newlines in the bytes already dropped from buf
        self.dropped_col = 0  # bytes after the last dropped newline
        self.index = 0  # index of the next record

    # buffer ------------------------------------------------------------------------------------------------------

    def _more(self, keep: int) -> bool:
        """Drop buf[:keep] and read another chunk; False at the end of the file."""
        if keep > 0:
            nl = self.buf.rfind(b"\n", 0, keep)
            self.dropped_lines += self.buf.count(b"\n", 0, keep)
            self.dropped_col = keep - nl - 1 if nl >= 0 else self.dropped_col + keep
            del self.buf[:keep]
            self.pos -= keep
        data = self.f.read(_CHUNK)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _where(self, pos: int) -> str:
        nl = self.buf.rfind(b"\n", 0, pos)
        line = self.dropped_lines + self.buf.count(b"\n", 0, pos) + 1
        col = pos - nl if nl >= 0 else self.dropped_col + pos + 1
        return f"line {line} column {col}"

    def _skip_ws(self) -> bool:
        """Move past whitespace; False if the file ends first."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return True
            if not self._more(self.pos):
                return False

    def _stop(self, pos: int, what: str) -> RawRecord:
        return RawRecord(f"index {self.index}", self.index,
                         error=f"invalid JSON at {self._where(pos)}: {what}; the rest of the file is not read")

    # records -----------------------------------------------------------------------------------------------------

    def records(self) -> Iterator[RawRecord]:
        if not self._skip_ws():
            return  # an empty file holds no records
        root = self.buf[self.pos]
        if root not in _OPENERS:
            yield RawRecord("index 0", 0, error="expected a JSON array of records or an object, found "
                            f"{bytes([root])!r} at {self._where(self.pos)}")
            return
        cap, max_depth = self.limits.max_record_bytes, self.limits.max_depth
        buf = self.buf
        stack = bytearray([_OPENERS[root]])  # the closer each open level expects (up to max_depth past the records)
        extra = 0  # levels deeper than the stack keeps
        in_string = False
        # The records' container: the root array (level 1) or a wrapper object's list (level 2, once found);
        # 0 while a root object may still turn out to be the one record, -1 once the records are done.
        rec_level = 1 if root == ord("[") else 0
        pos = self.pos + 1  # scan position in buf (a local: this loop is the reader's hot path)
        start: int | None = pos if rec_level else self.pos  # where the record being read starts in buf
        first = True  # no element yet in the records' array
        oversized = False
        depth = values = 0  # of the record being read, relative to its container
        skip, body_of, structure = _SKIP.match, _STRING_BODY.match, _STRUCTURE
        while True:
            if pos >= len(buf) or (in_string and buf[pos] == _BACKSLASH and pos + 1 >= len(buf)):
                if start is not None and not oversized and len(buf) - start > cap:
                    oversized = True  # from here on its bytes are dropped as they are scanned
                drop = pos - 64  # keep 64 bytes to look back for a wrapper's key
                if start is not None and not oversized:
                    drop = min(drop, start)
                drop = max(0, drop)
                self.pos = pos
                more = self._more(drop)
                pos = self.pos
                if not more:
                    break
                if start is not None:
                    start = max(0, start - drop)
                continue
            if in_string:  # a string longer than the buffer: followed a chunk at a time
                pos = body_of(buf, pos).end()
                if pos < len(buf) and buf[pos] == _QUOTE:
                    in_string = False
                    pos += 1
                continue
            c = buf[pos]
            if c not in structure:
                end = skip(buf, pos).end()  # plain bytes and whole strings, in one step
                if end > pos:
                    pos = end
                else:  # a string that goes on past the buffer
                    in_string = True
                    pos += 1
                continue
            self.pos = pos
            if c == _COMMA:
                if rec_level > 0 and len(stack) + extra == rec_level:
                    assert start is not None
                    body = bytes(buf[start:pos]).strip(_WS) if not oversized else b"?"
                    if not body:
                        yield self._stop(pos, "expected a value before ','")
                        return
                    yield from self._record(start, body, oversized, depth, values)
                    if self._stopped:
                        return
                    first, oversized, depth, values = False, False, 0, 0
                    start = pos + 1
                elif rec_level >= 0:
                    values += 1
                pos += 1
                continue
            if c in _OPENERS:
                level = len(stack) + extra
                if rec_level == 0 and level == 1 and c == ord("[") and root == ord("{") and \
                        _WRAPPER_KEY.search(buf, max(0, pos - 64), pos):
                    rec_level, start, oversized, depth, values = 2, pos + 1, False, 0, 0  # a wrapper's list
                elif rec_level >= 0:
                    depth = max(depth, level - rec_level + 1)
                    values += 1
                if len(stack) <= max_depth + 2:
                    stack.append(_OPENERS[c])
                else:
                    extra += 1
                pos += 1
                continue
            # a closer
            if extra:
                extra -= 1
            elif c != stack[-1]:
                yield self._stop(pos, f"{chr(c)!r} does not close {chr(_opener_of(stack[-1]))!r}")
                return
            else:
                stack.pop()
            level = len(stack) + extra
            if rec_level > 0 and level == rec_level - 1:  # the records' array closes
                assert start is not None
                body = bytes(buf[start:pos]).strip(_WS) if not oversized else b"?"
                if body or not first:
                    if not body:
                        yield self._stop(pos, "expected a value before ']'")
                        return
                    yield from self._record(start, body, oversized, depth, values)
                    if self._stopped:
                        return
                rec_level, start = -1, None  # records done; the rest of the document is only scanned
            pos += 1
            if level == 0:
                break
        self.pos = pos
        yield from self._finish(stack, extra, rec_level, start, oversized, depth, values)

    _stopped = False

    def _record(self, start: int, body: bytes, oversized: bool, depth: int, values: int) -> Iterator[RawRecord]:
        where, key = f"index {self.index}", self.index
        if oversized or len(body) > self.limits.max_record_bytes:
            yield RawRecord(where, key, error=_too_large(self.limits))
        else:
            try:
                yield RawRecord(where, key, *_decoded(body, self.encoding, self.limits, (depth, values + 1)))
            except _Unreadable as e:
                if e.pos is None:
                    yield RawRecord(where, key, error=e.reason)
                else:  # a syntax error: where the next record starts is no longer known
                    lead = len(self.buf[start:]) - len(bytes(self.buf[start:]).lstrip(_WS))
                    at = start + lead + len(body.decode("utf-8")[:e.pos].encode("utf-8"))
                    yield self._stop(at, e.reason.removeprefix("invalid JSON: "))
                    self._stopped = True
        self.index += 1

    def _finish(self, stack: bytearray, extra: int, rec_level: int, start: int | None, oversized: bool,
                depth: int, values: int) -> Iterator[RawRecord]:
        if len(stack) + extra:  # the file ended inside the document
            yield self._stop(len(self.buf), "the file ends inside the document (truncated?)")
            return
        if rec_level == 0:  # a root object without a list of records: it is the one record
            assert start is not None
            body = bytes(self.buf[start:self.pos]).strip(_WS) if not oversized else b"?"
            yield from self._record(start, body, oversized or self.pos - start > self.limits.max_record_bytes,
                                    depth, values)
            if self._stopped:
                return
        if self._skip_ws():
            yield self._stop(self.pos, "unexpected data after the JSON document (one JSON value per line? name "
                                       "the file .jsonl)")


def _opener_of(closer: int) -> int:
    return ord("[") if closer == ord("]") else ord("{")


def _looks_like_jsonl(f: io.BufferedReader, suffix: str) -> bool:
    """A file not named ``.jsonl`` is JSONL when it starts with an object and, for ``.json`` files, its first line
    holds a whole JSON value with another line after it (JSONL saved as ``.json``)."""
    head = f.peek(1 << 16)[: 1 << 16]
    body = head.lstrip(_WS)
    if not body.startswith(b"{"):
        return False
    if suffix != ".json":
        return True
    line, nl, rest = body.partition(b"\n")
    if not nl or not rest.lstrip(_WS).startswith(b"{"):
        return False
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


# -- Parquet ---------------------------------------------------------------------------------------------------------


def _from_arrow(value: Any, limits: ReadLimits) -> tuple[Any, int]:
    """A Parquet row's Python value as JSON data, and its approximate size in bytes. Binary cells that are UTF-8
    become text, others an :class:`Invalid` marker; dates and times become ISO text, decimals exact text."""
    size = 0

    def conv(v: Any, depth: int) -> Any:
        nonlocal size
        size += 8
        if isinstance(v, str):
            size += len(v)
            return v
        if v is None or isinstance(v, (bool, int, float)):
            return v
        if depth > limits.max_depth:
            return Invalid(f"nested deeper than the limit of {limits.max_depth} levels (max_depth)")
        if isinstance(v, dict):
            return {k: conv(x, depth + 1) for k, x in v.items()}
        if isinstance(v, (list, tuple)):  # Arrow maps come as lists of (key, value) tuples
            return [conv(x, depth + 1) for x in v]
        if isinstance(v, (bytes, bytearray)):
            size += len(v)
            try:
                return bytes(v).decode("utf-8")
            except UnicodeDecodeError:
                return Invalid("binary data that is not UTF-8 text")
        if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
            return v.isoformat()
        if isinstance(v, (decimal.Decimal, _dt.timedelta)):
            return str(v)
        return Invalid(f"a {type(v).__name__} value, which JSON cannot hold")

    out = conv(value, 0)
    return out, size


def _parquet(path: Path, limits: ReadLimits, batch_size: int) -> Iterator[RawRecord]:
    from critica.errors import MissingDependency, UserError

    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependency("pyarrow (Parquet input)", "pip install 'critica[batch]'") from None
    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise UserError(f"{path}: not a readable Parquet file ({e})") from None
    row = 0
    for group in range(pf.metadata.num_row_groups):
        meta = pf.metadata.row_group(group)
        # A row group decompresses as a whole: one far larger than its rows may be (a decompression bomb) is refused
        # from its metadata, before it is read.
        if meta.total_byte_size > limits.max_record_bytes * max(1, meta.num_rows):
            for r in range(row, row + meta.num_rows):
                yield RawRecord(f"row {r}", r, error=f"row group {group} holds {meta.total_byte_size} bytes "
                                f"uncompressed for {meta.num_rows} row(s), past max_record_bytes per row")
            row += meta.num_rows
            continue
        per_row = max(1, meta.total_byte_size // max(1, meta.num_rows))
        size = max(1, min(batch_size, (256 << 20) // per_row))  # ~256 MiB of cells per batch at most
        for batch in pf.iter_batches(batch_size=size, row_groups=[group]):
            try:
                rows = batch.to_pylist()
            except Exception:  # noqa: BLE001 - one undecodable cell: convert row by row to find it
                rows = []
                for i in range(batch.num_rows):
                    try:
                        rows.extend(batch.slice(i, 1).to_pylist())
                    except Exception as e:  # noqa: BLE001
                        rows.append(Invalid(f"cannot be read: {type(e).__name__}: {e}"))
            for record in rows:
                where = f"row {row}"
                if isinstance(record, Invalid):
                    yield RawRecord(where, row, error=record.reason)
                else:
                    value, nbytes = _from_arrow(record, limits)
                    if nbytes > limits.max_record_bytes:
                        yield RawRecord(where, row, error=_too_large(limits))
                    else:
                        yield RawRecord(where, row, value)
                row += 1


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
    from critica.errors import UserError

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    limits = limits or ReadLimits()
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        yield from _parquet(path, limits, batch_size)
        return
    with _open_utf8(path) as (f, encoding):
        if suffix in (".jsonl", ".ndjson") or _looks_like_jsonl(f, suffix):
            yield from _jsonl(f, encoding, limits)
        else:
            yield from _DocumentReader(f, encoding, limits).records()
