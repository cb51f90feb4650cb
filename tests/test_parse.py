import pytest

from critica.critics.parse import all_boxed, extract_json, last_boxed, parse_int, strip_reasoning


def test_boxed_balanced_and_last():
    assert all_boxed(r"\boxed{\frac{1}{2}} then \boxed{3}") == [r"\frac{1}{2}", "3"]
    assert last_boxed(r"\boxed{1} and \boxed{2") == "1"
    assert last_boxed("none") is None


@pytest.mark.parametrize("text, value", [("3", 3), (" -1 ", -1), ("$2$", 2), (r"\text{4}", 4), ("{5}", 5), ("2.", 2),
                                         ("two", None), ("1.5", None), ("12345678901", None), (None, None)])
def test_parse_int(text, value):
    assert parse_int(text) == value


def test_strip_reasoning():
    assert strip_reasoning("<think>x</think> answer") == "answer"
    assert strip_reasoning("reasoning only</think>final") == "final"
    assert strip_reasoning("<think>never closed \\boxed{1}") == ""


@pytest.mark.parametrize(
    "text, value, repaired",
    [
        ('{"a": 1}', {"a": 1}, False),
        ('```json\n{"a": 1}\n```', {"a": 1}, True),
        ('first {"a": 1} then {"a": 2} end', {"a": 2}, True),
        ('{"a": 1, "b": "unterminated', {"a": 1, "b": "unterminated"}, True),
        ('{"a": [1, 2', {"a": [1, 2]}, True),
        ('{"a": 1, "b":', {"a": 1}, True),
        ("no json", None, None),
        ("[1, 2]", None, None),
    ],
)
def test_extract_json(text, value, repaired):
    got = extract_json(text)
    if value is None:
        assert got is None
    else:
        assert got.value == value and got.repaired is repaired
