"""Hostile input files: nothing `critica critique` or `critica batch` reads may crash it, exhaust memory, forge data
by silent coercion, or cost a record that is fine.

Each probe writes its file into ``tmp_path`` and runs the commands in-process with the model-free ``verifier``
critic (or, for memory, in a fresh subprocess under an address-space cap, measuring its peak RSS). A probe holds
when every valid record is critiqued, every bad one is an input error naming file, line (or index/row) and field,
and the exit code and summaries say so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import critica
from critica.cli import main
from critica.errors import InputError
from critica.inputs.load import ReadLimits, read_items
from critica.store import Store
from critica.types import Item

SRC = str(Path(critica.__file__).resolve().parents[1])  # the code under test, for subprocesses


def good(i: int, **extra) -> dict:
    return {"id": f"r{i}", "question": f"What is {i} + {i}?", "response": f"{i} + {i} = {2 * i}", **extra}


def line(i: int, **extra) -> bytes:
    return (json.dumps(good(i, **extra)) + "\n").encode()


def critique(path: Path, capsys, *args: str) -> tuple[int, list[dict], str]:
    out = path.parent / f"{path.name}.critiques.jsonl"
    rc = main(["critique", str(path), "-o", str(out), *args])
    err = capsys.readouterr().err
    rows = [json.loads(r) for r in out.read_text().splitlines()] if out.exists() else []
    assert "Traceback" not in err
    return rc, rows, err


def batch(path: Path, capsys, run: str = "r", *args: str):
    db = path.parent / "store.db"
    rc = main(["batch", str(path), "--run", run, "--db", str(db), *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    with Store.open(db) as store:
        info = store.get_run(run)
        ids = [c.item_id for c in store.iter_critiques(run)]
        errors = store.input_errors(run)
    return rc, info, ids, errors, err


def peak_rss_mb(code: str, tmp_path: Path, cap_gb: float = 3.0, timeout: int = 90) -> tuple[int, int, str]:
    """Run ``code`` in a fresh Python under an address-space cap; its exit code, peak RSS (MB) and output."""
    script = tmp_path / "probe.py"
    script.write_text(textwrap.dedent("""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
        rc = 99
        try:
        {code}
        except MemoryError:
            print("MemoryError", file=sys.stderr)
        finally:
            # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child forked from a large pytest
            # process would report the parent's size; VmHWM belongs to this process's own address space.
            hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
            print("PEAK", int(hwm[0].split()[1]) // 1024 if hwm else -1, file=sys.stderr)
        sys.exit(rc)
    """).format(cap=int(cap_gb * 2**30), code=textwrap.indent(textwrap.dedent(code), "    ")))
    env = {**os.environ, "PYTHONPATH": SRC, "CRITICA_HOME": str(tmp_path / "home")}
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=timeout, env=env,
                       cwd=tmp_path)
    peak = int(p.stderr.rsplit("PEAK", 1)[1].split()[0]) if "PEAK" in p.stderr else -1
    return p.returncode, peak, p.stderr


def read_items_rss(path: Path, tmp_path: Path, **kw) -> tuple[int, int, str]:
    """``read_items`` over ``path`` in a fresh capped Python (:func:`peak_rss_mb`); its output lists each record as
    its id or ``location: reason``."""
    return peak_rss_mb(f"""
        from critica.inputs.load import read_items
        out = [(getattr(r, "id", None) or r.location + ": " + r.reason) for r in read_items({str(path)!r})]
        print(out, file=sys.stderr)
        rc = 0
    """, tmp_path, **kw)


# -- size and nesting --------------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_200kb_file_of_nested_brackets_does_not_grow_batch_memory(tmp_path):
    # The file: 100,000 nested '[' (and their ']'), 200 KB. It grew `critica batch` to 23 GB.
    bomb = tmp_path / "bomb.json"
    bomb.write_text("[" * 100_000 + "]" * 100_000)
    rc, peak, err = peak_rss_mb(f"""
        from critica.cli import main
        from critica.store import Store
        rc = main(["batch", {str(bomb)!r}, "--run", "bomb", "--db", "store.db"])
        print("ERRORS", Store.open("store.db").input_errors("bomb"), file=sys.stderr)
    """, tmp_path)
    assert "MemoryError" not in err and rc == 1, err[-2000:]
    assert "location='index 0'" in err and "max_depth" in err
    assert peak < 400, f"peak RSS {peak} MB"


@pytest.mark.timeout(120)
def test_a_line_of_tiny_values_is_refused_before_it_is_decoded(tmp_path):
    # 30 MB of "[]," decode to 10 million lists (~700 MB): refused by the value-count limit, without decoding.
    path = tmp_path / "values.jsonl"
    with path.open("wb") as f:
        f.write(line(0))
        f.write(b'{"id": "v", "question": "q", "response": "r", "m": [' + b"[]," * 10_000_000 + b"[]]}\n")
        f.write(line(1))
    rc, peak, err = read_items_rss(path, tmp_path)
    assert rc == 0, err[-2000:]
    assert "'r0'" in err and "'r1'" in err and "max_values" in err
    assert peak < 400, f"peak RSS {peak} MB"


@pytest.mark.timeout(120)
def test_a_one_gigabyte_line_without_newline_is_skipped_without_holding_it(tmp_path):
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as f:
        f.write(line(0))
        f.seek(f.tell() + 2**30)  # a sparse gigabyte of NUL bytes: the second line
        f.write(b"\n" + line(1) + b"x" * 1000)  # and a last line that never ends
    rc, peak, err = read_items_rss(path, tmp_path, timeout=110)
    assert rc == 0, err[-2000:]
    assert "'r0'" in err and "'r1'" in err and "line 2: record is larger than the limit" in err
    assert peak < 400, f"peak RSS {peak} MB"


@pytest.mark.timeout(60)
def test_deep_nesting_inside_one_jsonl_line_fails_that_line_only(tmp_path, capsys):
    path = tmp_path / "deep.jsonl"
    path.write_bytes(line(0) + b'{"id": "d", "question": "q", "response": "r", "m": ' + b"[" * 100_000
                     + b"]" * 100_000 + b"}\n" + line(1))
    rc, rows, err = critique(path, capsys)
    assert rc == 1 and sorted(r["item_id"] for r in rows) == ["r0", "r1"]
    assert "deep.jsonl:line 2" in err and "max_depth" in err
    rc, info, ids, errors, _ = batch(path, capsys)
    assert rc == 1 and sorted(ids) == ["r0", "r1"] and info.status == "finished"
    assert [(e.location, "max_depth" in e.reason) for e in errors] == [("line 2", True)]


@pytest.mark.timeout(60)
def test_an_oversized_or_deep_json_array_element_costs_only_itself(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CRITICA_MAX_RECORD_BYTES", "4096")
    path = tmp_path / "arr.json"
    deep: list = [1]
    for _ in range(70):
        deep = [deep]
    path.write_text("[" + json.dumps(good(0)) + ", " + json.dumps(good(1, big="x" * 10_000)) + ", "
                    + json.dumps(good(2, m=deep)) + ", " + json.dumps(good(3)) + "]")
    for run in (critique, batch):
        out = run(path, capsys)
        assert out[0] == 1
        ids = [r["item_id"] for r in out[1]] if run is critique else out[2]
        assert sorted(ids) == ["r0", "r3"]
    errors = out[3]
    assert [e.location for e in errors] == ["index 1", "index 2"]
    assert "max_record_bytes" in errors[0].reason and "max_depth" in errors[1].reason


@pytest.mark.timeout(60)
def test_a_deep_sibling_of_the_items_list_does_not_stop_the_read(tmp_path, capsys):
    path = tmp_path / "wrapped.json"
    path.write_text('{"meta": ' + "[" * 50_000 + "]" * 50_000 + ', "items": ['
                    + ", ".join(json.dumps(good(i)) for i in range(3)) + "]}")
    rc, rows, err = critique(path, capsys)
    assert rc == 0 and sorted(r["item_id"] for r in rows) == ["r0", "r1", "r2"], err


# -- encodings -----------------------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_one_invalid_byte_or_binary_line_loses_no_other_record(tmp_path, capsys):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"".join(line(i) for i in range(3))
                     + b'{"id": "x", "question": "caf\xe9", "response": "r"}\n'
                     + b"\x00\x9f\x92\x96\xff\xfe binary \x00\x00\n"
                     + b"".join(line(i) for i in range(3, 141)))
    rc, rows, err = critique(path, capsys)
    assert rc == 1 and len(rows) == 141
    assert "mixed.jsonl:line 4: not valid UTF-8" in err and "mixed.jsonl:line 5: not valid UTF-8" in err
    rc, info, ids, errors, _ = batch(path, capsys)
    assert rc == 1 and len(ids) == 141 and info.status == "finished"
    assert [e.location for e in errors] == ["line 4", "line 5"]


@pytest.mark.timeout(60)
def test_a_utf8_bom_keeps_the_first_record(tmp_path, capsys):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + line(0) + line(1))
    rc, rows, _ = critique(path, capsys)
    assert rc == 0 and sorted(r["item_id"] for r in rows) == ["r0", "r1"]
    rc, _, ids, errors, _ = batch(path, capsys)
    assert rc == 0 and sorted(ids) == ["r0", "r1"] and errors == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_utf16_and_utf32_files_with_a_bom_are_read(tmp_path, capsys, encoding, suffix):
    records = [good(0, question="Combien font 2 + 2 ? é ü 漢字 😀"), good(1)]
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records) if suffix == ".jsonl" \
        else json.dumps(records, ensure_ascii=False)
    path = tmp_path / f"wide{suffix}"
    path.write_bytes(("\ufeff" + text).encode(encoding))
    items = list(read_items(path))
    assert [i.question for i in items] == [r["question"] for r in records]
    rc, rows, _ = critique(path, capsys)
    assert rc == 0 and sorted(r["item_id"] for r in rows) == ["r0", "r1"]


@pytest.mark.timeout(60)
def test_invalid_utf16_costs_only_its_record(tmp_path):
    path = tmp_path / "bad16.jsonl"
    path.write_bytes(b"\xff\xfe" + json.dumps(good(0)).encode("utf-16-le") + "\n".encode("utf-16-le")
                     + b"\x00\xd8" + json.dumps(good(1)).encode("utf-16-le") + "\n".encode("utf-16-le")
                     + json.dumps(good(2)).encode("utf-16-le") + "\n".encode("utf-16-le"))
    out = list(read_items(path))
    assert [r.id if isinstance(r, Item) else r.location for r in out] == ["r0", "line 2", "r2"]
    assert "not valid UTF-16-LE" in out[1].reason


# -- JSON syntax ---------------------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_syntax_error_mid_array_keeps_the_records_before_it_in_both_commands(tmp_path, capsys):
    path = tmp_path / "arr.json"
    path.write_text("[\n" + ",\n".join(json.dumps(good(i)) for i in range(5)) + ',\n{"id": "bad" "q"},\n'
                    + ",\n".join(json.dumps(good(i)) for i in range(5, 9)) + "\n]")
    rc, rows, err = critique(path, capsys)
    assert rc == 1 and sorted(r["item_id"] for r in rows) == [f"r{i}" for i in range(5)]
    assert "arr.json:index 5: invalid JSON at line 7 column 14" in err
    rc, info, ids, errors, err = batch(path, capsys)
    assert rc == 1 and sorted(ids) == [f"r{i}" for i in range(5)] and info.status == "finished"
    assert [(e.location, "line 7 column 14" in e.reason) for e in errors] == [("index 5", True)]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", ["42", '"just a string"', "null", "", "\n" * 10_000, "[1, 2] [3]", "{\"a\": 1}}"])
def test_odd_json_documents_are_input_errors_or_empty(tmp_path, capsys, text):
    path = tmp_path / "odd.json"
    path.write_text(text)
    rc, rows, err = critique(path, capsys)
    assert rows == [] and rc in (0, 1) and (rc == 0) == (text.strip() == "")


@pytest.mark.timeout(60)
def test_a_file_of_newlines_and_nul_bytes_is_read_without_crashing(tmp_path, capsys):
    path = tmp_path / "blank.jsonl"
    path.write_bytes(b"\n" * 50_000 + line(0) + b"\r\n\r\n" + b'{"id": "n", "question": "a\x00b", "response": "r"}\n'
                     + b"\x00" * 5000 + b"\n" + line(1))
    rc, rows, err = critique(path, capsys)
    assert rc == 1 and sorted(r["item_id"] for r in rows) == ["r0", "r1"]
    assert "blank.jsonl:line 50004: invalid JSON" in err and "blank.jsonl:line 50005: invalid JSON" in err


@pytest.mark.timeout(60)
def test_json_scalars_as_records_are_input_errors(tmp_path, capsys):
    path = tmp_path / "scalars.jsonl"
    path.write_bytes(line(0) + b'42\n"text"\nnull\ntrue\n[1, 2]\n' + line(1))
    rc, rows, err = critique(path, capsys)
    assert rc == 1 and sorted(r["item_id"] for r in rows) == ["r0", "r1"]
    assert err.count("expected a JSON object") == 5


# -- duplicate ids -------------------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_duplicate_ids_are_input_errors_before_any_work_in_both_commands(tmp_path, capsys):
    path = tmp_path / "dup.jsonl"
    path.write_bytes(line(0) + json.dumps(good(0, question="What is 7 + 7?", response="7 + 7 = 15")).encode()
                     + b"\n" + line(1))
    rc, rows, err = critique(path, capsys)
    assert rc == 1 and sorted(r["item_id"] for r in rows) == ["r0", "r1"]  # the duplicate was never critiqued
    assert "dup.jsonl:line 2: field 'id': duplicate id 'r0'" in err
    rc, info, ids, errors, err = batch(path, capsys)
    last = info.totals["last_invocation"]
    assert rc == 1 and sorted(ids) == ["r0", "r1"]
    assert (last["items"], last["input_errors"]) == (2, 1) == (info.critiques, info.input_errors)  # one story
    assert [(e.location, e.field) for e in errors] == [("line 2", "id")]
    # Resumed: the stored ids are skipped ("resumed"), and the same-file duplicate is reported again, once stored.
    rc, info, ids, errors, err = batch(path, capsys)
    last = info.totals["last_invocation"]
    assert rc == 1 and (last["items"], last["skipped"], last["input_errors"]) == (0, 2, 1)
    assert len(errors) == 1 and sorted(ids) == ["r0", "r1"]


# -- silent coercions ----------------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("record,field", [
    ('{"id": ["list-id"], "question": "q", "response": "r"}', "id"),
    ('{"id": {"a": 1}, "question": "q", "response": "r"}', "id"),
    ('{"id": NaN, "question": "q", "response": "r"}', "id"),
    ('{"id": 1.5, "question": "q", "response": "r"}', "id"),
    ('{"id": true, "question": "q", "response": "r"}', "id"),
    ('{"id": null, "question": "q", "response": "r"}', "id"),
    ('{"id": "s", "question": "q", "steps": "one string, many steps. Step 2: more"}', "steps"),
    ('{"id": "s", "question": "q", "response": "r", "evidence": "a passage"}', "evidence"),
    ('{"id": "s", "question": "q", "response": "r", "tests": ["assert f(1) == 2", 3]}', "tests[1]"),
    ('{"id": "s", "question": {"text": "q"}, "response": "r"}', "question"),
    ('{"id": "s", "question": 12, "response": "r"}', "question"),
    ('{"id": "s", "question": "q", "response": "r", "reference_answer": NaN}', "reference_answer"),
    ('{"id": "s", "question": "q", "response": "r", "reference_answer": 0.1}', "reference_answer"),
    ('{"id": "s", "question": "q", "response": "r", "metadata": "not an object"}', "metadata"),
    ('{"id": "s", "question": "q", "response": "r", "score": Infinity}', "score"),
    ('{"id": "s", "question": "q", "response": "r", "score": -Infinity}', "score"),
    ('{"id": "s", "question": "q", "response": "r", "x": {"y": [1, NaN]}}', "x.y[1]"),
    ('{"id": "s", "question": "benign", "response": "r", "question": "evil"}', "question"),
    ('{"id": "s", "question": "q", "response": "r", "x": [{"y": 1, "z": 0, "y": 2}]}', "x[0].y"),
])
def test_silent_coercions_are_field_errors(tmp_path, capsys, record, field):
    path = tmp_path / "coerce.jsonl"
    path.write_bytes(line(0) + record.encode() + b"\n" + line(1))
    rc, rows, err = critique(path, capsys)
    assert rc == 1 and sorted(r["item_id"] for r in rows) == ["r0", "r1"]
    assert f"coerce.jsonl:line 2: field '{field}':" in err


@pytest.mark.timeout(60)
def test_integer_ids_and_references_stay_as_their_digits(tmp_path):
    path = tmp_path / "ints.jsonl"
    path.write_text('{"id": 12345678901234567890123, "question": "q", "response": "r", "target": 42}\n')
    (item,) = read_items(path)
    assert item.id == "12345678901234567890123" and item.reference_answer == "42"


@pytest.mark.timeout(60)
def test_huge_numbers_are_field_errors_not_crashes(tmp_path, capsys):
    path = tmp_path / "numbers.jsonl"
    path.write_bytes(line(0) + b'{"id": "f", "question": "q", "response": "r", "n": 1e999999}\n'
                     + b'{"id": "i", "question": "q", "response": "r", "n": ' + b"7" * 100_000 + b"}\n"
                     + b'{"id": ' + b"9" * 100_000 + b', "question": "q", "response": "r"}\n' + line(1))
    rc, rows, err = critique(path, capsys)
    assert rc == 1 and sorted(r["item_id"] for r in rows) == ["r0", "r1"]
    assert "line 2: field 'n': the number 1e999999 is too large" in err
    assert "line 3: field 'n': an integer of 100000 digits" in err and "line 4: field 'id'" in err
    rc, info, ids, errors, _ = batch(path, capsys)
    assert rc == 1 and sorted(ids) == ["r0", "r1"] and len(errors) == 3 and info.status == "finished"


@pytest.mark.timeout(60)
def test_lone_surrogate_escapes_are_field_errors_and_the_run_completes(tmp_path, capsys):
    path = tmp_path / "surrogates.jsonl"
    path.write_bytes(line(0) + b'{"id": "s1", "question": "q\\ud800", "response": "r"}\n'
                     + b'{"id": "s2", "question": "q", "response": "r", "meta": {"k\\udfff": 1}}\n' + line(1))
    rc, rows, err = critique(path, capsys)
    assert rc == 1 and sorted(r["item_id"] for r in rows) == ["r0", "r1"]
    assert "line 2: field 'question': holds a lone surrogate" in err and "line 3: field 'meta'" in err
    rc, info, ids, errors, _ = batch(path, capsys)
    assert rc == 1 and sorted(ids) == ["r0", "r1"] and len(errors) == 2 and info.status == "finished"


@pytest.mark.timeout(60)
def test_a_ten_megabyte_string_field_is_read_exactly(tmp_path):
    big = "∑ step; " * 1_250_000  # 10 MB as UTF-8
    path = tmp_path / "big.jsonl"
    path.write_bytes(line(0) + (json.dumps(good(5, response=big), ensure_ascii=False) + "\n").encode() + line(1))
    out = list(read_items(path))
    assert [r.id for r in out] == ["r0", "r5", "r1"] and out[1].response == big


@pytest.mark.timeout(60)
def test_keys_colliding_in_metadata_are_errors_and_aliases_lose_nothing(tmp_path):
    path = tmp_path / "alias.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "q", "response": "r", "label": 2, "metadata": {"label": 1}})
                    + "\n" + json.dumps({"id": "b", "question": "first", "problem": "second", "response": "r"}) + "\n")
    err, item = list(read_items(path))
    assert isinstance(err, InputError) and err.field == "label" and "metadata" in err.reason
    assert isinstance(item, Item) and item.question == "first" and item.metadata["problem"] == "second"


@pytest.mark.timeout(60)
def test_hostile_parquet_cells_fail_their_row_only(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({
        "id": pa.array([1.0, float("nan"), 3.0, 4.0]).cast(pa.float64()),
        "question": ["q"] * 4, "response": ["r"] * 4,
        "blob": pa.array([b"ok", b"fine", b"\xff\xfe", b"also ok"], type=pa.binary()),
    })
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path)
    out = list(read_items(path))
    assert all(isinstance(r, InputError) for r in out)  # float ids are refused (1.0 is not "1")
    table = table.set_column(0, "id", pa.array(["a", "b", "c", "d"]))
    table = table.append_column("score", pa.array([0.5, float("nan"), 1.0, 2.0]))
    pq.write_table(table, path)
    out = list(read_items(path))
    assert [getattr(r, "id", None) or (r.location, r.field) for r in out] == \
        ["a", ("row 1", "score"), ("row 2", "blob"), "d"]
    rc, info, ids, errors, _ = batch(path, capsys)
    assert rc == 1 and sorted(ids) == ["a", "d"] and len(errors) == 2


_REPEATED_TEXT_PARQUET = """
import sys
import pyarrow as pa, pyarrow.parquet as pq
path, layout, n = sys.argv[1], sys.argv[2], 300
big = "x" * (1 << 20)
columns = {"id": [f"r{i}" for i in range(n)], "question": ["q"] * n, "response": [big] * n}
if layout == "nested dictionary":
    columns["response"], columns["steps"] = ["r"] * n, [[big, "s"]] * n
kw = {"dictionary_pagesize_limit": 4 << 20}  # the writer's default: dictionary-encode text, the value stored once
if layout == "delta":  # each value stored as 'all of the one before'
    kw = {"use_dictionary": False, "column_encoding": {"response": "DELTA_BYTE_ARRAY"}}
pq.write_table(pa.table(columns), path, compression="zstd", store_schema=False, **kw)
"""


@pytest.mark.timeout(180)
@pytest.mark.parametrize("layout", ["dictionary", "nested dictionary", "delta"])
def test_a_small_parquet_file_of_repeated_text_is_read_in_bounded_memory(tmp_path, layout):
    # 300 rows of one 1 MiB text in a file of a few KB: read a batch at a time, it held ~650 MB (the row group's
    # metadata counts encoded bytes); now each row is sized in Arrow and rows are converted ~16 MiB at a time.
    pytest.importorskip("pyarrow")
    path = tmp_path / "repeated.parquet"
    subprocess.run([sys.executable, "-c", _REPEATED_TEXT_PARQUET, str(path), layout], check=True, timeout=120)
    assert path.stat().st_size < 100_000
    rc, peak, err = read_items_rss(path, tmp_path, timeout=170)
    assert rc == 0, err[-2000:]
    assert "'r0'" in err and "'r299'" in err and "row " not in err
    assert peak < 400, f"peak RSS {peak} MB"


@pytest.mark.timeout(60)
def test_a_parquet_row_past_the_size_limit_is_refused_before_it_is_converted(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    big = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0] + [1] * 7, pa.int32()), pa.array(["x" * 3000, "fine"]))
    pq.write_table(pa.table({"id": [f"r{i}" for i in range(10)], "question": ["q"] * 10, "response": big}),
                   tmp_path / "t.parquet")
    out = list(read_items(tmp_path / "t.parquet", limits=ReadLimits(max_record_bytes=2000)))
    assert [getattr(r, "id", None) or r.location for r in out] == ["row 0", "r1", "row 2", *(f"r{i}" for i in range(3, 10))]
    assert "larger than the limit of 2000 bytes" in out[0].reason


@pytest.mark.timeout(60)
def test_a_parquet_row_group_pyarrow_cannot_decode_fails_its_rows_not_the_reader(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    ids = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["a", "b"]))
    path = tmp_path / "t.parquet"  # stored as a dictionary column in an encoding pyarrow cannot read as one
    pq.write_table(pa.table({"id": ids, "question": ["q", "q"], "response": ["r", "r"]}), path, use_dictionary=False,
                   column_encoding={"id": "DELTA_BYTE_ARRAY"})
    out = list(read_items(path))
    assert [r.location for r in out] == ["row 0", "row 1"] and "row group 0 cannot be read" in out[0].reason


# -- limits are configurable ---------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_limits_are_configurable_and_named_in_the_error(tmp_path, capsys, monkeypatch):
    path = tmp_path / "limits.jsonl"
    path.write_bytes(line(0) + json.dumps(good(1, m=[[["deep"]]])).encode() + b"\n" + line(2, pad="x" * 500))
    monkeypatch.setenv("CRITICA_MAX_DEPTH", "3")
    monkeypatch.setenv("CRITICA_MAX_RECORD_BYTES", "300")
    rc, rows, err = critique(path, capsys)
    assert rc == 1 and sorted(r["item_id"] for r in rows) == ["r0"]
    assert "line 2: field 'm': nested deeper than the limit of 3 levels" in err or "line 2: nested deeper" in err
    assert "line 3: record is larger than the limit of 300 bytes (max_record_bytes, CRITICA_MAX_RECORD_BYTES)" in err


def test_rescore_reads_hostile_released_outputs_record_by_record(tmp_path):
    """Released generations go through the same bounded reader: deep nesting, a bad byte, NaN cost one record."""
    from critica.rescore.base import iter_objects

    good = {"id": "a", "x": 1}
    lines = [json.dumps(good).encode(), b"[" * 100_000, b"\xff\xfe binary", b'{"id": "n", "x": NaN}',
             json.dumps({**good, "id": "b"}).encode()]
    path = tmp_path / "released.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    out = list(iter_objects(path))
    assert [r["id"] for _, r in out if isinstance(r, dict)] == ["a", "b"]
    assert sum(isinstance(r, InputError) for _, r in out) == 3
    arr = tmp_path / "released.json"
    arr.write_bytes(b"[" + json.dumps(good).encode() + b"," + b"[" * 100_000)
    out = list(iter_objects(arr))
    assert isinstance(out[0][1], dict) and isinstance(out[-1][1], InputError) and len(out) == 2


def test_rescore_reads_under_the_configured_limits(tmp_path, monkeypatch):
    from critica.rescore.base import iter_objects

    path = tmp_path / "released.jsonl"
    path.write_text(json.dumps({"id": "a", "m": [[["deep"]]]}) + "\n" + json.dumps({"id": "b", "x": "y" * 500}) + "\n"
                    + json.dumps({"id": "c"}) + "\n")
    assert all(isinstance(r, dict) for _, r in iter_objects(path))
    monkeypatch.setenv("CRITICA_MAX_DEPTH", "3")
    monkeypatch.setenv("CRITICA_MAX_RECORD_BYTES", "300")
    out = [r for _, r in iter_objects(path)]
    assert [r.location for r in out[:2]] == ["line 1", "line 2"] and out[2] == {"id": "c"}
    assert "CRITICA_MAX_DEPTH" in out[0].reason and "CRITICA_MAX_RECORD_BYTES" in out[1].reason
