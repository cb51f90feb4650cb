"""Scaling config, its CLI spellings, wrap_critic, exam sets and the `critica critique` options."""

from __future__ import annotations

import json

import pytest

from critica.aggregate.cascade import Cascade
from critica.aggregate.panel import Panel
from critica.aggregate.spec import (
    MemberSpec,
    ScalingConfig,
    load_exam_items,
    load_scaling_config,
    parse_cascade,
    parse_member,
    parse_panel,
    scaling_config,
    scaling_summary,
    wrap_critic,
)
from critica.aggregate.voting import AdaptiveVotingCritic, MetaFilteredCritic, VotingCritic
from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend
from critica.cli import main
from critica.config import Settings
from critica.critics.processbench import ProcessBenchCritic
from critica.errors import InputError, UserError
from critica.types import Critique, Verdict


@pytest.mark.parametrize("text, expected", [
    ("processbench", MemberSpec(critic="processbench")),
    ("processbench@local:smollm2", MemberSpec(critic="processbench", model="local:smollm2")),
    ("direct@openai:gpt-4o-mini*4", MemberSpec(critic="direct", model="openai:gpt-4o-mini", samples=4)),
    (" verifier *2 ", MemberSpec(critic="verifier", samples=2)),
    ("p@llamacpp:/models/q.gguf", MemberSpec(critic="p", model="llamacpp:/models/q.gguf")),
])
def test_parse_member(text, expected):
    assert parse_member(text) == expected


def test_parse_panel_and_cascade():
    p = parse_panel("processbench@openai:a, processbench@openai:b*3 ,verifier;method=exam;exam=processbench/gsm8k:20")
    assert [m.critic for m in p.members] == ["processbench", "processbench", "verifier"]
    assert p.members[1].samples == 3 and p.method == "exam" and p.exam == "processbench/gsm8k:20"
    c = parse_cascade("verifier;threshold=0.9")
    assert c.stages == [MemberSpec(critic="verifier")] and c.threshold == 0.9


@pytest.mark.parametrize("bad", ["", ";method=mean", "a;colour=red", "a;method=median", "a@m*0"])
def test_bad_panel_specs_are_user_errors(bad):
    with pytest.raises(UserError):
        parse_panel(bad)
    with pytest.raises(UserError):
        parse_cascade("a;threshold=3")


def test_config_file_and_flags_override(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('samples = 4\nadaptive = true\n[panel]\nmethod = "mean"\nmembers = [{critic = "processbench"}]\n')
    cfg = load_scaling_config(toml)
    assert cfg.samples == 4 and cfg.adaptive and cfg.panel.method == "mean"
    merged = scaling_config(samples=8, config_file=toml)
    assert merged.samples == 8 and merged.adaptive and merged.panel is not None
    bad = tmp_path / "s.json"
    bad.write_text(json.dumps({"samples": 2, "pannel": {}}))
    with pytest.raises(InputError) as e:
        load_scaling_config(bad)
    assert "s.json" in str(e.value) and "pannel" in str(e.value)
    with pytest.raises(UserError):
        scaling_config(samples=0)


def pb_json(index: int) -> str:
    return json.dumps({"critique": "x", "earliest_error_index": index})


def make(replies=(pb_json(1),), temperature=0.7):
    caller = Caller(ScriptedBackend(list(replies)), CallPolicy(retries=0))
    return ProcessBenchCritic(caller, temperature=temperature), caller


def test_wrap_critic_picks_the_wrapper():
    critic, caller = make()
    assert wrap_critic(critic, ScalingConfig()) is critic
    assert isinstance(wrap_critic(critic, ScalingConfig(samples=3)), VotingCritic)
    adaptive = wrap_critic(critic, ScalingConfig(samples=8, adaptive=True))
    assert isinstance(adaptive, AdaptiveVotingCritic) and adaptive.max_k == 8 and adaptive.caller is caller
    meta = wrap_critic(critic, ScalingConfig(samples=4, meta_critic="meta"), caller=caller)
    assert isinstance(meta, MetaFilteredCritic) and meta.meta.name == "meta" and meta.keep == 2
    with pytest.raises(UserError):
        wrap_critic(critic, ScalingConfig(meta_critic="meta"), caller=caller)


def test_wrap_critic_warns_about_identical_samples():
    critic, _ = make(temperature=0.0)
    warnings: list[str] = []
    wrap_critic(critic, ScalingConfig(samples=4), warn=warnings.append)
    assert warnings and "temperature" in warnings[0]


def test_panel_members_get_their_own_backends(monkeypatch):
    created: list[str] = []

    def fake_backend(spec, settings=None, *, workers=1):
        created.append(spec)
        return ScriptedBackend([pb_json(2)], name=spec)

    monkeypatch.setattr("critica.backends.registry.create_backend", fake_backend)
    critic, caller = make()
    cfg = scaling_config(panel="processbench@openai:a*3,processbench@openai:a,processbench", cascade="processbench;threshold=1")
    wrapped = wrap_critic(critic, cfg, caller=caller, settings=Settings(model="openai:main"),
                          options={"temperature": 0.7})
    assert created == ["openai:a"]  # one backend per distinct model, the main model reused
    assert isinstance(wrapped, Cascade) and isinstance(wrapped.stages[-1], Panel)
    panel = wrapped.stages[-1]
    assert isinstance(panel.members[0], VotingCritic) and panel.members[0].k == 3
    assert [getattr(c, "name", None) for c in wrapped.caller.callers] == ["scripted", "openai:a"]


async def test_wrapped_panel_and_cascade_run_end_to_end(monkeypatch):
    monkeypatch.setattr("critica.backends.registry.create_backend",
                        lambda spec, settings=None, *, workers=1: ScriptedBackend([pb_json(2)], name=spec))
    critic, caller = make([pb_json(0)])
    cfg = scaling_config(panel="processbench@openai:a,processbench@openai:b,processbench", cascade="processbench*2")
    wrapped = wrap_critic(critic, cfg, caller=caller, settings=Settings(model="m"), options={"temperature": 0.7})
    from critica.types import Item

    out = await wrapped.critique(Item(id="x", question="q", steps=["a", "b", "c"]))
    # cheap stage: two samples both say step 0 (confidence 1.0 ≥ 0.75) → answered without the panel
    assert out.first_error_step == 0 and out.metadata["cascade"]["stage"] == 0
    lines = scaling_summary(wrapped)
    assert lines and "0.0% of 1 items escalated" in lines[0]


def test_exam_items_from_processbench_and_from_a_file(tmp_path, data_dir):
    pairs = load_exam_items("processbench/gsm8k:5", data_dir)
    assert len(pairs) == 5 and all(g.verdict in (Verdict.CORRECT, Verdict.INCORRECT) for _, g in pairs)
    assert "label" not in pairs[0][0].metadata  # gold stays beside the item
    f = tmp_path / "exam.jsonl"
    f.write_text('{"id": 1, "question": "q", "steps": ["a"], "gold_verdict": "correct"}\n{broken\n'
                 '{"id": 2, "question": "q", "steps": ["a"]}\n')
    assert [it.id for it, _ in load_exam_items(str(f))] == ["1"]
    with pytest.raises(UserError):
        load_exam_items(str(tmp_path / "missing.jsonl"))


def test_cli_critique_with_samples_votes_and_reports(monkeypatch, tmp_path, capsys):
    replies = iter([pb_json(1), pb_json(1), pb_json(-1)] * 10)
    monkeypatch.setattr("critica.backends.registry.create_backend",
                        lambda spec, settings=None, *, workers=1: ScriptedBackend(lambda r, i: next(replies)))
    src = tmp_path / "items.jsonl"
    src.write_text("".join(json.dumps({"id": f"i{n}", "question": "q", "steps": ["a", "b"]}) + "\n" for n in range(2)))
    out = tmp_path / "o.jsonl"
    code = main(["critique", str(src), "--model", "openai:x", "--samples", "3", "--temperature", "0.7",
                 "--concurrency", "1", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    rows = [Critique.model_validate_json(line) for line in out.read_text().splitlines()]
    assert all(r.critic == "vote3(processbench)" and len(r.samples) == 3 for r in rows)
    assert all(r.verdict == Verdict.INCORRECT and r.confidence == pytest.approx(2 / 3) for r in rows)


def test_cli_cascade_prints_escalation(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("critica.backends.registry.create_backend",
                        lambda spec, settings=None, *, workers=1: ScriptedBackend([pb_json(0)]))
    src = tmp_path / "items.jsonl"
    # the verifier can check "2 + 2 = 5" (answers) but not "hello" (abstains → escalates to the model)
    src.write_text(json.dumps({"id": "a", "question": "q", "steps": ["2 + 2 = 5"]}) + "\n"
                   + json.dumps({"id": "b", "question": "q", "steps": ["hello"]}) + "\n")
    code = main(["critique", str(src), "--model", "openai:x", "--cascade", "verifier", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "cascade:" in err and "items escalated" in err and "tokens saved" in err
    rows = {r.item_id: r for r in map(Critique.model_validate_json, (tmp_path / "o").read_text().splitlines())}
    assert rows["b"].metadata["cascade"]["escalated"] is True


def test_cli_bench_samples_list_prints_curve_and_plot(monkeypatch, tmp_path, capsys, data_dir):
    def reply(request, i):
        return pb_json(-1 if ((request.seed or 0) + i) % 2 else 0)

    monkeypatch.setattr("critica.backends.registry.create_backend",
                        lambda spec, settings=None, *, workers=1: ScriptedBackend(reply, name=spec))
    png = tmp_path / "curve.png"
    code = main(["bench", "processbench", "--split", "gsm8k", "--limit", "3", "--model", "openai:x",
                 "--critic", "processbench", "--temperature", "0.7", "--samples", "1,2,4", "--plot", str(png),
                 "--json-out", str(tmp_path / "c.json"), "--data-dir", str(data_dir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert png.read_bytes()[:4] == b"\x89PNG" and "plot written" in err
    rows = json.loads((tmp_path / "c.json").read_text())["rows"]
    assert [r["k"] for r in rows] == [1, 2, 4] and rows[0]["f1_ci"] is not None
    assert rows[2]["tokens/verdict (k calls)"] > rows[2]["tokens/verdict (n=k)"] > rows[0]["tokens/verdict (n=k)"]
    assert "tokens/verdict" in out


def grm_json(*scores: int) -> str:
    return json.dumps({"principles": ["be right"], "critiques": ["ok"], "scores": list(scores)})


def test_vote_flag_selects_score_sum():
    assert scaling_config(vote="score-sum").reducer == "score_sum"
    assert scaling_config(vote="majority").reducer == "majority"
    with pytest.raises(UserError, match="--vote"):
        scaling_config(vote="median")


# Three samples pass response 1 narrowly, one fails it: a verdict majority says correct, the score sum (19 of 4 × 5.5)
# says incorrect and prefers response 2 (sums [19, 25]).
GRM_REPLIES = [grm_json(6, 6), grm_json(6, 6), grm_json(6, 7), grm_json(1, 6)]


def _grm_items(tmp_path):
    src = tmp_path / "items.jsonl"
    src.write_text(json.dumps({"id": "g", "question": "q", "response": "r1", "candidates": ["r2"]}) + "\n")
    return src


@pytest.mark.parametrize("vote, verdict, best", [("score-sum", "incorrect", [1]), (None, "correct", None)])
def test_cli_critique_vote_score_sum(monkeypatch, tmp_path, capsys, vote, verdict, best):
    monkeypatch.setattr("critica.backends.registry.create_backend",
                        lambda spec, settings=None, *, workers=1: ScriptedBackend(GRM_REPLIES * 3))
    out = tmp_path / "o.jsonl"
    args = ["critique", str(_grm_items(tmp_path)), "--model", "openai:x", "--critic", "principles", "--samples", "4",
            "--temperature", "0.7", "--concurrency", "1", "--no-cache", "--out", str(out)]
    assert main(args + (["--vote", vote] if vote else [])) == 0, capsys.readouterr().err
    row = Critique.model_validate_json(out.read_text().splitlines()[0])
    assert row.verdict.value == verdict and len(row.samples) == 4
    assert row.metadata.get("best") == best
    if vote:
        assert row.metadata["summed"]["scores"] == [19, 25] and row.metadata["score_sum"] == 19


def test_cli_batch_vote_score_sum(monkeypatch, tmp_path, capsys):
    from critica.store import Store

    monkeypatch.setattr("critica.backends.registry.create_backend",
                        lambda spec, settings=None, *, workers=1: ScriptedBackend(GRM_REPLIES * 3))
    db = tmp_path / "c.db"
    code = main(["batch", str(_grm_items(tmp_path)), "--run", "grm", "--model", "openai:x", "--critic", "principles",
                 "--samples", "4", "--vote", "score-sum", "--temperature", "0.7", "--concurrency", "1", "--no-cache",
                 "--db", str(db)])
    assert code == 0, capsys.readouterr().err
    with Store.open(db) as store:
        (critique,) = list(store.iter_critiques("grm"))
        assert store.get_run("grm").config["scaling"] == {"samples": 4, "reducer": "score_sum"}
    assert critique.critic == "vote4(principles)" and critique.verdict == Verdict.INCORRECT
    assert critique.metadata["best"] == [1]


def test_panel_spec_takes_a_pre_cut(tmp_path):
    p = parse_panel("processbench,verifier;method=exam;exam=processbench/gsm8k:5;cut=0.6")
    assert p.cut == 0.6 and p.method == "exam"
    with pytest.raises(UserError):
        parse_panel("a,b;cut=1.5")
    with pytest.raises(UserError, match="qualification set"):
        wrap_critic(ProcessBenchCritic(Caller(ScriptedBackend([pb_json(0)]))),
                    ScalingConfig(panel=parse_panel("verifier,verifier;cut=0.6")))


def test_wrap_critic_passes_the_cut_to_the_panel(data_dir):
    cfg = ScalingConfig(panel=parse_panel("verifier,verifier;exam=processbench/gsm8k:3;cut=0.6"))
    panel = wrap_critic(ProcessBenchCritic(Caller(ScriptedBackend([pb_json(0)]))), cfg, data_dir=data_dir)
    assert isinstance(panel, Panel) and panel.cut == 0.6 and panel.method == "majority"
    assert panel.exam_items is not None and len(panel.exam_items) == 3
