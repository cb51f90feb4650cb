"""The call cache: hits make zero backend calls, every sampling input is part of the key, failures are not cached."""

from __future__ import annotations

import dataclasses

import pytest

from critica.backends.base import GenerateRequest
from critica.backends.cache import SqliteCache, cache_key
from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend, ScriptedError
from critica.critics.processbench import ProcessBenchCritic
from critica.errors import BackendError
from critica.types import Item

REQ = GenerateRequest(messages=[{"role": "user", "content": "is 2+2=5?"}], temperature=0.7, max_tokens=16, seed=3)


def _counter_backend(name: str = "scripted") -> ScriptedBackend:
    """Each call answers with its own call number, so a replay is distinguishable from a fresh call."""
    backend = ScriptedBackend(lambda req, i: f"answer {backend.calls}.{i}", name=name)
    return backend


@pytest.fixture
def cache(tmp_path):
    c = SqliteCache(tmp_path / "critica.db")
    yield c
    c.close()


async def test_hit_makes_zero_backend_calls(cache):
    backend = _counter_backend()
    first = await Caller(backend, cache=cache).generate(REQ)
    assert backend.calls == 1
    again = Caller(backend, cache=cache)
    replay = await again.generate(REQ)
    assert backend.calls == 1  # counted at the backend: nothing was sent
    assert replay.texts == first.texts and replay.usage == first.usage.as_replayed()
    assert replay.cached and not first.cached  # marked, with the original call's latency
    assert replay.latency_s is not None and replay.latency_s >= 0
    assert replay.usage.spent_tokens == 0 and replay.usage.replayed_tokens == first.usage.total_tokens > 0
    assert (again.cache_stats.hits, again.cache_stats.misses) == (1, 0)
    assert again.cache_stats.saved.completion_tokens == first.usage.completion_tokens
    assert again.usage.calls == 0  # nothing spent


@pytest.mark.parametrize("change", [
    {"messages": [{"role": "user", "content": "is 2+2=4?"}]},
    {"temperature": 0.2}, {"top_p": 0.9}, {"max_tokens": 32}, {"seed": 4}, {"n": 2},
    {"json_schema": {"type": "object"}}, {"stop": ("\n",)}, {"logprobs": True},
])
def test_every_request_field_is_in_the_key(change):
    assert cache_key("m", REQ) != cache_key("m", dataclasses.replace(REQ, **change))


def test_model_and_sample_index_are_in_the_key():
    assert cache_key("m", REQ) == cache_key("m", dataclasses.replace(REQ))
    assert cache_key("m", REQ) != cache_key("other", REQ)
    assert len({cache_key("m", REQ, sample=k) for k in range(5)}) == 5


async def test_k_samples_stay_distinct_and_replay_identically(cache):
    backend = _counter_backend()
    caller = Caller(backend, cache=cache)
    first = [(await caller.generate(REQ, sample=k)).texts[0] for k in range(3)]
    assert len(set(first)) == 3 and backend.calls == 3
    replay = [(await Caller(backend, cache=cache).generate(REQ, sample=k)).texts[0] for k in range(3)]
    assert replay == first and backend.calls == 3


async def test_failures_are_not_cached(cache):
    backend = ScriptedBackend([ScriptedError("down", retryable=False), "fine"], cycle=False)
    caller = Caller(backend, CallPolicy(retries=0), cache=cache)
    with pytest.raises(BackendError):
        await caller.generate(REQ)
    assert len(cache) == 0
    assert (await caller.generate(REQ)).texts == ["fine"]
    assert len(cache) == 1 and caller.cache_stats.misses == 2


async def test_without_cache_every_call_reaches_the_backend():
    backend = _counter_backend()
    caller = Caller(backend)
    await caller.generate(REQ)
    await caller.generate(REQ)
    assert backend.calls == 2 and caller.cache_stats.hits == 0


async def test_cache_is_shared_through_the_database_file(tmp_path):
    backend = _counter_backend()
    one = SqliteCache(tmp_path / "critica.db")
    await Caller(backend, cache=one).generate(REQ)
    one.close()
    two = SqliteCache(tmp_path / "critica.db")
    await Caller(backend, cache=two).generate(REQ)
    assert backend.calls == 1
    row = two._conn.execute("SELECT model, hits, prompt_tokens FROM call_cache").fetchone()
    assert row[0] == "scripted" and row[1] == 1 and row[2] > 0
    assert two.clear("someone-else") == 0 and two.clear() == 1
    two.close()


async def test_rerunning_a_critic_replays_its_critiques(cache):
    reply = '{"critique": "step 2 is wrong", "earliest_error_index": 1}'
    backend = ScriptedBackend([reply])
    items = [Item(id=f"x{i}", question=f"q{i}", steps=["a", "b", "c"]) for i in range(4)]
    first = [await ProcessBenchCritic(Caller(backend, cache=cache)).critique(it) for it in items]
    assert backend.calls == 4
    caller = Caller(backend, cache=cache)
    again = [await ProcessBenchCritic(caller).critique(it) for it in items]
    assert backend.calls == 4 and caller.cache_stats.hits == 4
    strip = {"latency_s", "usage"}
    assert [c.model_dump(exclude=strip) for c in again] == [c.model_dump(exclude=strip) for c in first]
    # Same cost, but marked as replayed: nothing counted as spent, the original latency kept (not the replay's).
    assert [c.usage for c in again] == [c.usage.as_replayed() for c in first]
    assert all(c.usage.replayed_calls == c.usage.calls == 1 and c.usage.spent_tokens == 0 for c in again)
    row_latency = {r[0] for r in cache._conn.execute("SELECT latency_s FROM call_cache")}
    assert all(c.latency_s in row_latency for c in again)
