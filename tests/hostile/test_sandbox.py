"""Probes against the code verifier: code that tries to forge a pass, read secrets, or take the judge down.

Every probe runs hostile code against tests whose honest answer it does not produce; it holds when the result is
not a pass (and, for secrets, when the secret appears nowhere in what comes back).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from critica.types import Item, StepVerdict
from critica.verifiers.code import CodeVerifier
from critica.verifiers.sandbox import SandboxLimits, bwrap_path, run_python
from critica.verifiers.testplan import plan_test

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(bwrap_path() is None and not os.environ.get("CI"), reason="bubblewrap (bwrap) not installed"),
]

LIM = SandboxLimits(timeout_s=4)
WRONG = "def f(x):\n    return x + 2\n"  # f(2) == 4 by luck, f(5) == 7: the tests below need f(x) == 2x
TESTS = ["assert f(2) == 4", "assert f(5) == 10"]

# A fake report in every shape the harness could be imagined to accept, written to every descriptor.
_FORGE = '''
import json, os
docs = [{"status": "completed", "events": [[0, [{"v": {"i": "a"}}]]]},
        {"status": "completed", "events": []}, {"status": "passed"}, {"nonce": "x", "status": "passed"}]
for fd in range(0, 64):
    for d in docs:
        try:
            os.write(fd, json.dumps(d).encode())
        except OSError:
            pass
'''

FORGERIES = {
    "os._exit(0) at import": WRONG + "import os\nos._exit(0)\n",
    "sys.exit(0) at import": WRONG + "import sys\nsys.exit(0)\n",
    "SystemExit from the function": "def f(x):\n    raise SystemExit(0)\n",
    "os._exit inside the function": "def f(x):\n    import os\n    os._exit(0)\n",
    "forged reports on every fd, then exit": WRONG + _FORGE + "os._exit(0)\n",
    "nonce stolen from the harness, pass written to its channel": WRONG + (
        "import __main__, gc, json, os\n"
        "cfg = getattr(__main__, '_cfg', {})\n"
        "nonce = cfg.get('nonce')\n"
        "for o in gc.get_objects():\n"
        "    if isinstance(o, dict) and isinstance(o.get('nonce'), str):\n"
        "        nonce = o['nonce']\n"
        "out = getattr(__main__, '_out', None)\n"
        "msg = json.dumps({'nonce': nonce, 'status': 'passed'})\n"
        "if out is not None:\n"
        "    out.write(msg); out.flush()\n"
        "else:\n"
        "    os.write(cfg.get('fd', 3), msg.encode())\n"
        "os._exit(0)\n"),
    "forged reports on every fd, then continue": WRONG + _FORGE,
    "forged report from an atexit hook": WRONG + "import atexit\natexit.register(lambda: (" + repr(_FORGE) + ", exec(" + repr(_FORGE) + ")))\n",
    "__eq__ always True": "class A:\n    def __eq__(self, o):\n        return True\n    __hash__ = object.__hash__\ndef f(x):\n    return A()\n",
    "int subclass with __eq__": "class I(int):\n    def __eq__(self, o):\n        return True\n    __hash__ = int.__hash__\ndef f(x):\n    return I(0)\n",
    "str subclass with __eq__": "class S(str):\n    def __eq__(self, o):\n        return True\n    __hash__ = str.__hash__\ndef f(x):\n    return S('')\n",
    "float subclass": "class F(float):\n    def __eq__(self, o):\n        return True\n    __hash__ = float.__hash__\ndef f(x):\n    return F(0)\n",
    "list subclass": "class L(list):\n    def __eq__(self, o):\n        return True\ndef f(x):\n    return L()\n",
    "__class__ spoofing": "class A:\n    __class__ = int\n    def __eq__(self, o):\n        return True\n    __hash__ = object.__hash__\ndef f(x):\n    return A()\n",
    "patched builtins": WRONG + "import builtins\nbuiltins.all = builtins.any = lambda *a, **k: True\nbuiltins.AssertionError = type('N', (BaseException,), {})\nbuiltins.isinstance = lambda *a: True\n",
    "patched json and os.write": WRONG + "import json, os\njson.dumps = lambda *a, **k: '{\"status\": \"completed\", \"events\": []}'\n",
    "trace hook rewriting frames": WRONG + "import sys\ndef t(frame, event, arg):\n    frame.f_locals.update(x=5)\n    return t\nsys.settrace(t)\n",
    "audit hook swallowing everything": WRONG + "import sys\nsys.addaudithook(lambda e, a: None)\n",
    "signal handler exits cleanly": WRONG + "import signal, os\nsignal.signal(signal.SIGALRM, lambda *a: os._exit(0))\nsignal.setitimer(signal.ITIMER_REAL, 0.05)\ndef f(x):\n    while True:\n        pass\n",
    "kill every process it can see": WRONG + "import os\ntry:\n    os.kill(-1, 9)\nexcept Exception:\n    pass\n",
    "deep recursion in __repr__": "class A:\n    def __repr__(self):\n        return repr(self)\n    def __eq__(self, o):\n        return True\n    __hash__ = object.__hash__\ndef f(x):\n    return A()\n",
    "exception with a lying __str__": "class E(Exception):\n    def __str__(self):\n        return 'passed'\ndef f(x):\n    raise E()\n",
    "generator instead of a value": "def f(x):\n    yield 2 * x\n",
    "self-referencing list": "def f(x):\n    l = []\n    l.append(l)\n    return l\n",
    "deeply nested list": "def f(x):\n    v = []\n    for _ in range(100000):\n        v = [v]\n    return v\n",
    "huge value": "def f(x):\n    return list(range(10 ** 7))\n",
    "huge integer": "def f(x):\n    return 7 ** 2_000_000\n",
    "output flood": WRONG + "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
    "fork bomb": "import os\ndef f(x):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n",
    "memory bomb": "def f(x):\n    b = []\n    while True:\n        b.append(bytearray(1 << 26))\n",
}


@pytest.mark.parametrize("name", list(FORGERIES))
def test_hostile_code_never_passes(name):
    results = [run_python(FORGERIES[name], t, LIM) for t in TESTS]
    assert not all(r.passed for r in results), (name, [(r.status, r.error_message) for r in results])
    # and the verifier says incorrect (or could not run it), never correct
    item = Item(id="h", question="double x", response=FORGERIES[name], tests=TESTS)
    [finding] = CodeVerifier(limits=LIM).check(item, [item.text])
    assert finding.verdict is not StepVerdict.CORRECT, (name, finding.message)


def test_the_expected_values_never_reach_the_sandbox():
    # Code that searches everything it can reach for a 13-digit number (the expected value is a random one) finds
    # nothing to return: the expectation stays with the judge.
    hunter = r"""
import gc, os, re, sys
NUM = re.compile(r"(?<!\d)\d{13}(?!\d)")
def _look(v):
    if type(v) is int and 10 ** 12 <= v < 10 ** 13:
        return v
    if isinstance(v, (str, bytes)):
        m = NUM.search(v if isinstance(v, str) else v.decode('latin-1'))
        if m:
            return int(m.group())
    return None
def f(x):
    for o in gc.get_objects():
        for v in ([o] + (list(o.values()) if isinstance(o, dict) else list(o) if isinstance(o, (list, tuple)) else [])):
            hit = _look(v)
            if hit is not None:
                return hit
    for fr in sys._current_frames().values():
        while fr is not None:
            for v in (fr.f_code.co_consts or ()):
                hit = _look(v)
                if hit is not None:
                    return hit
            fr = fr.f_back
    for root in ('/proc/self', '/proc/1', '/tmp', '/'):
        for dirpath, dirs, files in os.walk(root):
            for name in files[:50]:
                try:
                    with open(os.path.join(dirpath, name), 'rb') as fh:
                        hit = _look(fh.read(1 << 16))
                        if hit is not None:
                            return hit
                except OSError:
                    pass
            if dirpath.count('/') > 3:
                dirs[:] = []
    return -1
"""
    import random

    for template in ("assert f(1) == {v}", "expected = {v}\nassert f(1) == expected",
                     "for a, b in [(1, {v}), (2, {v})]:\n    assert f(a) == b",
                     "def check(candidate):\n    assert candidate(1) == {v}\n\ncheck(f)",
                     "assert all(f(x) == {v} for x in range(2))", "cases = [(1, {v})]\nfor a, b in cases:\n    assert f(a) == b"):
        value = random.randrange(10 ** 12, 10 ** 13)
        test = template.format(v=value)
        assert str(value) not in plan_test(test).program
        r = run_python(hunter, test, SandboxLimits(timeout_s=20))
        assert r.status == "failed", (test, r.status, r.error_message)


def test_no_other_process_and_no_secret_is_visible(tmp_path, monkeypatch):
    secret = f"sk-critica-{uuid.uuid4().hex}"
    monkeypatch.setenv("CRITICA_API_KEY", secret)
    key_file = tmp_path / "keys"
    key_file.write_text(secret)
    # A process holding the secret on its command line, as `critica serve --server-key …` would.
    decoy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "--server-key", secret])
    try:
        spy = f'''
import os
def f(x):
    found = []
    for p in os.listdir('/proc'):
        if p.isdigit():
            for name in ('cmdline', 'environ'):
                try:
                    found.append(open(f'/proc/{{p}}/{{name}}', 'rb').read().decode('latin-1'))
                except OSError:
                    pass
    for path in ({str(key_file)!r}, '/proc/{decoy.pid}/cmdline', '/proc/1/environ', '/etc/passwd'):
        try:
            found.append(open(path).read())
        except OSError as e:
            found.append(type(e).__name__)
    found.append(repr(dict(os.environ)))
    print(found)
    return found
'''
        r = run_python(spy, "assert f(1) == []", SandboxLimits(timeout_s=10))
        everything = json.dumps([r.error_message, r.stdout_tail, r.stderr_tail, r.traceback])
        assert secret not in everything
        assert str(decoy.pid) not in r.error_message.split("found")[0] or r.status != "passed"
        pids = run_python("import os\ndef f(x):\n    return sorted(int(p) for p in os.listdir('/proc') if p.isdigit())",
                          "assert f(1) == [1, 2]", LIM)
        assert pids.passed, pids.error_message  # only the namespace's reaper and the code itself
    finally:
        decoy.kill()
        decoy.wait()


def test_hostile_test_source_cannot_exhaust_the_judge():
    # Item authors are not trusted either: huge constants and loops in the test stay bounded.
    honest = "def f(x):\n    return 2 * x\n"
    start = time.perf_counter()
    for test in ("assert f(2) ** 10 ** 10 > 0", "assert [f(1)] * 10 ** 12", "assert sum(range(10 ** 18)) > f(1)",
                 "assert len('x' * f(10 ** 12)) > 0", "assert '%*d' % (f(10 ** 9), 1)",
                 "assert ''.join(['ab'] * 10 ** 7) and f(1)", "assert (" * 200 + "f(1)" + ")" * 200,
                 "x = [" * 5000 + "]" * 5000 + "\nassert f(1) == 2", "assert f(1) == " + "9" * 100_000):
        r = run_python(honest, test, LIM)
        assert r.status != "passed" or r.assertions <= 1
    assert time.perf_counter() - start < 60


def test_forged_pass_is_refused_end_to_end(tmp_path):
    """The issue's exact case through the CLI and the reward endpoint: x + 2 for 2x must not score correct."""
    from critica.cli import main

    forged = WRONG + _FORGE + "os._exit(0)\n"
    items = tmp_path / "code.jsonl"
    with items.open("w") as f:
        for i, response in enumerate((WRONG, forged, f"```python\n{forged}```")):
            f.write(json.dumps({"id": f"c{i}", "question": "f(x) = 2x", "response": response, "tests": TESTS}) + "\n")
    out = tmp_path / "out.jsonl"
    main(["critique", str(items), "--critic", "verifier", "--out", str(out)])
    verdicts = [json.loads(line)["verdict"] for line in out.read_text().splitlines()]
    assert len(verdicts) == 3 and "correct" not in verdicts

    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from critica.config import Settings
    from critica.server import ServerConfig, create_app

    client = TestClient(create_app(None, ServerConfig(settings=Settings(), critic="verifier")))
    r = client.post("/v1/reward", json={"samples": [{"prompt": "f(x) = 2x", "response": forged, "tests": TESTS},
                                                    {"prompt": "f(x) = 2x", "response": "def f(x):\n    return 2 * x",
                                                     "tests": TESTS}]})
    assert r.status_code == 200, r.text
    assert r.json()["rewards"][0] < 1.0 and r.json()["rewards"][1] == 1.0
    c = client.post("/v1/critiques", json={"items": [{"id": "x", "question": "2x", "response": forged, "tests": TESTS}],
                                           "critic": "verifier"})
    assert c.status_code == 200 and c.json()["critiques"][0]["verdict"] != "correct"


def test_report_parser_survives_hostile_reports():
    from critica.verifiers.judge import Malformed, judge_report, parse_report

    plan = plan_test("assert f(2) == 4")
    bad = [b"[" * 200_000, b'{"status": "completed", "events": [[0, [{"v": ' + b'{"l": [' * 50_000 + b"]}" * 50_000
           + b"}]]]}", b'{"status": "completed", "events": [[0, [{"v": {"i": "' + b"f" * (20 << 20) + b'"}}]]]}',
           b'{"status": "completed", "events": [[1, []]]}', b'{"status": "completed", "events": [[0, []], [0, []]]}',
           b"\xff\xfe garbage", b'{"status": "completed", "events": [[0, [{"v": {"zz": 1}}]]]}']
    for raw in bad:
        try:
            doc = parse_report(raw)
        except Malformed:
            continue
        assert judge_report(plan, doc).status != "passed"


def test_reports_of_every_size_do_not_block_the_sandbox():
    # A value near the report limit must flow through the pipe while the sandbox is still running.
    r = run_python("def f(x):\n    return 'y' * (3 << 20)", "assert len(f(1)) == 3 << 20", SandboxLimits(timeout_s=10))
    assert r.passed, r.error_message


def test_sandbox_never_leaves_processes_behind():
    before = _sandbox_processes()
    for code in ("import os\nwhile True:\n    os.fork()", "import time\ntime.sleep(100)",
                 "import os\nif os.fork() == 0:\n    os.setsid()\n    import time\n    time.sleep(100)"):
        run_python(code, "pass", SandboxLimits(timeout_s=1, python_guard=False))
    time.sleep(0.5)
    assert _sandbox_processes() <= before


def _sandbox_processes() -> int:
    n = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
                uid = int(status.split("Uid:")[1].split()[0])
                n += uid >= 3_100_000 and "State:\tZ" not in status
            except (OSError, IndexError, ValueError):
                pass
    return n
