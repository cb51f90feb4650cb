import pytest

from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend, ScriptedError
from critica.critics.processbench import ProcessBenchCritic, tag_steps
from critica.types import Item, ParseStatus, StepVerdict, Verdict

ITEM = Item(id="x", question="What is 2+3*4?", steps=["3*4 = 12.", "2 + 12 = 15.", "The answer is 15."])


def critic(replies, structured=True, **kw):
    return ProcessBenchCritic(Caller(ScriptedBackend(replies), CallPolicy(retries=0)), structured=structured, **kw)


def test_official_prompt_tags_steps_from_zero():
    msgs = critic([""], structured=False).messages(ITEM)
    prompt = msgs[0]["content"]
    assert "<paragraph_0>\n3*4 = 12.\n</paragraph_0>\n\n<paragraph_1>" in prompt
    assert "indexed from 0" in prompt and prompt.rstrip().endswith("in \\boxed{}.")
    assert tag_steps(["a"]) == "<paragraph_0>\na\n</paragraph_0>"


@pytest.mark.parametrize(
    "raw, structured, verdict, first, status",
    [
        ('{"critique": "step 1 adds wrong", "earliest_error_index": 1}', True, Verdict.INCORRECT, 1, ParseStatus.OK),
        ('{"critique": "fine", "earliest_error_index": -1}', True, Verdict.CORRECT, None, ParseStatus.OK),
        ("Paragraph 1 is wrong. \\boxed{1}", True, Verdict.INCORRECT, 1, ParseStatus.REPAIRED),
        ("Looks at \\boxed{0} first... actually final: \\boxed{2}", False, Verdict.INCORRECT, 2, ParseStatus.OK),
        ("<think>maybe \\boxed{0}</think>All good. \\boxed{-1}", False, Verdict.CORRECT, None, ParseStatus.OK),
        ('Here: {"critique": "x", "earliest_error_index": 0} hope it helps', True, Verdict.INCORRECT, 0, ParseStatus.REPAIRED),
        ('{"critique": "cut off mid', True, Verdict.UNSCORED, None, ParseStatus.FAILED),
        ('{"critique": "x", "earliest_error_index": 7}', True, Verdict.UNSCORED, None, ParseStatus.FAILED),
        ('{"critique": "x", "earliest_error_index": -2}', True, Verdict.UNSCORED, None, ParseStatus.FAILED),
        ("I think the second step is wrong.", False, Verdict.UNSCORED, None, ParseStatus.FAILED),
        ("<think>\\boxed{1} is my guess", False, Verdict.UNSCORED, None, ParseStatus.FAILED),
        ("", True, Verdict.UNSCORED, None, ParseStatus.FAILED),
    ],
)
async def test_parse_never_invents_a_verdict(raw, structured, verdict, first, status):
    c = await critic([raw], structured=structured).critique(ITEM)
    assert (c.verdict, c.first_error_step, c.parse_status) == (verdict, first, status)
    assert c.raw_outputs == [raw]
    if verdict == Verdict.INCORRECT:
        assert c.steps[first].verdict == StepVerdict.INCORRECT
        assert all(s.verdict == StepVerdict.CORRECT for s in c.steps[:first])
    if status == ParseStatus.FAILED:
        assert c.parse_error


async def test_backend_failure_is_unscored_with_error():
    c = await critic([ScriptedError("down")]).critique(ITEM)
    assert c.verdict == Verdict.UNSCORED and c.parse_status == ParseStatus.FAILED
    assert "down" in c.error and c.model == "scripted"


async def test_samples_carry_seeds_usage_and_request_schema():
    backend = ScriptedBackend(['{"critique": "a", "earliest_error_index": 0}', '{"critique": "b", "earliest_error_index": -1}'])
    pb = ProcessBenchCritic(Caller(backend), seed=5, temperature=0.7)
    samples = await pb.sample(ITEM, n=2)
    assert [s.verdict for s in samples] == [Verdict.INCORRECT, Verdict.CORRECT]
    assert [s.sampling.seed for s in samples] == [5, 6]
    req = backend.requests[0]
    assert req.n == 2 and req.json_schema["required"] == ["critique", "earliest_error_index"] and req.temperature == 0.7
    assert all(s.usage.completion_tokens > 0 for s in samples)


async def test_sample_usages_add_up_to_the_request():
    backend = ScriptedBackend(['{"critique": "a b c", "earliest_error_index": 0}'] * 3)
    caller = Caller(backend)
    samples = await ProcessBenchCritic(caller).sample(ITEM, n=3)
    total = samples[0].usage + samples[1].usage + samples[2].usage
    assert total == caller.usage
    assert [s.usage.calls for s in samples] == [1, 0, 0]
