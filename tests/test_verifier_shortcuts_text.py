"""The arithmetic checker's text shortcuts give what the long way gave (docs/performance.md, "The verifier").

Each shortcut (a rewrite skipped when the text cannot hold what it rewrites, the tokenizer's groups tried in another
order, word classification without its neighbour look-ups for plain prose, the cheap refusals of the unit and
arithmetic checks tried first) is compared here with the code as it was, kept below as the reference, on generated
text made of the pieces each shortcut looks for.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from critica.verifiers import math as arithmetic
from critica.verifiers import mathtext, quantities
from critica.verifiers.mathtext import (
    _ARGUMENT_WORDS,
    _ATTACHED_UNITS,
    _CHARS,
    _FUNCTION_WORDS,
    _MODIFIERS,
    _SCALERS,
    _SIMPLE,
    _STOPWORDS,
    MAX_BRACE_NESTING,
    MAX_STEP_CHARS,
    _brace_partners,
    _is_unit_word,
    _pct_of_before,
    _Tok,
    _unit_run,
)

# --- the reference: the code before the shortcuts ----------------------------------------------------------------


def _ref_replace_braced(text, command, arity, render, depth=0):
    if command not in text:
        return text
    out, i = [], 0
    pat = re.compile(re.escape(command) + r"(?![A-Za-z])\s*")
    partners = None
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
            elif j < len(text) and text[j].isdigit():
                args.append(text[j])
                j += 1
            else:
                break
        if len(args) < arity:
            out.append(" \\unknown ")
            i = j if j > m.end() else m.end()
            continue
        out.append(render(*[_ref_replace_all(a, depth + 1) for a in args]))
        i = j


def _ref_replace_all(text, depth=0):
    if depth > MAX_BRACE_NESTING:
        raise RecursionError("nested")
    for cmd in ("\\dfrac", "\\tfrac", "\\frac"):
        text = _ref_replace_braced(text, cmd, 2, lambda a, b: f"(({a})/({b}))", depth)
    text = _ref_replace_braced(text, "\\sqrt", 1, lambda a: f" sqrt(({a})) ", depth)
    for cmd in ("\\text", "\\textbf", "\\mathrm", "\\mbox", "\\textrm", "\\textit", "\\boxed", "\\mathbf"):
        text = _ref_replace_braced(text, cmd, 1, lambda a: f" {a} ", depth)
    text = _ref_replace_braced(text, "\\operatorname", 1, lambda a: " \\unknown ", depth)
    return text


def _ref_normalise(text):
    text = re.sub(r"(?<=[A-Za-z])[²³]", "", text[:MAX_STEP_CHARS]).translate(_CHARS)
    for pat, rep in _SIMPLE:
        text = pat.sub(lambda _m, r=rep: r, text)
    text = re.sub(r"(\d)\s*(\\[dt]?frac)", lambda m: m.group(1) + " \\unknown " + m.group(2), text)
    text = _ref_replace_all(text)
    text = re.sub(r"\\\[|\\\]|\\\(|\\\)|\$\$", " \n ", text)
    text = text.replace("{", "(").replace("}", ")")
    return re.sub(r"(?<=\s)\(\s*[A-Za-z][A-Za-z'\- ]*[A-Za-z]\s*\)",
                  lambda m: " \\unknown " if text[: m.start()].rstrip()[-1:] in ("*", "/", "+", "-", "^") else " ", text)


_REF_TOKEN = re.compile(
    r"[ \t\r]*+(?:"
    r"(?P<ELL>\.\.\.|…)"
    r"|(?P<NUM>\d{1,3}(?:,\d{3})++(?:\.\d+)?(?![\d,]\d)|\d+(?:\.\d+)?|(?<![\w.])\.\d+)"
    r"|(?P<APPROX>≈)"
    r"|(?P<EQ>(?<![<>!=:])=(?!=))"
    r"|(?P<OP>\*\*|[-+*/^])"
    r"|(?P<LP>\()|(?P<RP>\))|(?P<PCT>%)"
    r"|(?P<FACT>(?<=[\d)])!(?=\s*[-+*/^)=,$\\]))"
    r"|(?P<CMD>\\[A-Za-z]+)"
    r"|(?P<WORD>[A-Za-z]+(?:-[a-z]{2,})*(?:'[a-z]+)?)"
    r"|(?P<NL>\n)"
    r"|(?P<CUR>[$€£¥])"
    r"|(?P<STOP>.))",
    re.DOTALL,
)


def _ref_classify(toks):
    out = []
    for i, t in enumerate(toks):
        if t.kind != "WORD":
            out.append(t)
            continue
        w, lw = t.text, t.text.lower()
        prev = out[-1] if out else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        attached_prev = prev is not None and prev.end == t.start
        prev_num = prev is not None and prev.kind in ("NUM", "RP", "PCT", "UNIT")
        after = toks[i + 2] if nxt is not None and nxt.kind == "CUR" and i + 2 < len(toks) else nxt
        next_num = after is not None and after.kind in ("NUM", "LP")
        if lw == "sqrt" and nxt is not None and nxt.kind == "LP":
            t.kind = "SQRT"
        elif lw in ("x", "times") and prev_num and next_num and not attached_prev:
            t.kind, t.text = "OP", "*"
        elif lw == "of" and prev is not None and prev.kind == "PCT":
            t.kind, t.text = "OP", "*"
        elif lw in ("of", "to") and prev is not None and prev.text.lower() in _ARGUMENT_WORDS:
            t.kind = "VAR"
        elif lw == "of":
            scaled = prev is not None and (prev.kind in ("VAR", "NUM", "RP", "UNIT") or prev.text.lower() in _SCALERS)
            t.kind = "VAR" if scaled else "WORD"
        elif lw == "equals":
            t.kind = "EQ"
        elif lw == "is" and _pct_of_before(out):
            t.kind = "EQ"
        elif lw == "per" and prev is not None and prev.kind in ("UNIT", "NUM"):
            t.kind = "PER"
        elif prev is not None and prev.kind == "PER":
            t.kind = "UNIT" if w.isalpha() else "VAR"
        elif attached_prev and prev is not None and prev.kind == "NUM":
            t.kind = "UNIT" if lw in _ATTACHED_UNITS else "VAR"
        elif prev is not None and prev.kind in ("NUM", "PCT") and _is_unit_word(w):
            t.kind = "UNIT"
        elif (prev is not None and prev.kind == "UNIT" and len(w) >= 4 and lw not in _STOPWORDS and _is_unit_word(w)
              and _unit_run(out) < 3):
            t.kind = "UNIT"
        elif (prev is not None and prev.kind == "OP" and prev.text == "/" and out[-2:-1]
              and out[-2].kind in ("UNIT", "NUM") and _is_unit_word(w) and not (nxt is not None and nxt.kind in ("NUM", "LP"))):
            out.pop()
            t.kind = "UNIT"
        elif len(w) == 1 or lw in _MODIFIERS or lw in _FUNCTION_WORDS:
            t.kind = "VAR"
        else:
            t.kind = "WORD"
        out.append(t)
    return [t for t in out if t.kind != "PER"]


def _ref_tokenize(text):
    toks = []
    for m in _REF_TOKEN.finditer(text):
        kind = m.lastgroup or "STOP"
        s = m.group(kind)
        start, end = m.span(kind)
        spaced = start > 0 and text[start - 1] in " \t\r\n"
        if kind == "NUM":
            digits = s.replace(",", "")
            if len(digits) > mathtext.MAX_DIGITS or (digits[0] == "0" and digits[1:2].isdigit()):
                toks.append(_Tok("STOP", s, start, end, None, spaced))
            else:
                from fractions import Fraction

                toks.append(_Tok("NUM", s, start, end, Fraction(digits), spaced, len(digits.partition(".")[2])))
        elif kind == "ELL":
            toks.append(_Tok("VAR", s, start, end, None, spaced))
        elif kind == "OP" and s == "**":
            toks.append(_Tok("OP", "^", start, end, None, spaced))
        elif kind == "CMD" and s == "\\sqrt":
            toks.append(_Tok("SQRT", s, start, end, None, spaced))
        else:
            toks.append(_Tok(kind, s, start, end, None, spaced))
    return _ref_classify(toks)


def _ref_find_computations(text):
    out = []
    for m in re.finditer(r"<<([^<>]{1,300})>>", text[:MAX_STEP_CHARS]):
        tag = _ref_normalise(re.sub(r"(?<=\d)-(?=\d)", " - ", m.group(1)))
        after = re.match(r"\s*\$?[\d.,]*\s*((?:[A-Za-z]+\s*){0,3})", text[m.end() : m.end() + 80])
        signless = after is not None and any(arithmetic._COMPARATIVES.match(w) for w in after.group(1).split())
        out.extend(arithmetic._scan(tag, approx=False, signless=signless))
    if arithmetic._HYPOTHETICAL.search(text):
        return out
    norm = _ref_normalise(text)
    out.extend(arithmetic._scan(norm, approx=bool(arithmetic._APPROX_WORDS.search(text))))
    out.extend(arithmetic._prose_divisions(text[:MAX_STEP_CHARS]))
    return out


def _outcome(f, *args):
    """What ``f(*args)`` returns, or the type of what it raises."""
    try:
        return f(*args)
    except Exception as e:  # noqa: BLE001 - the exception's type is the outcome compared
        return type(e)


# --- generated text ------------------------------------------------------------------------------------------------

_LATEX = ["\\frac", "\\dfrac", "\\tfrac", "\\sqrt", "\\text", "\\textbf", "\\mathrm", "\\boxed", "\\operatorname",
          "\\left(", "\\right)", "\\left.", "\\right|", "\\bigl(", "\\Bigr)", "\\big(", "\\times", "\\cdot", "\\ast",
          "\\div", "\\approx", "\\simeq", "\\doteq", "\\,", "\\;", "\\!", "\\ ", "\\quad", "\\qquad", "~", "\\%",
          "\\$", "{,}", "\\displaystyle", "\\dollar", "\\limits", "\\[", "\\]", "\\(", "\\)", "$$", "$", "\\pi",
          "\\\\", "\\timesx", "\\divide", "\\leftarrow", "\\rightarrow"]
_PIECES = st.sampled_from(
    _LATEX + ["{", "}", "(", ")", "{2}", "{3}", "12", "3.5", ".5", "1,000", "007", "7", "0", "+", "-", "*", "**", "/",
              "^", "=", "==", "<=", "≈", "%", "!", "...", "…", " ", "  ", "\t", "\n", ",", ".", ":", "²", "³", "×",
              "÷", "−", "–", "\u00a0", "＝", "<<", ">>", "<<3*4=12>>", "x", "X", "times", "of", "to", "is", "IS",
              "equals", "per", "sqrt", "hours", "hour", "days", "a week", "each day", "per hour", "km", "kg", "apples",
              "cheese", "pizza", "slices", "dozen", "half", "power", "total", "remainder", "R", "with a remainder of",
              "suppose", "try", "about", "less", "T-shirts", "it's", "m²", "convert", "€", "£", "5kg", "3rd", "٣"])
TEXT = st.lists(_PIECES, max_size=40).map("".join)
SPACED = st.lists(_PIECES, max_size=30).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(TEXT, SPACED))
def test_normalise_gives_what_every_rewrite_gave(text):
    assert _outcome(mathtext._normalise, text) == _outcome(_ref_normalise, text)


@settings(max_examples=400, deadline=None)
@given(st.one_of(TEXT, SPACED, st.text(max_size=60)))
def test_tokens_are_the_tokens_of_the_old_group_order_and_classification(text):
    def fields(toks):
        return [(t.kind, t.text, t.start, t.end, t.value, t.spaced, t.decimals, t.remainder) for t in toks]

    assert fields(mathtext._tokenize(text)) == fields(_ref_tokenize(text))


def test_the_token_pattern_matches_as_before_on_every_character():
    for c in map(chr, range(0x3000)):
        for text in (c, f"1{c}2", f"a{c}", f".{c}.", f"){c}", f"{c}=", f"5!{c}"):
            new = [(m.lastgroup, m.span()) for m in mathtext._TOKEN.finditer(text)]
            assert new == [(m.lastgroup, m.span()) for m in _REF_TOKEN.finditer(text)], text


@settings(max_examples=400, deadline=None)
@given(st.one_of(TEXT, SPACED))
def test_computations_found_as_before(text):
    assert _outcome(arithmetic.find_computations, text) == _outcome(_ref_find_computations, text)


def test_a_hypothetical_step_too_deep_to_normalise_keeps_its_calculator_tags():
    deep = "<<3*4=12>> suppose " + "\\frac{" * (MAX_BRACE_NESTING + 3) + "1" + "}{2}" * (MAX_BRACE_NESTING + 3)
    found = arithmetic.find_computations(deep)
    assert [c.expression for c in found] == ["3*4=12"] and found == _ref_find_computations(deep)
    plain = deep.replace("suppose ", "")
    assert _outcome(arithmetic.find_computations, plain) is RecursionError is _outcome(_ref_find_computations, plain)


def _ref_unit_mismatches(step):
    text = step[: quantities.MAX_STEP_CHARS]
    if arithmetic._HYPOTHETICAL.search(text) or quantities._CONVERTING.search(text):
        return []
    if not [m for m in quantities._AMOUNT.finditer(text)]:
        return []
    return quantities.unit_mismatches(step)


_UNIT_TEXT = st.lists(st.sampled_from(
    ["$10 per hour", "50 km/hr", "60 mph", "3 days", "2 weeks", "24 hours", "7 days", "5 hours", "20 coins per month",
     "$12 an hour", "* ", "x ", "×", "=", "120", "35", "suppose", "try", "convert", "there are 60 minutes", "daily",
     "each day", "a week", " ", "\n", ".", ",", "Try", "CONVERTED", "1,000", "2.5"]), max_size=16).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(_UNIT_TEXT)
def test_unit_mismatches_refuse_as_before(text):
    assert _outcome(quantities.unit_mismatches, text) == _outcome(_ref_unit_mismatches, text)


_LINE_PIECES = st.sampled_from(
    ["3 * 4 = 12", "= 12", "12", "5 - 8 = 3", "$1800 - $2000 = $200", "", "5!", "+ 3", "less", "more than", "Total fruits =", "Total fruits", "52 + 24", "76",
     "50% of 8 is 4", "is 4", "50%", "of 8", "3 EQUALS 3", "equals", "≈ 3.1", "$4", "x", "times", "2 hours",
     "per hour", "apples", ".", "...", "…", " ", "\t", "\r", ",", ":", "(", ")", "1,000", "-", "7 /", "/ 2",
     "cheese pizza slices", "Step 3", "then", "so"])
_LINES = st.lists(st.lists(_LINE_PIECES, max_size=8).map(" ".join), min_size=1, max_size=8).map("\n".join)


@settings(max_examples=500, deadline=None)
@given(_LINES)
def test_linking_over_the_lines_near_relations_finds_what_the_whole_text_gives(text):
    from unittest.mock import patch

    whole = mathtext._tokenize(text)
    near = mathtext._tokenize_near_relations(text)
    fields = {(t.kind, t.text, t.start, t.end, t.value, t.spaced, t.decimals) for t in whole}
    assert all((t.kind, t.text, t.start, t.end, t.value, t.spaced, t.decimals) in fields
               for t in near if t.text)  # the kept lines' tokens are the whole text's; stand-ins have no text
    for approx in (False, True):
        found = _outcome(arithmetic._scan, text, approx)
        with patch.object(arithmetic, "_tokenize_near_relations", mathtext._tokenize):
            assert found == _outcome(arithmetic._scan, text, approx)


def test_words_two_lines_after_a_result_still_give_its_sign():
    from unittest.mock import patch

    # the third token after "3" is "less" on the line after next: that line is kept
    for text in ("5 - 8 = 3\n\nless", "5 - 8 = 3\nless", "5 - 8 = 3\n\n\nless", "5 - 8 = 3 \n  \n  fewer apples"):
        found = arithmetic._scan(text, approx=False)
        with patch.object(arithmetic, "_tokenize_near_relations", mathtext._tokenize):
            assert found == arithmetic._scan(text, approx=False)
    assert [c.ok for c in arithmetic._scan("5 - 8 = 3\n\nless", approx=False)] == [True]
    assert [c.ok for c in arithmetic._scan("5 - 8 = 3\n\n\nless", approx=False)] == [False]


def test_lines_far_from_relations_become_stand_ins():
    text = "We buy apples and pears today\nthen more\nand more\nstill more words here\n3 * 4 = 12\nless\n\nok"
    near = mathtext._tokenize_near_relations(text)
    # the first four lines and the last (three lines after the relation) are stand-ins
    assert [t.start for t in near if t.kind == "STOP" and not t.text] == [0, 30, 40, 49, text.index("ok")]
    assert len(near) < len(mathtext._tokenize(text))
    assert [c.expression for c in arithmetic._scan(text, approx=False)] == ["3 * 4 = 12"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(_LINES, TEXT, SPACED))
def test_no_two_tokens_of_a_list_start_at_the_same_place(text):
    # what lets the linking find a token's position by its identity (math._Positions)
    for toks in (mathtext._tokenize(text), mathtext._tokenize_near_relations(text),
                 arithmetic._attach_remainders(mathtext._tokenize(text + " 54 / 8 = 6 remainder 4, R 2"))):
        starts = [t.start for t in toks]
        assert len(set(starts)) == len(starts)


def _ref_split_math(seg):
    from critica.verifiers.steplinks import _MATH_SPLIT, _SPLIT_FIRST, _Conn, _Link, _make_link, _thousands_comma

    out, depth, start, i = [], 0, 0, 0
    seg = re.sub(r"(?<=\d)\{,\}(?=\d{3}(?!\d))", "", seg)
    seg = seg.replace("&", " ")
    seg = re.sub(r"\\(?:begin|end)\{(?:align|aligned|equation|gather|gathered|eqnarray|split)\*?\}", lambda _m: " \\\\ ", seg)
    while i < len(seg):
        ch = seg[i]
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if depth == 0 and ch in _SPLIT_FIRST:
            m = _MATH_SPLIT.match(seg, i)
            if m and not (m.group() == "," and _thousands_comma(seg, i)):
                out.append(_make_link(seg[start:i]))
                kind = m.lastgroup or "COMMA"
                out.append(_Conn("IMPLY" if kind == "IMPLYTXT" else kind))
                i = start = m.end()
                continue
        i += 1
    out.append(_make_link(seg[start:]))
    out = [p for p in out if not (isinstance(p, _Link) and not p.raw.strip())]
    while out and isinstance(out[0], _Conn) and out[0].kind != "IMPLY":
        out.pop(0)
    while out and isinstance(out[-1], _Conn) and out[-1].kind != "IMPLY":
        out.pop()
    return out


_MATH_PIECES = st.sampled_from(
    ["x", "2x", "=", "10", "1{,}000", "{,}", "1,000", ",", ";", "\\quad", "\\qquad", "\\\\", "&", "(", ")", "{", "}",
     "[", "]", "\\Rightarrow", "\\implies", "\\to", "\\top", "⟹", "⇒", "→", "⟺", "⇔", "\\text{and}", "\\text{ or }",
     "\\text{so}", "\\text{ thus, }", "\\lor", "\\vee", "\\begin{aligned}", "\\end{aligned}", "\\begin{cases}",
     "\\frac{1}{2}", "+", " ", "\\"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_MATH_PIECES, max_size=25).map("".join))
def test_math_splits_as_before(seg):
    from critica.verifiers.steplinks import _split_math

    assert _split_math(seg) == _ref_split_math(seg)


def test_the_value_memo_keeps_no_long_run():
    from fractions import Fraction

    from critica.verifiers import mathexpr

    toks = mathtext._tokenize(" + ".join(["1"] * 400))
    mathexpr._MEMO.clear()
    try:
        mathexpr._value(toks)
    except mathexpr.Unevaluable:
        pass
    assert not mathexpr._MEMO  # refused as too long, and not kept
    short = mathtext._tokenize("3 * 4 + 1")
    assert mathexpr._value(short) == Fraction(13) == mathexpr._value(short) and len(mathexpr._MEMO) == 1
