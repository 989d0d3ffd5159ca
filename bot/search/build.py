"""Opening a knowledge folder's index: from the content-keyed cache when unchanged,
else load, validate, build, and cache it for next time."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, overload

from bot.errors import KnowledgeError, Problem
from bot.knowledge.loader import (
    ALIAS_FILE,
    KnowledgeBase,
    digest_update,
    file_digest,
    folder_digest,
    load,
    read_alias_file,
    record_files,
)
from bot.knowledge.schema import Record
from bot.search import patch, segments, store
from bot.search.analysis import Analyzer
from bot.search.index import Index
from bot.search.records import LazyById, LazyRecords, record_json
from bot.search.scorer import DELTA, K1, B
from bot.search.vectors import Embedder, record_key, record_text, vector_index

log = logging.getLogger(__name__)

#: Names everything besides the knowledge files that a cached index depends
#: on: change the analysis, the weights or the BM25 parameters, bump this, and
#: every old cache is rebuilt instead of trusted.
FINGERPRINT = f"analyzer-3 bm25plus k1={K1} b={B} delta={DELTA}"


@dataclass
class BuildReport:
    """What one :func:`open_index` did, stage by stage (seconds), for logs and the benchmark."""

    #: "cache" (the whole index cache was current), "segments" (merged from
    #: per-file segments), "patch" (the previous cache patched with the changed
    #: files' segments: :mod:`bot.search.patch`), or "full" (no cache folder:
    #: loaded and built in memory).
    path: str = ""
    read_s: float = 0.0
    #: Finding and reading the previous cache to patch (0 when there is none).
    base_s: float = 0.0
    #: Reading, validating and analysing the files whose segments were missing (wall).
    segments_s: float = 0.0
    #: Of those files, summed over the processes that built them: parsing and
    #: validating, then analysing (so, on several workers, more than the wall).
    parse_cpu_s: float = 0.0
    analyse_cpu_s: float = 0.0
    merge_s: float = 0.0
    store_s: float = 0.0
    open_s: float = 0.0
    vectors_s: float = 0.0
    total_s: float = 0.0
    built: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)


def open_index(
    folder: str | Path,
    cache_dir: str | Path | None = None,
    embedder: Embedder | None = None,
    *,
    report: BuildReport | None = None,
    workers: int | None = None,
) -> Index:
    """The index of a knowledge folder, from the cache when its content is unchanged.

    Without ``cache_dir``: load, validate and build. With it: a cache file keyed
    by the folder's content digest is loaded when present and sound (records
    are then decoded only when cited), else the knowledge base is loaded,
    validated and indexed, and the cache written for next time. Only a valid
    knowledge base is ever cached, so a cache hit needs no validation.

    With an ``embedder``, the index also holds every record's sentence vector
    (hybrid search): vectors cached for an unchanged record are reused, the
    rest are embedded.

    On a cache miss, each record file's validated and analysed records come
    from its own segment (:mod:`bot.search.segments`), keyed by the file's
    content: after one file changed, only that file is read and analysed,
    then all segments are merged; the result equals a full rebuild. Missing
    segments of several large files are built by ``workers`` processes
    (default: one a CPU). ``report``, when given, is filled with what was done.

    Raises KnowledgeError when the knowledge base is invalid.
    """
    report = report if report is not None else BuildReport()
    t0 = time.perf_counter()
    index = _lexical_index(Path(folder), cache_dir, report, workers)
    if embedder is not None:
        t1 = time.perf_counter()
        index = with_vectors(index, embedder, cache_dir)
        report.vectors_s = time.perf_counter() - t1
    report.total_s = time.perf_counter() - t0
    return index


def with_vectors(index: Index, embedder: Embedder, cache_dir: str | Path | None = None) -> Index:
    """The same index with its records' sentence vectors (hybrid search)."""
    records = index.knowledge.records
    if isinstance(records, LazyRecords):
        keys = [bytes(k) for k in records.content_keys()]  # kept in the index cache
    else:
        keys = [record_key(record_json(r)) for r in records]
    texts = _RecordTexts(records)
    vectors = vector_index(embedder, texts, keys, cache_dir)
    return Index(index.knowledge, index.analyzer, index.scorer, index.speller.words, vectors)


class _RecordTexts(Sequence[str]):
    """Records' embedding texts, read only for the records that need embedding."""

    def __init__(self, records: Sequence[Record]) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return [record_text(r) for r in self._records[i]]
        return record_text(self._records[i])


def _lexical_index(
    folder: Path, cache_dir: str | Path | None, report: BuildReport, workers: int | None
) -> Index:
    if cache_dir is None or not folder.is_dir():
        report.path = "full"
        return Index.build(load(folder))
    t0 = time.perf_counter()
    try:
        files = [(path, path.read_bytes()) for path in record_files(folder)]
    except OSError:
        report.path = "full"
        return Index.build(load(folder))  # says which file cannot be read
    h = folder_digest()
    hashed = []
    for path, raw in files:
        content = file_digest(raw)  # each file hashed once: folder digest and segment key
        digest_update(h, path, content)  # as bot.knowledge.digest
        hashed.append((path, raw, content))
    digest = h.hexdigest()
    report.read_s = time.perf_counter() - t0
    cached = store.load_cached(cache_dir, digest, fingerprint=FINGERPRINT)
    if cached is not None:
        report.path = "cache"
        t0 = time.perf_counter()
        index = index_from_cache(cached, [p for p, _ in files])
        report.open_s = time.perf_counter() - t0
        return index
    try:
        return _merged_index(folder, cache_dir, hashed, digest, report, workers)
    except OSError as exc:  # a read-only or full disk costs speed, not answers
        log.warning("could not write the index cache in %s: %s", cache_dir, exc)
        report.path = "full"
        return Index.build(load(folder))


def _merged_index(
    folder: Path,
    cache_dir: str | Path,
    files: list[tuple[Path, bytes, bytes]],
    digest: str,
    report: BuildReport,
    workers: int | None,
) -> Index:
    """The index from per-file segments, building the missing ones; cached whole after.
    ``files``: (path, bytes, :func:`file_digest`) of each file; ``digest``: the folder's.

    When a previous cache holds most files unchanged (a large knowledge base
    after an edit), it is patched instead (:mod:`bot.search.patch`): only the
    changed files' segments are read.
    """
    report.path = "segments"
    aliases: tuple[tuple[str, ...], ...] = ()
    names = []
    for path, raw, content in files:
        if path.name == ALIAS_FILE:
            aliases, problems = read_alias_file(raw, str(path))
            if problems:
                _invalid(folder)
        else:
            names.append((path, raw, content))
    if not names:
        _invalid(folder)
    # The aliases key every segment, so they are known before any key is used.
    record_paths = [(p, raw, segments.segment_key(content, aliases)) for p, raw, content in names]
    keys = [key for _, _, key in record_paths]
    t0 = time.perf_counter()
    base = patch.find_base(cache_dir, FINGERPRINT, keys) if len(set(keys)) == len(keys) else None
    report.base_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    in_base = set(base.ranges) if base is not None else set()
    wanted = [f for f in record_paths if f[2] not in in_base]
    found = _segments(folder, cache_dir, wanted, aliases, workers, report)
    report.segments_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    patched = None
    if base is not None:
        patched = patch.apply(base, [(key, found.get(key)) for key in keys])
        if patched is None:  # cannot serve: every file's segment after all
            t1 = time.perf_counter()
            rest = [f for f in record_paths if f[2] not in found]
            found.update(_segments(folder, cache_dir, rest, aliases, workers, report))
            report.segments_s += time.perf_counter() - t1
    if patched is not None:
        report.path = "patch"
        if not patched.valid:
            _invalid(folder)
        scorer, records, links, spelling = patched.scorer, patched.records, patched.links, []
        counts = [len(found[key]) if key in found else _span(base, key) for key in keys]
    else:
        ready = [found[key] for key in keys]
        merged = segments.merge(ready)
        if merged is None:
            _invalid(folder)
        scorer, records, links, spelling = (
            merged.scorer,
            merged.records,
            merged.links,
            merged.spelling,
        )
        counts = [len(part) for part in ready]
    report.merge_s = time.perf_counter() - t0
    built = set(report.built)
    report.reused = [str(p) for p, _, _ in record_paths if str(p) not in built]
    t0 = time.perf_counter()
    meta = {
        "aliases": [list(g) for g in aliases],
        "spelling": spelling,
        patch.FILES: patch.manifest(zip(keys, counts, strict=True)),
    }
    store.store(
        cache_dir,
        digest,
        scorer,
        records,
        fingerprint=FINGERPRINT,
        meta=meta,
        extra=patch.link_arrays(*links),
    )
    segments.prune(cache_dir, keys)
    report.store_s = time.perf_counter() - t0
    # Serve from the cache just written: records stay on disk until cited. The
    # index in memory is the one just written, so it is not read back and
    # rebuilt (5 s at 1M records); a restart's load_cached checks the file.
    t0 = time.perf_counter()
    path = store.cache_path(cache_dir, digest)
    try:
        on_disk = store.reopen_records(path, records)
    except (store.CacheError, OSError, KeyError, ValueError) as exc:
        raise OSError(f"the index cache just written could not be read back: {exc}") from exc
    del records
    cached = store.Cached(scorer, on_disk, digest, FINGERPRINT, meta, path)
    index = index_from_cache(cached, [p for p, _, _ in files])
    report.open_s = time.perf_counter() - t0
    return index


def _span(base: patch.Base | None, key: str) -> int:
    assert base is not None  # only patched bases keep files unread
    lo, hi = base.ranges[key]
    return hi - lo


def _segments(
    folder: Path,
    cache_dir: str | Path,
    wanted: list[tuple[Path, bytes, str]],
    aliases: tuple[tuple[str, ...], ...],
    workers: int | None,
    report: BuildReport,
) -> dict[str, segments.Segment]:
    """The segments of ``wanted`` files: read back when cached, else built (and cached)."""
    found = {key: segments.load(cache_dir, key) for _, _, key in wanted}
    missing = [f for f in wanted if found[f[2]] is None]

    fresh: dict[str, segments.Segment | None] = {}

    def built(result: segments.Built) -> None:
        report.parse_cpu_s += result.read_s
        report.analyse_cpu_s += result.analyse_s
        if result.valid:  # read back now, while the workers build the rest
            fresh[result.key] = segments.load(cache_dir, result.key)

    if not segments.build_missing(missing, aliases, cache_dir, workers, on_built=built):
        _invalid(folder)
    ready: dict[str, segments.Segment] = {}
    for path, _, key in wanted:
        segment = found[key]
        if segment is None:
            segment = fresh.get(key)
            report.built.append(str(path))  # the rest are reused: counted by the caller
            if segment is None:
                raise OSError("a segment just written could not be read back")
        ready[key] = segment
    return ready


def _invalid(folder: Path) -> NoReturn:
    """Report an invalid knowledge base exactly as :func:`load` does (it raises)."""
    load(folder)
    # load found nothing wrong: the files changed while they were being read.
    raise KnowledgeError(
        [Problem(str(folder), message="the files changed while they were read; try again")]
    )
    raise KnowledgeError([])  # pragma: no cover - load found the problem first


def index_from_cache(cached: store.Cached, files: Sequence[Path] = ()) -> Index:
    """The index a cache file holds; records are decoded only when read."""
    records = LazyRecords(cached.records)
    aliases = tuple(tuple(group) for group in cached.meta.get("aliases", ()))
    kb = KnowledgeBase(
        records=records,
        aliases=aliases,
        files=tuple(str(p) for p in files),
        digest=cached.digest,
        by_id=LazyById(cached.records, records),
    )
    return Index(kb, Analyzer(aliases), cached.index, cached.meta.get("spelling"))
