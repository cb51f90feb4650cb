"""A model-free test critic for the Ray cluster tests, importable by path (``ray_support:make_node_critic``).

The batch test critic (``test_batch_support``: ProcessBench over a deterministic scripted backend), with each
critique stamped with where it was computed: the Ray node id, the worker's pid and the critica package the worker
imported. ``CRITICA_TEST_DELAY`` (seconds per call, from the node's environment) slows it down.
"""

from __future__ import annotations

import os

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
        try:
            import ray

            node = ray.get_runtime_context().get_node_id()
        except Exception:  # noqa: BLE001 - outside Ray (the local executor)
            node = None
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
