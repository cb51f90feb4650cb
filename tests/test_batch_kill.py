"""Exactly once under SIGKILL: kill a `critica batch` subprocess at random points several times, resume, compare."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))
from test_batch_support import write_items  # noqa: E402

from critica.run.batch import CriticRecipe, iter_source, run_batch  # noqa: E402
from critica.store import Store  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="needs SIGKILL")

CLI = "import sys; from critica.cli import main; sys.exit(main(sys.argv[1:]))"


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute("SELECT count(*) FROM critiques").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    finally:
        conn.close()


def test_sigkill_at_random_points_then_resume_gives_exact_results(tmp_path):
    n, bad = 240, (3, 150)
    src = tmp_path / "in.jsonl"
    ids = write_items(src, n, bad_lines=bad)
    db = tmp_path / "critica.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
           "CRITICA_TEST_DELAY": "0.02", "CRITICA_HOME": str(tmp_path)}
    cmd = [sys.executable, "-c", CLI, "batch", str(src), "--run", "k", "--critic", "test_batch_support:make_critic",
           "--concurrency", "4", "--db", str(db)]
    rng = random.Random()
    seed = rng.randrange(10**6)
    rng.seed(seed)
    kills_mid_run = 0
    for _ in range(4):
        before = _count(db)
        target = before + rng.randint(5, 40)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while proc.poll() is None and _count(db) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))  # land anywhere: mid-call, mid-commit, between items
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills_mid_run += before < _count(db) < len(ids)
        proc.wait(timeout=30)
    assert kills_mid_run >= 3, f"kills did not land mid-run (seed {seed})"

    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 1, final.stderr  # exit 1: the two malformed records, after finishing everything

    with Store.open(db) as store:
        got = {(c.item_id, c.verdict.value, c.first_error_step) for c in store.iter_critiques("k")}
        dup = store._conn.execute("SELECT count(*) - count(DISTINCT item_id) FROM critiques").fetchone()[0]
        bad_records = store.input_errors("k")
        items = store._conn.execute("SELECT count(*) FROM items").fetchone()[0]
    assert dup == 0 and len(got) == len(ids) == items, f"seed {seed}"
    assert {i for i, _, _ in got} == ids
    assert sorted(e.location for e in bad_records) == sorted(f"line {b + 1}" for b in bad)

    ref = Store.open(tmp_path / "ref.db")
    ref.create_run("k")
    run_batch(CriticRecipe(critic="test_batch_support:make_critic"), iter_source(src), ref.sink("k"))
    assert got == {(c.item_id, c.verdict.value, c.first_error_step) for c in ref.iter_critiques("k")}
