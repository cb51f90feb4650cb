"""Compute-vs-quality points, token accounting and the plot, on a scripted critic."""

from __future__ import annotations

import asyncio
import json

import pytest

from critica.aggregate.panel import Gold, matches_gold
from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend
from critica.bench.base import BenchContext, BenchResult
from critica.bench.scaling import (
    label_accuracy,
    parse_ks,
    plot_scaling,
    processbench_f1,
    run_suite_scaling,
    scale_items,
)
from critica.critics.processbench import ProcessBenchCritic
from critica.errors import UserError
from critica.types import Item, Verdict

STEPS = ["a = 1", "b = 2", "a + b = 4", "answer 4"]



def test_processbench_f1_and_accuracy():
    gold = ["2", "2", "-1", "-1"]
    assert processbench_f1(gold, ["2", "1", "-1", "-1"]) == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert processbench_f1(gold, ["2", "2", None, "2"]) == 0.0
    assert processbench_f1(["-1"], ["-1"]) == 1.0 and processbench_f1(["1"], [None]) == 0.0
    assert label_accuracy(gold, ["2", None, "-1", "0"]) == 0.5


def test_parse_ks():
    assert parse_ks("8,1, 2,4,4") == [1, 2, 4, 8]
    for bad in ("", "0,2", "a"):
        with pytest.raises(UserError):
            parse_ks(bad)


def per_item_backend():
    """Erroneous items (question 'err') get step 2 from most seeds; correct ones get -1; seed%4==0 is wrong."""

    def reply(request, _i):
        err_item = "ERR" in request.messages[0]["content"]
        wrong = request.seed % 4 == 0
        right = 2 if err_item else -1
        return json.dumps({"critique": "x", "earliest_error_index": 1 if wrong else right})

    return ScriptedBackend(reply)


LABELLED = [(Item(id=f"e{n}", question="ERR q", steps=STEPS), Gold(Verdict.INCORRECT, 2)) for n in range(3)] + [
    (Item(id=f"c{n}", question="ok q", steps=STEPS), Gold(Verdict.CORRECT)) for n in range(3)]


async def test_scale_items_votes_nested_samples_and_counts_tokens(tmp_path):
    backend = per_item_backend()
    critic = ProcessBenchCritic(Caller(backend, CallPolicy(retries=0)), temperature=0.7, seed=0)
    result = await scale_items(critic, LABELLED, [1, 2, 4, 8], concurrency=2)
    assert backend.calls == 8 * 6 and all(r.n == 1 for r in backend.requests)
    f1 = {p.k: p.value for p in result.points}
    assert f1[1] == 0.0  # sample 0 (seed 0) is always wrong
    assert f1[4] == 1.0 and f1[8] == 1.0  # 3 of 4 right
    one, two, four, eight = result.points
    assert one.tokens_n == one.tokens_calls  # one call either way
    assert eight.tokens_calls > eight.tokens_n > four.tokens_n > one.tokens_n
    prompt = sum(len(m["content"].split()) for m in backend.requests[0].messages)
    assert eight.tokens_calls - eight.tokens_n == pytest.approx(7 * prompt, rel=0.05)
    assert all(p.ci[0] <= p.value <= p.ci[1] for p in result.points)
    # k=1 is fully confident and always wrong on the verdict for correct items → large ECE; k=8 better calibrated
    assert one.ece is not None and eight.ece is not None and eight.ece < one.ece
    rows = result.rows()
    assert rows[0]["k"] == 1 and "f1_ci" in rows[0] and rows[-1]["tokens/verdict (k calls)"] > 0
    png = plot_scaling(result, tmp_path / "scaling.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_suite_scaling_reuses_samples_across_k(tmp_path):
    backend = per_item_backend()
    critic = ProcessBenchCritic(Caller(backend, CallPolicy(retries=0)), temperature=0.7, seed=0)

    def suite(ctx: BenchContext) -> BenchResult:
        made = ctx.make_critic()

        async def go():
            return await asyncio.gather(*(made.critique(it) for it, _ in LABELLED))

        outs = asyncio.run(go())
        right = [bool(matches_gold(c, g)) for c, (_, g) in zip(outs, LABELLED, strict=True)]
        acc = sum(right) / len(right)
        return BenchResult(suite="fake", critic=made.name, model=None,
                           rows=[{"split": "overall", "accuracy": acc, "accuracy_ci": [acc - 0.1, acc + 0.1]}])

    ctx = BenchContext(data_dir=tmp_path, make_critic=lambda: critic, critic_name="processbench")
    result, runs = run_suite_scaling(suite, ctx, [4, 1, 2])
    assert [p.k for p in result.points] == [1, 2, 4] and result.metric == "accuracy"
    assert backend.calls == 4 * 6  # each item's samples were drawn once, then reused for larger k
    assert result.points[0].value == 0.0 and result.points[2].value == 1.0
    assert result.points[2].ci == (0.9, 1.1) and len(runs) == 3 and runs[2].critic == "vote4(processbench)"
    assert result.points[2].tokens_calls > result.points[2].tokens_n
