"""Run untrusted Python (a response's code plus one test) in a contained child process.

Each run is ``python -I`` in a fresh process, started through a tiny launcher that applies the limits and then
``exec``\\ s the runner. What is enforced, and by whom:

=====================  ======================================================================  ===================
threat                 containment                                                             enforced by
=====================  ======================================================================  ===================
infinite loop          wall-clock timeout, then SIGKILL to the process group (and, when a      kernel (signals,
                       private uid is used, to every process of that uid); RLIMIT_CPU          rlimits)
fork bomb              RLIMIT_NPROC under a private, otherwise unused uid (root is exempt from  kernel
                       RLIMIT_NPROC, so the launcher drops to that uid when started as root);
                       everything of that uid is killed afterwards; the Python guard also
                       refuses ``os.fork``/``subprocess``/``os.system``
memory bomb            RLIMIT_AS (address space)                                               kernel
huge files / output    RLIMIT_FSIZE (stdout and stderr go to files, so they count too)         kernel
network                a new, empty network namespace (``unshare(CLONE_NEWNET)``; as non-root   kernel when
                       inside a new user namespace when the system allows it); the Python      available, else
                       guard also refuses socket creation                                      Python
writing outside        runs as a private uid that owns only its working directory (the repo   kernel (uid,
its directory          and system files are not writable); /tmp, /var/tmp and /dev/shm are     mount namespace)
                       replaced by small private tmpfs mounts in a new mount namespace; the    + Python
                       Python guard refuses opening for writing, renaming, deleting … any path
                       outside the working directory
environment secrets    the child gets a scrubbed environment (PATH, LANG, HOME/TMPDIR = its    kernel (exec env,
                       directory); under a different uid it cannot read the parent's           /proc permissions)
                       ``/proc/PID/environ``
=====================  ======================================================================  ===================

The Python guard is an audit hook (PEP 578) installed before the response's code runs. It is defence in depth, not
a security boundary: code can do things audit hooks do not see. The kernel mechanisms are the boundary; which of
them were in effect is recorded in :attr:`SandboxResult.enforcement` for every run (they need root, or unprivileged
user namespaces; without them the Python guard and the rlimits remain). The result channel is a pipe whose
messages carry a per-run nonce, so printed text cannot pass for a result; code that deliberately searches its own
interpreter for the nonce could forge one — a known limit of running code and test in one interpreter.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SandboxLimits", "SandboxResult", "run_python", "sandbox_python"]

_STATUS_PREFIX = "\x00CRITICA-SANDBOX "
_LAUNCHER_FAILED = 97


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed run.

    Attributes:
        timeout_s: Wall-clock limit; the process group is killed when it passes.
        cpu_s: CPU-time limit (RLIMIT_CPU); default: the timeout rounded up.
        memory_mb: Address-space limit (RLIMIT_AS).
        max_processes: Process limit (RLIMIT_NPROC) of the private uid.
        file_size_mb: Largest file the code may write, stdout and stderr included (RLIMIT_FSIZE).
        tail_chars: How much of stdout/stderr to keep in the result.
        isolate_network: Put the child in an empty network namespace when possible.
        private_uid: Run as a private uid when started as root (needed for RLIMIT_NPROC to apply).
        python_guard: Install the audit-hook guard (sockets, writes outside the directory, process creation).
    """

    timeout_s: float = 5.0
    cpu_s: int | None = None
    memory_mb: int = 512
    max_processes: int = 32
    file_size_mb: int = 16
    tail_chars: int = 2000
    isolate_network: bool = True
    private_uid: bool = True
    python_guard: bool = True


@dataclass
class SandboxResult:
    """What happened when code and test ran."""

    status: str
    """``passed``; ``failed`` (the test raised); ``error`` (the code itself raised, e.g. SyntaxError or exit);
    ``timeout``; ``cpu_limit``; ``memory_limit``; ``file_size_limit``; ``crashed`` (killed by a signal or exited
    without a result); ``sandbox_error`` (the sandbox could not start — says nothing about the code)."""
    phase: str | None = None
    """``code`` or ``test``: which part raised."""
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    """The last lines of the traceback, frames of the sandbox runner removed."""
    stdout_tail: str = ""
    stderr_tail: str = ""
    returncode: int | None = None
    wall_s: float = 0.0
    enforcement: dict[str, Any] = field(default_factory=dict)
    """Which mechanisms were in effect (network, uid, tmpfs, rlimits, python_guard)."""

    @property
    def passed(self) -> bool:
        """True only when the test ran to completion without raising."""
        return self.status == "passed"


# The launcher runs first (as the caller's user): limits, namespaces, uid, then exec of the runner.
_LAUNCHER = r"""
import ctypes, json, os, resource, sys
cfg = json.loads(sys.argv[1])
st = {"rlimits": ["cpu", "as", "fsize", "nproc", "core", "nofile"]}
def fail(msg):
    os.write(2, ("critica-sandbox launcher: " + msg + "\n").encode()); os._exit(97)
try:
    libc = ctypes.CDLL(None, use_errno=True)
    root = os.geteuid() == 0
    workdir = cfg["workdir"]
    st["network"] = "python" if cfg["guard"] else "none"
    st["tmpfs"] = []
    if cfg["isolate"]:
        if root and libc.unshare(0x40000000 | 0x00020000) == 0:      # CLONE_NEWNET | CLONE_NEWNS
            st["network"] = "kernel"
            if libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None) == 0:   # MS_REC | MS_PRIVATE
                for d in ("/tmp", "/var/tmp", "/dev/shm"):
                    if os.path.isdir(d) and libc.mount(b"tmpfs", d.encode(), b"tmpfs", 0x2 | 0x4,
                                                       b"size=16m,mode=1777") == 0:   # MS_NOSUID | MS_NODEV
                        st["tmpfs"].append(d)
                if "/tmp" in st["tmpfs"]:
                    workdir = "/tmp/work"
                    os.mkdir(workdir, 0o700)
        elif not root and libc.unshare(0x10000000 | 0x40000000) == 0:  # CLONE_NEWUSER | CLONE_NEWNET
            st["network"] = "kernel"
    uid = cfg["uid"] if root else None
    if uid is not None:
        os.chown(workdir, uid, uid)
    os.chdir(workdir)
    mb = 1024 * 1024
    for res, val in ((resource.RLIMIT_CPU, cfg["cpu"]), (resource.RLIMIT_AS, cfg["mem"] * mb),
                     (resource.RLIMIT_FSIZE, cfg["fsize"] * mb), (resource.RLIMIT_NPROC, cfg["nproc"]),
                     (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, 64)):
        soft, hard = resource.getrlimit(res)
        val = val if hard == resource.RLIM_INFINITY else min(val, hard)
        # CPU: SIGXCPU at the soft limit (reported as such), SIGKILL one second later if it is ignored.
        top = val + 1 if res == resource.RLIMIT_CPU and hard == resource.RLIM_INFINITY else val
        resource.setrlimit(res, (val, top))
    if uid is not None:
        os.setgroups([]); os.setgid(uid); os.setuid(uid)
    st["uid"] = os.getuid()
    st["nproc_effective"] = os.getuid() != 0
    env = dict(cfg["env"], HOME=workdir, TMPDIR=workdir)
    os.write(2, ("\x00CRITICA-SANDBOX " + json.dumps(st) + "\n").encode())
    os.execve(cfg["python"], [cfg["python"], "-I", "-c", cfg["runner"]], env)
except Exception as e:
    fail(type(e).__name__ + ": " + str(e))
"""

# The runner: guard, then the response's code, then the test, in one namespace; the result goes to a pipe.
_RUNNER = r"""
import json, os, sys, traceback
_cfg = json.loads(sys.stdin.read())
sys.stdin = open(os.devnull)
_out = os.fdopen(_cfg["fd"], "w")
_wd = os.path.realpath(os.getcwd())
def _inside(p):
    try:
        p = os.fsdecode(p)
    except TypeError:
        return True
    full = os.path.realpath(os.path.join(_wd, p))
    return full == _wd or full.startswith(_wd + os.sep) or full == os.devnull
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PATHS = {"os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.link": (0, 1),
          "os.symlink": (0, 1), "os.chmod": (0,), "os.chown": (0,), "os.truncate": (0,), "os.utime": (0,),
          "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.move": (0, 1)}
_PROC = {"os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen",
         "pty.spawn", "os.kill", "os.killpg", "ctypes.dlsym", "os.putenv"}
def _guard(event, args):
    if event.startswith("socket."):
        raise PermissionError("sandbox: network access is not allowed (" + event + ")")
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int) or path is None:
            return
        writing = bool(mode and any(c in str(mode) for c in "wax+")) or bool((flags or 0) & _WRITE)
        if writing and not _inside(path):
            raise PermissionError("sandbox: writing outside the working directory is not allowed: " + repr(path))
    elif event in _PATHS:
        for i in _PATHS[event]:
            if i < len(args) and not isinstance(args[i], int) and not _inside(args[i]):
                raise PermissionError("sandbox: " + event + " outside the working directory is not allowed")
    elif event in _PROC or (event == "ctypes.dlopen" and args and args[0] is not None):
        raise PermissionError("sandbox: " + event + " is not allowed")
_res = {"nonce": _cfg["nonce"], "status": "passed"}
def _tail(e):
    lines = traceback.format_exception(e)
    keep = [l for l in lines if "<string>" not in l]
    return "".join(keep)[-1500:]
def _run():
    g = {"__name__": "__main__", "__builtins__": __builtins__}
    for phase, src, label in (("code", _cfg["code"], "<response>"), ("test", _cfg["test"], "<test>")):
        try:
            exec(compile(src, label, "exec"), g)
        except BaseException as e:
            _res.update(status="error" if phase == "code" else "failed", phase=phase, error_type=type(e).__name__,
                        error_message=str(e)[:1000], traceback=_tail(e))
            return
if _cfg["guard"]:
    sys.addaudithook(_guard)
_run()
try:
    sys.stdout.flush(); sys.stderr.flush()
except BaseException:
    pass
try:
    _out.write(json.dumps(_res)); _out.flush()
except MemoryError:
    os.write(_cfg["fd"], json.dumps({"nonce": _cfg["nonce"], "status": _res["status"], "error_type": "MemoryError",
                                     "phase": _res.get("phase")}).encode())
os._exit(0)
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


def sandbox_python(private_uid: bool = True) -> tuple[str, bool]:
    """The interpreter for sandboxed code and whether a private uid can run it.

    A private uid must be able to reach the interpreter, so when ``sys.executable`` lives somewhere only its owner
    can read (e.g. under ``/root``) a world-readable system ``python3`` is used instead.
    """
    if not (private_uid and os.geteuid() == 0):
        return sys.executable, False
    for cand in (sys.executable, shutil.which("python3", path="/usr/bin:/usr/local/bin:/bin") or ""):
        if cand and _world_executable(cand):
            return cand, True
    return sys.executable, False


def _kill_uid(uid: int) -> None:
    for _ in range(20):
        found = False
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                # A zombie is already dead; it waits only for init to reap it.
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


def run_python(code: str, test: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``code`` and then ``test`` in one sandboxed interpreter; never raises for anything the code does.

    Args:
        code: The program under test (e.g. a function definition).
        test: Python source run after it in the same namespace, e.g. ``assert f(2) == 4``.
        limits: Resource limits and isolation switches.

    Returns:
        The outcome, with error details, output tails and the enforcement that was in effect.
    """
    lim = limits or SandboxLimits()
    python, drop = sandbox_python(lim.private_uid)
    uid = _private_uid() if drop else None
    nonce = secrets.token_hex(16)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="critica-sbx-") as tmp:
        base = Path(tmp)
        workdir = base / "work"
        workdir.mkdir(mode=0o700)
        out_path, err_path = base / "stdout", base / "stderr"
        if uid is not None:
            os.chmod(base, 0o711)  # the private uid must be able to reach its working directory
        r, w = os.pipe()
        cfg = {
            "workdir": str(workdir), "isolate": lim.isolate_network, "uid": uid, "guard": lim.python_guard,
            "cpu": lim.cpu_s or max(1, math.ceil(lim.timeout_s)), "mem": lim.memory_mb, "fsize": lim.file_size_mb,
            "nproc": lim.max_processes, "python": python, "runner": _RUNNER,
            "env": {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
                    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        }
        payload = json.dumps({"code": code, "test": test, "nonce": nonce, "fd": w, "guard": lim.python_guard})
        timed_out = False
        try:
            with open(out_path, "wb") as out_f, open(err_path, "wb") as err_f:
                proc = subprocess.Popen(
                    [sys.executable, "-I", "-c", _LAUNCHER, json.dumps(cfg)],
                    stdin=subprocess.PIPE, stdout=out_f, stderr=err_f, cwd=tmp, env={"PATH": "/usr/bin:/bin"},
                    start_new_session=True, pass_fds=(w,), close_fds=True,
                )
                os.close(w)
                w = -1
                try:
                    # The payload may exceed the pipe buffer, so write it from a thread the timeout still covers.
                    feeder = threading.Thread(target=_feed, args=(proc, payload.encode()), daemon=True)
                    feeder.start()
                    proc.wait(timeout=lim.timeout_s)
                except subprocess.TimeoutExpired:
                    timed_out = True
                finally:
                    _kill_group(proc.pid)
                    if uid is not None:
                        _kill_uid(uid)
                    proc.wait()
            raw = _read_all(r)
        except OSError as e:
            return SandboxResult(status="sandbox_error", error_type=type(e).__name__, error_message=str(e),
                                 wall_s=time.perf_counter() - start)
        finally:
            if w != -1:
                os.close(w)
            os.close(r)
        wall = time.perf_counter() - start
        stderr_full = _tail(err_path, lim.tail_chars + 4096)
        enforcement: dict[str, Any] = {}
        if _STATUS_PREFIX in stderr_full:
            before, _, rest = stderr_full.partition(_STATUS_PREFIX)
            line, _, after = rest.partition("\n")
            try:
                enforcement = json.loads(line)
            except ValueError:
                enforcement = {}
            stderr_full = before + after
        enforcement["python_guard"] = lim.python_guard
        res = SandboxResult(status="crashed", returncode=proc.returncode, wall_s=wall, enforcement=enforcement,
                            stdout_tail=_tail(out_path, lim.tail_chars), stderr_tail=stderr_full[-lim.tail_chars:])
    return _classify(res, raw, nonce, timed_out, proc.returncode, lim)


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


def _read_all(fd: int, limit: int = 1 << 20) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _classify(res: SandboxResult, raw: bytes, nonce: str, timed_out: bool, rc: int | None,
              lim: SandboxLimits) -> SandboxResult:
    data: dict[str, Any] | None = None
    try:
        # Forked children inherit the pipe and may append their own copies; the first complete message wins.
        parsed = json.JSONDecoder().raw_decode(raw.decode("utf-8", "replace").lstrip())[0] if raw else None
        if isinstance(parsed, dict) and parsed.get("nonce") == nonce:
            data = parsed
    except ValueError:
        data = None
    if rc == _LAUNCHER_FAILED and data is None:
        res.status = "sandbox_error"
        res.error_message = res.stderr_tail.strip()[-500:]
        return res
    if data is not None:
        res.status = str(data.get("status", "crashed"))
        res.phase = data.get("phase")
        res.error_type = data.get("error_type")
        res.error_message = data.get("error_message")
        res.traceback = data.get("traceback")
        if res.error_type == "MemoryError":
            res.status = "memory_limit"
        return res
    if timed_out:
        res.status, res.error_type = "timeout", "Timeout"
        res.error_message = f"no result within the wall-clock limit of {lim.timeout_s:g} s (process group killed)"
    elif rc is not None and rc < 0 and -rc == signal.SIGXCPU:
        res.status, res.error_type = "cpu_limit", "CPULimit"
        res.error_message = "CPU-time limit exceeded (SIGXCPU)"
    elif rc is not None and rc < 0 and -rc == signal.SIGXFSZ:
        res.status, res.error_type = "file_size_limit", "FileSizeLimit"
        res.error_message = f"file size limit of {lim.file_size_mb} MB exceeded (output included)"
    elif "MemoryError" in res.stderr_tail:
        res.status, res.error_type = "memory_limit", "MemoryError"
        res.error_message = f"memory limit of {lim.memory_mb} MB exceeded"
    else:
        res.error_type = "Crashed"
        how = f"signal {-rc}" if rc is not None and rc < 0 else f"exit code {rc}"
        res.error_message = f"the process ended ({how}) before the test finished"
    return res
