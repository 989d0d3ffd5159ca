"""Opening a knowledge folder's index: from the content-keyed cache when unchanged,
else load, validate, build, and cache it for next time."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import overload

from bot.knowledge.loader import KnowledgeBase, digest, load, record_files
from bot.knowledge.schema import Record
from bot.search import store
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


def open_index(
    folder: str | Path, cache_dir: str | Path | None = None, embedder: Embedder | None = None
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

    Raises KnowledgeError when the knowledge base is invalid.
    """
    index = _lexical_index(Path(folder), cache_dir)
    if embedder is None:
        return index
    return with_vectors(index, embedder, cache_dir)


def with_vectors(index: Index, embedder: Embedder, cache_dir: str | Path | None = None) -> Index:
    """The same index with its records' sentence vectors (hybrid search)."""
    records = index.knowledge.records
    if isinstance(records, LazyRecords):
        keys = [record_key(records.raw(i)) for i in range(len(records))]
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


def _lexical_index(folder: Path, cache_dir: str | Path | None) -> Index:
    if cache_dir is None:
        return Index.build(load(folder))
    if folder.is_dir():
        cached = store.load_cached(cache_dir, digest(folder), fingerprint=FINGERPRINT)
        if cached is not None:
            return index_from_cache(cached, record_files(folder))
    index = Index.build(load(folder))
    kb = index.knowledge
    try:
        builder = store.RecordStoreBuilder()
        for record in kb.records:
            builder.add_json(record_json(record), record.id)
        records = builder.build()
        store.store(
            cache_dir,
            kb.digest,
            index.scorer,
            records,
            fingerprint=FINGERPRINT,
            meta={
                "aliases": [list(g) for g in kb.aliases],
                "spelling": list(index.speller.words),
            },
        )
    except OSError as exc:  # a read-only or full disk costs speed, not answers
        log.warning("could not write the index cache in %s: %s", cache_dir, exc)
        return index
    # Serve from the cache just written: records stay on disk until cited,
    # instead of every validated Record object held in memory.
    cached = store.load_cached(cache_dir, kb.digest, fingerprint=FINGERPRINT)
    return index_from_cache(cached, record_files(folder)) if cached is not None else index


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
