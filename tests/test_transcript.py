"""Each critique keeps the prompt sent and the whole exchange (bounded), so the UI can show the transcript."""

from __future__ import annotations

import asyncio

from critica.aggregate.voting import VotingCritic
from critica.backends import transcript as tr
from critica.backends.call import Caller
from critica.backends.fake import ScriptedBackend
from critica.critics.direct import DirectCritic
from critica.run.runner import critique_within
from critica.types import Item

ITEM = Item(id="q1", question="What is 2 + 2?", response="2 + 2 = 5")
REPLY = '{"verdict": "incorrect", "first_error_step": 0, "explanation": "2 + 2 is 4"}'


def test_a_critique_keeps_the_prompt_sent_and_the_reply():
    critic = DirectCritic(Caller(ScriptedBackend([REPLY])))
    c = asyncio.run(critique_within(critic, ITEM))
    calls = c.metadata["transcript"]
    assert len(calls) == 1
    sent = " ".join(m["content"] for m in calls[0]["messages"])
    assert "What is 2 + 2?" in sent and "2 + 2 = 5" in sent
    assert {m["role"] for m in calls[0]["messages"]} <= {"system", "user", "assistant"}
    assert calls[0]["outputs"] == [REPLY]


def test_k_samples_keep_every_reply_and_the_prompt_once():
    critic = VotingCritic(DirectCritic(Caller(ScriptedBackend([REPLY]))), k=3)
    c = asyncio.run(critique_within(critic, ITEM))
    calls = c.metadata["transcript"]
    assert sum(len(x["outputs"]) for x in calls) == 3
    assert sum("messages" in x for x in calls) == 1
    assert all(x["messages_as_call"] == 0 for x in calls if "messages" not in x)


def test_the_transcript_is_bounded():
    t = tr.Transcript()
    from critica.backends.base import Completion, GenerateRequest

    long = "x" * (tr.MAX_CHARS + 500)
    for i in range(tr.MAX_CALLS + 3):
        t.add(GenerateRequest(messages=[{"role": "user", "content": f"{i} {long}"}]), Completion(texts=[long]))
    kept = t.as_metadata()
    assert len(kept) == tr.MAX_CALLS + 1 and kept[-1] == {"dropped": 3}
    assert len(kept[0]["messages"][0]["content"]) < tr.MAX_CHARS + 100 and "more characters not kept" in kept[0]["outputs"][0]


def test_nothing_is_recorded_outside_a_critique():
    critic = DirectCritic(Caller(ScriptedBackend([REPLY])))
    c = asyncio.run(critic.critique(ITEM))
    assert "transcript" not in c.metadata
