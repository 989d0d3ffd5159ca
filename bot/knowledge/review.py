"""How a record's published fact-check reads in an answer: one line, or a JSON object.

Pure functions of the record, for the answer and chat layers:
``review_line(record)`` → ``"Rated False by AFP, 2021-08-24"``;
``review_json(record)`` → verdict, rating, reviewer, date and URL. Both are None
for a record without a review (every hand-curated record).
"""

from __future__ import annotations

from typing import Any

from bot.knowledge.claimreview import verdict_head
from bot.knowledge.schema import Record

#: A verdict longer than this is a sentence: the line quotes it, shortened.
SHORT_VERDICT = 40
QUOTED_VERDICT = 120


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _verdict(verdict: str) -> tuple[str, bool]:
    """(the words to show, whether they are a short verdict rather than a quotation)."""
    if len(verdict) <= SHORT_VERDICT and "\n" not in verdict:
        return verdict, True
    head, sep, _ = verdict.partition(":")
    if sep and 0 < len(head.strip()) <= SHORT_VERDICT and verdict_head(verdict):
        return head.strip(), True
    if len(verdict) > QUOTED_VERDICT:
        verdict = verdict[:QUOTED_VERDICT].rsplit(" ", 1)[0] + "…"
    return verdict, False


def review_line(record: Record) -> str | None:
    """One line on the record's fact-check, or None when it has none.

    ``Rated False by AFP, 2021-08-24``; ``Rated 2 of 5 by India Today`` when there is
    no verdict in words; ``Rated by Deutsche Presse-Agentur, 2019-09-20: “Reker hat
    diesen Satz nie gesagt. …”`` when the verdict is a sentence (``FALSO: As imagens
    ...`` reads ``Rated FALSO by Comprova``); ``Reviewed by X`` with no rating at all.
    """
    review = record.review
    if review is None:
        return None
    by = f" by {review.reviewer}" if review.reviewer else ""
    when = f", {review.date}" if review.date else ""
    if review.verdict:
        words, short = _verdict(review.verdict)
        if short:
            return f"Rated {words}{by}{when}"
        return f"Rated{by}{when}: “{words}”"
    if review.rating is not None:
        scale = f" of {_number(review.best)}" if review.best is not None else ""
        return f"Rated {_number(review.rating)}{scale}{by}{when}"
    if by or when:
        return f"Reviewed{by}{when}"
    return None


def review_json(record: Record) -> dict[str, Any] | None:
    """The record's fact-check for ``ask --json`` citations, or None when it has none::

        {"verdict": "False", "rating": {"value": 1, "best": 5, "worst": 1},
         "reviewer": "AFP", "reviewer_url": "https://factcheck.afp.com/",
         "date": "2021-08-24", "url": "https://factcheck.afp.com/...",
         "title": "...", "line": "Rated False by AFP, 2021-08-24"}

    ``rating`` is null when the review gives no number; absent values are null.
    """
    review = record.review
    if review is None:
        return None
    rating = (
        {"value": review.rating, "best": review.best, "worst": review.worst}
        if review.rating is not None
        else None
    )
    return {
        "verdict": review.verdict,
        "rating": rating,
        "reviewer": review.reviewer,
        "reviewer_url": review.reviewer_url,
        "date": review.date,
        "url": review.url,
        "title": review.title,
        "line": review_line(record),
    }
