"""Issue 16, the CLI and the Python API: stored `critique` runs, progress on a redirected stderr, one table style,
plain help, plain unscored explanations, the one-call API, messages without internals."""

from __future__ import annotations

import json
import re
import sys
import textwrap
import time

import pytest

from critica.cli import main
from critica.store import Store
from critica.types import Critique


def _items(path, n=3):
    path.write_text("".join(json.dumps({"id": f"i{k}", "question": "What is 2+3?",
                                        "response": f"2+3 = {5 + k % 2}. The answer is {5 + k % 2}."}) + "\n"
                            for k in range(n)))
    return path


# -- every critique run is stored -------------------------------------------------------------------------------------


def test_critique_stores_every_run_under_a_generated_name_and_stdout_is_unchanged(tmp_path, capsys):
    p = _items(tmp_path / "a.jsonl")
    assert main(["critique", str(p), "--no-store"]) == 0
    plain = capsys.readouterr()
    assert Store.open().list_runs() == []  # --no-store keeps nothing
    assert main(["critique", str(p)]) == 0
    stored = capsys.readouterr()
    def strip(out):  # completion order and timings vary between runs
        rows = [json.loads(line) for line in out.splitlines()]
        for r in rows:
            r.pop("latency_s")
            r["usage"].pop("latency_s", None)
        return sorted(rows, key=lambda r: r["item_id"])

    assert strip(stored.out) == strip(plain.out)  # the JSONL on stdout is the same with or without the store
    [run] = Store.open().list_runs()
    assert run.name.startswith("critique-verifier-") and run.critiques == 3 and run.status == "finished"
    assert f"stored as run {run.name}" in stored.err
    with Store.open() as store:
        records = list(store.iter_records(run.name, with_items=True))
    assert {c.item_id for _, c in records} == {"i0", "i1", "i2"} and all(item is not None for item, _ in records)


def test_critique_run_name_and_an_existing_run(tmp_path, capsys):
    p = _items(tmp_path / "a.jsonl", 2)
    assert main(["critique", str(p), "--run", "mine"]) == 0
    assert Store.open().get_run("mine").critiques == 2
    assert main(["critique", str(p), "--run", "mine"]) == 2  # never mixed into an earlier run by accident
    err = capsys.readouterr().err
    assert "run 'mine' already exists" in err and "--resume" in err


# -- progress on stderr -----------------------------------------------------------------------------------------------


def test_progress_writes_few_plain_lines_when_stderr_is_not_a_terminal():
    import io

    from rich.console import Console

    from critica.cli.progress import Progress

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=200)
    with Progress("job", total=10, console=console, first_s=0.2, every_s=0.3) as p:
        for k in range(10):
            p.update(k + 1, tokens=1310 * (k + 1))
            time.sleep(0.1)
    lines = buf.getvalue().splitlines()
    assert 2 <= len(lines) <= 6  # periodic, not one per item
    assert re.search(r"job: \d+/10 items \(\d+%\), [\d.]+ items/s, [\d,]+ tok, elapsed 0:00:0\d, ETA", lines[0])
    assert lines[-1].startswith("job: 10/10 items (100%)") and lines[-1].endswith("done")


def test_progress_says_nothing_for_a_short_job():
    import io

    from rich.console import Console

    from critica.cli.progress import Progress

    buf = io.StringIO()
    with Progress("job", total=2, console=Console(file=buf, force_terminal=False), first_s=5) as p:
        p.update(2)
    assert buf.getvalue() == ""


def test_progress_on_a_terminal_is_a_live_bar():
    import io

    from rich.console import Console

    from critica.cli.progress import Progress

    buf = io.StringIO()
    with Progress("job", total=5, console=Console(file=buf, force_terminal=True, width=120)) as p:
        for k in range(5):
            p.update(k + 1, tokens=1310 * k)
    out = buf.getvalue()
    assert "\r" in out or "\x1b[" in out  # redrawn in place
    assert "5/5" in out and "5,240 tok" in out


SLOW_CRITIC = '''
import asyncio
from critica import Critique, Verdict

class Slow:
    name = "slow"

    async def critique(self, item):
        await asyncio.sleep(0.25)
        return Critique(item_id=item.id, critic=self.name, verdict=Verdict.CORRECT)

def make(caller=None, **options):
    return Slow()
'''


@pytest.fixture
def slow_critic(tmp_path, monkeypatch):
    # A name no other test uses, forgotten afterwards: sys.modules outlives the test (tests/hostile has a slowcritic).
    (tmp_path / "polish_slow_critic.py").write_text(SLOW_CRITIC)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("critica.cli.progress.FIRST_S", 0.3)
    monkeypatch.setattr("critica.cli.progress.EVERY_S", 0.4)
    yield "polish_slow_critic:make"
    sys.modules.pop("polish_slow_critic", None)


@pytest.mark.parametrize("command", ["critique", "batch"])
def test_commands_report_progress_on_a_redirected_stderr(tmp_path, capsys, slow_critic, command):
    p = _items(tmp_path / "a.jsonl", 8)
    args = [command, str(p), "--critic", slow_critic, "--concurrency", "1"]
    assert main(args + (["--run", "b"] if command == "batch" else ["--no-store"])) == 0
    err = capsys.readouterr().err
    assert re.search(r": \d/8 items \(\d+%\), [\d.]+ items/s", err), err
    assert "/8 items (100%)" in err and "done" in err


# -- one table style --------------------------------------------------------------------------------------------------


def test_one_number_format_for_every_table():
    from critica.report.tables import columns_of, compare_table, format_delta, format_value, markdown_table

    assert format_value("acc_before", 0.5) == "50.0%" and format_value("f1", 0.123) == "12.3%"
    assert format_value("accuracy", 93.5, percent_scale=True) == "93.5%"  # rescore: the papers' 0-100 scale
    assert format_value("tokens/verdict (k calls)", 1310.4) == "1,310" and format_value("n", 12345) == "12,345"
    assert format_value("f1_ci", [0.5, 0.75]) == "[50.0, 75.0]%"
    assert format_value("spearman", 0.000123) == "1.2e-04" or "e+" not in format_value("spearman", 1234.5)
    assert format_delta("f1", 0.098) == "+9.8 pts" and format_delta("n", -3) == "-3"
    rows = [{"split": "x", "n": 3, "acc_before": 0.5, "acc_after": 0.75}]
    assert columns_of(rows) == ["split", "n", "acc_before", "acc_after"]  # as stated, not alphabetical
    assert markdown_table(rows).splitlines()[2] == "| x | 3 | 50.0% | 75.0% |"
    diff = [{"split": "x", "metric": "f1", "a": 0.5, "b": 0.598, "delta": 0.098}]
    assert "| x | F1 | 50.0% | 59.8% | +9.8 pts |" in compare_table(diff)


def test_rescore_prints_its_table_on_stdout(tmp_path, capsys):
    src = tmp_path / "r.jsonl"
    src.write_text(json.dumps({"id": "1", "output": "[[A]]", "label": "A"}) + "\n"
                   + json.dumps({"id": "2", "output": "[[B]]", "label": "A"}) + "\n")
    code = main(["rescore", "jsonl", str(src)])
    out, err = capsys.readouterr()
    assert code in (0, 1)
    assert "critica rescore jsonl" in out and "critica rescore jsonl" not in err


def test_result_tables_go_to_stdout(capsys):
    assert main(["critics"]) == 0
    out, err = capsys.readouterr()
    assert "processbench" in out and "processbench" not in err


# -- help -------------------------------------------------------------------------------------------------------------


def test_help_shows_no_python_types_and_a_short_critic_line(capsys, monkeypatch):
    from critica.cli import COMMANDS

    monkeypatch.setenv("COLUMNS", "120")
    for cmd in [*COMMANDS, "runs export"]:
        assert main([*cmd.split(), "--help"]) == 0
        out = capsys.readouterr().out
        assert not re.search(r"<(bool|str|int|float|path|list\[\w+\])>", out), (cmd, out)
    main(["critique", "--help"])
    out = capsys.readouterr().out
    start = out.index("--critic")
    block = out[start:out.index("--model")]
    assert len(block.splitlines()) <= 3 and "critica critics" in block


# -- a failed parse -------------------------------------------------------------------------------------------------


async def test_an_unreadable_reply_stays_out_of_the_explanation():
    from critica.backends.call import Caller, CallPolicy
    from critica.backends.fake import ScriptedBackend
    from critica.critics.registry import build_critic
    from critica.types import Item

    cut = '{"explanation": "Step 2 adds 2 and 12 to get 15, which is wro'
    caller = Caller(ScriptedBackend([cut]), CallPolicy(retries=0, timeout_s=5))
    for name in ("direct", "processbench"):
        c = await build_critic(name, caller).critique(Item(id="1", question="2 + 3 * 4?", steps=["3*4 = 12", "2+12 = 15"]))
        assert c.verdict == "unscored" and c.raw_outputs == [cut]
        assert "Step 2 adds" not in (c.explanation or "") and c.explanation.startswith("Not judged: ")


# -- the Python API ---------------------------------------------------------------------------------------------------


def test_critique_items_is_one_synchronous_call():
    import critica

    got = critica.critique_items([{"question": "What is 2+2?", "response": "2+2 = 5. The answer is 5."},
                                  critica.Item(id="b", question="What is 3*3?", response="3*3 = 9. The answer is 9.")],
                                 critic="verifier")
    assert [c.item_id for c in got] == ["0", "b"] and [str(c.verdict) for c in got] == ["incorrect", "correct"]
    with pytest.raises(critica.UserError, match="needs a model"):
        critica.critique_items([{"question": "q", "response": "r"}], critic="direct")


async def test_critique_items_inside_an_event_loop_points_to_the_async_twin():
    import critica

    with pytest.raises(critica.UserError, match="acritique_items"):
        critica.critique_items([{"question": "q", "response": "r"}])
    [c] = await critica.acritique_items([{"question": "What is 2+2?", "response": "2+2 = 4."}])
    assert c.verdict == "correct"


def test_version_enums_and_build_critic_without_a_caller():
    from importlib.metadata import version

    import critica
    from critica.types import ParseStatus, StepVerdict, Verdict

    assert critica.__version__ == version("critica")
    assert str(Verdict.CORRECT) == f"{Verdict.CORRECT}" == "correct" and str(StepVerdict.UNCHECKED) == "unchecked"
    assert str(ParseStatus.FAILED) == "failed" and Verdict.CORRECT == "correct"
    from critica.verifiers.evidence import EvidenceLabel

    assert str(EvidenceLabel.NOT_SUPPORTED) == "not_supported"
    assert critica.build_critic("verifier").name == "verifier"


def test_a_module_factory_critic_works_in_python_and_in_critique(tmp_path, capsys, monkeypatch):
    import critica

    (tmp_path / "polish_mycritics.py").write_text(textwrap.dedent(critica.CriticFactory.__doc__.split("::")[1]))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert critica.build_critic("polish_mycritics:make_critic").name == "shouty"
        p = tmp_path / "a.jsonl"
        p.write_text(json.dumps({"id": "1", "question": "q", "response": "FINE"}) + "\n")
        assert main(["critique", str(p), "--critic", "polish_mycritics:make_critic", "--no-store"]) == 0
    finally:
        sys.modules.pop("polish_mycritics", None)  # sys.modules outlives the test
    assert Critique.model_validate_json(capsys.readouterr().out).verdict == "incorrect"


def test_the_sync_api_is_lazy():
    import subprocess

    code = "import sys, critica; print('critica.run.simple' in sys.modules, 'critica.types' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == ["False", "False"]


# -- messages ---------------------------------------------------------------------------------------------------------


def test_resuming_a_batch_with_another_critic_names_no_internals(tmp_path, capsys):
    p = _items(tmp_path / "a.jsonl", 1)
    assert main(["batch", str(p), "--run", "r"]) == 0
    assert main(["batch", str(p), "--run", "r", "--critic", "verifier-earliest"]) == 2
    err = capsys.readouterr().err
    assert "None" not in err and "without a model" in err


def test_an_empty_dpo_export_says_why(tmp_path, capsys):
    p = tmp_path / "a.jsonl"
    p.write_text("".join(json.dumps({"id": str(k), "question": f"What is {k}+{k}?", "response": f"{k}+{k} = {2 * k}."})
                         + "\n" for k in range(3)))
    assert main(["batch", str(p), "--run", "r"]) == 0
    capsys.readouterr()
    assert main(["runs", "export", "r", "--format", "dpo", "--out", str(tmp_path / "d.jsonl")]) == 0
    err = capsys.readouterr().err
    assert "wrote 0 dpo row(s)" in err and "no pairs: each of the 3 prompt(s) has one judged response" in err


def test_order_consistency_is_shown_as_a_rate_like_the_other_shares():
    """The pairwise table printed ``order_consistency`` as a bare fraction (``0.882``) beside percentages."""
    from critica.report.tables import format_value

    assert format_value("order_consistency", 0.882) == "88.2%"
    assert format_value("order_consistency", 1.0) == "100.0%"
