"""What a question is before it is searched: tidied text, and the words that
wrap a question around its topic without saying which record answers it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Set

from bot.search.analysis import clean

#: Questions longer than this are cut (a question, not a document).
MAX_QUESTION_CHARS = 1000

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")

# Words a question wraps around its topic; they say nothing about which record
# answers it, and left in they would make an on-topic question look off-topic.
# Reporting verbs are here too: every record is something reported or said.
# All are English question phrasing, none a word of one story ("What is X's
# stance on", "Where is X located", "Who besides X"): measured on the three
# knowledge bases, dropping the last line's words lost one shipped question
# (hybrid; two with BM25 alone) and one East Palestine held-out question.
QUESTION_FILLER = frozenset(
    """
    report reported reporting reports claim claimed claims announce announced
    write wrote written note noted mention mentioned
    news latest recent recently current currently update updates info information detail
    details happen happened happening go going give show find look explain summary summarize
    summarise mean meant think thought today now ago date time year month day
    hey hello true really correct confirm according accord help near around besides
    position stance view located location locate
    """.split()
)


def tidy(question: str) -> str:
    """The question as one line: HTML tags dropped (pasted from a page or typed as
    markup), compatibility forms folded, control characters and runs of white
    space turned into single spaces, cut to ``MAX_QUESTION_CHARS``."""
    text = _TAG.sub(" ", clean(question))
    return " ".join(text.split())[:MAX_QUESTION_CHARS]


def content_terms(
    terms: Iterable[str], filler: Set[str], whole: Callable[[str], Set[str] | None]
) -> list[str]:
    """A question's content terms, in order, without repeats or filler.

    The analyzer gives a hyphenated word whole and then its parts. ``whole(term)``
    decides which to keep: None drops the whole word for its parts (a word no
    record holds but one of whose parts some record does, "co-produce": kept
    whole it would count as unknown); a set keeps the word whole and drops
    those parts ("F-16", which no record mentions, is one unknown name, not
    three).
    """
    seen: dict[str, None] = {}
    skip: Set[str] = frozenset()
    for term in terms:
        if term in filler or term in skip:
            continue
        if "-" in term:
            parts = whole(term)
            if parts is None:
                continue
            skip = parts
        seen.setdefault(term, None)
    return list(seen)
