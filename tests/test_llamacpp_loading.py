"""Model loading in parallel workers must not leave the process's output streams redirected."""

import io
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

llamacpp = pytest.importorskip("critica.backends.llamacpp")


def test_concurrent_loads_restore_the_streams(monkeypatch, tmp_path):
    """Mimic llama-cpp-python's non-thread-safe silencing (swap sys.stderr for the load); two loads at once."""
    sink = io.StringIO()

    def fake_new(self, _llama_cls):
        saved = sys.stderr
        sys.stderr = sink  # what suppress_stdout_stderr does while the model loads
        time.sleep(0.05)
        sys.stderr = saved
        return object()

    monkeypatch.setattr(llamacpp._Worker, "_new", fake_new)
    monkeypatch.setitem(sys.modules, "llama_cpp", type(sys)("llama_cpp"))
    sys.modules["llama_cpp"].Llama = object
    before = sys.stderr
    workers = [llamacpp._Worker(tmp_path / "m.gguf", 512, 1, False) for _ in range(4)]
    barrier = threading.Barrier(len(workers))

    def load(w):
        barrier.wait()
        return w.load()

    with ThreadPoolExecutor(len(workers)) as pool:
        assert all(pool.map(load, workers))
    assert sys.stderr is before
