"""The search index: claim records → weighted terms → BM25 ranking.

Ranking model: rank-bm25's ``BM25Plus`` (k1=1.2, b=0.75, delta=1.0). Why not
``BM25Okapi``: it floors negative IDF at ``epsilon * average_idf``, so on a
small knowledge base a term present in half or more of the records scores 0,
and a two-record corpus can score everything 0 (rank_bm25 issues #29, #39,
#43). BM25Plus's IDF, log((N+1)/df), is positive for every term at every
corpus size, and its delta rewards each matched term, so records that match
more of the question's words rank first. ``bot.scoring.SparseBM25`` computes
the very same scores from postings, touching only the question's terms.

Fields are weighted by repetition: BM25 saturates term frequency, so a match
in the claim (x3) counts more than one in the quote, claimant, entities and
tags (x2), which count more than one in the source excerpt (x1).
"""

from __future__ import annotations

import difflib
import json
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

from bot import cache
from bot.knowledge import KnowledgeBase, digest, load, record_files
from bot.schema import Record
from bot.scoring import SparseBM25
from bot.text import STOP_WORDS, Analyzer, words

log = logging.getLogger(__name__)

K1, B, DELTA = 1.2, 0.75, 1.0

#: Names everything besides the knowledge files that a cached index depends
#: on: change the analysis, the weights or the BM25 parameters, bump this, and
#: every old cache is rebuilt instead of trusted.
FINGERPRINT = f"analyzer-3 bm25plus k1={K1} b={B} delta={DELTA}"

#: (field weight, text getter) pairs: how each record field feeds the index.
FIELD_WEIGHTS: tuple[tuple[int, str], ...] = (
    (3, "claim"),
    (2, "quote"),
    (2, "claimant"),
    (2, "entities"),
    (2, "tags"),
    (1, "excerpt"),
    (1, "date"),
)

# Words a question wraps around its topic; they say nothing about which record
# answers it, and left in they would make an on-topic question look off-topic.
# Reporting verbs are here too: every record is something reported or said.
QUESTION_FILLER = frozenset(
    """
    report reported reporting reports claim claimed claims announce announced
    write wrote written note noted mention mentioned
    news latest recent recently current currently update updates info information detail
    details happen happened happening go going give show find look explain summary summarize
    summarise mean meant think thought today now ago date time year month day
    hey hello true really correct confirm according accord help near around besides
    position stance view located location locate
    """.split()
)


#: Spelling correction reads every record's words once; above this many records
#: that costs more than it saves, and questions are taken as typed.
SPELLING_MAX_RECORDS = 50_000
#: How alike a misspelt word and a record word must be (difflib ratio):
#: "factroy"/"factory" 0.86 pass, "grain"/"train" 0.80 do not.
SPELLING_CUTOFF = 0.84


def field_texts(record: Record) -> dict[str, list[str]]:
    """The texts of each indexed field of a record."""
    return {
        "claim": [record.claim],
        "quote": [record.quote] if record.quote else [],
        "claimant": [record.claimant],
        "entities": list(record.entities),
        "tags": [t.replace("-", " ") for t in record.tags],
        "excerpt": [record.source.excerpt],
        "date": [record.date_text],
    }


def document_terms(analyzer: Analyzer, record: Record) -> list[str]:
    """A record's weighted term list, as it goes into BM25."""
    texts = field_texts(record)
    terms: list[str] = []
    for weight, name in FIELD_WEIGHTS:
        field_terms = [t for text in texts[name] for t in analyzer.terms(text)]
        terms.extend(field_terms * weight)
    return terms


def spelling_words(knowledge: KnowledgeBase) -> list[str]:
    """The record and alias words (4+ letters) that spelling correction may offer;
    none above SPELLING_MAX_RECORDS records. Computed at build time and cached."""
    found: set[str] = set()
    if len(knowledge.records) <= SPELLING_MAX_RECORDS:
        for record in knowledge.records:
            for texts in field_texts(record).values():
                for text in texts:
                    found.update(w for w in words(text) if len(w) >= 4)
        for group in knowledge.aliases:
            for phrase in group:
                found.update(w for w in words(phrase) if len(w) >= 4)
    return sorted(found)


def _buckets(spelling: Sequence[str]) -> dict[tuple[str, int], list[str]]:
    """Words by (first letter, length): a typo rarely changes the first letter or
    the length by more than two, so a word is compared with few others."""
    buckets: dict[tuple[str, int], list[str]] = {}
    for word in spelling:
        buckets.setdefault((word[0], len(word)), []).append(word)
    return buckets


@dataclass(frozen=True)
class Hit:
    """One record found for a question; the record itself is read only when asked for."""

    #: The record's position in the knowledge base.
    position: int
    records: Sequence[Record] = field(repr=False, compare=False)
    #: rank-bm25's score: comparable only within one question.
    score: float
    #: The score above what a record matching none of the terms gets (BM25Plus
    #: adds idf * delta for every query term to every record).
    relevance: float
    #: The question's terms this record contains.
    matched: frozenset[str]
    #: IDF-weighted share of the question's terms that the record contains (0..1).
    coverage: float

    @property
    def record(self) -> Record:
        # From a cache, this decodes the record: only for hits an answer keeps.
        return self.records[self.position]


class Index:
    """Search over one knowledge base; immutable, so it can be swapped whole on reload."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        analyzer: Analyzer,
        scorer: SparseBM25,
        spelling: Sequence[str] | None = None,
    ) -> None:
        """``spelling``: the words for spelling correction (:func:`spelling_words`);
        None reads them from the records when first needed."""
        self.knowledge = knowledge
        self.analyzer = analyzer
        self.scorer = scorer
        # Filler words as the analyzer spells them (stemmed, aliased).
        self._filler = analyzer.term_set(QUESTION_FILLER)
        self._spelling_list = spelling
        self._spelling = None if spelling is None else _buckets(spelling)

    @classmethod
    def build(cls, knowledge: KnowledgeBase) -> Index:
        analyzer = Analyzer(knowledge.aliases)
        corpus = [document_terms(analyzer, r) for r in knowledge.records]
        scorer = SparseBM25.fit(corpus, k1=K1, b=B, delta=DELTA)
        return cls(knowledge, analyzer, scorer, spelling_words(knowledge))

    def __len__(self) -> int:
        return len(self.knowledge.records)

    def question_terms(self, question: str) -> list[str]:
        """The question's content terms, in order, without repeats or filler.

        A hyphenated word no record holds ("co-produce") is left to its parts,
        which the analyzer adds beside it; kept whole it would count as unknown.
        """
        seen: dict[str, None] = {}
        for term in self.analyzer.terms(self.spell(question)):
            if term in self._filler or ("-" in term and term not in self.scorer):
                continue
            seen.setdefault(term, None)
        return list(seen)

    def _spelling_words(self) -> dict[tuple[str, int], list[str]]:
        if self._spelling is None:
            self._spelling = _buckets(spelling_words(self.knowledge))
        return self._spelling

    def spell(self, question: str) -> str:
        """The question with misspelt words replaced by the closest record word.

        Only words no record knows are touched (4+ letters, not stop words or
        filler): "iranian dron factroy" becomes "iranian drone factory".
        """
        buckets = self._spelling_words()
        if not buckets:
            return question
        out = []
        for word in words(question):
            if (
                len(word) >= 4
                and word not in STOP_WORDS
                and not any(
                    t in self.scorer or t in self._filler for t in self.analyzer.terms(word)
                )
            ):
                nearby = [
                    w
                    for size in range(len(word) - 2, len(word) + 3)
                    for w in buckets.get((word[0], size), ())
                ]
                close = difflib.get_close_matches(word, nearby, n=1, cutoff=SPELLING_CUTOFF)
                word = close[0] if close else word
            out.append(word)
        return " ".join(out)

    def weight(self, term: str) -> float:
        """How much a term says: its IDF; an unknown term counts as the rarest kind."""
        idf = self.scorer.idf(term)
        return idf if idf is not None else math.log(len(self) + 1)

    def search(self, question: str | Sequence[str], limit: int = 10) -> list[Hit]:
        """Records that share terms with the question, best first."""
        terms = self.question_terms(question) if isinstance(question, str) else list(question)
        if not terms:
            return []
        positions, scores = self.scorer.top_k(terms, limit)
        total = sum(self.weight(t) for t in terms)
        baseline = DELTA * sum(self.scorer.idf(t) or 0.0 for t in terms)
        hits = []
        for position, score in zip(positions.tolist(), scores.tolist(), strict=True):
            matched = self.scorer.matched(position, terms)  # from the index: no re-analysis
            coverage = sum(self.weight(t) for t in matched) / total
            hits.append(
                Hit(position, self.knowledge.records, score, score - baseline, matched, coverage)
            )
        return hits


class LazyRecords(Sequence[Record]):
    """Records from an index cache, each decoded and validated when first read.

    An answer reads the few records it cites; a knowledge base of a million
    records is never decoded whole.
    """

    def __init__(self, store: cache.RecordStore) -> None:
        self._store = store
        self._decoded: dict[int, Record] = {}

    def __len__(self) -> int:
        return len(self._store)

    def raw(self, i: int) -> bytes:
        """Record i as stored: :func:`record_json` bytes, undecoded."""
        return self._store.raw(i)

    def record_id(self, i: int) -> str:
        return self._store.record_id(i)

    @overload
    def __getitem__(self, i: int) -> Record: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Record]: ...
    def __getitem__(self, i: int | slice) -> Record | Sequence[Record]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        record = self._decoded.get(i)
        if record is None:
            record = Record.model_validate(self._store[i])
            if len(self._decoded) < 4096:
                self._decoded[i] = record
        return record


class LazyById(Mapping[str, Record]):
    """Record id → record over an index cache, through the store's id table."""

    def __init__(self, store: cache.RecordStore, records: LazyRecords) -> None:
        self._store, self._records = store, records

    def __getitem__(self, record_id: str) -> Record:
        position = self._store.position(record_id)
        if position is None:
            raise KeyError(record_id)
        return self._records[position]

    def __iter__(self) -> Iterator[str]:
        return (self._store.record_id(i) for i in range(len(self._store)))

    def __len__(self) -> int:
        return len(self._store)


def record_json(record: Record) -> bytes:
    """A record as the cache stores it: compact JSON, so equal records give equal bytes."""
    data = record.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def record_fingerprints(knowledge: KnowledgeBase) -> dict[str, bytes]:
    """Record id → its stored JSON, to tell what a reload changed without decoding."""
    records = knowledge.records
    if isinstance(records, LazyRecords):
        return {records.record_id(i): records.raw(i) for i in range(len(records))}
    return {r.id: record_json(r) for r in records}


def open_index(folder: str | Path, cache_dir: str | Path | None = None) -> Index:
    """The index of a knowledge folder, from the cache when its content is unchanged.

    Without ``cache_dir``: load, validate and build. With it: a cache file keyed
    by the folder's content digest is loaded when present and sound (records
    are then decoded only when cited), else the knowledge base is loaded,
    validated and indexed, and the cache written for next time. Only a valid
    knowledge base is ever cached, so a cache hit needs no validation.

    Raises KnowledgeError when the knowledge base is invalid.
    """
    folder = Path(folder)
    if cache_dir is None:
        return Index.build(load(folder))
    if folder.is_dir():
        cached = cache.load_cached(cache_dir, digest(folder), fingerprint=FINGERPRINT)
        if cached is not None:
            return index_from_cache(cached, record_files(folder))
    index = Index.build(load(folder))
    kb = index.knowledge
    try:
        builder = cache.RecordStoreBuilder()
        for record in kb.records:
            builder.add_json(record_json(record), record.id)
        store = builder.build()
        cache.store(
            cache_dir,
            kb.digest,
            index.scorer,
            store,
            fingerprint=FINGERPRINT,
            meta={
                "aliases": [list(g) for g in kb.aliases],
                "spelling": list(index._spelling_list or ()),
            },
        )
    except OSError as exc:  # a read-only or full disk costs speed, not answers
        log.warning("could not write the index cache in %s: %s", cache_dir, exc)
        return index
    # Serve from the cache just written: records stay on disk until cited,
    # instead of every validated Record object held in memory.
    cached = cache.load_cached(cache_dir, kb.digest, fingerprint=FINGERPRINT)
    return index_from_cache(cached, record_files(folder)) if cached is not None else index


def index_from_cache(cached: cache.Cached, files: Sequence[Path] = ()) -> Index:
    """The index a cache file holds; records are decoded only when read."""
    records = LazyRecords(cached.records)
    aliases = tuple(tuple(group) for group in cached.meta.get("aliases", ()))
    kb = KnowledgeBase(
        records=records,  # type: ignore[arg-type]
        aliases=aliases,
        files=tuple(str(p) for p in files),
        digest=cached.digest,
        by_id=LazyById(cached.records, records),  # type: ignore[arg-type]
    )
    return Index(kb, Analyzer(aliases), cached.index, cached.meta.get("spelling"))
