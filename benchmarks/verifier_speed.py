"""Solutions per second of the ``verifier`` critic, old code against new, and proof that its findings are unchanged.

    python benchmarks/verifier_speed.py --old /tmp/base/src --new src                  # speed, 2 rounds
    python benchmarks/verifier_speed.py --old /tmp/base/src --new src --check OUTDIR   # findings, byte for byte

Speed: each measurement runs in a fresh process (``PYTHONPATH`` = the ``src`` given), old and new interleaved, for
``--rounds`` rounds, on every item of ProcessBench, MR-GSM8K and PRMBench (the shared data):

* ``cpu``: ``VerifierCritic(workers=1).judge`` over every item in that process, items per CPU-second of it (CPU time
  depends less on what else the shared machine runs than wall time does);
* ``cpu2``: two ``cpu`` runs at once (one per core), the sum of their items per CPU-second: what two worker
  processes could reach with no pool overhead at all (on this VM each of two side by side runs ~0.8 of one alone);
* ``w1`` / ``w2``: what ``critica bench SUITE --critic verifier`` does, ``critique_stream`` at ``--concurrency``
  with ``VerifierCritic(workers=N)``, items per second of wall time, the pool's start-up included (``workers=1``
  judges in a thread, ``2`` in a pool of two processes);
* ``default``: the same with ``VerifierCritic()`` and ``CRITICA_WORKERS`` unset, i.e. each code's default (main
  before 2026-12-07: a thread; now ``auto``);
* ``pool``: the pool's own cost: ``critique_stream`` over a pool of two workers with every check turned off (each
  item is split into steps and gets an empty critique), the pool started first; items per second of wall time
  (every item twice, so that the run is long enough to time).

The load average before each measurement is printed with it: on a shared machine compare only rows of one run.
Before measuring, both ``src`` trees get their bytecode compiled (``compileall``), as an installed package has it;
``--no-compile`` leaves them as they are.

``--check OUTDIR``: runs ``critica bench SUITE --critic verifier --json-out`` with each ``src`` (for ``--workers``,
default 1 and 2) and compares the files without their timing fields (``latency_s``, ``wall_s``, ``items_per_s``),
and also every critique as JSON (``latency_s`` cleared); prints what differs and exits 1 when anything does. The old
code's outputs are kept in OUTDIR and reused by a later ``--check`` into it (``--fresh`` reruns them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SUITES = ("processbench", "mr_gsm8k", "prmbench")
TIMING = {"latency_s", "wall_s", "items_per_s"}


def _items(suite: str, data_dir: str):
    from critica.bench.datasets import load_mr_gsm8k, load_prmbench, load_processbench

    load = {"processbench": load_processbench, "mr_gsm8k": load_mr_gsm8k, "prmbench": load_prmbench}[suite]
    return [li.item for li in load(Path(data_dir)).items]


def _child(mode: str, suite: str, data_dir: str, concurrency: int) -> dict:

    from critica.verifiers.critic import VerifierCritic

    items = _items(suite, data_dir)
    if mode == "cpu":
        critic = VerifierCritic(workers=1)
        t = time.process_time()
        for item in items:
            critic.judge(item)
        return {"n": len(items), "per_s": len(items) / (time.process_time() - t)}
    from critica.run.runner import critique_stream

    if mode == "pool":
        return _pool_ceiling(items * 2, concurrency)

    async def go() -> int:
        n = 0
        critic = VerifierCritic() if mode == "default" else VerifierCritic(workers=int(mode[1:]))
        async for _ in critique_stream(critic, items, concurrency=concurrency):
            n += 1
        return n

    from critica.run.interrupt import run_interruptible  # as `critica bench` runs it: the CLI's loop and GC settings

    t = time.perf_counter()
    n = run_interruptible(go())
    return {"n": n, "per_s": n / (time.perf_counter() - t)}


def _pool_ceiling(items: list, concurrency: int) -> dict:
    import asyncio

    from critica.run.runner import critique_stream
    from critica.verifiers import pool
    from critica.verifiers.critic import VerifierCritic

    async def go() -> float:
        critic = VerifierCritic(workers=2, arithmetic=False, final_answer=False, evidence=False, code=False, rules=False)
        await critic.critique(items[0])
        while pool._starting(2):
            await asyncio.sleep(0.05)
        t = time.perf_counter()
        async for _ in critique_stream(critic, items, concurrency=concurrency):
            pass
        return time.perf_counter() - t

    wall = asyncio.run(go())
    pool.shutdown()
    return {"n": len(items), "per_s": len(items) / wall}


def _dump(suite: str, data_dir: str, out: str) -> None:
    from critica.verifiers.critic import VerifierCritic

    critic = VerifierCritic(workers=1)
    with open(out, "w", encoding="utf-8") as f:
        for item in _items(suite, data_dir):
            crit = critic.judge(item)
            crit.latency_s = None
            f.write(crit.model_dump_json() + "\n")


def _run(src: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if k != "CRITICA_WORKERS"}, "PYTHONPATH": str(Path(src).resolve()),
           **(env or {})}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, check=True)


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in TIMING}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def check(old: str, new: str, outdir: Path, data_dir: str, workers: list[str], fresh: bool = False) -> int:
    outdir.mkdir(parents=True, exist_ok=True)
    bad = 0
    for suite in SUITES:
        files = {}
        for name, src in (("old", old), ("new", new)):
            for w in workers if name == "new" else ["1"]:
                f = outdir / f"{suite}-{name}-w{w}.json"
                if name == "old" and f.exists() and not fresh:
                    files[(name, w)] = json.dumps(_strip(json.loads(f.read_text())), sort_keys=True)
                    continue  # the old code's output, from an earlier --check into the same OUTDIR
                _run(src, ["-c", "from critica.cli import run; run()", "bench", suite, "--critic", "verifier", "--data-dir", data_dir,
                           "--json-out", str(f)], {"CRITICA_WORKERS": str(w)})
                files[(name, w)] = json.dumps(_strip(json.loads(f.read_text())), sort_keys=True)
            d = outdir / f"{suite}-{name}-critiques.jsonl"
            if name == "new" or fresh or not d.exists():
                _run(src, [__file__, "--dump", suite, str(d), "--data-dir", data_dir])
            files[(name, "dump")] = d.read_bytes()
        ref = files[("old", "1")]
        n = len(json.loads(ref)["items"])
        for key, text in files.items():
            if key[1] == "dump" or key == ("old", "1"):
                continue
            same = text == ref
            bad += not same
            print(f"{suite}: bench --json-out new (CRITICA_WORKERS={key[1]}) vs old: "
                  f"{'identical' if same else 'DIFFERENT'} ({n} items, timing fields removed)")
        same = files[("new", "dump")] == files[("old", "dump")]
        bad += not same
        print(f"{suite}: every critique as JSON (latency_s cleared), new vs old: "
              f"{'byte-identical' if same else 'DIFFERENT'} ({len(files[('old', 'dump')])} bytes)")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", help="the old code's src directory")
    ap.add_argument("--new", default="src", help="the new code's src directory (default: src)")
    ap.add_argument("--data-dir", default=os.environ.get("CRITICA_DATA", "../shared/data"))
    ap.add_argument("--suite", action="append", choices=SUITES, help="default: all three")
    ap.add_argument("--modes", default="cpu,w1,w2,default", help="comma-separated: cpu, cpu2, w1, w2, default, pool")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=4, help="items in flight for w1/w2 (bench's default: 4)")
    ap.add_argument("--check", metavar="OUTDIR", help="compare findings instead of measuring speed")
    ap.add_argument("--workers", default="1,2", help="with --check: CRITICA_WORKERS values of the new runs")
    ap.add_argument("--fresh", action="store_true", help="with --check: rerun the old code even if OUTDIR has its output")
    ap.add_argument("--no-compile", action="store_true",
                    help="leave both src trees as they are (by default their bytecode is compiled first, see below)")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "SUITE"), help=argparse.SUPPRESS)
    ap.add_argument("--dump", nargs=2, metavar=("SUITE", "FILE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(_child(a.child[0], a.child[1], a.data_dir, a.concurrency)))
        return 0
    if a.dump:
        _dump(a.dump[0], a.data_dir, a.dump[1])
        return 0
    if not a.old:
        ap.error("--old is required")
    if a.check:
        return check(a.old, a.new, Path(a.check), a.data_dir, a.workers.split(","), a.fresh)
    suites = a.suite or list(SUITES)
    modes = a.modes.split(",")
    if not a.no_compile:
        # Both trees as an installed package has them: pip writes bytecode at install, an editable checkout (and
        # PYTHONDONTWRITEBYTECODE, set on the development VMs) leaves every worker to compile critica's modules
        # from source, ~0.15 s of each worker's start-up that no installed copy pays.
        for src in (a.old, a.new):
            subprocess.run([sys.executable, "-m", "compileall", "-q", src], check=True)
    print(f"# verifier speed, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs; "
          f"old = {a.old}, new = {a.new}; cpu: items per CPU-second in-process; w1/w2: items/s wall, "
          f"critique_stream at concurrency {a.concurrency}")
    print("| round | suite | mode | old | new | new/old | load avg (1 min) |")
    print("|---|---|---|---|---|---|---|")
    for r in range(1, a.rounds + 1):
        for suite in suites:
            for mode in modes:
                got, loads = {}, []
                # alternate which goes first, so neither always runs on the busier half of the round
                order = [("old", a.old), ("new", a.new)] if r % 2 else [("new", a.new), ("old", a.old)]
                for name, src in order:
                    loads.append(os.getloadavg()[0])
                    args = [__file__, "--child", "cpu" if mode == "cpu2" else mode, suite, "--data-dir", a.data_dir,
                            "--concurrency", str(a.concurrency)]
                    if mode == "cpu2":  # two at once, each on its own core
                        with ThreadPoolExecutor(2) as ex:
                            outs = list(ex.map(_run, [src, src], [args, args]))
                    else:
                        outs = [_run(src, args)]
                    got[name] = sum(json.loads(o.stdout.strip().splitlines()[-1])["per_s"] for o in outs)
                print(f"| {r} | {suite} | {mode} | {got['old']:.1f} | {got['new']:.1f} | "
                      f"{got['new'] / got['old']:.2f} | {min(loads):.1f}–{max(loads):.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
