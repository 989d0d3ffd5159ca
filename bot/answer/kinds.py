"""What a question asks for, read from its wording: a date, a claimant, a place, a figure.

Question words are stop words to the search (every question has them); here
they decide how the answer leads, never which records it cites.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["when", "who", "where", "how_many", "what"]

#: A figure a claim states: "hundreds of drones", "1,700 Shahed", "40 percent".
NUMBER = re.compile(
    r"(?<![\w-])(?:\d[\d,.]*\s*(?:%|percent)?|hundreds|thousands|dozens|millions|"
    r"one|two|three|four|five|six|seven|eight|nine|ten|several|many)\b(?!-)(?:\s+of)?"
    r"(?:\s+[\w’'-]+){0,3}",
    re.IGNORECASE,
)
PLACE = re.compile(
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
