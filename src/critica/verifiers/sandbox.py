"""Run untrusted Python (a response's code plus one test) in a contained process, and judge the test outside it.

Two separate promises:

**The code cannot decide its own result.** The test is split by :mod:`critica.verifiers.testplan`: the sandbox
runs the code and then only the *probes* of the test's assertions (``f(2)`` of ``assert f(2) == 4``) and reports
their values as plain data; the judge (:mod:`critica.verifiers.judge`), in this process, compares them with
expectations that never entered the sandbox. Forged result messages on any file descriptor, early exits
(``os._exit(0)``, ``sys.exit(0)`` at import), patched builtins, memory scanning and objects whose ``__eq__``
always returns True therefore all fail: a report without every top-level assertion fails, and a report with
made-up values has to guess the expected ones. There is no nonce to steal, because nothing depends on one.

**The code cannot harm the machine or read its secrets.** Each run is a fresh ``python -I`` under bubblewrap
(``bwrap``, Debian/Ubuntu package ``bubblewrap``), started through a tiny launcher that sets the resource limits
and, when started as root, drops to a private, otherwise unused uid:

=====================  ======================================================================  ===================
threat                 containment                                                             enforced by
=====================  ======================================================================  ===================
infinite loop          wall-clock timeout, then SIGKILL to bwrap (its PID namespace dies with   kernel
                       it) and to every process of the private uid; RLIMIT_CPU
fork bomb              RLIMIT_NPROC under the private uid (root is exempt, hence the uid);     kernel
                       the PID namespace is torn down at the end
memory bomb            RLIMIT_AS                                                               kernel
huge files / output    RLIMIT_FSIZE (stdout/stderr are files); a 16 MB private tmpfs /tmp      kernel
network                a new, empty network namespace                                          kernel
other processes        a new PID namespace with its own /proc: no other process is visible     kernel
                       (``/proc/PID/cmdline`` of a server holding keys cannot be read)
files                  a new mount namespace holding only ``/usr`` (read-only), a private      kernel
                       ``/dev``, ``/proc`` and tmpfs ``/tmp``: no home, repository, data,
                       store or key file exists in it; nothing outside can be written
environment            a cleared environment (PATH, LANG, HOME=TMPDIR=the working directory)   kernel (exec)
privileges             no capabilities; nested user namespaces disabled; a new session         kernel
=====================  ======================================================================  ===================

Without ``bwrap`` (or where it cannot create namespaces) no code is run: the result is ``sandbox_error``, which
the code verifier reports as ``unchecked`` — an infrastructure problem says nothing about the code, and running it
half-contained would let it read secrets. A Python audit hook inside the sandbox still refuses sockets, writes
outside the working directory and process creation: defence in depth, not a boundary. What was in effect is
recorded in :attr:`SandboxResult.enforcement` for every run.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from critica.verifiers.judge import Malformed, judge_report, parse_report
from critica.verifiers.testplan import TestPlan, plan_test

__all__ = ["SandboxLimits", "SandboxResult", "run_python", "sandbox_python", "bwrap_path"]

_LAUNCHER_FAILED = 97
_REPORT_LIMIT = 64 << 20


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed run.

    Attributes:
        timeout_s: Wall-clock limit; the sandbox is killed when it passes.
        cpu_s: CPU-time limit (RLIMIT_CPU); default: the timeout rounded up.
        memory_mb: Address-space limit (RLIMIT_AS).
        max_processes: Process limit (RLIMIT_NPROC) of the private uid.
        file_size_mb: Largest file the code may write, stdout and stderr included (RLIMIT_FSIZE).
        tmp_mb: Size of the private tmpfs that holds the working directory.
        tail_chars: How much of stdout/stderr to keep in the result.
        max_value_mb: Most data the sandbox may report for the values of one test's probes.
        private_uid: Run as a private uid when started as root (needed for RLIMIT_NPROC to apply).
        python_guard: Install the audit-hook guard (sockets, writes outside the directory, process creation).
        bwrap: Path of the bubblewrap executable; default: ``bwrap`` on PATH.
        python: Interpreter inside the sandbox; default: a system ``python3`` under ``/usr``.
    """

    timeout_s: float = 5.0
    cpu_s: int | None = None
    memory_mb: int = 512
    max_processes: int = 32
    file_size_mb: int = 16
    tmp_mb: int = 16
    tail_chars: int = 2000
    max_value_mb: int = 4
    private_uid: bool = True
    python_guard: bool = True
    bwrap: str | None = None
    python: str | None = None


@dataclass
class SandboxResult:
    """What happened when code and test ran, as the judge decided it."""

    status: str
    """``passed``; ``failed`` (an assertion is false, or the test raised); ``error`` (the code itself raised, e.g.
    SyntaxError or exit, before the test); ``timeout``; ``cpu_limit``; ``memory_limit``; ``file_size_limit``;
    ``crashed`` (killed by a signal, or ended without reporting every top-level assertion); ``unjudgeable`` (an
    assertion compares two values that are not plain data); ``invalid_test`` (the test is not valid Python or too
    large — says nothing about the code); ``sandbox_error`` (the sandbox could not start — says nothing about the
    code)."""
    phase: str | None = None
    """``code`` or ``test``: which part raised."""
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    """The last lines of the traceback, frames of the sandbox harness removed."""
    stdout_tail: str = ""
    stderr_tail: str = ""
    returncode: int | None = None
    wall_s: float = 0.0
    assertions: int = 0
    """Assertions the judge evaluated."""
    weak: list[str] = field(default_factory=list)
    """Ways this test's outcome still rests on the sandbox's report (see :class:`~critica.verifiers.testplan.TestPlan`)."""
    enforcement: dict[str, Any] = field(default_factory=dict)
    """Which mechanisms were in effect (isolation, pid/network namespaces, uid, rlimits, python_guard)."""

    @property
    def passed(self) -> bool:
        """True only when the judge found every assertion of the test true."""
        return self.status == "passed"


_LAUNCHER = r"""
import json, os, resource, sys
cfg = json.loads(sys.argv[1])
try:
    uid = cfg["uid"]
    # The result pipe goes to fd 3, below the NOFILE limit whatever number it had here.
    os.dup2(cfg["fd"], 3, inheritable=True)
    if cfg["fd"] != 3:
        os.close(cfg["fd"])
    mb = 1024 * 1024
    limits = [(resource.RLIMIT_CPU, cfg["cpu"]), (resource.RLIMIT_AS, cfg["mem"] * mb),
              (resource.RLIMIT_FSIZE, cfg["fsize"] * mb), (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, 64)]
    if uid is not None:
        limits.append((resource.RLIMIT_NPROC, cfg["nproc"]))
    for res, val in limits:
        soft, hard = resource.getrlimit(res)
        val = val if hard == resource.RLIM_INFINITY else min(val, hard)
        # CPU: SIGXCPU at the soft limit (reported as such), SIGKILL one second later if it is ignored.
        top = val + 1 if res == resource.RLIMIT_CPU and hard == resource.RLIM_INFINITY else val
        resource.setrlimit(res, (val, top))
    if uid is not None:
        os.setgroups([]); os.setgid(uid); os.setuid(uid)
    os.execve(cfg["bwrap"], cfg["argv"], cfg["env"])
except Exception as e:
    os.write(2, ("critica-sandbox launcher: " + type(e).__name__ + ": " + str(e) + "\n").encode())
    os._exit(97)
"""

_UID_BASE = 3_100_000
_uid_counter = itertools.count()
_uid_lock = threading.Lock()


def _private_uid() -> int:
    # Distinct per run and per process, so RLIMIT_NPROC counts only this run's processes and cleanup kills only them.
    with _uid_lock:
        n = next(_uid_counter) % 1000
    return _UID_BASE + (os.getpid() % 4000) * 1000 + n


def _world_executable(path: str) -> bool:
    try:
        p = Path(path).resolve()
        if not (p.stat().st_mode & stat.S_IXOTH):
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in p.parents)
    except OSError:
        return False


def bwrap_path(limits: SandboxLimits | None = None) -> str | None:
    """The bubblewrap executable the sandbox will use, or None if there is none."""
    lim = limits or SandboxLimits()
    return lim.bwrap or shutil.which("bwrap")


def sandbox_python(limits: SandboxLimits | None = None) -> str | None:
    """The interpreter run inside the sandbox: one under ``/usr`` (the only tree mounted there), or None."""
    lim = limits or SandboxLimits()
    candidates = [lim.python] if lim.python else [
        sys.executable, shutil.which("python3", path="/usr/bin:/usr/local/bin") or ""]
    for cand in candidates:
        if not cand:
            continue
        real = os.path.realpath(cand)
        if real.startswith("/usr/") and _world_executable(real):
            return real
    return None


def _bwrap_argv(bwrap: str, python: str, lim: SandboxLimits) -> list[str]:
    argv = [bwrap, "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--disable-userns", "--die-with-parent", "--new-session",
            "--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = "/" + top
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(lim.tmp_mb << 20), "--tmpfs", "/tmp",
             "--dir", "/tmp/work", "--chdir", "/tmp/work", "--clearenv",
             "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", "/tmp/work",
             "--setenv", "TMPDIR", "/tmp/work", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
             "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "OMP_NUM_THREADS", "1"]
    return [*argv, "--", python, "-I", "-c", _harness_source()]


@functools.cache
def _harness_source() -> str:
    return resources.files("critica.verifiers").joinpath("_harness.py").read_text(encoding="utf-8")


def _kill_uid(uid: int) -> None:
    for _ in range(20):
        found = False
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                # A zombie is already dead; it waits only for its parent to reap it.
                if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
                    os.kill(int(entry.name), signal.SIGKILL)
                    found = True
            except (OSError, ValueError, KeyError):
                continue
        if not found:
            return
        time.sleep(0.02)


def _tail(path: Path, n: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - n * 4))
            return f.read().decode("utf-8", "replace")[-n:]
    except OSError:
        return ""


class _Drain(threading.Thread):
    """Reads the result pipe while the sandbox runs, so a large report never blocks it; keeps at most ``limit``."""

    def __init__(self, fd: int, limit: int) -> None:
        super().__init__(daemon=True)
        self.fd, self.limit = fd, limit
        self.chunks: list[bytes] = []
        self.size = 0
        self.overflow = False

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            if self.size + len(chunk) > self.limit:
                self.overflow = True
                continue
            self.chunks.append(chunk)
            self.size += len(chunk)


def run_python(code: str, test: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``code``, then the probes of ``test``, in the sandbox; the judge decides the test. Never raises for
    anything the code or the test does.

    Args:
        code: The program under test (e.g. a function definition).
        test: Python test source run after it, e.g. ``assert f(2) == 4``.
        limits: Resource limits and isolation switches.

    Returns:
        The outcome, with error details, output tails and the enforcement that was in effect.
    """
    start = time.perf_counter()
    plan = plan_test(test)
    if plan.error is not None:
        return SandboxResult(status="invalid_test", error_type="InvalidTest", error_message=plan.error,
                             wall_s=time.perf_counter() - start)
    return _run_plan(code, plan, limits or SandboxLimits(), start)


def _run_plan(code: str, plan: TestPlan, lim: SandboxLimits, start: float) -> SandboxResult:
    bwrap = bwrap_path(lim)
    python = sandbox_python(lim)
    if bwrap is None or python is None:
        missing = ("bubblewrap (bwrap) is not installed; install it (Debian/Ubuntu: apt-get install bubblewrap)"
                   if bwrap is None else "no Python interpreter under /usr to run inside the sandbox")
        return SandboxResult(status="sandbox_error", error_type="SandboxUnavailable",
                             error_message=f"untrusted code is not run without isolation: {missing}",
                             wall_s=time.perf_counter() - start)
    uid = _private_uid() if lim.private_uid and os.geteuid() == 0 else None
    enforcement: dict[str, Any] = {
        "isolation": "bwrap", "pid_namespace": True, "network": "kernel", "filesystem": "read-only /usr, tmpfs /tmp",
        "uid": uid if uid is not None else os.getuid(), "nproc_effective": uid is not None,
        "rlimits": ["cpu", "as", "fsize", "core", "nofile"] + (["nproc"] if uid is not None else []),
        "python_guard": lim.python_guard,
    }
    payload = json.dumps({"code": code, "program": plan.program, "fd": 3, "guard": lim.python_guard,
                          "max_value_bytes": lim.max_value_mb << 20}).encode("utf-8", "surrogatepass")
    with tempfile.TemporaryDirectory(prefix="critica-sbx-") as tmp:
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        r, w = os.pipe()
        cfg = {
            "uid": uid, "fd": w, "cpu": lim.cpu_s or max(1, math.ceil(lim.timeout_s)), "mem": lim.memory_mb,
            "fsize": lim.file_size_mb, "nproc": lim.max_processes, "bwrap": bwrap,
            "argv": _bwrap_argv(bwrap, python, lim), "env": {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        }
        timed_out = False
        drain = _Drain(r, _REPORT_LIMIT)
        proc = None
        try:
            with open(out_path, "wb") as out_f, open(err_path, "wb") as err_f:
                proc = subprocess.Popen(
                    [sys.executable, "-I", "-c", _LAUNCHER, json.dumps(cfg)],
                    stdin=subprocess.PIPE, stdout=out_f, stderr=err_f, cwd=tmp, env={"PATH": "/usr/bin:/bin"},
                    start_new_session=True, pass_fds=(w,), close_fds=True,
                )
                os.close(w)
                w = -1
                drain.start()
                try:
                    # The payload may exceed the pipe buffer, so write it from a thread the timeout still covers.
                    threading.Thread(target=_feed, args=(proc, payload), daemon=True).start()
                    proc.wait(timeout=lim.timeout_s)
                except subprocess.TimeoutExpired:
                    timed_out = True
                finally:
                    _kill_group(proc.pid)
                    if uid is not None:
                        _kill_uid(uid)
                    proc.wait()
            drain.join(timeout=2.0)
        except OSError as e:
            return SandboxResult(status="sandbox_error", error_type=type(e).__name__, error_message=str(e),
                                 wall_s=time.perf_counter() - start, enforcement=enforcement)
        finally:
            if w != -1:
                os.close(w)
            if not drain.is_alive():
                os.close(r)
        res = SandboxResult(status="crashed", returncode=proc.returncode, wall_s=time.perf_counter() - start,
                            enforcement=enforcement, weak=list(plan.weak),
                            stdout_tail=_tail(out_path, lim.tail_chars),
                            stderr_tail=_tail(err_path, lim.tail_chars))
    raw = b"".join(drain.chunks)
    return _classify(res, plan, raw, drain.overflow, timed_out, lim)


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    try:
        assert proc.stdin is not None
        proc.stdin.write(data)
        proc.stdin.close()
    except (OSError, ValueError):
        pass


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_of(rc: int | None) -> int | None:
    # bwrap exits with 128 + N when its child was killed by signal N; a negative code is bwrap itself killed.
    if rc is None:
        return None
    if rc < 0:
        return -rc
    if rc > 128:
        return rc - 128
    return None


def _classify(res: SandboxResult, plan: TestPlan, raw: bytes, overflow: bool, timed_out: bool,
              lim: SandboxLimits) -> SandboxResult:
    rc = res.returncode
    if rc == _LAUNCHER_FAILED or (rc == 1 and not raw and res.stderr_tail.lstrip().startswith("bwrap:")):
        res.status, res.error_type = "sandbox_error", "SandboxUnavailable"
        res.error_message = res.stderr_tail.strip()[-500:] or "the sandbox did not start"
        return res
    doc = None
    if raw and not overflow and not timed_out:
        try:
            doc = parse_report(raw, _REPORT_LIMIT)
        except Malformed as e:
            res.error_type, res.error_message = "Malformed", f"the sandbox's report is malformed: {e}"
            return res
    if doc is not None:
        j = judge_report(plan, doc)
        res.status, res.phase, res.error_type = j.status, j.phase, j.error_type
        res.error_message, res.traceback, res.assertions = j.error_message, j.traceback, j.assertions
        if res.error_type == "MemoryError" and res.status in ("error", "failed"):
            res.status = "memory_limit"
        return res
    sig = _signal_of(rc)
    if timed_out:
        res.status, res.error_type = "timeout", "Timeout"
        res.error_message = f"no result within the wall-clock limit of {lim.timeout_s:g} s (sandbox killed)"
    elif sig == signal.SIGXCPU:
        res.status, res.error_type = "cpu_limit", "CPULimit"
        res.error_message = "CPU-time limit exceeded (SIGXCPU)"
    elif sig == signal.SIGXFSZ:
        res.status, res.error_type = "file_size_limit", "FileSizeLimit"
        res.error_message = f"file size limit of {lim.file_size_mb} MB exceeded (output included)"
    elif "MemoryError" in res.stderr_tail:
        res.status, res.error_type = "memory_limit", "MemoryError"
        res.error_message = f"memory limit of {lim.memory_mb} MB exceeded"
    elif overflow:
        res.error_type = "ReportTooLarge"
        res.error_message = f"the sandbox reported more than {_REPORT_LIMIT >> 20} MB"
    else:
        res.error_type = "Crashed"
        how = f"signal {sig}" if sig is not None else f"exit code {rc}"
        res.error_message = f"the process ended ({how}) without reporting the test's assertions"
    return res
