"""Code verification: run a response's Python code against the item's tests in a sandbox.

The code is the response's fenced Python blocks (```` ```python ````, ```` ```py ```` or an untagged fence), joined
in order; without any fence, the whole response. Each test (``Item.tests``, Python source such as
``assert f(2) == 4``) runs after the code, in its own sandboxed process (:mod:`critica.verifiers.sandbox`: timeout,
CPU, memory, process and file-size limits, an empty working directory, a scrubbed environment, no network), so one
test cannot influence another.

The pass of each test is decided by the judge outside the sandbox (:mod:`critica.verifiers.judge`): the sandbox
only reports the values of the test's probes (``f(2)`` of ``assert f(2) == 4``), and the expected values never
enter it (:mod:`critica.verifiers.testplan`).

Findings (all ``step=None``: a test exercises the whole program, not one step):

* the first failing test → ``incorrect``, quoting the assertion, the values the code produced, the error type
  and message, and stdout/stderr tails;
* every test passing → one ``correct`` finding;
* the sandbox could not start, a test is not valid Python, or an assertion compares two values that are not plain
  data (only the sandbox could compare them) → ``unchecked``: none of these says anything about the code, and
  none is ever a pass.

``details`` carries, besides the per-test statuses, ``weak``: the ways a test's outcome still rests on what the
sandbox reports (assertions inside loops or functions, expected values computed by helpers the test defines).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

from critica.types import Item, StepVerdict
from critica.verifiers.base import Finding
from critica.verifiers.sandbox import SandboxLimits, SandboxResult, run_python

__all__ = ["CodeVerifier", "extract_code"]

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
_PY_TAGS = {"", "python", "py", "python3", "py3"}
_MAX_CODE_CHARS = 200_000
_MAX_TESTS = 100

_DESCRIBE = {
    "failed": "failed",
    "error": "could not run the code",
    "timeout": "timed out",
    "cpu_limit": "exceeded the CPU-time limit",
    "memory_limit": "exceeded the memory limit",
    "file_size_limit": "exceeded the file-size limit",
    "crashed": "crashed",
}


def extract_code(text: str) -> str:
    """The Python code in a response: its Python (or untagged) fenced blocks joined, else the whole text."""
    blocks = [m.group(3) for m in _FENCE.finditer(text) if m.group(2).lower() in _PY_TAGS]
    code = "\n\n".join(b.rstrip() for b in blocks) if blocks else text
    return code.strip("\n")[:_MAX_CODE_CHARS]


def _first_line(src: str, limit: int = 160) -> str:
    lines = [ln for ln in src.strip().splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    more = " …" if len(lines) > 1 else ""
    return (first[: limit - 1] + "…" if len(first) > limit else first) + more


class CodeVerifier:
    """Runs the response's code against ``Item.tests`` in a sandbox and reports the first failing test.

    Args:
        limits: Sandbox limits applied to every test run.
        max_workers: Tests run in parallel, at most this many at a time (each in its own process).
    """

    name = "code"

    def __init__(self, *, limits: SandboxLimits | None = None, max_workers: int = 2) -> None:
        self.limits = limits or SandboxLimits()
        self.max_workers = max(1, max_workers)

    def run_tests(self, code: str, tests: Sequence[str]) -> list[SandboxResult]:
        """Run ``code`` plus each test in its own sandboxed process; results in test order."""
        tests = list(tests)[:_MAX_TESTS]
        if len(tests) <= 1 or self.max_workers == 1:
            return [run_python(code, t, self.limits) for t in tests]
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            return list(pool.map(lambda t: run_python(code, t, self.limits), tests))

    def check(self, item: Item, steps: list[str]) -> list[Finding]:
        """Findings for ``item``; none when it carries no tests. Never raises."""
        if not item.tests:
            return []
        code = extract_code(item.text)
        try:
            results = self.run_tests(code, item.tests)
        except Exception as e:  # noqa: BLE001 - a verifier must not raise on any text
            return [Finding("code", StepVerdict.UNCHECKED, f"the sandbox failed: {type(e).__name__}: {e}",
                            details={"error": repr(e)})]
        return self.findings(item.tests, results)

    async def acheck(self, item: Item, steps: list[str]) -> list[Finding]:
        """:meth:`check` in a worker thread: waiting on subprocesses must not block the event loop."""
        return await asyncio.to_thread(self.check, item, steps)

    def findings(self, tests: Sequence[str], results: list[SandboxResult]) -> list[Finding]:
        """Turn per-test results into findings: the first failing test, or one ``correct`` finding."""
        summary: dict[str, Any] = {
            "tests": len(results),
            "passed": sum(r.passed for r in results),
            "statuses": [r.status for r in results],
            "enforcement": results[0].enforcement if results else {},
        }
        weak = {f"test {i + 1}": r.weak for i, r in enumerate(results) if r.weak}
        if weak:
            summary["weak"] = weak
        broken = [r for r in results if r.status == "sandbox_error"]
        if broken:
            r = broken[0]
            return [Finding("code", StepVerdict.UNCHECKED,
                            f"the code could not be run: the sandbox did not start ({r.error_message or 'unknown'})",
                            details={**summary, "error": r.error_message})]
        invalid = [(i, r) for i, r in enumerate(results) if r.status == "invalid_test"]
        if invalid:
            i, r = invalid[0]
            return [Finding("code", StepVerdict.UNCHECKED, f"test {i + 1} cannot be run: {r.error_message}",
                            details={**summary, "test_index": i, "error": r.error_message})]
        for i, (test, r) in enumerate(zip(tests, results, strict=False)):
            if r.passed or r.status == "unjudgeable":
                continue
            what = _DESCRIBE.get(r.status, r.status)
            err = f"{r.error_type}: {r.error_message}" if r.error_message else (r.error_type or r.status)
            if r.status == "error":
                msg = f"the code raised {err} before test {i + 1} could run"
            elif r.status == "failed" and r.error_message:
                msg = f"test {i + 1} failed: {r.error_message}"
            else:
                msg = f"test {i + 1} `{_first_line(test)}` {what}: {err}"
            details = {**summary, "test_index": i, "test": test, **{k: v for k, v in asdict(r).items()
                                                                     if k != "enforcement"}}
            return [Finding("code", StepVerdict.INCORRECT, msg, details=details)]
        unjudged = [(i, r) for i, r in enumerate(results) if r.status == "unjudgeable"]
        if unjudged:
            i, r = unjudged[0]
            return [Finding("code", StepVerdict.UNCHECKED,
                            f"test {i + 1} could not be judged outside the sandbox: {r.error_message}",
                            details={**summary, "test_index": i, "error": r.error_message})]
        return [Finding("code", StepVerdict.CORRECT, f"all {len(results)} tests passed", details=summary)]
