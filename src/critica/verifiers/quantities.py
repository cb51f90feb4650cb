"""Unit check for word-problem solutions: a rate per one time unit multiplied by an amount of another.

Many first errors in grade-school solutions are a wrong setup rather than false arithmetic. One of them can be read
off the text without understanding the problem: a rate per one time unit times an amount in a different time unit,
with nothing converting between them ("50 km/hr * 3 days = 150 km", "20 coins per month, so in 10 years he saves
20 * 10 = 200 coins"). :func:`unit_mismatches` finds two forms:

* **inline**: the product itself carries the units — ``50 km/hr x 3 days``, ``3 days * $10 per hour``;
* **prose**: the step states the rate ("20 coins per month") and the amount ("in 10 years") in words, then writes a
  product of exactly those two bare numbers (``20 * 10 = 200``).

Precision first (a false alarm costs more than a miss). A product is skipped when a number of its expression other
than the rate's own value is a common conversion factor (7, 12, 24, 30, 52, 60, 365 …) — that covers conversions
written into the product and amounts such as "7 days" that are conversions themselves —, when the step states an
amount such as "24 hours" or "60 minutes" anywhere else, or speaks of converting, when it is hypothetical
("suppose", "check if" …), when the operands are not exactly one rate and one amount, or when a value is stated in
both roles. Only explicit time-unit words count; "hourly", "daily" and the like are not read. The checks
only ever report ``incorrect`` findings: a step that passes them has not been verified.

A second check was prototyped and dropped: a number bound to a noun in the problem ("forty-two bales") restated with
another number in a step ("40 bales"). On MR-GSM8K, ProcessBench and PRMBench, once derived quantities were excluded
(results of computations, one operation away from known numbers, "remaining"/"more"/"left" …) it flagged nothing,
and every looser variant flagged mostly correct steps (unit definitions such as "5 nickels equal 1 dollar"), so no
precise version could be shown to work.
"""

from __future__ import annotations

import re
from fractions import Fraction

from critica.budget import checkpoint
from critica.types import Item, StepVerdict
from critica.verifiers.base import Finding
from critica.verifiers.fastre import guarded
from critica.verifiers.math import _HYPOTHETICAL

__all__ = ["QuantityVerifier", "unit_mismatches"]

MAX_STEP_CHARS = 5_000
"""Characters of a step read (the rest is ignored). Unit mismatches live in short word-problem steps (the longest
step of ProcessBench, PRMBench and MR-GSM8K has 1,318 characters); the patterns' cost grows with the square of a
long comma-grouped number ("1,000,000,…"), so the cap bounds a hostile step to a fraction of a second."""

_TIME = {
    "second": "second", "sec": "second", "minute": "minute", "min": "minute", "hour": "hour", "hr": "hour",
    "h": "hour", "day": "day", "week": "week", "month": "month", "year": "year", "yr": "year",
}
_TIME_WORD = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|yrs?)"
_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
# A number as the *start* of a rate or amount: atomic, and never inside a run of digits. Every pattern here needs a
# space, letter, "/" or "$" after the number, so a match always takes the whole number and starts at its first digit
# (the leftmost start wins): the look-behind and the atomic group change no match, but without them every digit of a
# long run started a scan to its end, with backtracking (a 20,000-digit step took minutes, "1,000,000,…" more).
_NUM_START = r"(?<!\d)(?>" + _NUM + ")"
# A number, at most three unit words ("km", "coins", "gallons of water"), then "/", "per", "an"/"a", "every"/"each"
# and a time unit: "50 km/hr", "$10 per hour", "20 coins per month", "$12 an hour". "60 mph" is per hour.
_RATE_CORE = (
    r"\$?\s?(?P<{v}>" + _NUM_START + r")\s*(?:[A-Za-z]+\s+){0,2}(?:[A-Za-z]+\s*)?"
    r"(?:/\s*|\bper\s+|\ban?\s+|\bevery\s+|\beach\s+)(?P<{t}>" + _TIME_WORD + r"|h)\b"
    r"|(?P<{v2}>" + _NUM_START + r")\s*(?P<{m}>mph|kph|km/h|kmh)\b"
)
# A number directly followed by a time unit that is not itself the start of a rate ("3 days", not "5 days a week").
_AMOUNT_CORE = r"(?P<{v}>" + _NUM_START + r")\s*(?P<{t}>" + _TIME_WORD + r")\b(?!\s*(?:/|per\b|an?\b|each\b|every\b))"


def _rate(v: str, t: str, v2: str, m: str) -> str:
    # Group names are filled in by replacement, not str.format: the pattern itself holds braces ("\\d{3}").
    return _RATE_CORE.replace("{v}", v).replace("{t}", t).replace("{v2}", v2).replace("{m}", m)


def _amount(v: str, t: str) -> str:
    return _AMOUNT_CORE.replace("{v}", v).replace("{t}", t)


_TIMES = r"\s*(?:\*|×|\bx\b|\\times|\\cdot|·|\btimes\b)\s*"
_INLINE = guarded(
    r"(?P<ra>" + _rate("rv", "rt", "rv2", "rm") + r")" + _TIMES + r"(?P<aa>" + _amount("av", "at") + r")"
    r"|(?P<ab>" + _amount("bv", "bt") + r")" + _TIMES + r"(?P<rb>" + _rate("sv", "st", "sv2", "sm") + r")",
    re.IGNORECASE,
)
_RATE = guarded(_rate("v", "t", "v2", "m"), re.IGNORECASE)
_AMOUNT = guarded(_amount("v", "t"), re.IGNORECASE)
# A product of exactly two bare numbers, as the whole left side of "=" ("20 * 10 = 200", "$15 x 18 = $270").
_BARE_PRODUCT = re.compile(
    r"(?<![\d.*×/+\-^(])(?<!\\times )\$?\s?(?P<a>" + _NUM + r")" + _TIMES + r"\$?\s?(?P<b>" + _NUM + r")\s*="
)
# Every "per <time>" the step mentions, in any form: "each day", "a week", "per hour", "daily".
_PER_TIME = guarded(r"\b(?:per|each|every|an?)\s+(?P<t>" + _TIME_WORD + r")\b|\b(?P<adv>hourly|daily|weekly|monthly|"
                       r"yearly|annually)\b", re.IGNORECASE)
_ADVERB_UNIT = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month", "yearly": "year",
                "annually": "year"}
_CONVERSIONS = {Fraction(c) for c in (7, 12, 24, 28, 29, 30, 31, 52, 60, 365, 366, 168, 1440, 3600)}
_CONVERTING = guarded(r"\bconver\w*|\bthere (?:are|is) \d+ " + _TIME_WORD + r"\b", re.IGNORECASE)


# Every match of _AMOUNT holds a time word (_TIME_WORD), whose lowercase form holds one of these stems. An ASCII text
# whose lowercase form holds none has no match (IGNORECASE folds ASCII letters as str.lower does); other text is
# always scanned (re folds "ſ" onto "s", as critica.verifiers.keygate explains). ~5 in 6 steps hold none.
_TIME_STEMS = ("sec", "min", "hour", "hr", "day", "week", "month", "year", "yr")


def _may_hold_time(text: str) -> bool:
    if not text.isascii():
        return True
    low = text.lower()
    return any(map(low.__contains__, _TIME_STEMS))


def _unit(word: str) -> str:
    w = word.lower()
    if len(w) > 2 and w.endswith("s"):
        w = w[:-1]
    return _TIME.get(w, "")


def _num(s: str) -> Fraction:
    return Fraction(s.replace(",", ""))


def _numbers(text: str) -> set[Fraction]:
    return {_num(s) for s in re.findall(_NUM, text)}


def _expression(text: str, start: int, end: int) -> str:
    """The expression around ``text[start:end]``: from the previous to the next "=" or sentence end."""
    lo = max(text.rfind("=", 0, start), text.rfind(". ", 0, start), text.rfind(",", 0, start)) + 1
    hi = [i for i in (text.find("=", end), text.find(". ", end)) if i >= 0]
    return text[lo: min(hi) if hi else len(text)]


def unit_mismatches(step: str) -> list[str]:
    """The products in ``step`` of a rate per one time unit and an amount of another, with no conversion in sight."""
    text = step[:MAX_STEP_CHARS]
    # Both forms below need an amount of time, which _AMOUNT finds: it is looked for first (2% of the steps have
    # one), before the costlier word lists; which of the three refuses a step first does not change the result.
    if not _may_hold_time(text):
        return []  # no amount of time: _AMOUNT would find none
    times = list(_AMOUNT.finditer(text))
    if not times or _HYPOTHETICAL.search(text) or _CONVERTING.search(text):
        return []
    # "24 hours", "7 days" … anywhere in the step: the writer has the conversion in view.
    stated = [(m.start(), _num(m.group("v"))) for m in times]
    # Rates per two different time units ("5 times a week", "each day … 2 hours") chain into a conversion the
    # writer does in their head (hours/day × days/week): not a mismatch this check can judge.
    per = {_unit(m.group("t")) if m.group("t") else _ADVERB_UNIT[m.group("adv").lower()] for m in _PER_TIME.finditer(text)}
    if len(per - {""}) > 1:
        return []
    out: list[str] = []
    for m in _INLINE.finditer(text):
        if m.group("ra"):
            rate_t = "hour" if m.group("rm") else _unit(m.group("rt"))
            amount_t, rate_v, amount_v = _unit(m.group("at")), m.group("rv") or m.group("rv2"), m.group("av")
            amount_at = m.start("av")
        else:
            rate_t = "hour" if m.group("sm") else _unit(m.group("st"))
            amount_t, rate_v, amount_v = _unit(m.group("bt")), m.group("sv") or m.group("sv2"), m.group("bv")
            amount_at = m.start("bv")
        if not rate_t or not amount_t or rate_t == amount_t:
            continue
        if _num(amount_v) in _CONVERSIONS or any(v in _CONVERSIONS for at, v in stated if at != amount_at):
            continue
        # Other numbers of the expression (the rate's own value is a measurement, not a conversion: "30 mph").
        others = [_num(x) for x in re.findall(_NUM, _expression(text, *m.span()))]
        if _num(rate_v) in others:
            others.remove(_num(rate_v))
        if set(others) & _CONVERSIONS:
            continue
        out.append(m.group(0).strip())
    if out:
        return out
    # Prose form: the rate and the amount are stated in words, the product uses their bare numbers.
    rates: dict[Fraction, set[str]] = {}
    for m in _RATE.finditer(text):
        v = _num(m.group("v") or m.group("v2"))
        rates.setdefault(v, set()).add("hour" if m.group("m") else _unit(m.group("t")))
    amounts: dict[Fraction, set[str]] = {}
    for m in times:
        amounts.setdefault(_num(m.group("v")), set()).add(_unit(m.group("t")))
    for m in _BARE_PRODUCT.finditer(text):
        a, b = _num(m.group("a")), _num(m.group("b"))
        if a == b or {a, b} & _CONVERSIONS or any(v in _CONVERSIONS for _, v in stated):
            continue
        for r, q in ((a, b), (b, a)):
            # Each value must play exactly one role, with one unit: a value that is both a rate and an amount, or
            # an amount in two units, is ambiguous.
            if r in amounts or q in rates or len(rates.get(r, ())) != 1 or len(amounts.get(q, ())) != 1:
                continue
            (rate_t,), (amount_t,) = rates[r], amounts[q]
            if rate_t and amount_t and rate_t != amount_t:
                out.append(m.group(0).rstrip("= ").strip())
                break
    return out


class QuantityVerifier:
    """Flags steps that multiply a rate per one time unit by an amount in another, without converting."""

    name = "quantities"

    def check(self, item: Item, steps: list[str]) -> list[Finding]:
        """``incorrect`` findings only, one per step with a unit mismatch (the first mismatched product quoted)."""
        findings: list[Finding] = []
        for i, step in enumerate(steps):
            checkpoint()  # stops here once the item is over its time budget
            try:
                bad = unit_mismatches(step)
            except (ValueError, ZeroDivisionError):  # an odd number string: skip the step, never raise
                continue
            if bad:
                findings.append(Finding(
                    kind="quantities", verdict=StepVerdict.INCORRECT, step=i,
                    message=(f"'{bad[0]}' multiplies a rate per one time unit by an amount in a different time unit "
                             "without converting between them"),
                    details={"check": "unit_mismatch", "expression": bad[0]},
                ))
        return findings
