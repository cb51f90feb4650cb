"""PNG plots of a stored run for the UI (matplotlib, drawn on request, nothing written to disk).

Kinds: ``verdicts`` (verdict counts of the run and its peers), ``first-error`` (where critics place the first
error, 1-based steps as people read them), ``latency`` (seconds per critique) and ``figures`` (the numeric totals
the run recorded when it finished — a benchmark's metrics).
"""

from __future__ import annotations

import io
from collections import Counter

from critica.server.errors import HTTPProblem
from critica.server.views import get_run, run_summary
from critica.store import Store
from critica.types import Verdict

__all__ = ["PLOTS", "render_plot"]

PLOTS = ("verdicts", "first-error", "latency", "figures")


def _pyplot():
    from critica.errors import MissingDependency
    from critica.report.plots import pyplot

    try:
        return pyplot()
    except MissingDependency:
        raise HTTPProblem(501, "plots need matplotlib: pip install 'critica[plots]'") from None


def _numeric(totals: dict, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in totals.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            out[prefix + str(k)] = float(v)
        elif isinstance(v, dict) and not prefix:
            out.update(_numeric(v, f"{k}."))
    return out


def render_plot(store: Store, run: str, kind: str) -> bytes:
    """The PNG bytes of plot ``kind`` for ``run``."""
    if kind not in PLOTS:
        raise HTTPProblem(404, f"unknown plot {kind!r}; available: {', '.join(PLOTS)}")
    info = get_run(store, run)
    summary = run_summary(store, info)
    runs = [run, *summary.peers]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    try:
        if kind == "verdicts":
            labels = [v.value for v in Verdict]
            width = 0.8 / len(runs)
            for i, name in enumerate(runs):
                counts = store.verdict_counts(name)
                ax.bar([j + i * width for j in range(len(labels))], [counts.get(v, 0) for v in labels], width,
                       label=f"{get_run(store, name).protocol or '?'} ({name})")
            ax.set_xticks([j + width * (len(runs) - 1) / 2 for j in range(len(labels))], labels)
            ax.set_ylabel("critiques")
            ax.legend(fontsize=7)
        elif kind == "first-error":
            for name in runs:
                steps = Counter(c.first_error_step + 1 for c in store.iter_critiques(name)
                                if c.first_error_step is not None)
                xs = sorted(steps)
                ax.plot(xs, [steps[x] for x in xs], marker="o", label=name)
            ax.set_xlabel("first error step (1-based)")
            ax.set_ylabel("critiques")
            ax.legend(fontsize=7)
        elif kind == "latency":
            for name in runs:
                lat = [c.latency_s for c in store.iter_critiques(name)]
                if lat:
                    ax.hist(lat, bins=20, alpha=0.6, label=name)
            ax.set_xlabel("seconds per critique")
            ax.set_ylabel("critiques")
            ax.legend(fontsize=7)
        else:
            figures = _numeric(info.totals)
            if not figures:
                ax.text(0.5, 0.5, "this run recorded no numeric figures", ha="center", va="center")
                ax.set_axis_off()
            else:
                names = list(figures)[:20]
                ax.barh(names, [figures[n] for n in names])
                ax.invert_yaxis()
                ax.tick_params(axis="y", labelsize=7)
        ax.set_title(f"{run}: {kind}", fontsize=10)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
