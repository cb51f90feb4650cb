"""Equation checks: a step that solves an equation in one unknown and states the solution is checked by substitution.

What is checked. Inside a step, LaTeX math (``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``) is read as a sequence of
*links* (``A = B = …``) joined by connectors: implications (``\\Rightarrow``, ``\\implies``, ``⟹``, "so", "thus",
"hence", "gives", "we get", "solving for x, we get" …), list separators (``,``, ``\\quad``, "and") and "or" (see
:mod:`critica.verifiers.steplinks`). These patterns are verified exactly with sympy:

* **Claimed solutions.** ``E_1 ⇒ E_2 ⇒ … ⇒ x = c`` where every ``E_k`` is an equation whose only unknown is ``x``
  and ``c`` is an exact number (integers, fractions, ``\\frac``, ``\\sqrt``, ``\\pi``, ``\\pm``; a set when written
  ``x = 2 or x = 3`` / ``x = -1, 1``). Each value must satisfy every ``E_k``; a value that makes some ``E_k`` false
  (and is defined there) flags the step, quoting the equation and the values that do solve it.
* **Consecutive equations.** ``E_1 ⇒ E_2`` in the same single unknown, both polynomial or rational with rational
  coefficients: the step is flagged when each has a real root the other lacks (a root was both lost *and* gained,
  which no valid manipulation does; losing roots alone is often legitimate domain reasoning, gaining alone can be
  squaring, so neither is flagged). Where the step works over the complex numbers (``\\omega``, ``\\zeta``,
  "complex", "root of unity" …) or neither equation has a real root, the distinct *complex* roots are compared
  instead (degree ≤ 8 after clearing denominators, exactly, by gcds of square-free parts, no root finding).
* **Identity chains.** A rewriting ``A = B (= C …)`` of expressions in variables must hold identically: a chain of
  3+ members opened by a true identity, or a link right after a rewriting cue ("Expanding, …", "Factoring, …",
  "… simplifies to") whose sides have the promised shape, is flagged at its first non-identity link (checked by
  cancel/expand and exact rational sample points), quoting the correct rewriting. See ``_identity_checks``.
  A rewriting across prose ("we can rewrite \\(8(8^x)\\) as \\[2^3 \\cdot 2^{x}\\]", "… can be written as / simplifies
  to / becomes …"), a bare expression then a formula opening with an expression, is checked the same way; with the
  variable in an exponent, by exact values at x = 1, 2, 3, 1/2, 5/3. See ``_prose_identity_checks``.
* **Constant claims** with functions (binomials, roots, logs, trig at degrees, residues …):
  :func:`critica.verifiers.constants.numeric_checks`, run by :class:`AlgebraVerifier` on every step.

Precision first: a false alarm costs more than a missed error. Skipped, never guessed: steps that test a guess or
correct themselves ("suppose", "check", "wrong", "extraneous" …), links with any LaTeX this parser does not know
(functions, subscripts, primes, ``\\text`` words, degrees, inequalities, ``≈``, ``≡``, ``\\pmod``, absolute values),
more than one unknown, the letters ``e`` and ``i`` (constants or indices?), claims followed by a condition ("when",
"if", "for"), equations with the unknown under a root or in a non-integer power (extraneous roots are expected
there) and approximate values (decimals within rounding of a true root).

How. Formulas are read into links and connectors by :mod:`critica.verifiers.steplinks`, their sides into
sympy objects by the whitelisting parser of :mod:`critica.verifiers.symparse` (bounded sizes, no ``eval``);
polynomial degrees are bounded here so sympy always works on tiny expressions and cannot stall.
"""

from __future__ import annotations

import functools
import re
from fractions import Fraction

import sympy
from sympy import Expr, Rational, Symbol

from critica.budget import checkpoint
from critica.types import Item
from critica.verifiers import ratpoly
from critica.verifiers.base import Finding, step_finding
from critica.verifiers.constants import (
    _NUMERIC_SKIP,  # noqa: F401 - re-exported: the listing checker reads it here
    MODULAR_CONTEXT,
    numeric_checks,
)
from critica.verifiers.fastre import guarded
from critica.verifiers.keygate import KeywordGate
from critica.verifiers.steplinks import (
    _END_PUNCT,
    _IMPLY_CMDS,
    _NOT_EQUATION,
    _PROSE_WORDS,
    _WORDS,
    EquationCheck,
    _Conn,
    _Link,
    _prose_conn,
    _segments,
    _sequence,
    _strip_wrappers,
    may_have_links,
)
from critica.verifiers.symparse import MAX_LINK_CHARS, MAX_STEP_CHARS, Unparseable, may_have_symbols, parse_latex_expr

__all__ = ["AlgebraVerifier", "check_step", "numeric_checks", "parse_latex_expr", "Unparseable"]

MAX_DEGREE = 6
MAX_COMPLEX_DEGREE = 8  # equations compared by their complex roots (gcd of polynomials: exact and cheap)
MAX_COMPLEX_COEFF = 10**12


# --- checks -----------------------------------------------------------------------------------------------------

_CONDITION_AFTER = re.compile(
    r"^\s*[,;]?\s*(?:\(?\s*(?:when|if|for|where|whenever|provided|unless|only|since|because|as long as|assuming|"
    r"is (?:not|extraneous|invalid|rejected)|are (?:not|extraneous)|does not|doesn't|cannot|can't|would|could|"
    r"might|or)\b)",
    re.IGNORECASE,
)
# A step that tests a guess or corrects itself writes false equations on purpose.
_HYPOTHETICAL = guarded(
    r"\b(?:suppos\w*|assum\w*|guess\w*|try|trying|tried|test\w*|check\w*|verif\w*|plug\w*|incorrect|wrong|mistake\w*|"
    r"errors?|extraneous|reject\w*|discard\w*|invalid|contradict\w*|impossible|not possible|not a (?:valid )?solution|"
    r"not satisf\w*|re-?evaluat\w*|recheck\w*|re-?examin\w*|reconsider\w*|hypothe\w*|counterexample|"
    r"approx\w*|estimat\w*|round\w*|roughly|about|nearly)\b|≈|\\approx",
    re.IGNORECASE,
)
# every match of _HYPOTHETICAL, lowercased, contains one of these (≈ is not ASCII: such text is always searched)
_HYPOTHETICAL_GATE = KeywordGate(_HYPOTHETICAL, (
    "suppos", "assum", "guess", "try", "trie", "test", "check", "verif", "plug", "incorrect", "wrong", "mistake", "error",
    "extraneous", "reject", "discard", "invalid", "contradict", "impossible", "not possible", "not a ", "not satisf",
    "evaluat", "examin", "reconsider", "hypothe", "counterexample", "approx", "estimat", "round", "rough", "about",
    "nearly"), lead=3)
# lead: each alternative starts with its key, but "re-" before "evaluat"/"examin", "re" before "check" and "\\" before
# "approx"


def _pm_values(raw: str) -> list[Expr] | None:
    """``[x, a + b, a - b]`` for ``x = a \\pm b (= a' \\pm b' …)`` (one ``±`` per side, every side numeric and the
    sides agreeing sign by sign), or None."""
    text = _strip_wrappers(_END_PUNCT.sub("", raw))
    if text is None or _NOT_EQUATION.search(text) or "\\mp" in text:
        return None
    left, *rights = text.replace("±", "\\pm").split("=")
    if not rights or any(r.count("\\pm") > 1 for r in rights) or not any("\\pm" in r for r in rights):
        return None
    pairs = []
    try:
        lhs, _ = parse_latex_expr(left)
        for right in rights:
            pair = [parse_latex_expr(re.sub(r"\\pm(?![A-Za-z])", sign, right))[0] for sign in ("+", "-")]
            if any(v.free_symbols or not v.is_real for v in pair):
                return None
            pairs.append(pair)
    except (Unparseable, ValueError, TypeError, ZeroDivisionError, RecursionError, OverflowError):
        return None
    if not isinstance(lhs, Symbol):
        return None
    first = pairs[0]
    for pair in pairs[1:]:
        same = all(_zero(a - b) is True for a, b in zip(pair, first, strict=True))
        swapped = all(_zero(a - b) is True for a, b in zip(pair, reversed(first), strict=False))
        if not (same or swapped):
            return None  # an arithmetic slip inside the formula: the arithmetic checker's business
    return [lhs, *first]


def _in_list(seq: list[_Link | _Conn], k: int, x: Symbol) -> bool:
    """Is the link at ``k`` one of a list ("x - 5 = 0 or x + 2 = 0") whose previous member may concern ``x``?"""
    if k < 2 or not isinstance(seq[k - 1], _Conn) or seq[k - 1].kind not in ("OR", "COMMA"):
        return False
    prev = seq[k - 2]
    return not isinstance(prev, _Link) or prev.sides is None or any(x in s.free_symbols for s in prev.sides)


def _unknown(link: _Link) -> Symbol | None:
    """The single unknown of an equation link, or None (no equation, several unknowns, numbers only)."""
    if link.sides is None or len(link.sides) < 2:
        return None
    syms: set = set()
    for s in link.sides:
        syms |= s.free_symbols
    if len(syms) != 1:
        return None
    return next(iter(syms))


def _claim(link: _Link) -> tuple[Symbol, list[Expr]] | None:
    """``x = c (= c' …)`` with every right side an exact number, all equal: (x, [c]); ``x = a ± b``: (x, [a+b, a-b])."""
    if link.sides is None:
        pm = _pm_values(link.raw)
        if pm is None:
            return None
        sym, *values = pm
        return sym, values  # type: ignore[return-value]
    if len(link.sides) < 2 or not isinstance(link.sides[0], Symbol):
        return None
    values = link.sides[1:]
    if any(v.free_symbols for v in values):
        return None
    first = values[0]
    if any(_zero(v - first) is not True for v in values[1:]):
        return None  # "x = 24/15 = 8/6": an arithmetic slip, the arithmetic checker's business
    if not first.is_real:
        return None
    return link.sides[0], [first]


def _zero(value: Expr) -> bool | None:
    """True when ``value`` is 0, False when it is clearly not, None when undefined or too close to call."""
    try:
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            return None
        if value.is_Rational:
            return value == 0
        v = sympy.N(value, 40)
        if v.has(sympy.zoo, sympy.nan) or not v.is_number:
            return None
        mag = abs(complex(v))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None
    if mag < 1e-25:
        return True
    if mag > 1e-9:
        return False
    return None


def _unsafe_for_substitution(expr: Expr, x: Symbol) -> bool:
    """The unknown sits under a root or in a fractional power: squaring may legitimately add extraneous roots."""
    for p in expr.atoms(sympy.Pow):
        if p.base.has(x) and not (p.exp.is_Integer):
            return True
    return False


def _holds(lhs: Expr, rhs: Expr, x: Symbol, c: Expr) -> bool | None:
    """Does ``lhs = rhs`` hold at ``x = c``? None when undefined there (a zero denominator) or too close to call.

    Polynomial sides at a rational value: both values are exact rationals (what sympy's substitution gives), so
    it holds exactly when they are equal; computed by :mod:`critica.verifiers.ratpoly`."""
    if c.is_Rational:
        try:
            left, right = ratpoly.poly_of(lhs, (x,)), ratpoly.poly_of(rhs, (x,))
        except ratpoly.NotPolynomial:
            pass
        else:
            v = (Fraction(int(c.p), int(c.q)),)
            return ratpoly.evaluate(left, v) == ratpoly.evaluate(right, v)
    return _holds_sympy(lhs, rhs, x, c)


def _holds_sympy(lhs: Expr, rhs: Expr, x: Symbol, c: Expr) -> bool | None:
    try:
        left = lhs.subs(x, c)
        right = rhs.subs(x, c)
    except (TypeError, ValueError, ZeroDivisionError, RecursionError):
        return None
    if left.has(sympy.zoo, sympy.nan) or right.has(sympy.zoo, sympy.nan):
        return None
    z = _zero(left - right)
    return None if z is None else z


# The fast path: most equations are polynomials with rational coefficients, for which the exact answers of
# :mod:`critica.verifiers.ratpoly` equal sympy's (see there). It answers _UNDECIDED where it cannot tell, and then
# the sympy path runs as before.
_UNDECIDED = object()


def _polynomial_dense(lhs: Expr, rhs: Expr, x: Symbol, max_degree: int = MAX_DEGREE):
    """What :func:`_polynomial` gives, as a coefficient list (up to a constant factor, the same roots): ``[]`` for
    zero, None where it gives None, or _UNDECIDED.

    Both sides polynomials in ``x`` with no power of ``x`` above ``max_degree`` written in them: then ``lhs - rhs``
    has none either (sympy's sums and products only merge or cancel the powers written), its numerator is itself
    times a number, so sympy's polynomial is this one times a number, and None exactly when the degree is over
    ``max_degree``. A power over ``max_degree`` that cancels is sympy's business (it refuses it before cancelling)."""
    try:
        left = ratpoly.poly_of(lhs, (x,), max_degree)
        right = ratpoly.poly_of(rhs, (x,), max_degree)
    except ratpoly.NotPolynomial:
        return _rational_dense(lhs, rhs, x, max_degree)
    ratpoly.add_into(left, right, -1)
    coeffs = ratpoly.dense(left)
    return None if len(coeffs) - 1 > max_degree else coeffs


def _rational_dense(lhs: Expr, rhs: Expr, x: Symbol, max_degree: int):
    """:func:`_polynomial_dense` where a side is a rational function of ``x`` (``1/x^2 = 1/(5 - x)^2``).

    :func:`_polynomial`'s tests before its ``try`` are made here as there (same expressions, same answers, same
    errors). In its ``try``: ``lhs - rhs`` holds only rational numbers and integer powers of ``x`` (what
    :func:`ratpoly.ratfunc_of` reads), so ``as_numer_denom`` gives polynomials over QQ (a negative integer power goes
    to the denominator whatever its base's sign) and both pass the domain tests. Their degrees are at most the
    *written degree* of ``lhs - rhs`` (:func:`_written_degree`: ``as_numer_denom`` multiplies the numerators and
    denominators of a product's factors, raises those of a power's base to the power, and puts a sum over the
    product of its terms' distinct denominators), so at most ``2 * max_degree`` passes that test too, and a larger
    one is left to sympy. Then ``num = N·G`` and ``den = D·G`` for ``N/D`` in lowest terms, so
    ``num.quo(gcd(num, den))`` is ``N`` times a number: computed here from any fraction equal to ``lhs - rhs``."""
    diff = _difference(lhs, rhs, x, max_degree)
    if diff is None:
        return None
    if _written_degree(diff) > 2 * max_degree:
        return _UNDECIDED
    try:
        num, den = ratpoly.ratfunc_of(diff, (x,))
    except ratpoly.NotPolynomial:
        return _UNDECIDED
    n = ratpoly.dense(num)
    if not n:
        return []
    reduced = ratpoly.quotient(n, ratpoly.gcd(n, ratpoly.dense(den)))
    return None if len(reduced) - 1 > max_degree else reduced


def _difference(lhs: Expr, rhs: Expr, x: Symbol, max_degree: int) -> Expr | None:
    """``lhs - rhs``, or None where :func:`_polynomial` gives up before expanding it (unsafe to substitute into, a
    power of ``x`` over ``max_degree``, ``x`` in an exponent)."""
    if _unsafe_for_substitution(lhs, x) or _unsafe_for_substitution(rhs, x):
        return None
    diff = lhs - rhs
    for p in diff.atoms(sympy.Pow):
        if p.has(x) and p.exp.is_Integer and abs(p.exp) > max_degree:
            return None
        if p.exp.has(x):
            return None
    return diff


def _written_degree(e: Expr) -> int:
    """A bound on the degree of what ``as_numer_denom`` gives for ``e`` (rational numbers and integer powers of
    one symbol): a symbol counts 1, a sum or product the total of its terms, an integer power its exponent times
    its base; anything else counts as unbounded."""
    if e.is_Rational:
        return 0
    if e.is_Symbol:
        return 1
    if e.is_Add or e.is_Mul:
        return sum(_written_degree(a) for a in e.args)
    if e.is_Pow and e.exp.is_Integer:
        return abs(int(e.exp)) * _written_degree(e.base)
    return 10**9


def _polynomial(lhs: Expr, rhs: Expr, x: Symbol, max_degree: int = MAX_DEGREE) -> sympy.Poly | None:
    """``lhs - rhs`` as the numerator polynomial of its reduced fraction (rational coefficients), or None."""
    diff = _difference(lhs, rhs, x, max_degree)
    if diff is None:
        return None
    try:
        num, den = diff.as_numer_denom()
        poly = sympy.Poly(num, x)
        if poly.domain not in (sympy.ZZ, sympy.QQ) or poly.degree() > 2 * max_degree:
            return None
        if den.has(x):
            dpoly = sympy.Poly(den, x)
            if dpoly.domain not in (sympy.ZZ, sympy.QQ):
                return None
            poly = poly.quo(poly.gcd(dpoly))  # roots shared with the denominator are not solutions
    except (sympy.PolynomialError, sympy.GeneratorsNeeded, TypeError, ValueError, RecursionError):
        return None
    if poly.degree() > max_degree:
        return None
    return poly


def _real_roots(poly: sympy.Poly) -> set | None:
    """Distinct real roots (exact), None for the zero polynomial (an identity)."""
    if poly.is_zero:
        return None
    if poly.degree() == 0:
        return set()
    return set(poly.real_roots(multiple=True))


def _fmt(v: Expr) -> str:
    if v.has(sympy.CRootOf) or v.is_Float:
        return sympy.sstr(sympy.N(v, 6))  # a root of a quartic has no short exact form worth quoting
    return sympy.sstr(v)


def _solutions_text(lhs: Expr, rhs: Expr, x: Symbol) -> tuple[str, list[str]]:
    poly = _polynomial(lhs, rhs, x)
    if poly is None:
        return "", []
    roots = _real_roots(poly)
    if roots is None:
        return "", []
    if not roots:
        return f"; it has no real solution for {x}", []
    shown = [_fmt(r) for r in sorted(roots, key=float)]
    if len(shown) == 1:
        return f"; its solution is {x} = {shown[0]}", shown
    return f"; its real solutions are {x} = " + ", ".join(shown), shown


def _equations(link: _Link) -> list[tuple[Expr, Expr]]:
    """The pairs of adjacent sides of a link that contain the unknown (numeric pairs are arithmetic, not ours)."""
    assert link.sides is not None
    return [(a, b) for a, b in zip(link.sides, link.sides[1:], strict=False) if a.free_symbols or b.free_symbols]


def _near_a_root(lhs: Expr, rhs: Expr, x: Symbol, c: Expr) -> bool:
    """For decimal values: is ``c`` within 2% (or rounding) of some real root of ``lhs = rhs``?"""
    poly = _polynomial(lhs, rhs, x)
    if poly is None:
        return True  # cannot tell: treat as approximately right
    roots = _real_roots(poly)
    if roots is None:
        return True
    cf = float(c)
    return any(abs(float(r) - cf) <= max(0.02 * abs(float(r)), 0.01) for r in roots)


def _check_claim(chain: list[_Link], x: Symbol, values: list[Expr], claim_raw: str) -> EquationCheck | None:
    decimal = any(link.decimal for link in chain) or "." in claim_raw
    checked = 0
    for link in chain:
        for lhs, rhs in _equations(link):
            if _unsafe_for_substitution(lhs, x) or _unsafe_for_substitution(rhs, x):
                continue
            for c in values:
                ok = _holds(lhs, rhs, x, c)
                if ok is None:
                    continue
                if ok:
                    checked += 1
                    continue
                if decimal and _near_a_root(lhs, rhs, x, c):
                    continue
                sols, shown = _solutions_text(lhs, rhs, x)
                eq = f"{sympy.sstr(lhs)} = {sympy.sstr(rhs)}"
                return EquationCheck(
                    "solution", False,
                    f"{x} = {_fmt(c)} does not satisfy {eq} (from “{link.raw}”){sols}",
                    {"equation": eq, "unknown": str(x), "claimed": _fmt(c), "solutions": shown, "claim": claim_raw},
                )
    if not checked:
        return None
    return EquationCheck("solution", True, f"{x} = " + ", ".join(_fmt(c) for c in values) + " solves the equation",
                         {"unknown": str(x), "claimed": [_fmt(c) for c in values]})


def _link_poly_dense(link: _Link, x: Symbol, max_degree: int = MAX_DEGREE):
    """:func:`_link_poly` by the fast path: a coefficient list with its roots, None, or _UNDECIDED."""
    polys = []
    for lhs, rhs in _equations(link):
        p = _polynomial_dense(lhs, rhs, x, max_degree)
        if p is _UNDECIDED:
            return _UNDECIDED
        polys.append(p)
    if any(p is None for p in polys):
        return None
    real = [p for p in polys if p]
    return real[0] if len(real) == 1 else None


def _link_poly(link: _Link, x: Symbol, max_degree: int = MAX_DEGREE) -> sympy.Poly | None:
    """One polynomial whose roots are the link's solutions: a single non-identity side pair, else None."""
    polys = [p for p in (_polynomial(lhs, rhs, x, max_degree) for lhs, rhs in _equations(link))]
    if any(p is None for p in polys):
        return None
    real = [p for p in polys if p is not None and not p.is_zero]
    return real[0] if len(real) == 1 else None  # "A = B = 0" with two constraints: rare, skipped


def _n_real(poly: sympy.Poly) -> int:
    """Number of distinct real roots (Sturm sequences: exact and cheap, no root isolation)."""
    return 0 if poly.degree() <= 0 else poly.sqf_part().count_roots()


# Words that put a step over the complex numbers, where an equation's non-real roots are its solutions too.
_COMPLEX_CONTEXT = guarded(r"\\omega|ω|\\zeta|\bcomplex\b|\broots?\s+of\s+unity\b|\bimaginary\b|\bnon-?real\b",
                              re.IGNORECASE)
_COMPLEX_GATE = KeywordGate(_COMPLEX_CONTEXT, ("\\omega", "\\zeta", "complex", "unity", "imaginary", "real"))


def _small_coefficients(poly: sympy.Poly) -> bool:
    return all(abs(sympy.fraction(c)[0]) <= MAX_COMPLEX_COEFF and sympy.fraction(c)[1] <= MAX_COMPLEX_COEFF
               for c in poly.all_coeffs())


def _check_pair_complex(first: _Link, second: _Link, x: Symbol) -> EquationCheck | None:
    """``E_1 ⇒ E_2`` over the complex numbers: flagged when each has a root the other lacks.

    Exact without finding any root: the roots of ``p_1`` are all roots of ``p_2`` iff ``gcd(p_1, p_2)`` keeps every
    distinct root of ``p_1``, i.e. its square-free part has the same degree as ``p_1``'s."""
    p1, p2 = _link_poly(first, x, MAX_COMPLEX_DEGREE), _link_poly(second, x, MAX_COMPLEX_DEGREE)
    if p1 is None or p2 is None or p1.degree() < 1 or p2.degree() < 1:
        return None
    if not (_small_coefficients(p1) and _small_coefficients(p2)):
        return None
    s1, s2 = p1.sqf_part(), p2.sqf_part()
    shared = s1.gcd(s2).degree()
    if shared in (s1.degree(), s2.degree()):
        return EquationCheck("chain", True, f"“{second.raw}” follows from “{first.raw}” (complex roots)")
    gained = s2.quo(s1.gcd(s2))
    eq1, eq2 = (sympy.sstr(p.as_expr()) for p in (p1, p2))
    return EquationCheck(
        "chain", False,
        f"“{first.raw}” does not imply “{second.raw}”: over the complex numbers the first is {eq1} = 0 and the second "
        f"{eq2} = 0; the roots of {sympy.sstr(gained.as_expr())} = 0 solve the second but not the first",
        {"from": first.raw, "to": second.raw, "unknown": str(x), "gained": sympy.sstr(gained.as_expr()),
         "complex": True},
    )


def _follows(first: _Link, second: _Link) -> EquationCheck:
    return EquationCheck("chain", True, f"“{second.raw}” follows from “{first.raw}”")


def _check_pair(first: _Link, second: _Link, x: Symbol, complex_context: bool = False) -> EquationCheck | None:
    if first.decimal or second.decimal:
        return None
    if not complex_context:
        # the fast path decides by root counts alone; a failure's message (the roots) is sympy's, below
        d1, d2 = _link_poly_dense(first, x), _link_poly_dense(second, x)
        if d1 is not _UNDECIDED and d2 is not _UNDECIDED:
            if d1 is not None and d2 is not None and not ratpoly.count_real_roots(d1) and (
                    not ratpoly.count_real_roots(d2)):
                return _check_pair_complex(first, second, x)
            if d1 is None or d2 is None:
                return None
            n1, n2 = ratpoly.count_real_roots(d1), ratpoly.count_real_roots(d2)
            if not n1 or not n2:
                return None
            if ratpoly.count_real_roots(ratpoly.gcd(d1, d2)) in (n1, n2):
                return _follows(first, second)
            # a failure: the sympy path would find these root counts again (they are its own) before the roots
            # its message quotes; only the polynomials and their roots are computed there
            p1, p2 = _link_poly(first, x), _link_poly(second, x)
            if p1 is not None and p2 is not None:
                return _pair_failure(first, second, x, p1, p2)
    return _check_pair_sympy(first, second, x, complex_context)


def _check_pair_sympy(first: _Link, second: _Link, x: Symbol, complex_context: bool) -> EquationCheck | None:
    p1, p2 = _link_poly(first, x), _link_poly(second, x)
    if complex_context or (p1 is not None and p2 is not None and not _n_real(p1) and not _n_real(p2)):
        return _check_pair_complex(first, second, x)
    if p1 is None or p2 is None:
        return None
    n1, n2 = _n_real(p1), _n_real(p2)
    if not n1 or not n2:
        return None
    shared = _n_real(p1.gcd(p2))
    if shared in (n1, n2):  # one real solution set contains the other
        return _follows(first, second)
    return _pair_failure(first, second, x, p1, p2)


def _pair_failure(first: _Link, second: _Link, x: Symbol, p1: sympy.Poly, p2: sympy.Poly) -> EquationCheck:
    """The failed check of ``first ⇒ second`` (polynomials ``p1``, ``p2``, each with a real root, neither real
    solution set containing the other), quoting the roots gained and lost."""
    r1, r2 = _real_roots(p1) or set(), _real_roots(p2) or set()
    shown = {r: _fmt(r) for r in r1 | r2}  # each root formatted once (a root of a cubic is evaluated to do so)
    lost = sorted(shown[r] for r in r1 - r2)
    gained = sorted(shown[r] for r in r2 - r1)
    return EquationCheck(
        "chain", False,
        f"“{first.raw}” does not imply “{second.raw}”: {x} = {', '.join(gained)} solves the second but not the first "
        f"(whose real solutions are {x} = {', '.join(sorted(shown[r] for r in r1))})",
        {"from": first.raw, "to": second.raw, "unknown": str(x), "lost": lost, "gained": gained},
    )


_STEP_LABEL = re.compile(r"^\s*(?:step\s*\d+\s*[:.)]|\d+[.)]\s)", re.IGNORECASE)
# Between equations, these words say the second came from outside knowledge, not from the first alone.
_SUBSTITUTION = guarded(r"\b(?:substitut\w*|plug\w*|replac\w*|using|use|since|because|recall\w*|know|given)\b",
                           re.IGNORECASE)


@functools.lru_cache(maxsize=64)
def _readable(step: str) -> bool:
    return len(step) <= MAX_STEP_CHARS and not _HYPOTHETICAL_GATE.search(step)


def step_tail(step: str) -> _Link | None:
    """The step's last formula when the step ends on it (only connecting words after it), else None.

    A next step that opens with "so", "dividing both sides by 3, we get" … continues from it."""
    if not _readable(step) or not may_have_links(step):
        return None
    seq, _ = _sequence(step)
    if not seq or not isinstance(seq[-1], _Link):
        return None
    if len(seq) >= 2 and seq[-2].kind in ("OR", "COMMA"):  # type: ignore[union-attr]
        return None  # the last of a list ("x = 2 or x = 3", "x - 5 = 0 or x + 2 = 0") does not stand for the list
    after = seq[-1].after
    words = _WORDS.findall(after.lower())
    if any(w not in _PROSE_WORDS for w in words) or "%" in after or "$" in after:
        return None
    return seq[-1]


def check_step(step: str, before: _Link | None = None) -> list[EquationCheck]:
    """Every claimed solution and every implied equation in ``step`` that could be verified.

    ``before`` is the previous step's closing formula (:func:`step_tail`): when this step opens with connecting
    words only ("So", "Dividing both sides by 2, we get", or nothing), its first formula is read as following it.

    Memoised by the step's text and the raw text of ``before`` (see :func:`_check_step_memo`), for steps of up to
    :data:`MEMO_STEP_CHARS` characters, and formulas before it of as many (so its keys hold at most 16,384 x 2,000
    characters, whatever a hostile input sends)."""
    if len(step) > MEMO_STEP_CHARS or (before is not None and len(before.raw) > MEMO_STEP_CHARS):
        return _check_step(step, before)
    return list(_check_step_memo(step, None if before is None else before.raw))


MEMO_STEP_CHARS = 1000  # as the constant and series step memos: long steps are rare and read without it


@functools.lru_cache(maxsize=16384)
def _check_step_memo(step: str, before_raw: str | None) -> list[EquationCheck]:
    """:func:`check_step` of a step and the raw text of the formula before it, remembered across items (solutions
    of one problem share steps: half the steps of PRMBench repeat one seen before).

    Pure in these two: ``before`` enters the checks only as the first link of the sequence, through its raw text and
    the sides parsed from it (never its ``after``, which only the links of this step are asked for), so a fresh link
    of the same text gives the same checks. Errors are not remembered (:func:`functools.lru_cache` keeps none); the
    checks are returned in a new list each time and are never changed afterwards."""
    return _check_step(step, None if before_raw is None else _Link(before_raw))


def _check_step(step: str, before: _Link | None) -> list[EquationCheck]:
    if not _readable(step):
        return []
    if not may_have_links(step):
        return _prose_identity_checks(step)  # no formula to link: the sequence is empty, so are all other checks
    seq, lead = _sequence(step)
    identities = _identity_checks(seq, lead) + _prose_identity_checks(step)
    complex_context = bool(_COMPLEX_GATE.search(step))
    offset = 0
    if before is not None and seq and isinstance(seq[0], _Link):
        lead = _STEP_LABEL.sub("", lead)
        conn = _prose_conn(lead)
        if conn.kind in ("IMPLY", "ROW") or (conn.kind == "COMMA" and not lead.strip(" \n:")):
            seq = [before, _Conn("IMPLY", lead), *seq]
            offset = 2
    checks: list[EquationCheck] = []
    i = offset
    while i < len(seq):
        item = seq[i]
        if not isinstance(item, _Link):
            i += 1
            continue
        prev_link = seq[i - 2] if i >= 2 and isinstance(seq[i - 1], _Conn) and seq[i - 1].kind == "IMPLY" else None
        if not isinstance(prev_link, _Link):
            i += 1  # every check relates a formula to the one it follows from
            continue
        if not (may_have_symbols(item.raw) and may_have_symbols(prev_link.raw)) or (
                _unknown(prev_link) is None or _claim(prev_link) is not None):
            # Both checks below need the formula before to be an equation in one unknown that is no claim (the
            # chain of a claim starts there, the pair check requires it) and the item to hold a variable: without
            # them neither adds a check, so the item is not parsed. (The links a claim would consume next follow
            # "or"/"," and are skipped above anyway.)
            i += 1
            continue
        claim = _claim(item)
        if claim is not None:
            x, values = claim
            j = i + 1
            # "x = 2 or x = 3", "x = -1, 1": the claim is a set of values
            while j + 1 < len(seq) and isinstance(seq[j], _Conn) and seq[j].kind in ("OR", "COMMA"):
                nxt = seq[j + 1]
                if not isinstance(nxt, _Link) or nxt.sides is None:
                    break
                if len(nxt.sides) == 1 and not nxt.sides[0].free_symbols and nxt.sides[0].is_real:
                    values.append(nxt.sides[0])
                elif (more := _claim(nxt)) is not None and more[0] == x:
                    values.extend(more[1])
                else:
                    break
                j += 2
            last = seq[j - 1]
            if isinstance(last, _Link) and _CONDITION_AFTER.search(last.after):
                i = j
                continue
            chain: list[_Link] = []
            k = i - 2
            # a preceding claim ("x = √4 or x = -√4 ⇒ x = 2 …") is a value, possibly one of a set: not an equation
            while k >= 0 and isinstance(seq[k], _Link) and _unknown(seq[k]) == x and _claim(seq[k]) is None:
                if _in_list(seq, k, x):
                    break  # "x - 5 = 0 or x + 2 = 0 ⇒ x = 5 or x = -2" answers the whole list, not its last member
                chain.append(seq[k])
                if k >= 2 and isinstance(seq[k - 1], _Conn) and seq[k - 1].kind == "IMPLY":
                    k -= 2
                else:
                    break
            if chain:
                result = _check_claim(chain, x, values, item.raw)
                if result is not None:
                    checks.append(result)
            i = j
            continue
        # E1 ⇒ E2 in the same unknown, neither a bare assignment "x = c" (a substitution or a case, not a solving step)
        x = _unknown(item)
        if (x is not None and isinstance(prev_link, _Link) and _unknown(prev_link) == x and _claim(prev_link) is None
                and not _in_list(seq, i - 2, x)
                and not _CONDITION_AFTER.search(item.after) and not _SUBSTITUTION.search(seq[i - 1].text)):
            result = _check_pair(prev_link, item, x, complex_context)
            if result is not None:
                checks.append(result)
        i += 1
    return identities + checks


# --- identity chains --------------------------------------------------------------------------------------------
# A step that *rewrites* an expression ("Expanding, (x+2)(x-3) = x^2 - x - 6") asserts an identity: both sides must
# agree for every value of the variables. The hard part is telling that from an equation to solve ("2x + 3 = 13",
# "x^2 + 5x + 6 = 3x + 10" after expanding), so a link is read as a rewriting only when the step says so clearly:
# * a chain ``A = B = C …`` whose first link is a (non-trivial) identity that holds: a later link between two
#   expressions in the same variables that is not an identity is a slip in the rewriting;
# * a rewriting cue right before the formula ("Expanding, …", "… simplifies to", "factoring, …") whose two sides have
#   the shape the cue promises: expanding leaves an expanded right side from an unexpanded left one, factoring a
#   product from a sum; after the other cues ("simplifying", "combining like terms", "can be written as") the two
#   sides must differ by a nonzero constant, which as an equation would have no solution at all.

_REWRITE_CUE = guarded(
    r"\b(?P<cue>expanding|expand(?:ed|s)?|multiplying\s+out|factoring|factori[sz]ing|factor(?:ed|s)?|simplifying|"
    r"simplif(?:y|ies|ied)(?:\s+to)?|rewrit(?:e|ing|ten)(?:\s+as)?|can\s+be\s+(?:re)?written\s+as|"
    r"combining\s+like\s+terms)\b"
    r"(?P<tail>(?:\s+(?:the|this|that|it|expression|left|right|hand|side|sides|numerator|denominator|product|"
    r"we|get|have|obtain|gives|yields|to|as|which|is|becomes)|\s*,)*)\s*[,:]?\s*$",
    re.IGNORECASE,
)
# every match, lowercased, holds one of these (the cue's stem): most prose between formulas holds none
_REWRITE_CUE_GATE = KeywordGate(_REWRITE_CUE, ("expand", "multiplying", "factor", "simplif", "rewrit", "written",
                                               "combining"))
# The cue must hand over a result ("Expanding, …", "Expanding gives …"), not name what it acts on ("Expanding
# (x+1)^2 = x^2 + 4 gives …" is an equation being expanded).
_HANDS_OVER = guarded(r"(?:,|:|\b(?:get|have|obtain|gives|yields|to|as|becomes))\s*$", re.IGNORECASE)
_DEFINITION = guarded(r"\b(?:let|where|define[sd]?|denote[sd]?|set)\b|:=|\\coloneqq|\\equiv|\\sum|\\prod",
                         re.IGNORECASE)
_SAMPLE_POINTS = ((Rational(3, 7), Rational(-5, 3), Rational(11, 4)), (Rational(-2, 9), Rational(13, 5), Rational(7, 3)),
                  (Rational(17, 6), Rational(4, 11), Rational(-9, 5)), (Rational(-23, 8), Rational(6, 13), Rational(19, 7)))
_FRACTION_POINTS = tuple(tuple(Fraction(int(v.p), int(v.q)) for v in point) for point in _SAMPLE_POINTS)


def _plain_side(e: Expr) -> bool:
    """A side that is a number or a lone variable: "x = …" names or assigns, it does not rewrite."""
    return not e.free_symbols or isinstance(e, Symbol)


def _readable_expr(e: Expr) -> bool:
    """A polynomial or rational expression in plain variables (no subscripts, roots of variables, symbolic powers)."""
    if any("_" in s.name for s in e.free_symbols):
        return False
    for p in e.atoms(sympy.Pow):
        if p.exp.free_symbols or (p.base.free_symbols and not p.exp.is_Integer):
            return False
        if p.base.free_symbols and p.exp.is_Integer and abs(p.exp) > MAX_DEGREE:
            return False
    return True


def _identity(a: Expr, b: Expr) -> bool | None:
    """Is ``a = b`` an identity? Decided symbolically (cancel + expand of the difference) and cross-checked at exact
    rational points; None when the two disagree or the points are undefined.

    Two polynomials with rational coefficients are decided by :mod:`critica.verifiers.ratpoly` (the same answer:
    their difference expands to zero or not, and every sample point is defined)."""
    syms = tuple(sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name))
    try:
        pa, pb = ratpoly.poly_of(a, syms), ratpoly.poly_of(b, syms)
    except ratpoly.NotPolynomial:
        return _identity_rational(a, b, syms)
    if len(syms) > 3:
        return None
    if pa == pb:
        return True
    nonzero = sum(ratpoly.evaluate(pa, point) != ratpoly.evaluate(pb, point) for point in _FRACTION_POINTS)
    return False if nonzero >= 2 else None


def _identity_rational(a: Expr, b: Expr, syms: tuple) -> bool | None:
    """:func:`_identity` for rational functions with rational coefficients: ``a - b`` cancels to zero exactly when
    the cross products of numerators and denominators agree, and where no denominator inside ``a`` or ``b``
    vanishes at a sample point sympy's substitution gives the exact rational values computed here; at such a
    pole (sympy meets ``zoo``) or for anything else, the sympy path decides."""
    try:
        (na, da), (nb, db) = ratpoly.ratfunc_of(a, syms), ratpoly.ratfunc_of(b, syms)
        if len(syms) > 3:
            return None
        same = ratpoly.multiply(na, db) == ratpoly.multiply(nb, da)
        values = [(ratpoly.value_at(a, syms, point[: len(syms)]), ratpoly.value_at(b, syms, point[: len(syms)]))
                  for point in _FRACTION_POINTS]
    except ratpoly.NotPolynomial:
        return _identity_sympy(a, b)
    nonzero = sum(va != vb for va, vb in values)
    if same:
        return True if nonzero == 0 else None
    return False if nonzero >= 2 else None


def _identity_sympy(a: Expr, b: Expr) -> bool | None:
    try:
        diff = sympy.expand(sympy.cancel(a - b))
    except (sympy.PolynomialError, TypeError, ValueError, RecursionError):
        return None
    syms = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    if len(syms) > 3:
        return None
    nonzero = defined = 0
    for point in _SAMPLE_POINTS:
        sub = dict(zip(syms, point, strict=False))
        try:
            va, vb = a.subs(sub), b.subs(sub)
        except (TypeError, ValueError, ZeroDivisionError, RecursionError):
            continue
        if any(v.has(sympy.zoo, sympy.nan) or not v.is_Rational for v in (va, vb)):
            continue
        defined += 1
        nonzero += va != vb
    if diff == 0:
        return True if nonzero == 0 else None
    return False if defined >= 3 and nonzero >= 2 else None


def _degrees(e: Expr) -> tuple[int, int] | None:
    """Total degrees of the numerator and denominator of ``e`` as a reduced fraction, or None.

    A polynomial with rational coefficients is its own numerator (times a number) over a number: its total degree
    and 0, worked out by :mod:`critica.verifiers.ratpoly`."""
    gens = tuple(sorted(e.free_symbols, key=lambda s: s.name))
    if gens:
        try:
            return ratpoly.total_degree(ratpoly.poly_of(e, gens)), 0
        except ratpoly.NotPolynomial:
            pass
    if len(gens) == 1:  # a rational function of one variable: in lowest terms by a gcd, as sympy's cancel
        try:
            num, den = ratpoly.ratfunc_of(e, gens)
            return ratpoly.reduced_degrees(ratpoly.dense(num), ratpoly.dense(den))
        except ratpoly.NotPolynomial:
            pass
    return _degrees_sympy(e)


def _degrees_sympy(e: Expr) -> tuple[int, int] | None:
    try:
        num, den = sympy.cancel(e).as_numer_denom()
        gens = sorted(e.free_symbols, key=lambda s: s.name)
        return sympy.Poly(num, *gens).total_degree(), sympy.Poly(den, *gens).total_degree()
    except (sympy.PolynomialError, sympy.GeneratorsNeeded, TypeError, ValueError, RecursionError):
        return None


def _rewriting_pair(a: Expr, b: Expr) -> bool:
    """Two sides a rewriting could relate: same variables, neither a number or a lone variable, both readable, and
    of the same degrees. A change of degree means a known relation was substituted ("x^2 + y^2 = 4(x + y)" given
    earlier), which is no rewriting slip."""
    if not (not _plain_side(a) and not _plain_side(b) and a.free_symbols == b.free_symbols
            and _readable_expr(a) and _readable_expr(b)):
        return False
    da = _degrees(a)
    return da is not None and da == _degrees(b)


def _correct_form(a: Expr, cue: str) -> Expr:
    return sympy.factor(a) if cue.lower().startswith("factor") else sympy.expand(sympy.cancel(a))


def _identity_failure(a: Expr, b: Expr, link: _Link, cue: str, how: str) -> EquationCheck:
    """The failed link ``a = b``, quoting the correct rewriting of ``a`` (sympy has already evaluated numbers in it,
    so for ``(-1 + 3)k = 4k`` that is ``2k``)."""
    right = _correct_form(a, cue)
    return EquationCheck(
        "identity", False,
        f"“{link.raw}” is not an identity ({how}): {sympy.sstr(a)} and {sympy.sstr(b)} differ by "
        f"{sympy.sstr(sympy.expand(sympy.cancel(a - b)))}; the correct rewriting is {sympy.sstr(right)}",
        {"left": sympy.sstr(a), "right": sympy.sstr(b), "correct": sympy.sstr(right),
         "link": link.raw},
    )


def _cue_shape(a: Expr, b: Expr, left_raw: str, cue: str) -> bool:
    """Do the sides have the shape the cue promises (so the link is the rewriting itself, not an equation)?

    The left side's raw text is looked at too: sympy distributes ``2(3x + 4)`` as it parses."""
    c = cue.lower()
    if (c.startswith("expand") or c.startswith("multiplying")) and re.search(r"[)\]]", left_raw) and (
            sympy.expand(b) == b and b.is_Add):
        return True
    if c.startswith("factor") and a.is_Add and sympy.expand(a) == a and (b.is_Mul or b.is_Pow) and any(
            f.is_Add for f in sympy.Mul.make_args(b) for f in [f.base if f.is_Pow else f]):
        return True
    return _differ_by_a_constant(a, b)  # as an equation it would have no solution: a rewriting slip


def _differ_by_a_constant(a: Expr, b: Expr) -> bool:
    """Is ``expand(cancel(a - b))`` a nonzero number? For two polynomials with rational coefficients, exactly when
    their difference, expanded by :mod:`critica.verifiers.ratpoly` (the polynomial sympy's expansion gives, term by
    term), is a nonzero constant; anything else is sympy's (a cancel costs milliseconds)."""
    syms = tuple(sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name))
    try:
        pa, pb = ratpoly.poly_of(a, syms), ratpoly.poly_of(b, syms)
    except ratpoly.NotPolynomial:
        return _differ_by_a_constant_sympy(a, b)
    ratpoly.add_into(pa, pb, -1)
    return bool(pa) and not any(map(any, pa))  # some term left, and each of degree 0: one nonzero constant


def _differ_by_a_constant_sympy(a: Expr, b: Expr) -> bool:
    try:
        diff = sympy.expand(sympy.cancel(a - b))
    except (sympy.PolynomialError, TypeError, ValueError, RecursionError):
        return False
    return diff.is_number and diff != 0


_LONE_LETTER = re.compile(r"\s*[A-Za-z]\s*")


def _may_open_rewriting(raw: str) -> bool:
    """False only when the first or second side of the link ``raw`` is surely a number or a lone letter (a plain
    side), which no rewriting pair has: then the link needs no parsing here.

    The parsed sides are the ``=``-separated parts of ``raw`` less ``\\boxed`` wrappers and end punctuation, each
    part of ``raw`` holding its side's text (see :func:`critica.verifiers.steplinks._parse_link`); a part without a
    possible variable parses to a number, a part that is one letter and spaces to that letter (or to nothing, for
    ``e`` and ``i``)."""
    parts = raw.split("=", 2)
    return len(parts) >= 2 and all(may_have_symbols(p) and not _LONE_LETTER.fullmatch(p) for p in parts[:2])


def _identity_checks(seq: list[_Link | _Conn], lead: str) -> list[EquationCheck]:
    """Failed identities in the step's rewritings (see the section comment); identities that hold are not reported."""
    out: list[EquationCheck] = []
    for i, item in enumerate(seq):
        if not isinstance(item, _Link) or len(item.raw) > MAX_LINK_CHARS or item.raw.count("=") < 1:
            continue
        prose = lead if i == 0 else (seq[i - 1].text if isinstance(seq[i - 1], _Conn) else "")
        m = _REWRITE_CUE_GATE.search(prose)
        cue_ok = m is not None and _HANDS_OVER.search(prose) is not None
        if item.raw.count("=") < 2 and not cue_ok:
            continue
        if any(_DEFINITION.search(t) for t in (prose, item.raw, item.after)) or _CONDITION_AFTER.search(item.after):
            continue
        if not _may_open_rewriting(item.raw):
            continue  # its first two sides are not both expressions in variables: no rewriting pair, no finding
        sides = item.sides
        if sides is None or len(sides) < 2 or item.decimal:
            continue  # decimals are rounded more often than not
        if len(sides) >= 3 and _rewriting_pair(sides[0], sides[1]) and _identity(sides[0], sides[1]) is True:
            for a, b in zip(sides[1:], sides[2:], strict=False):
                if not _rewriting_pair(a, b):
                    break  # "… = x^2 - x - 6 = 0": the chain turns into an equation
                verdict = _identity(a, b)
                if verdict is None:
                    break
                if not verdict:
                    out.append(_identity_failure(a, b, item, "", "a later member of an identity chain"))
                    break
            continue
        if cue_ok and len(sides) == 2 and m is not None:
            a, b = sides
            cue = m.group("cue")
            left_raw = item.raw.split("=")[0]
            if _rewriting_pair(a, b) and _cue_shape(a, b, left_raw, cue) and _identity(a, b) is False:
                out.append(_identity_failure(a, b, item, cue, f"after “{cue}”"))
    return out


# A rewriting across prose: "we can rewrite \\(8(8^x)\\) as \\[2^3 \\cdot 2^{x}\\]", "\\(A\\) simplifies to \\(B\\)". The left
# formula is a bare expression (no "="), the right one starts with an expression (what follows its first "=" is
# another claim). Read only between these cues, and never where the sentence operates on an equation ("dividing
# both sides, the left side becomes …") or substitutes ("replacing x by 2x, … becomes …"): there the two differ.
_BETWEEN_CUE = re.compile(
    r"^\s*,?\s*(?:(?:which|this|that|it)\s+)?(?:(?:can|may|could)\s+be\s+(?:re)?written\s+as|(?:can|may)\s+be\s+expressed"
    r"\s+as|simplifies\s+to|becomes|(?P<bare>as))\s*:?\s*$",
    re.IGNORECASE,
)
_WRITE_BEFORE = re.compile(r"\b(?:re)?writ(?:e|ing)\s+(?:the\s+\w+\s+)?(?:var\s+)?$|\bexpress(?:ing)?\s+$", re.IGNORECASE)
_OPERATING = guarded(
    r"\b(?:both\s+sides|sides?|each\s+side|multiply\w*|divid\w*|add\w*|subtract\w*|squar\w*|cub\w*|rais\w*|"
    r"tak\w*|differentiat\w*|derivative|integrat\w*|limit|approach\w*|when|if|for|where|let|since|because|given|"
    r"mod\w*|equation|inequality|substitut\w*|plug\w*|replac\w*|using|becomes?\s+(?:zero|negative|positive))\b|"
    r"\\to(?![A-Za-z])|→",
    re.IGNORECASE,
)
_EXACT_POINTS = (Rational(1), Rational(2), Rational(3), Rational(1, 2), Rational(5, 3))


def _symbolic_exponent(e: Expr) -> bool:
    return any(p.exp.free_symbols for p in e.atoms(sympy.Pow))


def _identity_by_points(a: Expr, b: Expr) -> bool | None:
    """``a = b`` in one variable with the variable in an exponent: compared at exact points (1, 2, 3, 1/2, 5/3), the
    values evaluated to 50 digits; False needs two points that differ, True every defined point equal."""
    syms = a.free_symbols | b.free_symbols
    if len(syms) != 1:
        return None
    [x] = syms
    defined = differ = 0
    for c in _EXACT_POINTS:
        try:
            va, vb = sympy.N(a.subs(x, c), 50), sympy.N(b.subs(x, c), 50)
        except (TypeError, ValueError, ZeroDivisionError, RecursionError):
            continue
        if not (va.is_real and vb.is_real and va.is_finite and vb.is_finite):
            continue
        defined += 1
        differ += bool(abs(va - vb) > sympy.Float(10, 50) ** -30 * max(1, abs(va), abs(vb)))
    if defined < 3:
        return None
    if differ == 0:
        return True
    return False if differ >= 2 else None


def _prose_identity_checks(step: str) -> list[EquationCheck]:
    """Failed rewritings written as two formulas joined by a cue in words (see the comment above)."""
    if not _BETWEEN_WORDS.search(step):
        return []
    segs = _segments(step)
    out: list[EquationCheck] = []
    for k in range(len(segs) - 2):
        (m1, left_raw), (m2, between), (m3, right_raw) = segs[k], segs[k + 1], segs[k + 2]
        if not (m1 and not m2 and m3) or "=" in left_raw or re.search(_IMPLY_CMDS, left_raw):
            continue
        cue = _BETWEEN_CUE.search(between)
        before = segs[k - 1][1] if k >= 1 and not segs[k - 1][0] else ""
        if cue is None or (cue.group("bare") and not _WRITE_BEFORE.search(before)):
            continue
        after = segs[k + 3][1] if k + 3 < len(segs) and not segs[k + 3][0] else ""
        so_far = "".join(text for _, text in segs[:k])
        cut = [m.end() for m in re.finditer(r"[.!?](?=\s)|\n", so_far)]
        sentence = so_far[cut[-1] if cut else 0 :] + " " + between
        if (_OPERATING.search(sentence) or _CONTINUES.search(after) or _DEFINITION.search(sentence + left_raw + right_raw)
                or _CONDITION_AFTER.search(after) or re.search(_IMPLY_CMDS, right_raw.split("=")[0])):
            continue
        if _PART_OF_PHRASE.search(before) or re.search(r"<|>|≤|≥|\\[lg]eq?(?![A-Za-z])|\\[lg]eqslant|\\neq?", right_raw):
            continue  # "from A to B, which simplifies to" (the cue is about the whole range); inequalities
        right_first = re.split(r"=|\\approx|≈", right_raw)[0]
        try:
            (a, dec_a), (b, dec_b) = parse_latex_expr(left_raw), parse_latex_expr(right_first)
        except (Unparseable, TypeError, ValueError, ZeroDivisionError, RecursionError):
            continue
        if dec_a or dec_b or _plain_side(a) or _plain_side(b) or a.free_symbols != b.free_symbols:
            continue
        try:
            if _symbolic_exponent(a) or _symbolic_exponent(b):
                verdict = _identity_by_points(a, b)
            elif _rewriting_pair(a, b):
                verdict = _identity(a, b)
            else:
                continue
            example = _difference_example(a, b) if verdict is False else ""
        except (TypeError, ValueError, ZeroDivisionError, RecursionError, sympy.PolynomialError):
            continue
        if verdict is False:
            words = " ".join(between.split())
            link = _Link(f"{left_raw.strip()} = {right_first.strip()}")
            out.append(EquationCheck(
                "identity", False,
                f"“{left_raw.strip()}” {words} “{right_first.strip()}” is not an identity: the two differ "
                f"({example})",
                {"left": sympy.sstr(a), "right": sympy.sstr(b), "link": link.raw},
            ))
    return out


def _difference_example(a: Expr, b: Expr) -> str:
    syms = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    for point in ((Rational(1),) * len(syms), (Rational(2),) * len(syms), *_SAMPLE_POINTS):
        sub = dict(zip(syms, point, strict=False))
        try:
            va, vb = sympy.nsimplify(a.subs(sub)), sympy.nsimplify(b.subs(sub))
        except (TypeError, ValueError, ZeroDivisionError, RecursionError):
            continue
        if va.is_finite and vb.is_finite and sympy.simplify(va - vb) != 0:
            at = ", ".join(f"{s} = {v}" for s, v in sub.items())
            return f"at {at} the first is {sympy.sstr(va)} and the second {sympy.sstr(vb)}"
    return f"{sympy.sstr(a)} vs {sympy.sstr(b)}"


# The left formula is one member of a larger phrase ("from A to B", "A and B"): a cue after it is about the whole.
_PART_OF_PHRASE = guarded(r"\b(?:to|and|or|from|between|by|of|with|plus|minus|times|than|over)\s*$", re.IGNORECASE)
# The right formula is only the start of what is said ("as $(x+1)^2$ minus 2x").
_CONTINUES = re.compile(r"^\s*(?:minus|plus|times|divided|over|multiplied|squared|cubed|[-+*/^×·])", re.IGNORECASE)
_BETWEEN_WORDS = KeywordGate(guarded(r"written|expressed|simplifies|becomes|\bas\b", re.IGNORECASE),
                             ("written", "expressed", "simplifies", "becomes", "as"), lead=0)
"""Searched on every step: behind a keyword pre-test (two steps in three hold none of the words, not even "as")."""


class AlgebraVerifier:
    """Flags steps that state a wrong solution of an equation in one unknown, an equation that does not follow, a
    wrong rewriting, or a false constant claim (a function value the arithmetic checker does not read)."""

    name = "algebra"

    def check(self, item: Item, steps: list[str]) -> list[Finding]:
        """One finding per step with a verified equation relation: ``incorrect`` quoting the first failure (with the
        true solutions), else ``correct``. Steps with nothing checkable get no finding."""
        findings: list[Finding] = []
        before: _Link | None = None
        modular = bool(MODULAR_CONTEXT.search(item.question or ""))
        for i, step in enumerate(steps):
            checkpoint()  # stops here once the item is over its time budget
            try:
                checks = check_step(step, before)
                before = step_tail(step)
            except Exception:  # noqa: BLE001 - a verifier must not raise on any text; unreadable means unchecked
                checks, before = [], None
            try:
                checks = checks + numeric_checks(step, modular)
            except Exception:  # noqa: BLE001
                pass
            modular = modular or bool(MODULAR_CONTEXT.search(step))
            if not checks:
                continue
            bad = next((c for c in checks if not c.ok), None)
            kinds = sorted({c.kind for c in checks})
            findings.append(step_finding(
                "algebra", i, len(checks), "constant claim(s)" if kinds == ["numeric"] else "equation step(s)",
                [c.message for c in checks[:3]],
                None if bad is None else (bad.message, {"check": bad.kind, **bad.details}),
                {"check": "+".join(kinds)},
            ))
        return findings
