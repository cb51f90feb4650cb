"""The critique protocols end to end over the scripted backend: prompts, calls, combination rules, failures."""

from __future__ import annotations

import json

import pytest

from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend, ScriptedError
from critica.critics.registry import available_critics, build_critic
from critica.critics.tool_augmented import ToolAugmentedCritic
from critica.types import Item, ParseStatus, StepVerdict, Verdict
from critica.verifiers.base import Finding

PROTOCOLS = ["direct", "deliberate", "principles", "pairwise", "rubric", "evidence", "tool-augmented",
             "tool-augmented-processbench"]
ITEM = Item(id="i1", question="What is 2 + 3 * 4?", steps=["3 * 4 = 12.", "2 + 12 = 15."], candidates=["2 + 3 * 4 = 14"],
            evidence=["Multiplication is done before addition.", "2 + 12 is 14."], reference_answer="14")

# The default tool checks include evidence grounding, which loads an embedding model: keep it out of the unit tests.
NO_EVIDENCE = ITEM.model_copy(update={"evidence": []})


def _item_for(name: str) -> Item:
    return NO_EVIDENCE if name.startswith("tool-augmented") else ITEM


def caller(replies, **kw) -> Caller:
    return Caller(ScriptedBackend(replies, **kw), CallPolicy(retries=0, timeout_s=5))


def test_every_protocol_is_registered():
    specs = available_critics()
    for name in PROTOCOLS:
        assert name in specs and specs[name].needs_model


@pytest.mark.parametrize("name", PROTOCOLS)
async def test_unparseable_reply_is_unscored_never_a_verdict(name):
    c = caller(["I am not sure what to say."])
    crit = await build_critic(name, c).critique(_item_for(name))
    assert crit.verdict == Verdict.UNSCORED
    assert crit.parse_status == ParseStatus.FAILED and crit.parse_error
    assert crit.score is None and crit.first_error_step is None
    assert crit.raw_outputs and all(r == "I am not sure what to say." for r in crit.raw_outputs)


@pytest.mark.parametrize("name", PROTOCOLS)
async def test_backend_failure_is_unscored_with_the_error(name):
    c = caller([ScriptedError("boom", retryable=False)])
    crit = await build_critic(name, c).critique(_item_for(name))
    assert crit.verdict == Verdict.UNSCORED and crit.error and "boom" in crit.error


async def test_direct_prompt_numbers_steps_from_one_and_stores_zero_based():
    backend = ScriptedBackend([json.dumps({"explanation": "2+12 is 14", "first_error_step": 2, "suggested_fix": "14",
                                           "verdict": "incorrect"})])
    crit = await build_critic("direct", Caller(backend)).critique(ITEM)
    prompt = backend.requests[0].messages[0]["content"]
    assert "Step 1: 3 * 4 = 12." in prompt and "Step 2: 2 + 12 = 15." in prompt and "[Reference answer]\n14" in prompt
    assert backend.requests[0].json_schema is not None
    assert crit.verdict == Verdict.INCORRECT and crit.first_error_step == 1 and crit.suggested_fix == "14"
    assert crit.steps[0].index == 1 and crit.steps[0].verdict == StepVerdict.INCORRECT
    assert crit.usage.calls == 1 and crit.model == "scripted"


async def test_text_mode_sends_no_schema():
    backend = ScriptedBackend(["First error: -1\nVerdict: correct"])
    crit = await build_critic("direct", Caller(backend), structured=False).critique(ITEM)
    assert backend.requests[0].json_schema is None
    assert crit.verdict == Verdict.CORRECT and crit.parse_status == ParseStatus.OK


async def test_deliberate_meta_critique_binds_and_never_falls_back_to_the_first_pass():
    first = "Step 1 verdict: correct\nStep 2 verdict: incorrect\nFirst error: 2"
    backend = ScriptedBackend([first, "I agree with the critique."], cycle=False)
    crit = await build_critic("deliberate", Caller(backend), structured=False).critique(ITEM)
    assert backend.calls == 2
    assert first in backend.requests[1].messages[0]["content"]  # the meta-critique sees the first pass
    assert crit.verdict == Verdict.UNSCORED and crit.parse_status == ParseStatus.FAILED
    assert crit.metadata["first_pass"]["first_error_step"] == 1
    assert crit.raw_outputs == [first, "I agree with the critique."]
    assert crit.usage.calls == 2


async def test_deliberate_final_answer_from_the_meta_critique():
    backend = ScriptedBackend(["Step 1 verdict: correct\nStep 2 verdict: correct\nFirst error: -1",
                               "Step 1 verdict: correct\nStep 2 verdict: incorrect\nFirst error: 2"], cycle=False)
    crit = await build_critic("deliberate", Caller(backend), structured=False).critique(ITEM)
    assert crit.verdict == Verdict.INCORRECT and crit.first_error_step == 1
    assert [s.verdict for s in crit.steps] == [StepVerdict.CORRECT, StepVerdict.INCORRECT]
    assert crit.metadata["first_pass"]["first_error_step"] is None


def _by_order(a_first: str, b_first: str):
    """Reply by which response the prompt shows first."""
    def reply(request, _i):
        content = request.messages[0]["content"]
        return a_first if content.index("2 + 12 = 15.") < content.index("2 + 3 * 4 = 14") else b_first
    return reply


async def test_pairwise_consistent_preference_mapped_back_from_the_swapped_order():
    # A first: judge prefers B; B first: judge prefers A (= the same response B).
    backend = ScriptedBackend(_by_order('{"explanation": "", "winner": "B"}', '{"explanation": "", "winner": "A"}'))
    crit = await build_critic("pairwise", Caller(backend)).critique(ITEM)
    assert backend.calls == 2
    assert crit.metadata["preference"] == "B" and crit.metadata["order_consistent"] is True
    assert crit.verdict == Verdict.INCORRECT  # B preferred over A
    assert [o["preference"] for o in crit.metadata["orders"]] == ["B", "B"]


async def test_pairwise_position_bias_is_reported_as_inconsistent_not_resolved():
    backend = ScriptedBackend(['{"explanation": "", "winner": "A"}'])  # always the first one shown
    crit = await build_critic("pairwise", Caller(backend)).critique(ITEM)
    assert crit.metadata["preference"] == "inconsistent" and crit.metadata["order_consistent"] is False
    assert crit.verdict == Verdict.UNSCORED and crit.parse_status == ParseStatus.OK


async def test_pairwise_tie_is_an_answer_and_one_failed_order_is_a_failure():
    tie = await build_critic("pairwise", caller(["[[A=B]]"]), structured=False).critique(ITEM)
    assert tie.metadata["preference"] == "tie" and tie.parse_status == ParseStatus.OK
    half = await build_critic("pairwise", Caller(ScriptedBackend(_by_order("[[A>B]]", "no idea"))),
                              structured=False).critique(ITEM)
    assert half.parse_status == ParseStatus.FAILED and half.metadata["preference"] is None
    assert "order BA" in (half.parse_error or "")


async def test_pairwise_single_order_and_missing_candidate():
    crit = await build_critic("pairwise", caller(["[[A>B]]"]), structured=False, both_orders=False).critique(ITEM)
    assert crit.metadata["preference"] == "A" and crit.metadata["order_consistent"] is None
    backend = ScriptedBackend(["[[A>B]]"])
    lone = await build_critic("pairwise", Caller(backend)).critique(ITEM.model_copy(update={"candidates": []}))
    assert lone.verdict == Verdict.UNSCORED and backend.calls == 0


async def test_principles_scores_every_response_and_clamps():
    backend = ScriptedBackend([json.dumps({"principles": ["p"], "critiques": ["a", "b"], "scores": [14, 3]})])
    crit = await build_critic("principles", Caller(backend)).critique(ITEM)
    prompt = backend.requests[0].messages[0]["content"]
    assert "[Response 1]" in prompt and "[Response 2]\n2 + 3 * 4 = 14" in prompt
    assert crit.metadata["scores"] == [10, 3] and crit.score.value == 10 and crit.score.max == 10
    assert crit.parse_status == ParseStatus.REPAIRED and "clamped" in crit.parse_error


async def test_rubric_scale_and_aspects_options():
    backend = ScriptedBackend(["Feedback: fine\nCorrectness: 9\nStyle: 2\n[RESULT] 7"])
    critic = build_critic("rubric", Caller(backend), structured=False, min_score=0, max_score=10,
                          aspects=["Correctness", "Style"], pass_threshold=7)
    crit = await critic.critique(ITEM)
    assert "Correctness: <an integer from 0 to 10>" in backend.requests[0].messages[0]["content"]
    assert crit.score.value == 7 and (crit.score.min, crit.score.max) == (0, 10) and crit.verdict == Verdict.CORRECT
    assert crit.metadata["aspect_scores"] == {"Correctness": 9, "Style": 2}


async def test_evidence_without_passages_makes_no_call():
    backend = ScriptedBackend(["Verdict: grounded"])
    crit = await build_critic("evidence", Caller(backend)).critique(ITEM.model_copy(update={"evidence": []}))
    assert crit.verdict == Verdict.UNSCORED and backend.calls == 0


async def test_evidence_prompt_numbers_passages_and_cites_zero_based():
    backend = ScriptedBackend(["Issue: Step 2 | contradicted | passages 2 | 2 + 12 is 14\nVerdict: ungrounded"])
    crit = await build_critic("evidence", Caller(backend), structured=False).critique(ITEM)
    assert "[2] 2 + 12 is 14." in backend.requests[0].messages[0]["content"]
    assert crit.first_error_step == 1 and crit.metadata["cited_passages"] == [1]


async def test_tool_augmented_inserts_verifier_findings_into_the_prompt():
    backend = ScriptedBackend(["First error: 2\nVerdict: incorrect"])
    crit = await build_critic("tool-augmented", Caller(backend), structured=False).critique(NO_EVIDENCE)
    prompt = backend.requests[0].messages[0]["content"]
    assert "[Tool evidence]" in prompt and "step 2" in prompt  # the arithmetic check flags 2 + 12 = 15
    assert "the first error is at step 2 or earlier" in prompt  # a false step bounds the first error
    assert crit.critic == "tool-augmented:direct" and crit.verdict == Verdict.INCORRECT
    assert any(f["kind"] == "arithmetic" and f["step"] == 1 and f["verdict"] == "incorrect"
               for f in crit.metadata["tool_findings"])


async def test_tool_augmented_wraps_any_protocol_with_given_verifiers():
    class Fixed:
        name = "fixed"

        def check(self, item, steps):
            return [Finding("fixed", StepVerdict.INCORRECT, "the sum is 14, not 15", step=1)]

    class Broken:
        name = "broken"

        def check(self, item, steps):
            raise RuntimeError("nope")

    backend = ScriptedBackend(["[[B>A]]"])
    critic = ToolAugmentedCritic(build_critic("pairwise", Caller(backend), structured=False), [Fixed(), Broken()])
    crit = await critic.critique(ITEM)
    assert backend.calls == 2
    for request in backend.requests:
        assert "step 2: incorrect — the sum is 14, not 15" in request.messages[0]["content"]
    assert [f["kind"] for f in crit.metadata["tool_findings"]] == ["fixed", "broken"]
    assert crit.critic == "tool-augmented:pairwise"


async def test_prompt_templates_are_user_overridable(tmp_path, monkeypatch):
    (tmp_path / "direct_json.txt").write_text("CUSTOM {question} / {steps} / {reference}")
    monkeypatch.setenv("CRITICA_PROMPTS", str(tmp_path))
    backend = ScriptedBackend(['{"explanation": "", "first_error_step": -1, "suggested_fix": "", "verdict": "correct"}'])
    await build_critic("direct", Caller(backend)).critique(ITEM)
    assert backend.requests[0].messages[0]["content"].startswith("CUSTOM What is 2 + 3 * 4? / Step 1:")


@pytest.mark.parametrize("name", ["deliberate", "pairwise", "tool-augmented", "direct"])
async def test_k_samples_are_complete_critiques_with_distinct_seeds(name):
    backend = ScriptedBackend(["First error: -1\nVerdict: correct"])
    critic = build_critic(name, Caller(backend), structured=False, temperature=0.8, seed=10)
    crits = await critic.sample(_item_for(name), 3)
    assert len(crits) == 3
    calls_per = {"deliberate": 2, "pairwise": 2}.get(name, 1)
    assert sorted({r.seed for r in backend.requests}) == ([10] if name in ("direct", "tool-augmented") else [10, 11, 12])
    assert all(len(c.raw_outputs) == calls_per for c in crits)
    assert sorted(c.sampling.seed for c in crits) == [10, 11, 12]
