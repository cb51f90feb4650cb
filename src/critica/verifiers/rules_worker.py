"""The worker process that runs instruction checkers under a hard time limit.

The library's checkers are ordinary Python over the response text; a few use regular expressions that take
quadratic time on crafted input (``re.findall(r"\\[.*?\\]", "[" * 20000)``: seconds per call, eight calls per loose
reading), and a regular expression running in C cannot be interrupted from Python. So each check is sent to one
long-lived worker process (started as ``python -m critica.verifiers.rules_worker``: forking a process that runs
threads and an event loop is unsafe, and ``spawn`` would re-import the caller's script); when it does
not answer within the time limit (or the item's deadline, whichever comes first) the worker is killed and the
constraint is ``unchecked`` with the reason. The next check starts a fresh worker. Checks from several threads
take turns (one lock): a check takes milliseconds on real responses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Any

from critica.budget import _CURRENT
from critica.verifiers.rules import Constraint, RuleResult

__all__ = ["check_isolated", "shutdown"]

_LOCK = threading.Lock()
_WORKER: dict[str, Any] = {}
_START_S = 60.0  # the first answer of a fresh worker also waits for its imports (NLTK, the checkers)


def _serve() -> None:
    """The worker's loop (``python -m critica.verifiers.rules_worker``): requests on stdin, answers on a copy of
    stdout; stdout itself goes to stderr, so nothing a library prints can corrupt the channel."""
    import os
    from multiprocessing.connection import Connection

    out_fd = os.dup(1)
    os.dup2(2, 1)
    conn_in, conn_out = Connection(0, writable=False), Connection(out_fd, readable=False)
    from critica.verifiers.rules import check_one, library

    library()
    conn_out.send("ready")
    while True:
        try:
            cid, kwargs, text, response, prompt = conn_in.recv()
        except (EOFError, OSError):
            return
        r = check_one(Constraint(cid, kwargs, text), response, prompt)
        conn_out.send((r.status, r.strict, r.loose, r.evidence))


class _Channel:
    """Both ends of the pipe pair to one worker, as one connection."""

    def __init__(self, proc: Any) -> None:
        from multiprocessing.connection import Connection

        self.proc = proc
        self._out = Connection(os.dup(proc.stdin.fileno()), readable=False)
        self._in = Connection(os.dup(proc.stdout.fileno()), writable=False)
        proc.stdin.close()
        proc.stdout.close()

    def send(self, obj: Any) -> None:
        self._out.send(obj)

    def poll(self, timeout: float) -> bool:
        return self._in.poll(timeout)

    def recv(self) -> Any:
        return self._in.recv()

    def close(self) -> None:
        self._out.close()
        self._in.close()

    def is_alive(self) -> bool:
        return self.proc.poll() is None


def _start() -> tuple[Any, Any]:
    """A fresh worker: ``python -m`` of this module, so nothing of the caller's ``__main__`` is re-imported."""
    from critica.config import nltk_data_dir

    env = {**os.environ, "CRITICA_NLTK_DATA": str(nltk_data_dir()),
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-m", "critica.verifiers.rules_worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    chan = _Channel(proc)
    if not chan.poll(_START_S) or chan.recv() != "ready":
        proc.kill()
        raise RuntimeError(f"the checker process did not start within {_START_S:.0f} s")
    return chan, chan


def _stop() -> None:
    proc, conn = _WORKER.pop("proc", None), _WORKER.pop("conn", None)
    if conn is not None:
        conn.close()
    if proc is not None:
        proc.proc.kill()
        proc.proc.wait(5)


def shutdown() -> None:
    """Stop the worker (it also stops with this process: it is a daemon)."""
    with _LOCK:
        _stop()


def check_isolated(c: Constraint, response: str, prompt: str, timeout_s: float) -> RuleResult:
    """:func:`critica.verifiers.rules.check_one` in the worker, killed after ``timeout_s`` (see the module docstring)."""
    current = _CURRENT.get()
    limit = timeout_s
    if current is not None and current.at is not None:
        limit = max(0.0, min(limit, current.at - time.monotonic()))
    with _LOCK:
        try:
            if "proc" not in _WORKER or not _WORKER["proc"].is_alive():
                _stop()
                if not _WORKER.get("atexit"):
                    import atexit

                    # the worker also exits when its stdin closes; this stops it at once, mid-check too
                    atexit.register(shutdown)
                    _WORKER["atexit"] = True
                _WORKER["proc"], _WORKER["conn"] = _start()
            conn = _WORKER["conn"]
            conn.send((c.id, c.kwargs, c.text, response, prompt))
            if not conn.poll(limit):
                _stop()
                return RuleResult(c, "unchecked", None, None,
                                  f"the checker ran past its time limit ({limit:.1f} s) and was stopped")
            status, strict, loose, evidence = conn.recv()
        except (EOFError, OSError, RuntimeError) as e:
            _stop()
            return RuleResult(c, "unchecked", None, None, f"the checker process failed ({type(e).__name__}: {e})")
    return RuleResult(c, status, strict, loose, evidence)


if __name__ == "__main__":
    _serve()
