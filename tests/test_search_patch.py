"""bot/search/patch.py: a reload patches the previous cache with the changed files alone.

The patched index must hold what a full rebuild holds — per term the same
postings and frequencies, the same record lengths, records and links — and so
score every question bit for bit alike; only the vocabulary's internal order
may differ. Patching serves knowledge bases too large for spelling words
(SPELLING_MAX_RECORDS), lowered here so a few hundred records exercise it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import generate
from bot.errors import KnowledgeError
from bot.knowledge import load
from bot.knowledge.loader import file_digest
from bot.search import Index, patch, segments, spelling, store
from bot.search.build import FINGERPRINT, BuildReport, open_index
from tests.records import write_records
from tests.test_search_build import QUESTIONS, edit_one_word, generated


@pytest.fixture(autouse=True)
def no_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spelling words off above 50 records: these bases are 'large'."""
    for module in (spelling, segments, patch):
        monkeypatch.setattr(module, "SPELLING_MAX_RECORDS", 50)


def write(folder: Path, records: list[dict[str, Any]], sizes: list[int]) -> None:
    start = 0
    for i, size in enumerate(sizes):
        write_records(folder, records[start : start + size], name=f"part-{i}.yaml")
        start += size


def linked(n: int) -> list[dict[str, Any]]:
    """Generated records whose denials name the next record, as the benchmark writes them."""
    records = list(generate.records(n, seed=5))
    for record, following in zip(records, [*records[1:], None], strict=True):
        if "denied_by" in record:
            if following is None:
                del record["denied_by"]
            else:
                record["denied_by"] = [following["id"]]
    return records


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three record files of 100 linked generated records each (denials across files)."""
    kb = tmp_path / "kb"
    write(kb, linked(300), [100, 100, 100])
    return kb


def per_term(index: Index) -> tuple[dict[str, tuple[list[int], list[int]]], list[int]]:
    """Each term's (records, term frequencies), and the record lengths: the index's content
    independent of the order its vocabulary was numbered in."""
    arrays = index.scorer.to_arrays()
    terms = arrays["terms"].tobytes().decode("utf-8").split("\0")
    indptr, docs, tf = arrays["indptr"], arrays["docs"], arrays["tf"]
    postings = {
        term: (docs[lo:hi].tolist(), tf[lo:hi].tolist())
        for term, lo, hi in zip(terms, indptr[:-1], indptr[1:], strict=True)
    }
    return postings, arrays["doc_len"].tolist()


def assert_same(patched: Index, full: Index) -> None:
    assert per_term(patched) == per_term(full)
    assert patched.scorer.to_arrays()["tf"].dtype == full.scorer.to_arrays()["tf"].dtype
    records = patched.knowledge.records
    assert [records[i] for i in range(len(records))] == list(full.knowledge.records)
    for record in full.knowledge.records:
        assert patched.knowledge.by_id[record.id] == record
    for question in QUESTIONS:
        terms = full.question_terms(question)
        assert np.array_equal(patched.scorer.get_scores(terms), full.scorer.get_scores(terms))
        ours, theirs = patched.scorer.top_k(terms, 10), full.scorer.top_k(terms, 10)
        assert ours[0].tolist() == theirs[0].tolist() and ours[1].tolist() == theirs[1].tolist()
        a, b = patched.search(question), full.search(question)
        assert [(h.position, h.score, h.coverage) for h in a] == [
            (h.position, h.score, h.coverage) for h in b
        ], question


def reopen(folder: Path, cache: Path) -> tuple[Index, BuildReport]:
    report = BuildReport()
    return open_index(folder, cache, report=report, workers=1), report


def test_one_changed_file_patches_the_cache_and_equals_a_rebuild(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    assert reopen(folder, cache)[1].path == "segments"
    edit_one_word(folder / "part-1.yaml")
    analysed: list[int] = []
    loaded: list[str] = []
    real_analyse, real_load = segments.analyse, segments.load
    monkeypatch.setattr(
        segments, "analyse", lambda rs, *a: analysed.append(len(rs)) or real_analyse(rs, *a)
    )
    monkeypatch.setattr(segments, "load", lambda c, k: loaded.append(k) or real_load(c, k))
    index, report = reopen(folder, cache)
    assert report.path == "patch"
    assert report.built == [str(folder / "part-1.yaml")]
    assert report.reused == [str(folder / "part-0.yaml"), str(folder / "part-2.yaml")]
    assert analysed == [100]
    assert len(loaded) == 2 and len(set(loaded)) == 1  # the changed file's segment alone
    assert_same(index, Index.build(load(folder)))
    # The patched cache is a cache like any other: a restart serves it whole.
    again, report = reopen(folder, cache)
    assert report.path == "cache"
    assert_same(again, Index.build(load(folder)))


def test_records_added_removed_and_files_added_and_deleted(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    reopen(folder, cache)
    records = linked(400)
    # part-1 loses 30 records and gains 5 others; a new file between; part-2 is deleted;
    # a new last file: positions shift everywhere after part-0.
    (folder / "part-2.yaml").unlink()
    for record in records[100:400]:
        record.pop("denied_by", None)
    for name, chunk in (
        ("part-1.yaml", records[100:170] + records[300:305]),
        ("part-1b.yaml", records[305:340]),
        ("part-3.yaml", records[340:400]),
    ):
        write_records(folder, chunk, name=name)
    index, report = reopen(folder, cache)
    assert report.path == "patch"
    assert report.reused == [str(folder / "part-0.yaml")]
    assert len(index) == 100 + 75 + 35 + 60
    assert_same(index, Index.build(load(folder)))


def test_a_patched_cache_is_patched_again(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    reopen(folder, cache)
    records = linked(300)
    for n, part in enumerate((2, 0, 2)):
        records[part * 100 + n]["claim"] += f" Edit {n}."
        write(folder, records, [100, 100, 100])
        index, report = reopen(folder, cache)
        assert report.path == "patch" and report.built == [str(folder / f"part-{part}.yaml")]
        assert_same(index, Index.build(load(folder)))


def test_problems_after_a_patch_are_reported_as_load_reports_them(
    folder: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    base = reopen(folder, cache)[0]
    # A record of part-2 takes the id of a record kept in part-0.
    path = folder / "part-2.yaml"
    taken, mine = base.knowledge.records[3].id, base.knowledge.records[250].id
    path.write_text(path.read_text().replace(f"id: {mine}\n", f"id: {taken}\n", 1))
    with pytest.raises(KnowledgeError) as patched:
        reopen(folder, cache)
    with pytest.raises(KnowledgeError) as loaded:
        load(folder)
    assert [str(p) for p in patched.value.problems] == [str(p) for p in loaded.value.problems]
    assert "duplicate id" in str(patched.value.problems[0])


def test_a_link_into_a_removed_record_is_reported(tmp_path: Path) -> None:
    records = generated(120)
    records[5]["denied_by"] = [records[110]["id"]]  # part-0 → part-1
    kb = tmp_path / "kb"
    write(kb, records, [60, 60])
    cache = tmp_path / "cache"
    assert reopen(kb, cache)[0].knowledge.by_id[records[5]["id"]].denied_by == [records[110]["id"]]
    write_records(kb, records[60:110] + records[111:], name="part-1.yaml")  # 110 is gone
    with pytest.raises(KnowledgeError) as info:
        reopen(kb, cache)
    assert "links to unknown record id" in str(info.value.problems[0])
    records[100]["claim"] += " Reported again."
    write_records(kb, records[60:], name="part-1.yaml")  # 110 is back: patched, valid
    index, report = reopen(kb, cache)
    assert report.path == "patch"
    assert_same(index, Index.build(load(kb)))


def test_reordered_files_merge_every_segment_instead(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    reopen(folder, cache)
    (folder / "part-0.yaml").rename(folder / "part-9.yaml")  # now last: not monotone
    index, report = reopen(folder, cache)
    assert report.path == "segments" and not report.built
    assert_same(index, Index.build(load(folder)))


def test_a_small_base_merges_and_keeps_its_spelling_words(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (spelling, segments, patch):
        monkeypatch.setattr(module, "SPELLING_MAX_RECORDS", 50_000)
    cache = tmp_path / "cache"
    reopen(folder, cache)
    edit_one_word(folder / "part-1.yaml")
    index, report = reopen(folder, cache)
    assert report.path == "segments"
    assert index.speller.words and index.speller.words == Index.build(load(folder)).speller.words


def test_a_damaged_base_costs_speed_not_answers(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    reopen(folder, cache)
    (old,) = cache.glob("index-*.npz")
    data = bytearray(old.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the record blob: its CRC no longer matches
    old.write_bytes(bytes(data))
    edit_one_word(folder / "part-1.yaml")
    index, report = reopen(folder, cache)
    assert report.path == "segments"
    assert_same(index, Index.build(load(folder)))


def test_the_cache_lists_its_files_and_links(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    index = reopen(folder, cache)[0]
    ((path, meta),) = store.headers(cache, FINGERPRINT)
    keys = [
        segments.segment_key(file_digest(p.read_bytes()), ()) for p in sorted(folder.glob("*.yaml"))
    ]
    assert meta[patch.FILES] == [[key, 100] for key in keys]
    raw = store.load_raw(path, FINGERPRINT)
    ids = [record.id for record in index.knowledge.records]
    assert raw.records.id_hashes().tolist() == store.id_hashes(ids).tolist()
    assert "records.id_hashes" in raw.records.to_arrays()  # read from the file, not hashed
    sources = raw.extra["links.from"].tolist()
    linked = [
        (i, target)
        for i, record in enumerate(index.knowledge.records)
        for _, target in record.links()
    ]
    assert linked and sorted(zip(sources, patch._links_from(raw.extra)[1], strict=True)) == sorted(
        linked
    )


def test_ids_are_found_by_hash_and_confirmed_by_the_id(monkeypatch: pytest.MonkeyPatch) -> None:
    def records(*ids: str) -> store.RecordStore:
        builder = store.RecordStoreBuilder()
        for record_id in ids:
            builder.add({"id": record_id})
        return builder.build()

    assert records("a-1", "b-2", "c-3").positions(["c-3", "a-1", "zz"]) == [2, 0, None]
    assert not records("a-1", "b-2", "c-3", "b-2").ids_unique()
    # Every id hashing alike: still exact, by comparing the ids themselves.
    monkeypatch.setattr(store, "id_hashes", lambda ids: np.zeros(len(list(ids)), dtype="<u8"))
    colliding = records("a-1", "b-2", "c-3")
    assert colliding.positions(["c-3", "a-1", "zz"]) == [2, 0, None]
    assert colliding.ids_unique()
    assert not records("a-1", "b-2", "a-1").ids_unique()
