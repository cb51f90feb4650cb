"""Tokens per verdict of k-sample voting: one request with n=k against k separate calls, and adaptive sampling.

Part 1 starts llama-cpp-python's OpenAI-compatible server with the bundled SmolLM2-135M on a free local port and
critiques the first ProcessBench items with the ProcessBench protocol, k=8 samples per verdict, two ways:

* ``n=k``     — one ``sample(item, 8)`` request (when the server ignores n, the backend tops up with further
  calls using the next seeds — the table shows how many calls that took);
* ``k calls`` — eight ``sample(item, 1, seed=s+i)`` requests.

Part 2 runs fixed k=8 voting and adaptive voting (stop when the vote cannot change, max 8) on a ScriptedBackend
stub whose sampled answers are scripted to agree, mostly agree, or disagree, with the same real prompts.

Figures are prompt + completion tokens per verdict as reported by the backend (the stub counts words), calls per
verdict and wall time. SmolLM2 is a pipeline model: its verdicts are not the point here, its token counts are.

Usage::

    .venv/bin/python benchmarks/sampling_tokens.py [--items 3] [--k 8] [--max-tokens 64] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from critica.aggregate.voting import AdaptiveVotingCritic, VotingCritic
from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend
from critica.backends.llamacpp import bundled_smollm2_path
from critica.backends.openai_compat import OpenAICompatBackend
from critica.bench.datasets import load_processbench
from critica.config import default_data_dir
from critica.critics.processbench import ProcessBenchCritic
from critica.types import Item, Usage

console = Console(width=150)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, n_ctx: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_smollm2_path()), "--port", str(port),
           "--host", "127.0.0.1", "--n_ctx", str(n_ctx)]
    # The server logs a lot while loading: a file, not a pipe, so a full pipe buffer cannot stall it.
    log = tempfile.NamedTemporaryFile("w+", prefix="llama-server-", suffix=".log", delete=False)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"llama.cpp server exited early; log: {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"llama.cpp server did not come up within 300 s; log: {log.name}")


def row(table: Table, mode: str, items: int, usage: Usage, wall: float, samples: int | None = None) -> None:
    n = max(1, items)
    table.add_row(
        mode, f"{samples / n:.2f}" if samples is not None else "-", f"{usage.calls / n:.2f}",
        f"{usage.prompt_tokens / n:.0f}", f"{usage.completion_tokens / n:.0f}", f"{usage.total_tokens / n:.0f}",
        f"{wall / n:.2f}",
    )


def new_table(title: str) -> Table:
    t = Table(title=title)
    for col in ("mode", "samples/verdict", "calls/verdict", "prompt tok/verdict", "completion tok/verdict",
                "total tok/verdict", "wall s/verdict"):
        t.add_column(col, justify="right" if col != "mode" else "left")
    return t


async def server_part(items: list[Item], k: int, max_tokens: int, port: int) -> Table:
    backend = OpenAICompatBackend("smollm2", base_url=f"http://127.0.0.1:{port}/v1", schema_mode="json_object",
                                  timeout_s=300, name="llamacpp-server:smollm2")
    caller = Caller(backend, CallPolicy(timeout_s=300, retries=1, concurrency=1))
    critic = ProcessBenchCritic(caller, temperature=0.7, max_tokens=max_tokens, seed=0)
    table = new_table(f"k={k} on llama.cpp server, SmolLM2-135M, {len(items)} ProcessBench items")
    with Progress(console=console, transient=True) as progress:
        for mode in ("n=k", "k calls"):
            task = progress.add_task(mode, total=len(items))
            before, start, samples = caller.usage, time.perf_counter(), 0
            for item in items:
                if mode == "n=k":
                    got = await critic.sample(item, k, seed=0)
                else:
                    got = [c for i in range(k) for c in await critic.sample(item, 1, seed=i)]
                samples += len(got)
                progress.advance(task)
            used = caller.usage
            delta = Usage(prompt_tokens=used.prompt_tokens - before.prompt_tokens,
                          completion_tokens=used.completion_tokens - before.completion_tokens,
                          calls=used.calls - before.calls)
            row(table, mode, len(items), delta, time.perf_counter() - start, samples)
    await caller.aclose()
    return table


def scripted(kind: str):
    """Replies by seed: 'agree' always step 1; 'mostly' every 4th sample says -1; 'disagree' alternates."""

    def reply(request, i):
        s = (request.seed or 0) + i  # the i-th choice of a request with n > 1 is sample seed + i
        wrong = {"agree": False, "mostly": s % 4 == 3, "disagree": s % 2 == 1}[kind]
        return json.dumps({"critique": "Step 1 miscomputes the total, so it is the earliest error here.",
                           "earliest_error_index": -1 if wrong else 1})

    return reply


async def adaptive_part(items: list[Item], k: int) -> Table:
    table = new_table(f"fixed k={k} vs adaptive (max {k}, stop when the vote cannot change) on a scripted stub")
    wrappers = {"fixed": lambda c: VotingCritic(c, k), "adaptive": lambda c: AdaptiveVotingCritic(c, k)}
    for honours_n in (False, True):
        for kind in ("agree", "mostly", "disagree"):
            for label, wrap in wrappers.items():
                caller = Caller(ScriptedBackend(scripted(kind), honours_n=honours_n), CallPolicy(retries=0))
                critic = wrap(ProcessBenchCritic(caller, temperature=0.7, seed=0))
                start, samples = time.perf_counter(), 0
                for item in items:
                    samples += len((await critic.critique(item)).samples)
                mode = f"{kind} / {label} / {'n honoured' if honours_n else 'n ignored'}"
                row(table, mode, len(items), caller.usage, time.perf_counter() - start, samples)
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=3)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--skip-server", action="store_true", help="only the scripted adaptive part")
    args = ap.parse_args()
    loaded = load_processbench(default_data_dir(args.data_dir), ["gsm8k"])
    items = [li.item for li in loaded.items[: args.items]]
    if not args.skip_server:
        port = free_port()
        console.print(f"starting llama.cpp server on 127.0.0.1:{port} …")
        proc = start_server(port, n_ctx=4096)
        try:
            console.print(asyncio.run(server_part(items, args.k, args.max_tokens, port)))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    console.print(asyncio.run(adaptive_part(items, args.k)))
    console.print("'n ignored': the stub answers one choice per request, like llama.cpp's server (further calls "
                  "fill the k samples); 'n honoured': one request returns all n. Stub tokens are words.")


if __name__ == "__main__":
    main()
