"""Answers: a question in plain words → a short answer that cites its records.

Pure Python, no Telegram: the command line and the chat layer share it.

The rule is *cite or abstain*: every line of an answer comes from a record and
carries its id; when no record matches the question well enough, the answer is
"I have no claim records about that" with no citation at all.

When to abstain. BM25 scores only compare records within one question, so
the lexical evidence is *coverage*: the IDF-weighted share of the question's
content terms that a record contains. An unknown word counts as the rarest
kind, so "weather in Moscow" (weather: in no record) stays far below the bar,
while "Shahed drones" (both in records) clears it; unknown noise (a number, a
letter, "zq") counts for nothing. With sentence vectors, a record's evidence
is a blend of its cosine similarity to the question and its coverage, so a
paraphrase ("arms" for "weapons") can clear the bar that its words alone miss,
and a question whose key subject no record holds still falls short. The
weights and bars were fitted on the development questions of three knowledge
bases about unrelated stories (``tests/bases/``) and checked on held-out ones.
"""

from __future__ import annotations

import re

from bot.answer.kinds import NUMBER, PLACE, Kind, question_kind
from bot.answer.language import foreign_language
from bot.answer.model import Answer, Citation, clip, short_claimant
from bot.answer.snippets import Snippet, choose_snippet, marks
from bot.knowledge.review import review_json, review_line
from bot.knowledge.schema import Record, date_sort_key
from bot.search.index import Hit, Index
from bot.search.question import tidy

#: A record must hold at least this share of the question's weighted terms.
#: Just over half: one rare record word plus one word in no record ("price of
#: a Shahed drone", "Putin's birthday") is 0.5 and abstains; question filler
#: ("according", "true", "hey") is not counted at all.
MIN_COVERAGE = 0.51
#: Further records join the answer when they score at least this share of the best.
RELATIVE_SCORE = 0.6
#: Hybrid evidence: SEMANTIC_WEIGHT * cosine + (1 - SEMANTIC_WEIGHT) * coverage.
SEMANTIC_WEIGHT = 0.6
#: A record must have at least this much hybrid evidence to be cited.
MIN_EVIDENCE = 0.475
#: Evidence lost when the question names someone or something no record mentions
#: ("What did Zelensky say...?"): the key subject is likely absent.
UNKNOWN_NAME_PENALTY = 0.15
#: Further records join a hybrid answer when their evidence is within this of the best's.
EVIDENCE_MARGIN = 0.12
#: A quote sharing this share of its terms with the claim says it again: one is shown.
REPEAT_OVERLAP = 0.75
#: At most this many records are cited in one answer.
MAX_CITATIONS = 6


NO_RECORDS = "I have no claim records about that."
LANGUAGE_REPLY = (
    "I understand questions in English only, and this one looks like {}. Please ask it in English."
)
EMPTY_QUESTION = "Please ask a question in words, e.g. “When was the factory reported?”"


def _notes(index: Index, record: Record) -> tuple[str, ...]:
    by_id = index.knowledge.by_id
    notes = []
    rated = review_line(record)  # an imported fact-check's verdict comes first
    if rated:
        notes.append(rated)
    for other_id in record.denied_by:
        other = by_id.get(other_id)
        if other is not None:
            notes.append(f"Denied by {other.claimant} ({other.date_text}) [{other.id}]")
    for other_id in record.contradicts:
        other = by_id.get(other_id)
        if other is not None:
            notes.append(f"Answers “{clip(other.claim, 90)}” [{other.id}]")
    if record.status in ("denied", "disputed") and not record.denied_by and not rated:
        notes.append(f"Status: {record.status}")
    return tuple(notes)


def cite(index: Index, hit: Hit) -> Citation:
    record = hit.record
    chosen = choose_snippet(index, record, hit.matched)
    snippet = chosen.text
    return Citation(
        claim_id=record.id,
        claim=record.claim,
        snippet=snippet,
        marks=marks(index, snippet, hit.matched),
        date=record.date,
        date_text=record.date_text,
        date_note=record.date_note,
        claimant=record.claimant,
        status=record.status,
        source=record.source.title,
        url=record.source.url,
        publisher=record.source.publisher,
        score=hit.score,
        notes=_notes(index, record),
        quote_repeats_claim=_repeats(index, record.claim, chosen),
        review=review_json(record),
    )


def _lead(kind: Kind, cited: list[Citation], timeline: bool) -> tuple[str, str | None]:
    """The one-line answer, and the id of the citation whose claim it states (that
    citation's bullet then shows only its date, claimant and quote)."""
    top = cited[0]
    who = short_claimant(top.claimant)
    if kind == "when":
        if timeline:
            return f"First in {top.date_text} — {len(cited)} records, earliest first:", None
        return f"{top.date_text} — {who}: {top.claim}", top.claim_id
    if kind == "where":
        found = PLACE.search(top.claim) or PLACE.search(top.snippet)
        if found:
            place = " ".join(p for p in (found.group("where"), found.group("place")) if p)
            lead = f"{place[0].upper()}{place[1:]} — {who} ({top.date_text}): {top.claim}"
            return lead, top.claim_id
    if kind == "how_many":
        for c in cited:  # the best-ranked record that states a figure
            figure = NUMBER.search(c.claim)
            if figure:
                who = short_claimant(c.claimant)
                lead = f"“{figure.group(0).strip()}” — {who} ({c.date_text}): {c.claim}"
                return lead, c.claim_id
    return f"{who} ({top.date_text}): {top.claim}", top.claim_id


def _repeats(index: Index, claim: str, snippet: Snippet) -> bool:
    """Whether the quote says the claim again nearly word for word (term Jaccard ≥ 0.75).

    The terms choosing the snippet analysed are not analysed again."""
    a = snippet.claim_terms
    if a is None:
        a = set(index.analyzer.terms(claim))
    b = snippet.terms
    if b is None:
        b = set(index.analyzer.terms(snippet.text))
    return bool(a | b) and len(a & b) / len(a | b) >= REPEAT_OVERLAP


def _states(pattern: re.Pattern[str], claim: str) -> int:
    """0 when a claim states a precise place ("east of Moscow") or a figure, 1 for
    a bare place ("in Russia"), 2 when it states neither: the sort key that
    puts the records that answer "where" or "how many" first."""
    found = pattern.search(claim)
    if found is None:
        return 2
    return 1 if "where" in pattern.groupindex and not found.group("where") else 0


def _multilingual(index: Index) -> bool:
    return index.vectors is not None and index.vectors.embedder.multilingual


def evidence(hit: Hit) -> float:
    """How well a record answers the question (0..1): coverage alone for BM25,
    blended with the cosine similarity for hybrid search."""
    if hit.similarity is None:
        return hit.coverage
    return SEMANTIC_WEIGHT * hit.similarity + (1 - SEMANTIC_WEIGHT) * hit.coverage


def _kept(hits: list[Hit], penalty: float = 0.0) -> list[Hit]:
    """The hits an answer cites, best first; none when no record answers well enough.
    ``penalty`` is taken off the hybrid evidence of the best record."""
    if not hits:
        return []
    if hits[0].similarity is None:  # BM25 alone: coverage bar, then BM25's own ranking
        hits = [h for h in hits if h.coverage >= MIN_COVERAGE]
        best = hits[0].relevance if hits else 0.0
        return [h for h in hits if h.relevance >= RELATIVE_SCORE * best]
    ranked = sorted(hits, key=evidence, reverse=True)  # stable: fused rank breaks ties
    top = evidence(ranked[0])
    if top - penalty < MIN_EVIDENCE:
        return []
    return [h for h in ranked if evidence(h) >= max(MIN_EVIDENCE, top - EVIDENCE_MARGIN)]


def answer(index: Index, question: str, limit: int = MAX_CITATIONS) -> Answer:
    """Answer a question from the index, citing records, or abstain."""
    question = tidy(question)
    kind = question_kind(question)
    language = foreign_language(question)
    if language is not None and not _multilingual(index):
        return Answer(question, False, kind, LANGUAGE_REPLY.format(language), reason="language")
    terms = index.question_terms(question)
    if not terms:
        return Answer(question, False, kind, EMPTY_QUESTION, reason="empty")
    penalty = UNKNOWN_NAME_PENALTY if index.unknown_names(question) else 0.0
    kept = _kept(index.search(question, limit=max(limit * 3, 10), terms=terms), penalty)
    if not kept:
        return Answer(question, False, kind, NO_RECORDS, reason="no_records")
    # "How many" and "where" want the record that states a figure or a place:
    # among records that match well, those come first (stable: by score after).
    wanted = {"how_many": NUMBER, "where": PLACE}.get(kind)
    if wanted is not None:
        kept.sort(key=lambda h: _states(wanted, h.claim))
    # A denial cited beside the claim it denies is already shown as that
    # claim's note (with its id): one line, not two. Fields are read, not
    # records decoded: only the cited ones are.
    links = [h.contradicts for h in kept[1:]]
    if any(links):
        shown = {h.record_id for h in kept}
        kept = kept[:1] + [
            h for h, ids in zip(kept[1:], links, strict=True) if not set(ids) & shown
        ]
    more = max(0, len(kept) - limit)
    cited = [cite(index, h) for h in kept[:limit]]
    timeline = kind == "when" and len(cited) > 1
    if timeline:
        cited.sort(key=lambda c: date_sort_key(c.date))
    sources = tuple(dict.fromkeys(c.source for c in cited if c.source))
    lead, lead_id = _lead(kind, cited, timeline)
    return Answer(
        question=question,
        found=True,
        kind=kind,
        lead=lead,
        lead_id=lead_id,
        citations=tuple(cited),
        timeline=timeline,
        more=more,
        sources=sources,
    )
