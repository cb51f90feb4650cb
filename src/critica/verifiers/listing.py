"""Enumeration and number-theory claims in words: listed divisors and primes, their counts, and stated facts.

What is checked, exactly with sympy, in the prose of a step (LaTeX delimiters and ``\\times``/``\\cdot`` read as
plain text):

* **Listings.** "the (positive/proper) divisors (factors) of 36 are 1, 2, 3, …", "the prime factors of 60 are 2, 3,
  5" (a set, or with multiplicity when a factor repeats), "the common factors of 9 and 12 are 1, 3", "the primes
  less than / up to / between a and b are …" ("between": either endpoint may be included), "the first five primes
  are …", "the two-digit primes are …". The listed set must equal the true one; the message names what is missing
  or wrong.
* **Counts of a listing.** "There are 9 such divisors" (or "… 9 divisors", "a total of 9 primes") right after an
  explicit listing (same step, or the next step) of things with the same noun: the count must equal the length of
  the list as written.
* **Stated facts.** "the number of divisors of N is k", "N has k divisors", "the sum of the (proper) divisors of N
  is s", "the sum of the digits of N is s", "the prime factorization of N (or "of K = N") is 2^2 × 3" (without an
  ``=``; the algebra checker reads ``N = 2^2 \\cdot 3``), "N factors as / can be written as 4 × 5203" (the product only),
  "N is (not) prime / composite", "a, b and c are prime", "N is (not)
  divisible by m", "m divides N", "m is a factor of N", "the gcd / lcm of a and b is g" in words. A stated value may
  be a chain ending in a number ("is (2+1)(2+1) = 9": the last member is the claim).

Precision first: a false alarm costs more than a missed error. Skipped, never guessed: lists with an ellipsis,
``±``, negatives, fractions, variables or powers; listings whose subject carries a condition this module does not
read ("the odd divisors", "divisors greater than 5", "the other factors"); claims inside a step that tests a guess
or corrects itself (the skip words of the arithmetic and algebra checkers), claims after "if", "whether", "check"
in the same sentence, and questions; numbers that end an expression ("7 × 13 is not prime" says nothing about 13).
Sizes are capped (factoring up to 10^12, prime ranges up to 10^6) so every check is instant.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from dataclasses import dataclass, field

import sympy

from critica.budget import checkpoint
from critica.types import Item
from critica.verifiers.base import Finding, step_finding
from critica.verifiers.fastre import guarded

__all__ = ["ListingVerifier", "Claim", "find_claims"]

MAX_STEP_CHARS = 20_000
MAX_FACTOR = 10**12  # factoring and divisor lists
MAX_PRIME_RANGE = 10**6  # primerange bounds
MAX_FIRST_PRIMES = 10_000
MAX_PRIMALITY = 10**18
MAX_DIVISIBILITY_DIGITS = 40


@dataclass
class Claim:
    """One checked claim of a step."""

    text: str
    """The claim as written (normalised text)."""
    ok: bool
    message: str
    details: dict = field(default_factory=dict)


# --- text normalisation -------------------------------------------------------------------------------------------

_NORMALISE = [
    (re.compile(r"\\(?:text|textbf|mathrm|mathbf|textit|mbox|operatorname)\s*\{([^{}]*)\}"), r"\1"),
    (re.compile(r"\\boxed\s*\{([^{}]*)\}"), r"\1"),
    (re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)(?![A-Za-z])"), ""),
    (re.compile(r"\\(?:ldots|cdots|dots|dotsc|dotsb)(?![A-Za-z])|\.\.\.|…"), " … "),
    (re.compile(r"\\(?:times|cdot|ast)(?![A-Za-z])|·|⋅"), " × "),
    (re.compile(r"\\(?:pm|mp)(?![A-Za-z])|±|∓"), " ± "),
    (re.compile(r"\\(?:leq?|leqslant)(?![A-Za-z])"), " ≤ "),
    (re.compile(r"\\(?:geq?|geqslant)(?![A-Za-z])"), " ≥ "),
    (re.compile(r"\\(?:quad|qquad)(?![A-Za-z])"), ", "),
    (re.compile(r"\\[,;:! ]"), " "),
    (re.compile(r"\\[{}]"), " "),
    (re.compile(r"\$\$|\$|\\\(|\\\)|\\\[|\\\]|\*\*"), " "),
    (re.compile(r"\^\{\s*(\d+)\s*\}"), r"^\1"),
    (re.compile(r"−|–"), "-"),
    (re.compile(r"[ \t]+"), " "),
    (re.compile(r"(?<=\d) (?=[,;.](?:\s|$))"), ""),  # "$1$, $2$" leaves "1 , 2"
]


_NORMALISE_NEEDLES = [
    ("\\text", "\\math", "\\mbox", "\\operatorname"), ("\\boxed",), ("\\left", "\\right", "\\big", "\\Big"),
    ("dots", "...", "…"), ("\\times", "\\cdot", "\\ast", "·", "⋅"), ("\\pm", "\\mp", "±", "∓"), ("\\le",), ("\\ge",),
    ("quad",), ("\\,", "\\;", "\\:", "\\!", "\\ "), ("\\{", "\\}"), ("$", "\\(", "\\)", "\\[", "\\]", "**"), ("^{",),
    ("−", "–"), ("  ", "\t"), (" ,", " ;", " ."),
]
"""For each rewrite of _NORMALISE, strings of which every match that changes the text contains one (a single space
rewritten as a space changes nothing): a text holding none of them comes out of that rewrite unchanged, which is
then not run. Each is tested on the text as the rewrites before it left it."""


def _normalise(text: str) -> str:
    for (pat, rep), needles in zip(_NORMALISE, _NORMALISE_NEEDLES, strict=True):
        for n in needles:
            if n in text:
                text = pat.sub(rep, text)
                break
    return text


# --- skip rules -----------------------------------------------------------------------------------------------------

def _skip_words() -> str:
    """The hypothesis / self-correction words of the arithmetic and algebra checkers (one place to maintain)."""
    parts = []
    try:
        from critica.verifiers.math import _HYPOTHETICAL as math_skip

        parts.append(math_skip.pattern)
    except ImportError:  # pragma: no cover - the arithmetic module ships with the package
        pass
    try:
        from critica.verifiers.algebra import _NUMERIC_SKIP as algebra_skip

        parts.append(algebra_skip.pattern)
    except ImportError:  # pragma: no cover
        pass
    parts.append(r"\b(?:actually|instead|supposed|incorrectly|mistakenly|recount\w*|double-check\w*)\b")
    return "|".join(f"(?:{p})" for p in parts)


_SKIP = guarded(_skip_words(), re.IGNORECASE)
# A claim after these words in its own sentence is a condition or a question, not an assertion.
_CONDITIONAL = guarded(r"\b(?:if|whether|unless|when|whenever|suppose|assume|check|test|is it|would|could|might|"
                          r"should|cannot|can't|need)\b", re.IGNORECASE)


def _sentence_start(text: str, pos: int) -> int:
    """Start of the sentence (or line) holding ``pos``: the end of the last ``[.!?;](?=\\s)|\\n`` in ``text[:pos]``."""
    needs, ends = _sentence_breaks(text)
    k = bisect.bisect_right(needs, pos)
    return ends[k - 1] if k else 0


@functools.lru_cache(maxsize=16)
def _sentence_breaks(text: str) -> tuple[list[int], list[int]]:
    """Every sentence break of ``text`` once (rescanning the text before each claim was quadratic): the prefix length
    ``text[:pos]`` must have for the break to count (a punctuation mark needs the whitespace after it) and its end,
    both non-decreasing."""
    needs, ends = [], []
    for m in re.finditer(r"[.!?;](?=\s)|\n", text):
        needs.append(m.end() + (m.group() != "\n"))
        ends.append(m.end())
    return needs, ends


def _sentence_end(text: str, pos: int) -> int:
    m = re.compile(r"[.!?;](?=\s|$)|\n").search(text, pos)
    return m.start() if m else len(text)


def _asserted(text: str, start: int, end: int) -> bool:
    """Is the claim at text[start:end] asserted: not after a conditional word in its sentence, not a question?"""
    s0, s1 = _sentence_start(text, start), _sentence_end(text, end)
    if _CONDITIONAL.search(text[s0:start]):
        return False
    return not text[s1 : s1 + 1] == "?"


# --- numbers and lists ----------------------------------------------------------------------------------------------

_WORDS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_ORDINAL_WORDS = "|".join(_WORDS)
_NUM = r"(?<![\w.^/\-±])(\d+)(?![\d^!/]|\.\d|,\d{3}(?!\d))"
_KNUM = rf"(\d+|{_ORDINAL_WORDS})"
# A number that ends an expression ("7 × 13", "2^5", "10 + 5") is not the subject of what follows it.
_OPERATOR_BEFORE = guarded(r"(?:[×*/+\-^!<>≤≥]|\b(?:x|times|plus|minus|over|by|than|to|of|least|most|from|per|"
                              r"and|or|nor|between|exceeds?|except))\s*$", re.IGNORECASE)

_SEP = r"\s*(?:,\s*(?:and\s+|&\s*)?|and\s+|&\s*)"
_LIST = rf"(?P<list>\d+(?:\s*\([^()\n\d]{{1,60}}\))?(?:{_SEP}\d+(?:\s*\([^()\n\d]{{1,60}}\))?)+)"


def _int(s: str) -> int:
    s = s.lower().replace(",", "")
    return _WORDS[s] if s in _WORDS else int(s)


def _list_values(text: str, m: re.Match[str]) -> list[int] | None:
    """The integers of a matched list, or None when the list is not a plain, complete list of integers."""
    body = m.group("list")
    after = text[m.end("list") : m.end("list") + 12]
    # an ellipsis, "etc.", a continuing expression or a decimal after the last element: not a complete list
    if re.match(r"\s*(?:,\s*)?(?:…|etc|and so on|and more|[×*/+^!=<>≤≥\-]|\.\d|\d)", after):
        return None
    if re.search(r",\d{3}(?!\d)", body):
        return None  # "1,024": a thousands separator, not a list
    before = text[max(0, m.start("list") - 3) : m.start("list")]
    if re.search(r"[-±/^]\s*$", before):
        return None
    body = re.sub(r"\s*\([^()]*\)", "", body)
    return [int(x) for x in re.findall(r"\d+", body)]


def _fmt_list(values: list[int] | set[int]) -> str:
    return ", ".join(str(v) for v in sorted(values))


def _diff(listed: list[int], true: set[int]) -> str:
    missing, extra = sorted(true - set(listed)), sorted(set(listed) - true)
    parts = []
    if missing:
        parts.append("missing " + _fmt_list(missing))
    if extra:
        parts.append("wrongly including " + _fmt_list(extra))
    return " and ".join(parts)


# --- the value a claim states ---------------------------------------------------------------------------------------

_VALUE_END = re.compile(r"[.!?;](?=\s|$)|\n\s*\n|,\s+(?=[A-Za-z]{2})|\s\((?=\s*[A-Za-z])|\s(?:since|because|as|so|and|which|where|"
                        r"for|but|when|if)\b")


def _stated_value(text: str, pos: int) -> tuple[int, int] | None:
    """(value, end) of the integer stated from ``pos`` on: a plain number, or the last member of a chain
    "(2+1)(3+1) = 3 × 4 = 12". None when it is not a constant integer read with confidence."""
    m = _VALUE_END.search(text, pos)
    end = m.start() if m else len(text)
    span = text[pos:end].strip().rstrip(",:")
    if not span or len(span) > 200:
        return None
    last = span.split("=")[-1].strip()
    if re.fullmatch(r"\d+", last):
        return int(last), end
    if re.fullmatch(rf"{_ORDINAL_WORDS}", last, re.IGNORECASE):
        return _WORDS[last.lower()], end
    if re.search(r"[A-Za-z]", last.replace("×", "")) or "…" in last or "±" in last:
        return None
    try:
        from critica.verifiers.algebra import parse_latex_expr

        value, decimal = parse_latex_expr(last.replace("×", "*"), numeric=True)
    except Exception:  # noqa: BLE001 - Unparseable and anything sympy raises: not read with confidence
        return None
    if decimal or not value.is_Integer:
        return None
    return int(value), end


# --- listings ------------------------------------------------------------------------------------------------------

# Words right before a listing's subject that restrict it ("the odd divisors", "two-digit primes" is read apart).
_RESTRICTING = {
    "odd", "even", "common", "square", "perfect", "cube", "other", "remaining", "largest", "smallest", "greatest",
    "least", "first", "last", "such", "these", "those", "some", "its", "their", "his", "her", "any", "few", "new",
    "possible", "relevant", "nontrivial", "non-trivial", "trivial", "unique", "distinct", "real", "integer",
    "negative", "positive", "proper", "prime", "composite", "repeated", "larger", "smaller", "two", "three", "four",
    "five", "six", "seven", "eight", "nine", "ten", "of", "digit", "single", "different", "specific", "corresponding",
    "natural", "rational", "polynomial", "linear", "quadratic", "missing", "additional", "extra", "above", "listed",
    "valid", "invalid", "favorable", "favourable", "non", "not",
}

_DIVISOR_LIST = guarded(
    r"(?P<subject>\b(?:the\s+)?(?:(?:only|all)\s+(?:the\s+)?)?"
    r"(?P<adj>(?:(?:positive|natural|integer|whole|distinct|proper|prime)\s+|positive\s+integer\s+)*)"
    r"(?P<noun>divisors|factors)\s+of\s+(?:the\s+number\s+)?" + _NUM.replace("(\\d+)", "(?P<n>\\d+)") + r")"
    r"\s*(?:,\s*(?:which|namely)\s+)?(?:are|is)\s*:?\s*(?:given\s+by\s*:?\s*)?(?:the\s+numbers\s+)?" + _LIST,
    re.IGNORECASE,
)
_COMMON_LIST = guarded(
    r"(?P<subject>\b(?:the\s+)?(?:only\s+)?common\s+(?:positive\s+)?(?P<noun>divisors|factors)\s+of\s+"
    + _NUM.replace("(\\d+)", "(?P<a>\\d+)") + r"\s+and\s+" + _NUM.replace("(\\d+)", "(?P<b>\\d+)") + r")"
    r"\s*are\s*:?\s*" + _LIST,
    re.IGNORECASE,
)
_PRIMES = r"(?P<noun>primes|prime\s+numbers)"
_PRIME_RANGE_LIST = guarded(
    r"(?P<subject>\b(?:the\s+)?(?:(?:only|all)\s+(?:the\s+)?)?" + _PRIMES + r"\s+"
    r"(?P<rel>less\s+than\s+or\s+equal\s+to|smaller\s+than|less\s+than|below|under|up\s+to|at\s+most|not\s+exceeding|"
    r"no\s+(?:greater|larger|more)\s+than|between|from|<|≤)\s*(?P<a>\d+)"
    r"(?:\s+(?:and|to)\s+(?P<b>\d+))?(?:\s*,?\s*\(?(?P<incl>inclusive|exclusive)\)?)?)"
    r"\s*(?:,\s*(?:which|namely)\s+)?are\s*:?\s*" + _LIST,
    re.IGNORECASE,
)
_FIRST_PRIMES_LIST = guarded(
    r"(?P<subject>\b(?:the\s+)?(?:first|(?P<k2>\d+|" + _ORDINAL_WORDS + r")\s+smallest)\s+(?:(?P<k1>\d+|"
    + _ORDINAL_WORDS + r")\s+)?" + _PRIMES + r")\s*are\s*:?\s*" + _LIST,
    re.IGNORECASE,
)
_DIGIT_PRIMES_LIST = re.compile(
    r"(?P<subject>\b(?:the\s+)?(?:(?:only|all)\s+(?:the\s+)?)?(?P<d>one|single|two|three|1|2|3)[- ]digit\s+"
    + _PRIMES + r")\s*are\s*:?\s*" + _LIST,
    re.IGNORECASE,
)


def _restricted(text: str, start: int) -> bool:
    """Does a word right before the subject restrict it ("the odd divisors of", "all two-digit primes")?"""
    before = re.findall(r"[A-Za-z\-]+", text[max(0, start - 30) : start])
    return bool(before) and before[-1].lower() in _RESTRICTING


def _listing_claims(text: str, low: str) -> list[tuple[int, int, str, list[int], Claim | None]]:
    """(start, end, noun, listed values, claim or None when only the list is known) for every listing. ``low``: the
    text in lower case, to skip the patterns whose key word is absent (the regexes are the costly part)."""
    out: list[tuple[int, int, str, list[int], Claim | None]] = []
    divisors, primes = "divisors" in low or "factors" in low, "prime" in low
    for m in _DIVISOR_LIST.finditer(text) if divisors else ():
        values = _list_values(text, m)
        if values is None or _restricted(text, m.start()) or not _asserted(text, m.start(), m.end()):
            continue
        adj = set(m.group("adj").lower().split())
        n = int(m.group("n"))
        claim = None
        if 0 < n <= MAX_FACTOR and adj <= {"positive", "natural", "integer", "whole", "distinct", "proper", "prime"}:
            claim = _check_divisor_list(m.group(0), m.group("subject"), n, adj, m.group("noun").lower(), values)
        out.append((m.start(), m.end(), m.group("noun").lower(), values, claim))
    for m in _COMMON_LIST.finditer(text) if divisors and "common" in low else ():
        values = _list_values(text, m)
        if values is None or _restricted(text, m.start()) or not _asserted(text, m.start(), m.end()):
            continue
        a, b = int(m.group("a")), int(m.group("b"))
        claim = None
        if 0 < a <= MAX_FACTOR and 0 < b <= MAX_FACTOR:
            true = set(sympy.divisors(math.gcd(a, b)))
            claim = _set_claim(m.group(0), values, true, f"the common divisors of {a} and {b}")
        out.append((m.start(), m.end(), m.group("noun").lower(), values, claim))
    for m in _PRIME_RANGE_LIST.finditer(text) if primes else ():
        values = _list_values(text, m)
        if values is None or _restricted(text, m.start()) or not _asserted(text, m.start(), m.end()):
            continue
        claim = _check_prime_range(m, values)
        out.append((m.start(), m.end(), "primes", values, claim))
    for m in _FIRST_PRIMES_LIST.finditer(text) if primes else ():
        values = _list_values(text, m)
        k_text = m.group("k1") or m.group("k2")
        if (values is None or k_text is None or (m.group("k1") and m.group("k2")) or _restricted(text, m.start())
                or not _asserted(text, m.start(), m.end())):
            continue
        k = _int(k_text)
        claim = None
        if 0 < k <= MAX_FIRST_PRIMES:
            true = [sympy.prime(i) for i in range(1, k + 1)]
            claim = _set_claim(m.group(0), values, set(true), f"the first {k} primes")
        out.append((m.start(), m.end(), "primes", values, claim))
    for m in _DIGIT_PRIMES_LIST.finditer(text) if primes else ():
        values = _list_values(text, m)
        if values is None or _restricted(text, m.start()) or not _asserted(text, m.start(), m.end()):
            continue
        d = {"one": 1, "single": 1, "two": 2, "three": 3}.get(m.group("d").lower()) or int(m.group("d"))
        true = set(sympy.primerange(10 ** (d - 1), 10**d))
        claim = _set_claim(m.group(0), values, true, f"the {d}-digit primes")
        out.append((m.start(), m.end(), "primes", values, claim))
    out.sort(key=lambda t: t[0])
    return out


def _set_claim(quote: str, listed: list[int], true: set[int], what: str) -> Claim:
    quote = " ".join(quote.split())
    if len(set(listed)) == len(listed) and set(listed) == true:
        return Claim(quote, True, f"{quote} holds")
    if len(set(listed)) != len(listed) and set(listed) == true:
        return Claim(quote, False, f"“{quote}” lists a number twice: {what} are {_fmt_list(true)}",
                     {"correct": sorted(true), "listed": listed})
    return Claim(quote, False, f"“{quote}” is wrong ({_diff(listed, true)}): {what} are {_fmt_list(true)}",
                 {"correct": sorted(true), "listed": listed})


def _check_divisor_list(quote: str, subject: str, n: int, adj: set[str], noun: str, listed: list[int]) -> Claim | None:
    if "prime" in adj:
        factors = sympy.factorint(n)
        if len(set(listed)) < len(listed):
            # with multiplicity: "the prime factors of 12 are 2, 2, 3"
            if sorted(listed) == sorted(p for p in factors for _ in range(factors[p])):
                return Claim(" ".join(quote.split()), True, f"{quote} holds")
            expected = " × ".join(str(p) for p in sorted(factors) for _ in range(factors[p]))
            return Claim(" ".join(quote.split()), False,
                         f"“{' '.join(quote.split())}” is wrong: {n} = {expected}", {"correct": expected})
        return _set_claim(quote, listed, set(factors), f"the prime factors of {n}")
    true = set(sympy.divisors(n))
    what = f"the divisors of {n}"
    if "proper" in adj:
        # "proper divisors" usually excludes n only; some texts also exclude 1: accept both readings
        if set(listed) == true - {n, 1} and len(set(listed)) == len(listed) and n > 1:
            return Claim(" ".join(quote.split()), True, f"{quote} holds (excluding 1 and {n})")
        true, what = true - {n}, f"the proper divisors of {n}"
    return _set_claim(quote, listed, true, what)


def _check_prime_range(m: re.Match[str], listed: list[int]) -> Claim | None:
    rel = " ".join(m.group("rel").lower().split())
    a, b = int(m.group("a")), m.group("b")
    incl = (m.group("incl") or "").lower()
    if rel in ("between", "from"):
        if b is None:
            return None
        lo, hi = a, int(b)
        if hi > MAX_PRIME_RANGE or lo > hi:
            return None
        inner = set(sympy.primerange(lo + 1, hi))
        ends = {e for e in (lo, hi) if sympy.isprime(e)}
        if rel == "from" or incl == "inclusive":
            must, may = inner | ends, set()
        elif incl == "exclusive":
            must, may = inner, set()
        else:
            must, may = inner, ends  # "between": either endpoint may be meant
        what = f"the primes {'from' if rel == 'from' else 'between'} {lo} and {hi}"
    else:
        if b is not None or a > MAX_PRIME_RANGE:
            return None
        strict = rel in ("smaller than", "less than", "below", "under", "<")
        must, may = set(sympy.primerange(2, a if strict else a + 1)), set()
        what = f"the primes {'less than' if strict else 'up to'} {a}"
    quote = " ".join(m.group(0).split())
    listed_set = set(listed)
    if len(listed_set) == len(listed) and must <= listed_set <= must | may:
        return Claim(quote, True, f"{quote} holds")
    return _set_claim(quote, listed, must | (may & listed_set), what)


# --- counts of a listing ----------------------------------------------------------------------------------------------

_NOUN_GROUP = {"divisors": "divisors", "divisor": "divisors", "factors": "divisors", "factor": "divisors",
               "primes": "primes", "prime": "primes"}
_COUNT = guarded(
    r"\b(?:there\s+(?:are|is)|(?:this|that|which)\s+(?:gives|makes|is|means)(?:\s+us)?|we\s+(?:have|get)|"
    r"(?:a\s+)?total\s+of|for\s+a\s+total\s+of)\s+(?:exactly\s+|a\s+total\s+of\s+)?(?P<k>\d+|" + _ORDINAL_WORDS
    + r")\s+(?P<such>such\s+|distinct\s+|positive\s+|different\s+)?(?P<noun>divisors?|factors?|primes?|"
    r"prime\s+numbers?|numbers?)(?P<after>\s*(?:[.,;:)]|$)|\s+(?:in\s+(?:total|all)|altogether|total|listed|here)\b)",
    re.IGNORECASE,
)


def _count_claims(text: str, lists: list[tuple[int, int, str, list[int]]], carried: tuple[str, list[int]] | None
                  ) -> list[tuple[int, Claim]]:
    """Counts right after a listing ("There are 9 such divisors"): the count must equal the list's length. A count is
    read against the nearest listing before it in the step, or ``carried`` (the last listing of the previous step)
    when the step has none before it; a listing with a repeated number is not counted."""
    out: list[tuple[int, Claim]] = []
    if not lists and carried is None:
        return out
    for m in _COUNT.finditer(text):
        before = [entry for entry in lists if entry[1] <= m.start()]
        if before:
            _, end, noun, values = before[-1]
            if re.search(r"\b(?:are|:)\s*\d", text[end : m.start()]):
                continue  # another list (unchecked) came in between
        elif carried is not None and not re.search(r"\d", text[: m.start()]):
            noun, values = carried
        else:
            continue
        count_noun = m.group("noun").lower().split()[0]
        group = _NOUN_GROUP.get(count_noun)
        if group is None:
            if not m.group("such"):
                continue  # "there are 5 numbers": which numbers? only "such numbers" points back to the list
            group = _NOUN_GROUP[noun]
        if group != _NOUN_GROUP.get(noun) or len(set(values)) != len(values):
            continue
        if not _asserted(text, m.start(), m.end()):
            continue
        k = _int(m.group("k"))
        quote = " ".join(m.group(0).rstrip(".,;:) ").split())
        if k == len(values):
            out.append((m.start(), Claim(quote, True, f"{quote} matches the {len(values)} listed")))
        else:
            out.append((m.start(), Claim(quote, False, f"“{quote}” miscounts the list just given: {_fmt_list(values)} "
                                         f"are {len(values)}, not {k}", {"correct": len(values), "claimed": k})))
    return out


# --- stated facts ----------------------------------------------------------------------------------------------------

_N = r"(?<![\w.^/\-±])(?P<n>\d+)"
_NUMBER_OF_DIVISORS = re.compile(
    r"\bnumber\s+of\s+(?P<adj>(?:positive\s+|distinct\s+|integer\s+|whole\s+|natural\s+|proper\s+|prime\s+)*)"
    r"(?P<noun>divisors|factors)\s+(?:of|for)\s+(?:the\s+number\s+)?" + _N + r"\s+(?:is|equals|=)\s*(?:equal\s+to\s+)?",
    re.IGNORECASE,
)
_HAS_DIVISORS = re.compile(
    _N + r"\s+has\s+(?:exactly\s+|only\s+)?(?P<k>\d+|" + _ORDINAL_WORDS + r")\s+"
    r"(?P<adj>(?:positive\s+|distinct\s+|integer\s+|whole\s+|natural\s+|proper\s+|prime\s+)*)"
    r"(?P<noun>divisors|factors)\b(?!\s+(?:that|which|greater|less|smaller|larger|other|between|in|of|with|from))",
    re.IGNORECASE,
)
_SUM_OF_DIVISORS = re.compile(
    r"(?<!of\s)\b(?:the\s+)?sum\s+of\s+(?:all\s+)?(?:the\s+|its\s+)?(?P<adj>(?:positive\s+|proper\s+|integer\s+)*)"
    r"(?P<noun>divisors|factors)\s+of\s+(?:the\s+number\s+)?" + _N + r"\s+(?:is|equals|=)\s*(?:equal\s+to\s+)?",
    re.IGNORECASE,
)
_DIGIT_SUM = guarded(
    r"(?<!of\s)\b(?:the\s+)?(?:sum\s+of\s+(?:the\s+|its\s+)?digits|digit\s+sum)\s+of\s+(?:the\s+number\s+)?" + _N
    + r"\s+(?:is|equals|=)\s*(?:equal\s+to\s+)?",
    re.IGNORECASE,
)
_FACTORISATION = re.compile(
    # "of 360 is", "of K = 20812 is": a name for the number may stand before it
    r"\bprime\s+factori[sz]ation\s+of\s+(?:[A-Za-z]\s*=\s*)?" + _N + r"\s*(?:is|:)\s*:?\s*",
    re.IGNORECASE,
)
# "20812 factors as 2^2 × 13 × 401": a product claim in words (the "N = …" form is the algebra checker's). Only the
# product is checked here: "can be written as 4 × 5203" does not promise prime factors.
_FACTORS_AS = re.compile(
    _N + r"\s+(?:factors|factorizes|factorises|(?:can|may)\s+be\s+(?:written|expressed|factored|factorized|"
    r"factorised)|is\s+(?:written|expressed))\s+as\s*:?\s*",
    re.IGNORECASE,
)
_IS_PRIME = re.compile(
    _NUM.replace("(\\d+)", "(?P<n>\\d+)") + r"\s+is\s+(?P<neg>not\s+)?(?:(?:also|definitely|clearly|itself)\s+)?"
    r"(?:a\s+)?(?P<what>prime|composite)(?:\s+number)?\b(?!\s*(?:factor|divisor|power|to\b|number\s+of|of\b|[?]))",
    re.IGNORECASE,
)
_ARE_PRIME = re.compile(
    _LIST + r"\s+are\s+(?:both\s+|all\s+)?(?P<neg>not\s+)?(?P<what>primes?|prime\s+numbers|composite)\b"
    r"(?!\s*(?:factors?|divisors?|powers?|to\b|of\b|[?]))",
    re.IGNORECASE,
)
_DIVISIBLE = re.compile(
    _NUM.replace("(\\d+)", "(?P<n>\\d+)") + r"\s+is\s+(?P<neg>not\s+)?(?:(?:also|evenly|exactly|clearly)\s+)?"
    r"(?:divisible\s+by|a\s+multiple\s+of)\s+" + _NUM.replace("(\\d+)", "(?P<m>\\d+)"),
    re.IGNORECASE,
)
_DIVIDES = re.compile(
    _NUM.replace("(\\d+)", "(?P<m>\\d+)") + r"\s+(?P<neg>does\s+not\s+divide|doesn't\s+divide|divides|is\s+not\s+a\s+"
    r"(?:factor|divisor)\s+of|is\s+a\s+(?:factor|divisor)\s+of)\s+(?:the\s+number\s+)?"
    + _NUM.replace("(\\d+)", "(?P<n>\\d+)"),
    re.IGNORECASE,
)
_GCD_WORDS = guarded(
    r"\b(?P<f>gcd|gcf|hcf|lcm|greatest\s+common\s+(?:divisor|factor)|highest\s+common\s+factor|"
    r"least\s+common\s+multiple|lowest\s+common\s+multiple)(?:\s*\((?:gcd|gcf|hcf|lcm)\))?\s+of\s+"
    r"(?P<args>\d+(?:\s*(?:,\s*(?:and\s+)?|and\s+)\d+)+)\s+(?:is|equals|=)\s*(?:equal\s+to\s+)?"
    r"|\b(?P<f2>gcd|lcm)\s*\(\s*(?P<args2>\d+(?:\s*,\s*\d+)+)\s*\)\s+(?:is|equals)\s+",
    re.IGNORECASE,
)


def _subject_ok(text: str, start: int) -> bool:
    """The subject number is not the end of an expression and the claim is asserted."""
    return not _OPERATOR_BEFORE.search(text[max(0, start - 12) : start])


def _fact_claims(text: str, low: str) -> list[tuple[int, Claim]]:
    """(position, claim) of every stated fact; ``low`` (the text in lower case) gates each pattern by its key word."""
    out: list[tuple[int, Claim]] = []
    divisors = "divisors" in low or "factors" in low

    def add(m: re.Match[str], ok: bool, quote_end: int, message: str, details: dict | None = None) -> None:
        quote = " ".join(text[m.start() : quote_end].split()).rstrip(".,;: ")
        out.append((m.start(), Claim(quote, ok, f"{quote} holds" if ok else f"“{quote}” is false: {message}",
                                     details or {})))

    for m in _NUMBER_OF_DIVISORS.finditer(text) if divisors and "number of" in low else ():
        adj = set(m.group("adj").lower().split())
        n = int(m.group("n"))
        stated = _stated_value(text, m.end())
        if stated is None or not 0 < n <= MAX_FACTOR or not _asserted(text, m.start(), m.end()):
            continue
        true = _divisor_count(n, adj)
        if true is None:
            continue
        ok = stated[0] in true
        add(m, ok, stated[1], f"{n} has {_show_set(true)} {' '.join(sorted(adj))} divisors".replace("  ", " "),
            {"correct": sorted(true), "claimed": stated[0]})
    for m in _HAS_DIVISORS.finditer(text) if divisors and " has " in low else ():
        adj = set(m.group("adj").lower().split())
        n = int(m.group("n"))
        if not 0 < n <= MAX_FACTOR or not _subject_ok(text, m.start()) or not _asserted(text, m.start(), m.end()):
            continue
        true = _divisor_count(n, adj)
        if true is None:
            continue
        k = _int(m.group("k"))
        add(m, k in true, m.end(), f"{n} has {_show_set(true)} {' '.join(sorted(adj))} divisors".replace("  ", " "),
            {"correct": sorted(true), "claimed": k})
    for m in _SUM_OF_DIVISORS.finditer(text) if divisors and "sum of" in low else ():
        adj = set(m.group("adj").lower().split())
        n = int(m.group("n"))
        stated = _stated_value(text, m.end())
        if stated is None or not 0 < n <= MAX_FACTOR or not _asserted(text, m.start(), m.end()):
            continue
        total = int(sympy.divisor_sigma(n))
        true_s = total - n if "proper" in adj else total
        add(m, stated[0] == true_s, stated[1], f"the sum is {true_s}", {"correct": true_s, "claimed": stated[0]})
    for m in _DIGIT_SUM.finditer(text) if "digit" in low else ():
        if re.match(r"\s*(?:in\s+)?base\b", text[m.end() : m.end() + 12]) or re.search(r"\bbase\b", text[m.start() : _sentence_end(text, m.end())]):
            continue
        stated = _stated_value(text, m.end())
        if stated is None or not _asserted(text, m.start(), m.end()):
            continue
        digits = sum(int(c) for c in m.group("n"))
        add(m, stated[0] == digits, stated[1], f"the digits of {m.group('n')} sum to {digits}",
            {"correct": digits, "claimed": stated[0]})
    for m in _FACTORISATION.finditer(text) if "factori" in low else ():
        claim = _check_factorisation(text, m)
        if claim is not None:
            out.append((m.start(), claim))
    for m in _FACTORS_AS.finditer(text) if " as" in low else ():
        if _subject_ok(text, m.start()):
            claim = _check_factorisation(text, m, prime=False)
            if claim is not None:
                out.append((m.start(), claim))
    for m in _IS_PRIME.finditer(text) if "prime" in low or "composite" in low else ():
        n = int(m.group("n"))
        if n > MAX_PRIMALITY or not _subject_ok(text, m.start()) or not _asserted(text, m.start(), m.end()):
            continue
        says_prime = (m.group("what").lower() == "prime") != bool(m.group("neg"))
        if m.group("what").lower() == "composite" and n < 2:
            continue  # "1 is not composite": true, but "not prime" readings of it vary
        truth = bool(sympy.isprime(n))
        add(m, says_prime == truth, m.end(), f"{n} is {'prime' if truth else _composite_text(n)}")
    for m in _ARE_PRIME.finditer(text) if ("prime" in low or "composite" in low) and " are " in low else ():
        values = _list_values(text, m)
        if values is None or not _subject_ok(text, m.start()) or not _asserted(text, m.start(), m.end()):
            continue
        if re.search(r"[=\d]\s*$", text[max(0, m.start() - 4) : m.start()]):
            continue
        says_prime = m.group("what").lower().startswith("prime") != bool(m.group("neg"))
        if any(v > MAX_PRIMALITY or (v < 2 and not says_prime) for v in values):
            continue
        wrong = [v for v in values if bool(sympy.isprime(v)) != says_prime]
        msg = "; ".join(f"{v} is {'prime' if sympy.isprime(v) else _composite_text(v)}" for v in wrong)
        add(m, not wrong, m.end(), msg)
    for m in _DIVISIBLE.finditer(text) if "divisible" in low or "multiple of" in low else ():
        claim = _divisibility(text, m, int(m.group("n")), int(m.group("m")), bool(m.group("neg")))
        if claim is not None:
            out.append((m.start(), claim))
    for m in _DIVIDES.finditer(text) if "divide" in low or "factor of" in low or "divisor of" in low else ():
        neg = "not" in m.group("neg").lower() or "n't" in m.group("neg").lower()
        claim = _divisibility(text, m, int(m.group("n")), int(m.group("m")), neg)
        if claim is not None:
            out.append((m.start(), claim))
    for m in _GCD_WORDS.finditer(text) if any(w in low for w in ("gcd", "gcf", "hcf", "lcm", "common")) else ():
        name = (m.group("f") or m.group("f2")).lower()
        args = [int(x) for x in re.findall(r"\d+", m.group("args") or m.group("args2"))]
        stated = _stated_value(text, m.end())
        if stated is None or len(args) > 6 or any(a <= 0 or a > 10**30 for a in args):
            continue
        if not _asserted(text, m.start(), m.end()) or _OPERATOR_BEFORE.search(text[max(0, m.start() - 6) : m.start()]):
            continue
        is_lcm = name.startswith(("lcm", "least", "lowest"))
        true_v = math.lcm(*args) if is_lcm else math.gcd(*args)
        kind = "lcm" if is_lcm else "gcd"
        add(m, stated[0] == true_v, stated[1], f"{kind}({', '.join(map(str, args))}) = {true_v}",
            {"correct": true_v, "claimed": stated[0]})
    return out


def _show_set(values: set[int]) -> str:
    return " or ".join(str(v) for v in sorted(values))


def _composite_text(n: int) -> str:
    if n < 2:
        return "neither prime nor composite"
    f = sympy.factorint(n) if n <= MAX_FACTOR else None
    if not f:
        return "not prime"
    return "not prime: " + f"{n} = " + " × ".join(f"{p}^{e}" if e > 1 else str(p) for p, e in sorted(f.items()))


def _divisor_count(n: int, adj: set[str]) -> set[int] | None:
    """The accepted values of "the number of <adj> divisors of n"; None when the adjectives are not read."""
    if not adj <= {"positive", "distinct", "integer", "whole", "natural", "proper", "prime"}:
        return None
    if "prime" in adj:
        f = sympy.factorint(n)
        # "prime factors" may be counted with multiplicity unless "distinct" says otherwise
        return {len(f)} if "distinct" in adj else {len(f), sum(f.values())}
    count = int(sympy.divisor_count(n))
    if "proper" in adj:
        return {count - 1, count - 2} if n > 1 else {0}  # proper: without n (some texts also drop 1)
    return {count}


def _divisibility(text: str, m: re.Match[str], n: int, d: int, neg: bool) -> Claim | None:
    if d == 0 or len(str(n)) > MAX_DIVISIBILITY_DIGITS:
        return None
    if not _subject_ok(text, m.start()) or not _asserted(text, m.start(), m.end()):
        return None
    tail = text[m.end() : _sentence_end(text, m.end())]
    if re.match(r"\s*(?:and|or|,|nor)\s*\d|\s*(?:with|leaving)\b", tail) or re.search(r"\bremainder\b", tail):
        return None  # "divisible by 2 and 3", "with a remainder": more than this pair is said
    if re.match(r"\s*(?:[×*/+\-^!]|(?:minus|plus|times|squared|cubed|to\s+the)\b)", tail):
        return None  # "divisible by 2^3", "a multiple of 3 × 5"
    holds = n % d == 0
    quote = " ".join(m.group(0).split())
    if holds != neg:
        return Claim(quote, True, f"{quote} holds")
    q, r = divmod(n, d)
    why = f"{n} = {d} × {q}" if holds else f"{n} = {d} × {q} + {r}"
    return Claim(quote, False, f"“{quote}” is false: {why}", {"remainder": r})


_FACTOR_TERM = re.compile(r"^\s*(\d+)\s*(?:\^\s*\(?\s*(\d+)\s*\)?)?\s*$")


def _check_factorisation(text: str, m: re.Match[str], prime: bool = True) -> Claim | None:
    """"the prime factorization of N is 2^2 × 3 × 5": the product must be N and (``prime``) every base prime. Forms
    with an ``=`` are the algebra checker's (it reads "N = 2^2 \\cdot 3"), so they are skipped here."""
    n = int(m.group("n"))
    if not 1 < n <= MAX_FACTOR or not _asserted(text, m.start(), m.end()):
        return None
    end_m = re.compile(r"[.!?;,](?=\s|$)|\n|\s(?:since|because|as|so|and|which|where|for|but|when|if|,)\b|\s(?!times\b)[A-Za-z]{2,}\b").search(text, m.end())
    end = end_m.start() if end_m else len(text)
    span = text[m.end() : end].strip()
    if not span or "=" in span or len(span) > 120:
        return None
    terms = re.split(r"×|\*|\btimes\b|(?<=[\d)])\s*x\s*(?=\d)", span)
    product, bases = 1, []
    for t in terms:
        tm = _FACTOR_TERM.match(t)
        if tm is None:
            return None
        base, exp = int(tm.group(1)), int(tm.group(2) or 1)
        if exp > 64 or base > MAX_FACTOR:
            return None
        product *= base**exp
        bases.append(base)
    if len(terms) < 2 and (bases[0] == n or not re.search(r"\^", span)):
        return None  # a single number ("is 17", "is simply 2"): prime or a word, not a factorisation to read
    quote = " ".join(text[m.start() : end].split())
    true = " × ".join(f"{p}^{e}" if e > 1 else str(p) for p, e in sorted(sympy.factorint(n).items()))
    if product != n:
        return Claim(quote, False, f"“{quote}” is false: the product is {product}, and {n} = {true}",
                     {"correct": true, "product": product})
    if not prime:
        return Claim(quote, True, f"{quote} holds")
    bad = [b for b in bases if not sympy.isprime(b)]
    if bad:
        return Claim(quote, False, f"“{quote}” is not a prime factorization: {_fmt_list(set(bad))} not prime; "
                     f"{n} = {true}", {"correct": true})
    return Claim(quote, True, f"{quote} holds")


# --- the verifier ----------------------------------------------------------------------------------------------------

# Every claim read here names one of these words; a step without any (most steps) costs a few substring tests.
_KEYWORDS = ("divis", "divide", "factor", "prime", "composite", "multiple", "gcd", "gcf", "hcf", "lcm", "common", "digit",
             "written as", "expressed as")
_DIGIT = re.compile(r"\d")


def find_claims(step: str, carried: tuple[str, list[int]] | None = None) -> tuple[list[Claim], tuple[str, list[int]] | None]:
    """(checked claims in order, the step's last listing to carry to the next step). Never raises."""
    if len(step) > MAX_STEP_CHARS or not _DIGIT.search(step):
        return [], None
    low = step.lower()
    if not any(map(low.__contains__, _KEYWORDS)) and (carried is None or "such" not in low):
        return [], None
    text = _normalise(step)
    low = text.lower()
    try:
        listings = _listing_claims(text, low)
    except Exception:  # noqa: BLE001 - unreadable means unchecked
        listings = []
    last = (listings[-1][2], listings[-1][3]) if listings else None
    claims: list[tuple[int, Claim]] = [(s, c) for s, _, _, _, c in listings if c is not None]
    try:
        claims += _fact_claims(text, low)
    except Exception:  # noqa: BLE001
        pass
    try:
        claims += _count_claims(text, [(s, e, noun, v) for s, e, noun, v, _ in listings], carried)
    except Exception:  # noqa: BLE001
        pass
    if claims and _SKIP.search(step):
        return [], last  # a step that tests a guess or corrects itself (searched last: the pattern is long)
    claims.sort(key=lambda t: t[0])
    return [c for _, c in claims], last


class ListingVerifier:
    """Flags steps that list divisors or primes wrongly, miscount a list just given, or state a false
    number-theoretic fact in words (divisor counts and sums, digit sums, primality, divisibility, gcd/lcm)."""

    name = "listing"

    def check(self, item: Item, steps: list[str]) -> list[Finding]:
        """One finding per step with a checked claim: ``incorrect`` quoting the first false one and the correct
        value, else ``correct``. Steps with nothing checkable get no finding."""
        findings: list[Finding] = []
        carried: tuple[str, list[int]] | None = None
        for i, step in enumerate(steps):
            checkpoint()  # stops here once the item is over its time budget
            try:
                claims, carried = find_claims(step, carried)
            except Exception:  # noqa: BLE001 - a verifier must not raise on any text
                claims, carried = [], None
            if not claims:
                continue
            bad = next((c for c in claims if not c.ok), None)
            findings.append(step_finding(
                "listing", i, len(claims), "listing/number claim(s)", [c.text for c in claims[:3]],
                None if bad is None else (bad.message, {"claim": bad.text, **bad.details}),
            ))
        return findings
