"""Process-supervision suites: ProcessBench (4 splits), MR-GSM8K and PRMBench.

Each suite loads labelled solutions (:mod:`critica.bench.datasets`), runs the critic under test over them with
bounded concurrency, turns every critique into a first-error prediction, and reports per split (definitions in
:mod:`critica.bench.metrics`): ProcessBench accuracy on erroneous and correct items and their F1 (with a bootstrap
95% CI), flag precision (solution-level and exact-step), false-alarm rate, recall, unscored items (counted as
wrong *and* reported) and unchecked items (the critic checked no step: for the ``verifier`` critic, "no error
found" there means "nothing could be checked").

Critique → prediction: ``unscored`` → None; a ``first_error_step`` → that index; ``incorrect`` without a step →
:data:`~critica.bench.metrics.FLAG_NO_STEP`; otherwise -1.

The official reading (``official_parse``; ProcessBench and MR-GSM8K with the ``processbench`` critic): the prediction
is what ProcessBench's ``run_eval.py`` reads from the raw replies — the last ``\\boxed{...}`` of a reply, ``int()``,
None (counted wrong) when there is none or it is not an integer; over k samples the most common raw answer string
(:func:`critica.critics.processbench.official_vote`). It is on by default with ``--text`` (the official template;
figures then compare with the paper's) and can be set with ``--option official_parse=true|false``; critica's own
reading stays in each record's ``pred_critica``.

Maj@k: ``--samples K`` on these two suites votes with :func:`critica.aggregate.reducers.answer_mode` (the official
rule: the most common whole answer, index or -1), not critica's verdict-then-step ``majority``, unless the scaling
config names a reducer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from critica.bench.base import BenchContext, BenchResult, critique_records, register_suite
from critica.bench.datasets import (
    PROCESSBENCH_SPLITS,
    LabeledItem,
    Loaded,
    load_mr_gsm8k,
    load_prmbench,
    load_processbench,
)
from critica.bench.metrics import (
    FLAG_NO_STEP,
    bootstrap_ci,
    flag_stats,
    prm_score,
    processbench_scores,
    throughput,
)
from critica.critics.processbench import official_vote
from critica.errors import UserError
from critica.types import Critique, StepVerdict, Verdict

__all__ = ["prediction", "official_prediction", "evaluate_records", "run_labeled", "PROCESS_NOTES"]

PROCESS_NOTES = [
    "acc_err / acc_cor / F1: ProcessBench (Zheng et al. 2024) — exact earliest-error index on erroneous items, "
    "'no error' on correct items, harmonic mean; unscored items count as wrong and are also listed.",
    "flags: predictions other than 'no error'; located: flags naming a step; prec_sol = flags on erroneous "
    "solutions / flags; prec_step = located flags at exactly the gold first error / located flags; FA = flags on "
    "correct solutions / correct solutions; recall = exact first error found / erroneous solutions.",
    "prec_bound (critics that bound the first error, e.g. the verifier): flags whose claim 'the first error is at or "
    "before step b' holds / such flags; prec_step@earliest and recall@earliest: the same critic naming every bound "
    "as the first error.",
    "unchecked: items where the critic checked no step at all (its 'no error' is then uninformative).",
    "CIs: percentile bootstrap over items, 1000 resamples, seeded.",
]


def prediction(c: Critique) -> int | None:
    """The first-error prediction a critique makes (see the module docstring)."""
    if c.verdict == Verdict.UNSCORED:
        return None
    if c.first_error_step is not None:
        return c.first_error_step
    if c.verdict == Verdict.INCORRECT:
        return FLAG_NO_STEP
    return -1


def _replies(c: Critique) -> list[str | None]:
    """The reply behind each sample of a critique (a vote's samples, recursively), None for a failed call."""
    if c.samples:
        return [t for s in c.samples for t in _replies(s)]
    return [c.raw_outputs[-1] if c.raw_outputs else None]


def official_prediction(c: Critique) -> int | None:
    """The prediction ProcessBench's ``run_eval.py`` makes from the critique's raw replies (one, or k samples)."""
    return official_vote(_replies(c))


def official_parse(ctx: BenchContext) -> bool:
    """Whether predictions use the official reading (see the module docstring); refuses settings it cannot honour."""
    value = ctx.options.get("official_parse")
    if value is None:
        return not ctx.structured and ctx.critic_name == "processbench"
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        value = value.strip().lower() in ("true", "1", "yes")
    if not isinstance(value, bool):
        raise UserError(f"--option official_parse={value!r}: expected true or false")
    if value and ctx.critic_name != "processbench":
        raise UserError("official_parse=true reads the processbench critic's boxed 0-based index: use --critic processbench")
    if value and ctx.structured:
        raise UserError("official_parse=true reads the boxed answer of the official free-text template: add --text")
    return value


def _record(li: LabeledItem, c: Critique, official: bool = False) -> dict[str, Any]:
    pred = prediction(c)
    critica_pred = pred
    if official:
        pred = official_prediction(c)
    checked = c.metadata.get("checked_steps")
    if checked is None and c.steps:
        checked = sum(s.verdict != StepVerdict.UNCHECKED for s in c.steps)
    rec = {
        "id": li.item.id, "split": li.split, "label": li.label, "pred": pred, "correct": pred == li.label,
        "verdict": c.verdict.value, "n_steps": len(li.item.steps or []), "checked_steps": checked,
        "pred_error_steps": sorted({s.index for s in c.steps if s.verdict == StepVerdict.INCORRECT}
                                   | ({pred} if pred is not None and pred >= 0 else set())),
        "parse_status": c.parse_status.value, "error": c.error, "latency_s": round(c.latency_s, 4),
        "explanation": c.explanation[:600],
    }
    if official:
        rec["pred_critica"] = critica_pred
    bound = c.metadata.get("error_at_or_before")
    if isinstance(bound, int) and pred is not None and pred != -1:
        rec["bound"] = bound
    if li.error_steps is not None:
        rec["error_steps"] = li.error_steps
    return rec


def run_labeled(ctx: BenchContext, items: Sequence[LabeledItem], *,
                official: bool = False) -> tuple[list[dict[str, Any]], float]:
    """Critique every item; returns the per-item records (input order) and the wall time in seconds.

    ``official``: predictions use the official reading (:func:`official_prediction`)."""
    start = time.perf_counter()
    records = critique_records(ctx, items, lambda li: li.item, lambda li, c: _record(li, c, official))
    return records, time.perf_counter() - start


def evaluate_records(records: Sequence[dict[str, Any]], *, seed: int = 0, n_boot: int = 1000) -> dict[str, Any]:
    """All figures of one split from its per-item records."""
    labels = [r["label"] for r in records]
    preds = [r["pred"] for r in records]
    bounds = [r.get("bound") for r in records] if any("bound" in r for r in records) else None
    row: dict[str, Any] = {**processbench_scores(labels, preds), **flag_stats(labels, preds, bounds)}
    row["unchecked"] = sum(r.get("checked_steps") == 0 for r in records)

    def f1(sample: Sequence[dict[str, Any]]) -> float | None:
        return processbench_scores([r["label"] for r in sample], [r["pred"] for r in sample])["f1"]

    def prec(key: str):
        return lambda sample: flag_stats([r["label"] for r in sample], [r["pred"] for r in sample])[key]

    row["f1_ci"] = bootstrap_ci(records, f1, n=n_boot, seed=seed)
    row["precision_step_ci"] = bootstrap_ci(records, prec("precision_step"), n=n_boot, seed=seed)
    if any("error_steps" in r for r in records):
        err = [r for r in records if r["label"] >= 0]
        row.update(prm_score([(r["error_steps"], r["pred_error_steps"], r["n_steps"]) for r in err]))
        hits = sum(bool(set(r["pred_error_steps"]) & set(r["error_steps"])) for r in err)
        flagged = sum(bool(r["pred_error_steps"]) for r in err)
        row["flag_in_error_steps"] = hits / flagged if flagged else None
    return row


def _result(suite: str, ctx: BenchContext, loaded: Loaded, records: list[dict[str, Any]], wall: float,
            splits: list[str], average_name: str = "average") -> BenchResult:
    n_boot = int(ctx.options.get("n_boot", 1000))
    rows = []
    for split in splits:
        recs = [r for r in records if r["split"] == split]
        if recs:
            rows.append({"split": split, **evaluate_records(recs, seed=ctx.seed, n_boot=n_boot)})
    if len(rows) > 1:
        pooled = evaluate_records(records, seed=ctx.seed, n_boot=n_boot)
        f1s = [r["f1"] for r in rows if r["f1"] is not None]
        pooled["f1_mean_of_splits"] = sum(f1s) / len(f1s) if f1s else None
        rows.append({"split": average_name, **pooled})
    for row in rows:
        row.setdefault("items_per_s", None)
    rows[-1]["items_per_s"] = throughput(len(records), wall) if rows else None
    notes = list(PROCESS_NOTES)
    if loaded.errors:
        notes.append(f"{len(loaded.errors)} malformed record(s) skipped, first: {loaded.errors[0]}")
    return BenchResult(suite=suite, critic=ctx.critic_name, model=ctx.model, rows=rows, items=records, notes=notes,
                       wall_s=wall, extra={"items": len(records), "items_per_s": throughput(len(records), wall),
                                           "input_errors": [str(e) for e in loaded.errors]})


def _note_reading(result: BenchResult, official: bool) -> None:
    if official:
        result.notes.append("official_parse: predictions read as ProcessBench's run_eval.py reads them (last \\boxed{...} "
                            "of each reply, int(), no box or no integer = wrong; k samples: the most common raw answer "
                            "string); unscored = no official answer; critica's reading is each record's pred_critica.")
    result.extra["official_parse"] = official


def _limit(items: list[LabeledItem], splits: list[str], limit: int | None, seed: int) -> list[LabeledItem]:
    """``limit`` items per split, a seeded random sample (the files are ordered by label, so a prefix is biased)."""
    if limit is None:
        return items
    out = []
    for split in splits:
        pool = [li for li in items if li.split == split]
        keep = set(random.Random(seed).sample(range(len(pool)), min(limit, len(pool))))
        out += [li for i, li in enumerate(pool) if i in keep]
    return out


@register_suite("processbench", "ProcessBench earliest-error identification: gsm8k, math, olympiadbench, omnimath",
                vote="answer_mode")
def run_processbench(ctx: BenchContext) -> BenchResult:
    """ProcessBench, each requested split (default all four) and the average."""
    splits = ctx.splits or list(PROCESSBENCH_SPLITS)
    loaded = load_processbench(ctx.data_dir, splits)
    items = _limit(loaded.items, splits, ctx.limit, ctx.seed)
    official = official_parse(ctx)
    records, wall = run_labeled(ctx, items, official=official)
    result = _result("processbench", ctx, loaded, records, wall, splits)
    _note_reading(result, official)
    if len(result.rows) > 1:
        result.notes.append("average row: pooled items; f1_mean_of_splits is the paper's Avg. F1.")
    return result


@register_suite("mr_gsm8k", "MR-GSM8K first-error identification (DeepCritic's ProcessBench-format copy)",
                vote="answer_mode")
def run_mr_gsm8k(ctx: BenchContext) -> BenchResult:
    """MR-GSM8K as one split (the shared copy carries no reference answers)."""
    loaded = load_mr_gsm8k(ctx.data_dir)
    items = _limit(loaded.items, ["mr_gsm8k"], ctx.limit, ctx.seed)
    official = official_parse(ctx)
    records, wall = run_labeled(ctx, items, official=official)
    result = _result("mr_gsm8k", ctx, loaded, records, wall, ["mr_gsm8k"])
    _note_reading(result, official)
    return result


@register_suite("prmbench", "PRMBench error-step detection (8 error classes + the untouched originals)")
def run_prmbench(ctx: BenchContext) -> BenchResult:
    """PRMBench per error class, plus ``original`` (unmodified PRM800K solutions, presumed correct)."""
    from critica.bench.datasets import PRMBENCH_CLASSES

    classes = [s for s in (ctx.splits or list(PRMBENCH_CLASSES)) if s != "original"]
    loaded = load_prmbench(ctx.data_dir, classes, originals=ctx.splits is None or "original" in ctx.splits)
    splits = classes + ["original"]
    items = _limit(loaded.items, splits, ctx.limit, ctx.seed)
    records, wall = run_labeled(ctx, items)
    result = _result("prmbench", ctx, loaded, records, wall, splits, average_name="overall")
    result.notes.append("prmbench: PRMScore = 0.5·F1(erroneous steps) + 0.5·F1(correct steps) over modified "
                        "solutions (Song et al. 2025); 'original' rows use the untouched PRM800K solutions as "
                        "correct counterparts (some contain real slips, so their false-alarm rate is an upper bound).")
    return result
