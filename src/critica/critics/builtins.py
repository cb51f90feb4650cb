"""Registration of the built-in critics (imported lazily by the registry)."""

from __future__ import annotations

from typing import Any

from critica.backends.call import Caller
from critica.critics.registry import register


@register("processbench", "ProcessBench earliest-error paragraph index (or -1), 0-based tagged steps")
def _processbench(caller: Caller, **options: Any):
    from critica.critics.processbench import ProcessBenchCritic

    return ProcessBenchCritic(caller, **options)


@register("verifier", "tool checks only, no model: arithmetic, final answer vs reference, evidence, code tests", needs_model=False)
def _verifier(caller: Caller | None = None, **options: Any):
    from critica.verifiers.critic import VerifierCritic

    # sampling options (temperature, max_tokens …) mean nothing to a verifier and are dropped
    keep = {k: v for k, v in options.items() if k in ("arithmetic", "final_answer", "evidence", "code")}
    return VerifierCritic(**keep)
