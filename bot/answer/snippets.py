"""The snippet an answer quotes: the excerpt sentence that carries the record's claim,
with the question's words marked."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.schema import Record
from bot.search.analysis import WORD
from bot.search.index import Index

_SENTENCE = re.compile(r"(?<=[.!?…])[\"”’)]*\s+(?=[\"“‘(]?[A-Z0-9])")
#: Words that end in a full stop without ending a sentence: titles, ranks, months,
#: company forms (English). Dotted abbreviations ("U.S.", "a.m.") and single
#: initials ("J. Smith") are recognised by their shape.
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st gen sen rep gov lt col sgt capt cmdr adm maj pres jr sr rev
    inc ltd co corp bros vs etc no nos dept est approx fig jan feb mar apr jun jul aug
    sep sept oct nov dec mt ft""".split()
)
_DOTTED = re.compile(r"(?:^|[\s(\"“])(?:[A-Za-z]\.){1,3}$|(?:^|[\s(\"“])([A-Za-z]+)\.$")
_INITIALS = re.compile(r"(?:[A-Za-z]\.){1,3}")
_WORD_DOT = re.compile(r"([A-Za-z]+)\.")


def _ends_in_abbreviation(piece: str) -> bool:
    """Whether ``_DOTTED`` matches: read from the piece's last word alone.

    Neither of its shapes holds a space, "(" or a quote, so only what follows
    the last of those can match (a search of the whole piece costs 10x more).
    """
    piece = piece.removesuffix("\n")  # where "$" matches too
    if not piece.endswith("."):
        return False
    tail = piece.rsplit(None, 1)[-1]  # str.split's whitespace is re's \s
    tail = tail[max(tail.rfind("("), tail.rfind('"'), tail.rfind("“")) + 1 :]
    if _INITIALS.fullmatch(tail):
        return True
    found = _WORD_DOT.fullmatch(tail)
    return found is not None and found.group(1).lower() in ABBREVIATIONS


def sentences(text: str) -> list[str]:
    """Split text into sentences, not after "Mr.", "U.S." or "a.m." and the like."""
    parts: list[str] = []
    for piece in (p.strip() for p in _SENTENCE.split(text)):
        if not piece:
            continue
        if parts and _ends_in_abbreviation(parts[-1]):
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    return parts or [text.strip()]


#: WORD for ASCII text (its apostrophe "’" is not ASCII): the same matches, found faster.
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")


def marks(index: Index, text: str, terms: frozenset[str]) -> tuple[tuple[int, int], ...]:
    """The spans of ``text``'s words whose terms are among ``terms``."""
    if not terms:
        return ()
    word_terms = index.analyzer.word_terms
    pattern = _ASCII_WORD if text.isascii() else WORD
    return tuple(
        match.span()
        for match in pattern.finditer(text)
        if not terms.isdisjoint(word_terms(match.group()))
    )


_HEAD_END = re.compile(r"\s(?:that|whether|if)\s|:\s", re.IGNORECASE)
#: A claim with no "that" clause: its act is read from this many first words.
HEAD_WORDS = 6


def claim_act(index: Index, record: Record) -> set[str]:
    """The terms of what the claimant did: the claim's main clause without the
    claimant's own name ("Iran *denied* the *information* that ...").

    A claim restates its context ("... that Iran and Russia were holding talks"),
    and an excerpt often quotes that context in a sentence of its own; the act
    ("denied", "suggested") is what tells the claim's own sentence apart, even
    where that sentence names the claimant only as "they".
    """
    claim = record.claim
    end = _HEAD_END.search(claim)
    head = claim[: end.start()] if end else " ".join(claim.split()[:HEAD_WORDS])
    return set(index.analyzer.terms(head)) - set(index.analyzer.terms(record.claimant))


@dataclass(frozen=True)
class Snippet:
    """A chosen snippet, with the analysis that chose it, for the citation to reuse."""

    text: str
    #: The snippet's terms and the claim's, where choosing it needed them (else None).
    terms: set[str] | None = None
    claim_terms: set[str] | None = None


def best_snippet(index: Index, record: Record, terms: frozenset[str]) -> str:
    """The excerpt sentence that carries this record's claim (see :func:`choose_snippet`)."""
    return choose_snippet(index, record, terms).text


def choose_snippet(index: Index, record: Record, terms: frozenset[str]) -> Snippet:
    """The excerpt sentence that carries this record's claim.

    A sentence holding the record's verbatim quote carries it. Otherwise the
    claim's act (:func:`claim_act`) weighs most, then the claim's words, then
    the question's words to break ties.
    """
    candidates = sentences(record.source.excerpt)
    if len(candidates) == 1:
        return Snippet(candidates[0])
    if record.quote:
        quoting = [c for c in candidates if record.quote[:60] in c]
        if quoting:
            return Snippet(quoting[0])
    claim_terms = set(index.analyzer.terms(record.claim))
    act = claim_act(index, record)
    weights = {t: index.weight(t) for t in terms}
    question_weight = sum(weights[t] for t in terms) or 1.0

    def gain(found: set[str]) -> float:
        act_share = len(act & found) / len(act) if act else 0.0
        claim_share = len(claim_terms & found) / max(1, len(claim_terms))
        question_share = sum(weights[t] for t in terms & found) / question_weight
        return 2 * act_share + claim_share + 0.25 * question_share

    # An excerpt often opens with the claim itself: its terms are known.
    analysed = [
        (c, claim_terms if c == record.claim else set(index.analyzer.terms(c))) for c in candidates
    ]
    best, found = max(analysed, key=lambda pair: gain(pair[1]))  # max keeps the first of equals
    return Snippet(best, found, claim_terms)
