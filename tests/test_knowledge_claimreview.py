"""bot/knowledge/claimreview.py: every ClaimReview shape and quirk publishers write, and back.

The real samples in ``shared/claimreview/`` are read as they are; the other shapes
(DataFeed, Fact Check Tools API, @id references, lists and lower-case types) are
built here from the same kind of data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.knowledge import load
from bot.knowledge.claimreview import (
    Context,
    data_feed,
    read_document,
    status_from_review,
    to_jsonld,
)
from bot.knowledge.importer import record_data, stable_id
from bot.knowledge.items import UNNAMED_CLAIMANT, Item
from bot.knowledge.schema import Record
from tests.records import built

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "claimreview"

#: What each real sample gives: claim start, claimant, date, verdict, reviewer,
#: (rating, best, worst), review url. None: the sample is skipped.
EXPECTED: dict[str, tuple[Any, ...] | None] = {
    "array/comprova-pt.json": (
        "Vídeo mostra casa que Lula", "Boatos de redes sociais", "2022-05-23",
        "FALSO: As imagens foram retiradas", "Comprova", (None, None, None),
        "https://projetocomprova.com.br/publica%C3%A7%C3%B5es/video-mostra-imagens-de-imovel-de-luxo-no-ceara-como-sendo-residencia-alugada-por-lula-em-sao-paulo/",
    ),
    "array/newschecker-en.json": (
        "Saudi team members", "Viral social media post", "2022-11-22", "False",
        "Newschecker.in", (None, None, None),
        "https://newschecker.in/sports-4/saudi-team-denies-reports-of-being-awarded-rolls-royce-by-mbs/",
    ),
    "feed/datacommons-dataFeedItem-dpa-de.json": (
        "Im Netz sorgt ein angebliches Zitat", "Irmin Suhl", "2019-09-07",
        "Reker hat diesen Satz nie gesagt.", "Deutsche Presse-Agentur", (None, None, None),
        "https://www.presseportal.de/pm/133833/4381130",
    ),
    "graph/afp-india-en.json": (
        "Kharkiv fell", "Multiple persons", "2022-02-24", "Misleading", "AFP", (3, 5, 1),
        "https://factcheck.afp.com/doc.afp.com.32427BX",
    ),
    "graph/newtral-fact-check-es.json": (
        "“Hemos visto cómo", "Sergio Sayas", "2022-10-05", "Engañoso", "Newtral",
        (None, None, None), "https://www.newtral.es/lista-espera-sanidad-gobierno/20221006/",
    ),
    "object/africa-check-en.json": (
        "As many as “51% of South African women", "South African president Cyril Ramaphosa",
        "2020-06-13", "Incorrect", "Africa Check", (1, 6, 1),
        "https://africacheck.org/reports/fact-checking-president-ramaphosa-have-51-of-south-african-women-experienced-intimate-partner-violence/",
    ),
    "object/aos-fatos-pt.json": (
        "Drauzio Varella incentiva", "desinformação", "2022-08-11", "não_é_bem_assim",
        "Aos Fatos", (5, 6, None),
        "https://aosfatos.org/noticias/video-manipulado-faz-crer-que-drauzio-incentiva-criancas-a-usarem-drogas/",
    ),
    "object/india-today-en.json": None,
    "object/lupa-pt.json": (
        "“BR 277 Foz do Iguaçu", "Post no Facebook", "2020-08-31", "Falso", "Agência Lupa",
        (4, 6, None), "https://piaui.folha.uol.com.br/lupa/2020/08/31/verificamos-viaduto-obra-bolsonaro/",
    ),
    "object/the-quint-en.json": (
        "Last Tweets of Sushant Singh Rajput shared on 14 June",
        "Facebook,WhatsApp,Twitter,media outlets",
        "2020-06-16", "False", "The Quint", (1, 5, 0),
        "https://www.thequint.com/news/webqoof/are-these-last-tweets-of-sushant-singh-rajput-no-images-are-fake-fact-check",
    ),
    "object/vishvas-news-en.json": (
        "Rishi Sunak praises Manmohan Singh's economy ideas", "Fb Page: नये भारत की बुलंद आवाज़",
        "2022-11-01", "False", "Vishvas News", (1, 5, 1),
        "https://www.vishvasnews.com/english/viral/fact-check-rishi-sunak-did-not-make-a-viral-statement-about-former-pm-manmohan-singh-viral-post-is-fake/",
    ),
    "other/google-search-docs-example.json": (
        "The world is flat", "Square World Society", "2024-06-20", "False",
        "Example.com science watch", (1, 5, 1), "https://example.com/news/science/worldisflat.html",
    ),
}  # fmt: skip


def read(name: str) -> list[Item]:
    path = SAMPLES / name
    return read_document(json.loads(path.read_text(encoding="utf-8")), name)


def one(data: Any, context: Context | None = None) -> dict[str, Any]:
    items = read_document(data, "x.json", context=context)
    assert len(items) == 1, items
    assert items[0].fields is not None, items[0].reason
    return items[0].fields


def test_every_shared_sample_is_listed_here() -> None:
    assert sorted(str(p.relative_to(SAMPLES)) for p in SAMPLES.glob("*/*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_real_sample_imports_or_is_skipped_with_its_reason(name: str) -> None:
    items = read(name)
    assert len(items) == 1
    item = items[0]
    expected = EXPECTED[name]
    if expected is None:
        assert item.fields is None
        assert item.reason is not None and item.reason.startswith("no date")
        return
    assert item.fields is not None, item.reason
    claim, claimant, date, verdict, reviewer, numbers, url = expected
    fields = item.fields
    record = Record.model_validate({"id": "x", **fields})
    assert record.claim.startswith(claim)
    assert record.claimant == claimant
    assert record.date == date
    assert record.review is not None
    assert record.review.verdict is not None and record.review.verdict.startswith(verdict)
    assert record.review.reviewer == reviewer
    assert (record.review.rating, record.review.best, record.review.worst) == numbers
    assert record.review.url == url
    assert record.status == "disputed"  # every sample's verdict is some kind of false
    assert record.tags == ["fact-check"]


def test_quirks_of_the_real_samples_are_cleaned() -> None:
    africa = read("object/africa-check-en.json")[0].fields or {}
    assert africa["review"]["verdict"] == "Incorrect"  # "Incorrect \r"
    assert africa["review"]["date"] == "2020-07-06"  # "2020-07-06T12:35:18+01:00"
    vishvas = read("object/vishvas-news-en.json")[0].fields or {}
    assert vishvas["claim"] == "Rishi Sunak praises Manmohan Singh's economy ideas"  # &#039;
    lupa = read("object/lupa-pt.json")[0].fields or {}
    assert lupa["review"]["date"] == "2020-08-31"  # "2020-08-31 17:22:16"
    aos = read("object/aos-fatos-pt.json")[0].fields or {}
    assert aos["review"]["url"].startswith("https://aosfatos.org/")  # schemeless
    assert aos["review"]["reviewer"] == "Aos Fatos"  # the publisher, not the person
    newschecker = read("array/newschecker-en.json")[0]
    assert newschecker.fields is not None
    assert newschecker.fields["first_appearance"] == "https://archive.is/wip/XKReX"
    assert "no scale" in newschecker.notes[0]  # bestRating = worstRating = "2"
    newtral = read("graph/newtral-fact-check-es.json")
    assert [i.position for i in newtral] == ["@graph[7]"]  # 7 other nodes are no skip
    assert newtral[0].fields is not None and newtral[0].fields["language"] == "es"
    afp = read("graph/afp-india-en.json")[0].fields or {}
    assert afp["source"]["url"].endswith("story_fbid=151574190637838&id=100073557732047")
    assert afp["review"]["title"].startswith("Old photo shared")
    google = read("other/google-search-docs-example.json")[0].fields or {}
    assert google["source"] == {
        "title": "Square Earth - Flat earthers for the Internet age",
        "publisher": "Skeptical News",
        "url": "https://example.com/news/a122121",
        "published": "2024-06-22",
        "excerpt": "The world is flat",
    }


REVIEW: dict[str, Any] = {
    "@context": "https://schema.org",
    "@type": "ClaimReview",
    "url": "https://fc.example/checks/moon-cheese",
    "claimReviewed": "The moon is made of cheese",
    "datePublished": "2021-08-24",
    "author": {"@type": "Organization", "name": "AFP", "url": "https://factcheck.afp.com/"},
    "itemReviewed": {
        "@type": "Claim",
        "author": {"@type": "Person", "name": "A. Nonymous"},
        "datePublished": "2021-08-20",
    },
    "reviewRating": {"@type": "Rating", "alternateName": "False", "ratingValue": "1"},
}


def variant(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(REVIEW))
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_a_dataFeed_gives_one_record_per_element_and_names_the_others() -> None:
    feed = {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "dataFeedElement": [
            {"@type": "DataFeedItem", "item": [REVIEW]},
            {"@type": "DataFeedItem", "item": {"@type": "Thing", "name": "x"}},
            {"@type": "DataFeedItem", "item": [variant(url="https://fc.example/2")]},
        ],
    }
    items = read_document(feed, "feed.json")
    assert [i.position for i in items] == [
        "dataFeedElement[0].item[0]",
        "dataFeedElement[1]",
        "dataFeedElement[2].item[0]",
    ]
    assert items[1].reason == "not a ClaimReview (a Thing)"
    assert items[0].fields and items[2].fields


@pytest.mark.parametrize(
    "types",
    [["ClaimReview"], ["Review", "ClaimReview"], "claimreview", "schema:ClaimReview"],
)
def test_type_as_a_list_in_lower_case_or_prefixed(types: Any) -> None:
    assert one(variant(**{"@type": types}))["claim"] == "The moon is made of cheese"


def test_type_written_without_the_at_sign() -> None:
    data = variant(**{"@type": None})
    data["type"] = "ClaimReview"
    assert one(data)["review"]["verdict"] == "False"


def test_itemReviewed_by_id_reference_in_a_graph() -> None:
    claim = {"@type": "Claim", "@id": "#claim", "author": {"name": "Bob"}, "datePublished": "2021"}
    graph = {"@graph": [variant(itemReviewed={"@id": "#claim"}), claim]}
    fields = one(graph)
    assert fields["claimant"] == "Bob" and fields["date"] == "2021"


def test_a_claimReview_nested_in_a_page_node_is_found() -> None:
    page = {"@type": "WebPage", "mainEntity": {"@type": "NewsArticle", "review": REVIEW}}
    items = read_document(page, "p.json")
    assert items[0].position == "mainEntity.review" and items[0].fields


def test_no_claim_date_takes_the_review_date_and_says_so() -> None:
    data = variant()
    del data["itemReviewed"]["datePublished"]
    fields = one(data)
    assert fields["date"] == "2021-08-24"
    assert "no date for the claim" in fields["date_note"]


def test_an_unreadable_date_is_a_skip_with_the_date_quoted() -> None:
    data = variant(datePublished="sometime soon")
    data["itemReviewed"]["datePublished"] = "last Tuesday"
    items = read_document(data, "x.json")
    assert items[0].fields is None
    assert items[0].reason is not None and "unreadable date 'last Tuesday'" in items[0].reason


def test_no_claimant_and_no_claim_text() -> None:
    data = variant()
    del data["itemReviewed"]["author"]
    assert one(data)["claimant"] == UNNAMED_CLAIMANT
    items = read_document(variant(claimReviewed=None), "x.json")
    assert items[0].reason is not None and items[0].reason.startswith("no claim text")


@pytest.mark.parametrize("value", ["", "-1", None, "n/a"])
def test_rating_numbers_that_say_nothing_are_left_out(value: Any) -> None:
    rating = {"@type": "Rating", "alternateName": "False", "ratingValue": value}
    review = one(variant(reviewRating=rating))["review"]
    assert "rating" not in review


def test_a_relative_url_is_resolved_against_the_page_and_without_one_noted() -> None:
    fields = one(variant(url="/checks/1"), Context(base="https://fc.example/a/b"))
    assert fields["review"]["url"] == "https://fc.example/checks/1"
    items = read_document(variant(url="/checks/1"), "x.json")
    assert "url" not in (items[0].fields or {})["review"]
    assert any("relative" in n for n in items[0].notes)


def test_a_file_without_claimReview_says_what_it_holds() -> None:
    items = read_document({"@type": "NewsArticle", "headline": "x"}, "a.json")
    assert items[0].reason == "no ClaimReview here (it holds NewsArticle)"
    items = read_document({"a": 1}, "b.json")
    assert items[0].reason is not None and "is this JSON-LD?" in items[0].reason


def test_the_fact_check_tools_api_response() -> None:
    response = {
        "claims": [
            {
                "text": "The moon is made of cheese",
                "claimant": "A. Nonymous",
                "claimDate": "2021-08-20T00:00:00Z",
                "claimReview": [
                    {
                        "publisher": {"name": "AFP", "site": "factcheck.afp.com"},
                        "url": "https://factcheck.afp.com/moon",
                        "title": "No, the moon is not cheese",
                        "reviewDate": "2021-08-24T10:00:00Z",
                        "textualRating": "False",
                        "languageCode": "en",
                    },
                    {"publisher": {"name": "Other"}, "url": "https://o.example/m",
                     "textualRating": "True"},
                ],
            },
            {"text": "No reviews here"},
            {"claimReview": [{"url": "https://x.example"}]},
        ],
        "nextPageToken": "abc",
    }  # fmt: skip
    items = read_document(response, "api.json")
    assert [i.position for i in items] == [
        "claims[0].claimReview[0]",
        "claims[0].claimReview[1]",
        "claims[1]",
        "claims[2]",
    ]
    first = items[0].fields or {}
    assert first["date"] == "2021-08-20" and first["language"] == "en"
    assert first["review"] == {
        "verdict": "False",
        "reviewer": "AFP",
        "reviewer_url": "https://factcheck.afp.com/",
        "date": "2021-08-24",
        "url": "https://factcheck.afp.com/moon",
        "title": "No, the moon is not cheese",
    }
    assert (items[1].fields or {})["status"] == "confirmed"
    assert items[2].reason == "no claimReview" and items[3].reason == "no claim text"


@pytest.mark.parametrize(
    ("verdict", "rating", "best", "status"),
    [
        ("False", None, None, "disputed"),
        ("Mostly false", 2, 5, "disputed"),
        ("True", None, None, "confirmed"),
        ("VERDADEIRO: o vídeo é real", None, None, "confirmed"),
        ("Richtig.", None, None, "confirmed"),
        ("não_é_bem_assim", 5, 6, "disputed"),
        (None, 5, 5, "confirmed"),
        (None, 1, 5, "disputed"),
        (None, None, None, "reported"),
    ],
)
def test_status_from_the_verdict(
    verdict: str | None, rating: float | None, best: float | None, status: str
) -> None:
    assert status_from_review(verdict, rating, best) == status


def test_a_curated_record_is_written_as_a_claim_and_read_back_whole() -> None:
    record = built(
        "b-two",
        date_note="A note.",
        quote="excerpt",
        excerpt="An excerpt.",
        title="T",
        publisher="P",
        url="https://example.org/a",
        published="2023-07",
        entities=["Iran", "Russia"],
        tags=["drones"],
        denied_by=["a-one"],
        language="en",
        first_appearance="https://example.org/first",
    )
    node = to_jsonld(record)
    assert node["@type"] == "Claim" and "reviewRating" not in node
    assert node["creativeWorkStatus"] == "reported"
    items = read_document(data_feed([record]), "feed.json")
    assert Record.model_validate(items[0].fields) == record


def test_an_imported_fact_check_is_written_as_a_claimReview_and_read_back_whole() -> None:
    record = Record.model_validate({"id": "moon", **one(REVIEW)})
    node = to_jsonld(record)
    assert node["@type"] == "ClaimReview"
    assert node["reviewRating"] == {"@type": "Rating", "alternateName": "False", "ratingValue": 1}
    assert node["author"] == {
        "@type": "Organization",
        "name": "AFP",
        "url": "https://factcheck.afp.com/",
    }
    assert node["itemReviewed"]["author"] == {"name": "A. Nonymous"}
    again = read_document(json.loads(json.dumps(data_feed([record]))), "feed.json")
    assert Record.model_validate(again[0].fields) == record


def test_the_examples_in_docs_claimreview_md_are_what_export_and_import_write() -> None:
    """docs/claimreview.md: each example block is the export (or record) it says it is."""
    doc = (ROOT / "docs" / "claimreview.md").read_text(encoding="utf-8")
    curated_block, afp_block = re.findall(r"```json\n(.*?)```", doc, flags=re.DOTALL)
    (yaml_block,) = re.findall(r"```yaml\n(.*?)```", doc, flags=re.DOTALL)
    curated = load(ROOT / "knowledge").by_id["2023-west-claims-drone-supply-agreements"]
    assert json.loads(curated_block) == to_jsonld(curated)
    fields = read("graph/afp-india-en.json")[0].fields or {}
    afp = Record.model_validate({"id": stable_id(fields), **fields})
    assert json.loads(afp_block) == to_jsonld(afp)
    assert yaml.safe_load(yaml_block) == [record_data(afp)]


def test_a_rating_written_as_plain_text_is_the_verdict() -> None:
    assert one(variant(reviewRating="Pants on Fire!"))["review"]["verdict"] == "Pants on Fire!"


@pytest.mark.parametrize(
    "junk",
    [
        {"claimReviewed": {"a": 1}},
        {"itemReviewed": "a string"},
        {"author": 5},
        {"reviewRating": [None, 3]},
        {"datePublished": ["", None]},
        {"url": 12},
    ],
)
def test_wrong_types_anywhere_are_never_a_crash(junk: dict[str, Any]) -> None:
    items = read_document(variant(**junk), "x.json")
    assert len(items) == 1 and (items[0].fields is not None or items[0].reason)
