"""Split a code test into the part that must run beside the untrusted code and the part the judge keeps.

A test such as ``assert f(2) == 4`` has a *probe*, ``f(2)``, that only the sandbox can compute, and an
*expectation*, ``== 4``, that the judge (:mod:`critica.verifiers.judge`) evaluates outside it. The sandbox gets a
*probe program*: the test's other statements, with every ``assert`` replaced by a call that records its probes'
values. The expected values never enter the sandbox, so code that hunts for them (reading its own interpreter's
memory, hooking ``compile``, scanning files) finds nothing, and forging the report cannot help: the report carries
only values, and the judge compares them.

To keep expected values out of the sandbox in the tests people write, the test is normalised first:

* HumanEval's ``def check(candidate): assert candidate(…) == …`` followed by ``check(f)`` is inlined;
* ``for x, y in [(1, 2), …]: assert f(x) == y`` over a literal (or ``range``) is unrolled, and so are
  comprehensions over literals inside an assertion (``all(f(x) == x * 2 for x in range(5))``);
* ``expected = [1, 2]`` assigned once and used only in assertions stays with the judge.

What still runs in the sandbox is reported as :attr:`TestPlan.weak` (e.g. assertions inside ``if``/``try``
or a function, whose reaching the sandbox reports; an expected value computed by a helper the test defines).
Top-level assertions are *required*: the sandbox must report each exactly once, in order, or the test fails.
"""

from __future__ import annotations

import ast
import copy
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from critica.verifiers import judge
from critica.verifiers.judge import SAFE_FUNCS, SAFE_MATH, SAFE_METHODS, SAFE_NAMES, probe_name

__all__ = ["Assertion", "TestPlan", "plan_test", "PROBE_CALL"]

PROBE_CALL = "__critica_probe__"
MAX_TEST_CHARS = 200_000
MAX_NODES = 100_000
MAX_UNROLL = 1_000
"""Most iterations of one loop or comprehension that are unrolled."""
MAX_STATEMENTS = 20_000
"""Most top-level statements after unrolling."""


@dataclass
class Assertion:
    """One ``assert`` of the test, as the judge evaluates it."""

    id: int
    expr: ast.expr
    """The judge expression: the assertion's test with each probe replaced by ``__critica_p<k>__``."""
    probes: list[str]
    """Source of each probe (what the sandbox evaluates), for messages."""
    source: str
    """The assertion as written (after normalisation), for messages."""
    message: str | None = None
    """The assertion's message, when it is a constant."""
    required: bool = True
    """A top-level assertion: the sandbox must report it exactly once, in order."""


@dataclass
class TestPlan:
    """A test split into the sandbox's probe program and the judge's assertions."""

    program: str = ""
    """Python source run in the sandbox after the code: setup statements and probe calls."""
    assertions: list[Assertion] = field(default_factory=list)
    weak: list[str] = field(default_factory=list)
    """Ways this test's outcome still rests on what the sandbox reports (empty: none)."""
    error: str | None = None
    """Why the test could not be planned (it is not valid Python, or too large); then nothing is run."""

    @property
    def required(self) -> list[int]:
        """Ids of the top-level assertions, in the order the sandbox must report them."""
        return [a.id for a in self.assertions if a.required]


class _Unsplittable(Exception):
    """A node that cannot become a probe on its own (a lazy generator); its parent must."""


# -- helpers ---------------------------------------------------------------------------------------------------


def _const_ast(value: Any) -> ast.expr:
    """An expression that evaluates to ``value`` (plain data only). Raises ValueError otherwise."""
    t = type(value)
    if value is None or t in (bool, str, bytes):
        return ast.Constant(value)
    if t is int:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value)) if value < 0 else ast.Constant(value)
    if t is float:
        if math.isnan(value) or math.isinf(value):
            return ast.Call(ast.Name("float", ast.Load()), [ast.Constant(repr(value))], [])
        if math.copysign(1.0, value) < 0:
            return ast.UnaryOp(ast.USub(), ast.Constant(-value))
        return ast.Constant(value)
    if t is complex:
        return ast.Call(ast.Name("complex", ast.Load()), [_const_ast(value.real), _const_ast(value.imag)], [])
    if t is tuple:
        return ast.Tuple([_const_ast(v) for v in value], ast.Load())
    if t is list:
        return ast.List([_const_ast(v) for v in value], ast.Load())
    if t is dict:
        return ast.Dict([_const_ast(k) for k in value], [_const_ast(v) for v in value.values()])
    if t is set:
        if not value:
            return ast.Call(ast.Name("set", ast.Load()), [], [])
        return ast.Set([_const_ast(v) for v in value])
    if t is frozenset:
        return ast.Call(ast.Name("frozenset", ast.Load()), [ast.List([_const_ast(v) for v in value], ast.Load())], [])
    raise ValueError(f"not plain data: {t.__name__}")


def _plain(value: Any, depth: int = 0) -> bool:
    if depth > 40:
        return False
    t = type(value)
    if value is None or t in (bool, int, float, complex, str, bytes):
        return True
    if t in (tuple, list, set, frozenset):
        return all(_plain(v, depth + 1) for v in value)
    if t is dict:
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    return False


def _mutable(value: Any) -> bool:
    if type(value) in (list, dict, set):
        return True
    return type(value) in (tuple, frozenset) and any(_mutable(v) for v in value)


def _loads(node: ast.AST) -> Iterable[ast.Name]:
    return (n for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))


def _bound_names(tree: ast.AST) -> Counter[str]:
    """Every name the test binds anywhere (assignments, defs, imports, parameters, handlers, globals)."""
    out: Counter[str] = Counter()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            out[n.id] += 1
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[n.name] += 1
        elif isinstance(n, ast.alias):
            out[(n.asname or n.name).split(".")[0]] += 1
        elif isinstance(n, ast.arg):
            out[n.arg] += 1
        elif isinstance(n, ast.ExceptHandler) and n.name:
            out[n.name] += 1
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            for name in n.names:
                out[name] += 2
        elif isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name:
            out[n.name] += 1
        elif isinstance(n, ast.MatchMapping) and n.rest:
            out[n.rest] += 1
    return out


def _target_names(target: ast.expr) -> list[str] | None:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        names: list[str] = []
        for elt in target.elts:
            sub = _target_names(elt)
            if sub is None:
                return None
            names += sub
        return names
    return None


def _destructure(target: ast.expr, value: Any, out: dict[str, Any]) -> bool:
    if isinstance(target, ast.Name):
        out[target.id] = value
        return True
    assert isinstance(target, (ast.Tuple, ast.List))
    try:
        values = list(value)
    except TypeError:
        return False
    if len(values) != len(target.elts):
        return False
    return all(_destructure(t, v, out) for t, v in zip(target.elts, values, strict=True))


class _Substitute(ast.NodeTransformer):
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and node.id in self.values:
            return ast.copy_location(_const_ast(self.values[node.id]), node)
        return node


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, ast.expr]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and node.id in self.mapping:
            return ast.copy_location(copy.deepcopy(self.mapping[node.id]), node)
        return node


def _substitute(node: ast.AST, values: dict[str, Any]) -> Any:
    return ast.fix_missing_locations(_Substitute(values).visit(copy.deepcopy(node)))


def _static(node: ast.expr, folded: dict[str, Any]) -> tuple[bool, Any]:
    """Evaluate ``node`` now, if it needs nothing from the sandbox: (True, value) or (False, None)."""
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            if n.id in folded:
                continue
            if n.id not in SAFE_NAMES and n.id != "math":
                return False, None
        elif isinstance(n, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.NamedExpr,
                            ast.Await, ast.Yield, ast.YieldFrom, ast.Starred)):
            return False, None
    try:
        node = _substitute(node, folded) if folded else node
        value = judge.evaluate(node, judge.Env(probes=[], sources=[]))
    except Exception:  # noqa: BLE001 - anything that fails now is left to the sandbox
        return False, None
    return True, value


def _static_items(node: ast.expr, folded: dict[str, Any]) -> list[Any] | None:
    ok, value = _static(node, folded)
    if not ok:
        return None
    if isinstance(value, range):
        if len(value) > MAX_UNROLL:
            return None
        return list(value)
    if isinstance(value, (list, tuple, str, set, frozenset, dict)) or type(value).__name__ in (
            "zip", "enumerate", "reversed", "list_reverseiterator", "tuple_reverseiterator"):
        items = []
        for v in value:
            items.append(v)
            if len(items) > MAX_UNROLL:
                return None
        return items if all(_plain(v) for v in items) else None
    return None


def _breaks(body: list[ast.stmt]) -> bool:
    """A break/continue/return/yield that belongs to this loop body (not to a nested loop or function)."""
    stack: list[ast.AST] = list(body)
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Break, ast.Continue, ast.Return, ast.Yield, ast.YieldFrom, ast.Await)):
            return True
        if isinstance(n, (ast.For, ast.While, ast.AsyncFor)):
            stack.extend(n.orelse)  # break inside a nested loop belongs to it; its else clause is ours
            continue
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(n))
    return False


# -- normalisation ---------------------------------------------------------------------------------------------


def _inline_checks(body: list[ast.stmt]) -> list[ast.stmt]:
    """``def check(candidate): …`` + ``check(f)`` → the body with ``candidate`` replaced by ``f``."""
    defs = {st.name: st for st in body if isinstance(st, ast.FunctionDef) and not st.decorator_list}
    for name, fn in defs.items():
        calls = [st for st in body if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call)
                 and isinstance(st.value.func, ast.Name) and st.value.func.id == name]
        loads = [n for st in body for n in _loads(st) if n.id == name]
        if len(calls) != 1 or len(loads) != 1:
            continue
        call = calls[0].value
        a = fn.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs or call.keywords or len(call.args) != len(a.args):
            continue
        if not all(isinstance(x, (ast.Name, ast.Constant)) for x in call.args) or _breaks(fn.body):
            continue
        params = [p.arg for p in a.args]
        inner = _bound_names(ast.Module(fn.body, []))
        outer = _bound_names(ast.Module([st for st in body if st is not fn], []))
        outer_loads = {n.id for st in body if st is not fn for n in _loads(st)}
        if any(p in inner for p in params) or any(n in outer or n in outer_loads for n in inner):
            continue
        rename = _Rename(dict(zip(params, call.args, strict=True)))
        inlined = [ast.fix_missing_locations(rename.visit(copy.deepcopy(st))) for st in fn.body]
        out: list[ast.stmt] = []
        for st in body:
            if st is fn:
                continue
            out.extend(inlined if st is calls[0] else [st])
        return _inline_checks(out)
    return body


def _unroll_loops(body: list[ast.stmt], folded_iters: dict[str, Any]) -> list[ast.stmt] | None:
    """One pass of unrolling top-level ``for`` loops over static iterables; None when nothing changed."""
    changed = False
    out: list[ast.stmt] = []
    bound = _bound_names(ast.Module(body, []))
    for i, st in enumerate(body):
        if not (isinstance(st, ast.For) and not st.orelse):
            out.append(st)
            continue
        names = _target_names(st.target)
        items = _static_items(st.iter, folded_iters) if names else None
        if names is None or items is None or _breaks(st.body):
            out.append(st)
            continue
        inner = _bound_names(ast.Module(st.body, []))
        later = {n.id for s in body[i + 1:] for n in _loads(s)}
        uses = Counter(n.id for s in st.body for n in _loads(s))
        bindings: list[dict[str, Any]] = []
        for v in items:
            b: dict[str, Any] = {}
            if not _destructure(st.target, v, b):
                bindings = []
                break
            bindings.append(b)
        ok = bool(bindings) or not items
        ok = ok and not any(n in inner or n in later or bound[n] > 1 for n in names)
        ok = ok and not any(_mutable(b[n]) and uses[n] > 1 for b in bindings for n in names)
        if not ok or len(out) + len(items) * len(st.body) > MAX_STATEMENTS:
            out.append(st)
            continue
        for b in bindings:
            out.extend(_substitute(s, b) for s in st.body)
        changed = True
    return out if changed else None


def _literal_names(body: list[ast.stmt]) -> dict[str, tuple[int, Any]]:
    """Names bound exactly once, by a top-level ``NAME = <static value>``: name → (statement index, value)."""
    bound = _bound_names(ast.Module(body, []))
    out: dict[str, tuple[int, Any]] = {}
    for i, st in enumerate(body):
        target = value_node = None
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
            target, value_node = st.targets[0].id, st.value
        elif isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name) and st.value is not None:
            target, value_node = st.target.id, st.value
        if target is None or bound[target] != 1 or value_node is None:
            continue
        ok, value = _static(value_node, {})
        if ok and _plain(value):
            out[target] = (i, value)
    return out


# -- splitting one assertion -----------------------------------------------------------------------------------


class _Splitter:
    """Turns an assertion's test into a judge expression plus probes evaluated in the sandbox."""

    def __init__(self, folded: dict[str, Any], rebound: set[str], math_aliases: dict[str, str] | None = None) -> None:
        self.math_aliases = math_aliases or {}
        self.folded = folded
        self.rebound = rebound
        self.probes: list[ast.expr] = []
        self.folded_used: set[str] = set()
        self.local: set[str] = set()
        self.no_probes = 0

    def probe(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.GeneratorExp) or self.no_probes:
            raise _Unsplittable()
        self.probes.append(node)
        return ast.Name(probe_name(len(self.probes) - 1), ast.Load())

    def _safe_name(self, name: str) -> bool:
        return name in SAFE_NAMES and name not in self.rebound

    def visit(self, node: ast.expr) -> ast.expr:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            return self.probe(node)
        return method(node)

    def _children(self, node: ast.expr, fields: Iterable[str]) -> ast.expr:
        """A copy of ``node`` with the given child fields split; the whole node becomes a probe if a child cannot."""
        saved = len(self.probes)
        new = copy.copy(node)
        try:
            for f in fields:
                value = getattr(node, f)
                if isinstance(value, list):
                    setattr(new, f, [None if v is None else self.visit(v) for v in value])
                elif value is not None:
                    setattr(new, f, self.visit(value))
        except _Unsplittable:
            del self.probes[saved:]
            return self.probe(node)
        return new

    def visit_Constant(self, node: ast.Constant) -> ast.expr:
        return node

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in self.local:
            return node
        if node.id in self.folded:
            self.folded_used.add(node.id)
            return _const_ast(self.folded[node.id])
        if node.id in self.math_aliases:
            return ast.Attribute(ast.Name("math", ast.Load()), self.math_aliases[node.id], ast.Load())
        if self._safe_name(node.id):
            return node
        return self.probe(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        if isinstance(node.value, ast.Name):
            base = node.value.id
            if base == "math" and node.attr in SAFE_MATH and "math" not in self.rebound:
                return node
            if base in ("str", "bytes") and str in SAFE_METHODS.get(node.attr, ()) and self._safe_name(base):
                return node
        return self.probe(node)

    def visit_Call(self, node: ast.Call) -> ast.expr:
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.math_aliases:
            func = ast.Attribute(ast.Name("math", ast.Load()), self.math_aliases[func.id], ast.Load())
            node = ast.Call(func, node.args, node.keywords)
        known = (isinstance(func, ast.Name) and func.id in SAFE_FUNCS and self._safe_name(func.id)) or (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "math"
            and func.attr in SAFE_MATH and "math" not in self.rebound)
        method = isinstance(func, ast.Attribute) and func.attr in SAFE_METHODS and not known
        if not (known or method) or any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords):
            return self.probe(node)
        saved = len(self.probes)
        try:
            new_func = self.visit(func.value) if method else func  # type: ignore[union-attr]
            args = [self._arg(a) for a in node.args]
            keywords = [ast.keyword(k.arg, self._arg(k.value)) for k in node.keywords]
        except _Unsplittable:
            del self.probes[saved:]
            return self.probe(node)
        if method:
            assert isinstance(func, ast.Attribute)
            new_func = ast.Attribute(new_func, func.attr, ast.Load())
        return ast.Call(new_func, args, keywords)

    def _arg(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Lambda):
            a = node.args
            if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or a.posonlyargs:
                raise _Unsplittable()
            params = {p.arg for p in a.args}
            saved_local, self.local = self.local, self.local | params
            self.no_probes += 1
            try:
                body = self.visit(node.body)
            finally:
                self.no_probes -= 1
                self.local = saved_local
            return ast.Lambda(node.args, body)
        if isinstance(node, ast.GeneratorExp):
            unrolled = self._unroll_comprehension(node)
            if unrolled is None:
                raise _Unsplittable()
            return self.visit(unrolled)
        return self.visit(node)

    def _unroll_comprehension(self, node: ast.expr) -> ast.expr | None:
        gens = getattr(node, "generators", [])
        if len(gens) != 1 or gens[0].is_async:
            return None
        gen = gens[0]
        names = _target_names(gen.target)
        if names is None or any(n in self.local for n in names):
            return None
        items = _static_items(gen.iter, self.folded)
        if items is None:
            return None
        for n in ast.walk(gen.iter):
            if isinstance(n, ast.Name) and n.id in self.folded:
                self.folded_used.add(n.id)
        elts: list[Any] = []
        for v in items:
            b: dict[str, Any] = {}
            if not _destructure(gen.target, v, b):
                return None
            keep = True
            for cond in gen.ifs:
                ok, value = _static(_substitute(cond, b), self.folded)
                if not ok:
                    return None
                if not value:
                    keep = False
                    break
            if not keep:
                continue
            if isinstance(node, ast.DictComp):
                elts.append((_substitute(node.key, b), _substitute(node.value, b)))
            else:
                elts.append(_substitute(node.elt, b))  # type: ignore[attr-defined]
        if isinstance(node, ast.DictComp):
            return ast.Dict([k for k, _ in elts], [v for _, v in elts])
        if isinstance(node, ast.SetComp):
            return ast.Set(elts) if elts else ast.Call(ast.Name("set", ast.Load()), [], [])
        return ast.List(elts, ast.Load())

    def visit_ListComp(self, node: ast.ListComp) -> ast.expr:
        unrolled = self._unroll_comprehension(node)
        return self.probe(node) if unrolled is None else self.visit(unrolled)

    visit_SetComp = visit_DictComp = visit_ListComp

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> ast.expr:
        raise _Unsplittable()  # only a call consuming it (all(), sum() …) can take it, through _arg

    def visit_Tuple(self, node: ast.Tuple) -> ast.expr:
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return self.probe(node)
        return self._children(node, ["elts"])

    visit_List = visit_Set = visit_Tuple

    def visit_Dict(self, node: ast.Dict) -> ast.expr:
        if any(k is None for k in node.keys):
            return self.probe(node)
        return self._children(node, ["keys", "values"])

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        if isinstance(node.op, ast.MatMult):
            return self.probe(node)
        return self._children(node, ["left", "right"])

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        return self._children(node, ["operand"])

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.expr:
        return self._children(node, ["values"])

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        return self._children(node, ["left", "comparators"])

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        return self._children(node, ["test", "body", "orelse"])

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        return self._children(node, ["value", "slice"])

    def visit_Slice(self, node: ast.Slice) -> ast.expr:
        return self._children(node, ["lower", "upper", "step"])

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.expr:
        return self._children(node, ["values"])

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.expr:
        return self._children(node, ["value", "format_spec"])


def _decides(node: ast.expr) -> bool:
    """The probe itself compares or tests something (a decision made inside the sandbox)."""
    return any(isinstance(n, (ast.Compare, ast.BoolOp)) or (isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not))
               for n in ast.walk(node))


def _split(node: ast.Assert, aid: int, splitter: _Splitter, required: bool) -> tuple[Assertion, list[ast.expr]]:
    try:
        expr = splitter.visit(node.test)
    except _Unsplittable:  # e.g. ``assert (x for x in y)``: the sandbox evaluates it whole
        splitter.probes.append(node.test)
        expr = ast.Name(probe_name(len(splitter.probes) - 1), ast.Load())
    message = None
    if isinstance(node.msg, ast.Constant):
        message = str(node.msg.value)[:500]
    elif node.msg is not None:
        ok, value = _static(node.msg, splitter.folded)
        message = str(value)[:500] if ok else ast.unparse(node.msg)[:500]
    source = ast.unparse(ast.Assert(node.test, None))
    assertion = Assertion(id=aid, expr=ast.fix_missing_locations(expr),
                          probes=[ast.unparse(p)[:300] for p in splitter.probes],
                          source=source if len(source) <= 300 else source[:299] + "…", message=message,
                          required=required)
    return assertion, list(splitter.probes)


def _probe_stmt(aid: int, probes: list[ast.expr], where: ast.AST) -> ast.stmt:
    call = ast.Call(ast.Name(PROBE_CALL, ast.Load()), [
        ast.Constant(aid),
        ast.Tuple([ast.Lambda(ast.arguments([], [], None, [], [], None, []), p) for p in probes], ast.Load()),
    ], [])
    return ast.copy_location(ast.Expr(call), where)


# -- planning --------------------------------------------------------------------------------------------------


def plan_test(source: str) -> TestPlan:
    """Split ``source`` (Python test code, e.g. ``assert f(2) == 4``) into a probe program and judge assertions."""
    if len(source) > MAX_TEST_CHARS:
        return TestPlan(error=f"the test is {len(source)} characters long (limit {MAX_TEST_CHARS})")
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        return TestPlan(error=f"the test is not valid Python: {type(e).__name__}: {str(e)[:200]}")
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        return TestPlan(error="the test is too large to plan")
    try:
        return _plan(tree)
    except RecursionError:
        return TestPlan(error="the test is nested too deeply to plan")


def _plan(tree: ast.Module) -> TestPlan:
    body = _inline_checks(list(tree.body))
    # Names used only as the iterable of top-level loops can be unrolled from their literal value.
    for _ in range(32):
        literals = _literal_names(body)
        loop_iters: dict[str, Any] = {}
        for name, (_, value) in literals.items():
            loads = [n for st in body for n in _loads(st) if n.id == name]
            iters = [st for st in body if isinstance(st, ast.For) and isinstance(st.iter, ast.Name)
                     and st.iter.id == name]
            if loads and len(loads) == len(iters):
                loop_iters[name] = value
        unrolled = _unroll_loops(body, loop_iters)
        if unrolled is None:
            break
        body = unrolled
    bound = _bound_names(ast.Module(body, []))
    # ``import math`` binds it once: that is the math module the judge knows; any other binding replaces it.
    rebound = {n for n, c in bound.items() if c and not (n == "math" and c == 1)}
    test_defined = {st.name for st in ast.walk(ast.Module(body, [])) if isinstance(
        st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    # ``from math import isclose``: the judge knows these functions as well as ``math.isclose``.
    math_aliases: dict[str, str] = {}
    for st in body:
        if isinstance(st, ast.ImportFrom) and st.module == "math" and not st.level:
            for alias in st.names:
                local = alias.asname or alias.name
                if alias.name in SAFE_MATH and bound[local] == 1:
                    math_aliases[local] = alias.name
        if isinstance(st, (ast.Import, ast.ImportFrom)):
            test_defined.update((a.asname or a.name).split(".")[0] for a in st.names)
    test_defined -= set(math_aliases) | {"math"}
    rebound -= set(math_aliases)
    literals = _literal_names(body)
    # A literal name stays with the judge when it is used only inside top-level assertions, never in a probe.
    candidates = {}
    for name, (index, value) in literals.items():
        loads = [(i, n) for i, st in enumerate(body) for n in _loads(st) if n.id == name]
        if loads and all(isinstance(body[i], ast.Assert) and i > index for i, _ in loads):
            candidates[name] = value
    while True:
        plan, in_probes, used = _build(body, candidates, rebound, test_defined, literals, math_aliases)
        spoiled = (in_probes & candidates.keys()) | {n for n in candidates if n not in used}
        if not spoiled:
            return plan
        for n in spoiled:
            candidates.pop(n)


def _build(body: list[ast.stmt], folded: dict[str, Any], rebound: set[str], test_defined: set[str],
           literals: dict[str, tuple[int, Any]], math_aliases: dict[str, str]) -> tuple[TestPlan, set[str], set[str]]:
    plan = TestPlan()
    program: list[ast.stmt] = []
    in_probes: set[str] = set()
    used: set[str] = set()
    # Literal assignments the judge took over, and literals nothing reads any more (e.g. the cases of an unrolled
    # loop), are not sent: they may hold expected values.
    loaded = {n.id for st in body for n in _loads(st)}
    dropped = {literals[n][0] for n in folded} | {i for n, (i, _) in literals.items() if n not in loaded}
    nested = 0
    next_id = 0

    def split(node: ast.Assert, required: bool) -> ast.stmt:
        nonlocal next_id
        splitter = _Splitter(folded if required else {}, rebound, math_aliases)
        assertion, probes = _split(node, next_id, splitter, required)
        next_id += 1
        plan.assertions.append(assertion)
        used.update(splitter.folded_used)
        for p in probes:
            in_probes.update(n.id for n in _loads(p))
            calls_helper = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in test_defined
                               for n in ast.walk(p))
            if required and (_decides(p) or calls_helper):
                plan.weak.append(f"assertion {assertion.id + 1} (`{assertion.source[:80]}`) is partly evaluated in "
                                 "the sandbox")
        return _probe_stmt(assertion.id, probes, node)

    class _Nested(ast.NodeTransformer):
        def visit_Assert(self, node: ast.Assert) -> ast.AST:
            nonlocal nested
            nested += 1
            return split(node, required=False)

    for i, st in enumerate(body):
        if i in dropped:
            continue
        if isinstance(st, ast.Assert):
            program.append(split(st, required=True))
            continue
        program.append(_Nested().visit(copy.deepcopy(st)))
        in_probes.update(n.id for n in _loads(st))
    if nested:
        plan.weak.append(f"{nested} assertion(s) sit inside a loop, branch or function: which of them ran is what "
                         "the sandbox reports")
    if not plan.assertions:
        plan.weak.append("the test has no assertion: it passes when the code runs it without raising, as the "
                         "sandbox reports")
    plan.program = ast.unparse(ast.fix_missing_locations(ast.Module(program, [])))
    return plan, in_probes, used
