"""Hostile-input probes, area *durability*: work that must not be lost or hidden.

Each probe is a situation an adversary (or just a bad day) creates — a backend outage in the middle of a batch, one
panel member's server down, an export killed halfway, a re-run served from the call cache — and checks that critica
neither loses a result it computed nor hides a failure or a replay behind something that looks final and fresh.
Inputs are generated here; every server is a closed loopback port; subprocesses are bounded in time.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))  # the batch tests' model-free critic, imported by path
from test_batch_support import write_items  # noqa: E402

from critica.cli import main  # noqa: E402
from critica.store import Store  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals")

SRC = Path(__file__).resolve().parents[2] / "src"
CLI = "import sys; from critica.cli import main; sys.exit(main(sys.argv[1:]))"

# The batch tests' model-free critic, importable by path (``test_batch_support:make_flaky_critic``): ProcessBench over
# a scripted backend whose reply is a function of the prompt, so every run gives the same critiques.
# ``CRITICA_TEST_DOWN=N`` is an outage for the items whose number is a multiple of N (HTTP 503, not retried);
# ``CRITICA_TEST_DELAY`` slows each call down.
FLAKY = "test_batch_support:make_flaky_critic"


def _rows(db: Path, run: str) -> list[tuple[str, str | None]]:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute("SELECT c.item_id, c.error FROM critiques c JOIN runs r ON r.id = c.run_id WHERE r.name = ?",
                            (run,)).fetchall()
    finally:
        conn.close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: connection refused at once
    return port


# -- failed items: kept, retried on resume, reflected in the exit code ------------------------------------------------


@pytest.mark.timeout(60)
def test_a_resumed_batch_retries_the_items_an_outage_failed(tmp_path, monkeypatch, capsys):
    src = tmp_path / "in.jsonl"
    ids = write_items(src, 12)
    db = tmp_path / "c.db"
    args = ["batch", str(src), "--run", "r", "--critic", FLAKY, "--db", str(db)]
    monkeypatch.setenv("CRITICA_TEST_DOWN", "3")  # it0, it3, it6, it9 fail
    assert main(args) == 1
    assert "holds 4 failed item(s)" in capsys.readouterr().err  # said, with what to do
    assert len([e for _, e in _rows(db, "r") if e]) == 4  # kept with their error: nothing lost
    assert main(args) == 1  # still down: retried, failed again, still held
    monkeypatch.delenv("CRITICA_TEST_DOWN")  # the outage is over
    # Only the first 2 items are read now (it0 retried and fixed); the run still holds it3, it6, it9 as failed.
    assert main([*args, "--limit", "2"]) == 1
    with Store.open(db) as store:
        info = store.get_run("r")
        assert info.failed == 3 and info.totals["failed"] == 3 and info.totals["last_invocation"]["retried"] == 1
    assert main(args) == 0  # run the same command again: done
    rows = _rows(db, "r")
    assert {i for i, _ in rows} == ids and len(rows) == len(ids)
    assert [i for i, e in rows if e] == []  # every item now holds a real critique
    capsys.readouterr()
    assert main(["runs", "show", "r", "--json", "--db", str(db)]) == 0
    assert json.loads(capsys.readouterr().out)["failed"] == 0


@pytest.mark.timeout(60)
def test_a_resume_with_nothing_to_do_still_exits_1_while_the_run_holds_failed_items(tmp_path, monkeypatch, capsys):
    src = tmp_path / "in.jsonl"
    write_items(src, 6)
    db = tmp_path / "c.db"
    args = ["batch", str(src), "--run", "r", "--critic", FLAKY, "--db", str(db)]
    monkeypatch.setenv("CRITICA_TEST_DOWN", "2")
    assert main(args) == 1
    # Read nothing new (the items read are done), the failed ones not read at all: the run still holds them.
    assert main([*args, "--limit", "0"]) == 1
    capsys.readouterr()
    assert main(["runs", "show", "r", "--json", "--db", str(db)]) == 0
    assert json.loads(capsys.readouterr().out).get("failed") == 3  # the listing shows them


@pytest.mark.timeout(120)
def test_exactly_once_holds_when_kill_9_lands_during_the_retries(tmp_path):
    n = 120
    src = tmp_path / "in.jsonl"
    ids = write_items(src, n)
    db = tmp_path / "c.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(SRC), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-c", CLI, "batch", str(src), "--run", "k", "--critic", FLAKY,
           "--concurrency", "2", "--db", str(db)]
    first = subprocess.run(cmd, env={**env, "CRITICA_TEST_DOWN": "2"}, capture_output=True, text=True, timeout=60)
    assert first.returncode == 1, first.stderr

    def failed() -> int:
        return len([e for _, e in _rows(db, "k") if e])

    assert failed() == n // 2
    rng = random.Random(13)
    landed = 0
    for _ in range(3):  # the outage is over: resume, killed at random points while it retries
        before = failed()
        proc = subprocess.Popen(cmd, env={**env, "CRITICA_TEST_DELAY": "0.05"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target, deadline = before - rng.randint(3, 10), time.monotonic() + 60
        while proc.poll() is None and failed() > target and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))  # mid-call, mid-commit, between items
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            landed += 0 < failed() < before
        proc.wait(timeout=30)
        if failed() == before:  # the base code skips failed items: nothing is ever retried
            break
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert final.returncode == 0, final.stderr
    rows = _rows(db, "k")
    assert len(rows) == n and {i for i, _ in rows} == ids  # no duplicates, nothing lost
    assert [i for i, e in rows if e] == []
    assert landed >= 2, "the kills did not land during the retries"


# -- panel and cascade members: a failure is counted and shown -------------------------------------------------------


ARITH = ['{"id": "a", "question": "What is 2 + 3?", "steps": ["2 + 3 = 6", "The answer is 6."]}',
         '{"id": "b", "question": "What is 2 + 2?", "steps": ["2 + 2 = 4", "The answer is 4."]}']


@pytest.mark.timeout(60)
@pytest.mark.parametrize("flag,spec", [("--panel", "verifier,processbench@openai:x"),
                                       ("--cascade", "processbench@openai:x,verifier")])
def test_a_member_whose_backend_is_down_fails_the_run_with_the_error_shown(tmp_path, monkeypatch, flag, spec):
    monkeypatch.setenv("CRITICA_HOME", str(tmp_path / "home"))
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(ARITH) + "\n")
    out = tmp_path / "out.jsonl"
    code = main(["critique", str(src), flag, spec, "--base-url", f"http://127.0.0.1:{_closed_port()}/v1",
                 "--retries", "0", "--timeout", "3", "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and {r["verdict"] for r in rows} <= {"correct", "incorrect"}  # the verifier still judged
    assert code == 1  # but a member's calls failed: not a clean run
    for r in rows:
        shown = json.dumps([r.get("error"), r["metadata"].get("failures")])
        assert "processbench" in shown and "Connection" in shown, r


# -- exports: complete or absent ---------------------------------------------------------------------------------------


def _big_run(db: Path, n: int) -> None:
    from critica.store import Store
    from critica.types import Critique, Item, Verdict

    with Store.open(db) as store:
        store.create_run("big")
        pad = "x" * 40_000
        for i in range(n):
            store.add_critique("big", Critique(item_id=f"i{i}", critic="c", verdict=Verdict.CORRECT, explanation=pad),
                               Item(id=f"i{i}", question="q", response="r"))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_an_export_killed_midway_leaves_no_truncated_file(tmp_path, sig):
    n = 1500  # ~60 MB of JSONL: long enough to be stopped midway
    db = tmp_path / "c.db"
    _big_run(db, n)
    outdir = tmp_path / "out"
    outdir.mkdir()
    target = outdir / "big.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", CLI, "runs", "export", "big", "--out", str(target), "--db", str(db)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    started = False
    while proc.poll() is None and time.monotonic() < deadline:
        sizes = [p.stat().st_size for p in outdir.iterdir() if p.is_file()]
        if sizes and max(sizes) > 1_000_000:  # the export (or its temporary file) is being written
            started = True
            proc.send_signal(sig)
            break
        time.sleep(0.002)
    proc.wait(timeout=30)
    assert started, "the export finished before it could be stopped; make the run bigger"
    if target.exists():  # only a complete export may carry the name
        lines = target.read_text().splitlines()
        assert len(lines) == n and all(json.loads(line)["verdict"] == "correct" for line in lines)
    if sig == signal.SIGINT:  # an interrupted export cleans up after itself
        assert list(outdir.iterdir()) == []


@pytest.mark.timeout(90)
def test_critique_out_killed_midway_keeps_only_whole_lines(tmp_path):
    # critique --out streams by design: a killed run keeps what it wrote, one complete critique per line.
    src = tmp_path / "in.jsonl"
    with src.open("w") as f:
        for i in range(4000):
            f.write(json.dumps({"id": f"q{i}", "question": f"What is {i} + 1?",
                                "steps": [f"{i} + 1 = {i + 1}", f"The answer is {i + 1}."]}) + "\n")
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
           "CRITICA_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-c", CLI, "critique", str(src), "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000):
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    data = out.read_bytes()
    assert data, "nothing was written before the kill"
    whole, _, tail = data.rpartition(b"\n")
    for line in whole.split(b"\n"):
        assert json.loads(line)["item_id"].startswith("q")  # every complete line is a whole critique
    if tail:  # a cut last line must never read as a record
        with pytest.raises(ValueError):
            json.loads(tail)


# -- the call cache: a replay is marked, keeps its latency, and spends nothing ----------------------------------------


@pytest.mark.timeout(60)
async def test_a_critique_replayed_from_the_cache_is_marked_and_not_counted_as_spent(tmp_path):
    from critica.aggregate.panel import Panel
    from critica.backends.cache import SqliteCache
    from critica.backends.call import Caller
    from critica.backends.fake import ScriptedBackend
    from critica.critics.processbench import ProcessBenchCritic
    from critica.run.runner import run_critic
    from critica.types import Item

    reply = '{"critique": "step 2 is wrong", "earliest_error_index": 1}'
    cache = SqliteCache(tmp_path / "critica.db")
    item = Item(id="x", question="What is 2 + 3?", steps=["2 + 3 = 5", "5 * 2 = 11", "The answer is 11."])

    class Sink:
        def __init__(self):
            self.got = []

        def write(self, c):
            self.got.append(c)

        def error(self, e):
            raise AssertionError(e)

    def critic(name: str, delay: float) -> ProcessBenchCritic:
        return ProcessBenchCritic(Caller(ScriptedBackend([reply], name=name, delay_s=delay), cache=cache))

    fresh = Sink()
    await run_critic(critic("m1", 0.3), [item], fresh)
    sink = Sink()
    stats = await run_critic(critic("m1", 0.3), [item], sink)  # served from the cache: no call made
    (first,), (again,) = fresh.got, sink.got
    assert again.latency_s >= 0.25  # the original call's latency, not the replay's microseconds
    assert again.usage.total_tokens == first.usage.total_tokens > 0  # what the critique took to make ...
    assert again.usage.replayed_tokens == again.usage.total_tokens  # ... all of it replayed,
    assert stats.usage.spent_tokens == 0 and stats.usage.replayed_tokens == first.usage.total_tokens  # none spent

    # A critique made from a mix of cached and fresh calls: m1's member replays, m2's member is called now.
    mixed = await Panel([critic("m1", 0.0), critic("m2", 0.0)]).critique(item)
    m1, m2 = mixed.samples
    assert m1.usage.replayed_calls == 1 and m2.usage.replayed_calls == 0
    assert mixed.usage.replayed_tokens == m1.usage.total_tokens and mixed.usage.spent_tokens == m2.usage.total_tokens
    cache.close()
