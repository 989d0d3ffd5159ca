"""Values as publishers write them, made into record values: text, URLs, dates, numbers.

Real markup is messy: HTML entities in text (``&#039;``), stray ``\\r``, trailing
spaces, URLs without a scheme or with unencoded non-ASCII characters, dates such
as ``2020-08-31 17:22:16`` or ``2022-11-01T18:16:43+05:30``, ratings written
``""`` or ``"-1"``. Each function here takes what was written and returns the
record's value, or ``None`` when nothing usable was given; the date and URL
readers also say *why* a value written could not be used, for the import report.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import math
import re
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_SPACES = re.compile(r"\s+")


def text(value: Any, *, strip_tags: bool = True) -> str | None:
    """Text as written, tidied: HTML entities decoded, tags dropped, ``\\r`` and
    trailing spaces gone. A list (``claimReviewed`` as an array) is joined with
    spaces. None for anything that holds no text."""
    if isinstance(value, list):
        parts = [t for t in (text(v, strip_tags=strip_tags) for v in value) if t]
        return " ".join(parts) or None
    if not isinstance(value, str):
        return None
    result = value
    for _ in range(2):  # "&amp;#039;": some publishers escape twice
        if "&" not in result:
            break
        result = html.unescape(result)
    if strip_tags and "<" in result:
        result = _TAG.sub("", result)
    result = result.replace("\r\n", "\n").replace("\r", "\n")
    result = "\n".join(line.rstrip() for line in result.split("\n"))
    return result.strip() or None


def line(value: Any) -> str | None:
    """:func:`text` on one line: every run of white space (newlines too) one space."""
    result = text(value)
    return _SPACES.sub(" ", result) if result else None


# --- URLs -----------------------------------------------------------------------

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_BARE_HOST = re.compile(r"^(?:[\w-]+\.)+[A-Za-z]{2,}(?::\d+)?(?:[/?#]|$)")
# Characters a URI keeps as they are; everything else is percent-encoded as UTF-8.
_URI_SAFE = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def _encode(part: str) -> str:
    encoded = "".join(
        c if c in _URI_SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in part
    )
    # A "%" that starts no escape is a literal percent sign.
    encoded = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", encoded)
    return _PERCENT.sub(lambda m: "%" + m.group(1).upper(), encoded)


def url(value: Any, base: str | None = None) -> tuple[str | None, str | None]:
    """An absolute http(s) URL, percent-encoded: ``(url, None)``; or ``(None, why)``
    when a URL was written but cannot be used; ``(None, None)`` when none was.

    A schemeless ``aosfatos.org/noticias/...`` gets ``https://``; a relative
    ``/fact-check/x`` is resolved against ``base`` (the page it came from);
    non-ASCII characters are percent-encoded, existing escapes kept (in upper case).
    """
    if isinstance(value, dict):
        value = value.get("@id") or value.get("url")
    if not isinstance(value, str) or not value.strip():
        return None, None
    written = value.strip()
    candidate = written
    if candidate.startswith("//"):
        candidate = "https:" + candidate
    elif not _SCHEME.match(candidate):
        if _BARE_HOST.match(candidate):
            candidate = "https://" + candidate
        elif base:
            candidate = urljoin(base, candidate)
        else:
            return None, f"url {written!r} is relative and there is no page to resolve it against"
    parts = urlsplit(candidate)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None, f"url {written!r} is not an http(s) address"
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        return None, f"url {written!r} has a host name that cannot be encoded"
    netloc = host + (f":{parts.port}" if _has_port(parts.netloc) else "")
    if parts.username:
        return None, f"url {written!r} holds a user name; leave credentials out of links"
    result = urlunsplit(
        (
            parts.scheme.lower(),
            netloc,
            _encode(parts.path) or "/",
            _encode(parts.query),
            _encode(parts.fragment),
        )
    )
    return result, None


def _has_port(netloc: str) -> bool:
    try:
        return urlsplit(f"//{netloc}").port is not None
    except ValueError:
        return False


def url_key(value: str) -> str:
    """What makes two review URLs the same page: no scheme, no ``www.``, no
    fragment, no trailing slash, host in lower case (``http://www.x.org/a/`` is
    ``x.org/a``)."""
    parts = urlsplit(value)
    host = (parts.hostname or "").removeprefix("www.")
    path = parts.path.rstrip("/")
    return host + path + (f"?{parts.query}" if parts.query else "")


# --- dates ----------------------------------------------------------------------

_ISO_DATE = re.compile(
    r"^(\d{4})(?:[-/](\d{1,2})(?:[-/](\d{1,2}))?)?"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
    r"\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
_MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_WORDY_DATE = re.compile(
    r"^(?:(?P<d1>\d{1,2})\s+(?P<m1>[A-Za-z]+)\.?,?\s+(?P<y1>\d{4})"
    r"|(?P<m2>[A-Za-z]+)\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{4}))$"
)


def _real(year: int, month: int | None, day: int | None) -> str | None:
    try:
        dt.date(year, month or 1, day or 1)
    except ValueError:
        return None
    if month is None:
        return f"{year:04d}"
    return f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day is not None else "")


def date(value: Any) -> tuple[str | None, str | None]:
    """A partial date (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``): ``(date, None)``;
    ``(None, why)`` when a date was written but cannot be read; ``(None, None)``
    when none was.

    The day is the one the publisher wrote: ``2022-11-01T23:30:00+05:30`` is
    2022-11-01 (no conversion to another time zone). Read: ISO 8601 with or without
    a time, ``T`` or a space, ``Z`` or an offset (``+05:30``, ``+0200``); e-mail
    style (``Mon, 31 Aug 2020 17:22:16 +0200``); ``31 August 2020`` and
    ``August 31, 2020``.
    """
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return str(value), None
    if not isinstance(value, str) or not value.strip():
        return None, None
    written = value.strip()
    found: str | None = None
    match = _ISO_DATE.match(written)
    if match:
        year, month, day = match.groups()
        found = _real(int(year), int(month) if month else None, int(day) if day else None)
    elif (wordy := _WORDY_DATE.match(written)) is not None:
        groups = wordy.groupdict()
        month_name = (groups["m1"] or groups["m2"]).lower()
        if month_name in _MONTH_NAMES:
            found = _real(
                int(groups["y1"] or groups["y2"]),
                _MONTH_NAMES[month_name],
                int(groups["d1"] or groups["d2"]),
            )
    else:
        try:
            parsed = email.utils.parsedate_to_datetime(written)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None:
            found = parsed.date().isoformat()
    if found is None:
        return None, f"unreadable date {written!r}"
    return found, None


# --- numbers --------------------------------------------------------------------


def number(value: Any) -> int | float | None:
    """A rating number: ``3``, ``"3"``, ``"2.5"``; None for ``""``, ``"-1"`` (the
    markup's "no rating"), other negatives, booleans and anything not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    if not isinstance(value, int | float) or math.isnan(value) or math.isinf(value):
        return None
    if value < 0:
        return None
    return int(value) if float(value).is_integer() else float(value)
