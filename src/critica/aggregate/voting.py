"""k-sample voting, meta-filtering and adaptive sampling: wrappers that are themselves Critics.

* :class:`VotingCritic` draws k critiques of an item and reduces them (majority by default; :func:`score_sum`
  for scored protocols). A critic with ``sample(item, n, seed)`` (every :class:`~critica.critics.base.LLMCritic`)
  gets all k in **one request with n=k**, so the prompt is processed once where the backend allows it; any other
  critic is called k times.
* :class:`MetaFilteredCritic` (DeepSeek-GRM's meta RM, Liu et al. 2025, arXiv:2504.02495): a second critic rates
  each sampled critique and only the ``keep`` best-rated samples vote.
* :class:`AdaptiveVotingCritic` draws in rounds and stops as soon as more samples cannot change the vote (or a
  margin / confidence rule is met), up to ``max_k``; it reports samples and tokens actually spent
  (adaptive-consistency, Aggarwal et al. 2023, arXiv:2305.11860).

Sample ``i`` of an item always uses seed ``base_seed + i`` whether it was drawn in one request or in rounds, so
results are reproducible and a :class:`SampleCache` can extend k=1 to k=8 without redrawing (the sample index is
part of the key, so k draws are never collapsed into one cached answer).

A sample whose call failed is counted, not voted; every wrapper lists such failures in ``metadata["failures"]``
(with the error) and sums their failed calls into ``usage``, so the result is *failed* even when the other samples
settled the vote (:attr:`~critica.types.Critique.failed`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Literal

from critica.aggregate.reducers import (
    Reducer,
    filter_top,
    majority,
    note_failures,
    phase_latency,
    sum_decided,
    sum_usage,
    vote_decided,
    vote_lead,
)
from critica.critics.base import Critic, unscored
from critica.critics.markup import neutralise, numbered_steps
from critica.inputs.steps import item_steps
from critica.types import Critique, Item, Verdict

__all__ = [
    "SampleCache",
    "VotingCritic",
    "MetaFilteredCritic",
    "AdaptiveVotingCritic",
    "StopRule",
    "draw_samples",
    "critique_as_item",
    "rating_of",
]

StopRule = Literal["decided", "margin", "confidence"]


async def _safe(critic: Critic, item: Item) -> Critique:
    start = time.perf_counter()
    try:
        return await critic.critique(item)
    except Exception as e:  # noqa: BLE001 - a failing sample is data, not a crashed vote
        return unscored(item, getattr(critic, "name", "critic"), reason="critic raised an exception",
                        error=f"{type(e).__name__}: {e}", latency_s=time.perf_counter() - start)


def _labelled(samples: Sequence[Critique]) -> list[tuple[str, Critique]]:
    return [(f"sample {c.metadata.get('sample_index', i)}", c) for i, c in enumerate(samples)]


async def draw_samples(critic: Critic, item: Item, n: int, *, offset: int = 0) -> list[Critique]:
    """Draw samples ``offset … offset+n-1`` of ``critic`` on ``item``; never raises for per-item failures.

    Uses one ``sample(item, n, seed=base+offset)`` request when the critic has it (seed ``base+offset+i`` for the
    i-th), otherwise ``n`` concurrent ``critique`` calls (such a critic supplies its own randomness).
    """
    if n <= 0:
        return []
    sample = getattr(critic, "sample", None)
    if sample is None:
        return list(await asyncio.gather(*(_safe(critic, item) for _ in range(n))))
    sampling = getattr(critic, "sampling", None)
    base = (getattr(sampling, "seed", None) or 0) + offset
    out: list[Critique] = []
    # A backend may return fewer choices than asked; top up with further requests (next seeds), a bounded
    # number of times, so a "k-sample" vote never silently votes over fewer samples.
    for _ in range(n):
        want = n - len(out)
        start = time.perf_counter()
        try:
            got = list(await sample(item, want, seed=base + len(out)))[:want]
        except Exception as e:  # noqa: BLE001
            got = [unscored(item, critic.name, reason="critic raised an exception",
                            error=f"{type(e).__name__}: {e}", latency_s=time.perf_counter() - start)
                   for _ in range(want)]
        if not got:
            break
        out += got
        if len(out) >= n:
            break
    while len(out) < n:
        out.append(unscored(item, critic.name, reason="the critic returned fewer samples than requested"))
    for i, c in enumerate(out):
        c.metadata.setdefault("sample_index", offset + i)
    return out


class SampleCache:
    """Samples already drawn per (critic, item), so a k=8 vote reuses the draws of a k=4 vote.

    Used by the scaling benchmark: it runs k = 1, 2, 4, 8 over the same items and draws each sample once.
    With ``single=True`` every sample is its own request (n=1), so each sample's usage is exact (the full prompt
    plus its own completion) — what per-k token accounting needs; seeds are the same either way.
    """

    def __init__(self, *, single: bool = False) -> None:
        self.single = single
        self._store: dict[tuple[str, str], list[Critique]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def get(self, critic: Critic, item: Item, k: int) -> list[Critique]:
        """The first ``k`` samples of ``critic`` on ``item``, drawing only those not drawn yet."""
        key = (f"{critic.name}@{getattr(getattr(critic, 'caller', None), 'name', '')}", item.id)
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # locks belong to one event loop; a suite may run one loop per k
            self._loop, self._locks = loop, {}
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            have = self._store.setdefault(key, [])
            if len(have) < k:
                if self.single:
                    drawn = await asyncio.gather(*(draw_samples(critic, item, 1, offset=i)
                                                   for i in range(len(have), k)))
                    have.extend(d[0] for d in drawn)
                else:
                    have.extend(await draw_samples(critic, item, k - len(have), offset=len(have)))
            return [c.model_copy(deep=True) for c in have[:k]]


class VotingCritic:
    """Samples ``k`` critiques from ``critic`` and reduces them; the result carries confidence and samples.

    Args:
        critic: The critic to sample (an LLM critic should run at temperature > 0, or all k samples agree).
        k: Number of samples.
        reducer: ``list[Critique] -> Critique`` (default :func:`~critica.aggregate.reducers.majority`).
        cache: Optional shared :class:`SampleCache` (draws are reused across wrappers).
        name: Name of the aggregated critique (default ``vote{k}(<critic>)``).
    """

    def __init__(self, critic: Critic, k: int, *, reducer: Reducer = majority, cache: SampleCache | None = None,
                 name: str | None = None) -> None:
        if k < 1:
            raise ValueError("k must be at least 1")
        self.inner = critic
        self.k = k
        self.reducer = reducer
        self.cache = cache
        self.name = name or f"vote{k}({critic.name})"
        self.caller = getattr(critic, "caller", None)

    async def samples(self, item: Item) -> list[Critique]:
        """The k samples of ``item`` (from the cache when one is set)."""
        if self.cache is not None:
            return await self.cache.get(self.inner, item, self.k)
        return await draw_samples(self.inner, item, self.k)

    async def critique(self, item: Item) -> Critique:
        start = time.perf_counter()
        samples = await self.samples(item)
        out = note_failures(self.reducer(samples), _labelled(samples))
        out.critic = self.name
        # With a shared SampleCache the wall time is not this vote's (draws reused from, or waited on behind, others).
        elapsed = time.perf_counter() - start if self.cache is None else 0.0
        out.latency_s = max(elapsed, phase_latency([samples]))
        return out


def _numbers(v: object) -> list[float] | None:
    if isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        return list(v)
    return None


def critique_as_item(item: Item, critique: Critique, index: int = 0) -> Item:
    """An item whose *response* is ``critique``, for a meta critic to judge.

    The question shows the original problem and the numbered steps under review; the response states the
    critique's verdict, first error (1-based, as people read it) and explanation.

    A critique of several responses (``Item.candidates``, or per-response ``metadata["scores"]``, as the
    ``principles`` critic writes them) is shown whole, as DeepSeek-GRM's meta RM rates the whole generated
    critique: the question lists every response and the principles given with the item; the response holds the
    critique's principles, its critique of each response, each response's score and the best one.
    """
    # the parts come from the item and the critic's reply: their markup is neutralised (critica.critics.markup)
    def clean(text: str, limit: int = 4000) -> str:
        return neutralise(text[:limit], strict=True, inline=True)

    responses = [item.text, *item.candidates]
    scores = _numbers(critique.metadata.get("scores"))
    if len(responses) < 2 and (scores is None or len(scores) < 2):
        question = (f"Problem:\n{neutralise(item.question, strict=True)}\n\n"
                    f"Solution under review:\n{numbered_steps(item_steps(item))}")
        return Item(id=f"{item.id}#meta{index}", question=question, response=critique_text(critique),
                    metadata={"meta_of": item.id, "sample_index": index})

    shown = "\n\n".join(f"[Response {i}]\n{neutralise(r, strict=True)}" for i, r in enumerate(responses, 1))
    question = f"Problem:\n{neutralise(item.question, strict=True)}\n\nResponses under review:\n{shown}"
    if item.principles:
        question += "\n\nPrinciples given with the problem:\n" + "\n".join(f"- {clean(p, 1000)}" for p in item.principles)
    lines: list[str] = []
    principles = critique.metadata.get("principles")
    if isinstance(principles, list) and principles:
        lines.append("Principles:\n" + "\n".join(f"- {clean(str(p), 1000)}" for p in principles))
    critiques = critique.metadata.get("critiques")
    if isinstance(critiques, list) and len(critiques) == len(responses):
        lines.append("Critiques:\n" + "\n".join(f"[Response {i}] {clean(str(c))}" for i, c in enumerate(critiques, 1)))
    elif critique.explanation:
        lines.append(f"Critique: {clean(critique.explanation)}")
    if scores is not None:
        scale = f" (scale {critique.score.min:g}-{critique.score.max:g})" if critique.score is not None else ""
        lines.append(f"Scores{scale}: " + "; ".join(f"Response {i}: {v:g}" for i, v in enumerate(scores, 1)) + ".")
        top = max(scores)
        lines.append("Best: " + ", ".join(f"Response {i}" for i, v in enumerate(scores, 1) if v == top) + ".")
    elif critique.score is not None:
        lines.append(f"Score of response 1: {critique.score.value:g} on a {critique.score.min:g}-"
                     f"{critique.score.max:g} scale.")
    lines.append(f"Verdict on response 1: {critique.verdict.value}.")
    return Item(id=f"{item.id}#meta{index}", question=question, response="\n".join(lines),
                metadata={"meta_of": item.id, "sample_index": index})


def critique_text(critique: Critique) -> str:
    """A critique as the plain text a reader sees: verdict, first error (1-based), score and explanation."""
    lines = [f"Verdict: the solution is {critique.verdict.value}."]
    if critique.first_error_display is not None:
        lines.append(f"First error: step {critique.first_error_display}.")
    if critique.score is not None:
        lines.append(f"Score: {critique.score.value:g} on a {critique.score.min:g}-{critique.score.max:g} scale.")
    if critique.explanation:
        lines.append(f"Explanation: {neutralise(critique.explanation[:4000], strict=True, inline=True)}")
    return "\n".join(lines)


def critique_in_metadata(item: Item, critique: Critique, index: int = 0) -> Item:
    """``item`` itself with ``critique`` in ``metadata["critique"]``, for judges that score a critique of the item.

    A MetaCritique judge (Sun et al. 2024) checks each claim of a critique against the question, the response and
    the reference answer, and its coverage of the item's ``reference_critique``: it needs the original item, not
    the critique posing as a response (:func:`critique_as_item`), or the critique would be its own evidence.
    """
    metadata = {**item.metadata, "critique": critique_text(critique), "meta_of": item.id, "sample_index": index}
    for given in ("critique_aius",):  # AIUs given with the item belong to its stored critique, not to this sample
        metadata.pop(given, None)
    return item.model_copy(update={"id": f"{item.id}#meta{index}", "metadata": metadata})


def meta_item(meta: Critic, item: Item, critique: Critique, index: int = 0) -> Item:
    """What ``meta`` is shown to rate ``critique``: judges of critiques by content (``reads_critique``) get the
    item with the critique beside it; every other critic gets the critique as the response to judge."""
    if getattr(meta, "reads_critique", False):
        return critique_in_metadata(item, critique, index)
    return critique_as_item(item, critique, index)


def rating_of(meta: Critique) -> float | None:
    """A meta critique as a rating in [0, 1]: its normalised score, else 1/0 for a correct/incorrect critique."""
    if meta.verdict == Verdict.UNSCORED:
        return None
    if meta.score is not None:
        return meta.score.normalized
    return 1.0 if meta.verdict == Verdict.CORRECT else 0.0


class MetaFilteredCritic:
    """Samples ``k`` critiques, has ``meta`` rate each one, and lets only the ``keep`` best-rated vote.

    ``samples`` of the result are the voters; ``metadata["meta"]`` lists every drawn sample's rating and whether
    it voted; ``usage`` includes the dropped samples and the meta critic's calls.
    """

    def __init__(self, critic: Critic, meta: Critic, k: int, keep: int | None = None, *,
                 reducer: Reducer = majority, name: str | None = None) -> None:
        if k < 1:
            raise ValueError("k must be at least 1")
        self.inner = critic
        self.meta = meta
        self.k = k
        self.keep = max(1, min(k, keep if keep is not None else (k + 1) // 2))
        self.reducer = reducer
        self.name = name or f"meta{self.keep}of{k}({critic.name}|{meta.name})"
        self.caller = getattr(critic, "caller", None)

    async def critique(self, item: Item) -> Critique:
        start = time.perf_counter()
        drawn = await draw_samples(self.inner, item, self.k)
        scored = [i for i, c in enumerate(drawn) if c.verdict != Verdict.UNSCORED]
        metas = await asyncio.gather(*(_safe(self.meta, meta_item(self.meta, item, drawn[i], i)) for i in scored))
        ratings: list[float | None] = [None] * len(drawn)
        for i, m in zip(scored, metas, strict=True):
            ratings[i] = rating_of(m)
        kept = filter_top(drawn, ratings, self.keep)
        out = self.reducer(kept)
        kept_ids = {id(c) for c in kept}
        out.critic = self.name
        out.usage = sum_usage(drawn) + sum_usage(metas)
        out.latency_s = max(time.perf_counter() - start, phase_latency([drawn, metas]))  # sampling, then rating
        out.metadata["meta"] = [
            {"sample_index": i, "rating": ratings[i], "verdict": c.verdict.value, "voted": id(c) in kept_ids}
            for i, c in enumerate(drawn)
        ]
        out.metadata["meta_failed"] = sum(1 for m in metas if m.verdict == Verdict.UNSCORED)
        rated = [(f"meta of sample {i}", m) for i, m in zip(scored, metas, strict=True)]
        return note_failures(out, _labelled(drawn) + rated)


class AdaptiveVotingCritic:
    """Draws samples in rounds and stops once the vote is settled; reports what it actually spent.

    Stop rules (checked after every round):

    * ``"decided"`` — more samples cannot change the voted answer, given the ``max_k - drawn`` samples left
      (``decided``: :func:`vote_decided` for the verdict-then-step majority,
      :func:`~critica.aggregate.reducers.answer_decided` for ``answer_mode``; under score-sum voting, the verdict of
      the sum whatever the samples left score, :func:`~critica.aggregate.reducers.sum_decided`). The first round
      draws the fewest samples that could settle it
      (``max_k // 2 + 1``), in one request.
    * ``"margin"`` — the top verdict (and first-error step) leads the runner-up by ``margin`` votes.
    * ``"confidence"`` — the top verdict's vote share is at least ``min_confidence`` over ``min_samples`` or more
      scored votes.

    ``metadata["adaptive"]`` records samples drawn, rounds, the stop reason and the max; ``usage`` is what was spent.
    """

    def __init__(self, critic: Critic, max_k: int, *, stop: StopRule = "decided", margin: int = 2,
                 min_confidence: float = 0.8, min_samples: int = 3, round_size: int = 1,
                 reducer: Reducer = majority, name: str | None = None,
                 decided: Callable[[Sequence[Critique], int], bool] = vote_decided) -> None:
        if max_k < 1 or round_size < 1:
            raise ValueError("max_k and round_size must be at least 1")
        if stop not in ("decided", "margin", "confidence"):
            raise ValueError(f"unknown stop rule {stop!r}")
        self.inner = critic
        self.max_k = max_k
        self.stop = stop
        self.margin = max(1, margin)
        self.min_confidence = min_confidence
        self.min_samples = max(1, min_samples)
        self.round_size = round_size
        self.reducer = reducer
        self.decided = decided
        self.name = name or f"adaptive{max_k}({critic.name})"
        self.caller = getattr(critic, "caller", None)

    def _first_round(self) -> int:
        need = {"decided": self.max_k // 2 + 1, "margin": self.margin, "confidence": self.min_samples}[self.stop]
        return max(1, min(self.max_k, need))

    def settled(self, samples: Sequence[Critique]) -> bool:
        """Whether the stop rule is met by ``samples`` (with ``max_k - len(samples)`` draws left)."""
        remaining = self.max_k - len(samples)
        if remaining <= 0:
            return True
        if self.stop == "decided":
            if self.reducer(list(samples)).metadata.get("verdict_rule") == "score_sum":
                return sum_decided(samples, remaining)  # the sum decides, not the verdict vote
            return self.decided(samples, remaining)
        scored = [c for c in samples if c.verdict != Verdict.UNSCORED]
        if not scored:
            return False
        lead, step_lead = vote_lead(scored)
        top_incorrect = self.reducer(list(scored)).verdict == Verdict.INCORRECT
        if self.stop == "margin":
            return lead >= self.margin and (not top_incorrect or step_lead >= self.margin)
        top = max(sum(c.verdict == v for c in scored) for v in (Verdict.CORRECT, Verdict.INCORRECT))
        return len(scored) >= self.min_samples and top / len(scored) >= self.min_confidence

    async def critique(self, item: Item) -> Critique:
        start = time.perf_counter()
        samples: list[Critique] = []
        rounds: list[list[Critique]] = []
        size = self._first_round()
        while True:
            rounds.append(await draw_samples(self.inner, item, min(size, self.max_k - len(samples)), offset=len(samples)))
            samples += rounds[-1]
            if self.settled(samples):
                break
            size = self.round_size
        out = self.reducer(samples)
        out.critic = self.name
        out.latency_s = max(time.perf_counter() - start, phase_latency(rounds))  # one round after another
        # Reaching max_k means the rule never fired early; no samples were saved.
        reason = "max_k" if len(samples) >= self.max_k else self.stop
        out.metadata["adaptive"] = {"drawn": len(samples), "max_k": self.max_k, "rounds": len(rounds), "stopped": reason,
                                    "rule": self.stop}
        return note_failures(out, _labelled(samples))

