"""Loaders for the process-supervision benchmarks in the shared data folder: items plus gold labels.

Gold labels are kept *beside* the item (:class:`LabeledItem`), never inside ``Item.metadata``, so a critic cannot
see them. Reference answers come only from fields of the record itself (none of these three sets carries one in
the shared copy). Every loader takes the data root (``critica.config.default_data_dir``) and raises a
:class:`~critica.errors.UserError` naming the missing file; a malformed record is skipped and reported in
``Loaded.errors`` with its file, line/index and field, the rest still loads.

Label convention (ProcessBench's): ``label`` is the 0-based index of the earliest erroneous step, ``-1`` when every
step is correct.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from critica.errors import InputError, UserError
from critica.types import Item

__all__ = [
    "LabeledItem", "Loaded", "PROCESSBENCH_SPLITS", "load_processbench", "load_mr_gsm8k", "load_prmbench",
    "PRMBENCH_CLASSES",
]

PROCESSBENCH_SPLITS = ("gsm8k", "math", "olympiadbench", "omnimath")
PRMBENCH_CLASSES = (
    "circular", "confidence", "counterfactual", "deception", "domain_inconsistency", "missing_condition",
    "redundency", "step_contradiction",
)


@dataclass
class LabeledItem:
    """An item to critique and its gold annotation."""

    item: Item
    split: str
    label: int
    """0-based earliest erroneous step, -1 when the solution is correct."""
    error_steps: list[int] | None = None
    """0-based indices of every erroneous step, when the dataset lists them (PRMBench)."""


@dataclass
class Loaded:
    items: list[LabeledItem] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


def _need(path: Path) -> Path:
    if not path.is_file():
        raise UserError(f"{path}: benchmark file not found (set --data-dir or CRITICA_DATA to the shared data folder)")
    return path


def _steps(rec: dict, key: str, where: str, path: Path) -> list[str]:
    steps = rec.get(key)
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
        raise InputError(str(path), where, key, "must be a non-empty list of strings")
    return steps


def _label(rec: dict, n: int, where: str, path: Path) -> int:
    label = rec.get("label")
    if not isinstance(label, int) or isinstance(label, bool) or not -1 <= label < n:
        raise InputError(str(path), where, "label", f"must be an integer in [-1, {n - 1}], got {label!r}")
    return label


def _processbench_like(path: Path, split: str, prefix: str) -> Loaded:
    out = Loaded()
    try:
        records = json.loads(_need(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError(f"{path}:line {e.lineno}: invalid JSON: {e.msg}") from None
    for index, rec in enumerate(records):
        where = f"index {index}"
        try:
            if not isinstance(rec, dict):
                raise InputError(str(path), where, None, "expected a JSON object")
            steps = _steps(rec, "steps", where, path)
            label = _label(rec, len(steps), where, path)
            question = rec.get("problem")
            if not isinstance(question, str):
                raise InputError(str(path), where, "problem", "missing or not a string")
            rid = str(rec.get("id", index))
            item = Item(
                id=rid if rid.startswith(prefix) else f"{prefix}-{rid}", question=question, steps=steps,
                metadata={"generator": rec.get("generator") or None, "source": prefix},
            )
            out.items.append(LabeledItem(item, split, label))
        except InputError as e:
            out.errors.append(e)
    return out


def load_processbench(data_dir: Path, splits: list[str] | None = None) -> Loaded:
    """ProcessBench (Zheng et al., 2024): ``processbench/<split>.json`` for each requested split."""
    out = Loaded()
    for split in splits or PROCESSBENCH_SPLITS:
        if split not in PROCESSBENCH_SPLITS:
            raise UserError(f"unknown ProcessBench split {split!r}; choose from {', '.join(PROCESSBENCH_SPLITS)}")
        part = _processbench_like(Path(data_dir) / "processbench" / f"{split}.json", split, split)
        out.items += part.items
        out.errors += part.errors
    return out


def load_mr_gsm8k(data_dir: Path) -> Loaded:
    """MR-GSM8K (Zeng et al., 2023) in DeepCritic's ProcessBench layout: ``mr_gsm8k/processed_test.json``.

    The shared copy has no reference-answer field, so items carry none (``final_answer_correct`` is a gold label
    and is not given to the critic).
    """
    return _processbench_like(Path(data_dir) / "mr_gsm8k" / "processed_test.json", "mr_gsm8k", "mr_gsm8k")


def load_prmbench(data_dir: Path, classes: list[str] | None = None, *, originals: bool = True) -> Loaded:
    """PRMBench (Song et al., 2025) task files ``prmbench/prm800k_test_p{1,2}_4o_<class>.jsonl``.

    Each record gives an erroneous item (``modified_process``; ``error_steps`` are 1-based, converted to 0-based,
    numbers past the last step dropped). With ``originals``, the untouched ``original_process`` of each *distinct*
    question is added once as a presumed-correct item (split ``original``; PRM800K solutions are not all correct,
    so its false-alarm figure is an upper bound).
    """
    out = Loaded()
    seen: set[str] = set()
    root = Path(data_dir) / "prmbench"
    for cls in classes or PRMBENCH_CLASSES:
        if cls not in PRMBENCH_CLASSES:
            raise UserError(f"unknown PRMBench class {cls!r}; choose from {', '.join(PRMBENCH_CLASSES)}")
        for phase in ("p1", "p2"):
            path = _need(root / f"prm800k_test_{phase}_4o_{cls}.jsonl")
            with path.open(encoding="utf-8") as f:
                for lineno, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    where = f"line {lineno}"
                    try:
                        rec = json.loads(line)
                        steps = _steps(rec, "modified_process", where, path)
                        errs = rec.get("error_steps")
                        if not isinstance(errs, list) or not errs or not all(isinstance(e, int) for e in errs):
                            raise InputError(str(path), where, "error_steps", "must be a non-empty list of integers")
                        zero = sorted({e - 1 for e in errs if 1 <= e <= len(steps)})
                        if not zero:
                            raise InputError(str(path), where, "error_steps", f"no step number within 1..{len(steps)}")
                        question = rec.get("modified_question") or rec.get("question")
                        if not isinstance(question, str):
                            raise InputError(str(path), where, "question", "missing or not a string")
                        idx = str(rec.get("idx", f"{phase}-{lineno}"))
                        item = Item(id=f"prmbench-{cls}-{idx}", question=question, steps=steps,
                                    metadata={"source": "prmbench", "classification": cls})
                        out.items.append(LabeledItem(item, cls, zero[0], zero))
                        orig = rec.get("original_process")
                        if originals and isinstance(orig, list) and orig and all(isinstance(s, str) for s in orig):
                            key = idx
                            if key not in seen:
                                seen.add(key)
                                oq = rec.get("original_question") or rec.get("question") or question
                                out.items.append(LabeledItem(
                                    Item(id=f"prmbench-original-{idx}", question=oq, steps=orig,
                                         metadata={"source": "prmbench", "classification": "original"}),
                                    "original", -1, []))
                    except json.JSONDecodeError as e:
                        out.errors.append(InputError(str(path), where, None, f"invalid JSON: {e.msg}"))
                    except InputError as e:
                        out.errors.append(e)
    return out
