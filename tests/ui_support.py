"""Shared by the Chromium tests (tests/test_ui*.py): a real ``critica serve`` on a free loopback port, the browser
settings, where screenshots go, and the no-sideways-scroll check.

Screenshots go to ``$CRITICA_ARTIFACTS`` (default ``artifacts/`` at the repository root, git-ignored), so CI can
collect them from wherever it likes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CHROMIUM = os.environ.get("CRITICA_CHROMIUM") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium") or "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[1]


def artifacts() -> Path:
    """Where screenshots are written (created if needed)."""
    out = Path(os.environ.get("CRITICA_ARTIFACTS") or REPO / "artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(db: Path, log: Path, key: str | None = None) -> Iterator[str]:
    """``critica serve`` on ``db``; yields its base URL once ``/v1/health`` answers."""
    port = free_port()
    cmd = [sys.executable, "-c", "from critica.cli import run; run()", "serve", "--port", str(port), "--db", str(db)]
    proc = subprocess.Popen(cmd + (["--server-key", key] if key else []), stdout=subprocess.DEVNULL, stderr=log.open("w"))
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    try:
        while True:
            try:
                if httpx.get(base + "/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError("server did not start: " + log.read_text()[-2000:])
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def overflow(page) -> int:
    """How many pixels the document scrolls sideways (0 when it fits the viewport)."""
    return page.evaluate("() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")


def ready(page, prefix: str) -> None:
    """Wait until the UI has rendered the route starting with ``prefix``."""
    page.wait_for_function("p => (document.body.dataset.ready || '').startsWith(p)", arg=prefix)
