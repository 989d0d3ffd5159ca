"""Approximate nearest neighbours for record vectors above :data:`ANN_MIN_VECTORS`.

Below it, :class:`bot.search.vectors.VectorIndex` multiplies the question's
vector with every record's (exact, float32). Above it, a faiss inverted-file
index with 8-bit scalar-quantised vectors (``IndexIVFScalarQuantizer``, QT_8bit:
384 bytes a 384-d vector, a quarter of float32) answers from the ``nprobe``
nearest of its ``nlist`` clusters.

Why IVF-SQ8 from faiss, measured on this 2-core machine (100k vectors, 384-d,
300 questions, recall@10 against exact float32 cosine): HNSW graphs build too
slowly here for a reload budget (usearch i8: 360 s for 100k; faiss HNSW-SQ8
and hnswlib: 6-14 s for 20k), and hnswlib stores float32 only. IVF-SQ8 adds
100k vectors in 2.6 s after a k-means on a sample, answers in 0.35-0.7 ms
(nprobe 32-64 of 1264), and removes and adds vectors by id in place, so a
reload updates it instead of rebuilding it.

Vectors are keyed in the index by their record's content key (63 bits of
:func:`bot.search.vectors.record_key`), never by position: a reload removes
the keys of records that went or changed, adds the new ones, and maps keys
back to the current positions. The index is persisted beside the vector cache
(``ann-<model>.faiss`` plus its key list) and retrained from scratch only when
the collection has grown or shrunk far beyond what its clusters were fitted on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Below this many vectors, exact search is fast enough and exact.
ANN_MIN_VECTORS = 20_000
#: Clusters per sqrt(vectors), and the share of them a question visits.
NLIST_PER_SQRT = 4
NPROBE_SHARE = 1 / 12
NPROBE_SHARE_GRAPH = 1 / 40
NPROBE_MIN = 48
#: Training sample: this many vectors per cluster (k-means), at most TRAIN_MAX.
TRAIN_PER_LIST, TRAIN_MAX = 24, 100_000
KMEANS_ITERATIONS = 8
#: How wide the centroid graph is searched, when filing a vector and at least per question.
QUANTIZER_EF = 128
#: From this many clusters on, vectors find theirs through an HNSW graph of centroids.
HNSW_QUANTIZER_LISTS = 2048
#: Retrain when the collection is this many times larger or smaller than at training.
RETRAIN_FACTOR = 4.0
#: Candidates fetched before dropping keys that are no longer records.
FETCH_EXTRA = 8
#: With exact rows, this many candidates per result (at least RERANK_MIN) are re-ranked.
RERANK_FACTOR, RERANK_MIN = 5, 50
_FORMAT = "claimbot.ann-1"


def keys_of(record_keys: Sequence[bytes]) -> np.ndarray:
    """63-bit int64 faiss ids from 16-byte record content keys (never -1)."""
    raw = np.frombuffer(b"".join(k[:8] for k in record_keys), dtype="<u8")
    return (raw & np.uint64(0x7FFF_FFFF_FFFF_FFFF)).astype(np.int64)


def _faiss() -> Any:
    import faiss

    return faiss


class AnnIndex:
    """faiss IVF-SQ8 over record vectors, answering with current record positions."""

    def __init__(
        self,
        index: Any,
        keys: np.ndarray,
        trained_on: int,
        rows: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        """``keys``: per current record position, its int64 key in ``index``. ``rows``:
        the float vectors of record positions (e.g. read from the vector cache), to
        rank the index's candidates by exact cosine: 8-bit codes alone cannot tell
        apart neighbours closer than their rounding."""
        self.index = index
        self.keys = keys
        self.trained_on = trained_on
        self.rows = rows
        self._order = np.argsort(keys, kind="stable")
        self._sorted = keys[self._order]
        nlist = int(index.nlist)
        self._graph = _tune_quantizer(index)
        # Finer clusters (a centroid graph) need a smaller share of them visited.
        share = NPROBE_SHARE_GRAPH if self._graph else NPROBE_SHARE
        self.nprobe = min(nlist, max(NPROBE_MIN, math.ceil(nlist * share)))

    def __len__(self) -> int:
        return len(self.keys)

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Current positions of faiss ids; -1 for ids of no current record."""
        at = np.searchsorted(self._sorted, ids)
        at = np.minimum(at, max(len(self._sorted) - 1, 0))
        found = (self._sorted[at] == ids) & (ids >= 0) if len(self._sorted) else ids < -1
        return np.where(found, self._order[at], -1)

    def top_k(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(record positions, approximate cosines), best first."""
        if k <= 0 or not len(self.keys):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        faiss = _faiss()
        if self._graph:  # the centroid graph must look wider than the lists it returns
            ef = max(QUANTIZER_EF, self.nprobe + self.nprobe // 2)
            params = faiss.SearchParametersIVF(
                nprobe=self.nprobe, quantizer_params=faiss.SearchParametersHNSW(efSearch=ef)
            )
        else:
            params = faiss.SearchParametersIVF(nprobe=self.nprobe)
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        fetch = max(k * RERANK_FACTOR, RERANK_MIN) if self.rows is not None else k
        sims, ids = self.index.search(query, fetch + FETCH_EXTRA, params=params)
        positions = self.positions(ids[0])
        keep = positions >= 0
        positions, approx = positions[keep].astype(np.int64), sims[0][keep]
        if self.rows is None or not len(positions):
            return positions[:k], approx[:k]
        exact = self.rows(positions) @ query[0]
        order = np.argsort(-exact, kind="stable")[:k]
        return positions[order], exact[order].astype(np.float32)

    def similarity(self, vector: np.ndarray, positions: Sequence[int]) -> np.ndarray:
        """Cosines of the question with records at ``positions`` (from the stored codes)."""
        if not len(positions):
            return np.zeros(0, dtype=np.float32)
        at = np.asarray(positions, dtype=np.int64)
        if self.rows is not None:
            exact: np.ndarray = self.rows(at) @ np.asarray(vector, dtype=np.float32)
            return exact
        stored = self.index.reconstruct_batch(self.keys[at])
        sims: np.ndarray = stored @ np.asarray(vector, dtype=np.float32)
        return sims

    # ------------------------------------------------------------------ building

    @classmethod
    def build(cls, keys: np.ndarray, vectors: np.ndarray, seed: int = 7) -> AnnIndex:
        """Train on a sample and add every vector (rows of ``vectors``, L2-normalised)."""
        faiss = _faiss()
        n, dim = vectors.shape
        nlist = max(1, int(NLIST_PER_SQRT * math.sqrt(n)))
        if nlist >= HNSW_QUANTIZER_LISTS:
            # Many clusters: find a vector's nearest ones through a small HNSW graph
            # of the centroids, not by comparing with every one (1M x 4000 products).
            index = faiss.index_factory(dim, f"IVF{nlist}_HNSW32,SQ8", faiss.METRIC_INNER_PRODUCT)
        else:
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
        index.cp.seed = seed
        index.cp.niter = KMEANS_ITERATIONS
        rng = np.random.default_rng(seed)
        size = min(n, max(nlist * TRAIN_PER_LIST, 1), TRAIN_MAX)
        sample = np.sort(rng.choice(n, size=size, replace=False))
        index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        _tune_quantizer(index)
        _add(index, keys, vectors)
        return cls(index, keys, n)

    def updated(self, held: set[int], keys: np.ndarray, vectors: Any) -> AnnIndex:
        """This index, holding ``held`` ids, for a new set of records: removes the keys
        that went, adds the new ones (``vectors(rows)`` gives the vectors of rows of
        ``keys``); rebuilds when the collection outgrew what its clusters were fitted on."""
        old = held
        new = set(keys.tolist())
        n = len(keys)
        if n > self.trained_on * RETRAIN_FACTOR or n * RETRAIN_FACTOR < self.trained_on:
            return AnnIndex.build(keys, vectors(np.arange(n)))
        gone = np.fromiter(old - new, dtype=np.int64)
        if len(gone):
            faiss = _faiss()  # a hashtable direct map removes by IDSelectorArray only
            self.index.remove_ids(faiss.IDSelectorArray(len(gone), faiss.swig_ptr(gone)))
        added = np.flatnonzero(~np.isin(keys, np.fromiter(old, dtype=np.int64)))
        if len(added):
            _add(self.index, keys[added], vectors(added))
        return AnnIndex(self.index, keys, self.trained_on)

    # ------------------------------------------------------------------ on disk

    def save(self, path: Path) -> None:
        """Write the index and its metadata atomically (two files, the index last)."""
        faiss = _faiss()
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = path.with_suffix(".json")
        _atomic_write(meta, json.dumps({"format": _FORMAT, "trained_on": self.trained_on}).encode())
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            faiss.write_index(self.index, tmp)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @classmethod
    def load(cls, path: Path, keys: np.ndarray, dim: int) -> tuple[AnnIndex, set[int]] | None:
        """A saved index, remapped to the current ``keys``, and the ids it holds; None
        when missing or unsound."""
        if not path.exists():
            return None
        try:
            faiss = _faiss()
            meta = json.loads(path.with_suffix(".json").read_text())
            if meta.get("format") != _FORMAT:
                raise ValueError("another format")
            index = faiss.read_index(str(path))
            if index.d != dim or not index.is_trained:
                raise ValueError("another model's vectors")
            index.set_direct_map_type(faiss.DirectMap.Hashtable)
            held = _ids(index)
            return cls(index, keys, int(meta["trained_on"])), held
        except Exception as exc:  # a damaged index costs a rebuild, never answers
            log.warning("ignoring vector index %s (%s); it will be rebuilt", path, exc)
            with contextlib.suppress(OSError):
                path.unlink()
            return None


def _tune_quantizer(index: Any) -> bool:
    """Widen an HNSW centroid graph's search (True when there is one). With faiss's
    default (efSearch 16) vectors are filed under, and questions look in, lists that
    are not the nearest: at 1M vectors recall@10 stayed at 0.84 whatever nprobe."""
    faiss = _faiss()
    quantizer = faiss.downcast_index(index.quantizer)
    if not hasattr(quantizer, "hnsw"):
        return False
    quantizer.hnsw.efSearch = max(int(quantizer.hnsw.efSearch), QUANTIZER_EF)
    return True


def _add(index: Any, keys: np.ndarray, vectors: np.ndarray, batch: int = 65_536) -> None:
    for start in range(0, len(keys), batch):
        chunk = np.ascontiguousarray(vectors[start : start + batch], dtype=np.float32)
        index.add_with_ids(chunk, np.ascontiguousarray(keys[start : start + batch]))


def _ids(index: Any) -> set[int]:
    """Every id an IVF index holds, read from its inverted lists."""
    faiss = _faiss()
    invlists = index.invlists
    held: set[int] = set()
    for list_no in range(index.nlist):
        size = invlists.list_size(list_no)
        if size:
            ptr = invlists.get_ids(list_no)
            held.update(faiss.rev_swig_ptr(ptr, size).tolist())
    return held


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def ann_path(cache_dir: str | Path, model_name: str) -> Path:
    import hashlib

    digest = hashlib.sha256(model_name.encode()).hexdigest()[:16]
    return Path(cache_dir) / f"ann-{digest}.faiss"


class FileRows:
    """Rows of a 2-D float16 array stored uncompressed in an ``.npz``, read with pread.

    The vector cache holds every record's float16 vector; an answer needs a
    few dozen rows, so they stay on disk (page cache) instead of in memory.
    """

    def __init__(self, path: Path, member: str, row_of: np.ndarray) -> None:
        import struct
        import zipfile

        with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
            info = zf.getinfo(member + ".npy")
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{member} is compressed")
            fh.seek(info.header_offset)
            local = fh.read(30)
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            fh.seek(info.header_offset + 30 + name_len + extra_len)
            version = np.lib.format.read_magic(fh)
            shape, fortran, dtype = (
                np.lib.format.read_array_header_1_0(fh)
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0(fh)
            )
            self.offset = fh.tell()
        if len(shape) != 2 or fortran or dtype != np.float16:
            raise ValueError(f"{member}: expected a C-order 2-D float16 array")
        self.rows_held, self.dim = shape
        if len(row_of) and int(row_of.max()) >= self.rows_held:
            raise ValueError(f"{member}: holds {self.rows_held} rows, row {row_of.max()} wanted")
        self.row_of = row_of
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        import weakref

        weakref.finalize(self, os.close, self.fd)

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        size = 2 * self.dim
        out = np.empty((len(positions), self.dim), dtype=np.float32)
        for i, row in enumerate(self.row_of[positions].tolist()):
            data = os.pread(self.fd, size, self.offset + row * size)
            if len(data) != size:
                raise OSError("the vector cache was truncated under us")
            out[i] = np.frombuffer(data, dtype=np.float16)
        return out


def ann_index(
    keys: np.ndarray,
    vectors: Any,
    dim: int,
    cache_dir: str | Path | None,
    model_name: str,
    rows: Callable[[np.ndarray], np.ndarray] | None = None,
) -> AnnIndex:
    """The ANN index for records with these ``keys``: the saved one updated in place
    (only changed records removed and added), else built; saved again when changed.
    ``vectors(rows)`` gives the float vectors of those rows of ``keys``."""
    path = ann_path(cache_dir, model_name) if cache_dir is not None else None
    loaded = AnnIndex.load(path, keys, dim) if path is not None else None
    if loaded is None:
        index = AnnIndex.build(keys, vectors(np.arange(len(keys))))
        changed = True
    else:
        saved, held = loaded
        wanted = set(keys.tolist())
        changed = held != wanted
        index = saved.updated(held, keys, vectors) if changed else saved
    if path is not None and changed:
        try:
            index.save(path)
        except OSError as exc:
            log.warning("could not write the vector index %s: %s", path, exc)
    index.rows = rows
    return index
