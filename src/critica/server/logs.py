"""Structured access logs: one JSON object per request on the ``critica.server`` logger.

Fields: ``event``, ``request_id`` (also returned as ``X-Request-ID``), ``method``, ``path``, ``status``,
``duration_ms``, ``client`` and ``key`` (a short hash of the API key, never the key). :class:`JsonFormatter` renders
any record with those extras as one line, so log shippers need no parsing rules.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response

__all__ = ["logger", "JsonFormatter", "install_access_log", "configure_logging"]

logger = logging.getLogger("critica.server")
_FIELDS = ("event", "request_id", "method", "path", "status", "duration_ms", "client", "key", "detail")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname.lower(), "msg": record.getMessage()}
        out.update({k: getattr(record, k) for k in _FIELDS if hasattr(record, k)})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """Send ``critica.server`` records to stderr as JSON lines (used by ``critica serve``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def install_access_log(app: FastAPI) -> None:
    """Log every request with its outcome and timing."""

    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("x-request-id") or secrets.token_hex(8)
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["X-Request-ID"] = rid
            return response
        finally:
            extra = {"event": "request", "request_id": rid, "method": request.method, "path": request.url.path,
                     "status": status, "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                     "client": request.client.host if request.client else None,
                     "key": getattr(request.state, "key", None)}
            logger.log(logging.WARNING if status >= 500 else logging.INFO,
                       "%s %s %s", request.method, request.url.path, status, extra=extra)
