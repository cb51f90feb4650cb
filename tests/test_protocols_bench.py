"""The pairwise benchmark suites (judgebench, llmbar): loading, per-item records and figures, over scripted judges."""

from __future__ import annotations

import json

import pytest

from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend
from critica.bench.base import BenchContext, get_suite
from critica.bench.pairwise import double_game, load_judgebench, load_llmbar, pairwise_metrics
from critica.critics.direct import DirectCritic
from critica.critics.pairwise import PairwiseCritic
from critica.errors import UserError


def _rec(gold, pref, orders, consistent, unscored=False):
    return {"gold": gold, "preference": pref, "orders": orders, "order_consistent": consistent,
            "double_game": None if unscored else double_game(orders), "correct": pref == gold, "unscored": unscored}


def test_double_game_rule():
    assert double_game(["A", "A"]) == "A"
    assert double_game(["A", "tie"]) == "A"
    assert double_game(["tie", "B"]) == "B"
    assert double_game(["A", "B"]) == "tie"
    assert double_game(["A", None]) is None  # an unparsed order is never a tie


def test_pairwise_metrics_count_failures_separately():
    records = [
        _rec("A", "A", ["A", "A"], True),
        _rec("B", "B", ["B", "B"], True),
        _rec("A", "inconsistent", ["A", "B"], False),
        _rec("B", "inconsistent", ["tie", "B"], False),
        _rec("A", "tie", ["tie", "tie"], True),
        _rec("A", None, ["A", None], None, unscored=True),
    ]
    m = pairwise_metrics(records, n_boot=50)
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(2 / 6)
    assert m["accuracy_decided"] == 1.0
    assert m["double_game_accuracy"] == pytest.approx(3 / 6)  # the tie+B item counts for B under JudgeBench's rule
    assert m["order_consistency"] == pytest.approx(3 / 5)
    assert m["inconsistent_rate"] == pytest.approx(2 / 6) and m["tie_rate"] == pytest.approx(1 / 6)
    assert m["unscored_rate"] == pytest.approx(1 / 6) and m["unscored"] == 1
    lo, hi = m["accuracy_ci"]
    assert 0 <= lo <= m["accuracy"] <= hi <= 1


def test_loaders_read_the_shared_data(data_dir):
    jb, errors = load_judgebench(data_dir, limit=3)
    assert not errors and len(jb) == 6 and {p.split for p in jb} == {"gpt-4o", "claude-3.5-sonnet"}
    assert all(p.gold in ("A", "B") and len(p.item.candidates) == 1 for p in jb)
    again, _ = load_judgebench(data_dir, limit=3)
    assert [p.item.id for p in again] == [p.item.id for p in jb]  # seeded sample
    lb, errors = load_llmbar(data_dir, ["Natural", "MT-Bench"], limit=4)
    assert not errors and len(lb) == 8 and lb[0].item.id.startswith("Natural-")
    with pytest.raises(UserError):
        load_llmbar(data_dir, ["Nope"])


def test_malformed_lines_are_named_and_skipped(tmp_path):
    root = tmp_path / "judgebench"
    root.mkdir()
    good = {"pair_id": "p1", "question": "q", "response_A": "a", "response_B": "b", "label": "A>B"}
    lines = [json.dumps(good), json.dumps({**good, "pair_id": "p2", "label": "A=B"}), json.dumps({"pair_id": "p3"})]
    (root / "gpt-4o-2024-05-13.jsonl").write_text("\n".join(lines) + "\n")
    pairs, errors = load_judgebench(tmp_path, ["gpt-4o"])
    assert [p.item.id for p in pairs] == ["p1"]
    assert "gpt-4o-2024-05-13.jsonl:2" in errors[0] and "label" in errors[0]
    assert "gpt-4o-2024-05-13.jsonl:3" in errors[1] and "label" in errors[1]


def _ctx(data_dir, make_critic, **kw):
    return BenchContext(data_dir=data_dir, make_critic=make_critic, critic_name="pairwise", concurrency=2,
                        options={"n_boot": 50}, **kw)


def test_llmbar_suite_with_an_oracle_judge(data_dir):
    pairs, _ = load_llmbar(data_dir, ["Natural"], limit=6)
    better = {(p.item.text if p.gold == "A" else p.item.candidates[0]) for p in pairs}

    def oracle(request, _i):
        content = request.messages[0]["content"]
        a = content.split("[Response A]\n", 1)[1].split("\n\n[Response B]", 1)[0]
        return "[[A>B]]" if a in better else "[[B>A]]"

    def make():
        return PairwiseCritic(Caller(ScriptedBackend(oracle), CallPolicy(retries=0)), structured=False)

    result = get_suite("llmbar").run(_ctx(data_dir, make, limit=6, splits=["Natural"]))
    (row,) = result.rows
    assert row["n"] == 6 and row["accuracy"] == 1.0 and row["order_consistency"] == 1.0 and row["unscored_rate"] == 0
    assert len(result.items) == 6 and all(r["correct"] for r in result.items)


def test_judgebench_suite_reports_position_bias_and_parse_failures(data_dir):
    replies = iter(["[[A>B]]", "[[A>B]]", "no verdict", "no verdict"] * 50)

    def make():
        return PairwiseCritic(Caller(ScriptedBackend(lambda r, i: next(replies)), CallPolicy(retries=0)),
                              structured=False)

    result = get_suite("judgebench").run(_ctx(data_dir, make, limit=2, splits=["gpt-4o"]))
    (row,) = result.rows
    assert row["n"] == 2 and row["accuracy"] == 0.0
    assert row["unscored"] + round(row["inconsistent_rate"] * 2) == 2  # every item is biased or unparsed
    assert any("never read as a tie" in n for n in result.notes)


def test_suite_refuses_a_critic_without_preferences(data_dir):
    def make():
        reply = '{"explanation": "", "first_error_step": -1, "suggested_fix": "", "verdict": "correct"}'
        return DirectCritic(Caller(ScriptedBackend([reply])))

    with pytest.raises(UserError, match="--critic pairwise"):
        get_suite("llmbar").run(_ctx(data_dir, make, limit=1, splits=["Natural"]))
