"""The ``critica`` command line: a thin Typer shell over the Python API (one module per command group)."""

from __future__ import annotations

import sys

import typer

from critica.errors import CriticaError

app = typer.Typer(
    name="critica",
    help="Critique LLM outputs: step-level verdicts, first errors, scores and fixes from LLM critics and verifiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from critica.cli import (  # noqa: F401 - commands register on import
        batch,
        bench,
        critique,
        refine,
        rerank,
        rescore,
        runs,
        schema,
        serve,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (user and backend errors print one line, no traceback)."""
    _register()
    try:
        # With standalone_mode=False click returns the exit code of typer.Exit instead of raising it.
        rv = app(args=argv, standalone_mode=False)
        if isinstance(rv, int):
            return rv
    except CriticaError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except SystemExit as e:  # click's own usage errors
        return int(e.code or 0)
    except Exception as e:  # click exceptions in standalone_mode=False
        import click

        if isinstance(e, click.exceptions.ClickException):
            e.show()
            return e.exit_code
        if isinstance(e, click.exceptions.Abort):
            return 130
        raise
    return 0


def run() -> None:  # pragma: no cover
    sys.exit(main())
