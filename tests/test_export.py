"""Exports: critique files, DPO pairs / KTO rows / ranked lists in TRL's columns, SFT records, Parquet round trip."""

from __future__ import annotations

import io
import json

import pytest

from critica.report import export as ex
from critica.types import Critique, Item, ParseStatus, Score, StepJudgment, StepVerdict, Verdict


def _item(i: str, q: str = "Q", response: str = "R", **kw) -> Item:
    return Item(id=i, question=q, response=response, **kw)


def _crit(i: str, verdict: Verdict = Verdict.CORRECT, **kw) -> Critique:
    return Critique(item_id=i, critic=kw.pop("critic", "c"), verdict=verdict, **kw)


SCORED = [  # principles-style: one score per response on 1-10
    (_item("p1", "Which?", "A1", candidates=["B1", "C1"]),
     _crit("p1", score=Score(value=8), metadata={"scores": [8, 3, 5]})),
]
PAIRWISE = [
    (_item("w1", "Pick", "resp A", candidates=["resp B"]), _crit("w1", Verdict.INCORRECT, metadata={"preference": "B"})),
    (_item("w2", "Pick2", "x", candidates=["y"]), _crit("w2", Verdict.UNSCORED, metadata={"preference": "tie"})),
    (_item("w3", "Pick3", "x", candidates=["y"]),
     _crit("w3", Verdict.UNSCORED, parse_status=ParseStatus.FAILED, metadata={"preference": None})),
]
SINGLE = [  # verdict-only critiques of separate responses to one question, grouped by prompt
    (_item("s1", "2+2?", "4"), _crit("s1", Verdict.CORRECT)),
    (_item("s2", "2+2?", "5"), _crit("s2", Verdict.INCORRECT)),
    (_item("s3", "2+2?", "four"), _crit("s3", Verdict.UNSCORED, parse_status=ParseStatus.FAILED)),
    (_item("s4", "3+3?", "6"), _crit("s4", Verdict.CORRECT)),
]


def test_dpo_pairs_use_trl_columns_and_every_score_source():
    rows = list(ex.preference_pairs(SCORED + PAIRWISE + SINGLE))
    triples = {(r["prompt"], r["chosen"], r["rejected"]) for r in rows}
    assert triples == {
        ("Which?", "A1", "B1"), ("Which?", "A1", "C1"), ("Which?", "C1", "B1"),  # 8 > 5 > 3
        ("Pick", "resp B", "resp A"),  # pairwise preference B
        ("2+2?", "4", "5"),  # verdicts grouped by prompt; the unparsed critique is not a judgement
    }
    by = {(r["chosen"], r["rejected"]): r for r in rows}
    assert by[("A1", "B1")]["score_chosen"] == pytest.approx(7 / 9) and by[("A1", "B1")]["score_rejected"] == pytest.approx(2 / 9)
    assert set(rows[0]) == {"prompt", "chosen", "rejected", "score_chosen", "score_rejected"}


def test_dpo_margin_best_worst_and_conversational():
    assert {(r["chosen"], r["rejected"]) for r in ex.preference_pairs(SCORED, pairs="best-worst")} == {("A1", "B1")}
    assert {(r["chosen"], r["rejected"]) for r in ex.preference_pairs(SCORED, min_margin=0.4)} == {("A1", "B1")}
    (row,) = ex.preference_pairs(SINGLE[:2], conversational=True)
    assert row["prompt"] == [{"role": "user", "content": "2+2?"}]
    assert row["chosen"] == [{"role": "assistant", "content": "4"}]


def test_equal_scores_make_no_pair():
    same = [(_item("a", "Q", "x"), _crit("a", score=Score(value=5))), (_item("b", "Q", "y"), _crit("b", score=Score(value=5)))]
    assert list(ex.preference_pairs(same)) == []


def test_kto_rows_label_desirable_responses():
    rows = list(ex.kto_records(SCORED + PAIRWISE + SINGLE))
    labels = {(r["prompt"], r["completion"]): r["label"] for r in rows}
    assert labels == {
        ("Which?", "A1"): True, ("Which?", "B1"): False, ("Which?", "C1"): False,  # 5 on 1-10 is 4/9 < 0.5
        ("Pick", "resp A"): False, ("Pick", "resp B"): True,
        ("2+2?", "4"): True, ("2+2?", "5"): False, ("3+3?", "6"): True,
    }
    assert all(set(r) == {"prompt", "completion", "label", "score"} for r in rows)


def test_ranked_lists_best_first():
    rows = list(ex.ranked_lists(SCORED + SINGLE))
    assert {"prompt": "Which?", "completions": ["A1", "C1", "B1"], "scores": pytest.approx([7 / 9, 4 / 9, 2 / 9])} in rows
    assert {"prompt": "2+2?", "completions": ["4", "5"], "scores": [1.0, 0.0]} in rows
    assert all(r["prompt"] != "3+3?" for r in rows)  # a single response is not a ranking


def test_sft_records_render_the_critique_and_filter_on_gold():
    item = Item(id="m1", question="Compute 2*3+1", steps=["2*3 = 6", "6+1 = 8"], metadata={"label": 1})
    crit = _crit("m1", Verdict.INCORRECT, first_error_step=1, explanation="6+1 is 7.",
                 steps=[StepJudgment(index=0, verdict=StepVerdict.CORRECT),
                        StepJudgment(index=1, verdict=StepVerdict.INCORRECT, explanation="6+1 = 7, not 8")])
    wrong = crit.model_copy(update={"first_error_step": 0})
    records = [(item, crit), (item.model_copy(update={"id": "m2"}), wrong), SINGLE[2]]
    rows = list(ex.sft_records(records))
    assert len(rows) == 2  # the unparsed critique is never training data
    first = rows[0]
    assert set(first) == {"prompt", "completion", "item_id", "critic"}
    assert "Compute 2*3+1" in first["prompt"] and "Step 2: 6+1 = 8" in first["prompt"]
    assert "Step 2: incorrect — 6+1 = 7, not 8" in first["completion"]
    assert "First incorrect step: 2" in first["completion"] and first["completion"].endswith("Verdict: incorrect")
    kept = list(ex.sft_records(records, gold_key="label"))
    assert [r["item_id"] for r in kept] == ["m1"]
    no_error = (Item(id="n", question="q", steps=["a"], metadata={"label": -1}), _crit("n", Verdict.CORRECT))
    assert len(list(ex.sft_records([no_error], gold_key="label"))) == 1
    assert "First incorrect step: none" in ex.render_critique(no_error[1])


def test_critique_rows_carry_item_id_and_optionally_the_item():
    buf = io.StringIO()
    assert ex.write_jsonl(ex.critique_rows(SINGLE[:2], with_items=True), buf) == 2
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert [r["item_id"] for r in lines] == ["s1", "s2"] and lines[0]["item"]["response"] == "4"
    assert Critique.model_validate({k: v for k, v in lines[1].items() if k != "item"}) == SINGLE[1][1]


def test_parquet_round_trip(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    records = SCORED + SINGLE
    path = tmp_path / "c.parquet"
    assert ex.write_parquet(ex.flat_critique_rows(records), path, batch_size=2) == len(records)
    table = pq.read_table(path)
    assert table.column("item_id").to_pylist() == [c.item_id for _, c in records]
    assert table.column("score").to_pylist()[0] == 8.0
    assert Critique.model_validate_json(table.column("critique_json").to_pylist()[0]) == SCORED[0][1]
    empty = tmp_path / "e.parquet"
    assert ex.write_parquet([], empty) == 0 and pq.read_table(empty).num_rows == 0


def test_flat_rows_count_replayed_tokens_apart():
    from critica.types import Usage

    used = Usage(prompt_tokens=10, completion_tokens=4, calls=1)
    rows = list(ex.flat_critique_rows([(None, _crit("a", usage=used)), (None, _crit("b", usage=used.as_replayed()))]))
    assert [(r["prompt_tokens"], r["completion_tokens"]) for r in rows] == [(10, 4), (10, 4)]  # what each one took
    assert [(r["replayed_prompt_tokens"], r["replayed_completion_tokens"]) for r in rows] == [(0, 0), (10, 4)]


def test_parquet_without_pyarrow_names_the_extra_and_creates_nothing(tmp_path, monkeypatch):
    from critica.errors import MissingDependency

    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)  # as if not installed
    with pytest.raises(MissingDependency, match="critica\\[batch\\]"):
        ex.write_parquet(iter([{"i": 1}]), tmp_path / "new" / "c.parquet")
    assert list(tmp_path.iterdir()) == []


def _rows_then_crash(n: int):
    for i in range(n):
        yield {"i": i}
    raise KeyboardInterrupt  # the export is stopped midway


@pytest.mark.parametrize("writer", ["jsonl", "parquet"])
def test_an_export_stopped_midway_leaves_no_file_and_no_temporary(tmp_path, writer):
    if writer == "parquet":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"out.{writer}"
    write = ex.write_jsonl if writer == "jsonl" else lambda rows, p: ex.write_parquet(rows, p, batch_size=2)
    with pytest.raises(KeyboardInterrupt):
        write(_rows_then_crash(5), out)
    assert list(tmp_path.iterdir()) == []  # no truncated export, no leftover temporary file
    out.write_text("previous complete export\n")
    with pytest.raises(KeyboardInterrupt):
        write(_rows_then_crash(5), out)
    assert out.read_text() == "previous complete export\n" and list(tmp_path.iterdir()) == [out]
    assert write(iter([{"i": 1}, {"i": 2}]), out) == 2 and list(tmp_path.iterdir()) == [out]


def test_atomic_files_keep_permissions_follow_links_and_write_special_files_in_place(tmp_path):
    import os
    import stat

    from critica.report.files import atomic_open, atomic_write_text

    target = tmp_path / "sub" / "f.json"
    atomic_write_text(target, "{}")
    assert target.read_text() == "{}"
    os.chmod(target, 0o640)
    atomic_write_text(target, "[]")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_text() == "[]"
    if hasattr(os, "symlink"):  # written through a link: the link stays, the file it points to gets the content
        real, link = tmp_path / "real.jsonl", tmp_path / "sub" / "link.jsonl"
        real.write_text("old\n")
        link.symlink_to(os.path.relpath(real, link.parent))
        atomic_write_text(link, "new\n")
        assert link.is_symlink() and real.read_text() == "new\n" and link.read_text() == "new\n"
        assert not list(tmp_path.rglob(".*.tmp"))
    if hasattr(os, "mkfifo"):  # a FIFO (like /dev/stdout) cannot be renamed over: written in place
        import threading

        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
        reader.start()
        with atomic_open(fifo) as f:
            f.write("streamed")
        reader.join(timeout=10)
        assert got == ["streamed"] and stat.S_ISFIFO(fifo.stat().st_mode)


def _grm(a: int, b: int) -> Critique:
    return _crit("g", Verdict.CORRECT if a > 5.5 else Verdict.INCORRECT, score=Score(value=a),
                 metadata={"scores": [a, b], "principles": ["be exact"], "critiques": [f"r1 gets {a}", f"r2 gets {b}"]})


GRM_ITEM = _item("g", "Which city?", "Sydney", candidates=["Canberra"], metadata={"label": -1})


@pytest.mark.parametrize("vote", ["score_sum", "majority"])
def test_voted_grm_critiques_export_a_preference_pair(vote):
    from critica.aggregate.reducers import majority, score_sum

    samples = [_grm(6, 6), _grm(6, 6), _grm(6, 7), _grm(1, 6)]  # sums [19, 25]
    voted = (score_sum if vote == "score_sum" else majority)(samples)
    (row,) = ex.preference_pairs([(GRM_ITEM, voted)])
    assert (row["chosen"], row["rejected"]) == ("Canberra", "Sydney")
    assert row["score_chosen"] == pytest.approx((25 / 4 - 1) / 9) and row["score_rejected"] == pytest.approx((19 / 4 - 1) / 9)


@pytest.mark.parametrize("label, verdict, step, kept", [
    (-1, Verdict.INCORRECT, None, False),  # says wrong, names no step, on a correct item: disagrees with gold
    (-1, Verdict.CORRECT, None, True),
    (None, Verdict.INCORRECT, None, False),
    ("-1", Verdict.CORRECT, None, True),
    (1, Verdict.INCORRECT, 1, True),
    ("1", Verdict.INCORRECT, 1, True),
    (1.0, Verdict.INCORRECT, 1, True),
    (1, Verdict.INCORRECT, 0, False),
    (1, Verdict.INCORRECT, None, False),
    (1, Verdict.CORRECT, None, False),
    ("incorrect", Verdict.INCORRECT, None, True),
    ("correct", Verdict.INCORRECT, None, False),
    (True, Verdict.INCORRECT, 1, False),  # a boolean is no step label
    (1.5, Verdict.INCORRECT, 1, False),
    (-3, Verdict.CORRECT, None, False),
])
def test_sft_gold_filter_keeps_only_critiques_that_agree_with_gold(label, verdict, step, kept):
    item = Item(id="m", question="q", steps=["a", "b"], metadata={"label": label})
    crit = _crit("m", verdict, first_error_step=step)
    assert len(list(ex.sft_records([(item, crit)], gold_key="label"))) == int(kept)


def test_sft_prompt_of_a_multi_response_critique_shows_every_response():
    (row,) = ex.sft_records([(GRM_ITEM.model_copy(update={"principles": ["Name the capital"]}), _grm(3, 9))])
    assert "[Response 1]\nSydney" in row["prompt"] and "[Response 2]\nCanberra" in row["prompt"]
    assert "Name the capital" in row["prompt"]
    completion = row["completion"]
    assert "- be exact" in completion and "[Response 2] r2 gets 9" in completion
    assert "Response 1: 3, Response 2: 9" in completion and completion.endswith("Verdict: incorrect")


async def test_sft_of_a_deliberate_critique_renders_first_pass_meta_critique_then_final_judgement():
    from critica.backends.call import Caller
    from critica.backends.fake import ScriptedBackend
    from critica.critics.registry import build_critic

    item = Item(id="d", question="Compute 2*3+1", steps=["2*3 = 6", "6+1 = 8"], metadata={"label": 1})
    first = json.dumps({"steps": [{"step": 1, "verification": "2*3 is 6", "verdict": "correct"},
                                  {"step": 2, "verification": "6+1 looks fine", "verdict": "correct"}],
                        "first_error_step": -1})
    meta = json.dumps({"meta_critique": "The first pass missed that 6+1 is 7.",
                       "steps": [{"step": 1, "verification": "ok", "verdict": "correct"},
                                 {"step": 2, "verification": "6+1 = 7, not 8", "verdict": "incorrect"}],
                       "first_error_step": 2})
    crit = await build_critic("deliberate", Caller(ScriptedBackend([first, meta], cycle=False))).critique(item)
    assert crit.metadata["first_pass"]["steps"][1] == {"index": 1, "verdict": "correct", "verification": "6+1 looks fine"}
    (row,) = ex.sft_records([(item, crit)], gold_key="label")
    text = row["completion"]
    parts = ["Initial critique:", "Step 2: correct — 6+1 looks fine", "First incorrect step: none",
             "Critique of the initial critique:", "The first pass missed that 6+1 is 7.", "Final judgement:",
             "Step 2: incorrect — 6+1 = 7, not 8", "First incorrect step: 2", "Verdict: incorrect"]
    positions = [text.index(p) for p in parts]
    assert positions == sorted(positions)
    # a free-text first pass is kept as its text
    crit = await build_critic("deliberate", Caller(ScriptedBackend(
        ["Step 1 verdict: correct\nStep 2 verdict: incorrect (6+1 is 7)\nFirst error: 2", meta], cycle=False)),
        structured=False).critique(item)
    assert "Initial critique:\nStep 1 verdict: correct\nStep 2 verdict: incorrect (6+1 is 7)\nFirst error: 2" \
        in ex.render_critique(crit)
