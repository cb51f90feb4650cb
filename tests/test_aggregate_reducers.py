"""Reducers on hand-built critiques: votes, ties, unscored samples, scores, meta-filtering, stopping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from critica.aggregate.reducers import (
    disagreement,
    filter_top,
    majority,
    mean_probability,
    score_sum,
    vote_decided,
    weighted_majority,
)
from critica.types import Critique, ParseStatus, Score, Usage, Verdict

C, I, U = Verdict.CORRECT, Verdict.INCORRECT, Verdict.UNSCORED  # noqa: E741 - short names keep the vote tables readable


def crit(verdict: Verdict, first: int | None = None, *, conf: float | None = None, score: float | None = None,
         error: str | None = None, meta: dict | None = None, text: str = "", tokens: int = 10) -> Critique:
    return Critique(
        item_id="x", critic="p", verdict=verdict, first_error_step=first if verdict == I else None,
        parse_status=ParseStatus.FAILED if verdict == U and not error else ParseStatus.OK,
        parse_error="unparseable" if verdict == U and not error else None, error=error, confidence=conf,
        score=Score(value=score, min=1, max=10) if score is not None else None, explanation=text,
        usage=Usage(prompt_tokens=tokens, completion_tokens=1, calls=1), metadata=meta or {},
    )


@pytest.mark.parametrize(
    "votes, verdict, first, confidence, tie",
    [
        ([(C,), (C,), (I, 2)], C, None, 2 / 3, False),
        ([(I, 2), (I, 1), (I, 2), (C,)], I, 2, 3 / 4, False),
        ([(I, 3), (I, 1), (C,)], I, 1, 2 / 3, False),  # step tie → earliest step
        ([(C,), (I, 0)], C, None, 0.5, True),  # verdict tie → first drawn
        ([(I, 0), (C,)], I, 0, 0.5, True),
        ([(U,), (U,), (I, 1)], I, 1, 1.0, False),  # unscored counted, not voted
    ],
)
def test_majority_votes_verdict_then_first_error(votes, verdict, first, confidence, tie):
    samples = [crit(*v) for v in votes]
    out = majority(samples)
    assert (out.verdict, out.first_error_step, out.metadata["tie"]) == (verdict, first, tie)
    assert out.confidence == pytest.approx(confidence)
    assert out.samples == samples
    assert out.metadata["unscored"] == sum(v[0] == U for v in votes)
    assert out.usage.prompt_tokens == 10 * len(votes) and out.usage.calls == len(votes)


def test_tie_policies():
    samples = [crit(C), crit(I, 1)]
    assert majority(samples, tie="incorrect").verdict == I
    refused = majority(samples, tie="unscored")
    assert refused.verdict == U and "tied" in refused.parse_error and refused.error is None
    assert refused.parse_status == ParseStatus.OK


def test_all_unscored_is_unscored_with_the_errors():
    samples = [crit(U, error="backend down"), crit(U, error="backend down"), crit(U)]
    out = majority(samples)
    assert out.verdict == U and out.confidence is None
    assert out.error == "backend down" and "all 3 samples unscored" in out.parse_error
    assert out.samples == samples


def test_representative_agrees_with_the_voted_answer():
    samples = [crit(I, 0, text="zero"), crit(I, 2, text="two-a"), crit(I, 2, text="two-b")]
    out = majority(samples)
    assert out.first_error_step == 2 and out.explanation == "two-a"


def test_empty_input_is_a_programming_error():
    with pytest.raises(ValueError):
        majority([])


def test_weighted_majority_lets_weight_beat_headcount():
    samples = [crit(C), crit(C), crit(I, 1)]
    out = weighted_majority(samples, [0.2, 0.2, 0.9])
    assert out.verdict == I and out.confidence == pytest.approx(0.9 / 1.3)
    with pytest.raises(ValueError):
        weighted_majority(samples, [1.0])
    # a failing member's weight does not count
    out = weighted_majority([crit(C), crit(U, error="x"), crit(I, 0)], [0.6, 5.0, 0.5])
    assert out.verdict == C


def test_mean_probability_uses_confidence():
    # two hesitant "correct" (P(incorrect)=0.45) against one confident "incorrect" (0.95): mean 0.617
    samples = [crit(C, conf=0.55), crit(C, conf=0.55), crit(I, 3, conf=0.95)]
    out = mean_probability(samples)
    assert out.verdict == I and out.first_error_step == 3
    assert out.confidence == pytest.approx((0.45 + 0.45 + 0.95) / 3)
    assert majority(samples).verdict == C
    assert mean_probability([crit(C), crit(I, 0)]).metadata["tie"] is True


def test_score_sum_adds_scores_and_per_response_lists():
    samples = [
        crit(C, score=8, meta={"scores": [8, 3]}), crit(C, score=6, meta={"scores": [6, 7]}),
        crit(I, 0, score=2, meta={"scores": [2, 2]}), crit(U),
    ]
    out = score_sum(samples)
    assert out.metadata["score_sum"] == 16 and out.metadata["scores_counted"] == 3
    assert out.score.value == pytest.approx(16 / 3) and (out.score.min, out.score.max) == (1, 10)
    assert out.metadata["summed"]["scores"] == [16, 12] and out.metadata["best"] == [0]
    # 16 over 3 samples is not above 3 × 5.5: the sum says incorrect although two of three samples said correct
    assert out.verdict == I and out.confidence == pytest.approx(1 / 3)
    assert out.metadata["votes"] == {"correct": 2.0, "incorrect": 1.0}


def test_score_sum_verdict_and_best_follow_the_sum_not_the_sample_majority():
    # The audit's case: three samples pass response 1 narrowly, one fails it hard; the sums are [19, 25].
    def grm(scores: list[int]) -> Critique:
        verdict = C if scores[0] > 5.5 else I
        top = max(scores)
        return crit(verdict, score=scores[0], meta={"scores": scores, "best": [i for i, v in enumerate(scores) if v == top]})

    out = score_sum([grm([6, 6]), grm([6, 6]), grm([6, 7]), grm([1, 6])])
    assert out.metadata["summed"]["scores"] == [19, 25]
    assert out.score.value == pytest.approx(4.75)
    assert out.verdict == I  # 4.75/10 is a fail, as a single GRM critique with that score would be
    assert out.metadata["best"] == [1]  # response 2 has the larger sum
    assert "best" not in out.metadata["summed"]  # indices are never added up
    # a pass threshold carried by the samples is applied to the sum (n × threshold)
    strict = [crit(C, score=6, meta={"scores": [6], "pass_threshold": 6}) for _ in range(2)]
    assert score_sum(strict).verdict == C
    strict.append(crit(I, score=5, meta={"scores": [5], "pass_threshold": 6}))
    assert score_sum(strict).verdict == I  # 17 < 3 × 6


def test_score_sum_sum_breaks_a_verdict_tie_and_majority_decides_without_scores():
    out = score_sum([crit(C, score=9), crit(I, 0, score=4)], tie="unscored")
    assert out.verdict == C and out.metadata["tie"] is False  # 13 > 2 × 5.5
    out = score_sum([crit(I, 0, score=2), crit(C, score=7)])
    assert out.verdict == I and out.first_error_step == 0  # 9 ≤ 11, the incorrect sample lends its step
    assert score_sum([crit(C), crit(C), crit(I, 1)]).verdict == C
    assert score_sum([crit(C), crit(C)]).metadata["verdict_rule"].startswith("majority")


def test_score_sum_sums_only_score_fields():
    samples = [crit(C, meta={"scores": [1, 2], "aspect_scores": {"a": 1, "b": 2}, "sample_index": 0, "best": [1]}),
               crit(C, meta={"scores": [1], "aspect_scores": {"a": 3, "b": 4}, "sample_index": 1, "best": [0]})]
    out = score_sum(samples)
    assert "scores" not in out.metadata["summed"] and out.metadata["summed"]["aspect_scores"] == {"a": 4, "b": 6}
    assert set(out.metadata["summed"]) == {"aspect_scores"} and "best" not in out.metadata
    assert "score_sum" not in out.metadata  # no sample had a score


def test_filter_top_keeps_best_rated_scored_samples_in_draw_order():
    samples = [crit(C), crit(I, 1), crit(U), crit(I, 2), crit(C)]
    kept = filter_top(samples, [0.2, 0.9, 1.0, None, 0.9], keep=2)
    assert kept == [samples[1], samples[4]]
    assert filter_top(samples, [None] * 5, keep=3) == samples[:2] + [samples[3]]
    with pytest.raises(ValueError):
        filter_top(samples, [0.1], keep=1)


@pytest.mark.parametrize(
    "votes, remaining, decided",
    [
        ([(C,)] * 5, 3, True),
        ([(C,)] * 4 + [(I, 1)], 3, False),
        ([(I, 1)] * 5, 3, True),
        ([(I, 1)] * 3 + [(I, 2)] * 2, 3, False),  # verdict settled, first error not
        ([(U,)] * 5, 3, False),
        ([(C,)], 0, True),
        ([(C,)] * 2, 2, False),  # a lead equal to what is left could still tie
    ],
)
def test_vote_decided(votes, remaining, decided):
    assert vote_decided([crit(*v) for v in votes], remaining) is decided


def test_vote_decided_agrees_with_every_completion():
    """Exhaustive check: whenever vote_decided says so, no completion changes the majority answer."""
    import itertools

    answers = [(C,), (I, 0), (I, 1), (U,)]
    checked = 0
    for drawn in range(1, 5):
        for prefix in itertools.product(answers, repeat=drawn):
            remaining = 4 - drawn
            samples = [crit(*a) for a in prefix]
            if not vote_decided(samples, remaining):
                continue
            now = majority(samples)
            checked += 1
            for rest in itertools.product(answers, repeat=remaining):
                final = majority(samples + [crit(*a) for a in rest])
                assert (final.verdict, final.first_error_step) == (now.verdict, now.first_error_step)
    assert checked > 4**4  # early stops were exercised, not only the trivial "nothing left" case


def test_disagreement():
    assert disagreement([crit(C), crit(C), crit(I, 0), crit(U)]) == {"minority": pytest.approx(1 / 3),
                                                                   "pairwise": pytest.approx(2 / 3), "scored": 3}
    assert disagreement([crit(C)])["pairwise"] == 0.0
    assert disagreement([crit(U)])["scored"] == 0


# -- answer_mode: ProcessBench's official Maj@k (issue 14) ---------------------------------------------------------


def _ans(a: int | None) -> Critique:
    if a is None:
        return crit(Verdict.UNSCORED)
    return crit(Verdict.CORRECT) if a == -1 else crit(Verdict.INCORRECT, a)


def test_answer_mode_is_the_official_rule_not_verdict_first():
    from critica.aggregate.reducers import answer_mode

    votes = [_ans(a) for a in [-1, 1, -1, 2, 1, -1, 2, 3, None]]
    official = answer_mode(votes)
    assert official.verdict == Verdict.CORRECT and official.first_error_step is None
    assert official.confidence == pytest.approx(3 / 8) and official.metadata["unscored"] == 1
    assert official.metadata["votes"] == {"-1": 3, "1": 2, "2": 2, "3": 1} and len(official.samples) == 9
    critica = majority(votes)  # critica's rule, unchanged: "incorrect" 5-3, then the earliest tied step
    assert critica.verdict == Verdict.INCORRECT and critica.first_error_step == 1


def test_answer_mode_ties_and_all_unscored():
    from critica.aggregate.reducers import answer_mode

    tied = [_ans(a) for a in [2, -1, -1, 2, 0]]
    assert answer_mode(tied).first_error_step == 2 and answer_mode(tied).metadata["tie"] is True  # first drawn
    assert answer_mode([_ans(a) for a in [-1, 2, 2, -1]]).verdict == Verdict.CORRECT
    assert answer_mode([_ans(a) for a in [-1, 2, 2, -1]], tie="incorrect").first_error_step == 2
    assert answer_mode(tied, tie="unscored").verdict == Verdict.UNSCORED
    assert answer_mode([_ans(None), _ans(None)]).verdict == Verdict.UNSCORED
    assert answer_mode([crit(Verdict.INCORRECT), crit(Verdict.INCORRECT), _ans(0)]).first_error_step is None


_ANSWERS = st.lists(st.sampled_from([None, -1, 0, 1, 2, 3]), min_size=1, max_size=12)


@given(_ANSWERS)
def test_answer_mode_matches_counter_most_common(answers):
    from collections import Counter

    from critica.aggregate.reducers import answer_mode

    out = answer_mode([_ans(a) for a in answers])
    scored = [a for a in answers if a is not None]
    if not scored:
        assert out.verdict == Verdict.UNSCORED
        return
    want = Counter(scored).most_common(1)[0][0]  # exactly what run_eval.py does (ties: first seen)
    assert (-1 if out.verdict == Verdict.CORRECT else out.first_error_step) == want


@given(_ANSWERS, st.lists(st.sampled_from([None, -1, 0, 1, 2, 3]), max_size=4))
def test_answer_decided_means_no_further_samples_change_it(answers, more):
    from critica.aggregate.reducers import answer_decided, answer_mode

    samples = [_ans(a) for a in answers]
    if answer_decided(samples, len(more)):
        before, after = answer_mode(samples), answer_mode(samples + [_ans(a) for a in more])
        assert (before.verdict, before.first_error_step) == (after.verdict, after.first_error_step)


def test_adaptive_answer_mode_uses_its_own_stop_rule():
    from critica.aggregate.reducers import answer_decided, vote_decided
    from critica.aggregate.spec import ScalingConfig, wrap_critic
    from critica.backends.call import Caller
    from critica.backends.fake import ScriptedBackend
    from critica.critics.registry import build_critic

    base = build_critic("processbench", Caller(ScriptedBackend(["\\boxed{-1}"])), temperature=0.7)
    assert wrap_critic(base, ScalingConfig(samples=5, adaptive=True, reducer="answer_mode")).decided is answer_decided
    assert wrap_critic(base, ScalingConfig(samples=5, adaptive=True)).decided is vote_decided
