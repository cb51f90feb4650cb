"""Using critiques: critique→revise loops, critique-driven alignment for RAG, best-of-N and step-level search."""

from critica.loops.generate import Draft, Generator, render_critique
from critica.loops.rag import align
from critica.loops.revise import Round, StopReason, Trajectory, accepts, refine, refine_many
from critica.loops.search import Candidate, Node, Ranking, SearchResult, best_of_n, rerank, step_search

__all__ = [
    "Candidate",
    "Draft",
    "Generator",
    "Node",
    "Ranking",
    "Round",
    "SearchResult",
    "StopReason",
    "Trajectory",
    "accepts",
    "align",
    "best_of_n",
    "refine",
    "refine_many",
    "render_critique",
    "rerank",
    "step_search",
]
