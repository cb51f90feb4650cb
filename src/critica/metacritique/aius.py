"""Atomic information units without a model: a critique split into sentences, then into clauses.

The paper extracts AIUs with an LLM (``metacritique_extract`` prompt); the offline judge approximates that with
rules: sentences as :func:`critica.verifiers.evidence.split_sentences` finds them (list items, paragraphs,
sentence ends), each split again at clause boundaries that usually start a new claim (``;``, ``, which``,
``, but``, ``, while``, ``, whereas``, ``, so``, `` because``), list markers and header words (``Suggestion:``)
stripped, and fragments of fewer than three words joined to their neighbour. Deterministic.
"""

from __future__ import annotations

import re

from critica.verifiers.evidence import split_sentences

__all__ = ["split_aius"]

_CLAUSE = re.compile(r"\s*;\s+|,\s+(?=(?:which|but|while|whereas|so|as it|since|because)\b)|\s+(?=because\b)",
                     re.IGNORECASE)
_LEAD = re.compile(r"^(?:[-*•]+|\(?\d+[.)]|[a-z][.)])\s+|^(?:[A-Za-z ]{2,24}):\s*\n?", re.IGNORECASE)
_WORDY = re.compile(r"[A-Za-z]{2}")
_MIN_WORDS = 3
_MAX_AIUS = 64
"""A critique longer than this many units is cut (bounds the work per critique; a note says so)."""


def split_aius(critique: str) -> list[str]:
    """The critique's AIUs by sentence and clause splitting (empty for an empty critique)."""
    out: list[str] = []
    for sentence in split_sentences(critique.strip()):
        text = sentence.strip()
        if not _WORDY.search(text):  # a bare list number ("1.") that the sentence splitter cut off
            continue
        for _ in range(2):  # "1. Suggestion: …" carries two leads
            text = _LEAD.sub("", text, count=1).strip()
        pieces = [p.strip(" ,;") for p in _CLAUSE.split(text) if p and p.strip(" ,;")]
        merged: list[str] = []
        for p in pieces:
            if merged and len(p.split()) < _MIN_WORDS:
                merged[-1] = f"{merged[-1]}, {p}"
            elif merged and len(merged[-1].split()) < _MIN_WORDS:
                merged[-1] = f"{merged[-1]} {p}"
            else:
                merged.append(p)
        out.extend(m for m in merged if m)
    return out[:_MAX_AIUS]
