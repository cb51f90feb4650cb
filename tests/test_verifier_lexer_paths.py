"""The arithmetic checker's cheaper paths give what the long way gives (issue 15, docs/performance.md).

Each shortcut of critica.verifiers.math / mathtext is compared with the plain computation it replaces: the keyword
pre-tests of the word searches with the searches, remembered steps and numbers with fresh ones.
"""

from __future__ import annotations

import re
from fractions import Fraction
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from critica.verifiers import math as arithmetic
from critica.verifiers import mathtext

# --- keyword pre-tests of the word searches --------------------------------------------------------------------------

_HYP_WORDS = [
    "false", "not true", "not equal", "contradiction", "contradicts", "impossible", "not satisfied", "rechecking",
    "re-check", "re-evaluate", "reevaluating", "verify if", "check if", "check whether", "see if", "suppose",
    "hypothesis", "test if", "testing whether", "test x", "test n", "test the value", "guessing", "trial", "try",
    "trying", "tried", "does not equal", "doesn't hold", "do not work", "don't satisfy", "did not match",
    "didn't give", "is not equal", "isn't equate", "\\neq", "\\ne", "≠", "\\neq1", "not", "equal", "check", "see",
]
_APPROX_WORDS = [
    "approx", "approximately", "about", "around", "roughly", "nearly", "almost", "estimate", "estimated", "round",
    "rounded", "rounding", "nearest", "close to", "≈", "~", "\\approx", "\\sim", "\\simeq", "close", "near",
]
_OTHER = ["x", "=", "3", " ", "\n", "-", "'", "a", "the", "so", "ſ", "\u212a", "\u0130", "é", "\\", "es", "ing"]


@st.composite
def _wordy(draw, words):
    pieces = draw(st.lists(st.sampled_from(words + _OTHER), max_size=8))
    cased = [draw(st.sampled_from([p, p.upper(), p.title(), p.swapcase()])) for p in pieces]
    return draw(st.sampled_from(["", " "])).join(cased)


@settings(max_examples=1500, deadline=None)
@given(_wordy(_HYP_WORDS), _wordy(_APPROX_WORDS))
def test_a_step_the_keywords_pass_by_holds_no_match(hyp_text, approx_text):
    for text in (hyp_text, approx_text, hyp_text + approx_text):
        low = text.lower() if text.isascii() else None
        if arithmetic._HYPOTHETICAL.search(text) is not None:
            assert arithmetic._gate(arithmetic._HYPOTHETICAL_KEYS, low), text
        if arithmetic._APPROX_WORDS.search(text) is not None:
            assert arithmetic._gate(arithmetic._APPROX_KEYS, low), text


@settings(max_examples=1500, deadline=None)
@given(_wordy(_HYP_WORDS), _wordy(_APPROX_WORDS), st.sampled_from(["", " ", "re-", "re", "a", "\\", "does "]))
def test_the_gated_searches_from_near_the_first_key_find_the_search_from_the_start(hyp_text, approx_text, glue):
    from critica.verifiers import keygate

    far = keygate.FAR
    try:
        for keygate.FAR in (0, far):  # 0: every search starts near the first key (most texts here are short)
            for text in (hyp_text, approx_text, glue.join((hyp_text, approx_text, hyp_text))):
                low = text.lower() if text.isascii() else None
                for pattern, keys, lead in (
                        (arithmetic._HYPOTHETICAL, arithmetic._HYPOTHETICAL_KEYS, arithmetic._HYPOTHETICAL_LEAD),
                        (arithmetic._APPROX_WORDS, arithmetic._APPROX_KEYS, arithmetic._APPROX_LEAD)):
                    got, want = arithmetic._gated_search(pattern, keys, lead, text, low), pattern.search(text)
                    assert (got is None) == (want is None), text
                    if want is not None:
                        assert got.span() == want.span(), text
    finally:
        keygate.FAR = far


def test_the_keyword_pre_tests_let_non_ascii_text_through_and_stop_plain_steps():
    assert arithmetic._gate(arithmetic._HYPOTHETICAL_KEYS, None)  # "ſuppose": re folds ſ onto s, str.lower does not
    assert not arithmetic._gate(arithmetic._HYPOTHETICAL_KEYS, "so 3 * 4 = 12 apples.")
    assert not arithmetic._gate(arithmetic._APPROX_KEYS, "so 3 * 4 = 12 apples.")
    # the verdicts of steps that hold the words stay what the searches make them
    assert arithmetic.find_computations("Suppose 3 * 4 = 13.") == []
    approx = arithmetic.find_computations("22 / 7 = 3.14, ROUGHLY")
    assert len(approx) == 1 and approx[0].ok and approx[0].approximate


# --- remembered steps ------------------------------------------------------------------------------------------------


def test_a_repeated_step_gets_the_same_computations_in_a_list_of_its_own():
    arithmetic._FOUND.clear()
    text = "She pays 3 * $4 = $13 for the pens."
    first = arithmetic.find_computations(text)
    assert len(first) == 1 and not first[0].ok
    first.append("changed by the caller")
    again = arithmetic.find_computations(text)
    assert again is not first and len(again) == 1 and again[0] == first[0]
    arithmetic._FOUND.clear()
    assert arithmetic.find_computations(text) == again  # computed afresh: the same


def test_the_table_of_remembered_steps_is_bounded(monkeypatch):
    arithmetic._FOUND.clear()
    monkeypatch.setattr(arithmetic, "FOUND_SIZE", 3)
    for n in range(10):
        arithmetic.find_computations(f"{n} + 1 = {n + 1}")
        assert len(arithmetic._FOUND) <= 3
    long_step = "2 + 2 = 4. " + "x" * arithmetic.FOUND_TEXT_CHARS
    assert arithmetic.find_computations(long_step)[0].ok and long_step not in arithmetic._FOUND
    arithmetic._FOUND.clear()


def test_a_step_that_raises_is_not_remembered():
    arithmetic._FOUND.clear()
    deep = "\\frac{" * (mathtext.MAX_BRACE_NESTING + 3) + "1" + "}{2}" * (mathtext.MAX_BRACE_NESTING + 3)
    for _ in range(2):
        assert arithmetic.check_step(deep) == ([], False)
    assert deep not in arithmetic._FOUND


# --- remembered numbers ----------------------------------------------------------------------------------------------

_NUMBER = st.one_of(
    st.integers(0, 10**45).map(str),
    st.integers(0, 10**12).map(lambda n: f"{n:,}"),
    st.tuples(st.integers(0, 10**6), st.text("0123456789", min_size=1, max_size=8)).map(lambda p: f"{p[0]}.{p[1]}"),
    st.text("0123456789", min_size=1, max_size=6).map(lambda d: "0" + d),
    st.text("0123456789", min_size=1, max_size=6).map(lambda d: "." + d),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_NUMBER, min_size=1, max_size=6))
def test_a_remembered_number_reads_as_a_fresh_one(numbers):
    text = " + ".join(numbers)
    mathtext._NUMBERS.clear()
    fresh = [(t.kind, t.text, t.value, t.decimals) for t in mathtext._tokenize(text)]
    again = [(t.kind, t.text, t.value, t.decimals) for t in mathtext._tokenize(text)]  # from the table now
    assert again == fresh
    for kind, s, value, decimals in fresh:
        if kind == "NUM":
            digits = s.replace(",", "")
            assert value == Fraction(digits) and decimals == len(digits.partition(".")[2])
        elif s not in ("+",):
            assert kind == "STOP" and (len(s.replace(",", "")) > mathtext.MAX_DIGITS or s[0] == "0")


def test_the_table_of_numbers_is_bounded(monkeypatch):
    mathtext._NUMBERS.clear()
    monkeypatch.setattr(mathtext, "NUMBERS_SIZE", 5)
    mathtext._tokenize(" ".join(str(n) for n in range(40)))
    assert len(mathtext._NUMBERS) <= 5
    mathtext._tokenize("9" * 200)
    assert "9" * 200 not in mathtext._NUMBERS
    mathtext._NUMBERS.clear()


# --- side trimming and the parse test, against the plain loops they replace ---------------------------------------


def _ref_trim(run, left_of_eq):
    run = list(run)
    while run and run[-1].kind in ("UNIT", "CUR"):
        run.pop()
    while run and run[0].kind == "CUR" and len(run) > 1:
        run = run[1:]
    depth = 0
    for t in run:
        depth += (t.kind == "LP") - (t.kind == "RP")
    while depth > 0 and left_of_eq and run and run[0].kind == "LP":
        run, depth = run[1:], depth - 1
    while depth < 0 and not left_of_eq and run and run[-1].kind == "RP":
        run, depth = run[:-1], depth + 1
    if depth != 0 or not run:
        return None
    level = 0
    for t in run:
        level += (t.kind == "LP") - (t.kind == "RP")
        if level < 0:
            return None
    if run[0].kind == "OP" and run[0].text != "-":
        return None
    for a, b, c in zip(run, run[1:], run[2:], strict=False):
        if a.kind == "UNIT" and b.kind == "OP" and b.text == "/" and not b.spaced and not c.spaced:
            return None
    if run[-1].kind == "OP":
        return None
    if not any(t.kind == "NUM" for t in run):
        return None
    return run


def _ref_parses(run):
    depth, divs_here = 0, [0]
    for a, b in zip(run, run[1:], strict=False):
        if a.kind == "UNIT" and b.kind in ("NUM", "LP", "SQRT"):
            return False
        if a.kind == "OP" and b.kind == "OP" and b.text != "-":
            return False
    core = [t for t in run if t.kind not in ("UNIT", "CUR")]
    if (len(core) == 3 and core[0].kind == "NUM" and core[1].text == "-" and core[2].kind == "NUM"
            and core[0].end == core[1].start and core[1].end == core[2].start
            and core[0].decimals == core[2].decimals == 0 and core[0].value < core[2].value):
        return False
    for t in run:
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
        arithmetic._value(run)
        return True
    except (arithmetic.Unevaluable, ZeroDivisionError, OverflowError):
        return False


_MATHY_PIECES = ["1", "2", "12", "3.5", "0", "10", "+", "-", "*", "/", "^", "(", ")", "%", "!", "$", "sqrt(", "km",
                 "hours", "apples", " ", " ", "  ", "14 / 1 / 4", "1/2", "/ 3", "5-10", "(-3)", "km/4", "$3"]


@st.composite
def _token_runs(draw):
    """Runs of the token kinds an expression side is made of: from generated text through the tokenizer, so that
    kinds, texts, spacing and positions are those the checker meets."""
    text = "".join(draw(st.lists(st.sampled_from(_MATHY_PIECES), min_size=1, max_size=16)))
    toks = [t for t in mathtext._tokenize(text) if t.kind in arithmetic._MATHY]
    lo = draw(st.integers(0, len(toks)))
    hi = draw(st.integers(lo, len(toks)))
    return toks[lo:hi]


@settings(max_examples=3000, deadline=None)
@given(_token_runs())
def test_trimming_and_the_parse_test_give_what_the_plain_loops_gave(run):
    for left_of_eq in (True, False):
        got, want = arithmetic._trim(run, left_of_eq), _ref_trim(run, left_of_eq)
        assert (got is None) == (want is None)
        if want is not None:
            assert [id(t) for t in got] == [id(t) for t in want]
    if run:
        assert arithmetic._parses(run) == _ref_parses(run)


# --- look-behinds moved after the character they guard -------------------------------------------------------------

_OLD_NUM_EQ_FACT = [
    (r"(?<![\w.])\.\d+", r"\.(?<![\w.]\.)\d+"),
    (r"(?P<EQ>(?<![<>!=:])=(?!=))", r"(?P<EQ>=(?<![<>!=:]=)(?!=))"),
    (r"(?P<FACT>(?<=[\d)])!(?=", r"(?P<FACT>!(?<=[\d)]!)(?="),
    (r"\d{1,3}(?:,\d{3})++", r"\d{1,3}+(?:,\d{3})++"),
]


def _old_token_pattern():
    pattern = mathtext._TOKEN.pattern
    for old, new in _OLD_NUM_EQ_FACT:
        assert new in pattern
        pattern = pattern.replace(new, old)
    return re.compile(pattern, re.DOTALL)


def test_moved_look_behinds_match_as_before_after_every_character():
    old_token = _old_token_pattern()
    old_parens = re.compile(r"(?<=\s)\(\s*[A-Za-z][A-Za-z'\- ]*[A-Za-z]\s*\)")
    for c in map(chr, range(0x2100)):
        for text in (f"{c}.5", f"{c}=", f"{c}==", f"{c}!+", f"{c}!", f"1{c}!)", f"{c}(ab)", f"{c}( a b ) (cd)",
                     f"1,23{c},456", f"12{c}4,567", f"{c}1,234,5678", f"x{c}.5.5"):
            assert ([(m.lastgroup, m.span()) for m in mathtext._TOKEN.finditer(text)]
                    == [(m.lastgroup, m.span()) for m in old_token.finditer(text)]), text
            assert ([m.span() for m in mathtext._WORDS_IN_PARENS.finditer(text)]
                    == [m.span() for m in old_parens.finditer(text)]), text



# --- the remainder reading, only where a token "R" can be --------------------------------------------------------

_R_PIECES = ["R", "Rs", "R's", "R-ab", "x-abR", "it'sR", "RR", "R2", "R 4", "rR", "54 / 8 = 6", "= 6", "6", "R", "4",
             " remainder ", "with a", ",", "\n", " ", "=", "3 * 4 = 12", "Radius", "(R)", "\\R", "2R", "R.", "."]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_R_PIECES), max_size=12).map("".join))
def test_the_remainder_reading_is_skipped_only_where_no_R_token_can_be(text):
    def found():
        return [(c.expression, c.left, c.right, c.ok, c.message) for c in arithmetic._scan(text, approx=False)]

    got = found()
    saved = arithmetic._R_TOKEN
    arithmetic._R_TOKEN = re.compile("R")  # every text with an "R" read the long way, as before
    try:
        want = found()
    finally:
        arithmetic._R_TOKEN = saved
    assert got == want
    assert ("R" in {t.text for t in mathtext._tokenize(text)}) <= bool(arithmetic._R_TOKEN.search(text))


def _ref_units(run):
    out = {"dollar"} if any(t.kind == "CUR" and t.text == "$" for t in run) else set()
    for t in run:
        if t.kind == "UNIT":
            w = t.text.lower()
            w = w[:-1] if w.endswith("s") and len(w) > 3 else w
            out.add(w)
    return out


def _ref_side(toks, lo, hi, *, left_of_eq):
    if left_of_eq:
        j = hi
        while j > lo and toks[j - 1].kind in arithmetic._MATHY:
            j -= 1
        run = toks[j:hi]
        if not run:
            return None, set()
        if j > lo and not arithmetic._border_ok(toks[j - 1], run[0], left=True):
            return None, set()
        at_line_start = j == 0 or toks[j - 1].kind in ("NL", "EQ", "APPROX")
        if run[0].kind == "OP":
            minus = run[0].text == "-" and len(run) > 1
            if minus and not run[1].spaced:
                pass
            elif minus and (j == 0 or toks[j - 1].kind == "NL"):
                run = run[1:]
            else:
                return None, set()
        if not at_line_start and arithmetic._continues_left(toks, j, lo):
            return None, set()
        starts = [0] + [p for p in range(1, len(run))
                        if run[p - 1].kind == "UNIT" and run[p].kind in ("NUM", "LP", "SQRT")]
        for p in starts:
            cand = _ref_trim(run[p:], True)
            if cand is not None and _ref_parses(cand):
                return cand, _ref_units(run[p:])
        return None, set()
    j = lo
    while j < hi and toks[j].kind in arithmetic._MATHY:
        j += 1
    run = toks[lo:j]
    if not run:
        return None, set()
    if j < hi and not arithmetic._border_ok(toks[j], run[-1], left=False):
        return None, set()
    cand = _ref_trim(run, False)
    return (cand if cand is not None and _ref_parses(cand) else None), _ref_units(run)


_SIDE_PIECES = _MATHY_PIECES + ["=", " = ", "\n", "x", "cost", "dollars", "3 notebooks cost 3 * $4", "5 cents (.05)",
                                "then", ",", ".", "Step 3", "and", "1 and 1/4", "%", "€", "pizza slices"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_SIDE_PIECES), min_size=1, max_size=16).map("".join))
def test_the_sides_of_every_relation_are_what_the_plain_loops_found(text):
    toks = mathtext._tokenize(text)
    eqs = [i for i, t in enumerate(toks) if t.kind in ("EQ", "APPROX")]
    assert arithmetic._relations(toks) == eqs
    for n, k in enumerate(eqs):
        lo = eqs[n - 1] + 1 if n > 0 else 0
        hi = eqs[n + 1] if n + 1 < len(eqs) else len(toks)
        for left_of_eq, (a, b) in ((True, (lo, k)), (False, (k + 1, hi))):
            got = arithmetic._side(toks, a, b, left_of_eq=left_of_eq)
            want = _ref_side(toks, a, b, left_of_eq=left_of_eq)
            assert got[1] == want[1] and (got[0] is None) == (want[0] is None)
            if want[0] is not None:
                assert [id(t) for t in got[0]] == [id(t) for t in want[0]]
    index = arithmetic._Positions(toks)
    for i, t in enumerate(toks):
        assert index(t) == i


# --- mixed numbers found from the fraction commands ----------------------------------------------------------------


def _ref_mixed(text):
    return mathtext._MIXED_FRAC.sub(lambda m: m.group(1) + " \\unknown " + m.group(2), text)


def test_mixed_numbers_are_marked_as_the_pattern_marks_them_after_every_character():
    for c in map(chr, range(0x3100)):
        for text in (f"{c}\\frac", f"1{c}\\dfrac", f"{c} \\tfrac", f"x{c}{c}\\frac12", f"3\\frac{c}\\frac",
                     f"{c}\\ffrac", f"2{c}\\frac{{1}}{{2}}4 \\frac 3\\tfrac"):
            assert mathtext._mark_mixed_numbers(text) == _ref_mixed(text), text


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(["1", "٣", " ", "\t", "\n", "\u2009", "\\frac", "\\dfrac", "\\tfrac", "frac", "\\",
                                 "x", "{", "}", "3\\frac"]), max_size=14).map("".join))
def test_mixed_numbers_are_marked_as_the_pattern_marks_them(text):
    assert mathtext._mark_mixed_numbers(text) == _ref_mixed(text)


# --- tokens made without the dataclass's __init__ ------------------------------------------------------------------


def _ref_lex(text, pos, toks, stop):
    """The lexer as it was (critica c0dfb4d): each token built by the dataclass's __init__."""
    for m in mathtext._TOKEN.finditer(text, pos):
        group = m.lastindex
        kind, plain = mathtext._GROUP_KINDS[group]
        s = m[group]
        end = m.end()
        start = end - len(s)
        spaced = start > 0 and text[start - 1] in " \t\r\n"
        if plain:
            toks.append(mathtext._Tok(kind, s, start, end, None, spaced))
        elif kind == "NL":
            toks.append(mathtext._Tok(kind, s, start, end, None, spaced))
            if start == stop:
                return
        elif kind == "NUM":
            digits = s.replace(",", "")
            if len(digits) > mathtext.MAX_DIGITS or (digits[0] == "0" and digits[1:2].isdigit()):
                toks.append(mathtext._Tok("STOP", s, start, end, None, spaced, 0))
            else:
                frac = digits.partition(".")[2]
                toks.append(mathtext._Tok("NUM", s, start, end, Fraction(digits), spaced, len(frac)))
        elif kind == "ELL":
            toks.append(mathtext._Tok("VAR", s, start, end, None, spaced))
        elif kind == "OP" and s == "**":
            toks.append(mathtext._Tok("OP", "^", start, end, None, spaced))
        elif kind == "CMD" and s == "\\sqrt":
            toks.append(mathtext._Tok("SQRT", s, start, end, None, spaced))
        else:
            toks.append(mathtext._Tok(kind, s, start, end, None, spaced))


def _fields(t):
    return (t.kind, t.text, t.start, t.end, t.value, t.spaced, t.decimals, t.remainder)


_LEX_PIECES = ["1", "12", "1,000", "3.5", "07", ".5", "...", "…", "**", "*", "^", "-", "(", ")", "=", "==", "<=",
               "\\sqrt", "\\frac", "\\", "$", "%", "≈", "5!", "! ", "x", "times", "of", "T-shirts", "it's", " ", "  ",
               "\t", "\r", "\n", "\n\n", " \n ", "é", "٣", "9" * 45]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_LEX_PIECES), max_size=20).map("".join), st.data())
def test_the_lexer_makes_the_tokens_the_dataclass_made(text, data):
    """Every field of every token, from the text's start and from any line start up to any later line break."""
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    pos = data.draw(st.sampled_from(starts))
    stop = data.draw(st.sampled_from([-1] + [i for i, c in enumerate(text) if c == "\n" and i >= pos]))
    got, want = [], []
    mathtext._lex(text, pos, got, stop)
    _ref_lex(text, pos, want, stop)
    assert [_fields(t) for t in got] == [_fields(t) for t in want]
    assert got == want and all(type(t) is mathtext._Tok for t in got)  # the dataclass's equality, as list.index uses
    whole: list = []
    _ref_lex(text, 0, whole, -1)
    assert [_fields(t) for t in mathtext._tokenize(text)] == [_fields(t) for t in mathtext._classify_words(whole, text)]


# --- _SIMPLE rewrites by re templates ---------------------------------------------------------------------------


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(["\\left(", "\\left.", "\\right|", "\\right)", "\\bigl(", "\\times", "\\cdot", "\\div",
                                 "\\approx", "\\,", "\\quad", "~", "\\%", "\\$", "{,}", "\\dollar", "<<3*4=12>>",
                                 "\\unknown", "\\\\", "\\1", "\\g<0>", "3", " ", "x", "\\"]), max_size=12).map("".join))
def test_the_simple_rewrites_by_template_give_the_literal_replacements(text):
    for (pat, rep), template in zip(mathtext._SIMPLE, mathtext._SIMPLE_TEMPLATES, strict=True):
        assert pat.sub(template, text) == pat.sub(lambda _m, r=rep: r, text)


# --- the side pre-test of _scan ---------------------------------------------------------------------------------

_LINK_PIECES = ["=", " = ", "≈", " equals ", " Is ", " is ", "this", "%", "3", "12", "4.5", ".5", "0", "+", "-", "*",
                "/", "^", "(", ")", "!", "$", "€", "x", "y", "h", "per", "per h", " per ", "km", "hours", "apples", "sqrt",
                "Sqrt(", "\\sqrt", "\\pi", "\\", "it's", "a-x", "T-shirts", " ", "\n", "\t", ",", ".", "...", "_",
                "remainder", "R", "٣", "x ", "5 x", "of", "times", "2 times", "10% of 50 is 5", "= sqrt(9)", "=Sqrt(4)",
                "2 = \\sqrt(4)", "= (3)", "5 = 5!", "= $4", "5 km/hr", "/hour", "5 km = ", "50% of", "3km", "5 per",
                "2 * 35/hour = 70", "2 * 50% apples = 1", "2 * 3 cheese pizzas = 6"]


@settings(max_examples=4000, deadline=None)
@given(st.lists(st.sampled_from(_LINK_PIECES), min_size=1, max_size=14).map("".join))
def test_a_text_the_side_pre_test_stops_has_no_computation(text):
    # what _scan finds without the pre-test (every text let through) is what it finds with it
    for approx, signless in ((False, False), (True, False), (False, True)):
        with patch.object(arithmetic, "_may_link", lambda _norm, _low: True):
            want = arithmetic._scan(text, approx, signless)
        if not arithmetic._may_link(text, text.lower()):
            assert want == [], text
        assert arithmetic._scan(text, approx, signless) == want


def test_the_side_pre_test_stops_relations_without_sides_only():
    assert not arithmetic._may_link("x = y and f(x) = x", "x = y and f(x) = x")
    assert not arithmetic._may_link("\\pi = 3.14", "\\pi = 3.14")  # a command is no side
    for text in ("3 = 3", "x = 2 + 3 = 5", "5 per h = 3", "4 km = 4", "\\sqrt = 2", "2 * (3) = 6", "it's = 4"):
        assert arithmetic._may_link(text, text.lower()), text
    # a unit after a "/", a percentage or another unit is a side: each of these is a computation found
    for text in ("2 * 35/hour = 70", "2 * 50% apples = 1", "2 * 3 cheese pizzas = 6"):
        assert arithmetic._may_link(text, text.lower()) and len(arithmetic._scan(text, False)) == 1, text
