"""Reference engines on the very same analysed tokens and question terms as ours.

- ``rank_bm25.BM25Plus`` (k1=1.2, b=0.75, delta=1): the ranking ours reproduces bit for bit;
- ``bm25s`` (method "bm25+", same k1, b, delta; numba backend where installed): sparse
  matrices of precomputed scores;
- ``tantivy`` (Rust, Lucene's BM25, whitespace tokenizer over our tokens): an
  inverted index with block-max WAND.

Each gets the same records' token lists (our analyser's output, field weights
as repetition) and the same question terms; rankings differ from ours for
bm25s and tantivy (their idf and float32 scores), so overlap@10 with our top-10
is reported instead of identity. Timed per question: the engine's own top-10.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from bot.search.scorer import DELTA, K1, B

TOP_K = 10


def _timed(
    search: Callable[[list[str]], list[int]], queries: Sequence[list[str]]
) -> tuple[list[float], list[list[int]]]:
    times, found = [], []
    for terms in queries:
        t0 = time.perf_counter()
        ids = search(terms)
        times.append(time.perf_counter() - t0)
        found.append(ids)
    return times, found


def numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


def bm25s_engine(
    docs: Callable[[], Iterator[list[str]]], queries: Sequence[list[str]]
) -> dict[str, Any]:
    import bm25s

    backend = "numba" if numba_installed() else "numpy"
    t0 = time.perf_counter()
    model = bm25s.BM25(k1=K1, b=B, delta=DELTA, method="bm25+", backend=backend)
    model.index(list(docs()), show_progress=False)
    build = time.perf_counter() - t0
    vocab = model.vocab_dict

    def search(terms: list[str]) -> list[int]:
        known = [t for t in terms if t in vocab]
        if not known:
            return []
        ids, scores = model.retrieve(
            [known], k=TOP_K, show_progress=False, n_threads=1, backend_selection=backend
        )
        return [int(i) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]

    search(queries[0] if queries else ["x"])  # warm-up: numba compiles on first use
    times, found = _timed(search, queries)
    return {
        "name": f"bm25s {bm25s.__version__} ({backend})",
        "build_s": build,
        "times": times,
        "found": found,
    }


def tantivy_engine(
    docs: Callable[[], Iterator[list[str]]], queries: Sequence[list[str]]
) -> dict[str, Any]:
    import tantivy

    t0 = time.perf_counter()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", tokenizer_name="whitespace")
    builder.add_unsigned_field("idx", stored=True)
    schema = builder.build()
    index = tantivy.Index(schema)
    writer = index.writer(heap_size=200_000_000, num_threads=1)
    for i, tokens in enumerate(docs()):
        writer.add_document(tantivy.Document(body=" ".join(tokens), idx=i))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    build = time.perf_counter() - t0
    occur, term_query = tantivy.Occur.Should, tantivy.Query.term_query

    def search(terms: list[str]) -> list[int]:
        query = tantivy.Query.boolean_query([(occur, term_query(schema, "body", t)) for t in terms])
        return [a for _, a in searcher.search(query, TOP_K).hits]  # type: ignore[misc]

    times, hits = _timed(search, queries)
    # Doc addresses to record numbers, outside the timing.
    found = [[int(searcher.doc(a)["idx"][0]) for a in h] for h in hits]
    version = getattr(tantivy, "__version__", "")
    return {"name": version or "tantivy", "build_s": build, "times": times, "found": found}


def overlap(ours: Sequence[Sequence[int]], theirs: Sequence[Sequence[int]]) -> float:
    """Mean share of our top-10 that the other engine's top-10 holds (questions we answer)."""
    shares = [len(set(a) & set(b)) / len(a) for a, b in zip(ours, theirs, strict=True) if a]
    return float(np.mean(shares)) if shares else float("nan")
