"""A stand-in sentence embedder for the benchmark: words hashed onto random directions.

The real model (all-MiniLM-L6-v2 on ONNX Runtime) embeds ~25 records a second
on this shared 2-core machine, so 100k records would take over an hour and 1M
most of a day. The benchmark measures everything around the model instead —
the vector cache, the approximate index, its updates, its recall and latency —
with vectors that have the property those depend on: records sharing words
lie near each other. Each analysed term (``bot.search.analysis.Analyzer``)
picks one of :data:`BUCKETS` fixed Gaussian directions (crc32 of the term);
a text's vector is the L2-normalised sum over its terms. The model's own cost
is reported separately as its measured rate.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse

from bot.search.analysis import Analyzer

DIM = 384
BUCKETS = 16_384


class HashEmbedder:
    """Implements :class:`bot.search.vectors.Embedder`: deterministic, fast, no model."""

    name = f"bench-hash-{DIM}x{BUCKETS}"
    multilingual = False

    def __init__(self, seed: int = 3, weight: Callable[[str], float] | None = None) -> None:
        """``weight``: a term's weight (e.g. its IDF, so rare words dominate a vector as
        content words dominate a sentence embedding); 1 for every term without it."""
        self._weight = weight
        rng = np.random.default_rng(seed)
        self._directions = rng.standard_normal((BUCKETS, DIM)).astype(np.float32)
        self._analyzer = Analyzer(())
        self._bucket: dict[str, tuple[int, float]] = {}

    def _buckets(self, text: str) -> list[tuple[int, float]]:
        out = []
        for term in self._analyzer.terms(text):
            b = self._bucket.get(term)
            if b is None:
                b = self._bucket[term] = (
                    zlib.crc32(term.encode()) % BUCKETS,
                    self._weight(term) if self._weight is not None else 1.0,
                )
            out.append(b)
        return out

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = [self._buckets(t) for t in texts]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=indptr[1:])
        total = int(indptr[-1])
        cols = np.fromiter((b for r in rows for b, _ in r), dtype=np.int64, count=total)
        weights = np.fromiter((w for r in rows for _, w in r), dtype=np.float32, count=total)
        counts = scipy.sparse.csr_matrix((weights, cols, indptr), shape=(len(rows), BUCKETS))
        vectors = np.asarray(counts @ self._directions, dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors
