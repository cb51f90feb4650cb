"""The lean transport over HTTPS: it verifies the server's certificate, and trusts a private CA named the standard
way (``SSL_CERT_FILE``). The server is a TLS server on 127.0.0.1 with a throwaway self-signed certificate made by
the ``openssl`` command (the tests skip where it is missing)."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from critica.backends import http
from critica.backends.base import GenerateRequest
from critica.backends.call import Caller, CallPolicy
from critica.backends.openai_compat import OpenAICompatBackend
from critica.errors import BackendError

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

ANSWER = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                     "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "yes"}}],
                     "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}).encode()


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    crt, key = d / "server.crt", d / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True, timeout=60)
    return crt, key


@pytest.fixture
def tls_server(cert):
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("content-length") or 0))
            requests.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(ANSWER)))
            self.end_headers()
            self.wfile.write(ANSWER)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/v1", requests
    httpd.shutdown()
    httpd.server_close()


def _ask(url: str) -> list[str]:
    import asyncio

    async def go() -> list[str]:
        b = OpenAICompatBackend("m", base_url=url)
        try:
            c = await Caller(b, CallPolicy(retries=0, timeout_s=10)).generate(
                GenerateRequest(messages=[{"role": "user", "content": "ok?"}]))
            return c.texts
        finally:
            await b.aclose()

    return asyncio.run(go())


def test_an_untrusted_certificate_is_refused(tls_server, monkeypatch):
    url, requests = tls_server
    monkeypatch.setattr(http, "_SSL", None)  # the context is built once per process: build it under this test's env
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(BackendError, match="(?i)certificate"):
        _ask(url)
    assert requests == []  # nothing was sent to a server whose certificate failed


def test_a_private_ca_is_trusted_through_ssl_cert_file(tls_server, cert, monkeypatch):
    url, requests = tls_server
    monkeypatch.setattr(http, "_SSL", None)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    assert _ask(url) == ["yes"]
    assert requests == ["/v1/chat/completions"]
