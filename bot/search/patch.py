"""Reloading a large knowledge base by patching the previous index, not re-merging every file.

Why: at a million records in 1,000 files, a full merge after one changed file
reads the other 999 segments back (~10 s) and sorts 28.5M postings again
(~11 s), although 99.9 % of them did not change. The previous merged cache
already holds all of them, so a reload keeps what is unchanged and splices
in what changed:

- the cache's meta lists which file each run of its records came from
  (``files``: segment key and record count per file, in order), and its
  ``extra.links.*`` arrays every link between records;
- :func:`find_base` picks the newest cache sharing files with the folder and
  reads its stored arrays (CRC-checked, nothing derived);
- :func:`apply` renumbers the kept records (old position → new, monotone, so
  each term's postings stay sorted), drops the changed files' postings,
  inserts the new segments' postings where they sort (vectorised binary
  searches in each term's run and one ``np.insert``: a pass over the
  postings, no sort), drops terms left without postings, splices the records'
  JSON, content keys and id hashes by ranges (:func:`bot.search.store.splice`),
  and checks ids and links across the whole knowledge base as a full merge
  does (through the sorted id hashes, not a dict of every id).

The patched index holds the very postings, record lengths, records and links
of a full rebuild, so scores and rankings are identical bit for bit; only the
vocabulary's internal order differs (new terms come last), which no score
depends on. Patching is used only where spelling correction is off (a base of
more than ``SPELLING_MAX_RECORDS`` records: the segments' spelling words are
not in the merged cache, and smaller bases merge in about a second anyway), and
:func:`apply` returns None — the caller then merges all segments — when files
were reordered, one file's content appears twice, or no cache can serve.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import CacheError
from bot.search import segments, store
from bot.search.scorer import DELTA, K1, B, SparseBM25
from bot.search.segments import Segment
from bot.search.spelling import SPELLING_MAX_RECORDS

log = logging.getLogger(__name__)

#: The cache meta key listing ``[segment key, record count]`` per record file, in order.
FILES = "files"


def manifest(parts: Iterable[tuple[str, int]]) -> list[list[Any]]:
    """The ``files`` meta entry: each record file's segment key and record count, in order."""
    return [[key, count] for key, count in parts]


# --- links ----------------------------------------------------------------------------


def link_arrays(sources: np.ndarray, targets: Sequence[str]) -> dict[str, np.ndarray]:
    """Links as arrays for the cache (``store(extra=...)``): source positions, target ids."""
    encoded = [t.encode("utf-8") for t in targets]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return {
        "links.from": np.asarray(sources, dtype=np.int64),
        "links.to_blob": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        "links.to_offsets": offsets,
    }


def _links_from(extra: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    try:
        sources = extra["links.from"]
        blob, offsets = extra["links.to_blob"].tobytes(), extra["links.to_offsets"].tolist()
    except KeyError as exc:
        raise CacheError(f"no link table ({exc})") from None
    targets = [blob[a:z].decode("utf-8") for a, z in pairwise(offsets)]
    if sources.dtype != np.int64 or len(sources) != len(targets):
        raise CacheError("link table does not add up")
    return sources, targets


# --- the base ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    """A previous merged cache to patch: its stored arrays and where each file's records lie."""

    raw: store.Raw
    #: Segment key → (first, end) record positions in the base.
    ranges: dict[str, tuple[int, int]]


def find_base(cache_dir: str | Path, fingerprint: str, keys: Sequence[str]) -> Base | None:
    """The cache sharing the most records with a folder whose files have ``keys``, or None
    (no cache with a file list, none large enough to patch, none sharing a file)."""
    wanted = set(keys)
    best: tuple[int, Path, dict[str, tuple[int, int]]] | None = None
    for path, meta in store.headers(cache_dir, fingerprint):
        ranges = _ranges(meta.get(FILES))
        if ranges is None or meta.get("spelling"):  # spelling words: small, merged instead
            continue
        shared = sum(hi - lo for key, (lo, hi) in ranges.items() if key in wanted)
        if shared and (best is None or shared > best[0]):
            best = (shared, path, ranges)
    if best is None:
        return None
    try:
        raw = store.load_raw(best[1], fingerprint)
    except Exception as exc:  # a damaged file fails in many ways: none of them is fatal
        log.warning("ignoring index cache %s (%s); merging every file", best[1], exc)
        with contextlib.suppress(OSError):
            best[1].unlink()
        return None
    return Base(raw, best[2])


def _ranges(files: Any) -> dict[str, tuple[int, int]] | None:
    """Segment key → record range, from a ``files`` meta entry; None when unusable."""
    if not isinstance(files, list):
        return None
    ranges: dict[str, tuple[int, int]] = {}
    start = 0
    for entry in files:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            return None
        key, count = entry
        if not isinstance(count, int) or count < 0 or key in ranges:
            return None
        ranges[key] = (start, start + count)
        start += count
    return ranges


# --- patching ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Patched:
    """The patched knowledge base's index, records and links, and whether ids and links hold."""

    scorer: SparseBM25
    records: store.RecordStore
    links: tuple[np.ndarray, list[str]]
    #: False when an id is duplicated or a link names no record: report as load() does.
    valid: bool


def apply(base: Base, files: Sequence[tuple[str, Segment | None]]) -> Patched | None:
    """The index of record files ``files`` (segment key, and the segment when the base
    lacks it), in order, from ``base``; None when patching cannot serve (see module)."""
    layout = _layout(base, files)
    if layout is None:
        return None
    kept, added, total = layout
    if total <= SPELLING_MAX_RECORDS:
        return None  # small enough to offer spelling words: the full merge does that
    try:
        old = _old_index(base.raw.bm25)
    except (CacheError, KeyError, ValueError, UnicodeDecodeError) as exc:
        log.info("cannot patch from %s (%s): merging every file", base.raw.path, exc)
        return None
    if old is None:
        return None
    terms, indptr, docs, tf, doc_len = old
    renumber = np.full(len(doc_len), -1, dtype=np.int32)  # records < 2**31: half the bytes
    for lo, hi, start in kept:
        renumber[lo:hi] = np.arange(start, start + hi - lo, dtype=np.int32)
    scorer = _postings(terms, indptr, docs, tf, doc_len, renumber, added, total)
    pieces: list[tuple[store.RecordStore, int, int]] = []
    for lo, hi, _, segment in _in_order(kept, added):
        pieces.append((base.raw.records, lo, hi) if segment is None else (segment.records, 0, hi))
    records = store.splice(pieces)  # ids, content keys and id hashes spliced alike
    try:
        links = _links(base, renumber, added)
    except CacheError as exc:
        log.info("cannot patch from %s (%s): merging every file", base.raw.path, exc)
        return None
    valid = segments.links_hold(records, links)
    return Patched(scorer, records, links, valid)


_Kept = list[tuple[int, int, int]]  # (first, end) in the base, first position in the new order
_Added = list[tuple[int, Segment]]  # first position in the new order, segment


def _layout(
    base: Base, files: Sequence[tuple[str, Segment | None]]
) -> tuple[_Kept, _Added, int] | None:
    """Where each file's records go: kept ranges of the base, added segments, the total."""
    kept: _Kept = []
    added: _Added = []
    start, last_end, used = 0, 0, set()
    for key, segment in files:
        if segment is None:
            if key in used or key not in base.ranges:
                return None  # a file's content twice, or a lost segment
            lo, hi = base.ranges[key]
            if lo < last_end:
                return None  # files reordered: renumbering would not be monotone
            used.add(key)
            kept.append((lo, hi, start))
            last_end, start = hi, start + hi - lo
        else:
            added.append((start, segment))
            start += len(segment)
    if not kept:
        return None
    return kept, added, start


def _in_order(kept: _Kept, added: _Added) -> list[tuple[int, int, int, Segment | None]]:
    """(first, end, new first, segment or None for kept) of every file, in the new order."""
    rows: list[tuple[int, int, int, Segment | None]] = [(lo, hi, s, None) for lo, hi, s in kept]
    rows += [(0, len(seg), s, seg) for s, seg in added]
    return sorted(rows, key=lambda row: row[2])


def _old_index(
    arrays: Mapping[str, np.ndarray],
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The base's raw statistics (terms, indptr, docs, tf, doc_len), or None when it was
    indexed with other BM25 parameters."""
    meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    if (meta.get("k1"), meta.get("b"), meta.get("delta")) != (K1, B, DELTA):
        return None
    v = int(meta["vocabulary_size"])
    text = arrays["terms"].tobytes().decode("utf-8")
    terms = text.split("\0") if v else []
    indptr, docs, tf, doc_len = (arrays[n] for n in ("indptr", "docs", "tf", "doc_len"))
    if len(terms) != v or len(indptr) != v + 1 or not int(indptr[-1]) == len(docs) == len(tf):
        raise CacheError("index arrays do not add up")
    return terms, indptr, docs, tf, doc_len


def _postings(
    terms: list[str],
    indptr: np.ndarray,
    docs: np.ndarray,
    tf: np.ndarray,
    doc_len: np.ndarray,
    renumber: np.ndarray,
    added: _Added,
    total: int,
) -> SparseBM25:
    """The patched postings: kept ones renumbered, new ones inserted in (term, record) order.

    No per-posting term ids and no sort of the whole: each kept term's postings
    stay a sorted run (renumbering is monotone), so only the new postings are
    placed, by a binary search in their term's run, and inserted in one pass.
    """
    moved = renumber[docs]
    keep = moved >= 0
    kept_df = (
        np.add.reduceat(keep, indptr[:-1], dtype=np.int64)
        if len(docs)
        else np.zeros(len(terms), dtype=np.int64)
    )
    doc_of, tf_of = moved[keep], tf[keep]
    del moved, keep
    lengths = np.empty(total, dtype=np.int32)
    kept_positions = np.flatnonzero(renumber >= 0)
    lengths[renumber[kept_positions]] = doc_len[kept_positions]
    vocab = dict(zip(terms, range(len(terms)), strict=True))
    every = list(terms)
    new_terms, new_docs, new_tf = [], [], []
    for start, segment in added:
        c = segment.counts
        mapping = np.array([vocab.setdefault(t, len(vocab)) for t in c.terms], dtype=np.int64)
        every.extend(c.terms[i] for i in np.flatnonzero(mapping >= len(every)).tolist())
        new_terms.append(mapping[c.term_ids] if len(mapping) else c.term_ids)
        new_docs.append(start + np.repeat(np.arange(len(segment), dtype=np.int64), c.distinct))
        new_tf.append(c.tf)
        lengths[start : start + len(segment)] = c.lengths
    df = np.zeros(len(every), dtype=np.int64)
    df[: len(terms)] = kept_df
    if added:
        t_new, d_new, f_new = (np.concatenate(a) for a in (new_terms, new_docs, new_tf))
        order = np.argsort(t_new * total + d_new, kind="stable")  # (term, record) order
        t_new, d_new, f_new = t_new[order], d_new[order], f_new[order]
        starts = np.zeros(len(every) + 1, dtype=np.int64)
        np.cumsum(df, out=starts[1:])  # each term's run among the kept postings
        at = _lower_bounds(doc_of, starts[t_new], starts[t_new + 1], d_new)
        widest = max(int(tf_of.max(initial=0)), int(f_new.max(initial=0)))
        tf_type = np.min_scalar_type(widest)
        doc_of = np.insert(doc_of, at, d_new.astype(doc_of.dtype))
        tf_of = np.insert(tf_of.astype(tf_type, copy=False), at, f_new.astype(tf_type))
        df += np.bincount(t_new, minlength=len(every))
    alive = df > 0
    new_indptr = np.zeros(int(alive.sum()) + 1, dtype=np.int64)
    np.cumsum(df[alive], out=new_indptr[1:])
    return SparseBM25(
        terms=[t for t, a in zip(every, alive.tolist(), strict=True) if a],
        indptr=new_indptr,
        docs=doc_of.astype(np.int32, copy=False),
        tf=tf_of.astype(np.min_scalar_type(int(tf_of.max(initial=0))), copy=False),
        doc_len=lengths,
        k1=K1,
        b=B,
        delta=DELTA,
    )


def _lower_bounds(
    values: np.ndarray, lo: np.ndarray, hi: np.ndarray, wanted: np.ndarray
) -> np.ndarray:
    """Per query i, the first position in ``values[lo[i]:hi[i]]`` (sorted) whose value is not
    below ``wanted[i]``: many binary searches at once, ~log2(run) vector steps."""
    lo, hi = lo.copy(), hi.copy()
    if not len(values):
        return lo
    last = len(values) - 1
    while True:
        open_ = lo < hi
        if not open_.any():
            return lo
        mid = (lo + hi) // 2
        below = open_ & (values[np.minimum(mid, last)] < wanted)
        lo = np.where(below, mid + 1, lo)
        hi = np.where(open_ & ~below, mid, hi)


def _links(base: Base, renumber: np.ndarray, added: _Added) -> tuple[np.ndarray, list[str]]:
    """Every link of the patched base: the kept records' (renumbered), then the new ones'."""
    sources, targets = _links_from(base.raw.extra)
    if len(sources) and (sources.min() < 0 or sources.max() >= len(renumber)):
        raise CacheError("a link from outside the records")
    moved = renumber[sources]
    keep = np.flatnonzero(moved >= 0)
    all_sources = [moved[keep]]
    all_targets = [targets[i] for i in keep.tolist()]
    for start, segment in added:
        new_sources, new_targets = segments.segment_links([segment])
        all_sources.append(new_sources + start)
        all_targets.extend(new_targets)
    return np.concatenate(all_sources), all_targets
