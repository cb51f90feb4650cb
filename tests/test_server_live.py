"""``critica serve`` as a real uvicorn process on 127.0.0.1: auth, limits, malformed JSON, a backend outage."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("uvicorn")

ITEM = {"id": "a", "question": "What is 2+3?", "steps": ["2+3 = 6", "The answer is 6."], "reference_answer": "5"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, log: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``critica serve`` on a free port and wait until it answers /v1/health."""
    port = free_port()
    cmd = [sys.executable, "-c", "from critica.cli import run; run()", "serve", "--port", str(port), "--db", str(db), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log.open("w"), env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"critica serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(base + "/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("critica serve did not start within 60s: " + log.read_text()[-2000:])


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live")
    dead = free_port()  # nothing listens here: every model call fails to connect
    log = tmp / "server.log"
    proc, base = start_server(
        tmp / "critica.db", log, "--model", "openai:x", "--base-url", f"http://127.0.0.1:{dead}/v1", "--api-key", "none",
        "--timeout", "2", "--retries", "0", "--max-body", "65536", "--critic", "processbench",
        env={"CRITICA_SERVER_KEYS": "k1, k2"},
    )
    yield base, proc, log
    stop_server(proc)


K1 = {"Authorization": "Bearer k1"}


def test_auth_is_rejected_and_accepted(server):
    base, _, _ = server
    assert httpx.get(base + "/v1/runs").status_code == 401
    assert httpx.get(base + "/v1/runs", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.get(base + "/v1/runs", headers=K1).status_code == 200
    assert httpx.get(base + "/v1/runs", headers={"X-API-Key": "k2"}).status_code == 200


def test_oversized_request_is_refused(server):
    base, _, _ = server
    body = json.dumps({"items": [{**ITEM, "question": "x" * 100_000}]})
    r = httpx.post(base + "/v1/critiques", content=body, headers={**K1, "content-type": "application/json"})
    assert r.status_code == 413 and "65536" in r.json()["error"]["message"]


def test_malformed_json_is_a_clear_4xx(server):
    base, _, _ = server
    r = httpx.post(base + "/v1/critiques", content=b'{"items": [{"question": ', headers={**K1, "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "malformed_json"


def test_backend_outage_is_a_503_and_the_server_stays_up(server):
    base, proc, _ = server
    r = httpx.post(base + "/v1/critiques", json={"items": [ITEM]}, headers=K1, timeout=30)
    assert r.status_code == 503, r.text
    assert r.json()["error"]["type"] == "backend_unavailable" and "openai:x" in r.json()["error"]["message"]
    assert proc.poll() is None
    assert httpx.get(base + "/v1/health").json()["status"] == "ok"
    assert httpx.get(base + "/v1/ready").status_code == 503
    # the model-free critic keeps working and its run is stored
    ok = httpx.post(base + "/v1/critiques", json={"items": [ITEM], "critic": "verifier", "run_name": "live-verifier"},
                    headers=K1, timeout=30)
    assert ok.status_code == 200 and ok.json()["critiques"][0]["critic"] == "verifier"
    runs = [r["id"] for r in httpx.get(base + "/v1/runs", headers=K1).json()]
    assert "live-verifier" in runs


def test_requests_are_logged_as_json_lines(server):
    base, _, log = server
    httpx.get(base + "/v1/runs", headers={"x-request-id": "trace-123", **K1})
    time.sleep(0.3)
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    mine = [x for x in lines if x.get("request_id") == "trace-123"]
    assert mine and mine[0]["status"] == 200 and mine[0]["path"] == "/v1/runs" and mine[0]["key"].startswith("key-")
    assert not any("k1" in json.dumps(x) for x in lines)  # keys never reach the logs
