"""Records on the command line: ``list`` (filtered rows) and ``show`` (one record whole)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.errors import UnknownRecordError
from bot.knowledge import values
from bot.knowledge.importer import record_data
from bot.knowledge.review import review_line
from bot.knowledge.schema import Record, date_sort_key

CLAIM_WORDS = 12
CLAIMANT_WIDTH = 30


def since_date(text: str) -> str:
    """A ``--since`` value as a partial date; ValueError saying what to write."""
    found, problem = values.date(text)
    if found is None:
        raise ValueError(problem or "write a date as YYYY, YYYY-MM or YYYY-MM-DD")
    return found


def _latest_day(date: str) -> tuple[int, int, int]:
    year, month, day = date_sort_key(date)
    return year, 12 if month == 13 else month, 31 if day == 32 else day


def _earliest_day(date: str) -> tuple[int, int, int]:
    year, month, day = date_sort_key(date)
    return year, 1 if month == 13 else month, 1 if day == 32 else day


def select(
    records: Iterable[Record], tags: Sequence[str] = (), since: str | None = None
) -> list[Record]:
    """The records with any of ``tags`` (case-insensitive) that may date from ``since``
    on: a record dated "2023" counts for ``--since 2023-06`` (it may be from June on)."""
    wanted = {t.lower() for t in tags}
    chosen = []
    for record in records:
        if wanted and not wanted & {t.lower() for t in record.tags}:
            continue
        if since is not None and _latest_day(record.date) < _earliest_day(since):
            continue
        chosen.append(record)
    return chosen


def first_words(text: str, count: int = CLAIM_WORDS) -> str:
    words = text.split()
    return " ".join(words[:count]) + (" …" if len(words) > count else "")


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def list_rows(records: Sequence[Record]) -> str:
    """One line per record: id, date, claimant, the claim's first words."""
    if not records:
        return ""
    id_width = max(len(r.id) for r in records)
    lines = [
        f"{r.id:<{id_width}}  {r.date:<10}  {_fit(r.claimant, CLAIMANT_WIDTH):<{CLAIMANT_WIDTH}}  "
        f"{first_words(r.claim)}".rstrip()
        for r in records
    ]
    return "\n".join(lines)


def list_json(records: Sequence[Record]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "date": r.date,
            "claimant": r.claimant,
            "claim": r.claim,
            "status": r.status,
            "tags": list(r.tags),
        }
        for r in records
    ]


def find(by_id: Mapping[str, Record], rid: str) -> Record:
    """The record with id ``rid``; UnknownRecordError naming close ids otherwise."""
    if rid in by_id:
        return by_id[rid]
    close = difflib.get_close_matches(rid, list(by_id), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `list` shows every id"
    raise UnknownRecordError(f"no record with id {rid!r}{hint}")


def show_json(record: Record) -> dict[str, Any]:
    return record_data(record)


def _lines(data: Mapping[str, Any], indent: str = "") -> list[str]:
    lines = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines.append(f"{indent}{key}:")
            lines += _lines(value, indent + "  ")
        elif isinstance(value, list):
            lines.append(f"{indent}{key}: {', '.join(str(v) for v in value)}")
        else:
            text = str(value).replace("\n", "\n" + indent + "  ")
            lines.append(f"{indent}{key}: {text}")
    return lines


def show_text(record: Record) -> str:
    """A record field by field, with its date in words and its review in one line."""
    lines = _lines(record_data(record))
    lines.insert(4, f"  ({record.date_text})")
    line = review_line(record)
    if line:
        lines.append(line)
    return "\n".join(lines)
