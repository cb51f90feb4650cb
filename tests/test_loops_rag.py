"""Critique-driven alignment (AlignRAG CDA) on scripted generators and the scripted ``evidence`` critic."""

from __future__ import annotations

import json

import pytest

from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend, ScriptedError
from critica.critics.registry import build_critic
from critica.errors import UserError
from critica.loops import Generator, StopReason, align

FAST = CallPolicy(timeout_s=5, retries=0, backoff_base_s=0.0, concurrency=2)
PASSAGES = ["The Eiffel Tower is 330 metres tall.", "Paris is the capital of France."]


def item(response="Step 1: The tower is 500 metres tall.\nStep 2: So the answer is 500 metres."):
    from critica.types import Item

    return Item(id="r1", question="How tall is the Eiffel Tower?", response=response, evidence=PASSAGES)


def evidence_reply(grounded: bool, step: int = 1) -> str:
    if grounded:
        return json.dumps({"analysis": "fits", "issues": [], "verdict": "grounded"})
    return json.dumps({"analysis": "step 1 contradicts passage 1",
                       "issues": [{"step": step, "type": "contradicted", "passages": [1],
                                   "explanation": "passage 1 says 330 metres"}],
                       "verdict": "ungrounded"})


def setup(critic_replies, gen_replies):
    cb = ScriptedBackend(critic_replies, name="critic", cycle=False)
    gb = ScriptedBackend(gen_replies, name="gen", cycle=False)
    critic = build_critic("evidence", Caller(cb, FAST), max_tokens=64)
    return critic, Generator(Caller(gb, FAST), answer_format="End with the answer."), cb, gb


async def test_misaligned_reasoning_is_rewritten_to_fit_the_passages():
    aligned = "Step 1: Passage [1] says the tower is 330 metres tall.\nStep 2: The answer is 330 metres."
    critic, gen, cb, gb = setup([evidence_reply(False), evidence_reply(True)], [aligned])
    t = await align(item(), critic, gen, max_rounds=2)
    assert t.stop_reason == StopReason.ACCEPTED and t.final_answer == aligned and t.revisions == 1
    assert t.metadata == {"mode": "cda", "passages": 2}
    rewrite_prompt = gb.requests[0].messages[0]["content"]
    # The rewrite sees the numbered passages, the flagged step and the cited passage (1-based).
    assert "[1] The Eiffel Tower is 330 metres tall." in rewrite_prompt and "[2] Paris" in rewrite_prompt
    assert "First wrong step: Step 1" in rewrite_prompt and "passage 1 says 330 metres" in rewrite_prompt
    assert "Passages the critique cites: [1]" in rewrite_prompt
    assert t.rounds[0].critique.metadata["cited_passages"] == [0]


async def test_alignment_stops_at_the_round_limit():
    critic, gen, cb, gb = setup([evidence_reply(False)] * 3, ["Step 1: v1.\nStep 2: a", "Step 1: v2.\nStep 2: b"])
    t = await align(item(), critic, gen, max_rounds=2)
    assert t.stop_reason == StopReason.ROUND_LIMIT and gb.calls == 2 and cb.calls == 3


async def test_already_grounded_reasoning_is_kept():
    critic, gen, cb, gb = setup([evidence_reply(True)], [])
    t = await align(item(), critic, gen)
    assert t.stop_reason == StopReason.ACCEPTED and not t.changed and gb.calls == 0


async def test_draft_sees_the_passages():
    critic, gen, cb, gb = setup([evidence_reply(True)], ["Step 1: [1] says 330 m.\nStep 2: 330 m"])
    t = await align(item(), critic, gen, draft=True)
    assert t.initial_answer.startswith("Step 1: [1] says 330 m")
    assert "[1] The Eiffel Tower is 330 metres tall." in gb.requests[0].messages[0]["content"]


async def test_failed_draft_is_recorded():
    critic, gen, cb, gb = setup([evidence_reply(True)], [ScriptedError("down", retryable=False)])
    t = await align(item(), critic, gen, draft=True)
    assert t.stop_reason == StopReason.GENERATOR_FAILED and "down" in (t.error or "")


async def test_items_without_passages_are_refused():
    critic, gen, cb, gb = setup([], [])
    with pytest.raises(UserError, match="no retrieved passages"):
        await align(item().model_copy(update={"evidence": []}), critic, gen)
