"""bot/search/build.py: open_index from per-file segments; a changed file alone is re-analysed.

The merged index must be the full rebuild's: same postings, same scores, same
rankings, same records, same spelling words.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import generate
from bot.errors import KnowledgeError
from bot.knowledge import load
from bot.search import Index, LazyRecords, segments
from bot.search.build import BuildReport, open_index
from tests.records import write_records

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
QUESTIONS = [
    "When did local residents say forces supplied Onyx missiles?",
    "railway junction near Saky airfield",
    "drone factory east of Moscow",
    "What happened to the landing ship?",
    "UAV plant",
]


def generated(n: int = 300) -> list[dict[str, Any]]:
    records = list(generate.records(n, seed=5))
    for record in records:
        record.pop("denied_by", None)
    return records


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A knowledge folder of three generated record files and the shipped aliases."""
    kb = tmp_path / "kb"
    records = generated()
    for i in range(3):
        write_records(kb, records[i * 100 : (i + 1) * 100], name=f"part-{i}.yaml")
    shutil.copy(KNOWLEDGE / "aliases.yaml", kb / "aliases.yaml")
    return kb


def edit_one_word(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "forces" in text
    path.write_text(text.replace("forces", "troops", 3), encoding="utf-8")


def assert_same_index(merged: Index, full: Index) -> None:
    ours, theirs = merged.scorer.to_arrays(), full.scorer.to_arrays()
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert np.array_equal(ours[name], theirs[name]), name
    records = merged.knowledge.records
    assert len(records) == len(full.knowledge.records)
    assert [records[i] for i in range(len(records))] == list(full.knowledge.records)
    assert merged.speller.words == full.speller.words
    assert merged.knowledge.aliases == full.knowledge.aliases
    for question in QUESTIONS:
        a, b = merged.search(question), full.search(question)
        assert [(h.position, h.score, h.coverage) for h in a] == [
            (h.position, h.score, h.coverage) for h in b
        ], question


def test_cold_build_equals_the_full_build(folder: Path, tmp_path: Path) -> None:
    report = BuildReport()
    index = open_index(folder, tmp_path / "cache", report=report, workers=1)
    assert report.path == "segments" and len(report.built) == 3 and not report.reused
    assert_same_index(index, Index.build(load(folder)))
    records = index.knowledge.records
    assert isinstance(records, LazyRecords)  # served from the file just written:
    assert records._store.nbytes < len(records._store.blob) / 4  # the JSON stays on disk
    again = BuildReport()
    open_index(folder, tmp_path / "cache", report=again)
    assert again.path == "cache" and not again.built


def test_changed_file_alone_is_re_analysed_and_the_merge_equals_a_rebuild(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    open_index(folder, cache, workers=1)
    edit_one_word(folder / "part-1.yaml")
    analysed: list[int] = []
    real = segments.analyse
    monkeypatch.setattr(
        segments, "analyse", lambda records, *a: analysed.append(len(records)) or real(records, *a)
    )
    report = BuildReport()
    index = open_index(folder, cache, report=report, workers=1)
    assert report.built == [str(folder / "part-1.yaml")]
    assert report.reused == [str(folder / "part-0.yaml"), str(folder / "part-2.yaml")]
    assert analysed == [100]  # one file's records, no others
    assert_same_index(index, Index.build(load(folder)))


def test_changed_aliases_re_analyse_every_file(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    open_index(folder, cache, workers=1)
    aliases = folder / "aliases.yaml"
    aliases.write_text(aliases.read_text() + '  - ["junction", "crossing"]\n', encoding="utf-8")
    report = BuildReport()
    index = open_index(folder, cache, report=report, workers=1)
    assert len(report.built) == 3
    assert_same_index(index, Index.build(load(folder)))


def test_worker_processes_build_the_same_index(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments, "PARALLEL_MIN_BYTES", 0)
    report = BuildReport()
    index = open_index(folder, tmp_path / "cache", report=report, workers=2)
    assert len(report.built) == 3
    assert_same_index(index, Index.build(load(folder)))


def problem_lines(folder: Path, cache: Path | None) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        open_index(folder, cache, workers=1)
    return [str(p) for p in info.value.problems]


def test_an_invalid_file_is_reported_as_load_reports_it(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    open_index(folder, cache, workers=1)
    path = folder / "part-2.yaml"
    path.write_text(path.read_text().replace("status: reported", "status: rumoured", 1))
    lines = problem_lines(folder, cache)
    assert lines == problem_lines(folder, None)
    assert lines[0].startswith(f"{path}:")


def test_a_duplicate_id_across_files_is_reported(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    open_index(folder, cache, workers=1)
    shutil.copy(folder / "part-0.yaml", folder / "part-3.yaml")
    lines = problem_lines(folder, cache)
    assert lines == problem_lines(folder, None)
    assert "duplicate id" in lines[0]


def test_a_link_into_another_file_resolves(tmp_path: Path) -> None:
    records = generated(20)
    records[15]["denied_by"] = [records[2]["id"]]
    write_records(tmp_path / "kb", records[:10], name="a.yaml")
    write_records(tmp_path / "kb", records[10:], name="b.yaml")
    index = open_index(tmp_path / "kb", tmp_path / "cache", workers=1)
    assert index.knowledge.by_id[records[15]["id"]].denied_by == [records[2]["id"]]
    (tmp_path / "kb" / "a.yaml").unlink()
    assert "links to unknown record id" in problem_lines(tmp_path / "kb", tmp_path / "cache")[0]
