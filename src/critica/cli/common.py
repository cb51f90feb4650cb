"""Options shared by several commands, and the wiring from options to backends and critics."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import typer
from rich.console import Console

from critica.budget import ItemBudget
from critica.config import Settings, from_env
from critica.errors import InputError, UserError
from critica.types import Critique, Item

err_console = Console(stderr=True, soft_wrap=True)

ModelOpt = typer.Option(None, "--model", "-m", help="Model spec: local:smollm2, openai:NAME, vllm:NAME, ollama:NAME, llamacpp:PATH. Env: CRITICA_MODEL.")
BaseUrlOpt = typer.Option(None, "--base-url", help="Base URL of an OpenAI-compatible server. Env: CRITICA_BASE_URL.")
ApiKeyOpt = typer.Option(None, "--api-key", help="API key (prefer the CRITICA_API_KEY env var).")
TimeoutOpt = typer.Option(None, "--timeout", help="Per-call timeout in seconds (default 120).")
RetriesOpt = typer.Option(None, "--retries", help="Retries of retryable failures per call (default 3).")
ConcurrencyOpt = typer.Option(None, "--concurrency", "-c", help="Items/calls in flight at once (default 4).")
ItemMaxCharsOpt = typer.Option(None, "--item-max-chars", help="Size budget of one item: characters of its text fields (default 200000; 0: no limit). An item over it is not critiqued: it is stored unscored with the reason. Env: CRITICA_ITEM_MAX_CHARS.")
ItemTimeoutOpt = typer.Option(None, "--item-timeout", help="Time budget of one item in seconds, calls and retries included (default 300; 0: no limit). Past it the item is unscored with the reason. Env: CRITICA_ITEM_TIMEOUT.")


def settings_from(**cli: object) -> Settings:
    """Defaults < environment < CLI flags."""
    return from_env().merge(Settings(**{k: v for k, v in cli.items() if v is not None}))


def budget_from(settings: Settings) -> ItemBudget:
    """The per-item budget the settings ask for (defaults where unset)."""
    try:
        return ItemBudget.of(settings.item_max_chars, settings.item_timeout)
    except ValueError as e:
        raise UserError(f"--item-max-chars/--item-timeout: {e}") from None


def limited(records: Iterable[Item | InputError], limit: int | None) -> Iterator[Item | InputError]:
    """Pass records through until ``limit`` items (input errors do not count toward it)."""
    n = 0
    for rec in records:
        if limit is not None and n >= limit:
            return
        if isinstance(rec, Item):
            n += 1
        yield rec


class JsonlSink:
    """Writes one JSON critique per line, flushed as each arrives; input errors go to stderr."""

    def __init__(self, out: IO[str], console: Console = err_console) -> None:
        self.out = out
        self.console = console
        self.errors: list[InputError] = []

    def write(self, critique: Critique) -> None:
        self.out.write(critique.model_dump_json() + "\n")
        self.out.flush()

    def error(self, error: InputError) -> None:
        self.errors.append(error)
        self.console.print(f"[red]input error[/red] {error}", highlight=False)


def open_out(path: Path | None) -> IO[str]:
    if path is None or str(path) == "-":
        return sys.stdout
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8")


def dumps(obj: object) -> str:
    return json.dumps(obj, indent=2, default=str)
