"""`critica runs`: list/show/export/rm over a store, in-process."""

from __future__ import annotations

import io
import json

import pytest

from critica.cli import main
from critica.store import Store
from critica.types import Critique, Item, Score, Verdict


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "c.db"
    with Store.open(path) as store:
        store.create_run("grm", {"critic": "principles"}, protocol="principles", model="openai:x")
        store.add_critique("grm", Critique(item_id="a", critic="principles", verdict=Verdict.CORRECT,
                                            score=Score(value=9), metadata={"scores": [9, 2]}),
                           Item(id="a", question="Say hi", response="Hello!", candidates=["Go away."], metadata={"label": -1}))
        store.add_critique("grm", Critique(item_id="b", critic="principles", verdict=Verdict.UNSCORED,
                                            parse_status="failed"), Item(id="b", question="q", response="r"))
    return path


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_export_formats(db, tmp_path):
    out = tmp_path / "x.jsonl"
    assert main(["runs", "export", "grm", "--format", "dpo", "--out", str(out), "--db", str(db)]) == 0
    (row,) = _rows(out)
    assert (row["prompt"], row["chosen"], row["rejected"]) == ("Say hi", "Hello!", "Go away.")
    assert main(["runs", "export", "grm", "--format", "kto", "--out", str(out), "--db", str(db)]) == 0
    assert {(r["completion"], r["label"]) for r in _rows(out)} == {("Hello!", True), ("Go away.", False)}
    assert main(["runs", "export", "grm", "--format", "listwise", "--out", str(out), "--db", str(db)]) == 0
    assert _rows(out)[0]["completions"] == ["Hello!", "Go away."]
    assert main(["runs", "export", "grm", "--format", "sft", "--gold-key", "label", "--out", str(out), "--db", str(db)]) == 0
    (sft,) = _rows(out)
    assert sft["item_id"] == "a" and "Verdict: correct" in sft["completion"]
    assert main(["runs", "export", "grm", "--with-items", "--out", str(out), "--db", str(db)]) == 0
    assert [(r["item_id"], r["item"]["id"]) for r in _rows(out)] == [("a", "a"), ("b", "b")]


def test_export_parquet_by_suffix(db, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "x.parquet"
    assert main(["runs", "export", "grm", "--out", str(out), "--db", str(db)]) == 0
    assert pq.read_table(out).column("item_id").to_pylist() == ["a", "b"]


def test_bad_format_and_unknown_run_are_user_errors(db, capsys):
    assert main(["runs", "export", "grm", "--format", "csv", "--db", str(db)]) == 2
    assert main(["runs", "export", "nope", "--db", str(db)]) == 2
    assert "no run named 'nope'" in capsys.readouterr().err


def test_list_show_and_rm(db, capsys, monkeypatch):
    assert main(["runs", "list", "--db", str(db)]) == 0
    assert "grm" in capsys.readouterr().out  # a result table: stdout (critica.report.tables)
    assert main(["runs", "show", "grm", "--db", str(db)]) == 0
    assert "principles" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["runs", "rm", "grm", "--db", str(db)]) == 0  # confirmation declined: kept
    assert Store.open(db).get_run("grm") is not None
    assert main(["runs", "rm", "grm", "--yes", "--db", str(db)]) == 0
    assert Store.open(db).get_run("grm") is None
