"""``critica batch --executor ray`` on a real two-node Ray cluster with token authentication, started on this machine
(``ray start --head`` plus ``ray start --address``, each node with its own ports and temp dir; see ray_cluster.py).

The driver is the real CLI in a child process, as a user runs it: explicit addresses and tokens, one-line errors
within a bounded time for unreachable clusters and refused tokens, code shipped to the workers, backend keys that
reach the workers and appear nowhere else, and exactly-once results when a node dies mid-run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

if os.environ.get("CI"):  # CI installs the ray extra: a missing Ray there is a failure, not a skip
    import ray  # noqa: F401
else:
    pytest.importorskip("ray")

TESTS = Path(__file__).parent
SRC = str(TESTS.parent / "src")
sys.path.insert(0, str(TESTS))
from ray_cluster import LocalCluster  # noqa: E402
from test_batch_support import write_items  # noqa: E402

from critica.run.batch import CriticRecipe, iter_source, run_batch  # noqa: E402
from critica.store import Store  # noqa: E402

pytestmark = pytest.mark.timeout(180)


def critica(args: list[str], home: Path, *, env: dict[str, str] | None = None, timeout: float = 150,
            ) -> tuple[subprocess.CompletedProcess, float]:
    """``critica ARGS`` as the console script runs it, on the sources under test, with a HOME of its own (so no
    ``~/.ray/auth_token`` of this machine is picked up) and no RAY_* variable but those given."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    full.update({"HOME": str(home), "PYTHONPATH": os.pathsep.join([SRC, str(TESTS)]), "COLUMNS": "200"})
    full.update(env or {})
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", "from critica.cli import run; run()", *args], env=full,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return proc, time.monotonic() - start


def _no_run(db: Path, run: str) -> bool:
    if not db.exists():
        return True
    store = Store.open(db)
    try:
        return store.get_run(run) is None
    finally:
        store.close()


# -- no cluster: nothing listens, or something that is not Ray does ---------------------------------------------------


@pytest.fixture
def not_ray_port():
    """A TCP server on 127.0.0.1 that accepts and answers HTTP, as a wrong address might."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            try:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            except OSError:
                pass
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join(2)
    srv.close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("scheme", ["", "ray://"])
@pytest.mark.parametrize("where", ["nothing listens", "not Ray"])
def test_unreachable_cluster_fails_in_one_line_within_the_timeout(tmp_path, not_ray_port, where, scheme):
    src = tmp_path / "in.jsonl"
    write_items(src, 5)
    port = _closed_port() if where == "nothing listens" else not_ray_port
    db = tmp_path / "c.db"
    timeout_s = 4
    proc, took = critica(["batch", str(src), "--run", "r", "--db", str(db), "--executor", "ray", "--ray-address",
                          f"{scheme}127.0.0.1:{port}", "--ray-connect-timeout", str(timeout_s)], tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr  # no Ray GCS warnings, no traceback
    assert f"{scheme}127.0.0.1:{port}" in lines[0]
    assert ("Connection refused" in lines[0]) if where == "nothing listens" else (f"within {timeout_s} s" in lines[0])
    # Ray alone waits minutes here; the bound is the timeout plus the CLI's own start on a loaded machine.
    assert took < timeout_s + 40
    assert _no_run(db, "r")  # nothing was marked done, or even started


# -- a real two-node cluster with token authentication ---------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    # Workers import the test critics from tests/ (critica itself is shipped to them by the driver).
    c = LocalCluster(env={"PYTHONPATH": str(TESTS), "CRITICA_TEST_DELAY": "0.05"})
    try:
        c.start(workers=1)
        yield c
    finally:
        c.stop()


def _critiques(db: Path, run: str) -> dict[str, dict]:
    store = Store.open(db)
    try:
        return {c.item_id: c.model_dump(exclude={"latency_s"}) for c in store.iter_critiques(run)}
    finally:
        store.close()


def _assert_both_nodes_ran_the_shipped_code_as_locally(got: dict[str, dict], cluster, src: Path, tmp_path: Path) -> None:
    stamps = [c.pop("metadata") for c in got.values()]
    assert len({s["node"] for s in stamps}) == 2  # both nodes critiqued items
    # Every worker ran the driver's critica, shipped with the job, not whatever the node has installed.
    assert all("runtime_resources" in s["critica"] and s["critica"].startswith(str(cluster.root)) for s in stamps)
    # Same critiques as the local executor gives (where they were computed aside).
    store = Store.open(tmp_path / "local.db")
    store.create_run("l")
    run_batch(CriticRecipe(critic="ray_support:make_node_critic"), iter_source(src), store.sink("l"))
    store.close()
    local = _critiques(tmp_path / "local.db", "l")
    for c in local.values():
        c.pop("metadata")
    assert got == local


def test_explicit_address_with_token_file_runs_on_both_nodes(cluster, tmp_path):
    src = tmp_path / "in.jsonl"
    ids = write_items(src, 64, bad_lines=(5,))
    db = tmp_path / "c.db"
    proc, _ = critica(["batch", str(src), "--run", "r", "--db", str(db), "--executor", "ray", "--critic",
                       "ray_support:make_node_critic", "--ray-address", str(cluster.address),
                       "--ray-token-file", str(cluster.token_file)], tmp_path)
    assert proc.returncode == 1, proc.stderr  # the malformed record, stored; everything else done
    got = _critiques(db, "r")
    assert set(got) == ids
    _assert_both_nodes_ran_the_shipped_code_as_locally(got, cluster, src, tmp_path)


def _address(cluster, form: str) -> str:
    if form == "client":
        if cluster.client_address is None:
            pytest.fail("ray start served no Ray Client: install ray[client] (grpcio), as the ray extra does")
        return cluster.client_address
    return str(cluster.address)


# Ray Client starts a driver process on the head for each connection (twice: the connect check, then the job),
# 3-7 s each here; a generous bound keeps a loaded CI machine from failing a test of what works, not of timing.
CLIENT_TIMEOUT = ["--ray-connect-timeout", "60"]


@pytest.mark.parametrize("form", ["gcs", "client"])
def test_ray_address_and_token_from_the_environment(cluster, tmp_path, form):
    src = tmp_path / "in.jsonl"
    ids = write_items(src, 8)
    db = tmp_path / "c.db"
    proc, _ = critica(["batch", str(src), "--run", "r", "--db", str(db), "--executor", "ray",
                       *(CLIENT_TIMEOUT if form == "client" else [])], tmp_path,
                      env={"RAY_ADDRESS": _address(cluster, form), "RAY_AUTH_TOKEN": cluster.token_file.read_text()})
    assert proc.returncode == 0, proc.stderr
    assert set(_critiques(db, "r")) == ids


@pytest.mark.parametrize("form", ["gcs", "client"])
@pytest.mark.parametrize("token", ["wrong", "none"])
def test_refused_or_missing_token_fails_in_one_line(cluster, tmp_path, token, form):
    src = tmp_path / "in.jsonl"
    write_items(src, 5)
    db = tmp_path / "c.db"
    address = _address(cluster, form)
    args = ["batch", str(src), "--run", "r", "--db", str(db), "--executor", "ray", "--ray-address", address]
    if token == "wrong":
        bad = tmp_path / "bad-token"
        bad.write_text("0123456789abcdef0123456789abcdef")
        args += ["--ray-token-file", str(bad)]
    proc, took = critica(args, tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert ("refused the token" in lines[0]) if token == "wrong" else ("none was found" in lines[0])
    assert address in lines[0]
    assert "0123456789abcdef" not in proc.stderr
    # Ray itself retries a refused token for 20 s (GCS) or 30 s (Ray Client) after its own start; this stops at the
    # first refusal.
    assert took < 40
    assert _no_run(db, "r")


def test_ray_client_address_runs_on_both_nodes_exactly_once(cluster, tmp_path):
    """``ray://`` (Ray Client: the driver has no raylet, its objects and the shipped code go through the head's
    client server) with a token file: the same results as the local executor, each item once, on both nodes."""
    src = tmp_path / "in.jsonl"
    ids = write_items(src, 32)
    db = tmp_path / "c.db"
    proc, _ = critica(["batch", str(src), "--run", "r", "--db", str(db), "--executor", "ray", "--critic",
                       "ray_support:make_node_critic", "--ray-address", _address(cluster, "client"),
                       "--ray-token-file", str(cluster.token_file), *CLIENT_TIMEOUT], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[0] == "Ray cluster: 2 node(s), 2 CPU(s)", proc.stderr  # and no Ray chatter
    got = _critiques(db, "r")
    store = Store.open(db)
    delivered = store.get_run("r").totals["last_invocation"]["items"]
    store.close()
    assert set(got) == ids and delivered == len(ids)  # every item, each delivered and stored once
    _assert_both_nodes_ran_the_shipped_code_as_locally(got, cluster, src, tmp_path)


def test_ray_client_port_given_as_a_gcs_address_says_so(cluster, tmp_path):
    src = tmp_path / "in.jsonl"
    write_items(src, 5)
    db = tmp_path / "c.db"
    bare = _address(cluster, "client").removeprefix("ray://")
    proc, took = critica(["batch", str(src), "--run", "r", "--db", str(db), "--executor", "ray", "--ray-address",
                          bare, "--ray-token-file", str(cluster.token_file)], tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"give ray://{bare}" in lines[0], proc.stderr
    assert took < 20  # Ray's own GCS client retries this for a minute
    assert _no_run(db, "r")


KEY = "sk-ray-test-6f1c0e9a4b7d42d8"


class _Stub:
    """OpenAI-compatible chat completions on 127.0.0.1, recording the key each request carried."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("content-length") or 0))
                stub.keys.append((self.headers.get("authorization") or "").removeprefix("Bearer "))
                body = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "stub",
                                   "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                       "role": "assistant",
                                       "content": '{"critique": "fine", "earliest_error_index": -1}'}}],
                                   "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_backend_key_reaches_the_workers_and_nowhere_else(cluster, tmp_path):
    src = tmp_path / "in.jsonl"
    ids = write_items(src, 12)
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    db = tmp_path / "c.db"
    stub = _Stub()
    try:
        proc, _ = critica(["batch", str(src), "--run", "r", "--db", str(db), "--executor", "ray",
                           "--model", "openai:stub", "--base-url", stub.base_url, "--api-key-file", str(key_file),
                           "--retries", "0", "--ray-address", str(cluster.address),
                           "--ray-token-file", str(cluster.token_file)], tmp_path)
    finally:
        stub.close()
    assert proc.returncode == 0, proc.stderr
    assert set(_critiques(db, "r")) == ids
    assert len(stub.keys) >= len(ids) and set(stub.keys) == {KEY}  # the workers called the backend with the key
    assert KEY not in proc.stdout + proc.stderr
    # Not in anything Ray wrote: its logs, the runtime environments it unpacked, the job's records.
    leaks = [p for p in cluster.root.rglob("*") if p.is_file() and not p.is_symlink() and KEY.encode() in _bytes(p)]
    assert leaks == []
    assert KEY not in db.read_bytes().decode(errors="replace")


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # a socket, a file that went away
        return b""


def test_node_lost_mid_run_leaves_every_item_once(cluster, tmp_path):
    """Kill the second node's raylet (its workers die with it) while it holds work; the run ends with every item
    stored exactly once: retried on the head by Ray, or left for the resume, never doubled. Runs last: it takes
    the node away."""
    src = tmp_path / "in.jsonl"
    ids = write_items(src, 96)
    db = tmp_path / "c.db"
    args = ["batch", str(src), "--run", "r", "--db", str(db), "--executor", "ray", "--critic",
            "ray_support:make_slow_node_critic", "--ray-address", str(cluster.address),
            "--ray-token-file", str(cluster.token_file)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update({"HOME": str(tmp_path), "PYTHONPATH": os.pathsep.join([SRC, str(TESTS)])})
    driver = subprocess.Popen([sys.executable, "-c", "from critica.cli import run; run()", *args], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        # Wait until the second node has committed work (so it surely holds more), then take it away.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and driver.poll() is None:
            if db.exists():
                done = _critiques(db, "r") if not _no_run(db, "r") else {}
                if len({c["metadata"]["node"] for c in done.values()}) == 2:
                    break
            time.sleep(0.2)
        assert driver.poll() is None, "the run ended before the second node was lost"
        cluster.kill_node("n1")
        out, err = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode in (0, 1), err
    print(f"first invocation exit {driver.returncode}; lost line: "
          f"{[ln for ln in err.splitlines() if 'lost mid-run' in ln]}")  # shown with -s: which path was taken
    first = _critiques(db, "r")
    store = Store.open(db)
    first_items = store.get_run("r").totals["last_invocation"]["items"]
    store.close()
    assert first_items == len(first)  # each result delivered once
    proc, _ = critica(args, tmp_path)  # resume: whatever was lost with the node
    assert proc.returncode == 0, proc.stderr
    store = Store.open(db)
    again = store.get_run("r").totals["last_invocation"]
    store.close()
    final = _critiques(db, "r")
    assert set(final) == ids and len(final) == len(ids)
    assert again["skipped"] == len(first) and again["items"] == len(ids) - len(first)
    assert {k: v for k, v in final.items() if k in first} == first  # stored results untouched by the resume
