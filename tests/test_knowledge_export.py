"""bot/knowledge/export.py: import → export → import gives back the same records.

On the shipped knowledge base (every hand-curated field, links and quotes
included) and on the imported shared samples, in both formats.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, load
from bot.knowledge.export import FORMATS, export_text, export_to
from bot.knowledge.importer import run_import

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "claimreview"


@pytest.fixture(scope="module")
def imported_samples(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    into = tmp_path_factory.mktemp("samples") / "imported.yaml"
    assert run_import([SAMPLES], into).written
    return load(into.parent)


def round_trip(kb: KnowledgeBase, format: str, tmp_path: Path) -> KnowledgeBase:
    out = tmp_path / f"export.{'json' if format == 'claimreview' else 'csv'}"
    export_to(kb.records, format, out)
    into = tmp_path / "again" / "imported.yaml"
    report = run_import([out], into)
    assert report.exit_code == 0, report.text()
    assert report.summary == f"imported {len(kb.records)}, updated 0, unchanged 0, skipped 0"
    return load(into.parent)


@pytest.mark.parametrize("format", FORMATS)
def test_the_shipped_knowledge_base_round_trips(
    knowledge: KnowledgeBase, format: str, tmp_path: Path
) -> None:
    again = round_trip(knowledge, format, tmp_path)
    assert list(again.records) == list(knowledge.records)


@pytest.mark.parametrize("format", FORMATS)
def test_the_imported_samples_round_trip(
    imported_samples: KnowledgeBase, format: str, tmp_path: Path
) -> None:
    again = round_trip(imported_samples, format, tmp_path)
    assert list(again.records) == list(imported_samples.records)


def test_a_second_import_of_an_export_is_unchanged(
    imported_samples: KnowledgeBase, tmp_path: Path
) -> None:
    out = tmp_path / "feed.json"
    export_to(imported_samples.records, "claimreview", out)
    into = Path(imported_samples.files[0])
    report = run_import([out], into)
    assert report.summary == "imported 0, updated 0, unchanged 11, skipped 0"


def test_the_claimreview_export_is_a_data_feed_google_reads(
    imported_samples: KnowledgeBase, knowledge: KnowledgeBase
) -> None:
    feed = json.loads(export_text([*imported_samples.records, *knowledge.records], "claimreview"))
    assert feed["@context"] == "https://schema.org" and feed["@type"] == "DataFeed"
    items = [e["item"][0] for e in feed["dataFeedElement"]]
    reviews = [i for i in items if i["@type"] == "ClaimReview"]
    assert len(reviews) == 11 and len(items) - len(reviews) == len(knowledge.records)
    afp = next(r for r in reviews if r["author"]["name"] == "AFP")
    assert afp["url"] == "https://factcheck.afp.com/doc.afp.com.32427BX"
    assert afp["datePublished"] == "2022-03-02"
    assert afp["claimReviewed"].startswith("Kharkiv fell")
    assert afp["reviewRating"] == {
        "@type": "Rating", "alternateName": "Misleading",
        "ratingValue": 3, "bestRating": 5, "worstRating": 1,
    }  # fmt: skip
    claim = afp["itemReviewed"]
    assert claim["@type"] == "Claim" and claim["author"] == {"name": "Multiple persons"}
    assert claim["datePublished"] == "2022-02-24" and claim["appearance"]["url"].startswith(
        "https://www.facebook.com/"
    )
    curated = next(i for i in items if i.get("identifier") == knowledge.records[0].id)
    assert curated["@type"] == "Claim" and "reviewRating" not in curated


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        export_text([], "xml")
