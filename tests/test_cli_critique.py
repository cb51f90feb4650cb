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
