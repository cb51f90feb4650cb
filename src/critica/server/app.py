"""``create_app(store, config)``: the FastAPI app behind ``critica serve``.

Routes live in :mod:`.routes_api` (critiques, reward, compare, refine, jobs, health) and :mod:`.routes_runs` (stored
runs for the UI); the static UI in ``ui/`` is served under ``/ui`` and talks only to ``/v1``. Every error answer has
one JSON shape (:class:`~critica.server.schemas.ErrorBody`); OpenAPI is at ``/openapi.json`` and ``/docs`` (served
without any network: see :mod:`.docs`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from critica.backends.base import Backend
from critica.server import routes_api, routes_runs
from critica.server.context import AppContext
from critica.server.docs import install_docs
from critica.server.engine import Engine
from critica.server.errors import install_handlers
from critica.server.jobs import JobManager
from critica.server.limits import BodySizeLimit, KeyLimiter
from critica.server.logs import install_access_log
from critica.server.settings import ServerConfig
from critica.store import Store

__all__ = ["create_app", "UI_DIR"]

UI_DIR = Path(__file__).parent / "ui"


def create_app(store: Store | None, config: ServerConfig | None = None, *,
               backends: Mapping[str, Backend] | None = None) -> FastAPI:
    """Build the app.

    Args:
        store: Where runs are kept and read from (None: critiques are returned but not kept; run routes answer 501).
            The caller owns it and closes it.
        config: Limits, keys and served models (default: localhost-only, no model, the verifier critic).
        backends: Backends by model spec, used instead of building them (tests inject scripted backends).

    Returns:
        The FastAPI application; serve it with uvicorn (``critica serve`` does).
    """
    config = config or ServerConfig()
    engine = Engine(config, backends)
    context = AppContext(config=config, store=store, engine=engine,
                         jobs=JobManager(max_jobs=config.max_jobs, per_key=config.per_key_concurrency,
                                         redact=engine.redactor.text),
                         limiter=KeyLimiter(config.per_key_concurrency))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await context.jobs.aclose()
            await context.engine.aclose()

    app = FastAPI(title="critica", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Critiques of LLM outputs over HTTP: step-level verdicts, first errors, scores, "
                              "rewards for RL trainers, and the stored runs behind the web UI.")
    app.state.critica = context
    install_handlers(app)
    app.include_router(routes_api.router)
    app.include_router(routes_runs.router)
    app.include_router(routes_runs.compare_router)
    install_docs(app)
    if config.ui:
        app.mount("/ui", StaticFiles(directory=UI_DIR, html=True), name="ui")

        @app.get("/", include_in_schema=False)
        def root() -> RedirectResponse:
            return RedirectResponse("/ui/")

    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    install_access_log(app)
    return app
