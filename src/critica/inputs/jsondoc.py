"""Split a JSON document into its records without decoding it (the reader behind ``.json`` inputs).

The records are the root array's elements, the elements of the first ``items``/``data``/``records`` list of a root
object, or else the root object itself. The scan follows strings (with their escapes) and brackets only, jumping
over everything else with one regex, so it holds one byte per nesting level (up to the depth limit, a counter past
it) and at most one record of buffer, whatever the document is. Each record's bytes are then decoded on their own
by :mod:`critica.inputs.records`, with the depth and value count the scan measured.

After a syntax error the position of the next record is unknown (an unbalanced quote turns text into structure),
so reading stops there: the records before it are kept and the error names the index, line and column.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from critica.inputs.records import JSON_WS, RawRecord, ReadLimits, Unreadable, decode_record, too_large

__all__ = ["DocumentReader"]


_QUOTE, _BACKSLASH, _COMMA = ord('"'), ord("\\"), ord(",")
_OPENERS = {ord("["): ord("]"), ord("{"): ord("}")}
_OPENER_OF = {closer: opener for opener, closer in _OPENERS.items()}
_STRING_BODY = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.S)
_SKIP = re.compile(rb'(?:[^"\[\]{},]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+', re.S)  # possessive: no backtracking
_STRUCTURE = frozenset(b"[]{},")
_WRAPPER_KEY = re.compile(rb'[{,\s]"(items|data|records)"\s*:\s*\Z')
_CHUNK = 1 << 20


class DocumentReader:
    """The records of one JSON document, split as the module docstring describes."""

    def __init__(self, f: io.BufferedReader, encoding: str, limits: ReadLimits) -> None:
        self.f, self.encoding, self.limits = f, encoding, limits
        self.buf = bytearray()
        self.pos = 0  # scan position in buf
        self.dropped_lines = 0  # newlines in the bytes already dropped from buf
        self.dropped_col = 0  # bytes after the last dropped newline
        self.index = 0  # index of the next record
        self._stopped = False  # a syntax error ended the reading

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
            while self.pos < len(self.buf) and self.buf[self.pos] in JSON_WS:
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
                    body = bytes(buf[start:pos]).strip(JSON_WS) if not oversized else b"?"
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
                yield self._stop(pos, f"{chr(c)!r} does not close {chr(_OPENER_OF[stack[-1]])!r}")
                return
            else:
                stack.pop()
            level = len(stack) + extra
            if rec_level > 0 and level == rec_level - 1:  # the records' array closes
                assert start is not None
                body = bytes(buf[start:pos]).strip(JSON_WS) if not oversized else b"?"
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

    def _record(self, start: int, body: bytes, oversized: bool, depth: int, values: int) -> Iterator[RawRecord]:
        """The record whose (stripped) bytes ``body`` begin near ``start`` in the buffer; sets ``_stopped`` after a
        syntax error."""
        where, key = f"index {self.index}", self.index
        self.index += 1
        if oversized or len(body) > self.limits.max_record_bytes:
            yield RawRecord(where, key, error=too_large(self.limits))
            return
        try:
            value, clean = decode_record(body, self.encoding, self.limits, (depth, values + 1))
        except Unreadable as e:
            if e.pos is None:
                yield RawRecord(where, key, error=e.reason)
                return
            # A syntax error: where the next record starts is no longer known, so reading stops here.
            self.index -= 1
            lead = len(self.buf) - start - len(bytes(self.buf[start:]).lstrip(JSON_WS))
            at = start + lead + len(body.decode("utf-8")[:e.pos].encode("utf-8"))
            self._stopped = True
            yield self._stop(at, e.reason.removeprefix("invalid JSON: "))
            return
        yield RawRecord(where, key, value, clean=clean)

    def _finish(self, stack: bytearray, extra: int, rec_level: int, start: int | None, oversized: bool,
                depth: int, values: int) -> Iterator[RawRecord]:
        if len(stack) + extra:  # the file ended inside the document
            yield self._stop(len(self.buf), "the file ends inside the document (truncated?)")
            return
        if rec_level == 0:  # a root object without a list of records: it is the one record
            assert start is not None
            body = bytes(self.buf[start:self.pos]).strip(JSON_WS) if not oversized else b"?"
            yield from self._record(start, body, oversized or self.pos - start > self.limits.max_record_bytes,
                                    depth, values)
            if self._stopped:
                return
        if self._skip_ws():
            yield self._stop(self.pos, "unexpected data after the JSON document (one JSON value per line? name "
                                       "the file .jsonl)")
