"""Benchmark: the ask path over generated knowledge bases, side by side with plain rank-bm25.

Run ``python -m bench`` from the repository root (sizes 1k, 10k, 100k, 1M;
~15 minutes on 2 cores) or ``python -m bench --quick`` (1k records, well under
a minute: CI smoke); ``pip install -e ".[bench]"`` first. Results print as a table and,
with ``--json FILE``, as JSON. See ``bench/README.md`` for measured figures.

Each size runs in three fresh processes, so memory figures are not polluted
by one another:

1. **build** — generate the records (``bench.generate``: seeded, deterministic),
   analyse them with the bot's own tokenizer (``bot.search.fields.document_terms``:
   ``bot.search.analysis.Analyzer`` and field weights; worker processes, one a core),
   ``SparseBM25.fit``, and write the index cache (``bot.search.store.store``).
2. **serve** — what a restart does: ``bot.search.store.load_cached`` (the digest is
   timed in build over the same bytes as the records), then the questions
   through the whole ask path: analyse the question, ``top_k``, decode and
   validate the cited records from the lazy record store, and pick a snippet
   sentence for the top three. Timed per question: p50/p99 and questions per
   second.
   Then the bot's own ``bot.answer.compose.answer`` over the same cache (as
   ``bot.search.build.open_index`` opens it), reported beside ours as "bot.answer".
3. **reference** — plain ``rank_bm25.BM25Plus`` on the very same tokens:
   build, then ``get_scores`` + ``argsort`` top-k on the same question terms;
   every top-10 is compared with ours (ids and scores, bit for bit).

No timing is asserted anywhere; ``tests/test_bench.py`` runs ``--quick`` and
checks that rankings match.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
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


_TOKENIZER: Tokenizer | None = None


def _worker_batch(task: tuple[int, int, int]) -> tuple[list[bytes], list[str], Any, str]:
    """Generate and analyse records start..stop of a size-n base (in a worker process).

    Returns their JSON, ids, term counts (``bot.search.scorer.count_terms``) and the
    terms as text lines for the rank-bm25 reference phase.
    """
    from bot.search.scorer import count_terms

    global _TOKENIZER
    if _TOKENIZER is None:
        _TOKENIZER = Tokenizer()
    n, start, stop = task
    lines, ids, docs = [], [], []
    for record in generate.records(n, start=start, stop=stop):
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode())
        ids.append(record["id"])
        docs.append(_TOKENIZER.document(record))
    text = "".join(" ".join(doc) + "\n" for doc in docs)
    return lines, ids, count_terms(docs), text


# ---------------------------------------------------------------- phases


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _peak_rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def phase_build(n: int, workdir: Path, workers: int) -> dict[str, Any]:
    """Generate, analyse, fit and cache a size-n knowledge base; time each part.

    Workers generate, analyse and count (``count_terms``) batches of records;
    this process merges the counts (``SparseBM25.from_counts``): "analyse" is
    the wall time of the former (with generation), "fit" of the latter.
    """
    import multiprocessing

    from bot.search.scorer import SparseBM25
    from bot.search.store import RecordStoreBuilder, store

    tasks = [(n, s, min(s + generate.BATCH, n)) for s in range(0, n, generate.BATCH)]
    ctx = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    builder = RecordStoreBuilder()
    counts = []
    rss_before = _rss()
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        tokens_out = stack.enter_context(open(workdir / "tokens.txt", "w", encoding="utf-8"))
        if workers > 1:
            results = stack.enter_context(ctx.Pool(workers)).imap(_worker_batch, tasks)
        else:
            results = map(_worker_batch, tasks)
        for lines, ids, batch_counts, text in results:
            for line, record_id in zip(lines, ids, strict=True):
                builder.add_json(line, record_id)
            counts.append(batch_counts)
            tokens_out.write(text)
    analysed = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = SparseBM25.from_counts(counts)
    fit_time = time.perf_counter() - t0
    del counts
    records = builder.build()
    t0 = time.perf_counter()
    digest = hashlib.sha256(records.blob).hexdigest()  # as knowledge.digest would, same bytes
    digest_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    path = store(workdir / "cache", digest, index, records, fingerprint="bench")
    store_time = time.perf_counter() - t0
    return {
        "records": n,
        "tokenizer": Tokenizer().name,
        "workers": workers,
        "analyse_s": analysed,
        "fit_s": fit_time,
        "build_s": analysed + fit_time,
        "store_s": store_time,
        "digest_s": digest_time,
        "digest": digest,
        "postings": index.posting_count,
        "vocabulary": index.vocabulary_size,
        "index_mb": index.nbytes / 1e6,
        "records_mb": records.nbytes / 1e6,
        "cache_file_mb": path.stat().st_size / 1e6,
        "build_rss_mb": (_rss() - rss_before) / 1e6,
        "build_peak_rss_mb": _peak_rss() / 1e6,
    }


def _snippet(tokenizer: Tokenizer, record: Any, terms: set[str]) -> str:
    """The excerpt sentence holding most question terms (the shape of answer.best_snippet)."""
    from bot.answer.snippets import sentences

    excerpt = record.source.excerpt if hasattr(record, "source") else record["source"]["excerpt"]
    return max(sentences(excerpt), key=lambda s: len(terms & set(tokenizer.text(s))))


def phase_serve(n: int, workdir: Path, questions: int, keep: int, repeat: int) -> dict[str, Any]:
    """Restart from the cache and answer the questions; time the whole ask path."""
    from bot.search.store import load_cached

    build = json.loads((workdir / "build.json").read_text())
    rss0 = _rss()
    t0 = time.perf_counter()
    cached = load_cached(workdir / "cache", build["digest"], fingerprint="bench")
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
        "ready_s": load_time + build["digest_s"],
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


def phase_reference(n: int, workdir: Path, questions: int) -> dict[str, Any]:
    """Plain rank_bm25.BM25Plus on the same tokens and question terms; compare rankings."""
    import rank_bm25

    ours = json.loads((workdir / "ours.json").read_text())[:questions]
    rss0 = _rss()
    t0 = time.perf_counter()
    with open(workdir / "tokens.txt", encoding="utf-8") as fh:
        model = rank_bm25.BM25Plus((line.split() for line in fh), k1=K1, b=B, delta=DELTA)
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


PHASES = {"build", "serve", "reference"}


def _run_phase(phase: str, n: int, workdir: Path, args: dict[str, Any]) -> dict[str, Any]:
    """Run one phase in a fresh interpreter, so its memory is its own."""
    out = workdir / f"{phase}.json"
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
    if args.phase == "build":
        result = phase_build(args.size, workdir, extra.get("workers", 1))
    elif args.phase == "serve":
        result = phase_serve(
            args.size, workdir, extra["questions"], extra["keep"], extra.get("repeat", 1)
        )
    else:
        result = phase_reference(args.size, workdir, extra["questions"])
    (workdir / f"{args.phase}.json").write_text(json.dumps(result))
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
) -> list[dict[str, Any]]:
    """Benchmark each size; return one result dict per size (see the module docstring)."""
    workers = workers or (1 if quick else max(1, os.cpu_count() or 1))
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
            work = base / str(n)
            work.mkdir(parents=True, exist_ok=True)
            load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
            result: dict[str, Any] = {"size": n}
            result.update(_run_phase("build", n, work, {"workers": workers}))
            serve = {"questions": nq, "keep": nref, "repeat": repeat or (1 if quick else 3)}
            result.update(_run_phase("serve", n, work, serve))
            result.update(_run_phase("reference", n, work, {"questions": nref}))
            result["load_average"] = [
                load0,
                os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan,
            ]
            result["speedup_topk"] = result["ref_p50_ms"] / result["topk_p50_ms"]
            result["speedup_ask"] = result["ref_p50_ms"] / result["p50_ms"]
            results.append(result)
            out(_row(result))
            for name in ("tokens.txt", "ours.json"):
                with contextlib.suppress(OSError):
                    (work / name).unlink()
    out(_table(results))
    return results


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


def _row(r: dict[str, Any]) -> str:
    return (
        f"{r['size']:>9,} records: build {r['build_s']:.1f}s (fit {r['fit_s']:.1f}s), "
        f"cache load {r['cache_load_s']:.2f}s, RSS {r['serve_rss_mb']:.0f} MB; ask p50 "
        f"{r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms ({r['qps']:.0f}/s), top_k p50 "
        f"{r['topk_p50_ms']:.2f} ms; rank-bm25 p50 {r['ref_p50_ms']:.1f} ms "
        f"(x{r['speedup_topk']:.0f} top_k, x{r['speedup_ask']:.0f} ask); "
        f"rankings identical {r['identical']}/{r['ref_questions']}; bot.answer p50 "
        f"{_answer_p50(r)}"
    )


def _answer_p50(r: dict[str, Any]) -> str:
    if "answer_p50_ms" in r:
        return f"{r['answer_p50_ms']:.2f} ms"
    return f"n/a ({r.get('answer_error', 'not measured')})"


def _table(results: list[dict[str, Any]]) -> str:
    head = (
        "| records | build s (analyse + fit) | cache load s | serve RSS MB | ask p50 ms | "
        "ask p99 ms | ask q/s | top_k p50 ms | rank-bm25 build s | rank-bm25 RSS MB | "
        "rank-bm25 p50 ms | p99 ms | q/s | speed-up top_k / ask | identical top-10 | "
        "bot.answer p50 ms |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        lines.append(
            f"| {r['size']:,} | {r['build_s']:.1f} ({r['analyse_s']:.1f} + {r['fit_s']:.1f}) | "
            f"{r['cache_load_s']:.2f} | {r['serve_rss_mb']:.0f} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['qps']:.0f} | {r['topk_p50_ms']:.2f} | "
            f"{r['ref_build_s']:.1f} | {r['ref_rss_mb']:.0f} | {r['ref_p50_ms']:.1f} | "
            f"{r['ref_p99_ms']:.1f} | {r['ref_qps']:.1f} | "
            f"{r['speedup_topk']:.0f}x / {r['speedup_ask']:.0f}x | "
            f"{r['identical']}/{r['ref_questions']} | {_answer_p50(r).removesuffix(' ms')} |"
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
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r["identical"] == r["ref_questions"] for r in results) else 1


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m bench")
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
