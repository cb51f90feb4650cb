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
models), ``generator_model`` (model spec of the reviser; default: the critic's model), ``max_tokens`` (generator
completion limit, default 1024), ``tasks`` (alias of ``--split``), ``plot`` (PNG path for the transitions plot).

Grading (shared with ``rescore realcritic`` through :func:`grade_answer`): the final answer is the content of the
last ``\\boxed{}`` (:func:`critica.critics.parse.last_boxed`); math tasks compare it with the reference by
``math-verify`` symbolic equivalence; multiple-choice tasks (``arc-challenge``, ``mmlu_stem``) compare the option
letter. A revision with no boxed answer does not replace the solution (the loop's guard), so a solution is never
graded on a missing answer it did not have before. The given solution's answer is the data's ``pred`` field (what
the RealCritic authors extracted), so "before" equals the published ``previous_score`` whenever the grader agrees
with the authors' — the agreement is printed as a note.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from critica.errors import UserError

__all__ = ["TASKS", "MULTIPLE_CHOICE", "RealCriticItem", "load_realcritic", "grade_answer", "extract_choice",
           "math_equivalent", "transition_counts"]

TASKS = ("arc-challenge", "college_math", "gsm8k", "math", "minerva_math", "mmlu_stem", "olympiadbench")
"""Task directories of the RealCritic copy (gpqa is not distributed; see the data's SOURCE.md)."""
MULTIPLE_CHOICE = frozenset({"arc-challenge", "mmlu_stem"})
"""Tasks graded by option letter."""
_MAX_ANSWER_CHARS = 1000
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
        tasks: Only these tasks (default: all of :data:`TASKS`).
        limit: At most this many items per task.
    """
    root = Path(data_dir) / "realcritic"
    if not root.is_dir():
        raise UserError(f"RealCritic data not found at {root}; pass --data-dir or set CRITICA_DATA")
    for task in tasks or list(TASKS):
        if task not in TASKS:
            raise UserError(f"unknown RealCritic task {task!r}; tasks: {', '.join(TASKS)}")
        path = root / task / "test.jsonl"
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


def _normalise(s: str) -> str:
    return re.sub(r"\s+", "", s).replace("\\!", "").replace("\\,", "").replace("dfrac", "frac").rstrip(".")


def math_equivalent(answer: str, gold: str) -> bool:
    """Whether two final answers are mathematically equal, by ``math-verify`` (sympy) after a string check.

    ``math-verify`` bounds its work with SIGALRM, which exists only on the main thread; elsewhere the answers'
    length cap is the bound.
    """
    if not answer.strip() or len(answer) > _MAX_ANSWER_CHARS or len(gold) > _MAX_ANSWER_CHARS:
        return False
    if _normalise(answer) == _normalise(gold):
        return True
    from math_verify import parse, verify

    on_main = threading.current_thread() is threading.main_thread()
    timeout = 5 if on_main else None
    try:
        g = parse(f"\\boxed{{{gold}}}", parsing_timeout=timeout)
        a = parse(f"\\boxed{{{answer}}}", parsing_timeout=timeout)
        return bool(g and a and verify(g, a, timeout_seconds=timeout))
    except Exception:  # noqa: BLE001 - math-verify/sympy failure means "not shown equal"
        return False


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
