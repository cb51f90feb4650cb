"""The generator side of the loops: write, revise, align and extend answers with a model, through a Caller.

Prompts are files (``loop_answer``, ``loop_revise``, ``loop_align``, ``loop_next_step`` under
:mod:`critica.critics.prompts`, overridable with ``$CRITICA_PROMPTS``). A critique reaches the generator as text
rendered by :func:`render_critique` from the :class:`~critica.types.Critique` fields every protocol fills (verdict,
flagged steps, explanation, suggested fix, cited passages), so any critic can drive any loop.

Generator methods raise :class:`~critica.errors.BackendError` when the backend fails after the Caller's retries;
the loops turn that into a recorded outcome, never a crashed batch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from critica.backends.base import GenerateRequest
from critica.backends.call import Caller
from critica.critics.markup import neutralise, numbered_passages, numbered_steps
from critica.critics.parse import strip_reasoning
from critica.critics.prompts import load_template
from critica.inputs.steps import split_steps
from critica.types import Critique, Item, StepVerdict, Usage, display_step

__all__ = ["Draft", "Generator", "render_critique", "render_steps", "BOXED_FORMAT"]

BOXED_FORMAT = "Put the final answer in \\boxed{}."
"""Default answer-format instruction: graders read the last ``\\boxed{}``."""
_MAX_CRITIQUE_CHARS = 4000
"""Long critiques are cut: a small generator's context is the limit, and the head carries the verdict."""
_STEP_PREFIX = re.compile(r"^\s*(?:\*\*)?\s*step\s*\d+\s*[:.)]\s*(?:\*\*)?\s*", re.IGNORECASE)
_NEXT_MARKER = re.compile(r"\n\s*(?:\*\*)?\s*step\s*\d+\s*[:.)]", re.IGNORECASE)
_inline = partial(neutralise, strict=True, inline=True)
"""Item or critic text continuing a line of a loop template (:mod:`critica.critics.markup`)."""


@dataclass
class Draft:
    """Text written by the generator, with the usage of the call that wrote it."""

    text: str
    """The answer (reasoning blocks removed)."""
    usage: Usage = field(default_factory=Usage)
    """Token usage of the call (shared equally among the drafts of one n-sample call)."""
    finish_reason: str | None = None
    """Why generation stopped (``length`` means it was cut off by ``max_tokens``)."""


def render_steps(steps: list[str]) -> str:
    """Steps as ``Step 1: …`` lines, numbered the way critiques show them to people."""
    return numbered_steps(_STEP_PREFIX.sub("", s, count=1) for s in steps)


def render_critique(critique: Critique, steps: list[str] | None = None) -> str:
    """A critique as text for a reviser: verdict, flagged steps, explanation, suggested fix, cited passages.

    Args:
        critique: Any protocol's critique.
        steps: The steps of the critiqued answer, to quote the flagged step.
    """
    lines = [f"Verdict: {critique.verdict.value}"]
    if critique.score is not None:
        lines.append(f"Score: {critique.score.value:g} on a scale of {critique.score.min:g} to {critique.score.max:g}")
    if critique.first_error_step is not None:
        n = display_step(critique.first_error_step)
        quoted = ""
        if steps and critique.first_error_step < len(steps):
            quoted = f' ("{_inline(steps[critique.first_error_step][:300])}")'
        lines.append(f"First wrong step: Step {n}{quoted}")
    for judgment in critique.steps:
        if judgment.verdict == StepVerdict.INCORRECT and judgment.explanation:
            lines.append(f"Step {display_step(judgment.index)} is wrong: {_inline(judgment.explanation)}")
    if critique.explanation.strip():
        lines.append(f"Explanation: {_inline(critique.explanation.strip())}")
    if critique.suggested_fix and critique.suggested_fix.strip():
        lines.append(f"Suggested fix: {_inline(critique.suggested_fix.strip())}")
    # Evidence critics (critica.critics.evidence) store passages 0-based; the prompts number them from 1.
    for issue in critique.metadata.get("issues") or []:
        if isinstance(issue, dict) and issue.get("step") is None and issue.get("explanation"):
            lines.append(f"Whole answer ({_inline(str(issue.get('type', 'issue')))}): {_inline(str(issue['explanation']))}")
    cited = critique.metadata.get("cited_passages")
    if isinstance(cited, list) and cited and all(isinstance(p, int) for p in cited):
        lines.append("Passages the critique cites: " + ", ".join(f"[{p + 1}]" for p in cited))
    return "\n".join(lines)[:_MAX_CRITIQUE_CHARS]


class Generator:
    """Writes and rewrites answers with one model.

    Args:
        caller: The backend wrapper every call goes through.
        temperature: Sampling temperature of single answers and revisions.
        sample_temperature: Temperature when several different candidates are wanted (best-of-N, step proposals).
        max_tokens: Completion limit of answers and revisions.
        step_max_tokens: Completion limit of one proposed step.
        seed: Base seed; sample ``i`` of a call uses ``seed + i``.
        answer_format: Instruction appended to every prompt about how to state the final answer.
    """

    def __init__(
        self,
        caller: Caller,
        *,
        temperature: float = 0.0,
        sample_temperature: float = 0.8,
        max_tokens: int = 1024,
        step_max_tokens: int = 160,
        seed: int = 0,
        answer_format: str = BOXED_FORMAT,
    ) -> None:
        self.caller = caller
        self.temperature = temperature
        self.sample_temperature = sample_temperature
        self.max_tokens = max_tokens
        self.step_max_tokens = step_max_tokens
        self.seed = seed
        self.answer_format = answer_format

    @property
    def name(self) -> str:
        """The model spec behind this generator."""
        return self.caller.name

    async def _complete(self, prompt: str, *, n: int = 1, temperature: float | None = None,
                        max_tokens: int | None = None, seed: int | None = None, item: Item | None = None) -> list[Draft]:
        messages: list[dict] = [{"role": "user", "content": prompt}]
        if item is not None:
            # The item's images go with every prompt about it (critica.critics.images); a generator that cannot take
            # them fails the call (ImagesUnsupported) rather than answering without them.
            from critica.critics.images import attach_images

            messages = attach_images(item, messages)
        request = GenerateRequest(
            messages=messages, n=n,
            temperature=self.temperature if temperature is None else temperature,
            max_tokens=max_tokens or self.max_tokens, seed=self.seed if seed is None else seed,
        )
        completion = await self.caller.generate(request)
        k = max(1, len(completion.texts))
        reasons = completion.finish_reasons or [None] * k
        drafts = []
        # Shares add back up exactly to the call's usage (spent and replayed tokens alike).
        shares = completion.usage.split(k)
        for i, text in enumerate(completion.texts):
            drafts.append(Draft(strip_reasoning(text), shares[i], reasons[i] if i < len(reasons) else None))
        return drafts

    async def answer(self, question: str, *, n: int = 1, seed: int | None = None,
                     evidence: Sequence[str] = (), item: Item | None = None) -> list[Draft]:
        """Write ``n`` answers to ``question`` (several samples use ``sample_temperature``), using the retrieved
        passages ``evidence`` when given (numbered, to be cited like ``[1]``). Their markup is neutralised
        (:mod:`critica.critics.markup`).
        """
        shown = neutralise(question, strict=True)
        if evidence:
            shown += (f"\n\nRetrieved passages:\n{numbered_passages(evidence)}\n\n"
                      "Answer using the passages; cite them like [1].")
        prompt = load_template("loop_answer").format(question=shown, answer_format=self.answer_format)
        return await self._complete(prompt, n=n, temperature=self.sample_temperature if n > 1 else None, seed=seed,
                                    item=_question_images(item))

    async def revise(self, item: Item, critique: Critique) -> Draft:
        """Rewrite ``item``'s answer so that it addresses ``critique``."""
        steps = split_steps(item.text)
        prompt = load_template("loop_revise").format(
            question=neutralise(item.question, strict=True), answer=render_steps(steps), critique=render_critique(critique, steps),
            answer_format=self.answer_format,
        )
        return (await self._complete(prompt, item=item))[0]

    async def align(self, item: Item, critique: Critique) -> Draft:
        """Rewrite ``item``'s reasoning to fit its retrieved passages (``item.evidence``), guided by ``critique``."""
        steps = split_steps(item.text)
        prompt = load_template("loop_align").format(
            question=neutralise(item.question, strict=True), evidence=numbered_passages(item.evidence),
            answer=render_steps(steps),
            critique=render_critique(critique, steps), answer_format=self.answer_format,
        )
        return (await self._complete(prompt, item=item))[0]

    async def next_steps(self, question: str, steps: list[str], k: int, *, seed: int | None = None,
                         item: Item | None = None) -> list[Draft]:
        """Propose ``k`` candidate next steps after ``steps`` (each cut to a single step, duplicates kept)."""
        prompt = load_template("loop_next_step").format(
            question=neutralise(question, strict=True), partial=render_steps(steps) if steps else "(nothing yet)", number=len(steps) + 1,
            answer_format=self.answer_format,
        )
        drafts = await self._complete(prompt, n=k, temperature=self.sample_temperature if k > 1 else None,
                                      max_tokens=self.step_max_tokens, seed=seed, item=_question_images(item))
        for d in drafts:
            d.text = one_step(d.text)
        return drafts


def _question_images(item: Item | None) -> Item | None:
    """``item`` keeping only its question's images (a new answer is written to the question, not to the old
    response); None when it has none."""
    if item is None or not any(im.part == "question" for im in item.images):
        return None
    return item.model_copy(update={"images": [im for im in item.images if im.part == "question"]})


def one_step(text: str) -> str:
    """The first step of ``text``: a leading ``Step n:`` label removed, cut before the next step label."""
    text = _STEP_PREFIX.sub("", text.strip(), count=1)
    m = _NEXT_MARKER.search(text)
    return (text[: m.start()] if m else text).strip()
