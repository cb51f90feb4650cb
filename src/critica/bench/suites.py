"""Imports every module that registers a benchmark suite (one line per suite module)."""
from critica.bench import (
    metacritique,  # noqa: F401 - suite "metacritique" (MetaCritique Meta-P/R/F1)
    pairwise,  # noqa: F401 - suites judgebench, llmbar (pairwise protocol)
    process,  # noqa: F401 - suites processbench, mr_gsm8k, prmbench
    realcritic,  # noqa: E402,F401 - closed-loop RealCritic suite
    wice,  # noqa: F401 - suite "wice"
)
