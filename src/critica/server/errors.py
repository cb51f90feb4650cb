"""Every error the server answers has one JSON shape, :class:`~critica.server.schemas.ErrorBody`.

Handlers here map FastAPI's validation errors (malformed JSON → 400, invalid fields → 422, each naming the field),
HTTP errors (404, 405 …) and :class:`HTTPProblem` raised by the routes onto that shape. Anything else a route raises
is a bug: it is logged with its traceback and answered 500 ``internal_error`` in the same shape, without details.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from critica.errors import InputError
from critica.server.schemas import ApiError, ErrorBody, FieldProblem

__all__ = ["HTTPProblem", "install_handlers", "problem_from_input_error", "error_response"]

_STATUS_TYPES = {400: "invalid_request", 409: "conflict", 422: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "too_large", 429: "rate_limited", 501: "not_implemented",
                 500: "internal_error", 503: "backend_unavailable", 504: "timeout"}


class HTTPProblem(Exception):
    """Raised by routes and dependencies; answered as ``{"error": {...}}`` with ``status``."""

    def __init__(self, status: int, message: str, *, type: str | None = None,
                 errors: list[FieldProblem] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type or _STATUS_TYPES.get(status, "error")
        self.message = message
        self.errors = errors or []
        self.headers = headers


def error_response(status: int, type: str, message: str, errors: list[FieldProblem] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON answer for an error."""
    body = ErrorBody(error=ApiError(type=type, message=message, errors=errors or []))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def problem_from_input_error(e: InputError) -> FieldProblem:
    """An :class:`~critica.errors.InputError` (the CLI's error) as a field problem."""
    return FieldProblem(location=e.location, field=e.field, reason=e.reason, message=str(e))


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errs = exc.errors()
    bad_json = [e for e in errs if e.get("type") == "json_invalid"]
    if bad_json:
        ctx = bad_json[0].get("ctx") or {}
        where = f" at position {bad_json[0]['loc'][-1]}" if len(bad_json[0].get("loc", ())) > 1 else ""
        return error_response(400, "malformed_json",
                              f"request body is not valid JSON: {ctx.get('error', 'decode error')}{where}")
    problems = []
    for e in errs:
        loc = tuple(e.get("loc", ()))
        name = _field_name(loc[1:] if loc[:1] == ("body",) else loc) or "body"
        problems.append(FieldProblem(location="request body", field=name, reason=e.get("msg", "invalid"),
                                     message=f"request body: field '{name}': {e.get('msg', 'invalid')}"))
    summary = "; ".join(p.message for p in problems[:3]) + (" …" if len(problems) > 3 else "")
    return error_response(422, "invalid_request", summary, problems)


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return error_response(exc.status_code, _STATUS_TYPES.get(exc.status_code, "error"), str(exc.detail),
                          headers=getattr(exc, "headers", None))


async def _problem(request: Request, exc: HTTPProblem) -> JSONResponse:
    return error_response(exc.status, exc.type, exc.message, exc.errors, exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Keys an exception message may quote are replaced by the log handlers' filter (critica.server.logs).
    logging.getLogger("critica.server").error("unhandled error on %s %s", request.method, request.url.path,
                                              exc_info=exc, extra={"event": "error", "path": request.url.path})
    return error_response(500, "internal_error", "the server failed on this request (the error is in its log); "
                                                 "please report it")


def install_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPProblem, _problem)  # type: ignore[arg-type]
