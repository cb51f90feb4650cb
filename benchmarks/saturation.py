"""How well critica keeps an OpenAI-compatible server busy, against bare clients, with and without CPU load.

One command: it starts ``benchmarks/stub_server.py`` (fixed latency, counts requests and in-flight), then, for each
concurrency and load, runs each client in a fresh process on the same N items, interleaved over ``--runs`` rounds (every other round in reverse order):

* ``critica``: the ``direct`` critic over ``OpenAICompatBackend`` through the Caller and ``run_critic`` — what
  ``critica critique --model openai:NAME`` runs (prompt rendering, JSON-schema request, parsing, the Critique),
  over its default transport (aiohttp), run as the CLI runs it (``critica.run.interrupt.run_interruptible``: its
  event loop, uvloop where installed, and its collector thresholds);
* ``critica-sdk``: the same over the openai SDK transport (``CRITICA_TRANSPORT=sdk``);
* ``critica-base``: ``critica`` from another checkout's ``src/`` (``--base``), for old against new in one run;
* ``critica-cli``: ``critica critique FILE --model openai:stub --out OUT.jsonl`` itself (start-up included);
* ``openai-sdk``: a bare ``AsyncOpenAI`` loop, a semaphore of C, the same messages and response format;
* ``httpx``: a bare ``httpx.AsyncClient`` loop posting the same JSON (the transport the SDK uses);
* ``aiohttp``: a bare aiohttp loop (``--aiohttp-python`` may name another interpreter for it), on asyncio's own
  event loop: the reference of every ratio;
* ``aiohttp-uvloop``: the same bare loop on uvloop, to show what the event loop alone is worth;
* ``openai-sdk-aiohttp``: the SDK over ``httpx-aiohttp``, when ``--aiohttp-python`` can import it.

Figures per client: wall time (process start to exit), requests/s over the server's busy window (first request
in to last response out, so interpreter start-up and imports do not count), and saturation = the server's time-weighted mean in-flight requests over
the run / C (1.0: the server always had C requests). ``ratio`` is the client's requests/s over the bare aiohttp loop's in
the same round (the best bare client's when aiohttp is not run), ``busy ratio`` the same for saturation; the table
gives their median (min–max) over rounds. ``--load cpu`` runs one busy process per core beside the client.

    python benchmarks/saturation.py                                  # C = 32 and 256, idle and under load, 3 rounds
    python benchmarks/saturation.py --concurrency 32 --items 400 --runs 1 --load none
    python benchmarks/saturation.py --base /tmp/main/src         # adds critica-base: that checkout's critica
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stub_server import get_json, running

HERE = Path(__file__).resolve().parent
SCHEMA = {"type": "object", "properties": {"verdict": {"type": "string"}}, "required": ["verdict"]}


def items(n: int) -> list[dict]:
    """N small word problems with a 3-step response, the same for every client."""
    return [{"id": f"q{i}", "question": f"Tom has {i + 3} apples and buys {i % 7 + 2} more. How many apples now?",
             "response": f"Tom starts with {i + 3} apples.\nHe buys {i % 7 + 2} more.\n"
                         f"So he has {i + 3} + {i % 7 + 2} = {2 * i + 5 - i} apples."} for i in range(n)]


def _messages(it: dict) -> list[dict]:
    return [{"role": "system", "content": "You are a careful grader. Answer in JSON."},
            {"role": "user", "content": f"Question: {it['question']}\n\nResponse:\n{it['response']}\n\n"
                                        "Is the response correct? Give the verdict."}]


def _fmt() -> dict:
    return {"type": "json_schema", "json_schema": {"name": "critique", "schema": SCHEMA, "strict": True}}


# --- clients (each runs in its own process) -------------------------------------------------------------------


async def _bare_openai(url: str, c: int, data: list[dict], aio: bool = False) -> None:
    import openai

    client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0, timeout=120,
                                http_client=openai.DefaultAioHttpClient(timeout=120) if aio else None)
    sem = asyncio.Semaphore(c)

    async def one(it: dict) -> None:
        async with sem:
            r = await client.chat.completions.create(model="stub", messages=_messages(it), temperature=0.0,
                                                     max_tokens=1024, response_format=_fmt())
            json.loads(r.choices[0].message.content)

    await asyncio.gather(*(one(it) for it in data))
    await client.close()


async def _bare_httpx(url: str, c: int, data: list[dict]) -> None:
    import httpx

    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        sem = asyncio.Semaphore(c)

        async def one(it: dict) -> None:
            async with sem:
                r = await client.post("/chat/completions", json={
                    "model": "stub", "messages": _messages(it), "temperature": 0.0, "max_tokens": 1024,
                    "response_format": _fmt()})
                json.loads(r.json()["choices"][0]["message"]["content"])

        await asyncio.gather(*(one(it) for it in data))


async def _bare_aiohttp(url: str, c: int, data: list[dict]) -> None:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:
        sem = asyncio.Semaphore(c)

        async def one(it: dict) -> None:
            async with sem:
                async with session.post(url + "/chat/completions", json={
                        "model": "stub", "messages": _messages(it), "temperature": 0.0, "max_tokens": 1024,
                        "response_format": _fmt()}) as r:
                    json.loads((await r.json())["choices"][0]["message"]["content"])

        await asyncio.gather(*(one(it) for it in data))


async def _critica(url: str, c: int, data: list[dict], transport: str = "aiohttp") -> None:
    from critica.backends.call import Caller, CallPolicy
    from critica.backends.openai_compat import OpenAICompatBackend
    from critica.critics.registry import build_critic
    from critica.run.runner import run_critic
    from critica.types import Item

    class Sink:
        n = 0

        def write(self, critique) -> None:
            if critique.verdict is None or critique.metadata.get("unscored"):
                raise SystemExit(f"critique not scored: {critique.explanation}")
            self.n += 1

        def error(self, error) -> None:
            raise SystemExit(str(error))

    # critica-base runs an older checkout (--base), whose backend may predate the transport option
    kw = {} if transport == "aiohttp" else {"transport": transport}
    backend = OpenAICompatBackend("stub", base_url=url, schema_mode="json_schema", **kw)
    caller = Caller(backend, CallPolicy(concurrency=c, retries=0))
    critic = build_critic("direct", caller)
    sink = Sink()
    await run_critic(critic, (Item(**it) for it in data), sink, concurrency=c)
    await caller.aclose()
    assert sink.n == len(data)


async def _bare_openai_aiohttp(url: str, c: int, data: list[dict]) -> None:
    await _bare_openai(url, c, data, aio=True)


async def _critica_sdk(url: str, c: int, data: list[dict]) -> None:
    await _critica(url, c, data, transport="sdk")


CLIENTS = {"critica": _critica, "critica-base": _critica, "critica-sdk": _critica_sdk, "openai-sdk": _bare_openai,
           "httpx": _bare_httpx, "aiohttp": _bare_aiohttp, "aiohttp-uvloop": _bare_aiohttp,
           "openai-sdk-aiohttp": _bare_openai_aiohttp}
AIOHTTP = ("aiohttp", "aiohttp-uvloop", "openai-sdk-aiohttp")
"""Bare clients run by ``--aiohttp-python`` (the SDK over aiohttp needs httpx-aiohttp, not a critica dependency)."""


def run_client(name: str, url: str, c: int, data: list[dict]) -> None:
    """Run one client to the end: critica's as its CLI runs them (``run_interruptible``: the event loop and collector
    settings of a critica run; a checkout before 2026-12-07's last stop ran asyncio's loop there), bare ones on
    asyncio's loop (``aiohttp-uvloop`` on uvloop's)."""
    work = CLIENTS[name](url, c, data)
    if name.startswith("critica"):
        from critica.run.interrupt import run_interruptible

        run_interruptible(work)
    elif name == "aiohttp-uvloop":
        import uvloop

        uvloop.run(work)
    else:
        asyncio.run(work)


def _client_main(name: str, url: str, c: int, n: int, out: str) -> None:
    data = items(n)
    start = time.perf_counter()
    run_client(name, url, c, data)
    Path(out).write_text(json.dumps({"wall_s": time.perf_counter() - start}))


# --- driver ---------------------------------------------------------------------------------------------------


def _burn(stop) -> None:
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x += i * i


def run_one(name: str, port: int, c: int, n: int, tmp: Path, python: str = sys.executable,
            base_src: Path | None = None) -> dict:
    base = f"http://127.0.0.1:{port}"
    get_json(base + "/reset")
    out = tmp / f"{name}.json"
    src = base_src if name == "critica-base" and base_src else HERE.parent / "src"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    if name == "critica-cli":
        path = tmp / "items.jsonl"
        path.write_text("".join(json.dumps(it) + "\n" for it in items(n)))
        critica = Path(sys.executable).with_name("critica")
        cmd = [str(critica), "critique", str(path), "--critic", "direct", "--model", "openai:stub",
               "--base-url", base + "/v1", "-c", str(c), "--no-cache", "--out", str(tmp / "out.jsonl")]
        start = time.perf_counter()
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if p.returncode != 0:
            raise SystemExit(f"critica critique failed: {p.stderr[-2000:]}")
        (tmp / "out.jsonl").unlink()
    else:
        code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import saturation; "
                f"saturation._client_main({name!r}, {base + '/v1'!r}, {c}, {n}, {str(out)!r})")
        subprocess.run([python if name in AIOHTTP else sys.executable, "-c", code], env=env, check=True)
        wall = json.loads(out.read_text())["wall_s"]
    st = get_json(base + "/stats")
    if st["requests"] != n:
        raise SystemExit(f"{name}: the server saw {st['requests']} requests for {n} items")
    # requests/s over the server's window (first request in to last response out): a client's start-up and
    # imports are not dispatch (critica-cli's wall time, which includes them, is printed beside it)
    return {"client": name, "wall_s": wall, "rps": n / st["window_s"], "saturation": st["mean_in_flight"] / c,
            "peak": st["peak_in_flight"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[32, 256])
    ap.add_argument("--items", type=int, default=0, help="items per run (default 4 x concurrency, at least 400)")
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--load", nargs="+", default=["none", "cpu"], choices=["none", "cpu"])
    ap.add_argument("--clients", nargs="+", default=None)
    ap.add_argument("--aiohttp-python", default=sys.executable,
                    help="interpreter with aiohttp for the bare aiohttp client (e.g. a virtualenv of its own)")
    ap.add_argument("--base", type=Path, help="the src/ of another checkout: adds a critica-base row running it "
                                             "(old vs new side by side, e.g. a `git worktree add` of main)")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    clients = args.clients or ["critica", "critica-sdk", "critica-cli", "openai-sdk", "httpx", "aiohttp"]
    if args.base and "critica-base" not in clients:
        clients.insert(1, "critica-base")
    if args.clients is None:
        if subprocess.run([args.aiohttp_python, "-c", "import httpx_aiohttp"], capture_output=True).returncode == 0:
            clients.append("openai-sdk-aiohttp")
    bare = [c for c in clients if not c.startswith("critica")]
    rows = []
    with running(args.latency) as port:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
              f"stub latency {args.latency * 1000:.0f} ms", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            for load in args.load:
                stop = mp.Event()
                burners = [mp.Process(target=_burn, args=(stop,), daemon=True)
                           for _ in range(os.cpu_count() or 1)] if load == "cpu" else []
                for b in burners:
                    b.start()
                try:
                    for c in args.concurrency:
                        n = args.items or max(400, 4 * c)
                        for r in range(args.runs):
                            # every other round in reverse order: no client always runs first (a cold server,
                            # or load that has not yet settled) or right after another
                            order = clients if r % 2 == 0 else clients[::-1]
                            round_ = [run_one(name, port, c, n, Path(tmp), args.aiohttp_python, args.base) | {"load": load, "c": c, "n": n, "run": r}
                                      for name in order]
                            # the reference: the bare aiohttp loop of the same round (else the best bare client)
                            ref = next((x for x in round_ if x["client"] == "aiohttp"), None) or (
                                max((x for x in round_ if x["client"] in bare), key=lambda x: x["rps"]) if bare else None)
                            for x in round_:
                                x["ratio"] = x["rps"] / ref["rps"] if ref else float("nan")
                                x["busy_ratio"] = x["saturation"] / ref["saturation"] if ref else float("nan")
                                print(f"load={load:4} C={c:3} run={r} {x['client']:12} wall {x['wall_s']:6.2f} s "
                                      f"{x['rps']:7.1f} req/s saturation {x['saturation']:.2f} peak {x['peak']:3} "
                                      f"ratio {x['ratio']:.2f} busy ratio {x['busy_ratio']:.2f} "
                                      f"load avg {os.getloadavg()[0]:.1f}", flush=True)
                            rows.extend(round_)
                finally:
                    stop.set()
                    for b in burners:
                        b.join()
    ref = "aiohttp" if "aiohttp" in clients else "best bare"
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end; ratios are to {ref} in the same round")
    print(f"\n| load | C | client | req/s median (min–max) | saturation median | req/s ratio to {ref}, median (min–max) "
          f"| saturation ratio, median (min–max) |")
    print("|---|---|---|---|---|---|---|")
    for load in args.load:
        for c in args.concurrency:
            for name in clients:
                xs = [x for x in rows if x["load"] == load and x["c"] == c and x["client"] == name]
                rps, ratio, busy = [x["rps"] for x in xs], [x["ratio"] for x in xs], [x["busy_ratio"] for x in xs]
                print(f"| {load} | {c} | {name} | {statistics.median(rps):.0f} ({min(rps):.0f}–{max(rps):.0f}) | "
                      f"{statistics.median(x['saturation'] for x in xs):.2f} | "
                      f"{statistics.median(ratio):.2f} ({min(ratio):.2f}–{max(ratio):.2f}) | "
                      f"{statistics.median(busy):.2f} ({min(busy):.2f}–{max(busy):.2f}) |")
    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
