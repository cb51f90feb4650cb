"""critica.critics.labels: the authors' rules (quirks included) and critica's own readings, as cases."""

import pytest

from critica.critics.labels import (
    arena_decision,
    arena_decision_authors,
    flip_decision,
    grade_decision,
    grade_decision_authors,
    llmbar_winner,
    llmbar_winner_authors,
    mr_gsm8k_fields_authors,
    mr_gsm8k_grade_authors,
    mr_gsm8k_step_authors,
    mr_gsm8k_verdict_authors,
    parse_mr_gsm8k,
    swap_winner,
)

LLMBAR = [
    # text, rule, authors' winner, critica's winner
    ("Output (a)", "line-start", "1", "1"),
    (" Output (b)", "line-start", "2", "2"),
    ("Reasoning...\nOutput (b)", "line-start", "2", "2"),
    ("I prefer Output (b)", "line-start", None, None),
    ("Both are fine.", "line-start", None, None),
    ("**Output (b)**", "line-start", None, "2"),
    ("Output (a) is better.", "is-better", "1", "1"),
    # the authors try "1" first: a later, final "(b)" verdict loses; critica binds to the last statement
    ("Output (a) is better at first sight. Overall, Output (b) is better.", "is-better", "1", "2"),
    ("output (b) is better", "is-better", None, "2"),
    ("<think>Output (a) is better.</think>Output (b) is better.", "is-better", "1", "2"),
    ("", "line-start", None, None),
]


@pytest.mark.parametrize("text,rule,authors,mine", LLMBAR)
def test_llmbar_winner(text, rule, authors, mine):
    assert llmbar_winner_authors(text, rule) == authors
    assert llmbar_winner(text) == mine


def test_swap_winner():
    assert [swap_winner(w) for w in ("1", "2", None)] == ["2", "1", None]


ARENA = [
    ("My final verdict is [[A>>B]].", "A>B", "A>B"),
    ("[[B>A]]", "B>A", "B>A"),
    ("[[A=B]]", "A=B", "A=B"),
    ("[[A>B]] ... so again [[A>B]]", "A>B", "A>B"),
    # two distinct labels void the authors' decision; critica's final label binds
    ("[[A>B]] ... on reflection [[B>A]]", None, "B>A"),
    ("[[A>>B]] and [[A>B]]", None, "A>B"),
    ("no label", None, None),
    ("[[A<B]]", "A<B", "B>A"),
    ("[[]]", None, None),
]


@pytest.mark.parametrize("text,authors,mine", ARENA)
def test_arena_decision(text, authors, mine):
    assert arena_decision_authors(text) == authors
    assert arena_decision(text) == mine


def test_flip_decision():
    assert [flip_decision(d) for d in ("A>B", "B>A", "A=B", None)] == ["B>A", "A>B", "A=B", None]


MR_REPLY = """Step-by-step Evaluation: step 2 adds wrong.
Final Judgement: Wrong
First Error Step: Step 2
Error Analysis: 3+4 is 7, not 8."""


def test_mr_gsm8k_authors_fields_and_normalisers():
    f = mr_gsm8k_fields_authors(MR_REPLY)
    assert f is not None
    assert (f.judgement, f.error_step, f.error_reason) == ("Wrong", "Step 2", "3+4 is 7, not 8.")
    assert mr_gsm8k_verdict_authors("Incorrect") == "wrong"
    assert mr_gsm8k_verdict_authors("correct") == "correct"
    assert mr_gsm8k_step_authors("Step 2") == "2"
    assert mr_gsm8k_step_authors("3") == "3"
    assert mr_gsm8k_step_authors("Step 2: the sum") == ""
    assert mr_gsm8k_step_authors("N/A") == ""
    assert mr_gsm8k_fields_authors("final judgement: wrong") is None


MR_CASES = [
    (MR_REPLY, "wrong", 2, "3+4 is 7, not 8."),
    ("**Final Judgment:** correct\n**First Error Step:** N/A\n**Error Analysis:** N/A", "correct", None, None),
    ("Final Judgement: [Incorrect]\nFirst Error Step: Step 3: 5*2=11\nError Analysis: bad product", "wrong", 3, "bad product"),
    ("Final Judgement: maybe\nFirst Error Step: 1\nError Analysis: x", None, 1, "x"),
    ("nothing structured", None, None, None),
]


@pytest.mark.parametrize("text,verdict,step,reason", MR_CASES)
def test_parse_mr_gsm8k(text, verdict, step, reason):
    v = parse_mr_gsm8k(text)
    assert (v.verdict, v.first_error_step, v.error_reason) == (verdict, step, reason)


def test_grader_fields_and_decisions():
    text = "Step-by-Step Reasoning: fine\nStudent Error Reason Analysis: matches\nFinal Decision: [Correct]"
    assert mr_gsm8k_grade_authors(text) == {
        "Error Comprehension": "fine", "Model Error Reason Analysis": "matches", "Final Decision": "[Correct]"}
    assert mr_gsm8k_grade_authors("Final Decision: Correct") is None
    assert grade_decision_authors("- Correct") and grade_decision("- Correct") is True
    # the authors' substring test accepts "Incorrect"; critica does not
    assert grade_decision_authors("Incorrect") is True
    assert grade_decision("Incorrect") is False
    assert grade_decision("unsure") is None
