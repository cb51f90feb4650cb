"""The verifier's exact shortcuts (docs/performance.md, "The verifier"): each gives what the long way gives."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critica.verifiers.math import _may_relate, _scan
from critica.verifiers.mathtext import _tokenize
from critica.verifiers.steplinks import _MATH_SPLIT, _SPLIT_FIRST
from critica.verifiers.symparse import Unparseable, parse_latex_expr

TEXT = st.lists(st.sampled_from(["=", "==", "<=", "≈", "%", "is", "IS", "Equals", "equal", "of", "50", "3.25", " ",
                                 "\n", "*", "x", "times", "apples", ",", "(", ")", "/", "R", "remainder", "\\frac"]),
                max_size=30).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_text_that_may_not_relate_has_no_relation_token(text):
    toks = _tokenize(text)
    if not _may_relate(text):
        assert not any(t.kind in ("EQ", "APPROX") for t in toks)
        assert _scan(text, approx=False) == []


def test_the_relations_it_looks_for():
    assert _may_relate("50% of 8 is 4") and _may_relate("3 EQUALS 3") and _may_relate("2 + 2 = 4")
    assert _may_relate("π ≈ 3.14") and not _may_relate("we add 3 and 4 to get 7")
    assert [c.ok for c in _scan("50% of 8 is 4", approx=False)] == [True]


@pytest.mark.parametrize("number", ["12", "1,234.50", ".5", "0.125", "007", "3.0"])
def test_numbers_read_as_fraction_reads_them(number):
    toks = [t for t in _tokenize(f"x {number} y") if t.kind == "NUM"]
    digits = number.replace(",", "")
    if digits.startswith("0") and digits[1:2].isdigit():
        assert not toks  # a code with a leading zero is not a number
        return
    assert toks[0].value == Fraction(digits) and type(toks[0].value) is Fraction
    assert toks[0].decimals == (len(digits.split(".")[1]) if "." in digits else 0)


def test_spaces_belong_to_no_token_and_set_spaced():
    toks = _tokenize("3 \t* 4\r\n=12   ")
    assert [(t.kind, t.text, t.start, t.spaced) for t in toks] == [
        ("NUM", "3", 0, False), ("OP", "*", 3, True), ("NUM", "4", 5, True), ("NL", "\n", 7, True),
        ("EQ", "=", 8, True), ("NUM", "12", 9, False)]


def test_math_split_can_start_only_at_its_first_characters():
    for text in ["\\Rightarrow", "\\\\", ",", ";", "\\quad", "\\text{and}", "\\text{ or }", "\\lor", "⇒", "→", "⟺",
                 "\\text{so}", "\\implies", "\\to"]:
        m = _MATH_SPLIT.match(text)
        assert m is not None and text[0] in _SPLIT_FIRST, text


def test_parsing_is_remembered_and_a_refusal_raised_each_time():
    a = parse_latex_expr("\\frac{3}{4} + x^2")
    assert parse_latex_expr("\\frac{3}{4} + x^2") == a
    errors = []
    for _ in range(2):
        with pytest.raises(Unparseable) as e:
            parse_latex_expr("", numeric=True)
        errors.append(e.value)
    assert errors[0] is not errors[1] and errors[0].args == errors[1].args


def test_a_side_over_the_length_limit_is_refused_before_the_memo_and_not_kept():
    from critica.verifiers.symparse import MAX_LINK_CHARS, Unparseable, _parse_memo, parse_latex_expr

    before = _parse_memo.cache_info().currsize
    with pytest.raises(Unparseable, match="too long"):
        parse_latex_expr("1+" * MAX_LINK_CHARS + "1")
    assert _parse_memo.cache_info().currsize == before
