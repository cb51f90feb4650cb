"""The ``verifier`` critic: a Critique built from tool checks alone, no language model.

It runs, on the item's steps (:func:`critica.inputs.steps.item_steps`):

* :class:`~critica.verifiers.math.ArithmeticVerifier` and the symbolic step checks (algebra, quantities, listing,
  series) on every item;
* :class:`~critica.verifiers.answer.FinalAnswerVerifier` when ``Item.reference_answer`` is set;
* ``EvidenceVerifier`` (:mod:`critica.verifiers.evidence`) when ``Item.evidence`` is non-empty and
  ``CodeVerifier`` (:mod:`critica.verifiers.code`) when ``Item.tests`` is non-empty — imported lazily; when the module
  is absent the check is skipped and the critique says so in ``metadata["skipped"]``;
* ``RulesVerifier`` (:mod:`critica.verifiers.rules`) when the item carries verifiable instructions
  (``metadata.instruction_id_list`` or ``metadata.rules``): one whole-response finding per constraint, so a violated
  constraint makes the verdict ``incorrect`` (rule 2 below).

Verdict rule (ProcessBench-compatible: "no error found" is the prediction ``-1``):

1. Some step has an ``incorrect`` finding → ``incorrect``. The earliest such step k is always recorded in
   ``metadata["error_at_or_before"]``: a verified false step proves the *first* error lies at or before k. It
   becomes ``first_error_step`` only when the verifier can stand behind "k is the earliest error" (see
   :class:`LocatePolicy`); otherwise ``first_error_step`` stays None and the explanation says the first error is at
   or before step k. The reason: a slip found late in a long solution usually follows an earlier reasoning error the
   verifier cannot see, and naming it as the first error would be a confident wrong answer.
2. Otherwise a whole-response check failed (wrong final answer, failing test) → ``incorrect``,
   ``first_error_step`` None, and the explanation says which check failed.
3. Otherwise → ``correct``, meaning *no error found*, never "verified correct": ``confidence`` is 0.9 when a
   whole-response check passed (final answer matches the reference, tests pass), else ``0.2 + 0.5 × checked
   fraction of steps``; ``metadata["checked_steps"]`` says how many steps were actually checked, and
   ``metadata["checked_nothing"]`` is true when no step was checked and no whole-response check passed ("no error
   found" then means nothing could be checked; the reward endpoint does not pay for it).

Per step: ``incorrect`` if flagged, ``correct`` if checked and every check passed, ``unchecked`` otherwise.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from critica.budget import checkpoint
from critica.inputs.steps import item_steps
from critica.types import Critique, Item, StepJudgment, StepVerdict, Verdict
from critica.verifiers.algebra import AlgebraVerifier
from critica.verifiers.answer import FinalAnswerVerifier
from critica.verifiers.base import Finding, Verifier
from critica.verifiers.listing import ListingVerifier
from critica.verifiers.math import ArithmeticVerifier
from critica.verifiers.quantities import QuantityVerifier
from critica.verifiers.series import SeriesVerifier

__all__ = ["LocatePolicy", "VerifierCritic", "build_critique"]


def _optional(module: str, cls: str) -> Verifier | None:
    try:
        mod = importlib.import_module(module)
        return getattr(mod, cls)()
    except (ImportError, AttributeError):
        return None


_STEP_CHECKS = (
    AlgebraVerifier,  # equations, identities, constant claims with functions
    QuantityVerifier,  # unit mismatches in word problems
    ListingVerifier,  # listed divisors/primes and number-theory facts in words
    SeriesVerifier,  # sums and products written with an ellipsis or sigma notation
)
"""Step verifiers beside the arithmetic one (they share its switch: all verify what a step computes)."""

CHAIN_KINDS = frozenset(v.name for v in (ArithmeticVerifier, *_STEP_CHECKS))
"""Finding kinds that check a computation inside a chain of reasoning (see :class:`LocatePolicy`)."""


@dataclass(frozen=True)
class LocatePolicy:
    """When a verified false step k may be named as the *first* error.

    The verifier checks computations, not reasoning, so it cannot rule out an earlier reasoning error. It names k
    only when little room is left for one: k is the first step; or the steps before k are short (at most
    ``short_prefix_chars`` characters in all); or k lies in the first ``max_position`` share of the steps and the
    steps before it hold at most ``max_unchecked_chars`` characters of text it could not check. The defaults were
    chosen on MR-GSM8K and PRMBench (the calibration sets; ProcessBench held out) as the loosest values keeping the
    exact-step precision of named steps at 88% or more on MR-GSM8K (the larger set; PRMBench names only a dozen
    steps, 81–83% at every nearby setting); ``docs/verifiers.md`` gives the figures.
    ``earliest()`` always names the earliest false step (more exact hits, far less precise on competition maths).
    """

    max_position: float = 0.3
    """Largest k / n (0-based step index over the number of steps) that may be named after a long prefix."""
    max_unchecked_chars: int = 400
    """Most characters of unchecked steps allowed before k."""
    short_prefix_chars: int = 250
    """A prefix this short (all steps before k together) leaves no room for a hidden error, wherever k is."""

    @classmethod
    def earliest(cls) -> LocatePolicy:
        """Always name the earliest false step."""
        return cls(max_position=1.0, max_unchecked_chars=10**12)

    def why_not(self, k: int, steps: list[str], judgments: list[StepJudgment]) -> str | None:
        """None when the false step ``k`` may be named as the first error, else the reason it is not."""
        prefix = sum(len(steps[j]) for j in range(k))
        if k == 0 or prefix <= self.short_prefix_chars:
            return None
        reasons = []
        if k / len(steps) > self.max_position:
            reasons.append(f"it comes late (step {k + 1} of {len(steps)}, after {prefix} characters of solution)")
        unchecked = sum(len(steps[j]) for j in range(k) if judgments[j].verdict == StepVerdict.UNCHECKED)
        if unchecked > self.max_unchecked_chars:
            reasons.append(f"{unchecked} characters of the earlier steps could not be checked")
        return " and ".join(reasons) or None


def _has_constraints(item: Item) -> bool:
    meta = item.metadata or {}
    return bool(meta.get("instruction_id_list") or meta.get("rules"))


class VerifierCritic:
    """Critic backed by deterministic verifiers (arithmetic, final answer, evidence, code)."""

    name = "verifier"

    def __init__(self, *, arithmetic: bool = True, final_answer: bool = True, evidence: bool = True, code: bool = True,
                 rules: bool = True, locate: LocatePolicy | str | None = None,
                 workers: int | Literal["auto"] | None = None) -> None:
        """Choose which checks run; the optional evidence and code verifiers load on first use.

        ``workers``: processes that judge items in :meth:`critique` (:mod:`critica.verifiers.pool`); 1 runs the checks
        in a thread of this process; ``"auto"``: in a thread while there is little work, in a pool of one process per
        core under sustained load (:func:`critica.verifiers.pool.auto_workers`); None: ``CRITICA_WORKERS``
        (:func:`critica.config.verifier_workers`, default ``"auto"``).

        ``locate``: when a false step is named as the first error — a :class:`LocatePolicy`, ``"confident"`` (the
        default policy) or ``"earliest"`` (always the earliest false step).
        """
        if isinstance(locate, str):
            if locate not in ("confident", "earliest"):
                raise ValueError(f"locate must be 'confident' or 'earliest', not {locate!r}")
            locate = LocatePolicy.earliest() if locate == "earliest" else None
        self.locate = locate or LocatePolicy()
        if workers is None:
            from critica.config import verifier_workers

            workers = verifier_workers()
        if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a positive integer or 'auto', not {workers!r}")
        self.workers = workers
        if workers != 1:
            from critica.config import worker_start_method

            worker_start_method()  # a bad CRITICA_WORKER_START is reported now, not by each item
        if workers != "auto" and workers > 1:
            from critica.verifiers.pool import start_server

            start_server()  # it imports the checks while this process goes on (loads its items, say)
        # What a worker process needs to build the same critic (the object itself holds unpicklable state).
        self._options = (("arithmetic", arithmetic), ("final_answer", final_answer), ("evidence", evidence),
                         ("code", code), ("rules", rules), ("locate", self.locate))
        self.arithmetic = ArithmeticVerifier() if arithmetic else None
        self.step_checks: list[Verifier] = [v() for v in _STEP_CHECKS] if arithmetic else []
        self.final_answer = FinalAnswerVerifier() if final_answer else None
        self._want = {"evidence": evidence, "code": code, "rules": rules}
        self._extra: dict[str, Verifier | None] = {}

    @property
    def min_in_flight(self) -> int:
        """Items :func:`critica.run.runner.critique_stream` keeps in flight at least, whatever its ``concurrency``:
        two full batches per worker process (:data:`critica.verifiers.pool.BATCH_MAX` items each; ``auto``: per
        usable core, for once its pool runs), one being judged and one waiting for the worker, so that no worker
        waits while the parent hands results on and collects the next batch; 1 for a thread. An item waiting for a
        worker costs its memory only."""
        if self.workers == 1:
            return 1
        from critica.verifiers.pool import BATCH_MAX, usable_cores

        workers = usable_cores() if self.workers == "auto" else self.workers
        return 2 * BATCH_MAX * workers if workers > 1 else 1

    def _get(self, kind: str) -> Verifier | None:
        if kind not in self._extra:
            module, cls = {"evidence": ("critica.verifiers.evidence", "EvidenceVerifier"),
                           "code": ("critica.verifiers.code", "CodeVerifier"),
                           "rules": ("critica.verifiers.rules", "RulesVerifier")}[kind]
            self._extra[kind] = _optional(module, cls) if self._want[kind] else None
        return self._extra[kind]

    def findings(self, item: Item, steps: list[str]) -> tuple[list[Finding], list[str]]:
        """All findings for ``item`` and the names of checks that applied but were unavailable."""
        found: list[Finding] = []
        skipped: list[str] = []
        for verifier in (self.arithmetic, *self.step_checks, self.final_answer):
            if verifier is not None:
                checkpoint()  # past the item's time budget: stop (the step checks also check between steps)
                found.extend(verifier.check(item, steps))
        for kind, applies in (("evidence", bool(item.evidence)), ("code", bool(item.tests)),
                              ("rules", _has_constraints(item))):
            if not applies or not self._want[kind]:
                continue
            verifier = self._get(kind)
            if verifier is None:
                skipped.append(kind)
                continue
            checkpoint()
            try:
                found.extend(verifier.check(item, steps))
            except Exception as e:  # noqa: BLE001 - a broken optional check must not sink the other findings
                found.append(Finding(kind, StepVerdict.UNCHECKED, f"{kind} check failed: {type(e).__name__}: {e}"))
        return found, skipped

    def judge(self, item: Item) -> Critique:
        """The critique of ``item`` (synchronous; :meth:`critique` runs this in a worker thread)."""
        start = time.perf_counter()
        steps = item_steps(item)
        found, skipped = self.findings(item, steps)
        crit = build_critique(item, steps, found, self.name, self.locate)
        if skipped:
            crit.metadata["skipped"] = skipped
        crit.latency_s = time.perf_counter() - start
        return crit

    async def critique(self, item: Item) -> Critique:
        """Judge ``item`` off the event loop (the checks are CPU-bound).

        The worker thread inherits the item's deadline (:mod:`critica.budget`): run by the runner, the checks stop
        at the next step once the item is over its time budget, even though the thread itself cannot be cancelled.
        With ``workers`` > 1 (or ``"auto"`` under sustained load) the item is judged in a worker process instead
        (:mod:`critica.verifiers.pool`), under the time it has left; the critique is the same.
        """
        import asyncio  # here: worker processes import this module, and need no event loop

        workers = self.workers
        auto = workers == "auto"
        if auto:
            from critica.verifiers.pool import auto_workers

            workers = auto_workers()
        if workers > 1:
            from critica.verifiers.pool import judge_in_pool

            # auto judged its items in this process until now: it may go on with one while the pool starts. An
            # explicit worker count keeps every item out of this process (a crash takes only a worker down).
            return await judge_in_pool(workers, type(self), self._options, item, self.judge if auto else None)
        return await asyncio.to_thread(self.judge, item)


def build_critique(item: Item, steps: list[str], found: list[Finding], critic: str = "verifier",
                   locate: LocatePolicy | None = None) -> Critique:
    """Apply the verdict rule of this module's docstring to a list of findings."""
    locate = locate or LocatePolicy()
    per_step: dict[int, list[Finding]] = {}
    whole: list[Finding] = []
    for f in found:
        if f.step is not None and 0 <= f.step < len(steps):
            per_step.setdefault(f.step, []).append(f)
        else:
            whole.append(f)
    judgments = []
    for i in range(len(steps)):
        fs = per_step.get(i, [])
        if any(f.verdict == StepVerdict.INCORRECT for f in fs):
            verdict = StepVerdict.INCORRECT
            text = "; ".join(f.message for f in fs if f.verdict == StepVerdict.INCORRECT)
        elif fs and all(f.verdict == StepVerdict.CORRECT for f in fs):
            verdict, text = StepVerdict.CORRECT, "; ".join(f.message for f in fs)
        else:
            verdict = StepVerdict.UNCHECKED
            text = "; ".join(f.message for f in fs) or "nothing in this step could be checked automatically"
        judgments.append(StepJudgment(index=i, verdict=verdict, explanation=text))
    flagged = [j.index for j in judgments if j.verdict == StepVerdict.INCORRECT]
    checked = sum(j.verdict != StepVerdict.UNCHECKED for j in judgments)
    whole_bad = [f for f in whole if f.verdict == StepVerdict.INCORRECT]
    whole_ok = [f for f in whole if f.verdict == StepVerdict.CORRECT]
    metadata: dict[str, Any] = {"checked_steps": checked, "n_steps": len(steps)}
    if flagged:
        earliest = flagged[0]
        metadata["error_at_or_before"] = earliest
        explanation = f"Step {earliest + 1} is wrong: {judgments[earliest].explanation}"
        verdict = Verdict.INCORRECT
        # Only chain checks (a computation inside a line of reasoning) can trail an unseen earlier error; an
        # unsupported claim or a failing test is judged on its own.
        chain = any(f.kind in CHAIN_KINDS and f.verdict == StepVerdict.INCORRECT for f in per_step[earliest])
        why = locate.why_not(earliest, steps, judgments) if chain else None
        if why is None:
            first, confidence = earliest, 0.95
        else:
            first, confidence = None, 0.9
            explanation += (f" The first error is at or before step {earliest + 1}. The verifier checks computations, "
                            f"not reasoning, and does not name step {earliest + 1} as the first error: {why}, "
                            "so an earlier reasoning error is likely.")
        if whole_bad:
            explanation += " Also: " + "; ".join(f.message for f in whole_bad)
    elif whole_bad:
        first, verdict, confidence = None, Verdict.INCORRECT, 0.9
        explanation = "No step was flagged, but " + "; ".join(f.message for f in whole_bad) + "."
    else:
        first, verdict = None, Verdict.CORRECT
        if not checked and not whole_ok:
            metadata["checked_nothing"] = True
        confidence = 0.9 if whole_ok else round(0.2 + 0.5 * (checked / len(steps) if steps else 0.0), 3)
        what = f"{checked} of {len(steps)} step(s) had computations that were checked"
        explanation = "No error found. " + what + (
            "; " + "; ".join(f.message for f in whole_ok) if whole_ok else
            ". The remaining reasoning was not verified.")
    return Critique(
        item_id=item.id, critic=critic, verdict=verdict, first_error_step=first, steps=judgments,
        explanation=explanation, confidence=confidence,
        metadata={**metadata, "findings": [_plain(f) for f in found]},
    )


def _plain(f: Finding) -> dict[str, Any]:
    """``dataclasses.asdict(f)`` with the verdict's value, built directly: ``asdict`` recursed through every value
    generically, about 4% of a ProcessBench item's time."""
    return {"kind": f.kind, "verdict": f.verdict.value, "message": f.message, "step": f.step,
            "details": _copy(f.details)}


_ATOMS = (str, int, float, bool, type(None))


def _copy(obj: Any) -> Any:
    """What ``asdict`` makes of a field's value: containers rebuilt, recursively; other values as it copies them."""
    if isinstance(obj, _ATOMS):
        return obj
    if type(obj) is dict:
        return {_copy(k): _copy(v) for k, v in obj.items()}
    if type(obj) in (list, tuple):
        return type(obj)(_copy(v) for v in obj)
    return asdict(_Box(obj))["value"]  # dataclasses, namedtuples, other types: asdict's own rules


@dataclass
class _Box:
    value: Any
