"""A model-free test critic for batch, resume and Ray tests and the hostile durability probes, importable by path
(``test_batch_support:make_critic``).

It is the real ProcessBench critic over a ScriptedBackend whose reply is a deterministic function of the prompt, so
every executor and every resumed run must produce exactly the same critiques. ``CRITICA_TEST_DELAY`` (seconds per
call) slows it down so a test can kill a job mid-run.
"""

from __future__ import annotations

import hashlib
import json
import os

from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend
from critica.critics.processbench import ProcessBenchCritic


def scripted_reply(request, _index: int) -> str:
    prompt = request.messages[-1]["content"]
    index = int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 3 - 1  # -1, 0 or 1
    return json.dumps({"critique": f"checked {len(prompt)} chars", "earliest_error_index": index})


def make_critic(caller=None, **options):
    delay = float(os.environ.get("CRITICA_TEST_DELAY", "0"))
    backend = ScriptedBackend(scripted_reply, name="scripted:test", delay_s=delay)
    return ProcessBenchCritic(caller or Caller(backend, CallPolicy(concurrency=8)), **options)


def write_items(path, n: int, *, bad_lines: tuple[int, ...] = ()) -> set[str]:
    """Write ``n`` JSONL items (3 steps each) to ``path``, corrupting the given 0-based lines; returns valid ids."""
    ids = set()
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            if i in bad_lines:
                f.write('{"id": "broken", "question": "unterminated\n')
                continue
            f.write(json.dumps({"id": f"it{i}", "question": f"What is {i} + {i}?",
                                "steps": [f"{i} + {i}", f"= {2 * i}", f"answer {2 * i + i % 2}"]}) + "\n")
            ids.add(f"it{i}")
    return ids


def make_flaky_critic(caller=None, **options):
    """Like :func:`make_critic` (``CRITICA_TEST_DELAY`` included), but while ``CRITICA_TEST_DOWN=N`` is set the
    backend fails (HTTP 503, no retry) for every item whose number is a multiple of N: an outage that a resumed run
    must recover from."""
    import re

    from critica.backends.fake import ScriptedError

    down = int(os.environ.get("CRITICA_TEST_DOWN", "0") or 0)

    def reply(request, index: int) -> str:
        number = re.search(r"What is (\d+) \+", request.messages[-1]["content"])
        if down and number and int(number.group(1)) % down == 0:
            raise ScriptedError("503 service unavailable", retryable=False, status=503)
        return scripted_reply(request, index)

    backend = ScriptedBackend(reply, name="scripted:flaky", delay_s=float(os.environ.get("CRITICA_TEST_DELAY", "0")))
    return ProcessBenchCritic(caller or Caller(backend, CallPolicy(concurrency=8, retries=0)), **options)
