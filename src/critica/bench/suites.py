"""Imports every module that registers a benchmark suite (one line per suite module)."""
from critica.bench import (
    bias,  # noqa: F401 - suite length-bias (pairwise and absolute protocols)
    ifbench,  # noqa: F401 - suite ifbench (verifiable instructions, official figures)
    metacritique,  # noqa: F401 - suite "metacritique" (MetaCritique Meta-P/R/F1)
    pairwise,  # noqa: F401 - suites judgebench, llmbar (pairwise protocol)
    process,  # noqa: F401 - suites processbench, mr_gsm8k, prmbench
    realcritic,  # noqa: E402,F401 - closed-loop RealCritic suite
    selfpref,  # noqa: F401 - suite self-preference (and correlation with human scores)
    wice,  # noqa: F401 - suite "wice"
)
