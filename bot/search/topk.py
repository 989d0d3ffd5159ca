"""Top-k planning for :class:`bot.search.scorer.SparseBM25`: MaxScore over an accumulator.

A :class:`QueryPlan` holds one query's terms, repeats and upper bounds; an
:class:`Accumulator` adds terms' postings to candidate records until the
bounds say no other record can reach the top k. Both read the index only
through its public accessors (``term_postings``, ``term_stats``,
``whole_excess``), so the postings layout stays private to the scorer.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from bot.search.scorer import SparseBM25

EMPTY_IDS = np.empty(0, dtype=np.int64)
EMPTY_SCORES = np.empty(0, dtype=np.float64)
#: How many times a query may score its best candidates whole to raise its threshold.
PROBES = 3
#: A probe may cost this share of the postings of the term it hopes to save adding...
PROBE_SHARE = 0.5
#: ... and is only worth its fixed cost when that term has at least this many postings.
PROBE_MIN = 16_384
#: Queries with at most this many postings in all are scored without pruning.
SMALL_QUERY = 4096
#: A binary search in a long postings list costs about this many sequential reads.
SEARCH_COST = 24


def select(cands: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (score desc, record index asc) of the candidates, in that order."""
    if len(scores) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        above = np.flatnonzero(scores > kth)
        tied = np.flatnonzero(scores == kth)
        tied = tied[np.argsort(cands[tied], kind="stable")][: k - len(above)]
        keep = np.concatenate([above, tied])
    else:
        keep = np.arange(len(scores))
    order = keep[np.lexsort((cands[keep], -scores[keep]))]
    return cands[order].astype(np.int64), scores[order]


class Accumulator:
    """Candidate records and their excess scores so far, term by term.

    ``sums`` is a per-thread record-indexed float32 array, zero everywhere
    between queries; a record's entry is its score so far, non-zero exactly
    when it is a candidate (every stored excess is > 0). Adding a term's
    postings is one gather and one scatter: no sorting, no searching.
    ``release`` zeroes what was touched.
    """

    def __init__(self, index: SparseBM25, plan: QueryPlan, sums: np.ndarray) -> None:
        self.index, self.plan, self.sums = index, plan, sums
        self.parts: list[np.ndarray] = []
        self.size = 0

    def add(self, tid: int) -> None:
        """Add a term over all its records; new records become candidates."""
        docs, stored = self.index.term_postings(tid)
        excess = self.plan.excess(tid, stored)
        if not self.size:
            self.sums[docs] = excess
            new = docs
        else:
            before = self.sums[docs]
            new = docs[before == 0]
            self.sums[docs] = before + excess
        if len(new):
            self.parts.append(new)
            self.size += len(new)

    def cands(self) -> np.ndarray:
        if len(self.parts) != 1:
            self.parts = [np.concatenate(self.parts) if self.parts else EMPTY_IDS]
        return self.parts[0]

    def kth(self, k: int) -> float:
        """The k-th best score so far: k records score at least this much in full."""
        scores = self.sums[self.cands()]
        return float(np.partition(scores, self.size - k)[self.size - k])

    def probe(self, k: int, budget: int) -> float:
        """The k-th best whole score among the best candidates so far (a valid bound).

        Scores so far miss the pending terms; scoring the most promising
        records whole lifts the threshold close to its final value early. As
        many are probed as ``budget`` postings allow (at least 2k).
        """
        cands = self.cands()
        m = max(2 * k, int(budget / max(self.index.terms_per_record, 1.0)))
        if self.size <= m:
            best = cands
        else:
            best = cands[np.argpartition(self.sums[cands], self.size - m)[self.size - m :]]
        whole = self.index.whole_excess(self.plan, best)
        return float(np.partition(whole, len(whole) - k)[len(whole) - k])

    def finalists(
        self, k: int, cands: np.ndarray | None = None, scores: np.ndarray | None = None
    ) -> np.ndarray:
        """Candidates within rounding of the k-th best whole score.

        Whole excess scores are the exact scores minus the constant up to float
        rounding, so the exact top k is among them.
        """
        if cands is None:
            cands = self.cands()
        if len(cands) <= k:
            return cands
        if scores is None:
            scores = self.sums[cands]
        kth = float(np.partition(scores, len(scores) - k)[len(scores) - k])
        return cands[scores >= kth - self.plan.tolerance]

    def prune(self, rest: list[int], theta: float, k: int) -> np.ndarray:
        """Finish the candidates that can still reach ``theta``: look the remaining terms up
        (strongest first), until the survivors are cheaper to score exactly as they are."""
        cands: np.ndarray = self.cands()
        floor = theta - self.plan.tolerance
        for i, tid in enumerate(rest):
            cands = cands[self.sums[cands] + self.plan.reach(rest[i:]) >= floor]
            if len(cands) * self.index.terms_per_record <= self.plan.cost(tid, len(cands)):
                return cands  # few: exact scoring reads them whole from the forward index
            self._lookup(tid, cands)
        return self.finalists(k, cands[self.sums[cands] >= floor])

    def _lookup(self, tid: int, cands: np.ndarray) -> None:
        """Add term ``tid`` to the candidates ``cands``: by binary search in its postings when
        they are many, else by a pass over its postings."""
        plan = self.plan
        docs, excess = self.index.term_postings(tid)
        if len(cands) * SEARCH_COST < len(docs):
            at = np.searchsorted(docs, cands)
            np.minimum(at, len(docs) - 1, out=at)
            hit = docs[at] == cands
            self.sums[cands[hit]] += plan.excess(tid, excess[at[hit]])
        else:  # every candidate gets it, live or not: dead ones are never read again
            before = self.sums[docs]
            held = before != 0
            self.sums[docs[held]] = before[held] + plan.excess(tid, excess[held])

    def release(self) -> None:
        """Zero the thread's score array where this query wrote it."""
        for part in self.parts:
            self.sums[part] = 0


class QueryPlan:
    """One query's terms: order, repeats, per-term constants and MaxScore upper bounds.

    Scores are handled as *excess* over a record holding none of the terms
    (``score - constant``): that is what postings add, and what bounds bound.
    """

    def __init__(self, index: SparseBM25, sequence: list[int]) -> None:
        self.sequence = sequence
        self.count = Counter(sequence)
        tids = list(self.count)
        delta = index.delta + 0.0
        stats = {t: index.term_stats(t) for t in tids}
        self.absent = {t: idf * delta for t, (idf, _, _) in stats.items()}
        self.df = {t: df for t, (_, df, _) in stats.items()}
        self.bound = {t: self.count[t] * bound for t, (_, _, bound) in stats.items()}
        #: Strongest first: highest bound, then rarest.
        self.terms = sorted(tids, key=lambda t: (-self.bound[t], self.df[t], t))
        #: Slack for comparing float32 sums against bounds: each stored or added
        #: float32 value is off by at most 2**-24 of the total, far below 1e-6.
        self.tolerance = 1e-6 * (len(sequence) + 2) * max(1.0, sum(self.bound.values()))
        #: Row of each distinct term in the per-candidate value matrix of ``_exact``.
        self.slots = {t: i for i, t in enumerate(tids)}
        #: The score of a record holding no query term, summed as rank_bm25 does.
        self.constant = 0.0
        for t in sequence:
            self.constant += self.absent[t]

    @functools.cached_property
    def tids(self) -> np.ndarray:
        return np.array(list(self.slots), dtype=np.int64)

    @functools.cached_property
    def tid_slots(self) -> np.ndarray:
        return np.arange(len(self.slots), dtype=np.int32)

    @functools.cached_property
    def absent_row(self) -> np.ndarray:
        return np.array([self.absent[t] for t in self.slots])

    @functools.cached_property
    def count_row(self) -> np.ndarray:
        return np.array([self.count[t] for t in self.slots], dtype=np.float64)

    def cost(self, tid: int, count: int) -> int:
        """Postings to touch to add a term to ``count`` candidates (search or scan)."""
        return min(self.df[tid], count * SEARCH_COST)

    def reach(self, tids: list[int]) -> float:
        """The most these terms can add to a record's score together."""
        return sum(self.bound[t] for t in tids)

    def excess(self, tid: int, excess: np.ndarray) -> np.ndarray:
        """A term's stored excess, times its repeats in the query."""
        count = self.count[tid]
        return excess if count == 1 else excess * count
