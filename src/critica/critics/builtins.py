"""Registration of the built-in critics (imported lazily by the registry)."""

from __future__ import annotations

from typing import Any

from critica.backends.call import Caller
from critica.critics.registry import register


@register("processbench", "ProcessBench earliest-error paragraph index (or -1), 0-based tagged steps")
def _processbench(caller: Caller, **options: Any):
    from critica.critics.processbench import ProcessBenchCritic

    return ProcessBenchCritic(caller, **options)
