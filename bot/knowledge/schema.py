"""The claim record: what one curated claim holds, validated with pydantic.

A record says who claimed what, when, where it was published, and how it stands
(reported, denied, ...). An imported fact-check also carries its ``review``: the
publisher's verdict as written, its rating, the reviewer, the review's date and
URL. Field names follow schema.org ``ClaimReview`` / ``Claim``; the mapping both
ways (import and export) is written down in ``docs/claimreview.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

#: The statuses a claim can have. Ours is the curator's reading of the source,
#: never a verdict the source does not give.
Status = Literal["reported", "alleged", "confirmed", "denied", "disputed"]

STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_URL = re.compile(r"^https?://\S+$")
# BCP 47 as publishers write it: "en", "pt-BR", "zh-Hant-TW".
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def yaml_type_name(value: Any) -> str:
    """Name a value's type as a YAML author would know it."""
    if isinstance(value, bool):
        return f"a yes/no value ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, dt.date):
        return f"a date ({value.isoformat()})"
    if value is None:
        return "nothing (null)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _strict_text(value: Any) -> Any:
    # YAML reads unquoted no/yes/on/off, 1.0, 2023-06-05 as other types; say so
    # rather than silently turning them into "False" or "1.0".
    if isinstance(value, str):
        return value
    raise ValueError(
        f"expected text, got {yaml_type_name(value)}; "
        "put the value in quotes so YAML keeps it as text"
    )


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


Text = Annotated[str, BeforeValidator(_strict_text), AfterValidator(_not_blank)]


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            f"{value!r} is not a valid id: use lowercase letters, digits and single "
            "hyphens, e.g. 'jun-2023-factory-east-of-moscow'"
        )
    return value


RecordId = Annotated[str, BeforeValidator(_strict_text), AfterValidator(_slug)]


def _partial_date(value: Any) -> Any:
    # An unquoted 2023-06-05 arrives as a date and 2023 as an int: both are
    # unambiguous, so accept them at their own precision.
    if isinstance(value, dt.datetime):
        raise ValueError("a date with a time of day; write YYYY, YYYY-MM or YYYY-MM-DD")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return str(value)
    if not isinstance(value, str):
        raise ValueError(
            f"expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got {yaml_type_name(value)}"
        )
    match = _PARTIAL_DATE.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a date: write YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = match.groups()
    try:
        dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a real date ({exc})") from None
    return value.strip()


PartialDate = Annotated[str, BeforeValidator(_partial_date)]


def human_date(value: str) -> str:
    """Write an ISO partial date at its own precision: '2023', 'June 2023', 'June 5, 2023'."""
    parts = value.split("-")
    if len(parts) == 1:
        return parts[0]
    month = _MONTHS[int(parts[1]) - 1]
    if len(parts) == 2:
        return f"{month} {parts[0]}"
    return f"{month} {int(parts[2])}, {parts[0]}"


def date_sort_key(value: str) -> tuple[int, int, int]:
    """Sort partial dates chronologically; an unknown month or day sorts last.

    "2023" may mean any day of 2023, so a timeline lists it after the dated
    records of that year rather than pretending it came first.
    """
    year, month, day, *_ = [*(int(p) for p in value.split("-")), 0, 0]
    return year, month or 13, day or 32


def _url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError(f"url {value!r} must start with http:// or https://")
    return value


Url = Annotated[Text, AfterValidator(_url)]


def _language(value: str) -> str:
    if not _LANGUAGE.match(value):
        raise ValueError(f"{value!r} is not a language tag: write e.g. 'en', 'pt' or 'pt-BR'")
    return value


Language = Annotated[Text, AfterValidator(_language)]


def _rating_number(value: Any) -> Any:
    # YAML reads yes/no as booleans, which pydantic would take as 1 and 0.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {yaml_type_name(value)}")
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        raise ValueError(f"a rating must be a number of 0 or more, got {value}")
    return value


RatingNumber = Annotated[int | float, BeforeValidator(_rating_number)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(_Model):
    """Where the claim was published: maps to ClaimReview ``Claim.appearance``."""

    title: Text | None = None
    publisher: Text | None = None
    url: Text | None = None
    published: PartialDate | None = None
    #: The passage of the source the record rests on; answers cite it.
    excerpt: Text

    def model_post_init(self, __context: Any) -> None:
        if self.url is not None:
            _url(self.url)


class Review(_Model):
    """A published fact-check of the claim: maps to the ``ClaimReview`` itself.

    Hand-curated records have none; an imported fact-check keeps here what its
    publisher wrote. ``verdict`` is the rating's ``alternateName`` as published
    ("False", "Misleading", "Falso", or a whole sentence); the numbers are the
    publisher's own scale, kept only where given.
    """

    verdict: Text | None = None
    rating: RatingNumber | None = None
    best: RatingNumber | None = None
    worst: RatingNumber | None = None
    #: Who published the review (the fact-checking organisation) and its site.
    reviewer: Text | None = None
    reviewer_url: Url | None = None
    #: When the review was published, at the precision given.
    date: PartialDate | None = None
    #: The fact-check's own page.
    url: Url | None = None
    #: The fact-check's headline.
    title: Text | None = None

    def model_post_init(self, __context: Any) -> None:
        if self.best is not None and self.worst is not None and self.best <= self.worst:
            raise ValueError(f"best ({self.best}) must be above worst ({self.worst})")
        low = self.worst if self.worst is not None else 0
        if self.rating is not None and (
            self.rating < low or (self.best is not None and self.rating > self.best)
        ):
            raise ValueError(f"rating {self.rating} lies outside the scale {low} to {self.best}")


class Record(_Model):
    """One claim: who claimed what, when, in which source, and how it stands."""

    id: RecordId
    claim: Text
    claimant: Text
    date: PartialDate
    date_note: Text | None = None
    status: Status
    denied_by: list[RecordId] = Field(default_factory=list)
    contradicts: list[RecordId] = Field(default_factory=list)
    quote: Text | None = None
    source: Source
    entities: list[Text] = Field(default_factory=list)
    tags: list[Text] = Field(default_factory=list)
    #: The language the claim was made in (BCP 47: "en", "pt-BR").
    language: Language | None = None
    #: The claim's first known occurrence (``Claim.firstAppearance``), where known.
    first_appearance: Url | None = None
    #: The published fact-check of this claim, for an imported fact-check.
    review: Review | None = None

    @property
    def date_text(self) -> str:
        return human_date(self.date)

    def links(self) -> list[tuple[str, str]]:
        """The (field, id) pairs this record points at."""
        return [("denied_by", i) for i in self.denied_by] + [
            ("contradicts", i) for i in self.contradicts
        ]


AliasPhrase = Annotated[
    str, BeforeValidator(_strict_text), StringConstraints(strip_whitespace=True, min_length=1)
]


class AliasFile(_Model):
    """``aliases.yaml``: groups of words and phrases that mean the same thing.

    The first entry of a group is its canonical form; search maps every other
    entry onto it, in records and questions alike.
    """

    aliases: list[Annotated[list[AliasPhrase], Field(min_length=2)]]
