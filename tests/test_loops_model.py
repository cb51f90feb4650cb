"""End-to-end loops against the real local SmolLM2 (mechanics only: shapes, bookkeeping, no verdicts pinned)."""

from __future__ import annotations

import pytest

from critica.backends.call import Caller, CallPolicy
from critica.critics.registry import build_critic
from critica.loops import Generator, StopReason, best_of_n, refine, step_search
from critica.types import Item, Verdict

pytestmark = pytest.mark.model  # the local_backend fixture skips when SmolLM2 is not installed

ITEM = Item(id="m1", question="What is 12 + 30?", response="Step 1: 12 + 30 = 42.\nStep 2: The answer is \\boxed{42}.")


@pytest.fixture
def parts(local_backend):
    # A generous timeout: shared CI cores can be slow, and a timed-out call would hide the mechanics under test.
    caller = Caller(local_backend, CallPolicy(timeout_s=300, retries=0, concurrency=1))
    critic = build_critic("processbench", caller, max_tokens=40)
    return critic, Generator(caller, max_tokens=40, step_max_tokens=24)


async def test_refine_runs_a_round_trip(parts):
    critic, gen = parts
    t = await refine(ITEM, critic, gen, max_rounds=1)
    assert t.stop_reason in set(StopReason) and 1 <= len(t.rounds) <= 2
    assert t.final_answer in [r.answer for r in t.rounds]
    assert all(r.critique is not None and r.verdict in set(Verdict) for r in t.rounds)
    assert t.usage.calls >= len(t.rounds) and t.usage.completion_tokens > 0
    assert (t.stop_reason == StopReason.ACCEPTED) == bool(t.rounds[-1].accepted)


async def test_best_of_two_scores_both_candidates(parts):
    critic, gen = parts
    r = await best_of_n(ITEM, critic, gen, n=2)
    assert len(r.candidates) == 2 and r.status in {"ok", "tie", "unscored"}
    assert all(len(c.critiques) == 1 for c in r.candidates)
    assert (r.best is None) == (r.status == "unscored")


async def test_step_search_builds_a_tree(parts):
    critic, gen = parts
    r = await step_search(ITEM, critic, gen, beam=1, expand=2, max_steps=1)
    assert 1 <= len(r.nodes) <= 2 and r.stop_reason in {"solved", "max_steps", "no_proposals"}
    assert all(n.depth == 1 and n.parent is None for n in r.nodes) and len(r.steps) <= 1
    assert sum(n.kept for n in r.nodes) == 1
    assert r.usage.calls > 0
