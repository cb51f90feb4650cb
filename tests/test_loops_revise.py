"""critique → revise loop on scripted generators and critics: acceptance, round limits, the regression guard,
unscored critiques and failing generators."""

from __future__ import annotations

import json

import pytest

from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend, ScriptedError
from critica.critics.parse import last_boxed
from critica.critics.registry import build_critic
from critica.loops import Generator, StopReason, accepts, refine, refine_many, render_critique
from critica.types import Critique, Item, Score, StepJudgment, StepVerdict, Verdict

FAST = CallPolicy(timeout_s=5, retries=1, backoff_base_s=0.0, concurrency=2)
ITEM = Item(id="q1", question="What is 2 + 3?", response="Step 1: 2 + 3 = 6.\nStep 2: So the answer is \\boxed{6}.")


def pb(index: int) -> str:
    """A ProcessBench JSON reply: -1 accepts, k flags step k (0-based)."""
    return json.dumps({"critique": f"index {index}", "earliest_error_index": index})


def setup(critic_replies, generator_replies):
    critic_backend = ScriptedBackend(critic_replies, name="critic", cycle=False)
    gen_backend = ScriptedBackend(generator_replies, name="gen", cycle=False)
    critic = build_critic("processbench", Caller(critic_backend, FAST), max_tokens=64)
    return critic, Generator(Caller(gen_backend, FAST), max_tokens=64), critic_backend, gen_backend


async def test_accepted_answer_is_kept_and_never_revised():
    critic, gen, cb, gb = setup([pb(-1)], [])
    t = await refine(ITEM, critic, gen, max_rounds=3)
    assert t.stop_reason == StopReason.ACCEPTED
    assert t.final_answer == ITEM.response and not t.changed
    assert len(t.rounds) == 1 and t.rounds[0].verdict == Verdict.CORRECT and t.rounds[0].accepted is True
    assert gb.calls == 0 and cb.calls == 1


async def test_rejected_then_revised_then_accepted_records_every_round():
    fixed = "Step 1: 2 + 3 = 5.\nStep 2: So the answer is \\boxed{5}."
    critic, gen, cb, gb = setup([pb(0), pb(-1)], [fixed])
    t = await refine(ITEM, critic, gen, max_rounds=3)
    assert t.stop_reason == StopReason.ACCEPTED
    assert t.final_answer == fixed and t.changed and t.revisions == 1 and t.final_round == 1
    assert [r.verdict for r in t.rounds] == [Verdict.INCORRECT, Verdict.CORRECT]
    assert [r.answer for r in t.rounds] == [ITEM.response, fixed]
    # The reviser saw the critique, including the flagged step quoted for a person.
    prompt = gb.requests[0].messages[0]["content"]
    assert "Verdict: incorrect" in prompt and "First wrong step: Step 1" in prompt and "2 + 3 = 6" in prompt
    # The critic judged the revised answer, not the original.
    assert "2 + 3 = 5" in cb.requests[1].messages[0]["content"]
    assert t.usage.calls == 3


async def test_round_limit_stops_with_the_last_revision():
    revisions = [f"Step 1: try {i}.\nStep 2: \\boxed{{{i}}}" for i in range(5)]
    critic, gen, cb, gb = setup([pb(0)] * 10, revisions)
    t = await refine(ITEM, critic, gen, max_rounds=2)
    assert t.stop_reason == StopReason.ROUND_LIMIT
    assert gb.calls == 2 and cb.calls == 3  # the last revision is critiqued too (check_final)
    assert t.final_answer == revisions[1] and t.final_round == 2
    assert all(r.accepted is False for r in t.rounds)


async def test_round_limit_without_final_check_saves_the_critic_call():
    revisions = ["Step 1: a.\nStep 2: \\boxed{1}", "Step 1: b.\nStep 2: \\boxed{2}"]
    critic, gen, cb, gb = setup([pb(0)] * 5, revisions)
    t = await refine(ITEM, critic, gen, max_rounds=2, check_final=False)
    assert cb.calls == 2 and gb.calls == 2
    assert t.rounds[-1].critique is None and t.rounds[-1].answer == revisions[1]
    assert t.final_answer == revisions[1]


async def test_zero_rounds_only_critiques():
    critic, gen, cb, gb = setup([pb(1)], [])
    t = await refine(ITEM, critic, gen, max_rounds=0)
    assert t.stop_reason == StopReason.ROUND_LIMIT and gb.calls == 0 and not t.changed


async def test_unscored_critique_keeps_the_answer_by_default():
    critic, gen, cb, gb = setup(["I cannot tell."], ["never used"])
    t = await refine(ITEM, critic, gen, max_rounds=2)
    assert t.stop_reason == StopReason.UNSCORED
    assert t.rounds[0].verdict == Verdict.UNSCORED and t.rounds[0].accepted is None
    assert t.final_answer == ITEM.response and gb.calls == 0


async def test_unscored_critique_can_be_revised_on_request():
    fixed = "Step 1: 5.\nStep 2: \\boxed{5}"
    critic, gen, cb, gb = setup(["no idea", pb(-1)], [fixed])
    t = await refine(ITEM, critic, gen, max_rounds=2, on_unscored="revise")
    assert t.stop_reason == StopReason.ACCEPTED and t.final_answer == fixed
    assert "Verdict: unscored" in gb.requests[0].messages[0]["content"]


async def test_failing_generator_keeps_the_previous_answer():
    critic, gen, cb, gb = setup([pb(0)], [ScriptedError("down", retryable=False)])
    t = await refine(ITEM, critic, gen, max_rounds=2)
    assert t.stop_reason == StopReason.GENERATOR_FAILED
    assert t.final_answer == ITEM.response and "down" in (t.rounds[0].revision_error or "")


async def test_failing_critic_backend_is_an_unscored_round():
    critic, gen, cb, gb = setup([ScriptedError("critic down", retryable=False)], [])
    t = await refine(ITEM, critic, gen, max_rounds=2)
    assert t.stop_reason == StopReason.UNSCORED
    assert t.rounds[0].critique is not None and "critic down" in (t.rounds[0].critique.error or "")


async def test_revision_without_final_answer_is_rejected_by_the_extractor():
    critic, gen, cb, gb = setup([pb(0)], ["I think it is five."])
    t = await refine(ITEM, critic, gen, max_rounds=2, extract=last_boxed)
    assert t.stop_reason == StopReason.UNUSABLE_REVISION
    assert t.final_answer == ITEM.response and t.rounds[0].revision_error == "the revision has no final answer"
    assert t.rounds[0].rejected_revision == "I think it is five."


async def test_empty_revision_is_rejected():
    critic, gen, cb, gb = setup([pb(0)], ["   "])
    t = await refine(ITEM, critic, gen, max_rounds=2)
    assert t.stop_reason == StopReason.UNUSABLE_REVISION and t.final_answer == ITEM.response


async def test_identical_revision_stops_at_a_fixed_point():
    critic, gen, cb, gb = setup([pb(0)], [ITEM.response])
    t = await refine(ITEM, critic, gen, max_rounds=3)
    assert t.stop_reason == StopReason.NO_CHANGE and cb.calls == 1


async def test_self_critique_drafts_the_first_answer_with_the_generator():
    draft = "Step 1: 2 + 3 = 5.\nStep 2: \\boxed{5}"
    critic, gen, cb, gb = setup([pb(-1)], [draft])
    t = await refine(ITEM.model_copy(update={"response": "ignored"}), critic, gen, draft=True)
    assert t.initial_answer == draft and t.final_answer == draft and t.stop_reason == StopReason.ACCEPTED
    assert "What is 2 + 3?" in gb.requests[0].messages[0]["content"]


async def test_failed_draft_is_recorded_not_raised():
    critic, gen, cb, gb = setup([pb(-1)], [ScriptedError("gen down", retryable=False)])
    t = await refine(ITEM, critic, gen, draft=True)
    assert t.stop_reason == StopReason.GENERATOR_FAILED and t.rounds == [] and "gen down" in (t.error or "")


class ScoreCritic:
    """A critic that only scores (no verdict), by a table of answer → score."""

    name = "score-table"

    def __init__(self, table: dict[str, float]):
        self.table = table

    async def critique(self, item: Item) -> Critique:
        value = self.table.get(item.text)
        if value is None:
            return Critique(item_id=item.id, critic=self.name, verdict=Verdict.UNSCORED)
        return Critique(item_id=item.id, critic=self.name, verdict=Verdict.UNSCORED, score=Score(value=value, min=1, max=10))


async def test_regression_guard_returns_the_better_scored_earlier_answer():
    worse = "Step 1: worse.\nStep 2: \\boxed{7}"
    critic = ScoreCritic({ITEM.response: 6, worse: 2})
    gen = Generator(Caller(ScriptedBackend([worse], cycle=False), FAST))
    t = await refine(ITEM, critic, gen, max_rounds=1, accept_threshold=0.9)
    assert t.stop_reason == StopReason.ROUND_LIMIT
    assert t.guard_applied and t.final_round == 0 and t.final_answer == ITEM.response


async def test_score_threshold_accepts():
    critic = ScoreCritic({ITEM.response: 10})
    gen = Generator(Caller(ScriptedBackend([], cycle=False), FAST))
    t = await refine(ITEM, critic, gen, accept_threshold=0.8)
    assert t.stop_reason == StopReason.ACCEPTED and not t.guard_applied


async def test_raising_critic_is_contained():
    class Broken:
        name = "broken"

        async def critique(self, item):
            raise RuntimeError("boom")

    gen = Generator(Caller(ScriptedBackend([], cycle=False), FAST))
    t = await refine(ITEM, Broken(), gen)
    assert t.stop_reason == StopReason.UNSCORED and "boom" in (t.rounds[0].critique.error or "")


@pytest.mark.parametrize(
    ("verdict", "score", "threshold", "expected"),
    [
        (Verdict.CORRECT, None, None, True),
        (Verdict.INCORRECT, 10, 0.1, False),  # the verdict binds over the score
        (Verdict.UNSCORED, None, 0.5, None),
        (Verdict.UNSCORED, 8, None, None),
        (Verdict.UNSCORED, 8, 0.5, True),
        (Verdict.UNSCORED, 2, 0.5, False),
    ],
)
def test_accepts(verdict, score, threshold, expected):
    c = Critique(item_id="x", critic="c", verdict=verdict, score=None if score is None else Score(value=score))
    assert accepts(c, threshold=threshold) is expected


def test_render_critique_uses_every_field():
    c = Critique(item_id="x", critic="direct", verdict=Verdict.INCORRECT, first_error_step=1,
                 steps=[StepJudgment(index=1, verdict=StepVerdict.INCORRECT, explanation="3*4 is 12")],
                 explanation="wrong product", suggested_fix="use 12", score=Score(value=3),
                 metadata={"cited_passages": [0, 2], "issues": [{"step": None, "type": "ignores_evidence",
                                                                  "explanation": "passage 3 is ignored"}]})
    text = render_critique(c, ["a", "3*4 = 13"])
    for part in ("Verdict: incorrect", "Score: 3 on a scale of 1 to 10", 'Step 2 ("3*4 = 13")', "3*4 is 12",
                 "wrong product", "Suggested fix: use 12", "Passages the critique cites: [1], [3]",
                 "Whole answer (ignores_evidence): passage 3 is ignored"):
        assert part in text


async def test_refine_many_keeps_input_order_and_reports_progress():
    items = [ITEM.model_copy(update={"id": f"q{i}"}) for i in range(4)]
    critic, gen, cb, gb = setup(lambda req, i: pb(-1), [])
    seen = []
    out = await refine_many(items, critic, gen, concurrency=2, progress=lambda t: seen.append(t.item_id))
    assert [t.item_id for t in out] == ["q0", "q1", "q2", "q3"] and sorted(seen) == ["q0", "q1", "q2", "q3"]


async def test_raising_reviser_is_contained():
    async def broken(item, critique):
        raise KeyError("answer_format")

    critic, gen, cb, gb = setup([pb(0)], [])
    t = await refine(ITEM, critic, gen, reviser=broken)
    assert t.stop_reason == StopReason.GENERATOR_FAILED and "KeyError" in (t.rounds[0].revision_error or "")
    assert t.final_answer == ITEM.response
