"""Benchmark: the real path from YAML files on disk, our ask path, and peer engines side by side.

Run ``python -m bench`` from the repository root (sizes 1k, 10k, 100k, 1M) or
``python -m bench --quick`` (1k records, a few seconds: CI smoke);
``pip install -e ".[bench]"`` first. Results print as tables and, with
``--json FILE``, as JSON. See ``bench/README.md`` for measured figures.

Each size runs its phases in fresh processes, so memory figures are each their own:

1. **prepare** — ``bench.generate`` records (seeded, deterministic; links
   resolved to real ids) written as YAML files, as a user would keep them
   (10 files up to 100k records, files of 1,000 records above).
2. **build** — a cold ``bot.search.open_index`` from those files, exactly what
   ``ask`` and ``/reload`` run: the libyaml fast path of the loader, the
   validator, per-file segments (worker processes), the merge, the cache;
   every stage timed.
3. **reload** — one word changed in one file, ``open_index`` again: that file
   alone is read, validated and analysed, then merged.
4. **fit** — the full BM25 build from records in memory (no YAML), one process:
   analysis, merge and cache, with generating and validating timed apart.
5. **vectors** (up to ``--vector-sizes``) — the same with record vectors
   (:class:`bench.embed.HashEmbedder`: the model itself is far too slow here),
   cold and after one changed file.
6. **serve** — a restart from the cache; every question through the ask path
   (question analysis, ``top_k``, cited records decoded and validated, snippet
   sentences), then the bot's own ``bot.answer.compose.answer``.
7. **reference** — plain ``rank_bm25.BM25Plus`` on the very same tokens (every
   top-10 compared with ours, ids and scores bit for bit), and the peers
   ``bm25s`` (numba backend where installed) and ``tantivy``
   (:mod:`bench.peers`): build time, memory, p50/p99 top-10, overlap@10.
8. **ann** — vector search at this size: the approximate index
   (:class:`bot.search.ann.AnnIndex`) built over the records' vectors, top-10
   p50/p99 (question embedding excluded) and recall@10 against exact search.

No timing is asserted anywhere; ``tests/test_bench.py`` runs ``--quick`` and
checks that it completes and that rankings match rank-bm25's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Container, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from bench import generate
from bot.knowledge.schema import Record
from bot.search.analysis import Analyzer
from bot.search.fields import document_terms
from bot.search.question import QUESTION_FILLER, content_terms
from bot.search.scorer import DELTA, K1, B

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000,)
#: Sizes whose reload is also measured with record vectors (bench.embed.HashEmbedder).
DEFAULT_VECTOR_SIZES = (100_000,)
TOP_K = 10
#: Records an answer cites at most (bot.answer.MAX_CITATIONS), and snippets built.
CITED, SNIPPETS = 6, 3


# ---------------------------------------------------------------- tokenizers


class Tokenizer:
    """The bot's own analysis (:mod:`bot.search`): field weights, analyzer, question terms.

    The scorer's speed does not depend on the tokenizer, but the ask path's
    does, so the benchmark analyses exactly as the bot does.
    """

    def __init__(self) -> None:
        analyzer = Analyzer(())
        self.name = "bot.search.fields.document_terms (bot.search.analysis.Analyzer)"
        self.document = lambda record: document_terms(analyzer, Record.model_validate(record))
        self.text = analyzer.terms
        self.filler = frozenset(analyzer.term_set(QUESTION_FILLER))
        self.validate: Callable[[dict[str, Any]], Any] = Record.model_validate

    def question(self, question: str, known: Container[str]) -> list[str]:
        """A question's content terms, as :meth:`bot.search.index.Index.question_terms`
        takes them (without spelling correction; generated words have no hyphens)."""
        return content_terms(self.text(question), self.filler, lambda t: frozenset())


def _file_sizes(n: int) -> list[tuple[int, int]]:
    """(start, stop) of each YAML file: 10 files up to 100k records, files of 1,000 above."""
    per = n // 10 if n <= 100_000 else 1_000
    per = max(per, 1)
    return [(s, min(s + per, n)) for s in range(0, n, per)]


def _edit_one_word(folder: Path, which: int) -> Path:
    """Change one word of one record in the ``which``-th YAML file (a typo fixed)."""
    files = sorted(folder.glob("*.yaml"))
    path = files[which % len(files)]
    text = path.read_text(encoding="utf-8")
    for old, new in ((" said forces ", " said troops "), (" said troops ", " said forces ")):
        if old in text:
            path.write_text(text.replace(old, new, 1), encoding="utf-8")
            return path
    raise RuntimeError(f"nothing to edit in {path}")


# ---------------------------------------------------------------- phases


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _peak_rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def phase_prepare(n: int, workdir: Path, workers: int) -> dict[str, Any]:
    """Write the size-n knowledge base as YAML files in ``workdir/kb``."""
    import multiprocessing

    folder = workdir / "kb"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()
    tasks = [
        (n, a, z, str(folder / f"part-{i:04d}.yaml")) for i, (a, z) in enumerate(_file_sizes(n))
    ]
    t0 = time.perf_counter()
    if workers > 1 and len(tasks) > 1:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            sizes = pool.map(
                generate.write_yaml_file, tasks, chunksize=max(1, len(tasks) // (4 * workers))
            )
    else:
        sizes = [generate.write_yaml_file(t) for t in tasks]
    return {"files": len(tasks), "yaml_mb": sum(sizes) / 1e6, "prepare_s": time.perf_counter() - t0}


def _report(report: Any, prefix: str) -> dict[str, Any]:
    from dataclasses import asdict

    out = {f"{prefix}{k}": v for k, v in asdict(report).items() if k not in ("built", "reused")}
    out[f"{prefix}built"] = len(report.built)
    out[f"{prefix}reused"] = len(report.reused)
    return out


def phase_build(n: int, workdir: Path, workers: int) -> dict[str, Any]:
    """A cold start from the YAML files: ``open_index`` with an empty cache folder, BM25 only."""
    import shutil

    from bot.knowledge.loader import digest
    from bot.search.build import BuildReport, open_index

    cache = workdir / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    report = BuildReport()
    rss_before = _rss()
    index = open_index(workdir / "kb", cache, workers=workers, report=report)
    result = _report(report, "build_")
    t0 = time.perf_counter()
    result["digest"] = digest(workdir / "kb")
    result["digest_s"] = time.perf_counter() - t0
    scorer = index.scorer
    result.update(
        {
            "records": len(index),
            "workers": workers,
            "build_s": report.total_s,
            "postings": scorer.posting_count,
            "vocabulary": scorer.vocabulary_size,
            "index_mb": scorer.nbytes / 1e6,
            "cache_file_mb": sum(p.stat().st_size for p in cache.glob("index-*.npz")) / 1e6,
            "build_rss_mb": (_rss() - rss_before) / 1e6,
            "build_peak_rss_mb": _peak_rss() / 1e6,
        }
    )
    return result


def phase_fit(n: int, workdir: Path) -> dict[str, Any]:
    """The full BM25 build from records already in memory, as issue 12's first figures
    measured it (no YAML): each file's records analysed (``segments.analyse``: stored
    JSON, term counts, links, hashes), merged (``segments.merge``) and the index cache
    written, in this one process (no workers). Generating and validating the records
    comes first, file by file, and is timed apart."""
    import shutil

    from pydantic import TypeAdapter

    from bot.search import segments, store
    from bot.search.build import FINGERPRINT

    adapter = TypeAdapter(list[Record])
    parts, prepare_s, analyse_s = [], 0.0, 0.0
    for i, (start, stop) in enumerate(_file_sizes(n)):
        t0 = time.perf_counter()
        records = adapter.validate_python(generate.file_records(n, start, stop))
        t1 = time.perf_counter()
        parts.append(segments.analyse(records, (), f"fit-{i}"))
        t2 = time.perf_counter()
        prepare_s, analyse_s = prepare_s + t1 - t0, analyse_s + t2 - t1
    t0 = time.perf_counter()
    merged = segments.merge(parts)
    if merged is None:
        raise RuntimeError("the generated records' links do not resolve")
    t1 = time.perf_counter()
    cache = workdir / "fit-cache"
    store.store(cache, "f" * 64, merged.scorer, merged.records, fingerprint=FINGERPRINT)
    t2 = time.perf_counter()
    shutil.rmtree(cache, ignore_errors=True)
    return {
        "fit_prepare_s": prepare_s,
        "fit_analyse_s": analyse_s,
        "fit_merge_s": t1 - t0,
        "fit_store_s": t2 - t1,
        "fit_s": analyse_s + (t2 - t0),
        "fit_records": len(merged.records),
    }


def phase_reload(n: int, workdir: Path, workers: int) -> dict[str, Any]:
    """One word changed in one file, then ``open_index`` again: first as a fresh process
    (``python -m bot ask`` after an edit: numba and the cache modules load too), then
    once more in the same process, another file edited (the bot's ``/reload``)."""
    from bot.knowledge.loader import digest
    from bot.search.build import BuildReport, open_index

    edited = _edit_one_word(workdir / "kb", 1)
    fresh = BuildReport()
    open_index(workdir / "kb", workdir / "cache", workers=workers, report=fresh)
    _edit_one_word(workdir / "kb", 3)
    report = BuildReport()
    open_index(workdir / "kb", workdir / "cache", workers=workers, report=report)
    result = _report(report, "reload_")
    result.update(_report(fresh, "reload_fresh_"))
    result["reload_s"] = report.total_s
    result["reload_fresh_s"] = fresh.total_s
    start, stop = _file_sizes(n)[1 % len(_file_sizes(n))]
    result["reload_records"] = stop - start
    result["reload_file"] = edited.name
    result["digest"] = digest(workdir / "kb")
    return result


def phase_vectors(n: int, workdir: Path, workers: int) -> dict[str, Any]:
    """With record vectors (bench.embed.HashEmbedder): cold, then after one changed file."""
    from bench.embed import HashEmbedder
    from bot.search.build import BuildReport, open_index

    embedder = HashEmbedder()
    cold = BuildReport()
    open_index(workdir / "kb", workdir / "cache", embedder, workers=workers, report=cold)
    _edit_one_word(workdir / "kb", 2)
    warm = BuildReport()
    index = open_index(workdir / "kb", workdir / "cache", embedder, workers=workers, report=warm)
    result = _report(cold, "vcold_")
    result.update(_report(warm, "vreload_"))
    result["vreload_s"] = warm.total_s
    result["vreload_ann"] = index.vectors is not None and index.vectors.ann is not None
    return result


def _snippet(tokenizer: Tokenizer, record: Any, terms: set[str]) -> str:
    """The excerpt sentence holding most question terms (the shape of answer.best_snippet)."""
    from bot.answer.snippets import sentences

    excerpt = record.source.excerpt if hasattr(record, "source") else record["source"]["excerpt"]
    return max(sentences(excerpt), key=lambda s: len(terms & set(tokenizer.text(s))))


def phase_serve(n: int, workdir: Path, questions: int, keep: int, repeat: int) -> dict[str, Any]:
    """Restart from the cache and answer the questions; time the whole ask path."""
    from bot.knowledge.loader import digest
    from bot.search.build import FINGERPRINT
    from bot.search.store import load_cached

    t0 = time.perf_counter()
    folder_digest = digest(workdir / "kb")
    digest_time = time.perf_counter() - t0
    rss0 = _rss()
    t0 = time.perf_counter()
    cached = load_cached(workdir / "cache", folder_digest, fingerprint=FINGERPRINT)
    load_time = time.perf_counter() - t0
    if cached is None:
        raise RuntimeError("the cache written by the build phase did not load")
    rss_loaded = _rss()
    tokenizer = Tokenizer()
    asked = generate.questions(questions, n)
    index, records = cached.index, cached.records

    def ask(question: str) -> tuple[list[str], np.ndarray, np.ndarray, list[float]]:
        marks = [time.perf_counter()]
        terms = tokenizer.question(question, index)
        marks.append(time.perf_counter())
        ids, scores = index.top_k(terms, TOP_K)
        marks.append(time.perf_counter())
        cited = [tokenizer.validate(records[int(i)]) for i in ids[:CITED]]
        marks.append(time.perf_counter())
        wanted = set(terms)
        for record in cited[:SNIPPETS]:
            _snippet(tokenizer, record, wanted)
        marks.append(time.perf_counter())
        return terms, ids, scores, [b - a for a, b in pairwise(marks)]

    for question in asked[:20]:  # warm-up: thread buffers, first page faults
        ask(question)
    # Each pass asks every question once; a question's time is its best pass,
    # which filters out other processes' bursts on a shared machine.
    best: np.ndarray | None = None
    walls, kept = [], []
    for attempt in range(max(repeat, 1)):
        parts = []
        t_all = time.perf_counter()
        for i, question in enumerate(asked):
            terms, ids, scores, timing = ask(question)
            parts.append(timing)
            if attempt == 0 and i < keep:
                kept.append({"terms": terms, "ids": ids.tolist(), "scores": scores.tolist()})
        walls.append(time.perf_counter() - t_all)
        current = np.array(parts) * 1e3
        if best is None:
            best = current
        else:
            better = current.sum(axis=1) < best.sum(axis=1)
            best[better] = current[better]
    (workdir / "ours.json").write_text(json.dumps(kept))
    assert best is not None
    timings = best
    wall = min(walls)
    whole = timings.sum(axis=1)
    result = {
        "cache_load_s": load_time,
        "digest_s": digest_time,
        "ready_s": load_time + digest_time,
        "serve_rss_mb": _rss() / 1e6,
        "index_rss_mb": (rss_loaded - rss0) / 1e6,
        "questions": len(asked),
        "p50_ms": float(np.percentile(whole, 50)),
        "p99_ms": float(np.percentile(whole, 99)),
        "qps": len(asked) / wall,
        "topk_p50_ms": float(np.percentile(timings[:, 1], 50)),
        "topk_p99_ms": float(np.percentile(timings[:, 1], 99)),
        "parts_p50_ms": {
            name: float(np.percentile(timings[:, j], 50))
            for j, name in enumerate(("analyse", "top_k", "fetch", "snippets"))
        },
    }
    result.update(_answer_path(cached, asked))
    return result


def _answer_path(cached: Any, asked: list[str]) -> dict[str, Any]:
    """The bot's own ``bot.answer.compose.answer`` over the same cache, as ``search.open_index``
    builds it on a cache hit; measured after everything else (it may cache records)."""
    from bot.answer.compose import answer
    from bot.search.build import index_from_cache

    try:
        index = index_from_cache(cached)
        for question in asked[:20]:  # warm-up (e.g. the spelling word list)
            answer(index, question)
        times = []
        for question in asked:
            t0 = time.perf_counter()
            answer(index, question)
            times.append(time.perf_counter() - t0)
    except Exception as exc:  # the bot's API moves; the benchmark must not break with it
        return {"answer_error": f"{type(exc).__name__}: {exc}"}
    ms = np.array(times) * 1e3
    return {
        "answer_p50_ms": float(np.percentile(ms, 50)),
        "answer_p99_ms": float(np.percentile(ms, 99)),
        "answer_qps": len(ms) / (ms.sum() / 1e3),
    }


def _cached_index(workdir: Path) -> Any:
    from bot.knowledge.loader import digest
    from bot.search.build import FINGERPRINT
    from bot.search.store import load_cached

    cached = load_cached(workdir / "cache", digest(workdir / "kb"), fingerprint=FINGERPRINT)
    if cached is None:
        raise RuntimeError("no index cache for the knowledge base: run the build phase first")
    return cached


def _token_docs(index: Any) -> Callable[[], Any]:
    """Every record's analysed tokens (term repeated tf times), from the index's forward
    arrays: the very tokens our index was built from (order within a record aside)."""
    terms = index._terms
    indptr, fwd_terms, fwd_tf = index._fwd_indptr, index._fwd_terms, index._fwd_tf

    def docs() -> Any:
        bounds = indptr.tolist()
        for d in range(len(bounds) - 1):
            lo, hi = bounds[d], bounds[d + 1]
            yield [
                terms[t]
                for t, tf in zip(fwd_terms[lo:hi].tolist(), fwd_tf[lo:hi].tolist(), strict=True)
                for _ in range(tf)
            ]

    return docs


def phase_reference(n: int, workdir: Path, questions: int) -> dict[str, Any]:
    """Plain rank_bm25.BM25Plus on the same tokens and question terms; compare rankings."""
    import rank_bm25

    ours = json.loads((workdir / "ours.json").read_text())[:questions]
    docs = _token_docs(_cached_index(workdir).index)
    rss0 = _rss()
    t0 = time.perf_counter()
    model = rank_bm25.BM25Plus(docs(), k1=K1, b=B, delta=DELTA)
    build_time = time.perf_counter() - t0
    rss = _rss() - rss0
    times, identical = [], 0
    mismatches: list[str] = []
    for item in ours:
        terms = item["terms"]
        t0 = time.perf_counter()
        scores = model.get_scores(terms)
        top = np.argsort(scores)[::-1][:TOP_K]  # rank_bm25's own get_top_n ranking
        times.append(time.perf_counter() - t0)
        del top
        ids, ref_scores = _reference_top(model, terms, scores)
        if ids.tolist() == item["ids"] and ref_scores.tolist() == item["scores"]:
            identical += 1
        elif len(mismatches) < 3:
            mismatches.append(" ".join(terms))
    ms = np.array(times) * 1e3
    return {
        "ref_build_s": build_time,
        "ref_rss_mb": rss / 1e6,
        "ref_questions": len(ours),
        "ref_p50_ms": float(np.percentile(ms, 50)) if len(ms) else math.nan,
        "ref_p99_ms": float(np.percentile(ms, 99)) if len(ms) else math.nan,
        "ref_qps": len(ms) / (ms.sum() / 1e3) if len(ms) else math.nan,
        "identical": identical,
        "mismatches": mismatches,
    }


def phase_peer(n: int, workdir: Path, questions: int, engine: str) -> dict[str, Any]:
    """One peer engine (bench.peers) on the same tokens and question terms as ours."""
    from bench import peers

    ours = json.loads((workdir / "ours.json").read_text())[:questions]
    docs = _token_docs(_cached_index(workdir).index)
    queries = [item["terms"] for item in ours]
    rss0 = _rss()
    run_engine = peers.bm25s_engine if engine == "bm25s" else peers.tantivy_engine
    result = run_engine(docs, queries)
    rss = _rss() - rss0
    ms = np.array(result["times"]) * 1e3
    return {
        f"{engine}_name": result["name"],
        f"{engine}_build_s": result["build_s"],
        f"{engine}_rss_mb": rss / 1e6,
        f"{engine}_questions": len(ms),
        f"{engine}_p50_ms": float(np.percentile(ms, 50)) if len(ms) else math.nan,
        f"{engine}_p99_ms": float(np.percentile(ms, 99)) if len(ms) else math.nan,
        f"{engine}_overlap": peers.overlap([item["ids"] for item in ours], result["found"]),
    }


#: Distinct records embedded by the real model for the ann phase's vectors.
MODEL_RECORDS = 1_000


def _model_vectors(
    records: Any, asked: list[str], model: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """Vectors with the real model's geometry at any size: MODEL_RECORDS records and the
    questions embedded by the model; every record's vector is a mixture of two of those
    (weights 1 and 0.5) plus Gaussian noise of norm 0.6, L2-normalised. Embedding
    every record would take hours here (~25 records a second)."""
    from bot.search.vectors import load_model

    embedder = load_model(model)
    if embedder is None:
        raise RuntimeError(f"no embedding model at {model}")
    count = min(MODEL_RECORDS, len(records))
    decoded = [json.loads(records.raw(i)) for i in range(count)]
    real = embedder.embed([f"{r['claim']} ({r['claimant']})" for r in decoded])
    qv = embedder.embed(asked)
    rng = np.random.default_rng(17)
    n, dim = len(records), real.shape[1]
    vectors = np.empty((n, dim), dtype=np.float16)
    for start in range(0, n, 65_536):
        size = min(65_536, n - start)
        mix = real[rng.integers(0, count, size)] + 0.5 * real[rng.integers(0, count, size)]
        mix += 0.6 * rng.standard_normal((size, dim)).astype(np.float32) / np.sqrt(dim)
        mix /= np.linalg.norm(mix, axis=1, keepdims=True)
        vectors[start : start + size] = mix
    return vectors, qv, f"{embedder.name} mixtures of {count} records"


def phase_ann(n: int, workdir: Path, questions: int, model: str = "") -> dict[str, Any]:
    """Vector search at this size: the approximate index over every record's vector."""
    from bench.embed import HashEmbedder
    from bot.search.ann import AnnIndex, keys_of
    from bot.search.vectors import record_key

    cached = _cached_index(workdir)
    records = cached.records
    asked = list(generate.questions(questions, n))
    t0 = time.perf_counter()
    keys = [record_key(records.raw(i)) for i in range(len(records))]
    if model:
        vectors, qv, source = _model_vectors(records, asked, model)
    else:
        embedder = HashEmbedder()
        vectors = np.empty((len(records), 384), dtype=np.float16)
        for start in range(0, len(records), 10_000):
            stop = min(start + 10_000, len(records))
            decoded = [json.loads(records.raw(i)) for i in range(start, stop)]
            vectors[start:stop] = embedder.embed(
                [f"{r['claim']} ({r['claimant']})" for r in decoded]
            )
        qv, source = embedder.embed(asked), embedder.name
    embed_time = time.perf_counter() - t0
    rss0 = _rss()
    t0 = time.perf_counter()
    ann = AnnIndex.build(keys_of(keys), vectors)
    build_time = time.perf_counter() - t0
    # As the bot re-ranks the candidates by their exact float16 rows (there read
    # from the vector cache file with pread; here from the same rows in memory).
    held = vectors
    ann.rows = lambda positions: held[positions].astype(np.float32)
    ann_rss = _rss() - rss0
    # Exact top-10 for recall: all questions at once, block by block in float32 (one
    # pass over the rows); exact search's own latency on a few questions.
    sims = np.empty((len(qv), len(vectors)), dtype=np.float32)
    for s in range(0, len(vectors), 65_536):
        sims[:, s : s + 65_536] = qv @ vectors[s : s + 65_536].astype(np.float32).T
    exact_top = [set(np.argpartition(-row, 10)[:10].tolist()) for row in sims]
    del sims
    exact_times = []
    if len(vectors) <= 200_000:  # the bot's exact search: float32 rows
        from bot.search.vectors import VectorIndex

        exact = VectorIndex(None, vectors.astype(np.float32))  # type: ignore[arg-type]
        for q in qv[:50]:
            t1 = time.perf_counter()
            exact.top_k(q, 10)
            exact_times.append(time.perf_counter() - t1)
        del exact
    times, hits = [], 0
    for q, exact in zip(qv, exact_top, strict=True):
        t1 = time.perf_counter()
        positions, _ = ann.top_k(q, 10)
        times.append(time.perf_counter() - t1)
        hits += len(exact & set(positions.tolist()))
    ms = np.array(times) * 1e3
    sweep = []  # recall and latency at other nprobe: what the default trades
    chosen = ann.nprobe
    for nprobe in sorted({max(1, chosen // 2), chosen * 2}):
        ann.nprobe = min(nprobe, int(ann.index.nlist))
        found, spent = 0, []
        for q, exact_ids in zip(qv, exact_top, strict=True):
            t1 = time.perf_counter()
            positions, _ = ann.top_k(q, 10)
            spent.append(time.perf_counter() - t1)
            found += len(exact_ids & set(positions.tolist()))
        sweep.append([ann.nprobe, found / (10 * len(qv)), float(np.median(spent) * 1e3)])
    ann.nprobe = chosen
    return {
        "ann_sweep": sweep,
        "ann_vectors": len(keys),
        "ann_source": source,
        "ann_embed_s": embed_time,
        "ann_build_s": build_time,
        "ann_nlist": int(ann.index.nlist),
        "ann_nprobe": ann.nprobe,
        "ann_rss_mb": ann_rss / 1e6,
        "ann_p50_ms": float(np.percentile(ms, 50)),
        "ann_p99_ms": float(np.percentile(ms, 99)),
        "ann_recall": hits / (10 * len(qv)),
        "exact_p50_ms": (
            float(np.percentile(np.array(exact_times) * 1e3, 50)) if exact_times else math.nan
        ),
        "ann_serve_rss_mb": _rss() / 1e6,
    }


def _reference_top(
    model: Any, terms: list[str], scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """rank_bm25's top-k among records holding a query term, ties to the lower index.

    A record holding none of the terms scores exactly the constant that
    BM25Plus adds for absent terms, summed in query order.
    """
    constant = 0.0
    for term in terms:
        constant += (model.idf.get(term) or 0) * (model.delta + 0.0)
    if not any(t in model.idf for t in terms):
        return np.empty(0, dtype=np.int64), np.empty(0)
    matching = np.flatnonzero(scores != constant)
    order = matching[np.lexsort((matching, -scores[matching]))][:TOP_K]
    return order, scores[order]


PHASES = {
    "prepare",
    "build",
    "reload",
    "fit",
    "vectors",
    "serve",
    "reference",
    "bm25s",
    "tantivy",
    "ann",
}


def _run_phase(
    phase: str, n: int, workdir: Path, args: dict[str, Any], fresh: bool = True
) -> dict[str, Any]:
    """Run one phase in a fresh interpreter, so its memory is its own (or, with ``fresh``
    False as in --quick, here: seconds instead of an interpreter start a phase)."""
    out = workdir / f"{phase}.json"
    if not fresh:
        _phase_main(
            argparse.Namespace(
                workdir=str(workdir), phase_args=json.dumps(args), size=n, phase=phase
            )
        )
        return dict(json.loads(out.read_text()))
    cmd = [
        sys.executable,
        "-m",
        "bench",
        "--phase",
        phase,
        "--size",
        str(n),
        "--workdir",
        str(workdir),
        "--phase-args",
        json.dumps(args),
    ]
    subprocess.run(cmd, check=True, cwd=ROOT)
    return json.loads(out.read_text())


def _phase_main(args: argparse.Namespace) -> int:
    workdir = Path(args.workdir)
    extra = json.loads(args.phase_args or "{}")
    n, phase = args.size, args.phase
    workers = extra.get("workers", 1)
    if phase == "prepare":
        result = phase_prepare(n, workdir, workers)
    elif phase == "build":
        result = phase_build(n, workdir, workers)
    elif phase == "reload":
        result = phase_reload(n, workdir, workers)
    elif phase == "fit":
        result = phase_fit(n, workdir)
    elif phase == "vectors":
        result = phase_vectors(n, workdir, workers)
    elif phase == "serve":
        result = phase_serve(n, workdir, extra["questions"], extra["keep"], extra.get("repeat", 1))
    elif phase == "reference":
        result = phase_reference(n, workdir, extra["questions"])
    elif phase == "ann":
        result = phase_ann(n, workdir, extra["questions"], extra.get("model", ""))
    else:
        result = phase_peer(n, workdir, extra["questions"], phase)
    (workdir / f"{phase}.json").write_text(json.dumps(result))
    return 0


# ---------------------------------------------------------------- driver


def _reference_questions(n: int, quick: bool, requested: int | None) -> int:
    """How many questions plain rank-bm25 answers: it scans every record for each one."""
    if requested is not None:
        return requested
    if quick:
        return 100
    return {1_000: 300, 10_000: 200, 100_000: 60}.get(n, 15)


def run(
    sizes: Sequence[int] = DEFAULT_SIZES,
    quick: bool = False,
    questions: int | None = None,
    reference_questions: int | None = None,
    workers: int | None = None,
    workdir: str | Path | None = None,
    out: Callable[[str], None] = print,
    repeat: int | None = None,
    vector_sizes: Sequence[int] | None = None,
    peers: bool = True,
    ann_model: str | None = None,
) -> list[dict[str, Any]]:
    """Benchmark each size; return one result dict per size (see the module docstring)."""
    workers = workers or (1 if quick else max(1, os.cpu_count() or 1))
    vector_sizes = list(vector_sizes) if vector_sizes is not None else list(DEFAULT_VECTOR_SIZES)
    ann_model = "" if quick else (ann_model if ann_model is not None else _default_model())
    results = []
    with contextlib.ExitStack() as stack:
        base = (
            Path(workdir)
            if workdir
            else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="claimbot-bench-")))
        )
        out(_machine())
        for n in sizes:
            nq = questions or (100 if quick else 1000)
            nref = min(_reference_questions(n, quick, reference_questions), nq)
            npeer = min(nq, 100 if quick else 300)
            work = base / str(n)
            work.mkdir(parents=True, exist_ok=True)
            load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
            result: dict[str, Any] = {"size": n}
            common = {"workers": workers}
            fresh = not quick

            def phase(
                name: str,
                args: dict[str, Any],
                n: int = n,
                work: Path = work,
                result: dict[str, Any] = result,
                fresh: bool = fresh,
            ) -> None:
                result.update(_run_phase(name, n, work, args, fresh))

            for name in ("prepare", "build", "reload", "fit"):
                phase(name, common)
            if n in vector_sizes or quick:
                phase("vectors", common)
            serve = {
                "questions": nq,
                "keep": max(nref, npeer),
                "repeat": repeat or (1 if quick else 3),
            }
            phase("serve", serve)
            phase("reference", {"questions": nref})
            if peers:
                for engine in ("bm25s", "tantivy"):
                    phase(engine, {"questions": npeer})
            phase("ann", {"questions": min(nq, 300), "model": ann_model})
            result["load_average"] = [
                load0,
                os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan,
            ]
            result["speedup_topk"] = result["ref_p50_ms"] / result["topk_p50_ms"]
            result["speedup_ask"] = result["ref_p50_ms"] / result["p50_ms"]
            results.append(result)
            out(_row(result))
            for name in ("ours.json",):
                with contextlib.suppress(OSError):
                    (work / name).unlink()
    out(_table(results))
    return results


def _default_model() -> str:
    """The embedding model folder for the ann phase's vectors ('' for hashed vectors)."""
    spec = os.environ.get("BOT_EMBEDDING_MODEL", "")
    if spec and Path(spec).is_dir():
        return spec
    shared = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2-onnx"
    return str(shared) if (shared / "model.onnx").is_file() else ""


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )


def _f(r: dict[str, Any], key: str, spec: str = ".2f") -> str:
    value = r.get(key)
    return "–" if value is None else format(value, spec)


def _row(r: dict[str, Any]) -> str:
    return (
        f"{r['size']:>9,} records in {r['files']} YAML files: cold build {r['build_s']:.1f}s, "
        f"reload after one file {r['reload_s']:.2f}s (fresh process {_f(r, 'reload_fresh_s')}s), "
        f"with vectors {_f(r, 'vreload_s')}s; from records in memory {_f(r, 'fit_s', '.1f')}s; "
        f"top_k p50 {r['topk_p50_ms']:.2f} ms, ask p50 {r['p50_ms']:.2f} ms, bot.answer p50 "
        f"{_answer_p50(r)}; rank-bm25 p50 {r['ref_p50_ms']:.1f} ms, bm25s "
        f"{_f(r, 'bm25s_p50_ms')} ms, tantivy {_f(r, 'tantivy_p50_ms')} ms; rankings identical "
        f"{r['identical']}/{r['ref_questions']}; vectors top-10 p50 {r['ann_p50_ms']:.2f} ms "
        f"recall@10 {r['ann_recall']:.3f}"
    )


def _fit(r: dict[str, Any]) -> str:
    if "fit_s" not in r:
        return "–"
    return (
        f"{r['fit_s']:.1f} ({r['fit_analyse_s']:.1f} + {r['fit_merge_s']:.1f} + "
        f"{r['fit_store_s']:.1f})"
    )


def _answer_p50(r: dict[str, Any]) -> str:
    if "answer_p50_ms" in r:
        return f"{r['answer_p50_ms']:.2f} ms"
    return f"n/a ({r.get('answer_error', 'not measured')})"


def _table(results: list[dict[str, Any]]) -> str:
    """Three markdown tables: building, BM25 engines side by side, vectors."""
    lines = [
        "| records | files | cold build s (read + segments + merge + store + open) | "
        "reload s, one file (read + base + segments + merge + store; fresh process) | "
        "its records | reload s with vectors (of which vectors) | "
        "full build from records in memory s, one process (analysis + merge + store) | "
        "cache load s | serve RSS MB | build peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['size']:,} | {r['files']} | {r['build_s']:.1f} ({r['build_read_s']:.1f} + "
            f"{r['build_segments_s']:.1f} + {r['build_merge_s']:.1f} + {r['build_store_s']:.1f} + "
            f"{r['build_open_s']:.1f}) | {r['reload_s']:.2f} ({r['reload_read_s']:.2f} + "
            f"{r['reload_base_s']:.2f} + {r['reload_segments_s']:.2f} + "
            f"{r['reload_merge_s']:.2f} + {r['reload_store_s']:.2f}; "
            f"{_f(r, 'reload_fresh_s')}) | {r['reload_records']:,} | "
            f"{_f(r, 'vreload_s')} ({_f(r, 'vreload_vectors_s')}) | {_fit(r)} | "
            f"{r['cache_load_s']:.2f} | "
            f"{r['serve_rss_mb']:.0f} | "
            f"{r['build_peak_rss_mb']:.0f} |"
        )
    lines += [
        "",
        "| records | engine | build s | RSS MB | top-10 p50 ms | p99 ms | vs ours (p50) | "
        "overlap@10 / identical |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['size']:,} | ours (top_k; ask path; bot.answer) | {r['build_s']:.1f} | "
            f"{r['serve_rss_mb']:.0f} | {r['topk_p50_ms']:.2f}; {r['p50_ms']:.2f}; "
            f"{_answer_p50(r).removesuffix(' ms')} | {r['topk_p99_ms']:.2f} | 1x | "
            f"{r['identical']}/{r['ref_questions']} identical to rank-bm25 |"
        )
        lines.append(
            f"| {r['size']:,} | rank-bm25 | {r['ref_build_s']:.1f} | {r['ref_rss_mb']:.0f} | "
            f"{r['ref_p50_ms']:.1f} | {r['ref_p99_ms']:.1f} | "
            f"{r['ref_p50_ms'] / r['topk_p50_ms']:.0f}x slower | bit-identical |"
        )
        for engine in ("bm25s", "tantivy"):
            if f"{engine}_p50_ms" not in r:
                continue
            ratio = r[f"{engine}_p50_ms"] / r["topk_p50_ms"]
            lines.append(
                f"| {r['size']:,} | {r[f'{engine}_name']} | {r[f'{engine}_build_s']:.1f} | "
                f"{r[f'{engine}_rss_mb']:.0f} | {r[f'{engine}_p50_ms']:.2f} | "
                f"{r[f'{engine}_p99_ms']:.2f} | "
                + (f"{ratio:.1f}x slower" if ratio >= 1 else f"{1 / ratio:.1f}x faster")
                + f" | {r[f'{engine}_overlap']:.2f} |"
            )
    lines += [
        "",
        "| records | vectors | ANN build s (nlist, nprobe) | ANN RSS MB | top-10 p50 ms | p99 ms | "
        "recall@10 vs exact | exact search p50 ms | vectors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['size']:,} | {r['ann_vectors']:,} | {r['ann_build_s']:.1f} ({r['ann_nlist']}, "
            f"{r['ann_nprobe']}) | {r['ann_rss_mb']:.0f} | {r['ann_p50_ms']:.2f} | "
            f"{r['ann_p99_ms']:.2f} | {r['ann_recall']:.3f} | {r['exact_p50_ms']:.1f} | "
            f"{r['ann_source']} |"
        )
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    """'1k,10k,1m' -> [1000, 10000, 1000000]."""
    scale = {"k": 1_000, "m": 1_000_000}
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if part:
            out.append(int(float(part[:-1]) * scale[part[-1]]) if part[-1] in scale else int(part))
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The bench command's options (``python -m bench``)."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1k records and 100 questions: under a minute (CI smoke)",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        metavar="LIST",
        help="knowledge-base sizes, e.g. 1k,10k,100k,1m (default: all four)",
    )
    parser.add_argument(
        "--questions",
        type=int,
        default=None,
        metavar="N",
        help="questions through our ask path per size (default 1000)",
    )
    parser.add_argument(
        "--reference-questions",
        type=int,
        default=None,
        metavar="N",
        help="questions for plain rank-bm25 (default: fewer as sizes grow)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes that analyse records while building (default: CPUs)",
    )
    parser.add_argument(
        "--workdir",
        default=None,
        metavar="DIR",
        help="keep the generated caches here (default: a temporary folder)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        metavar="N",
        help="passes over the questions; each question keeps its best time (default 3, quick 1)",
    )
    parser.add_argument(
        "--vector-sizes",
        type=_sizes,
        default=None,
        metavar="LIST",
        help="sizes whose build and reload are also run with record vectors (default 100k)",
    )
    parser.add_argument(
        "--no-peers", action="store_true", help="skip the bm25s and tantivy reference engines"
    )
    parser.add_argument(
        "--ann-model",
        default=None,
        metavar="DIR",
        help="model folder for the ann phase's vectors ('' for hashed ones; default: "
        "$BOT_EMBEDDING_MODEL or shared/models/all-MiniLM-L6-v2-onnx when present)",
    )
    parser.add_argument("--json", default=None, metavar="FILE", help="also write results as JSON")
    # Internal: one phase in a fresh process (see _run_phase).
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--phase-args", help=argparse.SUPPRESS)


def main(args: argparse.Namespace) -> int:
    """Entry point for ``python -m bench``."""
    if getattr(args, "phase", None):
        return _phase_main(args)
    sizes = args.sizes or (list(QUICK_SIZES) if args.quick else list(DEFAULT_SIZES))
    results = run(
        sizes,
        quick=args.quick,
        questions=args.questions,
        reference_questions=args.reference_questions,
        workers=args.workers,
        workdir=args.workdir,
        repeat=args.repeat,
        vector_sizes=args.vector_sizes,
        peers=not args.no_peers,
        ann_model=args.ann_model,
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r["identical"] == r["ref_questions"] for r in results) else 1


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m bench")
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
