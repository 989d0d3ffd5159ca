"""bot/knowledge/spreadsheet.py: CSV with quoting, commas and non-ASCII text, both ways."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import InputError
from bot.knowledge.items import UNNAMED_CLAIMANT
from bot.knowledge.schema import Record
from bot.knowledge.spreadsheet import COLUMNS, read_csv, write_csv
from tests.records import built

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "claims-example.csv"


def test_the_documented_example_reads_with_its_quotes_commas_and_accents() -> None:
    items = read_csv(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))
    assert [i.position for i in items] == ["row 2", "row 3", "row 4"]
    first, second, third = (i.fields or {} for i in items)
    assert first["claim"].startswith("Kharkiv fell, and a Russian flag")
    assert first["status"] == "disputed" and first["tags"] == ["fact-check", "ukraine"]
    assert first["review"]["rating"] == 3 and first["review"]["reviewer"] == "AFP"
    assert "id" not in first  # the importer derives it from the review URL
    assert second["claim"] == "Vídeo mostra casa que Lula está alugando por R$ 20.500 em São Paulo"
    assert second["review"]["url"].startswith("https://projetocomprova.com.br/publica%C3%A7")
    assert third["id"] == "newsroom-2024-mayor-bridge-opening"
    assert third["claim"] == 'The mayor said the bridge would open "by the end of June"'
    assert third["source"]["excerpt"].endswith('"by the end of June", weeks later than planned.')
    assert "review" not in third
    for item in items:
        Record.model_validate({"id": "x", **(item.fields or {})})


def test_short_column_names_a_bom_and_semicolons() -> None:
    text = "\ufeffclaim;date;verdict;excerpt\nÜber 50 % der Brücken sind marode;2021;Falsch;Zitat\n"
    (item,) = read_csv(text, "s.csv")
    fields = item.fields or {}
    assert fields["claim"] == "Über 50 % der Brücken sind marode"
    assert fields["review"] == {"verdict": "Falsch"} and fields["source"]["excerpt"] == "Zitat"
    assert fields["claimant"] == UNNAMED_CLAIMANT and fields["status"] == "disputed"


def test_rows_that_cannot_be_records_are_skipped_with_their_row_number() -> None:
    text = (
        "claim,date,source.url\n"
        "A claim,2023-02-30,\n"
        ",2023,\n"
        "Another,,\n"
        "\n"
        "Third,2023,not a url\n"
        "Fourth,2023,https://x.org,extra\n"
        "Fine,2023,https://x.org/\n"
    )
    items = read_csv(text, "s.csv")
    reasons = {i.position: i.reason for i in items}
    assert reasons == {
        "row 2": "date: unreadable date '2023-02-30'",
        "row 3": "no claim text (the 'claim' cell is empty)",
        "row 4": "no date (the 'date' cell is empty)",
        "row 6": "source.url: url 'not a url' is relative and there is no page to resolve it "
        "against",
        "row 7": "4 cells but 3 columns: quote a cell that holds a comma",
        "row 8": None,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("claim,colour\nx,red\n", "unknown column 'colour'"),
        ("claim,claim\nx,y\n", "column 'claim' appears twice"),
        ("date\n2023\n", "no 'claim' column"),
        (",,\n", "the first row must name the columns"),
        ('claim,date\n"unclosed,2023\nmore,2024\n', "not readable as CSV: unexpected end"),
    ],
)
def test_a_sheet_that_cannot_be_used_is_an_input_error(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_csv(text, "s.csv")


def test_write_then_read_gives_the_same_records() -> None:
    records = [
        built(
            "a-one",
            claim='He said, "no", then «oui» — 100 %',
            excerpt="Line one,\nline two with “quotes”",
            entities=["São Paulo", "Köln"],
            tags=["a", "b-c"],
            language="pt-BR",
            review={"verdict": "Falso", "rating": 2.5, "best": 5, "reviewer": "Lupa"},
        ),
        built("b-two", denied_by=["a-one"], date_note="Year from context.", quote="excerpt"),
    ]
    text = write_csv(records)
    assert text.splitlines()[0] == ",".join(COLUMNS)
    items = read_csv(text, "x.csv")
    assert [Record.model_validate(i.fields) for i in items] == records
