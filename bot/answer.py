"""Answers: a question in plain words → a short answer that cites its records.

Pure Python, no Telegram: the command line and the chat layer share it.

The rule is *cite or abstain*: every line of an answer comes from a record and
carries its id; when no record matches the question well enough, the answer is
"I have no claim records about that" with no citation at all.

When to abstain. BM25 scores only compare records within one question, so the
cut-off is on *coverage* instead: the IDF-weighted share of the question's
content terms that a record contains. An unknown word counts as the rarest
kind, so "weather in Moscow" (weather: in no record) stays far below the bar,
while "Shahed drones" (both in records) clears it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from bot.schema import Record, date_sort_key
from bot.search import Hit, Index
from bot.text import WORD, clean

#: A record must hold at least this share of the question's weighted terms.
#: Just over half: one rare record word plus one word in no record ("price of
#: a Shahed drone", "Putin's birthday") is 0.5 and abstains; question filler
#: ("according", "true", "hey") is not counted at all.
MIN_COVERAGE = 0.51
#: Further records join the answer when they score at least this share of the best.
RELATIVE_SCORE = 0.6
#: At most this many records are cited in one answer.
MAX_CITATIONS = 6
#: Questions longer than this are cut (a question, not a document).
MAX_QUESTION_CHARS = 1000

Kind = Literal["when", "who", "where", "how_many", "what"]

NO_RECORDS = "I have no claim records about that."
EMPTY_QUESTION = "Please ask a question in words, e.g. “When was the factory reported?”"

_SENTENCE = re.compile(r"(?<=[.!?…])[\"”’)]*\s+(?=[\"“‘(]?[A-Z0-9])")
_NUMBER = re.compile(
    r"(?<![\w-])(?:\d[\d,.]*\s*(?:%|percent)?|hundreds|thousands|dozens|millions|"
    r"one|two|three|four|five|six|seven|eight|nine|ten|several|many)\b(?!-)(?:\s+of)?"
    r"(?:\s+[\w’'-]+){0,3}",
    re.IGNORECASE,
)
_PLACE = re.compile(
    r"\b(?:(?P<where>(?:east|west|north|south) of|near|outside|across|via)|in|into|from|at)\s+"
    r"(?P<place>(?:the\s+)?[A-Z][\w’'-]*(?:\s+(?:of\s+)?[A-Z][\w’'-]*)*)"
)


def question_kind(question: str) -> Kind:
    """What the question asks for, from its wording."""
    q = question.lower()
    if re.search(r"\b(when|what (date|year|month|day|time)|since when|how long ago)\b", q):
        return "when"
    if re.search(r"\bhow (many|much)\b", q):
        return "how_many"
    if re.search(r"\b(who|whom|whose|which (country|agency|outlet|newspaper|paper|official))\b", q):
        return "who"
    if re.search(r"\bwhere\b", q):
        return "where"
    return "what"


@dataclass(frozen=True)
class Citation:
    """One cited record: the snippet it rests on and where it comes from."""

    claim_id: str
    claim: str
    #: The best-matching sentence(s) of the record's source excerpt, verbatim.
    snippet: str
    #: (start, end) spans in ``snippet`` that match the question's terms.
    marks: tuple[tuple[int, int], ...]
    date: str
    date_text: str
    date_note: str | None
    claimant: str
    status: str
    source: str | None
    url: str | None
    score: float
    #: "Denied by Iran [feb-2023-iran-denies-plant-talks]" and the like.
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "claim_id": self.claim_id,
            "snippet": self.snippet,
            "date": self.date,
            "claimant": self.claimant,
            "status": self.status,
            "source": self.source,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class Answer:
    """The bot's reply to one question, before any rendering."""

    question: str
    found: bool
    kind: Kind
    #: The direct answer, one sentence; every fact in it comes from a citation.
    lead: str
    citations: tuple[Citation, ...] = ()
    #: True when the citations form a timeline (earliest first).
    timeline: bool = False
    #: More records matched than were cited.
    more: int = 0
    sources: tuple[str, ...] = field(default=())


def sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE.split(text) if p.strip()]
    return parts or [text.strip()]


def _marks(index: Index, text: str, terms: frozenset[str]) -> tuple[tuple[int, int], ...]:
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


def _notes(index: Index, record: Record) -> tuple[str, ...]:
    by_id = index.knowledge.by_id
    notes = []
    for other_id in record.denied_by:
        other = by_id.get(other_id)
        if other is not None:
            notes.append(f"Denied by {other.claimant} ({other.date_text}) [{other.id}]")
    for other_id in record.contradicts:
        other = by_id.get(other_id)
        if other is not None:
            notes.append(f"Answers “{_clip(other.claim, 90)}” [{other.id}]")
    if record.status in ("denied", "disputed") and not record.denied_by:
        notes.append(f"Status: {record.status}")
    return tuple(notes)


def short_claimant(claimant: str) -> str:
    """The claimant without its curator's parenthetical, for one-line leads."""
    return re.sub(r"\s*\([^)]*\)", "", claimant).strip() or claimant


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def cite(index: Index, hit: Hit) -> Citation:
    record = hit.record
    snippet = best_snippet(index, record, hit.matched)
    return Citation(
        claim_id=record.id,
        claim=record.claim,
        snippet=snippet,
        marks=_marks(index, snippet, hit.matched),
        date=record.date,
        date_text=record.date_text,
        date_note=record.date_note,
        claimant=record.claimant,
        status=record.status,
        source=record.source.title,
        url=record.source.url,
        score=hit.score,
        notes=_notes(index, record),
    )


def _lead(kind: Kind, cited: list[Citation], timeline: bool) -> str:
    top = cited[0]
    who = short_claimant(top.claimant)
    if kind == "when":
        if timeline:
            return f"First in {top.date_text} — {len(cited)} records, earliest first:"
        return f"{top.date_text} — {who}: {top.claim}"
    if kind == "who":
        return f"{who} ({top.date_text}): {top.claim}"
    if kind == "where":
        found = _PLACE.search(top.claim) or _PLACE.search(top.snippet)
        if found:
            place = " ".join(p for p in (found.group("where"), found.group("place")) if p)
            return f"{place[0].upper()}{place[1:]} — {who} ({top.date_text}): {top.claim}"
    if kind == "how_many":
        for c in cited:  # the best-ranked record that states a figure
            figure = _NUMBER.search(c.claim)
            if figure:
                who = short_claimant(c.claimant)
                return f"“{figure.group(0).strip()}” — {who} ({c.date_text}): {c.claim}"
    return f"{who} ({top.date_text}): {top.claim}"


def answer(index: Index, question: str, limit: int = MAX_CITATIONS) -> Answer:
    """Answer a question from the index, citing records, or abstain."""
    question = " ".join(clean(question).split())[:MAX_QUESTION_CHARS]
    kind = question_kind(question)
    terms = index.question_terms(question)
    if not terms:
        return Answer(question, False, kind, EMPTY_QUESTION)
    hits = [h for h in index.search(terms, limit=max(limit * 3, 10)) if h.coverage >= MIN_COVERAGE]
    if not hits:
        return Answer(question, False, kind, NO_RECORDS)
    best = hits[0].relevance
    kept = [h for h in hits if h.relevance >= RELATIVE_SCORE * best]
    # "How many" and "where" want the record that states a figure or a place:
    # among records that match well, those come first (stable: by score after).
    wanted = {"how_many": _NUMBER, "where": _PLACE}.get(kind)
    if wanted is not None:
        kept.sort(key=lambda h: wanted.search(h.record.claim) is None)
    # A denial cited beside the claim it denies is already shown as that
    # claim's note (with its id): one line, not two.
    shown = {h.record.id for h in kept}
    kept = kept[:1] + [h for h in kept[1:] if not set(h.record.contradicts) & shown]
    more = max(0, len(kept) - limit)
    cited = [cite(index, h) for h in kept[:limit]]
    timeline = kind == "when" and len(cited) > 1
    if timeline:
        cited.sort(key=lambda c: date_sort_key(c.date))
    sources = tuple(dict.fromkeys(c.source for c in cited if c.source))
    return Answer(
        question=question,
        found=True,
        kind=kind,
        lead=_lead(kind, cited, timeline),
        citations=tuple(cited),
        timeline=timeline,
        more=more,
        sources=sources,
    )
