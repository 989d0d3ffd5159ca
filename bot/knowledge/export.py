"""``python -m bot export``: the knowledge base as ClaimReview JSON-LD or as CSV.

``claimreview`` writes one JSON-LD ``DataFeed`` (the shape Google's fact-check
feeds and Data Commons use): a ``ClaimReview`` per imported fact-check, a bare
``Claim`` per hand-curated record (our status is no verdict, so it is not dressed
as one). ``csv`` writes the spreadsheet columns of :mod:`bot.knowledge.spreadsheet`.
Importing either gives back the same records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from bot.knowledge.atomic import write_atomically
from bot.knowledge.claimreview import data_feed
from bot.knowledge.schema import Record
from bot.knowledge.spreadsheet import write_csv

FORMATS = ("claimreview", "csv")


def export_text(records: Iterable[Record], format: str) -> str:
    """The records in ``format`` (one of :data:`FORMATS`), as text ending in a newline."""
    if format == "claimreview":
        return json.dumps(data_feed(records), ensure_ascii=False, indent=2) + "\n"
    if format == "csv":
        return write_csv(records)
    raise ValueError(f"unknown export format {format!r}; use one of {', '.join(FORMATS)}")


def export_to(records: Iterable[Record], format: str, out: Path) -> None:
    """Write the export to ``out`` atomically (OSError when it cannot be written)."""
    write_atomically(out, export_text(records, format))
