import pytest
from hypothesis import given
from hypothesis import strategies as st

from critica.inputs.steps import item_steps, split_steps
from critica.types import Item


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Step 1: a = 1.\nStep 2: b = 2.\nStep 3: done.", ["Step 1: a = 1.", "Step 2: b = 2.", "Step 3: done."]),
        ("Intro line.\n**Step 1** first\n**Step 2** second", ["Intro line.", "**Step 1** first", "**Step 2** second"]),
        ("## Step 1\nx\n## Step 2\ny", ["## Step 1\nx", "## Step 2\ny"]),
        ("1. first\n2. second\n3) third", ["1. first", "2. second", "3) third"]),
        ("Para one\nstill one.\n\nPara two.\n\n\nPara three.", ["Para one\nstill one.", "Para two.", "Para three."]),
        ("He paid $3.50 for it. Then he left. E.g. this stays. Done!", ["He paid $3.50 for it.", "Then he left.", "E.g. this stays.", "Done!"]),
        ("Use e.g. Apples here. Next sentence.", ["Use e.g. Apples here.", "Next sentence."]),
        ("just one", ["just one"]),
        ("", []),
    ],
)
def test_split_rules(text, expected):
    assert split_steps(text) == expected


def test_numbers_must_run_in_order_to_count_as_markers():
    text = "We have 2) apples and 5) pears in prose.\nAnd more text here."
    assert len(split_steps(text)) == 1 or all("2)" not in s[:3] for s in split_steps(text)[1:])


def test_given_steps_win():
    item = Item(id="a", question="q", response="Step 1: x\nStep 2: y", steps=["only"])
    assert item_steps(item) == ["only"]


@given(st.text(max_size=400))
def test_deterministic_and_lossless_of_words(text):
    a, b = split_steps(text), split_steps(text)
    assert a == b
    assert all(s and s == s.strip() for s in a)
    assert "".join(text.split()) == "".join("".join(a).split())


def test_no_sentence_split_after_any_abbreviation():
    from critica.inputs.steps import _ABBREV

    for abbrev in _ABBREV:  # the longest one included: the look-back window is derived from them
        text = f"It costs 5 {abbrev} Then it rose. So 6 is the answer."
        assert split_steps(text) == [f"It costs 5 {abbrev} Then it rose.", "So 6 is the answer."], abbrev
        assert split_steps(f"{abbrev.capitalize()} Then 5. So 6.") == [f"{abbrev.capitalize()} Then 5.", "So 6."]
