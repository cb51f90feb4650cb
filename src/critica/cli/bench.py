"""``critica bench``: run a registered benchmark suite and print its figures (or compare two runs)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markdown import Markdown

from critica.aggregate.spec import reducer_for, scaling_config
from critica.bench.base import BenchContext, BenchResult, available_suites, get_suite
from critica.bench.scaling import parse_ks, plot_scaling, run_suite_scaling, scaled_factory
from critica.cli import INTERRUPTED, app
from critica.cli.common import (
    BaseUrlOpt,
    ConcurrencyOpt,
    ItemMaxCharsOpt,
    ItemTimeoutOpt,
    ModelOpt,
    VoteOpt,
    budget_from,
    err_console,
    settings_from,
)
from critica.cli.progress import Progress
from critica.config import default_data_dir
from critica.critics.registry import build_critic
from critica.errors import UserError
from critica.report.files import atomic_write_text
from critica.report.tables import compare_rows, compare_table, grouped_tables, markdown_table

out_console = Console()


def _critic_factory(name: str, settings, concurrency: int, options: dict):
    """A function building the critic under test, through the registry, with a Caller when a model is set."""

    def make():
        caller = None
        if settings.model:
            from critica.backends.registry import create_caller

            caller = create_caller(settings.model, settings, concurrency=concurrency)
        return build_critic(name, caller, **(options if caller is not None else {}))

    return make


def result_to_json(result: BenchResult) -> dict:
    """The ``--json-out`` document: figures, notes and every per-item record."""
    return {"suite": result.suite, "critic": result.critic, "model": result.model, "wall_s": result.wall_s,
            "rows": result.rows, "notes": result.notes, "extra": result.extra, "items": result.items}


def _load_run(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path}:line {e.lineno}: invalid JSON: {e.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise UserError(f"{path}: field 'rows': missing — not a `critica bench --json-out` file")
    return doc


@app.command()
def bench(
    suite: str = typer.Argument(None, help="Benchmark suite (omit to list them)."),
    critic: str = typer.Option("verifier", "--critic", help="Critic under test (see `critica critics`)."),
    model: str = ModelOpt,
    base_url: str = BaseUrlOpt,
    data_dir: Path = typer.Option(None, "--data-dir", help="Benchmark data root. Env: CRITICA_DATA. Default ../shared/data."),
    limit: int = typer.Option(None, "--limit", "-n", help="At most N items per split."),
    split: list[str] = typer.Option(None, "--split", help="Only this split (repeatable)."),
    concurrency: int = ConcurrencyOpt,
    json_out: Path = typer.Option(None, "--json-out", help="Write figures and every per-item result here (JSON)."),
    compare: tuple[Path, Path] | None = typer.Option(None, "--compare", help="Compare the figures of two --json-out files: A.json B.json."),
    plot: Path = typer.Option(None, "--plot", help="Also draw the per-split figures as a PNG here."),
    seed: int = typer.Option(0, "--seed", help="Seed of bootstrap resampling and sampling."),
    temperature: float = typer.Option(0.0, "--temperature", help="Sampling temperature of LLM critics."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="Completion token limit of LLM critics."),
    structured: bool = typer.Option(True, "--json/--text", help="Ask LLM critics for schema-constrained JSON (default) or the protocol's free-text format (processbench: the official template, scored with the official boxed-answer reading)."),
    option: list[str] = typer.Option(None, "--option", help="Suite option KEY=VALUE (repeatable; JSON values allowed)."),
    samples: str = typer.Option(None, "--samples", help="K samples per verdict with majority vote; a list (1,2,4,8) gives a compute-vs-quality table and PNG (--plot, default scaling-SUITE.png)."),
    vote: str = VoteOpt,
    adaptive: bool = typer.Option(False, "--adaptive", help="Sample in rounds and stop once more samples cannot change the vote."),
    meta_critic: str = typer.Option(None, "--meta-critic", help="Critic that rates each sample (e.g. meta); only the best half vote."),
    panel: str = typer.Option(None, "--panel", help="Panel of critics: CRITIC[@MODEL][*K],...[;method=majority|mean|exam][;exam=processbench/gsm8k:20][;cut=0.6]."),
    cascade: str = typer.Option(None, "--cascade", help="Cheap critics tried first: CRITIC[@MODEL][*K],...[;threshold=0.75]."),
    scaling_file: Path = typer.Option(None, "--scaling-config", help="TOML/JSON file with samples/adaptive/meta_critic/panel/cascade (flags override)."),
    item_max_chars: int = ItemMaxCharsOpt,
    item_timeout: float = ItemTimeoutOpt,
) -> None:
    """Run benchmark SUITE with a critic; prints a Markdown table of figures per split."""
    if compare:
        a, b = _load_run(compare[0]), _load_run(compare[1])
        diff = compare_rows(a["rows"], b["rows"])
        out_console.print(f"A = {compare[0]} ({a.get('suite')}, {a.get('critic')}); B = {compare[1]} ({b.get('suite')}, {b.get('critic')})")
        typer.echo(compare_table(diff) if diff else "no common splits")
        return
    if not suite:
        for name, s in sorted(available_suites().items()):
            out_console.print(f"{name}: {s.description}")
        return
    spec = get_suite(suite)
    settings = settings_from(model=model, base_url=base_url, concurrency=concurrency, data_dir=str(data_dir) if data_dir else None, seed=seed,
                             item_max_chars=item_max_chars, item_timeout=item_timeout)
    conc = settings.concurrency or 4
    llm_options = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
    if not structured:
        llm_options["structured"] = False
    options = {}
    for pair in option or []:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise UserError(f"--option {pair!r} must look like KEY=VALUE")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    progress = Progress(f"bench {suite}", console=err_console)

    def tick(done: int, total: int | None) -> None:
        progress.update(done, total)

    ctx = BenchContext(
        data_dir=default_data_dir(settings.data_dir), make_critic=_critic_factory(critic, settings, conc, llm_options),
        critic_name=critic, model=settings.model, limit=limit, splits=list(split) if split else None,
        concurrency=conc, seed=seed, options=options, progress=tick, budget=budget_from(settings), structured=structured,
        settings=settings, critic_options=llm_options,
    )
    ks = parse_ks(samples) if samples else [1]
    scfg = scaling_config(samples=ks[0] if len(ks) == 1 else None, adaptive=adaptive, meta_critic=meta_critic, panel=panel, cascade=cascade, vote=vote, config_file=scaling_file)
    if "reducer" not in scfg.model_fields_set:  # the suite's own Maj@k rule unless the user chose one
        scfg = scfg.model_copy(update={"reducer": spec.vote})
    ctx.make_critic = scaled_factory(ctx.make_critic, scfg, settings=settings, options=llm_options, concurrency=conc, data_dir=ctx.data_dir)
    if len(ks) > 1:
        with progress:
            curve, _ = run_suite_scaling(spec.run, ctx, ks, reducer=reducer_for(scfg))
        typer.echo(markdown_table(curve.rows()))
        for note in curve.notes:
            typer.echo(f"- {note}")
        png = plot_scaling(curve, plot or Path(f"scaling-{suite}.png"), title=f"{suite} — {curve.critic}" + (f" on {curve.model}" if curve.model else ""))
        err_console.print(f"compute-vs-quality plot written to {png}")
        if json_out:
            atomic_write_text(json_out, json.dumps({"suite": suite, "critic": curve.critic, "model": curve.model, "rows": curve.rows(), "notes": curve.notes}, indent=1))
        return
    try:
        with progress:
            result = spec.run(ctx)
    except KeyboardInterrupt:
        done = progress.done
        err_console.print(f"[yellow]interrupted after {done} item(s): a benchmark's figures need every item of a split, "
                          "so none were computed and nothing was written; run it again (--limit N for a shorter "
                          "run)[/yellow]")
        raise typer.Exit(INTERRUPTED) from None
    title = f"## {result.suite} — critic `{result.critic}`" + (f" on {result.model}" if result.model else "")
    out_console.print(Markdown(title))
    # plain text: a Markdown table must not be re-wrapped; a suite may name its columns (extra["columns"]) or,
    # for rows of several shapes with intervals, one column list per table (extra["tables"])
    if result.extra.get("tables"):
        typer.echo(grouped_tables(result.rows, result.extra["tables"]))
    else:
        typer.echo(markdown_table(result.rows, result.extra.get("columns")))
    for note in result.notes:
        typer.echo(f"- {note}")
    n = len(result.items)
    out_console.print(f"{n} items in {result.wall_s:.1f}s ({n / result.wall_s if result.wall_s else 0:.1f} items/s)")
    if json_out:
        atomic_write_text(json_out, json.dumps(result_to_json(result), indent=1, default=str))
        err_console.print(f"figures and {n} per-item results written to {json_out}")
    if plot:
        from critica.report.plots import plot_rows

        plot_rows(result.rows, plot, title=f"{result.suite} — {result.critic}")
        err_console.print(f"plot written to {plot}")
