"""The sandbox side of a code test: runs untrusted code, then the probes of one test, and reports plain data.

This file is not imported by critica: its source is sent to ``python -I -c`` inside the sandbox
(:mod:`critica.verifiers.sandbox`) and must use the standard library only.

It runs the response's code, then the *probe program* that :mod:`critica.verifiers.testplan` made from the test:
the test's setup statements, with each ``assert`` replaced by ``__critica_probe__(id, (lambda: e1, ...))``. Each
probe is evaluated and its value written down as plain data (exact built-in types only; anything else is recorded
as an opaque type name). Nothing here decides whether a test passed: the judge outside the sandbox compares the
values with expectations it never sent. Whatever the untrusted code does to this process (patching builtins,
writing to file descriptors, exiting early) it can at most change what is reported, and the judge checks the
report against the test, not against this harness's good faith.
"""

import base64
import builtins
import json
import os
import sys
import traceback

_cfg = json.loads(sys.stdin.read())
sys.stdin = open(os.devnull)  # noqa: SIM115 - the code must not read the payload again

# Captured before the untrusted code runs (defence in depth only; see the module docstring).
_type, _len, _id, _isinstance, _repr, _str = type, len, id, isinstance, repr, str
_dumps, _write, _exit = json.dumps, os.write, os._exit
_b64 = base64.b64encode
_FD = _cfg["fd"]
_MAX_BYTES = int(_cfg.get("max_value_bytes", 4 << 20))
_MAX_DEPTH = 64

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
    # Defence in depth on top of the kernel's containment (namespaces, read-only mounts, rlimits).
    if event.startswith("socket."):
        raise PermissionError("sandbox: network access is not allowed (" + event + ")")
    if event == "open":
        path, mode, flags = args
        if _isinstance(path, int) or path is None:
            return
        writing = bool(mode and any(c in _str(mode) for c in "wax+")) or bool((flags or 0) & _WRITE)
        if writing and not _inside(path):
            raise PermissionError("sandbox: writing outside the working directory is not allowed: " + _repr(path))
    elif event in _PATHS:
        for i in _PATHS[event]:
            if i < _len(args) and not _isinstance(args[i], int) and not _inside(args[i]):
                raise PermissionError("sandbox: " + event + " outside the working directory is not allowed")
    elif event in _PROC or (event == "ctypes.dlopen" and args and args[0] is not None):
        raise PermissionError("sandbox: " + event + " is not allowed")


class _TooLarge(Exception):
    pass


def _std_types():
    # Standard-library value types that compare like their contents; looked up only if already imported, so the
    # harness imports nothing on the code's behalf.
    out = {}
    col = sys.modules.get("collections")
    if col is not None:
        out.update({col.OrderedDict: "od", col.defaultdict: "dd", col.Counter: "ctr", col.deque: "dq"})
    fr = sys.modules.get("fractions")
    if fr is not None:
        out[fr.Fraction] = "fr"
    dec = sys.modules.get("decimal")
    if dec is not None:
        out[dec.Decimal] = "dec"
    return out


class _Encoder:
    """Plain data → tagged JSON-able data. Exact types only: a subclass of int is not an int here."""

    def __init__(self):
        self.size = 0
        self.std = _std_types()

    def _count(self, n):
        self.size += n
        if self.size > _MAX_BYTES:
            raise _TooLarge()

    def enc(self, v, depth=0, path=()):
        t = _type(v)
        self._count(8)
        if v is None or t is bool:
            return v
        if t is int:
            h = format(v, "x")
            self._count(_len(h))
            return {"i": h}
        if t is float:
            return {"f": v.hex()}
        if t is complex:
            return {"c": [v.real.hex(), v.imag.hex()]}
        if t is str:
            self._count(_len(v))
            return {"s": v}
        if t is bytes or t is bytearray:
            self._count(_len(v) * 4 // 3)
            return {"b" if t is bytes else "ba": _b64(v).decode("ascii")}
        if t is range:
            return {"r": [self.enc(v.start), self.enc(v.stop), self.enc(v.step)]}
        if depth >= _MAX_DEPTH:
            return {"deep": t.__name__}
        if _id(v) in path:
            return {"cyclic": t.__name__}
        sub = path + (_id(v),)
        if t is list:
            return {"l": [self.enc(x, depth + 1, sub) for x in list.__iter__(v)]}
        if t is tuple:
            return {"t": [self.enc(x, depth + 1, sub) for x in tuple.__iter__(v)]}
        if t is set or t is frozenset:
            it = set.__iter__(v) if t is set else frozenset.__iter__(v)
            return {"set" if t is set else "fs": [self.enc(x, depth + 1, sub) for x in it]}
        if t is dict:
            return {"d": [[self.enc(k, depth + 1, sub), self.enc(x, depth + 1, sub)] for k, x in dict.items(v)]}
        tag = self.std.get(t)
        if tag in ("od", "dd", "ctr"):
            return {tag: [[self.enc(k, depth + 1, sub), self.enc(x, depth + 1, sub)] for k, x in dict.items(v)]}
        if tag == "dq":
            return {tag: [self.enc(x, depth + 1, sub) for x in list(v)]}
        if tag == "fr":
            return {tag: [self.enc(v.numerator), self.enc(v.denominator)]}
        if tag == "dec":
            s = t.__str__(v)
            self._count(_len(s))
            return {tag: s}
        return {"o": _str(getattr(t, "__qualname__", "object"))[:200]}


def _exc(e):
    try:
        msg = _str(e)
    except BaseException:  # noqa: BLE001 - a hostile __str__ must not take the report down
        msg = "<unprintable>"
    return [_str(_type(e).__name__)[:200], msg[:1000]]


_events = []
_budget = [0]


def _probe(aid, thunks):
    out = []
    for thunk in thunks:
        try:
            value = thunk()
        except BaseException as e:  # noqa: BLE001 - SystemExit and friends inside a probe are its result
            out.append({"raise": _exc(e)})
            continue
        enc = _Encoder()
        try:
            out.append({"v": enc.enc(value)})
        except _TooLarge:
            out.append({"toolarge": _MAX_BYTES})
        except RecursionError:
            out.append({"deep": "value"})
        except MemoryError:
            out.append({"toolarge": _MAX_BYTES})
        _budget[0] += enc.size
        if _budget[0] > 4 * _MAX_BYTES:
            out[-1] = {"toolarge": _MAX_BYTES}
    _events.append([aid, out])


def _tb(e):
    lines = traceback.format_exception(e)
    return "".join(line for line in lines if "<string>" not in line)[-1500:]


def _report(doc):
    try:
        data = _dumps(doc).encode("utf-8", "backslashreplace")
    except (ValueError, RecursionError, MemoryError):
        data = _dumps({"status": "error", "phase": "report", "error": ["ReportError", "could not encode"]}).encode()
    view = memoryview(data)
    while view:
        n = _write(_FD, view)
        view = view[n:]


def _main():
    g = {"__name__": "__main__", "__builtins__": builtins}
    if _cfg.get("guard", True):
        sys.addaudithook(_guard)
    try:
        exec(compile(_cfg["code"], "<response>", "exec"), g)
    except BaseException as e:  # noqa: BLE001 - SystemExit at import is the code's failure
        return {"status": "error", "phase": "code", "error": _exc(e), "traceback": _tb(e)}
    g["__critica_probe__"] = _probe
    try:
        exec(compile(_cfg["program"], "<test>", "exec"), g)
    except BaseException as e:  # noqa: BLE001
        return {"status": "error", "phase": "test", "error": _exc(e), "traceback": _tb(e), "events": _events}
    return {"status": "completed", "events": _events}


_doc = _main()
try:
    sys.stdout.flush()
    sys.stderr.flush()
except BaseException:  # noqa: BLE001
    pass
try:
    _report(_doc)
except MemoryError:
    _report({"status": "error", "phase": "report", "error": ["MemoryError", "out of memory while reporting"]})
_exit(0)
