"""bot/search/ann.py: the approximate vector index, its recall, persistence and updates."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.search import ann
from bot.search.build import open_index
from bot.search.vectors import VectorIndex, record_key, vector_index
from tests.records import record, write_records

DIM = 32


def clustered(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, DIM))
    x = centres[rng.integers(0, 40, n)] + 0.4 * rng.standard_normal((n, DIM))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def keys(n: int, salt: str = "") -> list[bytes]:
    return [record_key(f"{salt}{i}".encode()) for i in range(n)]


def recall(index: ann.AnnIndex, x: np.ndarray, questions: np.ndarray) -> float:
    hits = 0
    for q in questions:
        exact = set(np.argsort(-(x @ q))[:10].tolist())
        hits += len(exact & set(index.top_k(q, 10)[0].tolist()))
    return hits / (10 * len(questions))


def test_recall_against_exact_search() -> None:
    x = clustered(4000)
    index = ann.AnnIndex.build(ann.keys_of(keys(4000)), x)
    assert recall(index, x, clustered(50, seed=1)) >= 0.95
    positions, sims = index.top_k(x[17], 5)
    assert positions[0] == 17 and sims[0] == pytest.approx(1.0, abs=0.02)
    assert index.similarity(x[17], [17, 3]) == pytest.approx(x[[17, 3]] @ x[17], abs=0.02)


def test_saved_index_is_updated_in_place_with_positions_remapped(tmp_path: Path) -> None:
    x = clustered(3000)
    k = keys(3000)
    first = ann.ann_index(ann.keys_of(k), lambda r: x[r], DIM, tmp_path, "m")
    assert first.top_k(x[5], 1)[0].tolist() == [5]
    # Records 0-99 go, 200 new ones come, and the rest move down by 100.
    y = np.vstack([x[100:], clustered(200, seed=2)])
    k2 = k[100:] + keys(200, "new")
    built: list[int] = []
    real = ann.AnnIndex.build
    ann.AnnIndex.build = classmethod(lambda cls, *a, **kw: built.append(1) or real(*a, **kw))  # type: ignore[method-assign, assignment]
    try:
        second = ann.ann_index(ann.keys_of(k2), lambda r: y[r], DIM, tmp_path, "m")
    finally:
        ann.AnnIndex.build = real  # type: ignore[method-assign]
    assert not built  # updated, not rebuilt
    assert second.top_k(x[5 + 100], 1)[0].tolist() == [5]
    assert second.top_k(y[-1], 1)[0].tolist() == [len(y) - 1]
    assert all(p >= 0 for p in second.top_k(x[50], 10)[0].tolist())  # gone keys never appear
    loaded = ann.AnnIndex.load(ann.ann_path(tmp_path, "m"), ann.keys_of(k2), DIM)
    assert loaded is not None and loaded[1] == set(ann.keys_of(k2).tolist())


def test_damaged_index_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    x = clustered(500)
    k = ann.keys_of(keys(500))
    ann.ann_index(k, lambda r: x[r], DIM, tmp_path, "m")
    path = ann.ann_path(tmp_path, "m")
    path.write_bytes(path.read_bytes()[:100])
    again = ann.ann_index(k, lambda r: x[r], DIM, tmp_path, "m")
    assert again.top_k(x[3], 1)[0].tolist() == [3] and "ignoring vector index" in caplog.text


class HashEmbedder:
    """Words hashed onto fixed random directions: enough meaning to test search with."""

    name = "test-hash"
    multilingual = False

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest())
                out[i] += np.random.default_rng(seed).standard_normal(DIM)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def test_vector_index_switches_to_the_approximate_index_above_the_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"claim number {i} about topic{i % 50} and place{i % 7}" for i in range(400)]
    k = keys(400)
    embedder = HashEmbedder()
    exact = vector_index(embedder, texts, k, tmp_path)
    assert exact.ann is None and exact.vectors.shape == (400, DIM)
    monkeypatch.setattr("bot.search.vectors.ANN_MIN_VECTORS", 100)
    approx = vector_index(embedder, texts, k, tmp_path)
    assert embedder.calls == 400  # the second read every vector from the cache
    assert approx.ann is not None and not len(approx.vectors) and len(approx) == 400
    q = embedder.embed(["topic7 place3"])[0]
    assert set(approx.top_k(q, 10)[0].tolist()) & set(exact.top_k(q, 10)[0].tolist())
    assert isinstance(approx, VectorIndex)


def test_hybrid_search_over_the_approximate_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.search.vectors.ANN_MIN_VECTORS", 50)
    records = [
        record(f"r-{i}", claim=f"Forces struck depot {i} near town{i % 9}.") for i in range(120)
    ]
    write_records(tmp_path / "kb", records)
    index = open_index(tmp_path / "kb", tmp_path / "cache", HashEmbedder())
    assert index.vectors is not None and index.vectors.ann is not None
    hits = index.search("depot near town4")
    assert hits and all(h.similarity is not None for h in hits)
    assert any("town4" in h.record.claim for h in hits[:3])


def test_candidates_are_re_ranked_by_the_cached_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.search.vectors.ANN_MIN_VECTORS", 100)
    texts = [f"claim number {i} about topic{i % 50} and place{i % 7}" for i in range(400)]
    index = vector_index(HashEmbedder(), texts, keys(400), tmp_path)
    assert index.ann is not None and isinstance(index.ann.rows, ann.FileRows)
    q = HashEmbedder().embed(["topic7 place3"])[0]
    positions, sims = index.top_k(q, 10)
    rows = HashEmbedder().embed(texts).astype(np.float16).astype(np.float32)
    assert sims == pytest.approx(rows[positions] @ q, abs=1e-5)  # exact, not 8-bit, cosines
    assert list(sims) == sorted(sims, reverse=True)
