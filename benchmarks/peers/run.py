"""critica against inspect-ai, prometheus-eval and judges on the same judging job, against the same stub server.

One command. It makes a virtualenv per peer under ``benchmarks/peers/.venvs/`` (gitignored) and installs the peer
from PyPI into it unless it is there already (``--no-install``: use what is there; a peer that is missing is
reported, not skipped silently), starts ``benchmarks/stub_server.py`` (fixed latency, honours ``n``, counts requests,
tokens, peak and mean in-flight), and runs the same N items through each tool at each concurrency C, ``--runs``
rounds, each tool in its own process with its own interpreter (``clients.py``). critica runs from this checkout
with the interpreter running this script.

Per tool and C: saturation = the server's time-weighted mean in-flight requests / min(C, N) over the run (min, median, max
of the rounds), requests and tokens the server saw, wall time, and the ratio of the tool's median saturation to
critica's. ``--plot`` draws the medians with min–max bars.

    python benchmarks/peers/run.py                          # C = 32 and 256 (200 and 1,024 items), 3 rounds
    python benchmarks/peers/run.py --concurrency 32 --runs 1 --plot peers.png
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
PEERS = {"inspect-ai": ["inspect-ai", "openai"], "prometheus-eval": ["prometheus-eval"], "judges": ["judges"]}
"""Peer → what its virtualenv installs (inspect-ai needs the openai package for its OpenAI provider)."""
sys.path[:0] = [str(HERE), str(HERE.parent)]
from clients import NOTES  # noqa: E402
from stub_server import get_json, running  # noqa: E402


def _python(tool: str) -> Path:
    return VENVS / tool / "bin" / "python"


def ensure(tool: str, install: bool) -> str | None:
    """None when the peer's environment is ready, else why not."""
    py = _python(tool)
    module = {"inspect-ai": "inspect_ai", "prometheus-eval": "prometheus_eval", "judges": "judges"}[tool]
    if py.exists() and subprocess.run([str(py), "-c", f"import {module}"], capture_output=True).returncode == 0:
        return None
    if not install:
        return "not installed (run without --no-install)"
    print(f"installing {tool} into {VENVS / tool} …", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENVS / tool)], check=True)
    p = subprocess.run([str(py), "-m", "pip", "install", "-q", *PEERS[tool]], capture_output=True, text=True)
    if p.returncode != 0:
        return f"pip install failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}"
    return None


def run_tool(tool: str, port: int, c: int, n: int, tmp: Path) -> dict:
    base = f"http://127.0.0.1:{port}"
    get_json(base + "/reset")
    out = tmp / f"{tool}.json"
    py = sys.executable if tool == "critica" else str(_python(tool))
    env = {**os.environ, "PYTHONPATH": str(HERE.parent.parent / "src"), "TQDM_DISABLE": "1",
           "INSPECT_LOG_LEVEL": "error"}
    p = subprocess.run([py, str(HERE / "clients.py"), tool, base + "/v1", str(c), str(n), str(out)],
                       env=env, capture_output=True, text=True)
    if p.returncode != 0 or not out.exists():
        raise RuntimeError(f"{tool} failed: {(p.stderr or p.stdout)[-1500:]}")
    res = json.loads(out.read_text())
    st = get_json(base + "/stats")
    return {"tool": tool, "c": c, "n": n, "wall_s": res["wall_s"], "scored": res["scored"],
            "saturation": st["mean_in_flight"] / min(c, n), "peak": st["peak_in_flight"], "requests": st["requests"],
            "tokens": st["prompt_tokens"] + st["completion_tokens"]}


def plot(rows: list[dict], tools: list[str], concurrency: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.8 / len(tools)
    for k, tool in enumerate(tools):
        med, lo, hi = [], [], []
        for c in concurrency:
            xs = [r["saturation"] for r in rows if r["tool"] == tool and r["c"] == c] or [0.0]
            m = statistics.median(xs)
            med.append(m)
            lo.append(m - min(xs))
            hi.append(max(xs) - m)
        pos = [i + (k - (len(tools) - 1) / 2) * width for i in range(len(concurrency))]
        ax.bar(pos, med, width, yerr=[lo, hi], capsize=3, label=tool)
    ax.set_xticks(range(len(concurrency)), [f"concurrency {c}" for c in concurrency])
    ax.set_ylabel("backend saturation (mean in-flight / C)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, ncol=2)
    ax.set_title("Same judging job, same stub server (median, min–max of rounds)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[32, 256])
    ap.add_argument("--items", type=int, default=0, help="items per run (default 4 x C, at least 200)")
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tools", nargs="+", default=["critica", *PEERS])
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--plot", type=Path)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    missing = {t: why for t in args.tools if t != "critica" and (why := ensure(t, not args.no_install))}
    tools = [t for t in args.tools if t not in missing]
    rows: list[dict] = []
    failed: dict[str, str] = {}
    with running(args.latency) as port:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
              f"stub latency {args.latency * 1000:.0f} ms", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            for c in args.concurrency:
                for r in range(args.runs):
                    for tool in tools:
                        if tool in failed:
                            continue
                        try:
                            x = run_tool(tool, port, c, args.items or max(200, 4 * c), Path(tmp)) | {"run": r}
                        except RuntimeError as e:
                            failed[tool] = str(e).strip().splitlines()[-1][:200]
                            print(f"{tool}: {failed[tool]}", flush=True)
                            continue
                        rows.append(x)
                        print(f"C={c:3} n={x['n']} run={r} {tool:16} saturation {x['saturation']:.2f} wall {x['wall_s']:6.2f} s "
                              f"requests {x['requests']} scored {x['scored']}", flush=True)
    print("\n| tool | C | saturation median (min–max) | ratio to critica | peak in flight | requests | tokens | "
          "wall s median | configuration |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in args.concurrency:
        ref = [x["saturation"] for x in rows if x["tool"] == "critica" and x["c"] == c]
        for tool in args.tools:
            xs = [x for x in rows if x["tool"] == tool and x["c"] == c]
            if not xs:
                print(f"| {tool} | {c} | – | – | – | – | – | – | {missing.get(tool) or failed.get(tool, 'no run')} |")
                continue
            sat = [x["saturation"] for x in xs]
            ratio = f"{statistics.median(sat) / statistics.median(ref):.2f}" if ref else "–"
            print(f"| {tool} | {c} | {statistics.median(sat):.2f} ({min(sat):.2f}–{max(sat):.2f}) | {ratio} | "
                  f"{max(x['peak'] for x in xs)} | {statistics.median(x['requests'] for x in xs):.0f} | {statistics.median(x['tokens'] for x in xs):.0f} | "
                  f"{statistics.median(x['wall_s'] for x in xs):.1f} | {NOTES[tool]} |")
    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=1))
    if args.plot:
        plot(rows, [t for t in args.tools if any(x["tool"] == t for x in rows)], args.concurrency, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
