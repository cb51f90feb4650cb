"""Peak memory and throughput of `critica batch` for growing inputs, against a stub backend.

Each input size runs in a fresh subprocess (so each peak is its own): it writes a JSONL file of N ProcessBench-style
items, then runs the batch machinery end to end — streaming reader, resume check per chunk, the ProcessBench critic
(prompt building + JSON parsing) over a ScriptedBackend through the Caller, one SQLite transaction per item — and
reports resident memory before and after. Flat memory means the peak does not grow with N.

    .venv/bin/python benchmarks/batch_memory.py                      # 10k and 100k items
    .venv/bin/python benchmarks/batch_memory.py --sizes 1000 10000 --plot batch_memory.png
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPLY = json.dumps({"critique": "step 2 miscounts", "earliest_error_index": 1})


class StubBackend:
    """Answers every request instantly with the same JSON; unlike ScriptedBackend it keeps no request log."""

    name = "stub"

    async def generate(self, request):
        from critica.backends.base import Completion
        from critica.types import Usage

        words = sum(len(m["content"].split()) for m in request.messages)
        return Completion([REPLY] * request.n, Usage(prompt_tokens=words, completion_tokens=6, calls=1), model="stub")

    def retry_decision(self, exc):
        from critica.backends.base import RetryDecision

        return RetryDecision(retry=False)

    async def aclose(self):
        return None


def stub_critic(caller=None, **options):
    """ProcessBench critic over the stub backend, through the usual Caller."""
    from critica.backends.call import Caller, CallPolicy
    from critica.critics.processbench import ProcessBenchCritic

    return ProcessBenchCritic(Caller(StubBackend(), CallPolicy(concurrency=64)), **options)


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _peak_mb()


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def child(n: int, workdir: Path, concurrency: int) -> dict:
    from critica.run.batch import CriticRecipe, iter_source, run_batch
    from critica.store import Store

    src = workdir / f"items-{n}.jsonl"
    with src.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"b{i}", "question": f"What is {i} * 3 + 1?",
                                "steps": [f"{i} * 3 = {3 * i}", f"{3 * i} + 1 = {3 * i + 1}", f"The answer is {3 * i + 1}."],
                                "label": -1}) + "\n")
    store = Store.open(workdir / f"critica-{n}.db")
    store.create_run("bench")
    import gc

    gc.collect()
    before = _rss_mb()
    t0 = time.perf_counter()
    res = run_batch(CriticRecipe(critic="__main__:stub_critic", concurrency=concurrency), iter_source(src), store.sink("bench"))
    wall = time.perf_counter() - t0
    stored = store.count_critiques("bench")
    store.close()
    return {"items": n, "stored": stored, "wall_s": wall, "items_per_s": res.stats.items / wall,
            "rss_before_mb": before, "peak_rss_mb": _peak_mb(), "input_mb": src.stat().st_size / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--plot", type=Path, help="Also write a PNG of peak memory and throughput per input size.")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.dir, args.concurrency)))
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            with console.status(f"batch of {n:,} items …"):
                out = subprocess.run([sys.executable, __file__, "--child", str(n), "--dir", tmp,
                                      "--concurrency", str(args.concurrency)], capture_output=True, text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    table = Table(title=f"critica batch: stub backend, ProcessBench critic, concurrency {args.concurrency}")
    for col in ("items", "input", "stored", "wall", "items/s", "RSS before run", "peak RSS", "peak - before"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(f"{r['items']:,}", f"{r['input_mb']:.1f} MB", f"{r['stored']:,}", f"{r['wall_s']:.1f} s",
                      f"{r['items_per_s']:,.0f}", f"{r['rss_before_mb']:.0f} MB", f"{r['peak_rss_mb']:.0f} MB",
                      f"{r['peak_rss_mb'] - r['rss_before_mb']:+.1f} MB")
    console.print(table)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
        xs = [r["items"] for r in results]
        a.plot(xs, [r["peak_rss_mb"] for r in results], "o-", label="peak RSS")
        a.plot(xs, [r["rss_before_mb"] for r in results], "s--", label="RSS before run")
        a.set(xscale="log", xlabel="items in input", ylabel="MB", title="memory", ylim=(0, None))
        a.legend()
        b.plot(xs, [r["items_per_s"] for r in results], "o-")
        b.set(xscale="log", xlabel="items in input", ylabel="items/s", title="throughput", ylim=(0, None))
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        console.print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
