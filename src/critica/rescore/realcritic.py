"""Replay of RealCritic critique-and-correct outputs (``…/math_eval/<task>/test_critic_and_correct_…jsonl``).

Source: Tang et al., "RealCritic: Towards Effectiveness-Driven Evaluation of Language Model Critiques" (2025),
github.com/tangzhy/RealCritic (``math_eval.py``, ``evaluate.py``). The metric is closed-loop: is the final answer of
the (possibly corrected) solution right? ``acc = 100·mean(score)`` rounded to one decimal; an output with no answer
counts as wrong.

* ``accuracy`` is the authors' figure, from the per-record grades they stored (``score``, their
  ``extract_answer`` + ``math_equal``); it is what their metrics file reports.
* ``critica_accuracy`` is critica's own reading: the last complete ``\\boxed{}`` of the critic's output, checked
  against ``gt`` with math-verify (symbolic equivalence). No boxed answer = unparsed = wrong (the authors' rule).

The verdict line ("The solution is Correct/Incorrect") and "The first error step number: k" become the critique's
verdict and first error step; they do not enter the metric.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from critica.critics.parse import last_boxed, strip_reasoning
from critica.errors import InputError, MissingDependency
from critica.rescore.base import RescoreResult, field_error, iter_objects, register_adapter
from critica.types import Critique, ParseStatus, Verdict

__all__ = ["replay_realcritic", "answers_equivalent"]

MAX_ANSWER_CHARS = 2_000
"""Longer boxed contents are not parsed (math-verify's cost grows with input size)."""
_VERDICT = re.compile(r"The solution is\s*\**\s*(Correct|Incorrect)\b", re.IGNORECASE)
_STEP = re.compile(r"first error step number\s*[:：]?\s*\**\s*(-?\d+)", re.IGNORECASE)
_CORRECTION = re.compile(r"===CORRECTION_START===(.*?)(?:===CORRECTION_END===|$)", re.DOTALL)


def answers_equivalent(answer: str, gold: str, timeout_s: int = 5) -> bool:
    """Whether ``answer`` and ``gold`` (LaTeX) are equivalent under math-verify. Unparseable → False.

    Raises:
        MissingDependency: math-verify is not installed.
    """
    try:
        from math_verify import parse, verify
    except ImportError as e:  # pragma: no cover - base dependency
        raise MissingDependency("math-verify", "pip install math-verify") from e
    if len(answer) > MAX_ANSWER_CHARS or len(gold) > MAX_ANSWER_CHARS:
        return False
    # math-verify times out with SIGALRM: whole seconds, and only on the main thread.
    t = max(1, int(timeout_s)) if threading.current_thread() is threading.main_thread() else None
    try:
        g = parse(f"${gold}$", parsing_timeout=t)
        p = parse(f"\\boxed{{{answer}}}", parsing_timeout=t)
        return bool(g and p and verify(g, p, timeout_seconds=t))
    except Exception:  # noqa: BLE001 - a checker failure is "not shown equivalent", never a crash
        return False


def _published(path: Path) -> dict[str, Any]:
    metrics = path.with_name(path.stem + "_critic_and_correct_metrics.json")
    if not metrics.is_file():
        metrics = path.with_name(path.stem + "_metrics.json")
    try:
        data = json.loads(metrics.read_text(encoding="utf-8"))
        return {"accuracy": data["acc"], "num_samples": data.get("num_samples"), "file": str(metrics)}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


@register_adapter("realcritic", "RealCritic critique-and-correct jsonl → closed-loop accuracy (%) of corrected answers")
def replay_realcritic(path: str | Path) -> RescoreResult:
    """Replay a RealCritic critique-and-correct file.

    Returns:
        Figures ``n``, ``accuracy`` (authors' stored grades, one decimal), ``empty_samples``,
        ``critica_accuracy`` (last boxed + math-verify, one decimal), ``critica_unparsed``, ``disagreements``
        (records where the two gradings differ) and the verdict-line counts.
    """
    path = Path(path)
    errors: list[InputError] = []
    critiques: list[Critique] = []
    n = authors_ok = have_scores = empty = mine_ok = unparsed = 0
    disagreements: list[dict[str, Any]] = []
    verdicts = {"correct": 0, "incorrect": 0, "none": 0}
    for line, rec in iter_objects(path):
        if isinstance(rec, InputError):
            errors.append(rec)
            continue
        where = f"line {line}"
        crit = rec.get("critic")
        if "idx" not in rec:
            errors.append(field_error(path, where, "idx", "missing"))
            continue
        if not isinstance(crit, list) or not crit or not isinstance(crit[0], str):
            errors.append(field_error(path, where, "critic", "expected a list with the raw critic output"))
            continue
        if not isinstance(rec.get("gt"), str | int | float):
            errors.append(field_error(path, where, "gt", "missing reference answer"))
            continue
        raw, gold = crit[0], str(rec["gt"])
        n += 1
        score = rec.get("score")
        if isinstance(score, list) and score and isinstance(score[0], bool):
            have_scores += 1
            authors_ok += score[0]
        pred = rec.get("pred")
        if isinstance(pred, list) and pred and pred[0] == "":
            empty += 1
        text = strip_reasoning(raw)
        answer = last_boxed(text)
        ok = answer is not None and answers_equivalent(answer, gold)
        mine_ok += ok
        unparsed += answer is None
        if isinstance(score, list) and score and bool(score[0]) != ok:
            disagreements.append({"idx": rec["idx"], "critica_answer": answer,
                                  "authors_pred": pred[0] if isinstance(pred, list) and pred else None,
                                  "gt": gold, "authors": bool(score[0]), "critica": ok})
        vm, sm = list(_VERDICT.finditer(text)), list(_STEP.finditer(text))
        said = vm[-1].group(1).lower() if vm else None
        verdicts[said or "none"] += 1
        step = int(sm[-1].group(1)) if sm else None
        corr = list(_CORRECTION.finditer(text))
        meta = {"corrected_answer": answer, "answer_correct": ok, "gt": gold, "authors_score": score,
                "authors_pred": pred, "model": rec.get("model")}
        if answer is None:
            critiques.append(Critique(item_id=str(rec["idx"]), critic="realcritic-replay", verdict=Verdict.UNSCORED,
                                      parse_status=ParseStatus.FAILED, parse_error="no \\boxed{} answer in the output",
                                      raw_outputs=[raw], metadata=meta))
            continue
        critiques.append(Critique(
            item_id=str(rec["idx"]), critic="realcritic-replay",
            verdict={"correct": Verdict.CORRECT, "incorrect": Verdict.INCORRECT}.get(said or "", Verdict.UNSCORED),
            first_error_step=step - 1 if step is not None and step >= 1 else None,
            explanation=text.split("## Correction")[0].strip(),
            suggested_fix=corr[-1].group(1).strip() if corr else None,
            parse_status=ParseStatus.OK if said else ParseStatus.REPAIRED,
            parse_error=None if said else "no 'The solution is Correct/Incorrect' line",
            raw_outputs=[raw], metadata=meta,
        ))
    figures: dict[str, Any] = {
        "n": n,
        "accuracy": round(100.0 * authors_ok / have_scores, 1) if have_scores else None,
        "empty_samples": empty,
        "critica_accuracy": round(100.0 * mine_ok / n, 1) if n else None,
        "critica_correct": mine_ok,
        "critica_unparsed": unparsed,
        "disagreements": disagreements,
        "verdict_lines": verdicts,
    }
    notes = [
        "accuracy: the authors' per-record grades ('score': their extract_answer + math_equal), 100·mean, 1 decimal"
        + ("" if have_scores == n else f" — only {have_scores}/{n} records carry a grade"),
        "critica_accuracy: last \\boxed{} of the critique-and-correct output vs gt with math-verify; "
        "no boxed answer is unparsed and counts as wrong (as in the authors' metric)",
    ]
    return RescoreResult("realcritic", str(path), figures, critiques, errors, notes, _published(path))
