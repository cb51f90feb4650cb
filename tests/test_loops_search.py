"""Best-of-N reranking and step-level beam search on scripted generators and critics."""

from __future__ import annotations

import json
import re

import pytest

from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend, ScriptedError
from critica.critics.registry import build_critic
from critica.errors import UserError
from critica.loops import Generator, best_of_n, rerank, step_search
from critica.loops.generate import one_step
from critica.loops.search import critique_score, partial_score
from critica.types import Critique, Item, Score, Verdict

FAST = CallPolicy(timeout_s=5, retries=0, backoff_base_s=0.0, concurrency=4)


class TableCritic:
    """Judges a response by a table: text → 'correct' | 'incorrect' | score | None (unscored)."""

    def __init__(self, table, name="table"):
        self.table = table
        self.name = name
        self.seen: list[str] = []

    async def critique(self, item: Item) -> Critique:
        self.seen.append(item.text)
        v = self.table.get(item.text)
        if v in ("correct", "incorrect"):
            return Critique(item_id=item.id, critic=self.name, verdict=Verdict(v))
        if isinstance(v, (int, float)):
            return Critique(item_id=item.id, critic=self.name, verdict=Verdict.UNSCORED, score=Score(value=v))
        return Critique(item_id=item.id, critic=self.name, verdict=Verdict.UNSCORED, error="no reply")


def item_with(*texts: str) -> Item:
    return Item(id="q", question="Q?", response=texts[0], candidates=list(texts[1:]))


async def test_rerank_picks_the_best_and_reports_every_score():
    critic = TableCritic({"a": 3, "b": 9, "c": 5})
    r = await rerank(item_with("a", "b", "c"), critic)
    assert r.best == 1 and r.status == "ok" and r.best_text == "b"
    assert [round(c.score, 3) for c in r.candidates] == [round(2 / 9, 3), round(8 / 9, 3), round(4 / 9, 3)]
    assert all(c.critiques[0].item_id == "q" for c in r.candidates)


async def test_rerank_ties_choose_the_earliest_and_list_all_tied():
    r = await rerank(item_with("a", "b", "c"), TableCritic({"a": "incorrect", "b": "correct", "c": "correct"}))
    assert r.best == 1 and r.status == "tie" and r.tied == [1, 2]


async def test_unscored_candidates_never_win_and_are_listed():
    r = await rerank(item_with("a", "b", "c"), TableCritic({"b": "incorrect"}))
    assert r.best == 1 and r.unscored == [0, 2] and r.candidates[0].score is None


async def test_nothing_scored_chooses_nothing():
    r = await rerank(item_with("a", "b"), TableCritic({}))
    assert r.best is None and r.status == "unscored" and r.unscored == [0, 1] and r.best_text is None


async def test_panel_averages_over_critics_that_scored():
    c1 = TableCritic({"a": "correct", "b": "incorrect"}, name="one")
    c2 = TableCritic({"a": "incorrect"}, name="two")  # cannot judge b
    r = await rerank(item_with("a", "b"), [c1, c2])
    assert r.candidates[0].score == 0.5 and r.candidates[1].score == 0.0
    assert r.best == 0 and r.critics == ["one", "two"] and len(r.candidates[1].critiques) == 2


async def test_rerank_with_a_real_protocol_over_a_scripted_backend():
    replies = {"good": {"critique": "fine", "earliest_error_index": -1}, "bad": {"critique": "x", "earliest_error_index": 0}}

    def reply(request, _i):
        body = request.messages[0]["content"]
        return json.dumps(replies["good" if "good answer" in body else "bad"])

    critic = build_critic("processbench", Caller(ScriptedBackend(reply), FAST), max_tokens=32)
    r = await rerank(item_with("a bad answer", "a good answer"), critic)
    assert r.best == 1 and [c.critiques[0].verdict for c in r.candidates] == [Verdict.INCORRECT, Verdict.CORRECT]


async def test_empty_panel_is_a_user_error():
    with pytest.raises(UserError):
        await rerank(item_with("a"), [])


async def test_best_of_n_samples_n_candidates_with_distinct_seeds():
    gen_backend = ScriptedBackend(lambda req, i: f"answer {i}")
    gen = Generator(Caller(gen_backend, FAST))
    r = await best_of_n(Item(id="q", question="Q?", response=""), TableCritic({"answer 2": "correct"}), gen, n=3)
    assert [c.text for c in r.candidates] == ["answer 0", "answer 1", "answer 2"]
    assert r.best == 2 and r.unscored == [0, 1]
    req = gen_backend.requests[0]
    assert req.n == 3 and req.temperature == gen.sample_temperature
    assert r.usage.calls == 1  # one n=3 call; the critic here makes no backend calls


async def test_best_of_n_generation_failure_is_recorded():
    gen = Generator(Caller(ScriptedBackend([ScriptedError("down", retryable=False)]), FAST))
    r = await best_of_n(Item(id="q", question="Q?", response=""), TableCritic({}), gen, n=2)
    assert r.best is None and r.status == "no_candidates" and "down" in (r.error or "")


@pytest.mark.parametrize(
    ("critique", "whole", "partial"),
    [
        (Critique(item_id="x", critic="c", verdict=Verdict.CORRECT), 1.0, 1.0),
        (Critique(item_id="x", critic="c", verdict=Verdict.INCORRECT, first_error_step=0), 0.0, 0.0),
        (Critique(item_id="x", critic="c", verdict=Verdict.UNSCORED, score=Score(value=4, min=0, max=8)), 0.5, 0.5),
        (Critique(item_id="x", critic="c", verdict=Verdict.CORRECT, score=Score(value=8, min=0, max=8), first_error_step=1), 1.0, 0.0),
        (Critique(item_id="x", critic="c", verdict=Verdict.UNSCORED), None, None),
        (Critique(item_id="x", critic="c", verdict=Verdict.UNSCORED, error="down"), None, None),
    ],
)
def test_scores(critique, whole, partial):
    assert critique_score(critique) == whole and partial_score(critique) == partial


@pytest.mark.parametrize(
    ("raw", "step"),
    [("Step 3: add 2 and 3.\nStep 4: done", "add 2 and 3."), ("**Step 1:** x = 2", "x = 2"), ("  plain  ", "plain")],
)
def test_one_step(raw, step):
    assert one_step(raw) == step


def _process_critic(bad_words=("wrong",)):
    """ProcessBench replies from a scripted backend: flags the first tagged paragraph containing a bad word."""

    def reply(request, _i):
        paragraphs = re.findall(r"<paragraph_\d+>(.*?)</paragraph_\d+>", request.messages[0]["content"], re.DOTALL)
        for k, p in enumerate(paragraphs):
            if any(w in p for w in bad_words):
                return json.dumps({"critique": "bad", "earliest_error_index": k})
        return json.dumps({"critique": "ok", "earliest_error_index": -1})

    backend = ScriptedBackend(reply, name="critic")
    return build_critic("processbench", Caller(backend, FAST), max_tokens=32), backend


async def test_step_search_keeps_good_steps_and_finishes():
    # Proposals per depth: sample 0 is wrong, sample 1 is right; at depth 2 the right step is final.
    def propose(request, i):
        number = request.messages[0]["content"].split("Write only Step ")[1].split(":")[0]
        if number == "1":
            return ["wrong start", "Step 1: 2 + 3 = 5"][i]
        return ["this is wrong", "So the answer is \\boxed{5}"][i]

    gen_backend = ScriptedBackend(propose, name="gen")
    gen = Generator(Caller(gen_backend, FAST))
    critic, critic_backend = _process_critic()
    r = await step_search(Item(id="q", question="2+3?", response=""), critic, gen, beam=1, expand=2, max_steps=5)
    assert r.complete and r.stop_reason == "solved"
    assert r.steps == ["2 + 3 = 5", "So the answer is \\boxed{5}"]
    assert r.score == 1.0 and len(r.nodes) == 4
    assert [n.kept for n in r.nodes] == [False, True, False, True]
    assert r.nodes[3].parent == 1 and r.nodes[0].first_error_step == 0
    assert gen_backend.requests[0].n == 2 and r.usage.calls > 0


async def test_step_search_respects_max_steps_and_returns_best_partial():
    gen = Generator(Caller(ScriptedBackend(lambda req, i: f"step text {i}"), FAST))
    critic, _ = _process_critic()
    r = await step_search(Item(id="q", question="?", response=""), critic, gen, beam=2, expand=2, max_steps=2)
    assert r.stop_reason == "max_steps" and not r.complete and len(r.steps) == 2


async def test_step_search_token_budget_stops_early():
    gen = Generator(Caller(ScriptedBackend(lambda req, i: "one more long step of text"), FAST))
    critic, _ = _process_critic()
    r = await step_search(Item(id="q", question="?", response=""), critic, gen, beam=1, expand=1, max_steps=10,
                          max_tokens=1)
    assert r.stop_reason == "token_budget" and len(r.steps) == 1 and r.usage.total_tokens >= 1


async def test_step_search_failing_generator_ends_with_no_proposals():
    gen = Generator(Caller(ScriptedBackend([ScriptedError("down", retryable=False)]), FAST))
    critic, _ = _process_critic()
    r = await step_search(Item(id="q", question="?", response=""), critic, gen)
    assert r.stop_reason == "no_proposals" and r.steps == [] and "down" in (r.error or "")


async def test_step_search_prefers_scored_over_unscored():
    gen = Generator(Caller(ScriptedBackend(lambda req, i: ["x", "y \\boxed{1}"][i]), FAST))
    critic = TableCritic({"y \\boxed{1}": "incorrect"})  # "x" cannot be judged
    r = await step_search(Item(id="q", question="?", response=""), critic, gen, beam=1, expand=2, max_steps=3)
    assert r.steps == ["y \\boxed{1}"] and r.score == 0.0 and r.stop_reason == "solved"


async def test_step_search_rejects_bad_budgets():
    gen = Generator(Caller(ScriptedBackend(["x"]), FAST))
    with pytest.raises(UserError):
        await step_search(Item(id="q", question="?", response=""), TableCritic({}), gen, beam=0)
