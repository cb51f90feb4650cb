"""A small store for the results-explorer tests: ProcessBench-style items with gold labels, critiqued by three runs.

Items (gold ``label``: 0-based first wrong step, -1 = correct): q0 → 1, q1 → -1, q2 → 0.

* ``pb-a`` (processbench, source ``data/pb.json``): q0 incorrect@1 (right), q1 correct (right), q2 incorrect@1
  (wrong) — F1 against gold: acc_erroneous 1/2, acc_correct 1/1, F1 2/3. q0 keeps a transcript. One input error.
* ``vf-a`` (verifier, same source: a peer of pb-a): q0 incorrect, no step, bound "at or before step 1"; q1
  incorrect@0; q2 incorrect@0.
* ``vf-b``: vf-a's critiques read from ``./pb.json`` (another path, same content): compare matches it with pb-a.
* ``pb-changed`` (source ``other.json``): q0 with another response (same id, other content), q1 unchanged.
* a run with a generated name, a long model spec and a long source path, holding q1.
"""

from __future__ import annotations

from pathlib import Path

from critica.errors import InputError
from critica.store import Store
from critica.types import Critique, Item, StepJudgment, StepVerdict, Verdict

ITEMS = [
    Item(id="q0", question="Tom has 3 apples and buys 4 more. How many apples?",
         steps=["Tom starts with 3 apples.", "3 + 4 = 8", "So Tom has 8 apples."], metadata={"label": 1}),
    Item(id="q1", question="What is 10 / 2?", steps=["10 / 2 = 5", "The answer is 5."], metadata={"label": -1}),
    Item(id="q2", question="What is 6 * 7?", steps=["6 * 7 = 48", "The answer is 48."], metadata={"label": 0}),
]
TRANSCRIPT = [{"messages": [{"role": "system", "content": "You are a careful grader of math solutions."},
                            {"role": "user", "content": "Problem: Tom has 3 apples… Find the earliest wrong step."}],
               "outputs": ["Step 2 says 3 + 4 = 8, which is wrong. \\boxed{1}"], "sampling": {"temperature": 0.0},
               "sample": 0, "model": "local:smollm2", "structured": False}]


def _verifier(item_id: str) -> Critique:
    if item_id == "q0":
        return Critique(item_id="q0", critic="verifier", verdict=Verdict.INCORRECT,
                        steps=[StepJudgment(index=1, verdict=StepVerdict.INCORRECT, explanation="3 + 4 = 7")],
                        metadata={"error_at_or_before": 1, "findings": [
                            {"kind": "arithmetic", "verdict": "incorrect", "message": "3 + 4 = 7, not 8", "step": 1}]})
    return Critique(item_id=item_id, critic="verifier", verdict=Verdict.INCORRECT, first_error_step=0,
                    metadata={"error_at_or_before": 0})


def seed(db: Path) -> None:
    store = Store.open(db)
    store.create_run("pb-a", model="local:smollm2", protocol="processbench", source="data/pb.json")
    store.create_run("vf-a", protocol="verifier", source="data/pb.json")
    store.create_run("vf-b", protocol="verifier", source="./pb.json")
    store.create_run("pb-changed", model="local:smollm2", protocol="processbench", source="other.json")
    own = {"q0": (Verdict.INCORRECT, 1), "q1": (Verdict.CORRECT, None), "q2": (Verdict.INCORRECT, 1)}
    for item in ITEMS:
        verdict, step = own[item.id]
        store.add_critique("pb-a", Critique(
            item_id=item.id, critic="processbench", verdict=verdict, first_error_step=step, model="local:smollm2",
            explanation=f"critique of {item.id}", raw_outputs=[f"\\boxed{{{-1 if step is None else step}}}"],
            latency_s=0.3 + 0.1 * int(item.id[1]),
            metadata={"transcript": TRANSCRIPT} if item.id == "q0" else {}), item)
        store.add_critique("vf-a", _verifier(item.id), item)
        store.add_critique("vf-b", _verifier(item.id), item)
    changed = ITEMS[0].model_copy(update={"steps": ["Tom starts with 3 apples.", "3 + 4 = 7", "So Tom has 7 apples."]})
    store.add_critique("pb-changed", Critique(item_id="q0", critic="processbench", verdict=Verdict.CORRECT), changed)
    store.add_critique("pb-changed", Critique(item_id="q1", critic="processbench", verdict=Verdict.CORRECT), ITEMS[1])
    # what real runs are called: a generated name, a long model spec and an absolute source path (the runs list must
    # still fit a 1280 px screen)
    long = "critique-20261207T021500Z-3f9c2a7be1d04c55"
    store.create_run(long, model="openai:Qwen/Qwen2.5-Math-7B-Instruct@http://gpu-node-17.cluster.internal:8000/v1",
                     protocol="processbench", source="/work/shared/data/processbench/olympiadbench_with_long_name.json")
    store.add_critique(long, Critique(item_id="q1", critic="processbench", verdict=Verdict.CORRECT), ITEMS[1])
    store.add_input_error("pb-a", InputError("data/pb.json", "index 3", "label", "must be an integer in [-1, 2], got 'x'"))
    for run in ("pb-a", "vf-a", "vf-b", "pb-changed", long):
        store.finish_run(run, {"items": 3})
    store.close()
