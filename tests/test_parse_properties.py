"""Property tests: no input makes any protocol parser raise, and every result is a consistent Critique."""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critica.backends.call import Caller
from critica.backends.fake import ScriptedBackend
from critica.critics.deliberate import DeliberateCritic, parse_stepwise
from critica.critics.direct import DirectCritic
from critica.critics.evidence import EvidenceCritic
from critica.critics.pairwise import PairwiseCritic, parse_preference
from critica.critics.parse import all_boxed, extract_json, strip_reasoning
from critica.critics.principles import PrinciplesCritic
from critica.critics.processbench import _OFFICIAL_BOXED, ProcessBenchCritic, official_index
from critica.critics.rubric import RubricCritic
from critica.critics.structured import as_int, boxed_ints, find_json, labelled_value
from critica.types import Critique, Item, ParseStatus, Verdict

CLASSES = [DirectCritic, DeliberateCritic, PrinciplesCritic, ProcessBenchCritic, RubricCritic, EvidenceCritic, PairwiseCritic]
ITEM = Item(id="p", question="q", steps=["a", "b", "c"], candidates=["other"], evidence=["e1", "e2"],
            rubric="Aspect: Accuracy - x\nAspect: Clarity - y\nScore 1: bad\nScore 5: good")
CRITICS = [cls(Caller(ScriptedBackend()), structured=s) for cls in CLASSES for s in (True, False)]

# Fragments critics really emit, so random text often lands on the parsers' interesting paths.
FRAGMENTS = st.sampled_from([
    "{", "}", "[", "]", '"', ":", ",", "\\boxed{", "\\fbox{", "<think>", "</think>", "[[A>B]]", "[[B>>A]]", "[[A=B]]",
    "[RESULT] ", "Verdict: ", "First error: ", "Step 2 verdict: ", "Scores: ", "Issue: Step 1 | unsupported | passages 1 | ",
    "correct", "incorrect", "grounded", "ungrounded", "tie", "-1", "0", "3", "99999999999", "1e309", "NaN", "7.5",
    '"verdict": ', '"first_error_step": ', '"scores": [', '"winner": ', '"score": ', '"issues": [', '"steps": [',
    '"earliest_error_index": ', '"aspect_scores": [', "\n", " ", "**", "```json\n", "null", "true",
])
TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=40).map("".join),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["verdict", "first_error_step", "steps", "scores", "score", "winner", "issues", "aspect_scores",
                         "step", "type", "passages", "aspect", "explanation", "earliest_error_index", "critique"]),
        inner, max_size=6),
    max_leaves=20,
)


def _consistent(crit: Critique) -> None:
    assert isinstance(crit, Critique)
    if crit.parse_status == ParseStatus.FAILED:
        assert crit.verdict == Verdict.UNSCORED and crit.parse_error
    if crit.first_error_step is not None:
        assert 0 <= crit.first_error_step < 3
    if crit.score is not None:
        assert crit.score.min <= crit.score.value <= crit.score.max


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=TEXT)
def test_no_text_makes_a_protocol_parser_raise(raw):
    for critic in CRITICS:
        _consistent(critic.parse(ITEM, raw))
    for structured in (True, False):
        parse_preference(raw, structured=structured)
        parse_stepwise(raw, 3, structured=structured)
    strip_reasoning(raw)
    extract_json(raw)
    find_json(raw, structured=True)
    boxed_ints(raw)
    labelled_value(raw, ("verdict", "score"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=JSON_VALUES, cut=st.integers(0, 400))
def test_no_json_shape_makes_a_parser_raise(value, cut):
    try:
        raw = json.dumps(value)
    except ValueError:
        return
    for text in (raw, raw[:cut]):
        for critic in CRITICS:
            _consistent(critic.parse(ITEM, text))
        parse_preference(text, structured=True)


@given(value=JSON_VALUES)
def test_as_int_returns_an_int_or_none(value):
    got = as_int(value)
    assert got is None or isinstance(got, int)


HOSTILE = {
    "digits": "9" * 100_000, "json-digits": '{"score": ' + "9" * 100_000 + "}", "braces": "{" * 100_000,
    "boxes": "\\boxed{" * 10_000 + "9" * 50_000, "think": "<think>" * 20_000, "closes": "</think>" + "<think>" * 20_000,
    "json-keys": '{"a": ' * 20_000, "label-spaces": "Verdict:" + " " * 100_000 + "x", "newlines": "\n" * 100_000,
    "step-lines": "Step 1 verdict: correct\n" * 5_000, "brackets": "[[" * 50_000, "result": "[RESULT] " * 10_000,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_inputs_neither_raise_nor_stall(name):
    # Each input once through every parser; quadratic behaviour here would take minutes, not a second.
    start = time.perf_counter()
    for critic in CRITICS:
        _consistent(critic.parse(ITEM, HOSTILE[name]))
    parse_preference(HOSTILE[name], structured=True)
    assert time.perf_counter() - start < 60


_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def _strip_reference(text: str) -> str:
    """The regex definition strip_reasoning must keep matching (it is implemented in one linear pass)."""
    text = _THINK.sub("", text)
    closes = list(re.finditer("</think>", text, re.IGNORECASE))
    if closes:
        return text[closes[-1].end():].strip()
    first = re.search("<think>", text, re.IGNORECASE)
    return (text[: first.start()] if first else text).strip()


def _boxed_reference(text: str) -> list[str]:
    """A brace scan per box: the definition all_boxed must keep matching."""
    out = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append(text[m.end(): i - 1].strip())
    return out


TAGGY = st.lists(st.sampled_from(["<think>", "</think>", "<THINK>", "\\boxed{", "\\fbox {", "{", "}", "a", " ", "1", "\n"]),
                 max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=TAGGY)
def test_linear_helpers_match_their_definitions(text):
    assert strip_reasoning(text) == _strip_reference(text)
    assert all_boxed(text) == _boxed_reference(text)


def _official_reference(text: str):
    matches = _OFFICIAL_BOXED.findall(text)
    if not matches or len(matches[-1].strip()) > 12:
        return None
    try:
        return int(matches[-1].strip())
    except ValueError:
        return None


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from(["\\boxed{", "\\boxed", "}", "{", "1", "-", "2", " ", "a"]), max_size=20).map("".join))
def test_official_processbench_extractor_matches_the_official_regex(text):
    assert official_index(text) == _official_reference(text)
