import json

import pytest
from pydantic import ValidationError

from critica.types import Critique, Item, ParseStatus, Score, Verdict, display_step


def test_item_needs_response_or_steps():
    with pytest.raises(ValidationError, match="response"):
        Item(id="a", question="q")
    assert Item(id="a", question="q", steps=["s1", "s2"]).text == "s1\n\ns2"
    assert Item(id="a", question="q", response="r").text == "r"


def test_item_rejects_unknown_fields():
    with pytest.raises(ValidationError):
        Item(id="a", question="q", response="r", bogus=1)


def test_failed_parse_must_be_unscored():
    with pytest.raises(ValidationError, match="unscored"):
        Critique(item_id="a", critic="c", verdict=Verdict.CORRECT, parse_status=ParseStatus.FAILED)
    c = Critique(item_id="a", critic="c", verdict=Verdict.UNSCORED, parse_status=ParseStatus.FAILED)
    assert c.first_error_step is None


def test_first_error_is_zero_based_with_one_based_display():
    c = Critique(item_id="a", critic="c", verdict=Verdict.INCORRECT, first_error_step=0)
    assert c.first_error_display == 1
    assert display_step(None) is None
    with pytest.raises(ValidationError):
        Critique(item_id="a", critic="c", verdict=Verdict.INCORRECT, first_error_step=-1)


def test_score_range_and_normalisation():
    assert Score(value=7, min=1, max=10).normalized == pytest.approx(6 / 9)
    with pytest.raises(ValidationError):
        Score(value=11, min=1, max=10)


def test_critique_round_trips_through_json():
    c = Critique(item_id="a", critic="c", verdict=Verdict.INCORRECT, first_error_step=2, score=Score(value=3, min=1, max=5),
                 samples=[Critique(item_id="a", critic="c", verdict=Verdict.UNSCORED, parse_status=ParseStatus.FAILED)])
    again = Critique.model_validate_json(c.model_dump_json())
    assert again == c
    assert json.loads(c.model_dump_json())["verdict"] == "incorrect"


def test_schema_command_prints_both_models(capsys):
    from critica.cli import main

    assert main(["schema"]) == 0
    out = json.loads(capsys.readouterr().out)
    critique = out["critique"]
    props = critique.get("properties") or critique["$defs"]["Critique"]["properties"]
    assert "first_error_step" in props and "parse_status" in props
    assert "question" in out["item"]["properties"]


def test_usage_counts_replayed_tokens_apart_and_splits_exactly():
    from critica.types import Usage

    fresh = Usage(prompt_tokens=10, completion_tokens=7, calls=1)
    replayed = fresh.as_replayed()
    assert (replayed.total_tokens, replayed.spent_tokens, replayed.replayed_tokens) == (17, 0, 17)
    mixed = fresh + replayed + Usage(failed_calls=1)
    assert (mixed.calls, mixed.replayed_calls, mixed.failed_calls) == (2, 1, 1)
    assert (mixed.spent_prompt_tokens, mixed.spent_completion_tokens, mixed.replayed_tokens) == (10, 7, 17)
    shares = mixed.split(3)
    total = shares[0] + shares[1] + shares[2]
    assert total == mixed and all(s.replayed_tokens <= s.total_tokens for s in shares)


def test_a_critique_is_failed_by_its_error_a_failed_call_or_a_failed_member():
    from critica.types import Usage

    base = dict(item_id="a", critic="c", verdict=Verdict.CORRECT)
    assert not Critique(**base).failed
    assert Critique(**base, usage=Usage(failed_calls=1)).failed  # a verdict, but a call behind it failed
    assert Critique(**base, metadata={"failures": ["b@m: backend down"]}).failed
    assert Critique(item_id="a", critic="c", verdict=Verdict.UNSCORED, error="backend down").failed
