"""critica.jsonio: orjson's speed, the standard library's results (values, and errors) for every input."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critica import jsonio


def _outcome(fn, data):
    """What ``fn(data)`` gives: the value's repr (which tells 1 from 1.0, -0.0 from 0.0 and shows nan), or the
    exception's type."""
    try:
        return "value", repr(fn(data))
    except (ValueError, RecursionError) as e:  # json's errors (UnicodeDecodeError is a ValueError)
        return "error", type(e).__name__


# any character, lone surrogates included (a JSON text may escape one: "\ud800")
_chars = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None)
_scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**80), max_value=2**80)
            | st.floats() | st.text(_chars, max_size=12))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(_chars, max_size=6), inner, max_size=4), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(_values, st.booleans())
def test_loads_reads_every_json_text_as_json_does(value, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert _outcome(jsonio.loads, text) == _outcome(json.loads, text)
    raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate makes invalid UTF-8: both must refuse it
    assert _outcome(jsonio.loads, raw) == _outcome(json.loads, raw)


# texts near JSON: numbers with leading zeros, exponents, cut-off literals, escapes, stray commas ...
_near_json = st.text(st.sampled_from(list('{}[]",:0123456789.eE+-truefalsnNIiy \\u\n')), max_size=40)


@settings(max_examples=600, deadline=None)
@given(_near_json)
def test_loads_agrees_with_json_on_near_json_text(text):
    assert _outcome(jsonio.loads, text) == _outcome(json.loads, text)
    assert _outcome(jsonio.loads, text.encode()) == _outcome(json.loads, text.encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_loads_agrees_with_json_on_any_bytes(raw):
    assert _outcome(jsonio.loads, raw) == _outcome(json.loads, raw)


@pytest.mark.parametrize("text", [
    "123456789012345678901234567890",  # orjson alone would give a float
    "-9223372036854775809", "18446744073709551616", '{"usage": {"prompt_tokens": 99999999999999999999}}',
    "9223372036854775807", "-9223372036854775808", "18446744073709551615",  # the 64-bit edges: exact either way
    "1E400", "-1e400", "NaN", "[Infinity, -Infinity]", '"\\ud800"', "\ufeff{}", '{"a": 1, "a": 2}', "-0", "-0.0",
    "[" * 3000 + "]" * 3000,  # deeper than orjson's limit, within json's
    "[" * 100_000 + "]" * 100_000,  # deeper than json's: RecursionError from both
])
def test_loads_edge_cases(text):
    assert _outcome(jsonio.loads, text) == _outcome(json.loads, text)
    assert _outcome(jsonio.loads, text.encode("utf-8")) == _outcome(json.loads, text.encode("utf-8"))


def test_loads_of_utf16_bytes_as_json():
    raw = '{"verdict": "correct"}'.encode("utf-16")
    assert jsonio.loads(raw) == json.loads(raw) == {"verdict": "correct"}


def _same_value(a, b) -> bool:
    return repr(a) == repr(b) or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


@settings(max_examples=400, deadline=None)
@given(_values)
def test_dumps_writes_the_value_json_writes(value):
    try:
        expected = json.dumps(value).encode()
    except (TypeError, ValueError):
        with pytest.raises((TypeError, ValueError)):
            jsonio.dumps(value)
        return
    got = jsonio.dumps(value)
    assert isinstance(got, bytes)
    # the same value to a reader (json), though the text may differ (no spaces, UTF-8 instead of \\u escapes)
    assert repr(json.loads(got)) == repr(json.loads(expected))


@pytest.mark.parametrize("value", [
    {"temperature": math.nan}, {"t": math.inf}, [-math.inf], math.nan, None, {"a": None}, [1, None],
    {"seed": 2**70}, {1: "a"}, {"messages": [{"role": "user", "content": "é \ud800"}]},
])
def test_dumps_edge_cases_read_back_as_json_writes_them(value):
    got, expected = json.loads(jsonio.dumps(value)), json.loads(json.dumps(value).encode("utf-8", "surrogatepass"))
    assert repr(got) == repr(expected)


def test_dumps_refuses_what_json_refuses():
    with pytest.raises(TypeError):
        jsonio.dumps({"a": object()})


def test_without_orjson_both_are_the_standard_librarys(monkeypatch):
    monkeypatch.setattr(jsonio, "_orjson", False)
    assert jsonio.dumps({"a": [1, "é"]}) == json.dumps({"a": [1, "é"]}).encode()
    assert jsonio.loads(b'{"a": 123456789012345678901234567890}') == {"a": 123456789012345678901234567890}
    with pytest.raises(json.JSONDecodeError):
        jsonio.loads("{")


def test_orjson_is_used_when_installed():
    pytest.importorskip("orjson")
    # orjson's output has no spaces; json.dumps' has: the fast path ran
    assert jsonio.dumps({"a": 1, "b": [1, 2]}) == b'{"a":1,"b":[1,2]}'
