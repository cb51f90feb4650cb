"""Throughput of the verifier critic under `critica batch` on a real Ray cluster of 1 and then 2 nodes, against the
local executor, and the Ray executor's overhead per item.

It starts a token-authenticated cluster on this machine (``ray start --head`` with 1 CPU; then a second node with
1 CPU via ``ray start --address``; own ports, own temp dir, stopped at the end — see tests/ray_cluster.py), writes
N ProcessBench items (the GSM8K split from /work/shared/data, repeated with fresh ids up to N) as JSONL, and runs
the batch machinery end to end — streaming reader, resume check, commits into a SQLite store on the driver — with
the verifier critic (tool checks, no model):

* local: the local executor in this process;
* ray, 1 node: the head only; then the second node joins and
* ray, 2 nodes.

Each Ray configuration first runs a small warm-up batch (worker start, the critica package shipped to the node),
reported apart. On one machine both nodes share the same cores (and the driver uses them too): the 2-node figure
shows what the executor adds, not what a second machine would give. Prints one line per figure.

    PYTHONPATH=src .venv/bin/python benchmarks/ray_nodes.py                 # 800 items
    PYTHONPATH=src .venv/bin/python benchmarks/ray_nodes.py --items 2000 --data /work/shared/data
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from ray_cluster import LocalCluster  # noqa: E402

from critica.bench.datasets import load_processbench  # noqa: E402
from critica.run.batch import CriticRecipe, iter_source, run_batch  # noqa: E402
from critica.run.ray import RayOptions  # noqa: E402
from critica.store import Store  # noqa: E402


def write_items(path: Path, data: Path, n: int) -> None:
    items = [li.item for li in load_processbench(data, ["gsm8k"]).items]
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            item = items[i % len(items)]
            f.write(json.dumps({"id": f"{item.id}-{i}", "question": item.question, "steps": item.steps}) + "\n")


VERIFIER = "ray_support:make_node_verifier"  # the verifier, each critique stamped with the node that ran it
SCRIPTED = "ray_support:make_node_critic"  # ProcessBench over an instant scripted backend: almost no work per item


def timed(store: Store, run: str, src: Path, executor: str, opts: RayOptions | None,
          critic: str = VERIFIER) -> tuple[float, int]:
    store.create_run(run)
    start = time.perf_counter()
    res = run_batch(CriticRecipe(critic=critic, concurrency=4), iter_source(src), store.sink(run),
                    executor=executor, ray=opts)  # type: ignore[arg-type]
    return time.perf_counter() - start, res.stats.items


def node_shares(store: Store, run: str) -> str:
    counts: dict[str, int] = {}
    for c in store.iter_critiques(run):
        node = str(c.metadata.get("node"))[:8]
        counts[node] = counts.get(node, 0) + 1
    return ", ".join(f"node {k}: {v}" for k, v in sorted(counts.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=800)
    ap.add_argument("--warmup", type=int, default=64)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CRITICA_DATA", "/work/shared/data")))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ray-nodes-"))
    src, warm = work / "items.jsonl", work / "warm.jsonl"
    write_items(src, args.data, args.items)
    write_items(warm, args.data, args.warmup)
    store = Store.open(work / "bench.db")
    print(f"machine: {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f} at start; "
          f"{args.items} ProcessBench/GSM8K items, verifier critic")
    local_s, n = timed(store, "local", src, "local", None)
    print(f"local executor:        {n} items in {local_s:.2f} s = {n / local_s:.1f} items/s")
    light_s, _ = timed(store, "light-local", src, "local", None, SCRIPTED)
    # The nodes import the stamping wrappers from tests/ (critica itself is shipped to them by the driver).
    with LocalCluster(env={"PYTHONPATH": str(ROOT / "tests"), "CRITICA_TEST_DELAY": "0"}) as cluster:
        t0 = time.perf_counter()
        address = cluster.start(workers=0)
        print(f"head started in {time.perf_counter() - t0:.1f} s")
        opts = RayOptions(address=address, token_file=str(cluster.token_file))
        rates = {}
        for nodes in (1, 2):
            if nodes == 2:
                t0 = time.perf_counter()
                cluster.add_node("n1")
                print(f"second node joined in {time.perf_counter() - t0:.1f} s")
            warm_s, _ = timed(store, f"warm{nodes}", warm, "ray", opts)
            print(f"ray, {nodes} node(s), warm-up: {args.warmup} items in {warm_s:.2f} s (worker start, code shipped)")
            took, n = timed(store, f"ray{nodes}", src, "ray", opts)
            rates[nodes] = n / took
            print(f"ray, {nodes} node(s):        {n} items in {took:.2f} s = {rates[nodes]:.1f} items/s; "
                  f"{1000 * (took - local_s) / n:+.2f} ms/item vs local ({node_shares(store, f'ray{nodes}')})")
            if nodes == 1:
                light, _ = timed(store, "light-ray", src, "ray", opts, SCRIPTED)
                print(f"executor overhead, near-zero work per item (scripted ProcessBench, 1 node): "
                      f"ray {1000 * light / n:.2f} ms/item vs local {1000 * light_s / n:.2f} ms/item "
                      f"= {1000 * (light - light_s) / n:+.2f} ms/item")
        print(f"2 nodes / 1 node throughput ratio: {rates[2] / rates[1]:.2f} "
              f"(both nodes on the same {os.cpu_count()} cores, shared with the driver)")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
        import ray

        ray.shutdown()
    store.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
