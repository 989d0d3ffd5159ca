"""The snippet an answer quotes: the excerpt sentence that carries the record's claim,
with the question's words marked."""

from __future__ import annotations

import re

from bot.knowledge.schema import Record
from bot.search.analysis import WORD
from bot.search.index import Index

_SENTENCE = re.compile(r"(?<=[.!?…])[\"”’)]*\s+(?=[\"“‘(]?[A-Z0-9])")


def sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE.split(text) if p.strip()]
    return parts or [text.strip()]


def marks(index: Index, text: str, terms: frozenset[str]) -> tuple[tuple[int, int], ...]:
    return tuple(
        match.span()
        for match in WORD.finditer(text)
        if terms.intersection(index.analyzer.word_terms(match.group()))
    )


def best_snippet(index: Index, record: Record, terms: frozenset[str]) -> str:
    """The excerpt sentence that best carries this record's claim and the question's words.

    An excerpt can hold a neighbouring sentence for context; the claim's own
    words pick the sentence the record rests on, the question's words break ties.
    """
    candidates = sentences(record.source.excerpt)
    if len(candidates) == 1:
        return candidates[0]
    claim_terms = set(index.analyzer.terms(record.claim))
    question_weight = sum(index.weight(t) for t in terms) or 1.0

    def gain(sentence: str) -> float:
        found = set(index.analyzer.terms(sentence))
        claim_share = len(claim_terms & found) / max(1, len(claim_terms))
        question_share = sum(index.weight(t) for t in terms & found) / question_weight
        return claim_share + 0.25 * question_share

    return max(candidates, key=gain)  # max keeps the first of equals
