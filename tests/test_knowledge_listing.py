"""bot/knowledge/listing.py: which records ``list`` shows, and how ``show`` prints one."""

from __future__ import annotations

import pytest

from bot.errors import UnknownRecordError
from bot.knowledge.listing import find, list_json, list_rows, select, show_text, since_date
from tests.records import built

RECORDS = [
    built("a-one", date="2022-11", tags=["drones"]),
    built("b-two", date="2023", tags=["Factory"]),
    built("c-three", date="2023-06-05", tags=["drones", "factory"]),
]


@pytest.mark.parametrize(
    ("tags", "since", "ids"),
    [
        ((), None, ["a-one", "b-two", "c-three"]),
        (("drones",), None, ["a-one", "c-three"]),
        (("factory",), None, ["b-two", "c-three"]),
        ((), "2023-06", ["b-two", "c-three"]),  # "2023" may be June or later
        ((), "2023-06-06", ["b-two"]),
        (("drones",), "2023", ["c-three"]),
        ((), "2024", []),
    ],
)
def test_select_by_tag_and_since(tags: tuple[str, ...], since: str | None, ids: list[str]) -> None:
    assert [r.id for r in select(RECORDS, tags, since)] == ids


def test_since_reads_dates_as_the_import_does() -> None:
    assert since_date("2023-06-05T10:00:00Z") == "2023-06-05"
    with pytest.raises(ValueError, match="unreadable date 'soon'"):
        since_date("soon")


def test_rows_are_aligned_and_the_claim_is_cut() -> None:
    records = [built("a-one", claim=" ".join(["word"] * 20)), built("bb-two", claimant="X")]
    lines = list_rows(records).splitlines()
    assert (
        lines[0]
        == "a-one   2023-06     Someone                         " + " ".join(["word"] * 12) + " …"
    )
    assert lines[1].startswith("bb-two  2023-06     X ")
    assert list_json(records[1:]) == [
        {"id": "bb-two", "date": "2023-06", "claimant": "X", "claim": "A claim.",
         "status": "reported", "tags": []}
    ]  # fmt: skip


def test_find_suggests_close_ids() -> None:
    by_id = {r.id: r for r in RECORDS}
    assert find(by_id, "b-two").id == "b-two"
    with pytest.raises(UnknownRecordError, match="did you mean b-two"):
        find(by_id, "b-tow")


def test_show_prints_every_field_and_the_review_line() -> None:
    record = built(
        review={"verdict": "False", "reviewer": "AFP", "date": "2021-08-24"},
        url="https://example.org/a",
    )
    text = show_text(record)
    assert text.splitlines()[:5] == [
        "id: a-one",
        "claim: A claim.",
        "claimant: Someone",
        "date: 2023-06",
        "  (June 2023)",
    ]
    assert "  url: https://example.org/a" in text
    assert text.endswith("Rated False by AFP, 2021-08-24")
