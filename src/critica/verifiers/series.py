"""Series and plain-text function claims: sums and products written with an ellipsis or ``\\sum``/``\\prod``, and
function values written in plain text, which the arithmetic and algebra checkers do not read.

What is checked.

* **Ellipsis series.** A side of an equation that is a sum ``a_1 + a_2 + … + a_n`` or a product ``a_1 · a_2 ⋯ a_n``
  of simple terms (numbers, fractions, powers of numbers) with one ellipsis, in LaTeX math or in plain text
  (``1 + 2 + 3 + ... + 100 = 5050``). The progression is inferred only when the explicit terms leave no doubt:

  - all terms written as powers with one exponent over bases in arithmetic progression (``1^2 + 2^2 + … + 10^2``);
  - all terms powers of one base (a plain ``1`` or the base itself counts) with exponents in arithmetic progression
    (``2^0 + 2^1 + … + 2^{10}``);
  - otherwise by value: three or more leading terms fix an arithmetic or geometric progression; two leading
    integers only in the canonical forms ``a, a ± 1`` (consecutive), ``d, 2d`` (multiples) and ``1, r`` / ``r,
    r^2`` (powers), and only when exactly one of them puts the last term on the progression (``1 + 2 + … + 64``
    fits both ``1..64`` and ``1, 2, 4, …, 64``: skipped).

  The explicit trailing terms must continue that progression. A series may also be a parenthesised or braced part
  of a side (``10 + (1 + 2 + \\cdots + 9)``).
* **Sigma and pi notation.** ``\\sum_{k=a}^{b} body`` / ``\\prod_{k=a}^{b} body`` with integer bounds, a body in
  the index only (no top-level ``+``/``-`` outside brackets, whose scope would be a guess), forming a whole side.
* **Plain-text function values** outside LaTeX math: ``C(5,2)``, ``5C2``, ``10 choose 3``, ``P(5,2)``/``5P2``
  (only where the step speaks of arrangements or permutations: ``P(…)`` is usually a probability), ``sqrt(50)``,
  ``√50``, ``log2(8)``/``log_2(8)``, ``ln``, ``gcd``/``lcm``/``GCD``/``LCM``, ``a mod m``. Links the arithmetic
  checker reads itself (``5! = 120``, ``sqrt(49) = 7``) are left to it.

A claim is the link between the series (or function) side and its neighbour, decided exactly with sympy
(rationals exactly; other constants at 50 digits). A decimal stated value is accepted within one unit of its last
place or 0.5%; an irrational value stated as an integer within 1.

Skipped, never guessed: steps that test a guess or correct themselves, ``≈`` without decimals, inequalities,
variables, compound terms (``1·2 + 2·3 + …``), alternating signs, running totals (``1 + … + 10 = 55 + 11``),
ranges beyond the caps (10^6 terms in closed form, fewer for products and bodies evaluated term by term).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction

import sympy
from sympy import Expr, Rational

from critica.budget import checkpoint
from critica.types import Item
from critica.verifiers import ratpoly
from critica.verifiers.algebra import Unparseable, parse_latex_expr
from critica.verifiers.base import Finding, step_finding
from critica.verifiers.constants import bounds, surely_real, within_by_bounds
from critica.verifiers.fastre import guarded
from critica.verifiers.steplinks import _MATH, math_spans  # noqa: F401 - _MATH: the tests' reference for _math_bodies
from critica.verifiers.symparse import show_value

__all__ = ["SeriesVerifier", "SeriesCheck", "check_step", "series_value"]

MAX_STEP_CHARS = 20_000
MAX_SIDE_CHARS = 240
MAX_TERMS = 10**6  # closed forms (arithmetic and power sums)
MAX_PRODUCT_TERMS = 3000
MAX_BODY_TERMS = 400  # bodies evaluated term by term
MAX_POWER = 12
MAX_RESULT_DIGITS = 3000

try:  # the arithmetic checker's notion of a step that tests a hypothesis
    from critica.verifiers.math import _HYPOTHETICAL
except ImportError:  # pragma: no cover - the arithmetic module always ships with this one
    _HYPOTHETICAL = re.compile(r"\b(?:suppose|try|check if|false)\b", re.IGNORECASE)

# A step that corrects itself writes a wrong value on purpose before the right one.
_SELF_CORRECTION = guarded(
    r"\b(?:wait|oops|actually|mistake\w*|miscalculat\w*|recalculat\w*|re-calculat\w*|correct(?:ion|ing)|"
    r"let me redo|let's redo|incorrect|wrong|error)\b",
    re.IGNORECASE,
)


@dataclass
class SeriesCheck:
    """One decided claim: the link as written, whether it holds, and a message quoting the correct value."""

    claim: str
    ok: bool
    message: str
    details: dict = field(default_factory=dict)


# --- values --------------------------------------------------------------------------------------------------------

def _show(v: Expr) -> str:
    return show_value(v, 10)


def _latex_number(v: Rational) -> str:
    return str(v.p) if v.q == 1 else f"\\frac{{{v.p}}}{{{v.q}}}"


@functools.lru_cache(maxsize=4096)
def _const(text: str) -> Expr | None:
    """A constant side (numeric LaTeX), or None."""
    text = text.strip()
    if not text or len(text) > MAX_SIDE_CHARS or "…" in text:
        return None
    text = re.sub(r"(?<=\d)\{,\}(?=\d{3})", "", text)
    if re.fullmatch(r"\s*-?\d{1,3}(?:,\d{3})+(?:\.\d+)?\s*", text):
        text = text.replace(",", "")  # thousands separators
    try:
        value, _ = parse_latex_expr(text, numeric=True)
    except (Unparseable, ValueError, TypeError, ZeroDivisionError, RecursionError, OverflowError, AttributeError,
            IndexError):
        return None
    if value.free_symbols or not value.is_number or (not surely_real(value) and value.is_real is not True):
        return None
    return value


_DECIMAL = re.compile(r"\d\.(\d+)")
_LITERAL = re.compile(r"^\s*-?\s*\d+(?:,\d{3})*(?:\.\d+)?\s*$")


def _equal(true: Expr, stated: Expr, stated_raw: str, approx: bool) -> bool | None:
    """Does the stated value match the true one? None: too close to call, or the precision is unclear."""
    places = [len(d) for d in _DECIMAL.findall(stated_raw)]
    exact = true.is_Rational and stated.is_Rational
    if approx and not places:
        return None  # "≈ 7": precision unclear
    if exact and not places and not approx:
        return bool(true == stated)
    if places and not exact:
        decided = _within_by_bounds(true, stated, min(places), approx)
        if decided is not None:
            return decided
    try:
        d = abs(sympy.N(true - stated, 50))
        size = abs(sympy.N(true, 15))  # evaluated once (it was three times: costly for long radical expressions)
        scale = max(sympy.Float(1), size)
        if places:
            tol = max(sympy.Float(10) ** -min(places), sympy.Float("0.005") * size)
            if approx:
                tol = max(tol, sympy.Float("0.02") * size)
            return bool(d <= tol * (1 + sympy.Float("1e-12")))
        if _LITERAL.match(stated_raw) and not true.is_Rational:
            return bool(d <= 1)  # an irrational value rounded to an integer
        if d / scale < sympy.Float("1e-30"):
            return True
        if d / scale < sympy.Float("1e-10"):
            return None
        return False
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError, AttributeError):
        return None


# A stated decimal against an irrational value (a sum of cosines at degrees is a long expression in nested radicals,
# which sympy evaluates to 50 digits in a tenth of a second or more): rigorous interval bounds of both values (mpmath's
# interval arithmetic, outward-rounded, at 160 bits) decide ``d <= tol`` whenever d is clear of the tolerance by more
# than the evaluations' errors; the sympy path above them decides the rest (and everything these bounds do not read).
# The comparison evaluated there is ``d <= tol * (1 + 1e-12)`` with d at 50 digits and tol from 15-digit values, so
# an upper bound of d at most the lower bound of tol is "holds" there too, and a lower bound of d above 1.000000001
# times the upper bound of tol is "false" there too. (The bounds: critica.verifiers.constants.bounds.)
_MAX_BOUND_PLACES = 20  # 10^-places stays far above the 50-digit evaluation's error


def _within_by_bounds(true: Expr, stated: Expr, places: int, approx: bool) -> bool | None:
    """What :func:`_equal`'s decimal branch answers, from interval bounds (see above); None: not decided here."""
    if places > _MAX_BOUND_PLACES:
        return None
    bt = bounds(true)
    bs = bounds(stated) if bt is not None else None
    if bt is None or bs is None:
        return None
    return within_by_bounds(bt, bs, Fraction(1, 10**places), Fraction(2, 100) if approx else Fraction(5, 1000))


# --- ellipsis series -----------------------------------------------------------------------------------------------

_NORMALISE = [
    (re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)(?![A-Za-z])\s*"), ""),
    (re.compile(r"\\(?:displaystyle|,|;|!|:| )"), " "),
    (re.compile(r"\\[dt]frac(?![A-Za-z])"), r"\\frac"),
    (re.compile(r"\\(?:cdot|times|ast)(?![A-Za-z])|×|·|⋅|∙"), "*"),
    (re.compile(r"\\(?:[lc]?dots[bcmio]?|ldots|cdots|mathellipsis)(?![A-Za-z])|\.{3,}|…|⋯"), " … "),
    (re.compile(r"−|–"), "-"),
    (re.compile(r"²"), "^2"),
    (re.compile(r"³"), "^3"),
]

_INT = r"-?\d+"
_POW = re.compile(r"^(?:\((?P<b1>-?\d+)\)|\{(?P<b2>\d+)\}|(?P<b3>\d+))\s*\^\s*(?:\{\s*(?P<e1>-?\d+)\s*\}|(?P<e2>\d))$")
_SIMPLE = re.compile(
    r"^(?:\d+(?:\.\d+)?|\d+\s*/\s*\d+|\\frac\s*\{\s*\d+\s*\}\s*\{\s*[^{}]+\}|\\frac\s*\{\s*\d+\s*\}\s*\{[^{}]*\{[^{}]*\}\s*\}"
    r"|\\frac\s*\d\s*\d)$")


def _normalise(text: str) -> str:
    for pat, rep in _NORMALISE:
        text = pat.sub(rep, text)
    return text


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _split_top(text: str, seps: str) -> list[str] | None:
    """``text`` split at depth-0 characters of ``seps``; None when brackets do not balance. A comma that separates
    thousands (``4,950``) does not split."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and ch in seps and not (ch == "," and _THOUSANDS.match(text, i)):
            parts.append(text[start:i])
            start = i + 1
    if depth:
        return None
    parts.append(text[start:])
    return parts


@dataclass
class _Term:
    value: Rational
    base: int | None = None  # written as base^exp
    exp: int | None = None


def _term(text: str) -> _Term | None:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _split_top(text[1:-1], "") is not None:
        inner = text[1:-1].strip()
        if _POW.match(text):
            break
        text = inner
    m = _POW.match(text)
    if m:
        base = int(m.group("b1") or m.group("b2") or m.group("b3"))
        exp = int(m.group("e1") or m.group("e2"))
        if abs(exp) > 4 * MAX_RESULT_DIGITS or (base == 0 and exp <= 0):
            return None
        if abs(base) > 1 and abs(exp) * math.log10(abs(base)) > MAX_RESULT_DIGITS:
            return None
        return _Term(Rational(base) ** exp, base, exp)
    if not _SIMPLE.match(text):
        return None
    v = _const(text)
    if v is None or not v.is_Rational:
        return None
    return _Term(v)


def _int_log(v: Rational, b: int) -> int | None:
    """e ≥ 0 with b^e = v, or None."""
    if not v.is_Integer or v < 1 or abs(b) < 2:
        return None
    e, t = 0, sympy.Integer(1)
    while abs(t) < abs(v) and e < 4 * MAX_RESULT_DIGITS:
        t *= b
        e += 1
    return e if t == v else None


def _ap_index(a: Rational, d: Rational, last: Rational) -> int | None:
    """n ≥ 0 with a + n d = last, or None."""
    if d == 0:
        return None
    n = (last - a) / d
    return int(n) if n.is_Integer and n >= 0 else None


def _gp_index(a: Rational, r: Rational, last: Rational) -> int | None:
    """n ≥ 0 with a r^n = last, or None (|r| > 1 or 0 < |r| < 1, r > 0 only: alternating signs are skipped)."""
    if a == 0 or r <= 0 or r == 1:
        return None
    t, n = a, 0
    grow = r > 1
    while n <= 4 * MAX_RESULT_DIGITS:
        if t == last:
            return n
        if (grow and abs(t) > abs(last)) or (not grow and abs(t) < abs(last)):
            return None
        t *= r
        n += 1
    return None


@dataclass
class _Progression:
    kind: str  # "ap", "gp", "power"
    first: Rational  # first term (ap/gp) or first base (power)
    step: Rational  # difference (ap), ratio (gp), base difference (power)
    count: int
    exponent: int = 1

    def describe(self) -> str:
        if self.kind == "ap":
            return f"the {self.count} terms of the arithmetic progression from {self.first} with difference {self.step}"
        if self.kind == "gp":
            return f"the {self.count} terms of the geometric progression from {self.first} with ratio {self.step}"
        return f"the {self.count} terms k^{self.exponent} for k = {self.first}, {self.first + self.step}, …"


def _fit(lead: list[_Term], trail: list[_Term]) -> _Progression | None:
    """The progression the explicit terms determine without doubt (see the module docstring), or None."""
    m, r_count = len(lead), len(trail)
    terms = lead + trail

    def place(indexer) -> int | None:
        """Position of the last term; every trailing term must sit right before it; None when not."""
        n = indexer(trail[-1])
        if n is None or n - (r_count - 1) < m:
            return None
        for j, t in enumerate(trail[:-1]):
            if indexer(t) != n - (r_count - 1) + j:
                return None
        return n + 1

    # powers with one exponent over bases in arithmetic progression
    if all(t.base is not None for t in terms if t.value not in (0, 1)) and all(t.exp is not None for t in terms[1:]):
        exps = {t.exp for t in terms if t.exp is not None}
        if len(exps) == 1 and (p := exps.pop()) >= 1:
            if lead[0].base is None:
                lead = [_Term(lead[0].value, int(lead[0].value), p)] + lead[1:]  # "1 + 2^2 + …": 1 = 1^2
            bases = [Rational(t.base) for t in lead]
            d = bases[1] - bases[0]
            if p >= 2 and d != 0 and p <= MAX_POWER and all(bases[k + 1] - bases[k] == d for k in range(m - 1)):
                n = place(lambda t: _ap_index(bases[0], d, Rational(t.base)) if t.exp == p else None)
                return _Progression("power", bases[0], d, n, p) if n else None
            if p >= 2:
                return None
    # powers of one base with exponents in arithmetic progression
    bases = {t.base for t in terms if t.base is not None}
    if len(bases) == 1 and (b := bases.pop()) not in (0, 1, -1):
        exps: list[int | None] = []
        for t in lead:
            if t.exp is not None:
                exps.append(t.exp)
            else:
                exps.append(_int_log(t.value, b))  # "1 + 3 + 9 + … + 3^{10}": 1, 3, 9 are 3^0, 3^1, 3^2
        if None not in exps and all(t.exp is not None for t in trail):
            de = exps[1] - exps[0]
            if de != 0 and all(exps[k + 1] - exps[k] == de for k in range(m - 1)):
                n = place(lambda t: _ap_index(Rational(exps[0]), Rational(de), Rational(t.exp)))
                r = Rational(b) ** de
                return _Progression("gp", lead[0].value, r, n) if n else None
        return None
    if any(t.base is not None for t in lead):
        return None  # powers mixed with plain terms in an unclear way
    vals = [t.value for t in lead]
    d = vals[1] - vals[0]
    ap_ok = d != 0 and all(vals[k + 1] - vals[k] == d for k in range(m - 1))
    ratio = vals[1] / vals[0] if vals[0] != 0 else None
    gp_ok = ratio is not None and ratio > 0 and ratio != 1 and all(
        vals[k] != 0 and vals[k + 1] / vals[k] == ratio for k in range(m - 1))
    if m == 2:
        if not all(v.is_Integer for v in vals):
            ap_ok = False
            # fractions: only r, r^2 with r = 1/q (1/2 + 1/4 + …): 1 + 1/2 + … may be harmonic
            gp_ok = gp_ok and vals[0] == ratio and ratio.p == 1
        else:
            # consecutive integers, multiples of d, odd numbers
            ap_ok = ap_ok and (abs(d) == 1 or (d > 0 and vals[0] == d) or (vals[0] == 1 and d == 2))
            gp_ok = gp_ok and ratio.is_Integer and vals[0] in (1, ratio)
    fits = []
    if ap_ok and (n := place(lambda t: _ap_index(vals[0], d, t.value))):
        fits.append(_Progression("ap", vals[0], d, n))
    if gp_ok and (n := place(lambda t: _gp_index(vals[0], ratio, t.value))):
        fits.append(_Progression("gp", vals[0], ratio, n))
    return fits[0] if len(fits) == 1 else None  # two readings reach the last term (1 + 2 + … + 64): skipped


def _evaluate(prog: _Progression, op: str) -> Rational | None:
    n, a, s = prog.count, prog.first, prog.step
    if op == "+":
        if n > MAX_TERMS:
            return None
        if prog.kind == "ap":
            return n * (2 * a + (n - 1) * s) / 2
        if prog.kind == "gp":
            if n * math.log10(max(float(abs(s)), 1 / float(abs(s)))) > MAX_RESULT_DIGITS:
                return None
            return a * (s**n - 1) / (s - 1)
        return _power_sum(a, s, prog.exponent, n)  # a "power" progression's exponent is at least 2
    if n > MAX_PRODUCT_TERMS:
        return None
    if prog.kind == "gp":
        if n * n * math.log10(max(float(abs(s)), 1 / float(abs(s)), 2)) > 2 * MAX_RESULT_DIGITS:
            return None
        return a**n * s ** (n * (n - 1) // 2)
    total = Fraction(1)
    fa, fs = Fraction(int(a.p), int(a.q)), Fraction(int(s.p), int(s.q))
    for k in range(n):
        total *= fa + k * fs
        if total == 0:
            break
        if total.numerator.bit_length() > 3.33 * MAX_RESULT_DIGITS:
            return None
    value = Rational(total.numerator, total.denominator)
    return value**prog.exponent if prog.kind == "power" else value


def _power_sum(a: Rational, s: Rational, p: int, n: int) -> Rational:
    """``(a)^p + (a + s)^p + … + (a + (n - 1) s)^p`` exactly (``p >= 0``): the polynomial ``(a + s k)^p`` in ``k``
    expanded by the binomial theorem and summed over ``k = 0 … n - 1`` in closed form, the Rational sympy's
    ``summation`` gives, without its symbolic machinery."""
    fa, fs = Fraction(int(a.p), int(a.q)), Fraction(int(s.p), int(s.q))
    coeffs = [math.comb(p, j) * fa ** (p - j) * fs**j for j in range(p, -1, -1)]  # highest degree first
    total = ratpoly.sum_range(coeffs, 0, n - 1)
    return Rational(total.numerator, total.denominator)


def _ellipsis_series(text: str) -> tuple[Rational, str] | None:
    """The value of a pure series ``text`` (normalised, ``…`` marking the ellipsis) and a description."""
    text = text.strip()
    if text.count("…") != 1:
        return None
    for op in "+*":
        parts = _split_top(text, op)
        if parts is None:
            return None
        if len(parts) < 4:
            continue
        parts = [p.strip() for p in parts]
        k = parts.index("…") if "…" in parts else -1
        if k < 2 or k == len(parts) - 1:
            return None
        other = "*" if op == "+" else "+"
        if any(_split_top(p, "-" + other) != [p] for p in parts if p != "…") or parts[0].startswith("-"):
            return None
        terms = [_term(p) for p in parts if p != "…"]
        if any(t is None for t in terms):
            return None
        prog = _fit(terms[:k], terms[k:])  # type: ignore[arg-type]
        if prog is None:
            return None
        value = _evaluate(prog, op)
        if value is None:
            return None
        what = "sum" if op == "+" else "product"
        return value, f"the {what} of {prog.describe()}"
    return None


_GROUP = re.compile(r"\(([^()]*…[^()]*)\)|\{([^{}]*…[^{}]*)\}")


def series_value(side: str) -> tuple[Rational, str] | None:
    """The value of one side of an equation that holds an ellipsis series (whole, or as bracketed parts), or None
    when the side is not one this checker reads with confidence. ``side`` is LaTeX or plain text."""
    text = _normalise(side).strip()
    if "…" not in text or len(text) > MAX_SIDE_CHARS:
        return None
    whole = _ellipsis_series(text)
    if whole is not None:
        return whole
    descs: list[str] = []

    def sub(m: re.Match) -> str:
        inner = m.group(1) if m.group(1) is not None else m.group(2)
        got = _ellipsis_series(inner)
        if got is None:
            raise Unparseable("series")
        descs.append(got[1])
        body = _latex_number(got[0])
        return f"({body})" if m.group(1) is not None else f"{{{body}}}"

    try:
        replaced = _GROUP.sub(sub, text)
    except Unparseable:
        return None
    if not descs or "…" in replaced:
        return None
    v = _const(replaced)
    if v is None or not v.is_Rational:
        return None
    return v, "; ".join(descs)


# --- sigma and pi notation ---------------------------------------------------------------------------------------

_BIGOP = re.compile(
    r"^\s*\\(?P<op>sum|prod)(?:\\limits)?\s*_\s*\{\s*(?P<var>[a-zA-Z])\s*=\s*(?P<lo>-?\d+)\s*\}\s*\^\s*"
    r"(?:\{\s*(?P<hi1>-?\d+)\s*\}|(?P<hi2>\d))(?P<body>.*)$",
    re.DOTALL,
)


def _body_value(op: str, var: str, lo: int, hi: int, body: str) -> Rational | None:
    """``\\sum``/``\\prod`` of ``body`` over ``var = lo..hi``, exactly; None when unsure."""
    n = hi - lo + 1
    if n <= 0:
        return None
    letter = re.compile(rf"(?<![\\A-Za-z]){var}(?![A-Za-z])")
    others = re.sub(r"\\[A-Za-z]+", "", letter.sub("", body))
    if re.search(r"[A-Za-z]", others) or "…" in body or "\\sum" in body or "\\prod" in body:
        return None
    if n > MAX_BODY_TERMS:
        # large ranges only for bodies that are polynomials in the index, summed in closed form
        if op != "sum" or n > MAX_TERMS or var in ("e", "i"):
            return None
        try:
            expr, _ = parse_latex_expr(body)
        except (Unparseable, ValueError, TypeError, ZeroDivisionError, RecursionError, OverflowError,
                AttributeError, IndexError):
            return None
        k = sympy.Symbol(var)
        try:  # a polynomial with rational coefficients: its exact sum, the Rational sympy's summation gives
            coeffs = ratpoly.dense(ratpoly.poly_of(expr, (k,)))
        except ratpoly.NotPolynomial:
            pass
        else:
            if len(coeffs) - 1 > MAX_POWER:
                return None
            total = ratpoly.sum_range(coeffs, lo, hi)
            return Rational(total.numerator, total.denominator)
        if expr.free_symbols - {k} or not expr.is_polynomial(k) or sympy.degree(expr, k) > MAX_POWER:
            return None
        value = sympy.summation(expr, (k, lo, hi))
        return value if value.is_Rational else None
    total: Expr = sympy.Integer(0 if op == "sum" else 1)
    for j in range(lo, hi + 1):
        term = _const(letter.sub(f"({j})", body))
        if term is None:
            return None
        total = total + term if op == "sum" else total * term
    total = sympy.nsimplify(total) if not total.is_Rational and total.is_Float else total
    return total


def bigop_value(side: str) -> tuple[Expr, str] | None:
    """The value of a side written ``\\sum_{k=a}^{b} body`` (or ``\\prod``), or None."""
    text = _normalise(side)
    m = _BIGOP.match(text)
    if not m:
        return None
    body = m.group("body").strip()
    if not body:
        return None
    parts = _split_top(body, "+-")
    if parts is None:
        return None
    if len(parts) > 1:
        whole = body.startswith("(") and body.endswith(")") and _split_top(body[1:-1], "") is not None and \
            _first_close(body) == len(body) - 1
        if not whole:
            return None  # "\sum_{k=1}^{10} k + 5": is 5 inside the sum? a guess
    lo, hi = int(m.group("lo")), int(m.group("hi1") or m.group("hi2"))
    value = _body_value(m.group("op"), m.group("var"), lo, hi, body)
    if value is None:
        return None
    return value, f"\\{m.group('op')} over {m.group('var')} = {lo}..{hi} of {body}"


def _first_close(text: str) -> int:
    depth = 0
    for i, ch in enumerate(text):
        depth += ch in "({["
        depth -= ch in ")}]"
        if depth == 0:
            return i
    return -1


# --- claims in a step ------------------------------------------------------------------------------------------

_CLAUSE_SEPS = re.compile(
    r"\\(?:quad|qquad|text|mathrm|textbf|mbox|hspace|label|tag)\b(?:\s*\{[^{}]*\})?|\\\\|&|;|,(?=\s)|,\s*\\|"
    r"\\(?:Rightarrow|implies|Longrightarrow|iff|therefore|because)(?![A-Za-z])|⇒|⟹",
)
_OTHER_RELATION = re.compile(
    r"<|>|\\[lg]eq?(?![A-Za-z])|\\[lg]eqslant|\\neq?(?![A-Za-z])|≤|≥|≠|\\equiv|≡|\\sim|\\propto|\\to(?![A-Za-z])|"
    r"\\in(?![A-Za-z])|\\mid|\\pmod|\\bmod|\\mod(?![A-Za-z])|\\pm|±|\\mp|\\infty|\\lim|\\int|:="
)
_APPROX = re.compile(r"\\approx(?![A-Za-z])|≈")
_SERIES_MARK = re.compile(r"\\[lc]?dots|\\ldots|\\cdots|\.\.\.|…|⋯|\\sum|\\prod")


def _sides(clause: str) -> tuple[list[str], list[bool]] | None:
    """The sides of ``A = B ≈ C …`` and, per relation, whether it is an approximation; None for other relations."""
    if _OTHER_RELATION.search(clause):
        return None
    marked = _APPROX.sub("≈", clause)
    parts, rels, depth, start = [], [], 0, 0
    for i, ch in enumerate(marked):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif depth == 0 and ch in "=≈":
            parts.append(marked[start:i])
            rels.append(ch == "≈")
            start = i + 1
    parts.append(marked[start:])
    return parts, rels


def _side_value(side: str) -> tuple[Expr, str] | None:
    got = bigop_value(side)
    if got is not None:
        return got
    got = series_value(side)
    return (got[0], got[1]) if got is not None else None


def _running_total(stated_raw: str, value: Expr) -> bool:
    """Does the stated side *start* with the true value (``… = 55 + 11``)? Then it is a running computation."""
    text = _normalise(stated_raw)
    depth = 0
    for i, ch in enumerate(text):
        depth += ch in "({["
        depth -= ch in ")}]"
        if depth or i == 0 or ch not in "+-*/":
            continue
        start = _const(text[:i])
        if start is not None and _equal(value, start, text[:i], False) is True:
            return True
    return False


MAX_MEMO_CLAUSE = 1000


def _check_clause(clause: str) -> SeriesCheck | None:
    """The claim of one clause, decided, or None. Remembered by its text (solutions of one problem, and PRMBench's
    original and edited solutions, repeat their series): a pure function of it; each caller gets its own copy."""
    if len(clause) > MAX_MEMO_CLAUSE:
        return _read_clause(clause)
    got = _clause_memo(clause)
    return None if got is None else SeriesCheck(got.claim, got.ok, got.message, dict(got.details))


@functools.lru_cache(maxsize=4096)
def _clause_memo(clause: str) -> SeriesCheck | None:
    return _read_clause(clause)


def _read_clause(clause: str) -> SeriesCheck | None:
    read = _sides(clause)
    if read is None:
        return None
    sides, approx = read
    if len(sides) < 2:
        return None
    for j, side in enumerate(sides):
        if not _SERIES_MARK.search(side):
            continue
        got = _side_value(side)
        if got is None:
            continue
        value, desc = got
        if j + 1 < len(sides):
            other, rel_approx = sides[j + 1], approx[j]
        elif _LITERAL.match(sides[j - 1]):
            other, rel_approx = sides[j - 1], approx[j - 1]
        else:
            return None
        stated_got = _side_value(other) if _SERIES_MARK.search(other) else None
        stated = stated_got[0] if stated_got is not None else _const(_normalise(other))
        if stated is None:
            return None
        ok = _equal(value, stated, other, rel_approx)
        if ok is None:
            return None
        claim = f"{side.strip()} {'≈' if rel_approx else '='} {other.strip()}"
        if not ok and _running_total(other, value):
            return None
        if ok:  # (no decimal rendering here: evaluating irrational values is the costly part)
            shown = sympy.sstr(value) if value.is_Rational and len(sympy.sstr(value)) <= 40 else "the stated value"
            return SeriesCheck(claim, True, f"“{claim}” holds ({desc} is {shown})", {"claim": claim, "series": desc})
        details = {"claim": claim, "correct": _show(value), "claimed": _show(stated), "series": desc}
        what = desc if _ellipsis_series(_normalise(side)) or bigop_value(side) else f"{side.strip()} ({desc})"
        return SeriesCheck(claim, False, f"“{claim}” is false: {what} is {_show(value)}, not {_show(stated)}",
                           details)
    return None


def _math_bodies(step: str) -> tuple[list[str], str]:
    """The step's LaTeX math bodies, and its prose with each math span replaced by a separator."""
    spans = math_spans(step)  # the matches of _MATH, found by str.find
    pieces, pos = [], 0
    for start, end, _body in spans:
        pieces.append(step[pos:start])
        pos = end
    pieces.append(step[pos:])
    return [body for _, _, body in spans], " ; ".join(pieces)  # _MATH.sub(" ; ", step)


# Plain-text series: a run of numbers and operators with an ellipsis, "=" and a value.
_PROSE_SERIES = re.compile(
    r"(?<![\w.^/])(?:\d[\d\s+*×·^()/]*?(?:\.\.\.|…)[\d\s+*×·^()/]*?\d\)?)\s*=\s*\(?\d[\d,]*(?:\.\d+)?(?!\w|[.,]\d)"
    r"(?:\s*=\s*\d[\d,]*(?:\.\d+)?(?!\w|[.,]\d))*"
)


def _series_checks(step: str) -> list[SeriesCheck]:
    out: list[SeriesCheck] = []
    bodies, prose = _math_bodies(step)
    clauses: list[str] = []
    for body in bodies:
        if not _SERIES_MARK.search(body):
            continue
        clauses.extend(c for c in _CLAUSE_SEPS.split(body) if c and _SERIES_MARK.search(c))
    if "..." in prose or "…" in prose:
        for m in _PROSE_SERIES.finditer(prose):
            after = prose[m.end():]
            if re.match(r"\s*[A-Za-z](?![A-Za-z])|\s*[-+*/^×]|\s*\?", after):
                continue  # "= 5050 x", "= 50 + …": the run is part of something longer
            clauses.append(m.group())
    for clause in clauses:
        try:
            got = _check_clause(clause)
        except Exception:  # noqa: BLE001 - unreadable means unchecked
            got = None
        if got is not None:
            out.append(got)
    return out


# --- plain-text function values ---------------------------------------------------------------------------------

_PERMUTATION_WORDS = re.compile(r"\b(?:permut\w*|arrang\w*|ordered|order matters)\b", re.IGNORECASE)
_GEOMETRY_WORDS = guarded(r"\b(?:points?|coordinates?|vertex|vertices|triangle|plane|graph|circle|line)\b",
                             re.IGNORECASE)
# Only ever searched for (never matched for its span): "\d" stands for "\d+" in "10C3" and "10 choose 3", which finds
# the same texts in linear time (with "\d+" every digit of a long run started a scan to the run's end).
_FUNC_MARK = re.compile(
    r"(?<![A-Za-z])(?:C\s*\(\s*\d|P\s*\(\s*\d|\d\s*[CP]\s*\d|sqrt\s*\(|√|log_?\{?\d+\}?\s*\(|log_\d|ln\s*\(|"
    r"gcd\s*\(|lcm\s*\(|GCD\s*\(|LCM\s*\(|GCF\s*\(|HCF\s*\(|\d\s+choose\s+\d|\bmod\b)",
)
# A token of a plain-text formula: numbers, operators, brackets and the function spellings read here.
_PTOK = re.compile(
    r"\s+|\d+(?:\.\d+)?|[-+*/^×÷·−–()!,=²³√]|≈"
    r"|(?<![A-Za-z])(?:sqrt|gcd|lcm|GCD|LCM|GCF|HCF|ln|log_?\{?\d+\}?|log_?\{?\d+\}?|choose|mod|C|P)(?![A-Za-z])"
)
_WORD_AFTER = re.compile(r"[A-Za-z]|[ \t]+[A-Za-z](?![A-Za-z])")  # "= 10x", "= 10 x": the value is not alone


def _prose_runs(prose: str) -> list[tuple[str, bool, bool]]:
    """Maximal runs of formula tokens containing "=" or "≈", with whether each is glued to a word on the left or
    right (then its edge side is only part of a longer expression)."""
    runs: list[tuple[str, bool, bool]] = []
    i, n = 0, len(prose)
    while i < n:
        m = _PTOK.match(prose, i)
        if not m or m.group().isspace():
            i += 1 if not m else m.end() - i
            continue
        start = i
        while i < n and (m := _PTOK.match(prose, i)):
            i = m.end()
        while i > start and prose[i - 1].isspace():
            i -= 1
        run = prose[start:i]
        if "\n" in run:  # a formula does not run across lines
            i = start + run.index("\n")
            while i > start and prose[i - 1].isspace():
                i -= 1
            run = prose[start:i]
        if ("=" in run or "≈" in run) and _FUNC_MARK.search(run):
            left_glued = start > 0 and (prose[start - 1].isalpha() or prose[start - 1] in "_'\\.")
            right_glued = bool(_WORD_AFTER.match(prose, i)) or (i < n and prose[i] in "%$'.\\_") and not (
                prose[i] == "." and (i + 1 == n or prose[i + 1].isspace()))
            runs.append((run, left_glued, right_glued))
        i = max(i, start + 1)
    return runs


_CHOOSE = guarded(r"(\d+)\s*choose\s*(\d+)")
_NCR = re.compile(r"(?<![\w)])(\d+)\s*C\s*(\d+)(?![\w(])")
_NPR = re.compile(r"(?<![\w)])(\d+)\s*P\s*(\d+)(?![\w(])")
_PNK = re.compile(r"(?<![A-Za-z])P\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_CNK = re.compile(r"(?<![A-Za-z])C\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_MOD = re.compile(r"^\s*(?P<a>\d+(?:\s*\^\s*\d+)?|\([^()]*\))\s*mod\s*(?P<m>\d+)\s*$")


def _perm(n: int, k: int) -> str:
    if not 0 <= k <= n <= 100:
        raise Unparseable("permutation arguments")
    return f"({math.perm(n, k)})"


def _to_latex(side: str, permutations: bool) -> str | None:
    """A plain-text side as numeric LaTeX for the algebra parser; None when it holds notation read otherwise."""
    s = side.strip()
    if not s or s[0] in "+*/^×÷·=,)" or s[-1] in "+-*/^×÷·−–,(":
        return None
    s = s.replace("−", "-").replace("–", "-").replace("×", "*").replace("·", "*").replace("÷", "/")
    s = s.replace("²", "^2").replace("³", "^3")
    s = _CHOOSE.sub(r"\\binom{\1}{\2}", s)
    s = _NCR.sub(r"\\binom{\1}{\2}", s)
    s = _CNK.sub(r"\\binom{\1}{\2}", s)
    if _PNK.search(s) or _NPR.search(s):
        if not permutations:
            return None  # P(…) is usually a probability
        s = _PNK.sub(lambda m: _perm(int(m.group(1)), int(m.group(2))), s)
        s = _NPR.sub(lambda m: _perm(int(m.group(1)), int(m.group(2))), s)
    if re.search(r"(?<![A-Za-z])[CP](?![A-Za-z])|\bchoose\b|\bmod\b", s):
        return None
    s = re.sub(r"\b(?:GCF|HCF|GCD)\s*\(", "gcd(", s)
    s = re.sub(r"\bLCM\s*\(", "lcm(", s)
    if re.search(r"(?<![A-Za-z])log(?!_?\{?\d+\}?\s*\()", s):
        return None  # log(100): base 10 or e?
    s = re.sub(r"(?<![A-Za-z])log_?\{?(\d+)\}?\s*\(", r"\\log_{\1}(", s)
    s = re.sub(r"(?<![A-Za-z])ln\s*\(", r"\\ln(", s)
    # roots: √(…), √123, sqrt(…)
    s = re.sub(r"(?<![A-Za-z])sqrt\s*(?=\()", "√", s)
    out, i = [], 0
    while i < len(s):
        if s[i] != "√":
            out.append(s[i])
            i += 1
            continue
        j = i + 1
        while j < len(s) and s[j] == " ":
            j += 1
        if j < len(s) and s[j] == "(":
            end = _first_close(s[j:])
            if end < 0:
                return None
            out.append("\\sqrt{" + s[j:j + end + 1] + "}")
            i = j + end + 1
        elif m := re.match(r"\d+(?:\.\d+)?", s[j:]):
            out.append("\\sqrt{" + m.group() + "}")
            i = j + m.end()
        else:
            return None
    return "".join(out)


def _mod_value(side: str) -> Expr | None:
    m = _MOD.match(side)
    if not m:
        return None
    a = _const(_to_latex(m.group("a"), False) or "")
    mod = int(m.group("m"))
    if a is None or not a.is_Integer or not 2 <= mod <= 10**12:
        return None
    return sympy.Integer(int(a) % mod)


def _arithmetic_reads(left: str, rel: str, right: str) -> bool:
    """Does the arithmetic checker read this pair itself? Then it is its business."""
    from critica.verifiers import math as arithmetic

    try:
        comps, _ = arithmetic.check_step(f"{left} {'≈' if rel else '='} {right}")
    except Exception:  # noqa: BLE001
        return False
    return bool(comps)


def _function_checks(step: str) -> list[SeriesCheck]:
    bodies, prose = _math_bodies(step)
    if not _FUNC_MARK.search(prose):
        return []
    permutations = bool(_PERMUTATION_WORDS.search(step))
    geometry = bool(_GEOMETRY_WORDS.search(step))
    out: list[SeriesCheck] = []
    for run, left_glued, right_glued in _prose_runs(prose):
        if geometry and re.search(r"(?<![A-Za-z])[CP]\s*\(", run):
            continue  # C(5, 2) may be a point
        for clause in _split_top(run, ",") or []:
            read = _sides(clause)
            if read is None:
                continue
            sides, approx = read
            if left_glued:
                sides, approx = sides[1:], approx[1:]
            if right_glued:
                sides, approx = sides[:-1], approx[:-1]
            for k in range(len(sides) - 1):
                left, right = sides[k].strip(), sides[k + 1].strip()
                pair = f"{left} {'≈' if approx[k] else '='} {right}"
                if not left or not right or not _FUNC_MARK.search(pair):
                    continue
                try:
                    a = _mod_value(left) if re.search(r"\bmod\b", left) else _const(_to_latex(left, permutations) or "")
                    b = _mod_value(right) if re.search(r"\bmod\b", right) else _const(
                        _to_latex(right, permutations) or "")
                except Unparseable:
                    continue
                if a is None or b is None:
                    continue
                ok = _equal(a, b, right, approx[k])
                if ok is None or _arithmetic_reads(left, approx[k], right):
                    continue
                if not ok and not approx[k] and _running_total(_to_latex(right, permutations) or "", a):
                    continue
                if ok:
                    out.append(SeriesCheck(pair, True, f"“{pair}” holds", {"claim": pair}))
                    continue
                details = {"claim": pair, "correct": _show(a), "claimed": _show(b)}
                out.append(SeriesCheck(pair, False, f"“{pair}” is false: {left} is {_show(a)}, not {_show(b)}",
                                       details))
                break
    return out


# --- the verifier -------------------------------------------------------------------------------------------------

_ANY_MARK = guarded(_SERIES_MARK.pattern + "|" + _FUNC_MARK.pattern)
"""Whether a step holds anything to read; :func:`_has_mark` answers the same question faster."""

# _ANY_MARK's alternatives regrouped for :func:`_has_mark` (every step is tested; ~10 µs a step with the regex, whose
# look-ahead admits every digit): the series marks are literals; the function marks are split into those that start
# with a letter or "√" (a look-ahead without digits) and the two that start with a digit, each searched only when
# a substring every one of its matches holds occurs. A text has a match of an alternation iff it has one of some
# alternative, so the answer is the regex's.
_SERIES_LITERALS = ("\\dots", "\\ldots", "\\cdots", "...", "…", "⋯", "\\sum", "\\prod")
_FUNC_MARK_WORDS = guarded(
    r"(?<![A-Za-z])(?:C\s*\(\s*\d|P\s*\(\s*\d|sqrt\s*\(|√|log_?\{?\d+\}?\s*\(|log_\d|ln\s*\(|gcd\s*\(|lcm\s*\(|GCD\s*\(|"
    r"LCM\s*\(|GCF\s*\(|HCF\s*\(|\bmod\b)")
_FUNC_MARK_DIGITS = re.compile(r"(?<![A-Za-z])(?:\d\s*[CP]\s*\d|\d\s+choose\s+\d)")


def _has_mark(step: str) -> bool:
    """``_ANY_MARK.search(step) is not None``, faster (see above)."""
    if any(map(step.__contains__, _SERIES_LITERALS)):  # (map: no generator frame per key)
        return True
    cp = "C" in step or "P" in step
    if (cp or "sqrt" in step or "√" in step or "log" in step or "ln" in step or "gcd" in step or "lcm" in step
            or "GCD" in step or "LCM" in step or "GCF" in step or "HCF" in step or "mod" in step) and (
            _FUNC_MARK_WORDS.search(step) is not None):
        return True
    return (cp or "choose" in step) and _FUNC_MARK_DIGITS.search(step) is not None


def check_step(step: str) -> list[SeriesCheck]:
    """Every series or plain-text function claim in the step that could be decided; never raises on any text.
    Steps that test a guess or correct themselves are skipped.

    Remembered by the step's text for steps up to :data:`MAX_MEMO_STEP` characters (PRMBench repeats half of its
    steps, thousands of steps apart); the result is a pure function of it. Each call returns a new list (the checks
    themselves are shared: treat them as read-only)."""
    if len(step) <= MAX_MEMO_STEP:
        return list(_check_step(step))  # a copy: a caller's edits never reach the memo
    return _check_step.__wrapped__(step)


MAX_MEMO_STEP = 1000  # with 8192 entries: at most 8 M characters of keys, ~1 M on the benchmark sets


@functools.lru_cache(maxsize=8192)
def _check_step(step: str) -> list[SeriesCheck]:
    if len(step) > MAX_STEP_CHARS or not _has_mark(step):
        return []
    if _HYPOTHETICAL.search(step) or _SELF_CORRECTION.search(step):
        return []
    out: list[SeriesCheck] = []
    for fn in (_series_checks, _function_checks):
        try:
            out.extend(fn(step))
        except Exception:  # noqa: BLE001 - unreadable means unchecked
            pass
    return out


class SeriesVerifier:
    """Flags a false value stated for a sum or product written with an ellipsis or sigma/pi notation, or for a
    function written in plain text (binomials, permutations, roots, logarithms, gcd/lcm, residues)."""

    name = "series"

    def check(self, item: Item, steps: list[str]) -> list[Finding]:
        """One finding per step with a decided claim: ``incorrect`` quoting the first false one and its correct
        value, else ``correct``. Steps without a claim get no finding."""
        findings: list[Finding] = []
        for i, step in enumerate(steps):
            checkpoint()  # stops here once the item is over its time budget
            try:
                checks = check_step(step)
            except Exception:  # noqa: BLE001 - a verifier must not raise on any text
                checks = []
            if not checks:
                continue
            bad = next((c for c in checks if not c.ok), None)
            findings.append(step_finding(
                "series", i, len(checks), "claim(s)", [c.message for c in checks[:3]],
                None if bad is None else (bad.message, bad.details),
            ))
        return findings
