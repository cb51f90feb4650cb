"""Arithmetic step checks: find the computations a step asserts and evaluate them exactly.

What is checked. A step *asserts* a computation when it writes ``expression = value`` (also ``≈``, ``\\approx``,
``equals``, GSM8K calculator tags ``<<3*4=12>>``, and "20% of 50 is 10"). Chains such as ``3 * $4 = $12 + 5 = $17``
are read link by link: a link holds when both sides have the same value, or when the right side *starts* with the
left side's value (the "running total" style). Expressions may use ``+ - * / ^``, ``×``, ``·``, ``÷``, ``x``/``times``
between numbers, parentheses, ``%``, LaTeX ``\\frac``/``\\dfrac``/``\\sqrt``/``\\cdot``/``\\times``/``\\div``/``\\left(``,
thousands separators, currency signs and unit words (``3 hours * $35/hour = $105``).

How. Every number is a :class:`fractions.Fraction`; evaluation is exact and bounded (expression length, digit runs,
exponent size), so no timeout thread is needed and a hostile step cannot stall the checker.

What is *not* checked (precision first: a false alarm costs more than a missed error). A link is skipped, never
guessed, when a side contains a variable, a function name, an unknown LaTeX command, a number word (``dozen``,
``squared``), an operator at its edge (``x + 3 * 2 = 6`` is only part of an equation), percentages added to plain
numbers (``50 + 20%``), or when both sides are bare quantities (``1 dozen = 12``, unit conversions). Stated values
that are the true value rounded, truncated or bounded to the shown precision are accepted; so are approximations
(``≈``, "about", "round", "approximately" anywhere in the step: within 2% or equal at some significant-figure
rounding), and propagated rounding from operands with three or more decimals.

Layout. This module finds and checks the asserted computations (side trimming, linking of ``a op b = c``
chains, divisions with remainder, the verifier). Text normalisation, the tokenizer and word classification live in
:mod:`critica.verifiers.mathtext`; expression evaluation, bounds, value matching and formatting in
:mod:`critica.verifiers.mathexpr`. Their helpers are re-exported here for code that imports them from this module.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from fractions import Fraction
from operator import attrgetter

from critica.budget import checkpoint
from critica.types import Item
from critica.verifiers.base import Finding, step_finding
from critica.verifiers.fastre import guarded
from critica.verifiers.keygate import search_from_keys

# Every helper of the two modules is imported, also those this module does not use: they lived here before the
# split and other code may import them from critica.verifiers.math (hence noqa: F401).
from critica.verifiers.mathexpr import (  # noqa: F401
    MAX_EXPONENT,
    MAX_EXPR_TOKENS,
    MAX_MAGNITUDE,
    Unevaluable,
    _bound,
    _exact_sqrt,
    _fmt,
    _matches,
    _Parser,
    _pretty,
    _range,
    _sig_round_eq,
    _stated,
    _Val,
    _value,
)
from critica.verifiers.mathtext import (  # noqa: F401
    _ARGUMENT_WORDS,
    _ATTACHED_UNITS,
    _CHARS,
    _FUNCTION_WORDS,
    _MODIFIERS,
    _SCALERS,
    _SHORT_UNITS,
    _SIMPLE,
    _STOPWORDS,
    _TOKEN,
    MAX_DIGITS,
    MAX_STEP_CHARS,
    _classify_words,
    _is_unit_word,
    _normalise,
    _pct_of_before,
    _replace_all,
    _replace_braced,
    _Tok,
    _tokenize,
    _tokenize_near_relations,
    _unit_run,
)

__all__ = ["ArithmeticVerifier", "Computation", "find_computations", "check_step"]


# Convertible units: a link mixing two of these is a conversion, not an arithmetic claim.
_UNIT_FAMILIES = [
    {"second", "minute", "hour", "day", "week", "month", "year", "sec", "min", "hr", "yr", "decade", "century"},
    {"cm", "mm", "km", "meter", "metre", "inch", "foot", "feet", "yard", "mile", "mi", "ft"},
    {"gram", "kilogram", "kg", "mg", "pound", "lb", "ounce", "oz", "ton"},
    {"ml", "liter", "litre", "gallon", "gal", "quart", "qt", "pint", "pt", "cup"},
    {"dollar", "cent", "penny", "pennie", "nickel", "dime", "quarter"},
]
# A step that tests a hypothesis writes false equations on purpose ("2 + 1 = 1 (False)", "try x = 2: 4 = 5").
# Words that only admit an error ("incorrect", "mistake", "wrong") do not make a computation hypothetical: a step
# asserting "4 * 4 = 14, which is incorrect" still asserts a false computation.
_HYPOTHETICAL = guarded(
    r"\b(?:false|not true|not equal|contradict\w*|impossible|"
    r"not satisf\w*|recheck\w*|re-check\w*|re-?evaluat\w*|verify if|check if|check whether|see if|suppose|"
    r"hypothe\w*|test(?:ing)? (?:if|whether|x|n|the value)|guess\w*|trial|try|trying|tried|"
    r"(?:does not|doesn't|do not|don't|did not|didn't|is not|isn't) (?:equal|equate|hold|work|satisfy|match|give))\b"
    r"|\\neq\b|≠|\\ne\b",
    re.IGNORECASE,
)
_APPROX_WORDS = guarded(
    r"\b(?:approx\w*|about|around|roughly|nearly|almost|estimat\w*|round\w*|nearest|close to)\b|≈|~|\\approx|\\sim",
    re.IGNORECASE,
)
# Lowercase ASCII strings such that every match of the pattern, lowercased, contains one of them (≈ and ≠ are not
# ASCII: such text is always searched). find_computations tests them on the step's lowercase form before searching
# (see critica.verifiers.keygate): most steps hold none, and a few substring tests cost far less than the search.
_HYPOTHETICAL_KEYS = (
    "false", "not true", "not equal", "contradict", "impossible", "not satisf", "recheck", "re-check", "evaluat",
    "verify if", "check if", "check whether", "see if", "suppose", "hypothe", "test", "guess", "trial", "try", "tried",
    "does not", "doesn't", "do not", "don't", "did not", "didn't", "is not", "isn't", "\\ne",
)
_APPROX_KEYS = ("approx", "about", "round", "roughly", "near", "almost", "estimat", "close to", "~", "\\sim")
_HYPOTHETICAL_LEAD = 3  # every match holds a key at most this far after its start ("re-" before "evaluat")
_APPROX_LEAD = 1  # "a" before "round" ("around"), "\\" before "approx"


@dataclass
class Computation:
    """One asserted computation (a link ``left = right`` of a chain), with its verdict."""

    expression: str
    """The link as written, e.g. ``3 * 4 = 12``."""
    left: Fraction
    right: Fraction
    ok: bool
    approximate: bool
    message: str

    @property
    def correct_value(self) -> Fraction:
        return self.left


# After a stated result these words describe it; scaling words ("= 2 dozen", "= 5 squared") are not among them.
_RIGHT_SAFE = {
    "of", "over", "than", "by", "per", "times", "more", "less", "fewer", "pair", "pairs", "couple", "degrees",
    "degree", "remainder",
}
_LABEL_WORDS = {
    "day", "week", "month", "year", "step", "case", "part", "page", "chapter", "round", "level", "grade", "term",
    "number", "no", "item", "row", "column", "game", "problem", "question", "section", "line", "room", "floor",
    "phase", "stage", "option", "group", "team", "class", "test", "exam", "episode", "season", "figure", "table",
    "lap", "hole", "inning", "quarter", "period", "unit", "lesson", "volume", "verse", "route", "highway", "version",
}


# --- finding the asserted computations -------------------------------------------------------------------------

_MATHY = {"NUM", "OP", "LP", "RP", "PCT", "UNIT", "SQRT", "FACT", "CUR"}
# Tokens that may border an expression without being part of it (prose, punctuation, line breaks).
_SAFE_BORDER = {"WORD", "NL", "EQ", "APPROX"}
_SAFE_STOP_CHARS = set(",;:?\"'“”‘’—")


def _border_ok(tok: _Tok | None, neighbour: _Tok, left: bool) -> bool:
    if tok is None or tok.kind in ("NL", "EQ", "APPROX"):
        return True
    adjacent = (tok.end == neighbour.start) if left else (neighbour.end == tok.start)
    if tok.kind == "WORD":
        # "on day 1 * 2 = 20", "Step 3 - 1 = 2": a number after a label word is an index, not a value
        return not adjacent and not (left and tok.text.lower() in _LABEL_WORDS)
    if tok.kind == "STOP":
        if tok.text == "." and (not left or not adjacent):
            return True  # a sentence ends after a value / before the next one
        if tok.text in _SAFE_STOP_CHARS:
            return not (tok.text == ":" and adjacent)  # "6:00 + 18": a clock time, not a label
        return False
    if tok.kind == "VAR" and not left and not adjacent and tok.text.lower() in _RIGHT_SAFE:
        return True  # "= 8 pairs of shoes", "= 17 more chairs": words after a result that do not change it
    return False  # VAR, CMD, anything else: the expression is part of something larger


def _trim(run: list[_Tok], left_of_eq: bool) -> list[_Tok] | None:
    """Strip bullets and unmatched outer parentheses; None when the run cannot be a whole expression.

    An unmatched "(" may open before a left side ("(3 * 4 = 12)") and an unmatched ")" close after a right side;
    the other way round the expression sits inside a tuple or call ("(0 + 15)/2, 4) = (7.5, 4)") and is skipped.
    """
    # Worked on the run's kinds (read at C speed) and the bounds lo:hi of what is kept; each test that needs a
    # kind to be present is skipped when it is absent (the plain loops, kept in tests/test_verifier_lexer_paths.py,
    # give the same answer).
    kinds = list(map(_KIND, run))
    lo, hi = 0, len(kinds)
    while hi and kinds[hi - 1] in ("UNIT", "CUR"):
        hi -= 1
    while hi - lo > 1 and kinds[lo] == "CUR":
        lo += 1
    if lo or hi < len(kinds):
        kinds = kinds[lo:hi]
    closed = kinds.count("RP")
    depth = kinds.count("LP") - closed
    while depth > 0 and left_of_eq and lo < hi and kinds[0] == "LP":
        lo, depth, kinds = lo + 1, depth - 1, kinds[1:]
    while depth < 0 and not left_of_eq and lo < hi and kinds[-1] == "RP":
        hi, depth, kinds = hi - 1, depth + 1, kinds[:-1]
        closed -= 1
    if depth != 0 or lo >= hi:
        return None
    if closed:  # without a ")" the level never drops below 0
        level = 0
        for k in kinds:
            if k == "LP":
                level += 1
            elif k == "RP":
                level -= 1
                if level < 0:
                    return None
    if kinds[0] == "OP" and run[lo].text != "-":
        return None
    if "UNIT" in kinds:
        for n in range(lo, hi - 2):
            a, b, c = run[n], run[n + 1], run[n + 2]
            if a.kind == "UNIT" and b.kind == "OP" and b.text == "/" and not b.spaced and not c.spaced:
                return None  # "8 inches/4 years": a rate per 4 years, not a division of 8 inches by 4
    if kinds[-1] == "OP" or "NUM" not in kinds:
        return None
    return run[lo:hi]


def _side(toks: list[_Tok], lo: int, hi: int, *, left_of_eq: bool) -> tuple[list[_Tok] | None, set[str]]:
    """The expression next to an ``=`` within toks[lo:hi]: (run or None, unit words around it)."""
    if left_of_eq:
        j = hi
        while j > lo and toks[j - 1].kind in _MATHY:
            j -= 1
        run = toks[j:hi]
        if not run:
            return None, set()
        if j > lo and not _border_ok(toks[j - 1], run[0], left=True):
            return None, set()
        at_line_start = j == 0 or toks[j - 1].kind in ("NL", "EQ", "APPROX")
        if run[0].kind == "OP":
            minus = run[0].text == "-" and len(run) > 1
            if minus and not run[1].spaced:
                pass  # a sign: "= -15 + 20 * 7.5", "(-3 + 11 ..."
            elif minus and (j == 0 or toks[j - 1].kind == "NL"):
                run = run[1:]  # a bullet or dash at the start of a line, not a minus sign
            else:
                return None, set()  # "x + 3 * 2 =", "books - 135 - 50 =": only part of a longer expression
        if not at_line_start and _continues_left(toks, j, lo):
            return None, set()  # "25 classmates + his 1 teacher + 1 himself =": the sum began before the prose
        # "3 notebooks cost 3 * $4 =": when the whole run is not one expression, a unit word that ends a phrase
        # may be prose; the expression then starts right after it.
        # (the whole run first; the other starts are looked for only when it fails)
        cand = _trim(run, True)
        if cand is not None and _parses(cand):
            return cand, _units(run)
        for p in range(1, len(run)):
            if run[p - 1].kind == "UNIT" and run[p].kind in ("NUM", "LP", "SQRT"):
                cand = _trim(run[p:], True)
                if cand is not None and _parses(cand):
                    return cand, _units(run[p:])
        return None, set()
    j = lo
    while j < hi and toks[j].kind in _MATHY:
        j += 1
    run = toks[lo:j]
    if not run:
        return None, set()
    if j < hi and not _border_ok(toks[j], run[-1], left=False):
        return None, set()
    cand = _trim(run, False)
    return (cand if cand is not None and _parses(cand) else None), _units(run)


def _continues_left(toks: list[_Tok], j: int, lo: int) -> bool:
    """Whether the expression starting at j really began earlier: an operator beyond the (up to 3) prose words to
    its left ("+ his 1 teacher + 1"), a mixed number in words ("1 and 1/4"), or a sentence-less "." / "," glued
    to a number ("14, 400 / 80", ". 84 + .82")."""
    k, words = j - 1, 0
    while k >= lo and toks[k].kind == "WORD" and words < 3:
        k, words = k - 1, words + 1
    if words == 0:
        border = toks[j - 1] if j - 1 >= lo else None
        if border is not None and border.text in (".", ","):
            before = toks[j - 2] if j - 2 >= lo else None
            if (border.text == "," and before is not None and before.kind == "NUM" and before.end == border.start
                    and before.decimals == 0 and len(before.text) <= 3 and toks[j].kind == "NUM"
                    and re.fullmatch(r"\d{3}(?:\.\d+)?", toks[j].text)):
                return True  # "14, 400 / 80": a thousands separator followed by a stray space
            if border.text == "." and not (before is not None and before.end == border.start
                                           and before.kind in ("WORD", "UNIT", "NUM", "RP", "VAR", "CUR")):
                return True
        return False
    if k < lo:
        return False
    if toks[k].kind in ("OP", "PCT"):
        return True
    mixed = toks[k].kind == "NUM" and toks[j - 1].text.lower() == "and" and len(toks) > j + 2 \
        and toks[j].kind == "NUM" and toks[j + 1].text == "/"
    # "1 hour and 20 minutes + 50 minutes": a compound quantity in two units of one family began before "and"
    compound = (words == 1 and toks[j - 1].text.lower() == "and" and toks[k].kind == "UNIT" and len(toks) > j + 1
                and toks[j + 1].kind == "UNIT" and _mixes_units(_units([toks[k], toks[j + 1]])))
    return mixed or compound


def _parses(run: list[_Tok]) -> bool:
    # each refusal below needs kinds the run may lack (a unit, two operators, three tokens, two divisions): it is
    # looked for only when they are there (the plain loops are kept in tests/test_verifier_lexer_paths.py)
    kinds = list(map(_KIND, run))
    ops = kinds.count("OP")
    units = kinds.count("UNIT")
    if units or ops > 1:
        for a, b in zip(run, run[1:], strict=False):
            if a.kind == "UNIT" and b.kind in ("NUM", "LP", "SQRT"):
                return False  # "5 cents (.05) x 100": a unit is not a factor
            if a.kind == "OP" and b.kind == "OP" and b.text != "-":
                return False  # "1 meat *+1 vegetable"
    if len(kinds) - units - kinds.count("CUR") == 3:
        core = [t for t in run if t.kind not in ("UNIT", "CUR")]
        if (core[0].kind == "NUM" and core[1].text == "-" and core[2].kind == "NUM"
                and core[0].end == core[1].start and core[1].end == core[2].start
                and core[0].decimals == core[2].decimals == 0 and core[0].value < core[2].value):
            return False  # "Weeks 1-2", "5-10 minutes": a range, not a subtraction
    if ops > 1 and sum(t.kind == "OP" and t.text == "/" for t in run) > 1:
        depth, divs_here = 0, [0]
        for t in run:
            # "14 / 1 / 4", "6 km/ 1/30 hour": people do not mean (a / b) / c; which division binds first is a
            # guess
            if t.kind == "LP":
                depth += 1
                divs_here.append(0)
            elif t.kind == "RP" and depth > 0:
                depth -= 1
                divs_here.pop()
            elif t.kind == "OP" and t.text in "+-":
                divs_here[-1] = 0
            elif t.kind == "OP" and t.text == "/":
                divs_here[-1] += 1
                if divs_here[-1] > 1:
                    return False
    try:
        _value(run)
        return True
    except (Unevaluable, ZeroDivisionError, OverflowError):
        return False


def _units(run: list[_Tok]) -> set[str]:
    out: set[str] = set()
    for t in run:  # one loop (a generator for the "$" cost more than the loop)
        if t.kind == "UNIT":
            w = t.text.lower()
            w = w[:-1] if w.endswith("s") and len(w) > 3 else w
            out.add(w)
        elif t.kind == "CUR" and t.text == "$":
            out.add("dollar")
    return out


def _mixes_units(units: set[str]) -> bool:
    return any(len(units & fam) >= 2 for fam in _UNIT_FAMILIES)


def _has_op(run: list[_Tok]) -> bool:
    """Whether the run computes something (an operator, a root, a percentage of, a factorial, an implicit product)
    rather than stating a bare quantity."""
    core = [t for t in run if t.kind not in ("UNIT", "CUR")]
    if len(core) == 2 and core[0].kind == "NUM" and core[1].kind == "PCT":
        return False  # "84% = 28%": a stated percentage is a bare quantity, like a stated number
    if any(t.kind in ("OP", "SQRT", "PCT", "FACT") for t in run[1:]) or run[0].kind in ("OP", "SQRT"):
        return True
    # "3(4)", "(2)(5)": an implicit product; a glued "3(4)" only, since "equation 3 (2)" may be a reference
    return any(b.kind == "LP" and (a.kind == "RP" or (a.kind == "NUM" and a.end == b.start))
               for a, b in zip(core, core[1:], strict=False))


_COMPARATIVES = re.compile(
    r"(?:less|fewer|more|cheaper|lower|shorter|younger|older|smaller|bigger|larger|greater|higher|longer|colder|warmer|"
    r"hotter|behind|below|above|under|over|short|loss|deficit|difference|apart|away|earlier|later|slower|faster|change)$",
    re.IGNORECASE,
)


def _check_link(text: str, a: list[_Tok], b: list[_Tok], approx: bool, units: set[str], signless: bool = False,
                joined: bool = False) -> Computation | None:
    """Check ``a = b``; None when the link is not a checkable arithmetic claim. ``joined``: a and b sit apart in the
    text (two lines), the expression shown is then the two sides joined by "="."""
    if not _has_op(a) and not _has_op(b):
        return None  # bare quantities: "1 dozen = 12", "2 hours = 120 minutes"
    if _mixes_units(units):
        return None
    if joined:
        expr = _pretty(text[a[0].start : a[-1].end] + " = " + text[b[0].start : b[-1].end])
    else:
        expr = _pretty(text[a[0].start : b[-1].end])
    try:
        va = _value(a)
    except (Unevaluable, ZeroDivisionError, OverflowError):
        return None
    quotient = [t for t in b if t.kind not in ("UNIT", "CUR")]
    if len(quotient) == 1 and quotient[0].remainder is not None:
        return _check_division(expr, a, quotient[0].value, quotient[0].remainder)
    stated_b = _stated(b)
    try:
        if stated_b is None:
            # both sides compound: equal values, or the running-total style "3 * 4 = 12 + 5"
            vb = _value(b)
            if va == vb:
                return Computation(expr, va, vb, True, approx, f"{expr} holds")
            if any(t.kind == "PCT" for t in a + b) and (va == vb * 100 or vb == va * 100):
                return None  # "(45/300 * 100)% = 15% of 300": percent read two ways in one line
            sign = 1 if b[0].kind == "OP" and b[0].text == "-" and len(b) > 1 and b[1].kind == "NUM" else 0
            head = b[: sign + 2] if len(b) > sign + 1 and b[sign + 1].kind == "PCT" else b[: sign + 1]
            # "= 12 + 5 …", "= 15% of 300", "37 - 52 = -15 + 37": the running total leads the right side
            lead = _stated(head) if b[sign].kind == "NUM" else None
            if lead is not None and _matches(*_range(a), lead[0], lead[1], approx):
                return Computation(expr, va, lead[0], True, approx, f"{expr} holds (running total)")
            if not _has_op(a):
                # "1 = 1/3 + 1/5 + 1/7" after substituting trial values is a goal, not a claim; "Day 17 = 12 + 5"
                # a label: a bare number on the left is never flagged
                return None
            lo, hi = _range(a, 1, Fraction(1))
            blo, bhi = _range(b, 1, Fraction(1))
            if hi < blo or bhi < lo:
                if approx and not (abs(va - vb) > abs(va) * Fraction(2, 100)):
                    return None
                return Computation(expr, va, vb, False, approx,
                                   f"'{expr}': the left side is {_fmt(va)}, the right side is {_fmt(vb)}")
            return None
        c, decimals, is_pct = stated_b
        lo, hi = _range(a)
        if _matches(lo, hi, c, decimals, approx):
            return Computation(expr, va, c, True, approx, f"{expr} holds")
        if signless and _matches(-hi, -lo, c, decimals, approx):
            # "$1800 - $2000 = $200 less": the sign is said in words
            return Computation(expr, va, c, True, approx, f"{expr} holds (sign stated in words)")
        if is_pct and _matches(lo, hi, c * 100, max(0, decimals - 2), approx):
            return Computation(expr, va, c * 100, True, approx, f"{expr} holds (as a percentage)")
        if any(t.kind == "PCT" for t in a) and _matches(lo * 100, hi * 100, c, decimals, approx):
            return Computation(expr, va, c, True, approx, f"{expr} holds (as a percentage)")  # "x / y * 100% = 25"
        if not _has_op(a):
            return None
        return Computation(expr, va, c, False, approx, f"'{expr}' is wrong: {_pretty(text[a[0].start:a[-1].end])} = {_fmt(va)}")
    except (Unevaluable, ZeroDivisionError, OverflowError):
        return None


def _is_int(t: _Tok | None) -> bool:
    return t is not None and t.kind == "NUM" and t.value is not None and t.value.denominator == 1


def _attach_remainders(toks: list[_Tok]) -> list[_Tok]:
    """Fold "q remainder r", "q R r", "q with a remainder of r" into the quotient token q (its ``remainder``), so
    that "54 / 8 = 6 remainder 4" is checked as a division with remainder rather than as 54 / 8 rounded to 6."""
    out: list[_Tok] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        out.append(t)
        i += 1
        if not _is_int(t):
            continue
        j = i
        while j < len(toks) and (toks[j].kind == "NL" or toks[j].text in (",", "with", "and", "a")) and j - i < 4:
            j += 1
        if j >= len(toks) or not (toks[j].text.lower() == "remainder" or toks[j].text == "R"):
            continue
        j += 1
        while j < len(toks) and (toks[j].kind in ("NL", "EQ") or toks[j].text in ("of", "is", ":")) and j - i < 8:
            j += 1
        if not _is_int(toks[j] if j < len(toks) else None):
            continue
        t.remainder = toks[j].value
        # the remainder clause ends the expression like a line break: "= 4 remainder 133, then 133 / 81 = 1"
        out.append(_Tok("NL", "", toks[i].start, toks[j].end))
        i = j + 1
    return out


def _check_division(expr: str, a: list[_Tok], q: Fraction, r: Fraction) -> Computation | None:
    """``A / B = q remainder r``: holds when A = q·B + r with 0 ≤ r < B (A, B positive integers)."""
    level, top = 0, []
    for n, t in enumerate(a):
        level += (t.kind == "LP") - (t.kind == "RP")
        if level == 0 and t.kind == "OP" and n > 0:
            top.append((n, t.text))
    # one division, the last operation: "54 / 8", "2 * 27 / 4"; not "a / b * c", "a / b + c" or "a + b / c"
    if not top or top[-1][1] != "/" or any(op in "+-/" for _, op in top[:-1]):
        return None
    cut = top[-1][0]
    try:
        dividend, divisor = _value(a[:cut]), _value(a[cut + 1 :])
    except (Unevaluable, ZeroDivisionError, OverflowError):
        return None
    if dividend.denominator != 1 or divisor.denominator != 1 or dividend < 0 or divisor <= 0:
        return None
    true_q, true_r = divmod(int(dividend), int(divisor))
    stated = f"{expr} remainder {_fmt(r)}"
    if q == true_q and r == true_r:
        return Computation(stated, Fraction(true_q), q, True, False, f"{stated} holds")
    return Computation(stated, Fraction(true_q), q, False, False,
                       f"'{stated}' is wrong: {_fmt(dividend)} / {_fmt(divisor)} = {true_q} remainder {true_r}")


_NUMBER_WORDS = {
    w: n for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split())
}
_INT = r"(\d{1,3}(?:,\d{3})+|\d+|" + "|".join(_NUMBER_WORDS) + r")"
_M = r"\$?"  # an inline-math "$49$" around a number
_PROSE_DIVISIONS = [
    # "divide 49 by 6 and get 8 with a remainder of 1", "Dividing 27 by six gives 4 with a remainder of 3"
    (re.compile(rf"\bdivid(?:e|es|ed|ing)\s+{_M}{_INT}{_M}\s+by\s+{_M}{_INT}{_M}[\s,]*(?:(?:and\s+)?(?:we\s+|I\s+)?"
                rf"(?:get|gets|gives?|yields?|results?\s+in|is|=)\s+)(?:a\s+quotient\s+of\s+)?{_M}{_INT}{_M}[\s,]*"
                rf"(?:with|and)\s+(?:a\s+)?remainder\s+(?:of\s+|is\s+)?{_M}{_INT}{_M}", re.IGNORECASE), (1, 2, 3, 4)),
    # "49 divided by 6 is 8 with a remainder of 1"
    (re.compile(rf"{_M}{_INT}{_M}\s+divided\s+by\s+{_M}{_INT}{_M}\s+(?:is|equals|=|gives)\s+{_M}{_INT}{_M}[\s,]*"
                rf"(?:with|and)\s+(?:a\s+)?remainder\s+(?:of\s+|is\s+)?{_M}{_INT}{_M}", re.IGNORECASE), (1, 2, 3, 4)),
    # "160 goes into 1000 six times, with a remainder of 40"
    (re.compile(rf"{_M}{_INT}{_M}\s+goes\s+into\s+{_M}{_INT}{_M}\s+{_INT}\s+times[\s,]*(?:with|and)\s+(?:a\s+)?"
                rf"remainder\s+(?:of\s+|is\s+)?{_M}{_INT}{_M}", re.IGNORECASE), (2, 1, 3, 4)),
]


def _int_word(s: str) -> int:
    s = s.lower().replace(",", "")
    return _NUMBER_WORDS[s] if s in _NUMBER_WORDS else int(s)


def _prose_divisions(text: str) -> list[Computation]:
    """Divisions with remainder told in words; each is checked exactly (quotient and remainder)."""
    out: list[Computation] = []
    if "remainder" not in text.lower():
        return out
    for pat, (ia, ib, iq, ir) in _PROSE_DIVISIONS:
        for m in pat.finditer(text):
            a, b, q, r = (_int_word(m.group(i)) for i in (ia, ib, iq, ir))
            if b == 0:
                continue
            true_q, true_r = divmod(a, b)
            expr = f"{a} / {b} = {q} remainder {r}"
            if (q, r) == (true_q, true_r):
                out.append(Computation(expr, Fraction(true_q), Fraction(q), True, False, f"{expr} holds"))
            else:
                out.append(Computation(expr, Fraction(true_q), Fraction(q), False, False,
                                       f"'{m.group(0)}' is wrong: {a} / {b} = {true_q} remainder {true_r}"))
    return out


def find_computations(text: str) -> list[Computation]:
    """Every checkable computation asserted in ``text`` (one step), in order, each with its verdict.

    The outcome is remembered by the step's text (a pure function of it): data sets such as PRMBench repeat most
    steps across their items (the same solution with another step altered). A remembered list is returned as a new
    list of the same :class:`Computation` objects, which no caller changes. A step that raises is not remembered."""
    hit = _FOUND.get(text)
    if hit is not None:
        return list(hit)
    out = _find_computations(text)
    if len(text) <= FOUND_TEXT_CHARS:
        global _found_chars
        if len(_FOUND) >= FOUND_SIZE or _found_chars > FOUND_CHARS:
            _FOUND.clear()
            _found_chars = 0
        _FOUND[text] = tuple(out)
        _found_chars += len(text)
    return out


_FOUND: dict[str, tuple[Computation, ...]] = {}
FOUND_SIZE = 16_384
"""Steps whose computations :func:`find_computations` keeps; the table is emptied when full (a repeated step of
PRMBench comes back a few thousand steps later)."""
FOUND_TEXT_CHARS = 4_000
FOUND_CHARS = 8_000_000
"""Longest step kept, and the most characters of steps kept in all (the table is emptied past it): a bound on the
memory whatever the input."""
_found_chars = 0


def _gate(keys: tuple[str, ...], low: str | None) -> bool:
    """False when ``low`` (a step lowercased, None when it is not ASCII) holds none of ``keys``: the word search
    behind them cannot match (see _HYPOTHETICAL_KEYS), True when it must be made."""
    if low is None:
        return True
    for k in keys:  # a loop, not any() over a generator: this runs on most steps
        if k in low:
            return True
    return False


def _gated_search(pattern: re.Pattern[str], keys: tuple[str, ...], lead: int, text: str,
                  low: str | None) -> re.Match[str] | None:
    """``pattern.search(text)``, made only where ``low`` (see :func:`_gate`) holds a key, and then from near the first
    key (``lead``: how far before its key a match may start; see critica.verifiers.keygate): most steps that hold a
    key hold it far into the text."""
    if low is None:
        return pattern.search(text)
    return search_from_keys(pattern, keys, lead, text, low)


def _find_computations(text: str) -> list[Computation]:
    out: list[Computation] = []
    if "<<" in text:
        for m in _CALC_TAG.finditer(text[:MAX_STEP_CHARS]):
            # a calculator tag is pure arithmetic: "50-110" there is a subtraction, never a range
            tag = _normalise(_DIGIT_DASH.sub(" - ", m.group(1)))
            # "$3500-$4000 = $<<3500-4000=500>>500 in change": the words after the tag's result give its sign
            after = _AFTER_TAG.match(text[m.end() : m.end() + 80])
            signless = after is not None and any(_COMPARATIVES.match(w) for w in after.group(1).split())
            out.extend(_scan(tag, approx=False, signless=signless))
    # A hypothetical step keeps only its calculator tags. The word search costs more than normalising, and a step
    # whose normalised text holds no relation (see _may_relate) and no "remainder" yields nothing more either way,
    # so it is made only when something could follow. _normalise can raise (RecursionError on deep nesting) where
    # a hypothetical step never reached it: then the order of old is kept.
    try:
        norm = _normalise(text)
    except Exception:  # not BaseException: an interrupt or a cancelled item must get through
        if _HYPOTHETICAL.search(text):
            return out
        raise
    relate = _may_relate(norm)
    head = text[:MAX_STEP_CHARS]
    if not relate and "remainder" not in head.lower():
        return out  # _scan and _prose_divisions would both return nothing
    low = text.lower() if text.isascii() else None
    if _gated_search(_HYPOTHETICAL, _HYPOTHETICAL_KEYS, _HYPOTHETICAL_LEAD, text, low):
        return out
    if relate:
        out.extend(_scan(norm, approx=bool(_gated_search(_APPROX_WORDS, _APPROX_KEYS, _APPROX_LEAD, text, low))))
    out.extend(_prose_divisions(head))
    return out


_CALC_TAG = re.compile(r"<<([^<>]{1,300})>>")
_DIGIT_DASH = re.compile(r"(?<=\d)-(?=\d)")
_AFTER_TAG = re.compile(r"\s*\$?[\d.,]*\s*((?:[A-Za-z]+\s*){0,3})")


class _Positions:
    """``toks.index(t)`` in constant time: the first position of a token equal to ``t`` (the dataclass equality
    ``list.index`` uses), so a step with thousands of ``=`` no longer rescans its tokens once per link. The table is
    built on the first lookup: most steps never ask (no ``=`` with an expression on both sides).

    A token of the list is found by its identity: no two tokens of a list start at the same place (the lexer's
    tokens have disjoint, non-empty spans; a remainder clause's line break takes the start of the clause it
    replaces, a stand-in line's the start of its line), so none equals one before it, and the position of ``t``
    itself is the first of a token equal to it. Any other token is looked up by equality."""

    def __init__(self, toks: list[_Tok]) -> None:
        self._toks = toks
        self._starts: list[int] | None = None
        self._at: dict[int, int] | None = None
        self._first: dict[tuple, int] | None = None

    def __call__(self, t: _Tok) -> int:
        # Tokens are in the order of their starts: a binary search by start finds ``t`` itself (checked by
        # identity, so the answer is right whatever the order), from a table of starts built at C speed. A token
        # not found so falls through to the tables by identity and by equality.
        starts = self._starts
        if starts is None:
            starts = self._starts = list(map(_START, self._toks))
        i = bisect_left(starts, t.start)
        if i < len(starts) and self._toks[i] is t:
            return i
        if self._at is None:
            self._at = {id(u): i for i, u in enumerate(self._toks)}
        at = self._at.get(id(t))
        if at is not None:
            return at
        if self._first is None:
            self._first = {}
            for i, u in enumerate(self._toks):
                self._first.setdefault(_tok_key(u), i)
        try:
            return self._first[_tok_key(t)]
        except KeyError:
            raise ValueError("token not in list") from None  # what list.index raised: check_step catches it


_START = attrgetter("start")
_KIND = attrgetter("kind")


def _relations(toks: list[_Tok]) -> list[int]:
    """The positions of the ``EQ`` and ``APPROX`` tokens, in order: the kinds read at C speed (map, list.index)
    rather than by a comprehension over every token."""
    kinds = list(map(_KIND, toks))
    out = _positions_of(kinds, "EQ")
    if "APPROX" in kinds:
        out = sorted(out + _positions_of(kinds, "APPROX"))
    return out


def _positions_of(kinds: list[str], kind: str) -> list[int]:
    out: list[int] = []
    if kind not in kinds:
        return out
    i = kinds.index(kind)
    try:
        while True:
            out.append(i)
            i = kinds.index(kind, i + 1)
    except ValueError:
        return out


def _tok_key(t: _Tok) -> tuple:
    """The fields dataclass equality compares, in order (spelled out: a getattr loop cost 10% of the verifier)."""
    return (t.kind, t.text, t.start, t.end, t.value, t.spaced, t.decimals, t.remainder)


def _may_relate(norm: str, low: str | None = None) -> bool:
    """False only when :func:`_tokenize` cannot make an ``EQ`` or ``APPROX`` token of ``norm``: those come from
    ``=``, ``≈``, the word "equals" (any case) and "is" after a percentage (a ``PCT`` token, from ``%``). Every
    computation :func:`_scan` returns hangs on one of them, so without any it returns nothing (about a third of
    the steps, which then skip the tokenizer). ``low``: ``norm`` lowercased, where the caller has it."""
    return "=" in norm or "≈" in norm or "%" in norm or "equals" in (norm.lower() if low is None else low)


_R_TOKEN = re.compile(r"R(?![A-Za-z])")

_RELATION_AT = re.compile(r"[=≈]|(?i:equals|is)")
"""Where every ``EQ`` or ``APPROX`` token starts (and more: "is" in "this")."""
_SIDE_AFTER = re.compile(r"[ \t\r]*+[\d.+\-*/^()%!$€£¥\\sS]")
"""Spaces and the first character of a token that may open a side: every kind of _MATHY starts with one of these
(a word only as "sqrt": after a relation no word is a unit, "x"/"times" an operator or "of" a percentage's)."""
_SIDE_END = frozenset("0123456789+-*/^()%!$€£¥")


def _may_link(norm: str, low: str) -> bool:
    """False only when no relation token of ``norm`` can have both sides, and at most one can have a right side.

    Every computation :func:`_scan` returns has a right side: the token after an ``EQ``/``APPROX`` token is of a
    kind in :data:`_MATHY`, and so is the token before it for a link within a line; a link across lines needs the
    right sides of two relations. This looks at the characters around each place a relation token may start
    (:data:`_RELATION_AT`, a superset): after it, spaces and a character that may open a side
    (:data:`_SIDE_AFTER`); before it, past spaces, the last character of the token before, which must be one a
    _MATHY token ends with: a digit (``\\d``: any decimal digit), one of :data:`_SIDE_END`, or a letter. A word
    ends in a letter and is _MATHY only as a unit, "sqrt" or an operator: a command (``\\`` and letters) only as
    ``\\sqrt``; a word (its letters not glued to a quote or a hyphen before them, which may make them part of a
    longer word) only as a unit or as "of" after a percentage, that is after a token ending in a digit, "%", "/" or a
    letter (a number, a percentage, "/", a unit or "per"), and a word of one letter only as the unit after "per".
    Tokens that _attach_remainders drops or replaces by a line break only take _MATHY neighbours away, and a "per"
    token dropped after classification brings the token before it next to what follows: a word after "per" counts
    as a possible side, and "per" itself ends in a letter, so a word before it does too.
    ``low``: ``norm`` lowercased. Tested against _scan in tests/test_verifier_lexer_paths.py."""
    if "%" in norm or "≈" in norm or "equals" in low:
        # "is" is a relation only after a percentage (a PCT token, from "%"), "equals" only as itself
        spans = [m.span() for m in _RELATION_AT.finditer(norm)]
    else:
        # only "=": found by str.find (a regex tries every position)
        spans = []
        i = norm.find("=")
        while i >= 0:
            spans.append((i, i + 1))
            i = norm.find("=", i + 1)
    rights = 0
    for i, end in spans:
        if _SIDE_AFTER.match(norm, end) is None:
            continue
        rights += 1
        if rights > 1:
            return True
        while i and norm[i - 1] in " \t\r":
            i -= 1
        if not i:
            continue
        c = norm[i - 1]
        if c in _SIDE_END or c.isdecimal():
            return True
        if not ("a" <= c <= "z" or "A" <= c <= "Z"):
            continue  # a line break, a dot, a comma ...: no _MATHY token ends with it
        j = i - 1
        while j and ("a" <= norm[j - 1] <= "z" or "A" <= norm[j - 1] <= "Z"):
            j -= 1
        before = norm[j - 1] if j else ""
        if before == "\\":
            if norm[j:i] == "sqrt":
                return True
            continue  # any other command: CMD
        if before in ("'", "-"):
            return True  # the letters may end a longer word ("it's", "T-shirts")
        k = j
        while k and norm[k - 1] in " \t\r":
            k -= 1
        if i - j > 1:
            # a word is a unit (or "of" an operator) only after a number, a percentage, a unit, "per" or a "/"
            c = norm[k - 1] if k else ""
            if c and (c in "%/" or c.isdecimal() or "a" <= c <= "z" or "A" <= c <= "Z"):
                return True
            continue
        if k >= 3 and norm[k - 3 : k].lower() == "per":
            return True  # "per h =": a unit
    return False


def _scan(norm: str, approx: bool, signless: bool = False) -> list[Computation]:
    """The computations of normalised text; ``signless``: the sign of every result is said in words."""
    low = norm.lower()
    if not _may_relate(norm, low) or not _may_link(norm, low):
        return []  # no EQ or APPROX token can come out of this text, or none has a side: nothing below finds anything
    # what _attach_remainders looks for (most steps have neither): a token "remainder" (any case) or "R", which is
    # never followed by a letter (a word token takes every letter that follows)
    if "remainder" in low or ("R" in norm and _R_TOKEN.search(norm)):
        toks = _attach_remainders(_tokenize(norm))  # a remainder clause may span lines: every line is read
    else:
        # lines far from any relation cut to a stand-in each (the same computations: see the function)
        toks = _tokenize_near_relations(norm)
    index = _Positions(toks)
    eqs = _relations(toks)
    links: list[tuple[list[_Tok] | None, list[_Tok] | None, Computation | None]] = []
    for n, k in enumerate(eqs):
        lo = eqs[n - 1] + 1 if n > 0 else 0
        hi = eqs[n + 1] if n + 1 < len(eqs) else len(toks)
        left, lunits = _side(toks, lo, k, left_of_eq=True)
        right, runits = _side(toks, k + 1, hi, left_of_eq=False)
        comp = None
        if toks[k].text.lower() == "is" and (right is None or _stated(right) is None):
            right = None  # "50% of 8 is 1.5 * 8": 'is' reads as '=' only before a plain stated value
        # "42 * 20/21 daps = 42 baps" relates two units: not arithmetic on one quantity
        # ("$200,000 / $50,000 = 4 years" divides a unit by itself: that ratio is a plain number)
        relation = (len(lunits) == 1 and runits and not lunits & runits and left is not None
                    and _unit_count(toks, left, index) < 2)
        if left is not None and right is not None and not relation:
            after = index(right[-1]) + 1
            unsigned = signless or any(_COMPARATIVES.match(t.text) for t in toks[after : after + 3]
                                       if t.kind in ("WORD", "VAR", "UNIT"))
            comp = _check_link(norm, left, right, approx or toks[k].kind == "APPROX", lunits | runits, unsigned)
        links.append((left, right, comp))
    # "5!/2! = (5*4*3)/(2*1) = 60": a sloppy middle expression in a chain whose two ends agree is not an error in
    # the result; both links through it are dropped rather than flagged.
    drop: set[int] = set()
    for n in range(1, len(links)):
        (a, _, first), (_, c, second) = links[n - 1], links[n]
        if second is not None and not second.ok and _same_value(a, c):
            drop.add(n)
            if first is not None and not first.ok:
                drop.add(n - 1)
    out = [comp for n, (_, _, comp) in enumerate(links) if comp is not None and n not in drop]
    return out + _across_lines(norm, toks, eqs, [right for _, right, _ in links], approx, index)


def _label_before(toks: list[_Tok], k: int) -> tuple[int, tuple[str, ...]] | None:
    """(start, words) when the ``=`` at k has only words before it back to a line or sentence start: a label such
    as "Total fruits =" or "\\text{Money lost} =", never a number."""
    j, words = k - 1, []
    while j >= 0 and toks[j].kind in ("WORD", "UNIT", "VAR") and len(words) < 12:
        words.append(toks[j].text.lower())
        j -= 1
    if not words or (j >= 0 and toks[j].kind != "NL" and toks[j].text not in (".", ":", ",", ";")):
        return None
    return j + 1, tuple(reversed(words))


def _across_lines(norm: str, toks: list[_Tok], eqs: list[int], rights: list[list[_Tok] | None],
                  approx: bool, index: _Positions) -> list[Computation]:
    """Links that span two lines or sentences: the same label defined twice in a row ("Total fruits = 52 + 24" then
    "Total fruits = 76"), or a line that starts with "=" and goes on from the expression ending the previous one.
    The earlier side must be a computation left without a result, and nothing but line or sentence breaks may
    separate the two (an update such as "Total = 40 - 5" after other text is a new quantity, not a restatement)."""
    out: list[Computation] = []
    for n in range(len(eqs) - 1):
        first, second = rights[n], rights[n + 1]
        # a computation, not a signed value: "x = -1, x = 2" lists alternatives
        if first is None or second is None or len(first) < 2 or not _has_op(first[1:] if first[0].kind == "OP" else first):
            continue
        end, k = index(first[-1]) + 1, eqs[n + 1]
        label, next_label = _label_before(toks, eqs[n]), _label_before(toks, k)
        if label is not None and next_label is not None and label[1] == next_label[1]:
            gap = toks[end : next_label[0]]
        elif end < k and toks[k - 1].kind == "NL" and _side(toks, end, k, left_of_eq=True)[0] is None:
            gap = toks[end:k]
        else:
            continue
        if not gap or not all(t.kind == "NL" or t.text == "." for t in gap):
            continue
        units = _units(first) | _units(second)
        comp = _check_link(norm, first, second, approx or toks[k].kind == "APPROX" or toks[eqs[n]].kind == "APPROX",
                           units, joined=True)
        # two compound sides that disagree may be an update of the quantity rather than a restatement: not flagged
        if comp is not None and (comp.ok or _stated(second) is not None):
            out.append(comp)
    return out


def _unit_count(toks: list[_Tok], run: list[_Tok], index: _Positions) -> int:
    start = index(run[0])
    return sum(t.kind in ("UNIT", "CUR") for t in run) + (start > 0 and toks[start - 1].kind == "CUR")


def _same_value(a: list[_Tok] | None, b: list[_Tok] | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return _value(a) == _value(b)
    except (Unevaluable, ZeroDivisionError, OverflowError):
        return False


def check_step(text: str) -> tuple[list[Computation], bool]:
    """(computations found, whether any is wrong) for one step's text. Never raises."""
    try:
        comps = find_computations(text)
    except (Unevaluable, ZeroDivisionError, OverflowError, ValueError, RecursionError):
        return [], False
    return comps, any(not c.ok for c in comps)


class ArithmeticVerifier:
    """Flags steps whose asserted computations are false; marks the others checked or unchecked."""

    name = "arithmetic"

    def check(self, item: Item, steps: list[str]) -> list[Finding]:
        """One finding per step that asserts a computation: ``incorrect`` (quoting the first false one and the
        correct value) or ``correct``. Steps asserting nothing checkable get no finding (they stay unchecked)."""
        findings: list[Finding] = []
        for i, step in enumerate(steps):
            checkpoint()  # stops here once the item is over its time budget
            comps, wrong = check_step(step)
            if not comps:
                continue
            bad = next(c for c in comps if not c.ok) if wrong else None
            findings.append(step_finding(
                "arithmetic", i, len(comps), "computation(s)", [c.expression for c in comps[:3]],
                None if bad is None else (bad.message, {"expression": bad.expression, "correct_value": _fmt(bad.left),
                                                        "stated_value": _fmt(bad.right)}),
            ))
        return findings
