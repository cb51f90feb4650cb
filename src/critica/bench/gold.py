"""Gold labels carried by stored items, each critique marked right or wrong against them, and the figures of
``critica bench`` for a stored run — computed by the bench code itself, never re-implemented.

A critiqued item keeps the fields of its record that map to no :class:`~critica.types.Item` field in
``Item.metadata`` (see :mod:`critica.inputs.load`), so a run over a benchmark file carries its gold labels:

* **step** gold — ProcessBench's and MR-GSM8K's integer ``label`` (-1: every step correct, else the 0-based first
  wrong step) or ``gold_verdict`` (with an optional ``gold_first_error``), read by
  :func:`critica.aggregate.panel.gold_label`. A critique is *right* when its verdict matches and, for a wrong
  solution with a known first wrong step, it names that step (ProcessBench's criterion). Figures: the ``processbench``
  suite's (:func:`critica.bench.process.evaluate_records`: F1, accuracy on erroneous/correct items, flag precision,
  the verifier's bound precision, bootstrap CIs).
* **label** gold — WiCE's ``supported`` / ``partially_supported`` / ``not_supported``. A critique's label is its
  ``evidence_label`` when it gives one, else its verdict mapped as the ``wice`` suite maps it (correct →
  supported, incorrect → not_supported). Figures: the ``wice`` suite's (:func:`critica.bench.wice.evaluate_labels`).

Items without a gold label are left out of the figures and counted as ``unlabelled``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from critica.aggregate.panel import gold_label, matches_gold
from critica.types import Critique, Item, Verdict

__all__ = ["GoldLabel", "WICE_LABELS", "gold_of", "mark", "run_figures", "FIGURE_NAMES"]

WICE_LABELS = ("supported", "partially_supported", "not_supported")
_VERDICT_LABEL = {Verdict.CORRECT: "supported", Verdict.INCORRECT: "not_supported"}

# The headline figures of each kind, in the order people read them, with the names the UI and CLI print.
FIGURE_NAMES: dict[str, dict[str, str]] = {
    "step": {"f1": "F1 (ProcessBench)", "acc_erroneous": "accuracy, erroneous", "acc_correct": "accuracy, correct",
             "precision_step": "step precision", "recall_exact": "recall (exact step)",
             "precision_solution": "flag precision", "false_alarm_rate": "false-alarm rate",
             "precision_bound": "bound precision"},
    "label": {"accuracy": "accuracy", "macro_f1": "macro-F1"},
}


@dataclass(frozen=True)
class GoldLabel:
    """What an item's critique is judged against."""

    kind: Literal["step", "label"]
    """``step``: a verdict and maybe the first wrong step; ``label``: a WiCE-style label."""
    verdict: Verdict | None = None
    """For ``step``: the right verdict."""
    first_error_step: int | None = None
    """For ``step``: the 0-based first wrong step, when known."""
    label: str | None = None
    """For ``label``: the gold label."""
    source_field: str = "label"
    """The metadata field it was read from."""

    def text(self) -> str:
        """How people read it: ``incorrect, first error step 3`` (1-based), ``correct``, ``partially_supported``."""
        if self.kind == "label":
            return str(self.label)
        assert self.verdict is not None
        if self.verdict == Verdict.INCORRECT and self.first_error_step is not None:
            return f"incorrect, first error step {self.first_error_step + 1}"
        return self.verdict.value

    def as_json(self) -> dict[str, Any]:
        """The label as the API returns it."""
        return {"kind": self.kind, "verdict": self.verdict.value if self.verdict else None,
                "first_error_step": self.first_error_step, "label": self.label, "field": self.source_field,
                "text": self.text()}


def gold_of(item: Item | None) -> GoldLabel | None:
    """The gold label ``item`` carries in its metadata, or None."""
    if item is None:
        return None
    label = item.metadata.get("label")
    if isinstance(label, str) and label.strip().lower() in WICE_LABELS:
        return GoldLabel("label", label=label.strip().lower())
    gold = gold_label(item)
    if gold is None:
        return None
    return GoldLabel("step", verdict=gold.verdict, first_error_step=gold.first_error_step,
                     source_field="label" if "label" in item.metadata else "gold_verdict")


def _label_prediction(c: Critique) -> str | None:
    label = c.metadata.get("evidence_label")
    if isinstance(label, str) and label in WICE_LABELS:
        return label
    return _VERDICT_LABEL.get(c.verdict)


def mark(critique: Critique, gold: GoldLabel | None) -> bool | None:
    """Whether ``critique`` is right against ``gold``; None without gold, for an unscored critique, or for a
    critique of a revised answer (a refinement trajectory judges another response than the gold one)."""
    if gold is None or critique.verdict == Verdict.UNSCORED or "trajectory" in critique.metadata:
        return None
    if gold.kind == "label":
        return _label_prediction(critique) == gold.label
    from critica.aggregate.panel import Gold

    assert gold.verdict is not None
    return matches_gold(critique, Gold(gold.verdict, gold.first_error_step), step_level=True)


def run_figures(pairs: Iterable[tuple[Item | None, Critique]], *, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The ``critica bench`` figures of stored (item, critique) pairs against the items' gold labels.

    Returns ``{"kind": "step"|"label"|None, "labelled": n, "unlabelled": n, "right": n, "wrong": n,
    "unscored": n, "figures": {...}, "names": {key: readable name}}``; ``figures`` is the bench suite's row (empty
    when no item has gold). Items whose gold is of the minority kind are counted as unlabelled.
    """
    from critica.bench.datasets import LabeledItem
    from critica.bench.process import _record, evaluate_records

    step: list[dict[str, Any]] = []
    labels: list[tuple[str, str | None]] = []
    marks: dict[str, dict[str, int]] = {k: {"right": 0, "wrong": 0, "unscored": 0} for k in ("step", "label")}
    unlabelled = 0
    for item, c in pairs:
        gold = gold_of(item)
        if gold is None or item is None or "trajectory" in c.metadata:
            unlabelled += 1
            continue
        m = mark(c, gold)
        marks[gold.kind]["unscored" if m is None else "right" if m else "wrong"] += 1
        if gold.kind == "label":
            labels.append((gold.label or "", None if c.verdict == Verdict.UNSCORED else _label_prediction(c)))
        elif gold.verdict == Verdict.CORRECT or gold.first_error_step is not None:
            # the bench's own record of the item: its prediction, bound and checked steps, as `critica bench` reads
            label = -1 if gold.verdict == Verdict.CORRECT else int(gold.first_error_step or 0)
            step.append(_record(LabeledItem(item, "run", label), c))
    kind: Literal["step", "label"] | None = None
    figures: dict[str, Any] = {}
    if step and len(step) >= len(labels):
        kind = "step"
        figures = evaluate_records(step, seed=seed, n_boot=n_boot)
        unlabelled += sum(marks["label"].values())
    elif labels:
        from critica.bench.wice import evaluate_labels

        kind = "label"
        figures = evaluate_labels([g for g, _ in labels], [p for _, p in labels], seed=seed, n_boot=n_boot)
        unlabelled += sum(marks["step"].values())
    counts = marks[kind] if kind else {"right": 0, "wrong": 0, "unscored": 0}
    # marked items that the figures leave out (a wrong solution whose first wrong step is unknown) still count
    labelled = sum(counts.values())
    return {"kind": kind, "labelled": labelled, **counts, "unlabelled": unlabelled, "figures": figures,
            "names": FIGURE_NAMES.get(kind or "", {})}
