"""Text side of the arithmetic checker: normalisation of LaTeX and plain text, the tokenizer, word classification.

:func:`_normalise` rewrites a step's LaTeX and typography into plain arithmetic text (``\\frac{a}{b}`` becomes
``((a)/(b))``, ``\\times`` becomes ``*``, ``\\text{..}`` is unwrapped, unknown commands become ``\\unknown``).
:func:`_tokenize` splits that text into :class:`_Tok` tokens and :func:`_classify_words` decides, from its neighbours,
what each word is: an operator (``x``/``times`` between numbers, ``of`` after a percentage), ``=`` (``equals``), a
unit to drop (``3 hours``), a variable or scaling word that makes an expression unevaluable (``dozen``, ``squared``),
or plain prose. The word lists here encode those decisions.

Nothing here evaluates anything: values live in :mod:`critica.verifiers.mathexpr`; finding and checking the
asserted computations in :mod:`critica.verifiers.math`. This module depends on neither.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

MAX_STEP_CHARS = 20_000
MAX_DIGITS = 40

# Words that may follow a number as a unit and be dropped. Longer words are accepted by shape (see _is_unit_word);
# short ones only from this list, because short letter runs in math text are usually variables (ab, xy, abc).
_SHORT_UNITS = {
    "cm", "km", "kg", "mg", "ml", "mm", "ft", "lb", "lbs", "oz", "mph", "hr", "hrs", "min", "mins", "sec", "secs",
    "yr", "yrs", "mi", "gb", "mb", "kb", "day", "days", "cup", "cups", "box", "men", "pen", "egg", "eggs", "kid",
    "kids", "toy", "toys", "car", "cars", "cow", "cows", "pig", "pigs", "pie", "pies", "bag", "bags", "can", "cans",
    "jar", "jars", "dog", "dogs", "cat", "cats", "hen", "hens", "usd", "cent", "pts", "pcs", "gal", "qt", "pt",
    "tea", "bus", "van", "way", "ways", "row", "rows", "set", "sets", "lap", "laps", "mile", "inch", "feet", "foot",
}
# Attached directly to a number ("5kg") only these read as units; anything else ("2x", "3rd", "5k") is not a number.
_ATTACHED_UNITS = {"cm", "km", "kg", "mg", "ml", "mm", "ft", "lb", "lbs", "oz", "mph", "hr", "hrs", "min", "mins", "yr", "yrs"}
# Words after a number that change its value or meaning: the expression is skipped.
_MODIFIERS = {
    "dozen", "dozens", "hundred", "hundreds", "thousand", "thousands", "million", "millions", "billion", "billions",
    "trillion", "squared", "cubed", "half", "halves", "third", "thirds", "quarter", "quarters", "fourth", "fourths",
    "fifth", "fifths", "sixth", "tenth", "tenths", "hundredth", "hundredths", "score", "pair", "pairs", "couple",
    "times", "more", "less", "fewer", "minus", "plus", "over", "divided", "choose", "factorial", "mod", "modulo",
    "remainder", "degrees", "degree", "radians", "percent", "percentage", "ratio", "base", "digit", "digits",
}
_SCALERS = {"twice", "double", "triple", "thrice", "quadruple", "fraction", "portion", "part", "parts", "percent",
             "proportion", "share", "rest", "remainder", "each", "most", "some", "all", "none", "one", "two", "three",
             "four", "five", "six", "seven", "eight", "nine", "ten", "multiple", "multiples", "sum", "product"}
# Prose words that cannot sit right before an expression without making it part of something larger.
_FUNCTION_WORDS = {
    "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "lg", "exp", "sqrt", "lcm", "gcd", "mod", "det", "max",
    "min", "floor", "ceil", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "choose", "binom", "root",
    "minus", "plus", "times", "over", "than", "by", "per", "squared", "cubed", "sum", "product", "abs",
}
# Words that take what follows "of"/"to" as an argument: "power of 3/4", "raised to 2 + 1", "square of 3 + 4".
_ARGUMENT_WORDS = {
    "power", "powers", "exponent", "raised", "root", "roots", "square", "cube", "log", "logarithm", "sine", "cosine",
    "tangent", "reciprocal", "inverse", "factorial", "sum", "product",
}
# Prose that ends a multi-word unit ("5 apples then 3 * 4 = 12").
_STOPWORDS = {
    "then", "from", "with", "that", "this", "which", "were", "have", "will", "would", "into", "than", "when", "left",
    "after", "before", "since", "because", "total", "also", "they", "there", "their", "these", "those", "what", "where",
    "while", "each", "every", "gives", "makes", "means", "leaves", "remain", "remaining", "altogether", "together",
    "equals", "minus", "plus", "times", "over", "more", "less", "fewer", "only", "just", "about", "around", "until",
}


@dataclass(slots=True)
class _Tok:
    """One token of normalised text; the parser and the linking code in critica.verifiers.math read these."""

    kind: str  # NUM OP LP RP PCT EQ APPROX WORD UNIT VAR CMD STOP SQRT NL
    text: str
    start: int
    end: int
    value: Fraction | None = None
    spaced: bool = False  # whitespace right before it
    decimals: int = 0
    remainder: Fraction | None = None  # "6 remainder 4": the remainder stated after this quotient


# --- normalisation ----------------------------------------------------------------------------------------------


MAX_BRACE_NESTING = 32
"""Deepest nesting of ``\\frac``/``\\sqrt``/``\\text`` … arguments rewritten; deeper is refused as RecursionError (which
the step check already treats as "nothing checkable"): each level rewrites its whole argument again, so unbounded
nesting cost time quadratic in the step's length. Real solutions nest a few levels."""


def _brace_partners(text: str) -> dict[int, int]:
    """Position of each ``{`` → position of its matching ``}`` (unmatched ones are absent), in one pass."""
    partners: dict[int, int] = {}
    stack: list[int] = []
    for m in re.finditer(r"[{}]", text):
        if m.group() == "{":
            stack.append(m.start())
        elif stack:
            partners[stack.pop()] = m.start()
    return partners


def _replace_braced(text: str, command: str, arity: int, render, depth: int = 0) -> str:
    """Replace ``\\command{a}{b}`` (balanced braces, nested) by ``render(a, b)``; unbalanced input is left as is."""
    if command not in text:
        return text  # no occurrence: nothing to rewrite (most steps use a few of the commands _replace_all tries)
    out = []
    i = 0
    pat = _COMMAND.get(command)
    if pat is None:
        pat = _COMMAND[command] = re.compile(re.escape(command) + r"(?![A-Za-z])\s*")
    partners: dict[int, int] | None = None  # computed once, on the first occurrence (rescanning per occurrence was
    # quadratic on a step of many unclosed "\\sqrt{")
    while True:
        m = pat.search(text, i)
        if not m:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i : m.start()])
        j = m.end()
        args = []
        for _ in range(arity):
            while j < len(text) and text[j] == " ":
                j += 1
            if j < len(text) and text[j] == "{":
                if partners is None:
                    partners = _brace_partners(text)
                k = partners.get(j, len(text))
                if k >= len(text):
                    break
                args.append(text[j + 1 : k])
                j = k + 1
            elif j < len(text) and text[j].isdigit():  # \frac12
                args.append(text[j])
                j += 1
            else:
                break
        if len(args) < arity:
            out.append(" \\unknown ")
            i = j if j > m.end() else m.end()
            continue
        out.append(render(*[_replace_all(a, depth + 1) for a in args]))
        i = j


_COMMAND: dict[str, re.Pattern[str]] = {}
"""``\\command`` not followed by a letter, then spaces: compiled once per command (see _replace_braced)."""


def _replace_all(text: str, depth: int = 0) -> str:
    if depth > MAX_BRACE_NESTING:
        raise RecursionError(f"LaTeX arguments nested more than {MAX_BRACE_NESTING} deep")
    if "\\" not in text:
        return text  # every command below starts with a backslash: none can occur (most steps and arguments)
    # each command is looked for before the call: _replace_braced returns a text without it unchanged
    for cmd in ("\\dfrac", "\\tfrac", "\\frac"):
        if cmd in text:
            text = _replace_braced(text, cmd, 2, _frac, depth)
    if "\\sqrt" in text:
        text = _replace_braced(text, "\\sqrt", 1, _sqrt, depth)
    for cmd in ("\\text", "\\textbf", "\\mathrm", "\\mbox", "\\textrm", "\\textit", "\\boxed", "\\mathbf"):
        if cmd in text:
            text = _replace_braced(text, cmd, 1, _spaced, depth)
    # a named operator is a function applied to what follows: never part of plain arithmetic
    if "\\operatorname" in text:
        text = _replace_braced(text, "\\operatorname", 1, _unknown, depth)
    return text


def _frac(a: str, b: str) -> str:
    return f"(({a})/({b}))"


def _sqrt(a: str) -> str:
    return f" sqrt(({a})) "


def _spaced(a: str) -> str:
    return f" {a} "


def _unknown(_a: str) -> str:
    return " \\unknown "


_SIMPLE = [
    (re.compile(r"<<[^<>]*>>"), " "),
    (re.compile(r"\\left\s*[(\[]|\\bigl?\s*\(|\\Bigl?\s*\("), "("),
    (re.compile(r"\\right\s*[)\]]|\\bigr?\s*\)|\\Bigr?\s*\)"), ")"),
    (re.compile(r"\\left\s*\.|\\right\s*\.|\\left\s*\||\\right\s*\|"), " \\unknown "),
    (re.compile(r"\\(?:times|cdot|ast)(?![A-Za-z])"), " * "),
    (re.compile(r"\\div(?![A-Za-z])"), " / "),
    (re.compile(r"\\(?:approx|simeq|thickapprox|doteq)(?![A-Za-z])"), " ≈ "),
    (re.compile(r"\\[,;:! ]|\\quad|\\qquad|~"), " "),
    (re.compile(r"\\%"), "%"),
    (re.compile(r"\\\$"), "$"),
    (re.compile(r"\{,\}"), ","),
    (re.compile(r"\\(?:dollar|displaystyle|limits)(?![A-Za-z])"), " "),
]
# Strings of which every match of the _SIMPLE pattern at the same position contains one: a text holding none of
# them is left unchanged by that pattern, which is then not run (most steps use few of these commands).
_SIMPLE_TEMPLATES = [rep.replace("\\", "\\\\") for _pat, rep in _SIMPLE]
"""The replacements of _SIMPLE as re templates (a backslash doubled): ``sub`` copies a template without one at C speed,
where a function returning the text was a Python call per match."""
_SIMPLE_NEEDLES = [
    ("<<",), ("\\left", "\\big", "\\Big"), ("\\right", "\\big", "\\Big"), ("\\left", "\\right"),
    ("\\times", "\\cdot", "\\ast"), ("\\div",), ("\\approx", "\\simeq", "\\thickapprox", "\\doteq"),
    ("\\,", "\\;", "\\:", "\\!", "\\ ", "\\quad", "\\qquad", "~"), ("\\%",), ("\\$",), ("{,}",),
    ("\\dollar", "\\displaystyle", "\\limits"),
]
_CHARS = str.maketrans({
    "×": "*", "·": "*", "⋅": "*", "∙": "*", "÷": "/", "−": "-", "–": "-", "—": " — ", "²": "^2", "³": "^3",
    "\u2009": " ", "\u00a0": " ", "\u202f": " ", "＝": "=", "≃": "≈", "≅": "≈",
})
_UNIT_POWER = re.compile(r"(?<=[A-Za-z])[²³]")
_MIXED_FRAC = re.compile(r"(\d)\s*(\\[dt]?frac)")
_FRAC_COMMAND = re.compile(r"\\[dt]?frac")


def _mark_mixed_numbers(text: str) -> str:
    """``_MIXED_FRAC.sub(digit + " \\unknown " + command)``, found from the commands (a few) rather than tried at
    every digit (many in a LaTeX step). A match is a command with a digit right before the whitespace before it
    (``\\d`` and ``\\s`` of a str pattern are str.isdecimal and str.isspace), starting at that digit; two matches
    cannot overlap, since what lies between a match's digit and its command is whitespace."""
    out: list[str] = []
    done = 0
    for m in _FRAC_COMMAND.finditer(text):
        k = m.start()
        while k > done and text[k - 1].isspace():
            k -= 1
        if k > done and text[k - 1].isdecimal():
            out.append(text[done : k - 1])
            out.append(text[k - 1] + " \\unknown " + m.group())
            done = m.end()
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)
_DISPLAY = re.compile(r"\\\[|\\\]|\\\(|\\\)|\$\$")
_DISPLAY_NEEDLES = ("\\[", "\\]", "\\(", "\\)", "$$")
"""The literals _DISPLAY matches: a text holding none is left as it is, without a scan."""


def _display_breaks(text: str) -> str:
    """``_DISPLAY.sub(" \\n ", text)`` by ``str.replace``, one literal at a time (the regex's sub cost ~8 µs a step,
    most steps holding ``\\(``). The same text: no two of the literals overlap (none ends with a character another
    starts with, but "$$" with itself, which both replace left to right), so each occurrence the regex replaces is
    one replace finds, and the replacement holds none of their characters, so it neither makes nor breaks one."""
    for needle in _DISPLAY_NEEDLES:
        if needle in text:
            text = text.replace(needle, " \n ")
    return text
# the look-behind comes after the "(" it checks the character before (the same matches): a pattern that starts
# with a literal is searched for at C speed instead of tried at every position
_WORDS_IN_PARENS = re.compile(r"\((?<=\s\()\s*[A-Za-z][A-Za-z'\- ]*[A-Za-z]\s*\)")


def _normalise(text: str) -> str:
    # Each rewrite below is skipped when the text holds nothing it could match (see _SIMPLE_NEEDLES): the same
    # result, without a scan of the whole step per pattern.
    text = text[:MAX_STEP_CHARS]
    # "500cm³", "12 m²": a superscript on a unit is part of the unit, not a power of the number
    if "²" in text or "³" in text:
        text = _UNIT_POWER.sub("", text)
    if not text.isascii():  # every character _CHARS maps is outside ASCII
        text = text.translate(_CHARS)
    if "\\" in text or "<<" in text or "~" in text or "{,}" in text:
        for (pat, _rep), rep, needles in zip(_SIMPLE, _SIMPLE_TEMPLATES, _SIMPLE_NEEDLES, strict=True):
            for n in needles:
                if n in text:
                    text = pat.sub(rep, text)
                    break
    if "\\" in text:
        if "frac" in text:
            # a mixed number "3\frac{4}{5}" is 3 + 4/5, not 3 * 4/5: refuse rather than guess
            text = _mark_mixed_numbers(text)
        text = _replace_all(text)
    # Display-math delimiters and leftover grouping braces become plain separators / parentheses.
    text = _display_breaks(text)
    text = text.replace("{", "(").replace("}", ")")
    # "7995 (total cookies) - 2595 (rainbow cookies)": parenthesised words annotate a number, they are not factors
    # ... unless an operator precedes them: "6 * (number of cubes) - 4" multiplies by an unknown quantity.
    if "(" in text:
        text = _WORDS_IN_PARENS.sub(
            lambda m: " \\unknown " if text[: m.start()].rstrip()[-1:] in ("*", "/", "+", "-", "^") else " ", text)
    return text


# --- tokenizer --------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    # spaces and tabs before a token are part of its match (one match per token, not one more per gap); every
    # group, look-behind included, still starts where it did, and a text ending in spaces ends in no token.
    # The groups are tried in order of frequency (words first): apart from ELL and NUM (both may start with ".",
    # ELL is tried first) and STOP (any character, tried last), no two can start with the same character, so the
    # order decides no match
    r"[ \t\r]*+(?:"
    r"(?P<WORD>[A-Za-z]+(?:-[a-z]{2,})*(?:'[a-z]+)?)"  # "T-shirts", "x-axis": a hyphen inside a word
    r"|(?P<ELL>\.\.\.|…)"
    # possessive groups: fewer groups always leave ",ddd" next, which the look-ahead refuses, so no match changes, but
    # "1,000,000,…" no longer backtracks through every group from every group
    # (a look-behind is tested after the character it guards, so that an alternative fails on its first character;
    # "\d{1,3}+": giving a digit back would leave a digit, not the "," the group needs, next)
    r"|(?P<NUM>\d{1,3}+(?:,\d{3})++(?:\.\d+)?(?![\d,]\d)|\d+(?:\.\d+)?|\.(?<![\w.]\.)\d+)"
    r"|(?P<NL>\n)"
    r"|(?P<OP>\*\*|[-+*/^])"
    r"|(?P<LP>\()|(?P<RP>\))"
    r"|(?P<EQ>=(?<![<>!=:]=)(?!=))"
    r"|(?P<CMD>\\[A-Za-z]+)"
    r"|(?P<CUR>[$€£¥])"
    r"|(?P<PCT>%)"
    r"|(?P<APPROX>≈)"
    r"|(?P<FACT>!(?<=[\d)]!)(?=\s*[-+*/^)=,$\\]))"
    r"|(?P<STOP>.))",
    re.DOTALL,
)


_PLAIN_KINDS = frozenset({"WORD", "LP", "RP", "STOP", "EQ", "CUR", "PCT", "APPROX", "FACT"})
"""Token kinds taken as matched (the else branch of _lex), tested first."""


_GROUP_KINDS: list[tuple[str, bool]] = [("", False)] * (_TOKEN.groups + 1)
"""By group number (``Match.lastindex``): the group's name and whether it is one of _PLAIN_KINDS."""
for _name, _group in _TOKEN.groupindex.items():
    _GROUP_KINDS[_group] = (_name, _name in _PLAIN_KINDS)


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    _lex(text, 0, toks, -1)
    return _classify_words(toks, text)


def _lex(text: str, pos: int, toks: list[_Tok], stop: int) -> None:
    """Append the unclassified tokens of ``text`` from ``pos`` (a token boundary) to ``toks``, up to and including
    the line break at ``stop`` (-1: to the end)."""
    # the verifier's hottest loop: one pass, locals only. A token is made by object.__new__ and its eight slots set
    # here (the dataclass's __init__ was a Python call per token, about a third of the token's making)
    append = toks.append
    new = object.__new__
    tok = _Tok
    numbers = _NUMBERS
    kinds = _GROUP_KINDS
    for m in _TOKEN.finditer(text, pos):
        # every alternative is a group ending where the match ends (leading spaces are not in it)
        group = m.lastindex
        kind, plain = kinds[group]
        s = m[group]
        end = m.end()
        start = end - len(s)
        t = new(tok)
        t.start = start
        t.end = end
        t.spaced = start > 0 and text[start - 1] in " \t\r\n"
        t.remainder = None
        t.value = None
        t.decimals = 0
        t.text = s
        if plain:
            t.kind = kind  # the most frequent kinds, as the else branch below
        elif kind == "NUM":
            read = numbers.get(s)
            if read is None:
                read = _read_number(s)
            t.kind, t.value, t.decimals = read
        elif kind == "NL":
            t.kind = kind
            if start == stop:
                append(t)
                return
        elif kind == "ELL":
            t.kind = "VAR"  # "1 + 2 + ... + 10", "16.66...": not the whole expression
        elif kind == "OP" and s == "**":
            t.kind = "OP"
            t.text = "^"
        elif kind == "CMD" and s == "\\sqrt":
            t.kind = "SQRT"
        else:
            t.kind = kind
        append(t)


def _read_number(s: str) -> tuple[str, Fraction | None, int]:
    """(kind, value, decimals) of the token for the NUM match ``s``, remembered in :data:`_NUMBERS`."""
    digits = s.replace(",", "")
    if len(digits) > MAX_DIGITS or (digits[0] == "0" and digits[1:2].isdigit()):
        # too long, or a clock time / code with a leading zero ("0900 - 0130")
        read: tuple[str, Fraction | None, int] = ("STOP", None, 0)
    else:
        # the same value as Fraction(digits), without its string parser (a regex per number)
        whole, dot, frac = digits.partition(".")
        value = Fraction(int(whole + frac), 10 ** len(frac)) if dot else Fraction(int(digits))
        read = ("NUM", value, len(frac))
    if len(s) <= 2 * MAX_DIGITS:  # longer ones are read as STOP at once; the table's memory stays bounded
        if len(_NUMBERS) >= NUMBERS_SIZE:
            _NUMBERS.clear()
        _NUMBERS[s] = read
    return read


_NUMBERS: dict[str, tuple[str, Fraction | None, int]] = {}
NUMBERS_SIZE = 4096
"""Number texts whose reading :func:`_lex` keeps (the same few hundred numbers recur, and building a Fraction for
each occurrence was a sixth of the lexer's time). A reading depends on the text alone and a Fraction is immutable,
so tokens may share one. Emptied when full."""


_RELATION_MARK = re.compile(r"[=≈%]|equals", re.IGNORECASE)
"""What every line holding an ``EQ`` or ``APPROX`` token contains: ``=``, ``≈``, the word "equals" (any case), or
"is" after a percentage "of" (a ``%`` on the same line: :func:`_pct_of_before` stops at a line break)."""


def _tokenize_near_relations(text: str) -> list[_Tok]:
    """The tokens of :func:`_tokenize` on the lines that can matter to the arithmetic checker's linking, the
    other lines each cut down to one stand-in token (and its line break).

    A line is kept when it holds a relation mark (:data:`_RELATION_MARK`), follows such a line by one or two
    lines, or holds nothing but spaces and dots. Why the linking finds the same computations in this list
    (``critica.verifiers.math._scan``, which uses it unless a remainder may be attached across lines):

    * tokens are the same: each kept line is lexed from its start, a token boundary (a line break is always a
      token of its own), over the whole text, so look-behinds and look-aheads see what they saw; words are
      classified from their own line only (the previous token at a line start is the line break, and
      :func:`_pct_of_before`, :func:`_unit_run` and the look-ahead stop at line breaks);
    * every ``=`` and its sides, borders, labels and prefixes lie on a kept line (they stop at line breaks);
    * the words read after a stated result (at most three tokens) lie on its line or the next two;
    * between two relations, a stand-in (kind ``STOP``, no text) stands for a line with a character other than
      spaces and dots, whose tokens are never all line breaks or dots either, so a gap reads the same; positions
      keep their order, and the list its first and last token and its emptiness near every kept token.
    """
    if "\n" not in text:
        return _tokenize(text)
    lines = text.split("\n")
    # the lines kept for their own sake: those of a relation mark, and the two after each
    keep = _kept_lines(text, lines)
    toks: list[_Tok] = []
    pos = 0
    block = -1  # where the current run of kept lines starts (lexed in one go when it ends), -1 when none
    for i, line_text in enumerate(lines):
        end = pos + len(line_text)  # the line break's position (or the end of the text)
        if keep[i] or not line_text.strip(" \t\r."):
            if block < 0:
                block = pos
            pos = end + 1
            continue
        if block >= 0:
            _lex(text, block, toks, pos - 1)
            block = -1
        toks.append(_Tok("STOP", "", pos, end, None, False))
        if end < len(text):
            toks.append(_Tok("NL", "\n", end, end + 1, None, end > 0 and text[end - 1] in " \t\r\n"))
        pos = end + 1
    if block >= 0:
        _lex(text, block, toks, -1)
    return _classify_words(toks, text)


def _kept_lines(text: str, lines: list[str]) -> list[bool]:
    """By line of ``text`` (``lines``: its split at line breaks), two more at the end: whether a relation mark
    (:data:`_RELATION_MARK`) stands on it or on one of the two lines before."""
    keep = [False] * (len(lines) + 2)
    if text.isascii() and "equals" not in text.lower():
        # then the marks are the "=" and "%" characters (IGNORECASE pairs only ASCII letters in ASCII text, and "≈"
        # is not ASCII): each line is tested for them at C speed, where the regex made a match object per mark
        for i, line_text in enumerate(lines):
            if "=" in line_text or "%" in line_text:
                keep[i] = keep[i + 1] = keep[i + 2] = True
        return keep
    line, last = 0, 0
    for m in _RELATION_MARK.finditer(text):
        line += text.count("\n", last, m.start())
        last = m.start()
        keep[line] = keep[line + 1] = keep[line + 2] = True
    return keep


def _is_unit_word(w: str) -> bool:
    lw = w.lower()
    if lw in _MODIFIERS or lw in _FUNCTION_WORDS:
        return False
    if lw in _SHORT_UNITS:
        return True
    if lw in _STOPWORDS or lw in ("because", "since", "which", "while"):
        return False
    return len(w) >= 4 and w.replace("-", "").isalpha() and not _VOWELS.isdisjoint(lw) and w[1:].islower()


_VOWELS = frozenset("aeiouy")


_SPECIAL_WORDS = frozenset({"sqrt", "x", "times", "of", "to", "equals", "is", "per"})
_SPECIAL_PREV = frozenset({"PER", "NUM", "PCT", "UNIT", "OP"})


def _classify_words(toks: list[_Tok], text: str) -> list[_Tok]:
    """Turn WORD tokens into operators, units, variables or plain prose, using their neighbours."""
    out: list[_Tok] = []
    has_per = False
    for i, t in enumerate(toks):
        if t.kind != "WORD":
            out.append(t)
            continue
        w = t.text
        lw = w.lower()
        prev = out[-1] if out else None
        if lw not in _SPECIAL_WORDS and (prev is None or prev.kind not in _SPECIAL_PREV):
            # every branch below but the last two needs one of those words or a previous token of those kinds
            t.kind = "VAR" if len(w) == 1 or lw in _MODIFIERS or lw in _FUNCTION_WORDS else "WORD"
            out.append(t)
            continue
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        attached_prev = prev is not None and prev.end == t.start
        prev_num = prev is not None and prev.kind in ("NUM", "RP", "PCT", "UNIT")
        after = toks[i + 2] if nxt is not None and nxt.kind == "CUR" and i + 2 < len(toks) else nxt
        next_num = after is not None and after.kind in ("NUM", "LP")  # "2080 gallons x $0.15"
        if lw == "sqrt" and nxt is not None and nxt.kind == "LP":
            t.kind = "SQRT"
        elif lw in ("x", "times") and prev_num and next_num and not attached_prev:
            t.kind, t.text = "OP", "*"
        elif lw == "of" and prev is not None and prev.kind == "PCT":
            t.kind, t.text = "OP", "*"
        elif lw in ("of", "to") and prev is not None and prev.text.lower() in _ARGUMENT_WORDS:
            t.kind = "VAR"  # "the power of 3/4 equals 8", "raised to 3/4": what follows is an argument, not a value
        elif lw == "of":
            # "a total of 5 * 8" is prose; "half of 5 * 8", "1/2 of 10", "twice of" scale what follows
            scaled = prev is not None and (prev.kind in ("VAR", "NUM", "RP", "UNIT") or prev.text.lower() in _SCALERS)
            t.kind = "VAR" if scaled else "WORD"
        elif lw == "equals":
            t.kind = "EQ"
        elif lw == "is" and _pct_of_before(out):
            t.kind = "EQ"
        elif lw == "per" and prev is not None and prev.kind in ("UNIT", "NUM"):
            t.kind = "PER"
            has_per = True
        elif prev is not None and prev.kind == "PER":
            t.kind = "UNIT" if w.isalpha() else "VAR"
        elif attached_prev and prev is not None and prev.kind == "NUM":
            t.kind = "UNIT" if lw in _ATTACHED_UNITS else "VAR"
        elif prev is not None and prev.kind in ("NUM", "PCT") and _is_unit_word(w):
            t.kind = "UNIT"
        elif (prev is not None and prev.kind == "UNIT" and len(w) >= 4 and lw not in _STOPWORDS and _is_unit_word(w)
              and _unit_run(out) < 3):
            t.kind = "UNIT"  # "36 cheese pizza slices"
        elif prev is not None and prev.kind == "OP" and prev.text == "/" and out[-2:-1] and out[-2].kind in ("UNIT", "NUM") and _is_unit_word(w) and not (nxt is not None and nxt.kind in ("NUM", "LP")):
            # "$35/hour": a per-unit, not a division by a variable
            out.pop()
            t.kind = "UNIT"
        elif len(w) == 1 or lw in _MODIFIERS or lw in _FUNCTION_WORDS:
            t.kind = "VAR"
        else:
            t.kind = "WORD"  # prose
        out.append(t)
    return [t for t in out if t.kind != "PER"] if has_per else out


def _unit_run(out: list[_Tok]) -> int:
    n = 0
    for t in reversed(out):
        if t.kind != "UNIT":
            break
        n += 1
    return n


def _pct_of_before(out: list[_Tok]) -> bool:
    for back, t in enumerate(reversed(out[-8:])):
        if t.kind in ("EQ", "APPROX", "NL", "STOP"):
            return False
        if t.kind == "OP" and t.text == "*" and t.start != t.end and t.text != "":
            # the token's own position (``out.index(t)`` rescanned the whole step for every "is": quadratic); a
            # token spanning text has a start of its own, so no earlier token equals it
            idx = len(out) - 1 - back
            if idx > 0 and out[idx - 1].kind == "PCT":
                return True
    return False
