import json
import socket

import pytest

from critica.cli import main
from critica.types import Critique


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_help_documents_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("critique", "schema", "critics"):
        assert cmd in out
    assert main(["critique", "--help"]) == 0
    out = capsys.readouterr().out
    assert "processbench" in out and "--concurrency" in out and "--limit" in out


def test_missing_file_is_one_line_error(capsys, tmp_path):
    assert main(["critique", str(tmp_path / "none.jsonl"), "--model", "openai:x", "--base-url", "http://127.0.0.1:9/v1"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err


def test_unknown_critic_is_a_user_error(capsys, tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text('{"question": "q", "response": "r"}\n')
    assert main(["critique", str(p), "--critic", "nope", "--model", "openai:x"]) == 2
    assert "unknown critic" in capsys.readouterr().err


def test_server_down_every_item_unscored_with_reason_and_exit_1(capsys, tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text('{"id": "a", "question": "q", "response": "r"}\n{"id": "b", "question": "q", "response": "r"}\n')
    out = tmp_path / "o.jsonl"
    code = main(["critique", str(p), "--model", "openai:x", "--base-url", f"http://127.0.0.1:{_free_port()}/v1",
                 "--timeout", "2", "--retries", "0", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "2 failed call(s)" in err
    rows = [Critique.model_validate_json(line) for line in out.read_text().splitlines()]
    assert {r.item_id for r in rows} == {"a", "b"}
    assert all(r.verdict == "unscored" and "APIConnectionError" in r.error for r in rows)


@pytest.mark.model
def test_local_model_critiques_processbench_and_counts_bad_records(tmp_path, data_dir, capsys):
    src = json.loads((data_dir / "processbench" / "gsm8k.json").read_text())[:2]
    p = tmp_path / "mixed.jsonl"
    lines = [json.dumps(src[0]), "{broken", json.dumps({"id": "noq", "steps": ["x"]}), json.dumps(src[1])]
    p.write_text("\n".join(lines) + "\n")
    out = tmp_path / "o.jsonl"
    code = main(["critique", str(p), "--model", "local:smollm2", "--out", str(out), "--max-tokens", "48", "--concurrency", "2"])
    err = capsys.readouterr().err
    assert code == 1 and "2 malformed record(s)" in err
    assert "line 2" in err and "field 'question'" in err
    rows = [Critique.model_validate_json(line) for line in out.read_text().splitlines()]
    assert sorted(r.item_id for r in rows) == sorted([src[0]["id"], src[1]["id"]])
    assert all(r.model == "local:smollm2" and r.usage.prompt_tokens > 0 for r in rows)


# -- usage errors, --resume (issue 13) --------------------------------------------------------------------------------


def test_usage_errors_are_one_line_with_a_suggestion_and_exit_2(capsys):
    assert main(["critique", "x.jsonl", "--concurency", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean --concurrency" in err[0] and "critica critique --help" in err[0]
    assert main(["critique", "x.jsonl", "--limit", "many"]) == 2
    assert "Invalid value for '--limit'" in capsys.readouterr().err


def _right_answers(path, n):
    path.write_text("".join(json.dumps({"id": f"i{k}", "question": "What is 1+1?", "response": "1+1 = 2. The answer is 2."})
                            + "\n" for k in range(n)))
    return path


def test_resume_keeps_what_the_output_holds_and_critiques_the_rest(tmp_path, capsys):
    from critica.cli.common import done_ids

    p = _right_answers(tmp_path / "a.jsonl", 4)
    out = tmp_path / "o.jsonl"
    assert main(["critique", str(p), "--out", str(out), "--limit", "2"]) == 0
    # A process killed mid-write leaves a torn last line: --resume cuts it off before appending.
    with out.open("a") as f:
        f.write('{"item_id": "i2", "crit')
    assert done_ids(out) == {"i0", "i1"} and out.read_text().endswith("\n")
    assert main(["critique", str(p), "--out", str(out), "--resume"]) == 0
    ids = [Critique.model_validate_json(line).item_id for line in out.read_text().splitlines()]
    # Critiques are written as they finish (i1 may come before i0); what was there stays first.
    assert sorted(ids[:2]) == ["i0", "i1"] and sorted(ids) == ["i0", "i1", "i2", "i3"]
    assert "2 item(s) already in" in capsys.readouterr().err


def test_resume_critiques_failed_items_again_and_exits_1_while_one_still_fails(tmp_path, capsys):
    from critica.types import Verdict

    p = _right_answers(tmp_path / "a.jsonl", 3)
    out = tmp_path / "o.jsonl"
    assert main(["critique", str(p), "--out", str(out), "--limit", "2"]) == 0
    failed = Critique(item_id="i2", critic="verifier", verdict=Verdict.UNSCORED, error="backend down")
    with out.open("a") as f:  # an earlier run's failure
        f.write(failed.model_dump_json() + "\n")
    # Still failing (the item is over its size budget now): written again, failed, and the run exits 1.
    assert main(["critique", str(p), "--out", str(out), "--resume", "--item-max-chars", "5"]) == 1
    rows = [Critique.model_validate_json(line) for line in out.read_text().splitlines()]
    # Critiques are written as they finish (i1 may come before i0); the item critiqued again comes last.
    assert sorted(r.item_id for r in rows[:2]) == ["i0", "i1"] and rows[2].item_id == "i2"
    assert rows[2].failed and "budget" in rows[2].error
    assert "1 failed critique(s) were dropped" in capsys.readouterr().err
    # Then it succeeds: the failed line is replaced, one line per item, exit 0.
    assert main(["critique", str(p), "--out", str(out), "--resume"]) == 0
    rows = [Critique.model_validate_json(line) for line in out.read_text().splitlines()]
    assert sorted(r.item_id for r in rows[:2]) == ["i0", "i1"] and rows[2].item_id == "i2"
    assert not any(r.failed for r in rows)
    assert main(["critique", str(p), "--out", str(out), "--resume"]) == 0
    assert out.read_text().count("\n") == 3


def test_resume_without_out_is_refused_before_any_backend_is_built(tmp_path, capsys, monkeypatch):
    import critica.cli.critique as cmd

    def no_backend(*args, **kwargs):
        raise AssertionError("a backend was built")

    monkeypatch.setattr(cmd, "create_caller", no_backend)
    p = tmp_path / "a.jsonl"
    p.write_text('{"question": "q", "response": "r"}\n')
    assert main(["critique", str(p), "--resume", "--model", "openai:x", "--base-url", "http://127.0.0.1:9/v1"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err


def test_resume_needs_an_output_file(tmp_path, capsys):
    p = tmp_path / "a.jsonl"
    p.write_text('{"question": "q", "response": "r"}\n')
    assert main(["critique", str(p), "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err


@pytest.mark.parametrize("argv,env,named", [
    (["--item-timeout", "-1"], {}, "--item-timeout -1.0"),
    (["--item-max-chars", "-3"], {}, "--item-max-chars -3"),
    ([], {"CRITICA_ITEM_TIMEOUT": "-2"}, "environment variable CRITICA_ITEM_TIMEOUT=-2"),
    ([], {"CRITICA_ITEM_TIMEOUT": "inf"}, "environment variable CRITICA_ITEM_TIMEOUT=inf"),
    ([], {"CRITICA_MAX_DEPTH": "0"}, "environment variable CRITICA_MAX_DEPTH=0"),
    ([], {"CRITICA_LOOP": "trio"}, "environment variable CRITICA_LOOP=trio is not one of"),
])
@pytest.mark.parametrize("command", ["critique", "serve"])
def test_a_bad_budget_or_limit_is_a_usage_error_naming_its_source(tmp_path, capsys, monkeypatch, command, argv, env, named):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    if command == "serve":  # should the check fail, no server starts
        monkeypatch.setattr(pytest.importorskip("uvicorn"), "run", lambda *args, **kwargs: None)
    p = tmp_path / "a.jsonl"
    p.write_text('{"question": "q", "response": "r"}\n')
    assert main([command, *([str(p)] if command == "critique" else ["--no-store"]), *argv]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
    assert env or "environment" not in err
    assert not env or "--item" not in err  # a bad environment variable is not blamed on a flag


def test_an_api_key_on_the_command_line_is_warned_about_once(tmp_path, capsys):
    p = tmp_path / "a.jsonl"
    p.write_text('{"id": "a", "question": "q", "response": "r"}\n')
    main(["critique", str(p), "--model", "openai:x", "--base-url", f"http://127.0.0.1:{_free_port()}/v1",
          "--api-key", "sk-on-the-command-line", "--timeout", "2", "--retries", "0", "--no-cache"])
    err = capsys.readouterr().err
    assert err.count("warning: --api-key") == 1 and "CRITICA_API_KEY" in err and "sk-on-the-command-line" not in err
