"""A step's math as *links* and *connectors*: the reading shared by the equation and constant checkers.

Inside a step, LaTeX math (``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``) and plain-text formulas ("we get 2x + 30 =
110") are read as a sequence of *links* (``A = B = …``) joined by connectors: implications (``\\Rightarrow``,
``\\implies``, ``⟹``, "so", "thus", "hence", "gives", "we get", "solving for x, we get" …), list separators (``,``,
``\\quad``, "and"), "or", and breaks (any other prose). Formulas stacked without words are a derivation unless the
step announces several equations. Link sides are parsed on first use by
:func:`critica.verifiers.symparse.parse_latex_expr`.

:class:`EquationCheck` is the record every check returns. Used by :mod:`critica.verifiers.algebra` (claimed
solutions, consecutive equations, identities) and :mod:`critica.verifiers.constants` (constant claims).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from sympy import Expr

from critica.verifiers.fastre import guarded
from critica.verifiers.keygate import KeywordGate
from critica.verifiers.symparse import Unparseable, parse_latex_expr

# --- a step as links and connectors -----------------------------------------------------------------------------

_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|\$(.+?)\$", re.DOTALL)


def math_spans(step: str) -> list[tuple[int, int, str]]:
    """``(m.start(), m.end(), body)`` for each ``m`` of ``_MATH.finditer(step)``, the body being the group that
    matched, found with ``str.find`` (the regex tried a closing delimiter after every character of every formula).

    The regex's search: a match can start only at a ``$`` or at ``\\[`` / ``\\(``, and at the leftmost such place
    where one does, the first alternative that matches wins: at ``$$``, the nearest ``$$`` at least one character
    later closes it; failing that (or at a single ``$``), the nearest ``$`` at least one character later; at
    ``\\[`` (``\\(``) the nearest ``\\]`` (``\\)``) at least one character later. Where none closes, the search
    goes on one character further; after a match, from its end. A closing delimiter missing from some position on
    is missing from every later one: it is not looked for again, so the scan stays linear in the step's length."""
    out: list[tuple[int, int, str]] = []
    find = step.find
    n = len(step)
    # the next "$", "\\[" and "\\(" at or after pos (-1: none left); whether "$$", "$", "\\]", "\\)" may still close
    dollar, bracket, paren = find("$"), find("\\["), find("\\(")
    dd_open = d_open = bracket_open = paren_open = True
    pos = 0
    while True:
        if 0 <= dollar < pos:
            dollar = find("$", pos)
        if 0 <= bracket < pos:
            bracket = find("\\[", pos)
        if 0 <= paren < pos:
            paren = find("\\(", pos)
        p = n
        if 0 <= dollar < p:
            p = dollar
        if 0 <= bracket < p:
            p = bracket
        if 0 <= paren < p:
            p = paren
        if p == n:
            return out
        end = -1
        if p == dollar:
            if dd_open and step.startswith("$$", p):
                body, end = _closed(step, p, "$$")
                dd_open = end >= 0
            if end < 0 and d_open:
                q = find("$", p + 2)
                if q >= 0:
                    body, end = step[p + 1 : q], q + 1
                else:
                    d_open = False
        elif p == bracket:
            if bracket_open:
                body, end = _closed(step, p, "\\]")
                bracket_open = end >= 0
        elif paren_open:
            body, end = _closed(step, p, "\\)")
            paren_open = end >= 0
        if end < 0:
            pos = p + 1
            continue
        out.append((p, end, body))
        pos = end


def _closed(step: str, p: int, closer: str) -> tuple[str, int]:
    """The body and end of the span that the two-character opener at ``p`` (``$$``, ``\\[``, ``\\(``) starts and
    ``closer`` ends (the closer looked for from ``p + 3``, as the regex's lazy body of at least one character does);
    ``("", -1)`` when none."""
    q = step.find(closer, p + 3)
    return (step[p + 2 : q], q + 2) if q >= 0 else ("", -1)


_IMPLY_CMDS = (
    r"\\Rightarrow|\\implies|\\Longrightarrow|\\longrightarrow|\\rightarrow|\\to(?![A-Za-z])|\\therefore|"
    r"\\Leftrightarrow|\\iff|\\Longleftrightarrow|⟹|⇒|→|⟺|⇔"
)
_IMPLY = re.compile(_IMPLY_CMDS)
# Split points inside math, at bracket depth 0.
_MATH_SPLIT = re.compile(
    rf"(?P<IMPLY>{_IMPLY_CMDS})|(?P<ROW>\\\\)|(?P<COMMA>,|;|\\quad|\\qquad|\\text\s*\{{\s*(?:and|,)\s*\}})"
    r"|(?P<OR>\\text\s*\{\s*or\s*\}|\\(?:lor|vee)(?![A-Za-z]))"
    r"|(?P<IMPLYTXT>\\text\s*\{\s*(?:so|thus|hence|then|therefore|which gives|gives)\s*,?\s*\})"
)
_SPLIT_FIRST = frozenset("\\,;⟹⇒→⟺⇔")
"""Every first character of a :data:`_MATH_SPLIT` match: elsewhere no match is tried."""
_ANY_SPLIT_FIRST = re.compile("[" + re.escape("".join(sorted(_SPLIT_FIRST))) + "]")
_SPLIT_AFTER_BACKSLASH = frozenset("RiLlrtqv\\")
"""The character after the backslash of every :data:`_MATH_SPLIT` match that starts with one (``\\Rightarrow``,
``\\implies``, ``\\Longrightarrow``, ``\\longrightarrow``, ``\\rightarrow``, ``\\to``, ``\\therefore``,
``\\Leftrightarrow``, ``\\iff``, ``\\Longleftrightarrow``, a row break, ``\\quad``, ``\\qquad``, ``\\text``, ``\\lor``,
``\\vee``)."""
_SPLIT_START = re.compile(r"\\(?=[" + re.escape("".join(sorted(_SPLIT_AFTER_BACKSLASH))) + "])|["
                          + re.escape("".join(sorted(_SPLIT_FIRST - {"\\"}))) + "]")
"""Where :func:`_split_scan` stops: a first character of a split point, a backslash only before a character in
:data:`_SPLIT_AFTER_BACKSLASH` (the look-ahead keeps each match one character long, so the next starts right after
it). The other backslashes (``\\frac``, ``\\cdot`` …, most of a LaTeX formula's) start none: a stop there was
skipped before anything was counted."""
_BRACED_COMMA = re.compile(r"(?<=\d)\{,\}(?=\d{3}(?!\d))")
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\{(?:align|aligned|equation|gather|gathered|eqnarray|split)\*?\}")
_TEXTLIKE = re.compile(r"\\(?:text|mathrm|textbf|mbox|textrm|textit|operatorname)\s*\{")
_BOXED = re.compile(r"\\boxed\s*\{")
# Relations and notation that make a link something other than a plain equation.
_NOT_EQUATION = re.compile(
    r"<|>|\\[lg]eq?(?![A-Za-z])|\\[lg]eqslant|\\neq?(?![A-Za-z])|\\approx|\\sim|\\equiv|\\pmod|\\bmod|\\mod|\\mid|"
    r"\\in(?![A-Za-z])|\\cong|\\propto|≤|≥|≠|≈|≡|:|\||!|'|\\circ|\^\s*\{?\s*\\circ|%|\\%|\\cdots|\\ldots|\.\.\.|"
    r"\\infty|\\sum|\\prod|\\int|\\lim|\\log|\\ln|\\sin|\\cos|\\tan|\\binom|\\lfloor|\\lceil|\\vec|\\overline|"
    r"\\angle|\\triangle|\\hat|\\bar|\\dot"
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


# Patterns used on every link or prose piece, compiled once (``re.sub(r"…", …)`` looks the pattern up in re's cache
# on every call).
_END_PUNCT = re.compile(r"[\s.,;:]+$")
"""Sentence punctuation (and whitespace) at the end of a formula."""
_WORDS = re.compile(r"[A-Za-z]+")
_THOUSANDS_AFTER = re.compile(r",\d{3}(?!\d)")
_LETTER = re.compile(r"[A-Za-z]")
_ENDS_ON_OPERATOR = re.compile(r"[-+*/^=×÷(−–]$")
_ONE_SIDED_OPERATOR = re.compile(r"\S\s+[-+−–][\d(A-Za-z]|[\d)A-Za-z][-+−–]\s+\S")


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
    if "{,}" in seg:
        seg = _BRACED_COMMA.sub("", seg)  # 1{,}000
    seg = seg.replace("&", " ")
    if _ANY_SPLIT_FIRST.search(seg) is None:
        # no split point can start anywhere (nor "\\begin"): the scan would find none and give this one link
        return [_make_link(seg)] if seg.strip() else []
    return _split_scan(seg)


def _split_scan(seg: str) -> list[_Link | _Conn]:
    """:func:`_split_math` of a segment whose thousands commas and ``&`` are already handled."""
    out: list[_Link | _Conn] = []
    depth = 0
    start = 0  # where the current link starts
    counted = 0  # brackets before this position are in ``depth`` (those inside a split point taken never are)
    if "\\begin" in seg or "\\end" in seg:
        seg = _ENVIRONMENT.sub(lambda _m: " \\\\ ", seg)
    # Only the first characters of split points are visited, and a split point is tried only at bracket depth 0: the
    # depth there is the brackets opened minus those closed since the last visit (str.count, at C speed), the same
    # running sum a visit of every bracket kept (a Python iteration per brace of a LaTeX formula cost more).
    for c in _SPLIT_START.finditer(seg):
        i = c.start()
        if i < start:
            continue  # inside the split point just taken
        depth += (seg.count("(", counted, i) + seg.count("{", counted, i) + seg.count("[", counted, i)
                  - seg.count(")", counted, i) - seg.count("}", counted, i) - seg.count("]", counted, i))
        counted = i
        if depth == 0:
            m = _MATH_SPLIT.match(seg, i)
            if m and not (m.group() == "," and _thousands_comma(seg, i)):
                out.append(_make_link(seg[start:i]))
                kind = m.lastgroup or "COMMA"
                # rows of an aligned derivation ("2x &= 10 \\\\ x &= 5") follow from each other (see _sequence)
                out.append(_Conn("IMPLY" if kind == "IMPLYTXT" else kind))
                start = counted = m.end()
    out.append(_make_link(seg[start:]))
    out = [p for p in out if not (isinstance(p, _Link) and not p.raw.strip())]
    # separators at the edges of a formula separate nothing ("\\begin{aligned} … \\end{aligned}", a trailing comma)
    while out and isinstance(out[0], _Conn) and out[0].kind != "IMPLY":
        out.pop(0)
    while out and isinstance(out[-1], _Conn) and out[-1].kind != "IMPLY":
        out.pop()
    return out


def _thousands_comma(seg: str, i: int) -> bool:
    return i > 0 and seg[i - 1].isdigit() and _THOUSANDS_AFTER.match(seg, i) is not None


def _make_link(raw: str) -> _Link:
    return _Link(raw.strip())


def _parse_link(raw: str) -> tuple[list[Expr] | None, bool]:
    """The sides of ``A = B = …`` and whether a decimal occurs, or (None, False) when any side is unreadable."""
    text = _strip_wrappers(_END_PUNCT.sub("", raw))  # sentence punctuation at the end of a formula
    if text is None or _NOT_EQUATION.search(text) or "\\pm" in text or "\\mp" in text or "±" in text:
        return None, False
    try:
        parsed = [parse_latex_expr(side) for side in text.split("=")]
    except (Unparseable, ValueError, TypeError, ZeroDivisionError, RecursionError, OverflowError):
        return None, False
    return [p[0] for p in parsed], any(p[1] for p in parsed)


def _prose_conn(prose: str) -> _Conn:
    conn = _prose_kind(prose)
    conn.text = prose
    return conn


def _prose_kind(prose: str) -> _Conn:
    return _Conn(_prose_kind_name(prose))


@functools.lru_cache(maxsize=1024)
def _prose_kind_name(prose: str) -> str:
    """The connector kind of the prose between two formulas (the same few phrases recur in every solution)."""
    return _prose_kind_uncached(prose).kind


def _prose_kind_uncached(prose: str) -> _Conn:
    words = _WORDS.findall(prose.lower())
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
_LISTING_WORDS = ("equations", "system", "pair", "both", "following", "given", "conditions", "cases", "options",
                  "possibilities", "constraints", "relations", "each", "respectively")
# searched in every piece of prose between formulas: behind a keyword pre-test (a match is one of the words)
_LISTING = KeywordGate(guarded(r"\b(?:" + "|".join(_LISTING_WORDS) + r")\b", re.IGNORECASE), _LISTING_WORDS, lead=0)


def _merge(a: _Conn, b: _Conn) -> _Conn:
    for kind in ("BREAK", "IMPLY", "ROW", "OR", "COMMA"):
        if kind in (a.kind, b.kind):
            return _Conn(kind, a.text + b.text)
    return a


# Plain-text formulas ("we get 2x + 30 = 110, so x = 40"): runs of numbers, single letters, operators and brackets.
# A number is possessive (digits, then a decimal part, then the look-ahead's digits are never given back): a shorter
# reading of a number fails the look-ahead whenever the whole one does (its digits and dots are what the look-ahead
# skips), so the tokens are the same, but a run of n digits before two letters costs O(n) per position instead of
# O(n^2) (2,000 digits before "ab" took 10 s, 4,000 over a minute).
_PLAIN_TOKEN = re.compile(r"\d++(?:\.\d++)?+(?![\d.]*+[A-Za-z]{2})|(?<![A-Za-z'])[A-Za-z](?![A-Za-z'])|[-+*/^=×÷()−–]|\s+")


_PLAIN_RUN = re.compile(r"(?!\s)(?:" + _PLAIN_TOKEN.pattern + r")+")
"""A maximal run of :data:`_PLAIN_TOKEN` tokens starting with one that is not whitespace: the tokens one match of
the token pattern after another finds from there (a repetition takes, at each position, the first alternative that
matches, as one match does, and ends where none does), whitespace tokens included."""


def _plain_spans(prose: str) -> list[tuple[int, int]]:
    """Spans of ``prose`` that read as a formula with an ``=`` (and nothing but formula characters).

    Each run of tokens that starts with a non-whitespace token is a candidate, less its trailing whitespace (no
    other token holds whitespace, and ``str.rstrip`` and ``\\s`` agree on what whitespace is); the search for the
    next run starts where one ends, and no run starts inside whitespace."""
    spans: list[tuple[int, int]] = []
    if "=" not in prose:
        return spans
    for m in _PLAIN_RUN.finditer(prose):
        text = m.group().rstrip()
        if "=" in text and _LETTER.search(text):
            start = m.start()
            end = start + len(text)
            if _whole_formula(prose, start, end):
                spans.append((start, end))
    return spans


# Words that make a formula part of a larger expression: "5 times 2x = 20", "2x = 20 more than y".
_GLUE_BEFORE = re.compile(r"(?:\b(?:times|of|plus|minus|by|over|divided|multiplied|half|twice|double|triple|thrice|"
                          r"sqrt|root|than|per|and|or)|[\d$%)\\_^.'])\s*$", re.IGNORECASE)
_GLUE_AFTER = re.compile(r"^\s*(?:[%(\d$\\_^'−–·⋅<>≤≥]|\.\d|(?:times|plus|minus|divided|over|squared|cubed|percent|more|less|"
                         r"fewer|than|per|of)\b)", re.IGNORECASE)


def _glued_before(prose: str, start: int) -> bool:
    """``_GLUE_BEFORE.search(prose[:start])``, reading only the end of the prefix: a match is one glue word (ten
    letters at most) or character, then whitespace to the end, so the last non-space character and the 63 before
    it decide it (the search over the whole prefix made a step with many formulas quadratic)."""
    body = len(prose[:start].rstrip())  # str.rstrip and the pattern's \s strip the same characters
    return _GLUE_BEFORE.search(prose[max(0, body - 64) : start]) is not None


def _whole_formula(prose: str, start: int, end: int) -> bool:
    """Is ``prose[start:end]`` a whole plain-text formula, not a piece of a longer expression written with words?"""
    text = prose[start:end]
    if _ENDS_ON_OPERATOR.search(text) or _glued_before(prose, start) or _GLUE_AFTER.search(prose[end:]):
        return False
    # "-14 = x + 2 -16 = x": an operator spaced on one side only glues two formulas together
    return not _ONE_SIDED_OPERATOR.search(text)


@functools.lru_cache(maxsize=64)
def _segments(step: str) -> list[tuple[bool, str]]:
    """The step as alternating (is_math, text) pieces: LaTeX math, plain-text formulas and prose.

    Remembered for the last steps (the link reading and the prose rewriting check both read a step so); callers
    only read the list."""
    out: list[tuple[bool, str]] = []
    pos = 0

    def prose(text: str) -> None:
        p = 0
        for a, b in _plain_spans(text):
            out.append((False, text[p:a]))
            out.append((True, text[a:b].replace("×", "*").replace("÷", "/")))
            p = b
        out.append((False, text[p:]))

    for start, end, body in math_spans(step):
        text = step[pos:start]
        if "=" in text:
            prose(text)
        else:
            out.append((False, text))  # no plain-text formula without an "=" (see _plain_spans)
        out.append((True, body))
        pos = end
    prose(step[pos:])
    return out


def may_have_links(step: str) -> bool:
    """False only when :func:`_sequence` of ``step`` is surely empty: no ``=`` and no implication anywhere.

    Its links come from math pieces holding an ``=`` or an implication: LaTeX math, a substring of the step closed
    by a delimiter that starts with ``$`` or a backslash (so ``\\to(?![A-Za-z])`` matching in the piece matches in
    the step too), and plain-text formulas, which hold an ``=``."""
    return "=" in step or _IMPLY.search(step) is not None


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
        if "=" not in body and not _IMPLY.search(body):
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


@dataclass
class EquationCheck:
    """One verified relation between equations in a single unknown."""

    kind: str  # "solution" or "chain"
    ok: bool
    message: str
    details: dict = field(default_factory=dict)
