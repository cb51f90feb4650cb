"""Template echo (issue 14): a model answers, then echoes the prompt's template. A placeholder is not an answer:
the last occurrence of a field with a value that field can read binds; between valid answers the last still wins."""

from __future__ import annotations

import pytest

from critica.backends.call import Caller
from critica.backends.fake import ScriptedBackend
from critica.critics.deliberate import parse_stepwise
from critica.critics.pairwise import parse_preference
from critica.critics.parse import is_placeholder, last_boxed
from critica.critics.processbench import official_index
from critica.critics.registry import build_critic
from critica.critics.structured import boxed_ints, labelled_value
from critica.types import Item, ParseStatus, Verdict

ITEM = Item(id="i1", question="What is 2 + 3 * 4?", steps=["3 * 4 = 12.", "2 + 12 = 15.", "So 15."],
            candidates=["14", "15"], evidence=["Multiplication comes first.", "2 + 12 is 14."])


def _critic(name: str, **options):
    return build_critic(name, Caller(ScriptedBackend(["x"])), structured=False, **options)


DIRECT_ECHO = [
    # the answer, then the template echoed verbatim
    "Step 2 adds wrongly.\nFirst error: 2\nVerdict: incorrect\n\n"
    "First error: <the number of the first wrong step, or -1 if no step is wrong>\nVerdict: <correct or incorrect>",
    # the echo without its angle brackets, or with markdown
    "First error: 2\nVerdict: **incorrect**\n\nFirst error: the number of the first wrong step\nVerdict: correct or incorrect",
    "**First error:** 2\n**Verdict:** incorrect\n---\n**First error:** <k>\n**Verdict:** <correct|incorrect>",
    "First error: 2\nVerdict: incorrect\nVerdict: correct/incorrect",
]


@pytest.mark.parametrize("raw", DIRECT_ECHO)
def test_direct_reads_the_answer_not_the_echoed_template(raw):
    crit = _critic("direct").parse(ITEM, raw)
    assert crit.verdict == Verdict.INCORRECT and crit.first_error_step == 1, (crit.verdict, crit.parse_error)


def test_direct_conflicting_valid_answers_last_still_wins():
    crit = _critic("direct").parse(ITEM, "First error: 2\nVerdict: incorrect\n...on reflection:\nFirst error: -1\n"
                                         "Verdict: correct\nVerdict: <correct or incorrect>")
    assert crit.verdict == Verdict.CORRECT and crit.first_error_step is None


def test_only_a_template_is_still_unscored():
    crit = _critic("direct").parse(ITEM, "First error: <the number of the first wrong step>\nVerdict: <correct or incorrect>")
    assert crit.verdict == Verdict.UNSCORED and crit.parse_status == ParseStatus.FAILED


def test_processbench_boxed_echo_keeps_the_index_and_the_official_reading():
    raw = "Paragraph 1 is wrong.\n\n\\boxed{1}\n\nPlease put your final answer (i.e., the index) in \\boxed{}."
    crit = _critic("processbench").parse(ITEM, raw)
    assert crit.verdict == Verdict.INCORRECT and crit.first_error_step == 1
    # the official extractor reads the last box, the empty one: None (counted wrong there), kept visible
    assert official_index(raw) is None and crit.metadata["official_index"] is None
    assert crit.parse_status == ParseStatus.REPAIRED
    assert _critic("processbench").parse(ITEM, "\\boxed{2} then \\boxed{0}").first_error_step == 0  # last valid wins


def test_deliberate_first_error_echo():
    raw = ("Step 1 verdict: correct\nStep 2 verdict: incorrect\nStep 3 verdict: incorrect\nFirst error: 2\n\n"
           "Step k verdict: <correct or incorrect>\n"
           "First error: <the number of the first incorrect step, or -1 if every step is correct>")
    ans = parse_stepwise(raw, 3, structured=False)
    assert ans.first_error == 1 and ans.status != ParseStatus.FAILED and "derived" not in (ans.note or "")


def test_evidence_verdict_echo():
    crit = _critic("evidence").parse(ITEM, "Passage 2 contradicts step 2.\nVerdict: ungrounded\n\n"
                                           "Verdict: <grounded or ungrounded>")
    assert crit.verdict == Verdict.INCORRECT


def test_pairwise_winner_echo():
    got = parse_preference("B is right.\nWinner: B\n\nWinner: <A, B or tie>", structured=False)
    assert got.preference == "B"


def test_rubric_score_echo():
    crit = _critic("rubric").parse(ITEM, "Feedback: fine.\nScore: 4\n\nFeedback: <your feedback>\nScore: <an integer from 1 to 5>")
    assert crit.score is not None and crit.score.value == 4


def test_principles_scores_echo():
    raw = ("Principles: be right\nCritiques: 1 is right\nScores: \\boxed{9, 2, 5}\n\n"
           "Scores: \\boxed{<one integer from 1 to 10 per response, in order, separated by commas>}")
    crit = _critic("principles").parse(ITEM, raw)
    assert crit.verdict != Verdict.UNSCORED and crit.metadata.get("scores") == [9, 2, 5], crit.parse_error
    assert boxed_ints(raw) == [9, 2, 5]


@pytest.mark.parametrize("value, expected", [
    ("<correct or incorrect>", True), ("**<k>**", True), ("\\boxed{}", True), ("\\boxed{<index>}", True),
    ("correct", False), ("3", False), ("\\boxed{3}", False), ("a < b > c", False), ("<a> and <b>", False),
])
def test_is_placeholder(value, expected):
    assert is_placeholder(value) is expected


def test_labelled_and_boxed_readers_skip_placeholders_and_unreadable_values():
    text = "Score: 3\nScore: <n>\nScore: high"
    assert labelled_value(text, ("score",)) == "high"  # without a reader, only placeholders are skipped
    assert labelled_value(text, ("score",), valid=str.isdigit) == "3"
    assert last_boxed("\\boxed{4} \\boxed{} \\boxed{<answer>}") == "4"
    assert last_boxed("\\boxed{4} \\boxed{x}", valid=str.isdigit) == "4"
    assert last_boxed("\\boxed{4} \\boxed{x}") == "x"
