"""MetaCritique: the paper's metric, AIU splitting, the offline and LLM judges, the critic, CLI, server and the
Meta-F1 export filter (tiny hand-written fixtures; the real data only in the reproduction test)."""

from __future__ import annotations

import asyncio
import json

import pytest

from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend, ScriptedError
from critica.critics.registry import build_critic
from critica.errors import OptionError
from critica.metacritique import MetaInput, meta_critique, meta_f1, paper_scores, split_aius
from critica.metacritique.llm import LLMMetaJudge, parse_claims, parse_verification
from critica.metacritique.offline import OfflineMetaJudge
from critica.types import Coverage, Factuality, Item, Verdict

ITEM = Item(id="q1", question="What is 2 + 2?", response="2 + 2 = 5", reference_answer="2 + 2 = 4")


# -- the metric --------------------------------------------------------------------------------------------------


def test_paper_scores_follow_the_upstream_rule_to_the_last_digit():
    p, r, f1 = paper_scores([True, False, True], [True, False, False, False, True, True, False])
    assert p == 2 / 3 and r == 3 / 7
    assert f1 == 2 / (1 / p + 1 / r)
    # p=1, r=1/5: the upstream expression gives 0.3333333333333333, 2pr/(p+r) 0.33333333333333337 — the stored
    # scores are compared to the last digit, so the exact expression matters
    assert paper_scores([True], [True, False, False, False, False])[2] == 0.3333333333333333


def test_f1_is_the_integer_zero_when_precision_or_recall_is_zero():
    assert paper_scores([False, False], [True])[2] == 0 and isinstance(paper_scores([False], [True])[2], int)
    assert isinstance(paper_scores([True], [False])[2], int)
    assert isinstance(paper_scores([True], [True])[2], float)


def test_unscored_labels_are_left_out_and_nothing_scored_is_none():
    assert paper_scores([True, None, False], [None, True]) == (0.5, 1.0, 2 / (1 / 0.5 + 1))
    assert paper_scores([], [True]) == (None, 1.0, None)
    assert paper_scores([None], [None])[2] is None
    assert meta_f1(None, 0.5) is None


# -- AIU splitting -----------------------------------------------------------------------------------------------


def test_split_aius_cuts_sentences_and_clauses_and_drops_list_markers():
    text = ("1. The answer is wrong, which misleads the reader.\n2. The correct answer is 4.\n"
            "Suggestion: Check the sum; add the numbers again.")
    aius = split_aius(text)
    assert aius == ["The answer is wrong", "which misleads the reader.", "The correct answer is 4.",
                    "Check the sum", "add the numbers again."]
    assert split_aius("") == [] and split_aius("   ") == []


# -- the offline judge -------------------------------------------------------------------------------------------


def test_offline_judge_covers_what_the_critique_says_and_not_what_it_omits():
    judge = OfflineMetaJudge(embedder=None)
    r = meta_critique(ITEM, "The response is incorrect because 2 + 2 equals 4, not 5.",
                      reference_aius=["The response is incorrect because 2 + 2 equals 4.",
                                      "Photosynthesis converts sunlight into chemical energy in plants."],
                      reference_critique="The response is incorrect because 2 + 2 equals 4.", judge=judge)
    assert [a.verdict for a in r.reference_aius] == [Coverage.COVERED, Coverage.NOT_COVERED]
    assert r.recall == 0.5 and r.recall_coverage == 1.0 and r.method == "lexical"
    assert all(a.confidence is not None for a in r.hypothesis_aius)


def test_offline_judge_without_a_reference_critique_leaves_recall_unscored():
    r = meta_critique(ITEM, "The answer is wrong.", judge=OfflineMetaJudge(embedder=None))
    assert r.recall is None and r.f1 is None and r.reference_aius == []
    assert any("no reference critique" in n for n in r.notes)


def test_offline_judge_rejects_thresholds_outside_0_1():
    with pytest.raises(Exception, match="between 0 and 1"):
        OfflineMetaJudge(embedder=None, coverage_threshold=1.5)


# -- the LLM judge (scripted backend) ----------------------------------------------------------------------------


def _caller(reply) -> tuple[Caller, ScriptedBackend]:
    backend = ScriptedBackend(reply)
    return Caller(backend, CallPolicy(retries=0, timeout_s=5)), backend


def _user(request) -> str:
    return request.messages[-1]["content"]


def test_llm_judge_uses_the_three_prompts_and_an_unparseable_judgment_is_unscored():
    def reply(request, _i):
        text = _user(request)
        if text.startswith("input:"):  # extraction
            return "The answer is wrong.\nThe correct answer is 4.\nThe answer is too long."
        if "<reference text>" in text:  # recall
            return "The reference says so. Therefore, the claim is true."
        if "too long" in text:
            return "I am not sure about this one."  # no verdict: unscored
        if "correct answer is 4" in text:
            return '{"verification": "4 is right", "claim_is": "true"}'
        return "The claim is true at first sight, but the claim is false."  # the last occurrence binds

    caller, backend = _caller(reply)
    judge = LLMMetaJudge(caller)
    r = asyncio.run(judge.judge(ITEM, MetaInput("The answer is wrong. 4 is correct. Too long.", "It is wrong.",
                                                reference_aius=["The answer is wrong.", "4 is right."])))
    assert [a.verdict for a in r.hypothesis_aius] == [Factuality.NOT_FACTUAL, Factuality.FACTUAL, Factuality.UNSCORED]
    assert r.precision == 0.5  # 1 factual of 2 scored: the unscored AIU is in neither count
    assert r.precision_coverage == pytest.approx(2 / 3) and r.recall == 1.0 and r.f1 == 2 / (1 / 0.5 + 1)
    assert any("unscored" in n for n in r.notes)
    prompts = [_user(q) for q in backend.requests]
    assert sum(p.startswith("input:") for p in prompts) == 1  # reference AIUs were given: one extraction
    precision_prompt = next(p for p in prompts if "<claim>\nThe correct answer is 4." in p and "<input question>" in p)
    assert "<reference answer>\n2 + 2 = 4" in precision_prompt and "<model-generated answer>\n2 + 2 = 5" in precision_prompt
    assert backend.requests[0].messages[0]["role"] == "system"
    assert all(q.json_schema is not None for q in backend.requests)  # structured by default


def test_llm_judge_writes_the_reference_critique_from_the_reference_answer_when_none_is_given():
    def reply(request, _i):
        text = _user(request)
        if text.startswith("input question:"):
            return "The response is wrong: 2 + 2 is 4."
        if text.startswith("input:"):
            return '{"claims": ["One claim."]}'
        return "Therefore, the claim is true."

    caller, backend = _caller(reply)
    r = asyncio.run(LLMMetaJudge(caller).judge(ITEM, MetaInput("It is wrong.")))
    assert r.reference_generated and r.reference_critique == "The response is wrong: 2 + 2 is 4."
    assert "reference answer:\n2 + 2 = 4" in _user(backend.requests[0])
    assert r.f1 == 1.0 and r.usage.calls == len(backend.requests)


def test_llm_judge_backend_failure_leaves_aius_unscored_not_false():
    def reply(request, _i):
        if _user(request).startswith("input:"):
            return "A claim."
        return ScriptedError("down", retryable=False)

    caller, _ = _caller(reply)
    r = asyncio.run(LLMMetaJudge(caller).judge(ITEM, MetaInput("x", "y", reference_aius=["z"])))
    assert r.hypothesis_aius[0].verdict is Factuality.UNSCORED and r.reference_aius[0].verdict is Coverage.UNSCORED
    assert r.precision is None and r.recall is None and r.f1 is None and r.error


def test_parsers():
    assert parse_verification("... Therefore, the claim is false.") is False
    assert parse_verification('{"verification": "x", "claim_is": "true"}') is True
    assert parse_verification("no idea") is None and parse_verification(None) is None
    assert parse_claims("claims:\n- First.\n2. Second.\n\n") == ["First.", "Second."]
    assert parse_claims("") is None


# -- as a critic ---------------------------------------------------------------------------------------------------


def test_metacritique_critic_returns_meta_f1_as_score_and_the_result_in_metadata():
    critic = build_critic("metacritique", None, lexical=True)
    item = ITEM.model_copy(update={"metadata": {"critique": "The response is incorrect because 2 + 2 equals 4.",
                                                "reference_critique": "The response is incorrect because 2 + 2 equals 4."}})
    c = asyncio.run(critic.critique(item))
    meta = c.metadata["metacritique"]
    assert c.score is not None and c.score.max == 1 and c.score.value == meta["f1"]
    assert c.verdict == (Verdict.CORRECT if meta["f1"] >= 0.5 else Verdict.INCORRECT)
    missing = asyncio.run(critic.critique(ITEM))
    assert missing.verdict == Verdict.UNSCORED and "critique" in (missing.parse_error or "")


def test_metacritique_options_are_typed():
    with pytest.raises(OptionError, match="coverage_threshold"):
        build_critic("metacritique", None, coverage_threshold="high")
    with pytest.raises(OptionError, match="embedder"):
        build_critic("metacritique", None, embedder="x")


def test_llm_critic_via_registry_needs_a_model():
    with pytest.raises(Exception, match="needs a model"):
        build_critic("metacritique-llm", None)


# -- the real data: every stored score reproduced exactly ------------------------------------------------------------


def test_every_stored_human_label_score_is_reproduced_exactly(data_dir):
    from critica.bench.metacritique_data import load_annotations, reproduce_scores

    if not (data_dir / "metacritique" / "annotation_data.json").is_file():
        pytest.skip("MetaCritique data not present")
    rows = reproduce_scores(load_annotations(data_dir))
    assert len(rows) == 300
    bad = [r for r in rows if not r["exact"]]
    assert not bad, bad[:3]
    # the exact comparison includes the type: an integer 0 F1 exactly where the file stores one
    assert sum(isinstance(r["stored"][2], int) for r in rows) == sum(isinstance(r["f1"], int) for r in rows) > 0


# -- the benchmark suite on a hand-written fixture -------------------------------------------------------------------


def _annotated(index: int, f1_zero: bool) -> dict:
    ref_aius = ["The response is incorrect.", "The sum of 2 and 2 is 4."]

    def crit(text, aius, plabels, rlabels):
        p, r, f1 = paper_scores(plabels, rlabels)
        return {"critique": text, "aius": aius, "precision_labels": plabels, "recall_labels": rlabels,
                "precision_score": p, "recall_score": r, "f1_score": f1, "model": "m"}

    return {
        "index": index, "question": f"What is 2 + 2? ({index})", "response": "5", "gpt4_answer": "4",
        "gpt4_critique": {"critique": " ".join(ref_aius), "aius": ref_aius},
        "human_critique": crit("The response is incorrect. The sum is 4.", ["The response is incorrect.", "The sum is 4."],
                               [True, True], [True, not f1_zero] if not f1_zero else [False, False]),
        "llm1_critique": crit("The response is correct.", ["The response is correct."], [False], [False, False]),
        "llm2_critique": crit("It is wrong; 2 + 2 is 4.", ["It is wrong.", "2 + 2 is 4."], [True, True], [True, True]),
    }


@pytest.fixture
def meta_data(tmp_path):
    folder = tmp_path / "metacritique"
    folder.mkdir()
    (folder / "annotation_data.json").write_text(json.dumps([_annotated(0, False), _annotated(1, True),
                                                             _annotated(2, False)]))
    return tmp_path


def _ctx(data, **options):
    pytest.importorskip("scipy")
    from critica.bench.base import BenchContext

    return BenchContext(data_dir=data, make_critic=lambda: OfflineMetaJudge(embedder=None), critic_name="metacritique",
                        options={"bootstrap": 20, **options})


def test_bench_score_mode_reports_human_label_scores_and_exact_reproduction(meta_data):
    from critica.bench.metacritique import run_metacritique

    res = run_metacritique(_ctx(meta_data))
    rows = {r["split"]: r for r in res.rows}
    assert set(rows) == {"human", "llm1", "llm2", "all"} and rows["all"]["n"] == 9
    assert rows["all"]["exact"] == "9/9" and "9/9" in res.notes[0]
    assert rows["llm1"]["human F1"] == 0 and rows["llm2"]["human F1"] == 1.0
    assert all(x["pred"][2] is not None for x in res.items)


def test_bench_agreement_mode_aligns_verdicts_with_human_aius_and_has_baselines(meta_data):
    from critica.bench.metacritique import run_metacritique

    res = run_metacritique(_ctx(meta_data, mode="agreement", folds=3))
    methods = {(r["split"], r["method"]) for r in res.rows}
    assert ("factuality (AIU)", "metacritique") in methods and ("coverage (AIU)", "majority class (CV)") in methods
    assert ("Meta-F1 (critique)", "critique length (words)") in methods
    assert ("coverage (AIU)", "metacritique, CV threshold") in methods
    cov = next(r for r in res.rows if r["split"] == "coverage (AIU)" and r["method"] == "metacritique")
    assert cov["n"] == 18  # 9 critiques x 2 reference AIUs: one verdict per human label
    with pytest.raises(Exception, match="aius=given"):
        run_metacritique(_ctx(meta_data, mode="agreement", aius="extract"))
    with pytest.raises(Exception, match="unknown option"):
        run_metacritique(_ctx(meta_data, colour="red"))


def test_bench_detects_a_stored_score_that_the_metric_does_not_reproduce(meta_data):
    from critica.bench.metacritique_data import load_annotations, reproduce_scores

    path = meta_data / "metacritique" / "annotation_data.json"
    rows = json.loads(path.read_text())
    rows[0]["llm1_critique"]["f1_score"] = 0.0  # a float where the paper's rule gives the integer 0
    rows[1]["human_critique"]["precision_score"] = 0.9
    path.write_text(json.dumps(rows))
    bad = [r["id"] for r in reproduce_scores(load_annotations(meta_data)) if not r["exact"]]
    assert bad == ["0:llm1", "1:human"]


# -- CLI, server, export filter --------------------------------------------------------------------------------------


def test_cli_metacritique_writes_one_result_per_record_and_exits_1_on_a_record_without_critique(tmp_path):
    from critica.cli import main

    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "question": "2+2?", "response": "5", "reference_answer": "4",
         "critique": "The answer 5 is wrong; 2+2 is 4.", "reference_critique": "The answer is wrong: 2+2 is 4."},
        {"id": "b", "question": "2+2?", "response": "4"},
    ]) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["metacritique", str(path), "--lexical", "-o", str(out)]) == 1
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["item_id"] for x in lines] == ["a"] and lines[0]["f1"] is not None


def test_server_metacritique_endpoint_returns_typed_results_and_lists_invalid_items():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from critica.config import Settings
    from critica.server import ServerConfig, create_app

    cfg = ServerConfig(settings=Settings(), critic="verifier")
    client = TestClient(create_app(None, cfg))
    body = {"items": [{"id": "a", "question": "2+2?", "response": "5", "critique": "Wrong; it is 4.",
                       "reference_critique": "Wrong: 2+2 is 4."},
                      {"id": "b", "question": "2+2?", "response": "5"}],
            "options": {"lexical": True}}
    r = client.post("/v1/metacritique", json=body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert [x["item_id"] for x in doc["results"]] == ["a"] and doc["results"][0]["judge"] == "metacritique"
    assert len(doc["errors"]) == 1 and "critique" in doc["errors"][0]["message"]
    assert client.post("/v1/metacritique", json={"items": [{"question": "q", "response": "r"}]}).status_code == 422
    assert client.post("/v1/metacritique", json={**body, "critic": "direct"}).status_code == 422
    keyed = TestClient(create_app(None, ServerConfig(settings=Settings(), critic="verifier", api_keys=["k"])))
    assert keyed.post("/v1/metacritique", json=body).status_code == 401
    assert keyed.post("/v1/metacritique", json=body, headers={"X-API-Key": "k"}).status_code == 200


class _FixedJudge:
    name = "fixed"

    def __init__(self, f1_by_text):
        self.f1_by_text = f1_by_text

    async def judge(self, item, given):
        from critica.types import MetaCritiqueResult

        f1 = next((v for k, v in self.f1_by_text.items() if k in given.critique), None)
        return MetaCritiqueResult(item_id=item.id, judge=self.name, critique=given.critique,
                                  reference_critique=given.reference_critique or "", f1=f1)


def test_meta_f1_filter_keeps_critiques_at_or_above_the_threshold_in_order():
    from critica.metacritique.filter import FilterStats, meta_f1_filter
    from critica.types import Critique

    recs = [(ITEM.model_copy(update={"id": f"i{k}"}),
             Critique(item_id=f"i{k}", critic="direct", verdict=Verdict.INCORRECT, explanation=text))
            for k, text in enumerate(["good one", "bad one", "unknown", "good two"])]
    recs.append((None, Critique(item_id="x", critic="direct", verdict=Verdict.CORRECT)))
    stats = FilterStats()
    kept = list(meta_f1_filter(recs, 0.5, _FixedJudge({"good": 0.5, "bad": 0.49}), stats=stats, batch=2))
    assert [i.id for i, _ in kept] == ["i0", "i3"]
    assert (stats.kept, stats.below, stats.unscored) == (2, 1, 2)
    assert kept[0][1].metadata["metacritique"]["f1"] == 0.5


@pytest.mark.timeout(300)
def test_llm_judge_runs_end_to_end_on_smollm2(local_backend):
    """Pipeline check only: SmolLM2-135M's verdicts say nothing about critique quality (never pinned)."""
    caller = Caller(local_backend, CallPolicy(timeout_s=300, retries=0, concurrency=1))
    judge = LLMMetaJudge(caller, max_tokens=48)
    r = asyncio.run(judge.judge(ITEM, MetaInput("The answer is wrong.", "The answer 5 is wrong.",
                                                critique_aius=["The answer is wrong."],
                                                reference_aius=["The answer is wrong."])))
    assert len(r.hypothesis_aius) == 1 and len(r.reference_aius) == 1 and r.usage.calls == 2
    v = r.hypothesis_aius[0].verdict
    assert r.precision == {Factuality.FACTUAL: 1.0, Factuality.NOT_FACTUAL: 0.0, Factuality.UNSCORED: None}[v]
    assert r.precision_coverage == (0.0 if v is Factuality.UNSCORED else 1.0)


def test_runs_export_min_meta_f1_keeps_only_well_scored_critiques(tmp_path, capsys):
    from critica.cli import main
    from critica.store import Store
    from critica.types import Critique

    ref = "The response is incorrect because 2 + 2 equals 4, not 5."
    db = tmp_path / "c.db"
    with Store.open(db) as store:
        store.create_run("r", {"critic": "direct"}, protocol="direct", model="openai:x")
        for k, text in enumerate([ref, "Photosynthesis converts sunlight into chemical energy in green plants."]):
            store.add_critique("r", Critique(item_id=f"i{k}", critic="direct", verdict=Verdict.INCORRECT, explanation=text),
                               ITEM.model_copy(update={"id": f"i{k}", "metadata": {"reference_critique": ref}}))
        store.add_critique("r", Critique(item_id="i2", critic="direct", verdict=Verdict.INCORRECT, explanation=ref),
                           ITEM.model_copy(update={"id": "i2"}))  # no reference critique: recall unscored, dropped
    out = tmp_path / "sft.jsonl"
    assert main(["runs", "export", "r", "--format", "sft", "--min-meta-f1", "0.3", "-o", str(out), "--db", str(db)]) == 0
    assert [json.loads(x)["item_id"] for x in out.read_text().splitlines()] == ["i0"]
    assert "kept 1" in capsys.readouterr().err
    assert main(["runs", "export", "r", "--min-meta-f1", "1.5", "--db", str(db)]) == 2
