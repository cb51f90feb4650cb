"""The SQLite store: blank-database schema, runs, one critique per item, filters, paging, input errors."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from critica.errors import InputError, UserError
from critica.store import Store, default_home
from critica.store.migrations import MIGRATIONS, applied, migrate
from critica.types import Critique, Item, ParseStatus, Score, Verdict

EXPECTED_SCHEMA = {
    "_migrations": ["name", "applied_at"],
    "runs": ["id", "name", "config", "model", "protocol", "source", "status", "started_at", "ended_at", "totals"],
    "items": ["run_id", "item_id", "item"],
    "critiques": ["id", "run_id", "item_id", "critic", "verdict", "first_error_step", "parse_status", "score",
                  "error", "created_at", "critique", "failed"],
    "input_errors": ["id", "run_id", "source", "location", "field", "reason", "created_at"],
    "call_cache": ["key", "model", "request", "completion", "prompt_tokens", "completion_tokens", "latency_s",
                   "created_at", "hits", "last_hit_at"],
}


def _item(i: int) -> Item:
    return Item(id=f"i{i}", question=f"q{i}", response=f"r{i}")


def _crit(i: int, verdict: Verdict = Verdict.CORRECT, **kw) -> Critique:
    return Critique(item_id=f"i{i}", critic=kw.pop("critic", "c"), verdict=verdict, **kw)


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "critica.db")
    yield s
    s.close()


def test_blank_database_schema(tmp_path):
    conn = sqlite3.connect(tmp_path / "blank.db")
    assert migrate(conn) == [m.__name__ for m in MIGRATIONS]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == set(EXPECTED_SCHEMA)
    for table, columns in EXPECTED_SCHEMA.items():
        assert [r[1] for r in conn.execute(f"PRAGMA table_info({table})")] == columns
    assert migrate(conn) == []  # idempotent
    assert applied(conn) == [m.__name__ for m in MIGRATIONS]


def test_unique_run_item_constraint_is_in_the_schema(tmp_path):
    conn = sqlite3.connect(tmp_path / "blank.db")
    migrate(conn)
    conn.execute("INSERT INTO runs (name, started_at) VALUES ('r', 'now')")
    insert = ("INSERT INTO critiques (run_id, item_id, critic, verdict, parse_status, created_at, critique) "
              "VALUES (1, 'a', 'c', 'correct', 'ok', 'now', '{}')")
    conn.execute(insert)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(insert)


def test_default_home_follows_critica_home(monkeypatch, tmp_path):
    monkeypatch.setenv("CRITICA_HOME", str(tmp_path / "h"))
    assert default_home() == tmp_path / "h"
    s = Store.open()
    assert s.path == tmp_path / "h" / "critica.db" and s.path.is_file()
    assert s._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()


def test_runs_lifecycle(store):
    info = store.create_run("r1", {"temperature": 0}, model="m", protocol="processbench", source="x.jsonl")
    assert (info.name, info.model, info.protocol, info.source, info.status) == ("r1", "m", "processbench", "x.jsonl", "running")
    with pytest.raises(UserError, match="already exists"):
        store.create_run("r1")
    assert store.create_run("r1", exist_ok=True).config == {"temperature": 0}
    store.create_run("r2")
    assert [r.name for r in store.list_runs()] == ["r2", "r1"]
    store.finish_run("r1", {"items": 0})
    r1 = store.get_run("r1")
    assert r1.status == "finished" and r1.ended_at and r1.totals == {"items": 0}
    assert store.delete_run("r1") and not store.delete_run("r1")
    assert store.get_run("r1") is None
    with pytest.raises(UserError, match="no run named"):
        store.add_critique("r1", _crit(0))


def test_one_critique_per_item_and_items_kept(store):
    store.create_run("r")
    assert store.add_critique("r", _crit(1), _item(1))
    assert not store.add_critique("r", _crit(1, Verdict.INCORRECT), _item(1))
    assert store.count_critiques("r") == 1
    assert store.get_critique("r", "i1").verdict == Verdict.CORRECT
    assert store.get_item("r", "i1") == _item(1)
    assert store.get_critique("r", "nope") is None


def test_filters_and_paging(store):
    store.create_run("r")
    store.create_run("other")
    for i in range(1203):
        v = Verdict.INCORRECT if i % 3 == 0 else Verdict.CORRECT
        store.add_critique("r", _crit(i, v, first_error_step=0 if v == Verdict.INCORRECT else None,
                                      score=Score(value=i % 10 + 1)), _item(i))
    store.add_critique("other", _crit(0, Verdict.UNSCORED, parse_status=ParseStatus.FAILED))
    assert store.count_critiques("r") == 1203
    assert store.count_critiques("r", verdict=Verdict.INCORRECT) == 401
    assert store.count_critiques("r", verdict="incorrect", first_error_step=0) == 401
    assert store.count_critiques("other", parse_status="failed") == 1
    ids = [c.item_id for c in store.iter_critiques("r")]
    assert ids == [f"i{i}" for i in range(1203)]
    assert [c.item_id for c in store.iter_critiques("r", offset=500, limit=3)] == ["i500", "i501", "i502"]
    assert [c.item_id for c in store.iter_critiques("r", verdict="incorrect", limit=2)] == ["i0", "i3"]
    assert list(store.iter_critiques("r", offset=5000)) == []
    pairs = list(store.iter_records("r", limit=2))
    assert pairs[0][0] == _item(0) and pairs[0][1].item_id == "i0"
    assert store.verdict_counts("r") == {"correct": 802, "incorrect": 401}
    assert store.done_item_ids("r", ["i0", "i5", "zzz"]) == {"i0", "i5"}
    assert len(store.done_item_ids("r")) == 1203
    with pytest.raises(UserError, match="unknown critique filter"):
        store.count_critiques("r", colour="red")


def test_input_errors_recorded_once(store):
    store.create_run("r")
    err = InputError("in.jsonl", "line 3", "question", "missing")
    assert store.add_input_error("r", err)
    assert not store.add_input_error("r", err)
    recs = store.input_errors("r")
    assert [(e.source, e.location, e.field, e.reason) for e in recs] == [("in.jsonl", "line 3", "question", "missing")]
    assert store.get_run("r").input_errors == 1


def test_sink_writes_items_and_flags_duplicate_ids(store):
    store.create_run("r")
    sink = store.sink("r")
    sink.remember(_item(1))
    sink.write(_crit(1))
    sink.write(_crit(1))
    sink.error(InputError("f", "line 9", None, "invalid JSON"))
    assert store.get_item("r", "i1") == _item(1)
    assert sink.duplicates == 1
    assert {e.reason.split(":")[0] for e in store.input_errors("r")} == {"duplicate item id", "invalid JSON"}
    assert sink.done(["i1", "i2"]) == {"i1"}


def test_shared_between_threads(store):
    store.create_run("r")

    def work(base: int) -> None:
        for i in range(base, base + 50):
            store.add_critique("r", _crit(i), _item(i))

    threads = [threading.Thread(target=work, args=(k * 50,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count_critiques("r") == 200


def test_a_failed_critique_is_kept_but_not_final_and_a_retry_replaces_it_in_place(store):
    store.create_run("r")
    failed = _crit(1, Verdict.UNSCORED, error="backend down", parse_status=ParseStatus.FAILED)
    assert store.add_critique("r", failed, _item(1)) and store.add_critique("r", _crit(2), _item(2))
    assert store.done_item_ids("r") == {"i2"} and store.failed_item_ids("r") == {"i1"}
    info = store.get_run("r")
    assert (info.critiques, info.failed) == (2, 1)
    assert store.count_critiques("r", failed=True) == 1
    assert not store.add_critique("r", _crit(1))  # without replace_failed the stored row stands
    first_order = [c.item_id for c in store.iter_critiques("r")]
    assert store.add_critique("r", _crit(1, Verdict.INCORRECT, first_error_step=0), replace_failed=True)
    assert [c.item_id for c in store.iter_critiques("r")] == first_order  # replaced in place, not appended
    assert store.get_critique("r", "i1").verdict == Verdict.INCORRECT and store.get_run("r").failed == 0
    assert not store.add_critique("r", _crit(1), replace_failed=True)  # a final critique is never replaced
    assert store.get_critique("r", "i1").verdict == Verdict.INCORRECT and store.count_critiques("r") == 2


def test_sink_retries_failed_items_once_and_still_flags_duplicates(store):
    store.create_run("r")
    store.add_critique("r", _crit(1, Verdict.UNSCORED, error="down", parse_status=ParseStatus.FAILED), _item(1))
    store.add_critique("r", _crit(2), _item(2))
    sink = store.sink("r")
    assert sink.done(["i1", "i2", "i3"]) == {"i2"} and sink.retried == 1
    sink.write(_crit(1))  # the retry replaces the failed row
    sink.write(_crit(1, Verdict.INCORRECT))  # the same id again: a duplicate, not a second retry
    assert store.get_critique("r", "i1").verdict == Verdict.CORRECT and sink.duplicates == 1
    assert store.get_run("r").failed == 0


def test_migration_flags_failed_rows_already_stored(tmp_path):
    from critica.store.migrations import m001_initial, m002_call_cache

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    m001_initial(conn)
    m002_call_cache(conn)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    conn.executemany("INSERT INTO _migrations VALUES (?, 'then')", [("m001_initial",), ("m002_call_cache",)])
    conn.execute("INSERT INTO runs (name, started_at) VALUES ('r', 'now')")
    rows = [_crit(1), _crit(2, Verdict.UNSCORED, error="down", parse_status=ParseStatus.FAILED),
            _crit(3, metadata={"failures": ["m: down"]})]
    for c in rows:
        conn.execute("INSERT INTO critiques (run_id, item_id, critic, verdict, parse_status, error, created_at, critique) "
                     "VALUES (1, ?, 'c', ?, ?, ?, 'now', ?)", (c.item_id, c.verdict.value, c.parse_status.value, c.error,
                                                               c.model_dump_json()))
    conn.commit()
    conn.close()
    with Store.open(path) as s:
        assert s.failed_item_ids("r") == {"i2", "i3"} and s.done_item_ids("r") == {"i1"}
