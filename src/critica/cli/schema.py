"""``critica schema``: print the JSON schema of the data model."""

from __future__ import annotations

import json

import typer

from critica.cli import app
from critica.types import Critique, Item


@app.command()
def schema(
    model: str = typer.Argument("all", help="Which schema: item, critique or all."),
) -> None:
    """Print the JSON schema of Item and Critique (the published data model)."""
    schemas = {"item": Item.model_json_schema(), "critique": Critique.model_json_schema()}
    if model == "all":
        out = {"$comment": "critica data model; step indices are 0-based", **schemas}
    elif model in schemas:
        out = schemas[model]
    else:
        raise typer.BadParameter(f"unknown schema {model!r} (item, critique or all)")
    typer.echo(json.dumps(out, indent=2))
