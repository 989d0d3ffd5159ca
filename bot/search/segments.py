"""Per-file segments of the index cache: each knowledge file read, validated and analysed once.

A *segment* is what the index needs of one record file: its records as stored
JSON (:func:`bot.search.records.record_json`) with their ids, the term counts
of their analysed text (:func:`bot.search.scorer.count_frequencies`), the ids they
link to, and the words spelling correction may offer. It is cached in
``<cache>/segments/<key>.npz``, where the key is a sha256 over the file's bytes,
the alias groups and :data:`SEGMENT_FINGERPRINT` (analyser, field weights,
format). A start or reload after one file changed builds that file's segment
alone and merges all of them in file order: :meth:`SparseBM25.from_counts`
over per-file counts equals :meth:`SparseBM25.fit` over all records, so the
merged index is the full rebuild's, bit for bit.

Only a file that validates on its own becomes a segment; links between files
are checked at the merge (:func:`links_resolve`).

Several missing segments are built in worker processes (``spawn``: the bot
runs threads), each writing its own segment file and handing back only its key.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import CacheError
from bot.knowledge.loader import KnowledgeBase, read_record_file
from bot.knowledge.schema import Record
from bot.search.analysis import MEMO_WORDS, Analyzer
from bot.search.fields import document_counts
from bot.search.records import record_json
from bot.search.scorer import SparseBM25, TermCounts, count_frequencies
from bot.search.spelling import SPELLING_MAX_RECORDS, spelling_words
from bot.search.store import (
    Parts,
    RecordStore,
    RecordStoreBuilder,
    atomic_savez,
    content_key,
    id_hashes,
)

log = logging.getLogger(__name__)

#: Names what a segment's content depends on besides the file and the aliases:
#: bump it whenever analysis, field weights or this layout change.
SEGMENT_FINGERPRINT = "segment-2 analyzer-3 fields-1"
_KIND = "claimbot.segment"
#: Below this many bytes of YAML to build, worker processes cost more than they save.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024


def segment_key(content: bytes, aliases: Sequence[Sequence[str]]) -> str:
    """The cache key of one record file's segment, from the file's
    :func:`bot.knowledge.loader.file_digest`, the aliases and the versions."""
    h = hashlib.sha256(SEGMENT_FINGERPRINT.encode() + b"\0")
    h.update(json.dumps([list(g) for g in aliases], ensure_ascii=False).encode() + b"\0")
    h.update(content)
    return h.hexdigest()


@dataclass(frozen=True)
class Segment:
    """One validated, analysed record file."""

    key: str
    records: RecordStore
    counts: TermCounts
    #: (record id, linked id) pairs, for the checks across files.
    links: list[tuple[str, str]]
    #: The file's words for spelling correction; None for a file too large to offer any.
    spelling: Sequence[str] | None

    def __len__(self) -> int:
        return len(self.records)


def analyse(records: Sequence[Record], aliases: Sequence[Sequence[str]], key: str = "") -> Segment:
    """A segment from validated records: stored JSON, term counts, links, spelling words."""
    with _collector_paused():  # see there: the allocations here are freed by refcount
        return _analyse(records, aliases, key)


def _analyse(records: Sequence[Record], aliases: Sequence[Sequence[str]], key: str) -> Segment:
    analyzer = Analyzer(aliases)
    builder = RecordStoreBuilder()
    links: list[tuple[str, str]] = []
    docs = []
    keys = []
    for record in records:
        line = record_json(record)
        builder.add_json(line, record.id)
        keys.append(content_key(line))
        links.extend((record.id, target) for _, target in record.links())
        docs.append(document_counts(analyzer, record))
    counts = count_frequencies(docs)
    # Content keys and id hashes are hashed here, where the file is analysed (in a
    # worker): the merge only joins them (~3 s of one process at a million records).
    stored = builder.build().with_hashes(
        np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16),
        id_hashes(r.id for r in records),
    )
    spelling = None
    if len(records) <= SPELLING_MAX_RECORDS:
        # The analyser remembers every word it saw (the record texts' and the
        # alias phrases'): exactly spelling_words' sources, at no extra pass.
        seen = analyzer.seen_words()
        if seen is not None:
            spelling = sorted(w for w in seen if len(w) >= 4)
        else:
            kb = KnowledgeBase(records=records, aliases=_tuples(aliases))
            spelling = spelling_words(kb)
    return Segment(key, stored, counts, links, spelling)


def _tuples(aliases: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(g) for g in aliases)


# --- on disk ------------------------------------------------------------------------------


def segment_path(cache_dir: str | Path, key: str) -> Path:
    return Path(cache_dir) / "segments" / f"{key}.npz"


def _strings(values: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def _unstrings(blob: np.ndarray, offsets: np.ndarray) -> list[str]:
    data = blob.tobytes()
    bounds = offsets.tolist()
    return [data[a:z].decode("utf-8") for a, z in pairwise(bounds)]


class _LazyStrings(Sequence[str]):
    """A segment's spelling words, decoded on first use: a merge above
    SPELLING_MAX_RECORDS never uses them (half the strings a 1k-record segment holds)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        if (
            not len(offsets)
            or offsets[0] != 0
            or offsets[-1] != len(blob)
            or np.any(np.diff(offsets) < 0)
        ):
            raise CacheError("spelling words do not add up")
        self._blob, self._offsets = blob, offsets
        self._strings: list[str] | None = None

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: Any) -> Any:
        if self._strings is None:
            self._strings = _unstrings(self._blob, self._offsets)
        return self._strings[i]


def save(cache_dir: str | Path, segment: Segment) -> Path:
    """Write a segment atomically (uncompressed ``.npz``, no pickles)."""
    path = segment_path(cache_dir, segment.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    c = segment.counts
    meta = {
        "kind": _KIND,
        "fingerprint": SEGMENT_FINGERPRINT,
        "key": segment.key,
        "records": len(segment),
        "spelling": segment.spelling is not None,
    }
    arrays: dict[str, np.ndarray] = {
        "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        **segment.records.to_arrays("records."),
        "counts.term_ids": c.term_ids.astype(np.int32),
        "counts.tf": c.tf.astype(np.int32),
        "counts.distinct": c.distinct.astype(np.int32),
        "counts.lengths": c.lengths.astype(np.int32),
    }
    for name, values in (
        ("terms", c.terms),
        ("link_from", [a for a, _ in segment.links]),
        ("link_to", [b for _, b in segment.links]),
        ("spelling", segment.spelling or []),
    ):
        arrays[f"{name}.blob"], arrays[f"{name}.offsets"] = _strings(values)
    atomic_savez(path, arrays)
    return path


def load(cache_dir: str | Path, key: str) -> Segment | None:
    """The cached segment for ``key``, or None (missing, or unsound: then deleted)."""
    path = segment_path(cache_dir, key)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode("utf-8"))
            if (
                meta.get("kind") != _KIND
                or meta.get("fingerprint") != SEGMENT_FINGERPRINT
                or meta.get("key") != key
            ):
                raise CacheError("not this segment")
            records = RecordStore.from_arrays(npz, "records.")
            strings = {
                name: _unstrings(npz[f"{name}.blob"], npz[f"{name}.offsets"])
                for name in ("terms", "link_from", "link_to")
            }
            lazy_spelling = _LazyStrings(npz["spelling.blob"], npz["spelling.offsets"])
            # Kept as stored (int32): the merge moves half the bytes of int64 copies.
            counts = TermCounts(
                strings["terms"],
                *(
                    npz[f"counts.{name}"].astype(np.int32, copy=False)
                    for name in ("term_ids", "tf", "distinct", "lengths")
                ),
            )
        n = len(records)
        if n != meta.get("records") or len(counts.distinct) != n or len(counts.lengths) != n:
            raise CacheError("record counts do not add up")
        if int(counts.distinct.sum()) != len(counts.term_ids) or len(counts.tf) != len(
            counts.term_ids
        ):
            raise CacheError("term counts do not add up")
        if len(counts.term_ids) and (
            counts.term_ids.min() < 0 or counts.term_ids.max() >= len(counts.terms)
        ):
            raise CacheError("a term id outside the vocabulary")
        links = list(zip(strings["link_from"], strings["link_to"], strict=True))
        spelling = lazy_spelling if meta.get("spelling") else None
    except Exception as exc:  # a damaged segment costs one file's analysis, never answers
        log.warning("ignoring index segment %s (%s); it will be rebuilt", path, exc)
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: pruning keeps it
    return Segment(key, records, counts, links, spelling)


def prune(cache_dir: str | Path, keep: Iterable[str], spare: int = 64) -> None:
    """Delete segments not in ``keep``, beyond the ``spare`` most recently used."""
    folder = Path(cache_dir) / "segments"
    wanted = set(keep)
    others = sorted(
        (p for p in folder.glob("*.npz") if p.stem not in wanted),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in others[spare:]:
        with contextlib.suppress(OSError):
            old.unlink()


# --- building the missing ones ------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """How a file's segment was had: built (how long it took) or reused."""

    key: str
    built: bool
    seconds: float = 0.0
    valid: bool = True
    #: Of ``seconds``: parsing and validating the file, then analysing its records.
    read_s: float = 0.0
    analyse_s: float = 0.0


def build_file(
    raw: bytes, name: str, aliases: Sequence[Sequence[str]], key: str, cache_dir: str | Path
) -> Built:
    """Read, validate and analyse one file and cache its segment (in a worker or inline).

    An invalid file is not cached: ``valid`` is False and the caller reports
    the knowledge base's problems through :func:`bot.knowledge.load`.
    """
    t0 = time.perf_counter()
    with _collector_paused():
        loaded = read_record_file(raw, name)
        t1 = time.perf_counter()
        if not loaded.valid:
            return Built(key, True, t1 - t0, valid=False, read_s=t1 - t0)
        segment = analyse([r for r, *_ in loaded.records], aliases, key)
        t2 = time.perf_counter()
    save(cache_dir, segment)
    return Built(key, True, time.perf_counter() - t0, read_s=t1 - t0, analyse_s=t2 - t1)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while one file is parsed and analysed.

    The file's events, dicts and records are freed by reference counting; the
    collector would only walk the heap again and again as they are allocated
    (in a serving process, every index and answer object too): 10-15 % of a
    10,000-record file's build. Paused for that one file, never longer.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build_path(
    path: str, aliases: list[list[str]], key: str, cache_dir: str
) -> Built:  # pragma: no cover - runs in a worker process
    return build_file(Path(path).read_bytes(), path, aliases, key, cache_dir)


def build_missing(
    files: Sequence[tuple[Path, bytes, str]],
    aliases: Sequence[Sequence[str]],
    cache_dir: str | Path,
    workers: int | None = None,
    on_built: Callable[[Built], None] | None = None,
) -> bool:
    """Build the segments of ``files`` ((path, bytes, key) each); False when one is invalid.

    Several large files go to worker processes (default: one a CPU), which
    stream their results back as each file is done; one file, or a little
    YAML, is built here.
    """
    if not files:
        return True
    size = sum(len(raw) for _, raw, _ in files)
    workers = workers if workers is not None else (os.cpu_count() or 1)
    workers = min(workers, len(files))
    results: Iterable[Built]
    # A daemonic process (a multiprocessing.Pool worker) may not start children.
    if workers <= 1 or size < PARALLEL_MIN_BYTES or multiprocessing.current_process().daemon:
        results = (build_file(raw, str(path), aliases, key, cache_dir) for path, raw, key in files)
        return _collect(results, on_built)
    context = multiprocessing.get_context("spawn")  # no fork: the bot runs threads
    groups = [list(g) for g in aliases]
    # Largest first, so no worker is left with a big file at the end.
    order = sorted(files, key=lambda f: -len(f[1]))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [
            pool.submit(_build_path, str(path), groups, key, str(cache_dir))
            for path, _, key in order
        ]
        return _collect((f.result() for f in as_completed(futures)), on_built)


def _collect(results: Iterable[Built], on_built: Callable[[Built], None] | None) -> bool:
    ok = True
    for result in results:
        ok = ok and result.valid
        if on_built is not None:
            on_built(result)
    return ok


# --- merging ------------------------------------------------------------------------------


def links_resolve(segments: Sequence[Segment]) -> bool:
    """True when ids are unique across segments and every link names another record."""
    return links_hold(merge_records(segments), segment_links(segments))


def links_hold(records: RecordStore, links: tuple[np.ndarray, Sequence[str]]) -> bool:
    """True when the records' ids are unique and every link (source position, target
    id) names another record: the one check of a full merge and of a patch."""
    if not records.ids_unique():
        return False
    sources, targets = links
    found = records.positions(targets)
    return all(
        at is not None and at != source for at, source in zip(found, sources.tolist(), strict=True)
    )


def segment_links(segments: Sequence[Segment]) -> tuple[np.ndarray, list[str]]:
    """Every link of the segments' records as (source position, target id), positions in
    the merged order: what the cache keeps so a later patch can check links again."""
    sources: list[int] = []
    targets: list[str] = []
    start = 0
    for segment in segments:
        found = segment.records.positions([source for source, _ in segment.links])
        for position, (source, target) in zip(found, segment.links, strict=True):
            if position is None:  # pragma: no cover - a segment's links come from its records
                raise CacheError(f"segment link from unknown record {source!r}")
            sources.append(start + position)
            targets.append(target)
        start += len(segment)
    return np.array(sources, dtype=np.int64), targets


def merge_records(segments: Sequence[Segment]) -> RecordStore:
    """The segments' records as one store, in order."""
    parts = [s.records.to_arrays("") for s in segments]
    arrays: dict[str, Any] = {}
    for blob, offsets in (("blob", "offsets"), ("ids_blob", "ids_offsets")):
        # The records' JSON is kept in its parts, never joined: the index cache is
        # written part by part (joining 800 MB took 2 s of a 1M-record merge).
        pieces = [p[blob] for p in parts]
        arrays[blob] = Parts(pieces) if blob == "blob" else np.concatenate(pieces, dtype=np.uint8)
        shifted, base = [np.zeros(1, dtype=np.int64)], 0
        for p in parts:
            shifted.append(p[offsets][1:] + base)
            base += int(p[offsets][-1])
        arrays[offsets] = np.concatenate(shifted)
    for name in ("keys", "id_hashes"):  # when every segment has them (older ones may not)
        if all(name in p for p in parts):
            arrays[name] = np.concatenate([p[name] for p in parts])
    return RecordStore.from_arrays(arrays, "")


@dataclass(frozen=True)
class Merged:
    """Segments merged in order: what the index cache holds."""

    scorer: SparseBM25
    records: RecordStore
    #: (source position, target id) of every link (see :func:`segment_links`).
    links: tuple[np.ndarray, list[str]]
    spelling: list[str]


def merge(segments: Sequence[Segment]) -> Merged | None:
    """The segments as one index (equal to a full rebuild); None when ids repeat across
    them or a link names no record."""
    records = merge_records(segments)
    links = segment_links(segments)
    if not links_hold(records, links):
        return None
    scorer = SparseBM25.from_counts(part.counts for part in segments)
    return Merged(scorer, records, links, merge_spelling(segments))


def merge_spelling(segments: Sequence[Segment]) -> list[str]:
    """spelling_words of the whole knowledge base, from the segments' word lists."""
    if sum(len(s) for s in segments) > SPELLING_MAX_RECORDS:
        return []
    found: set[str] = set()
    for segment in segments:
        found.update(segment.spelling or ())
    return sorted(found)


__all__ = [
    "MEMO_WORDS",
    "SEGMENT_FINGERPRINT",
    "Built",
    "Merged",
    "Segment",
    "analyse",
    "build_file",
    "build_missing",
    "links_hold",
    "links_resolve",
    "load",
    "merge",
    "merge_records",
    "merge_spelling",
    "prune",
    "save",
    "segment_key",
    "segment_links",
    "segment_path",
]
