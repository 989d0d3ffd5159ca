"""bot/search/segments.py: one record file validated and analysed, cached, merged."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from bot.knowledge import load
from bot.knowledge.loader import file_digest, read_record_file, record_files
from bot.search import segments
from bot.search.analysis import Analyzer
from bot.search.fields import document_terms
from bot.search.records import record_json
from bot.search.scorer import SparseBM25
from bot.search.spelling import spelling_words
from tests.records import built

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"


def shipped_segments() -> tuple[list[segments.Segment], tuple[tuple[str, ...], ...]]:
    kb = load(KNOWLEDGE)
    parts = []
    for path in record_files(KNOWLEDGE):
        if path.name == "aliases.yaml":
            continue
        loaded = read_record_file(path.read_bytes(), str(path))
        parts.append(segments.analyse([r for r, *_ in loaded.records], kb.aliases, "k"))
    return parts, kb.aliases


def test_merged_segments_equal_the_whole_knowledge_base() -> None:
    kb = load(KNOWLEDGE)
    parts, aliases = shipped_segments()
    analyzer = Analyzer(aliases)
    whole = SparseBM25.fit(document_terms(analyzer, r) for r in kb.records)
    merged = SparseBM25.from_counts(p.counts for p in parts)
    for name, array in whole.to_arrays().items():
        assert np.array_equal(array, merged.to_arrays()[name]), name
    records = segments.merge_records(parts)
    assert [records.raw(i) for i in range(len(records))] == [record_json(r) for r in kb.records]
    assert [records.record_id(i) for i in range(len(records))] == [r.id for r in kb.records]
    assert segments.merge_spelling(parts) == spelling_words(kb)
    assert segments.links_resolve(parts)


def test_segments_carry_content_keys_and_id_hashes_through_the_merge(tmp_path: Path) -> None:
    """Hashed where each file is analysed; the merge joins them, equal to hashing the whole."""
    from bot.search.store import RecordStore, content_key, id_hashes

    parts, _ = shipped_segments()
    for part in parts:
        segments.save(tmp_path, dataclasses.replace(part, key="ab" * 32))
        back = segments.load(tmp_path, "ab" * 32)
        assert back is not None
        assert np.array_equal(back.records.id_hashes(), part.records.id_hashes())
    merged = segments.merge_records(parts)
    arrays = merged.to_arrays("")
    assert "keys" in arrays and "id_hashes" in arrays  # joined, not recomputed
    n = len(merged)
    keys = [content_key(merged.raw(i)) for i in range(n)]
    assert [bytes(k) for k in merged.content_keys()] == keys
    assert np.array_equal(merged.id_hashes(), id_hashes(merged.record_id(i) for i in range(n)))
    # A segment cached before they were kept: the merge computes them for all.
    bare = RecordStore.from_arrays(
        {k: v for k, v in parts[0].records.to_arrays("").items() if k not in ("keys", "id_hashes")},
        "",
    )
    old = segments.Segment("k", bare, parts[0].counts, parts[0].links, parts[0].spelling)
    mixed = segments.merge_records([old, *parts[1:]])
    assert "keys" not in mixed.to_arrays("")
    assert [bytes(k) for k in mixed.content_keys()] == keys


def test_spelling_words_come_from_the_analysers_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    kb = load(KNOWLEDGE)
    monkeypatch.setattr("bot.search.analysis.MEMO_WORDS", 3)  # too many to remember
    part = segments.analyse(kb.records, kb.aliases)
    assert part.spelling == spelling_words(kb)


def test_segment_round_trips_through_its_file(tmp_path: Path) -> None:
    first = shipped_segments()[0][0]
    part = segments.Segment("ab" * 32, first.records, first.counts, first.links, first.spelling)
    segments.save(tmp_path, part)
    back = segments.load(tmp_path, part.key)
    assert back is not None
    assert back.records.blob.tobytes() == part.records.blob.tobytes()
    assert back.counts.terms == part.counts.terms
    for name in ("term_ids", "tf", "distinct", "lengths"):
        assert np.array_equal(getattr(back.counts, name), getattr(part.counts, name))
    assert back.links == part.links and back.spelling is not None and part.spelling is not None
    assert list(back.spelling) == list(part.spelling)


def test_damaged_segment_is_dropped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    part = segments.analyse([built("a-one"), built("b-two", denied_by=["a-one"])], (), "cd" * 32)
    path = segments.save(tmp_path, part)
    path.write_bytes(path.read_bytes()[:-40])
    assert segments.load(tmp_path, part.key) is None
    assert not path.exists() and "ignoring index segment" in caplog.text
    assert segments.load(tmp_path, "ef" * 32) is None  # never written


def test_links_across_segments_are_checked() -> None:
    a = segments.analyse([built("a-one")], ())
    b = segments.analyse([built("b-two", denied_by=["a-one"])], ())
    assert segments.links_resolve([a, b])
    assert not segments.links_resolve([b])  # unknown id
    assert not segments.links_resolve([a, a])  # duplicate id
    assert not segments.links_resolve([segments.analyse([built("c-3", contradicts=["c-3"])], ())])


def test_key_names_content_and_aliases_not_the_file() -> None:
    key = segments.segment_key(file_digest(b"- a\n"), ())
    assert key == segments.segment_key(file_digest(b"- a\n"), [])
    assert key != segments.segment_key(file_digest(b"- b\n"), ())
    assert key != segments.segment_key(file_digest(b"- a\n"), [("drone", "uav")])


def test_prune_keeps_the_current_and_a_few_spare(tmp_path: Path) -> None:
    keys = [f"{i:064x}" for i in range(5)]
    for key in keys:
        segments.save(tmp_path, segments.analyse([built()], (), key))
    segments.prune(tmp_path, keys[:2], spare=1)
    left = sorted(p.stem for p in (tmp_path / "segments").glob("*.npz"))
    assert len(left) == 3 and set(keys[:2]) <= set(left)


def test_invalid_file_is_not_cached(tmp_path: Path) -> None:
    raw = b"- id: x\n"
    result = segments.build_file(raw, "x.yaml", (), "12" * 32, tmp_path)
    assert not result.valid and not segments.segment_path(tmp_path, "12" * 32).exists()


def test_building_a_file_leaves_the_cycle_collector_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    raw = next(p.read_bytes() for p in record_files(KNOWLEDGE) if p.name != "aliases.yaml")
    seen: list[bool] = []
    real = segments.analyse
    monkeypatch.setattr(
        segments, "analyse", lambda *args: seen.append(gc.isenabled()) or real(*args)
    )
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            assert segments.build_file(raw, "r.yaml", (), f"{int(enabled)}" * 64, tmp_path).valid
            assert gc.isenabled() is enabled
            assert not segments.build_file(b"- id: x\n", "x.yaml", (), "2" * 64, tmp_path).valid
            assert gc.isenabled() is enabled
    finally:
        gc.enable()
    assert seen == [False, False]  # paused while the file was analysed
