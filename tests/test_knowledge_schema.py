"""bot/knowledge/schema.py: partial dates (human wording, sort order) and the record model.

The loader's messages for bad records are tested in test_knowledge.py; here the schema is
used directly, as the rest of the code base uses it.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.knowledge.schema import STATUSES, Record, date_sort_key, human_date
from tests.records import record

ROOT = Path(__file__).resolve().parent.parent

FIELDS = record()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("2023", "2023"),
        ("2023-06", "June 2023"),
        ("2023-06-05", "June 5, 2023"),
        ("2022-11", "November 2022"),
        ("2023-01-01", "January 1, 2023"),
        ("2023-12-31", "December 31, 2023"),
        ("2023-07-18", "July 18, 2023"),
    ],
)
def test_human_date_writes_a_date_at_its_own_precision(value: str, text: str) -> None:
    assert human_date(value) == text


@pytest.mark.parametrize(
    ("value", "key"),
    [("2023", (2023, 13, 32)), ("2023-06", (2023, 6, 32)), ("2023-06-05", (2023, 6, 5))],
)
def test_date_sort_key_puts_an_unknown_month_or_day_last(
    value: str, key: tuple[int, int, int]
) -> None:
    assert date_sort_key(value) == key


def test_dates_sort_chronologically_a_bare_year_after_its_dated_records() -> None:
    dates = ["2023-07-18", "2023", "2022-11", "2023-06-05", "2023-06", "2023-02", "2022"]
    dates += ["2023-12-31"]
    assert sorted(dates, key=date_sort_key) == [
        "2022-11",
        "2022",
        "2023-02",
        "2023-06-05",
        "2023-06",
        "2023-07-18",
        "2023-12-31",
        "2023",
    ]


def test_statuses_are_the_documented_vocabulary() -> None:
    assert STATUSES == ("reported", "alleged", "confirmed", "denied", "disputed")


def test_record_defaults_and_date_text() -> None:
    record = Record.model_validate(FIELDS)
    assert record.date_text == "June 2023"
    assert (record.denied_by, record.contradicts, record.entities, record.tags) == ([], [], [], [])
    assert record.quote is None and record.date_note is None
    assert record.source.title is None and record.source.url is None
    assert record.links() == []


def test_record_links_list_denials_then_contradictions() -> None:
    record = Record.model_validate({**FIELDS, "denied_by": ["b-two"], "contradicts": ["c-three"]})
    assert record.links() == [("denied_by", "b-two"), ("contradicts", "c-three")]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (dt.date(2023, 6, 5), "2023-06-05"),
        (2023, "2023"),
        ("2023", "2023"),
        (" 2023-06 ", "2023-06"),
    ],
)
def test_record_date_accepts_what_yaml_makes_of_a_date(value: object, stored: str) -> None:
    assert Record.model_validate({**FIELDS, "date": value}).date == stored


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got a yes/no value (true)"),
        (999, "expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got a number (999)"),
        (dt.datetime(2023, 6, 5, 10, 30), "a date with a time of day"),
        ("2023-02-29", "'2023-02-29' is not a real date (day is out of range for month)"),
    ],
)
def test_record_date_rejects(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Record.model_validate({**FIELDS, "date": value})


def test_leap_day_is_a_real_date() -> None:
    assert Record.model_validate({**FIELDS, "date": "2024-02-29"}).date_text == "February 29, 2024"


def test_text_is_stripped_and_records_are_frozen() -> None:
    record = Record.model_validate({**FIELDS, "claim": "  A claim.  "})
    assert record.claim == "A claim."
    with pytest.raises(ValidationError):
        record.claim = "Another claim."  # type: ignore[misc]


def test_source_url_must_be_http() -> None:
    source = {"excerpt": "An excerpt.", "url": "https://example.com/a"}
    assert Record.model_validate({**FIELDS, "source": source}).source.url == source["url"]
    with pytest.raises(ValidationError, match="must start with http:// or https://"):
        Record.model_validate({**FIELDS, "source": {**source, "url": "example.com/a"}})


def test_a_record_may_carry_a_published_review_language_and_first_appearance() -> None:
    data = record(
        review={"verdict": "False", "rating": 1, "best": 5, "worst": 1, "reviewer": "AFP",
                "reviewer_url": "https://factcheck.afp.com/", "date": "2021-08-24",
                "url": "https://factcheck.afp.com/x", "title": "No"},
        language="pt-BR",
        first_appearance="https://archive.is/x",
    )  # fmt: skip
    parsed = Record.model_validate(data)
    assert parsed.review is not None and parsed.review.rating == 1
    assert parsed.language == "pt-BR"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"review": {"rating": True}}, "expected a number, got a yes/no value"),
        ({"review": {"rating": "1"}}, "expected a number"),
        ({"review": {"best": 2, "worst": 2}}, "best (2) must be above worst (2)"),
        ({"review": {"rating": 7, "best": 5}}, "rating 7 lies outside the scale 0 to 5"),
        ({"review": {"rating": -1}}, "a rating must be a number of 0 or more"),
        ({"review": {"url": "factcheck.afp.com/x"}}, "must start with http:// or https://"),
        ({"review": {"date": "2021-02-30"}}, "is not a real date"),
        ({"review": {"colour": "red"}}, "Extra inputs are not permitted"),
        ({"language": "English (US)"}, "is not a language tag"),
        ({"first_appearance": "archive.is/x"}, "must start with http:// or https://"),
    ],
)
def test_review_fields_are_checked(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Record.model_validate(record(**fields))
