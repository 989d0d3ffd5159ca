"""Sparse BM25+ scoring: rank_bm25's exact scores at the cost of a question's postings.

``rank_bm25.BM25Plus.get_scores`` walks every record's term dict for every
query term, so a question costs O(records) (~1.6 s at a million records) and the
fitted model keeps a Python dict per record. :class:`SparseBM25` keeps the same
statistics as compact per-term postings instead:

- ``_indptr`` (int64, one slot per term + 1) delimits each term's postings;
- ``_docs`` (int32) are the records holding the term, ascending;
- ``_weights`` (float64) are the term's contribution to each of those records,
  precomputed with *exactly* rank_bm25's expression
  ``idf * (delta + tf * (k1 + 1) / (k1 * (1 - b + b * dl / avgdl) + tf))``;
- ``_tf`` (uint8/16/32) is kept only so the index can be saved compactly.

**Bit-for-bit parity.** BM25Plus adds ``idf * delta`` for every query term to
every record, even where the term is absent, and accumulates the query terms in
order (repeated terms count again). :meth:`SparseBM25.top_k` replays that very
sequence of float64 operations on the candidate records only, so its scores are
identical to ``get_scores``'s, not merely close: rankings and ties agree exactly.

**Cost.** ``top_k`` uses MaxScore pruning: it scores the records of the rarest
terms first, takes the k-th best score as a threshold, and then only records
holding an *essential* term (one whose upper bound could still lift a record past
the threshold) are candidates; common terms are only looked up for those
candidates (binary search in their postings). Work is bounded by the query's
postings and is usually far smaller; it never scans all records. That plan is
Python over numpy (:mod:`bot.search.topk`: the reference); on large indexes with
numba installed, a compiled document-at-a-time MaxScore (:mod:`bot.search.kernels`)
returns the same results, faster.
"""

from __future__ import annotations

import json
import math
import os
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse

from bot.errors import CacheError
from bot.search.topk import (
    EMPTY_IDS,
    EMPTY_SCORES,
    PROBE_MIN,
    PROBE_SHARE,
    PROBES,
    SMALL_QUERY,
    Accumulator,
    QueryPlan,
    select,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import rank_bm25

#: The bot's BM25+ parameters (rank-bm25's defaults): the one place they are set.
K1, B, DELTA = 1.2, 0.75, 1.0

#: A compiled top-k (:func:`bot.search.kernels.top_k`): arrays and numbers in, (ids, scores) out.
_Kernel = Callable[..., tuple[np.ndarray, np.ndarray]]

#: Bumped whenever the saved array layout or the scoring formula changes.
FORMAT_VERSION = 1
_KIND = "claimbot.SparseBM25"


#: From this many records on, :meth:`SparseBM25.top_k` runs compiled (:mod:`bot.search.kernels`)
#: unless ``BOT_NUMBA=0``: numba's start-up (~1.1 s and ~130 MB once a process) only pays
#: back on large indexes; below, the numpy path answers in well under a millisecond anyway.
KERNEL_MIN_RECORDS = 20_000
#: Postings a block when the per-posting arrays are derived (see _excess_and_bounds).
_BLOCK = 1 << 22


def _compiled_top_k(records: int) -> _Kernel | None:
    """The compiled top-k for an index of ``records`` records, or None for the numpy path.

    ``BOT_NUMBA``: ``0`` never, ``1`` always, unset from :data:`KERNEL_MIN_RECORDS`
    records on; never without numba. Imported only then, not with the package.
    """
    mode = os.environ.get("BOT_NUMBA", "").strip()
    if mode == "0" or (mode != "1" and records < KERNEL_MIN_RECORDS):
        return None
    from bot.search import kernels

    return kernels.top_k if kernels.available() else None


def _tf_dtype(max_tf: int) -> np.dtype:
    """The narrowest unsigned dtype that holds every term frequency."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if max_tf <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"a term occurs {max_tf} times in one record; too many to index")


def _idf(corpus_size: int, df: np.ndarray) -> np.ndarray:
    """BM25Plus's idf, log((N + 1) / df), with math.log on Python floats as rank_bm25 does.

    numpy's vectorised log may differ from libm's by an ulp; parity needs libm.
    """
    n1 = corpus_size + 1
    values, inverse = np.unique(df, return_inverse=True)  # few distinct df: few logs
    logs = np.array([math.log(n1 / f) for f in values.tolist()], dtype=np.float64)
    return logs[inverse.reshape(-1)]


def _norms(doc_len: np.ndarray, k1: float, b: float, avgdl: float) -> np.ndarray:
    """Per-record ``k1 * (1 - b + b * dl / avgdl)``, evaluated in rank_bm25's operation order."""
    if avgdl == 0:  # every record is empty: there are no postings to weigh
        return np.zeros(len(doc_len))
    return k1 * (1 - b + b * doc_len.astype(np.int64) / avgdl)


@dataclass(frozen=True)
class TermCounts:
    """Term statistics of a run of records: small, picklable, counted where they were analysed.

    Worker processes analyse their share of the records and return
    :func:`count_terms` of it; :meth:`SparseBM25.from_counts` merges the runs.
    """

    #: The run's vocabulary, in order of first appearance.
    terms: list[str]
    #: Per (record, distinct term): an index into ``terms``, and the term frequency.
    term_ids: np.ndarray
    tf: np.ndarray
    #: Per record: how many distinct terms, and how many tokens.
    distinct: np.ndarray
    lengths: np.ndarray


def count_terms(corpus: Iterable[Sequence[str]]) -> TermCounts:
    """Count a run of tokenised records (for :meth:`SparseBM25.from_counts`)."""
    return count_frequencies((Counter(doc), len(doc)) for doc in corpus)


def count_frequencies(records: Iterable[tuple[Mapping[str, int], int]]) -> TermCounts:
    """A run of records counted already: (term -> frequency, length) each, terms in
    order of first appearance (as ``Counter`` gives them)."""
    keys: list[str] = []
    tfs, distinct, lengths = array("q"), array("q"), array("q")
    for counts, length in records:
        keys.extend(counts)
        tfs.extend(counts.values())
        distinct.append(len(counts))
        lengths.append(length)
    # Ids in order of first appearance, numbered in C (dict.fromkeys, map).
    vocab = {t: i for i, t in enumerate(dict.fromkeys(keys))}
    term_ids = np.fromiter(map(vocab.__getitem__, keys), dtype=np.int64, count=len(keys))
    return TermCounts(
        list(vocab), term_ids, *(np.frombuffer(a, dtype=np.int64) for a in (tfs, distinct, lengths))
    )


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


class SparseBM25:
    """rank_bm25.BM25Plus's ranking as postings arrays; immutable and thread-safe once built.

    Build with :meth:`fit` (from tokenised records) or :meth:`from_rank_bm25`;
    persist with :meth:`save` / :meth:`load` (or :meth:`to_arrays` /
    :meth:`from_arrays` when embedding the index in a larger file).
    """

    def __init__(
        self,
        *,
        terms: list[str],
        indptr: np.ndarray,
        docs: np.ndarray,
        tf: np.ndarray,
        doc_len: np.ndarray,
        k1: float,
        b: float,
        delta: float,
        idf: np.ndarray | None = None,
        avgdl: float | None = None,
    ) -> None:
        """Assemble an index from raw statistics; everything else is derived here.

        Deriving idf, avgdl and the weights from (df, tf, doc lengths) means a
        saved index cannot hold contradicting numbers. ``idf`` / ``avgdl`` may
        be passed to reuse a fitted rank_bm25 model's own values.
        """
        self.k1, self.b, self.delta = float(k1), float(b), float(delta)
        self._terms = terms
        self._vocab = dict(zip(terms, range(len(terms)), strict=True))
        self._indptr = indptr
        self._docs = docs
        self._tf = tf
        self.doc_len = doc_len
        self.corpus_size = len(doc_len)
        total = int(doc_len.sum(dtype=np.int64))
        self.avgdl = (
            avgdl if avgdl is not None else (total / self.corpus_size if self.corpus_size else 0.0)
        )
        df = np.diff(indptr)
        self._idf = idf if idf is not None else _idf(self.corpus_size, df)
        norms = _norms(doc_len, self.k1, self.b, self.avgdl)
        self._norms = norms
        self._excess, self._bound = self._excess_and_bounds()
        self._fwd_indptr, self._fwd_terms, self._fwd_tf = self._forward_index()
        #: Average distinct terms a record: the cost of scoring one record whole.
        self._terms_per_record = len(docs) / max(self.corpus_size, 1)
        self._scratch = threading.local()
        self._kernel = _compiled_top_k(self.corpus_size)
        if self._kernel is not None:
            self._warm()

    def _forward_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each record's (term, tf) pairs, record-major: scoring a few records needs no search.

        ``_fwd_terms[_fwd_indptr[d]:_fwd_indptr[d + 1]]`` are record d's term
        ids, ``_fwd_tf`` their frequencies; 5-6 bytes a posting. scipy's
        CSC -> CSR conversion is a linear-time counting transpose.
        """
        shape = (self.corpus_size, self.vocabulary_size)
        csc = scipy.sparse.csc_matrix((self._tf, self._docs, self._indptr), shape=shape)
        csr = csc.tocsr()
        return csr.indptr.astype(np.int64), csr.indices.astype(np.int32, copy=False), csr.data

    def _contributions(self, terms: np.ndarray, docs: np.ndarray, tf: np.ndarray) -> np.ndarray:
        """Postings' score terms, ``idf * (delta + tf*(k1+1) / (norm + tf))``, exactly as rank_bm25.

        The same float64 operations in the same order, so the same bits.
        """
        contributions: np.ndarray = self._idf[terms] * self._saturation(docs, tf)
        return contributions

    def _saturation(self, docs: np.ndarray, tf: np.ndarray) -> np.ndarray:
        """``delta + tf*(k1+1) / (norm + tf)``: rank_bm25's factor after idf, same operations."""
        tf = tf.astype(np.int64)
        factor: np.ndarray = self.delta + (tf * (self.k1 + 1)) / (self._norms[docs] + tf)
        return factor

    def _excess_and_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per posting, what the term adds above a record lacking it (float32: only to find
        candidates); per term, an upper bound of that (float64, rounded up past float32's error).

        Computed in blocks of whole terms (~4M postings), so the float64 temporaries are
        a few dozen megabytes reused, not gigabytes freshly paged in at a million records;
        the same operations on each element, so the same bits.
        """
        indptr = self._indptr
        df = np.diff(indptr)
        small = np.empty(len(self._docs), dtype=np.float32)
        bound = np.empty(len(df))
        for t0, t1 in self._term_blocks(df):
            p0, p1 = int(indptr[t0]), int(indptr[t1])
            excess = np.repeat(self._idf[t0:t1], df[t0:t1])
            excess *= self._saturation(self._docs[p0:p1], self._tf[p0:p1])
            excess -= np.repeat(self._idf[t0:t1] * (self.delta + 0.0), df[t0:t1])
            # Strictly positive, so a zero running sum means "not a candidate".
            part = small[p0:p1]
            part[:] = excess
            np.maximum(part, np.finfo(np.float32).tiny, out=part)
            starts = indptr[t0:t1] - p0
            bound[t0:t1] = np.maximum.reduceat(np.maximum(excess, part), starts) * (1 + 1e-6)
        return small, bound

    def _term_blocks(self, df: np.ndarray) -> list[tuple[int, int]]:
        """Runs of whole terms of about _BLOCK postings each (one run when a term has no
        postings: reduceat reads such a term's bound from the next term's first posting)."""
        v, total = len(df), int(self._indptr[-1]) if len(self._indptr) else 0
        if not v:
            return []
        if total <= _BLOCK or not df.all():
            return [(0, v)]
        cuts = np.searchsorted(self._indptr, np.arange(_BLOCK, total, _BLOCK)).tolist()
        edges = sorted({0, v, *(c for c in cuts if 0 < c < v)})
        return list(pairwise(edges))

    # ------------------------------------------------------------------ building

    @classmethod
    def fit(
        cls,
        corpus: Iterable[Sequence[str]],
        k1: float = K1,
        b: float = B,
        delta: float = DELTA,
    ) -> SparseBM25:
        """Index tokenised records; same statistics as ``rank_bm25.BM25Plus(corpus, k1, b, delta)``.

        ``corpus`` may be a generator: each record's tokens are turned into
        integer ids and dropped, so no per-record Python objects are kept.
        To analyse and count in worker processes, see :meth:`from_counts`.
        """
        return cls.from_counts([count_terms(corpus)], k1=k1, b=b, delta=delta)

    @classmethod
    def from_counts(
        cls,
        batches: Iterable[TermCounts],
        k1: float = K1,
        b: float = B,
        delta: float = DELTA,
    ) -> SparseBM25:
        """Index consecutive runs of records counted by :func:`count_terms` (e.g. in workers).

        Runs are merged in order, so the result is exactly ``fit`` over all
        their records: the parent only maps each run's small vocabulary.
        """
        runs = list(batches)
        # The runs' vocabularies merged in order of first appearance (as fit's):
        # dict.fromkeys and map keep the per-term work in C.
        every = list(chain.from_iterable(run.terms for run in runs))
        vocab = {t: i for i, t in enumerate(dict.fromkeys(every))}
        # int32 ids and record offsets (as the index keeps them): half the bytes to move.
        mapping = np.fromiter(map(vocab.__getitem__, every), dtype=np.int32, count=len(every))
        term_ids, start = [], 0
        for run in runs:
            stop = start + len(run.terms)
            term_ids.append(mapping[start:stop][run.term_ids])
            start = stop
        doc_len = _concat([run.lengths for run in runs]).astype(np.int32)
        distinct = _concat([run.distinct for run in runs])
        term_of, tf = _concat(term_ids), _concat([run.tf for run in runs])
        n, v = len(doc_len), len(vocab)
        if not n or not v:
            docs = np.repeat(np.arange(n, dtype=np.int64), distinct)
            term_of = term_of.astype(np.int64)
            return cls._from_postings(term_of, docs, tf, list(vocab), doc_len, k1, b, delta)
        # The postings arrive record by record: grouping them by term is a
        # transpose (scipy's linear-time CSR -> CSC, rows in order within each
        # column), the same arrays as _from_postings' sort in a tenth of the time.
        rows = np.zeros(n + 1, dtype=np.int64 if len(term_of) >= 2**31 else np.int32)
        np.cumsum(distinct, out=rows[1:])
        csc = scipy.sparse.csr_matrix((tf, term_of, rows), shape=(n, v)).tocsc()
        return cls(
            terms=list(vocab),
            indptr=csc.indptr.astype(np.int64),
            docs=csc.indices.astype(np.int32, copy=False),
            tf=csc.data.astype(_tf_dtype(int(csc.data.max(initial=0)))),
            doc_len=doc_len,
            k1=k1,
            b=b,
            delta=delta,
        )

    @classmethod
    def _from_postings(
        cls,
        term_of: np.ndarray,
        docs: np.ndarray,
        tf: np.ndarray,
        terms: list[str],
        doc_len: np.ndarray,
        k1: float,
        b: float,
        delta: float,
        **derived: Any,
    ) -> SparseBM25:
        """Index from unordered (term id, record, tf) triples, one per distinct term of a record.

        Sorting one packed int64 key ``(term * n + record) << bits | tf`` groups
        each term's postings in record order; it is ~10x faster than argsort.
        """
        n, v = max(len(doc_len), 1), len(terms)
        bits = max(int(tf.max(initial=1)).bit_length(), 1)
        if (v * n) << bits < 2**62:
            key = (term_of * n + docs) << bits
            key |= tf
            key.sort()
            tf = key & ((1 << bits) - 1)
            key >>= bits
            term_of = key // n
            docs = key - term_of * n
        else:  # too large to pack: slower, same result
            order = np.lexsort((docs, term_of))
            term_of, docs, tf = term_of[order], docs[order], tf[order]
        indptr = np.zeros(v + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_of, minlength=v), out=indptr[1:])
        return cls(
            terms=terms,
            indptr=indptr,
            docs=docs.astype(np.int32),
            tf=tf.astype(_tf_dtype(int(tf.max(initial=0)))),
            doc_len=doc_len,
            k1=k1,
            b=b,
            delta=delta,
            **derived,
        )

    @classmethod
    def from_rank_bm25(cls, model: rank_bm25.BM25Plus) -> SparseBM25:
        """Index a fitted ``rank_bm25.BM25Plus`` from its own statistics (idf, avgdl, tf).

        Walks every record's dict once, so it is for tests and parity checks;
        :meth:`fit` builds the same index much faster.
        """
        if not hasattr(model, "delta") or type(model).__name__ != "BM25Plus":
            raise TypeError(f"expected a rank_bm25.BM25Plus, got {type(model).__name__}")
        terms = list(model.idf)
        vocab = {t: i for i, t in enumerate(terms)}
        term_ids, tfs, unique = array("q"), array("q"), array("q")
        for freqs in model.doc_freqs:
            term_ids.extend([vocab[w] for w in freqs])
            tfs.extend(freqs.values())
            unique.append(len(freqs))
        n = int(model.corpus_size)
        docs = np.repeat(np.arange(n, dtype=np.int64), np.frombuffer(unique, np.int64))
        idf = np.array([model.idf[t] for t in terms], dtype=np.float64)
        return cls._from_postings(
            np.frombuffer(term_ids, np.int64),
            docs,
            np.frombuffer(tfs, np.int64),
            terms,
            np.array(model.doc_len, dtype=np.int32),
            model.k1,
            model.b,
            model.delta,
            idf=idf,
            avgdl=model.avgdl,
        )

    # ------------------------------------------------------------------ lookups

    def __len__(self) -> int:
        return self.corpus_size

    @property
    def posting_count(self) -> int:
        """(term, record) pairs held: the index's size."""
        return len(self._docs)

    @property
    def vocabulary_size(self) -> int:
        return len(self._terms)

    def __contains__(self, term: object) -> bool:
        return term in self._vocab

    def idf(self, term: str) -> float | None:
        """The term's idf, or None when no record holds it."""
        tid = self._vocab.get(term)
        return None if tid is None else float(self._idf[tid])

    def doc_freq(self, term: str) -> int:
        """How many records hold the term (0 when unknown)."""
        tid = self._vocab.get(term)
        return 0 if tid is None else int(self._indptr[tid + 1] - self._indptr[tid])

    def record_terms(self, record: int) -> list[str]:
        """The distinct terms record ``record`` was indexed with (forward index, no re-analysis)."""
        lo, hi = self._fwd_indptr[record], self._fwd_indptr[record + 1]
        return [self._terms[t] for t in self._fwd_terms[lo:hi].tolist()]

    def matched(self, record: int, query: Iterable[str]) -> frozenset[str]:
        """Which of the query's terms record ``record`` holds: a few microseconds a record."""
        return frozenset(query).intersection(self.record_terms(record))

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(record indices ascending, contributions) of one term; empty when unknown."""
        tid = self._vocab.get(term)
        if tid is None:
            return np.empty(0, dtype=np.int32), np.empty(0)
        lo, hi = self._indptr[tid], self._indptr[tid + 1]
        docs = self._docs[lo:hi]
        return docs, self._contributions(np.full(len(docs), tid), docs, self._tf[lo:hi])

    def term_postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """(records ascending, float32 excess) of term id ``tid``: views, for top-k planning."""
        lo, hi = self._indptr[tid], self._indptr[tid + 1]
        return self._docs[lo:hi], self._excess[lo:hi]

    def term_stats(self, tid: int) -> tuple[float, int, float]:
        """(idf, document frequency, upper bound of its excess) of term id ``tid``."""
        return (
            float(self._idf[tid]),
            int(self._indptr[tid + 1] - self._indptr[tid]),
            float(self._bound[tid]),
        )

    @property
    def terms_per_record(self) -> float:
        """Average distinct terms a record: the cost of scoring one record whole."""
        return self._terms_per_record

    @property
    def nbytes(self) -> int:
        """Bytes held by the numpy arrays (the vocabulary dict comes on top)."""
        arrays = (
            self._indptr,
            self._docs,
            self._tf,
            self._excess,
            self._idf,
            self._bound,
            self.doc_len,
            self._norms,
            self._fwd_indptr,
            self._fwd_terms,
            self._fwd_tf,
        )
        return sum(a.nbytes for a in arrays)

    # ------------------------------------------------------------------ scoring

    def _absent(self, tid: int) -> float:
        """What rank_bm25 adds for term ``tid`` to a record lacking it: idf * (delta + 0/x)."""
        return float(self._idf[tid]) * (self.delta + 0.0)

    def get_scores(self, query: Sequence[str]) -> np.ndarray:
        """Every record's score, dense, bit-for-bit ``BM25Plus.get_scores(query)`` (tests, parity).

        O(records) per query term: use :meth:`top_k` to answer questions.
        """
        score = np.zeros(self.corpus_size)
        for term in query:
            tid = self._vocab.get(term)
            if tid is None:
                continue  # rank_bm25 adds 0 * (...) == 0.0: no change
            docs, weights = self.postings(term)
            values = np.full(self.corpus_size, self._absent(tid))
            values[docs] = weights
            score += values
        return score

    def top_k(self, query: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best records holding at least one query term: (indices, scores), best first.

        Scores are exactly ``BM25Plus.get_scores(query)[indices]`` (bit for bit);
        ties go to the lower record index. Records holding no query term are
        never returned (they would all share the same constant score
        ``sum(idf * delta)``), so fewer than k results come back when fewer
        records match, and none for a question of unknown words.

        How (MaxScore over a term-at-a-time accumulator): the strongest terms'
        records give a first k-th best score ``theta``; terms whose upper
        bounds together stay below it are *non-essential* — a record holding
        only those cannot reach the top k — so only the essential terms'
        postings make candidates. Non-essential terms are then looked up for
        the candidates that can still reach ``theta``. The few finalists get
        exact scores. Work follows the question's postings, never the corpus.

        On large indexes a compiled document-at-a-time MaxScore answers instead
        (:mod:`bot.search.kernels`, numba); results are identical either way.
        """
        sequence = [tid for t in query if (tid := self._vocab.get(t)) is not None]
        if k <= 0 or not sequence:
            return EMPTY_IDS, EMPTY_SCORES
        if self._kernel is not None:
            return self._top_k_compiled(sequence, k)
        plan = QueryPlan(self, sequence)
        acc = Accumulator(self, plan, self._thread_buffers().sums)
        try:
            finalists = self._candidates(plan, acc, k)
        finally:
            acc.release()
        return select(finalists, self._exact(plan, finalists), k)

    def _kernel_args(self, sequence: np.ndarray, k: int) -> tuple[Any, ...]:
        """:func:`bot.search.kernels.top_k`'s arguments but the scratch: the index's arrays,
        the query and rank_bm25's numbers."""
        return (
            self._indptr,
            self._docs,
            self._excess,
            self._bound,
            self._idf,
            self._norms,
            self._fwd_indptr,
            self._fwd_terms,
            self._fwd_tf,
            sequence,
            k,
            self.delta,
            self.k1 + 1,  # the same Python float rank_bm25's expression multiplies by
        )

    def _top_k_compiled(self, sequence: list[int], k: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`top_k` as one compiled call (document-at-a-time MaxScore): same results."""
        assert self._kernel is not None
        buffers = self._thread_buffers()
        args = self._kernel_args(np.array(sequence, dtype=np.int64), k)
        try:
            return self._kernel(*args, buffers.slots)
        except BaseException:
            del buffers.sums, buffers.slots  # maybe left dirty: fresh ones next time
            raise

    def _warm(self) -> None:
        """Compile the kernel for this index's array types now (or load it from numba's
        cache: see :mod:`bot.search.kernels`), so the first question does not wait."""
        assert self._kernel is not None
        self._kernel(*self._kernel_args(np.empty(0, dtype=np.int64), 1), np.full(1, -1, np.int32))

    def _candidates(self, plan: QueryPlan, acc: Accumulator, k: int) -> np.ndarray:
        """Records among which the exact top k lies (usually little more than k).

        Terms are added strongest first. Once k records are candidates, the
        k-th best of their scores so far, ``theta``, bounds the k-th best score
        from below. A record that is not a candidate yet holds only pending
        terms, so once the pending terms' bounds add up to less than ``theta``
        no such record can enter the top k (MaxScore) and adding stops. When
        cheaper than adding the pending terms, candidates are scored whole
        through the forward index, which lifts ``theta`` to near its final value.
        """
        pending = list(plan.terms)
        small = sum(plan.df.values()) <= SMALL_QUERY  # pruning would cost more than it saves
        while pending and (small or acc.size < k):
            acc.add(pending.pop(0))
        if not pending:
            return acc.finalists(k)
        theta = acc.kth(k)
        probes = PROBES
        while plan.reach(pending) >= theta - plan.tolerance:
            if probes and plan.df[pending[0]] >= PROBE_MIN:  # may save a costly add
                probes -= 1
                theta = max(theta, acc.probe(k, int(PROBE_SHARE * plan.df[pending[0]])))
                if plan.reach(pending) < theta - plan.tolerance:
                    break
            acc.add(pending.pop(0))
            if not pending:
                return acc.finalists(k)
            theta = max(theta, acc.kth(k))
        return acc.prune(pending, theta, k)

    def whole_excess(self, plan: QueryPlan, cands: np.ndarray) -> np.ndarray:
        """Candidates' whole excess scores (all query terms), read from the forward index."""
        if not len(cands):
            return np.zeros(0)
        row, slot, weights = self._forward_hits(plan, cands)
        excess = (weights - plan.absent_row[slot]) * plan.count_row[slot]
        return np.bincount(row, excess, len(cands))

    def _forward_hits(
        self, plan: QueryPlan, cands: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(candidate row, query slot, exact contribution) of each query term a candidate holds."""
        starts = self._fwd_indptr[cands]
        lengths = self._fwd_indptr[cands + 1] - starts
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        at = offsets + np.arange(len(offsets))
        terms = self._fwd_terms[at]
        slots = self._thread_buffers().slots
        slots[plan.tids] = plan.tid_slots
        try:
            slot = slots[terms]
        finally:
            slots[plan.tids] = -1
        hit = np.flatnonzero(slot >= 0)
        row = np.repeat(np.arange(len(cands)), lengths)[hit]
        weights = self._contributions(terms[hit], cands[row], self._fwd_tf[at[hit]])
        return row, slot[hit], weights

    def _thread_buffers(self) -> threading.local:
        """Per-thread scratch arrays (record → score so far, term → query slot), kept clean.

        Reusing them keeps every query O(its postings): no corpus-sized array is
        allocated or scanned per question.
        """
        buffers = self._scratch
        if not hasattr(buffers, "sums"):
            buffers.sums = np.zeros(self.corpus_size, dtype=np.float32)
            buffers.slots = np.full(self.vocabulary_size, -1, dtype=np.int32)
        return buffers

    def _exact(self, plan: QueryPlan, cands: np.ndarray) -> np.ndarray:
        """Candidates' scores, bit-identical to rank_bm25's.

        BM25Plus adds, for each query term in order, ``idf * delta`` to records
        lacking it and the term's contribution to records holding it: one
        float64 ``+`` per term per record. This replays those additions, with
        each record's terms read from the forward index and the contributions
        recomputed with rank_bm25's expression (:meth:`_contributions`).
        """
        values = np.empty((len(plan.slots), len(cands)))
        values[:] = plan.absent_row[:, None]
        if len(cands):
            row, slot, weights = self._forward_hits(plan, cands)
            values[slot, row] = weights
        acc = np.zeros(len(cands))
        for tid in plan.sequence:
            acc = acc + values[plan.slots[tid]]
        return acc

    # ------------------------------------------------------------------ persistence

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The index as plain arrays (no objects), for ``np.savez``; see :meth:`from_arrays`.

        Only raw statistics are stored (terms, postings, tf, record lengths);
        idf, avgdl and weights are recomputed on load, so they cannot disagree.
        """
        meta = {
            "kind": _KIND,
            "version": FORMAT_VERSION,
            "k1": self.k1,
            "b": self.b,
            "delta": self.delta,
            "corpus_size": self.corpus_size,
            "vocabulary_size": self.vocabulary_size,
            "postings": len(self._docs),
        }
        joined = "\0".join(self._terms)
        if joined.count("\0") != max(len(self._terms) - 1, 0):
            raise ValueError("a term contains a NUL character; such an index cannot be saved")
        arrays = {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "terms": np.frombuffer(joined.encode("utf-8"), dtype=np.uint8),
            "indptr": self._indptr,
            "docs": self._docs,
            "tf": self._tf,
            "doc_len": self.doc_len,
        }
        return {prefix + name: array for name, array in arrays.items()}

    @classmethod
    def from_arrays(cls, arrays: Any, prefix: str = "") -> SparseBM25:
        """Rebuild from :meth:`to_arrays` output (a dict or an open ``NpzFile``).

        Raises :class:`CacheError` when anything is missing, of the wrong
        version, dtype or shape, or inconsistent (out-of-range or unsorted
        postings, offsets that do not add up): a bad file is never trusted.
        """
        try:
            get = _ArrayGetter(arrays, prefix)
            meta = json.loads(get("meta", np.uint8).tobytes().decode("utf-8"))
        except (KeyError, ValueError, UnicodeDecodeError) as exc:
            raise CacheError(f"unreadable index metadata: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("kind") != _KIND:
            raise CacheError("not a SparseBM25 index")
        if meta.get("version") != FORMAT_VERSION:
            raise CacheError(
                f"index format version {meta.get('version')!r}, expected {FORMAT_VERSION}"
            )
        try:
            n, v, p = (int(meta[key]) for key in ("corpus_size", "vocabulary_size", "postings"))
            k1, b, delta = (float(meta[key]) for key in ("k1", "b", "delta"))
        except (KeyError, TypeError, ValueError) as exc:
            raise CacheError(f"incomplete index metadata: {exc}") from exc
        terms = _decode_terms(get("terms", np.uint8), v)
        indptr = get("indptr", np.int64, v + 1)
        docs = get("docs", np.int32, p)
        tf = get("tf", None, p)
        doc_len = get("doc_len", np.int32, n)
        _check_postings(indptr, docs, tf, doc_len, n, p)
        if len(set(terms)) != v:
            raise CacheError("duplicate terms in the vocabulary")
        return cls(
            terms=terms, indptr=indptr, docs=docs, tf=tf, doc_len=doc_len, k1=k1, b=b, delta=delta
        )

    def save(self, path: str | Path) -> None:
        """Write one uncompressed ``.npz`` (no pickles); not atomic (see ``store.store``)."""
        with open(path, "wb") as fh:
            np.savez(fh, **self.to_arrays())  # type: ignore[arg-type]  # numpy's stub types **kwds as bool

    @classmethod
    def load(cls, path: str | Path) -> SparseBM25:
        """Read a :meth:`save`d index; raises :class:`CacheError` on any problem."""
        try:
            with np.load(path, allow_pickle=False) as npz:
                return cls.from_arrays(npz)
        except CacheError:
            raise
        except Exception as exc:  # zipfile.BadZipFile, OSError, EOFError, ValueError...
            raise CacheError(f"cannot read index {path}: {exc}") from exc


class _ArrayGetter:
    """Fetch prefixed arrays, checking dtype, dimensionality and length."""

    def __init__(self, arrays: Any, prefix: str) -> None:
        self.arrays, self.prefix = arrays, prefix

    def __call__(self, name: str, dtype: Any, length: int | None = None) -> np.ndarray:
        try:
            array = np.asarray(self.arrays[self.prefix + name])
        except KeyError:
            raise CacheError(f"index array {name!r} is missing") from None
        if array.ndim != 1:
            raise CacheError(f"index array {name!r} has shape {array.shape}, expected 1-D")
        if dtype is None:
            if array.dtype.kind != "u":
                raise CacheError(f"index array {name!r} has dtype {array.dtype}, expected unsigned")
        elif array.dtype != np.dtype(dtype):
            raise CacheError(f"index array {name!r} has dtype {array.dtype}, expected {dtype}")
        if length is not None and len(array) != length:
            raise CacheError(f"index array {name!r} has {len(array)} entries, expected {length}")
        return array


def _decode_terms(blob: np.ndarray, v: int) -> list[str]:
    """The vocabulary from its NUL-separated UTF-8 blob, validated."""
    try:
        text = blob.tobytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CacheError(f"vocabulary is not valid UTF-8: {exc}") from exc
    terms = text.split("\0") if v else ([] if not text else [text])
    if len(terms) != v:
        raise CacheError(f"vocabulary holds {len(terms)} terms, expected {v}")
    return terms


def _check_postings(
    indptr: np.ndarray, docs: np.ndarray, tf: np.ndarray, doc_len: np.ndarray, n: int, p: int
) -> None:
    """Raise CacheError unless the postings could have come from ``fit``.

    Every term has postings, record indices are in range and strictly rising
    within a term, tf >= 1 and each record's tf sum equals its length.
    """
    if len(indptr) and (indptr[0] != 0 or indptr[-1] != p):
        raise CacheError("postings pointer does not span the postings")
    if np.any(np.diff(indptr) <= 0):
        raise CacheError("a term without postings, or postings out of order")
    if p and (docs.min() < 0 or docs.max() >= n):
        raise CacheError("a posting points outside the records")
    rising = np.diff(docs.astype(np.int64)) > 0
    rising[indptr[1:-1] - 1] = True  # a new term may restart at a lower record
    if not rising.all():
        raise CacheError("postings are not strictly increasing within a term")
    if p and tf.min() < 1:
        raise CacheError("a posting with a zero term frequency")
    if np.any(doc_len < 0):
        raise CacheError("negative record length")
    per_doc = np.bincount(docs, weights=tf, minlength=n) if p else np.zeros(n)
    if not np.array_equal(per_doc, doc_len.astype(np.float64)):
        raise CacheError("record lengths do not match the postings")
