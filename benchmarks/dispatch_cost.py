"""CPU work per request of critica's dispatch path against bare clients, counted in instructions (load-independent).

On a shared machine, wall time and even CPU time per request move by ±30% from run to run with what else runs (the
other hyperthread, caches). Instructions executed do not: this script runs each client under valgrind's cachegrind
(``--cache-sim=no``: the instruction count only) against ``benchmarks/stub_server.py`` at zero latency, once with a
warm-up only and once with N more items, and reports the difference per item, so interpreter start-up, imports and
the warm-up cancel out. ``PYTHONHASHSEED=0`` keeps string hashing, and so dict layouts, the same between runs.

    python benchmarks/dispatch_cost.py                                   # critica and bare aiohttp, 1,024 items
    python benchmarks/dispatch_cost.py --base /tmp/main/src --items 512  # adds critica-base: another checkout

Clients are those of ``benchmarks/saturation.py`` (``critica``: the ``direct`` critic over the default transport,
Caller and ``run_critic``, run as the CLI runs it; ``aiohttp``: a bare aiohttp loop with a semaphore on asyncio's
loop; ``aiohttp-uvloop``: the same on uvloop), all at concurrency 32 (``--concurrency`` to change). Needs valgrind
(Debian: ``apt install valgrind``); without it, ``--cpu`` measures process CPU time instead (noisier). Under valgrind
a run is ~50× slower: 1,024 items take about a minute per client.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from stub_server import running

HERE = Path(__file__).resolve().parent
CONCURRENCY = 32
WARMUP = 200

_CHILD = """
import sys, time
sys.path.insert(0, {here!r})
import saturation as S
name, n, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
S.run_client(name, url, {c}, S.items({warmup}))
t = time.process_time()
if n:
    S.run_client(name, url, {c}, S.items(n))
print("CPU", time.process_time() - t)
"""


def _run(client: str, n: int, url: str, src: Path, valgrind: bool, c: int = CONCURRENCY) -> float:
    """Instructions (valgrind) or CPU seconds of one child run: warm-up, then ``n`` items."""
    code = _CHILD.format(here=str(HERE), c=c, warmup=WARMUP)
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-c", code, client, str(n), url]
    if valgrind:
        cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *cmd]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{client} failed:\n{p.stderr[-2000:]}")
    if valgrind:
        m = re.search(r"I\s+refs:\s+([\d,]+)", p.stderr)
        if not m:
            raise SystemExit(f"no instruction count in valgrind's output:\n{p.stderr[-2000:]}")
        return float(m.group(1).replace(",", ""))
    return float(re.search(r"CPU ([\d.e-]+)", p.stdout).group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=1024)
    ap.add_argument("--clients", nargs="+", default=["aiohttp", "critica"])
    ap.add_argument("--concurrency", type=int, default=CONCURRENCY)
    ap.add_argument("--base", type=Path, help="the src/ of another checkout: adds critica-base, run from it")
    ap.add_argument("--cpu", action="store_true", help="process CPU time instead of instructions (no valgrind)")
    args = ap.parse_args()
    valgrind = not args.cpu
    if valgrind and shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: install it (apt install valgrind) or pass --cpu")
    clients = list(args.clients) + (["critica-base"] if args.base else [])
    unit = "instructions" if valgrind else "µs CPU"
    print(f"{args.items} items, concurrency {args.concurrency}, stub at zero latency; load average "
          f"{os.getloadavg()[0]:.1f} at the start ({time.strftime('%H:%M:%S')})", flush=True)
    rows = {}
    with running(0.0) as port:
        url = f"http://127.0.0.1:{port}/v1"
        for client in clients:
            src = args.base if client == "critica-base" else HERE.parent / "src"
            name = "critica" if client == "critica-base" else client
            # the warm-up-only run is subtracted: start-up, imports and warm-up cancel out
            c = args.concurrency
            per = (_run(name, args.items, url, src, valgrind, c) - _run(name, 0, url, src, valgrind, c)) / args.items
            rows[client] = per if valgrind else per * 1e6
            print(f"{client:14s} {rows[client]:12,.0f} {unit} per item", flush=True)
    ref = rows.get("aiohttp")
    print(f"\n| client | {unit} per item | ratio to bare aiohttp |\n|---|---|---|")
    for client, per in rows.items():
        print(f"| {client} | {per:,.0f} | {per / ref:.2f} |" if ref else f"| {client} | {per:,.0f} | |")


if __name__ == "__main__":
    main()
