"""One judging job per tool, run by ``benchmarks/peers/run.py`` with the tool's own interpreter (its virtualenv).

The job: grade N (question, response, reference answer) items as correct or not, at most C requests in flight,
against the stub server at URL (an OpenAI-compatible ``/v1``). Each tool is configured as its documentation shows;
what it cannot do is said in ``NOTES`` and printed in the table rather than worked around.

    python clients.py TOOL URL C N OUT.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

NOTES = {
    "critica": "`direct` critic, run_critic, concurrency C (JSON schema)",
    "inspect-ai": "model_graded_qa scorer on a solver that supplies the response; max_connections = max_samples = C",
    "prometheus-eval": "AsyncLiteLLM, batch_size C, requests_per_minute raised from its default 100 (a rate limiter)",
    "judges": "no async API: one judge.judge() per thread, C threads (serial as shipped)",
}


def items(n: int) -> list[dict]:
    return [{"id": f"q{i}", "question": f"Tom has {i + 3} apples and buys {i % 7 + 2} more. How many apples now?",
             "response": f"Tom starts with {i + 3} apples.\nHe buys {i % 7 + 2} more.\n"
                         f"So he has {i + 3} + {i % 7 + 2} = {2 * i + 5 - i} apples.",
             "reference_answer": str(i + 3 + i % 7 + 2)} for i in range(n)]


def run_critica(url: str, c: int, data: list[dict]) -> int:

    from critica.backends.call import Caller, CallPolicy
    from critica.backends.openai_compat import OpenAICompatBackend
    from critica.critics.registry import build_critic
    from critica.run.runner import run_critic
    from critica.types import Item

    class Sink:
        ok = 0

        def write(self, critique) -> None:
            self.ok += critique.verdict is not None

        def error(self, error) -> None:
            pass

    async def main() -> int:
        caller = Caller(OpenAICompatBackend("critica-stub", base_url=url, schema_mode="json_schema"),
                        CallPolicy(concurrency=c))
        sink = Sink()
        await run_critic(build_critic("direct", caller), (Item(**it) for it in data), sink, concurrency=c)
        await caller.aclose()
        return sink.ok

    # as the CLI runs it: critica.run.interrupt gives a run its event loop (uvloop where installed) and GC settings
    from critica.run.interrupt import run_interruptible

    return run_interruptible(main())


def run_judges(url: str, c: int, data: list[dict]) -> int:
    import os
    from concurrent.futures import ThreadPoolExecutor

    os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = url, "x"
    from judges.classifiers.correctness import PollMultihopCorrectness

    judge = PollMultihopCorrectness(model="openai/judges-stub")

    def one(it: dict) -> bool:
        j = judge.judge(input=it["question"], output=it["response"], expected=it["reference_answer"])
        return j.score is not None

    with ThreadPoolExecutor(max_workers=c) as pool:
        return sum(pool.map(one, data))


def run_prometheus(url: str, c: int, data: list[dict]) -> int:
    import os

    os.environ["OPENAI_API_KEY"] = "x"
    from prometheus_eval import PrometheusEval
    from prometheus_eval.litellm import AsyncLiteLLM
    from prometheus_eval.prompts import ABSOLUTE_PROMPT, SCORE_RUBRIC_TEMPLATE

    model = AsyncLiteLLM("openai/prometheus-stub", batch_size=c, requests_per_minute=10**9, api_base=url)
    judge = PrometheusEval(model=model, absolute_grade_template=ABSOLUTE_PROMPT)
    rubric = SCORE_RUBRIC_TEMPLATE.format(
        criteria="Is the answer correct?", score1_description="wrong", score2_description="mostly wrong",
        score3_description="partly right", score4_description="mostly right", score5_description="right")
    _, scores = judge.absolute_grade(instructions=[it["question"] for it in data],
                                     responses=[it["response"] for it in data], rubric=rubric,
                                     reference_answers=[it["reference_answer"] for it in data])
    return sum(s is not None for s in scores)


def run_inspect(url: str, c: int, data: list[dict]) -> int:
    import os
    import tempfile

    # the documented route to an OpenAI-compatible server ("openai/..." speaks the Responses API)
    os.environ["STUB_BASE_URL"], os.environ["STUB_API_KEY"] = url, "x"
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput
    from inspect_ai.scorer import model_graded_qa
    from inspect_ai.solver import solver

    responses = {it["id"]: it["response"] for it in data}

    @solver
    def given_response():
        async def solve(state, generate):  # the response is given: only the grading calls the model
            state.output = ModelOutput.from_content("openai-api/stub/inspect-stub", responses[str(state.sample_id)])
            return state

        return solve

    task = Task(dataset=[Sample(id=it["id"], input=it["question"], target=it["reference_answer"]) for it in data],
                solver=given_response(), scorer=model_graded_qa(model="openai-api/stub/inspect-stub"))
    with tempfile.TemporaryDirectory() as logs:
        log = eval(task, model="openai-api/stub/inspect-stub", max_connections=c, max_samples=c, log_dir=logs,
                   display="none", score_display=False)[0]
        if log.status != "success":
            raise RuntimeError(f"inspect eval {log.status}: {log.error and log.error.message}")
        return sum(1 for s in (log.samples or []) if s.scores)


RUN = {"critica": run_critica, "judges": run_judges, "prometheus-eval": run_prometheus, "inspect-ai": run_inspect}

if __name__ == "__main__":
    tool, url, c, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
    data = items(n)
    start = time.perf_counter()
    ok = RUN[tool](url, c, data)
    out.write_text(json.dumps({"wall_s": time.perf_counter() - start, "scored": ok}))
