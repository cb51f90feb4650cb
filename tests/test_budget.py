"""Per-item size and time budgets (critica.budget): the budget itself, the runner around every critic, the verifier's
cooperative deadline, and the options of the CLI, batch jobs and the server."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend
from critica.budget import (
    DEFAULT_MAX_CHARS,
    DEFAULT_TIMEOUT_S,
    Deadline,
    DeadlineExceeded,
    ItemBudget,
    checkpoint,
    deadline_scope,
    item_chars,
)
from critica.cli import main
from critica.config import from_env
from critica.critics.registry import build_critic
from critica.errors import UserError
from critica.run.runner import RunStats, critique_stream, critique_within, run_critic
from critica.types import Critique, Item, ParseStatus, Verdict

ALL_RIGHT = '{"critique": "fine", "earliest_error_index": -1}'


def _item(id="a", **kw) -> Item:
    return Item(**{"id": id, "question": "What is 2+3?", "response": "2 + 3 = 5", **kw})


class ListSink:
    def __init__(self):
        self.critiques, self.errors = [], []

    def write(self, c):
        self.critiques.append(c)

    def error(self, e):
        self.errors.append(e)


class CountingCritic:
    name = "counting"

    def __init__(self, delay_s: float = 0.0):
        self.seen: list[str] = []
        self.delay_s = delay_s

    async def critique(self, item):
        self.seen.append(item.id)
        await asyncio.sleep(self.delay_s if item.id == "slow" else 0)
        return Critique(item_id=item.id, critic=self.name, verdict=Verdict.CORRECT)


class SpinningCritic:
    """A CPU-bound critic in a worker thread that checks the deadline cooperatively, like the verifier."""

    name = "spinning"

    def __init__(self):
        self.stopped_at: float | None = None
        self.stopped = threading.Event()

    def _spin(self):
        try:
            while True:
                checkpoint()
                sum(range(1000))
        finally:
            self.stopped_at = time.perf_counter()
            self.stopped.set()

    async def critique(self, item):
        await asyncio.to_thread(self._spin)


# -- the budget ------------------------------------------------------------------------------------------------------


def test_item_chars_counts_every_text_field_and_not_metadata():
    item = Item(id="x", question="abc", steps=["12", "345"], candidates=["z"], evidence=["e" * 10],
                reference_answer="5", rubric="rr", principles=["p"], tests=["t" * 4], metadata={"big": "m" * 100})
    assert item_chars(item) == {"question": 3, "steps": 5, "candidates": 1, "evidence": 10, "reference_answer": 1,
                                "rubric": 2, "principles": 1, "tests": 4}


def test_every_item_field_but_id_and_metadata_is_counted():
    from critica.budget import TEXT_FIELDS

    assert set(TEXT_FIELDS) == set(Item.model_fields) - {"id", "metadata"}


def test_empty_list_entries_count_toward_the_size_budget():
    # each entry costs a "Step k:" label or a passage number in a prompt: 900,000 empty steps are not 0 characters
    assert item_chars(Item(id="x", question="q", steps=["", "ab", ""])) == {"question": 1, "steps": 4}
    over = ItemBudget().oversize(Item(id="x", question="q", steps=[""] * 900_000))
    assert over is not None and over["fields"]["steps"] == 900_000


def test_budget_of_settings_default_zero_and_negative():
    assert ItemBudget.of() == ItemBudget(DEFAULT_MAX_CHARS, DEFAULT_TIMEOUT_S)
    assert ItemBudget.of(0, 0) == ItemBudget(None, None)
    assert ItemBudget.of(10, 2.5) == ItemBudget(10, 2.5)
    for bad in ((-1, None), (None, -3.0), (None, float("nan"))):
        with pytest.raises(ValueError, match="no limit"):
            ItemBudget.of(*bad)


def test_oversize_names_the_fields_and_sizes():
    over = ItemBudget(max_chars=20).oversize(_item(response="x" * 30))
    assert over == {"exceeded": "size", "max_chars": 20, "chars": 42, "fields": {"question": 12, "response": 30}}
    assert ItemBudget(max_chars=42).oversize(_item(response="x" * 30)) is None
    assert ItemBudget(max_chars=None).oversize(_item(response="x" * 10**6)) is None


def test_checkpoint_is_a_no_op_outside_a_deadline_and_raises_past_it():
    checkpoint()
    with deadline_scope(Deadline(time.monotonic() + 60, 60)):
        checkpoint()
    d = Deadline(time.monotonic() - 1, 5)
    with deadline_scope(d), pytest.raises(DeadlineExceeded, match="time budget of 5 s exceeded"):
        checkpoint()
    abandoned = Deadline(None)
    abandoned.abandon()
    with deadline_scope(abandoned), pytest.raises(DeadlineExceeded):
        checkpoint()
    checkpoint()  # the scope is gone again


def test_deadline_exceeded_gets_past_except_exception():
    # verifiers catch Exception around each step; the deadline must not be swallowed there
    assert not issubclass(DeadlineExceeded, Exception)


def test_settings_read_the_budget_from_the_environment():
    s = from_env({"CRITICA_ITEM_MAX_CHARS": "5000", "CRITICA_ITEM_TIMEOUT": "2.5"})
    assert (s.item_max_chars, s.item_timeout) == (5000, 2.5)
    with pytest.raises(UserError, match="CRITICA_ITEM_TIMEOUT"):
        from_env({"CRITICA_ITEM_TIMEOUT": "soon"})


# -- the runner ------------------------------------------------------------------------------------------------------


async def test_an_oversize_item_is_never_shown_to_the_critic_and_the_others_finish():
    critic, sink = CountingCritic(), ListSink()
    items = [_item("ok"), _item("big", response="9" * 500), _item("ok2")]
    stats = await run_critic(critic, items, sink, budget=ItemBudget(max_chars=100))
    assert critic.seen == ["ok", "ok2"]
    big = next(c for c in sink.critiques if c.item_id == "big")
    assert big.verdict == Verdict.UNSCORED and big.parse_status == ParseStatus.FAILED
    assert "exceeds the size budget of 100" in big.error and "response 500" in big.error
    assert big.metadata["budget"] == {"exceeded": "size", "max_chars": 100, "chars": 512,
                                      "fields": {"question": 12, "response": 500}}
    assert big.explanation.startswith("Not judged: item of 512 characters")
    assert stats.over_budget == 1 and stats.backend_errors == 0 and stats.verdicts["correct"] == 2


async def test_a_slow_item_is_unscored_at_its_time_budget_and_the_others_finish():
    critic = CountingCritic(delay_s=30)
    start = time.perf_counter()
    out = [c async for c in critique_stream(critic, [_item("slow"), _item("ok")], budget=ItemBudget(timeout_s=0.3))]
    assert time.perf_counter() - start < 5
    by_id = {c.item_id: c for c in out}
    assert by_id["ok"].verdict == Verdict.CORRECT
    slow = by_id["slow"]
    assert slow.verdict == Verdict.UNSCORED and slow.error == "time budget of 0.3 s exceeded"
    assert slow.metadata["budget"] == {"exceeded": "time", "timeout_s": 0.3} and slow.latency_s >= 0.3


async def test_a_cpu_bound_thread_stops_soon_after_the_budget():
    critic = SpinningCritic()
    start = time.perf_counter()
    crit = await critique_within(critic, _item(), ItemBudget(timeout_s=0.3))
    assert crit.metadata["budget"]["exceeded"] == "time"
    assert critic.stopped.wait(5), "the worker thread kept running past the item's budget"
    assert critic.stopped_at - start < 2


async def test_cancelling_the_item_stops_its_thread():
    critic = SpinningCritic()
    task = asyncio.ensure_future(critique_within(critic, _item(), ItemBudget(timeout_s=None)))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert critic.stopped.wait(5), "an abandoned item kept its thread busy"


async def test_a_timeout_raised_by_the_critic_itself_is_not_a_budget_overrun():
    class Raises:
        name = "raises"

        async def critique(self, item):
            raise TimeoutError("inner timeout")

    crit = await critique_within(Raises(), _item(), ItemBudget(timeout_s=60))
    assert crit.error == "TimeoutError: inner timeout" and "budget" not in crit.metadata


def test_stats_count_budget_overruns_apart_from_failed_calls():
    stats = RunStats()
    stats.add(Critique(item_id="a", critic="c", verdict=Verdict.UNSCORED, parse_status=ParseStatus.FAILED,
                       error="time budget of 1 s exceeded", metadata={"budget": {"exceeded": "time", "timeout_s": 1}}))
    stats.add(Critique(item_id="b", critic="c", verdict=Verdict.UNSCORED, parse_status=ParseStatus.FAILED, error="down"))
    assert stats.over_budget == 1 and stats.backend_errors == 1


async def test_the_verifier_stops_between_steps_once_over_budget(monkeypatch):
    import critica.verifiers.math as math_checks

    last_step_at = []
    real = math_checks.check_step

    def spy(text):
        last_step_at.append(time.perf_counter())
        return real(text)

    monkeypatch.setattr(math_checks, "check_step", spy)
    verifier = build_critic("verifier", None)
    steps = [f"{i} + {i} = {2 * i}" for i in range(200_000)]  # about a minute of checks
    start = time.perf_counter()
    crit = await critique_within(verifier, Item(id="many", question="q", steps=steps), ItemBudget(None, 0.3))
    assert crit.error == "time budget of 0.3 s exceeded"
    await asyncio.sleep(1.0)
    # the worker thread stopped at the next step instead of checking the other steps
    assert 0 < len(last_step_at) < len(steps)
    assert last_step_at[-1] - start < 1.0


async def test_an_llm_item_over_budget_sends_nothing_and_a_hung_call_is_cut_at_the_budget():
    backend = ScriptedBackend([ALL_RIGHT])
    critic = build_critic("processbench", Caller(backend, CallPolicy(timeout_s=600, retries=3)))
    crit = await critique_within(critic, _item(response="x" * 1000), ItemBudget(max_chars=500))
    assert backend.calls == 0 and crit.metadata["budget"]["exceeded"] == "size"

    hung = ScriptedBackend([ALL_RIGHT], delay_s=3600)
    critic = build_critic("processbench", Caller(hung, CallPolicy(timeout_s=600, retries=3)))
    start = time.perf_counter()
    crit = await critique_within(critic, _item(), ItemBudget(timeout_s=0.3))
    assert crit.error == "time budget of 0.3 s exceeded" and time.perf_counter() - start < 5


# -- command line, batch, server -------------------------------------------------------------------------------------


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_cli_critique_item_budget_options(tmp_path, capsys):
    p = _write(tmp_path / "in.jsonl", [{"id": "ok", "question": "2+3?", "response": "2 + 3 = 5"},
                                       {"id": "big", "question": "2+3?", "response": "2 + 3 = 5. " * 100}])
    out = tmp_path / "out.jsonl"
    assert main(["critique", str(p), "--out", str(out), "--item-max-chars", "200"]) == 1
    crits = {c["item_id"]: c for c in map(json.loads, out.read_text().splitlines())}
    assert crits["ok"]["verdict"] == "correct"
    assert crits["big"]["verdict"] == "unscored" and crits["big"]["metadata"]["budget"]["max_chars"] == 200
    err = capsys.readouterr().err
    assert "1 item(s) over budget" in err and "over the item budget" in err
    assert main(["critique", str(p), "--out", str(out), "--item-max-chars", "0"]) == 0
    assert main(["critique", str(p), "--out", str(out), "--item-timeout", "-1"]) == 2
    assert "--item-timeout" in capsys.readouterr().err


def test_cli_budget_from_the_environment(tmp_path, monkeypatch):
    p = _write(tmp_path / "in.jsonl", [{"id": "big", "question": "q", "response": "2 + 3 = 5. " * 100}])
    monkeypatch.setenv("CRITICA_ITEM_MAX_CHARS", "100")
    out = tmp_path / "out.jsonl"
    assert main(["critique", str(p), "--out", str(out)]) == 1
    assert json.loads(out.read_text())["metadata"]["budget"]["max_chars"] == 100


def test_batch_stores_over_budget_items_with_the_reason(tmp_path, capsys):
    from critica.store import Store

    p = _write(tmp_path / "in.jsonl", [{"id": "ok", "question": "2+3?", "response": "2 + 3 = 5"},
                                       {"id": "big", "question": "2+3?", "response": "2 + 3 = 5. " * 100}])
    db = tmp_path / "s.db"
    assert main(["batch", str(p), "--run", "r", "--db", str(db), "--item-max-chars", "200"]) == 1
    assert "1 item(s) over budget" in capsys.readouterr().err
    store = Store.open(db)
    run = store.get_run("r")
    assert run.critiques == 2 and run.config["item_budget"] == {"max_chars": 200, "timeout_s": 300.0}
    big = store.get_critique("r", "big")
    assert big.verdict == Verdict.UNSCORED and big.metadata["budget"]["exceeded"] == "size"
    assert store.get_critique("r", "ok").verdict == Verdict.CORRECT
    store.close()


def test_server_applies_the_item_budget_to_every_route():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from critica.config import Settings
    from critica.server import ServerConfig, create_app

    backend = ScriptedBackend([ALL_RIGHT])
    cfg = ServerConfig(settings=Settings(model="scripted", retries=0, item_max_chars=300), critic="processbench")
    client = TestClient(create_app(None, cfg, backends={"scripted": backend}))
    big = "2 + 3 = 5. " * 50
    r = client.post("/v1/critiques", json={"items": [{"id": "big", "question": "q", "response": big},
                                                     {"id": "ok", "question": "q", "response": "5"}], "store": False})
    assert r.status_code == 200, r.text
    verdicts = {c["item_id"]: c for c in r.json()["critiques"]}
    assert verdicts["big"]["verdict"] == "unscored" and "size budget of 300" in verdicts["big"]["error"]
    assert verdicts["ok"]["verdict"] == "correct" and backend.calls == 1
    r = client.post("/v1/reward", json={"samples": [{"prompt": "q", "response": big}]})
    assert r.status_code == 200, r.text
    assert r.json()["rewards"] == [cfg.unscored_reward] and backend.calls == 1
    # the refine loop critiques within the same budget: nothing is sent for an item over it
    r = client.post("/v1/refine", json={"item": {"id": "big", "question": "q", "response": big}, "max_rounds": 1})
    assert r.status_code == 200, r.text
    t = r.json()["trajectory"]
    assert t["stop_reason"] == "unscored" and "size budget of 300" in t["rounds"][0]["critique"]["error"]
    assert backend.calls == 1
    with pytest.raises(ValueError, match="no limit"):
        ServerConfig(settings=Settings(item_timeout=-5))


async def test_the_loops_critique_within_the_item_budget():
    from critica.loops import Generator, align, best_of_n, refine, rerank, step_search

    gen = Generator(Caller(ScriptedBackend(["Step 1: 2 + 3 = 5, so \\boxed{5}"]), CallPolicy(retries=0)))
    critic = CountingCritic()
    # the default budget when none is given
    t = await refine(_item("big", response="9" * (DEFAULT_MAX_CHARS + 1)), critic, gen)
    assert critic.seen == [] and t.rounds[0].critique.metadata["budget"]["exceeded"] == "size"
    # a given budget reaches every critique of every loop
    small, long_question = ItemBudget(max_chars=50), "What is 2 + 3? " * 5
    t = await refine(_item("big", response="9" * 100), critic, gen, budget=small)
    assert t.stop_reason == "unscored" and "size budget of 50" in t.rounds[0].critique.error
    t = await align(_item("rag", response="9" * 100, evidence=["e"]), critic, gen, budget=small)
    assert t.stop_reason == "unscored"
    r = await rerank(_item("r", response="9" * 100, candidates=["5"]), critic, budget=small)
    assert r.best == 1 and r.unscored == [0]
    r = await best_of_n(_item("n", question=long_question), critic, gen, n=2, budget=small)
    assert r.best is None and r.unscored == [0, 1]
    s = await step_search(_item("s", question=long_question), critic, gen, beam=1, expand=1, max_steps=1, budget=small)
    assert s.nodes[0].score is None
    assert critic.seen == ["r#1"]


def test_the_realcritic_suite_critiques_within_the_context_budget(tmp_path):
    from critica.bench.base import BenchContext, get_suite

    (tmp_path / "realcritic" / "gsm8k").mkdir(parents=True)
    row = {"idx": 0, "question": "What is 2+3?", "gt_cot": "None", "gt": "5", "pred": "6", "model": "m",
           "reasoning": "Step 1: 2 + 3 = 6.\nStep 2: \\boxed{6}", "previous_score": [False]}
    (tmp_path / "realcritic" / "gsm8k" / "test.jsonl").write_text(json.dumps(row) + "\n")
    backend = ScriptedBackend([ALL_RIGHT])
    caller = Caller(backend, CallPolicy(retries=0))
    ctx = BenchContext(data_dir=tmp_path, make_critic=lambda: build_critic("processbench", caller),
                       critic_name="processbench", model="scripted", budget=ItemBudget(max_chars=20))
    # the only item is over the budget, so the critic judged nothing: an error naming why, not figures
    with pytest.raises(UserError, match="exceeds the size budget"):
        get_suite("realcritic").run(ctx)
    assert backend.calls == 0
