import asyncio

from critica.errors import InputError
from critica.run.runner import run_critic
from critica.types import Critique, Item, Verdict


class SlowCritic:
    name = "slow"

    def __init__(self):
        self.in_flight = 0
        self.peak = 0

    async def critique(self, item):
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01 * (3 - int(item.id) % 3))
        self.in_flight -= 1
        if item.id == "4":
            raise RuntimeError("critic bug")
        return Critique(item_id=item.id, critic=self.name, verdict=Verdict.CORRECT)


class ListSink:
    def __init__(self):
        self.critiques, self.errors = [], []

    def write(self, c):
        self.critiques.append(c)

    def error(self, e):
        self.errors.append(e)


async def test_runner_streams_all_results_keeps_failures_and_limits_concurrency():
    records = [Item(id=str(i), question="q", response="r") for i in range(10)]
    records.insert(3, InputError("f.jsonl", "line 4", "question", "missing"))
    critic, sink = SlowCritic(), ListSink()
    stats = await run_critic(critic, records, sink, concurrency=3)
    assert sorted(c.item_id for c in sink.critiques) == sorted(str(i) for i in range(10))
    assert len(sink.errors) == 1 and stats.input_errors == 1
    failed = next(c for c in sink.critiques if c.item_id == "4")
    assert failed.verdict == Verdict.UNSCORED and "critic bug" in failed.error
    assert stats.verdicts["correct"] == 9 and stats.verdicts["unscored"] == 1 and stats.backend_errors == 1
    assert critic.peak == 3


async def test_stats_tell_ties_from_parse_failures():
    from critica.run.runner import RunStats
    from critica.types import ParseStatus

    stats = RunStats()
    stats.add(Critique(item_id="a", critic="pairwise", verdict=Verdict.UNSCORED, metadata={"preference": "tie"}))
    stats.add(Critique(item_id="b", critic="pairwise", verdict=Verdict.UNSCORED, parse_status=ParseStatus.FAILED))
    stats.add(Critique(item_id="c", critic="pairwise", verdict=Verdict.UNSCORED, parse_status=ParseStatus.FAILED, error="down"))
    assert stats.verdicts["unscored"] == 3 and stats.no_verdict == 1 and stats.backend_errors == 1


def test_stats_count_incorrect_critiques_that_name_the_first_error():
    from critica.run.runner import RunStats

    stats = RunStats()
    stats.add(Critique(item_id="a", critic="verifier", verdict=Verdict.INCORRECT, first_error_step=2))
    stats.add(Critique(item_id="b", critic="verifier", verdict=Verdict.INCORRECT, metadata={"error_at_or_before": 5}))
    stats.add(Critique(item_id="c", critic="verifier", verdict=Verdict.CORRECT))
    assert stats.verdicts["incorrect"] == 2 and stats.first_error_named == 1


def test_stats_count_failed_items_failed_calls_and_replayed_tokens_apart():
    from critica.run.runner import RunStats
    from critica.types import Usage

    stats = RunStats()
    spent = Usage(prompt_tokens=10, completion_tokens=2, calls=1)
    stats.add(Critique(item_id="a", critic="c", verdict=Verdict.CORRECT, usage=spent))
    stats.add(Critique(item_id="b", critic="c", verdict=Verdict.CORRECT, usage=spent.as_replayed()))
    # a panel whose member failed: a verdict, but a failed item and a failed call
    stats.add(Critique(item_id="c", critic="p", verdict=Verdict.INCORRECT, usage=spent + Usage(failed_calls=1),
                       metadata={"failures": ["m2: backend down"]}))
    assert (stats.failed_items, stats.backend_errors, stats.usage.failed_calls) == (1, 0, 1)
    assert (stats.usage.spent_tokens, stats.usage.replayed_tokens) == (24, 12)


async def test_next_item_is_sent_before_the_last_reply_is_parsed():
    """Dispatch first: when a reply comes back, the item waiting for a slot sends its request before that reply is
    parsed, so the server is not left idle while replies are post-processed."""
    from critica.backends.call import Caller, CallPolicy
    from critica.backends.fake import ScriptedBackend
    from critica.critics.direct import DirectCritic

    log: list[str] = []

    class Logging(ScriptedBackend):
        async def generate(self, request):
            log.append("send " + request.messages[-1]["content"].split("QID-")[1].split()[0])
            return await super().generate(request)

    class Parsing(DirectCritic):
        def parse(self, item, raw):
            log.append(f"parse {item.id}")
            return super().parse(item, raw)

    backend = Logging(['{"verdict": "correct", "explanation": "ok", "first_error_step": -1}'], delay_s=0.01)
    critic = Parsing(Caller(backend, CallPolicy(concurrency=1, retries=0)))
    records = [Item(id=f"{i}", question=f"QID-{i} What is 1+1?", response="2") for i in range(3)]
    sink = ListSink()
    stats = await run_critic(critic, records, sink, concurrency=1)
    assert stats.items == 3 and stats.verdicts["correct"] == 3
    # the caller's limit still holds: one call at a time, in item order
    assert [e for e in log if e.startswith("send")] == ["send 0", "send 1", "send 2"]
    assert log.index("send 1") < log.index("parse 0") and log.index("send 2") < log.index("parse 1")


async def test_items_without_model_calls_keep_their_slot_and_records_are_pulled_boundedly():
    pulled = []

    def records():
        for i in range(40):
            pulled.append(i)
            yield Item(id=str(i), question="q", response="r")

    critic, sink = SlowCritic(), ListSink()
    seen_ahead = []

    class Watching(ListSink):
        def write(self, c):
            seen_ahead.append(len(pulled) - len(sink.critiques))
            sink.critiques.append(c)

    await run_critic(critic, records(), Watching(), concurrency=4)
    assert len(sink.critiques) == 40 and critic.peak == 4
    # bounded read-ahead: at most 2 x concurrency items started, plus the finished ones not yet handed on
    assert max(seen_ahead) <= 16


async def test_items_and_their_calls_share_one_loop_timer_each_whatever_the_concurrency():
    """Every item has a time budget and every call a timeout; with 200 of each open at once, the loop's timer heap
    holds a timer per group (critica.timeouts), not one per item and per call (asyncio.timeout each: 400)."""
    from critica.backends.call import Caller, CallPolicy
    from critica.backends.fake import ScriptedBackend
    from critica.critics.direct import DirectCritic

    gate = asyncio.Event()
    timers: list[int] = []

    class Held(ScriptedBackend):
        async def generate(self, request):
            await gate.wait()
            return await super().generate(request)

    async def watch():
        loop = asyncio.get_running_loop()
        for _ in range(200):
            await asyncio.sleep(0.005)
            timers.append(len(loop._scheduled))  # noqa: SLF001 - the loop's timer heap is what this test is about
        gate.set()

    backend = Held(['{"verdict": "correct", "explanation": "ok", "first_error_step": -1}'])
    critic = DirectCritic(Caller(backend, CallPolicy(concurrency=200, retries=0)))
    records = [Item(id=f"{i}", question="What is 1+1?", response="2") for i in range(200)]
    sink = ListSink()
    watcher = asyncio.ensure_future(watch())
    stats = await run_critic(critic, records, sink, concurrency=200)
    await watcher
    assert stats.items == 200 and stats.verdicts["correct"] == 200
    # the watcher's own sleep, the item group's timer and the call group's timer
    assert max(timers) <= 4


class _Gauge:
    """A critic that records how many of its critiques run at once."""

    name = "gauge"

    def __init__(self, min_in_flight: int | None = None) -> None:
        if min_in_flight is not None:
            self.min_in_flight = min_in_flight
        self.now = self.peak = 0

    async def critique(self, item: Item) -> Critique:
        self.now += 1
        self.peak = max(self.peak, self.now)
        await asyncio.sleep(0.01)
        self.now -= 1
        return Critique(item_id=item.id, critic=self.name, verdict=Verdict.CORRECT)


def test_a_critic_may_ask_for_more_items_in_flight_than_the_concurrency():
    from critica.run.runner import critique_stream

    async def peak(critic, concurrency):
        items = [Item(id=str(i), question="q", response="r") for i in range(40)]
        got = [c async for c in critique_stream(critic, items, concurrency=concurrency)]
        assert len(got) == 40
        return critic.peak

    assert asyncio.run(peak(_Gauge(), 2)) == 2
    assert asyncio.run(peak(_Gauge(min_in_flight=8), 2)) == 8
    assert asyncio.run(peak(_Gauge(min_in_flight=1), 5)) == 5  # never fewer than asked for
