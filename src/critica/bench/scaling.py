"""Compute vs quality: how a critic's figures change with k samples per verdict, with confidence intervals.

Two ways to get the points, one table and one plot:

* :func:`scale_items` — any critic over labelled (item, gold) pairs: each item's ``max(ks)`` samples are drawn once
  (sample ``i`` with seed ``base + i``) and the k-vote for every k is the majority over the first k, so k = 1, 2,
  4, 8 cost 8 draws, not 15, and the points are paired (same items, nested samples). The metric is ProcessBench's
  F1 (harmonic mean of accuracy on erroneous and on correct solutions, Zheng et al. 2024) or plain accuracy;
  unscored verdicts count as wrong and are reported beside.
* :func:`run_suite_scaling` — any registered benchmark suite, run once per k with its critic wrapped in a
  :class:`~critica.aggregate.voting.VotingCritic` over a shared :class:`~critica.aggregate.voting.SampleCache`
  (the same nesting), reading the suite's own metric and ``<metric>_ci`` from its overall row.

Tokens per verdict are counted two ways: ``n=k`` (the prompt processed once, k completions — what one request with
n=k costs where the server honours n) and ``k calls`` (k separate requests). Confidence intervals are percentile
bootstrap intervals over items with a fixed seed. Calibration of the vote share (ECE, selective accuracy at 50 %
coverage) is reported per k against verdict-level correctness (:func:`scale_items`) or the suite's per-item
``correct`` field (:func:`run_suite_scaling`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from critica.aggregate.panel import Gold, matches_gold
from critica.aggregate.reducers import Reducer, majority
from critica.aggregate.voting import SampleCache, VotingCritic, draw_samples
from critica.bench.base import BenchContext, BenchResult
from critica.bench.calibration import expected_calibration_error, selective_accuracy
from critica.bench.classification import bootstrap_ci
from critica.critics.base import Critic
from critica.types import Critique, Item, Verdict

__all__ = ["ScalingPoint", "ScalingResult", "processbench_f1", "label_accuracy", "scale_items", "run_suite_scaling",
           "plot_scaling", "parse_ks", "scaled_factory"]


@dataclass
class ScalingPoint:
    """Figures at one k."""

    k: int
    value: float
    """The metric at this k."""
    ci: tuple[float, float] | None
    """95 % bootstrap interval of the metric."""
    items: int
    tokens_n: float
    """Prompt + completion tokens per verdict with the prompt processed once (one n=k request). A cost of the method:
    tokens replayed from the call cache count too (``Usage.replayed_tokens`` says how many were not spent now)."""
    tokens_calls: float
    """Prompt + completion tokens per verdict with k separate calls (replayed ones included, as above)."""
    unscored: float = 0.0
    """Fraction of items whose vote is unscored."""
    ece: float | None = None
    """Expected calibration error of the vote share against verdict correctness (k = 1: confidence is 1)."""
    selective_50: float | None = None
    """Verdict accuracy on the 50 % of items with the highest vote share."""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScalingResult:
    """A compute-vs-quality curve."""

    metric: str
    critic: str
    model: str | None
    points: list[ScalingPoint]
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One table row per k (JSON-ready)."""
        out = []
        for p in self.points:
            out.append({
                "k": p.k, self.metric: round(p.value, 4),
                f"{self.metric}_ci": [round(p.ci[0], 4), round(p.ci[1], 4)] if p.ci else None,
                "tokens/verdict (n=k)": round(p.tokens_n, 1), "tokens/verdict (k calls)": round(p.tokens_calls, 1),
                "unscored": round(p.unscored, 4), "ece": None if p.ece is None else round(p.ece, 4),
                "sel_acc@50%": None if p.selective_50 is None else round(p.selective_50, 4), "items": p.items,
            })
        return out


def parse_ks(text: str) -> list[int]:
    """``"1,2,4,8"`` → ``[1, 2, 4, 8]`` (sorted, unique, each ≥ 1)."""
    from critica.errors import UserError

    try:
        ks = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise UserError(f"--samples {text!r}: expected comma-separated integers, e.g. 1,2,4,8") from None
    if not ks or ks[0] < 1:
        raise UserError(f"--samples {text!r}: every k must be at least 1")
    return ks


def _encode_gold(g: Gold) -> str:
    if g.verdict == Verdict.CORRECT:
        return "-1"
    return str(g.first_error_step) if g.first_error_step is not None else "err"


def _encode_pred(c: Critique, g: Gold) -> str | None:
    if c.verdict == Verdict.UNSCORED:
        return None
    if c.verdict == Verdict.CORRECT:
        return "-1"
    return "err" if g.first_error_step is None else str(c.first_error_step)


def processbench_f1(gold: Sequence[str], pred: Sequence[str | None]) -> float:
    """ProcessBench F1: harmonic mean of accuracy on erroneous (exact first error) and on correct solutions.

    Labels are ``"-1"`` (correct) or the first wrong step; None (unscored) is wrong. With only one class present
    the accuracy on that class is returned (F1 is undefined).
    """
    err = [p == g for g, p in zip(gold, pred, strict=True) if g != "-1"]
    cor = [p == g for g, p in zip(gold, pred, strict=True) if g == "-1"]
    a = sum(err) / len(err) if err else None
    b = sum(cor) / len(cor) if cor else None
    if a is None or b is None:
        return a if b is None else b  # type: ignore[return-value]
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


def label_accuracy(gold: Sequence[str], pred: Sequence[str | None]) -> float:
    """Share of exactly matching labels (None counts as wrong)."""
    return sum(p == g for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0


def _calibration(votes: list[Critique], golds: list[Gold]) -> tuple[float | None, float | None]:
    conf, right = [], []
    for c, g in zip(votes, golds, strict=True):
        ok = matches_gold(c, g, step_level=False)
        if ok is not None and c.confidence is not None:
            conf.append(c.confidence)
            right.append(ok)
    if not conf:
        return None, None
    return expected_calibration_error(conf, right), selective_accuracy(conf, right, 0.5)


async def scale_items(
    critic: Critic,
    labelled: Sequence[tuple[Item, Gold]],
    ks: Sequence[int],
    *,
    metric: str = "f1",
    reducer: Reducer = majority,
    concurrency: int = 4,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> ScalingResult:
    """Compute-vs-quality points of ``critic`` on labelled items (see the module docstring).

    Args:
        critic: The critic to sample (at temperature > 0 for distinct samples).
        labelled: (item, gold) pairs.
        ks: Sample counts to evaluate.
        metric: ``"f1"`` (ProcessBench F1) or ``"accuracy"`` (exact label accuracy).
        reducer: How k samples become one verdict.
        concurrency: Items in flight.
        seed: Seed of the bootstrap.
        progress: Called with (items done, items total).
    """
    ks = sorted(set(ks))
    max_k = ks[-1]
    sem = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(item: Item) -> list[Critique]:
        nonlocal done
        async with sem:
            # One sample per request: each sample's usage is then exact (prompt + its completion), which both
            # token accountings below need; seeds match a single n=max_k request.
            drawn = await asyncio.gather(*(draw_samples(critic, item, 1, offset=i) for i in range(max_k)))
        done += 1
        if progress is not None:
            progress(done, len(labelled))
        return [s[0] for s in drawn]

    all_samples = await asyncio.gather(*(one(it) for it, _ in labelled))
    golds = [g for _, g in labelled]
    gold_labels = [_encode_gold(g) for g in golds]
    fn = processbench_f1 if metric == "f1" else label_accuracy
    points = []
    for k in ks:
        votes = [reducer(s[:k]) for s in all_samples]
        pred = [_encode_pred(v, g) for v, g in zip(votes, golds, strict=True)]
        n = max(1, len(votes))
        prompt = sum(s[0].usage.prompt_tokens for s in all_samples)
        completion = sum(c.usage.completion_tokens for s in all_samples for c in s[:k])
        ece, sel = _calibration(votes, golds)
        points.append(ScalingPoint(
            k=k, value=fn(gold_labels, pred) if votes else 0.0,
            ci=bootstrap_ci(gold_labels, pred, fn, seed=seed) if votes else None, items=len(votes),
            tokens_n=(prompt + completion) / n, tokens_calls=(k * prompt + completion) / n,
            unscored=sum(p is None for p in pred) / n, ece=ece, selective_50=sel,
        ))
    notes = [
        f"metric: {'ProcessBench F1 (harmonic mean of accuracy on erroneous and correct solutions)' if metric == 'f1' else 'exact label accuracy'}; "
        "unscored votes count as wrong; 95 % percentile bootstrap CI over items (seed "
        f"{seed}).",
        f"k-votes are nested: the first k of {max_k} samples per item (majority on verdict, then first error).",
    ]
    return ScalingResult(metric=metric, critic=critic.name, model=getattr(getattr(critic, "caller", None), "name", None),
                         points=points, notes=notes)


class _Recorder:
    """Passes critiques through and keeps them, to count tokens and calibration per k."""

    def __init__(self, critic: Critic, sink: list[Critique]) -> None:
        self.inner = critic
        self.name = critic.name
        self.caller = None  # the suite must not close the shared base critic's backend between k
        self.sink = sink

    async def critique(self, item: Item) -> Critique:
        out = await self.inner.critique(item)
        self.sink.append(out)
        return out


def _pick_metric(row: dict[str, Any], wanted: str | None) -> str:
    if wanted:
        return wanted
    for key, value in row.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and f"{key}_ci" in row:
            return key
    for key, value in row.items():
        if isinstance(value, float):
            return key
    from critica.errors import UserError

    raise UserError("the suite's overall row has no numeric metric to plot")


def _suite_calibration(res: BenchResult, seen: list[Critique]) -> tuple[float | None, float | None]:
    """ECE and selective accuracy of the vote share against the suite's per-item ``correct`` field, if it has one."""
    correct = {r.get("id"): r.get("correct") for r in res.items if isinstance(r.get("correct"), bool)}
    pairs = [(c.confidence, correct[c.item_id]) for c in seen if c.confidence is not None and c.item_id in correct]
    if not pairs:
        return None, None
    conf, right = [p[0] for p in pairs], [p[1] for p in pairs]
    return expected_calibration_error(conf, right), selective_accuracy(conf, right, 0.5)


def scaled_factory(make: Callable[[], Critic], config: Any, *, settings: Any = None, options: dict | None = None,
                   concurrency: int = 4, data_dir: Path | None = None) -> Callable[[], Critic]:
    """Wrap a suite's critic factory with :func:`~critica.aggregate.spec.wrap_critic` (panels, cascades, votes)."""
    from critica.aggregate.spec import wrap_critic

    if not config.active:
        return make

    def wrapped() -> Critic:
        base = make()
        return wrap_critic(base, config, caller=getattr(base, "caller", None), settings=settings, options=options,
                           concurrency=concurrency, data_dir=data_dir)

    return wrapped


def run_suite_scaling(run: Callable[[BenchContext], BenchResult], ctx: BenchContext, ks: Sequence[int], *,
                      metric: str | None = None, reducer: Reducer = majority) -> tuple[ScalingResult, list[BenchResult]]:
    """Run a benchmark suite once per k with k-sample voting (``reducer``: ``--vote``); returns the curve and each
    k's full result."""
    base = ctx.make_critic()
    cache = SampleCache(single=True)
    points, results = [], []
    chosen = metric
    for k in sorted(set(ks)):
        seen: list[Critique] = []

        def make(k: int = k, seen: list[Critique] = seen) -> Critic:
            return _Recorder(VotingCritic(base, k, cache=cache, reducer=reducer), seen)

        res = run(dataclasses.replace(ctx, make_critic=make, options={**ctx.options, "samples": k}))
        results.append(res)
        row = res.rows[-1] if res.rows else {}
        chosen = _pick_metric(row, chosen)
        ci = row.get(f"{chosen}_ci")
        ece, sel = _suite_calibration(res, seen)
        n = max(1, len(seen))
        # Samples are drawn one per request, so the first sample's prompt tokens are the whole prompt.
        prompt_once = sum(c.samples[0].usage.prompt_tokens if c.samples else c.usage.prompt_tokens for c in seen)
        completion = sum(c.usage.completion_tokens for c in seen)
        confs = [c for c in seen if c.confidence is not None]
        points.append(ScalingPoint(
            k=k, value=float(row.get(chosen, 0.0) or 0.0),
            ci=(float(ci[0]), float(ci[1])) if isinstance(ci, (list, tuple)) and len(ci) == 2 else None,
            ece=ece, selective_50=sel,
            items=len(seen), tokens_n=(prompt_once + completion) / n,
            tokens_calls=(k * prompt_once + completion) / n,
            unscored=sum(c.verdict == Verdict.UNSCORED for c in seen) / n,
            extra={"confident": len(confs)},
        ))
    await_close = getattr(getattr(base, "caller", None), "aclose", None)
    if await_close is not None:
        asyncio.run(await_close())
    notes = [f"{ctx.critic_name}: suite run once per k; votes nested over one cache of samples per item."]
    return ScalingResult(metric=chosen or "metric", critic=getattr(base, "name", ctx.critic_name), model=ctx.model,
                         points=points, notes=notes), results


def plot_scaling(result: ScalingResult, path: Path, *, title: str | None = None) -> Path:
    """Two panels — metric vs samples (log2 axis) and metric vs tokens per verdict — with CI error bars (PNG)."""
    from critica.report.plots import pyplot, save_figure

    plt = pyplot()

    ks = [p.k for p in result.points]
    ys = [p.value for p in result.points]
    lo = [p.value - p.ci[0] if p.ci else 0 for p in result.points]
    hi = [p.ci[1] - p.value if p.ci else 0 for p in result.points]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    axes[0].errorbar(ks, ys, yerr=[lo, hi], marker="o", capsize=4)
    axes[0].set_xscale("log", base=2)
    axes[0].set_xticks(ks, [str(k) for k in ks])
    axes[0].set_xlabel("samples per verdict (k)")
    axes[0].set_ylabel(result.metric)
    for tokens, label in ((lambda p: p.tokens_n, "n=k (prompt once)"), (lambda p: p.tokens_calls, "k separate calls")):
        axes[1].errorbar([tokens(p) for p in result.points], ys, yerr=[lo, hi], marker="o", capsize=4, label=label)
    for p in result.points:
        axes[1].annotate(f"k={p.k}", (p.tokens_n, p.value), textcoords="offset points", xytext=(4, 4), fontsize=8)
    axes[1].set_xscale("log")
    axes[1].set_xlabel("tokens per verdict (prompt + completion)")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle(title or f"{result.critic}" + (f" on {result.model}" if result.model else "") + " — 95 % bootstrap CI")
    fig.tight_layout()
    return save_figure(fig, path)
