"""``/docs`` without a network: FastAPI's default page loads Swagger UI from a CDN, so offline (a laptop on a plane,
a cluster node) it is blank. Here the Swagger UI assets (Swagger UI 5, which reads the OpenAPI 3.1 documents FastAPI
writes) come from the files shipped in the ``fastapi-offline`` package (in the ``server`` extra; only its static
files are used) and are served by the app itself under ``/docs/assets``. Without that package ``/docs`` is a plain
HTML reference of the same OpenAPI document — every route with its summary and parameters — drawn on the server,
so the page is never blank. ``/redoc`` (also CDN-based) is not served.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["install_docs", "swagger_assets"]

ASSETS = "/docs/assets"


def swagger_assets() -> Path | None:
    """The folder of Swagger UI's ``swagger-ui-bundle.js`` and ``swagger-ui.css``, or None without the package."""
    from importlib.util import find_spec

    spec = find_spec("fastapi_offline")  # found, not imported: only its files are used
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "static"
    return path if (path / "swagger-ui-bundle.js").is_file() and (path / "swagger-ui.css").is_file() else None


def _reference(spec: dict[str, Any]) -> str:
    """A plain HTML page listing the routes of ``spec`` (the fallback without Swagger UI's assets)."""
    rows = []
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            if not isinstance(op, dict):
                continue
            params = ", ".join(p.get("name", "") for p in op.get("parameters", []))
            rows.append(
                f"<section><h2><code>{html.escape(method.upper())} {html.escape(path)}</code></h2>"
                f"<p>{html.escape(op.get('summary', ''))}</p>"
                f"<p class=d>{html.escape(op.get('description', ''))}</p>"
                + (f"<p class=d>parameters: {html.escape(params)}</p>" if params else "") + "</section>")
    info = spec.get("info", {})
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>{html.escape(info.get('title', 'API'))} — API reference</title><style>body{{font:14px system-ui;"
        "max-width:960px;margin:0 auto;padding:16px}}h2{{font-size:15px;margin:18px 0 4px}}.d{{color:#555;"
        "white-space:pre-wrap}}</style></head><body>"
        f"<h1>{html.escape(info.get('title', 'API'))} API</h1><p>{html.escape(info.get('description', ''))}</p>"
        "<p>The machine-readable document: <a href=/openapi.json>/openapi.json</a>. (Install "
        "<code>fastapi-offline</code>, part of <code>critica[server]</code>, for the interactive page.)</p>"
        + "".join(rows) + "</body></html>")


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` from local assets (or the plain reference); no request leaves the machine."""
    assets = swagger_assets()
    if assets is not None:
        app.mount(ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if assets is None:
            return HTMLResponse(_reference(app.openapi()))
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} — API",
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon.png")
