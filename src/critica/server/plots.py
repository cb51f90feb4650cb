"""PNG plots of a stored run for the UI (matplotlib, drawn on request, nothing written to disk).

Every plot follows the item filters of the run page (:func:`critica.server.views.filtered`): it is drawn over the
items the list shows, for the run and the peers that critiqued them. Kinds:

* ``verdicts``: verdict counts per run;
* ``first-error``: how many critiques put the first error at each step — bars at whole steps, 1-based as people
  read them;
* ``latency``: seconds per critique;
* ``figures``: the run's ``critica bench`` figures against the items' gold labels (F1, accuracies, precision … for
  ProcessBench-style labels; accuracy and macro-F1 for WiCE-style labels), per run, from
  :func:`critica.bench.gold.run_figures`.

A plot with nothing to draw says why in words instead of showing empty axes.
"""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from critica.bench.gold import run_figures
from critica.server.errors import HTTPProblem
from critica.server.views import filtered, get_run, run_summary
from critica.store import Store
from critica.types import Critique, Verdict

__all__ = ["PLOTS", "render_plot"]

PLOTS = ("verdicts", "first-error", "latency", "figures")


def _pyplot():
    from critica.errors import MissingDependency
    from critica.report.plots import pyplot

    try:
        return pyplot()
    except MissingDependency:
        raise HTTPProblem(501, "plots need matplotlib: pip install 'critica[plots]'") from None


def _message(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=10, color="#555")
    ax.set_axis_off()


def _critiques(store: Store, name: str, ids: list[str]) -> list[Critique]:
    keep = set(ids)
    return [c for c in store.iter_critiques(name) if c.item_id in keep and "trajectory" not in c.metadata]


def render_plot(store: Store, run: str, kind: str, filters: dict[str, Any] | None = None) -> bytes:
    """The PNG bytes of plot ``kind`` for the items of ``run`` that pass ``filters`` (see :func:`filtered`)."""
    if kind not in PLOTS:
        raise HTTPProblem(404, f"unknown plot {kind!r}; available: {', '.join(PLOTS)}")
    info = get_run(store, run)
    f = filtered(store, run, **{k: v for k, v in (filters or {}).items() if k != "sort"})
    ids = [r.item_id for r in f.rows]
    runs = [run, *run_summary(store, info).peers]
    per_run = {name: _critiques(store, name, ids) for name in runs}
    runs = [name for name in runs if per_run[name]]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    try:
        if not ids:
            _message(ax, "no items pass the filters")
        elif kind == "verdicts":
            labels = [v.value for v in Verdict]
            width = 0.8 / len(runs)
            for i, name in enumerate(runs):
                counts = Counter(c.verdict.value for c in per_run[name])
                ax.bar([j + i * width for j in range(len(labels))], [counts.get(v, 0) for v in labels], width,
                       label=f"{get_run(store, name).protocol or '?'} ({name})")
            ax.set_xticks([j + width * (len(runs) - 1) / 2 for j in range(len(labels))], labels)
            ax.yaxis.get_major_locator().set_params(integer=True)
            ax.set_ylabel("critiques")
            ax.legend(fontsize=7)
        elif kind == "first-error":
            steps = {name: Counter(c.first_error_step + 1 for c in per_run[name] if c.first_error_step is not None)
                     for name in runs}
            shown = [name for name in runs if steps[name]]
            if not shown:
                _message(ax, "no critique of these items names a first error step")
            else:
                xs = sorted({x for name in shown for x in steps[name]})
                width = 0.8 / len(shown)
                for i, name in enumerate(shown):
                    ax.bar([x - 0.4 + width * (i + 0.5) for x in xs], [steps[name].get(x, 0) for x in xs], width,
                           label=name)
                ax.set_xticks(xs, [str(x) for x in xs])
                ax.yaxis.get_major_locator().set_params(integer=True)
                ax.set_xlabel("first error step (1-based)")
                ax.set_ylabel("critiques")
                ax.legend(fontsize=7)
        elif kind == "latency":
            lat = {name: [c.latency_s for c in per_run[name] if c.latency_s > 0] for name in runs}
            shown = [name for name in runs if lat[name]]
            if not shown:
                _message(ax, "no latency recorded for these critiques (tool critics that take no time, or replays)")
            else:
                for name in shown:
                    ax.hist(lat[name], bins=20, alpha=0.6, label=name)
                ax.yaxis.get_major_locator().set_params(integer=True)
                ax.set_xlabel("seconds per critique")
                ax.set_ylabel("critiques")
                ax.legend(fontsize=7)
        else:
            _figures(ax, store, runs, ids)
        ax.set_title(f"{run}: {kind} ({len(ids)} item{'s' if len(ids) != 1 else ''})", fontsize=10)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)


def _figures(ax: Any, store: Store, runs: list[str], ids: list[str]) -> None:
    keep = set(ids)
    results = {name: run_figures(((item, c) for item, c in store.iter_records(name) if c.item_id in keep), n_boot=0)
               for name in runs}
    results = {name: r for name, r in results.items() if r["kind"]}
    if not results:
        _message(ax, "these items carry no gold label (ProcessBench/MR-GSM8K 'label', 'gold_verdict', WiCE 'label'): "
                     "no figures against gold")
        return
    kind = next(iter(results.values()))["kind"]
    names = {k: v for k, v in next(iter(results.values()))["names"].items()
             if any(isinstance(r["figures"].get(k), int | float) for r in results.values())}
    keys = list(names)
    width = 0.8 / len(results)
    for i, (name, r) in enumerate(results.items()):
        vals = [r["figures"].get(k) for k in keys]
        ax.barh([j + i * width for j in range(len(keys))], [100 * v if isinstance(v, int | float) else 0 for v in vals],
                width, label=f"{name} (n={r['labelled']})")
    ax.set_yticks([j + width * (len(results) - 1) / 2 for j in range(len(keys))], [names[k] for k in keys])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% against gold ({'ProcessBench-style step labels' if kind == 'step' else 'WiCE-style labels'})")
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(fontsize=7)
