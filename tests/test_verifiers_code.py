"""The code verifier and its sandbox: results, findings, and containment of hostile code."""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

import pytest

from critica.types import Item, StepVerdict
from critica.verifiers.code import CodeVerifier, extract_code
from critica.verifiers.sandbox import SandboxLimits, bwrap_path, run_python

# Untrusted code runs only under bubblewrap; CI installs it (.ci/run), elsewhere these tests skip without it.
pytestmark = pytest.mark.skipif(bwrap_path() is None and not os.environ.get("CI"), reason="bubblewrap not installed")

REPO = Path(__file__).resolve().parents[1]
FAST = SandboxLimits(timeout_s=2)
KERNEL_ONLY = SandboxLimits(timeout_s=2, python_guard=False)


def _kernel() -> dict:
    """Which kernel mechanisms this machine gives the sandbox (probed once with harmless code)."""
    return run_python("pass", "pass", FAST).enforcement


def _uid_processes(uid: int) -> int:
    """Live (non-zombie) processes of ``uid``: killed processes may linger as zombies until init reaps them."""
    n = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                n += int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z")
            except (OSError, KeyError, ValueError):
                pass
    return n


# -- extraction and findings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Here:\n```python\ndef f(x):\n    return x\n```\nDone.", "def f(x):\n    return x"),
        ("```py\na = 1\n```\ntext\n```\nb = 2\n```", "a = 1\n\nb = 2"),
        ("```bash\nls\n```\n```python\nx = 1\n```", "x = 1"),
        ("def g():\n    return 3", "def g():\n    return 3"),
    ],
)
def test_extract_code(text, expected):
    assert extract_code(text) == expected


def test_passing_and_failing_tests_give_the_first_failure():
    item = Item(id="c1", question="double", response="```python\ndef f(x):\n    return x + 2\n```",
                tests=["assert f(2) == 4", "assert f(3) == 6, 'f(3) should be 6'", "assert f(0) == 0"])
    findings = CodeVerifier(limits=FAST).check(item, [item.text])
    assert len(findings) == 1
    f = findings[0]
    assert f.verdict is StepVerdict.INCORRECT and f.step is None
    assert f.details["test_index"] == 1 and f.details["test"] == item.tests[1]
    assert f.details["error_type"] == "AssertionError" and "f(3) should be 6" in f.message
    assert f.details["passed"] == 1 and f.details["statuses"] == ["passed", "failed", "failed"]


def test_all_tests_pass():
    item = Item(id="c2", question="double", response="def f(x):\n    print('called', x)\n    return 2 * x",
                tests=["assert f(2) == 4", "assert f(-1) == -2"])
    [f] = CodeVerifier(limits=FAST).check(item, [item.text])
    assert f.verdict is StepVerdict.CORRECT and f.details["passed"] == 2


def test_no_tests_no_findings():
    item = Item(id="c3", question="q", response="def f(): pass")
    assert CodeVerifier(limits=FAST).check(item, [item.text]) == []


def test_code_error_and_output_tails_are_reported():
    item = Item(id="c4", question="q", response="print('about to fail')\nraise ValueError('bad input')",
                tests=["assert True"])
    [f] = CodeVerifier(limits=FAST).check(item, [item.text])
    assert f.verdict is StepVerdict.INCORRECT
    assert f.details["phase"] == "code" and f.details["error_type"] == "ValueError"
    assert "about to fail" in f.details["stdout_tail"]


def test_syntax_error_in_prose_response_is_a_failure():
    item = Item(id="c5", question="q", response="I think the answer is to loop over it.", tests=["assert f(1)"])
    [f] = CodeVerifier(limits=FAST).check(item, [item.text])
    assert f.verdict is StepVerdict.INCORRECT and f.details["error_type"] == "SyntaxError"


def test_printing_fake_results_does_not_pass():
    code = 'import json\nprint(json.dumps({"status": "passed"}))\nraise SystemExit(0)'
    r = run_python(code, "assert False", FAST)
    assert not r.passed and r.error_type == "SystemExit"


def test_failure_message_shows_the_values_the_code_produced():
    r = run_python("def f(x):\n    return x + 2", "assert f(5) == 10", FAST)
    assert r.status == "failed" and "f(5) = 7" in r.error_message


def test_invalid_test_is_unchecked_not_failed():
    item = Item(id="c7", question="q", response="def f(x):\n    return x", tests=["assert f(1) == 1", "assert f(("])
    [f] = CodeVerifier(limits=FAST).check(item, [item.text])
    assert f.verdict is StepVerdict.UNCHECKED and "test 2" in f.message


def test_sandbox_failure_is_unchecked(monkeypatch):
    import critica.verifiers.code as code_mod
    from critica.verifiers.sandbox import SandboxResult

    monkeypatch.setattr(code_mod, "run_python",
                        lambda c, t, lim: SandboxResult(status="sandbox_error", error_message="no python"))
    item = Item(id="c6", question="q", response="x = 1", tests=["assert x == 1"])
    [f] = CodeVerifier(limits=FAST).check(item, [item.text])
    assert f.verdict is StepVerdict.UNCHECKED and "no python" in f.message


# -- hostile code, default sandbox ------------------------------------------------------------------------------


def test_infinite_loop_is_killed_on_time():
    start = time.perf_counter()
    r = run_python("while True:\n    pass", "pass", FAST)
    assert r.status in {"timeout", "cpu_limit"} and time.perf_counter() - start < 6


def test_memory_bomb_hits_the_limit():
    r = run_python("blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))", "pass",
                   SandboxLimits(timeout_s=3, memory_mb=256))
    assert r.status == "memory_limit"


def test_socket_is_refused():
    r = run_python("import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)", "pass", FAST)
    assert not r.passed and r.error_type in {"PermissionError", "OSError", "ConnectionRefusedError"}


def test_writes_outside_the_directory_are_refused():
    target_tmp = f"/tmp/critica-escape-{uuid.uuid4().hex}"
    target_repo = REPO / f"critica-escape-{uuid.uuid4().hex}"
    for target in (target_tmp, str(target_repo)):
        r = run_python(f"open({target!r}, 'w').write('escaped')", "pass", FAST)
        assert not r.passed and r.error_type == "PermissionError"
        assert not os.path.exists(target)
    # its own directory is writable
    assert run_python("open('out.txt', 'w').write('ok')", "assert open('out.txt').read() == 'ok'", FAST).passed


def test_environment_is_scrubbed(monkeypatch):
    monkeypatch.setenv("CRITICA_TEST_SECRET", "hunter2")
    r = run_python("import os\nassert 'CRITICA_TEST_SECRET' not in os.environ\nprint(sorted(os.environ))",
                   "import os\nassert not any('hunter2' in v for v in os.environ.values())", FAST)
    assert r.passed, r
    assert "CRITICA_TEST_SECRET" not in r.stdout_tail


def test_fork_bomb_is_contained():
    start = time.perf_counter()
    r = run_python("import os\nwhile True:\n    os.fork()", "pass", FAST)
    assert not r.passed and time.perf_counter() - start < 6
    if r.enforcement.get("nproc_effective"):
        assert _uid_processes(r.enforcement["uid"]) == 0


# -- hostile code, kernel mechanisms alone (Python guard off) -----------------------------------------------------


def test_kernel_contains_fork_bomb_without_python_guard():
    if not _kernel().get("nproc_effective"):
        pytest.skip("RLIMIT_NPROC cannot apply here (not started as root, so no private uid)")
    start = time.perf_counter()
    r = run_python("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", "pass",
                   KERNEL_ONLY)
    assert r.status == "timeout" and time.perf_counter() - start < 6
    assert _uid_processes(r.enforcement["uid"]) == 0


def test_kernel_blocks_network_without_python_guard():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)"
        r = run_python(code, "pass", KERNEL_ONLY)
    # the sandbox's own loopback has no listener: the host's 127.0.0.1 is another network namespace
    assert not r.passed and r.error_type in ("OSError", "ConnectionRefusedError")


def test_kernel_blocks_writes_without_python_guard():
    target_tmp = f"/tmp/critica-escape-{uuid.uuid4().hex}"
    r = run_python(f"open({target_tmp!r}, 'w').write('escaped')", "pass", KERNEL_ONLY)
    assert not os.path.exists(target_tmp)  # it landed in the sandbox's private tmpfs, gone now
    target = REPO / f"critica-escape-{uuid.uuid4().hex}"
    r = run_python(f"open({str(target)!r}, 'w').write('escaped')", "pass", KERNEL_ONLY)
    # the repository does not exist inside the sandbox (only /usr is mounted), let alone writable
    assert not r.passed and r.error_type in ("PermissionError", "FileNotFoundError", "OSError") and not target.exists()


def test_kernel_hides_the_filesystem_and_other_processes():
    code = ("import os\n"
            "def seen():\n"
            "    pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
            "    return [pids, sorted(os.listdir('/')), os.path.exists('/root'), os.path.exists('/etc/passwd'),\n"
            "            os.path.exists(" + repr(str(REPO)) + ")]")
    r = run_python(code, "assert seen()[0] == [1, 2] and set(seen()[1]) <= {'bin', 'dev', 'lib', 'lib32', 'lib64', "
                   "'libx32', 'proc', 'sbin', 'tmp', 'usr'} and seen()[2:] == [False, False, False]", KERNEL_ONLY)
    assert r.passed, r


def test_kernel_limits_file_size():
    r = run_python("open('big', 'wb').write(b'x' * (8 * 2**20))", "pass",
                   SandboxLimits(timeout_s=2, file_size_mb=1, python_guard=False))
    assert not r.passed and (r.error_type == "OSError" or r.status == "file_size_limit")


def test_cpu_limit_without_wall_timeout():
    # the wall-clock limit is generous, so only RLIMIT_CPU (SIGXCPU) can end this run
    r = run_python("while True:\n    pass", "pass", SandboxLimits(timeout_s=10, cpu_s=1, python_guard=False))
    assert r.status == "cpu_limit"


def test_no_bwrap_means_no_run(tmp_path):
    marker = tmp_path / "ran"
    r = run_python(f"open({str(marker)!r}, 'w').write('x')", "pass",
                   SandboxLimits(timeout_s=2, bwrap=str(tmp_path / "no-such-bwrap")))
    assert r.status == "sandbox_error" and not marker.exists()
    item = Item(id="nb", question="q", response="x = 1", tests=["assert x == 1"])
    [f] = CodeVerifier(limits=SandboxLimits(timeout_s=2, bwrap="/nonexistent/bwrap")).check(item, [item.text])
    assert f.verdict is StepVerdict.UNCHECKED
