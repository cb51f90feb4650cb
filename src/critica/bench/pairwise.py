"""Pairwise judging benchmarks: ``judgebench`` and ``llmbar`` (accuracy, order consistency, unscored rate).

* **JudgeBench** (Tan et al., arXiv:2410.12784): response pairs to hard questions, exactly one objectively correct.
  Splits ``gpt-4o`` and ``claude-3.5-sonnet`` (the model that wrote both responses). Gold ``A>B``/``B>A``.
* **LLMBar** (Zeng et al., arXiv:2310.07641): instruction-following pairs. Default splits ``Natural``,
  ``Neighbor``, ``GPTInst``, ``GPTOut``, ``Manual``; also ``Constraint``, ``Negation``, ``Normal``, ``Base_9``,
  ``Base_10`` (case studies) and ``MT-Bench``, ``FairEval``, ``LLMEval2`` (processed human judgements).

Both run any critic whose critiques carry ``metadata["preference"]`` — the ``pairwise`` protocol — with
``Item.response`` = first output and ``Item.candidates[0]`` = second. Figures per split (and ``overall``):

* ``accuracy`` — preference equals the gold label, over **all** items; ties, order-inconsistent and unscored
  items count as not correct (``accuracy_ci``: 95% percentile bootstrap);
* ``accuracy_decided`` — the same over items with a consistent A or B preference only;
* ``double_game_accuracy`` — JudgeBench's rule over the two orders: a winner plus a tie counts for the winner,
  opposite winners cancel to a tie; items with an unparsed order count as not correct (never as a tie);
* ``order_consistency`` — both orders agree, among items where both parsed; ``inconsistent``/``tie`` rates;
* ``unscored_rate`` — items whose critique failed to parse or whose call failed, reported on their own.

``--limit N`` takes a seeded random sample of N per split (files are not shuffled); ``--plot`` draws the rows.
``--option constrained=true`` (llmbar) keeps only the pairs whose instruction states a checkable constraint
(:func:`critica.verifiers.rules_detect.detect_constraints`; see ``docs/rules.md``).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from critica.bench.base import BenchContext, BenchResult, critique_records, register_suite
from critica.bench.metrics import bootstrap_ci
from critica.errors import UserError
from critica.types import Critique, Item, ParseStatus

__all__ = ["PairItem", "load_judgebench", "load_llmbar", "double_game", "pair_record", "pairwise_metrics",
           "JUDGEBENCH_SPLITS", "LLMBAR_SPLITS", "LLMBAR_DEFAULT"]

JUDGEBENCH_SPLITS = {"gpt-4o": "gpt-4o-2024-05-13.jsonl", "claude-3.5-sonnet": "claude-3-5-sonnet-20240620.jsonl"}
LLMBAR_SPLITS = {
    "Natural": "LLMBar/Natural", "Neighbor": "LLMBar/Adversarial/Neighbor", "GPTInst": "LLMBar/Adversarial/GPTInst",
    "GPTOut": "LLMBar/Adversarial/GPTOut", "Manual": "LLMBar/Adversarial/Manual",
    "Constraint": "CaseStudy/Constraint", "Negation": "CaseStudy/Negation", "Normal": "CaseStudy/Normal",
    "Base_9": "CaseStudy/Base_9", "Base_10": "CaseStudy/Base_10",
    "MT-Bench": "Processed/MT-Bench", "FairEval": "Processed/FairEval", "LLMEval2": "Processed/LLMEval2",
}
LLMBAR_DEFAULT = ["Natural", "Neighbor", "GPTInst", "GPTOut", "Manual"]
_NOTES = [
    "accuracy counts ties, order-inconsistent and unscored items as not correct; accuracy_decided excludes them",
    "double_game_accuracy: JudgeBench's two-order rule (winner + tie -> winner, opposite winners -> tie); "
    "an item with an unparsed order is not correct, and is never read as a tie",
    "order_consistency is over items whose two orders both parsed; unscored_rate = parse failures + failed calls",
]


@dataclass(frozen=True)
class PairItem:
    """One labelled pair: the item to critique, its split and the better response (``"A"`` or ``"B"``)."""

    split: str
    item: Item
    gold: str


def _sample(rows: list[PairItem], limit: int | None, seed: int) -> list[PairItem]:
    if limit is None or limit >= len(rows):
        return rows
    keep = set(random.Random(seed).sample(range(len(rows)), limit))
    return [r for i, r in enumerate(rows) if i in keep]


def load_judgebench(data_dir: Path, splits: Sequence[str] | None = None, limit: int | None = None,
                    seed: int = 0) -> tuple[list[PairItem], list[str]]:
    """JudgeBench pairs and the errors of malformed lines (file:line: field: reason)."""
    root = Path(data_dir) / "judgebench"
    if not root.is_dir():
        raise UserError(f"JudgeBench data not found at {root}; pass --data-dir or set CRITICA_DATA")
    out: list[PairItem] = []
    errors: list[str] = []
    for split in splits or list(JUDGEBENCH_SPLITS):
        if split not in JUDGEBENCH_SPLITS:
            raise UserError(f"unknown JudgeBench split {split!r}; splits: {', '.join(JUDGEBENCH_SPLITS)}")
        path = root / JUDGEBENCH_SPLITS[split]
        rows = []
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    label = row["label"]
                    if label not in ("A>B", "B>A"):
                        raise ValueError(f"field 'label': {label!r} is not 'A>B' or 'B>A'")
                    item = Item(id=str(row["pair_id"]), question=str(row["question"]), response=str(row["response_A"]),
                                candidates=[str(row["response_B"])], metadata={"source": row.get("source")})
                except KeyError as e:
                    errors.append(f"{path}:{lineno}: field {e.args[0]!r} missing")
                    continue
                except (ValueError, TypeError) as e:
                    errors.append(f"{path}:{lineno}: {e}")
                    continue
                rows.append(PairItem(split, item, label[0]))
        out += _sample(rows, limit, seed)
    return out, errors


def load_llmbar(data_dir: Path, splits: Sequence[str] | None = None, limit: int | None = None,
                seed: int = 0) -> tuple[list[PairItem], list[str]]:
    """LLMBar pairs and the errors of malformed records (file:index: field: reason)."""
    root = Path(data_dir) / "llmbar"
    if not root.is_dir():
        raise UserError(f"LLMBar data not found at {root}; pass --data-dir or set CRITICA_DATA")
    out: list[PairItem] = []
    errors: list[str] = []
    for split in splits or LLMBAR_DEFAULT:
        if split not in LLMBAR_SPLITS:
            raise UserError(f"unknown LLMBar split {split!r}; splits: {', '.join(LLMBAR_SPLITS)}")
        path = root / LLMBAR_SPLITS[split] / "dataset.json"
        rows = []
        for i, row in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            try:
                label = row["label"]
                if label not in (1, 2):
                    raise ValueError(f"field 'label': {label!r} is not 1 or 2")
                item = Item(id=f"{split}-{i}", question=str(row["input"]), response=str(row["output_1"]),
                            candidates=[str(row["output_2"])])
            except KeyError as e:
                errors.append(f"{path}:record {i}: field {e.args[0]!r} missing")
                continue
            except (ValueError, TypeError) as e:
                errors.append(f"{path}:record {i}: {e}")
                continue
            rows.append(PairItem(split, item, "A" if label == 1 else "B"))
        out += _sample(rows, limit, seed)
    return out, errors


def double_game(orders: Sequence[str | None]) -> str | None:
    """JudgeBench's combination of per-order preferences (original frame): net A minus B wins; None if any unparsed."""
    if not orders or any(o is None for o in orders):
        return None
    net = sum((o == "A") - (o == "B") for o in orders)
    return "A" if net > 0 else "B" if net < 0 else "tie"


def pair_record(pair: PairItem, c: Critique) -> dict[str, Any]:
    """The per-item record of one judged pair."""
    if "preference" not in c.metadata and c.error is None and c.parse_status != ParseStatus.FAILED:
        raise UserError(f"critic {c.critic!r} gives no pairwise preference; run this benchmark with --critic pairwise")
    pref = c.metadata.get("preference")
    orders = [o.get("preference") for o in c.metadata.get("orders", [])]
    unscored = c.error is not None or c.parse_status == ParseStatus.FAILED
    return {
        "id": pair.item.id, "split": pair.split, "gold": pair.gold, "preference": pref, "orders": orders,
        "order_consistent": c.metadata.get("order_consistent"), "double_game": None if unscored else double_game(orders),
        "correct": pref == pair.gold, "unscored": unscored, "parse_status": c.parse_status.value, "error": c.error,
        "latency_s": round(c.latency_s, 4), "tokens": c.usage.total_tokens,
        "tokens_replayed": c.usage.replayed_tokens,  # of "tokens", replayed from the call cache (not spent now)
    }


def _share(num: int, den: int) -> float | None:
    return num / den if den else None


def pairwise_metrics(records: Sequence[dict[str, Any]], *, seed: int = 0, n_boot: int = 1000) -> dict[str, Any]:
    """Figures of one split (definitions in the module docstring)."""
    n = len(records)
    decided = [r for r in records if r["preference"] in ("A", "B")]
    both = [r for r in records if r["order_consistent"] is not None]

    def acc(sample: Sequence[dict[str, Any]]) -> float | None:
        return _share(sum(r["correct"] for r in sample), len(sample))

    return {
        "n": n,
        "accuracy": acc(records),
        "accuracy_ci": bootstrap_ci(records, acc, n=n_boot, seed=seed),
        "accuracy_decided": acc(decided),
        "double_game_accuracy": _share(sum(r["double_game"] == r["gold"] for r in records), n),
        "order_consistency": _share(sum(bool(r["order_consistent"]) for r in both), len(both)),
        "inconsistent_rate": _share(sum(r["preference"] == "inconsistent" for r in records), n),
        "tie_rate": _share(sum(r["preference"] == "tie" for r in records), n),
        "unscored_rate": _share(sum(r["unscored"] for r in records), n),
        "unscored": sum(r["unscored"] for r in records),
    }


def _run(suite: str, ctx: BenchContext, pairs: list[PairItem], errors: list[str], splits: list[str]) -> BenchResult:
    start = time.perf_counter()
    records = critique_records(ctx, pairs, lambda p: p.item, pair_record)
    wall = time.perf_counter() - start
    n_boot = int(ctx.options.get("n_boot", 1000))
    rows = [{"split": s, **pairwise_metrics([r for r in records if r["split"] == s], seed=ctx.seed, n_boot=n_boot)}
            for s in splits if any(r["split"] == s for r in records)]
    if len(rows) > 1:
        rows.append({"split": "overall", **pairwise_metrics(records, seed=ctx.seed, n_boot=n_boot)})
    notes = list(_NOTES)
    if errors:
        notes.append(f"{len(errors)} malformed record(s) skipped, first: {errors[0]}")
    extra: dict[str, Any] = {"input_errors": errors, "items_per_s": len(records) / wall if wall > 0 else None}
    return BenchResult(suite=suite, critic=ctx.critic_name, model=ctx.model, rows=rows, items=records, notes=notes,
                       wall_s=wall, extra=extra)


@register_suite("judgebench", "JudgeBench pairwise judging (one response objectively correct): gpt-4o, claude-3.5-sonnet")
def run_judgebench(ctx: BenchContext) -> BenchResult:
    """Run the critic on JudgeBench pairs; needs a pairwise critic (``--critic pairwise``)."""
    splits = list(ctx.splits or JUDGEBENCH_SPLITS)
    pairs, errors = load_judgebench(ctx.data_dir, splits, ctx.limit, ctx.seed)
    return _run("judgebench", ctx, pairs, errors, splits)


@register_suite("llmbar", "LLMBar instruction-following pairs: Natural and the four Adversarial sets (more via --split)")
def run_llmbar(ctx: BenchContext) -> BenchResult:
    """Run the critic on LLMBar pairs; needs a pairwise critic (``--critic pairwise``)."""
    splits = list(ctx.splits or LLMBAR_DEFAULT)
    pairs, errors = load_llmbar(ctx.data_dir, splits, ctx.limit, ctx.seed)
    if str(ctx.options.get("constrained", "")).lower() in ("1", "true", "yes"):
        # only pairs whose instruction states a checkable constraint (critica.verifiers.rules_detect)
        from critica.verifiers.rules_detect import detect_constraints

        pairs = [p for p in pairs if detect_constraints(p.item.question)]
        splits = [s for s in splits if any(p.split == s for p in pairs)]
    return _run("llmbar", ctx, pairs, errors, splits)
