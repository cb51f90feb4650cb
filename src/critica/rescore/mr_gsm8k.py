"""Replay of MR-GSM8K critic outputs (``eval_results/[gpt4-grading/]<Model>_eval_results.json``).

Source: Zeng et al., "MR-GSM8K: A Meta-Reasoning Benchmark for Large Language Model Evaluation" (arXiv 2312.17080),
github.com/dvlab-research/MR-GSM8K, ``scripts/eval_closed_source_models.py`` (field extraction) and
``scripts/calculate_mr_score.py`` (scoring). The authors' rule, reproduced here:

* fields: "Final Judgement:" … "First Error Step:" … "Error Analysis:" (:func:`mr_gsm8k_fields_authors`);
* task 1: the lower-cased judgement ("incorrect" → "wrong") equals ``model_output_solution_correctness``;
* task 2 (only when gold and prediction are both wrong): the step prediction, accepted if all digits or exactly
  "step N", equals the 1-based gold step as a string;
* task 3: task 2 right **and** the human label ``error_reason_correctness`` is "correct" (S+R/M); the automatic
  variant counts grading records with ``'correct' in Final Decision.lower()`` (S+R/A);
* rates are over the fixed totals of MR-GSM8K (1,427 correct, 1,573 incorrect solutions); MCC from tp and tn;
  ``MR-Score = 0.2·max(0, MCC) + 0.3·Step + 0.5·Reason``.

A gpt4-grading file holds only the task-3 subset, so TPR/TNR/MCC and Step need the full file (pass ``mcc`` and
``step`` to get the MR-Scores from published task-1/2 figures).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from critica.critics.labels import (
    grade_decision,
    grade_decision_authors,
    mr_gsm8k_fields_authors,
    mr_gsm8k_step_authors,
    mr_gsm8k_verdict_authors,
    parse_mr_gsm8k,
)
from critica.errors import InputError
from critica.rescore.base import RescoreResult, field_error, iter_objects, pct, register_adapter
from critica.types import Critique, ParseStatus, Verdict

__all__ = ["replay_mr_gsm8k", "mr_score", "mcc_from_counts"]

CORRECT_TOTAL = 1427
INCORRECT_TOTAL = 1573
_REQUIRED = ("uuid", "model_output_solution_correctness", "model_output_solution_first_error_step")


def mcc_from_counts(tp: int, tn: int, correct_total: int = CORRECT_TOTAL, incorrect_total: int = INCORRECT_TOTAL) -> float | None:
    """The authors' MCC, with fp = incorrect_total − tn and fn = correct_total − tp; None when undefined."""
    fp, fn = incorrect_total - tn, correct_total - tp
    den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return None if den == 0 else (tp * tn - fp * fn) / den


def mr_score(mcc: float, step: float, reason: float) -> float:
    """MR-Score = 0.2·max(0, MCC) + 0.3·Step + 0.5·Reason (rates as fractions); the code clips MCC at 0."""
    return 0.2 * max(0.0, mcc) + 0.3 * step + 0.5 * reason


@register_adapter("mr-gsm8k", "MR-GSM8K eval results: Final Judgement / First Error Step / Error Analysis → task 1–3, MR-Score")
def replay_mr_gsm8k(
    path: str | Path,
    *,
    mcc: float | None = None,
    step: float | None = None,
    correct_total: int = CORRECT_TOTAL,
    incorrect_total: int = INCORRECT_TOTAL,
) -> RescoreResult:
    """Replay an MR-GSM8K results file.

    Args:
        path: ``<Model>_eval_results.json`` (full, all items) or its ``gpt4-grading`` subset.
        mcc: Published task-1 MCC, used for the MR-Scores when the file cannot give it (grading subsets).
        step: Published task-2 Step accuracy in percent (as in the paper's table), likewise.
        correct_total: Correct solutions in the benchmark (denominator of TPR).
        incorrect_total: Incorrect solutions (denominator of TNR, Step, S+R).

    Returns:
        Figures ``records``, ``parse_agreement`` (fraction of records where critica's verdict and 1-based step equal
        the authors' stored parsed fields), ``step_and_reason_correct`` (count, S+R/M numerator), ``s_r_manual``
        (percent of ``incorrect_total``), ``reason_auto_correct`` and ``s_r_auto``, task-1/2 figures when the file
        is complete, MR-Scores when MCC and Step are known, and ``critica_*`` counterparts.
    """
    path = Path(path)
    errors: list[InputError] = []
    critiques: list[Critique] = []
    records = agree = tp = tn = step_ok = sr = auto = 0
    k_sr = k_auto = k_unparsed = refield_mismatch = 0
    has_correct_items = False
    has_grades = False
    model_key = None
    for index, rec in iter_objects(path):
        if isinstance(rec, InputError):
            errors.append(rec)
            continue
        where = f"index {index}"
        keys = [k for k in rec if "_eval_output" in k]
        missing = [k for k in _REQUIRED if k not in rec]
        if missing or not keys or not isinstance(rec[keys[0]], dict) or not isinstance(rec[keys[0]].get("response"), str):
            errors.append(field_error(path, where, missing[0] if missing else (keys[0] + ".response" if keys else "<model>_eval_output"),
                                      "missing or not text"))
            continue
        model_key = keys[0]
        out = rec[model_key]
        raw = out["response"]
        records += 1
        gold = str(rec["model_output_solution_correctness"]).lower()
        gold_step = str(rec["model_output_solution_first_error_step"])
        has_correct_items |= gold == "correct"
        # The authors' stored fields; a record without them is re-cut with their regexes.
        fields = mr_gsm8k_fields_authors(raw)
        stored = (out.get("correctness_pred"), out.get("error_step_pred"))
        if not all(isinstance(s, str) for s in stored):
            stored = (fields.judgement, fields.error_step) if fields else ("", "")
        elif fields is None or (fields.judgement, fields.error_step) != stored:
            refield_mismatch += 1
        a_verdict = mr_gsm8k_verdict_authors(stored[0])
        a_step = mr_gsm8k_step_authors(stored[1])
        mine = parse_mr_gsm8k(raw)
        agree += mine.verdict == a_verdict and (str(mine.first_error_step) if mine.first_error_step else "") == a_step
        reason_human = str(rec.get("error_reason_correctness", "")).lower() == "correct"
        a_step_right = False
        if gold == a_verdict:
            if gold == "correct":
                tp += 1
            else:
                tn += 1
                a_step_right = a_step == gold_step
                step_ok += a_step_right
                sr += a_step_right and reason_human
        k_sr += mine.verdict == "wrong" == gold and str(mine.first_error_step) == gold_step and reason_human
        grading = rec.get("gpt4_error_reason_correctness_analysis")
        grade_text = grading.get("Final Decision") if isinstance(grading, dict) else None
        if isinstance(grade_text, str):
            has_grades = True
            auto += grade_decision_authors(grade_text)
            k_auto += grade_decision(grade_text) is True
        if mine.verdict is None:
            k_unparsed += 1
            critiques.append(Critique(
                item_id=str(rec["uuid"]), critic="mr-gsm8k-replay", verdict=Verdict.UNSCORED,
                parse_status=ParseStatus.FAILED, parse_error="no 'Final Judgement: correct|wrong' line",
                raw_outputs=[raw], metadata={"model": model_key.removesuffix("_eval_output"), "authors_verdict": a_verdict},
            ))
            continue
        critiques.append(Critique(
            item_id=str(rec["uuid"]), critic="mr-gsm8k-replay",
            verdict=Verdict.CORRECT if mine.verdict == "correct" else Verdict.INCORRECT,
            first_error_step=mine.first_error_step - 1 if mine.first_error_step else None,
            explanation=mine.error_reason or "",
            parse_status=ParseStatus.OK if fields else ParseStatus.REPAIRED,
            parse_error=None if fields else "fields found only by critica's lenient reading",
            raw_outputs=[raw],
            metadata={"model": model_key.removesuffix("_eval_output"), "authors_verdict": a_verdict,
                      "authors_step": a_step, "step_correct": a_step_right, "reason_correct_human": reason_human,
                      "reason_grade": grade_text},
        ))
    figures: dict[str, Any] = {
        "records": records,
        "parse_agreement": round(agree / records, 4) if records else None,
        "stored_field_mismatches": refield_mismatch,
        "true_negatives": tn,
        "step_correct": step_ok,
        "step_and_reason_correct": sr,
        "s_r_manual": pct(sr, incorrect_total),
    }
    if has_grades:
        figures["reason_auto_correct"] = auto
        figures["s_r_auto"] = pct(auto, incorrect_total)
    notes = ["S+R: step right and the human label says the reason is correct, over the fixed "
             f"{incorrect_total} incorrect solutions; S+R/A counts 'correct' in the GPT-4 Final Decision (substring)"]
    if has_correct_items:
        m = mcc_from_counts(tp, tn, correct_total, incorrect_total)
        figures |= {"true_positives": tp, "tpr": pct(tp, correct_total), "tnr": pct(tn, incorrect_total),
                    "mcc": None if m is None else round(m, 3), "step": pct(step_ok, incorrect_total)}
        mcc = m if mcc is None else mcc
        step = 100.0 * step_ok / incorrect_total if step is None else step
    else:
        notes.append("task-3 subset (no correct solutions): TPR/TNR/MCC and Step need the full results file; "
                     "pass --mcc and --step for the MR-Scores")
    if mcc is not None and step is not None:
        step_frac = step / 100
        figures["mr_score_manual"] = round(mr_score(mcc, step_frac, sr / incorrect_total), 3)
        if has_grades:
            figures["mr_score_auto"] = round(mr_score(mcc, step_frac, auto / incorrect_total), 3)
    figures |= {
        "critica_step_and_reason_correct": k_sr,
        "critica_s_r_manual": pct(k_sr, incorrect_total),
        "critica_unparsed": k_unparsed,
    }
    if has_grades:
        figures["critica_reason_auto_correct"] = k_auto
    return RescoreResult("mr-gsm8k", str(path), figures, critiques, errors, notes)
