"""``critica refine`` and ``critica rerank`` in-process, with the model replaced by a scripted backend."""

from __future__ import annotations

import json
import re

import pytest

from critica.backends.fake import ScriptedBackend
from critica.cli import main
from critica.loops import Ranking, SearchResult, Trajectory


def _reply(request, i):
    body = request.messages[0]["content"]
    if "<paragraph_" in body:  # processbench critic: a step saying "wrong" is the first error
        paragraphs = re.findall(r"<paragraph_\d+>(.*?)</paragraph_\d+>", body, re.DOTALL)
        bad = [k for k, p in enumerate(paragraphs) if "wrong" in p]
        return json.dumps({"critique": "checked", "earliest_error_index": bad[0] if bad else -1})
    if "Critique:" in body:  # reviser
        return "Step 1: fixed.\nStep 2: \\boxed{5}"
    if "Write only Step" in body:
        return ["wrong idea", "good step \\boxed{5}"][i % 2]
    return f"Step 1: candidate {i}.\nStep 2: \\boxed{{{i}}}"


@pytest.fixture
def scripted(monkeypatch):
    made: list[ScriptedBackend] = []

    def fake_create(spec, settings=None, *, workers=1):
        backend = ScriptedBackend(_reply, name=spec)
        made.append(backend)
        return backend

    monkeypatch.setattr("critica.backends.registry.create_backend", fake_create)
    return made


def test_refine_writes_trajectories_and_exit_0(tmp_path, scripted, capsys):
    p = tmp_path / "in.jsonl"
    p.write_text(json.dumps({"id": "a", "question": "2+3?", "response": "Step 1: wrong sum.\nStep 2: \\boxed{6}"}) + "\n"
                 + json.dumps({"id": "b", "question": "1+1?", "response": "Step 1: fine.\nStep 2: \\boxed{2}"}) + "\n")
    out = tmp_path / "out.jsonl"
    code = main(["refine", str(p), "--model", "m", "--rounds", "2", "--out", str(out), "--show", "--require-boxed"])
    err = capsys.readouterr().err
    assert code == 0, err
    rows = {t.item_id: t for t in (Trajectory.model_validate_json(x) for x in out.read_text().splitlines())}
    assert rows["a"].stop_reason == "accepted" and rows["a"].revisions == 1 and "\\boxed{5}" in rows["a"].final_answer
    assert rows["b"].stop_reason == "accepted" and not rows["b"].changed
    assert "critica refine" in err and "round 1" in err


def test_refine_draft_accepts_question_only_records(tmp_path, scripted, capsys):
    p = tmp_path / "q.jsonl"
    p.write_text(json.dumps({"id": "q", "question": "2+3?"}) + "\n")
    out = tmp_path / "o.jsonl"
    assert main(["refine", str(p), "--model", "m", "--draft", "--out", str(out)]) == 0
    t = Trajectory.model_validate_json(out.read_text())
    assert t.initial_answer.startswith("Step 1: candidate 0")


def test_refine_bad_record_exit_1_rest_completes(tmp_path, scripted, capsys):
    p = tmp_path / "in.jsonl"
    p.write_text('{"id": "x"}\n' + json.dumps({"id": "b", "question": "q", "response": "Step 1: ok.\nStep 2: ok"}) + "\n")
    out = tmp_path / "o.jsonl"
    assert main(["refine", str(p), "--model", "m", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "in.jsonl:line 1" in err and "question" in err
    assert [Trajectory.model_validate_json(x).item_id for x in out.read_text().splitlines()] == ["b"]


def test_refine_rag_needs_passages_per_item(tmp_path, scripted, capsys):
    p = tmp_path / "in.jsonl"
    p.write_text(json.dumps({"id": "r", "question": "q", "response": "because [1]"}) + "\n")
    assert main(["refine", str(p), "--model", "m", "--rag", "--out", str(tmp_path / "o.jsonl")]) == 1
    assert "no retrieved passages" in capsys.readouterr().err


def test_refine_without_model_is_a_user_error(tmp_path, capsys):
    p = tmp_path / "in.jsonl"
    p.write_text('{"question": "q", "response": "r"}\n')
    assert main(["refine", str(p)]) == 2
    assert "needs a model" in capsys.readouterr().err


def test_rerank_given_candidates(tmp_path, scripted, capsys):
    p = tmp_path / "in.jsonl"
    p.write_text(json.dumps({"id": "a", "question": "q", "response": "Step 1: wrong.\nStep 2: x",
                             "candidates": ["Step 1: right.\nStep 2: y"]}) + "\n")
    out = tmp_path / "o.jsonl"
    assert main(["rerank", str(p), "--model", "m", "--out", str(out)]) == 0
    r = Ranking.model_validate_json(out.read_text())
    assert r.best == 1 and r.status == "ok" and [c.score for c in r.candidates] == [0.0, 1.0]


def test_rerank_generate_best_of_n_with_a_panel(tmp_path, scripted, capsys):
    p = tmp_path / "q.jsonl"
    p.write_text(json.dumps({"id": "q", "question": "2+3?"}) + "\n")
    out = tmp_path / "o.jsonl"
    assert main(["rerank", str(p), "--model", "m", "--generate", "3", "--critic", "processbench",
                 "--critic", "verifier", "--out", str(out)]) == 0
    r = Ranking.model_validate_json(out.read_text())
    assert len(r.candidates) == 3 and r.critics == ["processbench", "verifier"]
    assert all(len(c.critiques) == 2 for c in r.candidates)


def test_rerank_search(tmp_path, scripted, capsys):
    p = tmp_path / "q.jsonl"
    p.write_text(json.dumps({"id": "q", "question": "2+3?"}) + "\n")
    out = tmp_path / "o.jsonl"
    assert main(["rerank", str(p), "--model", "m", "--search", "--beam", "1", "--expand", "2", "--out", str(out)]) == 0
    r = SearchResult.model_validate_json(out.read_text())
    assert r.complete and r.steps == ["good step \\boxed{5}"] and r.stop_reason == "solved"
    assert "critica rerank --search" in capsys.readouterr().err


def test_refine_and_rerank_read_with_the_configured_limits(tmp_path, scripted, capsys, monkeypatch):
    p = tmp_path / "in.jsonl"
    p.write_text(json.dumps({"id": "ok", "question": "2+3?", "response": "Step 1: fine.\nStep 2: \\boxed{5}"}) + "\n"
                 + json.dumps({"id": "deep", "question": "q", "response": "r", "metadata": {"m": [[["deep"]]]}}) + "\n")
    monkeypatch.setenv("CRITICA_MAX_DEPTH", "3")
    for command in ("refine", "rerank"):
        out = tmp_path / f"{command}.jsonl"
        assert main([command, str(p), "--model", "m", "--out", str(out)]) == 1
        err = " ".join(capsys.readouterr().err.split())
        assert "line 2" in err and "nested deeper than the limit of 3" in err
        assert [json.loads(x)["item_id"] for x in out.read_text().splitlines()] == ["ok"]


def test_refine_and_rerank_critique_within_the_item_budget(tmp_path, scripted, capsys, monkeypatch):
    p = tmp_path / "in.jsonl"
    p.write_text(json.dumps({"id": "big", "question": "2+3?", "response": "Step 1: 2 + 3 = 5.\n" * 40
                             + "Step 41: \\boxed{5}", "candidates": ["\\boxed{5}"]}) + "\n")
    monkeypatch.setenv("CRITICA_ITEM_MAX_CHARS", "300")
    out = tmp_path / "refine.jsonl"
    main(["refine", str(p), "--model", "m", "--out", str(out)])
    t = Trajectory.model_validate_json(out.read_text())
    assert t.stop_reason == "unscored" and "size budget of 300" in t.rounds[0].critique.error
    out = tmp_path / "rerank.jsonl"
    main(["rerank", str(p), "--model", "m", "--out", str(out), "--item-max-chars", "100"])
    r = Ranking.model_validate_json(out.read_text())
    assert r.best == 1 and r.unscored == [0] and "size budget of 100" in r.candidates[0].critiques[0].error
    # only the small candidate was shown to a critic
    assert sum(b.calls for b in scripted) == 1
