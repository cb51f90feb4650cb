"""Probes of the instruction checkers (``rules``): responses are adversarial. A huge response, deeply nested JSON,
text that makes a library regex quadratic, or a checker that raises must give ``unchecked`` with the reason, in
bounded time, and never crash the batch. Every input is generated here."""

from __future__ import annotations

import importlib.util
import random
import time

import pytest

from critica.types import Item, Verdict
from critica.verifiers.rules import Constraint, check_response, library, parse_rule

pytestmark = pytest.mark.skipif(importlib.util.find_spec("if_verifiable") is None,
                                reason="needs the rules extra (if-verifiable)")
PLACEHOLDERS = Constraint("detectable_content:number_placeholders", {"num_placeholders": 1})


def test_a_5mb_response_is_unchecked_at_once():
    library()  # loading the checkers is not what is timed
    start = time.perf_counter()
    got = check_response("word, " * 900_000, "q", [parse_rule("no commas"), parse_rule("words >= 3"), PLACEHOLDERS])
    assert time.perf_counter() - start < 5
    assert {r.status for r in got} == {"unchecked"} and all("too long" in r.evidence for r in got)


def test_a_quadratic_regex_is_stopped_and_the_next_check_still_runs():
    start = time.perf_counter()
    slow, after = check_response("[" * 45_000, "q", [PLACEHOLDERS, parse_rule("no commas")], timeout_s=2)
    assert slow.status == "unchecked" and "time limit" in slow.evidence
    assert after.status == "followed"  # a fresh worker took over
    assert time.perf_counter() - start < 90  # 2 s limit + starting two workers on a loaded machine


def test_deeply_nested_json_is_unchecked_not_raised():
    [r] = check_response("[" * 30_000 + "]" * 30_000, "q", [parse_rule("json")])
    assert r.status in ("unchecked", "violated")


@pytest.mark.parametrize("seed", [0, 1])
def test_every_checker_survives_hostile_text(seed):
    rng = random.Random(seed)
    alphabet = ["[", "]", "*", "**", "\n", "\n\n", "***", "P.S.", ",", ".", "?", "!", "<<", ">>", "{", "}", "\"",
                "é", "\u202e", "\x00", "Ünïcödé", "SECTION", "1", "- ", "* ", "#", " "] + ["word"] * 10
    text = "".join(rng.choice(alphabet) for _ in range(3000))
    lib = library()
    cs = []
    for iid, cls in sorted(lib.registry.items()):
        checker = cls(iid)
        random.seed(seed)  # the checkers pick their own arguments with the global generator
        try:
            checker.build_description()
            args = {k: v for k, v in (checker.get_instruction_args() or {}).items() if v is not None and k != "prompt"}
        except Exception:  # noqa: BLE001 - a checker that needs arguments: checked with none, which must not crash
            args = {}
        cs.append(Constraint(iid, args))
    start = time.perf_counter()
    got = check_response(text, "a prompt [with] brackets", cs, timeout_s=10)
    assert len(got) == len(cs) and all(r.status in ("followed", "violated", "unchecked") for r in got)
    assert time.perf_counter() - start < 240


async def test_the_verifier_critic_survives_a_hostile_item():
    from critica.verifiers.critic import VerifierCritic

    item = Item(id="h", question="Answer in JSON with at most 5 words.", response="{" * 60_000,
                metadata={"rules": ["json", "words <= 5"], "instruction_id_list": ["no:such"], "kwargs": "bad"})
    crit = await VerifierCritic().critique(item)
    assert crit.verdict in (Verdict.CORRECT, Verdict.INCORRECT)
    rules = [f for f in crit.metadata["findings"] if f["kind"] == "rules"]
    assert rules and all(f["verdict"] == "unchecked" for f in rules)
