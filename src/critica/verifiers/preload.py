"""Imported once by the verifier pool's forkserver (:mod:`critica.verifiers.pool`), never by a worker itself.

Each worker forks from the server: it starts with the checks imported (sympy, pydantic, the verifiers: about
0.9 CPU-seconds per spawned worker) and what building the critic sets up at import, in memory it shares with the
server until written. The objects are frozen (``gc.freeze``) so that a worker's collections neither traverse them
nor, by touching their headers, copy the pages they live on.
"""

from __future__ import annotations

import gc

# What they allocate nearly all stays: collecting meanwhile would only traverse it (see pool._init_worker).
gc.disable()
try:
    import concurrent.futures.process  # noqa: F401 - the workers' main loop

    from critica.budget import Deadline, DeadlineExceeded, deadline_scope  # noqa: F401 - what a worker's task needs
    from critica.verifiers import pool  # noqa: F401 - the workers' initializer
    from critica.verifiers.critic import VerifierCritic

    VerifierCritic(workers=1)
except Exception:  # noqa: BLE001, S110 - a server that cannot preload still forks: each worker then imports (and
    pass  # reports) what it needs itself, as a spawned one would
finally:
    gc.collect()
    gc.freeze()
    gc.enable()
