"""The ``metacritique`` benchmark: critiques scored by AIUs (Sun et al., "The Critique of Critique", ACL 2024
Findings, arXiv:2401.04518) on the 300 human-annotated critiques of ``metacritique/annotation_data.json``.

Splits are the critique sources: ``human`` (Shepherd's human critiques), ``llm1`` and ``llm2`` (LLM critiques, one
of eight models per item; the record names it). Two modes (``--option mode=...``):

* ``score`` (default): every critique is judged by the chosen meta-critic (``--critic metacritique``, the offline
  default, or ``metacritique-llm`` with ``--model``) against GPT-4's reference critique; per source the mean
  predicted Meta-P / Meta-R / Meta-F1 beside the same figures **computed from the human labels** by critica's
  metric code, the count of critiques whose stored ``precision_score`` / ``recall_score`` / ``f1_score`` that
  computation reproduces exactly (it must be all of them), and the Pearson correlation of predicted with human
  Meta-F1. AIUs are extracted by the judge (``--option aius=given`` hands it the human AIUs).
* ``agreement``: the judge gets the human AIUs, so each verdict lines up with a human label; the table gives
  AIU-level accuracy and macro-F1 (factuality, coverage) and critique-level Pearson / Spearman / Kendall of
  Meta-P / R / F1 with the human ones, with item-cluster bootstrap CIs, next to baselines — see
  :mod:`critica.bench.meta_agreement`.

Options: ``mode``, ``aius`` (``extract`` | ``given``), ``bootstrap`` (resamples, default 1000), ``folds`` (5).
"""

from __future__ import annotations

import time
from typing import Any

from critica.bench.base import BenchContext, BenchResult, critique_records, register_suite
from critica.bench.meta_agreement import (
    aiu_figures,
    correlation_figures,
    cv_majority,
    cv_threshold_predictions,
    overlap_share,
    unigram_f1,
)
from critica.bench.metacritique_data import SOURCES, AnnotatedCritique, load_annotations, reproduce_scores
from critica.errors import UserError
from critica.metacritique.base import META_KEY
from critica.metacritique.score import mean_scores, paper_scores
from critica.types import Critique

__all__ = ["run_metacritique", "SCORE_COLUMNS", "AGREEMENT_COLUMNS"]

SCORE_COLUMNS = ["split", "n", "Meta-P", "Meta-R", "Meta-F1", "human P", "human R", "human F1", "exact",
                 "Pearson F1", "unscored"]
AGREEMENT_COLUMNS = ["split", "method", "n", "accuracy", "macro-F1", "unscored AIUs", "Pearson", "Spearman", "Kendall"]
_TRUE = {"factual": True, "not_factual": False, "covered": True, "not_covered": False}


def _record(r: AnnotatedCritique, crit: Critique, exact: dict[str, bool]) -> dict[str, Any]:
    result = crit.metadata.get(META_KEY) or {}
    hyp = result.get("hypothesis_aius") or []
    ref = result.get("reference_aius") or []
    hp, hr, hf = paper_scores(r.precision_labels, r.recall_labels)
    return {
        "id": r.id, "split": r.source, "index": r.index, "model": r.model,
        "human": [hp, hr, hf], "stored": list(r.stored), "exact": exact[r.id],
        "pred": [result.get("precision"), result.get("recall"), result.get("f1")],
        "verdict": crit.verdict.value, "parse_status": crit.parse_status.value, "error": crit.error,
        "pred_factual": [_TRUE.get(a["verdict"]) for a in hyp], "conf_factual": [a.get("confidence") for a in hyp],
        "pred_covered": [_TRUE.get(a["verdict"]) for a in ref], "conf_covered": [a.get("confidence") for a in ref],
        "gold_factual": r.precision_labels, "gold_covered": r.recall_labels,
        "critique_words": len(r.critique.split()), "overlap_f1": unigram_f1(r.critique, r.reference_critique),
        "overlap_factual": [overlap_share(a, " ".join([r.question, r.response, r.reference_answer,
                                                       r.reference_critique])) for a in r.aius],
        "overlap_covered": [overlap_share(a, r.critique) for a in r.reference_aius],
        "n_pred_aius": len(hyp), "n_ref_aius": len(ref),
    }


def _mean(values: list[Any]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _score_rows(items: list[dict[str, Any]], splits: list[str], n_boot: int, seed: int) -> list[dict[str, Any]]:
    rows = []
    for split in [*splits, "all"] if len(splits) > 1 else splits:
        sel = [x for x in items if split in ("all", x["split"])]
        pred = mean_scores(tuple(x["pred"]) for x in sel)
        human = mean_scores(tuple(x["human"]) for x in sel)
        corr = correlation_figures([x["pred"][2] for x in sel], [x["human"][2] for x in sel],
                                   [x["index"] for x in sel], n_boot=n_boot, seed=seed)
        rows.append({"split": split, "n": len(sel), "Meta-P": pred[0], "Meta-R": pred[1], "Meta-F1": pred[2],
                     "human P": human[0], "human R": human[1], "human F1": human[2],
                     "exact": f"{sum(x['exact'] for x in sel)}/{len(sel)}",
                     "Pearson F1": _with_ci(corr["pearson"], corr["pearson_ci"]),
                     "unscored": sum(x["pred"][2] is None for x in sel)})
    return rows


def _with_ci(value: float | None, ci: list[float] | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _aiu_rows(task: str, gold: list[bool], groups: list[int], methods: dict[str, list[bool | None]], n_boot: int,
              seed: int) -> list[dict[str, Any]]:
    rows = []
    for name, pred in methods.items():
        f = aiu_figures(gold, pred, groups, n_boot=n_boot, seed=seed)
        rows.append({"split": f"{task} (AIU)", "method": name, "n": f["n"],
                     "accuracy": _with_ci(f["accuracy"], f["accuracy_ci"]),
                     "macro-F1": _with_ci(f["macro_f1"], f["macro_f1_ci"]),
                     "unscored AIUs": f["unscored"]})
    return rows


def _split_back(flat: list[bool | None], lengths: list[int]) -> list[list[bool | None]]:
    out, pos = [], 0
    for n in lengths:
        out.append(flat[pos:pos + n])
        pos += n
    return out


def _agreement(items: list[dict[str, Any]], judge: str, n_boot: int, seed: int,
               folds: int) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
    aligned = [x for x in items if x["n_pred_aius"] == len(x["gold_factual"]) and x["n_ref_aius"] == len(x["gold_covered"])]
    notes = []
    if len(aligned) < len(items):
        notes.append(f"{len(items) - len(aligned)} critique(s) left out: the judge's AIUs did not line up with the human ones")
    rows: list[dict[str, Any]] = []
    per_critique: dict[str, list[tuple[Any, Any, Any]]] = {}
    thresholds: dict[str, list[float]] = {}
    for task, key in (("factuality", "factual"), ("coverage", "covered")):
        gold = [g for x in aligned for g in x[f"gold_{key}"]]
        groups = [x["index"] for x in aligned for _ in x[f"gold_{key}"]]
        lengths = [len(x[f"gold_{key}"]) for x in aligned]
        methods: dict[str, list[bool | None]] = {judge: [p for x in aligned for p in x[f"pred_{key}"]]}
        conf = [c for x in aligned for c in x[f"conf_{key}"]]
        if conf and all(c is not None for c in conf):
            methods[f"{judge}, CV threshold"], thresholds[task] = cv_threshold_predictions(conf, gold, groups, k=folds, seed=seed)
        methods["majority class (CV)"] = cv_majority(gold, groups, k=folds, seed=seed)
        overlap = [o for x in aligned for o in x[f"overlap_{key}"]]
        methods["token overlap, CV threshold"], _ = cv_threshold_predictions(overlap, gold, groups, k=folds, seed=seed)
        rows += _aiu_rows(task, gold, groups, methods, n_boot, seed)
        for name, pred in methods.items():
            per_critique.setdefault(name, [])
            per_critique[name].append(_split_back(pred, lengths))  # type: ignore[arg-type]
    groups = [x["index"] for x in aligned]
    scorers: dict[str, list[tuple[Any, Any, Any]]] = {judge: [tuple(x["pred"]) for x in aligned]}
    for name in (f"{judge}, CV threshold", "token overlap, CV threshold"):
        if name in per_critique and len(per_critique[name]) == 2:
            facts, covs = per_critique[name]
            scorers[name] = [paper_scores(f, c) for f, c in zip(facts, covs, strict=True)]
    for t, target in enumerate(("Meta-P", "Meta-R", "Meta-F1")):
        human = [x["human"][t] for x in aligned]
        cands: dict[str, list[float | None]] = {n: [s[t] for s in v] for n, v in scorers.items()}
        cands["critique length (words)"] = [float(x["critique_words"]) for x in aligned]
        cands["token overlap with reference critique"] = [x["overlap_f1"] for x in aligned]
        for name, pred in cands.items():
            c = correlation_figures(pred, human, groups, n_boot=n_boot, seed=seed)
            rows.append({"split": f"{target} (critique)", "method": name, "n": c["n"],
                         "Pearson": _with_ci(c["pearson"], c["pearson_ci"]),
                         "Spearman": _with_ci(c["spearman"], c["spearman_ci"]),
                         "Kendall": _with_ci(c["kendall"], c["kendall_ci"])})
    notes.append("AIU level: the judge gets the human AIUs; an unscored verdict counts as wrong. Critique level: "
                 "correlation with Meta-P/R/F1 computed from the human labels (None predictions left out). CIs: 95% "
                 f"percentile bootstrap over items ({n_boot} resamples; an item's critiques resampled together).")
    notes.append(f"CV threshold: chosen for max macro-F1 on the training folds ({folds} folds grouped by item) and "
                 "applied to the held-out fold; no item is scored by a threshold fitted on it.")
    return rows, notes, {"cv_thresholds": thresholds}


@register_suite("metacritique", "MetaCritique (Sun et al. 2024): Meta-P/R/F1 of 300 human-annotated critiques, "
                "judged by a meta-critic and reproduced from the human labels (mode=score|agreement)")
def run_metacritique(ctx: BenchContext) -> BenchResult:
    """Run the suite (see the module docstring)."""
    opts = dict(ctx.options)
    mode = opts.pop("mode", "score")
    if mode not in ("score", "agreement"):
        raise UserError(f"metacritique: mode must be 'score' or 'agreement', not {mode!r}")
    aius = opts.pop("aius", "given" if mode == "agreement" else "extract")
    if aius not in ("extract", "given"):
        raise UserError(f"metacritique: aius must be 'extract' or 'given', not {aius!r}")
    if mode == "agreement" and aius != "given":
        raise UserError("metacritique: mode=agreement needs the human AIUs (aius=given)")
    n_boot = int(opts.pop("bootstrap", 1000))
    folds = int(opts.pop("folds", 5))
    if opts:
        raise UserError(f"metacritique: unknown option(s) {', '.join(sorted(opts))}; takes mode, aius, bootstrap, folds")
    splits = list(ctx.splits or SOURCES)
    records = load_annotations(ctx.data_dir, sources=splits, limit=ctx.limit)
    exact = {x["id"]: x["exact"] for x in reproduce_scores(records)}
    start = time.perf_counter()
    items = critique_records(ctx, records, lambda r: r.item(given_aius=aius == "given"),
                             lambda r, c: _record(r, c, exact))
    wall = time.perf_counter() - start
    n_exact = sum(exact.values())
    notes = [f"human-label Meta-P/R/F1 recomputed by critica.metacritique.score: {n_exact}/{len(exact)} stored "
             "scores reproduced exactly (P, R and F1 ==, integer 0 F1 where the paper's rule gives it)"]
    if mode == "score":
        rows = _score_rows(items, splits, n_boot, ctx.seed)
        columns = SCORE_COLUMNS
        notes.append("Meta-P/R/F1: mean over critiques of the judge's per-critique scores (None left out, counted "
                     "in 'unscored'); human: the same from the human labels; Pearson F1: predicted vs human "
                     f"Meta-F1 per critique, 95% item-bootstrap CI. AIUs: {aius}.")
        extra: dict[str, Any] = {}
    else:
        rows, more, extra = _agreement(items, ctx.critic_name, n_boot, ctx.seed, folds)
        notes += more
        columns = AGREEMENT_COLUMNS
    notes.append("llm1/llm2 critiques come from one of eight models per item (llama-2-70b/13b-chat, vicuna-13b/33b, "
                 "WizardLM-13b/70b, selfee-13b, gpt-3.5-turbo); 'model' in each record says which.")
    return BenchResult(suite="metacritique", critic=ctx.critic_name, model=ctx.model, rows=rows, items=items,
                       notes=notes, wall_s=wall, extra={"columns": columns, "mode": mode, **extra})
