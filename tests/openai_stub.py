"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1 for CLI tests.

Every request is recorded (model name, API key, body); ``reply(body, i)`` writes choice ``i`` (``n`` choices when the
request asks for several). ``refuse(body)``, when given, may return ``(status, error body)`` to answer an error instead
(a text-only server refusing image parts answers 400)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class OpenAIStub:
    def __init__(self, reply: Callable[[dict[str, Any], int], str],
                 refuse: Callable[[dict[str, Any]], tuple[int, dict[str, Any]] | None] | None = None) -> None:
        self.reply = reply
        self.refuse = refuse
        self.requests: list[dict[str, Any]] = []  # {"model", "key", "body"}
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                key = (self.headers.get("authorization") or "").removeprefix("Bearer ")
                with stub._lock:
                    stub.requests.append({"model": body.get("model"), "key": key, "body": body})
                refused = stub.refuse(body) if stub.refuse is not None else None
                if refused is not None:
                    status, payload = refused
                    data = json.dumps(payload).encode()
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                n = int(body.get("n") or 1)
                choices = [{"index": i, "finish_reason": "stop",
                            "message": {"role": "assistant", "content": stub.reply(body, i)}} for i in range(n)]
                data = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": body.get("model"),
                                   "choices": choices,
                                   "usage": {"prompt_tokens": 3, "completion_tokens": 4 * n, "total_tokens": 3 + 4 * n}}
                                  ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
