"""LaTeX → sympy for the equation and constant checkers: a whitelisting parser with size caps.

A small recursive-descent parser turns whitelisted LaTeX into sympy objects directly (no ``eval``, no
``parse_expr``: anything outside the whitelist raises :class:`Unparseable` instead of being reinterpreted). Sizes are
bounded (text length, digit runs, exponents; polynomial degrees in :mod:`critica.verifiers.algebra`) so sympy always
works on tiny expressions and cannot stall.

:func:`parse_latex_expr` reads one side of a formula: ``+ - * / ^``, implicit products, ``\\frac``, ``\\sqrt``,
``\\pi`` and letters; with ``numeric=True`` also the functions of constant claims (see :class:`_Parser` and
:mod:`critica.verifiers.constants`). Used by :mod:`critica.verifiers.steplinks`, :mod:`critica.verifiers.algebra`,
:mod:`critica.verifiers.constants` and the listing and series checkers.
"""

from __future__ import annotations

import functools
import math
import re
from fractions import Fraction

import sympy
from sympy import Expr, Rational, Symbol

__all__ = ["MAX_LINK_CHARS", "MAX_STEP_CHARS", "Unparseable", "may_have_symbols", "parse_latex_expr", "show_value"]

MAX_STEP_CHARS = 20_000
MAX_LINK_CHARS = 240
MAX_DIGITS = 30
MAX_EXPONENT = 60

_GREEK = {"theta", "alpha", "beta", "gamma", "phi", "varphi", "lambda", "mu", "sigma", "tau", "rho", "psi", "omega",
          "zeta"}
# Letters that are usually constants or indices rather than an unknown being solved for.
_RESERVED_LETTERS = {"e", "i"}


class Unparseable(Exception):
    """The text is not an expression this checker reads with confidence."""


# --- LaTeX → sympy ----------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"(?P<NUM>\d+(?:\.\d+)?)|(?P<CMD>\\[A-Za-z]+)|(?P<LET>[A-Za-z](?:_(?:\{\s*(?:[A-Za-z]|\d+)\s*\}|[A-Za-z0-9]))?)"
    r"|(?P<OP>[-+*/^])|(?P<SUB>_)|(?P<COMMA>,)|(?P<FACT>!)"
    r"|(?P<LP>[({\[])|(?P<RP>[)}\]])|(?P<SP>\s+)|(?P<BAD>.)",
    re.DOTALL,
)
_CLOSE = {"(": ")", "{": "}", "[": "]"}
_NAME_NOISE = re.compile(r"[{}\s]")


class _Tok:
    __slots__ = ("kind", "text", "spaced")  # built for every token of every parse: no per-instance dict

    def __init__(self, kind: str, text: str, spaced: bool) -> None:
        self.kind = kind
        self.text = text
        self.spaced = spaced  # whitespace right before it

    def __repr__(self) -> str:
        return f"_Tok({self.kind!r}, {self.text!r}, {self.spaced!r})"


MAX_FACTORIAL = 100
MAX_BINOMIAL = 1000
MAX_NUMERIC_EXPONENT = 2000  # numeric powers: the magnitude cap of _check_power still applies
_DEGREE_TOKEN = "\\degreesign"
_TRIG = {"sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "cot": sympy.cot, "sec": sympy.sec, "csc": sympy.csc}
_NUMERIC_FUNCS = {"binom", "dbinom", "tbinom", "lfloor", "lceil", "gcd", "lcm", "log", "ln", *_TRIG}


def _binomial(n: Expr, k: Expr) -> Expr:
    if not (n.is_Integer and k.is_Integer and 0 <= n <= MAX_BINOMIAL):
        raise Unparseable("binomial arguments")
    return sympy.binomial(n, k)


# --- exact rationals while parsing -------------------------------------------------------------------------------
# Sympy's arithmetic on two Rationals gives the exact rational (+ - * /, and ** with an integer exponent), so the
# parser keeps such values as :class:`fractions.Fraction` (20-50x cheaper) and hands them to sympy, as the Rational
# of the same value, wherever they meet anything else: every sympy object the parser builds is the one the all-sympy
# parse built. Where the fast arithmetic cannot promise the same decision (a float conversion out of the normal
# range in :func:`_check_power`) it raises :class:`_Fallback` and the text is parsed again the old way.


class _Fallback(Exception):
    """The exact fast path cannot decide this text as the all-sympy parse would: parse it that way."""


def _sym(v: Fraction | Expr) -> Expr:
    """A parsed value as sympy (a Fraction as the Rational of the same value)."""
    return Rational(v.numerator, v.denominator) if type(v) is Fraction else v


def _is_q(a: object, b: object) -> bool:
    return type(a) is Fraction and type(b) is Fraction


def _check_power_q(base: Fraction, exp: Fraction, max_exponent: int) -> None:
    """:func:`_check_power` for two exact rationals, with the same decisions: sympy's float of a Rational and
    Python's float of a Fraction are both the correctly rounded double (and its ``complex`` of a real rational is
    that double), as long as they are normal doubles; anything else is left to the sympy path."""
    try:
        e = float(exp)
        b = abs(float(base))
    except OverflowError:
        raise _Fallback from None
    if not (b == 0 or 1e-300 < b < 1e300) or abs(e) > 1e300:
        raise _Fallback
    if abs(e) > max_exponent:
        raise Unparseable("exponent too large")
    if b != 0 and abs(e) * abs(math.log10(b)) > 600:
        raise Unparseable("power too large")


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    spaced = False
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "BAD"
        if kind == "SP":
            spaced = True
            continue
        if kind == "BAD":
            raise Unparseable(m.group())
        text = m.group()
        if kind == "LET" and len(text) > 1:
            text = _NAME_NOISE.sub("", text)  # d_{1} and d_1 are one name (a lone letter has nothing to remove)
        toks.append(_Tok(kind, text, spaced))
        spaced = False
    return toks


def _check_power(base: Expr, exp: Expr, max_exponent: int = MAX_EXPONENT) -> None:
    """Refuse exponents and numeric powers big enough to make exact arithmetic slow (floats suffice to tell)."""
    try:
        e = float(exp)
    except (TypeError, ValueError):
        raise Unparseable("complex exponent") from None
    if abs(e) > (max_exponent if base.is_number else MAX_EXPONENT):
        raise Unparseable("exponent too large")
    if base.is_number:
        b = abs(complex(base))
        if b != 0 and abs(e) * abs(math.log10(b)) > 600:
            raise Unparseable("power too large")


class _Parser:
    """Recursive descent over whitelisted LaTeX: + - * / ^, implicit products, \\frac, \\sqrt, \\pi, letters.

    With ``numeric``, also the functions of constant claims (see :func:`numeric_checks`): ``n!``, ``\\binom``,
    ``{n \\choose k}``, ``C(n, k)``, ``\\log_b``, ``\\ln``, trigonometric functions at degree arguments (or
    rational multiples of pi), ``\\lfloor``/``\\lceil``, ``\\gcd``/``\\lcm``. Their arguments must be numbers."""

    def __init__(self, toks: list[_Tok], numeric: bool = False, exact: bool = True) -> None:
        self.toks = [*toks, None]  # None: the end (peek is called for nearly every token: no length test)
        self.exact = exact  # rationals as Fraction (see _Fallback); False: every value a sympy object
        self.i = 0
        self.decimal = False
        self.numeric = numeric
        self.trig_depth = 0  # inside a trigonometric argument, where a degree sign is allowed
        self.degrees = False  # a degree sign was read in the current trigonometric argument
        self.symbols = False  # a letter was read (it may cancel: "(4x^2 + y^2) - (4x^2 + y^2)")

    def peek(self) -> _Tok | None:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        if tok is None:
            raise Unparseable("unexpected end")
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        if self.take().text != text:
            raise Unparseable(f"expected {text}")

    def parse(self) -> Fraction | Expr:
        e = self.expr()
        if self.peek() is not None:
            raise Unparseable(f"trailing {self.peek().text}")
        return e

    def number(self, text: str) -> Fraction | Expr:
        """The value of a number token (digits, maybe one decimal point), as ``Rational(text)`` gives it."""
        if not self.exact:
            return Rational(text)
        return Fraction(int(text)) if text.isdigit() else Fraction(text)

    def lift(self, v: Expr) -> Fraction | Expr:
        """A sympy result back to a Fraction where it is a rational (the same value, cheaper from here on)."""
        if self.exact and isinstance(v, Rational):
            return Fraction(int(v.p), int(v.q))
        return v

    def expr(self) -> Expr:
        tok = self.peek()
        if tok is not None and tok.kind == "OP" and tok.text in "+-":
            self.take()
            first = self.term()
            e = -first if tok.text == "-" else first
        else:
            e = self.term()
        terms: list[Expr] | None = None  # once a term is not a rational: the sum's terms, added by one Add
        while (tok := self.peek()) is not None and tok.kind == "OP" and tok.text in "+-":
            self.take()
            t = self.term()
            if terms is None:
                if _is_q(e, t):
                    e = e + t if tok.text == "+" else e - t
                    continue
                terms = [_sym(e)]
            t = _sym(t)
            terms.append(t if tok.text == "+" else -t)
        # ``Add(a, b, c)`` is ``(a + b) + c``: sympy's ``e + t`` and ``e - t`` are ``Add(e, t)`` and ``Add(e, -t)``,
        # and Add's flattening splices a nested sum's terms in and collects like terms and numbers whatever their
        # grouping (sums are never distributed or regrouped, unlike products: the term loop keeps its pairwise Mul)
        return e if terms is None else sympy.Add(*terms)

    def _mentions(self, letter: str) -> bool:
        """Does the parenthesised group starting at the next token contain ``letter``?"""
        depth = 0
        for tok in self.toks[self.i : -1]:
            if tok.kind == "LP":
                depth += 1
            elif tok.kind == "RP":
                depth -= 1
                if depth == 0:
                    return False
            elif tok.kind == "LET" and tok.text == letter:
                return True
        return False

    def _starts_atom(self, tok: _Tok | None) -> bool:
        if tok is None:
            return False
        if tok.kind in ("LET", "LP"):
            return True
        if self.numeric and tok.kind == "CMD" and tok.text[1:] in _NUMERIC_FUNCS:
            return True
        return tok.kind == "CMD" and (tok.text in ("\\frac", "\\sqrt", "\\pi") or tok.text[1:] in _GREEK)

    def term(self) -> Expr:
        e = self.power()
        while True:
            tok = self.peek()
            if tok is not None and tok.kind == "OP" and tok.text in "*/":
                self.take()
                f = self.power()
                if not _is_q(e, f):
                    e, f = _sym(e), _sym(f)
                if tok.text == "/":
                    if f == 0:
                        raise Unparseable("division by zero")
                    e = e / f
                else:
                    e = e * f
            elif self._starts_atom(tok) or (self.numeric and tok is not None and tok.kind == "NUM"
                                            and self.toks[self.i - 1].kind == "FACT"):
                f = self.power()  # implicit product: 2x, x(x+1), (x+1)(x-1), 3\sqrt{2}, 2!3!
                e = e * f if _is_q(e, f) else _sym(e) * _sym(f)
            else:
                return e

    def power(self) -> Expr:
        base = self.atom()
        if self.numeric:
            base = self._postfix(base)
        tok = self.peek()
        if tok is not None and tok.kind == "OP" and tok.text == "^":
            self.take()
            nxt = self.peek()
            if nxt is not None and nxt.kind == "LP":
                exp = self.atom()
            elif nxt is not None and nxt.kind == "NUM":
                # x^23 in LaTeX is x^2 · 3; only a single digit is the exponent
                t = self.take()
                if "." in t.text:
                    raise Unparseable("decimal exponent")
                exp = self.number(t.text[0])
                if len(t.text) > 1:
                    raise Unparseable("ambiguous exponent")
            elif nxt is not None and nxt.kind == "LET":
                exp = self.atom()
            elif nxt is not None and nxt.kind == "OP" and nxt.text == "-":
                raise Unparseable("unbraced negative exponent")
            else:
                raise Unparseable("bad exponent")
            exact = _is_q(base, exp)
            if not exact:
                base, exp = _sym(base), _sym(exp)
            max_exponent = MAX_NUMERIC_EXPONENT if self.numeric else MAX_EXPONENT
            if exact:
                _check_power_q(base, exp, max_exponent)
            elif exp.is_number:
                _check_power(base, exp, max_exponent)
            nxt = self.peek()
            if (isinstance(base, Symbol) and nxt is not None and nxt.text == "(" and not nxt.spaced
                    and not self._mentions(base.name)):
                raise Unparseable("function notation")  # f^{-1}(9), g^2(x)
            if exact:
                if base == 0 and exp <= 0:
                    raise Unparseable("0 to a non-positive power")
                if exp.denominator == 1:
                    return base**exp.numerator  # a Fraction: sympy's power of two Rationals is this rational
                return self.lift(_sym(base) ** _sym(exp))  # a root: sympy's business
            if base == 0 and exp.is_number and exp <= 0:
                raise Unparseable("0 to a non-positive power")
            return base**exp
        return base

    def group(self) -> Expr:
        tok = self.take()
        if tok.kind != "LP":
            if tok.kind == "NUM" and len(tok.text) == 1:  # \frac12
                return self.number(tok.text)
            if tok.kind == "LET" and tok.text not in _RESERVED_LETTERS:
                self.symbols = True
                return Symbol(tok.text)
            raise Unparseable("expected a group")
        e = self.expr()
        self.expect(_CLOSE[tok.text])
        return e

    # --- numeric mode: functions of constant claims ------------------------------------------------------------

    def _postfix(self, base: Expr) -> Expr:
        """``n!`` and the degree sign (only inside a trigonometric argument)."""
        tok = self.peek()
        if tok is not None and tok.kind == "FACT":
            self.take()
            if (nxt := self.peek()) is not None and nxt.kind == "FACT":
                raise Unparseable("double factorial")
            base = _sym(base)
            if not (base.is_Integer and 0 <= base <= MAX_FACTORIAL):
                raise Unparseable("factorial argument")
            base = self.lift(sympy.factorial(base))
            tok = self.peek()
        if tok is not None and tok.text == _DEGREE_TOKEN:
            self.take()
            if not self.trig_depth:
                raise Unparseable("degrees outside a trigonometric function")  # an angle, a unit
            self.degrees = True
            # a rational number of degrees: the Mul (b/180)·pi that (b·pi)/180 gives, in one product instead of two
            base = Rational(base.numerator, base.denominator * 180) * sympy.pi if type(base) is Fraction else (
                _sym(base) * sympy.pi / 180)
        return base

    def _argument(self) -> Expr:
        """A function's argument: a bracketed group, or a bare power (``\\sin 30^\\circ``, ``\\log_2 8``) that must
        not run on into an implicit product whose extent would be a guess (``\\sin 2\\pi``, ``\\log_2 8x``)."""
        tok = self.peek()
        if tok is not None and tok.kind == "LP" and tok.text in "({":
            arg = self.atom()
            if self.numeric:
                arg = self._postfix(arg)
            if (nxt := self.peek()) is not None and nxt.kind == "OP" and nxt.text == "^":
                raise Unparseable("power after a function argument")  # \log(8)^2: of the argument or the value?
            return arg
        arg = self.power()
        nxt = self.peek()
        if nxt is not None and (nxt.kind in ("NUM", "LET", "LP") or nxt.text in ("\\sqrt", "\\frac", "\\pi")):
            raise Unparseable("unclear extent of a function argument")
        return arg

    def _function(self, name: str) -> Expr:
        if name in ("binom", "dbinom", "tbinom"):
            n = _sym(self.group())
            return self.lift(_binomial(n, _sym(self.group())))
        if name in ("lfloor", "lceil"):
            inner = _sym(self.expr())
            self.expect("\\rfloor" if name == "lfloor" else "\\rceil")
            if inner.free_symbols:
                raise Unparseable("floor of a variable")
            return self.lift(sympy.floor(inner) if name == "lfloor" else sympy.ceiling(inner))
        if name in ("gcd", "lcm"):
            self.expect("(")
            args = [_sym(self.expr())]
            while (tok := self.take()).kind == "COMMA":
                args.append(_sym(self.expr()))
            if tok.text != ")" or len(args) < 2 or not all(a.is_Integer and 0 < abs(a) <= 10**MAX_DIGITS for a in args):
                raise Unparseable("gcd/lcm arguments")
            ints = [int(a) for a in args]
            return self.lift(sympy.Integer(math.gcd(*ints) if name == "gcd" else math.lcm(*ints)))
        if name in ("log", "ln"):
            if name == "log":
                if self.take().kind != "SUB":
                    raise Unparseable("logarithm without a base")  # \log 100: base 10 or e?
                base = _sym(self.group())
            else:
                base = sympy.E
            arg = _sym(self._argument())
            if base.free_symbols or arg.free_symbols or not (arg.is_positive and base.is_positive) or base == 1:
                raise Unparseable("logarithm domain")
            return self.lift(sympy.log(arg, base) if name == "log" else sympy.log(arg))
        # trigonometric: \sin x, \sin^2 x (a power of the value), \sin(x)
        exponent = sympy.Integer(1)
        if (tok := self.peek()) is not None and tok.kind == "OP" and tok.text == "^":
            self.take()
            exponent = _sym(self.group())
            if not (exponent.is_Integer and 1 <= exponent <= 4):
                raise Unparseable("trigonometric power")  # \sin^{-1}: the inverse function
        outer = self.degrees
        self.trig_depth += 1
        self.degrees = False
        try:
            arg = _sym(self._argument())
            degrees = self.degrees
        finally:
            self.trig_depth -= 1
            self.degrees = outer
        if arg.free_symbols:
            raise Unparseable("trigonometric function of a variable")
        # radians only at rational multiples of pi: \sin 30 (no degree sign) is a slip or a convention, not ours
        if not degrees and not (arg / sympy.pi).is_Rational:
            raise Unparseable("trigonometric argument without degrees")
        value = _TRIG[name](arg)
        if value.has(sympy.zoo, sympy.nan):
            raise Unparseable("undefined trigonometric value")
        return self.lift(value**exponent)

    def atom(self) -> Expr:
        tok = self.take()
        if tok.kind == "NUM":
            if len(tok.text.replace(".", "")) > MAX_DIGITS:
                raise Unparseable("number too long")
            if "." in tok.text:
                self.decimal = True
            nxt = self.peek()
            if nxt is not None and nxt.kind == "NUM":
                raise Unparseable("two numbers in a row")
            return self.number(tok.text)
        if self.numeric and tok.kind == "LET" and tok.text == "C" and (nxt := self.peek()) is not None and (
                nxt.text == "(" and not nxt.spaced):
            self.take()  # C(n, k): a binomial coefficient (a point would not be equated to a number)
            n = _sym(self.expr())
            if self.take().kind != "COMMA":
                raise Unparseable("expected a comma")
            k = _sym(self.expr())
            self.expect(")")
            return self.lift(_binomial(n, k))
        if tok.kind == "LET":
            if tok.text in _RESERVED_LETTERS:
                raise Unparseable("reserved letter")
            nxt = self.peek()
            if nxt is not None and nxt.kind in ("LET", "NUM") and not nxt.spaced:
                raise Unparseable("letter run or subscript-like digit")  # ab, cm, x2
            if nxt is not None and nxt.text == "(" and not nxt.spaced and not self._mentions(tok.text):
                raise Unparseable("function notation")  # f(3), g(x); but x(x + 1) is a product
            self.symbols = True
            return Symbol(tok.text)
        if tok.kind == "LP":
            e = self.expr()
            if self.numeric and tok.text == "{" and (nxt := self.peek()) is not None and nxt.text == "\\choose":
                self.take()
                k = _sym(self.expr())
                self.expect("}")
                return self.lift(_binomial(_sym(e), k))
            self.expect(_CLOSE[tok.text])
            return e
        if tok.kind == "CMD":
            name = tok.text[1:]
            if name == "frac":
                num = self.group()
                den = self.group()
                if den == 0:
                    raise Unparseable("division by zero")
                return num / den if _is_q(num, den) else _sym(num) / _sym(den)
            if name == "sqrt":
                nxt = self.peek()
                if nxt is not None and nxt.text == "[":
                    self.take()
                    index = _sym(self.expr())
                    self.expect("]")
                    if not (index.is_Integer and 2 <= index <= 10):
                        raise Unparseable("root index")
                    return self.lift(sympy.root(_sym(self.group()), index))
                return self.lift(sympy.sqrt(_sym(self.group())))
            if name == "pi":
                if self.numeric and (nxt := self.peek()) is not None and nxt.text == "(" and not nxt.spaced:
                    raise Unparseable("function notation")  # \pi(n): the prime-counting function
                return sympy.pi
            if name in _GREEK:
                self.symbols = True
                return Symbol(name)
            if self.numeric and name in _NUMERIC_FUNCS:
                return self._function(name)
        raise Unparseable(f"unexpected {tok.text}")


# A letter the tokenizer can read as a variable: one that does not continue a command name (``\\frac``) or another
# letter (a letter run starts with such a letter), or a Greek command. Applied to the raw text: the rewrites before
# tokenizing (_PRE, unwrapping ``\\boxed``) only remove or replace commands, so they add no such letter.
_SYMBOL_LETTER = re.compile(r"(?<![\\A-Za-z])[A-Za-z]|\\(?:" + "|".join(sorted(_GREEK)) + r")(?![A-Za-z])")


def may_have_symbols(text: str) -> bool:
    """False only when no parse of ``text`` (or of a part of it) can hold a variable: a cheap test that lets the
    equation checks skip formulas made of numbers alone without parsing them."""
    return _SYMBOL_LETTER.search(text) is not None


def show_value(v: Expr, digits: int) -> str:
    """An exact value and, when irrational, its decimal value to ``digits`` significant digits (only the decimal
    value when the exact form is long): how the constant checks quote a correct value."""
    exact = sympy.sstr(v)
    if v.is_Rational and len(exact) <= 40:
        return exact
    approx = sympy.sstr(sympy.N(v, digits))
    return approx if len(exact) > 40 else f"{exact} ≈ {approx}"


_PRE = [
    (re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)(?![A-Za-z])\s*"), ""),
    (re.compile(r"\\(?:displaystyle|,|;|!|:| )"), " "),
    (re.compile(r"\\(?:d|t)frac(?![A-Za-z])"), r"\\frac"),
    (re.compile(r"\\(?:cdot|times|ast)(?![A-Za-z])"), "*"),
    (re.compile(r"\\div(?![A-Za-z])"), "/"),
    (re.compile(r"−|–"), "-"),
    (re.compile(r"×|·|⋅"), "*"),
]


# Numeric mode: function names written as words, the degree sign, binomial spellings.
_NUMERIC_PRE = [
    (re.compile(r"\\(?:text|operatorname|mathrm|textrm)\s*\{\s*(gcd|lcm)\s*\}", re.IGNORECASE),
     lambda m: "\\" + m.group(1).lower()),
    (re.compile(r"(?<![\\A-Za-z])(gcd|lcm|GCD|LCM)(?=\s*\()"), lambda m: "\\" + m.group(1).lower()),
    (re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![A-Za-z])|°|\\degree(?![A-Za-z])"), lambda _m: " " + _DEGREE_TOKEN + " "),
]


def parse_latex_expr(text: str, numeric: bool = False) -> tuple[Expr, bool]:
    """One side of an equation as a sympy expression and whether it contains a decimal; raises Unparseable.

    ``numeric`` also reads the functions of constant claims (see :class:`_Parser`) and refuses any letter, even one
    that cancels out.

    Results are memoised by ``(text, numeric)`` (a third of the sides of a benchmark run were parsed before: the
    checks of one step read the same formula, and solutions of one problem repeat them); the parse is a pure
    function of them and a sympy expression is immutable, so a remembered answer is the one a new parse gives. A
    refusal (:class:`Unparseable`) is remembered too and raised afresh; any other error is not remembered."""
    if len(text) > MAX_LINK_CHARS:
        raise Unparseable("too long")  # before the memo, whose keys must stay small
    got = _parse_memo(_memo_key(text), numeric)
    if isinstance(got, Unparseable):
        raise Unparseable(*got.args)
    return got


def _memo_key(text: str) -> str:
    """``text`` without the whitespace at its ends where that gives the same parse, else ``text`` itself: the sides
    of ``a = b`` come as ``"a "`` and ``" b"``, and the same side is written with and without spaces around it.

    The same parse: whitespace only sets the ``spaced`` mark of the token after it, which is read only for a token
    after another one (never the first), and trailing whitespace has no token after it; the rewrites before
    tokenizing read whitespace at the ends only through ``\\ `` (a backslash and a space: a space), so a text
    whose stripped form ends with a backslash keeps its whitespace, and the look-arounds of the rewrites at the
    ends (``(?![A-Za-z])``, ``(?<![\\A-Za-z])``, ``(?=\\s*\\()``) decide the same on whitespace as at the end of
    the text. ``str.strip`` and the patterns' ``\\s`` agree on what whitespace is."""
    key = text.strip()
    return text if key.endswith("\\") else key


@functools.lru_cache(maxsize=8192)
def _parse_memo(text: str, numeric: bool) -> tuple[Expr, bool] | Unparseable:
    try:
        return _parse_latex_expr(text, numeric)
    except Unparseable as e:
        return e.with_traceback(None)  # keep the message, not the parser's frames


def _parse_latex_expr(text: str, numeric: bool) -> tuple[Expr, bool]:
    # every match of the first five rewrites holds a backslash, of the last two a non-ASCII character; none of them
    # brings in a non-ASCII character, and the last two no backslash: most sides ("2x + 3") need none of them
    if "\\" in text:
        for pat, rep in _PRE[:5]:
            text = pat.sub(rep, text)
    if not text.isascii():
        for pat, rep in _PRE[5:]:
            text = pat.sub(rep, text)
    if numeric:
        for pat, fn in _NUMERIC_PRE:
            text = pat.sub(fn, text)
    if not text.strip():
        raise Unparseable("empty")
    toks = _tokenize(text)
    parser = _Parser(toks, numeric)
    try:
        value = parser.parse()
    except _Fallback:
        parser = _Parser(toks, numeric, exact=False)
        value = parser.parse()
    if numeric and parser.symbols:
        raise Unparseable("a variable")
    if type(value) is Fraction:
        return _sym(value), parser.decimal  # a rational: neither infinite nor undefined
    if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise Unparseable("undefined")
    return value, parser.decimal
