"""API-key authentication.

With keys configured, every ``/v1`` request must carry one (``Authorization: Bearer KEY`` or ``X-API-Key: KEY``);
keys are compared in constant time and only a short hash of a key ever reaches the logs. With no keys configured
the server answers loopback clients only, so ``critica serve`` on a laptop needs no setup while the same command
bound to a public interface cannot be used by anyone else by accident.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from critica.server.errors import HTTPProblem

__all__ = ["authenticate", "key_id", "LOOPBACK"]

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})
"""Client hosts treated as this machine (``testclient`` is Starlette's in-process test client)."""


def key_id(key: str) -> str:
    """A stable, non-reversible label of a key for logs and per-key limits."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def _presented(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


def authenticate(request: Request, keys: list[str]) -> str:
    """Return the caller's identity (a key id, or ``local``) or raise 401/403."""
    if not keys:
        host = request.client.host if request.client else ""
        if host not in LOOPBACK and not host.startswith("127."):
            raise HTTPProblem(403, f"this server has no API keys configured and serves only localhost; client {host} "
                                   "was refused (start it with --server-key, --keys-file or CRITICA_SERVER_KEYS to serve others)")
        return "local"
    token = _presented(request)
    if token is None:
        raise HTTPProblem(401, "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                          headers={"WWW-Authenticate": "Bearer"})
    for key in keys:
        if hmac.compare_digest(token.encode(), key.encode()):
            return key_id(key)
    raise HTTPProblem(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
