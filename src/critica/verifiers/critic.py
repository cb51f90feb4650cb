"""The ``verifier`` critic: a Critique built from tool checks alone, no language model.

It runs, on the item's steps (:func:`critica.inputs.steps.item_steps`):

* :class:`~critica.verifiers.math.ArithmeticVerifier` on every item;
* :class:`~critica.verifiers.answer.FinalAnswerVerifier` when ``Item.reference_answer`` is set;
* ``EvidenceVerifier`` (:mod:`critica.verifiers.evidence`) when ``Item.evidence`` is non-empty and
  ``CodeVerifier`` (:mod:`critica.verifiers.code`) when ``Item.tests`` is non-empty — imported lazily; when the module
  is absent the check is skipped and the critique says so in ``metadata["skipped"]``.

Verdict rule (ProcessBench-compatible: "no error found" is the prediction ``-1``):

1. Some step has an ``incorrect`` finding → ``incorrect``, ``first_error_step`` = the earliest such step.
2. Otherwise a whole-response check failed (wrong final answer, failing test) → ``incorrect``,
   ``first_error_step`` None, and the explanation says which check failed.
3. Otherwise → ``correct``, meaning *no error found*, never "verified correct": ``confidence`` is 0.9 when a
   whole-response check passed (final answer matches the reference, tests pass), else ``0.2 + 0.5 × checked
   fraction of steps``; ``metadata["checked_steps"]`` says how many steps were actually checked (0: nothing was).

Per step: ``incorrect`` if flagged, ``correct`` if checked and every check passed, ``unchecked`` otherwise.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from dataclasses import asdict
from typing import Any

from critica.inputs.steps import item_steps
from critica.types import Critique, Item, StepJudgment, StepVerdict, Verdict
from critica.verifiers.answer import FinalAnswerVerifier
from critica.verifiers.base import Finding, Verifier
from critica.verifiers.math import ArithmeticVerifier

__all__ = ["VerifierCritic", "build_critique"]


def _optional(module: str, cls: str) -> Verifier | None:
    try:
        mod = importlib.import_module(module)
        return getattr(mod, cls)()
    except (ImportError, AttributeError):
        return None


class VerifierCritic:
    """Critic backed by deterministic verifiers (arithmetic, final answer, evidence, code)."""

    name = "verifier"

    def __init__(self, *, arithmetic: bool = True, final_answer: bool = True, evidence: bool = True, code: bool = True) -> None:
        """Choose which checks run; the optional evidence and code verifiers load on first use."""
        self.arithmetic = ArithmeticVerifier() if arithmetic else None
        # Equation and algebra checks share the arithmetic switch: both verify what a step asserts symbolically.
        self.algebra = _optional("critica.verifiers.algebra", "AlgebraVerifier") if arithmetic else None
        self.final_answer = FinalAnswerVerifier() if final_answer else None
        self._want = {"evidence": evidence, "code": code}
        self._extra: dict[str, Verifier | None] = {}

    def _get(self, kind: str) -> Verifier | None:
        if kind not in self._extra:
            module, cls = {"evidence": ("critica.verifiers.evidence", "EvidenceVerifier"),
                           "code": ("critica.verifiers.code", "CodeVerifier")}[kind]
            self._extra[kind] = _optional(module, cls) if self._want[kind] else None
        return self._extra[kind]

    def findings(self, item: Item, steps: list[str]) -> tuple[list[Finding], list[str]]:
        """All findings for ``item`` and the names of checks that applied but were unavailable."""
        found: list[Finding] = []
        skipped: list[str] = []
        for verifier in (self.arithmetic, self.algebra, self.final_answer):
            if verifier is not None:
                found.extend(verifier.check(item, steps))
        for kind, applies in (("evidence", bool(item.evidence)), ("code", bool(item.tests))):
            if not applies or not self._want[kind]:
                continue
            verifier = self._get(kind)
            if verifier is None:
                skipped.append(kind)
                continue
            try:
                found.extend(verifier.check(item, steps))
            except Exception as e:  # noqa: BLE001 - a broken optional check must not sink the other findings
                found.append(Finding(kind, StepVerdict.UNCHECKED, f"{kind} check failed: {type(e).__name__}: {e}"))
        return found, skipped

    def judge(self, item: Item) -> Critique:
        """The critique of ``item`` (synchronous; :meth:`critique` runs this in a worker thread)."""
        start = time.perf_counter()
        steps = item_steps(item)
        found, skipped = self.findings(item, steps)
        crit = build_critique(item, steps, found, self.name)
        if skipped:
            crit.metadata["skipped"] = skipped
        crit.latency_s = time.perf_counter() - start
        return crit

    async def critique(self, item: Item) -> Critique:
        """Judge ``item`` off the event loop (the checks are CPU-bound)."""
        return await asyncio.to_thread(self.judge, item)


def build_critique(item: Item, steps: list[str], found: list[Finding], critic: str = "verifier") -> Critique:
    """Apply the verdict rule of this module's docstring to a list of findings."""
    per_step: dict[int, list[Finding]] = {}
    whole: list[Finding] = []
    for f in found:
        if f.step is not None and 0 <= f.step < len(steps):
            per_step.setdefault(f.step, []).append(f)
        else:
            whole.append(f)
    judgments = []
    for i in range(len(steps)):
        fs = per_step.get(i, [])
        if any(f.verdict == StepVerdict.INCORRECT for f in fs):
            verdict = StepVerdict.INCORRECT
            text = "; ".join(f.message for f in fs if f.verdict == StepVerdict.INCORRECT)
        elif fs and all(f.verdict == StepVerdict.CORRECT for f in fs):
            verdict, text = StepVerdict.CORRECT, "; ".join(f.message for f in fs)
        else:
            verdict = StepVerdict.UNCHECKED
            text = "; ".join(f.message for f in fs) or "nothing in this step could be checked automatically"
        judgments.append(StepJudgment(index=i, verdict=verdict, explanation=text))
    flagged = [j.index for j in judgments if j.verdict == StepVerdict.INCORRECT]
    checked = sum(j.verdict != StepVerdict.UNCHECKED for j in judgments)
    whole_bad = [f for f in whole if f.verdict == StepVerdict.INCORRECT]
    whole_ok = [f for f in whole if f.verdict == StepVerdict.CORRECT]
    if flagged:
        first = flagged[0]
        verdict, confidence = Verdict.INCORRECT, 0.95
        explanation = f"Step {first + 1} is wrong: {judgments[first].explanation}"
        if whole_bad:
            explanation += " Also: " + "; ".join(f.message for f in whole_bad)
    elif whole_bad:
        first, verdict, confidence = None, Verdict.INCORRECT, 0.9
        explanation = "No step was flagged, but " + "; ".join(f.message for f in whole_bad) + "."
    else:
        first, verdict = None, Verdict.CORRECT
        confidence = 0.9 if whole_ok else round(0.2 + 0.5 * (checked / len(steps) if steps else 0.0), 3)
        what = f"{checked} of {len(steps)} step(s) had computations that were checked"
        explanation = "No error found. " + what + (
            "; " + "; ".join(f.message for f in whole_ok) if whole_ok else
            ". The remaining reasoning was not verified.")
    return Critique(
        item_id=item.id, critic=critic, verdict=verdict, first_error_step=first, steps=judgments,
        explanation=explanation, confidence=confidence,
        metadata={"checked_steps": checked, "n_steps": len(steps), "findings": [_plain(f) for f in found]},
    )


def _plain(f: Finding) -> dict[str, Any]:
    d = asdict(f)
    d["verdict"] = f.verdict.value
    return d
