"""RealCritic closed-loop benchmark (Tang et al., 2025, "RealCritic: Towards Effectiveness-Driven Evaluation of
Language Model Critiques", arXiv:2501.14492).

A critique is judged by what it achieves: the critic critiques a solution, the solution is corrected with that
critique, and the corrected final answer is graded against the reference. The suite reports accuracy before and
after, and the four transition counts (correct→correct, correct→incorrect, incorrect→correct,
incorrect→incorrect), per task and overall.

Modes (``BenchContext.options["mode"]``):

* ``cross`` (default) — the given solution, written by another model (the data's ``model`` field), is critiqued
  by the critic and revised by the generator; one round.
* ``self`` — the generator first writes its own solution; the critic (by default the same model) critiques it and
  the generator revises it; one round.
* ``iterative`` — as ``cross``, for ``rounds`` rounds (default 3): each round critiques the previous correction.

Other options: ``rounds`` (int), ``critic_model`` (model spec of a different critic, cross-critique with two
models), ``critic_base_url`` (the critic model's server, when it is not ``--base-url``), ``generator_model`` (model
spec of the reviser; default: the critic's model), ``generator_max_tokens``
(completion limit of corrections, default 1024), ``tasks`` (alias of ``--split``), ``transitions_plot`` (PNG path:
accuracy before/after and the transition shares per task). Pass them as ``critica bench realcritic --option
mode=iterative --option rounds=2``. Rows are keyed ``split`` (the task) with ``n`` items.

Every model the suite builds (``critic_model``, ``generator_model``, the reviser on ``--model``) connects with the
run's settings — ``--base-url`` / ``CRITICA_BASE_URL``, the API key, timeout and retries — and a ``critic_model``
critic gets the critic options of the run (temperature, max tokens, seed, ``--text``). A run in which the critic
gave no usable verdict on any item (all unscored, e.g. an unreachable critic server) raises an error instead of
printing accuracies that only restate the solutions' own.

Grading (shared with ``rescore realcritic`` through :func:`grade_answer`): the final answer is the content of the
last ``\\boxed{}`` (:func:`critica.critics.parse.last_boxed`); math tasks compare it with the reference by
``math-verify`` symbolic equivalence; multiple-choice tasks (``arc-challenge``, ``mmlu_stem``) compare the option
letter. A revision with no boxed answer does not replace the solution (the loop's guard), so a solution is never
graded on a missing answer it did not have before. The given solution's answer is the data's ``pred`` field (what
the RealCritic authors extracted), so "before" equals the published ``previous_score`` whenever the grader agrees
with the authors' — the agreement is printed as a note.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from critica.bench.base import BenchContext, BenchResult, register_suite
from critica.budget import ItemBudget
from critica.critics.parse import last_boxed
from critica.errors import BackendError, UserError
from critica.run.interrupt import run_interruptible

__all__ = ["TASKS", "MULTIPLE_CHOICE", "RealCriticItem", "load_realcritic", "grade_answer", "extract_choice",
           "math_equivalent", "transition_counts", "run_realcritic"]

TASKS = ("arc-challenge", "college_math", "gsm8k", "math", "minerva_math", "mmlu_stem", "olympiadbench")
"""Task directories of the RealCritic copy (gpqa is not distributed; see the data's SOURCE.md)."""
MULTIPLE_CHOICE = frozenset({"arc-challenge", "mmlu_stem"})
"""Tasks graded by option letter."""
_MAX_ANSWER_CHARS = 2000
"""Longer "final answers" are not answers; capping also bounds sympy's work on hostile text."""
_LETTER = re.compile(r"^\(?([A-J])\)?(?:[.:)]|\s|$)")


@dataclass(frozen=True)
class RealCriticItem:
    """One RealCritic problem with the solution to critique."""

    task: str
    idx: int
    question: str
    solution: str
    """The model-written solution (the data's ``reasoning``)."""
    pred: str
    """Its final answer as the RealCritic authors extracted it."""
    gold: str
    """Reference final answer (an option letter for multiple-choice tasks)."""
    previous_correct: bool
    """The authors' label: is ``pred`` correct."""
    author_model: str = ""

    @property
    def id(self) -> str:
        """Stable identifier ``task/idx``."""
        return f"{self.task}/{self.idx}"

    @property
    def multiple_choice(self) -> bool:
        """True when graded by option letter."""
        return self.task in MULTIPLE_CHOICE


def load_realcritic(data_dir: Path, tasks: list[str] | None = None, limit: int | None = None) -> Iterator[RealCriticItem | UserError]:
    """Read ``data_dir/realcritic/<task>/test.jsonl``; a bad line yields an error naming file, line and field.

    Args:
        data_dir: Root of the public benchmark data.
        tasks: Only these tasks (default: every task of :data:`TASKS` present under ``data_dir``).
        limit: At most this many items per task.
    """
    root = Path(data_dir) / "realcritic"
    if not root.is_dir():
        raise UserError(f"RealCritic data not found at {root}; pass --data-dir or set CRITICA_DATA")
    # Without a task list, the tasks present are read (a partial copy of the data still runs).
    wanted = list(tasks) if tasks else [t for t in TASKS if (root / t / "test.jsonl").is_file()]
    for task in wanted:
        if task not in TASKS:
            raise UserError(f"unknown RealCritic task {task!r}; tasks: {', '.join(TASKS)}")
        path = root / task / "test.jsonl"
        if not path.is_file():
            raise UserError(f"RealCritic task file {path} does not exist")
        n = 0
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if limit is not None and n >= limit:
                    break
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    flags = row["previous_score"]
                    if not isinstance(flags, list) or not flags:
                        raise ValueError("field 'previous_score' must be a non-empty list")
                    item = RealCriticItem(
                        task=task, idx=int(row["idx"]), question=str(row["question"]), solution=str(row["reasoning"]),
                        pred=str(row["pred"]), gold=str(row["gt"]), previous_correct=bool(flags[0]),
                        author_model=str(row.get("model", "")),
                    )
                except (KeyError, TypeError, ValueError) as e:
                    what = f"field '{e.args[0]}' missing" if isinstance(e, KeyError) else str(e)
                    yield UserError(f"{path}:{lineno}: {what}")
                    continue
                n += 1
                yield item


def extract_choice(answer: str | None) -> str | None:
    """The option letter of a multiple-choice answer: ``C``, ``(C)``, ``C. guanine``, ``\\text{C}``; else None."""
    if answer is None:
        return None
    t = answer.strip().strip("$").strip()
    t = re.sub(r"^\\(?:text|mathrm|textbf)\{(.*)\}$", r"\1", t).strip()
    m = _LETTER.match(t)
    return m.group(1) if m else None


def math_equivalent(answer: str, gold: str) -> bool:
    """Whether two final answers are mathematically equal: identical text, or equivalent under ``math-verify``.

    The symbolic check is :func:`critica.rescore.realcritic.answers_equivalent`, so the closed-loop benchmark and
    ``critica rescore realcritic`` grade with one rule.
    """
    from critica.rescore.realcritic import answers_equivalent

    if not answer.strip() or len(answer) > _MAX_ANSWER_CHARS:
        return False
    if re.sub(r"\s+", "", answer) == re.sub(r"\s+", "", gold):
        return True
    return answers_equivalent(answer, gold)


def grade_answer(answer: str | None, gold: str, *, multiple_choice: bool) -> bool:
    """RealCritic's grading rule for one extracted final answer (None: no answer, graded wrong).

    Args:
        answer: The final answer (e.g. ``last_boxed(solution)``), or None when there is none.
        gold: The reference answer (an option letter for multiple-choice tasks).
        multiple_choice: Compare option letters instead of mathematical values.
    """
    if answer is None:
        return False
    if multiple_choice:
        letter = extract_choice(answer)
        return letter is not None and letter == (extract_choice(gold) or gold.strip().upper())
    return math_equivalent(answer, gold)


def transition_counts(pairs: list[tuple[bool, bool]]) -> dict[str, int]:
    """Counts of (before, after) correctness: ``c->c``, ``c->i``, ``i->c``, ``i->i``."""
    out = {"c->c": 0, "c->i": 0, "i->c": 0, "i->i": 0}
    for before, after in pairs:
        out[f"{'c' if before else 'i'}->{'c' if after else 'i'}"] += 1
    return out


_MODES = ("cross", "self", "iterative")


@dataclass
class _Setup:
    mode: str
    rounds: int
    critic: Any
    generator: Any
    closers: list[Any]
    budget: ItemBudget


def _setup(ctx: BenchContext) -> _Setup:
    from pydantic import ValidationError

    from critica.backends.registry import create_caller
    from critica.config import Settings, from_env
    from critica.critics.registry import build_critic
    from critica.loops.generate import Generator

    opts = dict(ctx.options)
    mode = str(opts.pop("mode", "cross"))
    if mode not in _MODES:
        raise UserError(f"realcritic: unknown mode {mode!r}; use one of: {', '.join(_MODES)}")
    try:
        rounds = int(opts.pop("rounds", 3 if mode == "iterative" else 1))
        max_tokens = int(opts.pop("generator_max_tokens", 1024))
    except (TypeError, ValueError) as e:
        raise UserError(f"realcritic: options 'rounds' and 'generator_max_tokens' must be integers ({e})") from None
    if rounds < 1:
        raise UserError("realcritic: 'rounds' must be at least 1")
    closers: list[Any] = []
    critic_model, generator_model = opts.pop("critic_model", None), opts.pop("generator_model", None)
    critic_base_url = opts.pop("critic_base_url", None)
    # One connection setup for every model built here: the run's (environment < flags), as the critic under test got.
    settings = ctx.settings or from_env()
    workers = max(1, ctx.concurrency)
    if critic_base_url and not critic_model:
        raise UserError("realcritic: critic_base_url is the server of critic_model; give critic_model too")
    if critic_model:
        critic_settings = settings
        if critic_base_url:
            try:
                critic_settings = settings.merge(Settings(base_url=str(critic_base_url)))
            except ValidationError as e:
                raise UserError(f"realcritic: option critic_base_url: {e.errors()[0]['msg']}") from None
        critic_caller = create_caller(str(critic_model), critic_settings, concurrency=workers)
        closers.append(critic_caller)
        critic = build_critic(ctx.critic_name, critic_caller, **ctx.critic_options)
    else:
        critic = ctx.make_critic()
    if generator_model:
        gen_caller = create_caller(str(generator_model), settings, concurrency=workers)
        closers.append(gen_caller)
    elif getattr(critic, "caller", None) is not None and not critic_model:
        gen_caller = critic.caller  # self: the critic's own model revises
    elif ctx.model:
        gen_caller = create_caller(ctx.model, settings, concurrency=workers)
        closers.append(gen_caller)
    else:
        raise UserError("realcritic needs a model to write corrections: pass --model (or the option generator_model)")
    return _Setup(mode, rounds, critic, Generator(gen_caller, max_tokens=max_tokens, seed=ctx.seed), closers,
                  ctx.budget)


async def _one(rc: RealCriticItem, s: _Setup) -> dict[str, Any]:
    from critica.loops.revise import refine
    from critica.types import Item

    item = Item(id=rc.id, question=rc.question, response=rc.solution, metadata={"task": rc.task})
    t = await refine(item, s.critic, s.generator, max_rounds=s.rounds, draft=s.mode == "self", check_final=False,
                     extract=last_boxed, budget=s.budget)
    mc = rc.multiple_choice
    before_answer = last_boxed(t.initial_answer) if s.mode == "self" else rc.pred
    before = grade_answer(before_answer, rc.gold, multiple_choice=mc)
    after_answer = last_boxed(t.final_answer) if t.changed else before_answer
    after = before if not t.changed else grade_answer(after_answer, rc.gold, multiple_choice=mc)
    first = t.rounds[0] if t.rounds else None
    judged = first.critique if first is not None else None
    return {
        "id": rc.id, "task": rc.task, "split": rc.task, "gold": rc.gold, "answer_before": before_answer, "answer_after": after_answer,
        "correct_before": before, "correct_after": after, "previous_score": rc.previous_correct,
        "first_verdict": first.verdict.value if first and first.verdict else None, "stop_reason": t.stop_reason.value,
        "revisions": t.revisions, "changed": t.changed, "failed": t.error is not None, "error": t.error,
        "critic_error": (judged.error or judged.parse_error) if judged is not None else None,
        "critic_call_failed": bool(judged is not None and judged.usage.failed_calls),
        "tokens": t.usage.total_tokens, "tokens_replayed": t.usage.replayed_tokens, "trajectory": t.model_dump(mode="json"),
    }


def _row(name: str, recs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in recs if not r["failed"]]
    n = len(ok)
    trans = transition_counts([(r["correct_before"], r["correct_after"]) for r in ok])
    before = sum(r["correct_before"] for r in ok) / n if n else 0.0
    after = sum(r["correct_after"] for r in ok) / n if n else 0.0
    return {
        "split": name, "n": n, "acc_before": round(before, 4), "acc_after": round(after, 4),
        "delta": round(after - before, 4), **trans,
        "accepted": sum(r["first_verdict"] == "correct" for r in ok),
        "revised": sum(r["revisions"] > 0 for r in ok),
        "rejected_revisions": sum(r["stop_reason"] in ("unusable_revision", "generator_failed") for r in ok),
        "unscored": sum(r["stop_reason"] == "unscored" for r in ok),
        "failed": len(recs) - n,
    }


def _plot(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    from critica.report.plots import pyplot, save_figure

    plt = pyplot()

    names = [r["split"] for r in rows]
    x = range(len(rows))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    ax1.bar([i - 0.2 for i in x], [r["acc_before"] for r in rows], 0.4, label="before")
    ax1.bar([i + 0.2 for i in x], [r["acc_after"] for r in rows], 0.4, label="after")
    ax1.set_xticks(list(x), names, rotation=30, ha="right")
    ax1.set_ylabel("accuracy")
    ax1.set_ylim(0, 1)
    ax1.legend()
    ax1.set_title("accuracy before / after correction")
    bottom = [0.0] * len(rows)
    for key, colour in (("c->c", "#4c9f70"), ("c->i", "#d1495b"), ("i->c", "#66a3d2"), ("i->i", "#999999")):
        vals = [r[key] / r["n"] if r["n"] else 0.0 for r in rows]
        ax2.bar(list(x), vals, 0.6, bottom=bottom, label=key, color=colour)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax2.set_xticks(list(x), names, rotation=30, ha="right")
    ax2.set_ylabel("share of items")
    ax2.legend(fontsize=8)
    ax2.set_title("transitions")
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


@register_suite("realcritic", "RealCritic closed loop: critique + correct the given solution; accuracy before/after "
                "and c->c/c->i/i->c/i->i transitions (options: mode=cross|self|iterative, rounds, critic_model)")
def run_realcritic(ctx: BenchContext) -> BenchResult:
    """Run the closed-loop benchmark; see the module docstring for modes and options."""
    start = time.perf_counter()
    tasks = ctx.splits or ctx.options.get("tasks")
    if isinstance(tasks, str):
        tasks = [t.strip() for t in tasks.split(",") if t.strip()]
    loaded = list(load_realcritic(ctx.data_dir, tasks, ctx.limit))
    items = [r for r in loaded if isinstance(r, RealCriticItem)]
    bad = [str(r) for r in loaded if isinstance(r, UserError)]
    plot_path = ctx.options.get("transitions_plot")
    setup = _setup(ctx)
    records = run_interruptible(_run_all(items, setup, ctx))
    _refuse_unjudged(records)
    by_task: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        by_task.setdefault(rec["task"], []).append(rec)
    rows = [_row(t, by_task[t]) for t in (tasks or list(TASKS)) if t in by_task]
    rows.append(_row("overall", records))
    given = [r for r in records if not r["failed"]]
    notes = [
        f"mode={setup.mode}, rounds={setup.rounds}, critic={getattr(setup.critic, 'name', '?')}, "
        f"generator={setup.generator.name}; closed loop after RealCritic (arXiv:2501.14492).",
        "Grading: last \\boxed{} answer vs reference by math-verify; arc-challenge and mmlu_stem by option letter.",
        "accepted: the critic's first verdict was 'correct' (the answer is kept). unscored: the critic gave no usable "
        "verdict and the answer was kept. rejected_revisions: the correction failed or had no boxed answer, so the "
        "solution was kept. failed: the item could not be run (excluded from accuracy).",
        "A correction without a boxed final answer does not replace the solution (regression guard).",
    ]
    if setup.mode != "self" and given:
        agree = sum(r["correct_before"] == r["previous_score"] for r in given)
        notes.append(f"Grader agrees with the authors' previous_score on {agree}/{len(given)} given solutions.")
    notes.extend(f"input error: {b}" for b in bad)
    extra: dict[str, Any] = {"tokens": sum(r["tokens"] for r in records),
                             "tokens_replayed": sum(r["tokens_replayed"] for r in records), "input_errors": len(bad)}
    if plot_path:
        _plot(rows, Path(str(plot_path)), f"RealCritic closed loop — {setup.mode}, {ctx.model or setup.generator.name}")
        extra["plots"] = [str(plot_path)]
    return BenchResult(suite="realcritic", critic=getattr(setup.critic, "name", ctx.critic_name), model=ctx.model,
                       rows=rows, items=records, notes=notes, wall_s=time.perf_counter() - start, extra=extra)


def _refuse_unjudged(records: list[dict[str, Any]]) -> None:
    """Raise when the critic judged nothing: every item failed or got no usable verdict. Accuracy after would then
    equal accuracy before by construction — a figure about the solutions, not the critic."""
    if not records or any(not r["failed"] and r["stop_reason"] != "unscored" for r in records):
        return
    reasons = [r["error"] or r["critic_error"] for r in records if r["error"] or r["critic_error"]]
    why = f" (first: {' '.join(str(reasons[0]).split())[:300]})" if reasons else ""
    what = f"realcritic: the critic gave no usable verdict on any of the {len(records)} item(s){why}; no figures"
    if any(r["error"] or r["critic_call_failed"] for r in records):
        raise BackendError(what)
    raise UserError(what)


async def _run_all(items: list[RealCriticItem], setup: _Setup, ctx: BenchContext) -> list[dict[str, Any]]:
    sem = asyncio.Semaphore(max(1, ctx.concurrency))
    done = 0

    async def guarded(rc: RealCriticItem) -> dict[str, Any]:
        nonlocal done
        async with sem:
            rec = await _one(rc, setup)
        done += 1
        if ctx.progress is not None:
            ctx.progress(done, len(items))
        return rec

    try:
        return list(await asyncio.gather(*(guarded(rc) for rc in items)))
    finally:
        for caller in setup.closers:
            await caller.aclose()
        critic_caller = getattr(setup.critic, "caller", None)
        if critic_caller is not None and critic_caller not in setup.closers:
            await critic_caller.aclose()
