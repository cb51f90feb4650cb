"""``critica serve``: the HTTP API and web UI (FastAPI under uvicorn), a thin shell over :func:`critica.server.create_app`."""

from __future__ import annotations

import gc
import ipaddress
from pathlib import Path

import typer

from critica.cli import app
from critica.cli.common import (
    ApiKeyFileOpt,
    ApiKeyOpt,
    BaseUrlOpt,
    ConcurrencyOpt,
    ItemMaxCharsOpt,
    ItemTimeoutOpt,
    ModelOpt,
    RetriesOpt,
    TimeoutOpt,
    err_console,
    settings_from,
    warn_secret_flag,
)
from critica.config import loop_choice, read_keys_file, server_keys_from_env
from critica.errors import MissingDependency


def _keys(keys: list[str] | None, keys_file: Path | None) -> list[str]:
    """Client keys from --server-key (warned about), --keys-file, CRITICA_SERVER_KEYS and CRITICA_SERVER_KEYS_FILE."""
    out = [k for raw in keys or [] for k in raw.replace(",", " ").split() if k]
    if out:
        warn_secret_flag("--server-key", "CRITICA_SERVER_KEYS, CRITICA_SERVER_KEYS_FILE or --keys-file")
    if keys_file is not None:
        out += read_keys_file(keys_file, what="--keys-file")
    out += server_keys_from_env()
    return list(dict.fromkeys(out))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (0.0.0.0 for every interface; then set keys)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    model: str = ModelOpt,
    base_url: str = BaseUrlOpt,
    api_key: str = ApiKeyOpt,
    api_key_file: Path = ApiKeyFileOpt,
    timeout: float = TimeoutOpt,
    retries: int = RetriesOpt,
    concurrency: int = ConcurrencyOpt,
    also_model: list[str] = typer.Option(None, "--also-model", help="Further model specs clients may choose (repeatable)."),
    critic: str = typer.Option(None, "--critic", help="Default critic (processbench with a model, verifier without)."),
    db: Path = typer.Option(None, "--db", help="Store file (default: $CRITICA_HOME/critica.db)."),
    no_store: bool = typer.Option(False, "--no-store", help="Keep no runs: critiques are returned only."),
    server_key: list[str] = typer.Option(None, "--server-key",
                                         help="API key clients must send (repeatable). Avoid: any process can read a "
                                              "command line; prefer CRITICA_SERVER_KEYS (space- or comma-separated) "
                                              "or --keys-file. No key at all: only localhost is served."),
    keys_file: Path = typer.Option(None, "--keys-file", help="File with one client API key per line (# comments allowed). "
                                                             "Env: CRITICA_SERVER_KEYS_FILE."),
    max_batch: int = typer.Option(64, "--max-batch", help="Most items per request."),
    max_body: int = typer.Option(1_048_576, "--max-body", help="Largest request body in bytes."),
    per_key: int = typer.Option(4, "--per-key", help="Requests (and jobs) one key may have in flight."),
    request_timeout: float = typer.Option(300.0, "--request-timeout", help="Seconds before a request is answered 504."),
    no_ui: bool = typer.Option(False, "--no-ui", help="Do not serve the web UI."),
    image_urls: bool = typer.Option(False, "--image-urls",
                                    help="Accept remote http(s) image URLs in items (the model server fetches them; "
                                         "off: images only as data URLs). Local image paths are never read."),
    item_max_chars: int = ItemMaxCharsOpt,
    item_timeout: float = ItemTimeoutOpt,
) -> None:
    """Serve the API under /v1 (OpenAPI at /docs) and the web UI at /ui; logs one JSON line per request."""
    try:
        import uvicorn

        from critica.server import ServerConfig, create_app
        from critica.server.logs import logging_config
    except ImportError as e:
        raise MissingDependency(f"the server ({e.name})", "pip install 'critica[server]'") from None
    from critica.run.interrupt import raise_gc_thresholds
    from critica.store import Store

    settings = settings_from(model=model, base_url=base_url, api_key=api_key, api_key_file=api_key_file, timeout=timeout,
                             retries=retries, concurrency=concurrency, item_max_chars=item_max_chars,
                             item_timeout=item_timeout)
    keys = _keys(server_key, keys_file)
    config = ServerConfig(settings=settings, models=list(also_model or []), critic=critic, api_keys=keys,
                          max_batch=max_batch, max_body_bytes=max_body, per_key_concurrency=per_key,
                          request_timeout_s=request_timeout, ui=not no_ui, image_urls=image_urls)
    store = None if no_store else Store.open(db)
    if not keys and not _is_loopback(host):
        err_console.print(f"[yellow]no API keys set: requests from other machines to {host} will be refused "
                          "(set CRITICA_SERVER_KEYS or --keys-file)[/yellow]")
    err_console.print(f"critica serving on http://{host}:{port}  (UI /ui, API /v1, docs /docs; "
                      f"model {settings.model or 'none'}, {'no store' if store is None else store.path or 'in-memory store'}, "
                      f"{len(keys)} key(s))")
    # The server's loop and collector settings are a CLI run's (critica.run.interrupt): uvicorn's "auto" loop is
    # uvloop where installed, as CRITICA_LOOP's "auto" is; and this process is the server's alone.
    loop, thresholds = loop_choice(), raise_gc_thresholds()
    try:
        uvicorn.run(create_app(store, config), host=host, port=port, access_log=False, log_level="warning",
                    log_config=logging_config(config.redactor), loop=loop)
    finally:
        gc.set_threshold(*thresholds)
        if store is not None:
            store.close()
