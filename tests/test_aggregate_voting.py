"""k-sample voting, meta-filtering and adaptive sampling on scripted critics."""

from __future__ import annotations

import json

import pytest

from critica.aggregate.meta import MetaRater
from critica.aggregate.reducers import score_sum
from critica.aggregate.voting import (
    AdaptiveVotingCritic,
    MetaFilteredCritic,
    SampleCache,
    VotingCritic,
    critique_as_item,
    rating_of,
)
from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend, ScriptedError
from critica.critics.base import Critic
from critica.critics.processbench import ProcessBenchCritic
from critica.types import Critique, Item, Verdict

ITEM = Item(id="q1", question="What is 2+3*4?", steps=["3*4 = 12.", "2 + 12 = 15.", "The answer is 15."])


def pb(index: int, note: str = "x") -> str:
    return json.dumps({"critique": note, "earliest_error_index": index})


def pb_critic(replies, **kw) -> tuple[ProcessBenchCritic, ScriptedBackend]:
    backend = ScriptedBackend(replies, **{k: kw.pop(k) for k in ("honours_n",) if k in kw})
    return ProcessBenchCritic(Caller(backend, CallPolicy(retries=0)), temperature=0.7, seed=10, **kw), backend


async def test_k_samples_come_from_one_request_with_n_k():
    critic, backend = pb_critic([pb(1), pb(1), pb(-1), pb(1), pb(0)])
    out = await VotingCritic(critic, 5).critique(ITEM)
    assert backend.calls == 1 and backend.requests[0].n == 5 and backend.requests[0].seed == 10
    assert out.verdict == Verdict.INCORRECT and out.first_error_step == 1
    assert out.confidence == pytest.approx(4 / 5) and len(out.samples) == 5
    assert [s.sampling.seed for s in out.samples] == [10, 11, 12, 13, 14]
    assert out.critic == "vote5(processbench)"
    # the prompt was processed once; the samples' usages add up exactly to the one call
    assert out.usage == critic.caller.usage
    assert out.usage.completion_tokens == critic.caller.usage.completion_tokens


async def test_usage_of_the_vote_is_the_usage_of_its_samples():
    critic, backend = pb_critic([pb(1)])
    out = await VotingCritic(critic, 4).critique(ITEM)
    assert out.usage == sum((s.usage for s in out.samples[1:]), out.samples[0].usage)
    assert out.usage.completion_tokens > 0 and critic.caller.usage.calls == 1


class CountingCritic:
    """A critic without ``sample``: answers from a list, in call order."""

    name = "counting"

    def __init__(self, answers: list[Critique | Exception]) -> None:
        self.answers = answers
        self.calls = 0

    async def critique(self, item: Item) -> Critique:
        a = self.answers[self.calls % len(self.answers)]
        self.calls += 1
        if isinstance(a, Exception):
            raise a
        return a.model_copy()


def verdict(v: Verdict, first: int | None = None) -> Critique:
    return Critique(item_id=ITEM.id, critic="counting", verdict=v, first_error_step=first)


async def test_a_critic_without_sample_is_called_k_times_and_a_raising_call_is_counted():
    inner = CountingCritic([verdict(Verdict.CORRECT), RuntimeError("boom"), verdict(Verdict.CORRECT)])
    assert isinstance(inner, Critic)
    out = await VotingCritic(inner, 3).critique(ITEM)
    assert inner.calls == 3
    assert out.verdict == Verdict.CORRECT and out.confidence == 1.0 and out.metadata["unscored"] == 1
    assert any("boom" in (s.error or "") for s in out.samples)


async def test_backend_failure_makes_the_vote_unscored_with_the_error():
    critic, _ = pb_critic([ScriptedError("server down", retryable=False)])
    out = await VotingCritic(critic, 3).critique(ITEM)
    assert out.verdict == Verdict.UNSCORED and "server down" in out.error and len(out.samples) == 3


async def test_server_ignoring_n_still_yields_k_samples_with_distinct_seeds():
    # ScriptedBackend(honours_n=False) returns one choice per request; the vote tops up with further requests.
    critic, backend = pb_critic([pb(1), pb(2), pb(2)], honours_n=False)
    out = await VotingCritic(critic, 3).critique(ITEM)
    assert [(r.n, r.seed) for r in backend.requests] == [(3, 10), (2, 11), (1, 12)]
    assert len(out.samples) == 3 and out.metadata["k"] == 3 and out.first_error_step == 2


async def test_sample_cache_extends_without_redrawing():
    critic, backend = pb_critic([pb(0), pb(1), pb(1), pb(1)])
    cache = SampleCache()
    one = await VotingCritic(critic, 1, cache=cache).critique(ITEM)
    four = await VotingCritic(critic, 4, cache=cache).critique(ITEM)
    assert [r.n for r in backend.requests] == [1, 3] and [r.seed for r in backend.requests] == [10, 11]
    assert one.first_error_step == 0 and four.first_error_step == 1
    assert four.samples[0].first_error_step == 0  # the k=1 draw is the first of the four
    assert [s.metadata["sample_index"] for s in four.samples] == [0, 1, 2, 3]


async def test_score_sum_reducer_plugs_in():
    inner = CountingCritic([verdict(Verdict.CORRECT)])
    out = await VotingCritic(inner, 2, reducer=score_sum).critique(ITEM)
    assert out.metadata["reducer"] == "score_sum"


def test_critique_as_item_shows_problem_steps_and_critique():
    c = Critique(item_id="q1", critic="p", verdict=Verdict.INCORRECT, first_error_step=1, explanation="2+12 is 14")
    meta_item = critique_as_item(ITEM, c, 3)
    assert meta_item.id == "q1#meta3" and "Step 2: 2 + 12 = 15." in meta_item.question
    assert "First error: step 2." in meta_item.response and "2+12 is 14" in meta_item.response


def rater_replies(request, _i) -> str:
    # The meta critic rates critiques naming step 2 highly, others poorly, and garbles one.
    text = request.messages[-1]["content"]
    if "First error: step 2." in text:
        return json.dumps({"analysis": "right", "rating": 9})
    if "First error: step 3." in text:
        return "no idea"
    return json.dumps({"analysis": "wrong", "rating": 14})  # out of range: clamped to 10


async def test_meta_filter_lets_only_the_best_rated_vote():
    critic, _ = pb_critic([pb(0), pb(1), pb(0), pb(1), pb(0), pb(2)])
    meta = MetaRater(Caller(ScriptedBackend(lambda r, i: json.dumps(
        {"analysis": "a", "rating": 9 if "First error: step 2." in r.messages[-1]["content"] else 2}))))
    out = await MetaFilteredCritic(critic, meta, k=6, keep=2).critique(ITEM)
    assert out.first_error_step == 1 and out.confidence == 1.0  # plain majority would say step 0
    assert len(out.samples) == 2 and all(s.first_error_step == 1 for s in out.samples)
    voted = [m for m in out.metadata["meta"] if m["voted"]]
    assert [m["sample_index"] for m in voted] == [1, 3] and all(m["rating"] == pytest.approx(8 / 9) for m in voted)
    # one n=6 request for the samples, one meta call per scored sample; all of it is in the vote's usage
    assert critic.caller.usage.calls == 1 and meta.caller.usage.calls == 6
    assert out.usage.prompt_tokens >= meta.caller.usage.prompt_tokens + critic.caller.usage.prompt_tokens - 6


async def test_meta_rater_clamps_and_fails_visibly():
    meta = MetaRater(Caller(ScriptedBackend(rater_replies)))
    for step, (verdict_, value, failed) in {0: (Verdict.CORRECT, 10, False), 1: (Verdict.CORRECT, 9, False),
                                            2: (Verdict.UNSCORED, None, True)}.items():
        c = Critique(item_id="q1", critic="p", verdict=Verdict.INCORRECT, first_error_step=step)
        m = await meta.critique(critique_as_item(ITEM, c))
        assert m.verdict == verdict_ and (m.score.value if m.score else None) == value
        assert (rating_of(m) is None) is failed
    c = Critique(item_id="q1", critic="p", verdict=Verdict.INCORRECT, first_error_step=0)
    m = await meta.critique(critique_as_item(ITEM, c))
    assert "clamped" in m.parse_error


async def test_adaptive_stops_when_the_vote_cannot_change():
    critic, backend = pb_critic([pb(1)])
    out = await AdaptiveVotingCritic(critic, 8).critique(ITEM)
    assert out.metadata["adaptive"] == {"drawn": 5, "max_k": 8, "rounds": 1, "stopped": "decided", "rule": "decided"}
    assert [r.n for r in backend.requests] == [5] and out.first_error_step == 1


async def test_adaptive_draws_everything_when_samples_disagree():
    critic, backend = pb_critic([pb(1), pb(-1)])
    out = await AdaptiveVotingCritic(critic, 8).critique(ITEM)
    assert out.metadata["adaptive"]["drawn"] == 8 and out.metadata["adaptive"]["stopped"] == "max_k"
    assert [r.n for r in backend.requests] == [5, 1, 1, 1]
    assert [r.seed for r in backend.requests] == [10, 15, 16, 17]
    assert len(out.samples) == 8


async def test_adaptive_near_unanimous_stops_early_in_later_round():
    # 4 agree, 1 disagrees: lead 3 = remaining 3 → draw one more; lead 4 > 2 → stop at 6.
    critic, backend = pb_critic([pb(1), pb(1), pb(-1), pb(1), pb(1), pb(1), pb(1), pb(1)], )
    out = await AdaptiveVotingCritic(critic, 8).critique(ITEM)
    assert out.metadata["adaptive"]["drawn"] == 6 and out.confidence == pytest.approx(5 / 6)


@pytest.mark.parametrize("stop, kw, replies, drawn", [
    ("margin", {"margin": 2}, [pb(1)], 2),
    ("margin", {"margin": 2}, [pb(1), pb(-1)], 8),
    ("confidence", {"min_confidence": 0.75, "min_samples": 4}, [pb(1)] * 3 + [pb(0)] + [pb(1)] * 4, 4),
    ("confidence", {"min_confidence": 0.9, "min_samples": 4}, [pb(1)] * 3 + [pb(-1)] + [pb(1)] * 4, 8),
])
async def test_adaptive_margin_and_confidence_rules(stop, kw, replies, drawn):
    critic, _ = pb_critic(replies)
    out = await AdaptiveVotingCritic(critic, 8, stop=stop, **kw).critique(ITEM)
    assert out.metadata["adaptive"]["drawn"] == drawn


async def test_adaptive_keeps_drawing_through_unscored_samples():
    critic, _ = pb_critic(["garbage"])
    out = await AdaptiveVotingCritic(critic, 6).critique(ITEM)
    assert out.verdict == Verdict.UNSCORED and out.metadata["adaptive"]["drawn"] == 6


async def test_a_failed_sample_is_listed_and_counted_although_the_rest_voted():
    class Flaky:
        name = "flaky"
        calls = 0

        async def critique(self, item):
            Flaky.calls += 1
            if Flaky.calls == 2:
                raise RuntimeError("backend gone")
            return Critique(item_id=item.id, critic="flaky", verdict=Verdict.CORRECT)

    out = await VotingCritic(Flaky(), 3).critique(ITEM)
    assert out.verdict == Verdict.CORRECT and out.failed
    assert len(out.metadata["failures"]) == 1 and "backend gone" in out.metadata["failures"][0]


async def test_one_failed_request_for_k_samples_is_one_failed_call():
    critic, _ = pb_critic([ScriptedError("server down", retryable=False)])
    out = await VotingCritic(critic, 3).critique(ITEM)
    assert out.failed and out.usage.failed_calls == 1 and out.usage.calls == 0
    assert out.metadata["failures"] == [f"sample 0, sample 1, sample 2: {out.samples[0].error}"]


async def test_latency_of_replayed_samples_adds_up_over_the_phases_drawn_one_after_another():
    # Critiques replayed from the call cache come back at once, each keeping its original latency (1 s here).
    def replayed(v: Verdict, first: int | None = None) -> Critique:
        return verdict(v, first).model_copy(update={"latency_s": 1.0})

    split = CountingCritic([replayed(Verdict.INCORRECT, 1), replayed(Verdict.CORRECT)])
    out = await AdaptiveVotingCritic(split, 8).critique(ITEM)
    assert out.metadata["adaptive"]["rounds"] == 4  # 5 samples, then 1, 1, 1: four rounds, one after another
    assert out.latency_s == pytest.approx(4.0)
    vote = await VotingCritic(CountingCritic([replayed(Verdict.CORRECT)]), 5).critique(ITEM)
    assert vote.latency_s == pytest.approx(1.0)  # one phase: the samples are drawn together
    meta = CountingCritic([replayed(Verdict.CORRECT)])
    rated = await MetaFilteredCritic(CountingCritic([replayed(Verdict.CORRECT)]), meta, 4).critique(ITEM)
    assert rated.latency_s == pytest.approx(2.0)  # sampling, then rating


GRM_ITEM = Item(id="g1", question="Name the capital of Australia.", response="Sydney.", candidates=["Canberra."],
                principles=["The named city must be the seat of government."])


async def test_meta_rater_sees_every_response_their_scores_and_the_principles():
    from critica.critics.principles import PrinciplesCritic

    def grm(scores: list[int], principle: str) -> str:
        return json.dumps({"principles": [principle], "critiques": ["about r1", "about r2"], "scores": scores})

    critic = PrinciplesCritic(Caller(ScriptedBackend([grm([9, 2], "Prefer famous cities"),
                                                      grm([2, 9], "Check the seat of government")])),
                              temperature=0.7)
    seen: list[str] = []

    def rate(request, _i) -> str:
        text = request.messages[-1]["content"]
        seen.append(text)
        # a meta RM can only prefer the right critique when it sees response 2 and its score
        good = "Canberra." in text and "Response 2: 9" in text
        return json.dumps({"analysis": "a", "rating": 9 if good else 2})

    out = await MetaFilteredCritic(critic, MetaRater(Caller(ScriptedBackend(rate))), k=2, keep=1).critique(GRM_ITEM)
    assert [m["voted"] for m in out.metadata["meta"]] == [False, True]
    assert out.samples[0].metadata["scores"] == [2, 9] and out.verdict == Verdict.INCORRECT
    for text in seen:
        assert "[Response 1]\nSydney." in text and "[Response 2]\nCanberra." in text
        assert "seat of government" in text  # the item's principles
        assert "[Response 2] about r2" in text
    assert "Prefer famous cities" in seen[0] and "Response 1: 9; Response 2: 2" in seen[0]


def test_critique_as_item_of_one_response_is_unchanged_in_shape():
    c = Critique(item_id="q1", critic="p", verdict=Verdict.CORRECT, metadata={"scores": [7]})
    meta_item = critique_as_item(ITEM, c)
    assert "Solution under review:" in meta_item.question and "Responses under review" not in meta_item.question


async def test_adaptive_score_sum_stops_only_when_the_sum_is_decided():
    from critica.aggregate.reducers import sum_decided
    from critica.types import Score

    def scored(v: int) -> Critique:
        return Critique(item_id="q1", critic="s", verdict=Verdict.CORRECT if v > 5.5 else Verdict.INCORRECT,
                        score=Score(value=v, min=1, max=10))

    # three 7s pass (21 > 16.5) but one more sample at 1 would make 22 ≤ 22: not decided by the sum, though the
    # verdict vote (3-0 with 1 left) is
    assert not sum_decided([scored(7)] * 3, 1) and sum_decided([scored(10)] * 3, 1)
    critic = CountingCritic([scored(7), scored(7), scored(7), scored(1)])
    out = await AdaptiveVotingCritic(critic, 4, reducer=score_sum).critique(ITEM)
    assert out.metadata["adaptive"]["drawn"] == 4 and out.verdict == Verdict.INCORRECT  # 22 is not above 4 × 5.5
    critic = CountingCritic([scored(10), scored(10), scored(10), scored(1)])
    out = await AdaptiveVotingCritic(critic, 4, reducer=score_sum).critique(ITEM)
    assert out.metadata["adaptive"]["drawn"] == 3 and out.verdict == Verdict.CORRECT


async def test_metacritique_as_meta_filter_keeps_the_samples_that_cover_the_reference_critique():
    # MetaCritique's judges read the original item with the sample's critique beside it (not the critique posing as
    # the response): Meta-F1 against the item's reference critique ranks the samples, and only the best vote.
    from critica.aggregate.spec import ScalingConfig, wrap_critic
    from critica.aggregate.voting import critique_in_metadata, meta_item
    from critica.critics.registry import build_critic

    item = Item(id="m1", question="What is 2+3*4?", steps=["3*4 = 12.", "2 + 12 = 15.", "The answer is 14."],
                reference_answer="14", metadata={
                    "reference_critique": "Step 3 states the answer is 14, but step 2 computed 15. "
                                          "The final answer contradicts the computation.",
                    "critique_aius": ["left from a stored critique"]})
    good = "Step 3 states the answer is 14, but step 2 computed 15, so the final answer contradicts the computation."
    bad = "The solution uses the distributive law of multiplication over addition."
    answers = [Critique(item_id="m1", critic="counting", verdict=v, first_error_step=s, explanation=e)
               for v, s, e in [(Verdict.CORRECT, None, bad), (Verdict.INCORRECT, 2, good),
                               (Verdict.CORRECT, None, bad), (Verdict.INCORRECT, 2, good)]]
    meta = build_critic("metacritique", None, lexical=True)
    shown = meta_item(meta, item, answers[1], 1)
    assert shown.question == item.question and shown.text == item.text and shown.reference_answer == "14"
    assert good in shown.metadata["critique"] and "critique_aius" not in shown.metadata
    assert shown.metadata["reference_critique"] == item.metadata["reference_critique"]
    assert meta_item(MetaRater(Caller(ScriptedBackend(["x"]))), item, answers[1], 1).text != item.text
    assert critique_in_metadata(item, answers[0], 0).id == "m1#meta0"

    out = await wrap_critic(CountingCritic(answers), ScalingConfig(samples=4, meta_critic="metacritique",
                                                                   meta_keep=2)).critique(item)
    voted = [m["sample_index"] for m in out.metadata["meta"] if m["voted"]]
    assert voted == [1, 3] and out.verdict == Verdict.INCORRECT and out.first_error_step == 2
    ratings = {m["sample_index"]: m["rating"] for m in out.metadata["meta"]}
    assert ratings[1] > ratings[0]
