"""The benchmark's quick mode: it completes and our rankings equal plain rank-bm25's.

No timing is asserted: shared CI machines make timings noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bench.__main__ as bench
from bench import generate


def test_quick_bench_completes_and_rankings_match(tmp_path: Path) -> None:
    lines: list[str] = []
    results = bench.run(
        bench.QUICK_SIZES,
        quick=True,
        questions=60,
        reference_questions=60,
        workdir=tmp_path,
        out=lines.append,
    )
    (result,) = results
    assert result["size"] == bench.QUICK_SIZES[0]
    assert result["identical"] == result["ref_questions"] == 60, result["mismatches"]
    for key in (
        "build_s",
        "reload_s",
        "reload_fresh_s",
        "vreload_s",
        "cache_load_s",
        "serve_rss_mb",
        "p50_ms",
        "p99_ms",
        "qps",
        "ref_p50_ms",
        "bm25s_p50_ms",
        "tantivy_p50_ms",
        "ann_p50_ms",
        "answer_p50_ms",
        "speedup_topk",
    ):
        assert result[key] > 0, key
    # The real path: YAML files on disk, a cold build of every file, then a
    # reload that reads one file again and reuses the others' segments.
    assert result["files"] == 10 and result["build_built"] == 10
    assert result["reload_built"] == 1 and result["reload_reused"] == 9
    assert result["vreload_built"] == 1 and result["vreload_path"] == "segments"
    # The full build from records in memory indexes the same records.
    assert result["fit_records"] == result["records"] and result["fit_s"] > 0
    # The peers rank with their own idf: close to ours, not identical.
    assert 0.5 < result["bm25s_overlap"] <= 1 and 0.5 < result["tantivy_overlap"] <= 1
    assert 0.5 < result["ann_recall"] <= 1
    assert any(line.startswith("| records") for line in lines)
    json.dumps(results)  # the --json output is plain data


def test_generator_is_deterministic_and_shaped_like_records() -> None:
    from bot.knowledge.schema import Record

    first = list(generate.records(2500, seed=3))
    assert first == list(generate.records(2500, seed=3))
    assert first[2100:2110] == list(generate.records(2500, seed=3, start=2100, stop=2110))
    assert first != list(generate.records(2500, seed=4))
    assert len({r["id"] for r in first}) == len(first)
    for record in first[:300]:
        Record.model_validate(record)
        words = len(generate.record_text(record).split())
        assert 25 <= words <= 120, words
    assert generate.questions(20, 2500) == generate.questions(20, 2500)


@pytest.mark.parametrize(
    ("text", "sizes"), [("1k,10k", [1000, 10000]), ("1m", [1_000_000]), ("2500", [2500])]
)
def test_size_lists(text: str, sizes: list[int]) -> None:
    assert bench._sizes(text) == sizes


def test_generated_yaml_reads_back_as_the_records(tmp_path: Path) -> None:
    import yaml

    from bot.knowledge import load

    path = tmp_path / "kb" / "part.yaml"
    path.parent.mkdir()
    generate.write_yaml_file((300, 0, 300, str(path)))
    records = list(generate.records(300))
    for i, rec in enumerate(records):  # links name the following record's real id
        if "denied_by" in rec:
            rec["denied_by"] = [records[i + 1]["id"]]
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == records
    assert len(load(path.parent)) == 300
