"""The same mechanics tests against the real SmolLM2 model: in-process, and over HTTP via llama.cpp's server.

Mechanics only (shape, counts, errors): the model's content is never asserted.
"""

import json
import time

import pytest

from critica.backends.base import GenerateRequest
from critica.backends.call import Caller, CallPolicy
from critica.backends.registry import create_backend
from critica.config import Settings
from critica.critics.processbench import ProcessBenchCritic
from critica.errors import BackendUnavailable, UserError
from critica.types import Critique, Item, ParseStatus, Verdict

pytestmark = pytest.mark.model

SCHEMA = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": ["correct", "incorrect"]}, "step": {"type": "integer"}},
    "required": ["verdict", "step"],
}
MSGS = [{"role": "user", "content": "Is 2 + 2 = 5 correct? Answer in JSON."}]
# Generous: on a loaded 2-core machine a small model can still take minutes; the limit is tested elsewhere.
SLOW = CallPolicy(timeout_s=600, retries=0)


@pytest.fixture(params=["inproc", "http"])
def backend(request, local_backend):
    if request.param == "inproc":
        return local_backend
    base = request.getfixturevalue("llama_server")
    return create_backend("openai:smollm2", Settings(base_url=base, timeout=120))


async def test_n_samples_with_usage(backend):
    caller = Caller(backend, SLOW)
    out = await caller.generate(GenerateRequest(messages=MSGS, n=3, temperature=0.9, max_tokens=12, seed=1))
    assert len(out.texts) == 3 and all(isinstance(t, str) for t in out.texts)
    assert out.usage.prompt_tokens > 0 and out.usage.completion_tokens > 0
    assert caller.usage.completion_tokens == out.usage.completion_tokens


async def test_schema_constrained_json(backend):
    out = await Caller(backend, SLOW).generate(GenerateRequest(messages=MSGS, json_schema=SCHEMA, max_tokens=40, temperature=0))
    value = json.loads(out.texts[0])
    assert value["verdict"] in ("correct", "incorrect") and isinstance(value["step"], int)


async def test_processbench_critic_end_to_end(backend):
    item = Item(id="t", question="What is 2 + 3?", steps=["2 + 3 = 6.", "So the answer is 6."])
    crit = await ProcessBenchCritic(Caller(backend, SLOW), max_tokens=64).critique(item)
    again = Critique.model_validate_json(crit.model_dump_json())
    assert again.item_id == "t" and again.raw_outputs and again.usage.calls >= 1
    if again.verdict == Verdict.UNSCORED:
        assert again.parse_status == ParseStatus.FAILED and again.parse_error
    else:
        assert again.first_error_step is None or 0 <= again.first_error_step < 2


async def test_server_down_is_a_clear_error_within_timeout():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = create_backend("openai:m", Settings(base_url=f"http://127.0.0.1:{port}/v1", timeout=2))
    caller = Caller(backend, CallPolicy(timeout_s=2, retries=1, backoff_base_s=0.01))
    start = time.perf_counter()
    with pytest.raises(BackendUnavailable, match="APIConnectionError"):
        await caller.generate(GenerateRequest(messages=MSGS))
    assert time.perf_counter() - start < 5


def test_unknown_specs_are_user_errors():
    with pytest.raises(UserError, match="unknown model provider"):
        create_backend("nope:x")
    with pytest.raises(UserError, match="needs a model name"):
        create_backend("openai:")
    with pytest.raises(UserError, match="does not exist"):
        create_backend("llamacpp:/no/such.gguf")


async def test_inprocess_logprobs_need_opt_in(local_backend):
    from critica.backends.llamacpp import LlamaCppBackend

    req = GenerateRequest(messages=MSGS, max_tokens=4, logprobs=True)
    with pytest.raises(UserError, match="logprobs=True"):
        await Caller(local_backend, SLOW).generate(req)
    out = await Caller(LlamaCppBackend(logprobs=True, n_ctx=512), SLOW).generate(req)
    assert len(out.logprobs) == 1 and len(out.logprobs[0]) == out.usage.completion_tokens
    assert all(isinstance(tok, str) and lp <= 0 for tok, lp in out.logprobs[0])
