"""Per-app state and the dependencies routes declare: who is calling, their concurrency slot, the store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Depends, Request

from critica.server.auth import authenticate
from critica.server.engine import Engine
from critica.server.errors import HTTPProblem
from critica.server.jobs import JobManager
from critica.server.limits import KeyLimiter
from critica.server.settings import ServerConfig
from critica.store import Store

__all__ = ["AppContext", "ctx", "identity", "limited", "need_store"]


@dataclass
class AppContext:
    """Everything one app holds for its lifetime."""

    config: ServerConfig
    store: Store | None
    engine: Engine
    jobs: JobManager
    limiter: KeyLimiter


def ctx(request: Request) -> AppContext:
    """The app's context."""
    return request.app.state.critica


def identity(request: Request, c: AppContext = Depends(ctx)) -> str:
    """Authenticate the caller; their identity is kept on the request for the access log."""
    who = authenticate(request, c.config.api_keys)
    request.state.key = who
    return who


def limited(who: str = Depends(identity), c: AppContext = Depends(ctx)) -> Iterator[str]:
    """Hold one of the caller's concurrency slots for the request (429 when none is free)."""
    c.limiter.acquire(who)
    try:
        yield who
    finally:
        c.limiter.release(who)


def need_store(c: AppContext = Depends(ctx)) -> Store:
    """The attached store, or 501 when the server runs without one."""
    if c.store is None:
        raise HTTPProblem(501, "this server has no store attached, so it keeps no runs (start it with --db)")
    return c.store
