"""Every protocol end to end against the real SmolLM2 model, in-process and over HTTP (llama.cpp's server).

Mechanics only: each run yields a schema-valid Critique with raw outputs, usage and a parse status consistent with
its verdict. The model's verdicts, scores and text are never asserted (a 135M model is at chance on facts).
"""

from __future__ import annotations

import pytest

from critica.backends.call import Caller, CallPolicy
from critica.backends.registry import create_backend
from critica.config import Settings
from critica.critics.registry import build_critic
from critica.types import Critique, Item, ParseStatus, Verdict

pytestmark = pytest.mark.model

PROTOCOLS = ["direct", "deliberate", "principles", "pairwise", "rubric", "evidence", "tool-augmented"]
CALLS = {"deliberate": 2, "pairwise": 2}
# Short texts and no evidence-grounding check (tool-augmented would load an embedding model for passages).
ITEM = Item(id="m1", question="What is 2 + 3?", steps=["2 + 3 = 6.", "So the answer is 6."], candidates=["2 + 3 = 5."],
            evidence=["Two plus three equals five."], reference_answer="5")
SLOW = CallPolicy(timeout_s=600, retries=0)


@pytest.fixture(params=["inproc", "http"])
def backend(request, local_backend):
    if request.param == "inproc":
        return local_backend
    base = request.getfixturevalue("llama_server")
    return create_backend("llamacpp-server:smollm2", Settings(base_url=base, timeout=300))


def _check(crit: Critique, name: str) -> None:
    again = Critique.model_validate_json(crit.model_dump_json())
    assert again.item_id == "m1" and again.critic.endswith(name if name != "tool-augmented" else "direct")
    assert again.error is None, again.error
    assert len(again.raw_outputs) == CALLS.get(name, 1) and again.usage.calls == CALLS.get(name, 1)
    assert again.usage.completion_tokens > 0 and again.model
    if again.parse_status == ParseStatus.FAILED:
        assert again.verdict == Verdict.UNSCORED and again.parse_error
    if again.score is not None:
        assert again.score.min <= again.score.value <= again.score.max
    if name == "pairwise":
        assert again.metadata["preference"] in ("A", "B", "tie", "inconsistent", None)


@pytest.mark.parametrize("name", PROTOCOLS)
async def test_protocol_end_to_end(backend, name):
    item = ITEM.model_copy(update={"evidence": []}) if name == "tool-augmented" else ITEM
    critic = build_critic(name, Caller(backend, SLOW), max_tokens=24)
    _check(await critic.critique(item), name)


async def test_text_mode_end_to_end(local_backend):
    critic = build_critic("pairwise", Caller(local_backend, SLOW), max_tokens=16, structured=False)
    _check(await critic.critique(ITEM), "pairwise")
