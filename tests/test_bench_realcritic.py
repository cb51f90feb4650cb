"""RealCritic closed-loop suite: loading, grading, transitions and the modes, on scripted models and a tiny
hand-written copy of the data layout."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend
from critica.bench.base import BenchContext, get_suite
from critica.bench.realcritic import (
    MULTIPLE_CHOICE,
    TASKS,
    RealCriticItem,
    extract_choice,
    grade_answer,
    load_realcritic,
    transition_counts,
)
from critica.critics.registry import build_critic
from critica.errors import UserError

FAST = CallPolicy(timeout_s=5, retries=0, backoff_base_s=0.0, concurrency=4)


def row(idx, question, reasoning, pred, gt, ok, **extra):
    return {"idx": idx, "question": question, "gt_cot": "None", "gt": gt, "pred": pred, "reasoning": reasoning,
            "model": "someone", "previous_score": [ok], **extra}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """Four math items and two multiple-choice items covering every transition."""
    math_rows = [
        row(0, "KEEP 1+1?", "Step 1: 1+1=2.\nStep 2: \\boxed{2}", "2", "2", True),
        row(1, "FIX 2+2?", "Step 1: 2+2=5.\nStep 2: \\boxed{5}", "5", "4", False),
        row(2, "BREAK 3+3?", "Step 1: 3+3=6.\nStep 2: \\boxed{6}", "6", "6", True),
        row(3, "MUTE 4+4?", "Step 1: 4+4=9.\nStep 2: \\boxed{9}", "9", "8", False),
    ]
    mc_rows = [
        row(0, "FIX Which? (A) x (B) y", "Step 1: x.\nStep 2: \\boxed{A}", "A", "B", False),
        row(1, "KEEP Which? (A) x (B) y", "Step 1: y.\nStep 2: \\boxed{B}", "B", "B", True),
    ]
    root = tmp_path / "realcritic"
    for task, rows in (("math", math_rows), ("arc-challenge", mc_rows)):
        (root / task).mkdir(parents=True)
        (root / task / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def scripted_model(calls: list[str]):
    """One scripted model playing critic (ProcessBench JSON) and reviser, by what the question says."""

    def reply(request, _i):
        body = request.messages[0]["content"]
        question = re.search(r"(KEEP|FIX|BREAK|MUTE)[^\n]*", body).group(0)
        if "<paragraph_" in body:  # critic
            calls.append("critic")
            if question.startswith("MUTE"):
                return "I am not sure."
            return json.dumps({"critique": "c", "earliest_error_index": -1 if question.startswith("KEEP") else 0})
        if "Critique:" in body:  # reviser
            calls.append("revise")
            fixes = {"FIX 2+2?": "\\boxed{4}", "BREAK 3+3?": "\\boxed{7}", "FIX Which? (A) x (B) y": "\\boxed{B}"}
            return f"Step 1: redo ({len(calls)}).\nStep 2: {fixes[question]}"
        calls.append("draft")
        return "Step 1: my own try.\nStep 2: \\boxed{2}" if question.startswith("KEEP") else "Step 1: no idea."

    return ScriptedBackend(reply, name="scripted-model")


def context(data_dir: Path, backend, **options) -> BenchContext:
    caller = Caller(backend, FAST)
    return BenchContext(data_dir=data_dir, make_critic=lambda: build_critic("processbench", caller, max_tokens=32),
                        critic_name="processbench", model="scripted", options=options, concurrency=2)


def test_cross_mode_counts_every_transition(tiny):
    calls: list[str] = []
    result = get_suite("realcritic").run(context(tiny, scripted_model(calls)))
    rows = {r["split"]: r for r in result.rows}
    assert rows["math"]["c->c"] == 1 and rows["math"]["i->c"] == 1 and rows["math"]["c->i"] == 1 and rows["math"]["i->i"] == 1
    assert rows["math"]["acc_before"] == 0.5 and rows["math"]["acc_after"] == 0.5
    assert rows["arc-challenge"]["i->c"] == 1 and rows["arc-challenge"]["c->c"] == 1
    assert rows["arc-challenge"]["acc_before"] == 0.5 and rows["arc-challenge"]["acc_after"] == 1.0
    overall = rows["overall"]
    assert overall["n"] == 6 and overall["unscored"] == 1 and overall["accepted"] == 2 and overall["revised"] == 3
    assert overall["c->c"] + overall["c->i"] + overall["i->c"] + overall["i->i"] == 6
    assert "draft" not in calls and calls.count("revise") == 3
    by_id = {r["id"]: r for r in result.items}
    assert by_id["math/3"]["stop_reason"] == "unscored" and by_id["math/1"]["answer_after"] == "4"
    assert by_id["math/1"]["trajectory"]["rounds"][0]["verdict"] == "incorrect"
    assert any("agrees with the authors' previous_score on 6/6" in n for n in result.notes)


def test_iterative_mode_runs_several_rounds(tiny):
    calls: list[str] = []
    result = get_suite("realcritic").run(context(tiny, scripted_model(calls), mode="iterative", rounds=2))
    by_id = {r["id"]: r for r in result.items}
    # FIX items: revised once, then the critic rejects the revision again and a second revision follows.
    assert by_id["math/1"]["revisions"] == 2 and by_id["math/1"]["stop_reason"] == "round_limit"
    assert by_id["math/0"]["revisions"] == 0 and by_id["math/0"]["stop_reason"] == "accepted"
    assert "mode=iterative, rounds=2" in result.notes[0]


def test_self_mode_grades_the_models_own_draft(tiny):
    calls: list[str] = []
    result = get_suite("realcritic").run(context(tiny, scripted_model(calls), mode="self"))
    by_id = {r["id"]: r for r in result.items}
    assert calls.count("draft") == 6
    assert by_id["math/0"]["answer_before"] == "2" and by_id["math/0"]["correct_before"] is True
    # A draft with no boxed answer is wrong before; the FIX revision boxes the right answer.
    assert by_id["math/1"]["answer_before"] is None and by_id["math/1"]["correct_before"] is False
    assert by_id["math/1"]["correct_after"] is True


def test_splits_limit_and_plot(tiny, tmp_path):
    calls: list[str] = []
    ctx = context(tiny, scripted_model(calls), transitions_plot=str(tmp_path / "out" / "rc.png"))
    ctx.splits, ctx.limit = ["math"], 2
    result = get_suite("realcritic").run(ctx)
    assert [r["split"] for r in result.rows] == ["math", "overall"] and result.rows[-1]["n"] == 2
    png = tmp_path / "out" / "rc.png"
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG" and result.extra["plots"] == [str(png)]


def test_bad_options_are_user_errors(tiny):
    with pytest.raises(UserError, match="unknown mode"):
        get_suite("realcritic").run(context(tiny, scripted_model([]), mode="sideways"))
    with pytest.raises(UserError, match="integers"):
        get_suite("realcritic").run(context(tiny, scripted_model([]), rounds="many"))


def test_needs_a_model_to_correct(tiny):
    class NoModel:
        name = "nomodel"

        async def critique(self, item):  # pragma: no cover - never reached
            raise AssertionError

    ctx = BenchContext(data_dir=tiny, make_critic=lambda: NoModel(), critic_name="nomodel")
    with pytest.raises(UserError, match="needs a model"):
        get_suite("realcritic").run(ctx)


def test_malformed_line_names_file_and_line(tmp_path):
    (tmp_path / "realcritic" / "gsm8k").mkdir(parents=True)
    good = row(0, "q", "r", "1", "1", True)
    bad = {k: v for k, v in good.items() if k != "gt"}
    (tmp_path / "realcritic" / "gsm8k" / "test.jsonl").write_text(json.dumps(bad) + "\n" + json.dumps(good) + "\n")
    out = list(load_realcritic(tmp_path, ["gsm8k"]))
    assert isinstance(out[0], UserError) and "test.jsonl:1" in str(out[0]) and "'gt'" in str(out[0])
    assert isinstance(out[1], RealCriticItem) and out[1].id == "gsm8k/0"


def test_unknown_task_and_missing_data(tmp_path):
    with pytest.raises(UserError, match="not found"):
        list(load_realcritic(tmp_path))
    (tmp_path / "realcritic").mkdir()
    with pytest.raises(UserError, match="unknown RealCritic task"):
        list(load_realcritic(tmp_path, ["gpqa"]))


def test_real_data_loads(data_dir):
    items = [r for r in load_realcritic(data_dir, limit=3)]
    assert all(isinstance(r, RealCriticItem) for r in items) and len(items) == 3 * len(TASKS)
    assert {r.task for r in items if r.multiple_choice} == set(MULTIPLE_CHOICE)


@pytest.mark.parametrize(
    ("answer", "gold", "mc", "expected"),
    [
        ("C", "C", True, True),
        ("(C)", "C", True, True),
        ("C. guanine", "C", True, True),
        ("\\text{B}", "B", True, True),
        ("D", "C", True, False),
        ("guanine", "C", True, False),
        ("\\frac{7}{2}", "\\frac{7}{2}", False, True),
        ("3.5", "\\frac{7}{2}", False, True),
        ("2\\pi^2-2\\pi", "2\\pi(\\pi-1)", False, True),
        ("1+i\\sqrt{3}", "1+\\sqrt{3}i", False, True),
        ("540", "540", False, True),
        ("541", "540", False, False),
        (None, "540", False, False),
        ("", "540", False, False),
        ("1" * 3000, "1", False, False),
    ],
)
def test_grade_answer(answer, gold, mc, expected):
    assert grade_answer(answer, gold, multiple_choice=mc) is expected


def test_extract_choice_rejects_prose():
    assert extract_choice("Both are fine") is None and extract_choice(None) is None


def test_transition_counts():
    assert transition_counts([(True, True), (True, False), (False, True), (False, True), (False, False)]) == {
        "c->c": 1, "c->i": 1, "i->c": 2, "i->i": 1}


# -- two-model mode through the CLI: the second model connects like the first (issue 14) --------------------------


def _stub_reply(body, _i):
    """The scripted model above, as an OpenAI-compatible server sees it."""
    calls: list[str] = []

    class Req:
        messages = body["messages"]

    return scripted_model(calls)._replies(Req, 0)


@pytest.fixture
def stubs():
    from openai_stub import OpenAIStub

    made: list = []

    def make():
        made.append(OpenAIStub(_stub_reply))
        return made[-1]

    yield make
    for s in made:
        s.close()


def _run(tiny, tmp_path, base_url, *options):
    from critica.cli import main

    out = tmp_path / "rc.json"
    args = ["bench", "realcritic", "--critic", "processbench", "--model", "openai:generator", "--base-url", base_url,
            "--data-dir", str(tiny), "--json-out", str(out), "--option", "critic_model=openai:judge"]
    for opt in options:
        args += ["--option", opt]
    return main(args), out


def test_critic_model_uses_the_runs_base_url_and_key(tiny, tmp_path, stubs, monkeypatch):
    key = "sk-test-" + "k" * 24
    monkeypatch.setenv("CRITICA_API_KEY", key)
    stub = stubs()
    code, out = _run(tiny, tmp_path, stub.base_url)
    assert code == 0
    models = {(r["model"], r["key"]) for r in stub.requests}
    assert ("judge", key) in models and ("generator", key) in models and len(models) == 2
    critic_prompts = [r for r in stub.requests if r["model"] == "judge"]
    assert critic_prompts and all("<paragraph_" in r["body"]["messages"][0]["content"] for r in critic_prompts)
    doc = json.loads(out.read_text())
    overall = doc["rows"][-1]
    assert overall["unscored"] == 1 and overall["accepted"] == 2 and overall["i->c"] == 2  # the critic judged
    assert overall["acc_after"] != overall["acc_before"]


def test_critic_base_url_sends_the_critic_elsewhere(tiny, tmp_path, stubs):
    generator, judge = stubs(), stubs()
    code, _ = _run(tiny, tmp_path, generator.base_url, f"critic_base_url={judge.base_url}")
    assert code == 0
    assert {r["model"] for r in judge.requests} == {"judge"}
    assert {r["model"] for r in generator.requests} == {"generator"}


def test_a_run_where_the_critic_judged_nothing_fails_loudly(tiny, tmp_path, stubs, monkeypatch, capsys):
    monkeypatch.setenv("CRITICA_RETRIES", "0")
    monkeypatch.setenv("CRITICA_TIMEOUT", "5")
    generator = stubs()
    code, out = _run(tiny, tmp_path, generator.base_url, "critic_base_url=http://127.0.0.1:9/v1")  # nothing listens
    err = capsys.readouterr().err
    assert code != 0 and not out.exists()
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "no usable verdict on any of the 6 item(s)" in lines[0], err


def test_critic_base_url_without_critic_model_is_refused(tiny):
    with pytest.raises(UserError, match="critic_base_url"):
        get_suite("realcritic").run(context(tiny, scripted_model([]), critic_base_url="http://127.0.0.1:9/v1"))


def test_every_critique_unscored_is_an_error_not_figures(tiny):
    mute = ScriptedBackend(["I am not sure."])
    with pytest.raises(UserError, match="no usable verdict"):
        get_suite("realcritic").run(context(tiny, mute))
