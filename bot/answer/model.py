"""What an answer is, before any rendering: the citations and the one-line lead.

Plain values, no logic beyond wording helpers, so the command line, the JSON
output and the Telegram layer read the same thing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.answer.kinds import Kind


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
    publisher: str | None
    score: float
    #: "Denied by Iran [feb-2023-iran-denies-plant-talks]" and the like.
    notes: tuple[str, ...] = ()
    #: The quote says the claim again nearly word for word: show it, not both.
    quote_repeats_claim: bool = False
    #: An imported fact-check's review (verdict, rating, reviewer, date, url), if any.
    review: dict[str, Any] | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, object]:
        return {
            "claim_id": self.claim_id,
            "snippet": self.snippet,
            "date": self.date,
            "claimant": self.claimant,
            "status": self.status,
            "source": self.source,
            "url": self.url,
            "publisher": self.publisher,
            "score": round(self.score, 6),
            **({"review": self.review} if self.review else {}),
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
    #: The citation whose claim the lead states; its bullet does not say it again.
    lead_id: str | None = None
    #: Why nothing was cited, when nothing was: "empty", "no_records" or "language".
    reason: str | None = None


def shows_claim(answer: Answer, citation: Citation) -> bool:
    """Whether a citation's bullet states its claim: not when the lead already
    does, nor when its quote says the same thing (the quote is always shown)."""
    return citation.claim_id != answer.lead_id and not citation.quote_repeats_claim


def short_claimant(claimant: str) -> str:
    """The claimant without its curator's parenthetical, for one-line leads."""
    return re.sub(r"\s*\([^)]*\)", "", claimant).strip() or claimant


def clip(text: str, limit: int) -> str:
    """Text on one line, cut to ``limit`` characters at a word boundary, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"
