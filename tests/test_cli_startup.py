"""Start-up stays cheap: `import critica`, `critica --help` and `critica critics` load neither the heavy optional
dependencies nor the engine (the pydantic data model, backends, the store), and the lazy help says what the commands
themselves say."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import critica

SRC = Path(critica.__file__).resolve().parents[1]

HEAVY = ("sympy", "torch", "matplotlib", "ray", "fastapi", "uvicorn", "scipy", "sentence_transformers", "pyarrow",
         "llama_cpp", "math_verify", "numpy", "openai", "httpx", "aiohttp")
"""Optional or large dependencies: imported by the commands and critics that use them, never to start."""

ENGINE = ("critica.types", "critica.config", "critica.backends.call", "critica.store", "critica.run.runner",
          "critica.cli.common", "critica.cli.critique", "rich.progress")
"""critica's own heavier modules: listing commands or critics needs none of them."""

# Runs the CLI in-process (standalone_mode=False, through critica.cli.main) and prints what it loaded, last line.
PROBE = """
import json, sys
{before}
code = main(sys.argv[1:]) if {cli} else 0
print("\\nMODULES " + json.dumps({{"code": code, "loaded": sorted(sys.modules)}}))
"""


def _probe(*args: str, cli: bool = True, before: str = "") -> tuple[int, set[str], str, str]:
    script = PROBE.format(cli=cli, before=before or ("from critica.cli import main" if cli else "import critica"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]), "COLUMNS": "120",
           "TERM": "dumb", "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=120)
    out, _, last = proc.stdout.rpartition("\nMODULES ")
    assert proc.returncode == 0 and last, proc.stderr[-2000:]
    report = json.loads(last)
    return report["code"], set(report["loaded"]), out, proc.stderr


@pytest.mark.parametrize("args", [(), ("--help",), ("critics",)], ids=["import", "help", "critics"])
def test_starting_loads_no_heavy_dependency_nor_the_engine(args):
    code, loaded, out, err = _probe(*args, cli=bool(args))
    assert code == 0
    assert sorted(m for m in HEAVY if m in loaded) == []
    assert sorted(m for m in ENGINE if m in loaded) == []
    if not args:
        assert "pydantic" not in loaded  # `import critica` builds no model until a public name is used
    if args == ("critics",):
        assert "processbench" in out and "verifier" in out  # the listing itself still works (a result: stdout)


def test_lazy_help_is_the_help_of_the_commands_themselves():
    # Every command module imported first: the help lists the real commands, with their own docstrings.
    _, _, lazy, _ = _probe("--help")
    _, loaded, eager, _ = _probe("--help", before="from critica.cli import _register, main; _register()")
    assert "critica.cli.critique" in loaded
    assert lazy == eager
    for name in ("batch", "bench", "critique", "critics", "serve", "runs"):
        assert f" {name} " in lazy


def test_every_command_module_is_in_the_table():
    """A command added to a module of critica.cli shows in `critica --help` only through COMMANDS."""
    import typer

    from critica import cli

    for mod in pkgutil.iter_modules(cli.__path__):
        importlib.import_module(f"critica.cli.{mod.name}")
    group = typer.main.get_command(cli.app)
    assert set(group.commands) == set(cli.COMMANDS)  # type: ignore[attr-defined]
    assert not [n for n, c in group.commands.items() if isinstance(c, cli._Pending)]  # type: ignore[attr-defined]


def test_running_a_command_loads_its_module():
    code, loaded, _, _ = _probe("schema", "item")
    assert code == 0 and "critica.cli.schema" in loaded and "critica.cli.bench" not in loaded


def test_public_names_resolve_lazily_to_their_modules():
    for name in critica.__all__:
        value = getattr(critica, name)
        assert value is getattr(importlib.import_module(critica._SOURCE[name]), name)
    assert set(critica.__all__) <= set(dir(critica))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        critica.nope  # noqa: B018
    ns: dict[str, object] = {}
    exec("from critica import *", ns)
    assert set(critica.__all__) <= set(ns)


WHERE_CRITIC = """
import os, sys
from critica.verifiers.critic import VerifierCritic

class WhereCritic(VerifierCritic):
    def judge(self, item):
        crit = super().judge(item)
        crit.metadata["where"] = [os.getpid(), "critica.cli" in sys.modules]
        return crit

def make(caller=None):
    return WhereCritic(workers=2)
"""


def test_worker_processes_of_the_console_script_do_not_import_the_cli(tmp_path):
    """A spawned worker rebuilds the parent's ``__main__``: the console script counts as ``python -m critica``, so
    its workers skip it instead of importing the whole CLI again (Typer, Rich: ~0.1 s each)."""
    script = Path(sys.executable).parent / "critica"
    if not script.exists():
        pytest.skip("no console script next to this interpreter")
    (tmp_path / "where_critic.py").write_text(WHERE_CRITIC)
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"id": f"i{k}", "question": "q", "steps": [f"{k} + 1 = {k + 1}"]}) + "\n"
                             for k in range(3)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(SRC), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([str(script), "critique", str(items), "--critic", "where_critic:make", "--no-store",
                          "--out", str(tmp_path / "out.jsonl")], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    where = [json.loads(line)["metadata"]["where"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(where) == 3
    assert not any(cli for _, cli in where)  # judged in workers that never loaded the CLI
