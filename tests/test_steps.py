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


# -- display: a step's own marker is not repeated (issue 14, "doubled step markers") -------------------------------


@pytest.mark.parametrize(
    "text, number, body",
    [
        ("Step 1: a = 1.", 1, "a = 1."),
        ("**Step 3**: so 5", 3, "so 5"),
        ("**Step 3:** so 5", 3, "so 5"),
        ("## Step 2\nx = 4", 2, "x = 4"),
        ("step 2 - x = 4", 2, "x = 4"),
        ("Step 10: x", 1, "Step 10: x"),  # another step's marker is content
        ("Step 2: x", 1, "Step 2: x"),
        ("Step 1 is to add", 1, "Step 1 is to add"),  # no separator: prose, not a marker
        ("Step 1.5 apples", 1, "Step 1.5 apples"),  # a decimal, not "Step 1."
        ("a = 1. Step 1: b", 1, "a = 1. Step 1: b"),  # only at the start
    ],
)
def test_step_body_drops_only_the_steps_own_marker(text, number, body):
    from critica.inputs.steps import step_body

    assert step_body(text, number) == body


_BODY = st.text(alphabet="abxyz0123456789 =+.,", min_size=1, max_size=30).map(str.strip).filter(
    lambda s: s and not s[0].isdigit() and not s.startswith("."))


@given(st.lists(_BODY, min_size=2, max_size=8), st.sampled_from(["Step {i}: ", "**Step {i}**: ", "Step {i}. "]))
def test_marked_response_shows_each_label_once(bodies, fmt):
    from critica.critics.markup import numbered_steps
    from critica.inputs.steps import numbered

    text = "\n".join(fmt.format(i=i) + b for i, b in enumerate(bodies, 1))
    steps = split_steps(text)
    assert [b for _, b in numbered(steps)] == bodies
    shown = numbered_steps(steps)
    for i in range(1, len(bodies) + 1):
        assert shown.count(f"Step {i}:") == 1 and f"Step {i}: Step" not in shown


@given(st.lists(st.text(max_size=60), max_size=6))
def test_numbered_counts_from_one_and_never_grows_a_step(steps):
    from critica.inputs.steps import numbered

    out = numbered(steps)
    assert [i for i, _ in out] == list(range(1, len(steps) + 1))
    assert all(s.endswith(b) for s, (_, b) in zip(steps, out, strict=True))


def test_prompts_and_sft_exports_show_each_step_label_once():
    from critica.backends.call import Caller
    from critica.backends.fake import ScriptedBackend
    from critica.critics.registry import build_critic
    from critica.report.export import critique_prompt

    item = Item(id="a", question="What is 2+3, doubled?",
                response="Step 1: 2 + 3 = 5.\nStep 2: 5 * 2 = 10.\n**Step 3**: The answer is 10.")
    texts = [critique_prompt(item)]
    for name in ("direct", "deliberate"):
        for structured in (True, False):
            critic = build_critic(name, Caller(ScriptedBackend(["x"])), structured=structured)
            texts.append(critic.messages(item)[-1]["content"])
    for text in texts:
        for i in (1, 2, 3):
            assert text.count(f"Step {i}:") == 1, text
        assert "Step 1: Step 1" not in text and "Step 3: **Step 3**" not in text


@given(st.text(max_size=300))
def test_the_split_cache_returns_fresh_equal_lists(text):
    from critica.inputs.steps import _split

    first = split_steps(text)
    first.append("changed by a caller")
    assert split_steps(text) == _split(text)
