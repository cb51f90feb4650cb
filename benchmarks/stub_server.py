"""A stub OpenAI-compatible chat server for throughput benchmarks: fixed latency, no model, exact counts.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) on a raw asyncio server, so its own cost per
request stays small next to the clients it measures. ``POST /v1/chat/completions`` sleeps ``--latency`` seconds and
answers ``n`` choices (it honours ``n``); the reply text is chosen by the request's ``model`` (see ``REPLIES``), so one
server can answer every peer in the format it parses; a request with ``tools`` (instructor, which judges uses) gets a
tool call filling its response model. ``GET /stats`` returns the counts since the last
``POST /reset``: requests, choices, prompt and completion tokens, peak in-flight, and the time-weighted mean
in-flight over the window from the first request's arrival to the last response (``mean_in_flight``).

    python benchmarks/stub_server.py --port 8999 --latency 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPLIES = {
    # critica's direct critic (JSON schema) and anything unknown
    "default": json.dumps({"explanation": "The steps hold.", "first_error_step": -1, "suggested_fix": "",
                           "verdict": "correct"}),
    # prometheus-eval absolute grading: "Feedback: ... [RESULT] N"
    "prometheus": "Feedback: The response answers the question accurately and completely. [RESULT] 4",
    # inspect-ai model_graded_qa: "GRADE: C"
    "inspect": "The submission matches the criterion.\n\nGRADE: C",
}


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = self.choices = self.prompt_tokens = self.completion_tokens = 0
        self.in_flight = self.peak = 0
        self.first: float | None = None
        self.last = 0.0
        self._area = 0.0  # integral of in-flight over time
        self._t = time.perf_counter()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.first is not None:
            self._area += self.in_flight * (now - self._t)
        self._t = now

    def enter(self) -> None:
        self._tick()
        if self.first is None:
            self.first = self._t
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def leave(self) -> None:
        self._tick()
        self.in_flight -= 1
        self.last = self._t

    def as_dict(self) -> dict:
        window = (self.last - self.first) if self.first is not None else 0.0
        return {"requests": self.requests, "choices": self.choices, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "peak_in_flight": self.peak,
                "mean_in_flight": self._area / window if window > 0 else 0.0, "window_s": window}


def _response(status: int, body: bytes) -> bytes:
    reason = {200: "OK", 404: "Not Found", 400: "Bad Request"}.get(status, "OK")
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: keep-alive\r\n\r\n").encode() + body


def _completion(req: dict, n_id: int) -> tuple[bytes, int, int, int]:
    model = str(req.get("model", ""))
    text = next((v for k, v in REPLIES.items() if k != "default" and k in model.lower()), REPLIES["default"])
    n = int(req.get("n") or 1)
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in req.get("messages", []))
    completion_tokens = len(text.split())
    message: dict = {"role": "assistant", "content": text}
    tools = req.get("tools") or []
    if tools:  # instructor (judges) asks for a tool call filling its response model
        name = tools[0].get("function", {}).get("name", "tool")
        text = json.dumps({"score": True, "reasoning": "The answer is correct.", "score_type": "boolean"})
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call-{n_id}", "type": "function", "function": {"name": name, "arguments": text}}]}
    body = {
        "id": f"stub-{n_id}", "object": "chat.completion", "created": int(time.time()), "model": model or "stub",
        "choices": [{"index": i, "message": message, "finish_reason": "tool_calls" if tools else "stop",
                     "logprobs": None} for i in range(n)],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens * n,
                  "total_tokens": prompt_tokens + completion_tokens * n},
    }
    return json.dumps(body).encode(), n, prompt_tokens, completion_tokens * n


async def serve(host: str, port: int, latency: float) -> None:
    stats = Stats()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                path = path.split("?", 1)[0]
                if method == "POST" and path.endswith("/chat/completions"):
                    stats.enter()
                    try:
                        req = json.loads(body or b"{}")
                        await asyncio.sleep(latency)
                        out, n, pt, ct = _completion(req, stats.requests)
                        stats.requests += 1
                        stats.choices += n
                        stats.prompt_tokens += pt
                        stats.completion_tokens += ct
                    finally:
                        stats.leave()
                    writer.write(_response(200, out))
                elif path == "/stats":
                    writer.write(_response(200, json.dumps(stats.as_dict()).encode()))
                elif path == "/reset":
                    stats.reset()
                    writer.write(_response(200, b"{}"))
                elif path.endswith("/models"):
                    writer.write(_response(200, json.dumps(
                        {"object": "list", "data": [{"id": "stub", "object": "model", "owned_by": "stub"}]}).encode()))
                else:
                    writer.write(_response(404, b'{"error": "not found"}'))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, port, backlog=4096)
    async with server:
        await server.serve_forever()


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


@contextmanager
def running(latency: float) -> Iterator[int]:
    """This server in a child process on a free 127.0.0.1 port, answering ``/stats``; yields the port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--port", str(port),
                               "--latency", str(latency)])
    try:
        for _ in range(100):
            try:
                get_json(f"http://127.0.0.1:{port}/stats")
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8999)
    ap.add_argument("--latency", type=float, default=0.2, help="seconds each completion takes (default 0.2)")
    args = ap.parse_args()
    asyncio.run(serve(args.host, args.port, args.latency))


if __name__ == "__main__":
    main()
