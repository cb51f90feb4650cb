"""The `verifier` critic: verdict rule, optional verifiers, registry and CLI wiring (no model anywhere)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from critica.cli import main
from critica.critics.registry import available_critics, build_critic
from critica.types import Item, StepVerdict, Verdict
from critica.verifiers.base import Finding
from critica.verifiers.critic import VerifierCritic

REPO = Path(__file__).resolve().parents[1]


def _judge(item: Item, critic: VerifierCritic | None = None):
    return (critic or VerifierCritic()).judge(item)


def test_correct_with_reference_is_confident():
    item = Item(id="a", question="q", steps=["3 * 12 = 36 apples.", "36 - 10 = 26.", "The answer is \\boxed{26}."],
                reference_answer="26")
    c = _judge(item)
    assert c.verdict == Verdict.CORRECT and c.first_error_step is None
    assert [s.verdict for s in c.steps] == [StepVerdict.CORRECT, StepVerdict.CORRECT, StepVerdict.UNCHECKED]
    assert c.confidence == 0.9
    assert c.metadata["checked_steps"] == 2
    assert c.model is None and c.raw_outputs == []


def test_arithmetic_error_names_the_first_wrong_step():
    item = Item(id="b", question="q", steps=["We have 12 apples.", "3 * 12 = 38 apples.", "38 - 10 = 28.",
                                             "She sells them.", "The answer is 28."])
    c = _judge(item)
    assert c.verdict == Verdict.INCORRECT and c.first_error_step == 1 and c.metadata["error_at_or_before"] == 1
    assert c.steps[1].verdict == StepVerdict.INCORRECT and "36" in c.steps[1].explanation
    assert c.steps[2].verdict == StepVerdict.CORRECT  # later steps are judged on their own
    assert "Step 2" in c.explanation
    assert any(f["kind"] == "arithmetic" and f["verdict"] == "incorrect" for f in c.metadata["findings"])


def _late_slip() -> Item:
    reasoning = "Since the triangle is isosceles, the base angles are equal and the altitude bisects the base. "
    return Item(id="late", question="q", steps=[reasoning, reasoning, reasoning, "So the area is 6 * 4 / 2 = 13.",
                                                "The answer is 13."])


def test_late_slip_after_unchecked_reasoning_bounds_the_first_error_without_naming_it():
    c = _judge(_late_slip())
    assert c.verdict == Verdict.INCORRECT and c.first_error_step is None
    assert c.metadata["error_at_or_before"] == 3 and c.steps[3].verdict == StepVerdict.INCORRECT
    assert "at or before step 4" in c.explanation and "12" in c.explanation


def test_locate_policy_options():
    from critica.verifiers.critic import LocatePolicy

    assert _judge(_late_slip(), VerifierCritic(locate="earliest")).first_error_step == 3
    assert build_critic("verifier-earliest", None).judge(_late_slip()).first_error_step == 3
    assert _judge(_late_slip(), VerifierCritic(locate=LocatePolicy(max_position=1.0, max_unchecked_chars=10))
                  ).first_error_step is None  # too much unchecked text before the slip
    first_step = Item(id="f", question="q", steps=["3 * 12 = 38.", "x" * 2000, "y"])
    assert _judge(first_step, VerifierCritic(locate=LocatePolicy(max_position=0.0, max_unchecked_chars=0))
                  ).first_error_step == 0  # nothing precedes step 0
    import pytest

    with pytest.raises(ValueError):
        VerifierCritic(locate="latest")


def test_wrong_final_answer_without_flagged_step():
    item = Item(id="c", question="q", steps=["It drives for 2 hours, so it goes 120 miles.", "The answer is 120."],
                reference_answer="150")
    c = _judge(item)
    assert c.verdict == Verdict.INCORRECT and c.first_error_step is None
    assert "150" in c.explanation


def test_nothing_checkable_is_no_error_found_with_low_confidence():
    item = Item(id="d", question="q", steps=["Let x be the number of cats.", "Then the dogs are twice as many."])
    c = _judge(item)
    assert c.verdict == Verdict.CORRECT and c.first_error_step is None
    assert c.metadata["checked_steps"] == 0 and c.confidence == 0.2
    assert all(s.verdict == StepVerdict.UNCHECKED for s in c.steps)
    assert "No error found" in c.explanation


class _FlagFirstSentence:
    name = "evidence"

    def check(self, item, steps):
        return [Finding("evidence", StepVerdict.INCORRECT, "not supported by the evidence", step=0, details={"cited": []})]


def test_evidence_findings_join_the_verdict():
    critic = VerifierCritic()
    critic._extra["evidence"] = _FlagFirstSentence()
    item = Item(id="e", question="q", response="The tower is red.", evidence=["The tower is grey."])
    c = critic.judge(item)
    assert c.verdict == Verdict.INCORRECT and c.first_error_step == 0
    assert "not supported" in c.steps[0].explanation


def test_missing_optional_verifier_is_skipped_and_said(monkeypatch):
    import critica.verifiers.critic as mod

    monkeypatch.setattr(mod, "_optional", lambda module, cls: None)
    item = Item(id="f", question="q", response="def f(): return 1", tests=["assert f() == 1"])
    c = VerifierCritic().judge(item)
    assert c.metadata["skipped"] == ["code"]
    assert c.verdict == Verdict.CORRECT


async def test_async_critique_matches_judge():
    item = Item(id="g", question="q", steps=["5 * 7 = 36."])
    c = await VerifierCritic().critique(item)
    assert c.first_error_step == 0 and c.latency_s >= 0


def test_registered_without_model_and_ignores_sampling_options():
    spec = available_critics()["verifier"]
    assert spec.needs_model is False
    critic = build_critic("verifier", None, temperature=0.0, max_tokens=10)
    assert isinstance(critic, VerifierCritic)


def test_cli_default_critic_without_model_is_the_verifier(tmp_path):
    out = tmp_path / "c.jsonl"
    assert main(["critique", str(REPO / "examples" / "demo.jsonl"), "--out", str(out)]) == 0
    crits = {c["item_id"]: c for c in map(json.loads, out.read_text().splitlines())}
    assert all(c["critic"] == "verifier" for c in crits.values())
    assert crits["apples-correct"]["verdict"] == "correct"
    assert crits["apples-arith-error"]["verdict"] == "incorrect" and crits["apples-arith-error"]["first_error_step"] == 0
    assert crits["trip-wrong-answer"]["verdict"] == "incorrect" and crits["trip-wrong-answer"]["first_error_step"] is None
    # the slip in step 5 follows a reasoning error in step 2 (the path widens each side by 2 m): bounded, not named
    late = crits["late-slip"]
    assert late["verdict"] == "incorrect" and late["first_error_step"] is None
    assert late["metadata"]["error_at_or_before"] == 4


def test_cli_on_processbench_layout(tmp_path):
    src = tmp_path / "pb.json"
    src.write_text(json.dumps([
        {"id": "x-1", "generator": "g", "problem": "p", "steps": ["2 + 2 = 5", "done"], "final_answer_correct": False, "label": 0},
        {"id": "x-2", "generator": "g", "problem": "p", "steps": ["2 + 2 = 4", "done"], "final_answer_correct": True, "label": -1},
    ]))
    out = tmp_path / "c.jsonl"
    assert main(["critique", str(src), "--critic", "verifier", "--out", str(out)]) == 0
    crits = {c["item_id"]: c for c in map(json.loads, out.read_text().splitlines())}
    assert crits["x-1"]["first_error_step"] == 0 and crits["x-2"]["verdict"] == "correct"


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
    | st.fractions() | st.builds(StepVerdict, st.sampled_from([v.value for v in StepVerdict])),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=12,
)


@given(details=st.dictionaries(st.text(max_size=4), _VALUES, max_size=4), step=st.none() | st.integers(0, 9))
def test_a_finding_in_the_metadata_is_what_asdict_made_of_it(details, step):
    from dataclasses import asdict

    from critica.verifiers.critic import _plain

    f = Finding("arithmetic", StepVerdict.INCORRECT, "msg", step, details)
    got, want = _plain(f), {**asdict(f), "verdict": "incorrect"}
    assert got == want and list(got) == list(want) and repr(got) == repr(want)
    if details:
        assert got["details"] is not f.details  # a copy: the critique does not share the finding's dict
