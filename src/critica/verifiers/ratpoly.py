"""Exact polynomials with rational coefficients, in plain Python: the algebra checks' fast path.

The equation and identity checks of :mod:`critica.verifiers.algebra` ask a few exact questions of tiny
polynomials: is ``a - b`` zero, what are the total degrees, how many distinct real roots has ``p``, do ``p`` and
``q`` share them. sympy answers them through ``cancel``/``expand``/``Poly`` and Sturm sequences, which costs a
millisecond or more per question; most sides are plain polynomials in one to three letters with rational
coefficients, and for those the answers are fixed by the polynomial itself, so computing them here with
:class:`fractions.Fraction` gives the same answers, exactly (no floating point anywhere).

:func:`poly_of` reads a sympy expression built only of sums, products, non-negative integer powers, rational
numbers and the given symbols into ``{exponents: coefficient}``, expanded, zero terms dropped; anything else (a
root, ``\\pi``, a negative power, a float, another symbol, a size over the caps) raises :class:`NotPolynomial` and
the caller takes the sympy path. The functions below work on that form or, for one variable, on dense coefficient
lists (highest degree first, like ``sympy.Poly.all_coeffs``).
"""

from __future__ import annotations

from fractions import Fraction

__all__ = ["NotPolynomial", "add_into", "count_real_roots", "dense", "evaluate", "evaluate_dense", "gcd", "multiply",
           "poly_of", "quotient", "ratfunc_of", "reduced_degrees", "sum_range", "total_degree", "value_at"]

MAX_POWER = 12  # a larger power of a compound base goes to sympy (which the callers cap before expanding anyway)
MAX_TERMS = 400  # an expansion with more terms goes to sympy


class NotPolynomial(Exception):
    """The expression is not a polynomial with rational coefficients in the given symbols (or is too big)."""


Poly = dict[tuple[int, ...], Fraction]


def add_into(acc: Poly, p: Poly, sign: int = 1) -> None:
    """``acc += sign * p``, in place."""
    for m, c in p.items():
        v = acc.get(m, 0) + sign * c
        if v:
            acc[m] = v
        else:
            acc.pop(m, None)


def _mul(p: Poly, q: Poly) -> Poly:
    out: Poly = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            m = tuple(a + b for a, b in zip(m1, m2, strict=True))
            v = out.get(m, 0) + c1 * c2
            if v:
                out[m] = v
            else:
                out.pop(m, None)
    if len(out) > MAX_TERMS:
        raise NotPolynomial("too many terms")
    return out


def poly_of(expr, gens: tuple, max_power: int = MAX_POWER) -> Poly:
    """``expr`` (a sympy expression) expanded as a polynomial in ``gens``; raises :class:`NotPolynomial`, also for a
    power above ``max_power`` written in it (sympy evaluates powers of numbers, so its base holds a symbol).

    Sums, products and integer powers of rational numbers are rational numbers in sympy, computed exactly; here
    they are the same numbers, so the expansion is the polynomial sympy's ``expand`` gives, term by term."""
    index = {g: i for i, g in enumerate(gens)}
    n = len(gens)
    one = (0,) * n

    def walk(e) -> Poly:
        if e.is_Rational:  # Integer, Rational and their singletons (0, 1, -1, 1/2)
            return {one: Fraction(int(e.p), int(e.q))} if e.p else {}
        if e.is_Symbol:
            i = index.get(e)
            if i is None:
                raise NotPolynomial("another symbol")
            return {tuple(1 if j == i else 0 for j in range(n)): Fraction(1)}
        if e.is_Add:
            acc: Poly = {}
            for a in e.args:
                add_into(acc, walk(a))
            return acc
        if e.is_Mul:
            acc = {one: Fraction(1)}
            for a in e.args:
                acc = _mul(acc, walk(a))
            return acc
        if e.is_Pow:
            k = e.exp
            if not k.is_Integer or k < 0 or k > min(max_power, MAX_POWER):
                raise NotPolynomial("power")
            base = walk(e.base)
            acc = {one: Fraction(1)}
            for _ in range(int(k)):
                acc = _mul(acc, base)
            return acc
        raise NotPolynomial(type(e).__name__)

    return walk(expr)


def total_degree(p: Poly) -> int:
    """The largest total degree of a term; 0 for the zero polynomial (as ``sympy.Poly(0, …).total_degree()``)."""
    return max((sum(m) for m in p), default=0)


def evaluate(p: Poly, point: tuple) -> Fraction:
    total = Fraction(0)
    for m, c in p.items():
        term = c
        for v, k in zip(point, m, strict=False):
            if k:
                term *= v**k
        total += term
    return total


# --- one variable: dense lists, highest degree first, no leading zeros (the zero polynomial is []) ---------------

def dense(p: Poly) -> list[Fraction]:
    """A polynomial in one variable as its coefficient list, highest degree first."""
    if not p:
        return []
    deg = max(m[0] for m in p)
    out = [Fraction(0)] * (deg + 1)
    for m, c in p.items():
        out[deg - m[0]] = c
    return out


def _trim(p: list[Fraction]) -> list[Fraction]:
    i = 0
    while i < len(p) and p[i] == 0:
        i += 1
    return p[i:]


def _rem(a: list[Fraction], b: list[Fraction]) -> list[Fraction]:
    """The remainder of ``a`` divided by ``b`` (``b`` not zero)."""
    a = list(a)
    while len(a) >= len(b):
        if a[0]:
            f = a[0] / b[0]
            for j in range(1, len(b)):
                a[j] -= f * b[j]
        a.pop(0)
    return _trim(a)


def gcd(a: list[Fraction], b: list[Fraction]) -> list[Fraction]:
    """A greatest common divisor (up to a constant factor: only its roots matter here)."""
    while b:
        a, b = b, _rem(a, b)
    return a


def _derivative(p: list[Fraction]) -> list[Fraction]:
    d = len(p) - 1
    return _trim([c * (d - j) for j, c in enumerate(p[:-1])])


def _sign_changes(signs: list[int]) -> int:
    nz = [s for s in signs if s]
    return sum(1 for s, t in zip(nz, nz[1:], strict=False) if s != t)


def count_real_roots(p: list[Fraction]) -> int:
    """The number of distinct real roots of ``p`` (Sturm's theorem over the whole line); 0 for degree <= 0."""
    p = _trim(p)
    if len(p) <= 1:
        return 0
    seq = [p, _derivative(p)]
    while True:
        r = _rem(seq[-2], seq[-1])
        if not r:
            break
        seq.append([-c for c in r])
    # at +inf the sign of each is its leading coefficient's; at -inf that times (-1)^degree
    at_pos = [1 if q[0] > 0 else -1 for q in seq]
    at_neg = [s if (len(q) - 1) % 2 == 0 else -s for s, q in zip(at_pos, seq, strict=True)]
    return _sign_changes(at_neg) - _sign_changes(at_pos)


def evaluate_dense(p: list[Fraction], v: Fraction) -> Fraction:
    total = Fraction(0)
    for c in p:
        total = total * v + c
    return total


def sum_range(p: list[Fraction], lo: int, hi: int) -> Fraction:
    """``p(lo) + p(lo + 1) + … + p(hi)`` exactly (0 when ``hi < lo``), in time independent of the range's length.

    The partial sums ``F(t) = p(lo) + … + p(lo + t - 1)`` are a polynomial in ``t`` of degree ``deg p + 1``: it is
    computed at ``t = 0 … deg p + 1`` and interpolated (Lagrange) at ``t = hi - lo + 1``."""
    n = hi - lo + 1
    if n <= 0:
        return Fraction(0)
    nodes = len(p) + 1  # deg p + 2 values fix a polynomial of degree deg p + 1
    partial = [Fraction(0)]
    for t in range(min(n, nodes - 1)):
        partial.append(partial[-1] + evaluate_dense(p, Fraction(lo + t)))
    if n < len(partial):
        return partial[n]
    total = Fraction(0)
    for i, f in enumerate(partial):
        if not f:
            continue
        num, den = 1, 1
        for m in range(nodes):
            if m != i:
                num *= n - m
                den *= i - m
        total += f * Fraction(num, den)
    return total


# --- rational functions ------------------------------------------------------------------------------------------

def ratfunc_of(expr, gens: tuple) -> tuple[Poly, Poly]:
    """``expr`` as ``(numerator, denominator)``, polynomials in ``gens`` (not reduced; the denominator is not zero):
    sums, products, integer powers (negative ones of a non-zero base), rational numbers and ``gens``; raises
    :class:`NotPolynomial` for anything else, as :func:`poly_of`."""
    index = {g: i for i, g in enumerate(gens)}
    n = len(gens)
    one = (0,) * n
    unit: Poly = {one: Fraction(1)}

    def walk(e) -> tuple[Poly, Poly]:
        if e.is_Rational:
            return ({one: Fraction(int(e.p), int(e.q))} if e.p else {}), unit
        if e.is_Symbol:
            i = index.get(e)
            if i is None:
                raise NotPolynomial("another symbol")
            return {tuple(1 if j == i else 0 for j in range(n)): Fraction(1)}, unit
        if e.is_Add:
            num: Poly = {}
            den = unit
            for a in e.args:
                an, ad = walk(a)
                if ad == den:
                    add_into(num, an)
                else:
                    num = _mul(num, ad)
                    add_into(num, _mul(an, den))
                    den = _mul(den, ad)
            return num, den
        if e.is_Mul:
            num, den = unit, unit
            for a in e.args:
                an, ad = walk(a)
                num, den = _mul(num, an), (den if ad is unit else _mul(den, ad))
            return num, den
        if e.is_Pow:
            k = e.exp
            if not k.is_Integer or abs(k) > MAX_POWER:
                raise NotPolynomial("power")
            bn, bd = walk(e.base)
            if k < 0:
                if not bn:
                    raise NotPolynomial("zero to a negative power")
                bn, bd = bd, bn
            num, den = unit, unit
            for _ in range(abs(int(k))):
                num = _mul(num, bn)
                den = den if bd is unit else _mul(den, bd)
            return num, den
        raise NotPolynomial(type(e).__name__)

    num, den = walk(expr)
    if not den:
        raise NotPolynomial("zero denominator")
    return num, den


def multiply(p: Poly, q: Poly) -> Poly:
    return _mul(p, q)


def value_at(expr, gens: tuple, point: tuple) -> Fraction:
    """The exact value of ``expr`` with ``gens`` set to ``point``, computed node by node as sympy's substitution
    does; raises :class:`NotPolynomial` for a node :func:`ratfunc_of` does not read or a zero raised to a negative
    power anywhere (sympy would meet ``zoo`` there, whose arithmetic is its business)."""
    values = dict(zip(gens, point, strict=True))

    def walk(e) -> Fraction:
        if e.is_Rational:
            return Fraction(int(e.p), int(e.q))
        if e.is_Symbol:
            if e not in values:
                raise NotPolynomial("another symbol")
            return values[e]
        if e.is_Add:
            return sum((walk(a) for a in e.args), Fraction(0))
        if e.is_Mul:
            out = Fraction(1)
            for a in e.args:
                out *= walk(a)
            return out
        if e.is_Pow:
            k = e.exp
            if not k.is_Integer or abs(k) > MAX_POWER:
                raise NotPolynomial("power")
            b = walk(e.base)
            if k < 0 and not b:
                raise NotPolynomial("pole")
            return b ** int(k)
        raise NotPolynomial(type(e).__name__)

    return walk(expr)


def _quo(a: list[Fraction], b: list[Fraction]) -> list[Fraction]:
    """The quotient of ``a`` by ``b`` (``b`` divides ``a``; ``b`` not zero)."""
    a = list(a)
    out = []
    while len(a) >= len(b):
        f = a[0] / b[0]
        out.append(f)
        for j in range(len(b)):
            a[j] -= f * b[j]
        a.pop(0)
    return _trim(out)


def quotient(a: list[Fraction], b: list[Fraction]) -> list[Fraction]:
    """The quotient of ``a`` by ``b``, which divides it (``b`` not zero)."""
    return _quo(a, b)


def reduced_degrees(num: list[Fraction], den: list[Fraction]) -> tuple[int, int]:
    """Degrees of the numerator and denominator of ``num / den`` in lowest terms (one variable; 0 for a zero
    numerator, whose lowest terms are 0 / 1)."""
    g = gcd(num, den)
    n, d = _quo(num, g), _quo(den, g)
    return max(len(n) - 1, 0), len(d) - 1
