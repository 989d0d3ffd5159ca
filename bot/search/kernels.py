"""Compiled top-k for :class:`bot.search.scorer.SparseBM25` (numba): one call a question.

Why: the numpy path (:mod:`bot.search.topk`) plans MaxScore with dozens of small
numpy calls a question (plan, adds, lookups, pruning, exact scores, selection);
at a million records their Python overhead, not the postings, is most of its
time. :func:`top_k` runs the same plan as one jitted function over the same
arrays, without the GIL (``nogil``), so the bot's threads can search at once.

Guarantees (the numpy path's, which stays the reference; the tests compare both
with ``rank_bm25``):

- scores are exactly ``BM25Plus.get_scores(query)[ids]``: finalists are
  rescored in float64 with rank_bm25's expression and operation order (one
  ``+`` per query term in query order, repeated terms again);
- ties go to the lower record index; records holding no query term are never
  returned; fewer than k results when fewer records match;
- work follows the question's postings: the per-thread scratch arrays
  (``sums``, ``cands``, ``slots``) are zero / -1 between calls, and a call
  resets exactly what it touched; nothing corpus-sized is allocated or scanned.

When (read by ``SparseBM25`` each time an index is built or loaded): from
``scorer.KERNEL_MIN_RECORDS`` (20k) records on; ``BOT_NUMBA=0`` in the
environment forces the numpy path, ``BOT_NUMBA=1`` this one at any size.
Without numba (``pip install claimbot[fast]``) the numpy path serves and these
functions stay plain Python. Below 20k records numba's start-up in a process
(~1.3 s and ~130 MB: its own import and target set-up, paid once) would cost a
one-shot ``ask`` more than the questions save.

Compiling: ``cache=True`` keeps the machine code in ``__pycache__`` (or numba's
user cache), so only the first process after an install compiles it (~20 s on
this 2-core machine); later processes load it. ``SparseBM25`` calls the kernel
once when an index is built or loaded (an empty question), so the first real
question does not wait for either.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np


def _import_numba() -> Any:
    """numba, or None when it is not installed (the numpy path serves: bot.search.topk)."""
    try:
        return importlib.import_module("numba")
    except ImportError:
        return None


numba = _import_numba()
_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(func: _F) -> _F:
    """``numba.njit(cache=True, nogil=True)``, typed; the plain function without numba."""
    if numba is None:
        return func
    return cast(_F, numba.njit(cache=True, nogil=True)(func))


def available() -> bool:
    """Whether numba is installed, so that these functions run compiled."""
    return numba is not None


# ---------------------------------------------------------------------- helpers


@_jit
def _sift_down(values: np.ndarray, ids: np.ndarray, size: int, at: int) -> None:
    """Restore the min-heap ``values[:size]`` (``ids`` alongside) below ``at``."""
    while True:
        child = 2 * at + 1
        if child >= size:
            return
        if child + 1 < size and values[child + 1] < values[child]:
            child += 1
        if values[at] <= values[child]:
            return
        values[at], values[child] = values[child], values[at]
        ids[at], ids[child] = ids[child], ids[at]
        at = child


@_jit
def _best(sums: np.ndarray, cands: np.ndarray, n: int, m: int) -> tuple[np.ndarray, float]:
    """The m candidates of ``cands[:n]`` with the highest ``sums`` (any order), and the
    lowest of their sums: a size-m heap, so no n-sized copy (``m <= n``)."""
    values = np.empty(m, dtype=np.float64)
    ids = np.empty(m, dtype=np.int32)
    for i in range(m):
        values[i] = sums[cands[i]]
        ids[i] = cands[i]
    for at in range(m // 2 - 1, -1, -1):
        _sift_down(values, ids, m, at)
    for i in range(m, n):
        value = sums[cands[i]]
        if value > values[0]:
            values[0] = value
            ids[0] = cands[i]
            _sift_down(values, ids, m, 0)
    return ids, values[0]


@_jit
def _add(
    indptr: np.ndarray,
    docs: np.ndarray,
    excess: np.ndarray,
    tid: int,
    count: int,
    sums: np.ndarray,
    cands: np.ndarray,
    n: int,
) -> int:
    """Add a term's float32 excess (times its repeats) over all its records; records new
    to ``sums`` (zero there: every excess is > 0) are appended to ``cands``. Returns n."""
    repeats = np.float32(count)
    for p in range(indptr[tid], indptr[tid + 1]):
        doc = docs[p]
        before = sums[doc]
        if before == 0:
            cands[n] = doc
            n += 1
        sums[doc] = before + (excess[p] if count == 1 else excess[p] * repeats)
    return n


@_jit
def _lookup(
    indptr: np.ndarray,
    docs: np.ndarray,
    excess: np.ndarray,
    tid: int,
    count: int,
    sums: np.ndarray,
    live: np.ndarray,
    search_cost: int,
) -> None:
    """Add a term to the ``live`` candidates only: binary search in its postings when
    they are far more than the candidates, else one pass over them (non-candidates,
    zero in ``sums``, are skipped)."""
    lo, hi = indptr[tid], indptr[tid + 1]
    repeats = np.float32(count)
    if len(live) * search_cost < hi - lo:
        postings = docs[lo:hi]
        for doc in live:
            at = np.searchsorted(postings, doc)
            if at < hi - lo and postings[at] == doc:
                value = excess[lo + at]
                sums[doc] += value if count == 1 else value * repeats
    else:
        for p in range(lo, hi):
            doc = docs[p]
            before = sums[doc]
            if before != 0:
                sums[doc] = before + (excess[p] if count == 1 else excess[p] * repeats)


@_jit
def _keep(sums: np.ndarray, cands: np.ndarray, n: int, floor: float, reach: float) -> int:
    """Compact ``cands[:n]`` to those with ``sums + reach >= floor``; the others' sums are
    zeroed now (they are never read again, and the scratch must end clean)."""
    kept = 0
    for i in range(n):
        doc = cands[i]
        if sums[doc] + reach >= floor:
            cands[kept] = doc
            kept += 1
        else:
            sums[doc] = 0
    return kept


@_jit
def _contribution(idf: float, delta: float, k1p1: float, norm: float, tf: float) -> float:
    """rank_bm25's ``idf * (delta + tf*(k1+1) / (norm + tf))``: same float64 operations."""
    return idf * (delta + (tf * k1p1) / (norm + tf))


@_jit
def _whole_excess(
    doc: int,
    fwd_indptr: np.ndarray,
    fwd_terms: np.ndarray,
    fwd_tf: np.ndarray,
    slots: np.ndarray,
    tids: np.ndarray,
    counts: np.ndarray,
    absent: np.ndarray,
    idf: np.ndarray,
    norms: np.ndarray,
    delta: float,
    k1p1: float,
) -> float:
    """A record's excess over all query terms (float64, from the forward index): bounds."""
    total = 0.0
    for p in range(fwd_indptr[doc], fwd_indptr[doc + 1]):
        slot = slots[fwd_terms[p]]
        if slot >= 0:
            weight = _contribution(idf[tids[slot]], delta, k1p1, norms[doc], np.float64(fwd_tf[p]))
            total += (weight - absent[slot]) * counts[slot]
    return total


@_jit
def _exact(
    finalists: np.ndarray,
    k: int,
    fwd_indptr: np.ndarray,
    fwd_terms: np.ndarray,
    fwd_tf: np.ndarray,
    slots: np.ndarray,
    tids: np.ndarray,
    seq_slot: np.ndarray,
    absent: np.ndarray,
    idf: np.ndarray,
    norms: np.ndarray,
    delta: float,
    k1p1: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The k best finalists by exact score (desc), ties to the lower record index.

    Each score replays rank_bm25's sum: starting from 0.0, for each query term
    in query order, ``+`` the term's contribution if the record holds it (read
    from the forward index), else ``idf * (delta + 0.0)``. ``finalists`` is
    sorted in place, so a stable sort by score keeps lower indices first.
    """
    finalists.sort()
    count = len(finalists)
    scores = np.empty(count, dtype=np.float64)
    values = np.empty(len(tids), dtype=np.float64)
    for f in range(count):
        doc = finalists[f]
        values[:] = absent
        for p in range(fwd_indptr[doc], fwd_indptr[doc + 1]):
            slot = slots[fwd_terms[p]]
            if slot >= 0:
                values[slot] = _contribution(
                    idf[tids[slot]], delta, k1p1, norms[doc], np.float64(fwd_tf[p])
                )
        total = 0.0
        for i in range(len(seq_slot)):
            total = total + values[seq_slot[i]]
        scores[f] = total
    order = np.argsort(-scores, kind="mergesort")[:k]
    return finalists[order].astype(np.int64), scores[order]


# ---------------------------------------------------------------------- top k


@_jit
def top_k(
    indptr: np.ndarray,
    docs: np.ndarray,
    excess: np.ndarray,
    bound: np.ndarray,
    idf: np.ndarray,
    norms: np.ndarray,
    fwd_indptr: np.ndarray,
    fwd_terms: np.ndarray,
    fwd_tf: np.ndarray,
    sequence: np.ndarray,
    k: int,
    delta: float,
    k1p1: float,
    terms_per_record: float,
    small_query: int,
    search_cost: int,
    probes: int,
    probe_min: int,
    probe_share: float,
    sums: np.ndarray,
    cands: np.ndarray,
    slots: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The k best records holding a term of ``sequence`` (term ids in query order,
    repeats kept): (record indices int64, scores float64), best first.

    The steps of ``SparseBM25._candidates`` and ``Accumulator.prune``: terms are
    added strongest first until k records are candidates; then, while the
    pending terms' bounds could still lift a new record past the k-th best
    score ``theta`` (raised by scoring the best candidates whole: *probes*),
    the next term is added in full; the remaining terms are only looked up for
    the candidates that can still reach ``theta``. The finalists are rescored
    exactly (:func:`_exact`) and the k best selected. The arrays are the
    index's (see ``SparseBM25``); ``sums`` (float32), ``cands`` (int32, one a
    record) and ``slots`` (int32, -1, one a term) are the calling thread's
    scratch. The tuning numbers are ``bot.search.topk``'s.
    """
    m = len(sequence)
    if m == 0 or k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    # Distinct terms in order of first appearance ("slots"), with their repeats.
    tids = np.empty(m, dtype=np.int64)
    counts = np.zeros(m, dtype=np.int64)
    seq_slot = np.empty(m, dtype=np.int64)
    nd = 0
    for i in range(m):
        slot = 0
        while slot < nd and tids[slot] != sequence[i]:
            slot += 1
        if slot == nd:
            tids[nd] = sequence[i]
            nd += 1
        counts[slot] += 1
        seq_slot[i] = slot
    tids, counts = tids[:nd], counts[:nd]
    df = np.empty(nd, dtype=np.int64)
    bounds = np.empty(nd, dtype=np.float64)
    absent = np.empty(nd, dtype=np.float64)
    for s in range(nd):
        df[s] = indptr[tids[s] + 1] - indptr[tids[s]]
        bounds[s] = counts[s] * bound[tids[s]]
        absent[s] = idf[tids[s]] * (delta + 0.0)  # rank_bm25's idf * (delta + 0/norm)
        slots[tids[s]] = s
    # Strongest first: highest bound, then rarest, then lowest term id (insertion sort:
    # a question has a handful of terms).
    order = np.arange(nd)
    for i in range(1, nd):
        s = order[i]
        j = i - 1
        while j >= 0 and (
            bounds[order[j]] < bounds[s]
            or (
                bounds[order[j]] == bounds[s]
                and (df[order[j]] > df[s] or (df[order[j]] == df[s] and tids[order[j]] > tids[s]))
            )
        ):
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = s
    # Suffix sums of the bounds: what the pending terms order[i:] can add together.
    reach = np.zeros(nd + 1, dtype=np.float64)
    for i in range(nd - 1, -1, -1):
        reach[i] = reach[i + 1] + bounds[order[i]]
    # Slack for float32 sums against float64 bounds (as QueryPlan.tolerance).
    tolerance = 1e-6 * (m + 2) * max(1.0, reach[0])

    n = 0  # candidates: cands[:n], each non-zero in sums
    theta = 0.0
    pos = 0  # terms order[:pos] are added in full
    exhaustive = df.sum() <= small_query  # pruning would cost more than it saves
    while pos < nd and (exhaustive or n < k):
        s = order[pos]
        n = _add(indptr, docs, excess, tids[s], counts[s], sums, cands, n)
        pos += 1
    whole = pos == nd  # every candidate's sum covers every term
    if not whole:
        theta = _best(sums, cands, n, k)[1]
        while reach[pos] >= theta - tolerance:
            s = order[pos]
            if probes > 0 and df[s] >= probe_min:  # may save a costly add
                probes -= 1
                budget = int(probe_share * df[s])
                size = min(n, max(2 * k, int(budget / max(terms_per_record, 1.0))))
                best = _best(sums, cands, n, size)[0]
                scores = np.empty(size, dtype=np.float64)
                for i in range(size):
                    scores[i] = _whole_excess(
                        best[i], fwd_indptr, fwd_terms, fwd_tf, slots, tids, counts,
                        absent, idf, norms, delta, k1p1,
                    )  # fmt: skip
                theta = max(theta, np.sort(scores)[size - k])
                if reach[pos] < theta - tolerance:
                    break
            n = _add(indptr, docs, excess, tids[s], counts[s], sums, cands, n)
            pos += 1
            if pos == nd:
                whole = True
                break
            theta = max(theta, _best(sums, cands, n, k)[1])
    final = n
    if not whole:
        # The remaining terms cannot make a new candidate: look them up for the
        # candidates that can still reach theta, strongest first, until the
        # survivors are cheaper to score exactly as they are.
        floor = theta - tolerance
        whole = True
        for i in range(pos, nd):
            final = _keep(sums, cands, final, floor, reach[i])
            s = order[i]
            if final * terms_per_record <= min(df[s], final * search_cost):
                whole = False  # few: _exact reads them whole from the forward index
                break
            _lookup(indptr, docs, excess, tids[s], counts[s], sums, cands[:final], search_cost)
        if whole:
            final = _keep(sums, cands, final, floor, 0.0)
    if whole and final > k:
        # Whole float32 sums are the exact scores minus the constant, up to rounding:
        # the exact top k is within tolerance of the k-th best of them.
        final = _keep(sums, cands, final, _best(sums, cands, final, k)[1] - tolerance, 0.0)
    ids, scores = _exact(
        cands[:final], k, fwd_indptr, fwd_terms, fwd_tf, slots, tids, seq_slot, absent,
        idf, norms, delta, k1p1,
    )  # fmt: skip
    for i in range(final):
        sums[cands[i]] = 0
    for s in range(nd):
        slots[tids[s]] = -1
    return ids, scores
