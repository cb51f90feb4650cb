"""A model-free test critic for the Ray cluster tests, importable by path (``ray_support:make_node_critic``).

The batch test critic (``test_batch_support``: ProcessBench over a deterministic scripted backend), with each
critique stamped with where it was computed: the Ray node id, the worker's pid and the critica package the worker
imported. ``CRITICA_TEST_DELAY`` (seconds per call, from the node's environment) slows it down.
"""

from __future__ import annotations

import os
import sys

from test_batch_support import make_critic

import critica
from critica.types import Critique, Item


class NodeStamped:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.caller = getattr(inner, "caller", None)

    async def critique(self, item: Item) -> Critique:
        c = await self.inner.critique(item)
        node = None
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():  # on a worker; asking outside one would start a Ray instance
            node = ray.get_runtime_context().get_node_id()
        return c.model_copy(update={"metadata": {**c.metadata, "node": node, "pid": os.getpid(),
                                                 "critica": critica.__file__}})


def make_node_critic(caller=None, **options):
    return NodeStamped(make_critic(caller, **options))


def make_slow_node_critic(caller=None, **options):
    """:func:`make_node_critic` at 0.4 s per call, whatever the node's environment: long enough to lose a node
    mid-run."""
    from test_batch_support import scripted_reply

    from critica.backends.call import Caller, CallPolicy
    from critica.backends.fake import ScriptedBackend
    from critica.critics.processbench import ProcessBenchCritic

    backend = ScriptedBackend(scripted_reply, name="scripted:test", delay_s=0.4)
    return NodeStamped(ProcessBenchCritic(caller or Caller(backend, CallPolicy(concurrency=8)), **options))


class _Crashing:
    """Kills its worker process (as a lost node would) on item ``crash_on``; with ``once`` (a file path), only the
    first time, so that Ray's retry of the chunk succeeds."""

    def __init__(self, inner, crash_on: str, once: str | None) -> None:
        self.inner, self.name, self.caller = inner, inner.name, getattr(inner, "caller", None)
        self.crash_on, self.once = crash_on, once

    async def critique(self, item: Item) -> Critique:
        if item.id == self.crash_on:
            if self.once is None:
                os._exit(1)
            try:
                fd = os.open(self.once, os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os._exit(1)
        return await self.inner.critique(item)


def make_crashing_critic(caller=None, crash_on: str = "", once: str | None = None, **options):
    return _Crashing(make_critic(caller, **options), crash_on, once)


def make_missing_dep_critic(caller=None, **options):
    """A critic whose dependency is not installed where it runs."""
    import critica_no_such_dependency  # noqa: F401

    return make_critic(caller, **options)


def make_node_verifier(caller=None, **options):
    """The verifier critic (tool checks, no model), stamped with where it ran (for benchmarks/ray_nodes.py)."""
    from critica.critics.registry import build_critic

    return NodeStamped(build_critic("verifier", caller, **options))
