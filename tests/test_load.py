import json

import pytest

from critica.errors import InputError, UserError
from critica.inputs.load import parse_mapping, read_items
from critica.types import Item


def test_jsonl_bad_lines_are_reported_and_the_rest_loads(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text(
        '{"id": "a", "question": "q", "response": "r"}\n'
        "{not json\n"
        "\n"
        '{"id": "c", "response": "r"}\n'
        '{"id": "d", "question": "q", "steps": "one step"}\n'
        '{"id": "e", "question": "q", "steps": [1, 2]}\n'
        '[1, 2]\n'
        '{"id": 7, "problem": "q", "solution": "s", "label": 3}\n'
    )
    out = list(read_items(p))
    kinds = [type(o).__name__ for o in out]
    assert kinds == ["Item", "InputError", "InputError", "InputError", "InputError", "InputError", "Item"]
    bad_json, missing_q, str_steps, bad_steps, not_obj = out[1:6]
    assert "line 2" in str(bad_json) and "invalid JSON" in str(bad_json)
    assert missing_q.location == "line 4" and missing_q.field == "question"
    assert str_steps.field == "steps" and "list of strings" in str_steps.reason  # never one step silently
    assert bad_steps.field == "steps[0]" and str(p) in str(bad_steps)
    assert "JSON object" in str(not_obj)
    last = out[6]
    assert last.id == "7" and last.question == "q" and last.response == "s" and last.metadata["label"] == 3


def test_processbench_layout(data_dir):
    items = list(read_items(data_dir / "processbench" / "gsm8k.json"))
    assert all(isinstance(i, Item) for i in items)
    first = items[0]
    assert first.id.startswith("gsm8k-") and first.steps and first.question
    assert "label" in first.metadata and "final_answer_correct" in first.metadata


def test_json_array_errors_name_the_index(tmp_path):
    p = tmp_path / "in.json"
    p.write_text(json.dumps([{"question": "q", "response": "r"}, {"question": "q"}]))
    out = list(read_items(p))
    assert isinstance(out[0], Item) and out[0].id == "in-0"
    assert isinstance(out[1], InputError) and out[1].location == "index 1"


def test_field_mapping_with_dotted_paths(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text(json.dumps({"uid": "x", "meta": {"q": "Q?"}, "gen": "A."}) + "\n")
    (item,) = read_items(p, parse_mapping(["question=meta.q", "response=gen"]))
    assert item.question == "Q?" and item.response == "A." and item.id == "x"
    p.write_text(json.dumps({"uid": "x", "gen": "A."}) + "\n")
    (err,) = read_items(p, {"question": "meta.q"})
    assert isinstance(err, InputError) and err.field == "meta.q"


def test_bad_mapping_and_missing_file_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="unknown item field"):
        parse_mapping(["answer=x"])
    with pytest.raises(UserError, match="ITEM_FIELD=SOURCE_FIELD"):
        parse_mapping(["question"])
    with pytest.raises(UserError, match="no such file"):
        list(read_items(tmp_path / "nope.jsonl"))
    bad = tmp_path / "bad.json"
    bad.write_text("[{]")  # a syntax error is an input error at its place, as in batch, not a failed command
    (err,) = read_items(bad)
    assert isinstance(err, InputError) and err.location == "index 0" and "line 1 column 3" in err.reason
