"""Shared machinery of the critique protocols: JSON-schema answers with a free-text fallback, validated.

Every protocol asks for one of two answer formats:

* **structured** (the default): a JSON object matching the protocol's schema. Backends that support it constrain
  decoding to the schema (llama.cpp grammars, OpenAI ``json_schema``); that guarantees shape and enums, never numeric
  ranges, so every number is validated here.
* **text** (``structured=False``): the protocol's readable format (``Verdict: incorrect``, ``[RESULT] 4``, ``[[A]]``,
  ``\\boxed{3}`` …).

Whatever was asked, the parser reads the reply's *final answer* (after any ``<think>`` block) and tries the asked
format first, then the other. The outcome is recorded as ``parse_status``:

* ``ok`` — the asked format, exactly (whole reply is the JSON object, or the text format's answer line);
* ``repaired`` — found, but only after a repair: JSON embedded in prose or cut off and closed, the other format, a
  score clamped into range, an out-of-range step reference dropped. ``parse_error`` says which repair;
* ``failed`` — no answer in a label the prompt offered; the critique is ``unscored``.

Step references: prompts number steps **from 1** (people do) and use ``-1`` for "no wrong step"; the parsers convert
to the 0-based :attr:`~critica.types.Critique.first_error_step`. ProcessBench keeps its official 0-based prompt.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from critica.backends.base import GenerateRequest, Message
from critica.critics import markup
from critica.critics.base import LLMCritic, call_latency, failure_reason, unscored
from critica.critics.markup import numbered_passages
from critica.critics.parse import MAX_CHARS, all_boxed, extract_json, is_placeholder, parse_int, strip_reasoning
from critica.errors import BackendError
from critica.types import Critique, Item, ParseStatus, Usage

__all__ = [
    "Answer",
    "Notes",
    "ProtocolCritic",
    "Reply",
    "as_int",
    "clamp",
    "find_json",
    "labelled_value",
    "numbered_passages",
    "numbered_steps",
    "step_index",
]

_NUMBER = re.compile(r"^[+-]?\d{1,9}(?:\.\d{1,6})?$")


@dataclass
class Notes:
    """Repairs made while parsing; any note turns an ``ok`` parse into ``repaired``."""

    items: list[str] = field(default_factory=list)

    def add(self, note: str) -> None:
        if note and note not in self.items:
            self.items.append(note)

    def status(self, base: ParseStatus = ParseStatus.OK) -> ParseStatus:
        return ParseStatus.REPAIRED if self.items or base == ParseStatus.REPAIRED else base

    def text(self) -> str | None:
        return "; ".join(self.items) or None


@dataclass
class Answer:
    """The JSON object found in a reply, and whether finding it needed a repair."""

    value: dict[str, Any]
    status: ParseStatus
    note: str | None = None


def find_json(raw: str | None, *, structured: bool) -> Answer | None:
    """The final JSON object of a reply (after reasoning), or None.

    Exact JSON is ``ok`` only when JSON was asked for; embedded/truncated JSON, or JSON given to a text prompt, is
    ``repaired``.
    """
    try:
        js = extract_json(strip_reasoning(raw))
    except Exception:  # noqa: BLE001 - a parser never raises; pathological input is "no JSON"
        return None
    if js is None:
        return None
    if js.repaired:
        return Answer(js.value, ParseStatus.REPAIRED, js.note)
    if not structured:
        return Answer(js.value, ParseStatus.REPAIRED, "JSON answer to a free-text prompt")
    return Answer(js.value, ParseStatus.OK)


def as_int(value: Any, notes: Notes | None = None, what: str = "value") -> int | None:
    """An integer from a JSON value or text (``3``, ``"3"``, ``3.0``, ``"Step 3"``); non-integers round, with a note."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        if notes is not None and not value.is_integer():
            notes.add(f"{what} {value:g} rounded")
        return math.floor(value + 0.5)  # half up, as people round scores
    if isinstance(value, str):
        text = value.strip()
        m = re.match(r"^(?:step|paragraph|para)\s*#?\s*([+-]?\d{1,9})\s*$", text, re.IGNORECASE)
        if m:
            return int(m.group(1))
        as_plain = parse_int(text)
        if as_plain is not None:
            return as_plain
        t = text.strip("$ ").rstrip(".")
        if _NUMBER.match(t):
            return as_int(float(t), notes, what)
    return None


def clamp(value: int, lo: int, hi: int, notes: Notes, what: str = "score") -> int:
    """``value`` clamped into ``[lo, hi]``; clamping is a repair and is noted."""
    if value < lo or value > hi:
        notes.add(f"{what} {value} outside [{lo}, {hi}] clamped")
        return max(lo, min(hi, value))
    return value


def step_index(value: int | None, n_steps: int) -> int | None | str:
    """Map a 1-based step reference to a 0-based index.

    Returns the 0-based index, ``None`` for "no wrong step" (``-1``), or an error string for a reference outside
    ``1..n_steps`` (including ``0``: prompts are 1-based).
    """
    if value is None:
        return "no step number"
    if value == -1:
        return None
    if 1 <= value <= n_steps:
        return value - 1
    return f"step {value} outside 1..{n_steps}"


def labelled_value(text: str, labels: Iterable[str], valid: Callable[[str], bool] | None = None) -> str | None:
    """Value of the **last** line labelled ``<label>:`` that holds an answer (any case, markdown emphasis allowed).

    ``Verdict: incorrect``, ``**Final verdict:** Correct``, ``- verdict - incorrect`` all give the value text.
    A template echoed after the answer (``Verdict: <correct or incorrect>``) is not an answer: placeholder values
    (:func:`~critica.critics.parse.is_placeholder`) are skipped, and so is any value ``valid`` rejects, so the last
    line the field can read binds; between two readable answers the last still wins.
    """
    alts = "|".join(re.escape(lab) for lab in labels)
    pattern = re.compile(rf"(?im)^[ \t>#*_\-]*(?:{alts})[ \t*_]*[:\-][ \t*_]*(.+?)[ \t*_.]*$")
    found = None
    for m in pattern.finditer(text[:MAX_CHARS]):
        value = m.group(1).strip()
        if not is_placeholder(value) and (valid is None or valid(value)):
            found = value
    return found


def numbered_steps(steps: Sequence[str]) -> str:
    """Steps as ``Step 1: …`` blocks separated by blank lines, each stripped, their markup neutralised
    (:func:`critica.critics.markup.numbered_steps`)."""
    return markup.numbered_steps((s.strip() for s in steps), sep="\n\n")


@dataclass
class Reply:
    """One backend call's text, or the failure that replaced it."""

    text: str | None
    usage: Usage
    latency_s: float
    """Seconds this call counts for (:func:`~critica.critics.base.call_latency`: the original call's when replayed)."""
    took_s: float
    """Wall time this call took now (microseconds for a replay from the call cache)."""
    error: str | None = None
    reason: str = "backend failure"
    """How the failure is named in the critique's ``parse_error`` (:func:`~critica.critics.base.failure_reason`)."""


class ProtocolCritic(LLMCritic):
    """Base of the protocols in this package: prompts from templates, any number of calls per item.

    Single-call protocols implement :meth:`messages` and :meth:`parse` (as :class:`LLMCritic` asks). Multi-call
    protocols (deliberate, pairwise) override :meth:`critique` and use :meth:`call` for each step.
    """

    def prompt(self, body: str) -> list[Message]:
        """One user message (tool evidence, if any, is appended when the request is built)."""
        return [{"role": "user", "content": body}]

    multi_call = False
    """True for protocols that make several calls per critique (they implement :meth:`run`)."""

    async def run(self, item: Item, seed: int | None) -> Critique:  # pragma: no cover - multi-call protocols only
        """One complete critique with every call seeded from ``seed`` (multi-call protocols)."""
        raise NotImplementedError

    async def critique(self, item: Item) -> Critique:
        if self.multi_call:
            return await self.run(item, self.sampling.seed)
        return await super().critique(item)

    async def sample(self, item: Item, n: int = 1, seed: int | None = None) -> list[Critique]:
        """``n`` independent critiques; a multi-call protocol runs all its calls once per sample, seeds ``seed + i``."""
        if not self.multi_call:
            return await super().sample(item, n, seed)
        base = (self.sampling.seed or 0) if seed is None else seed
        out = list(await asyncio.gather(*(self.run(item, base + i) for i in range(n))))
        for i, crit in enumerate(out):
            if crit.sampling is not None:
                crit.sampling = crit.sampling.model_copy(update={"n": n, "seed": base + i})
        return out

    async def call(self, item: Item, messages: list[Message], schema: dict[str, Any] | None,
                   schema_name: str | None = None, *, seed: int | None = None) -> Reply:
        """One backend call through the caller; a backend failure is returned, not raised."""
        request = GenerateRequest(
            messages=self.augment(item, messages), n=1, temperature=self.sampling.temperature, max_tokens=self.sampling.max_tokens,
            seed=self.sampling.seed if seed is None else seed, json_schema=schema if self.structured else None,
            schema_name=(schema_name or self.name).replace("-", "_"),
        )
        start = time.perf_counter()
        try:
            completion = await self.caller.generate(request)
        except BackendError as e:
            took = time.perf_counter() - start
            return Reply(None, Usage(failed_calls=1), took, took, str(e), failure_reason(e))
        text = completion.texts[0] if completion.texts else ""
        took = time.perf_counter() - start
        return Reply(text, completion.usage, call_latency(completion, took), took)

    def finish(self, crit: Critique, replies: Sequence[Reply], start: float, seed: int | None = None) -> Critique:
        """Stamp raw outputs, usage, model, sampling and latency of ``replies`` onto ``crit``."""
        crit.raw_outputs = [r.text for r in replies if r.text is not None]
        usage = Usage()
        for r in replies:
            usage = usage + r.usage
        crit.usage = usage
        crit.model = self.caller.name
        crit.sampling = self.sampling.model_copy(update={"seed": self.sampling.seed if seed is None else seed})
        # call_latency's rule: the wall time, with each call's time now replaced by the time it counts for.
        crit.latency_s = time.perf_counter() - start + sum(r.latency_s - r.took_s for r in replies)
        return crit

    def backend_failure(self, item: Item, replies: Sequence[Reply], start: float, seed: int | None = None) -> Critique:
        """The unscored critique for a call that failed after its retries."""
        failed = next(r for r in replies if r.error)
        crit = unscored(item, self.name, reason=failed.reason, error=failed.error)
        return self.finish(crit, replies, start, seed)

    @staticmethod
    async def gather(*calls: Any) -> list[Reply]:
        return list(await asyncio.gather(*calls))


def _box_ints(box: str) -> list[int]:
    parts = [p for p in re.split(r"[,;\s]+", box) if p]
    out = []
    for p in parts:
        v = as_int(p)
        if v is None:
            return []
        out.append(v)
    return out


def boxed_ints(text: str) -> list[int]:
    """Integers in the last ``\\boxed{}`` that holds only integers (``\\boxed{7, 4}`` → ``[7, 4]``); empty when
    no box does. An echoed template box (``\\boxed{<one integer per response>}``) is skipped, not read."""
    for box in reversed(all_boxed(text)):
        got = _box_ints(box)
        if got:
            return got
    return []
