"""One end-to-end run per wrapper against the real local SmolLM2 (mechanics only, never its verdicts)."""

from __future__ import annotations

import pytest

from critica.aggregate.cascade import Cascade
from critica.aggregate.meta import MetaRater
from critica.aggregate.panel import Panel
from critica.aggregate.voting import AdaptiveVotingCritic, MetaFilteredCritic, VotingCritic
from critica.backends.call import Caller, CallPolicy
from critica.critics.processbench import ProcessBenchCritic
from critica.critics.registry import build_critic
from critica.types import Item, Verdict

pytestmark = pytest.mark.model

ITEM = Item(id="m1", question="Tom has 3 apples and buys 4 more. How many apples?",
            steps=["Tom starts with 3 apples.", "He buys 4 more, so 3 + 4 = 8.", "The answer is 8."])


@pytest.fixture
def caller(local_backend):
    return Caller(local_backend, CallPolicy(timeout_s=300, retries=0, concurrency=1))


def pb(caller: Caller) -> ProcessBenchCritic:
    return ProcessBenchCritic(caller, temperature=0.8, max_tokens=24, seed=3)


def assert_aggregate(out, k: int) -> None:
    assert out.item_id == ITEM.id and len(out.samples) == k
    if out.verdict == Verdict.UNSCORED:
        assert out.confidence is None and all(s.verdict == Verdict.UNSCORED for s in out.samples)
    else:
        scored = [s for s in out.samples if s.verdict != Verdict.UNSCORED]
        assert out.confidence == pytest.approx(sum(s.verdict == out.verdict for s in scored) / len(scored))
    assert out.usage.completion_tokens > 0


async def test_voting_on_the_local_model(caller):
    out = await VotingCritic(pb(caller), 2).critique(ITEM)
    assert_aggregate(out, 2)
    assert [s.sampling.seed for s in out.samples] == [3, 4]


async def test_adaptive_on_the_local_model(caller):
    out = await AdaptiveVotingCritic(pb(caller), 3).critique(ITEM)
    drawn = out.metadata["adaptive"]["drawn"]
    assert 2 <= drawn <= 3 and len(out.samples) == drawn


async def test_meta_filter_on_the_local_model(caller):
    meta = MetaRater(caller, temperature=0.0, max_tokens=24)
    out = await MetaFilteredCritic(pb(caller), meta, k=2, keep=1).critique(ITEM)
    assert len(out.metadata["meta"]) == 2 and sum(m["voted"] for m in out.metadata["meta"]) == 1
    rated = [m["rating"] for m in out.metadata["meta"] if m["rating"] is not None]
    assert all(0.0 <= r <= 1.0 for r in rated)  # clamped into range whatever the model wrote


async def test_panel_on_the_local_model(caller):
    panel = Panel([pb(caller), build_critic("verifier", None)], method="mean")
    out = await panel.critique(ITEM)
    assert set(out.metadata["members"]) == {"processbench@local:smollm2", "verifier"}
    assert out.metadata["disagreement"]["scored"] <= 2


async def test_cascade_on_the_local_model(caller):
    cascade = Cascade([build_critic("verifier", None), pb(caller)])
    out = await cascade.critique(ITEM)
    assert out.metadata["cascade"]["stage"] in (0, 1) and cascade.stats.items == 1
    assert sum(cascade.stats.answered) == 1
