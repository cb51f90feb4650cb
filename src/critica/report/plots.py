"""PNG plots of benchmark figures (matplotlib, optional extra ``plots``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from critica.errors import MissingDependency
from critica.report.files import atomic_path

__all__ = ["plot_rows", "pyplot", "save_figure"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the headless Agg backend; MissingDependency with the install command if absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the install
        raise MissingDependency("matplotlib", "pip install 'critica[plots]'") from e
    return plt


def save_figure(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` at ``path`` (PNG unless the suffix names another format; folder created; written atomically,
    so a killed run never leaves a truncated image), free its memory, and return the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".").lower() or "png")
    finally:
        plt.close(fig)
    return path


def plot_rows(rows: Sequence[dict[str, Any]], path: str | Path, *, metrics: Sequence[str] | None = None,
              title: str = "") -> Path:
    """Grouped bars: one group per split, one bar per metric (rates in %); writes ``path`` and returns it."""
    plt = pyplot()
    metrics = list(metrics or [m for m in ("f1", "precision_solution", "precision_step", "recall_exact",
                                           "precision_step_earliest", "recall_earliest", "false_alarm_rate")
                               if any(isinstance(r.get(m), float) for r in rows)])
    splits = [str(r.get("split")) for r in rows]
    width = 0.8 / max(1, len(metrics))
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(splits) * max(1, len(metrics)) / 3), 4))
    for i, m in enumerate(metrics):
        vals = [(r.get(m) or 0) * 100 for r in rows]
        ax.bar([x + i * width for x in range(len(splits))], vals, width, label=m)
    ax.set_xticks([x + width * (len(metrics) - 1) / 2 for x in range(len(splits))], splits, rotation=20)
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
