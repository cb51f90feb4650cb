"""The raw-record reader (critica.inputs.records): layouts, limits, encodings and the JSON document scanner."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critica.config import Settings
from critica.inputs import jsondoc, records
from critica.inputs.records import Invalid, ReadLimits, find_problem, iter_records


def _read(path, **limits):
    return [(r.location, r.value if r.error is None else ("ERR", r.error)) for r in iter_records(path, ReadLimits(**limits))]


# -- the JSON document scanner against json.loads, across chunk boundaries -------------------------------------------

_text = st.text(alphabet=st.sampled_from(list('ab"\\[]{},: \n\té€😀\x00\u2028')), max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(_json, max_size=6), chunk=st.integers(1, 9), indent=st.sampled_from([None, 0, 2]),
       wrapper=st.sampled_from([None, "items", "data", "records"]), ascii=st.booleans())
def test_documents_split_exactly_as_json_loads_reads_them(tmp_path, monkeypatch, values, chunk, indent, wrapper,
                                                          ascii):
    monkeypatch.setattr(jsondoc, "_CHUNK", chunk)  # records, strings and escapes straddle every buffer boundary
    doc = values if wrapper is None else {"meta": {"items": [1, "]"]}, wrapper: values, "after": "[x"}
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc, indent=indent, ensure_ascii=ascii), encoding="utf-8")
    out = list(iter_records(path))
    assert [r.error for r in out] == [None] * len(values)
    assert [r.value for r in out] == values and [r.location for r in out] == [f"index {i}" for i in range(len(values))]


@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
def test_a_single_object_document_is_one_record(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(jsondoc, "_CHUNK", chunk)
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"question": "q", "xitems": [1, 2], "data": {"items": []}}, indent=1))
    assert _read(path) == [("index 0", {"question": "q", "xitems": [1, 2], "data": {"items": []}})]


def test_scanner_errors_keep_what_came_before_and_name_the_place(tmp_path):
    cases = {
        "[1, 2,]": ["index 2", "line 1 column 7", "expected a value"],
        "[1,,2]": ["index 1", "line 1 column 4", "expected a value"],
        '[{"a": 1},\n {"b": [1}]': ["index 1", "line 2 column 10", "does not close"],
        '[1, {"a" 2}, 3]': ["index 1", "line 1 column 10", "Expecting ':'"],
        "[1, 2": ["index 1", "ends inside the document"],
        "[1] [2]": ["index 1", "line 1 column 5", "after the JSON document"],
        "7": ["index 0", "expected a JSON array of records or an object"],
    }
    for text, want in cases.items():
        path = tmp_path / "e.json"
        path.write_text(text)
        out = list(iter_records(path))
        *before, last = out
        assert all(r.error is None for r in before), text
        assert last.location == want[0] and all(w in last.error for w in want[1:]), (text, last.error)


def test_empty_documents_hold_no_records(tmp_path):
    for text in ("", "  \n ", "[]", " [ \n ] ", '{"items": []}'):
        path = tmp_path / "e.json"
        path.write_text(text)
        assert _read(path) == [], text


def test_per_record_problems_do_not_stop_the_array(tmp_path):
    path = tmp_path / "a.json"
    deep = "[" * 70 + "]" * 70
    path.write_bytes(b'[{"a": "\xff"}, ' + deep.encode() + b', "' + b"x" * 200 + b'", [' + b"1," * 50 + b'1], {"ok": 1}]')
    out = _read(path, max_record_bytes=150, max_values=40)
    assert [loc for loc, _ in out] == ["index 0", "index 1", "index 2", "index 3", "index 4"]
    reasons = [v[1] for _, v in out[:4]]
    assert "not valid UTF-8" in reasons[0] and "max_depth" in reasons[1]
    assert "max_record_bytes" in reasons[2] and "max_values" in reasons[3] and out[4][1] == {"ok": 1}


def _reference_depth(text: str) -> int:
    """The deepest point of a running bracket count outside strings, one bracket at a time."""
    depth = deepest = 0
    for c in records._STRING.sub('""', text):
        depth += (c in "[{") - (c in "]}")
        deepest = max(deepest, depth)
    return deepest


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list('[]{},"\\ a')), max_size=40), max_depth=st.integers(1, 5),
       max_values=st.integers(1, 12))
def test_the_shape_check_refuses_exactly_what_a_running_count_would(text, max_depth, max_values):
    # Unbalanced and out-of-order brackets included: the C-speed depth must agree with the count for any text.
    limits = ReadLimits(max_depth=max_depth, max_values=max_values)
    bare = records._STRING.sub('""', text)
    want = records._shape_errors(_reference_depth(text), bare.count("[") + bare.count("{") + bare.count(","), limits)
    assert records._shape_errors(*records._shape(text, limits), limits) == want


def test_a_wide_shallow_line_is_measured_quickly():
    text = '{"m": [' + "[]," * 10_000_000 + '"[[[["]}'  # 30 MB
    started = time.process_time()  # CPU time of this process: other jobs on a loaded machine don't count
    assert records._shape(text, ReadLimits()) == (64, 20_000_002)  # within max_depth, past max_values
    assert time.process_time() - started < 3  # ~0.5 s; a Python loop over its brackets took ~5.5 s


# -- JSONL -----------------------------------------------------------------------------------------------------------


def test_jsonl_lines_are_independent(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\n   \n\xef\xbb\xbf{"b": 2}\n{bad\n' + b"[" * 65 + b"\n" + b'{"c": 3}')
    out = _read(path)
    assert out[:2] == [("line 1", {"a": 1}), ("line 4", {"b": 2})]  # a BOM inside a file: concatenated files
    assert out[2][0] == "line 5" and "invalid JSON" in out[2][1][1] and "column 2" in out[2][1][1]
    assert out[3][0] == "line 6" and "max_depth" in out[3][1][1]
    assert out[4] == ("line 7", {"c": 3})


def test_a_line_over_the_limit_is_skipped_exactly_at_the_limit(tmp_path):
    path = tmp_path / "a.jsonl"
    ok = b'"' + b"x" * 98 + b'"'  # 100 bytes: at the limit
    path.write_bytes(ok + b"\r\n" + ok[:-1] + b'x"\n' + ok)
    out = _read(path, max_record_bytes=100)
    assert out[0] == ("line 1", "x" * 98) and out[2] == ("line 3", "x" * 98)
    assert out[1][0] == "line 2" and "larger than the limit of 100 bytes" in out[1][1][1]


def test_json_lines_named_json_are_read_as_jsonl(tmp_path):
    path = tmp_path / "lines.json"
    path.write_text('{"a": 1}\n{"a": 2}\n')
    assert _read(path) == [("line 1", {"a": 1}), ("line 2", {"a": 2})]
    path.write_text('{\n"a": 1}\n')  # a pretty-printed document is not
    assert _read(path) == [("index 0", {"a": 1})]


# -- encodings -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le",
                                      "utf-32-be"])
def test_byte_order_marks_select_the_encoding(tmp_path, encoding):
    text = '{"q": "é 漢 😀"}\n{"q": 2}\n'
    path = tmp_path / "a.jsonl"
    bom = "" if encoding in ("utf-8-sig", "utf-16", "utf-32") else "\ufeff"
    path.write_bytes((bom + text).encode(encoding))
    assert _read(path) == [("line 1", {"q": "é 漢 😀"}), ("line 2", {"q": 2})]


def test_a_truncated_utf16_file_fails_only_its_last_record(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(('\ufeff{"a": 1}\n{"b": 2}').encode("utf-16-le")[:-1])
    out = _read(path)
    assert out[0] == ("line 1", {"a": 1}) and out[1][0] == "line 2" and "not valid UTF-16-LE" in out[1][1][1]


# -- values ----------------------------------------------------------------------------------------------------------


def test_markers_and_the_clean_flag(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": [1, 2.5, "x"]}\n{"a": NaN}\n{"a": -Infinity}\n{"a": 1e400}\n{"a": "\\ud83d\\ude00"}\n'
                    '{"a": "\\ud800"}\n')
    out = list(iter_records(path))
    assert out[0].clean and out[0].value == {"a": [1, 2.5, "x"]}
    assert [type(r.value["a"]) for r in out[1:4]] == [Invalid] * 3 and not any(r.clean for r in out[1:4])
    assert out[4].value == {"a": "😀"}  # a surrogate pair is one character, not an error
    assert find_problem(out[4].value) is None and find_problem(out[5].value)[0] == "a"


def test_duplicate_keys_are_markers_naming_the_key(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1, "b": {"c": 1, "c": 1, "c": 2}, "a": 3}\n{"a": {"a": 1}}\n')
    dup, fine = iter_records(path)
    assert not dup.clean and dup.value["b"]["c"].reason.startswith("duplicate key: given 3 times")
    assert find_problem(dup.value)[0] in ("a", "b.c") and fine.clean and fine.value == {"a": {"a": 1}}


def test_find_problem_names_the_path():
    assert find_problem({"a": [{"b": float("nan")}]}) == ("a[0].b", "NaN is not a number (JSON has no NaN or Infinity)")
    assert find_problem({"a": {1: 2}})[0] == "a"
    assert find_problem({"a": b"bytes"}) == ("a", "bytes is not a JSON value")
    assert find_problem([[[1]]], max_depth=2)[1].startswith("nested deeper than the limit of 2")
    deep: list = []
    for _ in range(100_000):  # iterative: no depth can overflow the check itself
        deep = [deep]
    assert "nested deeper" in find_problem(deep)[1]


def test_limits_come_from_settings_and_must_be_positive():
    assert ReadLimits.from_settings(Settings(max_depth=3)) == ReadLimits(max_depth=3)
    assert ReadLimits.from_settings(Settings()) == ReadLimits()
    with pytest.raises(ValueError, match="max_values"):
        ReadLimits(max_values=0)


def test_utf16_without_a_bom_gets_a_hint(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes('{"a": 1}\n'.encode("utf-16-le"))
    first = next(iter_records(path))
    assert first.error is not None and "UTF-16 without a byte order mark" in first.error
