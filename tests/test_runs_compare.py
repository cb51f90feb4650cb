"""Gold labels, the bench figures of stored runs, and the comparison of runs matched by content (API and CLI)."""

from __future__ import annotations

import json

import pytest
from explorer_seed import ITEMS, seed
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from critica.bench.compare import compare_runs, content_hash
from critica.bench.gold import gold_of, mark, run_figures
from critica.bench.process import evaluate_records
from critica.cli import app
from critica.server import docs as server_docs
from critica.server.app import create_app
from critica.store import Store
from critica.types import Critique, Item, Verdict


@pytest.fixture()
def store(tmp_path):
    seed(tmp_path / "c.db")
    s = Store.open(tmp_path / "c.db")
    yield s
    s.close()


def test_gold_labels_are_read_from_metadata_and_critiques_marked():
    assert gold_of(ITEMS[0]).text() == "incorrect, first error step 2"
    assert gold_of(ITEMS[1]).text() == "correct"
    wice = Item(id="w", question="ctx", response="claim", metadata={"label": "partially_supported"})
    assert gold_of(wice).kind == "label" and gold_of(Item(id="x", question="q", response="r")) is None
    g = gold_of(ITEMS[0])
    assert mark(Critique(item_id="q0", critic="c", verdict=Verdict.INCORRECT, first_error_step=1), g) is True
    assert mark(Critique(item_id="q0", critic="c", verdict=Verdict.INCORRECT, first_error_step=2), g) is False
    assert mark(Critique(item_id="q0", critic="c", verdict=Verdict.UNSCORED), g) is None
    assert mark(Critique(item_id="w", critic="c", verdict=Verdict.CORRECT), gold_of(wice)) is False


def test_run_figures_are_the_bench_figures(store):
    r = run_figures(store.iter_records("pb-a"), n_boot=50)
    assert r["kind"] == "step" and (r["right"], r["wrong"], r["labelled"]) == (2, 1, 3)
    assert r["figures"]["acc_erroneous"] == 0.5 and r["figures"]["acc_correct"] == 1.0
    assert r["figures"]["f1"] == pytest.approx(2 / 3)
    # the same numbers as the bench's own evaluation of the same predictions
    bench = evaluate_records([{"label": 1, "pred": 1, "checked_steps": None}, {"label": -1, "pred": -1, "checked_steps": None},
                              {"label": 0, "pred": 1, "checked_steps": None}], n_boot=50)
    assert {k: r["figures"][k] for k in ("f1", "precision_step", "recall_exact")} == \
        {k: bench[k] for k in ("f1", "precision_step", "recall_exact")}
    # the verifier's bound is read as the bench reads it
    v = run_figures(store.iter_records("vf-a"), n_boot=10)
    assert v["figures"]["bounded"] == 3 and v["figures"]["precision_bound"] == pytest.approx(2 / 3)


def test_runs_are_matched_by_content_not_by_path(store):
    c = compare_runs(store, ["pb-a", "vf-b"], n_boot=10)
    assert c.shared == 3 and c.changed == 0  # data/pb.json and ./pb.json hold the same items
    assert c.agreement[0][1].n == 3 and c.agreement[0][1].agree == 2
    assert [r.gold["figures"]["f1"] for r in c.runs] == [pytest.approx(2 / 3), 0.0]
    assert c.disagreements == 2 and {i.item_id for i in c.items if i.disagreement} == {"q1", "q2"}
    d = compare_runs(store, ["pb-a", "vf-b"], disagreement=True, n_boot=10)
    assert [i.item_id for i in d.items] == ["q1", "q2"] and d.total == 2
    # against gold: each of q0..q2 is got wrong by one of the two runs (vf-b names no step on q0)
    assert compare_runs(store, ["pb-a", "vf-b"], outcome="some_wrong", n_boot=10).total == 3
    assert compare_runs(store, ["pb-a", "vf-b"], outcome="all_wrong", n_boot=10).total == 0
    changed = compare_runs(store, ["pb-a", "pb-changed"], n_boot=10)
    assert changed.shared == 1 and changed.changed == 1 and changed.runs[0].only_here == 2
    assert [i.item_id for i in compare_runs(store, ["pb-a", "pb-changed"], outcome="all_right", n_boot=10).items] == ["q1"]


def test_content_hash_ignores_id_and_metadata_only():
    a = ITEMS[0]
    assert content_hash(a) == content_hash(a.model_copy(update={"id": "other", "metadata": {"label": 2}}))
    assert content_hash(a) != content_hash(a.model_copy(update={"question": a.question + " "}))


def test_comparison_and_metrics_over_http(store):
    client = TestClient(create_app(store))
    r = client.get("/v1/comparison", params=[("runs", "pb-a"), ("runs", "vf-b"), ("disagreement", "true")])
    assert r.status_code == 200 and r.json()["shared"] == 3 and r.json()["total"] == 2
    assert client.get("/v1/comparison?runs=pb-a,vf-b").json()["shared"] == 3
    bad = client.get("/v1/comparison?runs=pb-a")
    assert bad.status_code == 400 and "two or more" in bad.json()["error"]["message"]
    assert client.get("/v1/comparison?runs=pb-a,nope").status_code == 404
    m = client.get("/v1/runs/pb-a/metrics").json()
    assert m["kind"] == "step" and m["right"] == 2 and m["figures"]["f1"] == pytest.approx(2 / 3)
    assert client.get("/v1/runs/pb-a/metrics?outcome=wrong").json()["labelled"] == 1


def test_item_list_sorts_filters_on_gold_and_names_the_critics(store):
    client = TestClient(create_app(store))
    page = client.get("/v1/runs/pb-a/items?sort=-item").json()
    assert [i["item_id"] for i in page["items"]] == ["q2", "q1", "q0"]
    assert page["critics"] == ["processbench", "verifier"]
    assert page["items"][0]["gold"]["text"] == "incorrect, first error step 1"
    assert page["items"][0]["right"] == {"processbench": False, "verifier (vf-a)": True}
    assert [i["item_id"] for i in client.get("/v1/runs/pb-a/items?outcome=wrong").json()["items"]] == ["q2"]
    assert [i["item_id"] for i in client.get("/v1/runs/pb-a/items?sort=first_error").json()["items"]] == ["q0", "q2", "q1"]
    assert client.get("/v1/runs/pb-a/items?sort=nope").status_code == 400


def test_item_page_has_gold_marks_and_prev_next_under_the_filters(store):
    client = TestClient(create_app(store))
    d = client.get("/v1/runs/pb-a/items/q1").json()
    assert (d["prev"], d["next"], d["position"], d["total"]) == ("q0", "q2", 2, 3)
    assert d["gold"]["text"] == "correct" and d["right"] == [True, False]
    f = client.get("/v1/runs/pb-a/items/q2?verdict=incorrect").json()
    assert (f["prev"], f["next"], f["position"], f["total"]) == ("q0", None, 2, 2)
    # a compared run (another source) joins the item page only for the same content
    also = client.get("/v1/runs/pb-a/items/q0?also=vf-b,pb-changed").json()
    assert also["critique_runs"] == ["pb-a", "vf-a", "vf-b"]


def test_plots_follow_the_filters_and_say_when_there_is_nothing(store, monkeypatch):
    pytest.importorskip("matplotlib")
    from critica.server import plots

    said: list[str] = []
    real = plots._message
    monkeypatch.setattr(plots, "_message", lambda ax, text: (said.append(text), real(ax, text)))
    client = TestClient(create_app(store))
    assert client.get("/v1/runs/pb-changed/plots/first-error.png").status_code == 200  # every verdict: correct
    assert said == ["no critique of these items names a first error step"]
    said.clear()
    assert client.get("/v1/runs/pb-a/plots/first-error.png?verdict=incorrect").status_code == 200
    assert said == []
    assert client.get("/v1/runs/pb-a/plots/figures.png?q=nothing-matches").status_code == 200
    assert said[-1] == "no items pass the filters"
    said.clear()
    whole = client.get("/v1/runs/pb-a/plots/verdicts.png").content
    assert client.get("/v1/runs/pb-a/plots/verdicts.png?outcome=wrong").content != whole  # drawn over q2 only
    for kind in ("verdicts", "first-error", "latency", "figures"):
        assert client.get(f"/v1/runs/pb-a/plots/{kind}.png").headers["content-type"] == "image/png"
    assert said == []


def test_docs_are_served_without_a_network(store, monkeypatch):
    monkeypatch.setattr(server_docs, "swagger_assets", lambda: None)
    page = TestClient(create_app(store)).get("/docs")
    assert page.status_code == 200 and "cdn" not in page.text.lower() and "/v1/comparison" in page.text
    assert "<script" not in page.text  # a plain page: nothing to load


def test_docs_use_local_swagger_assets_when_installed(store):
    if server_docs.swagger_assets() is None:
        pytest.skip("fastapi-offline (critica[server]) is not installed")
    client = TestClient(create_app(store))
    page = client.get("/docs").text
    assert "cdn" not in page.lower() and "/docs/assets/swagger-ui-bundle.js" in page
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200


def test_cli_runs_compare_prints_the_same_figures(tmp_path):
    seed(tmp_path / "c.db")
    r = CliRunner().invoke(app, ["runs", "compare", "pb-a", "vf-b", "--db", str(tmp_path / "c.db")])
    assert r.exit_code == 0, r.output
    assert "3 shared item(s)" in r.output and "66.7% of 3" in r.output and "F1 (ProcessBench)" in r.output
    assert "q1" in r.output and "q2" in r.output
    j = CliRunner().invoke(app, ["runs", "compare", "pb-a", "vf-b", "--db", str(tmp_path / "c.db"), "--json"])
    assert json.loads(j.output)["agreement"][0][1]["agree"] == 2
    bad = CliRunner().invoke(app, ["runs", "compare", "pb-a", "--db", str(tmp_path / "c.db")])
    assert bad.exit_code != 0
