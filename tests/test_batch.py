"""Batch jobs in-process: streaming readers, resume skips stored items, bad records kept, CLI wiring."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the model-free test critic, imported by path
from test_batch_support import make_critic, write_items  # noqa: E402

from critica.cli import main  # noqa: E402
from critica.errors import InputError, UserError  # noqa: E402
from critica.run.batch import CriticRecipe, count_records, iter_source, pending, run_batch  # noqa: E402
from critica.store import Store  # noqa: E402
from critica.types import Item  # noqa: E402

RECIPE = CriticRecipe(critic="test_batch_support:make_critic", concurrency=4)


def _result_set(store: Store, run: str) -> set[tuple]:
    return {(c.item_id, c.verdict.value, c.first_error_step) for c in store.iter_critiques(run)}


def _records(tmp_path: Path, n: int = 30) -> tuple[Path, set[str]]:
    path = tmp_path / "in.jsonl"
    return path, write_items(path, n, bad_lines=(7,))


def test_run_batch_stores_every_item_and_bad_record(tmp_path):
    path, ids = _records(tmp_path)
    store = Store.open(tmp_path / "c.db")
    store.create_run("r")
    res = run_batch(RECIPE, iter_source(path), store.sink("r"))
    assert res.stats.items == len(ids) == 29 and res.stats.input_errors == 1 and res.skipped == 0
    assert {c.item_id for c in store.iter_critiques("r")} == ids
    (bad,) = store.input_errors("r")
    assert bad.location == "line 8" and "invalid JSON" in bad.reason
    assert store.get_item("r", "it0").steps == ["0 + 0", "= 0", "answer 0"]


def test_resume_skips_stored_items_and_gives_the_same_results(tmp_path):
    path, ids = _records(tmp_path)
    ref = Store.open(tmp_path / "ref.db")
    ref.create_run("r")
    run_batch(RECIPE, iter_source(path), ref.sink("r"))

    store = Store.open(tmp_path / "c.db")
    store.create_run("r")
    half = [r for r in iter_source(path) if isinstance(r, InputError) or int(r.id[2:]) % 2 == 0]
    run_batch(RECIPE, half, store.sink("r"))
    assert store.count_critiques("r") == 15
    res = run_batch(RECIPE, iter_source(path), store.sink("r"), chunk=4)
    assert res.skipped == 15 and res.stats.items == 14
    assert _result_set(store, "r") == _result_set(ref, "r")
    assert len(store.input_errors("r")) == 1  # re-read, not re-recorded


def test_pending_checks_the_store_per_chunk(tmp_path):
    class Sink:
        def __init__(self):
            self.asked, self.kept = [], []

        def done(self, ids):
            self.asked.append(len(ids))
            return {"a1", "a4"}

        def remember(self, item):
            self.kept.append(item.id)

    recs = [Item(id=f"a{i}", question="q", response="r") for i in range(6)]
    recs.insert(2, InputError("f", "line 3", None, "bad"))
    sink = Sink()
    skipped = []
    out = list(pending(recs, sink, chunk=4, on_skip=skipped.append))
    assert [getattr(r, "id", "ERR") for r in out] == ["a0", "ERR", "a2", "a3", "a5"]
    assert sink.asked == [3, 3] and sum(skipped) == 2 and sink.kept == ["a0", "a2", "a3", "a5"]


def test_json_array_is_streamed_and_truncation_is_reported(tmp_path):
    rows = [{"id": f"j{i}", "question": "q", "response": "r"} for i in range(5)]
    good = tmp_path / "a.json"
    good.write_text(json.dumps(rows))
    assert [r.id for r in iter_source(good)] == [f"j{i}" for i in range(5)]
    wrapped = tmp_path / "w.json"
    wrapped.write_text(json.dumps({"meta": 1, "data": rows[:2]}))
    assert [r.id for r in iter_source(wrapped)] == ["j0", "j1"]
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(rows)[:-30])
    out = list(iter_source(cut))
    assert isinstance(out[-1], InputError) and "invalid JSON" in out[-1].reason
    assert all(isinstance(r, Item) for r in out[:-1]) and len(out) >= 3
    assert count_records(good) is None


def test_parquet_is_streamed_in_batches_with_row_locations(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"id": [f"p{i}" for i in range(7)], "question": ["q"] * 6 + [None],
                      "steps": [["a", "b"]] * 7, "label": list(range(7))})
    path = tmp_path / "in.parquet"
    pq.write_table(table, path, row_group_size=3)
    out = list(iter_source(path, batch_size=2))
    assert [r.id for r in out[:6]] == [f"p{i}" for i in range(6)]
    assert out[0].metadata["label"] == 0 and out[0].steps == ["a", "b"]
    assert isinstance(out[6], InputError) and out[6].location == "row 6" and out[6].field == "question"
    assert count_records(path) == 7


def test_count_records_jsonl(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"a":1}\n{"a":2}\n{"a":3}')
    assert count_records(p) == 3


def test_unknown_import_path_is_a_user_error():
    with pytest.raises(UserError, match="cannot import module"):
        CriticRecipe(critic="no_such_module_xyz:factory").build()
    with pytest.raises(UserError, match="no callable"):
        CriticRecipe(critic="test_batch_support:nothing_here").build()


def test_cli_batch_resume_and_runs_commands(tmp_path, capsys):
    path, ids = _records(tmp_path, 12)
    db = tmp_path / "c.db"
    args = ["batch", str(path), "--run", "cli", "--critic", "test_batch_support:make_critic", "--db", str(db)]
    assert main(args) == 1  # one malformed record: reported, run still complete
    with Store.open(db) as store:
        info = store.get_run("cli")
        assert info.status == "finished" and info.critiques == 11 and info.input_errors == 1
        assert info.totals["last_invocation"]["items"] == 11
    assert main(args) == 1
    with Store.open(db) as store:
        last = store.get_run("cli").totals["last_invocation"]
        assert (last["items"], last["skipped"], last["input_errors"]) == (0, 11, 1)
        assert store.count_critiques("cli") == 11
    other = ["batch", str(path), "--run", "cli", "--critic", "processbench", "--model", "openai:x", "--db", str(db)]
    assert main(other) == 2  # resuming with another critic is refused

    capsys.readouterr()
    assert main(["runs", "list", "--json", "--db", str(db)]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["cli"]
    assert main(["runs", "show", "cli", "--json", "--db", str(db)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["critiques"] == 11 and shown["bad_records"][0]["location"] == "line 8"
    out = tmp_path / "out.jsonl"
    assert main(["runs", "export", "cli", "--out", str(out), "--db", str(db)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["item_id"] for r in lines) == sorted(ids) and all("verdict" in r for r in lines)
    assert main(["runs", "rm", "cli", "--yes", "--db", str(db)]) == 0
    assert main(["runs", "show", "cli", "--db", str(db)]) == 2


def test_factory_critic_is_deterministic():
    import asyncio

    item = Item(id="x", question="q", steps=["a", "b", "c"])
    a = asyncio.run(make_critic().critique(item))
    b = asyncio.run(make_critic().critique(item))
    assert (a.verdict, a.first_error_step) == (b.verdict, b.first_error_step)


def test_recipe_wires_the_call_cache(tmp_path):
    recipe = CriticRecipe(critic="processbench", model="openai:x", settings={"base_url": "http://127.0.0.1:9/v1"},
                          cache_path=str(tmp_path / "c.db"), concurrency=3)
    critic = recipe.build()
    assert critic.caller.cache is not None and critic.caller.cache.path == tmp_path / "c.db"
    assert critic.caller.policy.concurrency == 3
    assert CriticRecipe(critic="processbench", model="openai:x").build().caller.cache is None


@pytest.mark.model
def test_real_model_batch_rerun_is_served_from_the_cache(tmp_path):
    src = [{"id": "tiny", "question": "What is 2 + 3?", "steps": ["2 + 3 = 5", "The answer is 5."]}]
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(src[0]) + "\n")
    db = tmp_path / "c.db"
    base = ["batch", str(path), "--model", "local:smollm2", "--max-tokens", "8", "--concurrency", "1", "--db", str(db)]
    assert main([*base, "--run", "first"]) == 0
    assert main([*base, "--run", "second"]) == 0
    with Store.open(db) as store:
        first, second = store.get_run("first").totals["last_invocation"], store.get_run("second").totals["last_invocation"]
        assert (first["cache_hits"], first["cache_misses"]) == (0, 1)
        assert (second["cache_hits"], second["cache_misses"]) == (1, 0)
        assert second["prompt_tokens"] == second["completion_tokens"] == 0  # nothing spent: all replayed
        assert second["replayed_prompt_tokens"] == first["prompt_tokens"] > 0
        ca, cb = store.get_critique("first", src[0]["id"]), store.get_critique("second", src[0]["id"])
    assert cb.usage == ca.usage.as_replayed() and cb.latency_s == pytest.approx(ca.latency_s, rel=0.2)
    a, b = ca.model_dump(exclude={"latency_s", "usage"}), cb.model_dump(exclude={"latency_s", "usage"})
    assert a == b and a["model"] == "local:smollm2"


def test_resume_retries_items_whose_calls_failed_and_replaces_them(tmp_path, monkeypatch):
    from test_batch_support import make_flaky_critic  # noqa: F401 - imported by path below

    path = tmp_path / "in.jsonl"
    ids = write_items(path, 12)
    recipe = CriticRecipe(critic="test_batch_support:make_flaky_critic")
    store = Store.open(tmp_path / "c.db")
    store.create_run("r")
    monkeypatch.setenv("CRITICA_TEST_DOWN", "3")  # it0, it3, it6, it9 fail
    res = run_batch(recipe, iter_source(path), store.sink("r"))
    assert res.stats.failed_items == 4 and res.stats.usage.failed_calls == 4
    assert store.get_run("r").failed == 4 and store.count_critiques("r") == 12  # kept, nothing lost
    assert "503" in store.get_critique("r", "it3").error

    monkeypatch.delenv("CRITICA_TEST_DOWN")  # the outage is over
    sink = store.sink("r")
    res = run_batch(recipe, iter_source(path), sink)
    assert (res.stats.items, res.skipped, sink.retried, res.stats.failed_items) == (4, 8, 4, 0)
    assert store.get_run("r").failed == 0 and store.count_critiques("r") == 12
    ref = Store.open(tmp_path / "ref.db")
    ref.create_run("r")
    run_batch(RECIPE, iter_source(path), ref.sink("r"))
    assert _result_set(store, "r") == _result_set(ref, "r") and {c.item_id for c in store.iter_critiques("r")} == ids


def test_a_run_stopped_by_an_error_is_marked_failed_not_left_running(tmp_path, monkeypatch, capsys):
    path, ids = _records(tmp_path, 10)
    db = tmp_path / "c.db"
    import critica.cli.batch as cli_batch

    real = cli_batch.iter_source

    def breaks_midway(*args, **kwargs):
        for n, rec in enumerate(real(*args, **kwargs)):
            if n == 3:
                raise OSError("disk went away")
            yield rec

    monkeypatch.setattr(cli_batch, "iter_source", breaks_midway)
    args = ["batch", str(path), "--run", "x", "--critic", "test_batch_support:make_critic", "--db", str(db)]
    try:  # reported by the command however the CLI renders unexpected errors
        rc = main(args)
    except OSError:
        rc = None
    assert rc != 0
    with Store.open(db) as store:
        info = store.get_run("x")
        assert info.status == "failed" and "disk went away" in info.totals["error"]
    monkeypatch.setattr(cli_batch, "iter_source", real)
    assert main(args) == 1  # resumed to the end (the input holds one malformed line)
    with Store.open(db) as store:
        info = store.get_run("x")
        assert info.status == "finished" and info.critiques == len(ids) == 9


def test_cli_batch_duplicate_ids_exit_1_with_one_story(tmp_path, capsys):
    path = tmp_path / "d.jsonl"
    rows = [{"id": "a", "question": "What is 1 + 1?", "steps": ["1 + 1 = 2"]},
            {"id": "a", "question": "What is 2 + 2?", "steps": ["2 + 2 = 5"]},
            {"id": "b", "question": "What is 3 + 3?", "steps": ["3 + 3 = 6"]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    db = tmp_path / "c.db"
    assert main(["batch", str(path), "--run", "d", "--critic", "test_batch_support:make_critic", "--db", str(db)]) == 1
    with Store.open(db) as store:
        info = store.get_run("d")
        last = info.totals["last_invocation"]
        assert (info.critiques, info.input_errors, last["items"], last["input_errors"]) == (2, 1, 2, 1)
        assert store.get_item("d", "a").question == "What is 1 + 1?"
        assert [(e.location, e.field) for e in store.input_errors("d")] == [("line 2", "id")]


def test_the_error_stored_with_a_failed_run_carries_no_key(tmp_path, monkeypatch):
    path, _ = _records(tmp_path, 4)
    db = tmp_path / "c.db"
    key = "sk-stored-error-0123456789"
    monkeypatch.setenv("CRITICA_API_KEY", key)
    import critica.cli.batch as cli_batch

    def breaks(*args, **kwargs):
        raise OSError(f"backend refused key {key}")
        yield  # pragma: no cover

    monkeypatch.setattr(cli_batch, "iter_source", breaks)
    try:
        main(["batch", str(path), "--run", "k", "--critic", "test_batch_support:make_critic", "--db", str(db)])
    except OSError:
        pass
    with Store.open(db) as store:
        info = store.get_run("k")
    assert info.status == "failed" and "backend refused key" in info.totals["error"] and key not in info.totals["error"]
