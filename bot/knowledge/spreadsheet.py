"""Claim records as a spreadsheet: CSV with a header row named after the record's fields.

What a team exports from a shared sheet (UTF-8; a byte-order mark, as Excel writes,
is fine; comma-separated, or semicolons or tabs when the header row uses them). One
row per record. The columns, in the order :func:`write_csv` writes them:

``id, claim, claimant, date, date_note, status, denied_by, contradicts, quote,
source.title, source.publisher, source.url, source.published, source.excerpt,
entities, tags, language, first_appearance, review.verdict, review.rating,
review.best, review.worst, review.reviewer, review.reviewer_url, review.date,
review.url, review.title``

Only ``claim`` and ``date`` are needed (or ``review.date`` standing in for a
missing ``date``); an empty cell is a field left out. ``excerpt``, ``publisher``,
``published``, ``verdict``, ``rating``, ``best``, ``worst``, ``reviewer`` and
``reviewer_url`` may be written without their ``source.`` or ``review.``. Lists
(``entities``, ``tags``, ``denied_by``, ``contradicts``) are separated by ``;``.
Without an ``id`` the importer derives a stable one; without a ``status`` it is
worked out from the verdict as for ClaimReview; without a ``claimant`` or an
excerpt, the record says so and quotes the claim. See ``docs/claims-example.csv``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from bot.errors import InputError
from bot.knowledge import values
from bot.knowledge.claimreview import status_from_review
from bot.knowledge.items import UNNAMED_CLAIMANT, Item, skipped
from bot.knowledge.schema import Record

COLUMNS: tuple[str, ...] = (
    "id", "claim", "claimant", "date", "date_note", "status", "denied_by", "contradicts",
    "quote", "source.title", "source.publisher", "source.url", "source.published",
    "source.excerpt", "entities", "tags", "language", "first_appearance",
    "review.verdict", "review.rating", "review.best", "review.worst", "review.reviewer",
    "review.reviewer_url", "review.date", "review.url", "review.title",
)  # fmt: skip
LIST_COLUMNS = frozenset({"denied_by", "contradicts", "entities", "tags"})
NUMBER_COLUMNS = frozenset({"review.rating", "review.best", "review.worst"})
URL_COLUMNS = frozenset({"source.url", "first_appearance", "review.reviewer_url", "review.url"})
DATE_COLUMNS = frozenset({"date", "source.published", "review.date"})
#: Short names a sheet may use for a nested field that has no namesake.
SHORT_NAMES = {
    name.split(".", 1)[1]: name
    for name in COLUMNS
    if "." in name and name.split(".", 1)[1] in {
        "excerpt", "publisher", "published", "verdict", "rating", "best", "worst",
        "reviewer", "reviewer_url",
    }
}  # fmt: skip
LIST_SEPARATOR = ";"


def _column(header: str) -> str | None:
    name = header.strip().lower().replace(" ", "_")
    if name in COLUMNS:
        return name
    return SHORT_NAMES.get(name)


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    for candidate in (",", "\t", ";"):
        if candidate in first:
            return candidate
    return ","


def read_csv(text: str, file: str) -> list[Item]:
    """Every row of a CSV text as an item; raises InputError when the header cannot be used."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(
            file, f"not readable as CSV: {exc} (line {reader.line_num}); check the quotes"
        ) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise InputError(file, "the first row must name the columns (claim, date, ...)")
    header = [cell.strip() for cell in rows[0]]
    columns: list[str] = []
    for cell in header:
        column = _column(cell)
        if column is None:
            raise InputError(
                file,
                f"unknown column {cell!r}; the columns are: {', '.join(COLUMNS)} "
                "(see docs/claimreview.md)",
            )
        if column in columns:
            raise InputError(file, f"column {cell!r} appears twice")
        columns.append(column)
    if "claim" not in columns:
        raise InputError(file, "no 'claim' column: every row needs the claim's text")
    items = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"row {number}"
        if len(row) > len(columns):
            items.append(
                skipped(
                    file,
                    where,
                    f"{len(row)} cells but {len(columns)} columns: quote a cell that holds a comma",
                )
            )
            continue
        cells = {c: v.strip() for c, v in zip(columns, row, strict=False) if v.strip()}
        items.append(_row(cells, file, where))
    if not items:
        items.append(skipped(file, "", "the sheet has a header row but no records"))
    return items


def _row(cells: dict[str, str], file: str, where: str) -> Item:
    fields: dict[str, Any] = {}
    for column, cell in cells.items():
        value: Any = cell
        if column in LIST_COLUMNS:
            value = [p.strip() for p in cell.split(LIST_SEPARATOR) if p.strip()]
        elif column in NUMBER_COLUMNS:
            number = values.number(cell)
            value = cell if number is None and cell != "-1" else number
        elif column in URL_COLUMNS:
            value, problem = values.url(cell)
            if problem:
                return skipped(file, where, f"{column}: {problem}")
        elif column in DATE_COLUMNS:
            value, problem = values.date(cell)
            if problem:
                return skipped(file, where, f"{column}: {problem}")
        if value is None:
            continue
        if "." in column:
            group, name = column.split(".", 1)
            fields.setdefault(group, {})[name] = value
        else:
            fields[column] = value
    if "claim" not in fields:
        return skipped(file, where, "no claim text (the 'claim' cell is empty)")
    review = fields.get("review")
    if "date" not in fields:
        if not review or "date" not in review:
            return skipped(file, where, "no date (the 'date' cell is empty)")
        fields["date"] = review["date"]
        fields.setdefault(
            "date_note", "The sheet gives no date for the claim; this is the date of the review."
        )
    fields.setdefault("claimant", UNNAMED_CLAIMANT)
    fields.setdefault("source", {}).setdefault("excerpt", fields["claim"])
    if "status" not in fields:
        review = review or {}
        rating = review.get("rating")
        best = review.get("best")
        fields["status"] = status_from_review(
            review.get("verdict"),
            rating if isinstance(rating, int | float) else None,
            best if isinstance(best, int | float) else None,
        )
    return Item(file, where, fields)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return f"{LIST_SEPARATOR} ".join(str(v) for v in value)
    return str(value)


def record_row(record: Record) -> list[str]:
    data = record.model_dump(mode="python")
    row = []
    for column in COLUMNS:
        if "." in column:
            group, name = column.split(".", 1)
            inner = data.get(group) or {}
            row.append(_cell(inner.get(name)))
        else:
            row.append(_cell(data.get(column)))
    return row


def write_csv(records: Iterable[Record]) -> str:
    """The records as CSV text, one row each, every column of :data:`COLUMNS`."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow(record_row(record))
    return out.getvalue()
