"""``import``, ``export``, ``list`` and ``show`` as a user runs them: real subprocesses.

Exit codes: 0 when the import completed (skips reported), 1 when an input could not
be read or nothing could be imported, 2 for usage errors; never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "claimreview"
AFP = SAMPLES / "graph" / "afp-india-en.json"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BOT_KNOWLEDGE_DIR"}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        encoding="utf-8",
        timeout=300,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", folder)
    return folder


def test_import_the_shared_samples_then_again(kb: Path) -> None:
    first = run("import", str(SAMPLES), "--knowledge", str(kb))
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == (
        f"imported 11, updated 0, unchanged 0, skipped 1 (written to {kb / 'imported.yaml'})"
    )
    assert lines[1:3] == [
        "skipped:",
        f"  {SAMPLES / 'object' / 'india-today-en.json'}: no date: neither the claim "
        "(itemReviewed.datePublished) nor the review (datePublished) is dated",
    ]
    second = run("import", str(SAMPLES), "--knowledge", str(kb), "--json")
    assert second.returncode == 0
    report = json.loads(second.stdout)
    assert (report["imported"], report["unchanged"], report["written"]) == (0, 11, False)
    assert run("validate", str(kb)).returncode == 0


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"@type": "ClaimReview", "claimReviewed": "x"', "not valid JSON"),
        (b"%PDF-1.4\n...", "this is a PDF document"),
        (b"", "the file is empty"),
    ],
)
def test_a_bad_input_is_one_clear_line_and_exit_1(
    kb: Path, tmp_path: Path, content: bytes, reason: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    result = run("import", str(bad), "--knowledge", str(kb))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"imported 0, updated 0, unchanged 0, skipped 0 ({kb / 'imported.yaml'} unchanged)",
        "could not be read:",
        f"  {bad}: " + result.stdout.split(f"{bad}: ", 1)[1].strip(),
    ]
    assert reason in result.stdout
    assert not (kb / "imported.yaml").exists()


def test_a_50_mb_input_is_refused_with_the_option_that_reads_it(kb: Path, tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.write(b"[" + b" " * 50_000_000 + b"]")
    result = run("import", str(huge), "--knowledge", str(kb), "--json")
    assert result.returncode == 1
    (error,) = json.loads(result.stdout)["errors"]
    assert error["reason"].startswith("the file is 50.0 MB, over the 20.0 MB an import reads")
    assert "--max-size 51" in error["reason"]


@pytest.mark.parametrize(
    "args",
    [
        ["import"],
        ["import", "x.json", "--into", "out.json"],
        ["import", "x.json", "--max-size", "lots"],
        ["export"],
        ["export", "--format", "xml"],
        ["list", "--since", "soon"],
        ["show"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert run(*args).returncode == 2


def test_export_then_import_in_csv_with_out_and_stdout(kb: Path, tmp_path: Path) -> None:
    run("import", str(SAMPLES), "--knowledge", str(kb))
    out = tmp_path / "all.csv"
    written = run("export", "--format", "csv", "--out", str(out), "--knowledge", str(kb))
    assert written.returncode == 0 and out.read_text(encoding="utf-8").startswith("id,claim,")
    printed = run("export", "--format", "claimreview", "--knowledge", str(kb))
    feed = json.loads(printed.stdout)
    assert feed["@type"] == "DataFeed"
    again = run("import", str(out), "--into", str(tmp_path / "copy" / "imported.yaml"))
    assert again.returncode == 0, again.stdout
    assert again.stdout.startswith(f"imported {len(feed['dataFeedElement'])}, updated 0")


def test_list_and_show(kb: Path) -> None:
    run("import", str(AFP), "--knowledge", str(kb))
    listed = run("list", "--knowledge", str(kb), "--tag", "fact-check", "--json")
    (row,) = json.loads(listed.stdout)
    assert row["claimant"] == "Multiple persons" and row["date"] == "2022-02-24"
    text = run("list", "--knowledge", str(kb), "--since", "2023-07").stdout.splitlines()
    assert text and all(" 2023-07" in line or " 2023 " in line for line in text)
    shown = run("show", row["id"], "--knowledge", str(kb))
    assert shown.returncode == 0
    assert shown.stdout.rstrip().endswith("Rated Misleading by AFP, 2022-03-02")
    data = json.loads(run("show", row["id"], "--json", "--knowledge", str(kb)).stdout)
    assert data["review"]["url"] == "https://factcheck.afp.com/doc.afp.com.32427BX"
    missing = run("show", row["id"] + "x", "--knowledge", str(kb))
    assert missing.returncode == 1 and f"did you mean {row['id']}" in missing.stderr


def test_an_imported_fact_check_is_cited_when_asked_about(kb: Path, tmp_path: Path) -> None:
    imported = run("import", str(AFP), "--knowledge", str(kb), "--json")
    (record_id,) = [r["id"] for r in json.loads(imported.stdout)["records"]]
    result = run(
        "ask",
        "--knowledge",
        str(kb),
        "--cache",
        str(tmp_path / "cache"),
        "--json",
        "Was a Russian flag raised in Kharkiv?",
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["found"] is True
    assert record_id in [c["claim_id"] for c in answer["citations"]]
    cited = next(c for c in answer["citations"] if c["claim_id"] == record_id)
    assert cited["review"]["reviewer"] == "AFP" and cited["review"]["verdict"] == "Misleading"
    assert cited["url"]  # the claim's appearance, or the review's page
    assert "Rated Misleading by AFP, 2022-03-02" in answer["answer"]
