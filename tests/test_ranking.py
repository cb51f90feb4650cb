"""Ranking evaluated models from stored (panel) critiques, PRE-style: `rank_models` and `critica runs rank`."""

from __future__ import annotations

import json

import pytest

from critica.cli import main
from critica.report.ranking import rank_models
from critica.store import Store
from critica.types import Critique, Item, ParseStatus, Score, Verdict

C, I, U = Verdict.CORRECT, Verdict.INCORRECT, Verdict.UNSCORED  # noqa: E741


def rec(i: int, model: str | None, verdict: Verdict, score: float | None = None) -> tuple[Item, Critique]:
    meta = {} if model is None else {"model": model}
    item = Item(id=f"i{i}", question=f"q{i}", response="r", metadata=meta)
    crit = Critique(item_id=item.id, critic="panel", verdict=verdict,
                    score=Score(value=score, min=1, max=5) if score is not None else None,
                    parse_status=ParseStatus.FAILED if verdict == U else ParseStatus.OK)
    return item, crit


def test_models_are_ranked_by_mean_answer_score_with_intervals():
    records = [rec(0, "a", C), rec(1, "a", C), rec(2, "a", I), rec(3, "b", C), rec(4, "b", I), rec(5, "b", I),
               rec(6, "b", U), rec(7, "c", C, score=5), rec(8, "c", I, score=3), rec(9, None, C)]
    ranking = rank_models(records)
    assert [r.model for r in ranking.rows] == ["c", "a", "b"]
    c, a, b = ranking.rows
    assert a.score == pytest.approx(2 / 3) and a.rank == 2 and a.items == 3 and a.correct_share == pytest.approx(2 / 3)
    assert c.score == pytest.approx((1.0 + 0.5) / 2)  # scores normalised: 5 → 1.0, 3 → 0.5 on 1-5
    assert b.score == pytest.approx(1 / 3) and b.unscored == 1 and b.items == 3  # unscored is counted, not a 0
    assert b.ci[0] <= b.score <= b.ci[1] and 0 <= b.ci[0] < b.ci[1] <= 1
    assert ranking.skipped == 1
    tied = rank_models([rec(0, "x", C), rec(1, "y", C), rec(2, "z", I)])
    assert [r.rank for r in tied.rows] == [1, 1, 3]


def test_cli_runs_rank(tmp_path, capsys):
    db = tmp_path / "c.db"
    with Store.open(db) as store:
        store.create_run("pre", {"critic": "panel"}, protocol="panel")
        for item, crit in [rec(0, "small", I), rec(1, "small", C), rec(2, "large", C), rec(3, "large", C)]:
            store.add_critique("pre", crit, item)
    assert main(["runs", "rank", "pre", "--json", "--db", str(db)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["rank"], r["model"], r["score"]) for r in out["rows"]] == [(1, "large", 1.0), (2, "small", 0.5)]
    assert main(["runs", "rank", "pre", "--db", str(db)]) == 0
    assert "large" in capsys.readouterr().out
    assert main(["runs", "rank", "pre", "--by", "author", "--db", str(db)]) == 2  # a user error
    assert "nothing to rank" in capsys.readouterr().err
