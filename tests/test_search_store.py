"""The index cache: keyed by the knowledge digest, never trusted when stale or damaged."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.search import store as cache
from bot.search.scorer import SparseBM25
from bot.search.store import RecordStore, RecordStoreBuilder, cache_path, load_cached, store

DIGEST = "ab" * 32
OTHER = "cd" * 32

RECORDS = [
    {
        "id": "jun-2023-factory",
        "claim": "Iran helps build a drone factory east of Moscow.",
        "source": {"excerpt": "In June, US intelligence said ..."},
        "entities": ["Iran", "Moscow"],
    },
    {
        "id": "feb-2023-talks",
        "claim": "Secret talks on a plant to produce ‘kamikaze’ drones.",
        "source": {"excerpt": "Western media again reported ..."},
        "entities": ["Iran", "Russia"],
    },
    {
        "id": "nov-2022-training",
        "claim": "Putin ordered training for drone specialists.",
        "source": {"excerpt": "Back in November 2022 ..."},
        "entities": ["Vladimir Putin"],
    },
]


def record_store(records: Iterable[dict[str, Any]]) -> RecordStore:
    builder = RecordStoreBuilder()
    for record in records:
        builder.add(record)
    return builder.build()


def tokens(record: dict) -> list[str]:
    return record["claim"].lower().replace(".", "").split()


def build() -> tuple[SparseBM25, RecordStore]:
    return SparseBM25.fit(tokens(r) for r in RECORDS), record_store(RECORDS)


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    index, records = build()
    return store(tmp_path, DIGEST, index, records, fingerprint="v1", meta={"aliases": [["a", "b"]]})


def test_round_trip(tmp_path: Path, stored: Path) -> None:
    assert stored == cache_path(tmp_path, DIGEST)
    for lazy in (True, False):
        cached = load_cached(tmp_path, DIGEST, fingerprint="v1", lazy=lazy)
        assert cached is not None
        assert cached.meta == {"aliases": [["a", "b"]]}
        assert len(cached.records) == len(cached.index) == 3
        assert [cached.records[i] for i in range(3)] == RECORDS  # unicode intact
        assert cached.records[-1] == RECORDS[-1]
        assert cached.records.position("feb-2023-talks") == 1
        assert cached.records.position("nope") is None
        ids, _ = cached.index.top_k(["drone", "factory"], 3)
        assert ids[0] == 0
        with pytest.raises(IndexError):
            cached.records[3]


def test_missing_cache_is_none(tmp_path: Path) -> None:
    assert load_cached(tmp_path, DIGEST) is None
    assert load_cached(tmp_path / "not-there", DIGEST) is None


def test_changed_knowledge_base_misses(tmp_path: Path, stored: Path) -> None:
    assert load_cached(tmp_path, OTHER, fingerprint="v1") is None  # another digest, another file
    assert stored.exists()


def test_stale_fingerprint_is_rebuilt(tmp_path: Path, stored: Path) -> None:
    assert load_cached(tmp_path, DIGEST, fingerprint="v2") is None
    assert not stored.exists()  # deleted, so the rebuild replaces it


def test_stale_cache_is_noted_quietly_and_damage_loudly(
    tmp_path: Path, stored: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Another version's cache is routine after an upgrade: INFO, not WARNING.
    caplog.set_level("INFO", logger="bot.search.store")
    assert load_cached(tmp_path, DIGEST, fingerprint="v2") is None
    assert [r.levelname for r in caplog.records] == ["INFO"]
    caplog.clear()
    index, records = build()
    path = store(tmp_path, DIGEST, index, records, fingerprint="v1")
    path.write_bytes(path.read_bytes()[:-100])
    assert load_cached(tmp_path, DIGEST, fingerprint="v1") is None
    assert [r.levelname for r in caplog.records] == ["WARNING"]


def test_digest_inside_must_match_the_name(tmp_path: Path, stored: Path) -> None:
    """A file copied or renamed under another digest is stale, whatever its name says."""
    os.replace(stored, cache_path(tmp_path, OTHER))
    assert load_cached(tmp_path, OTHER, fingerprint="v1") is None


def _flip(path: Path, member: str) -> None:
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member + ".npy")
    raw = bytearray(path.read_bytes())
    raw[info.header_offset + 30 + len(info.filename) + info.file_size - 1] ^= 0x01
    path.write_bytes(bytes(raw))


def _set_header(path: Path, **updates) -> None:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    header = json.loads(arrays["cache_meta"].tobytes())
    header.update(updates)
    arrays["cache_meta"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:-100]), id="truncated"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(lambda p: _flip(p, "records.blob"), id="record-blob-bit-flip"),
        pytest.param(lambda p: _flip(p, "bm25.docs"), id="index-bit-flip"),
        pytest.param(lambda p: _flip(p, "records.offsets"), id="offsets-bit-flip"),
        pytest.param(lambda p: _set_header(p, version=cache.CACHE_VERSION + 1), id="wrong-version"),
        pytest.param(lambda p: _set_header(p, records=2), id="record-count"),
        pytest.param(lambda p: _set_header(p, kind="something else"), id="wrong-kind"),
    ],
)
@pytest.mark.parametrize("lazy", [True, False])
def test_damaged_cache_is_rebuilt(tmp_path: Path, stored: Path, damage, lazy: bool) -> None:
    damage(stored)
    assert load_cached(tmp_path, DIGEST, fingerprint="v1", lazy=lazy) is None
    assert not stored.exists()
    built = []

    def rebuild() -> tuple[SparseBM25, RecordStore]:
        built.append(True)
        return build()

    store(tmp_path, DIGEST, *rebuild(), fingerprint="v1")
    cached = load_cached(tmp_path, DIGEST, fingerprint="v1")
    assert built and cached is not None and cached.records[0] == RECORDS[0]


def test_write_is_atomic(tmp_path: Path, stored: Path, monkeypatch) -> None:
    """A writer dying mid-write leaves the old cache whole and no temporary file."""
    before = stored.read_bytes()

    def dies(fh, arrays):
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(cache, "_savez", dies)
    index, records = build()
    with pytest.raises(OSError, match="disk full"):
        store(tmp_path, DIGEST, index, records, fingerprint="v1")
    assert stored.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [stored.name]
    assert load_cached(tmp_path, DIGEST, fingerprint="v1") is not None


def test_old_caches_are_pruned(tmp_path: Path) -> None:
    index, records = build()
    digests = [f"{i:02x}" * 32 for i in range(5)]
    for i, digest in enumerate(digests):
        path = store(tmp_path, digest, index, records, keep=2)
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    assert sorted(p.name for p in tmp_path.glob("index-*.npz")) == [
        cache_path(tmp_path, d).name for d in digests[-2:]
    ]


def test_lazy_records_survive_replacement(tmp_path: Path, stored: Path) -> None:
    """An index in use keeps answering when a rebuild replaces (or deletes) its file."""
    cached = load_cached(tmp_path, DIGEST, fingerprint="v1")
    assert cached is not None
    index, _ = build()
    store(
        tmp_path,
        DIGEST,
        index,
        record_store([{"id": f"r{i}"} for i in range(3)]),
        fingerprint="v1",
    )
    assert cached.records[1] == RECORDS[1]
    stored.unlink()
    assert cached.records[2] == RECORDS[2]


def test_a_file_replaced_while_it_loads_is_read_whole_from_the_old_one(
    tmp_path: Path, stored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process may replace the cache file between its header and its records
    being read: the records still come from the file whose header was read."""
    real = cache._verify_member

    def replaced_meanwhile(zf: zipfile.ZipFile, name: str) -> None:
        real(zf, name)
        index, _ = build()
        other = record_store([{"id": f"r{i}", "claim": "x" * 50} for i in range(3)])
        store(tmp_path, DIGEST, index, other, fingerprint="v1")

    for load in (
        lambda: load_cached(tmp_path, DIGEST, fingerprint="v1"),
        lambda: cache.load_raw(stored, "v1"),
    ):
        monkeypatch.setattr(cache, "_verify_member", real)
        store(tmp_path, DIGEST, *build(), fingerprint="v1")  # the original again
        monkeypatch.setattr(cache, "_verify_member", replaced_meanwhile)
        loaded = load()
        assert loaded is not None
        assert [loaded.records[i] for i in range(3)] == RECORDS


def test_bad_digest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        cache_path(tmp_path, "../../etc/passwd")


def test_store_checks_sizes(tmp_path: Path) -> None:
    index, _ = build()
    with pytest.raises(ValueError):
        store(tmp_path, DIGEST, index, record_store(RECORDS[:2]))


def test_record_store_streams_and_is_lazy() -> None:
    records = record_store({"id": f"r{i}", "n": i} for i in range(1000))
    assert len(records) == 1000
    assert records[999] == {"id": "r999", "n": 999}
    assert records.record_id(5) == "r5"
    assert records.position("r500") == 500
    assert json.loads(records.raw(3)) == {"id": "r3", "n": 3}


def test_the_cache_keeps_each_records_content_key(
    tmp_path: Path, stored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = load_cached(tmp_path, DIGEST, fingerprint="v1")
    assert cached is not None
    expected = [cache.content_key(cached.records.raw(i)) for i in range(3)]
    # Read from the file, not hashed again: a reload with vectors reads no record.
    monkeypatch.setattr(cache, "content_key", lambda raw: pytest.fail("hashed again"))
    assert [bytes(k) for k in cached.records.content_keys()] == expected
    spliced = cache.splice([(cached.records, 2, 3), (cached.records, 0, 1)])
    assert [bytes(k) for k in spliced.content_keys()] == [expected[2], expected[0]]
    assert [spliced[i]["id"] for i in range(2)] == [RECORDS[2]["id"], RECORDS[0]["id"]]


def test_parts_read_as_one_blob_across_their_boundaries() -> None:
    rng = np.random.default_rng(5)
    pieces = [rng.integers(0, 256, size, dtype=np.uint8) for size in (7, 0, 1, 30, 5)]
    parts = cache.Parts(pieces)
    joined = np.concatenate(pieces)
    assert len(parts) == len(joined) == parts.nbytes
    for start in range(len(joined) + 1):
        for stop in range(start, min(start + 12, len(joined)) + 1):
            assert parts.read(start, stop) == joined[start:stop].tobytes()
    assert np.array_equal(parts.joined(), joined)
    with pytest.raises(cache.CacheError):
        cache.Parts([np.zeros(3, dtype=np.int32)])


def test_records_in_parts_are_written_unjoined_and_load_the_same(tmp_path: Path) -> None:
    """A merged store keeps its segments' blobs as Parts; the cache written from them
    is an ordinary .npz (np.load reads it, every CRC checks) with the same records."""
    index, records = build()
    records.content_keys(), records.id_hashes()  # as segments carry them
    arrays = records.to_arrays("")
    blob, offsets = arrays["blob"], arrays["offsets"]
    cut = int(offsets[1]) + 3  # inside the second record
    arrays["blob"] = cache.Parts([blob[:cut], blob[cut:]])
    parted = RecordStore.from_arrays(arrays, "")
    assert [parted.raw(i) for i in range(len(parted))] == [
        records.raw(i) for i in range(len(records))
    ]
    path = store(tmp_path, DIGEST, index, parted, fingerprint="v1")
    assert isinstance(parted.blob_bytes(), cache.Parts)  # written without joining them
    with np.load(path, allow_pickle=False) as npz:
        assert np.array_equal(npz["records.blob"], blob)
    loaded = load_cached(tmp_path, DIGEST, fingerprint="v1")
    assert loaded is not None
    assert [loaded.records.raw(i) for i in range(len(records))] == [
        records.raw(i) for i in range(len(records))
    ]
    reopened = cache.reopen_records(path, parted)
    assert [reopened.raw(i) for i in range(len(records))] == [
        records.raw(i) for i in range(len(records))
    ]


def test_cache_files_hold_what_np_savez_would_write() -> None:
    """atomic_savez writes np.savez's layout itself (for Parts): entry by entry the
    same bytes, for contiguous, strided, 0-d and empty arrays alike."""
    import io

    arrays = {
        "ints": np.arange(10, dtype=np.int64),
        "matrix": np.zeros((3, 4), dtype=np.float32),
        "scalar": np.array(5),
        "strided": np.arange(20)[::2],
        "bytes": np.frombuffer(b"xyz", dtype=np.uint8),
        "empty": np.empty(0, dtype=np.int32),
    }
    ours, numpy_s = io.BytesIO(), io.BytesIO()
    cache._savez(ours, arrays)
    np.savez(numpy_s, **arrays)  # type: ignore[arg-type]
    with zipfile.ZipFile(ours) as a, zipfile.ZipFile(numpy_s) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
