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
postings and is usually far smaller; it never scans all records.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    import rank_bm25

#: Bumped whenever the saved array layout or the scoring formula changes.
FORMAT_VERSION = 1
_KIND = "claimbot.SparseBM25"

_EMPTY_IDS = np.empty(0, dtype=np.int64)
_EMPTY_SCORES = np.empty(0, dtype=np.float64)


class CacheError(Exception):
    """A saved index (or cache file) is unreadable, inconsistent, stale or of another version.

    Callers treat it as "rebuild from the knowledge base"; it is never fatal.
    """


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
    return np.array([math.log(n1 / f) for f in df.tolist()], dtype=np.float64)


def _norms(doc_len: np.ndarray, k1: float, b: float, avgdl: float) -> np.ndarray:
    """Per-record ``k1 * (1 - b + b * dl / avgdl)``, evaluated in rank_bm25's operation order."""
    if avgdl == 0:  # every record is empty: there are no postings to weigh
        return np.zeros(len(doc_len))
    return k1 * (1 - b + b * doc_len.astype(np.int64) / avgdl)


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
        self._vocab = {t: i for i, t in enumerate(terms)}
        self._indptr = indptr
        self._docs = docs
        self._tf = tf
        self.doc_len = doc_len
        self.corpus_size = len(doc_len)
        total = int(doc_len.sum(dtype=np.int64))
        self.avgdl = avgdl if avgdl is not None else (
            total / self.corpus_size if self.corpus_size else 0.0
        )
        df = np.diff(indptr)
        self._idf = idf if idf is not None else _idf(self.corpus_size, df)
        norms = _norms(doc_len, self.k1, self.b, self.avgdl)
        self._weights = self._contributions(norms)
        self._max_weight = (
            np.maximum.reduceat(self._weights, indptr[:-1])
            if len(terms) else np.empty(0)
        )

    def _contributions(self, norms: np.ndarray) -> np.ndarray:
        """Each posting's score term, ``idf * (delta + tf*(k1+1) / (norm + tf))``, as rank_bm25."""
        tf = self._tf.astype(np.int64)
        term_idf = np.repeat(self._idf, np.diff(self._indptr))
        return term_idf * (self.delta + (tf * (self.k1 + 1)) / (norms[self._docs] + tf))

    # ------------------------------------------------------------------ building

    @classmethod
    def fit(
        cls,
        corpus: Iterable[Sequence[str]],
        k1: float = 1.2,
        b: float = 0.75,
        delta: float = 1.0,
    ) -> SparseBM25:
        """Index tokenised records; same statistics as ``rank_bm25.BM25Plus(corpus, k1, b, delta)``.

        ``corpus`` may be a generator: each record's tokens are turned into
        integer ids and dropped, so no per-record Python objects are kept.
        """
        vocab: dict[str, int] = {}
        token_ids: list[int] = []
        lengths: list[int] = []
        for doc in corpus:
            token_ids.extend([vocab.setdefault(t, len(vocab)) for t in doc])
            lengths.append(len(doc))
        tokens = np.array(token_ids, dtype=np.int64)
        del token_ids
        doc_len = np.array(lengths, dtype=np.int32)
        n = len(doc_len)
        # One key per token, term-major then record: sorting groups each term's
        # postings in ascending record order, and runs of equal keys are tf.
        keys = tokens * max(n, 1)
        keys += np.repeat(np.arange(n, dtype=np.int64), doc_len)
        del tokens
        keys.sort()
        return cls._from_sorted_keys(keys, n, list(vocab), doc_len, k1, b, delta)

    @classmethod
    def _from_sorted_keys(
        cls,
        keys: np.ndarray,
        n: int,
        terms: list[str],
        doc_len: np.ndarray,
        k1: float,
        b: float,
        delta: float,
        **derived: Any,
    ) -> SparseBM25:
        """Postings from sorted ``term * n + record`` keys (one per token occurrence)."""
        if len(keys):
            first = np.empty(len(keys), dtype=bool)
            first[0] = True
            np.not_equal(keys[1:], keys[:-1], out=first[1:])
            starts = np.flatnonzero(first)
            del first
            tf_counts = np.diff(starts, append=len(keys))
            unique = keys[starts]
            del starts
        else:
            tf_counts = np.empty(0, dtype=np.int64)
            unique = np.empty(0, dtype=np.int64)
        term_of = unique // max(n, 1)
        docs = (unique - term_of * max(n, 1)).astype(np.int32)
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_of, minlength=len(terms)), out=indptr[1:])
        tf = tf_counts.astype(_tf_dtype(int(tf_counts.max(initial=0))))
        return cls(
            terms=terms, indptr=indptr, docs=docs, tf=tf, doc_len=doc_len,
            k1=k1, b=b, delta=delta, **derived,
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
        n = int(model.corpus_size)
        keys: list[int] = []
        counts: list[int] = []
        for d, freqs in enumerate(model.doc_freqs):
            for word, tf in freqs.items():
                keys.append(vocab[word] * n + d)
                counts.append(tf)
        key_arr = np.array(keys, dtype=np.int64)
        order = np.argsort(key_arr)
        # Expand (key, tf) back into one key per occurrence for _from_sorted_keys.
        expanded = np.repeat(key_arr[order], np.array(counts, dtype=np.int64)[order])
        idf = np.array([model.idf[t] for t in terms], dtype=np.float64)
        return cls._from_sorted_keys(
            expanded, n, terms, np.array(model.doc_len, dtype=np.int32),
            model.k1, model.b, model.delta, idf=idf, avgdl=model.avgdl,
        )

    # ------------------------------------------------------------------ lookups

    def __len__(self) -> int:
        return self.corpus_size

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

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(record indices ascending, contributions) of one term; empty when unknown."""
        tid = self._vocab.get(term)
        if tid is None:
            return np.empty(0, dtype=np.int32), np.empty(0)
        lo, hi = self._indptr[tid], self._indptr[tid + 1]
        return self._docs[lo:hi], self._weights[lo:hi]

    @property
    def nbytes(self) -> int:
        """Bytes held by the numpy arrays (the vocabulary dict comes on top)."""
        arrays = (self._indptr, self._docs, self._tf, self._weights, self._idf,
                  self._max_weight, self.doc_len)
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
            lo, hi = self._indptr[tid], self._indptr[tid + 1]
            values = np.full(self.corpus_size, self._absent(tid))
            values[self._docs[lo:hi]] = self._weights[lo:hi]
            score += values
        return score

    def top_k(self, query: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best records holding at least one query term: (indices, scores), best first.

        Scores are exactly ``BM25Plus.get_scores(query)[indices]``; ties go to the
        lower record index. Records holding no query term are never returned
        (they would all share the same constant score ``sum(idf * delta)``), so
        fewer than k results come back when fewer records match, and none for a
        question of unknown words.
        """
        sequence = [tid for t in query if (tid := self._vocab.get(t)) is not None]
        if k <= 0 or not sequence:
            return _EMPTY_IDS, _EMPTY_SCORES
        counts = Counter(sequence)
        cands, seed_terms = self._seed(counts, k)
        scores = self._fold(cands, sequence)
        if len(seed_terms) < len(counts):
            essential = self._essential(sequence, counts, scores, k)
            if essential and set(essential) != set(seed_terms):
                cands = self._union(essential)
                scores = self._fold(cands, sequence)
        return self._select(cands, scores, k)

    def _seed(self, counts: Counter[int], k: int) -> tuple[np.ndarray, list[int]]:
        """Phase 1: the rarest terms whose records number at least k (or all terms).

        Their k-th best full score is a threshold every top-k record must reach.
        """
        by_rarity = sorted(counts, key=lambda t: (self._indptr[t + 1] - self._indptr[t], t))
        seed: list[int] = []
        seen = 0
        for tid in by_rarity:
            seed.append(tid)
            seen += int(self._indptr[tid + 1] - self._indptr[tid])
            if seen >= k:
                cands = self._union(seed)
                if len(cands) >= k:
                    return cands, seed
        return self._union(seed), seed

    def _essential(
        self, sequence: list[int], counts: Counter[int], scores: np.ndarray, k: int
    ) -> list[int]:
        """Terms a top-k record must hold (MaxScore): the rest cannot lift a record past ``theta``.

        A record holding only non-essential terms scores at most the constant
        (every term absent) plus their upper bounds; while that stays below the
        k-th best score already found, such records cannot enter the top k.
        """
        theta = float(np.partition(scores, len(scores) - k)[len(scores) - k])
        constant = sum(self._absent(t) for t in sequence)
        margin = 1e-9 * max(1.0, abs(theta))  # far above float64 accumulation error
        bounds = {t: c * (float(self._max_weight[t]) - self._absent(t)) for t, c in counts.items()}
        budget = theta - margin - constant
        essential = sorted(counts, key=lambda t: bounds[t])
        total = 0.0
        while essential and total + bounds[essential[0]] < budget:
            total += bounds[essential.pop(0)]
        return essential

    def _union(self, tids: list[int]) -> np.ndarray:
        """Ascending record indices holding any of the terms."""
        parts = [self._docs[self._indptr[t]:self._indptr[t + 1]] for t in tids]
        if len(parts) == 1:
            return parts[0]
        total = sum(len(p) for p in parts)
        if total * 16 > self.corpus_size:  # dense: a bitmap beats sorting
            mask = np.zeros(self.corpus_size, dtype=bool)
            for p in parts:
                mask[p] = True
            return np.flatnonzero(mask).astype(np.int32)
        return np.unique(np.concatenate(parts))

    def _matches(self, cands: np.ndarray, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``cands``, contributions) of term ``tid`` among the candidates."""
        lo, hi = self._indptr[tid], self._indptr[tid + 1]
        docs = self._docs[lo:hi]
        weights = self._weights[lo:hi]
        if len(docs) <= len(cands):
            pos = np.searchsorted(cands, docs)
            np.minimum(pos, len(cands) - 1, out=pos)
            hit = cands[pos] == docs
            return pos[hit], weights[hit]
        at = np.searchsorted(docs, cands)
        np.minimum(at, len(docs) - 1, out=at)
        hit = docs[at] == cands
        return np.flatnonzero(hit), weights[at[hit]]

    def _fold(self, cands: np.ndarray, sequence: list[int]) -> np.ndarray:
        """Candidates' scores, adding query terms in order exactly as rank_bm25 does.

        Absent terms add ``idf * delta`` and present ones their contribution, one
        float64 ``+`` per term per record, in the query's order: bit-identical.
        """
        matched: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        acc = np.zeros(len(cands))
        for tid in sequence:
            if tid not in matched:
                matched[tid] = self._matches(cands, tid)
            pos, weights = matched[tid]
            nxt = acc + self._absent(tid)
            nxt[pos] = acc[pos] + weights
            acc = nxt
        return acc

    @staticmethod
    def _select(cands: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best (score desc, index asc) of ascending candidates."""
        if len(scores) > k:
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            above = np.flatnonzero(scores > kth)
            tied = np.flatnonzero(scores == kth)[: k - len(above)]
            keep = np.concatenate([above, tied])
        else:
            keep = np.arange(len(scores))
        order = keep[np.lexsort((keep, -scores[keep]))]
        return cands[order].astype(np.int64), scores[order]

    # ------------------------------------------------------------------ persistence

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The index as plain arrays (no objects), for ``np.savez``; see :meth:`from_arrays`.

        Only raw statistics are stored (terms, postings, tf, record lengths);
        idf, avgdl and weights are recomputed on load, so they cannot disagree.
        """
        meta = {
            "kind": _KIND, "version": FORMAT_VERSION, "k1": self.k1, "b": self.b,
            "delta": self.delta, "corpus_size": self.corpus_size,
            "vocabulary_size": self.vocabulary_size, "postings": len(self._docs),
        }
        encoded = [t.encode("utf-8") for t in self._terms]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        arrays = {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "terms_blob": np.frombuffer(b"".join(encoded), dtype=np.uint8),
            "terms_offsets": offsets,
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
            params = {key: float(meta[key]) for key in ("k1", "b", "delta")}
        except (KeyError, TypeError, ValueError) as exc:
            raise CacheError(f"incomplete index metadata: {exc}") from exc
        terms = _decode_terms(get("terms_blob", np.uint8), get("terms_offsets", np.int64), v)
        indptr = get("indptr", np.int64, v + 1)
        docs = get("docs", np.int32, p)
        tf = get("tf", None, p)
        doc_len = get("doc_len", np.int32, n)
        _check_postings(indptr, docs, tf, doc_len, n, p)
        if len(set(terms)) != v:
            raise CacheError("duplicate terms in the vocabulary")
        return cls(terms=terms, indptr=indptr, docs=docs, tf=tf, doc_len=doc_len, **params)

    def save(self, path: str | Path) -> None:
        """Write one uncompressed ``.npz`` (no pickles). Not atomic: see ``bot.cache.store``."""
        with open(path, "wb") as fh:
            np.savez(fh, **self.to_arrays())

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


def _decode_terms(blob: np.ndarray, offsets: np.ndarray, v: int) -> list[str]:
    """The vocabulary from a UTF-8 blob and byte offsets, validated."""
    if len(offsets) != v + 1 or offsets[0] != 0 or offsets[-1] != len(blob):
        raise CacheError("vocabulary offsets do not match the vocabulary blob")
    if v and np.any(np.diff(offsets) <= 0):
        raise CacheError("vocabulary offsets are not increasing (empty or reordered terms)")
    raw = blob.tobytes()
    bounds = offsets.tolist()
    try:
        return [raw[a:z].decode("utf-8") for a, z in pairwise(bounds)]
    except UnicodeDecodeError as exc:
        raise CacheError(f"vocabulary is not valid UTF-8: {exc}") from exc


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
