r"""On-disk cache of the search index and the records, keyed by the knowledge base's digest.

Why: at 100k records, parsing the YAML and analysing every record takes
minutes; loading this cache takes a fraction of a second. One file per
knowledge-base digest (``index-<digest>.npz``, an uncompressed ``.npz``: numpy
arrays only, read with ``allow_pickle=False``) holds

- the :class:`~bot.search.scorer.SparseBM25` statistics (``bm25.*`` arrays),
- every record as compact JSON in one UTF-8 blob plus int64 offsets
  (``records.*``), decoded one record at a time when an answer cites it,
- ``cache_meta``: format version, digest, the caller's fingerprint and meta.

Never trusted: a missing, truncated, corrupt (zip CRC-32 checked on every
array), wrong-version, wrong-digest or wrong-fingerprint file, or one whose
arrays do not add up, makes :func:`load_cached` log why, delete it and return
None, so the caller rebuilds. Writes go to a temporary file in the same folder,
then ``os.replace``: readers see the old file or the new one, never half a file
(not fsync'd: a file a power cut tore fails its CRC and is rebuilt).

:func:`bot.search.build.open_index` is its one user: it looks the digest
up with :func:`load_cached`, and on a miss builds the index, :func:`store`\ s it
and reopens it so the record blob stays on disk. ``FINGERPRINT`` there names
everything else the index depends on (analyzer version, field weights,
k1/b/delta): change it and old caches are rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import re
import struct
import tempfile
import time
import weakref
import zipfile
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import CacheError, StaleCacheError
from bot.search.scorer import SparseBM25

__all__ = [
    "CACHE_VERSION",
    "CacheError",
    "Cached",
    "Raw",
    "RecordStore",
    "RecordStoreBuilder",
    "StaleCacheError",
    "cache_path",
    "compact_json",
    "content_key",
    "headers",
    "id_hashes",
    "load_cached",
    "load_raw",
    "splice",
    "store",
]

log = logging.getLogger(__name__)


def content_key(record_json: bytes) -> bytes:
    """A record's content key (16 bytes of blake2b over its stored JSON): cached vectors
    are reused while it is unchanged."""
    return hashlib.blake2b(record_json, digest_size=16).digest()


def id_hashes(ids: Iterable[str]) -> np.ndarray:
    """64-bit hashes (blake2b) of record ids, in order: records are found by id through
    them, confirmed by the id itself, instead of through a dict of every id (1-2 s
    and ~100 MB at a million records)."""
    joined = b"".join(hashlib.blake2b(i.encode("utf-8"), digest_size=8).digest() for i in ids)
    return np.frombuffer(joined, dtype="<u8")


class _IdTable:
    """Records found by id through their sorted id hashes, every hit confirmed against the
    id itself (so a hash collision can cost a comparison, never a wrong answer)."""

    def __init__(self, records: RecordStore, hashes: np.ndarray) -> None:
        self._records = records
        self._order = np.argsort(hashes, kind="stable")
        self._sorted = hashes[self._order]

    def positions(self, ids: Sequence[str]) -> list[int | None]:
        wanted = id_hashes(ids)
        first = np.searchsorted(self._sorted, wanted, "left").tolist()
        end = np.searchsorted(self._sorted, wanted, "right").tolist()
        found: list[int | None] = []
        for record_id, lo, hi in zip(ids, first, end, strict=True):
            hits = (int(p) for p in self._order[lo:hi].tolist())
            found.append(next((p for p in hits if self._records.record_id(p) == record_id), None))
        return found

    def unique(self) -> bool:
        """Whether no two records share an id (only equal hashes are compared as ids)."""
        same = np.flatnonzero(self._sorted[1:] == self._sorted[:-1])
        for start in np.unique(np.searchsorted(self._sorted, self._sorted[same])).tolist():
            stop = int(np.searchsorted(self._sorted, self._sorted[start], "right"))
            ids = [self._records.record_id(int(p)) for p in self._order[start:stop].tolist()]
            if len(set(ids)) != len(ids):
                return False
        return True


def compact_json(value: Any) -> bytes:
    """One JSON text in UTF-8, no spaces: equal values give equal bytes (records, diffs)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


#: Bumped whenever the cache layout changes (the index has its own version too).
CACHE_VERSION = 1
_KIND = "claimbot.index-cache"
_PREFIX, _SUFFIX = "index-", ".npz"
_DIGEST = re.compile(r"^[0-9a-f]{16,128}$")
#: Temporary files older than this are left-overs of a crashed writer.
_STALE_TEMP_SECONDS = 3600


class _FileBytes:
    """A byte range of a file, read on demand with ``os.pread`` (thread-safe, no seek).

    Reads come from the page cache and never count as this process's memory
    (a memory map would: readahead maps neighbouring pages into its RSS). The
    descriptor stays open, so the bytes survive the file's replacement or
    deletion by a newer cache.
    """

    def __init__(self, fd: int, offset: int, length: int) -> None:
        """``fd``: a descriptor of the file, owned (closed) by this object from now on."""
        self.offset, self.length = offset, length
        self.fd = fd
        weakref.finalize(self, os.close, self.fd)

    def __len__(self) -> int:
        return self.length

    def read(self, start: int, stop: int) -> bytes:
        data = os.pread(self.fd, stop - start, self.offset + start)
        if len(data) != stop - start:
            raise CacheError("the cache file was truncated under us")
        return data

    def read_into(self, start: int, out: memoryview) -> None:
        """Fill ``out`` from byte ``start`` on: one copy, for large ranges."""
        done = 0
        while done < len(out):
            got = os.preadv(self.fd, [out[done:]], self.offset + start + done)
            if got <= 0:
                raise CacheError("the cache file was truncated under us")
            done += got


class Parts:
    """Byte arrays read as one blob, never joined: the merged records of many segments
    (800 MB at a million records), written into the index cache part by part."""

    def __init__(self, parts: Sequence[np.ndarray]) -> None:
        self.parts = [np.asarray(p) for p in parts]
        if any(p.dtype != np.uint8 or p.ndim != 1 for p in self.parts):
            raise CacheError("blob parts must be 1-D uint8 arrays")
        self.starts = np.zeros(len(self.parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in self.parts], out=self.starts[1:])

    def __len__(self) -> int:
        return int(self.starts[-1])

    @property
    def nbytes(self) -> int:
        return len(self)

    def read(self, start: int, stop: int) -> bytes:
        out = np.empty(max(stop - start, 0), dtype=np.uint8)
        self.read_into(start, out)
        return out.tobytes()

    def read_into(self, start: int, out: np.ndarray) -> None:
        """Fill the uint8 array ``out`` from byte ``start`` on."""
        at, done = int(np.searchsorted(self.starts, start, "right")) - 1, 0
        while done < len(out):
            part = self.parts[at]
            lo = start + done - int(self.starts[at])
            take = min(len(part) - lo, len(out) - done)
            out[done : done + take] = part[lo : lo + take]
            done, at = done + take, at + 1

    def joined(self) -> np.ndarray:
        return np.concatenate(self.parts, dtype=np.uint8) if self.parts else np.empty(0, np.uint8)


class _StringTable:
    """Many strings as one UTF-8 blob plus int64 offsets: two arrays instead of objects.

    The blob is a uint8 array in memory, a :class:`_FileBytes` left on disk, or
    :class:`Parts` (segments' blobs, not joined).
    """

    def __init__(self, blob: np.ndarray | _FileBytes | Parts, offsets: np.ndarray) -> None:
        self.blob, self.offsets = blob, offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def raw(self, i: int) -> bytes:
        start, stop = int(self.offsets[i]), int(self.offsets[i + 1])
        if isinstance(self.blob, _FileBytes | Parts):
            return self.blob.read(start, stop)
        return self.blob[start:stop].tobytes()

    def copy_into(self, start: int, stop: int, out: np.ndarray) -> None:
        """Copy blob bytes ``[start, stop)`` into the uint8 array ``out`` (from disk or memory)."""
        if isinstance(self.blob, _FileBytes):
            self.blob.read_into(start, memoryview(out.data).cast("B"))
        elif isinstance(self.blob, Parts):
            self.blob.read_into(start, out)
        else:
            out[:] = self.blob[start:stop]

    def whole(self) -> np.ndarray:
        """The blob as a read-only uint8 array (read from disk when left there)."""
        if isinstance(self.blob, _FileBytes):
            return np.frombuffer(self.blob.read(0, len(self.blob)), dtype=np.uint8)
        if isinstance(self.blob, Parts):
            self.blob = self.blob.joined()  # asked for whole once, kept whole
        view = self.blob.view()
        view.flags.writeable = False
        return view

    @property
    def nbytes(self) -> int:
        """Bytes held in memory."""
        blob = 0 if isinstance(self.blob, _FileBytes) else self.blob.nbytes
        return blob + self.offsets.nbytes

    def validate(self, name: str) -> None:
        """Raise CacheError unless the offsets slice the blob exactly, in order."""
        offsets = self.offsets
        if not isinstance(self.blob, _FileBytes | Parts) and (
            self.blob.dtype != np.uint8 or self.blob.ndim != 1
        ):
            raise CacheError(f"{name}: blob must be a 1-D uint8 array")
        if offsets.dtype != np.int64 or offsets.ndim != 1 or not len(offsets):
            raise CacheError(f"{name}: offsets must be a non-empty 1-D int64 array")
        if offsets[0] != 0 or offsets[-1] != len(self.blob) or np.any(np.diff(offsets) < 0):
            raise CacheError(f"{name}: offsets do not slice the blob")


class RecordStoreBuilder:
    """Collects records as compact JSON into one growing buffer (no per-record objects)."""

    def __init__(self) -> None:
        self._blob, self._ends = bytearray(), array("q", [0])
        self._ids, self._id_ends = bytearray(), array("q", [0])

    def add(self, record: Mapping[str, Any]) -> None:
        """Add a JSON-able record (e.g. ``Record.model_dump(mode="json", exclude_none=True)``)."""
        self.add_json(compact_json(record), str(record.get("id", "")))

    def add_json(self, line: bytes, record_id: str) -> None:
        """Add a record already encoded as one JSON object in UTF-8."""
        self._blob += line
        self._ends.append(len(self._blob))
        self._ids += record_id.encode("utf-8")
        self._id_ends.append(len(self._ids))

    def __len__(self) -> int:
        return len(self._ends) - 1

    def build(self) -> RecordStore:
        """The store; it shares this builder's buffers, so add nothing afterwards."""
        return RecordStore(
            _StringTable(
                np.frombuffer(self._blob, dtype=np.uint8), np.frombuffer(self._ends, dtype=np.int64)
            ),
            _StringTable(
                np.frombuffer(self._ids, dtype=np.uint8),
                np.frombuffer(self._id_ends, dtype=np.int64),
            ),
        )


class RecordStore(Sequence[dict[str, Any]]):
    """Records as compact JSON in one blob, decoded only when asked for (lazy).

    ``store[i]`` decodes record i (a few microseconds), so an answer costs
    the records it cites, not the knowledge base. Loaded from the cache the
    blob stays in the file and each record is one ``pread`` from the page
    cache. ``position(record_id)`` maps ids to positions (built on first use).
    """

    def __init__(
        self,
        records: _StringTable,
        ids: _StringTable,
        keys: np.ndarray | None = None,
        id_hashes: np.ndarray | None = None,
    ) -> None:
        if len(records) != len(ids):
            raise CacheError("record store: as many ids as records expected")
        if keys is not None and (keys.dtype != np.uint8 or keys.shape != (len(records), 16)):
            raise CacheError("record store: content keys must be 16 bytes a record")
        if id_hashes is not None and (
            id_hashes.dtype != np.dtype("<u8") or id_hashes.shape != (len(records),)
        ):
            raise CacheError("record store: id hashes must be 8 bytes a record")
        self._records, self._ids = records, ids
        self._keys = keys
        self._id_hashes = id_hashes
        self._table: _IdTable | None = None

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, i: int) -> dict[str, Any]:  # type: ignore[override]
        if not isinstance(i, int | np.integer):
            raise TypeError("RecordStore indices must be integers")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"record {i} out of range ({n} records)")
        record: dict[str, Any] = json.loads(self._records.raw(int(i) % n))
        return record

    def raw(self, i: int) -> bytes:
        """Record i's JSON text, undecoded."""
        return self._records.raw(i)

    def record_id(self, i: int) -> str:
        return self._ids.raw(i).decode("utf-8")

    def position(self, record_id: str) -> int | None:
        """The position of the record with this id, or None."""
        return self.positions([record_id])[0]

    def positions(self, record_ids: Sequence[str]) -> list[int | None]:
        """Each id's record position, or None; through the sorted id hashes (built on
        first use: a sort of 8-byte hashes, not a dict of every id)."""
        return self._id_table().positions(record_ids)

    def ids_unique(self) -> bool:
        """Whether no two records share an id."""
        return self._id_table().unique()

    def id_hashes(self) -> np.ndarray:
        """Every record's :func:`id_hash`, in order (kept in the index cache)."""
        if self._id_hashes is None:
            self._id_hashes = id_hashes(self.record_id(i) for i in range(len(self)))
        return self._id_hashes

    def _id_table(self) -> _IdTable:
        if self._table is None:
            self._table = _IdTable(self, self.id_hashes())
        return self._table

    @property
    def blob(self) -> np.ndarray:
        """Every record's JSON, back to back (read-only; e.g. to hash)."""
        return self._records.whole()

    def blob_bytes(self) -> _FileBytes | np.ndarray | Parts:
        """The blob as held: in memory, or the byte range left on disk (not read)."""
        return self._records.blob

    def _writable_arrays(self, prefix: str) -> dict[str, np.ndarray | Parts]:
        """:meth:`to_arrays`, the records' blob as held (:class:`Parts` are not joined)."""
        blob = self._records.blob
        held = blob if isinstance(blob, Parts) else self._records.whole()
        return {prefix + "blob": held, **self.to_arrays_without_blob(prefix)}

    def to_arrays_without_blob(self, prefix: str = "records.") -> dict[str, np.ndarray]:
        """Every array of :meth:`to_arrays` but the records' blob."""
        arrays = {
            prefix + "offsets": self._records.offsets,
            prefix + "ids_blob": self._ids.whole(),
            prefix + "ids_offsets": self._ids.offsets,
        }
        if self._keys is not None:
            arrays[prefix + "keys"] = self._keys
        if self._id_hashes is not None:
            arrays[prefix + "id_hashes"] = self._id_hashes
        return arrays

    @property
    def nbytes(self) -> int:
        """Bytes held in memory (a blob left on disk does not count)."""
        return self._records.nbytes + self._ids.nbytes

    def content_keys(self) -> np.ndarray:
        """Every record's :func:`content_key`, as an (n, 16) uint8 array: what the vector
        cache is keyed by. Kept in the index cache, so a restart or reload does not
        read and hash every record again; computed (one read of the blob) otherwise."""
        if self._keys is None:
            blob = self._records.whole().tobytes()
            bounds = self._records.offsets.tolist()
            joined = b"".join(content_key(blob[a:z]) for a, z in pairwise(bounds))
            self._keys = np.frombuffer(joined, dtype=np.uint8).reshape(len(self), 16)
        return self._keys

    def with_hashes(self, keys: np.ndarray, hashes: np.ndarray) -> RecordStore:
        """The same records with their :meth:`content_keys` and :meth:`id_hashes` given
        (computed where the records were built)."""
        return RecordStore(self._records, self._ids, keys, hashes)

    def to_arrays(self, prefix: str = "records.") -> dict[str, np.ndarray]:
        """The store's arrays (the records' blob joined when held in :class:`Parts`)."""
        return {prefix + "blob": self._records.whole(), **self.to_arrays_without_blob(prefix)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str = "records.") -> RecordStore:
        """Rebuild from :meth:`to_arrays` output; raises CacheError when inconsistent."""
        try:
            records = _StringTable(arrays[prefix + "blob"], arrays[prefix + "offsets"])
            ids = _StringTable(arrays[prefix + "ids_blob"], arrays[prefix + "ids_offsets"])
        except KeyError as exc:
            raise CacheError(f"record store array {exc} is missing") from None
        records.validate("records")
        ids.validate("record ids")
        keys, hashes = arrays.get(prefix + "keys"), arrays.get(prefix + "id_hashes")
        return cls(
            records,
            ids,
            None if keys is None else np.asarray(keys),
            None if hashes is None else np.asarray(hashes),
        )


@dataclass(frozen=True)
class Cached:
    """What a cache file holds: the index, the records, and the caller's metadata."""

    index: SparseBM25
    records: RecordStore
    digest: str
    fingerprint: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def cache_path(cache_dir: str | Path, digest: str) -> Path:
    """Where the cache for a knowledge base with this digest lives."""
    if not _DIGEST.match(digest):
        raise ValueError(f"not a hex digest: {digest!r}")
    return Path(cache_dir) / f"{_PREFIX}{digest}{_SUFFIX}"


def store(
    cache_dir: str | Path,
    digest: str,
    index: SparseBM25,
    records: RecordStore,
    *,
    fingerprint: str = "",
    meta: Mapping[str, Any] | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
    keep: int = 3,
) -> Path:
    """Write the cache for ``digest`` atomically; keep only the ``keep`` newest cache files.

    ``meta`` must be JSON-serialisable (small things: aliases, settings);
    ``extra`` arrays are stored as ``extra.<name>`` (read back by :func:`load_raw`).
    """
    if len(records) != len(index):
        raise ValueError(f"{len(records)} records but the index has {len(index)}")
    path = cache_path(cache_dir, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "kind": _KIND,
        "version": CACHE_VERSION,
        "digest": digest,
        "fingerprint": fingerprint,
        "records": len(records),
        "meta": dict(meta or {}),
        "created": time.time(),
    }
    # Kept with the records, so a restart or a patch need not hash them again.
    records.content_keys()
    records.id_hashes()
    arrays = {
        "cache_meta": np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
        **index.to_arrays("bm25."),
        **records._writable_arrays("records."),
        **{f"extra.{name}": array for name, array in (extra or {}).items()},
    }
    atomic_savez(path, arrays)
    _prune(path.parent, keep=max(keep, 1), current=path)
    return path


def atomic_savez(path: Path, arrays: Mapping[str, np.ndarray | Parts]) -> None:
    """An ``.npz`` (as np.savez writes it) to a temporary sibling, then renamed over
    ``path``: readers see the old file or the new one, never half a file.

    :class:`Parts` are written part by part into one array's entry. No fsync: a
    cache is derived data, and every load checks each array's CRC-32, so a file
    torn by a power cut is rebuilt, never trusted; syncing a million records'
    cache took 2.2 s of a 1M-record reload.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            _savez(fh, arrays)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _savez(fh: Any, arrays: Mapping[str, np.ndarray | Parts]) -> None:
    """np.savez's layout: an uncompressed zip of one ``.npy`` entry per array."""
    with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, value in arrays.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as out:
                if isinstance(value, Parts):
                    header = {"descr": "|u1", "fortran_order": False, "shape": (len(value),)}
                    np.lib.format.write_array_header_1_0(out, header)
                    for part in value.parts:
                        out.write(np.ascontiguousarray(part).data)
                    continue
                array = np.asanyarray(value)
                if array.flags.c_contiguous and not array.dtype.hasobject:
                    # write_array would copy it out in 16 MB chunks; its memory as it is
                    np.lib.format.write_array_header_1_0(
                        out, np.lib.format.header_data_from_array_1_0(array)
                    )
                    out.write(array.data if array.ndim else array.tobytes())
                else:
                    np.lib.format.write_array(out, array, allow_pickle=False)


def _prune(cache_dir: Path, keep: int, current: Path) -> None:
    """Delete all but the ``keep`` newest cache files, and crashed writers' temporary files."""
    files = sorted(
        (p for p in cache_dir.glob(f"{_PREFIX}*{_SUFFIX}") if p != current),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in files[keep - 1 :]:
        with contextlib.suppress(OSError):
            old.unlink()
    now = time.time()
    for tmp in cache_dir.glob(f".{_PREFIX}*.tmp"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > _STALE_TEMP_SECONDS:
                tmp.unlink()


def load_cached(
    cache_dir: str | Path, digest: str, *, fingerprint: str = "", lazy: bool = True
) -> Cached | None:
    """The cache for ``digest``, or None when there is none or it cannot be trusted.

    An untrustworthy file is logged and deleted, so the next :func:`store`
    replaces it. With ``lazy`` the record blob stays on disk and records are
    read when cited (the blob is CRC-checked once, by streaming, on load);
    otherwise it is read into memory.
    """
    path = cache_path(cache_dir, digest)
    if not path.exists():
        return None
    try:
        return _read(path, digest, fingerprint, lazy)
    except Exception as exc:  # corrupt files fail in many ways: none of them is fatal
        reason = exc if isinstance(exc, CacheError) else f"{type(exc).__name__}: {exc}"
        # A cache from another version is expected after an upgrade; a damaged
        # one deserves a warning.
        level = logging.INFO if isinstance(exc, StaleCacheError) else logging.WARNING
        log.log(level, "ignoring index cache %s (%s); it will be rebuilt", path, reason)
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def _read(path: Path, digest: str, fingerprint: str, lazy: bool) -> Cached:
    with open(path, "rb") as opened, np.load(opened, allow_pickle=False) as npz:
        header = _header(npz, digest, fingerprint)
        names = set(npz.files)
        for name in names:
            if npz.zip.getinfo(name + ".npy").compress_type != zipfile.ZIP_STORED:
                raise CacheError(f"array {name!r} is compressed; caches are written uncompressed")
        index = SparseBM25.from_arrays(npz, "bm25.")
        arrays = {
            name: npz[name]
            for name in names
            if name.startswith("records.") and name != "records.blob"
        }
        if "records.blob" not in names:
            raise CacheError("record store array 'records.blob' is missing")
        if lazy:
            _verify_member(npz.zip, "records.blob")
            arrays["records.blob"] = _member_bytes(opened.fileno(), npz.zip, "records.blob")
        else:
            arrays["records.blob"] = npz["records.blob"]
    records = RecordStore.from_arrays(arrays)
    if len(records) != len(index) or len(records) != header.get("records"):
        raise CacheError(
            f"{len(records)} records, {len(index)} indexed, {header.get('records')} announced"
        )
    meta = header.get("meta")
    return Cached(index, records, digest, fingerprint, meta if isinstance(meta, dict) else {}, path)


@dataclass(frozen=True)
class Raw:
    """A cache file's arrays as stored, nothing derived from them: what patching an
    index needs (:mod:`bot.search.patch`), at a fraction of :func:`load_cached`'s cost."""

    path: Path
    meta: dict[str, Any]
    #: :meth:`SparseBM25.to_arrays` output, unprefixed ("meta", "terms", "indptr", ...).
    bm25: dict[str, np.ndarray]
    #: The records, their JSON left on disk (CRC-checked once).
    records: RecordStore
    #: What :func:`store` was given as ``extra``.
    extra: dict[str, np.ndarray]


def headers(cache_dir: str | Path, fingerprint: str) -> list[tuple[Path, dict[str, Any]]]:
    """(path, caller's meta) of every cache file written with ``fingerprint``, newest first.

    Only each file's small header is read; a file that cannot be read is skipped
    (:func:`load_cached` deals with damaged files).
    """
    found = []
    paths = sorted(
        Path(cache_dir).glob(f"{_PREFIX}*{_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for path in paths:
        try:
            with np.load(path, allow_pickle=False) as npz:
                header = json.loads(npz["cache_meta"].tobytes().decode("utf-8"))
        except Exception:  # any unreadable file is simply not a candidate
            continue
        if (
            isinstance(header, dict)
            and header.get("kind") == _KIND
            and header.get("version") == CACHE_VERSION
            and header.get("fingerprint") == fingerprint
            and isinstance(header.get("meta"), dict)
        ):
            found.append((path, header["meta"]))
    return found


def load_raw(path: Path, fingerprint: str) -> Raw:
    """A cache file's stored arrays (every one CRC-checked), without building an index.

    Raises CacheError (or OSError) when the file cannot be trusted.
    """
    with open(path, "rb") as opened, np.load(opened, allow_pickle=False) as npz:
        header = json.loads(npz["cache_meta"].tobytes().decode("utf-8"))
        if header.get("fingerprint") != fingerprint or header.get("version") != CACHE_VERSION:
            raise StaleCacheError("built with another fingerprint or version")
        names = set(npz.files)
        bm25 = {n.removeprefix("bm25."): npz[n] for n in names if n.startswith("bm25.")}
        extra = {n.removeprefix("extra."): npz[n] for n in names if n.startswith("extra.")}
        arrays = {n: npz[n] for n in names if n.startswith("records.") and n != "records.blob"}
        _verify_member(npz.zip, "records.blob")
        arrays["records.blob"] = _member_bytes(opened.fileno(), npz.zip, "records.blob")
    records = RecordStore.from_arrays(arrays)
    if len(records) != header.get("records"):
        raise CacheError(f"{len(records)} records, {header.get('records')} announced")
    meta = header.get("meta")
    return Raw(path, meta if isinstance(meta, dict) else {}, bm25, records, extra)


def splice(pieces: Sequence[tuple[RecordStore, int, int]]) -> RecordStore:
    """One in-memory store holding records ``[lo, hi)`` of each piece's store, in order.

    Adjacent ranges of one store are copied in one read (a patched index keeps
    long runs of the previous cache's records: one ``preadv`` each).
    """
    runs: list[list[Any]] = []
    for records, lo, hi in pieces:
        if runs and runs[-1][0] is records and runs[-1][2] == lo:
            runs[-1][2] = hi
        elif hi > lo:
            runs.append([records, lo, hi])
    tables = []
    for name in ("_records", "_ids"):
        parts = [(getattr(r, name), lo, hi) for r, lo, hi in runs]
        sizes = [int(t.offsets[hi] - t.offsets[lo]) for t, lo, hi in parts]
        blob = np.empty(sum(sizes), dtype=np.uint8)
        offsets = [np.zeros(1, dtype=np.int64)]
        at = 0
        for (table, lo, hi), size in zip(parts, sizes, strict=True):
            start = int(table.offsets[lo])
            table.copy_into(start, start + size, blob[at : at + size])
            offsets.append(table.offsets[lo + 1 : hi + 1] - start + at)
            at += size
        tables.append(_StringTable(blob, np.concatenate(offsets)))
    keys = [r.content_keys()[lo:hi] for r, lo, hi in runs]
    hashes = [r.id_hashes()[lo:hi] for r, lo, hi in runs]
    return RecordStore(
        tables[0],
        tables[1],
        np.concatenate(keys) if keys else np.zeros((0, 16), dtype=np.uint8),
        np.concatenate(hashes) if hashes else np.zeros(0, dtype="<u8"),
    )


def reopen_records(path: Path, records: RecordStore) -> RecordStore:
    """``records`` as just written into the cache file at ``path``, its blob left on disk.

    For the writer itself: the bytes are those it wrote a moment ago,
    so the blob is neither read back nor CRC-checked (a later :func:`load_cached`
    checks everything); the small offset arrays stay the in-memory ones.
    """
    with zipfile.ZipFile(path) as zf:
        blob = _member_bytes(path, zf, "records.blob")
    if len(blob) != len(records.blob_bytes()):
        raise CacheError("the cache file does not hold these records")
    arrays: dict[str, Any] = records.to_arrays_without_blob()
    arrays["records.blob"] = blob
    return RecordStore.from_arrays(arrays)


def _header(npz: Any, digest: str, fingerprint: str) -> dict[str, Any]:
    """The cache_meta record, checked against what the caller expects."""
    try:
        header = json.loads(npz["cache_meta"].tobytes().decode("utf-8"))
    except KeyError:
        raise CacheError("no cache_meta: not an index cache") from None
    if not isinstance(header, dict) or header.get("kind") != _KIND:
        raise CacheError("not an index cache")
    if header.get("version") != CACHE_VERSION:
        raise StaleCacheError(f"cache version {header.get('version')!r}, expected {CACHE_VERSION}")
    if header.get("digest") != digest:
        raise StaleCacheError("stale: built for another knowledge base digest")
    if header.get("fingerprint") != fingerprint:
        raise StaleCacheError(
            f"stale: built with fingerprint {header.get('fingerprint')!r}, expected {fingerprint!r}"
        )
    return header


def _verify_member(zf: zipfile.ZipFile, name: str) -> None:
    """Stream one array through zipfile, which checks its CRC-32 at the end."""
    with zf.open(name + ".npy") as member:
        while member.read(1 << 22):
            pass


def _member_bytes(source: Path | int, zf: zipfile.ZipFile, name: str) -> _FileBytes:
    """Where a stored (uncompressed) 1-D uint8 array's data lies inside the zip file.

    ``source``: the file, best as a descriptor of the very file ``zf`` read (the
    path may name a newer cache by now: another process may have replaced it).
    """
    info = zf.getinfo(name + ".npy")
    fd = (
        os.dup(source)
        if isinstance(source, int)
        else os.open(source, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    )
    try:
        return _locate(fd, info, name)
    except BaseException:
        os.close(fd)
        raise


def _locate(fd: int, info: zipfile.ZipInfo, name: str) -> _FileBytes:
    """Read with ``pread`` only: the descriptor's file offset is shared with its owner."""
    local = os.pread(fd, 30, info.header_offset)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise CacheError(f"array {name!r}: bad zip local header")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    head = io.BytesIO(os.pread(fd, 65536, start))  # an .npy header is far shorter
    version = np.lib.format.read_magic(head)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(head)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(head)
    offset = start + head.tell()
    if dtype != np.uint8 or len(shape) != 1 or fortran:
        raise CacheError(f"array {name!r}: expected a 1-D uint8 array")
    if offset - start + shape[0] != info.file_size:
        raise CacheError(f"array {name!r}: size does not match the zip entry")
    return _FileBytes(fd, offset, shape[0])
