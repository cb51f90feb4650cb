"""Constant claims with functions, the algebra checker's third kind of check (:func:`numeric_checks`).

A link ``A = B (= C …)``, ``A ≈ B`` or ``A ≡ B \\pmod m`` whose sides are constants built with functions the
arithmetic checker does not read (``\\binom``, ``C(n, k)``, ``n!``, roots, ``\\log_b``, ``\\ln``, trigonometric values
at degrees or rational multiples of pi, floors, ceilings, gcd, lcm, residues, powers, factorisations) is decided
exactly (rationals exactly, other constants at 50 digits) and flagged at its first false link with the correct value.
Decimals and ``≈`` are judged within the shown precision (or 2%); integer equalities are not flagged where the
problem works with residues (:data:`MODULAR_CONTEXT`). Steps that test a guess or correct themselves are skipped
(``_NUMERIC_SKIP``, also read by the listing checker).

Sides are read by :func:`critica.verifiers.symparse.parse_latex_expr` in numeric mode, formulas split into links by
:mod:`critica.verifiers.steplinks`. Called by :class:`critica.verifiers.algebra.AlgebraVerifier`.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from dataclasses import dataclass
from fractions import Fraction

import sympy
from mpmath import iv
from mpmath.libmp import ComplexResult, finf, fnan, fninf, to_rational
from sympy import Expr, Rational

from critica.verifiers.fastre import guarded
from critica.verifiers.keygate import KeywordGate
from critica.verifiers.steplinks import EquationCheck, _Conn, _Link, _split_math, _strip_wrappers, math_spans
from critica.verifiers.symparse import MAX_STEP_CHARS, Unparseable, parse_latex_expr, show_value

__all__ = ["MODULAR_CONTEXT", "numeric_checks"]


# --- constant claims --------------------------------------------------------------------------------------------
# MATH-level solutions assert many values of functions the arithmetic checker does not read: binomials, factorials
# inside fractions, roots to simplify, logarithms, trigonometric values at degrees, floors, gcd/lcm, residues. A
# link ``A = B`` (``≈``, ``≡ … \pmod m``) whose sides are both constants is decided exactly here. The arithmetic
# checker keeps what it reads: a pair it returns a computation for is left to it.

_NUMERIC_MARKERS = guarded(
    r"\\sqrt|\\pi|!|\\[dt]?binom|\\choose|\\log|\\ln|\\sin|\\cos|\\tan|\\cot|\\sec|\\csc|\\lfloor|\\lceil|gcd|lcm|"
    r"GCD|LCM|\\equiv|≡|mod|\^|(?<![A-Za-z])C\(")
_MARKER_WORDS = ("^", "!", "mod", "gcd", "lcm", "GCD", "LCM", "≡")
_MARKER_COMMANDS = ("\\sqrt", "\\pi", "\\binom", "\\dbinom", "\\tbinom", "\\choose", "\\log", "\\ln", "\\sin",
                    "\\cos", "\\tan", "\\cot", "\\sec", "\\csc", "\\lfloor", "\\lceil", "\\equiv")
"""The alternatives of :data:`_NUMERIC_MARKERS` but ``C(``: plain case-sensitive literals, with no look-around."""


def _has_marker(text: str) -> bool:
    """``_NUMERIC_MARKERS.search(text) is not None``, by substring tests: every alternative but ``C(`` is a literal
    (a text matches one exactly when it contains it), and only a text holding ``C(`` needs the regex for its
    look-behind. The regex tried every position where a marker's first character (``\\``, ``g``, ``l``, ``m`` …)
    stood; this runs on every step, math body and link of the constant checks."""
    for k in _MARKER_WORDS:
        if k in text:
            return True
    if "\\" in text:  # every other literal starts with a backslash
        for k in _MARKER_COMMANDS:
            if k in text:
                return True
    return "C(" in text and _NUMERIC_MARKERS.search(text) is not None


# A step that tests a guess or corrects itself writes false values on purpose (approximation words are allowed
# here: an approximate claim is judged within its precision). Values substituted into an equation give an equation
# to test, whose falsity points at an earlier step.
_NUMERIC_SKIP = guarded(
    r"\b(?:suppos\w*|assum\w*|guess\w*|try|trying|tried|test\w*|check\w*|verif\w*|plug\w*|incorrect|wrong|mistake\w*|"
    r"errors?|extraneous|reject\w*|discard\w*|invalid|contradict\w*|impossible|not possible|not a (?:valid )?solution|"
    r"not satisf\w*|re-?evaluat\w*|recheck\w*|re-?examin\w*|reconsider\w*|hypothe\w*|counterexample|false|not true|"
    r"substitut\w*|plug\w*|(?:does not|doesn't|is not|isn't|are not|aren't) (?:equal|hold|work|satisfy|match|correct|"
    r"right))\b",
    re.IGNORECASE,
)
# Searched on every step with a marker: behind a keyword pre-test. Every match, lowercased, holds one of the keys
# (each alternative's literal stem; every "not"/"n't" alternative is followed by a space in the pattern).
_NUMERIC_SKIP_GATE = KeywordGate(_NUMERIC_SKIP, (
    "suppos", "assum", "guess", "try", "tried", "test", "check", "verif", "plug", "incorrect", "wrong", "mistake",
    "error", "extraneous", "reject", "discard", "invalid", "contradict", "impossible", "not ", "n't ", "evaluat",
    "examin", "reconsider", "hypothe", "counterexample", "false", "substitut",
), lead=5)
# lead: each alternative starts with its key, but "re-" before "evaluat"/"examin", "re" before "check" and at most
# "does " before "not " / "n't "
# Relations and notation that make a link something other than a plain numeric claim: inequalities, divisibility,
# absolute values, sets and intervals (":", "\\in"), ratios, percentages, sums, limits, geometry, ± …
_NUMERIC_NOT = re.compile(
    r"<|>|\\[lg]eq?(?![A-Za-z])|\\[lg]eqslant|\\neq?(?![A-Za-z])|\\sim|\\simeq|\\mid|\\nmid|\\in(?![A-Za-z])|"
    r"\\cong|\\propto|≤|≥|≠|:|\||'|%|\\cdots|\\ldots|\.\.\.|\\infty|\\sum|\\prod|\\int|\\lim|\\vec|\\overline|"
    r"\\angle|\\triangle|\\hat|\\bar|\\dot|\\pm(?!od)|\\mp|±|\\arc|\\to(?![A-Za-z])|\\mathbb|\\setminus|\\cup|\\cap"
)
_MOD_FORMS = [
    (re.compile(r"\(\s*\\(?:text|mathrm|operatorname)\s*\{\s*mod\s*\}\s*\{?\s*(\d+)\s*\}?\s*\)"), r"\\pmod{\1}"),
    (re.compile(r"\\(?:text|mathrm)\s*\{\s*\(\s*mod\s+(\d+)\s*\)\s*\}"), r"\\pmod{\1}"),
    (re.compile(r"\(\s*\\(?:bmod|mod)\s*\{?\s*(\d+)\s*\}?\s*\)"), r"\\pmod{\1}"),
    (re.compile(r"\\(?:text|mathrm|operatorname)\s*\{\s*mod\s*\}"), r"\\mod "),
]
_MOD_MARK = re.compile(r"\\(?:pmod|bmod|mod)(?![A-Za-z])")
_MODULUS_END = re.compile(r"\\(?:pmod|bmod|mod)\s*(?:\{\s*(\d+)\s*\}|(\d+))\s*$")
_INLINE_MOD = re.compile(r"^(?P<a>.+?)\\(?:bmod|mod)\s*(?:\{\s*(?P<m1>\d+)\s*\}|(?P<m2>\d+))\s*=(?P<r>[^=]+)$")
_RELATION = re.compile(r"(=|\\approx(?![A-Za-z])|≈|\\equiv(?![A-Za-z])|≡)")
_DECIMAL = re.compile(r"\d\.(\d+)")
_NUMBER_LITERAL = re.compile(r"^\s*-?\s*\d+(?:\.\d+)?\s*$")
_TOP_OPERATOR = re.compile(r"[-+*/]|\\(?:times|cdot|div)(?![A-Za-z])")
MAX_MODULUS = 10**12
APPROX_REL_TOL = 0.02  # propagated rounding of an approximate value ("\sqrt 3 ≈ 1.73, so 5\sqrt 3 ≈ 8.65")


@dataclass
class _NumClaim:
    """One link ``left rel right`` of a constant claim, with both sides parsed."""

    left_raw: str
    rel: str  # "=", "≈" or "≡"
    right_raw: str
    left: Expr
    right: Expr
    decimals: int | None  # fewest decimal places shown in the link, None when no decimal


def _show(v: Expr) -> str:
    return show_value(v, 8)


def _numeric_sides(raw: str) -> tuple[list[str], list[str], int | None] | None:
    """The sides and relations of a constant claim and its modulus (None: no modulus), or None when the link is
    not one (unknown notation, a relation that is not a claim, a modulus that is unclear)."""
    if _NUMERIC_NOT.search(raw):
        return None
    text = _TRAILING_PUNCTUATION.sub("", raw)
    if "mod" in text:  # every one of the forms holds "mod"
        for pat, rep in _MOD_FORMS:
            text = pat.sub(rep, text)
    text = _NAMED_GCD.sub(r"\\\1", text)
    text = _strip_wrappers(text)
    if text is None or _NUMERIC_NOT.search(text) or "=" not in text and not _OTHER_RELATION.search(text):
        return None
    modulus: int | None = None
    marks = len(_MOD_MARK.findall(text))
    if _CONGRUENCE.search(text):
        m = _MODULUS_END.search(text)
        if m is None or marks != 1:
            return None  # "a ≡ b" with the modulus elsewhere (or none): unclear
        modulus = int(m.group(1) or m.group(2))
        text = text[: m.start()]
    elif marks:
        m = _INLINE_MOD.match(text)
        if m is None or marks != 1:
            return None  # "39 \mod 19 = 0 + 20 \mod 19": precedence unclear
        modulus = int(m.group("m1") or m.group("m2"))
        text = m.group("a") + "=" + m.group("r")
    if modulus is not None and not 2 <= modulus <= MAX_MODULUS:
        return None
    parts = _RELATION.split(text)
    sides, rels = parts[0::2], parts[1::2]
    rels = ["≈" if r in ("\\approx", "≈") else "≡" if r in ("\\equiv", "≡") else "=" for r in rels]
    if modulus is None and "≡" in rels:
        return None
    if modulus is not None and "≈" in rels:
        return None
    return [side.strip() for side in sides], rels, modulus


_TRAILING_PUNCTUATION = re.compile(r"[\s.,;]+$")
_NAMED_GCD = re.compile(r"\\(?:text|operatorname|mathrm|textrm)\s*\{\s*(gcd|lcm)\s*\}", re.IGNORECASE)
_OTHER_RELATION = re.compile(r"\\equiv|≡|\\approx|≈")
_CONGRUENCE = re.compile(r"\\equiv|≡|\\pmod")
_QUESTION = re.compile(r"\s*\?")
_ROW_RELATION = re.compile(r"\s*(?:=|\\approx|≈|\\equiv|≡)")
_LETTER = re.compile(r"(?<![\\A-Za-z])(?!C\()[A-Za-z]")


@functools.lru_cache(maxsize=4096)
def _parse_constant(side: str) -> Expr | None:
    if _LETTER.search(side):
        return None  # a variable (commands are skipped by the lookbehind): refused without parsing, which is costly
    try:
        value, _ = parse_latex_expr(side, numeric=True)
    except (Unparseable, ValueError, TypeError, ZeroDivisionError, RecursionError, OverflowError, AttributeError):
        return None
    if value.free_symbols or not value.is_number or value.has(sympy.zoo, sympy.nan) or (
            not surely_real(value) and value.is_real is not True):
        return None
    return value


def _sign(e: Expr) -> int | None:
    """1: ``e`` is surely positive, 0: surely real, None: not known from the tree alone (see :func:`surely_real`)."""
    if e.is_Rational:
        return 1 if e.p > 0 else 0
    if e is sympy.pi or e is sympy.E:
        return 1
    if e.is_Pow:
        if not e.exp.is_Rational:
            return None
        base = _sign(e.base)
        if base == 1:
            return 1
        # a real base to a positive integer power: sympy's Pow is real there whatever the base's sign (its test
        # "integer exponent, nonnegative" answers True, and a finite base to a finite nonnegative power is finite)
        return 0 if base == 0 and e.exp.is_Integer and e.exp.p > 0 else None
    if e.is_Add or e.is_Mul:
        signs = [_sign(arg) for arg in e.args]
        if None in signs:
            return None
        return 1 if all(signs) else 0
    if isinstance(e, (sympy.sin, sympy.cos)):
        # sympy: extended real and finite wherever the argument is extended real
        return 0 if _sign(e.args[0]) is not None else None
    if isinstance(e, sympy.log) and e.args[0].is_Rational and e.args[0].p > 0:
        # sympy: real where the argument is positive, positive (and nonzero) where argument - 1 is
        return 1 if e.args[0].p > e.args[0].q else 0
    return None


def surely_real(e: Expr) -> bool:
    """True only where ``e.is_real`` is True, read from the tree without sympy's assumption system (which answers
    ``is_real`` of a sum or power of constants by evaluating them numerically: a third of the cost of reading a
    constant side): rationals, pi and e, their sums and products, powers of a positive one to a rational exponent
    (``5\\sqrt{2}``, ``\\sqrt{\\sqrt{5}/8 + 5/8}``) and of a real one to a positive integer, sines and cosines of
    real ones, and logarithms of positive rationals are real. False means "ask sympy"."""
    return _sign(e) is not None


def _math_checks(left: str, rel: str, right: str) -> bool:
    """Does the arithmetic checker read this pair itself? Then it is its business, not ours."""
    from critica.verifiers import math as arithmetic  # imported late: the arithmetic module is large

    op = "\\approx" if rel == "≈" else "="
    comps, _ = arithmetic.check_step(f"${left} {op} {right}$")
    return bool(comps)


def _numeric_close(a: Expr, b: Expr, abs_tol: Expr | None) -> bool | None:
    """Is ``a = b``? Exact when no tolerance is given: rationals are compared exactly; other constants (sympy has
    already simplified roots, rational multiples of pi and the trigonometric values it knows) by evaluating the
    difference at 50 significant digits, where mpmath's adaptive precision makes a zero below 1e-30 (relative) an
    equality and one above 1e-10 a true difference; in between is too close to call (None). ``sympy.simplify`` is
    not used: it costs a tenth of a second per claim and cannot prove most trigonometric identities anyway. For
    approximate claims: within ``abs_tol`` or 2%.

    The numeric evaluation is remembered per ``(a, b, abs_tol)`` (solutions of one problem repeat their claims):
    the sides are exact constants from the parser (no Floats, whose equal values of other precisions would share a
    key), so structurally equal keys evaluate alike."""
    if abs_tol is None and a.is_Rational and b.is_Rational:
        return a == b
    if a.has(sympy.Float) or b.has(sympy.Float):
        return _numeric_close_sympy(a, b, abs_tol)
    return _numeric_close_memo(a, b, abs_tol)


@functools.lru_cache(maxsize=4096)
def _numeric_close_memo(a: Expr, b: Expr, abs_tol: Expr | None) -> bool | None:
    return _numeric_close_sympy(a, b, abs_tol)


def _numeric_close_sympy(a: Expr, b: Expr, abs_tol: Expr | None) -> bool | None:
    if a != b:
        decided = _close_by_bounds(a, b, abs_tol)
        if decided is not None:
            return decided
    try:
        va = sympy.N(a, 15)
        if a == b and (a - b) == 0:
            # the same constant twice ("\sqrt{50} = 5\sqrt{2}" parses to 5*sqrt(2) on both sides): vb is va and
            # the difference is exactly 0, so only the reality test of the general path below can say otherwise
            return True if va.is_real else None
        vb = sympy.N(b, 15)
        d = abs(sympy.N(a - b, 50))
        if not (va.is_real and vb.is_real and d.is_real):
            return None
        scale = max(sympy.Float(1), abs(va), abs(vb))
        if abs_tol is not None:
            return bool(d <= max(abs_tol, APPROX_REL_TOL * abs(va)) * (1 + sympy.Float("1e-12")))
        if d / scale < sympy.Float("1e-30"):
            return True
        if d / scale < sympy.Float("1e-10"):
            return None
        # confirm the difference at a higher precision (a cancellation that 50 digits could not resolve would show)
        return False if abs(sympy.N(a - b, 80)) / scale > sympy.Float("1e-10") else None
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError, AttributeError):
        return None


# --- rigorous bounds -------------------------------------------------------------------------------------------
# Interval bounds of a constant (mpmath's interval arithmetic, outward-rounded, at 160 bits): they decide a comparison
# whose answer is clear by more than the evaluations' errors; the sympy evaluation decides the rest (see
# _numeric_close_sympy and critica.verifiers.series._equal).
_BOUND_PREC = 160  # bits
_BOUND_NODES = 4000  # nodes of an expression bounded at most (beyond: the sympy path)
_BOUND_MAX_POWER = 1000  # integer exponents bounded at most (beyond: the sympy path)
_BOUND_MAX_TRIG_ARG = 10**6  # sin/cos arguments bounded at most in size (beyond: the sympy path)
_BOUND_LOCK = threading.Lock()  # the interval context's precision is shared state


class _Unbounded(Exception):
    pass


def _iv(e: Expr, budget: list[int]):
    budget[0] -= 1
    if budget[0] < 0:
        raise _Unbounded
    if e.is_Rational:
        return iv.mpf(int(e.p)) / int(e.q)
    if e is sympy.pi:
        return iv.pi
    if e is sympy.E:
        return iv.e
    if e.is_Add or e.is_Mul:
        args = [_iv(a, budget) for a in e.args]
        total = args[0]
        for x in args[1:]:
            total = total + x if e.is_Add else total * x
        return total
    if e.is_Pow and e.exp.is_Rational and e.exp.q in (1, 2):
        base = _iv(e.base, budget)
        p = int(e.exp.p)
        if abs(p) > _BOUND_MAX_POWER:
            raise _Unbounded
        if e.exp.q == 2:
            if not base.a > 0:
                raise _Unbounded
            base = iv.sqrt(base)
        if p < 0:
            if not (base.a > 0 or base.b < 0):
                raise _Unbounded
            return 1 / base ** (-p)
        return base**p
    if isinstance(e, (sympy.sin, sympy.cos)):
        arg = _iv(e.args[0], budget)
        if not (abs(arg.a) <= _BOUND_MAX_TRIG_ARG and abs(arg.b) <= _BOUND_MAX_TRIG_ARG):
            raise _Unbounded  # reducing a huge argument modulo 2 pi takes time in its digits (minutes at 10^(10^6))
        return iv.sin(arg) if isinstance(e, sympy.sin) else iv.cos(arg)
    raise _Unbounded


def bounds(e: Expr) -> tuple[Fraction, Fraction] | None:
    """Exact rationals ``lo <= e <= hi`` (rigorous: outward-rounded interval arithmetic), or None when ``e`` holds
    something not read here (only rationals, pi, e, sums, products, integer powers, square roots, sin and cos)."""
    with _BOUND_LOCK:
        prec = iv.prec
        iv.prec = _BOUND_PREC
        try:
            x = _iv(e, [_BOUND_NODES])
        except (_Unbounded, ArithmeticError, ValueError, TypeError, RecursionError, ComplexResult):
            return None
        finally:
            iv.prec = prec
    a, b = x._mpi_
    if any(t in (finf, fninf, fnan) for t in (a, b)):
        return None
    return Fraction(*to_rational(a)), Fraction(*to_rational(b))


def abs_bounds(lo: Fraction, hi: Fraction) -> tuple[Fraction, Fraction]:
    if lo >= 0:
        return lo, hi
    if hi <= 0:
        return -hi, -lo
    return Fraction(0), max(-lo, hi)


def _close_by_bounds(a: Expr, b: Expr, abs_tol: Expr | None) -> bool | None:
    """What the sympy path of :func:`_numeric_close_sympy` answers, from rigorous bounds, where they decide it by a
    wide margin; None: not decided here. Sides the bounds read are real, so sympy's values are real too. With a
    tolerance: ``d <= max(tol, 2% |a|) * (1 + 1e-12)`` there (d at 50 digits, |a| at 15), so d's upper bound at most
    the tolerance's lower bound holds there, and d's lower bound above 1.000000001 times its upper bound is false
    there. Exact: false there when d / scale is at least 1e-10 at 50 and at 80 digits, which a lower bound of d at
    least 1e-9 times the upper bound of the scale makes sure of. An equality (d near 0) is always sympy's call: its
    answer there comes from how far its evaluation of zero gets."""
    ba = bounds(a)
    bb = bounds(b) if ba is not None else None
    if ba is None or bb is None:
        return None
    if abs_tol is not None:
        if not abs_tol.is_Rational:
            return None
        # APPROX_REL_TOL as 2/100 (the float's excess, ~1e-18, is far inside the margins)
        return within_by_bounds(ba, bb, Fraction(int(abs_tol.p), int(abs_tol.q)), Fraction(2, 100))
    d_lo = abs_bounds(ba[0] - bb[1], ba[1] - bb[0])[0]
    scale_hi = max(Fraction(1), abs_bounds(*ba)[1], abs_bounds(*bb)[1])
    if d_lo >= scale_hi / 10**9:
        return False
    return None


def within_by_bounds(ba: tuple[Fraction, Fraction], bb: tuple[Fraction, Fraction], floor: Fraction,
                     rel: Fraction) -> bool | None:
    """``|a - b| <= max(floor, rel * |a|)`` from bounds ``ba`` of ``a`` and ``bb`` of ``b``, where they decide it by a
    wide margin: True when the difference's upper bound is at most the tolerance's lower bound, False when its lower
    bound is over 1.000000001 times the tolerance's upper bound (the sympy comparisons this stands for allow the
    tolerance a factor 1 + 1e-12), else None."""
    d_lo, d_hi = abs_bounds(ba[0] - bb[1], ba[1] - bb[0])
    size_lo, size_hi = abs_bounds(*ba)
    if d_hi <= max(floor, rel * size_lo):
        return True
    if d_lo >= max(floor, rel * size_hi) * (1 + Fraction(1, 10**9)):
        return False
    return None


def _residue(v: Expr, m: int) -> int | None:
    if not v.is_Rational:
        return None
    p, q = int(v.p), int(v.q)
    if math.gcd(q, m) != 1:
        return None
    return p * pow(q, -1, m) % m


def _running_total(right_raw: str, value: Expr) -> bool:
    """Does the right side *start* with the left side's value ("\\binom{5}{2} = 10 \\times 3 = 30": 10, then
    10 × 3)? Then the link is a running computation, not a false equation."""
    depth = 0
    for i, ch in enumerate(right_raw):
        depth += ch in "({["
        depth -= ch in ")}]"
        if depth or i == 0 or not _TOP_OPERATOR.match(right_raw, i):
            continue
        start = _parse_constant(right_raw[:i])
        if start is not None and _numeric_close(start, value, None) is True:
            return True
    return False


def _numeric_link(raw: str, modular: bool = False) -> list[EquationCheck]:
    """The checks of one link's constant claims, up to and including its first false one. In a ``modular`` context
    an equality of integers without a modulus may be one of residues ("2^{100} = (2^{10})^{10} = 24^{10}" working
    mod 1000): it is not flagged."""
    if not _may_relate(raw):
        return []  # no relation once read (see _RELATION_KEYS): _numeric_sides would refuse it
    read = _numeric_sides(raw)
    if read is None:
        return []
    sides, rels, modulus = read
    out: list[EquationCheck] = []
    for k, rel in enumerate(rels):
        left, right = sides[k], sides[k + 1]
        pair = f"{left} {rel} {right}"
        if not left or not right or _LETTER.search(left) or _LETTER.search(right):
            continue  # cheap refusals first: parsing is the costly part
        if modulus is None and not _has_marker(pair):
            continue  # plain arithmetic: the arithmetic checker's
        a, b = _parse_constant(left), _parse_constant(right)
        if a is None or b is None:
            continue
        if modulus is not None:
            ra, rb = _residue(a, modulus), _residue(b, modulus)
            if ra is None or rb is None:
                continue
            ok: bool | None = ra == rb
        else:
            places = [len(d) for d in _DECIMAL.findall(pair)]
            if rel == "≈" and not _DECIMAL.search(right):
                continue  # "≈" without a decimal value: precision unclear
            if not places and (not a.is_Rational or not b.is_Rational) and any(
                    _NUMBER_LITERAL.match(side) for side in (left, right)):
                places = [0]  # "\sqrt{345600} = 588": an irrational value rounded to an integer
            tol = Rational(1, 10 ** min(places)) if places else None
            ok = _numeric_close(a, b, tol)
            if ok is False and rel == "=" and _running_total(right, a):
                continue
            if ok is False and modular and a.is_Integer and b.is_Integer:
                continue
        if ok is None or (ok is False and rel != "≡" and _math_checks(left, rel, right)):
            continue  # too close to call, or a computation the arithmetic checker reads (and judges) itself
        shown = pair if modulus is None else f"{pair} (mod {modulus})"
        details: dict = {"link": raw, "left": left, "right": right}
        if modulus is not None:
            details["modulus"] = modulus
        if ok:
            out.append(EquationCheck("numeric", True, shown, details))
            continue
        computed = left
        if modulus is not None:
            correct, claimed = f"{ra} (mod {modulus})", f"{rb} (mod {modulus})"
        elif _NUMBER_LITERAL.match(left) and not _NUMBER_LITERAL.match(right):
            # "1584 = 2^3 \cdot 3^2 \cdot 11": the stated number is given, the right side is the computation
            computed, correct, claimed = right, _show(b), _show(a)
        else:
            correct, claimed = _show(a), _show(b)
        details.update(correct=correct, claimed=claimed)
        out.append(EquationCheck("numeric", False, f"“{shown}” is false (in “{raw}”): {computed} is {correct}, "
                                 f"not {claimed}", details))
        break
    return out


# Words that make an equality of integers possibly one of residues (see _numeric_link).
MODULAR_CONTEXT = KeywordGate(guarded(
    r"\bmod(?:ulo|ular|ulus)?\b|\\[pb]?mod(?![A-Za-z])|\bremainders?\b|\bresidues?\b|\bcongruen\w*|"
    r"\b(?:last|units?|ones|final|rightmost|trailing)\s+(?:\w+\s+)?(?:digits?|zeros?|zeroes)\b",
    re.IGNORECASE,
), ("mod", "remainder", "residue", "congruen", "digit", "zero"))
"""Searched on every step: behind a keyword pre-test (every match, lowercased, holds one of the keys)."""


def numeric_checks(step: str, modular: bool = False) -> list[EquationCheck]:
    """Every constant claim in the step's LaTeX math that could be decided (see the section comment). Never raises
    on any text; steps that test a guess or correct themselves are skipped, and so are formulas asked as questions.
    ``modular``: the problem or an earlier step works with residues (:data:`MODULAR_CONTEXT`); the step's own text
    is looked at too.

    Remembered by ``(step, modular)`` for steps up to :data:`MAX_MEMO_STEP` characters (PRMBench repeats half of its
    steps, thousands of steps apart: its original and edited solutions); the result is a pure function of them. Each
    call returns a new list (the checks themselves are shared: treat them as read-only)."""
    if len(step) <= MAX_MEMO_STEP:
        return list(_numeric_checks(step, modular))  # a copy: a caller's edits never reach the memo
    return _numeric_checks.__wrapped__(step, modular)


MAX_MEMO_STEP = 1000  # with 8192 entries: at most 8 M characters of keys, ~1 M on the benchmark sets


@functools.lru_cache(maxsize=8192)
def _numeric_checks(step: str, modular: bool) -> list[EquationCheck]:
    if len(step) > MAX_STEP_CHARS or not _has_marker(step):
        return []
    bodies = []
    for _start, end, body in math_spans(step):
        if not _has_marker(body) or _QUESTION.match(step, end):
            continue  # "Is $\sqrt{50} = 5\sqrt{2}$?" asks, it does not claim
        if _may_relate(body):
            bodies.append(body)
    # the word tests after the bodies (pure, as the rest: their order does not change the answer), so that most
    # steps, with no body to read, skip them
    if not bodies or _NUMERIC_SKIP_GATE.search(step):
        return []
    modular = modular or bool(MODULAR_CONTEXT.search(step))
    out: list[EquationCheck] = []
    for body in bodies:
        out.extend(_body_checks(body, modular) if len(body) <= MAX_MEMO_BODY else _body_checks.__wrapped__(body, modular))
    return out


# Texts that can hold a relation once read: the rewrites on the way (the split's "{,}" removal and unwrapping
# ``\boxed``, which can join the letters around what they remove) are the only ones that remove text between two
# others, so a body without these substrings has no link with a relation and no claim (_numeric_sides refuses it).
_RELATION_KEYS = ("=", "≈", "≡", "\\approx", "\\equiv")
_JOINING = ("{,}", "boxed")
MAX_MEMO_BODY = 1000  # longer bodies are read without the memo (its keys stay small: 8192 of at most this)


def _may_relate(text: str) -> bool:
    return any(map(text.__contains__, _RELATION_KEYS)) or any(map(text.__contains__, _JOINING))


@functools.lru_cache(maxsize=8192)
def _body_checks(body: str, modular: bool) -> tuple[EquationCheck, ...]:
    """The checks of one math body: a pure function of the body and ``modular`` (solutions of one problem, and the
    original and edited solutions of PRMBench, repeat their formulas)."""
    out: list[EquationCheck] = []
    prev: _Link | None = None
    prev_conn = ""
    for part in _split_math(body):
        if isinstance(part, _Conn):
            prev_conn = part.kind
            continue
        raw = part.raw
        # an aligned derivation continues a row: "\sqrt{72} \\ &= 6\sqrt{2}"
        if prev is not None and prev_conn == "ROW" and _ROW_RELATION.match(raw):
            last = _RELATION.split(prev.raw)[-1]
            raw = last + " " + raw
        if not _has_marker(raw):
            prev, prev_conn = part, ""
            continue
        try:
            out.extend(_numeric_link(raw, modular))
        except Exception:  # noqa: BLE001 - unreadable means unchecked
            pass
        prev, prev_conn = part, ""
    return tuple(out)
