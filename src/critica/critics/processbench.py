"""ProcessBench first-error identification (Zheng et al., 2024, arXiv:2412.06559).

The official template: steps are tagged ``<paragraph_i>…</paragraph_i>`` and indexed **from 0**; the critic
returns the index of the earliest erroneous paragraph, or -1, in ``\\boxed{}``. The official scorer takes the last
boxed answer as an integer; anything else counts against the model. critica keeps that rule visible instead: a reply
with no parseable index is ``unscored`` (and the benchmark reports it as wrong *and* counts it separately).

With ``structured=True`` (the default on backends that constrain output to a JSON schema) the same question is
asked for a JSON object ``{"critique": str, "earliest_error_index": int}``; the index semantics are identical.
Indices outside ``[-1, n_steps)`` are not clamped into a wrong step: they make the critique unscored.

The official extractor (the last match of :data:`_OFFICIAL_BOXED` then ``int()``, on the whole reply) is
reproduced by :func:`official_index`. critica's reading is a superset (nested braces, ``\\fbox``, ``\\text{1}``, and it
ignores boxes inside ``<think>``); whenever the two differ on a boxed answer the critique is ``repaired`` with a note,
and ``metadata["official_index"]`` keeps what the official scorer would have read (None: counted wrong there).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from critica.backends.base import Message
from critica.critics.base import LLMCritic, unscored
from critica.critics.markup import neutralise
from critica.critics.parse import MAX_CHARS, extract_json, last_boxed, parse_int, strip_reasoning
from critica.critics.prompts import load_template
from critica.inputs.steps import item_steps
from critica.types import Critique, Item, ParseStatus, StepJudgment, StepVerdict, Verdict

__all__ = ["ProcessBenchCritic", "tag_steps", "official_answer", "official_index", "official_vote"]

_OFFICIAL_BOXED = re.compile(r"\\boxed\{([^}]*)\}")
"""The official extractor's pattern (kept as the definition :func:`official_index` is tested against)."""

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "critique": {"type": "string"},
        "earliest_error_index": {"type": "integer"},
    },
    "required": ["critique", "earliest_error_index"],
    "additionalProperties": False,
}


def tag_steps(steps: list[str]) -> str:
    """The official tagging: ``<paragraph_i>\\n{step}\\n</paragraph_i>`` blocks, 0-based, blank-line separated."""
    return "\n\n".join(f"<paragraph_{i}>\n{s}\n</paragraph_{i}>" for i, s in enumerate(steps))


def official_answer(text: str | None) -> str | None:
    """The official ``extract_answer``: the last ``\\boxed{...}`` without nested braces, stripped, as a string.

    Same matches as the official ``_OFFICIAL_BOXED.findall(text)``, found in one linear pass (the regex
    is quadratic on many unclosed boxes). None when there is no box.
    """
    if not text:
        return None
    text = text[:MAX_CHARS]
    last: str | None = None
    pos = 0
    while True:
        start = text.find("\\boxed{", pos)
        end = text.find("}", start + 7) if start >= 0 else -1
        if end < 0:
            break
        last, pos = text[start + 7 : end], end + 1
    return None if last is None else last.strip()


def _official_int(answer: str | None) -> int | None:
    if answer is None or len(answer) > 12:  # no index is that long; int() of huge digit runs is refused
        return None
    try:
        return int(answer)
    except ValueError:
        return None


def official_index(text: str | None) -> int | None:
    """The index the official ProcessBench scorer reads from one reply: :func:`official_answer`, ``int()``-ed
    (None when there is no box or its content is not an integer: counted wrong there)."""
    return _official_int(official_answer(text))


def official_vote(texts: Iterable[str | None]) -> int | None:
    """The official Maj@k prediction over k replies (``run_eval.py --use_voting``).

    Each reply's :func:`official_answer` **string**; replies without a box are dropped; the most common string wins
    (``Counter.most_common``: ties go to the string seen first); then ``int()``, None when it is not an integer. The
    vote is over raw strings, so an unreadable box (``\\boxed{paragraph 2}``) is a vote that, if it wins, counts wrong.
    """
    answers = [a for a in map(official_answer, texts) if a is not None]
    if not answers:
        return None
    return _official_int(Counter(answers).most_common(1)[0][0])


class ProcessBenchCritic(LLMCritic):
    """Earliest-error paragraph index, ProcessBench protocol."""

    name = "processbench"
    json_schema = SCHEMA

    def messages(self, item: Item) -> list[Message]:
        template = load_template("processbench_json" if self.structured else "processbench")
        # item text cannot open or close a paragraph tag (critica.critics.markup)
        prompt = template.format(problem=neutralise(item.question),
                                 tagged_response=tag_steps([neutralise(s) for s in item_steps(item)]))
        return [{"role": "user", "content": prompt}]

    def parse(self, item: Item, raw: str) -> Critique:
        n = len(item_steps(item))
        final = strip_reasoning(raw)
        index: int | None = None
        status = ParseStatus.OK
        explanation = ""
        note = None
        official: int | None | str = "n/a"
        js = extract_json(final)
        if js is not None and "earliest_error_index" in js.value:
            value = js.value["earliest_error_index"]
            index = value if isinstance(value, int) and not isinstance(value, bool) else parse_int(str(value))
            explanation = str(js.value.get("critique", ""))
            if js.repaired or not self.structured:
                status, note = ParseStatus.REPAIRED, js.note or "JSON answer to a free-text prompt"
        else:
            boxed = last_boxed(final, valid=lambda b: parse_int(b) is not None)
            index = parse_int(boxed)
            explanation = final
            if index is not None and self.structured:
                status, note = ParseStatus.REPAIRED, "boxed answer instead of the requested JSON"
            official = official_index(raw)
            if index is not None and official != index:
                status = ParseStatus.REPAIRED
                note = "; ".join(filter(None, [note, f"the official extractor reads {official!r}"]))
        meta = {} if official == "n/a" else {"official_index": official}
        if index is None:
            return unscored(item, self.name, reason="no earliest-error index found in the reply", explanation=final[:2000],
                            metadata=meta)
        if not -1 <= index < n:
            return unscored(item, self.name, reason=f"index {index} outside [-1, {n - 1}] for {n} steps",
                            explanation=explanation, metadata=meta)
        if index == -1:
            verdict, first = Verdict.CORRECT, None
            steps = [StepJudgment(index=i, verdict=StepVerdict.CORRECT) for i in range(n)]
        else:
            verdict, first = Verdict.INCORRECT, index
            steps = [StepJudgment(index=i, verdict=StepVerdict.CORRECT) for i in range(index)]
            steps.append(StepJudgment(index=index, verdict=StepVerdict.INCORRECT, explanation="earliest error"))
        return Critique(
            item_id=item.id, critic=self.name, verdict=verdict, first_error_step=first, steps=steps,
            explanation=explanation, parse_status=status, parse_error=note, metadata=meta,
        )
