"""Which record fields feed the lexical index, and how much each counts.

Fields are weighted by repetition: BM25 saturates term frequency, so a match
in the claim (x3) counts more than one in the quote, claimant, entities and
tags (x2), which count more than one in the source excerpt (x1).
"""

from __future__ import annotations

from bot.knowledge.schema import Record
from bot.search.analysis import Analyzer

#: (field weight, field name) pairs: how each record field feeds the index.
FIELD_WEIGHTS: tuple[tuple[int, str], ...] = (
    (3, "claim"),
    (2, "quote"),
    (2, "claimant"),
    (2, "entities"),
    (2, "tags"),
    (1, "excerpt"),
    (1, "date"),
)


def field_texts(record: Record) -> dict[str, list[str]]:
    """The texts of each indexed field of a record."""
    return {
        "claim": [record.claim],
        "quote": [record.quote] if record.quote else [],
        "claimant": [record.claimant],
        "entities": list(record.entities),
        "tags": [t.replace("-", " ") for t in record.tags],
        "excerpt": [record.source.excerpt],
        "date": [record.date_text],
    }


def document_terms(analyzer: Analyzer, record: Record) -> list[str]:
    """A record's weighted term list, as it goes into BM25."""
    texts = field_texts(record)
    terms: list[str] = []
    for weight, name in FIELD_WEIGHTS:
        field_terms = [t for text in texts[name] for t in analyzer.terms(text)]
        terms.extend(field_terms * weight)
    return terms
