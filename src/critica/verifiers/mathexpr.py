"""Exact, bounded evaluation of token runs for the arithmetic checker, value matching and message formatting.

:class:`_Parser` evaluates a run of :class:`~critica.verifiers.mathtext._Tok` tokens (``+ - * / ^``, implicit
products, parentheses, ``%``, ``!``, exact square roots) over :class:`fractions.Fraction`, refusing with
:class:`Unevaluable` whatever it cannot evaluate with confidence. Every step is bounded (expression length, exponent
size, magnitude), so no timeout is needed. :func:`_range` gives the bounds of a value whose operands are themselves
rounded, :func:`_stated` reads a run that states one number, and :func:`_matches` decides whether a stated value is
the true one (exact, rounded or truncated to the shown precision, or approximately). :func:`_fmt` and
:func:`_pretty` render values and expressions for messages.

Depends only on :mod:`critica.verifiers.mathtext` (for the token type); :mod:`critica.verifiers.math` builds on it.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from fractions import Fraction

from critica.verifiers.mathtext import _Tok

MAX_EXPR_TOKENS = 80
MAX_EXPONENT = 200
MAX_MAGNITUDE = Fraction(10) ** 60
_MAGNITUDE_INT = 10**60  # MAX_MAGNITUDE as an int: _bound compares integers (exact, no Fraction arithmetic)


class Unevaluable(Exception):
    """The text is not an expression this checker evaluates with confidence."""


# --- parser / evaluator -----------------------------------------------------------------------------------------


@dataclass
class _Val:
    v: Fraction
    pct: bool = False  # a bare percentage (so "50 + 20%" can be refused)


class _Parser:
    def __init__(self, toks: list[_Tok], subst: dict[int, Fraction] | None = None) -> None:
        self.toks = [t for t in toks if t.kind not in ("UNIT", "CUR")]
        self.i = 0
        self.subst = subst or {}
        self.ops = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def parse(self) -> Fraction:
        if not self.toks or len(self.toks) > MAX_EXPR_TOKENS:
            raise Unevaluable("empty or too long")
        flat = _flat_value(self.toks, self.subst)
        if flat is not _NOT_FLAT:
            return flat
        val = self.expr()
        if self.i != len(self.toks):
            raise Unevaluable(f"unexpected {self.toks[self.i].text!r}")
        return val.v

    def expr(self) -> _Val:
        left = self.term()
        while (t := self.peek()) is not None and t.kind == "OP" and t.text in "+-":
            self.take()
            right = self.term()
            if left.pct != right.pct:
                raise Unevaluable("percentage added to a plain number")
            self.ops += 1
            left = _Val(left.v + right.v if t.text == "+" else left.v - right.v, left.pct)
        return left

    def term(self) -> _Val:
        left = self.unary()
        while (t := self.peek()) is not None and ((t.kind == "OP" and t.text in "*/") or t.kind in ("LP", "SQRT")):
            if t.kind == "OP":
                self.take()
            right = self.unary()
            self.ops += 1
            if t.kind == "OP" and t.text == "/":
                if right.v == 0:
                    raise Unevaluable("division by zero")
                left = _Val(left.v / right.v)
            else:
                left = _Val(left.v * right.v)
            _bound(left.v)
        return left

    def unary(self) -> _Val:
        t = self.peek()
        if t is not None and t.kind == "OP" and t.text in "+-":
            self.take()
            inner = self.unary()
            return _Val(-inner.v if t.text == "-" else inner.v, inner.pct)
        return self.power()

    def power(self) -> _Val:
        base = self.postfix()
        t = self.peek()
        if t is not None and t.kind == "OP" and t.text == "^":
            self.take()
            exp = self.unary()
            self.ops += 1
            if exp.v.denominator != 1 or abs(exp.v) > MAX_EXPONENT:
                raise Unevaluable("non-integer or huge exponent")
            if base.v == 0 and exp.v < 0:
                raise Unevaluable("zero to a negative power")
            if abs(base.v.numerator) > 1 and abs(exp.v) * math.log10(max(abs(base.v.numerator), abs(base.v.denominator))) > 60:
                raise Unevaluable("result too large")
            return _Val(base.v ** int(exp.v))
        return base

    def postfix(self) -> _Val:
        val = self.primary()
        while (t := self.peek()) is not None and t.kind in ("PCT", "FACT"):
            self.take()
            if t.kind == "PCT":
                val = _Val(val.v / 100, True)
            else:
                if val.v.denominator != 1 or not 0 <= val.v <= 30:
                    raise Unevaluable("factorial of a non-integer or large number")
                self.ops += 1
                val = _Val(Fraction(math.factorial(int(val.v))))
        return val

    def primary(self) -> _Val:
        t = self.peek()
        if t is None:
            raise Unevaluable("expression ends early")
        if t.kind == "NUM":
            self.take()
            return _Val(self.subst.get(t.start, t.value))
        if t.kind == "LP":
            self.take()
            val = self.expr()
            close = self.peek()
            if close is None or close.kind != "RP":
                raise Unevaluable("unbalanced parenthesis")
            self.take()
            return _Val(val.v, val.pct)
        if t.kind == "SQRT":
            self.take()
            if (p := self.peek()) is None or p.kind != "LP":
                raise Unevaluable("sqrt without argument")
            arg = self.primary().v
            self.ops += 1
            root = _exact_sqrt(arg)
            if root is None:
                raise Unevaluable("irrational square root")
            return _Val(root)
        raise Unevaluable(f"cannot evaluate {t.text!r}")


# --- the flat fast path --------------------------------------------------------------------------------------
# Most runs are numbers joined by + - * / ("12 * 5", "-3 + 4 - 1", "((3)/(4))"): evaluated in one loop, with the
# parser's arithmetic in the parser's order (each product or quotient left to right and bounded, then the sums left
# to right; Fraction addition never fails, so the first failure is the parser's first failure) and its refusals.
# Anything else (powers, %, !, roots, implicit products, signs after an operator, nested groups) is parsed.

_NOT_FLAT = object()
_FLAT_OPS = ("+", "-", "*", "/")


def _flat_value(toks: list[_Tok], subst: dict[int, Fraction]) -> Fraction | object:
    """:meth:`_Parser.parse` of ``toks`` when they are a flat run (see above), else _NOT_FLAT."""
    got = _flat_operands(toks, 0, len(toks), subst)
    if got is None and len(toks) > 2 and toks[0].kind == "LP" and toks[-1].kind == "RP":
        got = _flat_operands(toks, 1, len(toks) - 1, subst)  # one group around the whole run: its value
    if got is None:
        return _NOT_FLAT
    values, ops = got
    total: Fraction | None = None
    pending = "+"
    acc = values[0]
    for op, v in zip(ops, values[1:], strict=True):
        if op == "*":
            acc = acc * v
            _bound(acc)
        elif op == "/":
            if v == 0:
                raise Unevaluable("division by zero")
            acc = acc / v
            _bound(acc)
        else:
            total = acc if total is None else (total + acc if pending == "+" else total - acc)
            pending, acc = op, v
    return acc if total is None else (total + acc if pending == "+" else total - acc)


def _flat_operands(toks: list[_Tok], i: int, end: int,
                   subst: dict[int, Fraction]) -> tuple[list[Fraction], list[str]] | None:
    """``toks[i:end]`` as ``[sign] operand (op operand)*``, each operand a number or a number in one pair of
    parentheses and each op one of + - * /: the operand values (the first one signed) and the ops, or None."""
    values: list[Fraction] = []
    ops: list[str] = []
    sign = None
    if i < end and toks[i].kind == "OP" and toks[i].text in ("+", "-"):
        sign = toks[i].text
        i += 1
    while True:
        if i >= end:
            return None
        t = toks[i]
        if t.kind == "LP":
            if i + 2 >= end or toks[i + 1].kind != "NUM" or toks[i + 2].kind != "RP":
                return None
            t = toks[i + 1]
            i += 3
        elif t.kind == "NUM":
            i += 1
        else:
            return None
        v = subst.get(t.start, t.value) if subst else t.value
        if type(v) is not Fraction:
            return None
        values.append(v)
        if i == end:
            break
        t = toks[i]
        if t.kind != "OP" or t.text not in _FLAT_OPS:
            return None
        ops.append(t.text)
        i += 1
    if sign == "-":
        values[0] = -values[0]
    return values, ops


def _bound(v: Fraction) -> None:
    if abs(v.numerator) > _MAGNITUDE_INT * max(1, v.denominator) or v.denominator > _MAGNITUDE_INT:
        raise Unevaluable("value too large")


def _exact_sqrt(v: Fraction) -> Fraction | None:
    if v < 0:
        return None
    n, d = math.isqrt(v.numerator), math.isqrt(v.denominator)
    return Fraction(n, d) if n * n == v.numerator and d * d == v.denominator else None


# --- values, bounds and matching -----------------------------------------------------------------------------


def _value(run: list[_Tok], subst: dict[int, Fraction] | None = None) -> Fraction:
    if len(run) == 1 and run[0].kind == "NUM":
        # one number (most stated results): what the parser returns for it, without its six levels of calls
        t = run[0]
        return subst.get(t.start, t.value) if subst else t.value
    if subst or len(run) > MEMO_RUN_TOKENS:
        return _Parser(run, subst).parse()  # a longer run is refused at once: nothing worth keeping
    # The arithmetic checker evaluates most runs two or three times (does the side parse, its value, its range):
    # the outcome is remembered by the identity of the run's tokens. The entry holds the tokens, so no other token
    # can take one of their ids while it lives; tokens are final before anything evaluates them (the tokenizer
    # sets their kinds and _attach_remainders their remainders first), and evaluation reads only their kind,
    # text, value and start. A refusal is remembered by its type and arguments and raised afresh.
    key = tuple(map(id, run))
    hit = _MEMO.get(key)
    if hit is not None:
        outcome = hit[1]
        if type(outcome) is tuple:
            raise outcome[0](*outcome[1])
        return outcome
    try:
        value = _Parser(run).parse()
    except (Unevaluable, ZeroDivisionError, OverflowError) as e:
        _remember(key, run, (type(e), e.args))
        raise
    _remember(key, run, value)
    return value


_MEMO: dict[tuple[int, ...], tuple[list[_Tok], Fraction | tuple]] = {}
MEMO_SIZE = 512
"""Runs whose values :func:`_value` keeps (a step has a few dozen); the table is emptied when full."""
MEMO_RUN_TOKENS = 2 * MAX_EXPR_TOKENS
"""Longest run kept (with its units and currency signs; the parser refuses more than MAX_EXPR_TOKENS others), so
the table holds at most MEMO_SIZE × MEMO_RUN_TOKENS token references whatever the input."""


def _remember(key: tuple[int, ...], run: list[_Tok], outcome: Fraction | tuple) -> None:
    if len(_MEMO) >= MEMO_SIZE:
        _MEMO.clear()
    _MEMO[key] = (list(run), outcome)


def _range(run: list[_Tok], min_decimals: int = 3, ulp: Fraction = Fraction(1, 2)) -> tuple[Fraction, Fraction]:
    """Bounds of the value when operands with ``min_decimals``+ decimals are themselves rounded (± ``ulp`` units in
    the last shown place): written values such as 0.333 or $6.61 are often rounded intermediate results."""
    fuzzy = [t for t in run if t.kind == "NUM" and t.decimals >= min_decimals][:5]
    if not fuzzy:
        v = _value(run)
        return v, v
    vals = []
    for signs in itertools.product((-1, 1), repeat=len(fuzzy)):
        subst = {t.start: t.value + s * ulp / 10**t.decimals for t, s in zip(fuzzy, signs, strict=True)}
        vals.append(_value(run, subst))
    return min(vals), max(vals)


def _stated(run: list[_Tok]) -> tuple[Fraction, int, bool] | None:
    """(value, decimals, is_percent) when the run is one stated number, else None."""
    core = [t for t in run if t.kind not in ("UNIT", "CUR")]
    sign = 1
    if core and core[0].kind == "OP" and core[0].text == "-":
        sign, core = -1, core[1:]
    if len(core) == 1 and core[0].kind == "NUM":
        return sign * core[0].value, core[0].decimals, False
    if len(core) == 2 and core[0].kind == "NUM" and core[1].kind == "PCT":
        return sign * core[0].value / 100, core[0].decimals + 2, True
    return None


def _matches(lo: Fraction, hi: Fraction, c: Fraction, decimals: int, approx: bool) -> bool:
    if lo <= c <= hi:
        return True
    if decimals >= 8 and any(abs(v - c) <= Fraction(1, 10**9) * max(1, abs(v)) for v in (lo, hi)):
        return True  # a calculator's binary floating-point output: 99.00000000000001, 14.999999999999998
    for v in (lo, hi):
        if approx:
            if v != 0 and abs(v - c) <= abs(v) * Fraction(2, 100):
                return True
            if _sig_round_eq(v, c):
                return True
        unit = Fraction(1, 10**decimals)
        if (v / unit).denominator != 1:  # the true value needs more digits than shown: rounding is legitimate
            if decimals == 0:
                if c in (math.floor(v), math.ceil(v)):
                    return True
            elif abs(v - c) <= unit:
                return True
    return False


def _sig_round_eq(v: Fraction, c: Fraction) -> bool:
    if c == 0 or v == 0:
        return False
    fv = float(v)
    for sig in range(1, 8):
        r = round(fv, sig - 1 - int(math.floor(math.log10(abs(fv)))))
        if abs(r - float(c)) <= 1e-9 * max(1.0, abs(float(c))):
            return True
    return False




# --- message formatting ----------------------------------------------------------------------------------------


def _pretty(expr: str) -> str:
    """The normalised expression made readable again: single spaces, no parentheses around bare numbers."""
    expr = _SPACES.sub(" ", expr).strip()
    if "(" not in expr and ")" not in expr:
        return expr  # every rewrite below needs a parenthesis (most expressions have none)
    # Implicit products must stay visible once the parentheses around bare numbers go: (182)(181) → 182 * 181.
    expr = _CLOSE_OPEN.sub(") * (", expr)
    expr = _DIGIT_OPEN.sub(" * (", expr)  # "7(23)", "0.99(1500)"
    expr = _CLOSE_DIGIT.sub(") * ", expr)  # "(2)3"
    prev = None
    while prev != expr:
        prev = expr
        expr = _BARE_NUMBER.sub(r"\1", expr)  # negative numbers keep theirs
        expr = _DOUBLE_PARENS.sub(r"(\1)", expr)
    return expr.replace("( ", "(").replace(" )", ")")


# _pretty's rewrites, compiled once (re.sub with a pattern string looks it up in re's cache on every call)
_SPACES = re.compile(r"\s+")
_CLOSE_OPEN = re.compile(r"\)\s*\(")
_DIGIT_OPEN = re.compile(r"(?<=\d)\s*\(")
_CLOSE_DIGIT = re.compile(r"\)\s*(?=\d)")
_BARE_NUMBER = re.compile(r"(?<!sqrt)\((\s*[\d.,]+\s*)\)")
_DOUBLE_PARENS = re.compile(r"\(\(([^()]*)\)\)")


def _fmt(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    f = float(v)
    s = f"{f:.6f}".rstrip("0").rstrip(".")
    if Fraction(s) == v:
        return s
    return f"{v.numerator}/{v.denominator} (≈ {f:.6g})"
