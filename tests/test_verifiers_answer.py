"""Final-answer extraction and math-verify equivalence (cases in tests/data/final_answer_cases.json)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from critica.types import Item, StepVerdict
from critica.verifiers.answer import FinalAnswerVerifier, answers_equivalent, extract_final_answer

CASES = json.loads((Path(__file__).parent / "data" / "final_answer_cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES["extract"], ids=[c["text"][:30] for c in CASES["extract"]])
def test_extract(case):
    got = extract_final_answer(case["text"])
    if case["answer"] is None:
        assert got is None
    else:
        assert got == (case["answer"], case["how"])


@pytest.mark.parametrize("answer,reference,same", CASES["equivalent"])
def test_equivalent(answer, reference, same):
    assert answers_equivalent(answer, reference) is same


def test_equivalence_works_off_the_main_thread():
    # math-verify's signal-based timeout only works in the main thread; the verifier must not depend on it
    out = []
    t = threading.Thread(target=lambda: out.append(answers_equivalent("\\frac{2}{4}", "0.5")))
    t.start()
    t.join(30)
    assert out == [True]


def test_verifier_findings():
    v = FinalAnswerVerifier()
    steps = ["3 * 4 = 12", "The answer is \\boxed{12}."]
    assert v.check(Item(id="a", question="q", steps=steps), steps) == []  # no reference: nothing to say
    ok = v.check(Item(id="b", question="q", steps=steps, reference_answer="12"), steps)
    assert [f.verdict for f in ok] == [StepVerdict.CORRECT] and ok[0].step is None
    bad = v.check(Item(id="c", question="q", steps=steps, reference_answer="13"), steps)
    assert bad[0].verdict == StepVerdict.INCORRECT
    assert "'12'" in bad[0].message and "'13'" in bad[0].message
    none = v.check(Item(id="d", question="q", steps=["no digits"], reference_answer="13"), ["no digits"])
    assert none[0].verdict == StepVerdict.UNCHECKED
