"""Structured access logs: one JSON object per request on the ``critica.server`` logger.

Fields: ``event``, ``request_id`` (also returned as ``X-Request-ID``), ``method``, ``path``, ``status``,
``duration_ms``, ``client`` and ``key`` (a short hash of the API key, never the key). :class:`JsonFormatter` renders
any record with those extras as one line, so log shippers need no parsing rules.

:func:`logging_config` is what ``critica serve`` hands uvicorn: these JSON lines for ``critica.server``, uvicorn's
own format for uvicorn's loggers, and on every handler one :class:`RedactingFilter` — a traceback can quote a key (an
exception raised with it in its message), and uvicorn logs the traceback of any exception that escapes the app.
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response

from critica.redact import Redactor

__all__ = ["logger", "JsonFormatter", "RedactingFilter", "install_access_log", "logging_config"]

logger = logging.getLogger("critica.server")
_FIELDS = ("event", "request_id", "method", "path", "status", "duration_ms", "client", "key", "detail")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname.lower(), "msg": record.getMessage()}
        out.update({k: getattr(record, k) for k in _FIELDS if hasattr(record, k)})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, default=str)


class RedactingFilter(logging.Filter):
    """Replaces the configured keys in a record's message, traceback and stack before a handler formats it.

    A record holding no key keeps its ``msg`` and ``args`` (uvicorn's access formatter reads ``args``); one that does
    is flattened to its redacted message. The traceback is rendered once, redacted, and the raw exception dropped, so
    no formatter can render it again.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redactor:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the handler's to report, not this filter's
            return True
        clean = self.redactor.text(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:
            record.exc_text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.text(record.stack_info)
        return True


def logging_config(redactor: Redactor, level: int = logging.INFO) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` configuration ``critica serve`` passes to uvicorn (``log_config``).

    ``critica.server`` records go to stderr as JSON lines; uvicorn's loggers keep uvicorn's own handlers and format.
    Every handler passes records through one :class:`RedactingFilter` holding ``redactor`` (the backend key and the
    client keys), so no key reaches a log line — not even in the traceback uvicorn logs when an exception escapes
    the app ("Exception in ASGI application").
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": RedactingFilter, "redactor": redactor}}
    config["formatters"]["critica"] = {"()": JsonFormatter}
    config["handlers"]["critica"] = {"class": "logging.StreamHandler", "formatter": "critica",
                                     "stream": "ext://sys.stderr"}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"][logger.name] = {"handlers": ["critica"], "level": logging.getLevelName(level),
                                      "propagate": False}
    return config


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
