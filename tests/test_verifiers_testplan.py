"""The test splitter and the judge: expected values stay out of the sandbox, and the judge agrees with Python."""

from __future__ import annotations

import ast
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critica.verifiers.judge import Env, JudgeLimit, Opaque, Unjudgeable, evaluate, judge_report, parse_report
from critica.verifiers.sandbox import SandboxLimits, bwrap_path, run_python
from critica.verifiers.testplan import plan_test

needs_bwrap = pytest.mark.skipif(bwrap_path() is None and not os.environ.get("CI"), reason="bubblewrap not installed")
LIM = SandboxLimits(timeout_s=5)

# (test, a solution that passes, a solution that fails). Expected value markers 7919 / 104729 must not be sent.
CASES = [
    ("assert f(3) == 7919", "def f(x):\n    return 7916 + x", "def f(x):\n    return x"),
    ("expected = [7919, 1]\nassert f() == expected", "def f():\n    return [7919, 1]", "def f():\n    return [1]"),
    ("for a, b in [(1, 7919), (2, 7920)]:\n    assert f(a) == b", "def f(a):\n    return 7918 + a",
     "def f(a):\n    return 7919"),
    ("cases = [(1, 7919), (2, 7920)]\nfor a, b in cases:\n    assert f(a) == b", "def f(a):\n    return 7918 + a",
     "def f(a):\n    return 0"),
    ("def check(candidate):\n    assert candidate(2) == 7919\n    assert candidate(0) != 104729\n\ncheck(f)",
     "def f(x):\n    return 7917 + x", "def f(x):\n    return 104729"),
    ("assert all(f(x) == x * 7919 for x in range(4))", "def f(x):\n    return 7919 * x", "def f(x):\n    return x"),
    ("import math\nassert math.isclose(f(2), 7919.5, rel_tol=1e-9)", "def f(x):\n    return 7919.5",
     "def f(x):\n    return 7919.6"),
    ("assert abs(f(1) - 7919.25) < 1e-6", "def f(x):\n    return 7919.25", "def f(x):\n    return 1.0"),
    ("assert sorted(f()) == [1, 7919]", "def f():\n    return [7919, 1]", "def f():\n    return [7919]"),
    ("assert set(f()) == {7919}", "def f():\n    return [7919, 7919]", "def f():\n    return {1}"),
    ("assert f('AbC').lower() == 'abc7919'", "def f(s):\n    return s + '7919'", "def f(s):\n    return s"),
    ("assert f() is None", "def f():\n    pass", "def f():\n    return 0"),
    ("assert f(7)\nassert not f(8)", "def f(n):\n    return n % 2 == 1", "def f(n):\n    return True"),
    ("assert isinstance(f(), tuple) and len(f()) == 2", "def f():\n    return (1, 2)", "def f():\n    return [1, 2]"),
    ("assert f()[1:] == [7919]", "def f():\n    return [0, 7919]", "def f():\n    return [7919]"),
    ("assert f() == {'a': 7919}", "from collections import Counter\ndef f():\n    return Counter({'a': 7919})",
     "def f():\n    return {'a': 1}"),
    ("s = S()\ns.push(1)\ns.push(7919)\nassert s.pop() == 7919\nassert s.pop() == 1",
     "class S:\n    def __init__(self):\n        self.l = []\n    def push(self, x):\n        self.l.append(x)\n    def pop(self):\n        return self.l.pop()",
     "class S:\n    def __init__(self):\n        self.l = []\n    def push(self, x):\n        self.l.append(x)\n    def pop(self):\n        return self.l.pop(0)"),
    ("xs = [3, 1, 2]\nf(xs)\nassert xs == [1, 2, 3]", "def f(v):\n    v.sort()", "def f(v):\n    return sorted(v)"),
    ("try:\n    f(-1)\n    assert False\nexcept ValueError:\n    pass", "def f(x):\n    raise ValueError('neg')",
     "def f(x):\n    return x"),
    ("assert f(2) == 7919, 'should be 7919'", "def f(x):\n    return 7919", "def f(x):\n    return 7918"),
    ("assert f(10 ** 30) == 10 ** 30 + 7919", "def f(x):\n    return x + 7919", "def f(x):\n    return x"),
    ("assert f() == float('inf')", "def f():\n    return float('inf')", "def f():\n    return 1e308"),
    ("assert f(b'ab') == b'ab7919'", "def f(b):\n    return b + b'7919'", "def f(b):\n    return b"),
    ("assert [f(i) for i in range(3)] == [0, 7919, 15838]", "def f(i):\n    return 7919 * i", "def f(i):\n    return i"),
]


@pytest.mark.parametrize(("test", "good", "bad"), CASES)
def test_expected_values_are_not_sent(test, good, bad):
    plan = plan_test(test)
    assert plan.error is None
    sent = plan.program
    inputs = "\n".join(line for line in test.splitlines() if "assert" not in line and " in [" not in line
                       and not line.lstrip().startswith(("cases", "expected")))
    for marker in ("7919", "104729", "15838", "7920", "should be"):
        if marker in test and marker not in inputs:  # an expectation, not an input the code needs
            assert marker not in sent, (test, sent)


def _python_says(code: str, test: str) -> bool:
    namespace: dict = {}
    try:
        exec(compile(code, "<code>", "exec"), namespace)  # noqa: S102 - our own fixtures, not untrusted input
        exec(compile(test, "<test>", "exec"), namespace)  # noqa: S102
    except Exception:  # noqa: BLE001
        return False
    return True


@needs_bwrap
@pytest.mark.parametrize(("test", "good", "bad"), CASES)
def test_the_judge_agrees_with_python(test, good, bad):
    for code, expected in ((good, True), (bad, False)):
        assert _python_says(code, test) is expected  # the fixture itself is right
        r = run_python(code, test, LIM)
        assert r.passed is expected, (test, code, r.status, r.error_message)


@needs_bwrap
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    k=st.integers(-10**6, 10**6),
    xs=st.lists(st.integers(-1000, 1000), max_size=6),
    op=st.sampled_from(["==", "!=", "<", ">=", "in", "not in"]),
    shape=st.sampled_from(["plain", "loop", "check", "comp", "var"]),
)
def test_property_judge_matches_python(k, xs, op, shape):
    code = f"def f(x):\n    return x * 2 + {k} if isinstance(x, int) else list(x)\n"
    expected = [x * 2 + k for x in xs] or [k]
    inputs = xs or [0]
    probe = "[f(x) for x in inputs]"
    rhs = repr(expected if op in ("==", "!=", "<", ">=") else expected[0])
    lhs = "f(inputs[0])" if op in ("in", "not in") else probe
    if op in ("in", "not in"):
        rhs = repr(expected)
    body = {
        "plain": f"inputs = {inputs!r}\nassert {lhs} {op} {rhs}",
        "var": f"inputs = {inputs!r}\nwant = {rhs}\nassert {lhs} {op} want",
        "loop": f"for a, b in {list(zip(inputs, expected, strict=True))!r}:\n    assert (f(a) == b) == {op == '=='} or {op != '=='}",
        "check": f"def check(candidate):\n    inputs = {inputs!r}\n    assert candidate(inputs[0]) == {expected[0]}\n\ncheck(f)",
        "comp": f"assert all(f(a) == b for a, b in {list(zip(inputs, expected, strict=True))!r})",
    }[shape]
    r = run_python(code, body, LIM)
    assert r.passed is _python_says(code, body), (body, r.status, r.error_message)


# -- the judge alone -------------------------------------------------------------------------------------------


def _eval(src: str, *values):
    from critica.verifiers import judge

    probes = [{"v": v} for v in values]
    return evaluate(ast.parse(src, mode="eval").body, Env(probes=probes, sources=[f"p{i}" for i in range(len(values))])) \
        if judge else None


def test_opaque_values_equal_nothing_and_have_no_truth():
    o = {"o": "Sneaky"}
    assert _eval("__critica_p0__ == 4", o) is False
    assert _eval("__critica_p0__ != 4", o) is True
    assert _eval("[__critica_p0__] == [4]", o) is False
    for src in ("not __critica_p0__", "__critica_p0__ < 4", "4 in __critica_p0__", "__critica_p0__ + 1", "len(__critica_p0__)"):
        with pytest.raises(TypeError):
            _eval(src, o)
    with pytest.raises(Unjudgeable):
        _eval("__critica_p0__ == __critica_p1__", o, {"o": "Other"})
    assert isinstance(_eval("__critica_p0__", o), Opaque)


@pytest.mark.parametrize("src", [
    "2 ** 10 ** 9", "[0] * 10 ** 9", "'ab' * __critica_p0__", "1 << 10 ** 9", "list(range(10 ** 12))",
    "sum(range(10 ** 15))", "max(range(10 ** 12))", "sorted(range(10 ** 9), key=abs)", "bytes(10 ** 10)",
    "'%*d' % (10 ** 9, 1)", "f'{1:>1000000000}'", "''.join(['x' * 1000] * 10 ** 5)", "math.factorial(10 ** 7)",
    "round(1, -10 ** 9)", "pow(3, 10 ** 9)", "sorted([[range(10 ** 12)]], key=max)",
])
def test_every_value_dependent_cost_is_bounded(src):
    with pytest.raises((JudgeLimit, ValueError, TypeError, Unjudgeable)):
        _eval(src, {"i": format(10 ** 9, "x")})


def test_the_judge_evaluates_nothing_it_does_not_know():
    for src in ("__import__('os')", "open('/etc/passwd')", "eval('1')", "(lambda: 1)()", "().__class__"):
        with pytest.raises(Unjudgeable):
            _eval(src)


def test_reports_must_hold_every_required_assertion_in_order():
    plan = plan_test("assert f(1) == 2\nassert f(2) == 4")
    ok = {"v": {"i": "2"}}, {"v": {"i": "4"}}
    assert judge_report(plan, parse_report(b'{"status": "completed", "events": [[0, [{"v": {"i": "2"}}]], '
                                           b'[1, [{"v": {"i": "4"}}]]]}')).status == "passed"
    assert ok
    for events in ("[[0, [{\"v\": {\"i\": \"2\"}}]]]", "[[1, [{\"v\": {\"i\": \"4\"}}]], [0, [{\"v\": {\"i\": \"2\"}}]]]",
                   "[]", "[[0, [{\"v\": {\"i\": \"2\"}}]], [0, [{\"v\": {\"i\": \"2\"}}]]]"):
        doc = parse_report(('{"status": "completed", "events": ' + events + "}").encode())
        assert judge_report(plan, doc).status != "passed", events


def test_weak_tests_are_reported():
    assert plan_test("assert f(1) == 2").weak == []
    assert plan_test("if True:\n    assert f(1) == 2").weak
    assert plan_test("f(1)").weak
    assert plan_test("def ref(x):\n    return x\nassert f(1) == ref(1) and ref(2) == 2").weak


def test_unparseable_or_huge_tests_are_refused_before_running():
    assert plan_test("assert f(").error
    assert plan_test("x = 1\n" * 100_000).error
    assert plan_test("(" * 100_000).error
