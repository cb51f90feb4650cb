"""Panels (majority, mean, exam weights), qualification exams and cascades on scripted critics."""

from __future__ import annotations

import math

import pytest

from critica.aggregate.cascade import Cascade
from critica.aggregate.panel import Gold, Panel, gold_label, matches_gold, qualification_exam
from critica.aggregate.voting import VotingCritic
from critica.types import Critique, Item, ParseStatus, Usage, Verdict

C, I, U = Verdict.CORRECT, Verdict.INCORRECT, Verdict.UNSCORED  # noqa: E741 - short names keep the vote tables readable


def item(i: int, label: int | None = None) -> Item:
    meta = {} if label is None else {"label": label}
    return Item(id=f"it{i}", question="q", steps=["a", "b", "c"], metadata=meta)


class Fixed:
    """A critic with a fixed answer per item id (a default otherwise); can raise; spends fixed tokens."""

    def __init__(self, name: str, default=(C, None), answers: dict | None = None, conf: float | None = None,
                 tokens: int = 0, latency_s: float = 0.0) -> None:
        self.name = name
        self.default = default
        self.answers = answers or {}
        self.conf = conf
        self.tokens = tokens
        self.latency_s = latency_s
        self.calls = 0

    async def critique(self, it: Item) -> Critique:
        self.calls += 1
        v, first = self.answers.get(it.id, self.default)
        if isinstance(v, Exception):
            raise v
        return Critique(item_id=it.id, critic=self.name, verdict=v, first_error_step=first if v == I else None,
                        confidence=self.conf, usage=Usage(prompt_tokens=self.tokens, calls=1), latency_s=self.latency_s,
                        parse_status=ParseStatus.FAILED if v == U else ParseStatus.OK)


def test_gold_labels_and_grading():
    assert gold_label(item(0, -1)) == Gold(C)
    assert gold_label(item(0, 2)) == Gold(I, 2)
    assert gold_label(Item(id="a", question="q", response="r", metadata={"gold_verdict": "Incorrect"})) == Gold(I)
    assert gold_label(Item(id="a", question="q", response="r", metadata={"label": True})) is None
    assert gold_label(item(0)) is None
    wrong_step = Critique(item_id="x", critic="c", verdict=I, first_error_step=1)
    assert matches_gold(wrong_step, Gold(I, 2)) is False and matches_gold(wrong_step, Gold(I, 2), step_level=False)
    assert matches_gold(wrong_step, Gold(I)) is True
    assert matches_gold(Critique(item_id="x", critic="c", verdict=U, parse_status=ParseStatus.FAILED), Gold(C)) is None


async def test_disagreeing_panel_reports_majority_and_disagreement():
    panel = Panel([Fixed("a", (C, None)), Fixed("b", (I, 1)), Fixed("c", (I, 1))])
    out = await panel.critique(item(0))
    assert out.verdict == I and out.first_error_step == 1 and out.confidence == pytest.approx(2 / 3)
    assert out.metadata["members"] == {"a": "correct", "b": "incorrect", "c": "incorrect"}
    assert out.metadata["disagreement"]["minority"] == pytest.approx(1 / 3)
    assert out.critic == "panel[majority](a,b,c)" and len(out.samples) == 3


async def test_a_failing_member_is_counted_not_voted():
    panel = Panel([Fixed("a", (RuntimeError("crash"), None)), Fixed("b", (C, None)), Fixed("c", (U, None))])
    out = await panel.critique(item(0))
    assert out.verdict == C and out.confidence == 1.0 and out.metadata["unscored"] == 2
    assert "crash" in out.samples[0].error and out.metadata["members"]["a"] == "unscored"


async def test_all_members_failing_is_unscored():
    out = await Panel([Fixed("a", (U, None)), Fixed("b", (RuntimeError("x"), None))]).critique(item(0))
    assert out.verdict == U


async def test_mean_panel_weighs_confidence():
    panel = Panel([Fixed("a", (C, None), conf=0.55), Fixed("b", (C, None), conf=0.55), Fixed("c", (I, 0), conf=1.0)],
                  method="mean")
    out = await panel.critique(item(0))
    assert out.verdict == I and out.metadata["p_incorrect"] == pytest.approx((0.45 + 0.45 + 1.0) / 3)


async def test_qualification_exam_weights_members_by_accuracy():
    exam_items = [item(i, label) for i, label in enumerate([-1, -1, 1, 2, -1])] + [item(9)]
    good = Fixed("good", (C, None), answers={"it2": (I, 1), "it3": (I, 2)})  # 5/5
    lazy = Fixed("lazy", (C, None))  # 3/5
    broken = Fixed("broken", (RuntimeError("down"), None))  # 0/5, never crashes the exam
    result = await qualification_exam([good, lazy, broken], exam_items)
    assert result.n == 5 and result.right == [5, 3, 0] and result.unscored == [0, 0, 5]
    assert result.accuracy == [1.0, 0.6, 0.0]
    assert result.smoothed_accuracy == pytest.approx([6 / 7, 4 / 7, 1 / 7])
    assert result.weights == pytest.approx([math.log(6), math.log(4 / 3), 0.01])
    assert result.per_item[2] == {"id": "it2", "good": True, "lazy": False, "broken": None}


async def test_exam_weighted_panel_outvotes_the_majority_of_weak_members():
    exam_items = [item(i, -1 if i % 2 else 0) for i in range(6)]
    expert = Fixed("expert", (C, None), answers={f"it{i}": (I, 0) for i in range(0, 6, 2)} | {"new": (I, 0)})
    weak1, weak2 = Fixed("weak1", (C, None)), Fixed("weak2", (C, None))  # 3/6 each
    panel = Panel([expert, weak1, weak2], method="weighted", exam_items=exam_items)
    out = await panel.critique(Item(id="new", question="q", steps=["a"]))
    assert panel.exam is not None and panel.exam.right == [6, 3, 3]
    # log-odds: expert log(7) vs two members at chance (weight 0.01 each); accuracy weights would lose 0.875 to 1.0
    assert out.verdict == I and out.metadata["weights"]["expert"] == pytest.approx(math.log(7))
    assert panel.exam.smoothed_accuracy == pytest.approx([7 / 8, 0.5, 0.5])
    await panel.critique(Item(id="other", question="q", steps=["a"]))
    assert expert.calls == 6 + 2  # the exam ran once


def test_panel_validates_its_arguments():
    with pytest.raises(ValueError):
        Panel([])
    with pytest.raises(ValueError):
        Panel([Fixed("a")], method="weighted")
    with pytest.raises(ValueError):
        Panel([Fixed("a")], method="median")  # type: ignore[arg-type]


async def test_cascade_escalates_on_abstention_and_low_confidence():
    cheap = Fixed("verifier", (C, None), answers={"it1": (U, None), "it2": (I, 0)}, tokens=0)
    unsure = Fixed("small", (C, None), conf=0.6, tokens=10)
    expensive = Fixed("big", (I, 2), tokens=100)
    cascade = Cascade([cheap, expensive], threshold=0.75)
    outs = [await cascade.critique(item(i)) for i in range(4)]
    assert [o.verdict for o in outs] == [C, I, I, C]
    assert [o.metadata["cascade"]["stage"] for o in outs] == [0, 1, 0, 0]
    assert outs[1].first_error_step == 2 and len(outs[1].samples) == 2 and outs[1].usage.prompt_tokens == 100
    assert expensive.calls == 1
    s = cascade.stats.summary()
    assert s["escalated"] == 0.25 and s["answered_by_stage"] == {"verifier": 3, "big": 1}
    assert s["tokens_saved"] == pytest.approx(0.75)  # 100 spent vs 4 x 100 for the big critic alone

    three = Cascade([cheap, unsure, expensive], threshold=0.75)
    out = await three.critique(item(1))
    assert [p["stage"] for p in out.metadata["cascade"]["path"]] == ["verifier", "small", "big"]
    assert three.stats.summary()["escalated"] == 1.0


async def test_cascade_over_a_vote_uses_vote_share_as_confidence():
    flaky = Fixed("small", (C, None))
    answers = iter([(C, None), (I, 0), (C, None), (C, None), (C, None), (C, None)])

    async def varying(it: Item) -> Critique:
        v, first = next(answers)
        return Critique(item_id=it.id, critic="small", verdict=v, first_error_step=first)

    flaky.critique = varying  # type: ignore[method-assign]
    cascade = Cascade([VotingCritic(flaky, 3), Fixed("big", (I, 2), tokens=50)], threshold=0.75)
    split = await cascade.critique(item(0))  # C, I, C → 2/3 < 0.75 → escalate
    agreed = await cascade.critique(item(1))  # C, C, C → 1.0 stands
    assert split.metadata["cascade"]["escalated"] and split.verdict == I
    assert not agreed.metadata["cascade"]["escalated"] and agreed.confidence == 1.0
    assert cascade.stats.escalated == 0.5 and cascade.stats.tokens_saved == pytest.approx(0.5)


def test_cascade_without_last_stage_runs_reports_no_saving():
    cascade = Cascade([Fixed("a")])
    assert cascade.stats.tokens_saved is None and cascade.stats.escalated == 0.0
    with pytest.raises(ValueError):
        Cascade([Fixed("a")], threshold=2)


async def test_a_member_whose_backend_fails_is_shown_counted_and_marks_the_panel_failed():
    from critica.backends.call import Caller, CallPolicy
    from critica.backends.fake import ScriptedBackend, ScriptedError
    from critica.critics.processbench import ProcessBenchCritic
    from critica.run.runner import RunStats

    down = ProcessBenchCritic(Caller(ScriptedBackend([ScriptedError("503 down", retryable=False)], name="m-down"),
                                     CallPolicy(retries=0)))
    panel = Panel([down, Fixed("b", (C, None)), Fixed("c", (C, None))])
    out = await panel.critique(item(0))
    assert out.verdict == C  # the members that answered still decide
    assert out.failed and out.usage.failed_calls == 1
    (failure,) = out.metadata["failures"]
    assert failure.startswith("processbench@m-down: ") and "503 down" in failure
    stats = RunStats()
    stats.add(out)
    assert stats.failed_items == 1 and stats.usage.failed_calls == 1


async def test_a_panel_whose_members_all_fail_is_unscored_with_their_errors():
    out = await Panel([Fixed("a", (RuntimeError("x down"), None)), Fixed("b", (RuntimeError("y down"), None))]).critique(item(0))
    assert out.verdict == U and "x down" in out.error and "y down" in out.error
    assert len(out.metadata["failures"]) == 2 and out.failed


async def test_a_failed_early_stage_of_a_cascade_is_not_hidden_by_the_later_verdict():
    cascade = Cascade([Fixed("cheap", (RuntimeError("cheap backend down"), None)), Fixed("big", (I, 1))])
    out = await cascade.critique(item(0))
    assert out.verdict == I and out.error is None  # the last stage's verdict stands
    assert out.failed and out.metadata["failures"] == ["cheap: RuntimeError: cheap backend down"]
    ok = await Cascade([Fixed("cheap", (C, None), conf=0.9), Fixed("big", (I, 1))]).critique(item(1))
    assert not ok.failed and "failures" not in ok.metadata


async def test_replayed_critiques_count_for_their_original_latency_in_panels_and_cascades():
    # Critiques replayed from the call cache come back at once, each keeping its original latency.
    panel = Panel([Fixed("a", latency_s=1.0), Fixed("b", latency_s=3.0)])
    assert (await panel.critique(item(0))).latency_s == pytest.approx(3.0)  # members run concurrently
    cascade = Cascade([Fixed("small", (C, None), conf=0.5, tokens=10, latency_s=0.4),
                       Fixed("big", (I, 1), tokens=100, latency_s=4.0)], threshold=0.75)
    out = await cascade.critique(item(0))
    assert out.latency_s == pytest.approx(4.4)  # one stage after another
    # Time is counted like tokens: what the replayed critiques took, not the microseconds of their replay.
    assert cascade.stats.tokens == [10, 100] and cascade.stats.seconds == pytest.approx([0.4, 4.0])
    assert cascade.stats.time_saved == pytest.approx(cascade.stats.tokens_saved)


async def test_cascade_stages_of_one_critic_on_two_models_are_told_apart():
    from critica.backends.call import Caller, CallPolicy
    from critica.backends.fake import ScriptedBackend, ScriptedError
    from critica.critics.processbench import ProcessBenchCritic

    def stage(model: str, reply) -> ProcessBenchCritic:
        return ProcessBenchCritic(Caller(ScriptedBackend([reply], name=model), CallPolicy(retries=0)))

    cascade = Cascade([stage("a", ScriptedError("a is down", retryable=False)),
                       stage("b", '{"critique": "x", "earliest_error_index": 1}')])
    out = await cascade.critique(item(0))
    assert [p["stage"] for p in out.metadata["cascade"]["path"]] == ["processbench@a", "processbench@b"]
    (failure,) = out.metadata["failures"]
    assert failure.startswith("processbench@a: ") and "a is down" in failure
    assert cascade.stats.summary()["answered_by_stage"] == {"processbench@a": 0, "processbench@b": 1}


async def test_pre_cut_excludes_members_below_the_qualification_threshold():
    exam_items = [item(i, -1 if i % 2 else 0) for i in range(6)]  # it0, it2, it4 have an error at step 0
    expert = Fixed("expert", (C, None), answers={f"it{i}": (I, 0) for i in range(0, 6, 2)} | {"new": (I, 0)})
    good = Fixed("good", (C, None), answers={"it0": (I, 0), "it2": (I, 0), "new": (C, None)})  # 5/6
    weak1, weak2 = Fixed("weak1", (C, None)), Fixed("weak2", (C, None))  # 3/6: below the cut
    panel = Panel([expert, good, weak1, weak2], method="majority", exam_items=exam_items, cut=0.6)
    out = await panel.critique(Item(id="new", question="q", steps=["a"]))
    assert panel.exam is not None and panel.exam.passed == [True, True, False, False]
    assert set(out.metadata["members"]) == {"expert", "good"} and out.metadata["excluded"] == ["weak1", "weak2"]
    # without the cut the two weak members (who say correct) carry the majority; with it the tie goes to the first
    assert out.verdict == I and weak1.calls == 6 and weak2.calls == 6  # excluded members judge no item
    plain = Panel([expert, good, weak1, weak2], method="majority")
    assert (await plain.critique(Item(id="new", question="q", steps=["a"]))).verdict == C
    # the qualified members keep their exam weights
    weighted = Panel([expert, good, weak1, weak2], method="weighted", exam_items=exam_items, cut=0.6)
    out = await weighted.critique(Item(id="new", question="q", steps=["a"]))
    assert set(out.metadata["weights"]) == {"expert", "good"} and out.verdict == I  # log(7) > log(3)


async def test_pre_cut_that_nobody_passes_refuses_to_judge():
    from critica.errors import UserError

    exam_items = [item(i, 0) for i in range(4)]
    panel = Panel([Fixed("a"), Fixed("b")], exam_items=exam_items, cut=0.5)
    with pytest.raises(UserError, match="no panel member passed"):
        await panel.critique(Item(id="new", question="q", steps=["a"]))
    with pytest.raises(ValueError):
        Panel([Fixed("a")], cut=0.5)  # a cut needs an exam
