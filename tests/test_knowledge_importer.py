"""bot/knowledge/importer.py: stable ids, idempotent merge, clashes, atomic and whole writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.knowledge import load
from bot.knowledge.importer import HEADER, run_import, stable_id
from tests.records import record, write_records

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "claimreview"
SAMPLE_COUNT = 12


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", folder)
    return folder


def review(url: str = "https://fc.example/checks/moon", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": url,
        "claimReviewed": "The moon is made of cheese",
        "datePublished": "2021-08-24",
        "author": {"@type": "Organization", "name": "AFP"},
        "itemReviewed": {"@type": "Claim", "author": {"name": "Bob"}, "datePublished": "2021"},
        "reviewRating": {"@type": "Rating", "alternateName": "False"},
    }
    data.update(changes)
    return data


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_every_shared_sample_imports_but_the_undated_one(kb: Path) -> None:
    report = run_import([SAMPLES], kb / "imported.yaml")
    assert report.summary == "imported 11, updated 0, unchanged 0, skipped 1"
    assert report.exit_code == 0 and report.written
    (skip,) = [o for o in report.outcomes if o.action == "skipped"]
    assert skip.file.endswith("india-today-en.json") and skip.reason is not None
    assert skip.reason.startswith("no date")
    assert report.ignored == [str(SAMPLES / "README.md")]
    base = load(kb)
    assert len([r for r in base.records if r.review]) == 11


def test_a_second_import_is_a_no_op_that_leaves_the_file_alone(kb: Path) -> None:
    into = kb / "imported.yaml"
    run_import([SAMPLES], into)
    before = into.read_bytes(), into.stat().st_mtime_ns
    again = run_import([SAMPLES], into)
    assert again.summary == "imported 0, updated 0, unchanged 11, skipped 1"
    assert again.exit_code == 0 and not again.written
    assert (into.read_bytes(), into.stat().st_mtime_ns) == before


def test_an_updated_feed_updates_its_records_and_keeps_the_others(tmp_path: Path, kb: Path) -> None:
    into = kb / "imported.yaml"
    run_import([write_json(tmp_path / "a.json", [review(), review("https://fc.example/2")])], into)
    changed = review("http://www.fc.example/checks/moon/")  # the same page
    changed["reviewRating"] = {"@type": "Rating", "alternateName": "Pants on fire"}
    report = run_import([write_json(tmp_path / "b.json", changed)], into)
    assert report.summary == "imported 0, updated 1, unchanged 0, skipped 0"
    records = {r.id: r for r in load(kb).records if r.review}
    assert len(records) == 2
    moon = records[stable_id({"review": {"url": "https://fc.example/checks/moon"}})]
    assert moon.review is not None and moon.review.verdict == "Pants on fire"


def test_ids_come_from_the_review_url_else_the_claim_and_date() -> None:
    by_url = stable_id({"review": {"url": "https://newschecker.in/sports-4/saudi-team-denies/"}})
    assert by_url.startswith("saudi-team-denies-") and len(by_url.rsplit("-", 1)[1]) == 8
    assert by_url == stable_id(
        {"review": {"url": "http://www.newschecker.in/sports-4/saudi-team-denies"}}
    )
    numeric = stable_id({"review": {"url": "https://www.presseportal.de/pm/133833/4381130"}})
    assert numeric.startswith("presseportal-pm-133833-4381130-")
    by_text = stable_id({"claim": "Über  die Brücke", "date": "2021"})
    assert by_text.startswith("uber-die-brucke-")
    assert by_text == stable_id({"claim": "über die brücke", "date": "2021"})
    assert by_text != stable_id({"claim": "über die brücke", "date": "2022"})
    assert stable_id({"claim": "नये भारत", "date": "2021"}).startswith("claim-")


def test_several_claims_reviewed_on_one_page_get_numbered_ids(tmp_path: Path, kb: Path) -> None:
    page = [review(), review(claimReviewed="The sun is cold"), review()]
    report = run_import([write_json(tmp_path / "p.json", page)], kb / "imported.yaml")
    ids = [o.id for o in report.outcomes]
    assert ids[1] == f"{ids[0]}-2"
    assert report.outcomes[2].action == "skipped"
    where = f"{tmp_path / 'p.json'} ([0])"
    assert report.outcomes[2].reason == f"the same record as {where} (id {ids[0]!r})"


def test_a_hand_curated_id_is_never_overwritten(tmp_path: Path, kb: Path) -> None:
    data = review()
    data["itemReviewed"]["identifier"] = "jun-2023-us-intel-factory-east-of-moscow"
    before = (kb / "drone-factory.yaml").read_bytes()
    report = run_import([write_json(tmp_path / "a.json", data)], kb / "imported.yaml")
    (outcome,) = report.outcomes
    assert outcome.action == "skipped" and outcome.reason == (
        "id 'jun-2023-us-intel-factory-east-of-moscow' is a hand-curated record in "
        f"{kb / 'drone-factory.yaml'}; not overwritten"
    )
    assert report.exit_code == 1  # nothing could be imported
    assert (kb / "drone-factory.yaml").read_bytes() == before
    assert not (kb / "imported.yaml").exists()


def test_a_hand_written_file_is_not_taken_over(kb: Path, tmp_path: Path) -> None:
    report = run_import([write_json(tmp_path / "a.json", review())], kb / "drone-factory.yaml")
    assert report.exit_code == 1 and not report.written
    assert "was not written by `import`" in report.problems[0].message


def test_nothing_is_written_when_the_folder_would_not_validate(tmp_path: Path) -> None:
    folder = write_records(tmp_path / "kb", [record("a-one", denied_by=["moon-record"])])
    data = review()
    data["itemReviewed"]["identifier"] = "moon-record"
    data["itemReviewed"]["citation"] = [
        {"@type": "Role", "roleName": "denied_by", "citation": {"identifier": "nowhere"}}
    ]
    report = run_import([write_json(tmp_path / "a.json", data)], folder / "imported.yaml")
    assert report.exit_code == 1 and not report.written
    assert [p.message for p in report.problems] == ["links to unknown record id 'nowhere'"]
    assert report.problems[0].file == str(folder / "imported.yaml")
    assert not (folder / "imported.yaml").exists()
    assert "nothing written" in report.text()


def test_a_broken_knowledge_folder_stops_the_import_first(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "bad.yaml").write_text("- id: 1\n", encoding="utf-8")
    report = run_import([SAMPLES], folder / "imported.yaml")
    assert report.exit_code == 1 and report.problems and not report.outcomes


def test_unreadable_inputs_are_errors_but_the_rest_is_imported(tmp_path: Path, kb: Path) -> None:
    good = write_json(tmp_path / "good.json", review())
    bad = tmp_path / "bad.json"
    bad.write_text('{"@type": "ClaimReview", ', encoding="utf-8")
    report = run_import([good, bad], kb / "imported.yaml")
    assert report.summary == "imported 1, updated 0, unchanged 0, skipped 0"
    assert report.written and report.exit_code == 1
    assert [e.file for e in report.errors] == [str(bad)]
    data = report.as_json()
    assert data["errors"][0]["reason"].startswith("not valid JSON")
    assert set(data) == {
        "imported", "updated", "unchanged", "skipped", "into", "written", "dry_run",
        "records", "skipped_items", "errors", "problems", "ignored",
    }  # fmt: skip


def test_dry_run_writes_nothing(tmp_path: Path, kb: Path) -> None:
    report = run_import([SAMPLES], kb / "imported.yaml", dry_run=True)
    assert report.count("imported") == 11 and not report.written
    assert not (kb / "imported.yaml").exists()


def test_the_file_is_replaced_whole_with_its_header(tmp_path: Path, kb: Path) -> None:
    into = kb / "imported.yaml"
    run_import([SAMPLES], into)
    assert into.read_text(encoding="utf-8").startswith(HEADER)
    assert [p.name for p in kb.iterdir() if p.name.startswith(".")] == []
    assert oct(into.stat().st_mode & 0o777) == "0o644"


def test_into_a_new_folder(tmp_path: Path) -> None:
    into = tmp_path / "new" / "imported.yaml"
    report = run_import([SAMPLES], into)
    assert report.written and len(load(into.parent).records) == 11
