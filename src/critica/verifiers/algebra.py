"""Equation checks: a step that solves an equation in one unknown and states the solution is checked by substitution.

What is checked. Inside a step, LaTeX math (``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``) is read as a sequence of
*links* (``A = B = …``) joined by connectors: implications (``\\Rightarrow``, ``\\implies``, ``⟹``, "so", "thus",
"hence", "gives", "we get", "solving for x, we get" …), list separators (``,``, ``\\quad``, "and") and "or". Two
patterns are verified exactly with sympy:

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
* **Constant claims** (:func:`numeric_checks`). A link ``A = B (= C …)``, ``A ≈ B`` or ``A ≡ B \\pmod m`` whose
  sides are constants built with functions the arithmetic checker does not read (``\\binom``, ``C(n, k)``, ``n!``,
  roots, ``\\log_b``, ``\\ln``, trigonometric values at degrees or rational multiples of pi, floors, ceilings, gcd,
  lcm, residues, powers, factorisations) is decided exactly (rationals exactly, other constants at 50 digits) and
  flagged at its first false link with the correct value. Decimals and ``≈`` are judged within the shown precision
  (or 2%); integer equalities are not flagged where the problem works with residues.

Precision first: a false alarm costs more than a missed error. Skipped, never guessed: steps that test a guess or
correct themselves ("suppose", "check", "wrong", "extraneous" …), links with any LaTeX this parser does not know
(functions, subscripts, primes, ``\\text`` words, degrees, inequalities, ``≈``, ``≡``, ``\\pmod``, absolute values),
more than one unknown, the letters ``e`` and ``i`` (constants or indices?), claims followed by a condition ("when",
"if", "for"), equations with the unknown under a root or in a non-integer power (extraneous roots are expected
there) and approximate values (decimals within rounding of a true root).

How. A small recursive-descent parser turns whitelisted LaTeX into sympy objects directly (no ``eval``, no
``parse_expr``: anything outside the whitelist is refused instead of being reinterpreted). Sizes are bounded (text
length, digit runs, exponents, polynomial degree) so sympy always works on tiny expressions and cannot stall.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field

import sympy
from sympy import Expr, Rational, Symbol

from critica.types import Item, StepVerdict
from critica.verifiers.base import Finding

__all__ = ["AlgebraVerifier", "check_step", "numeric_checks", "parse_latex_expr", "Unparseable"]

MAX_STEP_CHARS = 20_000
MAX_LINK_CHARS = 240
MAX_DIGITS = 30
MAX_EXPONENT = 60
MAX_DEGREE = 6
MAX_COMPLEX_DEGREE = 8  # equations compared by their complex roots (gcd of polynomials: exact and cheap)
MAX_COMPLEX_COEFF = 10**12

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


@dataclass
class _Tok:
    kind: str
    text: str
    spaced: bool  # whitespace right before it


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
        if kind == "LET":
            text = re.sub(r"[{}\s]", "", text)  # d_{1} and d_1 are one name
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

    def __init__(self, toks: list[_Tok], numeric: bool = False) -> None:
        self.toks = toks
        self.i = 0
        self.decimal = False
        self.numeric = numeric
        self.trig_depth = 0  # inside a trigonometric argument, where a degree sign is allowed
        self.degrees = False  # a degree sign was read in the current trigonometric argument
        self.symbols = False  # a letter was read (it may cancel: "(4x^2 + y^2) - (4x^2 + y^2)")

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise Unparseable("unexpected end")
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        if self.take().text != text:
            raise Unparseable(f"expected {text}")

    def parse(self) -> Expr:
        e = self.expr()
        if self.peek() is not None:
            raise Unparseable(f"trailing {self.peek().text}")
        return e

    def expr(self) -> Expr:
        tok = self.peek()
        if tok is not None and tok.kind == "OP" and tok.text in "+-":
            self.take()
            first = self.term()
            e = -first if tok.text == "-" else first
        else:
            e = self.term()
        while (tok := self.peek()) is not None and tok.kind == "OP" and tok.text in "+-":
            self.take()
            t = self.term()
            e = e + t if tok.text == "+" else e - t
        return e

    def _mentions(self, letter: str) -> bool:
        """Does the parenthesised group starting at the next token contain ``letter``?"""
        depth = 0
        for tok in self.toks[self.i :]:
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
                if tok.text == "/":
                    if f == 0:
                        raise Unparseable("division by zero")
                    e = e / f
                else:
                    e = e * f
            elif self._starts_atom(tok) or (self.numeric and tok is not None and tok.kind == "NUM"
                                            and self.toks[self.i - 1].kind == "FACT"):
                e = e * self.power()  # implicit product: 2x, x(x+1), (x+1)(x-1), 3\sqrt{2}, 2!3!
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
                exp = Rational(t.text[0])
                if len(t.text) > 1:
                    raise Unparseable("ambiguous exponent")
            elif nxt is not None and nxt.kind == "LET":
                exp = self.atom()
            elif nxt is not None and nxt.kind == "OP" and nxt.text == "-":
                raise Unparseable("unbraced negative exponent")
            else:
                raise Unparseable("bad exponent")
            if exp.is_number:
                _check_power(base, exp, MAX_NUMERIC_EXPONENT if self.numeric else MAX_EXPONENT)
            nxt = self.peek()
            if (isinstance(base, Symbol) and nxt is not None and nxt.text == "(" and not nxt.spaced
                    and not self._mentions(base.name)):
                raise Unparseable("function notation")  # f^{-1}(9), g^2(x)
            if base == 0 and exp.is_number and exp <= 0:
                raise Unparseable("0 to a non-positive power")
            return base**exp
        return base

    def group(self) -> Expr:
        tok = self.take()
        if tok.kind != "LP":
            if tok.kind == "NUM" and len(tok.text) == 1:  # \frac12
                return Rational(tok.text)
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
            if not (base.is_Integer and 0 <= base <= MAX_FACTORIAL):
                raise Unparseable("factorial argument")
            base = sympy.factorial(base)
            tok = self.peek()
        if tok is not None and tok.text == _DEGREE_TOKEN:
            self.take()
            if not self.trig_depth:
                raise Unparseable("degrees outside a trigonometric function")  # an angle, a unit
            self.degrees = True
            base = base * sympy.pi / 180
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
            return _binomial(self.group(), self.group())
        if name in ("lfloor", "lceil"):
            inner = self.expr()
            self.expect("\\rfloor" if name == "lfloor" else "\\rceil")
            if inner.free_symbols:
                raise Unparseable("floor of a variable")
            return sympy.floor(inner) if name == "lfloor" else sympy.ceiling(inner)
        if name in ("gcd", "lcm"):
            self.expect("(")
            args = [self.expr()]
            while (tok := self.take()).kind == "COMMA":
                args.append(self.expr())
            if tok.text != ")" or len(args) < 2 or not all(a.is_Integer and 0 < abs(a) <= 10**MAX_DIGITS for a in args):
                raise Unparseable("gcd/lcm arguments")
            ints = [int(a) for a in args]
            return sympy.Integer(math.gcd(*ints) if name == "gcd" else math.lcm(*ints))
        if name in ("log", "ln"):
            if name == "log":
                if self.take().kind != "SUB":
                    raise Unparseable("logarithm without a base")  # \log 100: base 10 or e?
                base = self.group()
            else:
                base = sympy.E
            arg = self._argument()
            if base.free_symbols or arg.free_symbols or not (arg.is_positive and base.is_positive) or base == 1:
                raise Unparseable("logarithm domain")
            return sympy.log(arg, base) if name == "log" else sympy.log(arg)
        # trigonometric: \sin x, \sin^2 x (a power of the value), \sin(x)
        exponent = sympy.Integer(1)
        if (tok := self.peek()) is not None and tok.kind == "OP" and tok.text == "^":
            self.take()
            exponent = self.group()
            if not (exponent.is_Integer and 1 <= exponent <= 4):
                raise Unparseable("trigonometric power")  # \sin^{-1}: the inverse function
        outer = self.degrees
        self.trig_depth += 1
        self.degrees = False
        try:
            arg = self._argument()
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
        return value**exponent

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
            return Rational(tok.text)
        if self.numeric and tok.kind == "LET" and tok.text == "C" and (nxt := self.peek()) is not None and (
                nxt.text == "(" and not nxt.spaced):
            self.take()  # C(n, k): a binomial coefficient (a point would not be equated to a number)
            n = self.expr()
            if self.take().kind != "COMMA":
                raise Unparseable("expected a comma")
            k = self.expr()
            self.expect(")")
            return _binomial(n, k)
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
                k = self.expr()
                self.expect("}")
                return _binomial(e, k)
            self.expect(_CLOSE[tok.text])
            return e
        if tok.kind == "CMD":
            name = tok.text[1:]
            if name == "frac":
                num = self.group()
                den = self.group()
                if den == 0:
                    raise Unparseable("division by zero")
                return num / den
            if name == "sqrt":
                nxt = self.peek()
                if nxt is not None and nxt.text == "[":
                    self.take()
                    index = self.expr()
                    self.expect("]")
                    if not (index.is_Integer and 2 <= index <= 10):
                        raise Unparseable("root index")
                    return sympy.root(self.group(), index)
                return sympy.sqrt(self.group())
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
    that cancels out."""
    if len(text) > MAX_LINK_CHARS:
        raise Unparseable("too long")
    for pat, rep in _PRE:
        text = pat.sub(rep, text)
    if numeric:
        for pat, fn in _NUMERIC_PRE:
            text = pat.sub(fn, text)
    if not text.strip():
        raise Unparseable("empty")
    parser = _Parser(_tokenize(text), numeric)
    expr = parser.parse()
    if numeric and parser.symbols:
        raise Unparseable("a variable")
    if expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise Unparseable("undefined")
    return expr, parser.decimal


# --- a step as links and connectors -----------------------------------------------------------------------------

_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|\$(.+?)\$", re.DOTALL)
_IMPLY_CMDS = (
    r"\\Rightarrow|\\implies|\\Longrightarrow|\\longrightarrow|\\rightarrow|\\to(?![A-Za-z])|\\therefore|"
    r"\\Leftrightarrow|\\iff|\\Longleftrightarrow|⟹|⇒|→|⟺|⇔"
)
# Split points inside math, at bracket depth 0.
_MATH_SPLIT = re.compile(
    rf"(?P<IMPLY>{_IMPLY_CMDS})|(?P<ROW>\\\\)|(?P<COMMA>,|;|\\quad|\\qquad|\\text\s*\{{\s*(?:and|,)\s*\}})"
    r"|(?P<OR>\\text\s*\{\s*or\s*\}|\\(?:lor|vee)(?![A-Za-z]))"
    r"|(?P<IMPLYTXT>\\text\s*\{\s*(?:so|thus|hence|then|therefore|which gives|gives)\s*,?\s*\})"
)
_TEXTLIKE = re.compile(r"\\(?:text|mathrm|textbf|mbox|textrm|textit|operatorname)\s*\{")
_BOXED = re.compile(r"\\boxed\s*\{")
# Relations and notation that make a link something other than a plain equation.
_NOT_EQUATION = re.compile(
    r"<|>|\\[lg]eq?(?![A-Za-z])|\\[lg]eqslant|\\neq?(?![A-Za-z])|\\approx|\\sim|\\equiv|\\pmod|\\bmod|\\mod|\\mid|"
    r"\\in(?![A-Za-z])|\\cong|\\propto|≤|≥|≠|≈|≡|:|\||!|'|\\circ|\^\s*\{?\s*\\circ|%|\\%|\\cdots|\\ldots|\.\.\.|"
    r"\\infty|\\sum|\\prod|\\int|\\lim|\\log|\\ln|\\sin|\\cos|\\tan|\\binom|\\lfloor|\\lceil|\\vec|\\overline|"
    r"\\angle|\\triangle|\\hat|\\bar|\\dot"
)
_CONDITION_AFTER = re.compile(
    r"^\s*[,;]?\s*(?:\(?\s*(?:when|if|for|where|whenever|provided|unless|only|since|because|as long as|assuming|"
    r"is (?:not|extraneous|invalid|rejected)|are (?:not|extraneous)|does not|doesn't|cannot|can't|would|could|"
    r"might|or)\b)",
    re.IGNORECASE,
)
# A step that tests a guess or corrects itself writes false equations on purpose.
_HYPOTHETICAL = re.compile(
    r"\b(?:suppos\w*|assum\w*|guess\w*|try|trying|tried|test\w*|check\w*|verif\w*|plug\w*|incorrect|wrong|mistake\w*|"
    r"errors?|extraneous|reject\w*|discard\w*|invalid|contradict\w*|impossible|not possible|not a (?:valid )?solution|"
    r"not satisf\w*|re-?evaluat\w*|recheck\w*|re-?examin\w*|reconsider\w*|hypothe\w*|counterexample|"
    r"approx\w*|estimat\w*|round\w*|roughly|about|nearly)\b|≈|\\approx",
    re.IGNORECASE,
)
_PROSE_WORDS = {
    "and", "so", "thus", "hence", "therefore", "then", "which", "this", "that", "it", "gives", "give", "giving",
    "yields", "yield", "yielding", "implies", "imply", "we", "get", "obtain", "find", "have", "solving", "solve",
    "solved", "for", "var", "simplifying", "simplify", "simplifies", "to", "dividing", "divide", "multiplying",
    "multiply", "both", "sides", "by", "adding", "add", "subtracting", "subtract", "from", "rearranging",
    "equivalently", "means", "us", "or", "the", "equation", "becomes", "leads", "results", "in", "isolating",
    "further", "finally", "now", "is", "are", "of", "each", "side", "expanding", "factoring", "factorising",
    "factorizing", "combining", "like", "terms", "moving", "all", "one", "collecting", "isolate", "cross",
    "multiplication", "clearing", "denominators", "denominator", "a", "an", "common", "out", "taking", "square",
    "root", "roots", "squaring", "rewrite", "rewriting", "can", "be", "written", "as", "reduces", "reducing",
}
_RESULT = {"get", "gives", "giving", "yields", "yielding", "obtain", "find", "so", "thus", "hence", "therefore"}
_STRONG = {
    "so", "thus", "hence", "therefore", "then", "gives", "giving", "yields", "yielding", "implies", "get", "obtain",
    "find", "solving", "solve", "leads", "simplifies", "results", "simplifying", "dividing",
    "multiplying", "adding", "subtracting", "rearranging", "isolating", "expanding", "factoring", "factorising",
    "factorizing", "combining", "collecting", "taking", "squaring", "reduces", "reducing", "written", "rewriting",
}


@dataclass
class _Link:
    """A run ``A = B = …`` of one math piece; ``sides`` is None when some side could not be parsed.

    Sides are parsed on first use: most formulas are never next to an implication, and parsing is the costly part."""

    raw: str
    after: str = ""  # prose right after the math segment it ends, when it ends one
    _parsed: tuple[list[Expr] | None, bool] | None = field(default=None, repr=False)

    @property
    def sides(self) -> list[Expr] | None:
        if self._parsed is None:
            self._parsed = _parse_link(self.raw)
        return self._parsed[0]

    @property
    def decimal(self) -> bool:
        return self.sides is not None and self._parsed is not None and self._parsed[1]


@dataclass
class _Conn:
    kind: str  # IMPLY, COMMA, OR, BREAK
    text: str = ""  # the prose it was read from, if any


def _strip_wrappers(text: str) -> str | None:
    """Unwrap ``\\boxed{…}``; return None when ``\\text``-like words remain (units, conditions, labels)."""
    while (m := _BOXED.search(text)) is not None:
        depth, j = 0, m.end() - 1
        while j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                break
            j += 1
        if j >= len(text):
            return None
        text = text[: m.start()] + text[m.end() : j] + text[j + 1 :]
    if _TEXTLIKE.search(text):
        return None
    return text


def _split_math(seg: str) -> list[_Link | _Conn]:
    """A math segment as links and connectors, split at depth-0 separators."""
    out: list[_Link | _Conn] = []
    depth = 0
    start = 0
    i = 0
    seg = re.sub(r"(?<=\d)\{,\}(?=\d{3}(?!\d))", "", seg)  # 1{,}000
    seg = seg.replace("&", " ")
    seg = re.sub(r"\\(?:begin|end)\{(?:align|aligned|equation|gather|gathered|eqnarray|split)\*?\}", lambda _m: " \\\\ ", seg)
    while i < len(seg):
        ch = seg[i]
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if depth == 0:
            m = _MATH_SPLIT.match(seg, i)
            if m and not (m.group() == "," and _thousands_comma(seg, i)):
                out.append(_make_link(seg[start:i]))
                kind = m.lastgroup or "COMMA"
                # rows of an aligned derivation ("2x &= 10 \\\\ x &= 5") follow from each other (see _sequence)
                out.append(_Conn("IMPLY" if kind == "IMPLYTXT" else kind))
                i = start = m.end()
                continue
        i += 1
    out.append(_make_link(seg[start:]))
    out = [p for p in out if not (isinstance(p, _Link) and not p.raw.strip())]
    # separators at the edges of a formula separate nothing ("\\begin{aligned} … \\end{aligned}", a trailing comma)
    while out and isinstance(out[0], _Conn) and out[0].kind != "IMPLY":
        out.pop(0)
    while out and isinstance(out[-1], _Conn) and out[-1].kind != "IMPLY":
        out.pop()
    return out


def _thousands_comma(seg: str, i: int) -> bool:
    return i > 0 and seg[i - 1].isdigit() and re.match(r",\d{3}(?!\d)", seg[i:]) is not None


def _make_link(raw: str) -> _Link:
    return _Link(raw.strip())


def _parse_link(raw: str) -> tuple[list[Expr] | None, bool]:
    """The sides of ``A = B = …`` and whether a decimal occurs, or (None, False) when any side is unreadable."""
    text = _strip_wrappers(re.sub(r"[\s.,;:]+$", "", raw))  # sentence punctuation at the end of a formula
    if text is None or _NOT_EQUATION.search(text) or "\\pm" in text or "\\mp" in text or "±" in text:
        return None, False
    try:
        parsed = [parse_latex_expr(side) for side in text.split("=")]
    except (Unparseable, ValueError, TypeError, ZeroDivisionError, RecursionError, OverflowError):
        return None, False
    return [p[0] for p in parsed], any(p[1] for p in parsed)


def _pm_values(raw: str) -> list[Expr] | None:
    """``[x, a + b, a - b]`` for ``x = a \\pm b (= a' \\pm b' …)`` (one ``±`` per side, every side numeric and the
    sides agreeing sign by sign), or None."""
    text = _strip_wrappers(re.sub(r"[\s.,;:]+$", "", raw))
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


def _prose_conn(prose: str) -> _Conn:
    conn = _prose_kind(prose)
    conn.text = prose
    return conn


def _prose_kind(prose: str) -> _Conn:
    words = re.findall(r"[A-Za-z]+", prose.lower())
    if not words:
        stripped = prose.strip()
        if stripped == "":
            return _Conn("ROW")  # one display after another: a derivation, unless the step announces a list
        if stripped in (",", ";"):
            return _Conn("COMMA")
        return _Conn("BREAK")
    if len(words) > 10 or any(w not in _PROSE_WORDS for w in words):
        return _Conn("BREAK")
    if any(w in _STRONG for w in words):
        if any(w in ("solving", "solve") for w in words) and not any(w in _RESULT for w in words):
            return _Conn("BREAK")  # "Solving 2x = 10 …": what follows is the equation to solve, not a result
        return _Conn("IMPLY")
    if words == ["or"]:
        return _Conn("OR")
    if words == ["and"]:
        return _Conn("COMMA")
    return _Conn("BREAK")


# Prose announcing several separate equations ("the pair of equations", "the system", "the following cases"): then
# formulas stacked one after another are a list, not a derivation.
_LISTING = re.compile(r"\b(?:equations|system|pair|both|following|given|conditions|cases|options|possibilities|"
                      r"constraints|relations|each|respectively)\b", re.IGNORECASE)


def _merge(a: _Conn, b: _Conn) -> _Conn:
    for kind in ("BREAK", "IMPLY", "ROW", "OR", "COMMA"):
        if kind in (a.kind, b.kind):
            return _Conn(kind, a.text + b.text)
    return a


# Plain-text formulas ("we get 2x + 30 = 110, so x = 40"): runs of numbers, single letters, operators and brackets.
_PLAIN_TOKEN = re.compile(r"\d+(?:\.\d+)?(?![\d.]*[A-Za-z]{2})|(?<![A-Za-z'])[A-Za-z](?![A-Za-z'])|[-+*/^=×÷()−–]|\s+")


def _plain_spans(prose: str) -> list[tuple[int, int]]:
    """Spans of ``prose`` that read as a formula with an ``=`` (and nothing but formula characters)."""
    spans: list[tuple[int, int]] = []
    if "=" not in prose:
        return spans
    i = 0
    while i < len(prose):
        m = _PLAIN_TOKEN.match(prose, i)
        if m is None or m.group().isspace():
            i = i + 1 if m is None else m.end()
            continue
        j = i
        end = i
        while (m := _PLAIN_TOKEN.match(prose, j)) is not None:
            j = m.end()
            if not m.group().isspace():
                end = j
        text = prose[i:end]
        if "=" in text and re.search(r"[A-Za-z]", text) and _whole_formula(prose, i, end):
            spans.append((i, end))
        i = max(j, i + 1)
    return spans


# Words that make a formula part of a larger expression: "5 times 2x = 20", "2x = 20 more than y".
_GLUE_BEFORE = re.compile(r"(?:\b(?:times|of|plus|minus|by|over|divided|multiplied|half|twice|double|triple|thrice|"
                          r"sqrt|root|than|per|and|or)|[\d$%)\\_^.'])\s*$", re.IGNORECASE)
_GLUE_AFTER = re.compile(r"^\s*(?:[%(\d$\\_^'−–·⋅<>≤≥]|\.\d|(?:times|plus|minus|divided|over|squared|cubed|percent|more|less|"
                         r"fewer|than|per|of)\b)", re.IGNORECASE)


def _whole_formula(prose: str, start: int, end: int) -> bool:
    """Is ``prose[start:end]`` a whole plain-text formula, not a piece of a longer expression written with words?"""
    text = prose[start:end]
    if re.search(r"[-+*/^=×÷(−–]$", text) or _GLUE_BEFORE.search(prose[:start]) or _GLUE_AFTER.search(prose[end:]):
        return False
    # "-14 = x + 2 -16 = x": an operator spaced on one side only glues two formulas together
    return not re.search(r"\S\s+[-+−–][\d(A-Za-z]|[\d)A-Za-z][-+−–]\s+\S", text)


def _segments(step: str) -> list[tuple[bool, str]]:
    """The step as alternating (is_math, text) pieces: LaTeX math, plain-text formulas and prose."""
    out: list[tuple[bool, str]] = []
    pos = 0

    def prose(text: str) -> None:
        p = 0
        for a, b in _plain_spans(text):
            out.append((False, text[p:a]))
            out.append((True, text[a:b].replace("×", "*").replace("÷", "/")))
            p = b
        out.append((False, text[p:]))

    for m in _MATH.finditer(step):
        prose(step[pos : m.start()])
        out.append((True, next(g for g in m.groups() if g is not None)))
        pos = m.end()
    prose(step[pos:])
    return out


@functools.lru_cache(maxsize=64)
def _sequence(step: str) -> tuple[list[_Link | _Conn], str]:
    """The step's math as one sequence of links and connectors (prose between formulas is a connector), and the
    prose before its first formula."""
    seq: list[_Link | _Conn] = []
    prose = ""
    lead: str | None = None
    listing = False
    for is_math, body in _segments(step):
        if not is_math:
            prose += body
            listing = listing or bool(_LISTING.search(body))
            continue
        if "=" not in body and not re.search(_IMPLY_CMDS, body):
            prose += " var "  # "solving for $x$, we get": a bare symbol or number is part of the prose
            continue
        if lead is None:
            lead = prose
        if seq:
            conn = _prose_conn(prose)
            if isinstance(seq[-1], _Conn):  # "… ⇒" then prose: the weakest link decides
                conn = _merge(seq.pop(), conn)
            seq.append(conn)
            last = seq[-2]
            if isinstance(last, _Link):
                last.after = prose
        prose = ""
        parts = _split_math(body)
        if parts and isinstance(parts[0], _Conn) and seq and isinstance(seq[-1], _Conn):
            seq.append(_merge(seq.pop(), parts.pop(0)))
        seq.extend(parts)
    for k, p in enumerate(seq):
        if isinstance(p, _Conn) and p.kind == "ROW":
            # formulas stacked without words: a derivation, unless the step announces several equations
            seq[k] = _Conn("COMMA" if listing else "IMPLY", p.text)
    if seq and isinstance(seq[-1], _Link):
        seq[-1].after = prose
    return seq, lead if lead is not None else prose


# --- checks -----------------------------------------------------------------------------------------------------


@dataclass
class EquationCheck:
    """One verified relation between equations in a single unknown."""

    kind: str  # "solution" or "chain"
    ok: bool
    message: str
    details: dict = field(default_factory=dict)


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
    """Does ``lhs = rhs`` hold at ``x = c``? None when undefined there (a zero denominator) or too close to call."""
    try:
        left = lhs.subs(x, c)
        right = rhs.subs(x, c)
    except (TypeError, ValueError, ZeroDivisionError, RecursionError):
        return None
    if left.has(sympy.zoo, sympy.nan) or right.has(sympy.zoo, sympy.nan):
        return None
    z = _zero(left - right)
    return None if z is None else z


def _polynomial(lhs: Expr, rhs: Expr, x: Symbol, max_degree: int = MAX_DEGREE) -> sympy.Poly | None:
    """``lhs - rhs`` as the numerator polynomial of its reduced fraction (rational coefficients), or None."""
    if _unsafe_for_substitution(lhs, x) or _unsafe_for_substitution(rhs, x):
        return None
    diff = lhs - rhs
    for p in diff.atoms(sympy.Pow):
        if p.has(x) and p.exp.is_Integer and abs(p.exp) > max_degree:
            return None
        if p.exp.has(x):
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
_COMPLEX_CONTEXT = re.compile(r"\\omega|ω|\\zeta|\bcomplex\b|\broots?\s+of\s+unity\b|\bimaginary\b|\bnon-?real\b",
                              re.IGNORECASE)


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


def _check_pair(first: _Link, second: _Link, x: Symbol, complex_context: bool = False) -> EquationCheck | None:
    if first.decimal or second.decimal:
        return None
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
        return EquationCheck("chain", True, f"“{second.raw}” follows from “{first.raw}”")
    r1, r2 = _real_roots(p1) or set(), _real_roots(p2) or set()
    lost = sorted(_fmt(r) for r in r1 - r2)
    gained = sorted(_fmt(r) for r in r2 - r1)
    return EquationCheck(
        "chain", False,
        f"“{first.raw}” does not imply “{second.raw}”: {x} = {', '.join(gained)} solves the second but not the first "
        f"(whose real solutions are {x} = {', '.join(sorted(_fmt(r) for r in r1))})",
        {"from": first.raw, "to": second.raw, "unknown": str(x), "lost": lost, "gained": gained},
    )


_STEP_LABEL = re.compile(r"^\s*(?:step\s*\d+\s*[:.)]|\d+[.)]\s)", re.IGNORECASE)
# Between equations, these words say the second came from outside knowledge, not from the first alone.
_SUBSTITUTION = re.compile(r"\b(?:substitut\w*|plug\w*|replac\w*|using|use|since|because|recall\w*|know|given)\b",
                           re.IGNORECASE)


@functools.lru_cache(maxsize=64)
def _readable(step: str) -> bool:
    return len(step) <= MAX_STEP_CHARS and not _HYPOTHETICAL.search(step)


def step_tail(step: str) -> _Link | None:
    """The step's last formula when the step ends on it (only connecting words after it), else None.

    A next step that opens with "so", "dividing both sides by 3, we get" … continues from it."""
    if not _readable(step):
        return None
    seq, _ = _sequence(step)
    if not seq or not isinstance(seq[-1], _Link):
        return None
    if len(seq) >= 2 and seq[-2].kind in ("OR", "COMMA"):  # type: ignore[union-attr]
        return None  # the last of a list ("x = 2 or x = 3", "x - 5 = 0 or x + 2 = 0") does not stand for the list
    after = seq[-1].after
    words = re.findall(r"[A-Za-z]+", after.lower())
    if any(w not in _PROSE_WORDS for w in words) or re.search(r"[%$]", after):
        return None
    return seq[-1]


def check_step(step: str, before: _Link | None = None) -> list[EquationCheck]:
    """Every claimed solution and every implied equation in ``step`` that could be verified.

    ``before`` is the previous step's closing formula (:func:`step_tail`): when this step opens with connecting
    words only ("So", "Dividing both sides by 2, we get", or nothing), its first formula is read as following it."""
    if not _readable(step):
        return []
    seq, lead = _sequence(step)
    identities = _identity_checks(seq, lead) + _prose_identity_checks(step)
    complex_context = bool(_COMPLEX_CONTEXT.search(step))
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

_REWRITE_CUE = re.compile(
    r"\b(?P<cue>expanding|expand(?:ed|s)?|multiplying\s+out|factoring|factori[sz]ing|factor(?:ed|s)?|simplifying|"
    r"simplif(?:y|ies|ied)(?:\s+to)?|rewrit(?:e|ing|ten)(?:\s+as)?|can\s+be\s+(?:re)?written\s+as|"
    r"combining\s+like\s+terms)\b"
    r"(?P<tail>(?:\s+(?:the|this|that|it|expression|left|right|hand|side|sides|numerator|denominator|product|"
    r"we|get|have|obtain|gives|yields|to|as|which|is|becomes)|\s*,)*)\s*[,:]?\s*$",
    re.IGNORECASE,
)
# The cue must hand over a result ("Expanding, …", "Expanding gives …"), not name what it acts on ("Expanding
# (x+1)^2 = x^2 + 4 gives …" is an equation being expanded).
_HANDS_OVER = re.compile(r"(?:,|:|\b(?:get|have|obtain|gives|yields|to|as|becomes))\s*$", re.IGNORECASE)
_DEFINITION = re.compile(r"\b(?:let|where|define[sd]?|denote[sd]?|set)\b|:=|\\coloneqq|\\equiv|\\sum|\\prod",
                         re.IGNORECASE)
_SAMPLE_POINTS = ((Rational(3, 7), Rational(-5, 3), Rational(11, 4)), (Rational(-2, 9), Rational(13, 5), Rational(7, 3)),
                  (Rational(17, 6), Rational(4, 11), Rational(-9, 5)), (Rational(-23, 8), Rational(6, 13), Rational(19, 7)))


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
    rational points; None when the two disagree or the points are undefined."""
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
    """Total degrees of the numerator and denominator of ``e`` as a reduced fraction, or None."""
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
    try:
        diff = sympy.expand(sympy.cancel(a - b))
    except (sympy.PolynomialError, TypeError, ValueError, RecursionError):
        return False
    return diff.is_number and diff != 0  # as an equation it would have no solution: a rewriting slip


def _identity_checks(seq: list[_Link | _Conn], lead: str) -> list[EquationCheck]:
    """Failed identities in the step's rewritings (see the section comment); identities that hold are not reported."""
    out: list[EquationCheck] = []
    for i, item in enumerate(seq):
        if not isinstance(item, _Link) or len(item.raw) > MAX_LINK_CHARS or item.raw.count("=") < 1:
            continue
        prose = lead if i == 0 else (seq[i - 1].text if isinstance(seq[i - 1], _Conn) else "")
        m = _REWRITE_CUE.search(prose)
        cue_ok = m is not None and _HANDS_OVER.search(prose) is not None
        if item.raw.count("=") < 2 and not cue_ok:
            continue
        if any(_DEFINITION.search(t) for t in (prose, item.raw, item.after)) or _CONDITION_AFTER.search(item.after):
            continue
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
_OPERATING = re.compile(
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
_PART_OF_PHRASE = re.compile(r"\b(?:to|and|or|from|between|by|of|with|plus|minus|times|than|over)\s*$", re.IGNORECASE)
# The right formula is only the start of what is said ("as $(x+1)^2$ minus 2x").
_CONTINUES = re.compile(r"^\s*(?:minus|plus|times|divided|over|multiplied|squared|cubed|[-+*/^×·])", re.IGNORECASE)
_BETWEEN_WORDS = re.compile(r"written|expressed|simplifies|becomes|\bas\b", re.IGNORECASE)


# --- constant claims --------------------------------------------------------------------------------------------
# MATH-level solutions assert many values of functions the arithmetic checker does not read: binomials, factorials
# inside fractions, roots to simplify, logarithms, trigonometric values at degrees, floors, gcd/lcm, residues. A
# link ``A = B`` (``≈``, ``≡ … \pmod m``) whose sides are both constants is decided exactly here. The arithmetic
# checker keeps what it reads: a pair it returns a computation for is left to it.

_NUMERIC_MARKERS = re.compile(
    r"\\sqrt|\\pi|!|\\[dt]?binom|\\choose|\\log|\\ln|\\sin|\\cos|\\tan|\\cot|\\sec|\\csc|\\lfloor|\\lceil|gcd|lcm|"
    r"GCD|LCM|\\equiv|≡|mod|\^|(?<![A-Za-z])C\(")
# A step that tests a guess or corrects itself writes false values on purpose (approximation words are allowed
# here: an approximate claim is judged within its precision). Values substituted into an equation give an equation
# to test, whose falsity points at an earlier step.
_NUMERIC_SKIP = re.compile(
    r"\b(?:suppos\w*|assum\w*|guess\w*|try|trying|tried|test\w*|check\w*|verif\w*|plug\w*|incorrect|wrong|mistake\w*|"
    r"errors?|extraneous|reject\w*|discard\w*|invalid|contradict\w*|impossible|not possible|not a (?:valid )?solution|"
    r"not satisf\w*|re-?evaluat\w*|recheck\w*|re-?examin\w*|reconsider\w*|hypothe\w*|counterexample|false|not true|"
    r"substitut\w*|plug\w*|(?:does not|doesn't|is not|isn't|are not|aren't) (?:equal|hold|work|satisfy|match|correct|"
    r"right))\b",
    re.IGNORECASE,
)
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
    """An exact value and, when irrational, its decimal value (only the decimal value when the exact form is long)."""
    exact = sympy.sstr(v)
    if v.is_Rational and len(exact) <= 40:
        return exact
    approx = sympy.sstr(sympy.N(v, 8))
    return approx if len(exact) > 40 else f"{exact} ≈ {approx}"


def _numeric_sides(raw: str) -> tuple[list[str], list[str], int | None] | None:
    """The sides and relations of a constant claim and its modulus (None: no modulus), or None when the link is
    not one (unknown notation, a relation that is not a claim, a modulus that is unclear)."""
    if _NUMERIC_NOT.search(raw):
        return None
    text = re.sub(r"[\s.,;]+$", "", raw)
    for pat, rep in _MOD_FORMS:
        text = pat.sub(rep, text)
    text = re.sub(r"\\(?:text|operatorname|mathrm|textrm)\s*\{\s*(gcd|lcm)\s*\}", r"\\\1", text, flags=re.IGNORECASE)
    text = _strip_wrappers(text)
    if text is None or _NUMERIC_NOT.search(text) or "=" not in text and not re.search(r"\\equiv|≡|\\approx|≈", text):
        return None
    modulus: int | None = None
    marks = len(_MOD_MARK.findall(text))
    if re.search(r"\\equiv|≡|\\pmod", text):
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


_LETTER = re.compile(r"(?<![\\A-Za-z])(?!C\()[A-Za-z]")


@functools.lru_cache(maxsize=4096)
def _parse_constant(side: str) -> Expr | None:
    if _LETTER.search(side):
        return None  # a variable (commands are skipped by the lookbehind): refused without parsing, which is costly
    try:
        value, _ = parse_latex_expr(side, numeric=True)
    except (Unparseable, ValueError, TypeError, ZeroDivisionError, RecursionError, OverflowError, AttributeError):
        return None
    if value.free_symbols or not value.is_number or value.has(sympy.zoo, sympy.nan) or value.is_real is not True:
        return None
    return value


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
    approximate claims: within ``abs_tol`` or 2%."""
    if abs_tol is None and a.is_Rational and b.is_Rational:
        return a == b
    try:
        va, vb = sympy.N(a, 15), sympy.N(b, 15)
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
        if modulus is None and not _NUMERIC_MARKERS.search(pair):
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
MODULAR_CONTEXT = re.compile(
    r"\bmod(?:ulo|ular|ulus)?\b|\\[pb]?mod(?![A-Za-z])|\bremainders?\b|\bresidues?\b|\bcongruen\w*|"
    r"\b(?:last|units?|ones|final|rightmost|trailing)\s+(?:\w+\s+)?(?:digits?|zeros?|zeroes)\b",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=64)
def numeric_checks(step: str, modular: bool = False) -> list[EquationCheck]:
    """Every constant claim in the step's LaTeX math that could be decided (see the section comment). Never raises
    on any text; steps that test a guess or correct themselves are skipped, and so are formulas asked as questions.
    ``modular``: the problem or an earlier step works with residues (:data:`MODULAR_CONTEXT`); the step's own text
    is looked at too."""
    if len(step) > MAX_STEP_CHARS or not _NUMERIC_MARKERS.search(step) or _NUMERIC_SKIP.search(step):
        return []
    modular = modular or bool(MODULAR_CONTEXT.search(step))
    out: list[EquationCheck] = []
    for m in _MATH.finditer(step):
        body = next(g for g in m.groups() if g is not None)
        if not _NUMERIC_MARKERS.search(body) or re.match(r"\s*\?", step[m.end():]):
            continue  # "Is $\sqrt{50} = 5\sqrt{2}$?" asks, it does not claim
        prev: _Link | None = None
        prev_conn = ""
        for part in _split_math(body):
            if isinstance(part, _Conn):
                prev_conn = part.kind
                continue
            raw = part.raw
            # an aligned derivation continues a row: "\sqrt{72} \\ &= 6\sqrt{2}"
            if prev is not None and prev_conn == "ROW" and re.match(r"\s*(?:=|\\approx|≈|\\equiv|≡)", raw):
                last = _RELATION.split(prev.raw)[-1]
                raw = last + " " + raw
            if not _NUMERIC_MARKERS.search(raw):
                prev, prev_conn = part, ""
                continue
            try:
                out.extend(_numeric_link(raw, modular))
            except Exception:  # noqa: BLE001 - unreadable means unchecked
                pass
            prev, prev_conn = part, ""
    return out


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
            if bad is not None:
                findings.append(Finding(kind="algebra", verdict=StepVerdict.INCORRECT, step=i, message=bad.message,
                                        details={"check": bad.kind, **bad.details, "checked": len(checks)}))
            else:
                kinds = sorted({c.kind for c in checks})
                what = "constant claim(s)" if kinds == ["numeric"] else "equation step(s)"
                findings.append(Finding(
                    kind="algebra", verdict=StepVerdict.CORRECT, step=i,
                    message=f"{len(checks)} {what} check out: " + "; ".join(c.message for c in checks[:3]),
                    details={"check": "+".join(kinds), "checked": len(checks)},
                ))
        return findings
