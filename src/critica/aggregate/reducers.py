"""Reducers: many critiques of one item → one critique. Pure functions, no I/O, no model calls.

Every reducer takes the critiques in draw order and returns a new :class:`~critica.types.Critique` whose
``samples`` are the critiques that voted, whose ``confidence`` is the (weighted) vote share of the winning verdict
and whose ``usage`` is the sum of the samples' usage. They only read the protocol-independent fields of a
critique (``verdict``, ``first_error_step``, ``score``, numeric ``metadata``), so they work for every protocol.

Rules shared by all reducers:

* ``unscored`` samples are **counted, not voted**: they appear in ``samples`` and in ``metadata["unscored"]``, and
  never shift a vote share. When every sample is unscored, the result is unscored (with the samples' errors).
* The verdict is voted first; the first-error index is then the mode over the samples that voted for the winning
  verdict ``incorrect`` (hierarchical vote: "is it wrong?" before "where?").
  :func:`answer_mode` is the exception, ProcessBench's official Maj@k: the mode of the whole answer (the
  first-error index, or -1 for "no error"), in one vote.
* Ties are broken deterministically. ``tie="first"`` (default) takes the tied answer that was drawn first — draw
  order is random, so this is a reproducible random tie-break; ``"incorrect"`` prefers flagging an error;
  ``"unscored"`` refuses to decide. First-error ties go to the earliest step. A tie is flagged in
  ``metadata["tie"]``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, Literal

from critica.types import Critique, ParseStatus, Score, Usage, Verdict

__all__ = [
    "Reducer",
    "TieBreak",
    "majority",
    "weighted_majority",
    "mean_probability",
    "score_sum",
    "SUMMED_KEYS",
    "answer_mode",
    "answer_decided",
    "filter_top",
    "vote_decided",
    "sum_decided",
    "vote_lead",
    "disagreement",
    "sum_usage",
    "phase_latency",
    "note_failures",
]

Reducer = Callable[[Sequence[Critique]], Critique]
"""A function ``list[Critique] -> Critique`` (all critiques are about the same item)."""

TieBreak = Literal["first", "incorrect", "unscored"]


def sum_usage(samples: Sequence[Critique]) -> Usage:
    """Total token usage of ``samples``."""
    total = Usage()
    for c in samples:
        total = total + c.usage
    return total


def phase_latency(phases: Iterable[Sequence[Critique]]) -> float:
    """The latency critiques imply when each phase's critiques run concurrently and the phases one after another:
    the sum over phases of the slowest critique's ``latency_s`` (an empty phase adds nothing).

    A composite critic reports ``max(its wall time, phase_latency(...))``: the wall time when its calls were made now,
    and, when they were replayed from the call cache in microseconds, the time they stood for when they were made
    (each replayed critique keeps its original latency). A vote or a panel is one phase; meta-filtering two (the
    samples, then their ratings); a cascade one per stage tried; adaptive voting one per round.
    """
    return sum(max((c.latency_s for c in phase), default=0.0) for phase in phases)


def note_failures(out: Critique, members: Sequence[tuple[str, Critique]]) -> Critique:
    """Record in ``out.metadata["failures"]`` each member that failed (``"<label>: <error>"``); returns ``out``.

    Composites (panels, cascades, votes) call this so a member's failure is never hidden behind the verdict of
    the members that answered: ``out.failed`` is then true, the run counts it, and a resumed batch retries it.
    The failed calls themselves are already counted in ``out.usage.failed_calls`` (usage is summed).
    """
    by_reason: dict[str, list[str]] = {}  # members failing for the same reason share one entry (k samples of one request)
    for label, c in members:
        if not c.failed:
            continue
        nested = c.metadata.get("failures")
        reason = c.error or ("; ".join(map(str, nested)) if nested else f"{c.usage.failed_calls} failed call(s)")
        by_reason.setdefault(reason, []).append(label)
    failures = [f"{', '.join(labels)}: {reason}" for reason, labels in by_reason.items()]
    if failures:
        out.metadata["failures"] = failures
    else:
        out.metadata.pop("failures", None)
    return out


def _is_scored(c: Critique) -> bool:
    return c.verdict != Verdict.UNSCORED


def _all_unscored(samples: Sequence[Critique], critic: str, reducer: str) -> Critique:
    errors = sorted({c.error for c in samples if c.error})
    failed = any(c.parse_status == ParseStatus.FAILED for c in samples)
    reasons = sorted({c.parse_error for c in samples if c.parse_error})
    return Critique(
        item_id=samples[0].item_id,
        critic=critic,
        verdict=Verdict.UNSCORED,
        parse_status=ParseStatus.FAILED if failed or not errors else ParseStatus.OK,
        parse_error=f"all {len(samples)} samples unscored" + (f" ({'; '.join(reasons[:3])})" if reasons else ""),
        error="; ".join(errors[:3]) if errors else None,
        usage=sum_usage(samples),
        latency_s=phase_latency([samples]),  # the samples were drawn together
        model=samples[0].model,
        samples=list(samples),
        metadata={"reducer": reducer, "k": len(samples), "unscored": len(samples)},
    )


def _pick(tally: dict[Hashable, float], order: list[Hashable], tie: TieBreak) -> tuple[Hashable | None, bool]:
    """Winner of a weighted tally; ``order`` is draw order (first occurrence) for the "first" tie-break."""
    top = max(tally.values())
    tied = [a for a in order if tally.get(a, 0) == top]
    if len(tied) == 1:
        return tied[0], False
    if tie == "unscored":
        return None, True
    if tie == "incorrect" and Verdict.INCORRECT in tied:
        return Verdict.INCORRECT, True
    return tied[0], True


def _vote(samples: Sequence[Critique], weights: Sequence[float], *, critic: str | None, tie: TieBreak,
          reducer: str) -> Critique:
    if not samples:
        raise ValueError("cannot reduce an empty list of critiques")
    if len(weights) != len(samples):
        raise ValueError(f"{len(weights)} weights for {len(samples)} critiques")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    name = critic or samples[0].critic
    voters = [(c, w) for c, w in zip(samples, weights, strict=True) if _is_scored(c)]
    n_unscored = len(samples) - len(voters)
    if not voters or sum(w for _, w in voters) <= 0:
        return _all_unscored(samples, name, reducer)

    tally: dict[Hashable, float] = {}
    order: list[Hashable] = []
    for c, w in voters:
        if c.verdict not in tally:
            order.append(c.verdict)
        tally[c.verdict] = tally.get(c.verdict, 0.0) + w
    winner, tied = _pick(tally, order, tie)
    total = sum(tally.values())
    meta: dict[str, Any] = {
        "reducer": reducer,
        "k": len(samples),
        "unscored": n_unscored,
        "votes": {str(getattr(v, "value", v)): round(t, 6) for v, t in tally.items()},
        "tie": tied,
    }
    if winner is None:
        out = _all_unscored(samples, name, reducer)
        out.parse_error = "tied vote: " + ", ".join(f"{k}={v}" for k, v in meta["votes"].items())
        out.parse_status = ParseStatus.OK
        out.metadata.update(meta)
        return out
    return _assemble(samples, voters, winner, min(1.0, tally[winner] / total), meta, name)  # type: ignore[arg-type]


def _assemble(samples: Sequence[Critique], voters: list[tuple[Critique, float]], winner: Verdict, confidence: float,
              meta: dict[str, Any], name: str) -> Critique:
    first_error: int | None = None
    if winner == Verdict.INCORRECT:
        steps: dict[int, float] = {}
        for c, w in voters:
            if c.verdict == Verdict.INCORRECT and c.first_error_step is not None:
                steps[c.first_error_step] = steps.get(c.first_error_step, 0.0) + w
        if steps and sum(steps.values()) > 0:
            top = max(steps.values())
            first_error = min(s for s, t in steps.items() if t == top)  # earliest step wins a tie
            meta["first_error_votes"] = {str(s): round(t, 6) for s, t in sorted(steps.items())}
            meta["first_error_share"] = round(top / sum(steps.values()), 6)

    # The representative lends its explanation and step judgements, so they agree with the voted answer.
    rep = next(
        (c for c, _ in voters if c.verdict == winner and (first_error is None or c.first_error_step == first_error)),
        # (score_sum decides from the sum: when no sample's own rule agrees, the first voter lends its text)
        next((c for c, _ in voters if c.verdict == winner), voters[0][0]),
    )
    return Critique(
        item_id=samples[0].item_id,
        critic=name,
        verdict=winner,
        first_error_step=first_error,
        steps=rep.steps if rep.first_error_step == first_error else [],
        score=_mean_score([c for c, _ in voters]),
        explanation=rep.explanation,
        suggested_fix=rep.suggested_fix,
        parse_status=rep.parse_status,
        parse_error=rep.parse_error,
        usage=sum_usage(samples),
        latency_s=phase_latency([samples]),  # the samples were drawn together
        model=rep.model,
        sampling=rep.sampling.model_copy(update={"n": len(samples)}) if rep.sampling else None,
        confidence=max(0.0, min(1.0, confidence)),
        samples=list(samples),
        metadata=meta,
    )


def _mean_score(scored: Sequence[Critique]) -> Score | None:
    scores = [c.score for c in scored if c.score is not None]
    if not scores:
        return None
    lo, hi = scores[0].min, scores[0].max
    if all(s.min == lo and s.max == hi for s in scores):
        value = sum(s.value for s in scores) / len(scores)
        return Score(value=min(hi, max(lo, value)), min=lo, max=hi)
    # Mixed scales are only comparable after normalising to [0, 1].
    return Score(value=sum(s.normalized for s in scores) / len(scores), min=0, max=1)


def majority(samples: Sequence[Critique], *, critic: str | None = None, tie: TieBreak = "first") -> Critique:
    """Majority vote on the verdict, then on the first-error step (see the module docstring).

    Args:
        samples: Critiques of one item, in draw order.
        critic: Name of the resulting critique (default: the first sample's critic).
        tie: How a tied verdict vote is broken.

    Returns:
        The voted critique; ``confidence`` is the winning verdict's share of the scored votes.
    """
    return _vote(samples, [1.0] * len(samples), critic=critic, tie=tie, reducer="majority")


def weighted_majority(samples: Sequence[Critique], weights: Sequence[float], *, critic: str | None = None,
                      tie: TieBreak = "first") -> Critique:
    """Majority vote where sample ``i`` carries ``weights[i]`` votes (e.g. a panel member's exam accuracy).

    Returns:
        The voted critique; ``confidence`` is the winning verdict's share of the scored weight.
    """
    return _vote(samples, list(weights), critic=critic, tie=tie, reducer="weighted_majority")


def mean_probability(samples: Sequence[Critique], *, critic: str | None = None, tie: TieBreak = "first") -> Critique:
    """Average each critique's probability that the response is incorrect, then threshold at 0.5.

    A critique with verdict ``incorrect`` and confidence ``c`` says P(incorrect) = c; ``correct`` says 1 - c; no
    confidence counts as certain. A confident member can outvote two hesitant ones, unlike a plain majority.

    Returns:
        The critique whose verdict has mean probability above 0.5; ``confidence`` is that mean probability
        (``metadata["p_incorrect"]`` holds P(incorrect)). Exactly 0.5 is a tie, broken by ``tie``.
    """
    if not samples:
        raise ValueError("cannot reduce an empty list of critiques")
    name = critic or samples[0].critic
    voters = [(c, 1.0 if c.confidence is None else c.confidence) for c in samples if _is_scored(c)]
    if not voters:
        return _all_unscored(samples, name, "mean_probability")
    probs = [conf if c.verdict == Verdict.INCORRECT else 1 - conf for c, conf in voters]
    p = sum(probs) / len(probs)
    meta: dict[str, Any] = {
        "reducer": "mean_probability", "k": len(samples), "unscored": len(samples) - len(voters),
        "votes": dict(Counter(c.verdict.value for c, _ in voters)), "p_incorrect": round(p, 6), "tie": p == 0.5,
    }
    if p > 0.5:
        winner: Verdict | None = Verdict.INCORRECT
    elif p < 0.5:
        winner = Verdict.CORRECT
    elif tie == "unscored":
        winner = None
    elif tie == "incorrect":
        winner = Verdict.INCORRECT
    else:
        winner = voters[0][0].verdict
    if winner is None:
        out = _all_unscored(samples, name, "mean_probability")
        out.parse_error, out.parse_status = "tied mean probability 0.5", ParseStatus.OK
        out.metadata.update(meta)
        return out
    return _assemble(samples, voters, winner, p if winner == Verdict.INCORRECT else 1 - p, meta, name)


SUMMED_KEYS = ("scores", "aspect_scores")
"""``metadata`` entries :func:`score_sum` adds up: per-response scores (a list, ``principles``) and per-aspect scores
(a dict, ``rubric``). Other numeric metadata (indices such as ``best``, counts, seeds) is never summed."""
def _answer(c: Critique) -> int | None:
    """The whole answer a critique gives, as ProcessBench writes it: the first-error index, -1 for "no error",
    -2 for "incorrect" without a step (:data:`critica.bench.metrics.FLAG_NO_STEP`); None when unscored."""
    if not _is_scored(c):
        return None
    if c.first_error_step is not None:
        return c.first_error_step
    return -2 if c.verdict == Verdict.INCORRECT else -1


def answer_mode(samples: Sequence[Critique], *, critic: str | None = None, tie: TieBreak = "first") -> Critique:
    """ProcessBench's official Maj@k: the most common whole answer (first-error index, or -1) over the samples.

    The official ``run_eval.py`` (QwenLM/ProcessBench) extracts each sample's boxed answer, drops the samples without
    one and takes ``Counter(preds).most_common(1)``. There is no verdict-first step: votes -1×3, 1×2, 2×2, 3×1 give
    -1 here, where :func:`majority` gives step 1 ("incorrect" wins 5-3, then step 1 is the earliest of the tied
    steps). Unscored samples are counted, not voted (the official ``None`` filter).

    Ties: ``"first"`` (default) takes the tied answer drawn first — ``Counter.most_common`` sorts stably by count,
    so the official rule keeps first-occurrence order; ``"incorrect"`` prefers the earliest tied error index over -1;
    ``"unscored"`` refuses to decide.

    Returns:
        The critique of the first sample that gave the winning answer (its explanation and step judgements), with
        ``confidence`` = the winning answer's share of the scored samples and ``metadata["votes"]`` the answer
        tally (``"-1"``, ``"0"``, … in first-drawn order).
    """
    if not samples:
        raise ValueError("cannot reduce an empty list of critiques")
    name = critic or samples[0].critic
    answers = [(_answer(c), c) for c in samples]
    voters = [(a, c) for a, c in answers if a is not None]
    if not voters:
        return _all_unscored(samples, name, "answer_mode")
    tally = Counter(a for a, _ in voters)  # insertion order = draw order, as in the official Counter
    top = max(tally.values())
    tied = [a for a in tally if tally[a] == top]
    meta: dict[str, Any] = {"reducer": "answer_mode", "k": len(samples), "unscored": len(samples) - len(voters),
                            "votes": {str(a): n for a, n in tally.items()}, "tie": len(tied) > 1}
    winner: int | None = tied[0]
    if len(tied) > 1 and tie == "unscored":
        winner = None
    elif len(tied) > 1 and tie == "incorrect":
        winner = min((a for a in tied if a >= 0), default=tied[0])
    if winner is None:
        out = _all_unscored(samples, name, "answer_mode")
        out.parse_error = "tied vote: " + ", ".join(f"{k}={v}" for k, v in meta["votes"].items())
        out.parse_status = ParseStatus.OK
        out.metadata.update(meta)
        return out
    rep = next(c for a, c in voters if a == winner)
    return rep.model_copy(update={
        "critic": name,
        "samples": list(samples),
        "usage": sum_usage(samples),
        "latency_s": phase_latency([samples]),  # the samples were drawn together
        "sampling": rep.sampling.model_copy(update={"n": len(samples)}) if rep.sampling else None,
        "confidence": tally[winner] / len(voters),
        "score": _mean_score([c for _, c in voters if _answer(c) == winner]),
        "metadata": meta,
    })


def answer_decided(samples: Sequence[Critique], remaining: int) -> bool:
    """Whether :func:`answer_mode` over ``samples`` plus any ``remaining`` further samples must give the same answer:
    the top answer leads the runner-up by more than ``remaining`` votes (so no tie can arise either)."""
    if remaining <= 0:
        return True
    ranked = Counter(a for a in map(_answer, samples) if a is not None).most_common(2)
    if not ranked:
        return False
    return ranked[0][1] - (ranked[1][1] if len(ranked) > 1 else 0) > remaining


def _numeric_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)


def _numeric_dict(v: Any) -> bool:
    return isinstance(v, dict) and bool(v) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in v.values())


def _sum_passes(total: float, n: int, lo: float, hi: float, threshold: float | None) -> bool:
    """The single-sample pass rule applied to a sum of ``n`` scores: each sample passes at ``>= threshold`` (when
    the critic has one) or strictly above the scale's midpoint, so the sum passes at ``>= n * threshold`` or
    ``> n * midpoint`` (``critica.critics.principles.passes`` scaled by ``n``)."""
    return total >= n * threshold if threshold is not None else total > n * (lo + hi) / 2


def _sum_rule(with_score: Sequence[Critique]) -> tuple[float, float, float | None] | None:
    """(scale min, scale max, pass threshold or None) shared by the scored samples; None when their scales differ.
    A threshold counts only when every sample carries the same one (``metadata["pass_threshold"]``)."""
    lo, hi = with_score[0].score.min, with_score[0].score.max  # type: ignore[union-attr]
    if any(c.score.min != lo or c.score.max != hi for c in with_score):  # type: ignore[union-attr]
        return None
    thresholds = {c.metadata.get("pass_threshold") for c in with_score}
    threshold = thresholds.pop() if len(thresholds) == 1 else None
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
        threshold = None
    return lo, hi, threshold


def score_sum(samples: Sequence[Critique], *, critic: str | None = None, tie: TieBreak = "first",
              keys: Sequence[str] = SUMMED_KEYS) -> Critique:
    """Score-sum voting (DeepSeek-GRM, Liu et al. 2025, arXiv:2504.02495): the sum of the sampled scores decides.

    DeepSeek-GRM's final reward is the sum of the k sampled pointwise scores; the response with the highest sum
    wins. Here:

    * ``metadata["score_sum"]`` is the sum of the scored samples' ``score`` (the score of ``Item.response``) over
      ``metadata["scores_counted"]`` samples; ``score`` is that sum divided by the count, on the protocol's scale
      (the same order as the sum, and comparable with a single sample's score).
    * The **verdict follows from the sum** with the single-sample rule scaled by the count: ``correct`` when the sum
      is at least ``n * pass_threshold`` (the samples' ``metadata["pass_threshold"]``), else when it is above
      ``n`` times the scale's midpoint — exactly when the mean score would pass a single GRM critique. The verdict
      vote is kept in ``metadata["votes"]``; ``confidence`` is the share of scored samples whose own verdict agrees
      with the sum's. Samples on different scales are compared after normalising to [0, 1] (pass above 0.5).
      When no sample has a score the verdict is the plain majority (``metadata["verdict_rule"]`` says which).
    * Only the metadata entries named in ``keys`` are summed (default :data:`SUMMED_KEYS`): per-response score
      lists of equal length element-wise into ``metadata["summed"][key]``, per-aspect score dicts with equal keys
      key-wise. ``metadata["best"]`` is recomputed from the summed per-response ``scores``: the indices of the
      highest sum (the winning responses, as a single ``principles`` critique lists them);
      ``metadata["summed_n"]`` is how many samples went into the sums.
    """
    out = _vote(samples, [1.0] * len(samples), critic=critic, tie=tie, reducer="score_sum")
    scored = [c for c in samples if _is_scored(c)]
    if not scored:
        return out
    with_score = [c for c in scored if c.score is not None]
    if with_score:
        total = sum(c.score.value for c in with_score)  # type: ignore[union-attr]
        n = len(with_score)
        out.metadata["score_sum"] = total
        out.metadata["scores_counted"] = n
        rule = _sum_rule(with_score)
        if rule is not None:
            passed = _sum_passes(total, n, *rule)
        else:  # mixed scales are only comparable after normalising to [0, 1]
            passed = _sum_passes(sum(c.score.normalized for c in with_score), n, 0, 1, None)  # type: ignore[union-attr]
        verdict = Verdict.CORRECT if passed else Verdict.INCORRECT
        out.metadata["verdict_rule"] = "score_sum"
        if out.verdict != verdict or out.verdict == Verdict.UNSCORED:
            agree = sum(1 for c in scored if c.verdict == verdict)
            meta = {k: v for k, v in out.metadata.items() if k in ("reducer", "k", "unscored", "votes", "tie",
                                                                     "score_sum", "scores_counted", "verdict_rule")}
            out = _assemble(samples, [(c, 1.0) for c in scored], verdict, agree / len(scored), meta,
                            critic or samples[0].critic)
        else:
            out.confidence = sum(1 for c in scored if c.verdict == verdict) / len(scored)
        out.metadata["tie"] = False  # the sum decided; a tied verdict vote does not matter
    else:
        out.metadata["verdict_rule"] = "majority (no sample has a score)"
    summed: dict[str, Any] = {}
    for key in keys:
        values = [c.metadata.get(key) for c in scored]
        first = values[0]
        if _numeric_list(first) and all(_numeric_list(v) and len(v) == len(first) for v in values):
            summed[key] = [sum(col) for col in zip(*values, strict=True)]
        elif _numeric_dict(first) and all(_numeric_dict(v) and v.keys() == first.keys() for v in values):
            summed[key] = {k: sum(v[k] for v in values) for k in first}
    if summed:
        out.metadata["summed"] = summed
        out.metadata["summed_n"] = len(scored)
        per_response = summed.get("scores")
        if isinstance(per_response, list):
            top = max(per_response)
            out.metadata["best"] = [i for i, v in enumerate(per_response) if v == top]
    return out


def sum_decided(samples: Sequence[Critique], remaining: int) -> bool:
    """Whether :func:`score_sum`'s verdict over ``samples`` stays the same whatever ``remaining`` further samples
    score (each anywhere on the scale, or unscored) — the "decided" stop rule of adaptive sampling under score-sum
    voting. Samples without a score fall back to :func:`vote_decided`."""
    if remaining <= 0:
        return True
    scored = [c for c in samples if _is_scored(c) and c.score is not None]
    if not scored:
        return vote_decided(samples, remaining)
    rule = _sum_rule(scored)
    if rule is None:
        return False
    lo, hi, threshold = rule
    total, n = sum(c.score.value for c in scored), len(scored)  # type: ignore[union-attr]
    now = _sum_passes(total, n, lo, hi, threshold)
    # r of the remaining samples come back scored; the sum then lies between r × lo and r × hi more
    return all(_sum_passes(total + r * v, n + r, lo, hi, threshold) == now
               for r in range(remaining + 1) for v in (lo, hi))


def filter_top(samples: Sequence[Critique], ratings: Sequence[float | None], keep: int) -> list[Critique]:
    """Meta-filtering: the ``keep`` scored samples with the highest ratings, in draw order.

    Unscored samples and samples without a rating rank last; equal ratings keep draw order, so the result is
    deterministic. Used by the DeepSeek-GRM meta reward model step (only the top ``k_meta`` samples vote).
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    if len(ratings) != len(samples):
        raise ValueError(f"{len(ratings)} ratings for {len(samples)} critiques")
    ranked = sorted(
        range(len(samples)),
        key=lambda i: (not _is_scored(samples[i]), ratings[i] is None, -(ratings[i] or 0.0), i),
    )
    chosen = sorted(ranked[:keep])
    return [samples[i] for i in chosen]


def vote_lead(samples: Sequence[Critique]) -> tuple[int, int]:
    """(lead of the top verdict over the runner-up, lead of the top first-error step among ``incorrect`` votes).

    The second number is 0 when the top verdict is not ``incorrect`` (no index to decide) — callers check it
    only for incorrect winners. Unscored samples are ignored.
    """
    counts = Counter(c.verdict for c in samples if _is_scored(c))
    if not counts:
        return 0, 0
    ranked = counts.most_common()
    lead = ranked[0][1] - (ranked[1][1] if len(ranked) > 1 else 0)
    top_verdicts = [v for v, n in ranked if n == ranked[0][1]]
    if Verdict.INCORRECT not in top_verdicts:
        return lead, 0
    steps = Counter(c.first_error_step for c in samples if c.verdict == Verdict.INCORRECT)
    s_ranked = steps.most_common()
    s_lead = s_ranked[0][1] - (s_ranked[1][1] if len(s_ranked) > 1 else 0)
    return lead, s_lead


def vote_decided(samples: Sequence[Critique], remaining: int) -> bool:
    """Whether :func:`majority` over ``samples`` plus any ``remaining`` further samples must give the same answer.

    True when the top verdict leads the runner-up by more than ``remaining`` votes and, if it is ``incorrect``,
    the top first-error step also leads by more than ``remaining`` (so no tie can arise either).
    """
    if remaining <= 0:
        return True
    lead, step_lead = vote_lead(samples)
    if lead <= remaining:
        return False
    top = Counter(c.verdict for c in samples if _is_scored(c)).most_common(1)[0][0]
    return top != Verdict.INCORRECT or step_lead > remaining


def disagreement(critiques: Sequence[Critique]) -> dict[str, float | int]:
    """How much scored critiques of one item disagree on the verdict.

    Returns:
        ``minority``: 1 - share of the most common verdict (0 = unanimous);
        ``pairwise``: fraction of scored pairs with different verdicts; ``scored``: how many voted.
    """
    verdicts = [c.verdict for c in critiques if _is_scored(c)]
    n = len(verdicts)
    if n == 0:
        return {"minority": 0.0, "pairwise": 0.0, "scored": 0}
    counts = Counter(verdicts)
    pairs = n * (n - 1) / 2
    agreeing = sum(m * (m - 1) / 2 for m in counts.values())
    return {
        "minority": round(1 - counts.most_common(1)[0][1] / n, 6),
        "pairwise": round((pairs - agreeing) / pairs, 6) if pairs else 0.0,
        "scored": n,
    }
