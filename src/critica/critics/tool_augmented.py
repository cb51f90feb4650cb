"""``tool-augmented``: any LLM protocol with verifier findings inserted as tool evidence (CRITIC-style).

Source: Gou et al., "CRITIC: Large Language Models Can Self-Correct with Tool-Interactive Critiquing"
(arXiv:2305.11738): a critique grounded in tool outputs (calculators, search, interpreters) instead of the model's
own belief.

Before the inner protocol's first call, the verifiers run on the item's steps (off the event loop; by default the
checks of :class:`~critica.verifiers.critic.VerifierCritic`: arithmetic, final answer against
``Item.reference_answer``, evidence grounding when passages are given). Their findings are rendered with
:func:`critica.verifiers.base.render_findings` (steps numbered from 1, as in the prompts) and appended to every user
message the inner protocol sends. The inner protocol's parse rules apply unchanged.

The critique is the inner protocol's, renamed ``tool-augmented:<inner>``, with ``metadata["tool_findings"]`` (each
finding: kind, verdict, 0-based step, message) and ``metadata["tool_findings_text"]`` (what the critic saw). A
verifier that raises adds an ``unchecked`` finding saying so; it never sinks the critique.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from critica.critics.base import LLMCritic
from critica.critics.markup import neutralise
from critica.inputs.steps import item_steps
from critica.types import Critique, Item, StepVerdict
from critica.verifiers.base import Finding, Verifier, render_findings

__all__ = ["ToolAugmentedCritic"]

_SUFFIX = ("The tool results above were computed exactly; use them as evidence in your judgement, and answer in the "
           "format asked for above.")


class ToolAugmentedCritic:
    """Wraps an :class:`LLMCritic` protocol; its prompts gain verifier findings as tool evidence.

    Args:
        inner: The protocol to augment (it is modified: its ``tool_context`` is set; do not share it).
        verifiers: The checks to run; default: those of :class:`~critica.verifiers.critic.VerifierCritic`.
    """

    def __init__(self, inner: LLMCritic, verifiers: Sequence[Verifier] | None = None) -> None:
        self.inner = inner
        self.name = f"tool-augmented:{inner.name}"
        self.caller = inner.caller
        self.sampling = inner.sampling
        self.verifiers = list(verifiers) if verifiers is not None else None
        self._context: dict[str, str] = {}
        self._default: object | None = None
        inner.tool_context = lambda item: self._context.get(item.id)

    def findings(self, item: Item) -> list[Finding]:
        """The verifiers' findings for ``item`` (synchronous; CPU-bound)."""
        steps = item_steps(item)
        if self.verifiers is None:
            from critica.verifiers.critic import VerifierCritic

            if self._default is None:
                self._default = VerifierCritic()  # built once: the evidence check loads an embedding model
            found, _skipped = self._default.findings(item, steps)  # type: ignore[attr-defined]
            return found
        found = []
        for v in self.verifiers:
            try:
                found.extend(v.check(item, steps))
            except Exception as e:  # noqa: BLE001 - a broken check must not sink the critique
                found.append(Finding(getattr(v, "name", "tool"), StepVerdict.UNCHECKED,
                                     f"check failed: {type(e).__name__}: {e}"))
        return found

    async def critique(self, item: Item) -> Critique:
        return (await self.sample(item, 1))[0]

    async def sample(self, item: Item, n: int = 1, seed: int | None = None) -> list[Critique]:
        """``n`` critiques of the inner protocol (its own sampling and seeds), all seeing the same tool evidence."""
        found = await asyncio.to_thread(self.findings, item)
        # findings quote the item's steps: their markup is neutralised like the item's own
        text = f"[Tool evidence]\n{neutralise(render_findings(found), strict=True)}\n{_SUFFIX}"
        self._context[item.id] = text
        try:
            crits = await self.inner.sample(item, n, seed)
        finally:
            self._context.pop(item.id, None)
        listed = [{"kind": f.kind, "verdict": f.verdict.value, "step": f.step, "message": f.message} for f in found]
        for crit in crits:
            crit.critic = self.name
            crit.metadata["tool_findings"] = listed
            crit.metadata["tool_findings_text"] = text
        return crits
