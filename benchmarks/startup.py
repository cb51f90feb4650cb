"""Start-up time of critica: `import critica`, `critica --help`, `critica critics` (and
`critica critique --help`), as wall time of fresh processes.

Each case runs N times (interleaved with the base checkout's runs when --base is given, so both see the same machine
load); prints the median, min and max per case, and with --base the ratio base/this (above 1: this checkout starts
faster). The console script is run as `python -c "from critica.cli import run; run()"`, which is what it does.

    .venv/bin/python benchmarks/startup.py                               # this checkout, 15 runs per case
    .venv/bin/python benchmarks/startup.py --base /tmp/base/src -n 21    # side by side with another checkout's src/
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
CLI = "from critica.cli import run; run()"
CASES: dict[str, list[str]] = {
    "python (no import)": ["-c", "pass"],
    "import critica": ["-c", "import critica"],
    "critica --help": ["-c", CLI, "--help"],
    "critica critics": ["-c", CLI, "critics"],
    "critique --help": ["-c", CLI, "critique", "--help"],  # a command's own help: its module (and the engine) loads
}


def once(src: Path, args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "120"}
    t = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=15, help="runs per case and checkout (default 15)")
    ap.add_argument("--base", type=Path, help="src/ directory of another checkout to compare with (e.g. main's)")
    a = ap.parse_args()
    srcs = {"this": SRC, **({"base": a.base.resolve()} if a.base else {})}
    times: dict[tuple[str, str], list[float]] = {(c, s): [] for c in CASES for s in srcs}
    for name, args in CASES.items():
        for src in srcs.values():
            once(src, args)  # warm the page cache and .pyc files; not counted
        for _ in range(a.n):
            for label, src in srcs.items():
                times[(name, label)].append(once(src, args))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{a.n} runs per case; {os.cpu_count()} CPUs, load average {load:.2f}; {sys.executable}")
    head = f"{'case':<20} {'this: median (min-max) ms':>28}"
    if a.base:
        head += f" {'base: median (min-max) ms':>28} {'base/this':>10}"
    print(head)
    for name in CASES:
        row = f"{name:<20}"
        med = {}
        for label in srcs:
            ts = [t * 1000 for t in times[(name, label)]]
            med[label] = statistics.median(ts)
            row += f" {f'{med[label]:.0f} ({min(ts):.0f}-{max(ts):.0f})':>28}"
        if a.base:
            row += f" {med['base'] / med['this']:>10.2f}"
        print(row)


if __name__ == "__main__":
    main()
