"""Compiled top-k for :class:`bot.search.scorer.SparseBM25` (numba): one call a question.

Why: the numpy path (:mod:`bot.search.topk`) plans MaxScore with dozens of small
numpy calls a question, and even as one compiled loop its term-at-a-time plan
scatters every added posting into a record-sized float32 array: at a million
records those random accesses were ~2.7 ms a question. :func:`top_k` is MaxScore
*document at a time* instead: the question's postings lists are walked together
in record order (sequential reads only), each record is scored in a register,
and once k records are held, terms whose bounds together cannot lift a record
past the k-th best score stop driving the walk (*non-essential*) and are only
looked up (galloping, forward only) for records that could still make it.
Measured on the benchmark's 1,000 questions at 1M records: 0.95 ms p50 against
2.7 ms for the same plan as numpy's, in one process (bm25s: ~2.5 ms).
It runs without the GIL (``nogil``), so the bot's threads search at once.

Guarantees (the numpy path's, which stays the reference; the tests compare both
with ``rank_bm25``):

- scores are exactly ``BM25Plus.get_scores(query)[ids]``: finalists are
  rescored in float64 with rank_bm25's expression and operation order (one
  ``+`` per query term in query order, repeated terms again); the walk's own
  float32-based scores only choose the finalists, with a tolerance far above
  their rounding error;
- ties go to the lower record index; records holding no query term are never
  returned; fewer than k results when fewer records match;
- work follows the question's postings: nothing corpus-sized is allocated or
  scanned; the only scratch is the calling thread's term -> slot array
  (``slots``, -1 everywhere between calls; a call resets what it set).

When (read by ``SparseBM25`` each time an index is built or loaded): from
``scorer.KERNEL_MIN_RECORDS`` (20k) records on; ``BOT_NUMBA=0`` in the
environment forces the numpy path, ``BOT_NUMBA=1`` this one at any size.
Without numba (``pip install claimbot[fast]``) the numpy path serves and these
functions stay plain Python. Below 20k records numba's start-up in a process
(~1.1 s and ~130 MB: its import and the cached code, paid once) would cost a
one-shot ``ask`` more than the questions save.

Compiling: ``cache=True`` keeps the machine code in ``__pycache__`` (or numba's
user cache), so only the first process after an install compiles it (~20 s on
this 2-core machine); later processes load it (~0.6 s). ``SparseBM25`` calls the kernel
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
def _sift_down(values: np.ndarray, size: int, at: int) -> None:
    """Restore the min-heap ``values[:size]`` below position ``at``."""
    while True:
        child = 2 * at + 1
        if child >= size:
            return
        if child + 1 < size and values[child + 1] < values[child]:
            child += 1
        if values[at] <= values[child]:
            return
        values[at], values[child] = values[child], values[at]
        at = child


@_jit
def _gallop(docs: np.ndarray, p: int, end: int, doc: int) -> int:
    """The first position in ``docs[p:end]`` (ascending) holding a record >= ``doc``, or
    ``end``: doubling steps then a binary search, so cheap for short and long jumps."""
    if p >= end or docs[p] >= doc:
        return p
    step = 1
    while p + step < end and docs[p + step] < doc:  # docs[p] < doc throughout
        p += step
        step *= 2
    stop = min(p + step, end)
    return p + 1 + int(np.searchsorted(docs[p + 1 : stop], doc))


@_jit
def _contribution(idf: float, delta: float, k1p1: float, norm: float, tf: float) -> float:
    """rank_bm25's ``idf * (delta + tf*(k1+1) / (norm + tf))``: same float64 operations."""
    return idf * (delta + (tf * k1p1) / (norm + tf))


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
    slots: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The k best records holding a term of ``sequence`` (term ids in query order,
    repeats kept): (record indices int64, scores float64), best first.

    The arrays are the index's (see ``SparseBM25``): postings (``indptr``,
    ``docs`` ascending, float32 ``excess`` over a record lacking the term),
    per-term ``bound`` of the excess, ``idf``, per-record ``norms`` and the
    forward index; ``slots`` is the calling thread's scratch. A record's walk
    score is its summed excess (float64 over float32 values): the exact score
    minus the question's constant, up to rounding, which ``tolerance`` covers.
    """
    m = len(sequence)
    if m == 0 or k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    # Distinct terms ("slots", in order of first appearance) and their repeats.
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
    bounds = np.empty(nd, dtype=np.float64)
    absent = np.empty(nd, dtype=np.float64)
    df = np.empty(nd, dtype=np.int64)
    for s in range(nd):
        df[s] = indptr[tids[s] + 1] - indptr[tids[s]]
        bounds[s] = counts[s] * bound[tids[s]]
        absent[s] = idf[tids[s]] * (delta + 0.0)  # rank_bm25's idf * (delta + 0/norm)
        slots[tids[s]] = s
    # The walk's lists, weakest first (lowest bound, then commonest): the weakest are
    # the first to become non-essential. Insertion sort: a question has few terms.
    order = np.arange(nd)
    for i in range(1, nd):
        s = order[i]
        j = i - 1
        while j >= 0 and (
            bounds[order[j]] > bounds[s] or (bounds[order[j]] == bounds[s] and df[order[j]] < df[s])
        ):
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = s
    ptr = np.empty(nd, dtype=np.int64)  # list i's next posting
    end = np.empty(nd, dtype=np.int64)
    weight = np.empty(nd, dtype=np.float64)  # repeats in the question
    prefix = np.empty(nd, dtype=np.float64)  # what lists 0..i can add together, at most
    total = 0.0
    for i in range(nd):
        s = order[i]
        ptr[i], end[i] = indptr[tids[s]], indptr[tids[s] + 1]
        weight[i] = counts[s]
        total += bounds[s]
        prefix[i] = total
    # Slack between walk scores and exact ones (as QueryPlan.tolerance): float32's
    # rounding is ~6e-8 of a score; this is over ten times that.
    tolerance = 1e-6 * (m + 2) * max(1.0, total)

    heap = np.empty(k, dtype=np.float64)  # the k best walk scores so far (min-heap)
    filled = 0
    floor = -np.inf  # the k-th best walk score minus tolerance: below it, never top k
    first = 0  # lists first.. are essential: a record in none of them cannot reach floor
    # Records that reached floor when scored (a superset of the finalists), with scores;
    # compacted to the current floor when full, grown when that frees too little.
    capacity = max(64, 4 * k)
    found = np.empty(capacity, dtype=np.int32)
    found_score = np.empty(capacity, dtype=np.float64)
    nf = 0
    sentinel = len(norms)
    while True:
        if first == nd - 1:
            # One essential list: skip its records that cannot reach floor in a tight loop.
            rest = prefix[first - 1] if first > 0 else 0.0
            p, stop, w = ptr[first], end[first], weight[first]
            while p < stop and np.float64(excess[p]) * w + rest < floor:
                p += 1
            ptr[first] = p
        # The next record of the essential lists, and what they add to it.
        doc = sentinel
        for i in range(first, nd):
            if ptr[i] < end[i] and docs[ptr[i]] < doc:
                doc = docs[ptr[i]]
        if doc == sentinel:
            break
        score = 0.0
        for i in range(first, nd):
            p = ptr[i]
            if p < end[i] and docs[p] == doc:
                score += np.float64(excess[p]) * weight[i]
                ptr[i] = p + 1
        # Non-essential lists, strongest first, while the record can still reach floor.
        i = first - 1
        while i >= 0:
            if score + prefix[i] < floor:
                break
            p = _gallop(docs, ptr[i], end[i], doc)
            ptr[i] = p
            if p < end[i] and docs[p] == doc:
                score += np.float64(excess[p]) * weight[i]
            i -= 1
        if i >= 0 or score < floor:
            continue
        if nf == capacity:
            kept = 0
            for j in range(nf):
                if found_score[j] >= floor:
                    found[kept] = found[j]
                    found_score[kept] = found_score[j]
                    kept += 1
            nf = kept
            if nf > capacity // 2:
                capacity *= 2
                grown = np.empty(capacity, dtype=np.int32)
                grown[:nf] = found[:nf]
                found = grown
                grown_score = np.empty(capacity, dtype=np.float64)
                grown_score[:nf] = found_score[:nf]
                found_score = grown_score
        found[nf] = doc
        found_score[nf] = score
        nf += 1
        if filled < k:
            heap[filled] = score
            filled += 1
            if filled < k:
                continue
            for at in range(k // 2 - 1, -1, -1):
                _sift_down(heap, k, at)
        elif score > heap[0]:
            heap[0] = score
            _sift_down(heap, k, 0)
        else:
            continue
        floor = heap[0] - tolerance
        while first < nd and prefix[first] < floor:
            first += 1
    # Finalists: every record within tolerance of the k-th best walk score.
    kept = 0
    for j in range(nf):
        if found_score[j] >= floor:
            found[kept] = found[j]
            kept += 1
    ids, scores = _exact(
        found[:kept], k, fwd_indptr, fwd_terms, fwd_tf, slots, tids, seq_slot, absent,
        idf, norms, delta, k1p1,
    )  # fmt: skip
    for s in range(nd):
        slots[tids[s]] = -1
    return ids, scores
