"""Replay of JudgeBench judge outputs (``outputs/dataset=judgebench,…,judge_name=…,judge_model=….jsonl``).

Source: Tan et al., "JudgeBench: A Benchmark for Evaluating LLM-based Judges" (ICLR 2025),
github.com/ScalerLab/JudgeBench, ``utils/judges.py`` and ``utils/metrics.py``. The authors' rule, reproduced here:

* **Arena-Hard judges**: exactly one distinct ``[[…]]`` label gives the decision (">>" read as ">"); none or
  several give null (:func:`critica.critics.labels.arena_decision_authors`).
* **Reward models**: "A>B" if score_A > score_B else "B>A" (an exact tie goes to B>A).
* **Double game**: ``d1 = decision[0]``, ``d2 = flip(decision[1])`` (the second judgment saw the pair swapped);
  each ``d`` adds +1 if it equals the label and −1 if it equals the flipped label; a pair is correct iff the sum is
  positive. So win+tie and win+null are correct; win+loss, tie+tie and null+null are not.
* Accuracy is ``100·correct/pairs`` overall and per category: Knowledge = ``mmlu-pro*``, Reasoning =
  ``livebench-reasoning``, Math = ``livebench-math``, Coding = ``livecodebench``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from critica.critics.labels import arena_decision, arena_decision_authors, flip_decision, llmbar_winner
from critica.errors import InputError
from critica.rescore.base import RescoreResult, field_error, iter_objects, pct, register_adapter
from critica.rescore.pairwise import combine_orders, pairwise_critique
from critica.types import Critique

__all__ = ["replay_judgebench", "judgebench_category", "double_game_correct", "CATEGORIES"]

CATEGORIES = ("Knowledge", "Reasoning", "Math", "Coding")
_PREF = {"A>B": "A", "B>A": "B", "A=B": "tie"}


def judgebench_category(source: str) -> str:
    """JudgeBench category of a pair's ``source`` (``Other`` for sources outside the four)."""
    if source.startswith("mmlu-pro"):
        return "Knowledge"
    if source.startswith("livebench-reasoning"):
        return "Reasoning"
    if source.startswith("livebench-math"):
        return "Math"
    if source.startswith("livecodebench"):
        return "Coding"
    return "Other"


def double_game_correct(label: str, d1: str | None, d2_swapped_frame: str | None) -> bool:
    """The JudgeBench double-game rule for one pair (``d2`` as the judge wrote it, in the swapped frame)."""
    counter = 0
    for d in (d1, flip_decision(d2_swapped_frame)):
        if d == label:
            counter += 1
        elif d == flip_decision(label):
            counter -= 1
    return counter > 0


def _decisions(judge_name: str, judgment: dict[str, Any] | None, stored: str | None) -> tuple[str | None, str | None, str, str]:
    """(authors' decision, critica's decision, raw text, rule used) of one judgment."""
    if judgment is None:
        return None, None, "", "missing judgment"
    raw = str(judgment.get("response") or "")
    if judge_name == "arena_hard":
        return arena_decision_authors(raw), arena_decision(raw), raw, "arena-hard"
    if judge_name == "reward_model" or "scores" in judgment:
        a, b = (float(x) for x in judgment["scores"])
        mine = "A>B" if a > b else "B>A" if b > a else "A=B"
        return ("A>B" if a > b else "B>A"), mine, f"scores: A={a} B={b}", "reward-model"
    if judge_name == "vanilla":
        authors = {"Output (a)": "A>B", "Output (b)": "B>A"}.get(raw.strip())
        w = llmbar_winner(raw)
        return authors, {"1": "A>B", "2": "B>A"}.get(w or ""), raw, "vanilla"
    if judge_name == "auto_j":
        pos = raw.strip().rfind("final decision is ")
        dec = None
        if pos != -1:
            rest = raw.strip()[pos + len("final decision is "):].strip().lower()
            dec = "A>B" if rest.startswith("response 1") else "B>A" if rest.startswith("response 2") else "A=B" if rest.startswith("tie") else None
        return dec, dec, raw, "auto-j"
    # Judges whose replies need the authors' model-specific post-processing: their stored decision is used as is.
    return stored, stored, raw, "stored decision"


@register_adapter("judgebench", "JudgeBench outputs: both-order [[A>B]] labels or reward scores → double-game accuracy")
def replay_judgebench(path: str | Path) -> RescoreResult:
    """Replay a JudgeBench outputs file and compute the double-game accuracy, overall and per category.

    Returns:
        Figures ``n``, ``accuracy`` and ``by_category`` (percent, 2 decimals, authors' rule), ``n_by_category``,
        the decision counts, ``stored_decision_mismatches`` and the ``critica_*`` figures.
    """
    path = Path(path)
    errors: list[InputError] = []
    critiques: list[Critique] = []
    rules: set[str] = set()
    totals: dict[str, list[int]] = {}
    mine_totals: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    mism = unparsed = 0
    for line, rec in iter_objects(path):
        if isinstance(rec, InputError):
            errors.append(rec)
            continue
        where = f"line {line}"
        missing = [k for k in ("pair_id", "source", "label", "judgments") if k not in rec]
        if missing:
            errors.append(field_error(path, where, missing[0], "missing"))
            continue
        js = rec["judgments"]
        if not isinstance(js, list) or len(js) != 2:
            errors.append(field_error(path, where, "judgments", "expected a list of two judgments (original, swapped)"))
            continue
        judge_name = str(rec.get("judge_name", ""))
        try:
            parsed = []
            k = 0
            for j in js:
                judgment = j.get("judgment") if isinstance(j, dict) else None
                stored = j.get("decision") if isinstance(j, dict) else None
                parsed.append((*_decisions(judge_name, judgment, stored), stored, judgment))
                k += 1
        except (KeyError, TypeError, ValueError) as e:
            errors.append(field_error(path, where, f"judgments[{k}].judgment", f"unreadable ({e})"))
            continue
        label = str(rec["label"])
        cat = judgebench_category(str(rec["source"]))
        (a1, m1, raw1, rule, s1, j1), (a2, m2, raw2, _r, s2, _j2) = parsed
        rules.add(rule)
        mism += (a1 != s1) + (a2 != s2)
        for d in (a1, a2):
            counts[str(d)] = counts.get(str(d), 0) + 1
        ok = double_game_correct(label, a1, a2)
        mine_ok = double_game_correct(label, m1, m2)
        unparsed += (m1 is None) + (m2 is None)
        for bucket, good in ((totals, ok), (mine_totals, mine_ok)):
            for key in ("overall", cat):
                bucket.setdefault(key, [0, 0])
                bucket[key][0] += good
                bucket[key][1] += 1
        model = (j1 or {}).get("judge_model") if isinstance(j1, dict) else None
        pid = str(rec["pair_id"])
        samples = [
            pairwise_critique(pid, f"judgebench-{judge_name or 'judge'}", raw1, _PREF.get(m1 or ""), model=model,
                              metadata={"order": "original", "decision": m1, "authors_decision": a1}),
            pairwise_critique(pid, f"judgebench-{judge_name or 'judge'}", raw2, _PREF.get(flip_decision(m2) or ""),
                              model=model, metadata={"order": "swapped", "decision": m2, "authors_decision": a2}),
        ]
        critiques.append(combine_orders(pid, f"judgebench-{judge_name or 'judge'}", samples, model, label=label,
                                        source=rec["source"], category=cat, double_game_correct=ok))

    def fig(bucket: dict[str, list[int]], key: str) -> float | None:
        good, n = bucket.get(key, [0, 0])
        return pct(good, n)

    cats = [c for c in (*CATEGORIES, "Other") if c in totals]
    figures: dict[str, Any] = {
        "n": totals.get("overall", [0, 0])[1],
        "accuracy": fig(totals, "overall"),
        "by_category": {c: fig(totals, c) for c in cats},
        "n_by_category": {c: totals[c][1] for c in cats},
        "decisions": counts,
        "stored_decision_mismatches": mism,
        "critica_accuracy": fig(mine_totals, "overall"),
        "critica_by_category": {c: fig(mine_totals, c) for c in cats},
        "critica_unparsed": unparsed,
    }
    notes = [
        f"decision rule: {', '.join(sorted(rules)) or 'none'}; double game: a pair is correct iff "
        "(+1 per order agreeing with the label, −1 per order contradicting it) > 0, so null and tie count 0",
        "critica_*: the last [[…]] label binds (several distinct labels no longer void the answer); "
        "a reward-model tie is a tie, not B>A",
    ]
    if "stored decision" in rules:
        notes.append("this judge's replies were not re-parsed (model-specific post-processing): stored decisions used")
    return RescoreResult("judgebench", str(path), figures, critiques, errors, notes)
