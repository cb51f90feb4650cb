"""The reader's memory of ids (critica.inputs.seen): same answers as a set, in memory or spilled to disk."""

from __future__ import annotations

import functools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

import critica.inputs.load as load
from critica.errors import InputError
from critica.inputs.seen import SeenIds


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(st.text(max_size=6), max_size=40), in_memory=st.integers(0, 12))
def test_answers_like_a_set_whether_held_in_memory_or_on_disk(ids: list[str], in_memory: int) -> None:
    seen, reference = SeenIds(in_memory=in_memory), set()
    for key in ids:
        assert seen.add(key) == (key not in reference)
        reference.add(key)
    assert seen.count == len(reference)
    assert seen.on_disk == (len(set(ids)) > in_memory)
    seen.close()
    assert all(seen.add(key) for key in set(ids))  # closed: it forgot everything


def test_a_duplicate_is_found_after_the_ids_moved_to_disk(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(load, "SeenIds", functools.partial(SeenIds, in_memory=3))
    path = tmp_path / "items.jsonl"
    ids = ["a", "b", "c", "d", "e", "a", "f", "d"]
    path.write_text("".join(json.dumps({"id": i, "question": "q", "response": "r"}) + "\n" for i in ids))
    out = list(load.read_items(path))
    errors = [(x.location, x.field) for x in out if isinstance(x, InputError)]
    assert errors == [("line 6", "id"), ("line 8", "id")]
    assert [x.id for x in out if not isinstance(x, InputError)] == ["a", "b", "c", "d", "e", "f"]
