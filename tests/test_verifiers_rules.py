"""The ``rules`` verifier: constraints of an item, the official strict/loose readings, evidence, and its uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from critica.types import Item, StepVerdict, Verdict
from critica.verifiers.rules import (
    Constraint,
    RulesCritic,
    check_response,
    item_constraints,
    loose_variants,
    parse_rule,
)
from critica.verifiers.rules_detect import detect_constraints

CASES = Path(__file__).parent / "data" / "rules"
needs_checkers = pytest.mark.skipif(
    __import__("importlib").util.find_spec("if_verifiable") is None, reason="needs the rules extra (if-verifiable)")


@pytest.mark.parametrize("case", json.loads((CASES / "rule_cases.json").read_text()), ids=lambda c: c["rule"])
def test_rule_syntax(case):
    c = parse_rule(case["rule"])
    assert (c.id, c.kwargs) == (case["id"], case["kwargs"])


@pytest.mark.parametrize("rule", json.loads((CASES / "bad_rules.json").read_text()), ids=repr)
def test_bad_rules_are_refused(rule):
    with pytest.raises(ValueError):
        parse_rule(rule)


def test_constraints_from_ifbench_fields_and_rules():
    item = Item(id="x", question="q", response="r", metadata={
        "instruction_id_list": ["count:numbers", "punctuation:no_comma"], "kwargs": [{"N": 3, "x": None}, None],
        "rules": ["lowercase", "not a rule"]})
    found, errors = item_constraints(item)
    assert [(c.id, c.kwargs) for c in found] == [("count:numbers", {"N": 3}), ("punctuation:no_comma", {}),
                                                 ("change_case:english_lowercase", {})]
    assert len(errors) == 1 and "rules[1]" in errors[0]
    bad = Item(id="y", question="q", response="r", metadata={"instruction_id_list": ["a:b"], "kwargs": [{}, {}]})
    assert item_constraints(bad)[0] == [] and "one dict per instruction" in item_constraints(bad)[1][0]


def test_loose_variants_are_the_official_eight():
    v = loose_variants("Sure!\n**body**\nBye")
    assert v == ["Sure!\n**body**\nBye", "Sure!\nbody\nBye", "**body**\nBye", "Sure!\n**body**", "**body**",
                 "body\nBye", "Sure!\nbody", "body"]


@needs_checkers
def test_followed_violated_and_evidence():
    text = "The river runs. It is cold, and clear."
    cs = [parse_rule(r) for r in ("words >= 20", "words < 20", "include: river, stone", "no commas", "bullets = 2")]
    got = check_response(text, "q", cs)
    assert [r.status for r in got] == ["violated", "followed", "violated", "violated", "violated"]
    assert got[0].evidence == "8 words, asked for at least 20"
    assert "missing 'stone'" in got[2].evidence and got[3].evidence == "1 commas"
    assert got[4].evidence == "0 bullet points, asked for exactly 2"
    assert all(r.strict is (r.status == "followed") for r in got)


@needs_checkers
def test_loose_reading_forgives_a_preamble_line():
    text = "Sure! Here it is:\nthe whole answer is written in lowercase letters only."
    [r] = check_response(text, "q", [parse_rule("lowercase")])
    assert (r.status, r.strict, r.loose) == ("violated", False, True)
    assert "loose reading passes" in r.evidence


@needs_checkers
def test_blank_response_follows_nothing():
    [r] = check_response("   ", "q", [parse_rule("no commas")])
    assert (r.status, r.strict, r.loose) == ("violated", False, False)


@needs_checkers
def test_unknown_raising_and_oversize_are_unchecked():
    unknown, deep = check_response("[" * 5000 + "]" * 5000, "q", [Constraint("no:such"), parse_rule("json")])
    assert unknown.status == "unchecked" and "unknown instruction id" in unknown.evidence
    assert deep.status == "unchecked" and "recursion" in deep.evidence
    [big] = check_response("x" * 101, "q", [parse_rule("no commas")], max_chars=100)
    assert big.status == "unchecked" and "too long" in big.evidence
    [bad] = check_response("text", "q", [Constraint("length_constraints:number_words", {"num_words": "many"})])
    assert bad.status == "unchecked"


@needs_checkers
def test_rules_critic_one_judgment_per_constraint():
    item = Item(id="a", question="q", response="all lowercase, with a comma.",
                metadata={"rules": ["lowercase", "no commas", "frobnicate"]})
    crit = RulesCritic().judge(item)
    assert crit.verdict == Verdict.INCORRECT
    assert [s.verdict for s in crit.steps] == [StepVerdict.CORRECT, StepVerdict.INCORRECT]
    assert crit.metadata["strict"] is False and crit.metadata["constraint_errors"]
    ok = RulesCritic().judge(Item(id="b", question="q", response="no comma here", metadata={"rules": ["no commas"]}))
    assert ok.verdict == Verdict.CORRECT and ok.metadata["strict"] is True
    none = RulesCritic().judge(Item(id="c", question="q", response="text"))
    assert none.verdict == Verdict.UNSCORED


@needs_checkers
def test_rules_join_the_default_verifier_and_tool_evidence():
    from critica.critics.tool_augmented import ToolAugmentedCritic
    from critica.verifiers.base import render_findings
    from critica.verifiers.critic import VerifierCritic

    item = Item(id="a", question="Write 3 words, no commas.", response="One, two, three.", metadata={"rules": ["no commas"]})
    crit = VerifierCritic().judge(item)
    assert crit.verdict == Verdict.INCORRECT and "no commas" in crit.explanation
    assert [f["kind"] for f in crit.metadata["findings"]] == ["rules"]
    assert VerifierCritic(rules=False).judge(item).verdict == Verdict.CORRECT
    plain = Item(id="b", question="q", response="One, two, three.")
    assert not any(f["kind"] == "rules" for f in VerifierCritic().judge(plain).metadata["findings"])

    class _Inner:  # only what ToolAugmentedCritic touches before a call
        name, caller, sampling, tool_context = "direct", None, None, None

    found = ToolAugmentedCritic(_Inner()).findings(item)  # type: ignore[arg-type]
    assert "[rules] whole response: incorrect — no commas: violated" in render_findings(found)


def test_critics_lists_rules():
    from critica.critics.registry import available_critics, build_critic

    specs = available_critics()
    assert not specs["rules"].needs_model and not specs["rules-pairwise"].needs_model
    assert build_critic("rules", None).name == "rules"


@pytest.mark.parametrize("case", json.loads((CASES / "detect_cases.json").read_text()), ids=lambda c: c["text"][:30])
def test_detect_constraints(case):
    got = sorted((c.id, json.dumps(c.kwargs, sort_keys=True)) for c in detect_constraints(case["text"]))
    assert got == sorted((i, json.dumps(k, sort_keys=True)) for i, k in case["found"])


# ------------------------------------------------------------------------------------------------ pairwise


@needs_checkers
async def test_rules_pairwise_decides_when_the_rules_separate():
    from critica.critics.rules_pairwise import RulesPairwiseCritic

    item = Item(id="p", question="Answer in at most 5 words.", response="A short answer here.",
                candidates=["This answer is much longer than five words, so it breaks the rule."])
    crit = await RulesPairwiseCritic().critique(item)
    assert crit.metadata["preference"] == "A" and crit.metadata["decided_by"] == "rules"
    assert crit.metadata["constraints_source"] == "detected" and crit.metadata["violations"] == [0, 1]
    swapped = item.model_copy(update={"response": item.candidates[0], "candidates": [item.response]})
    assert (await RulesPairwiseCritic().critique(swapped)).metadata["preference"] == "B"
    tie = await RulesPairwiseCritic().critique(item.model_copy(update={"question": "Answer briefly."}))
    assert tie.metadata["preference"] == "tie" and tie.verdict == Verdict.UNSCORED


@needs_checkers
async def test_rules_pairwise_informs_the_model_when_they_do_not():
    from critica.backends.call import Caller, CallPolicy
    from critica.backends.fake import ScriptedBackend
    from critica.critics.registry import build_critic

    backend = ScriptedBackend(['{"explanation": "B is better", "winner": "B"}',
                               '{"explanation": "B is better", "winner": "A"}'])
    critic = build_critic("rules-pairwise", Caller(backend, CallPolicy(retries=0, timeout_s=5)))
    item = Item(id="p", question="Answer in at most 5 words.", response="Paris.", candidates=["It is Paris."])
    crit = await critic.critique(item)
    assert crit.metadata["decided_by"] == "model" and crit.metadata["preference"] == "B"
    prompts = [m["content"] for r in backend.requests for m in r.messages if m["role"] == "user"]
    assert len(prompts) == 2 and all('The response beginning "Paris."' in p and "followed" in p for p in prompts)
    decided = item.model_copy(update={"candidates": ["This one has far more than five words in it."]})
    calls = backend.calls
    assert (await critic.critique(decided)).metadata["decided_by"] == "rules" and backend.calls == calls


@needs_checkers
def test_language_is_detected_offline():
    text = "Dies ist ein deutscher Satz über Katzen und Hunde im Garten."
    de, en = check_response(text, "q", [parse_rule("language: de"), parse_rule("language: en")])
    assert (de.status, en.status) == ("followed", "violated")


@needs_checkers
async def test_rules_pairwise_reads_as_order_consistent_in_the_llmbar_summary():
    from critica.bench.pairwise import PairItem, pair_record
    from critica.critics.rules_pairwise import RulesPairwiseCritic

    item = Item(id="p", question="Answer in at most 5 words.", response="A short answer here.",
                candidates=["This answer is much longer than five words, so it breaks the rule."])
    rec = pair_record(PairItem("Constraint", item, "A"), await RulesPairwiseCritic().critique(item))
    assert rec["correct"] and rec["double_game"] == "A" and rec["order_consistent"] is True
