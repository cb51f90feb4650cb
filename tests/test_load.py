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


def _one(tmp_path, record: str, **kw):
    p = tmp_path / "one.jsonl"
    p.write_text(record + "\n")
    (out,) = read_items(p, **kw)
    return out


@pytest.mark.parametrize("record,field,words", [
    ('{"id": ["x"], "question": "q", "response": "r"}', "id", "string or an integer, not an array"),
    ('{"id": false, "question": "q", "response": "r"}', "id", "not a boolean"),
    ('{"id": 2.0, "question": "q", "response": "r"}', "id", "not a number"),
    ('{"id": null, "question": "q", "response": "r"}', "id", "is null"),
    ('{"uid": null, "question": "q", "response": "r"}', "uid", "is null"),
    ('{"question": ["q"], "response": "r"}', "question", "--map question=question.0"),
    ('{"problem": {"t": "q"}, "response": "r"}', "problem", "--map question=problem.KEY"),
    ('{"question": "q", "solution": 5}', "solution", "must be a string, not a number"),
    ('{"question": "q", "response": "r", "rubric": ["a"]}', "rubric", "must be a string"),
    ('{"question": "q", "response": "r", "ground_truth": true}', "ground_truth", "not a boolean"),
    ('{"question": "q", "response": "r", "passages": "p"}', "passages", "one string is not split"),
    ('{"question": "q", "response": "r", "principles": [["a"]]}', "principles[0]", "must be a string"),
    ('{"question": "q", "response": "r", "metadata": [1]}', "metadata", "must be an object"),
    ('{"question": "q", "response": "r", "k": 1, "metadata": {"k": 2}}', "k", "both at the top level"),
])
def test_no_silent_coercion(tmp_path, record, field, words):
    err = _one(tmp_path, record)
    assert isinstance(err, InputError) and err.field == field and words in err.reason, err


def test_what_is_accepted_as_is(tmp_path):
    item = _one(tmp_path, '{"idx": 7, "question": "q", "response": "r", "target": 12, "k": 1, "metadata": {"k": 1}}')
    assert item.id == "7" and item.reference_answer == "12" and item.metadata == {"k": 1}  # same value twice: fine
    item = _one(tmp_path, '{"id": null, "uid": "u", "question": "q", "response": "r"}')  # a later alias holds it
    assert item.id == "u"
    item = _one(tmp_path, '{"question": "q", "response": "r", "metadata": null}')
    assert item.id == "one-1" and item.metadata == {}


def test_mapped_paths_reach_into_lists(tmp_path):
    rec = {"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]}
    item = _one(tmp_path, json.dumps(rec), mapping={"question": "messages.0.content", "response": "messages.1.content"})
    assert (item.question, item.response) == ("Q?", "A.")
    err = _one(tmp_path, json.dumps(rec), mapping={"question": "messages.5.content", "response": "messages.1.content"})
    assert isinstance(err, InputError) and err.field == "messages.5.content"
    for index in ("²", "١", "+1", " 1"):  # int() reads some of these (or fails on them): only ASCII digits index
        err = _one(tmp_path, json.dumps(rec), mapping={"question": f"messages.{index}.content"})
        assert isinstance(err, InputError) and err.field == f"messages.{index}.content", index


def test_a_question_only_record_when_the_response_will_be_generated(tmp_path):
    assert isinstance(_one(tmp_path, '{"question": "q"}'), InputError)
    item = _one(tmp_path, '{"question": "q"}', need_response=False)
    assert isinstance(item, Item) and item.response == ""


def test_duplicate_ids_in_one_input_are_errors_at_the_second_record(tmp_path):
    p = tmp_path / "d.json"
    p.write_text(json.dumps([{"id": 1, "question": "q", "response": "r"}, {"id": "1", "question": "q2", "response": "r"},
                             {"question": "q", "response": "r"}, {"id": "d-2", "question": "q", "response": "r"}]))
    out = list(read_items(p))
    assert [type(o).__name__ for o in out] == ["Item", "InputError", "Item", "InputError"]
    assert out[1].location == "index 1" and out[1].field == "id" and "duplicate id '1'" in out[1].reason
    assert out[2].id == "d-2" and "duplicate id 'd-2'" in out[3].reason  # a given id may collide with a default one


def test_record_to_item_checks_values_it_did_not_read_itself():
    from critica.inputs.load import record_to_item

    with pytest.raises(ValueError) as e:  # a request body parsed by the web framework: NaN is a float there
        record_to_item({"id": "a", "question": "q", "response": "r", "s": float("nan")}, default_id="x")
    assert e.value.field == "s" and "NaN" in e.value.reason
    with pytest.raises(ValueError) as e:
        record_to_item({"id": "a", "question": "q\ud800", "response": "r"}, default_id="x")
    assert e.value.field == "question"
