"""The WiCE suite, its loader, and the classification metrics it reports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from critica.bench.base import BenchContext, get_suite
from critica.bench.classification import accuracy, bootstrap_ci, confusion_matrix, macro_f1, per_label, unscored_count
from critica.bench.wice import (
    LABELS,
    cross_validate,
    evaluate_labels,
    fit_label_model,
    flag_figures,
    load_wice,
    run_wice,
    select_label_model,
)
from critica.errors import InputError, UserError
from critica.types import Critique, Item, Verdict
from critica.verifiers.evidence import FEATURES, EvidenceLabel

FIXTURE = Path(__file__).parent / "data" / "wice"

# -- metrics ---------------------------------------------------------------------------------------------------

GOLD = ["a", "a", "b", "b", "c", "c"]
PRED = ["a", "b", "b", "b", None, "a"]


def test_accuracy_counts_unscored_as_wrong():
    assert accuracy(GOLD, PRED) == pytest.approx(3 / 6)
    assert unscored_count(PRED) == 1
    assert accuracy([], []) == 0.0


def test_per_label_and_macro_f1_by_hand():
    pl = per_label(GOLD, PRED, ["a", "b", "c"])
    # a: TP 1, FP 1 (c->a), FN 1 ; b: TP 2, FP 1, FN 0 ; c: TP 0, FN 2 (one unscored, never a false positive)
    assert pl["a"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert pl["b"]["precision"] == pytest.approx(2 / 3) and pl["b"]["recall"] == 1.0
    assert pl["b"]["f1"] == pytest.approx(0.8)
    assert pl["c"] == pytest.approx({"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2})
    assert macro_f1(GOLD, PRED, ["a", "b", "c"]) == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_confusion_matrix_has_unscored_column():
    m = confusion_matrix(GOLD, PRED, ["a", "b", "c"])
    assert m["a"] == {"a": 1, "b": 1, "c": 0, "unscored": 0}
    assert m["c"] == {"a": 1, "b": 0, "c": 0, "unscored": 1}
    assert sum(sum(r.values()) for r in m.values()) == len(GOLD)


def test_bootstrap_ci_is_reproducible_and_brackets_the_estimate():
    gold = ["x"] * 60 + ["y"] * 40
    pred = ["x"] * 50 + ["y"] * 10 + ["y"] * 30 + ["x"] * 10
    lo, hi = bootstrap_ci(gold, pred, accuracy, n=300, seed=1)
    assert (lo, hi) == bootstrap_ci(gold, pred, accuracy, n=300, seed=1)
    assert lo <= accuracy(gold, pred) <= hi and hi - lo < 0.3 and lo < hi


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        accuracy(["a"], [])


# -- loader ----------------------------------------------------------------------------------------------------


def test_loader_reports_bad_lines_and_keeps_the_rest():
    errors: list[InputError] = []
    claims = load_wice(FIXTURE, "dev", errors=errors)
    assert [c.id for c in claims] == ["dev00001", "dev00002", "dev00003"]
    assert claims[0].supporting == [[1]] and claims[0].label == "supported" and claims[0].title == "Riverton"
    assert len(errors) == 2
    assert errors[0].location == "4" and "invalid JSON" in str(errors[0])
    assert errors[1].field == "label" and errors[1].path.endswith("dev.jsonl")


def test_loader_errors_name_the_problem(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_wice(tmp_path, "dev")
    with pytest.raises(UserError, match="unknown WiCE split"):
        load_wice(FIXTURE, "train")


# -- suite -----------------------------------------------------------------------------------------------------


def _ctx(**kw) -> BenchContext:
    return BenchContext(data_dir=FIXTURE, make_critic=lambda: None, options={"methods": ["lexical"], "n_boot": 50},
                        **kw)


def test_suite_runs_the_lexical_verifier_on_fixture_data():
    seen = []
    res = run_wice(_ctx(progress=lambda done, total: seen.append((done, total))))
    assert res.suite == "wice" and [r["split"] for r in res.rows] == ["dev (calibration) [lexical]", "test [lexical]"]
    dev = res.rows[0]
    assert dev["n"] == 3 and dev["unscored"] == 0 and dev["method"] == "lexical"
    assert 0.0 <= dev["accuracy_ci"][0] <= dev["accuracy"] <= dev["accuracy_ci"][1] <= 1.0
    assert set(dev["per_label"]) == set(LABELS) and dev["items_per_s"] > 0
    assert len(res.items) == 5 and seen[-1] == (5, 5)
    by_id = {r["id"]: r for r in res.items if r["split"] == "dev"}
    # clear-cut fixture claims: a verbatim sentence, and a claim about entirely unrelated evidence
    assert by_id["dev00001"]["pred"] == "supported" and by_id["dev00001"]["citations"] == [[0, 1]]
    assert by_id["dev00002"]["pred"] == "not_supported"
    assert any("malformed" in n for n in res.notes)


def test_suite_is_registered():
    assert get_suite("wice").run is not None


class _VerdictCritic:
    """A critic whose verdict depends on the claim text (so the mapping, not a constant, is tested)."""

    name = "toy"

    async def critique(self, item: Item) -> Critique:
        verdict = Verdict.CORRECT if "bridge" in (item.response or "") else Verdict.UNSCORED
        return Critique(item_id=item.id, critic=self.name, verdict=verdict)


def test_other_critics_map_verdicts_to_labels():
    ctx = BenchContext(data_dir=FIXTURE, make_critic=_VerdictCritic, critic_name="toy", splits=["test"],
                       options={"n_boot": 20})
    res = run_wice(ctx)
    preds = {r["id"]: r["pred"] for r in res.items}
    assert preds == {"dev00001": "supported", "dev00002": None}
    assert res.rows[0]["unscored"] == 1 and res.rows[0]["accuracy"] == 0.5


def test_evaluate_labels_shape():
    figs = evaluate_labels(["supported", "not_supported"], ["supported", None], n_boot=20)
    assert figs["n"] == 2 and figs["unscored"] == 1 and figs["accuracy"] == 0.5
    assert set(figs["confusion"]) == set(LABELS)


def _synthetic(n_per_label: int = 20) -> tuple[list[dict[str, float]], list[str], list[str]]:
    """Claims whose coverage rises with the label (plus a little overlap) and an irrelevant feature."""
    feats, gold, groups = [], [], []
    for k, label in enumerate(["not_supported", "partially_supported", "supported"]):
        for i in range(n_per_label):
            jitter = ((i * 7) % 10) / 10 - 0.45  # deterministic spread of ±0.45 around the label's level
            feats.append({"coverage_all": 0.2 + 0.3 * k + 0.3 * jitter, "negation_mismatch": float(i % 2)})
            gold.append(label)
            groups.append(f"article{i % 8}")
    return feats, gold, groups


def test_fit_label_model_learns_the_ordering():
    feats, gold, _ = _synthetic()
    model = fit_label_model(feats, gold, ("coverage_all", "negation_mismatch"), l2=1.0, class_weight=0.0)
    assert model.weights[0] > 0 and abs(model.weights[1]) < 0.2 * model.weights[0]
    assert model.cuts[0] < model.cuts[1]
    assert model.predict({"coverage_all": 0.05, "negation_mismatch": 0}) is EvidenceLabel.NOT_SUPPORTED
    assert model.predict({"coverage_all": 0.5, "negation_mismatch": 0}) is EvidenceLabel.PARTIALLY_SUPPORTED
    assert model.predict({"coverage_all": 0.95, "negation_mismatch": 1}) is EvidenceLabel.SUPPORTED
    acc = sum(model.predict(f).value == g for f, g in zip(feats, gold, strict=True)) / len(gold)
    assert acc > 0.8
    # deterministic: the same data gives the same constants
    assert fit_label_model(feats, gold, ("coverage_all", "negation_mismatch"), l2=1.0, class_weight=0.0) == model


def test_class_weight_moves_cut_points_towards_rare_labels():
    feats, gold, _ = _synthetic()
    # make not_supported rare: keep 4 of its 20 claims
    keep = [i for i, g in enumerate(gold) if g != "not_supported" or i % 5 == 0]
    feats, gold = [feats[i] for i in keep], [gold[i] for i in keep]
    plain = fit_label_model(feats, gold, ("coverage_all",), l2=1.0, class_weight=0.0)
    balanced = fit_label_model(feats, gold, ("coverage_all",), l2=1.0, class_weight=1.0)
    low = {"coverage_all": 0.2}
    assert balanced.probabilities(low)[EvidenceLabel.NOT_SUPPORTED] > plain.probabilities(low)[
        EvidenceLabel.NOT_SUPPORTED]


def test_cross_validation_and_selection_on_synthetic_claims():
    feats, gold, groups = _synthetic()
    # every feature present, as the verifier gives them; only coverage and grounding carry the signal
    feats = [dict.fromkeys(FEATURES, 0.0) | {"coverage_all": f["coverage_all"], "grounded_share": f["coverage_all"]}
             for f in feats]
    acc, f1 = cross_validate(feats, gold, groups, ("coverage_all",), l2=1.0, class_weight=0.5, seeds=[0])
    assert acc > 0.7 and f1 > 0.7
    model, choice = select_label_model(feats, gold, groups, embeddings=False, l2_grid=[1.0],
                                       class_weight_grid=[0.0, 1.0], seeds=[0])
    assert choice["features"] in {"all", "core"} and choice["cv_accuracy"] > 0.7
    assert not any("similarity" in f for f in model.features)


def test_real_wice_smoke(data_dir):
    res = run_wice(BenchContext(data_dir=data_dir, make_critic=lambda: None, limit=3, splits=["test"],
                                options={"methods": ["lexical"], "n_boot": 20}))
    assert res.rows[0]["n"] == 3 and all(r["pred"] in LABELS for r in res.items)


def test_flag_figures_read_labels_as_flags():
    gold = ["supported", "partially_supported", "not_supported", "supported", "supported"]
    pred = ["not_supported", "not_supported", "partially_supported", "supported", "partially_supported"]
    f = flag_figures(gold, pred)
    assert f["flag_precision"] == pytest.approx(1 / 2)
    assert f["flag_precision_with_partial"] == pytest.approx(2 / 4)
    assert f["supported_precision"] == 1.0
    assert flag_figures(["supported"], [None]) == {"flag_precision": None, "flag_precision_with_partial": None,
                                                   "supported_precision": None}


def test_confusion_plot_is_written(tmp_path):
    ctx = _ctx()
    ctx.options["confusion_plot"] = str(tmp_path / "wice.png")
    res = run_wice(ctx)
    png = Path(res.extra["confusion_plot"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_calibrate_reports_progress_on_stderr(monkeypatch, capsys):
    import critica.bench.wice as wice_mod
    from critica.verifiers.evidence import EvidenceVerifier

    # lexical only (no model load), a one-point grid: the test is about what the command prints while it works
    monkeypatch.setattr(wice_mod, "_verifier_for", lambda m: EvidenceVerifier(embedder=None) if m == "lexical" else None)
    monkeypatch.setattr(wice_mod, "L2_GRID", (3.0,))
    monkeypatch.setattr(wice_mod, "CLASS_WEIGHT_GRID", (0.5,))
    orig = wice_mod.select_label_model
    monkeypatch.setattr(wice_mod, "select_label_model",
                        lambda *a, **kw: orig(*a, **{**kw, "l2_grid": (3.0,), "class_weight_grid": (0.5,),
                                                     "seeds": [0]}))
    from critica.cli import progress as progress_mod

    seen: list[progress_mod.Progress] = []

    class Recorded(progress_mod.Progress):
        def __enter__(self):
            seen.append(self)
            return super().__enter__()

    monkeypatch.setattr(progress_mod, "Progress", Recorded)
    monkeypatch.setattr(progress_mod, "FIRST_S", 0.0)  # plain lines from the start (stderr is not a terminal here)
    assert wice_mod._main(["calibrate", "--data-dir", str(FIXTURE), "--quiet"]) == 0
    # critica's progress display (items/s, ETA; plain lines on a log), brought to its end in each phase
    assert [(p.label, p.unit, p.done, p.total) for p in seen] == [
        ("scoring WiCE dev claims [lexical]", "claims", 3, 3),
        ("cross-validating lexical label models", "candidates", 2, 2)]
    err = capsys.readouterr().err
    for p in seen:
        if p.lines:  # the line's thread may not have run in so short a phase; when it did, the end is reported
            assert re.search(re.escape(p.label) + r": \d/\d \w+ \(\d+%\), [\d.]+ \w+/s, elapsed [\d:]+, done", err)


def test_label_model_fits_run_blas_on_one_thread(monkeypatch):
    # scipy's L-BFGS-B calls BLAS; its pool of threads spinning over 13 parameters made each fit 15-20x slower on
    # the shared 2-core machine (calibrate: minutes of cross-validation instead of seconds)
    threadpoolctl = pytest.importorskip("threadpoolctl")
    pytest.importorskip("scipy.optimize")  # loads scipy's BLAS, so that threadpoolctl sees it
    import critica.bench.wice as wice_mod

    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    if not blas or max(i["num_threads"] for i in blas) < 2:
        pytest.skip("BLAS runs on one thread here anyway")
    seen: list[int] = []
    fit = wice_mod.fit_label_model

    def recording(*a, **kw):
        seen.append(max(i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"))
        return fit(*a, **kw)

    monkeypatch.setattr(wice_mod, "fit_label_model", recording)
    from critica.verifiers.evidence import FEATURES

    feats = [{f: ((i * 7 + k * 3) % 11) / 10 + i / 20 for k, f in enumerate(FEATURES)} for i in range(20)]
    gold = [["not_supported", "partially_supported", "supported"][min(2, i // 7)] for i in range(20)]
    groups = [f"article {i // 2}" for i in range(20)]
    model, choice = wice_mod.select_label_model(feats, gold, groups, embeddings=False, l2_grid=(3.0,),
                                                class_weight_grid=(0.5,), seeds=[0])
    assert seen and set(seen) == {1}
    assert choice["features"] in ("all", "core") and model.features
    # and the setting is restored afterwards
    assert max(i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas") >= 2
