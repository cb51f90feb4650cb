"""``POST /v1/refine``: one critique → revise → re-critique loop (:func:`critica.loops.revise.refine`), each
critique within the server's item budget (an answer over it is not sent to the critic).

The trajectory is returned whole. With a store attached it is also kept as a run of one item whose critique is the
critique of the final answer, carrying the trajectory in ``metadata["trajectory"]`` (the UI shows it round by round).
"""

from __future__ import annotations

from typing import Any

from critica.loops.generate import Generator
from critica.loops.revise import refine
from critica.server.context import AppContext
from critica.server.errors import HTTPProblem
from critica.server.schemas import RefineRequest
from critica.server.service import Recorder, parse_items
from critica.types import Critique

__all__ = ["run_refine"]


async def run_refine(c: AppContext, body: RefineRequest) -> dict[str, Any]:
    """Run the loop for ``body`` and return ``{"run_id", "trajectory"}``."""
    items, problems = parse_items([body.item], {}, max_batch=1, limits=c.config.read_limits)
    if not items:
        raise HTTPProblem(422, problems[0].message, errors=problems)
    item = items[0]
    caller = c.engine.caller(body.model)
    if caller is None:
        raise HTTPProblem(400, "refinement needs a model to write revisions and this server serves none (start it with --model)")
    chosen = c.engine.choose(body.critic, body.model, body.options)
    trajectory = await refine(item, chosen.critic, Generator(caller), max_rounds=body.max_rounds,
                              budget=c.config.item_budget)
    critiques = [r.critique for r in trajectory.rounds if r.critique is not None]
    reason = c.engine.outage(chosen, critiques) if critiques else caller.health.down_reason
    if reason:
        raise HTTPProblem(503, f"model backend unavailable: {reason}", headers={"Retry-After": "5"})
    run_id = None
    # Revisions, critiques and errors of the loop, with the server's keys replaced wherever they appear.
    shown = c.engine.redactor.value(trajectory.model_dump(mode="json"))
    if body.store and c.store is not None and critiques:
        final = trajectory.rounds[trajectory.final_round].critique or critiques[-1]
        stored: Critique = c.engine.redactor.critique(final.model_copy(update={
            "item_id": item.id,
            "metadata": {**final.metadata, "trajectory": shown},
        }))
        recorder = Recorder(c.store, body.run_name, chosen, source=body.source, options=body.options, problems=[])
        recorder(item, stored)
        recorder.finish()
        run_id = recorder.name
    return {"run_id": run_id, "trajectory": shown}
