"""JSON for the dispatch path: orjson's speed with the standard library's results.

Every request posts a JSON body (the messages and, for structured critics, the whole answer schema) and reads two
JSON texts back (the server's answer, then the model's critique in it). With the standard library, encoding and
decoding them was ~10% of the instructions critica spends per request (``benchmarks/dispatch_cost.py``), and under
CPU load that work is what delays the next dispatch. orjson does the same work in a fraction of the instructions.

The results stay those of :mod:`json` wherever the two could differ:

* :func:`loads` falls back to :func:`json.loads` for every text orjson refuses (``NaN``, ``1E400``, a lone
  surrogate, a byte-order mark, UTF-16, nesting deeper than orjson's 1,024 levels, invalid JSON: then the error is
  json's own), and for every text with a run of 19 or more digits: orjson reads an integer outside 64 bits as a float,
  silently, where json keeps it exact.
* :func:`dumps` falls back to :func:`json.dumps` for what orjson cannot encode (an integer outside 64 bits, a
  non-string key, a type it does not know), and for a value holding ``None`` or a non-finite float (orjson writes
  both as ``null``; json writes ``NaN``, ``Infinity``). It writes non-ASCII characters as UTF-8 rather than ``\\uXXXX`` escapes,
  and no spaces between items: the same JSON value to any reader.

Without orjson installed (it is a dependency, but a platform may lack a wheel), both are the standard library's.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "loads"]

_orjson: Any = None
"""orjson, imported on first use (~7 ms: commands that send no request need not pay it); False when missing."""


def _codec() -> Any:
    global _orjson
    if _orjson is None:
        try:
            import orjson
        except ImportError:
            _orjson = False
        else:
            _orjson = orjson
    return _orjson


_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19
"""19 digits: the shortest integer outside 64 bits (-9,223,372,036,854,775,809) has that many."""


def _has_long_digit_run(data: bytes | str) -> bool:
    # every digit made "0", then one substring search: ~1 us for an answer of a few hundred bytes, where a regex
    # search for [0-9]{19} took ~5 us, more than orjson's whole parse. Bytes suffice for a str: UTF-8 encodes no
    # other character with an ASCII digit's byte.
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    return _LONG_RUN in raw.translate(_DIGITS_TO_ZERO)


def dumps(obj: Any) -> bytes:
    """``obj`` as JSON, UTF-8 encoded."""
    codec = _orjson or _codec()
    if codec:
        try:
            out = codec.dumps(obj)
        except TypeError:  # orjson.JSONEncodeError: a big integer, a non-string key, an unknown type
            pass
        else:
            # orjson writes NaN and infinities as null, json as NaN / Infinity: where a null literal stands (after
            # ":", "," or "[", orjson writing no spaces), json decides. A request seldom holds one.
            if b":null" not in out and b",null" not in out and b"[null" not in out and out != b"null":
                return out
    return json.dumps(obj).encode()


def loads(data: bytes | str) -> Any:
    """The value of the JSON text ``data``, as :func:`json.loads` reads it (and raising what it raises)."""
    codec = _orjson or _codec()
    if codec:
        try:
            value = codec.loads(data)
        except ValueError:  # orjson.JSONDecodeError: let json decide, and word the error
            pass
        else:
            if not _has_long_digit_run(data):
                return value
    return json.loads(data)
