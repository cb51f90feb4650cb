"""The judge of a code test: decides, outside the sandbox, whether the values the code produced satisfy the test.

The sandbox (:mod:`critica.verifiers.sandbox`) reports, for each ``assert`` of a test it reached, the values of
the assertion's *probes* (the parts that needed the untrusted code, e.g. ``f(2)``) as plain data. This module
decodes that report strictly and evaluates each assertion's *judge expression* (e.g. ``__critica_p0__ == 4``)
with its own small interpreter, over genuine built-in values:

* values are only ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``, ``bytearray``,
  ``list``, ``tuple``, ``dict``, ``set``, ``frozenset``, ``range`` and a few standard-library value types
  (``OrderedDict``, ``defaultdict``, ``Counter``, ``deque``, ``Fraction``, ``Decimal``); any other object the
  code returned arrives as :class:`Opaque` (its type name only), which equals no plain value, has no truth value
  and cannot be ordered — so an object whose ``__eq__`` always returns True decides nothing here;
* the interpreter knows a whitelist of pure functions and methods (:data:`SAFE_FUNCS`, :data:`SAFE_METHODS`,
  :data:`SAFE_MATH`) and bounds every operation whose cost depends on the values (``**``, ``*`` on sequences,
  ``<<``, ``range`` materialisation, ``str.join``/``replace``, ``%`` formatting, factorials …), because the values
  come from code that may want to exhaust the judge;
* it never calls ``eval`` and never touches an object the untrusted process made.

Whether an assertion's expected value (the ``4``) ever reached the sandbox is decided by
:mod:`critica.verifiers.testplan`; this module only evaluates.
"""

from __future__ import annotations

import ast
import base64
import collections
import decimal
import fractions
import json
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Opaque", "Unjudgeable", "JudgeLimit", "ProbeRaised", "Malformed", "SAFE_FUNCS", "SAFE_METHODS", "SAFE_MATH",
    "SAFE_NAMES", "Judgement", "probe_name", "decode_value", "evaluate", "parse_report", "judge_report", "show",
]

MAX_ITEMS = 1_000_000
"""Largest sequence, range or string the judge will build."""
MAX_INT_BITS = 1 << 20
"""Largest integer (in bits) the judge multiplies, raises or shifts into being."""
MAX_DEPTH = 80
"""Deepest nesting of a decoded value."""

_PROBE = re.compile(r"__critica_p(\d+)__")


def probe_name(k: int) -> str:
    """The placeholder name of probe ``k`` in a judge expression."""
    return f"__critica_p{k}__"


class Malformed(Exception):
    """The sandbox's report is not what the harness writes: the run proves nothing."""


class JudgeLimit(Exception):
    """Evaluating the assertion would exceed the judge's bounds (a huge power, repetition, range …)."""


class Unjudgeable(Exception):
    """The assertion compares two values that are not plain data: only the sandbox could compare them."""


class ProbeRaised(Exception):
    """A probe the assertion needs raised inside the sandbox (the assertion fails with that error)."""

    def __init__(self, source: str, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.source, self.error_type, self.message = source, error_type, message


class Opaque:
    """A value of a type that is not plain data; only its type name crossed the sandbox boundary."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Opaque):
            raise Unjudgeable(f"two values that are not plain data ({self.type_name}, {other.type_name}) are compared")
        return False

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def _refuse(self, *_: object) -> Any:
        raise TypeError(f"a {self.type_name} object is not plain data: the judge cannot order it, test its truth or "
                        "look inside it (return built-in values: int, float, str, list, dict …)")

    __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __len__ = __iter__ = __contains__ = _refuse


# -- decoding the sandbox's report -----------------------------------------------------------------------------


def decode_value(obj: Any, depth: int = 0) -> Any:
    """Tagged JSON from the harness → a genuine built-in value. Raises :class:`Malformed` on anything else."""
    if depth > MAX_DEPTH:
        raise Malformed("value nested too deeply")
    if obj is None or isinstance(obj, bool):
        return obj
    if not isinstance(obj, dict) or len(obj) != 1:
        raise Malformed(f"not a tagged value: {type(obj).__name__}")
    (tag, v), = obj.items()
    try:
        return _DECODERS[tag](v, depth + 1)
    except KeyError:
        raise Malformed(f"unknown tag {tag!r}") from None
    except (TypeError, ValueError, OverflowError, decimal.InvalidOperation, ZeroDivisionError) as e:
        raise Malformed(f"bad {tag!r} value: {type(e).__name__}") from None


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("expected a string")
    return v


def _items(v: Any, depth: int) -> list[Any]:
    if not isinstance(v, list):
        raise TypeError("expected a list")
    return [decode_value(x, depth) for x in v]


def _pairs(v: Any, depth: int) -> list[tuple[Any, Any]]:
    if not isinstance(v, list) or not all(isinstance(p, list) and len(p) == 2 for p in v):
        raise TypeError("expected pairs")
    return [(decode_value(k, depth), decode_value(x, depth)) for k, x in v]


def _int(v: Any, _d: int = 0) -> int:
    s = _text(v)
    if len(s) > (16 << 20) // 4 + 2:  # the harness reports at most a few MB per value
        raise ValueError("integer too large")
    return int(s, 16)


def _float(v: Any, _d: int = 0) -> float:
    return float.fromhex(_text(v))


def _hashable(items: list[Any]) -> list[Any]:
    for x in items:
        hash(x)  # TypeError for unhashable → Malformed
    return items


_DECODERS: dict[str, Callable[[Any, int], Any]] = {
    "i": _int,
    "f": _float,
    "c": lambda v, d: complex(_float(v[0]), _float(v[1])) if isinstance(v, list) and len(v) == 2 else _bad(),
    "s": lambda v, d: _text(v),
    "b": lambda v, d: base64.b64decode(_text(v), validate=True),
    "ba": lambda v, d: bytearray(base64.b64decode(_text(v), validate=True)),
    "r": lambda v, d: _small_range(*[_int_value(x) for x in _items(v, d)]),
    "l": lambda v, d: _items(v, d),
    "t": lambda v, d: tuple(_items(v, d)),
    "set": lambda v, d: set(_hashable(_items(v, d))),
    "fs": lambda v, d: frozenset(_hashable(_items(v, d))),
    "d": lambda v, d: dict(_pairs(v, d)),
    "od": lambda v, d: collections.OrderedDict(_pairs(v, d)),
    "dd": lambda v, d: dict(_pairs(v, d)),
    "ctr": lambda v, d: collections.Counter(dict(_pairs(v, d))),
    "dq": lambda v, d: collections.deque(_items(v, d)),
    "fr": lambda v, d: fractions.Fraction(*[_int_value(x) for x in _items(v, d)]),
    "dec": lambda v, d: decimal.Decimal(_text(v)[:5000]),
    "o": lambda v, d: Opaque(_text(v)[:200]),
    "cyclic": lambda v, d: Opaque("self-referencing " + _text(v)[:100]),
    "deep": lambda v, d: Opaque("too deeply nested " + _text(v)[:100]),
    "toolarge": lambda v, d: Opaque("too large"),
}


def _bad() -> Any:
    raise TypeError("malformed")


def _small_range(*args: int) -> Any:
    r = range(*args)
    return r if len(r) <= MAX_ITEMS else Opaque(f"range of {len(r)} items")


def _int_value(x: Any) -> int:
    if type(x) is not int:
        raise TypeError("expected an int")
    return x


def parse_report(raw: bytes, limit: int = 64 << 20) -> dict[str, Any]:
    """The harness's JSON report, structurally checked. Raises :class:`Malformed`."""
    if not raw:
        raise Malformed("no report")
    if len(raw) > limit:
        raise Malformed("report too large")
    try:
        doc = json.loads(raw.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError, UnicodeDecodeError) as e:
        raise Malformed(f"report is not JSON ({type(e).__name__})") from None
    if not isinstance(doc, dict) or doc.get("status") not in ("completed", "error"):
        raise Malformed("report has no status")
    events = doc.get("events", [])
    if not isinstance(events, list):
        raise Malformed("events is not a list")
    for ev in events:
        if not (isinstance(ev, list) and len(ev) == 2 and type(ev[0]) is int and isinstance(ev[1], list)):
            raise Malformed("malformed event")
        for p in ev[1]:
            if not (isinstance(p, dict) and len(p) == 1 and next(iter(p)) in ("v", "raise", "toolarge", "deep")):
                raise Malformed("malformed probe result")
    err = doc.get("error")
    if err is not None and not (isinstance(err, list) and len(err) == 2 and all(isinstance(x, str) for x in err)):
        raise Malformed("malformed error")
    return doc


# -- showing values --------------------------------------------------------------------------------------------


def show(value: Any, limit: int = 120) -> str:
    """A short, safe rendering of a judge-side value for messages (never fails, never huge)."""
    try:
        if type(value) is int and value.bit_length() > 200:
            text = f"<int of {value.bit_length()} bits>"
        else:
            text = _short_repr(value, limit)
    except (ValueError, RecursionError, TypeError) as e:
        text = f"<{type(value).__name__}: {type(e).__name__}>"
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_repr(value: Any, limit: int) -> str:
    if isinstance(value, (str, bytes, bytearray)) and len(value) > limit:
        return repr(value[:limit]) + "…"
    if isinstance(value, (list, tuple, set, frozenset, dict, collections.deque)) and len(value) > 50:
        head = list(value.items())[:20] if isinstance(value, dict) else list(value)[:20]
        return f"{type(value).__name__} of {len(value)} items starting {_short_repr(head, limit)}"
    return repr(value)


# -- the evaluator ---------------------------------------------------------------------------------------------


def _sized(x: Any) -> Any:
    if isinstance(x, range) and len(x) > MAX_ITEMS:
        raise JudgeLimit(f"a range of {len(x)} items")
    return x


def _bounded(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*[_sized(a) for a in args], **kwargs)

    call.__name__ = getattr(fn, "__name__", "function")
    return call


def _factorial(n: Any) -> int:
    if isinstance(n, int) and n > 20_000:
        raise JudgeLimit(f"factorial({n})")
    return math.factorial(n)


def _comb(n: Any, k: Any) -> int:
    if isinstance(n, int) and n > 100_000:
        raise JudgeLimit(f"comb({n}, …)")
    return math.comb(n, k)


def _perm(n: Any, k: Any = None) -> int:
    if isinstance(n, int) and n > 100_000:
        raise JudgeLimit(f"perm({n}, …)")
    return math.perm(n, k)


def _pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None:
        return _power(base, exp)
    if isinstance(exp, int) and exp.bit_length() > 100_000:
        raise JudgeLimit("pow() with a huge exponent")
    return pow(base, exp, mod)


def _power(a: Any, b: Any) -> Any:
    if type(b) in (int, bool) and type(a) in (int, bool, fractions.Fraction):
        bits = (a.numerator.bit_length() + a.denominator.bit_length()) if type(a) is fractions.Fraction \
            else a.bit_length()
        if abs(b) * bits > MAX_INT_BITS and abs(a) != 1:
            raise JudgeLimit(f"a power of about {abs(b) * bits} bits")
    return a ** b


def _repeat(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, bytes, bytearray, list, tuple, collections.deque)) and isinstance(n, int):
            if len(seq) * max(0, n) > MAX_ITEMS:
                raise JudgeLimit(f"a repetition of {len(seq)} × {n} items")
    if type(a) is int and type(b) is int and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise JudgeLimit("a product of huge integers")
    return a * b


def _lshift(a: Any, b: Any) -> Any:
    if isinstance(b, int) and b > MAX_INT_BITS:
        raise JudgeLimit(f"a shift by {b} bits")
    return a << b


_FORMAT_WIDTH = re.compile(r"(\d{5,})")


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes, bytearray)):
        fmt = a if isinstance(a, str) else a.decode("latin-1")
        if _FORMAT_WIDTH.search(fmt) or "*" in fmt:
            raise JudgeLimit("a %-format with a huge or variable width")
    return a % b


def _round(x: Any, ndigits: Any = None) -> Any:
    if isinstance(ndigits, int) and abs(ndigits) > 10_000:
        raise JudgeLimit(f"round() to {ndigits} digits")
    return round(x) if ndigits is None else round(x, ndigits)


def _bytes(*args: Any) -> bytes:
    if args and isinstance(args[0], int) and args[0] > MAX_ITEMS:
        raise JudgeLimit(f"bytes({args[0]})")
    return bytes(*[_sized(a) for a in args])


def _format(value: Any, spec: str) -> str:
    if _FORMAT_WIDTH.search(spec):
        raise JudgeLimit("a format with a huge width")
    return format(value, spec)


_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: _repeat, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: _mod, ast.Pow: _power, ast.LShift: _lshift, ast.RShift: operator.rshift,
    ast.BitOr: operator.or_, ast.BitAnd: operator.and_, ast.BitXor: operator.xor,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
    ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: operator.contains(_sized(b), a), ast.NotIn: lambda a, b: not operator.contains(_sized(b), a),
}

SAFE_FUNCS: dict[str, Any] = {
    f.__name__: f for f in (
        abs, all, any, bool, chr, complex, dict, divmod, enumerate, float, frozenset, int, isinstance, len, list,
        max, min, ord, pow, range, repr, reversed, round, set, sorted, str, sum, tuple, type, zip, bytes, hex, bin,
        oct,
    )
}
"""Built-ins the judge evaluates itself; names evaluate to the real built-ins (``isinstance(x, list)`` works)."""


def _type(*args: Any) -> Any:
    if len(args) != 1:
        raise Unjudgeable("type() with more than one argument")
    return type(args[0])


# Calls of these go through bounds, because their arguments (values from the sandbox) could make them expensive.
_GUARDED: dict[Any, Callable[..., Any]] = {
    all: _bounded(all), any: _bounded(any), dict: _bounded(dict), enumerate: _bounded(enumerate),
    frozenset: _bounded(frozenset), list: _bounded(list), max: _bounded(max), min: _bounded(min), pow: _pow,
    reversed: _bounded(reversed), round: _round, set: _bounded(set), sorted: _bounded(sorted), sum: _bounded(sum),
    tuple: _bounded(tuple), zip: _bounded(zip), bytes: _bytes, type: _type, range: lambda *a: _sized(range(*a)),
}


def _guarded_arg(a: Any) -> Any:
    # A built-in passed as a value (``key=len``) is called by another built-in, beyond _call's reach: pass the
    # bounded version. isinstance() gets the real types.
    if callable(a) and not isinstance(a, _Lambda):
        try:
            return _GUARDED.get(a, a)
        except TypeError:
            return a
    return a


SAFE_NAMES: frozenset[str] = frozenset(SAFE_FUNCS)
"""Names a judge expression may use (when the test does not rebind them)."""

SAFE_MATH: dict[str, Any] = {
    name: getattr(math, name) for name in (
        "isclose", "sqrt", "isqrt", "floor", "ceil", "trunc", "fabs", "isnan", "isinf", "isfinite", "log", "log2",
        "log10", "log1p", "exp", "expm1", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "hypot", "degrees",
        "radians", "gcd", "lcm", "fsum", "copysign", "fmod", "remainder", "pi", "e", "tau", "inf", "nan", "dist",
    )
} | {"factorial": _factorial, "comb": _comb, "perm": _perm}
"""``math`` functions and constants the judge evaluates (``math.X`` in a test)."""
_CALLABLE = (*SAFE_FUNCS.values(), *SAFE_MATH.values())

_STR_METHODS = {
    "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith",
    "count", "find", "rfind", "index", "rindex", "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper",
    "istitle", "isdecimal", "isnumeric", "isidentifier", "isprintable", "isascii", "title", "capitalize", "swapcase",
    "casefold", "join", "replace", "removeprefix", "removesuffix", "partition", "rpartition",
}
SAFE_METHODS: dict[str, frozenset[type]] = {
    **{m: frozenset({str, bytes, bytearray}) for m in _STR_METHODS},
    "decode": frozenset({bytes, bytearray}), "encode": frozenset({str}),
    "get": frozenset({dict, collections.OrderedDict, collections.Counter}),
    "keys": frozenset({dict, collections.OrderedDict, collections.Counter}),
    "values": frozenset({dict, collections.OrderedDict, collections.Counter}),
    "items": frozenset({dict, collections.OrderedDict, collections.Counter}),
    "most_common": frozenset({collections.Counter}),
    "issubset": frozenset({set, frozenset}), "issuperset": frozenset({set, frozenset}),
    "isdisjoint": frozenset({set, frozenset}), "union": frozenset({set, frozenset}),
    "intersection": frozenset({set, frozenset}), "difference": frozenset({set, frozenset}),
    "symmetric_difference": frozenset({set, frozenset}), "is_integer": frozenset({float, int}),
    "bit_length": frozenset({int}), "conjugate": frozenset({int, float, complex}),
    "as_integer_ratio": frozenset({int, float, fractions.Fraction}),
    "count": frozenset({str, bytes, bytearray, list, tuple}), "index": frozenset({str, bytes, bytearray, list, tuple}),
}
"""Methods of plain values the judge calls, by the exact types that may receive them (none mutates)."""


def _method(obj: Any, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    types = SAFE_METHODS.get(name)
    if types is None or type(obj) not in types:
        if isinstance(obj, Opaque):
            obj._refuse()
        raise AttributeError(f"{type(obj).__name__!s} object has no method {name!r} the judge can call")
    if name == "join":
        seq = list(_sized(args[0])) if args else []
        total = sum(len(s) for s in seq if isinstance(s, (str, bytes, bytearray))) + len(obj) * len(seq)
        if total > MAX_ITEMS * 4:
            raise JudgeLimit("a join of more than the judge's bound")
        args = (seq, *args[1:])
    if name == "replace" and len(args) >= 2 and isinstance(args[1], (str, bytes)):
        if len(obj) * max(1, len(args[1])) > MAX_ITEMS * 4:
            raise JudgeLimit("a replace beyond the judge's bound")
    return getattr(obj, name)(*args, **kwargs)


@dataclass
class Env:
    """What a judge expression can see: probe results and lambda parameters."""

    probes: Sequence[dict[str, Any]]
    """The harness's result per probe: ``{"v": tagged}``, ``{"raise": [type, message]}`` …"""
    sources: Sequence[str]
    """Each probe's source text (for messages)."""
    local: dict[str, Any] = field(default_factory=dict)
    decoded: dict[int, Any] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)
    """Indices of the probes the evaluation needed."""

    def probe(self, k: int) -> Any:
        if k >= len(self.probes):
            raise Malformed(f"probe {k} missing from the report")
        self.used.add(k)
        if k not in self.decoded:
            res = self.probes[k]
            if "raise" in res:
                err = res["raise"]
                if not (isinstance(err, list) and len(err) == 2 and all(isinstance(x, str) for x in err)):
                    raise Malformed("malformed probe error")
                raise ProbeRaised(self.sources[k] if k < len(self.sources) else "?", err[0][:200], err[1][:1000])
            if "toolarge" in res:
                self.decoded[k] = Opaque("value too large to report")
            elif "deep" in res:
                self.decoded[k] = Opaque("value nested too deeply")
            else:
                self.decoded[k] = decode_value(res["v"])
        return self.decoded[k]


class _Lambda:
    def __init__(self, node: ast.Lambda, env: Env) -> None:
        a = node.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or a.posonlyargs:
            raise Unjudgeable("a lambda with special arguments")
        self.params = [p.arg for p in a.args]
        self.body = node.body
        self.env = env

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.params):
            raise TypeError("wrong number of arguments to a lambda")
        env = Env(self.env.probes, self.env.sources, {**self.env.local, **dict(zip(self.params, args, strict=True))},
                  self.env.decoded, self.env.used)
        return evaluate(self.body, env)


def evaluate(node: ast.AST, env: Env) -> Any:
    """Evaluate a judge expression. Raises the Python errors the expression would raise, or :class:`JudgeLimit`,
    :class:`Unjudgeable`, :class:`ProbeRaised`, :class:`Malformed`."""
    ev = _EVAL.get(type(node))
    if ev is None:
        raise Unjudgeable(f"the judge does not evaluate {type(node).__name__} nodes")
    return ev(node, env)


def _name(node: ast.Name, env: Env) -> Any:
    m = _PROBE.fullmatch(node.id)
    if m:
        return env.probe(int(m.group(1)))
    if node.id in env.local:
        return env.local[node.id]
    if node.id in SAFE_FUNCS:
        return SAFE_FUNCS[node.id]
    raise Unjudgeable(f"name {node.id!r} is not known to the judge")


def _attribute(node: ast.Attribute, env: Env) -> Any:
    if isinstance(node.value, ast.Name) and node.value.id == "math" and node.attr in SAFE_MATH:
        return SAFE_MATH[node.attr]
    if isinstance(node.value, ast.Name) and node.value.id in ("str", "bytes") and node.attr in _STR_METHODS:
        return getattr(str if node.value.id == "str" else bytes, node.attr)
    raise Unjudgeable(f"attribute {node.attr!r} is not evaluated by the judge")


def _call(node: ast.Call, env: Env) -> Any:
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        raise Unjudgeable("*args/**kwargs in a judged call")

    def arg(a: ast.AST) -> Any:
        return _Lambda(a, env) if isinstance(a, ast.Lambda) else evaluate(a, env)

    args = [arg(a) for a in node.args]
    kwargs = {k.arg: arg(k.value) for k in node.keywords if k.arg is not None}
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("str", "bytes"):
        if not args or type(args[0]) is not (str if func.value.id == "str" else bytes):
            raise TypeError(f"{func.value.id}.{func.attr}() needs a {func.value.id} first")
        return _method(args[0], func.attr, args[1:], kwargs)
    if isinstance(func, ast.Attribute) and not (isinstance(func.value, ast.Name) and func.value.id == "math"):
        return _method(evaluate(func.value, env), func.attr, args, kwargs)
    fn = evaluate(func, env)
    if isinstance(fn, _Lambda):
        return fn(*args, **kwargs)
    if not any(fn is f for f in _CALLABLE):
        raise Unjudgeable("a call of something the judge does not know")
    if fn is not isinstance:
        args = [_guarded_arg(a) for a in args]
        kwargs = {k: _guarded_arg(v) for k, v in kwargs.items()}
    return _GUARDED.get(fn, fn)(*args, **kwargs)


def _compare(node: ast.Compare, env: Env) -> Any:
    left = evaluate(node.left, env)
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        right = evaluate(right_node, env)
        if not _CMPOPS[type(op)](left, right):
            return False
        left = right
    return True


def _boolop(node: ast.BoolOp, env: Env) -> Any:
    value: Any = None
    for v in node.values:
        value = evaluate(v, env)
        if isinstance(node.op, ast.And) and not value:
            return value
        if isinstance(node.op, ast.Or) and value:
            return value
    return value


def _unary(node: ast.UnaryOp, env: Env) -> Any:
    v = evaluate(node.operand, env)
    if isinstance(node.op, ast.Not):
        return not v
    if isinstance(v, Opaque):
        v._refuse()
    return {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}[type(node.op)](v)


def _binop(node: ast.BinOp, env: Env) -> Any:
    fn = _BINOPS.get(type(node.op))
    if fn is None:
        raise Unjudgeable(f"operator {type(node.op).__name__}")
    a, b = evaluate(node.left, env), evaluate(node.right, env)
    for v in (a, b):
        if isinstance(v, Opaque):
            v._refuse()
    return fn(a, b)


def _subscript(node: ast.Subscript, env: Env) -> Any:
    value = evaluate(node.value, env)
    if isinstance(value, Opaque):
        value._refuse()
    return value[evaluate(node.slice, env)]


def _slice(node: ast.Slice, env: Env) -> Any:
    return slice(*(None if p is None else evaluate(p, env) for p in (node.lower, node.upper, node.step)))


def _joined(node: ast.JoinedStr, env: Env) -> Any:
    parts = []
    for v in node.values:
        if isinstance(v, ast.Constant):
            parts.append(str(v.value))
            continue
        assert isinstance(v, ast.FormattedValue)
        value = evaluate(v.value, env)
        if isinstance(value, Opaque):
            value._refuse()
        if v.conversion in (ord("r"), ord("a")):
            value = repr(value) if v.conversion == ord("r") else ascii(value)
        elif v.conversion == ord("s"):
            value = str(value)
        spec = "" if v.format_spec is None else evaluate(v.format_spec, env)
        parts.append(_format(value, spec))
    return "".join(parts)


def _dict(node: ast.Dict, env: Env) -> Any:
    if any(k is None for k in node.keys):
        raise Unjudgeable("** in a dict display")
    return {evaluate(k, env): evaluate(v, env) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]


def _ifexp(node: ast.IfExp, env: Env) -> Any:
    return evaluate(node.body, env) if evaluate(node.test, env) else evaluate(node.orelse, env)


_EVAL: dict[type[ast.AST], Callable[[Any, Env], Any]] = {
    ast.Constant: lambda n, env: n.value,
    ast.Name: _name,
    ast.Attribute: _attribute,
    ast.Call: _call,
    ast.Compare: _compare,
    ast.BoolOp: _boolop,
    ast.UnaryOp: _unary,
    ast.BinOp: _binop,
    ast.Subscript: _subscript,
    ast.Slice: _slice,
    ast.JoinedStr: _joined,
    ast.Tuple: lambda n, env: tuple(evaluate(e, env) for e in n.elts),
    ast.List: lambda n, env: [evaluate(e, env) for e in n.elts],
    ast.Set: lambda n, env: {evaluate(e, env) for e in n.elts},
    ast.Dict: _dict,
    ast.IfExp: _ifexp,
}


# -- deciding a test -------------------------------------------------------------------------------------------


@dataclass
class Judgement:
    """The judge's decision on one test, from the sandbox's report."""

    status: str
    """``passed``, ``failed`` (an assertion is false or raised), ``error`` (the code itself raised before the test),
    ``unjudgeable`` (an assertion compares values that are not plain data) or ``crashed`` (the report is missing
    required assertions or malformed)."""
    phase: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    assertions: int = 0
    """Assertions the judge evaluated."""


def _truth(value: Any) -> bool:
    if isinstance(value, Opaque):
        value._refuse()
    return bool(value)


def _values(env: Env) -> str:
    parts = []
    for k in sorted(env.used):
        if k in env.decoded and k < len(env.sources):
            parts.append(f"{env.sources[k][:80]} = {show(env.decoded[k])}")
    return "; ".join(parts[:6])


def judge_report(plan: Any, doc: dict[str, Any]) -> Judgement:
    """Decide a test from the harness report ``doc`` (see :func:`parse_report`) and its
    :class:`~critica.verifiers.testplan.TestPlan`. Never raises."""
    by_id = {a.id: a for a in plan.assertions}
    required = plan.required
    next_required = 0
    checked = 0
    unjudgeable: Judgement | None = None
    for aid, probes in doc.get("events", []):
        a = by_id.get(aid)
        if a is None:
            return Judgement("crashed", "test", "Malformed", f"the sandbox reported an unknown assertion ({aid})",
                             assertions=checked)
        if a.required:
            if next_required >= len(required) or required[next_required] != aid:
                return Judgement("crashed", "test", "Malformed", "the sandbox reported the assertions out of order",
                                 assertions=checked)
            next_required += 1
        env = Env(probes=probes, sources=a.probes)
        head = f"`{a.source}`" + (f" ({a.message})" if a.message else "")
        try:
            ok = _truth(evaluate(a.expr, env))
        except ProbeRaised as e:
            return Judgement("failed", "test", e.error_type, f"{head}: `{e.source}` raised {e.error_type}: {e.message}",
                             assertions=checked)
        except JudgeLimit as e:
            return Judgement("failed", "test", "JudgeLimit", f"{head}: evaluating it would exceed the judge's bounds "
                             f"({e})", assertions=checked)
        except Unjudgeable as e:
            if unjudgeable is None:
                unjudgeable = Judgement("unjudgeable", "test", "Unjudgeable", f"{head}: {e}")
            continue
        except Malformed as e:
            return Judgement("crashed", "test", "Malformed", f"the sandbox's report is malformed: {e}",
                             assertions=checked)
        except Exception as e:  # noqa: BLE001 - what the expression itself raises, as Python would
            values = _values(env)
            return Judgement("failed", "test", type(e).__name__, f"{head}: {type(e).__name__}: {str(e)[:300]}"
                             + (f" [{values}]" if values else ""), assertions=checked)
        checked += 1
        if not ok:
            values = _values(env)
            msg = f"{head} is false" + (f": {values}" if values else "")
            return Judgement("failed", "test", "AssertionError", msg, assertions=checked)
    err = doc.get("error")
    if doc.get("status") == "error":
        etype, emsg = (err if isinstance(err, list) else ["Error", ""])
        phase = doc.get("phase")
        tb = doc.get("traceback") if isinstance(doc.get("traceback"), str) else None
        if phase == "code":
            return Judgement("error", "code", etype, emsg, tb, assertions=checked)
        if phase == "test":
            return Judgement("failed", "test", etype, emsg, tb, assertions=checked)
        return Judgement("crashed", phase if isinstance(phase, str) else None, etype, emsg, assertions=checked)
    if next_required < len(required):
        missing = by_id[required[next_required]]
        return Judgement("crashed", "test", "Incomplete", f"the program ended before `{missing.source}` was "
                         "evaluated (an early exit or a broken report)", assertions=checked)
    if unjudgeable is not None:
        unjudgeable.assertions = checked
        return unjudgeable
    return Judgement("passed", assertions=checked)
