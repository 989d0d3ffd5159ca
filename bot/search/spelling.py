"""Spelling correction of question words against the knowledge base's own words.

A question word no record knows is read as the closest record word
("dron factroy" → "drone factory"); a near miss such as "grain" for "train" is
left alone. Only record and alias words are offered, so a correction can only
ever move a question towards what the records say.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence

from bot.knowledge.loader import KnowledgeBase
from bot.search.analysis import STOP_WORDS, words
from bot.search.fields import field_texts

#: Spelling correction reads every record's words once; above this many records
#: that costs more than it saves, and questions are taken as typed.
SPELLING_MAX_RECORDS = 50_000
#: How alike a misspelt word and a record word must be (difflib ratio):
#: "factroy"/"factory" 0.86 pass, "grain"/"train" 0.80 do not.
SPELLING_CUTOFF = 0.84


def spelling_words(knowledge: KnowledgeBase) -> list[str]:
    """The record and alias words (4+ letters) that spelling correction may offer;
    none above SPELLING_MAX_RECORDS records. Computed at build time and cached."""
    found: set[str] = set()
    if len(knowledge.records) <= SPELLING_MAX_RECORDS:
        for record in knowledge.records:
            for texts in field_texts(record).values():
                for text in texts:
                    found.update(w for w in words(text) if len(w) >= 4)
        for group in knowledge.aliases:
            for phrase in group:
                found.update(w for w in words(phrase) if len(w) >= 4)
    return sorted(found)


def _buckets(spelling: Sequence[str]) -> dict[tuple[str, int], list[str]]:
    """Words by (first letter, length): a typo rarely changes the first letter or
    the length by more than two, so a word is compared with few others."""
    buckets: dict[tuple[str, int], list[str]] = {}
    for word in spelling:
        buckets.setdefault((word[0], len(word)), []).append(word)
    return buckets


class Speller:
    """Corrects words against a fixed word list (see :func:`spelling_words`)."""

    def __init__(self, spelling: Sequence[str]) -> None:
        self.words: tuple[str, ...] = tuple(spelling)
        self._buckets = _buckets(self.words)

    def correct(self, question: str, known: Callable[[str], bool]) -> str:
        """The question with misspelt words replaced by the closest listed word.

        Only words that ``known`` rejects are touched (4+ letters, not stop
        words): "iranian dron factroy" becomes "iranian drone factory".
        """
        if not self._buckets:
            return question
        out = []
        for word in words(question):
            if len(word) >= 4 and word not in STOP_WORDS and not known(word):
                nearby = [
                    w
                    for size in range(len(word) - 2, len(word) + 3)
                    for w in self._buckets.get((word[0], size), ())
                ]
                close = difflib.get_close_matches(word, nearby, n=1, cutoff=SPELLING_CUTOFF)
                word = close[0] if close else word
            out.append(word)
        return " ".join(out)
