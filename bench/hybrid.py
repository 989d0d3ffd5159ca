"""Benchmark of hybrid retrieval: embedding throughput, restart with cached vectors,
and the whole ``answer()`` with hybrid search beside BM25 alone, in one run.

Run from the repository root::

    python -m bench.hybrid --model ../shared/models/all-MiniLM-L6-v2-onnx
    python -m bench.hybrid --quick   # 1k records, a smoke run

What is measured, on generated records (``bench.generate``):

1. **embedding throughput**: records a second, the records' embedding text
   (claim and claimant), ``--embed`` records in batches of 64;
2. **cold start** at each size with BM25 and vectors computed: only for sizes
   up to ``--embed-all`` (10k by default: 100k takes ~15 minutes on 2 cores);
3. **restart with cached vectors**: a vector cache file for every record is
   read back and matched to the records by content key, as ``open_index``
   does after a restart. Above ``--embed-all`` the cached vectors are random
   unit vectors written under the records' real keys: reading and matching
   them costs exactly what real ones do, and answers are not timed on them;
   the first open there also builds the approximate index (reported apart),
   the restart then loads it;
4. **answer() p50/p99**: the bot's whole answer (question embedding
   included) with hybrid search and with BM25 alone, on the same questions.

No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import generate
from bot.answer.compose import answer
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import Record
from bot.search.build import with_vectors
from bot.search.index import Index
from bot.search.records import record_json
from bot.search.vectors import (
    Embedder,
    cache_file,
    load_model,
    model_spec,
    record_key,
    record_text,
    store_vectors,
)


def _records(n: int) -> list[Record]:
    return [Record.model_validate(r) for r in generate.records(n)]


def _percentiles(ms: list[float]) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def _answer_times(index: Index, questions: list[str]) -> tuple[float, float]:
    for q in questions[:10]:  # warm-up
        answer(index, q)
    times = []
    for q in questions:
        t0 = time.perf_counter()
        answer(index, q)
        times.append((time.perf_counter() - t0) * 1e3)
    return _percentiles(times)


def run_size(
    n: int, embedder: Embedder, embed_all: int, questions: int, workdir: Path
) -> dict[str, Any]:
    records = _records(n)
    knowledge = KnowledgeBase(records=tuple(records))
    t0 = time.perf_counter()
    lexical = Index.build(knowledge)
    bm25_build = time.perf_counter() - t0
    cache_dir = workdir / f"cache-{n}"
    result: dict[str, Any] = {"records": n, "bm25_build_s": bm25_build}
    keys = [record_key(record_json(r)) for r in records]
    if n <= embed_all:
        t0 = time.perf_counter()
        hybrid = with_vectors(lexical, embedder, cache_dir)
        result["cold_vectors_s"] = time.perf_counter() - t0
        result["real_vectors"] = True
    else:  # random unit vectors under the real keys: the restart path cannot tell
        rng = np.random.default_rng(5)
        vectors = rng.standard_normal((n, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store_vectors(cache_file(cache_dir, embedder.name), embedder.name, keys, vectors)
        result["real_vectors"] = False
        t0 = time.perf_counter()  # the first open builds what the cache lacks (an ANN index)
        with_vectors(lexical, embedder, cache_dir)
        result["first_open_vectors_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    hybrid = with_vectors(lexical, embedder, cache_dir)
    result["restart_vectors_s"] = time.perf_counter() - t0
    result["vector_cache_mb"] = cache_file(cache_dir, embedder.name).stat().st_size / 1e6
    if result["real_vectors"]:
        asked = generate.questions(questions, n)
        result["hybrid_answer_p50_ms"], result["hybrid_answer_p99_ms"] = _answer_times(
            hybrid, asked
        )
        result["bm25_answer_p50_ms"], result["bm25_answer_p99_ms"] = _answer_times(lexical, asked)
    return result


def throughput(embedder: Embedder, count: int) -> float:
    texts = [record_text(r) for r in _records(count)]
    embedder.embed(texts[:64])  # warm-up
    t0 = time.perf_counter()
    for start in range(0, len(texts), 64):
        embedder.embed(texts[start : start + 64])
    return count / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hybrid",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model", default=None, help="as --model of the bot (default: $BOT_EMBEDDING_MODEL)"
    )
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated record counts")
    parser.add_argument("--embed", type=int, default=2000, help="records for the throughput figure")
    parser.add_argument(
        "--embed-all", type=int, default=10_000, help="largest size embedded for real"
    )
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="1k records, 100 questions")
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args(argv)  # fmt: skip
    embedder = load_model(model_spec(args.model))
    if embedder is None:
        print("error: the hybrid benchmark needs a model (not 'off')", file=sys.stderr)
        return 2
    sizes = [1000] if args.quick else [int(s) for s in args.sizes.split(",")]
    questions = 100 if args.quick else args.questions
    per_second = throughput(embedder, 200 if args.quick else args.embed)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"embedding throughput: {per_second:.0f} records/s ({embedder.name})")
    rows = []
    with tempfile.TemporaryDirectory(prefix="claimbot-hybrid-") as tmp:
        for n in sizes:
            row = run_size(n, embedder, args.embed_all, questions, Path(tmp))
            rows.append(row)
            print(json.dumps(row))
    if args.json:
        Path(args.json).write_text(json.dumps({"throughput": per_second, "sizes": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
