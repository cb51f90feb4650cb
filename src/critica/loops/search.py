"""Critic-guided selection: best-of-N reranking and step-level beam search.

**Best-of-N** (reranking with a verifier, Cobbe et al., 2021, "Training Verifiers to Solve Math Word Problems",
arXiv:2110.14168; with LLM critics as the verifier, e.g. Zheng et al., 2023, arXiv:2306.05685): N candidates are
written (or given), every candidate is critiqued by every critic of a panel, and the best is returned with the
scores of all.

Candidate score (:func:`critique_score`): the critique's ``score`` mapped to [0, 1] when it has one, otherwise
its verdict (correct = 1, incorrect = 0); an unscored critique contributes nothing. A candidate's score is the mean
over the critics that scored it; a candidate no critic scored is *unscored* and is never chosen over a scored
one. Ties are explicit: among equal best scores the earliest candidate wins, and all tied indices are reported.
When nothing could be scored, no candidate is chosen (``best is None``) and the status says why.

**Step-level search** (critic-guided beam search over reasoning steps, as in Yao et al., 2023, "Tree of
Thoughts", arXiv:2305.10601, and process-reward-guided search, Lightman et al., 2023, arXiv:2305.20050): the
generator proposes ``expand`` candidate next steps for each of the ``beam`` kept partial solutions; a process
critic judges each extended partial solution (:func:`partial_score`: a flagged error scores 0); the best ``beam``
survive. A partial solution whose last step contains a final answer is complete. Budgets: ``max_steps`` depth and
``max_tokens`` across all generator and critic calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from pydantic import BaseModel, Field

from critica.budget import ItemBudget
from critica.critics.base import Critic
from critica.critics.parse import last_boxed
from critica.errors import BackendError, UserError
from critica.loops.generate import Generator
from critica.run.runner import critique_within
from critica.types import Critique, Item, Usage, Verdict

__all__ = ["critique_score", "partial_score", "Candidate", "Ranking", "rerank", "best_of_n", "Node",
           "SearchResult", "step_search"]


def critique_score(critique: Critique) -> float | None:
    """A critique as a number in [0, 1]: its normalised score, else its verdict (1/0); None when unscored."""
    if critique.error is not None:
        return None
    if critique.score is not None:
        return critique.score.normalized
    if critique.verdict == Verdict.CORRECT:
        return 1.0
    if critique.verdict == Verdict.INCORRECT:
        return 0.0
    return None


def partial_score(critique: Critique) -> float | None:
    """Score of a partial solution from a process critic: 0 when any step is flagged, else :func:`critique_score`."""
    if critique.error is None and critique.first_error_step is not None:
        return 0.0
    return critique_score(critique)


class Candidate(BaseModel):
    """One candidate response with its critiques."""

    index: int
    """Position among the candidates (0 = the item's ``response``)."""
    text: str
    score: float | None = None
    """Mean of the critics' scores in [0, 1]; None when no critic could score it."""
    critiques: list[Critique] = Field(default_factory=list)
    """One critique per critic of the panel, in panel order."""


class Ranking(BaseModel):
    """Best-of-N result: the chosen candidate and the scores of all."""

    item_id: str
    best: int | None
    """Index of the chosen candidate; None when no candidate could be scored (see ``status``)."""
    status: str
    """``ok``, ``tie`` (several share the best score; the earliest was chosen), ``unscored`` or ``no_candidates``."""
    tied: list[int] = Field(default_factory=list)
    """Indices sharing the best score (including ``best``) when there is a tie."""
    unscored: list[int] = Field(default_factory=list)
    """Indices of candidates no critic could score."""
    candidates: list[Candidate]
    critics: list[str]
    usage: Usage = Field(default_factory=Usage)
    error: str | None = None

    @property
    def best_text(self) -> str | None:
        """Text of the chosen candidate, or None."""
        return None if self.best is None else self.candidates[self.best].text


def _as_panel(critics: Critic | Sequence[Critic]) -> list[Critic]:
    panel = [critics] if not isinstance(critics, Sequence) else list(critics)
    if not panel:
        raise UserError("reranking needs at least one critic")
    return panel


def _choose(item_id: str, candidates: list[Candidate], panel: list[Critic], usage: Usage) -> Ranking:
    names = [getattr(c, "name", "critic") for c in panel]
    unscored_idx = [c.index for c in candidates if c.score is None]
    scored = [c for c in candidates if c.score is not None]
    if not candidates:
        return Ranking(item_id=item_id, best=None, status="no_candidates", candidates=[], critics=names, usage=usage)
    if not scored:
        return Ranking(item_id=item_id, best=None, status="unscored", unscored=unscored_idx, candidates=candidates,
                       critics=names, usage=usage)
    top = max(c.score for c in scored if c.score is not None)
    # Scores are means of a few numbers in [0, 1]; an epsilon keeps 2/3 and 0.666… from breaking a true tie.
    tied = [c.index for c in scored if c.score is not None and abs(c.score - top) <= 1e-9]
    return Ranking(item_id=item_id, best=tied[0], status="tie" if len(tied) > 1 else "ok",
                   tied=tied if len(tied) > 1 else [], unscored=unscored_idx, candidates=candidates, critics=names,
                   usage=usage)


async def rerank(item: Item, critics: Critic | Sequence[Critic], *, candidates: Sequence[str] | None = None,
                 budget: ItemBudget | None = None) -> Ranking:
    """Score every candidate with every critic and choose the best.

    Args:
        item: The question; its candidates are ``[item.response, *item.candidates]`` unless given.
        critics: One critic or a panel (each candidate's score is the mean over critics that scored it).
        candidates: Candidate texts to use instead of the item's.
        budget: Size and time budget of each critique (default :class:`~critica.budget.ItemBudget`); a candidate
            over it is unscored (:func:`~critica.run.runner.critique_within`).
    """
    panel = _as_panel(critics)
    texts = list(candidates) if candidates is not None else [t for t in [item.response, *item.candidates] if t is not None]
    if candidates is None and item.response is None and item.steps:
        texts = [item.text, *item.candidates]
    jobs = [critique_within(critic, item.model_copy(update={"id": f"{item.id}#{i}", "response": text, "steps": None,
                                                            "candidates": []}), budget)
            for i, text in enumerate(texts) for critic in panel]
    results = await asyncio.gather(*jobs)
    usage = Usage()
    out: list[Candidate] = []
    for i, text in enumerate(texts):
        crits = list(results[i * len(panel):(i + 1) * len(panel)])
        for c in crits:
            c.item_id = item.id
            usage = usage + c.usage
        scores = [s for s in (critique_score(c) for c in crits) if s is not None]
        out.append(Candidate(index=i, text=text, score=sum(scores) / len(scores) if scores else None, critiques=crits))
    return _choose(item.id, out, panel, usage)


async def best_of_n(item: Item, critics: Critic | Sequence[Critic], generator: Generator, n: int = 4, *,
                    budget: ItemBudget | None = None) -> Ranking:
    """Have ``generator`` write ``n`` answers to ``item.question`` (sampled), then :func:`rerank` them (each
    critique within ``budget``).

    A failed generation call yields a ranking with no candidates and the error, not an exception.
    """
    if n < 1:
        raise UserError(f"best-of-N needs n >= 1, got {n}")
    panel = _as_panel(critics)
    try:
        drafts = await generator.answer(item.question, n=n, item=item)
    except BackendError as e:
        ranking = _choose(item.id, [], panel, Usage())
        ranking.error = f"generation failed: {e}"
        return ranking
    ranking = await rerank(item, panel, candidates=[d.text for d in drafts], budget=budget)
    for d in drafts:
        ranking.usage = ranking.usage + d.usage
    return ranking


class Node(BaseModel):
    """One partial solution considered by the search."""

    id: int
    parent: int | None
    """Id of the node this one extends (None for first steps)."""
    depth: int
    """Number of steps (1 for a first step)."""
    step: str
    """The step this node adds."""
    score: float | None = None
    """:func:`partial_score` of the partial solution ending here."""
    verdict: Verdict | None = None
    first_error_step: int | None = None
    complete: bool = False
    """The step states a final answer."""
    kept: bool = False
    """Survived pruning (in the beam, or complete and kept as a finished solution)."""


class SearchResult(BaseModel):
    """Outcome of a step-level search, with the whole search tree."""

    item_id: str
    question: str
    steps: list[str]
    """The chosen solution's steps (a complete one if any was found)."""
    score: float | None
    complete: bool
    """Whether the chosen solution states a final answer."""
    stop_reason: str
    """``solved`` (beam exhausted by complete solutions), ``max_steps``, ``token_budget``, ``no_proposals``."""
    nodes: list[Node]
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    error: str | None = None

    @property
    def text(self) -> str:
        """The chosen solution as text, one step per paragraph."""
        return "\n\n".join(self.steps)


def _rank_key(score: float | None, node_id: int) -> tuple[int, float, int]:
    # Scored before unscored, higher first, then earlier-created first (deterministic ties).
    return (0 if score is not None else 1, -(score or 0.0), node_id)


async def step_search(
    item: Item,
    critic: Critic,
    generator: Generator,
    *,
    beam: int = 2,
    expand: int = 2,
    max_steps: int = 8,
    max_tokens: int | None = None,
    is_complete: Callable[[str], bool] | None = None,
    budget: ItemBudget | None = None,
) -> SearchResult:
    """Beam search over solution steps guided by a process critic.

    Args:
        item: The question (its response, if any, is ignored).
        critic: A process critic (flags the first wrong step, e.g. ``processbench``); any critic works.
        generator: Proposes candidate next steps.
        beam: Partial solutions kept per depth.
        expand: Candidate next steps proposed per kept partial solution.
        max_steps: Most steps in a solution.
        max_tokens: Token budget over all calls; the search stops at the first depth that exceeds it.
        is_complete: Whether a step finishes the solution (default: it contains ``\\boxed{}``).
        budget: Size and time budget of each critique of a partial solution (default
            :class:`~critica.budget.ItemBudget`; :func:`~critica.run.runner.critique_within`).
    """
    if beam < 1 or expand < 1 or max_steps < 1:
        raise UserError("step search needs beam, expand and max_steps >= 1")
    done = is_complete or (lambda step: last_boxed(step) is not None)
    start = time.perf_counter()
    nodes: list[Node] = []
    paths: dict[int, list[str]] = {}
    frontier: list[int | None] = [None]
    finished: list[int] = []
    usage = Usage()
    stop, error = "max_steps", None
    for depth in range(1, max_steps + 1):
        if max_tokens is not None and usage.total_tokens >= max_tokens:
            stop = "token_budget"
            break
        proposals: list[tuple[int | None, str]] = []
        for parent in frontier:
            prefix = [] if parent is None else paths[parent]
            try:
                drafts = await generator.next_steps(item.question, prefix, expand, seed=generator.seed + 1000 * depth,
                                                       item=item)
            except BackendError as e:
                error = f"step proposal failed: {e}"
                continue
            seen: set[str] = set()
            for d in drafts:
                usage = usage + d.usage
                # Identical proposals would fill the beam with copies of one path.
                if d.text and d.text not in seen:
                    seen.add(d.text)
                    proposals.append((parent, d.text))
        if not proposals:
            stop = "no_proposals"
            break
        new: list[Node] = []
        for parent, step in proposals:
            node = Node(id=len(nodes), parent=parent, depth=depth, step=step, complete=done(step))
            nodes.append(node)
            paths[node.id] = ([] if parent is None else paths[parent]) + [step]
            new.append(node)
        critiques = await asyncio.gather(*(
            critique_within(critic, Item(id=f"{item.id}@{n.id}", question=item.question, steps=paths[n.id]), budget)
            for n in new
        ))
        for node, crit in zip(new, critiques, strict=True):
            usage = usage + crit.usage
            node.score, node.verdict, node.first_error_step = partial_score(crit), crit.verdict, crit.first_error_step
        survivors = sorted(new, key=lambda n: _rank_key(n.score, n.id))[:beam]
        frontier = []
        for n in survivors:
            n.kept = True
            (finished if n.complete else frontier).append(n.id)
        if not frontier:
            stop = "solved"
            break
    pool = finished or [nid for nid in (frontier if frontier and frontier[0] is not None else []) if nid is not None]
    if not pool:
        return SearchResult(item_id=item.id, question=item.question, steps=[], score=None, complete=False,
                            stop_reason=stop, nodes=nodes, usage=usage, latency_s=time.perf_counter() - start, error=error)
    best = min(pool, key=lambda nid: _rank_key(nodes[nid].score, nid))
    return SearchResult(item_id=item.id, question=item.question, steps=paths[best], score=nodes[best].score,
                        complete=nodes[best].complete, stop_reason=stop, nodes=nodes, usage=usage,
                        latency_s=time.perf_counter() - start, error=error)
