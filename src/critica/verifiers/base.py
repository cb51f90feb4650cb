"""What tool-grounded verifiers report: findings about steps, which a verifier critic turns into a Critique.

A verifier never guesses: a step it cannot check gets a finding with verdict ``unchecked`` (or none at all), never
``correct`` by default. Findings can also be rendered as plain text, to be inserted as tool evidence into an LLM
critic's prompt (CRITIC-style tool-augmented critique).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from critica.types import Item, StepVerdict

__all__ = ["Finding", "Verifier", "render_findings", "step_finding"]


@dataclass
class Finding:
    """One verifiable fact about a response."""

    kind: str
    """Which check produced it: ``arithmetic``, ``final_answer``, ``evidence``, ``code`` …"""
    verdict: StepVerdict
    """``incorrect`` (checked and wrong), ``correct`` (checked and right) or ``unchecked``."""
    message: str
    """A sentence a person can follow, quoting the expression and the correct value when there is one."""
    step: int | None = None
    """0-based step index it concerns, or None when it concerns the whole response."""
    details: dict[str, Any] = field(default_factory=dict)
    """Machine-readable specifics (expression, claimed and correct value, cited passages, test name …)."""


def step_finding(kind: str, step: int, checked: int, what: str, passed: list[str],
                 wrong: tuple[str, dict[str, Any]] | None = None, passed_details: dict[str, Any] | None = None) -> Finding:
    """The one finding of a step whose ``checked`` claims were decided: ``incorrect`` with the first false claim's
    ``(message, details)`` when ``wrong`` is given, else ``correct`` quoting up to three of the ``passed`` claims as
    "N <what> check out: …". ``details["checked"]`` always says how many claims were decided."""
    if wrong is not None:
        message, details = wrong
        return Finding(kind, StepVerdict.INCORRECT, message, step, {**details, "checked": checked})
    return Finding(kind, StepVerdict.CORRECT, f"{checked} {what} check out: " + "; ".join(passed[:3]), step,
                   {**(passed_details or {}), "checked": checked})


class Verifier(Protocol):
    """A deterministic check of an item's steps."""

    name: str

    def check(self, item: Item, steps: list[str]) -> list[Finding]:
        """Findings for ``item`` whose response is split into ``steps``; must not raise on any text."""
        ...


def render_findings(findings: list[Finding], *, one_based: bool = True) -> str:
    """Findings as tool-evidence text for an LLM critic's prompt (steps numbered for people by default)."""
    if not findings:
        return "Tool checks: nothing could be verified automatically."
    lines = ["Tool checks (computed exactly, not by a language model):"]
    for f in findings:
        where = "whole response" if f.step is None else f"step {f.step + 1 if one_based else f.step}"
        lines.append(f"- [{f.kind}] {where}: {f.verdict.value} — {f.message}")
    wrong = [f.step for f in findings if f.step is not None and f.verdict == StepVerdict.INCORRECT]
    if wrong:
        # The tools check computations, not reasoning: a false step bounds the first error, it need not be it.
        k = min(wrong) + (1 if one_based else 0)
        lines.append(f"So the first error is at step {k} or earlier; the steps before it may hold a reasoning error "
                     "these tools cannot check.")
    return "\n".join(lines)
