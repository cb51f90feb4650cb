"""Options shared by several commands, and the wiring from options to backends and critics."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

import typer
from rich.console import Console

from critica.budget import ItemBudget
from critica.cli import INVOCATION
from critica.config import Settings, checked_settings, from_env, read_key_file
from critica.errors import InputError, UserError
from critica.redact import Redactor
from critica.types import Critique, Item

err_console = Console(stderr=True, soft_wrap=True)

ModelOpt = typer.Option(None, "--model", "-m", help="Model spec: local:smollm2, openai:NAME, vllm:NAME, ollama:NAME, llamacpp:PATH. Env: CRITICA_MODEL.")
BaseUrlOpt = typer.Option(None, "--base-url", help="Base URL of an OpenAI-compatible server. Env: CRITICA_BASE_URL.")
ApiKeyOpt = typer.Option(None, "--api-key", help="Backend API key. Avoid: any process can read a command line; set CRITICA_API_KEY or use --api-key-file.")
ApiKeyFileOpt = typer.Option(None, "--api-key-file", help="File holding the backend API key (first line). Env: CRITICA_API_KEY_FILE, or the key itself in CRITICA_API_KEY.")
TimeoutOpt = typer.Option(None, "--timeout", help="Per-call timeout in seconds (default 120).")
RetriesOpt = typer.Option(None, "--retries", help="Retries of retryable failures per call (default 3).")
ConcurrencyOpt = typer.Option(None, "--concurrency", "-c", help="Items/calls in flight at once (default 4).")
ItemMaxCharsOpt = typer.Option(None, "--item-max-chars", help="Size budget of one item: characters of its text fields (default 200000; 0: no limit). An item over it is not critiqued: it is stored unscored with the reason. Env: CRITICA_ITEM_MAX_CHARS.")
VoteOpt = typer.Option(None, "--vote", help="How k samples are combined: majority (verdict vote, default) or score-sum (DeepSeek-GRM: the sum of the sampled scores decides verdict and best response; for scored critics such as principles and rubric) or answer (ProcessBench's official Maj@k: the most common whole answer, first-error index or -1; the default of bench processbench and mr_gsm8k).")
CriticOpt = typer.Option(None, "--critic", help="Critic name (list them: `critica critics`) or a factory of your own, module:function. Default: processbench with a model, verifier without.")
ItemTimeoutOpt = typer.Option(None, "--item-timeout", help="Time budget of one item in seconds, calls and retries included (default 300; 0: no limit). Past it the item is unscored with the reason. Env: CRITICA_ITEM_TIMEOUT.")


def settings_from(*, api_key_file: Path | None = None, **cli: object) -> Settings:
    """Defaults < environment < CLI flags; ``api_key_file`` is read here, a key given as ``--api-key`` is warned about."""
    if cli.get("api_key") is not None:
        if api_key_file is not None:
            raise UserError("give the backend key once: --api-key-file or --api-key, not both")
        warn_secret_flag("--api-key", "CRITICA_API_KEY or --api-key-file")
    if api_key_file is not None:
        cli["api_key"] = read_key_file(api_key_file, what="--api-key-file")
    given = {k: v for k, v in cli.items() if v is not None}
    return from_env().merge(checked_settings(given, lambda field: f"--{field.replace('_', '-')} {given.get(field)}"))


def warn_secret_flag(flag: str, instead: str) -> None:
    """One line on stderr: a key on the command line can be read by every process on this machine."""
    err_console.print(f"[yellow]warning: {flag} puts a key on the command line, where any process on this machine can "
                      f"read it (ps, /proc/PID/cmdline); use {instead}[/yellow]", highlight=False)
def budget_from(settings: Settings) -> ItemBudget:
    """The per-item budget the settings ask for (defaults where unset; :class:`Settings` has checked the values)."""
    return ItemBudget.of(settings.item_max_chars, settings.item_timeout)


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
    """Writes one JSON critique per line, flushed as each arrives; input errors go to stderr.

    Configured secrets (the backend key) are replaced wherever a critique carries one (see :mod:`critica.redact`).
    """

    def __init__(self, out: IO[str], console: Console = err_console, redactor: Redactor | None = None) -> None:
        self.out = out
        self.console = console
        self.errors: list[InputError] = []
        self.redactor = redactor or Redactor()

    def write(self, critique: Critique) -> None:
        self.out.write(self.redactor.critique(critique).model_dump_json() + "\n")
        self.out.flush()

    def error(self, error: InputError) -> None:
        self.errors.append(error)
        self.console.print(f"[red]input error[/red] {error}", highlight=False)


def open_out(path: Path | None, *, append: bool = False) -> IO[str]:
    if path is None or str(path) == "-":
        return sys.stdout
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a" if append else "w", encoding="utf-8")


# -- interrupted runs: what was kept and the command that carries on ------------------------------------------------


SECRET_FLAGS = ("--api-key", "--server-key")
"""Options whose value is a secret: never echoed back in a printed command."""


def without_secrets(args: Sequence[str]) -> tuple[list[str], bool]:
    """``args`` without secret options and their values, and whether any was dropped."""
    out: list[str] = []
    dropped = skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in SECRET_FLAGS:
            dropped = skip = True
            continue
        if a.startswith(tuple(f + "=" for f in SECRET_FLAGS)):
            dropped = True
            continue
        out.append(a)
    return out, dropped


def resume_command(add: str | None = None) -> str:
    """The command line of this invocation (secrets left out), with the flag ``add`` appended when missing."""
    args, dropped = without_secrets(INVOCATION.get() if INVOCATION.get() is not None else sys.argv[1:])
    if add and add not in args:
        args.append(add)
    cmd = "critica " + shlex.join(args)
    return cmd + ("   (the key: set CRITICA_API_KEY or --api-key-file)" if dropped else "")


def done_ids(path: Path, retry: list[str] | None = None) -> set[str]:
    """Item ids of the critiques already in a JSONL output file, for ``--resume``; failed ones are not done.

    A failed critique (an error, a failed call or member, an item over its budget: :attr:`Critique.failed`) is
    dropped from the file, so the resumed run critiques its item again and the file holds one line per item; its id
    is appended to ``retry``. A torn last line (the process was killed mid-write) is cut off, so what is appended
    next starts on a line of its own and the file stays valid JSONL. The file is rewritten atomically
    (:mod:`critica.report.files`) when anything is dropped; lines that are not critiques are kept as they are.
    """
    ids: set[str] = set()
    if not path.is_file():
        return ids
    kept: list[bytes] = []
    dropped = False
    with path.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                dropped = True
                break
            try:
                critique = Critique.model_validate_json(line)
            except ValueError:
                kept.append(line)
                continue
            if critique.failed:
                dropped = True
                if retry is not None:
                    retry.append(critique.item_id)
                continue
            kept.append(line)
            ids.add(critique.item_id)
    if dropped:
        from critica.report.files import atomic_open

        with atomic_open(path, "wb") as f:
            f.writelines(kept)
    return ids


def skip_done(records: Iterable[Item | InputError], done: set[str], skipped: list[int]) -> Iterator[Item | InputError]:
    """``records`` without the items whose id is in ``done``; ``skipped[0]`` counts them."""
    for rec in records:
        if isinstance(rec, Item) and rec.id in done:
            skipped[0] += 1
            continue
        yield rec


def dumps(obj: object) -> str:
    return json.dumps(obj, indent=2, default=str)
