"""What an import reader yields: one item of an input, where it is, and what it holds.

Each reader (ClaimReview markup, HTML pages, spreadsheets) turns an input into
:class:`Item` values: the record's fields (``id`` may be missing: the importer
derives a stable one), or the reason the item cannot be a record. The importer
validates, merges and reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The claimant of a record whose input names none.
UNNAMED_CLAIMANT = "Unnamed (the fact-check names no claimant)"


@dataclass(frozen=True)
class Item:
    """One item of an input file.

    ``position`` says where in the file: ``[0]``, ``@graph[7]``,
    ``dataFeedElement[2].item[0]``, ``script 2: [0]``, ``claims[0].claimReview[1]``,
    ``row 5``; empty for the whole file.
    """

    file: str
    position: str
    fields: dict[str, Any] | None = None
    reason: str | None = None
    #: What was written but could not be used, though the item was imported.
    notes: tuple[str, ...] = field(default=())

    @property
    def where(self) -> str:
        return f"{self.file} ({self.position})" if self.position else self.file


def skipped(file: str, position: str, reason: str) -> Item:
    return Item(file, position, None, reason)
