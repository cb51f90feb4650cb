"""Judge-bias probes (length-bias, self-preference) and correlation with human scores, over scripted judges.

The scripted judges of :mod:`critica.bench.stubs` have a known bias (or none): each probe must report a biased
judge's shift with a CI that excludes 0 and an unbiased judge's with a CI that covers 0.
"""

from __future__ import annotations

import json
import random

import pytest
from scipy import stats

from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend
from critica.bench.base import BenchContext, available_suites, get_suite
from critica.bench.bias import FILLER, pad_answer
from critica.bench.metrics import correlations
from critica.bench.selfpref import family, is_own, pair_metrics, stratified_metrics
from critica.bench.stubs import biased_judge
from critica.critics.pairwise import PairwiseCritic
from critica.critics.rubric import RubricCritic
from critica.errors import UserError


def _llmbar(tmp_path, n=60):
    rng = random.Random(7)
    rows = []
    for i in range(n):
        words = [f"w{j}" for j in range(rng.randint(5, 40))]
        rows.append({"input": f"Question {i}: say something.", "output_1": f"First answer {i}: " + " ".join(words),
                     "output_2": f"Second answer {i}: " + " ".join(reversed(words[: rng.randint(3, 40)])),
                     "label": rng.choice([1, 2])})
    d = tmp_path / "llmbar" / "LLMBar" / "Natural"
    d.mkdir(parents=True)
    (d / "dataset.json").write_text(json.dumps(rows))
    return tmp_path


def _metacritique(tmp_path, n=60):
    rng = random.Random(3)
    rows = []
    for i in range(n):
        models = ["llama-2-70b-chat-hf", "vicuna-13b-v1.5"] if i % 2 else ["WizardLM-13b-v1.2", "llama-2-70b-chat-hf"]

        def crit(tag, model=None, i=i):
            f1 = round(rng.random(), 3)
            c = {"critique": f"{tag} critique of answer {i}: it is {'fine' if f1 > 0.5 else 'wrong'} ({f1}).",
                 "precision_score": f1, "recall_score": f1, "f1_score": f1, "aius": [], "precision_labels": [],
                 "recall_labels": []}
            return c if model is None else {**c, "model": model}

        rows.append({"shepherd_id": i, "dataset": "fixture", "question": f"question {i}", "response": f"answer {i}",
                     "index": i, "gpt4_answer": f"reference {i}", "gpt4_critique": {"critique": "", "aius": []},
                     "human_critique": crit("Human"), "llm1_critique": crit("First LLM", models[0]),
                     "llm2_critique": crit("Second LLM", models[1])})
    d = tmp_path / "metacritique"
    d.mkdir(parents=True, exist_ok=True)
    (d / "annotation_data.json").write_text(json.dumps(rows))
    return rows


def _ctx(data_dir, reply, critic="pairwise", **kw):
    def make():
        caller = Caller(ScriptedBackend(reply), CallPolicy(retries=0))
        return (PairwiseCritic if critic == "pairwise" else RubricCritic)(caller, structured=False)

    options = {"n_boot": 400, **kw.pop("options", {})}
    return BenchContext(data_dir=data_dir, make_critic=make, critic_name=critic, concurrency=4, options=options, **kw)


def _excludes_zero(ci):
    return ci[0] > 0 or ci[1] < 0


# --- padding ----------------------------------------------------------------------------------------------------


def test_padding_is_neutral_deterministic_and_sized():
    a = pad_answer("The answer is 4.", "What is 2+2?", 5, seed=1, key="x")
    assert a == pad_answer("The answer is 4.", "What is 2+2?", 5, seed=1, key="x")
    assert a.startswith("The answer is 4.\n\n")
    added = a.split("\n\n", 1)[1]
    used = [s for s in FILLER if s in added]
    assert len(used) == 5 and sum(len(s) for s in used) + 4 == len(added)  # five bank sentences, nothing else
    orders = {pad_answer("x", "q", 5, seed=s, key="x") for s in range(6)}
    assert len(orders) > 1  # the seed changes the draw
    assert pad_answer("x", "q", 0, seed=0, key="k") == "x"
    r = pad_answer("x", "What is 2+2?", 3, seed=0, key="k", style="restate")
    assert "To restate the request: What is 2+2?" in r and len([s for s in FILLER if s in r]) == 2
    with pytest.raises(UserError, match="pad_style"):
        pad_answer("x", "q", 2, seed=0, key="k", style="lorem")


# --- correlation with human scores --------------------------------------------------------------------------------


def test_correlations_match_scipy_and_bound_their_cis():
    rng = random.Random(0)
    human = [rng.random() for _ in range(50)]
    pred = [h + rng.gauss(0, 0.2) for h in human]
    c = correlations(pred, human, n=300, seed=0)
    assert c["n"] == 50
    assert c["pearson"] == pytest.approx(stats.pearsonr(pred, human)[0])
    assert c["spearman"] == pytest.approx(stats.spearmanr(pred, human)[0])
    assert c["kendall"] == pytest.approx(stats.kendalltau(pred, human)[0])
    for k in ("pearson", "spearman", "kendall"):
        lo, hi = c[f"{k}_ci"]
        assert lo <= c[k] <= hi and lo > 0.3
    flat = correlations([3.0] * 10, human[:10])
    assert flat["pearson"] is None and flat["pearson_ci"] is None  # undefined, not 0
    with pytest.raises(ValueError):
        correlations([1.0], [1.0, 2.0])


# --- length bias ----------------------------------------------------------------------------------------------------


def test_length_probe_detects_a_length_biased_pairwise_judge(tmp_path):
    data = _llmbar(tmp_path)
    res = get_suite("length-bias").run(_ctx(data, biased_judge("length", 0.9), splits=["Natural"],
                                            options={"pad": [3, 8]}))
    assert [r["split"] for r in res.rows] == ["pad 3 sentences", "pad 8 sentences"]
    for row in res.rows:
        assert row["n"] == 60 and row["unscored"] == 0 and row["pad_words"] > 10
        assert row["shift"] > 0.2 and row["shift_ci"][0] > 0
        # both presentation orders move: a length bias, not a position bias
        assert row["shift_shown_first_ci"][0] > 0 and row["shift_shown_second_ci"][0] > 0
    assert len(res.items) == 60 * 3  # each pair unpadded + once per level
    # the padding's own length, whichever side was padded: 3 or 8 bank sentences of 3-9 words
    assert 3 * 3 <= res.rows[0]["pad_words"] <= 3 * 9 and 8 * 3 <= res.rows[1]["pad_words"] <= 8 * 9
    assert {r["side"] for r in res.items} == {"A", "B"}


def test_length_probe_reports_no_bias_for_an_unbiased_judge(tmp_path):
    data = _llmbar(tmp_path)
    res = get_suite("length-bias").run(_ctx(data, biased_judge("length", 0.0), splits=["Natural"],
                                            options={"pad": [3, 8]}))
    for row in res.rows:
        assert row["scored"] == 60 and not _excludes_zero(row["shift_ci"])


def test_length_probe_separates_position_bias(tmp_path):
    data = _llmbar(tmp_path)
    res = get_suite("length-bias").run(_ctx(data, lambda r, i: "[[A>B]]", splits=["Natural"], options={"pad": 4}))
    (row,) = res.rows
    assert row["first_shown_win_rate"] == 1.0  # pure position bias ...
    assert row["shift"] == 0 and row["shift_ci"] == [0, 0]  # ... is not read as a length bias


def test_length_probe_absolute_protocol(tmp_path):
    data = _llmbar(tmp_path)
    biased = get_suite("length-bias").run(_ctx(data, biased_judge("length", 1.0), critic="rubric",
                                               splits=["Natural"], options={"pad": [10]}))
    (row,) = biased.rows
    assert row["scored"] == 60 and row["shift"] > 0 and row["shift_ci"][0] > 0 and row["higher_rate"] > 0.3
    fair = get_suite("length-bias").run(_ctx(data, biased_judge("length", 0.0), critic="rubric",
                                             splits=["Natural"], options={"pad": [10]}))
    assert not _excludes_zero(fair.rows[0]["shift_ci"])


def test_length_probe_options_are_checked(tmp_path):
    data = _llmbar(tmp_path)
    for options, match in (({"pad": [0]}, "pad"), ({"pad": "x"}, "pad"), ({"protocol": "x"}, "protocol"),
                           ({"data": "x"}, "data")):
        with pytest.raises(UserError, match=match):
            get_suite("length-bias").run(_ctx(data, biased_judge(), splits=["Natural"], options=options))


def test_length_probe_refuses_a_critic_without_preferences(tmp_path):
    data = _llmbar(tmp_path)
    with pytest.raises(UserError, match="protocol=absolute"):
        get_suite("length-bias").run(_ctx(data, lambda r, i: "Feedback: x\n[RESULT] 3", critic="rubric",
                                          splits=["Natural"], limit=2, options={"protocol": "pairwise"}))


# --- self-preference ----------------------------------------------------------------------------------------------


def test_family_and_ownership():
    assert family("Qwen2.5-Math-72B-Instruct") == family("qwen-7b") == "qwen"
    assert family("llama-2-70b-chat-hf") == family("Llama-3.1-8B-Instruct") == "llama"
    assert family("vicuna-13b-v1.5") == "vicuna"  # a fine-tune keeps its own name
    assert is_own("llama-2-70b-chat-hf", "llama-2-70b-chat", "model")
    assert not is_own("llama-2-13b-chat-hf", "llama-2-70b-chat", "model")
    assert is_own("llama-2-13b-chat-hf", "llama-2-70b-chat")
    with pytest.raises(UserError, match="match"):
        is_own("a", "b", "fuzzy")


def test_pair_metrics_definitions():
    always_own = [{"gold": g, "judge": "own"} for g in ("own", "own", "other", "other", "tie")]
    m = pair_metrics(always_own, n_boot=100)
    assert m["judge_own_rate"] == 1.0 and m["human_own_rate"] == pytest.approx(0.5)
    assert m["excess"] == pytest.approx(0.5) and m["equal_opportunity"] == 1.0
    oracle = [{"gold": g, "judge": g} for g in ("own", "own", "other", "other", "tie")]
    m = pair_metrics(oracle + [{"gold": "own", "judge": None}], n_boot=100)
    assert m["excess"] == 0 and m["equal_opportunity"] == 0 and m["unscored"] == 1 and m["scored"] == 5


def test_pair_metrics_resample_the_pairs_of_one_answer_together():
    rng = random.Random(1)
    base = [{"gold": rng.choice(["own", "other"]), "judge": rng.choice(["own", "other"])} for _ in range(30)]
    # every question yields two identical pairs (one own critique against two others): 30 units, not 60
    clustered = [{**p, "record": i} for i, p in enumerate(base) for _ in range(2)]
    loose = [dict(p) for p in base for _ in range(2)]
    a, b = pair_metrics(clustered, n_boot=500), pair_metrics(loose, n_boot=500)
    assert a["excess"] == b["excess"]
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(a["excess_ci"]) > 1.2 * width(b["excess_ci"])


def test_stratified_metrics_separate_quality_from_authorship():
    # The judge accepts every correct solution and no wrong one; own solutions are mostly correct: no self-preference.
    recs = [{"own": own, "gold": gold, "value": 1.0 if gold else 0.0}
            for own, gold in [(True, True)] * 8 + [(True, False)] * 2 + [(False, True)] * 2 + [(False, False)] * 8]
    rows = {r["split"]: r for r in stratified_metrics(recs, n_boot=100)}
    assert rows["stratified"]["diff"] == 0 and rows["gold correct"]["diff"] == 0
    naive = sum(r["value"] for r in recs if r["own"]) / 10 - sum(r["value"] for r in recs if not r["own"]) / 10
    assert naive == pytest.approx(0.6)  # what an unstratified comparison would call self-preference


def test_self_preference_pairwise_detects_a_self_biased_judge(tmp_path):
    rows = _metacritique(tmp_path)
    own = [r[k]["critique"] for r in rows for k in ("llm1_critique", "llm2_critique") if r[k]["model"].startswith("llama")]
    biased = get_suite("self-preference").run(_ctx(tmp_path, biased_judge("self", 0.9, own=own),
                                                   options={"self": "llama-2-70b-chat"}))
    (row,) = biased.rows
    assert row["n"] == 120 and row["unscored"] == 0  # each record: own llama critique vs the two others
    assert row["equal_opportunity_ci"][0] > 0 and row["excess_ci"][0] > 0
    fair = get_suite("self-preference").run(_ctx(tmp_path, biased_judge("self", 0.0, own=own),
                                                 options={"self": "llama-2-70b-chat"}))
    assert not _excludes_zero(fair.rows[0]["equal_opportunity_ci"])
    assert "llama-2-70b-chat-hf" in biased.notes[0]


def test_self_preference_scores_and_human_correlation(tmp_path):
    rows = _metacritique(tmp_path)
    f1 = {r[k]["critique"]: r[k]["f1_score"] for r in rows for k in ("human_critique", "llm1_critique", "llm2_critique")}

    def by_quality(request, _i):  # a judge that scores critiques by their human F1 (and knows no author)
        text = request.messages[-1]["content"].split("[Response to evaluate]\n", 1)[1].split("\n[Reference", 1)[0]
        return f"Feedback: ok\n[RESULT] {1 + round(4 * f1[text.strip()])}"

    res = get_suite("self-preference").run(_ctx(tmp_path, by_quality, critic="rubric", options={"self": "llama"}))
    by = {r["split"]: r for r in res.rows}
    corr = by["score vs human Meta-F1"]
    assert corr["n"] == 180 and corr["pearson"] > 0.9 and corr["spearman_ci"][0] > 0.8 and corr["kendall"] > 0.7
    pair = by["own vs other (scores)"]
    assert not _excludes_zero(pair["equal_opportunity_ci"])
    assert pair["value_diff"] == pytest.approx(pair["human_f1_diff"], abs=0.05)  # scores follow quality, not authors
    assert by["own critiques"]["n"] == 60 and by["other critiques"]["n"] == 120
    assert by["human critiques"]["n"] == by["llm1 critiques"]["n"] == 60
    anonymous = get_suite("self-preference").run(_ctx(tmp_path, by_quality, critic="rubric"))  # no self: agreement only
    assert [r["split"] for r in anonymous.rows][:3] == ["score vs human Meta-F1", "score vs human Meta-P",
                                                         "score vs human Meta-R"]
    assert anonymous.rows[0]["pearson"] == corr["pearson"] and "own critiques" not in {r["split"] for r in anonymous.rows}


def test_self_preference_scores_detect_a_self_biased_rubric_judge(tmp_path):
    rows = _metacritique(tmp_path)
    own = [r[k]["critique"] for r in rows for k in ("llm1_critique", "llm2_critique") if r[k]["model"].startswith("llama")]
    res = get_suite("self-preference").run(_ctx(tmp_path, biased_judge("self", 1.0, own=own), critic="rubric",
                                                options={"self": "llama-2-70b-chat"}))
    pair = res.rows[0]
    assert pair["split"] == "own vs other (scores)" and pair["value_diff_ci"][0] > 0.1
    assert pair["equal_opportunity_ci"][0] > 0 and pair["value_diff"] - pair["human_f1_diff"] > 0.1


def test_self_preference_options(tmp_path):
    _metacritique(tmp_path, n=4)
    with pytest.raises(UserError, match="self=MODEL"):
        get_suite("self-preference").run(_ctx(tmp_path, biased_judge()))
    with pytest.raises(UserError, match="authors:"):
        get_suite("self-preference").run(_ctx(tmp_path, biased_judge(), options={"self": "gpt-4o"}))
    with pytest.raises(UserError, match="one solution per problem"):
        get_suite("self-preference").run(_ctx(tmp_path, biased_judge(), options={"self": "qwen", "data": "realcritic"}))


def test_suites_are_registered():
    assert {"length-bias", "self-preference"} <= set(available_suites())


# --- on the shared data ---------------------------------------------------------------------------------------------


def test_probes_on_the_shared_data(data_dir):
    from critica.bench.realcritic import load_realcritic

    res = get_suite("length-bias").run(_ctx(data_dir, biased_judge("length", 0.9), splits=["Natural"], limit=30,
                                            options={"pad": [6]}))
    assert res.rows[0]["shift_ci"][0] > 0
    own = [x.solution for x in load_realcritic(data_dir) if not isinstance(x, Exception) and is_own(x.author_model, "qwen")]
    res = get_suite("self-preference").run(_ctx(data_dir, biased_judge("self", 1.0, own=own), critic="rubric", limit=30,
                                                options={"self": "qwen", "data": "realcritic"}))
    strat = res.rows[-1]
    assert strat["split"] == "stratified" and strat["diff_ci"][0] > 0 and strat["n"] == 30 * 7
    res = get_suite("self-preference").run(_ctx(data_dir, biased_judge("self", 0.0), critic="rubric", limit=20,
                                                options={"self": "llama-2-70b-chat"}))
    assert {r["split"] for r in res.rows} >= {"score vs human Meta-F1", "own vs other (scores)"}


def test_grouped_tables_print_intervals_in_the_suites_column_order():
    from critica.report.tables import grouped_tables

    rows = [{"split": "pairs", "n": 3, "excess": 0.5, "excess_ci": [0.1, 0.9]},
            {"split": "corr", "n": 3, "pearson": 0.7, "pearson_ci": [0.2, 0.95]}, {"split": "odd", "zz": 1}]
    text = grouped_tables(rows, [["split", "n", "excess", "excess_ci"], ["split", "n", "pearson", "pearson_ci"]])
    tables = text.split("\n\n")
    assert len(tables) == 3 and tables[0].splitlines()[0] == "| split | n | excess | excess_ci |"
    assert "[0.1, 0.9]" in tables[0] and "corr" not in tables[0] and "[0.2, 0.95]" in tables[1]
    assert "odd" in tables[2]  # a row no group fits is still printed


def test_cli_length_bias_prints_the_shift_with_its_interval(tmp_path, capsys):
    from critica.cli import main

    data = _llmbar(tmp_path, n=6)
    out_json = tmp_path / "lb.json"
    assert main(["bench", "length-bias", "--data-dir", str(data), "--split", "Natural", "--critic", "verifier",
                 "--option", "pad=[2,5]", "--option", "n_boot=50", "--json-out", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "| split | n | scored | pad_words | value_unpadded | value_padded | shift | shift_ci |" in out
    assert "| pad 2 sentences | 6 |" in out and "| pad 5 sentences | 6 |" in out
    doc = json.loads(out_json.read_text())
    assert doc["extra"]["protocol"] == "absolute" and len(doc["items"]) == 18
