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


def document_counts(analyzer: Analyzer, record: Record) -> tuple[dict[str, int], int]:
    """``Counter(document_terms(...))`` and its length, without the repeated list: each
    term's weighted frequency in order of first appearance, and the record's length."""
    texts = field_texts(record)
    analyse = analyzer.terms
    tf: dict[str, int] = {}
    get = tf.get
    length = 0
    for weight, name in FIELD_WEIGHTS:
        for text in texts[name]:
            found = analyse(text)
            length += weight * len(found)
            for term in found:
                tf[term] = get(term, 0) + weight
    return tf, length
