"""The ``wice`` benchmark: claim-level evidence grounding on WiCE (Kamoi et al., EMNLP 2023, arXiv:2303.01432).

Each WiCE claim is one Wikipedia sentence with the sentences of the web page it cites; the gold label is
``supported`` / ``partially_supported`` / ``not_supported``. The suite labels every claim with
:class:`~critica.verifiers.evidence.EvidenceVerifier` and reports, per split and method (with and without
sentence embeddings): claim-level accuracy and macro-F1 over the three labels with bootstrap 95% CIs, per-label
precision/recall, the confusion matrix, the unscored count, citation precision/recall against WiCE's gold
supporting sentences, throughput and wall time.

Splits: ``dev`` is the calibration split — the verifier's label model was selected (by cross-validation) and
fitted there, once, by :func:`select_label_model` (``python -m critica.bench.wice calibrate``) — and ``test`` is
the one to quote. The shared copy
has no train split; a held-out part of WiCE is kept elsewhere and re-checks the figures.

With a critic other than the verifier (``--critic NAME``), each claim becomes an item (question: the article
context, response: the claim, evidence: the cited sentences) and the critique's verdict is mapped: correct →
``supported``, incorrect → ``not_supported``, unscored → unscored (such critics never say ``partially_supported``).
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from critica.bench.base import BenchContext, BenchResult, register_suite
from critica.bench.classification import accuracy, bootstrap_ci, confusion_matrix, macro_f1, per_label, unscored_count
from critica.errors import InputError, UserError
from critica.run.interrupt import run_interruptible
from critica.types import Item, Verdict
from critica.verifiers.evidence import FEATURES, EvidenceLabel, EvidenceVerifier, LabelModel

__all__ = [
    "WICE_SPLITS", "LABELS", "WiceClaim", "load_wice", "run_wice", "fit_label_model", "select_label_model",
    "cross_validate", "evaluate_labels", "flag_figures", "plot_confusion",
]

WICE_SPLITS = ("dev", "test")
LABELS = tuple(label.value for label in EvidenceLabel)
METHODS = ("lexical+embedding", "lexical")


@dataclass
class WiceClaim:
    """One WiCE claim with its gold annotation."""

    id: str
    split: str
    claim: str
    evidence: list[str]
    label: str
    supporting: list[list[int]]
    """Alternative minimal sets of evidence-sentence indices that support the claim."""
    context: str = ""
    title: str = ""
    """The Wikipedia article the claim comes from (cross-validation folds keep an article's claims together)."""


def load_wice(data_dir: Path, split: str, *, errors: list[InputError] | None = None) -> list[WiceClaim]:
    """Read ``wice/claim/<split>.jsonl``; a malformed line is reported in ``errors`` (file, line, field) and skipped.

    Raises:
        UserError: the split is unknown or its file is missing.
    """
    if split not in WICE_SPLITS:
        raise UserError(f"unknown WiCE split {split!r}; available: {', '.join(WICE_SPLITS)}")
    path = Path(data_dir) / "wice" / "claim" / f"{split}.jsonl"
    if not path.is_file():
        raise UserError(f"WiCE data not found: {path} (set --data-dir or CRITICA_DATA)")
    out: list[WiceClaim] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                _report(errors, InputError(str(path), str(lineno), None, f"invalid JSON: {e.msg}"))
                continue
            problem = _validate(row)
            if problem:
                _report(errors, InputError(str(path), str(lineno), problem[0], problem[1]))
                continue
            meta = row.get("meta") or {}
            out.append(WiceClaim(
                id=str(meta.get("id") or f"{split}-{lineno}"), split=split, claim=row["claim"],
                evidence=[str(e) for e in row["evidence"]], label=row["label"],
                supporting=[[int(i) for i in s] for s in row.get("supporting_sentences") or []],
                context=str(meta.get("claim_context") or ""), title=str(meta.get("claim_title") or ""),
            ))
    return out


def _validate(row: Any) -> tuple[str, str] | None:
    if not isinstance(row, dict):
        return ("", "a record must be a JSON object")
    if not isinstance(row.get("claim"), str) or not row["claim"].strip():
        return ("claim", "missing or empty")
    if not isinstance(row.get("evidence"), list):
        return ("evidence", "must be a list of sentences")
    if row.get("label") not in LABELS:
        return ("label", f"must be one of {', '.join(LABELS)}; got {row.get('label')!r}")
    sup = row.get("supporting_sentences", [])
    if not isinstance(sup, list) or not all(isinstance(s, list) and all(isinstance(i, int) for i in s) for s in sup):
        return ("supporting_sentences", "must be a list of lists of integers")
    return None


def _report(errors: list[InputError] | None, error: InputError) -> None:
    if errors is None:
        raise error
    errors.append(error)


# -- figures -------------------------------------------------------------------------------------------------


def evaluate_labels(gold: list[str], pred: list[str | None], *, seed: int = 0, n_boot: int = 1000) -> dict[str, Any]:
    """Accuracy and macro-F1 with bootstrap 95% CIs, per-label figures, confusion matrix and unscored count."""

    def mf1(g: Any, p: Any) -> float:
        return macro_f1(g, p, LABELS)

    return {
        "n": len(gold),
        "unscored": unscored_count(pred),
        "accuracy": accuracy(gold, pred),
        "accuracy_ci": list(bootstrap_ci(gold, pred, accuracy, n=n_boot, seed=seed)),
        "macro_f1": mf1(gold, pred),
        "macro_f1_ci": list(bootstrap_ci(gold, pred, mf1, n=n_boot, seed=seed)),
        "per_label": per_label(gold, pred, LABELS),
        "confusion": confusion_matrix(gold, pred, LABELS),
    }


def flag_figures(gold: list[str], pred: list[str | None]) -> dict[str, float | None]:
    """Precision of the verifier's findings, read as flags (see the module docstring of the evidence verifier).

    ``flag_precision``: of claims labelled ``not_supported`` (an ``incorrect`` finding), the share whose gold label
    is not ``supported`` — the claim really does contain something the evidence does not back.
    ``flag_precision_with_partial``: the same when ``partially_supported`` is flagged too (``partial_as="incorrect"``).
    ``supported_precision``: of claims labelled ``supported`` (a ``correct`` finding), the share gold-supported.
    """

    def share(chosen: set[str], ok: Callable[[str], bool]) -> float | None:
        picked = [g for g, p in zip(gold, pred, strict=True) if p in chosen]
        return sum(ok(g) for g in picked) / len(picked) if picked else None

    return {
        "flag_precision": share({"not_supported"}, lambda g: g != "supported"),
        "flag_precision_with_partial": share({"not_supported", "partially_supported"}, lambda g: g != "supported"),
        "supported_precision": share({"supported"}, lambda g: g == "supported"),
    }


def _citation_figures(records: Iterable[dict[str, Any]]) -> dict[str, float | None]:
    """Citation precision (cited sentences inside a gold supporting set) and recall (a gold set fully cited)."""
    cited_total = cited_good = with_gold = recalled = 0
    for r in records:
        if not r["gold_supporting"]:
            continue
        gold_union = {i for s in r["gold_supporting"] for i in s}
        cited = {c[1] if isinstance(c, list) else c for c in r["citations"]}
        cited_total += len(cited)
        cited_good += len(cited & gold_union)
        with_gold += 1
        recalled += any(set(s) <= cited for s in r["gold_supporting"] if s)
    return {
        "citation_precision": cited_good / cited_total if cited_total else None,
        "citation_recall": recalled / with_gold if with_gold else None,
    }


# -- running -------------------------------------------------------------------------------------------------


_CHUNK = 64
"""Claims whose embeddings are computed together (bigger: fewer, fuller batches; smaller: finer progress)."""


def _verifier_records(claims: list[WiceClaim], verifier: EvidenceVerifier,
                      tick: Callable[[], None]) -> list[dict[str, Any]]:
    records = []
    for k, c in enumerate(claims):
        if k % _CHUNK == 0:
            # Embed the next chunk's texts in one batched pass (length-sorted batches carry little padding, and the
            # progress still ticks every chunk); each assessment below then reads the embedder's cache.
            verifier.prefetch((x.claim, x.evidence) for x in claims[k:k + _CHUNK])
        start = time.perf_counter()
        try:
            a = verifier.assess_sentences(c.claim, c.evidence)
            pred: str | None = a.label.value
            extra = {"citations": [list(x) for x in a.citations], "grounded_share": round(a.grounded_share, 4),
                     "probabilities": {k: round(v, 4) for k, v in a.probabilities.items()}, "clauses": len(a.clauses)}
            error = None
        except Exception as e:  # noqa: BLE001 - one bad item must not sink the run
            pred, extra, error = None, {"citations": []}, f"{type(e).__name__}: {e}"
        records.append({"id": c.id, "split": c.split, "method": verifier.method, "gold": c.label, "pred": pred,
                        "correct": pred == c.label, "gold_supporting": c.supporting, "error": error,
                        "latency_s": round(time.perf_counter() - start, 4), **extra})
        tick()
    return records


def _critic_records(claims: list[WiceClaim], ctx: BenchContext, tick: Callable[[], None]) -> list[dict[str, Any]]:
    from critica.run.runner import critique_stream

    critic = ctx.make_critic()
    items = [Item(id=c.id, question=c.context or "(claim from a Wikipedia article)", response=c.claim,
                  evidence=c.evidence) for c in claims]
    by_id = {c.id: c for c in claims}
    mapping = {Verdict.CORRECT: "supported", Verdict.INCORRECT: "not_supported"}

    async def go() -> list[dict[str, Any]]:
        out = []
        async for crit in critique_stream(critic, items, concurrency=ctx.concurrency, budget=ctx.budget):
            if isinstance(crit, InputError):
                continue
            c = by_id[crit.item_id]
            pred = crit.metadata.get("evidence_label") or mapping.get(crit.verdict)
            out.append({"id": c.id, "split": c.split, "method": ctx.critic_name, "gold": c.label, "pred": pred,
                        "correct": pred == c.label, "gold_supporting": c.supporting, "citations": [],
                        "error": crit.error, "latency_s": crit.latency_s, "parse_status": crit.parse_status.value})
            tick()
        return out

    return run_interruptible(go())


def run_wice(ctx: BenchContext) -> BenchResult:
    """Run the WiCE suite (see the module docstring).

    Options: ``methods`` (list; default both ``lexical+embedding`` and ``lexical``), ``n_boot`` (bootstrap
    resamples, default 1000), ``confusion_plot`` (a PNG path for the confusion-matrix heatmaps).
    """
    splits = ctx.splits or list(WICE_SPLITS)
    use_verifier = ctx.critic_name in ("verifier", "evidence")
    methods = list(ctx.options.get("methods") or METHODS) if use_verifier else [ctx.critic_name]
    errors: list[InputError] = []
    data = {s: load_wice(ctx.data_dir, s, errors=errors)[: ctx.limit] for s in splits}
    total = sum(len(v) for v in data.values()) * len(methods)
    done = itertools.count(1)

    def tick() -> None:
        if ctx.progress:
            ctx.progress(next(done), total)

    rows: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    details: list[str] = []
    start_all = time.perf_counter()
    for method in methods:
        verifier = _verifier_for(method) if use_verifier else None
        if use_verifier and verifier is None:
            rows.append({"split": "all", "method": method, "note": "sentence-transformers / MiniLM not installed"})
            continue
        for split, claims in data.items():
            start = time.perf_counter()
            recs = _verifier_records(claims, verifier, tick) if verifier else _critic_records(claims, ctx, tick)
            wall = time.perf_counter() - start
            figs = evaluate_labels([r["gold"] for r in recs], [r["pred"] for r in recs], seed=ctx.seed,
                                   n_boot=int(ctx.options.get("n_boot", 1000)))
            name = split + (" (calibration)" if split == "dev" and use_verifier else "")
            # The method is part of the split name so that `critica bench --compare` can match rows.
            rows.append({
                "split": f"{name} [{method}]", "method": method, **figs,
                **flag_figures([r["gold"] for r in recs], [r["pred"] for r in recs]), **_citation_figures(recs),
                "items_per_s": len(recs) / wall if wall else None, "wall_s": wall,
            })
            details.append(_describe(rows[-1]))
            items.extend(recs)
    notes = [
        "Claim-level labels supported / partially_supported / not_supported; macro-F1 is the unweighted mean F1 "
        "of the three; CIs are 95% percentile bootstrap intervals over claims.",
        "Unscored claims stay in the denominator (wrong for accuracy, a miss for F1).",
        "dev is the calibration split (the label model was fitted there once); quote test.",
        f"Majority-class baseline (always partially_supported): accuracy {_majority(data)}.",
        "Citation precision: cited sentences that lie in a gold supporting set; recall: claims for which a whole "
        "gold supporting set was cited (gold-labelled supported/partial claims only).",
    ]
    notes.extend(details)
    extra: dict[str, Any] = {"input_errors": [str(e) for e in errors]}
    if ctx.options.get("confusion_plot") and rows:
        extra["confusion_plot"] = str(plot_confusion([r for r in rows if "confusion" in r],
                                                     Path(ctx.options["confusion_plot"])))
    if errors:
        notes.append(f"{len(errors)} malformed record(s) skipped, e.g. {errors[0]}")
    return BenchResult(suite="wice", critic=ctx.critic_name, model=ctx.model, rows=rows, items=items, notes=notes,
                       wall_s=time.perf_counter() - start_all, extra=extra)


def plot_confusion(rows: list[dict[str, Any]], path: Path) -> Path:
    """One row-normalised confusion-matrix heatmap per suite row (gold rows, predicted columns), as a PNG."""
    from critica.report.plots import pyplot, save_figure

    plt = pyplot()

    short = ["S", "P", "N", "unscored"]
    fig, axes = plt.subplots(1, len(rows), figsize=(3.4 * len(rows), 3.4), squeeze=False)
    for ax, row in zip(axes[0], rows, strict=True):
        conf = row["confusion"]
        counts = [[conf[g].get(p, 0) for p in [*LABELS, "unscored"]] for g in LABELS]
        shares = [[c / (sum(r) or 1) for c in r] for r in counts]
        ax.imshow(shares, vmin=0, vmax=1, cmap="Blues")
        for i, r in enumerate(counts):
            for j, c in enumerate(r):
                ax.text(j, i, str(c), ha="center", va="center", color="white" if shares[i][j] > 0.5 else "black")
        ax.set_xticks(range(4), short)
        ax.set_yticks(range(3), short[:3])
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        ax.set_title(f"{row['split']}\nacc {row['accuracy']:.2f}, macro-F1 {row['macro_f1']:.2f}", fontsize=8)
    fig.suptitle("WiCE claim labels (S supported, P partially, N not supported)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def _describe(row: dict[str, Any]) -> str:
    """One line per split: CIs, per-label precision/recall and the confusion matrix (rows gold, columns predicted)."""
    acc_lo, acc_hi = row["accuracy_ci"]
    f1_lo, f1_hi = row["macro_f1_ci"]
    short = {"supported": "S", "partially_supported": "P", "not_supported": "N", "unscored": "U"}
    labels = " ".join(f"{short[k]} P{v['precision']:.2f}/R{v['recall']:.2f}" for k, v in row["per_label"].items())
    conf = "; ".join(f"{short[g]}→" + ",".join(f"{short[p]}{n}" for p, n in cols.items())
                     for g, cols in row["confusion"].items())
    return (f"{row['split']}: accuracy {row['accuracy']:.3f} [95% CI {acc_lo:.3f}, {acc_hi:.3f}], macro-F1 "
            f"{row['macro_f1']:.3f} [{f1_lo:.3f}, {f1_hi:.3f}]; {labels}; confusion (gold→pred) {conf}")


def _majority(data: dict[str, list[WiceClaim]]) -> str:
    parts = []
    for split, claims in data.items():
        if claims:
            share = sum(c.label == "partially_supported" for c in claims) / len(claims)
            parts.append(f"{split} {share:.3f}")
    return ", ".join(parts) or "n/a"


def _verifier_for(method: str) -> EvidenceVerifier | None:
    if method == "lexical":
        return EvidenceVerifier(embedder=None)
    v = EvidenceVerifier()
    return v if v.embedder is not None else None


@register_suite("wice", "WiCE claim-level evidence grounding: accuracy and macro-F1 over 3 labels (dev = calibration)")
def _suite(ctx: BenchContext) -> BenchResult:
    return run_wice(ctx)


# -- calibration ---------------------------------------------------------------------------------------------
#
# The label model is chosen on WiCE dev only. Candidates (a feature set, an L2 strength, a class-weight power)
# are compared by repeated 5-fold cross-validation in which all claims of one Wikipedia article fall in the same
# fold; the winner maximises the mean of cross-validated accuracy and macro-F1, and is then refitted on all of dev.

ORDER = (EvidenceLabel.NOT_SUPPORTED.value, EvidenceLabel.PARTIALLY_SUPPORTED.value, EvidenceLabel.SUPPORTED.value)
"""WiCE's labels from least to most supported (the ordinal model's order)."""

CORE_FEATURES = ("coverage_all", "similarity_max", "clause_similarity_min", "grounded_share", "missing_numbers",
                 "missing_names")
"""A small feature set, the alternative to all of :data:`~critica.verifiers.evidence.FEATURES`."""

L2_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)
CLASS_WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


def fit_label_model(features: list[dict[str, float]], gold: list[str], names: tuple[str, ...], *, l2: float = 3.0,
                    class_weight: float = 0.5) -> LabelModel:
    """Fit the ordinal logistic :class:`LabelModel` by penalised maximum likelihood (deterministic L-BFGS).

    Args:
        features: Claim features (from :meth:`EvidenceVerifier.score`), one dict per claim.
        gold: Their WiCE labels.
        names: The features to use.
        l2: Ridge penalty on the (standardised) feature weights; cut points are not penalised.
        class_weight: Each claim counts ``(n / (3 · n_label))^class_weight``: 0 fits the label frequencies as they
            are (favouring the common ``partially_supported``), 1 weighs the three labels equally.
    """
    import numpy as np
    from scipy.optimize import minimize

    x = np.array([[f[name] for name in names] for f in features], dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    y = np.array([ORDER.index(g) for g in gold])
    counts = np.bincount(y, minlength=3).astype(float)
    w = (len(y) / (3 * np.maximum(counts, 1.0)))[y] ** class_weight
    w /= w.mean()
    n_feat = len(names)
    rows = np.arange(len(y))

    def loss_and_grad(p: Any) -> tuple[float, Any]:
        beta, t1, gap = p[:n_feat], p[n_feat], p[n_feat + 1]
        t2 = t1 + np.exp(gap)  # keeps the cut points ordered
        s = z @ beta
        c1, c2 = 1 / (1 + np.exp(-(s - t1))), 1 / (1 + np.exp(-(s - t2)))
        prob = np.clip(np.stack([1 - c1, c1 - c2, c2], axis=1), 1e-12, None)
        d1, d2 = c1 * (1 - c1), c2 * (1 - c2)
        # d log p_y / d s and / d t1, d t2 for each claim's own label
        ds = np.select([y == 0, y == 1], [-c1, (d1 - d2) / prob[:, 1]], 1 - c2)
        dt1 = np.select([y == 0, y == 1], [c1, -d1 / prob[:, 1]], 0.0)
        dt2 = np.select([y == 0, y == 1], [0.0, d2 / prob[:, 1]], -(1 - c2))
        loss = -(w * np.log(prob[rows, y])).sum() + 0.5 * l2 * (beta @ beta)
        grad = np.empty_like(p)
        grad[:n_feat] = -(z.T @ (w * ds)) + l2 * beta
        grad[n_feat] = -(w * (dt1 + dt2)).sum()
        grad[n_feat + 1] = -(w * dt2).sum() * np.exp(gap)
        return float(loss), grad

    result = minimize(loss_and_grad, np.zeros(n_feat + 2), jac=True, method="L-BFGS-B",
                      options={"maxiter": 1000, "gtol": 1e-8})
    p = result.x
    return LabelModel(features=tuple(names), mean=tuple(round(float(v), 6) for v in mean),
                      scale=tuple(round(float(v), 6) for v in scale),
                      weights=tuple(round(float(v), 6) for v in p[:n_feat]),
                      cuts=(round(float(p[n_feat]), 6), round(float(p[n_feat] + math.exp(p[n_feat + 1])), 6)))


def _one_blas_thread() -> Any:
    """BLAS (OpenBLAS, MKL) on one thread for the block, when threadpoolctl is installed.

    The label-model fits are tiny (13 parameters, ~270 claims), yet scipy's L-BFGS-B calls BLAS, whose pool of
    threads spins for work: on the shared 2-core machine that made one fit take ~135-190 ms of CPU instead of
    4-10 ms, and `calibrate`'s 2,500 fits minutes instead of seconds. Same arithmetic, same constants.
    """
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _folds(groups: list[str], k: int, seed: int) -> list[list[int]]:
    """``k`` folds of item indices; all items of one group (article) share a fold; the shuffle is seeded."""
    import random

    names = sorted(set(groups))
    random.Random(seed).shuffle(names)
    fold_of = {g: i % k for i, g in enumerate(names)}
    return [[i for i, g in enumerate(groups) if fold_of[g] == f] for f in range(k)]


def cross_validate(features: list[dict[str, float]], gold: list[str], groups: list[str], names: tuple[str, ...], *,
                   l2: float, class_weight: float, k: int = 5, seeds: Iterable[int] = range(5)) -> tuple[float, float]:
    """Mean accuracy and macro-F1 of :func:`fit_label_model` over repeated grouped ``k``-fold cross-validation."""
    accs, f1s = [], []
    with _one_blas_thread():
        for seed in seeds:
            pred: list[str | None] = [None] * len(gold)
            for held in _folds(groups, k, seed):
                held_set = set(held)
                train = [i for i in range(len(gold)) if i not in held_set]
                model = fit_label_model([features[i] for i in train], [gold[i] for i in train], names, l2=l2,
                                        class_weight=class_weight)
                for i in held:
                    pred[i] = model.predict(features[i]).value
            accs.append(accuracy(gold, pred))
            f1s.append(macro_f1(gold, pred, LABELS))
    return sum(accs) / len(accs), sum(f1s) / len(f1s)


def select_label_model(features: list[dict[str, float]], gold: list[str], groups: list[str], *, embeddings: bool,
                       l2_grid: Iterable[float] = L2_GRID, class_weight_grid: Iterable[float] = CLASS_WEIGHT_GRID,
                       seeds: Iterable[int] = range(5),
                       log: Callable[[str], None] | None = None) -> tuple[LabelModel, dict[str, Any]]:
    """Choose feature set, L2 and class weight by grouped cross-validation on dev, then fit on all of it.

    Returns the model and a record of the choice (settings, cross-validated accuracy and macro-F1).
    """
    seeds = list(seeds)
    sets = {"all": FEATURES, "core": CORE_FEATURES}
    if not embeddings:  # similarity features are 0 without an embedder
        sets = {k: tuple(f for f in v if not f.startswith(("similarity", "clause_similarity"))) for k, v in sets.items()}
    best: dict[str, Any] = {}
    for (set_name, names), l2, cw in itertools.product(sets.items(), list(l2_grid), list(class_weight_grid)):
        acc, f1 = cross_validate(features, gold, groups, names, l2=l2, class_weight=cw, seeds=seeds)
        if log:
            log(f"  {set_name:4s} l2={l2:<4} class_weight={cw:<4}: CV accuracy {acc:.3f}, macro-F1 {f1:.3f}")
        if not best or (acc + f1) / 2 > best["objective"] + 1e-9:
            best = {"features": set_name, "l2": l2, "class_weight": cw, "cv_accuracy": acc, "cv_macro_f1": f1,
                    "objective": (acc + f1) / 2}
    with _one_blas_thread():
        model = fit_label_model(features, gold, sets[best["features"]], l2=best["l2"],
                                class_weight=best["class_weight"])
    return model, best


def _main(argv: list[str] | None = None) -> int:  # pragma: no cover - a maintainer's command
    import argparse

    from critica.cli.progress import Progress
    from critica.config import default_data_dir

    ap = argparse.ArgumentParser(prog="python -m critica.bench.wice",
                                 description="Select and fit the evidence verifier's label models on WiCE dev.")
    ap.add_argument("command", choices=["calibrate"])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--quiet", action="store_true", help="do not list every candidate's CV figures")
    args = ap.parse_args(argv)
    errors: list[InputError] = []
    claims = load_wice(default_data_dir(args.data_dir), "dev", errors=errors)[: args.limit]
    for e in errors:
        print(f"skipped: {e}")
    gold = [c.label for c in claims]
    groups = [c.title or c.id for c in claims]
    verifiers = [v for v in (_verifier_for("lexical+embedding"), _verifier_for("lexical")) if v is not None]
    for verifier in verifiers:
        feats = []
        # Progress on stderr (items/s, ETA; a plain line every 30 s when stderr is not a terminal): scoring dev
        # cold embeds ~4,600 sentences, and the cross-validation fits 1,250 models per method.
        with Progress(f"scoring WiCE dev claims [{verifier.method}]", total=len(claims), unit="claims") as progress:
            prefetch = getattr(verifier.embedder, "prefetch", None)
            for k, c in enumerate(claims):
                if k % _CHUNK == 0 and prefetch:  # one batched embedding pass per chunk; score() reads the cache
                    # score() takes the sentences as they are (no truncation), so plan on those
                    prefetch([t for x in claims[k:k + _CHUNK] for t in verifier.embedding_texts(x.claim, x.evidence)])
                feats.append(verifier.score(c.claim, c.evidence).features)
                progress.advance()
        n_candidates = 2 * len(L2_GRID) * len(CLASS_WEIGHT_GRID)
        with Progress(f"cross-validating {verifier.method} label models", total=n_candidates,
                      unit="candidates") as progress:

            def log(line: str, progress: Progress = progress) -> None:
                if not args.quiet:
                    print(line, flush=True)
                progress.advance()

            model, choice = select_label_model(feats, gold, groups, embeddings=verifier.embedder is not None,
                                               log=log)
        pred: list[str | None] = [model.predict(f).value for f in feats]
        row = {"split": f"dev, in-sample [{verifier.method}]", **evaluate_labels(gold, pred), **flag_figures(gold, pred)}
        name = "EMBEDDING_MODEL" if verifier.embedder is not None else "LEXICAL_MODEL"
        print(f"{verifier.method}: chose {choice}")
        print("  " + _describe(row))
        print(f"{name} = {model!r}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
