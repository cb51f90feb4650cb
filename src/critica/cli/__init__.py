"""The ``critica`` command line: a thin Typer shell over the Python API (one module per command group).

Exit codes: 0 done; 1 the run finished but some records were malformed or some calls failed; 2 a usage or user error
(unknown option, missing argument, bad value, missing file — one line on stderr, with a "did you mean" where one
fits, never a traceback); 130 interrupted (Ctrl-C: what was written is kept and the command says how to resume).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from critica.errors import CriticaError, close_matches

INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells report it."""

INVOCATION: ContextVar[list[str] | None] = ContextVar("critica_invocation", default=None)
"""The arguments :func:`main` was called with (to print the command that resumes a run)."""

COMMANDS: dict[str, str] = {
    "batch": "Critique every item of INPUT into the stored run NAME, committing each result as it completes.",
    "bench": "Run benchmark SUITE with a critic; prints a Markdown table of figures per split.",
    "critique": "Critique every item of INPUT; one JSON critique per line, a progress bar, and a summary "
                "table at the end.",
    "critics": "List the available critics and whether they need a model.",
    "refine": "Critique and revise each item's answer until the critic accepts it or the round limit.",
    "metacritique": "Score critiques by atomic information units: Meta-Precision, Meta-Recall and "
                    "Meta-F1.",
    "rerank": "Choose the best of several responses with critics, or build a solution step by step with a "
              "process critic.",
    "rescore": "Re-score raw generations as released: a table of figures (authors' rule and critica's), JSON "
               "with --json-out.",
    "schema": "Print the JSON schema of Item and Critique (the published data model).",
    "serve": "Serve the API under /v1 (OpenAPI at /docs) and the web UI at /ui; logs one JSON line per request.",
    "runs": "List, inspect, export and remove stored runs.",
}
"""Command name -> the line ``critica --help`` shows for it, in the order listed; the command is in critica.cli.NAME.

The modules are imported when their command runs, not to list them: ``critica --help`` and ``critica critics`` start
without the engine (pydantic models, backends, Rich progress, the store). tests/test_cli_startup.py checks the lines
against the commands' own help."""


class _Pending(TyperCommand):
    """A command whose module is not imported yet: enough to list it in the help."""


class _LazyGroup(TyperGroup):
    """The root group: holds a :class:`_Pending` stand-in for each command until that command is asked for."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        built = dict(self.commands)  # the commands whose modules are imported already
        self.commands = {name: built.pop(name, None) or _Pending(name=name, help=line) for name, line in COMMANDS.items()}
        self.commands.update(built)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and isinstance(self.commands.get(args[0]), _Pending):
            self.commands[args[0]] = _load(args[0])
        if args and args[0] in self.commands:
            plain_metavars(self.commands[args[0]], ctx)
        return super().resolve_command(ctx, args)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""  # a flag: no value to name
        return option


_WORDS = {"int": "N", "float": "NUMBER", "str": "TEXT", "Path": "PATH", "bool": "BOOL"}


def _word(annotation: Any) -> str:
    from typing import get_args, get_origin

    if get_origin(annotation) in (list, tuple):
        return " ".join(_word(a) for a in get_args(annotation) if a is not Ellipsis)
    return _WORDS.get(getattr(annotation, "__name__", ""), "VALUE")


def plain_metavars(command: Any, ctx: Any = None) -> None:
    """Give every option of ``command`` (and of its subcommands) a metavar people read, not a Python type.

    Typer >= 0.20 shows an option's annotation (``<bool>``, ``<list[str]>``) where click showed a metavar: a flag
    gets none (``--resume``), a value a word (``--limit N``, ``--out PATH``, ``--map TEXT``), an argument its name
    (``INPUT``). An explicit ``metavar=`` is kept.
    """
    if getattr(command, "_plain_metavars", False):
        return
    command._plain_metavars = True
    for sub in getattr(command, "commands", {}).values():
        plain_metavars(sub, ctx)
    help_option = command.get_help_option(ctx) if ctx is not None else None
    if help_option is not None:
        help_option.metavar = ""
    for param in getattr(command, "params", ()):
        if param.metavar is not None:
            continue
        desc = getattr(param, "type_descriptor", None)
        if getattr(param, "param_type_name", "") == "argument":
            param.metavar = (param.name or "value").upper()
            # Typer prints an argument's type beside its name; the name says it (the help says the rest).
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
        elif getattr(param, "is_flag", False) or getattr(param, "is_bool_flag", False):
            param.metavar = ""
        elif desc is not None and getattr(desc, "is_choice", False):
            param.metavar = "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
        elif desc is not None:
            from typing import get_args, get_origin

            ann = desc.annotation
            if get_origin(ann) is list:
                ann = get_args(ann)[0]
            param.metavar = _word(ann)


def _load(name: str) -> Any:
    """The real command ``name``: its module imported (which registers it on ``app``), then built by Typer."""
    from importlib import import_module

    import_module(f"critica.cli.{name}")
    command = getattr(typer.main.get_command(app), "commands", {}).get(name)
    if command is None or isinstance(command, _Pending):  # pragma: no cover - a COMMANDS entry without its module
        raise RuntimeError(f"critica.cli.{name} does not define the command {name!r}")
    return command


app = typer.Typer(
    name="critica",
    help="Critique LLM outputs: step-level verdicts, first errors, scores and fixes from LLM critics and verifiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_LazyGroup,
)


@app.callback()
def _root() -> None:
    # A callback keeps the app a group while fewer than two commands are registered (they register as they load).
    pass


def _register() -> None:
    """Import every command module (all commands registered on ``app``, as real commands rather than stand-ins)."""
    from importlib import import_module

    for name in COMMANDS:
        import_module(f"critica.cli.{name}")


def _click_errors() -> tuple[type[BaseException], ...]:
    # Typer >= 0.20 vendors click (typer._click) and raises its own classes, all under typer.TyperException; older
    # Typer raises click's. Both are usage errors carrying exit_code and format_message().
    kinds: list[type[BaseException]] = [typer.TyperException] if hasattr(typer, "TyperException") else []
    try:
        import click

        kinds.append(click.exceptions.ClickException)
    except ImportError:  # pragma: no cover - typer without click
        pass
    return tuple(kinds)


def usage_line(e: BaseException) -> str:
    """A click usage error as one line: where, what, the closest valid spelling, and where to read more."""
    ctx = getattr(e, "ctx", None)
    where = getattr(ctx, "command_path", None) or "critica"
    possibilities = getattr(e, "possibilities", None)
    if possibilities is not None:  # NoSuchOption: say the closest options the way people read it
        msg = str(getattr(e, "message", e)).rstrip(".")
        close = _close_options(str(getattr(e, "option_name", "")), ctx) if ctx is not None else sorted(possibilities)
        if close:
            msg += "; did you mean " + " or ".join(close) + "?"
    else:
        msg = e.format_message() if hasattr(e, "format_message") else str(e)
    msg = " ".join(str(msg).split())  # one line, whatever the message held
    return f"{where}: error: {msg} (see '{where} --help')"


def _close_options(typed: str, ctx: object) -> list[str]:
    # Compared without the leading dashes, which every option shares: click's own list offers --out for --bogus.
    params = getattr(getattr(ctx, "command", None), "params", [])
    names = [o for p in params for o in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ())) if o.startswith("--")]
    bare = {n[2:]: n for n in names}
    return [bare[m] for m in close_matches(typed.lstrip("-"), bare)]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (usage, user and backend errors print one line, no traceback)."""
    args = list(sys.argv[1:] if argv is None else argv)
    token = INVOCATION.set(args)
    try:
        return _main(args)
    finally:
        INVOCATION.reset(token)


def _main(args: list[str]) -> int:
    try:
        # With standalone_mode=False click returns the exit code of typer.Exit instead of raising it.
        rv = app(args=args, prog_name="critica", standalone_mode=False)
        if isinstance(rv, int):
            return rv
    except CriticaError as e:
        typer.secho(f"error: {' '.join(str(e).split())}", fg="red", err=True)
        return 2
    except typer.Exit as e:
        if e.exit_code == INTERRUPTED and isinstance(e.__cause__, KeyboardInterrupt):  # Typer's own conversion
            typer.secho("interrupted", fg="yellow", err=True)
        return e.exit_code
    except (KeyboardInterrupt, typer.Abort):
        typer.secho("interrupted", fg="yellow", err=True)
        return INTERRUPTED
    except SystemExit as e:
        return int(e.code or 0)
    except _click_errors() as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # `critica` or `critica runs` alone: the help, then exit 2
            text = e.format_message()  # type: ignore[attr-defined]  # (Rich help is already printed)
            if text.strip():
                typer.echo(text, err=True)
            return 2
        typer.secho(usage_line(e), fg="red", err=True)
        return int(getattr(e, "exit_code", 2) or 2)
    return 0


def _main_is_module() -> None:
    """Have the console script count as ``python -m critica`` (which it is) for worker processes.

    A ``spawn`` worker (the verifier's pool) rebuilds the parent's ``__main__`` first: from a script, by running it
    again, which imports the whole CLI (Typer, Rich; ~0.1-0.17 s of each worker's start-up, measured) for nothing;
    from a module named ``*.__main__``, not at all.
    """
    main_module = sys.modules.get("__main__")
    if main_module is not None and getattr(main_module, "__spec__", None) is None:
        import importlib.util

        main_module.__spec__ = importlib.util.find_spec("critica.__main__")


def run() -> None:  # pragma: no cover - the console script
    _main_is_module()
    code = main()
    if code == INTERRUPTED:
        # Threads still computing (a verifier check, an in-process llama.cpp decode) cannot be interrupted, and the
        # interpreter would join them at exit: everything worth keeping is written and closed by now, so leave.
        import os

        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)
