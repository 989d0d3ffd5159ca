"""bot/knowledge/values.py: text, URLs, dates and numbers as publishers write them."""

from __future__ import annotations

from typing import Any

import pytest

from bot.knowledge import values


@pytest.mark.parametrize(
    ("written", "text"),
    [
        ("Singh&#039;s ideas", "Singh's ideas"),
        ("Incorrect \r", "Incorrect"),
        (["Last Tweets", " of 14 June "], "Last Tweets of 14 June"),
        ("a &amp;#039;b&amp;#039;", "a 'b'"),
        ("<p>The <b>claim</b></p>", "The claim"),
        ("3 < 4 and 5 > 2", "3 < 4 and 5 > 2"),
        ("  ", None),
        (7, None),
    ],
)  # fmt: skip
def test_text_is_tidied(written: Any, text: str | None) -> None:
    assert values.text(written) == text


def test_line_joins_lines() -> None:
    assert values.line("a\r\n\r\n b  c") == "a b c"


@pytest.mark.parametrize(
    ("written", "url"),
    [
        ("aosfatos.org/noticias/x/", "https://aosfatos.org/noticias/x/"),
        ("//example.org/a", "https://example.org/a"),
        (" https://Example.ORG/a b ", "https://example.org/a%20b"),
        ("https://x.br/publicações/", "https://x.br/publica%C3%A7%C3%B5es/"),
        ("https://x.br/publica%c3%a7%c3%b5es/", "https://x.br/publica%C3%A7%C3%B5es/"),
        ("https://x.org/100%/", "https://x.org/100%25/"),
        ("https://x.org", "https://x.org/"),
        ("https://x.org:8443/a?b=c&d#e", "https://x.org:8443/a?b=c&d#e"),
        ({"@id": "https://x.org/a"}, "https://x.org/a"),
    ],
)
def test_urls_are_made_absolute_and_encoded(written: Any, url: str) -> None:
    assert values.url(written) == (url, None)


def test_relative_urls_need_a_base() -> None:
    assert values.url("/fact-check/1", "https://x.org/a/b") == ("https://x.org/fact-check/1", None)
    found, why = values.url("/fact-check/1")
    assert found is None and why is not None and "relative" in why
    assert values.url("mailto:a@b.org")[0] is None
    assert values.url("") == (None, None)


def test_url_key_ignores_scheme_www_slash_and_fragment() -> None:
    assert values.url_key("http://www.x.org/a/#f") == values.url_key("https://x.org/a")


@pytest.mark.parametrize(
    ("written", "date"),
    [
        ("2020-08-31 17:22:16", "2020-08-31"),
        ("2022-03-02 07:11", "2022-03-02"),
        ("2022-11-01T23:16:43+05:30", "2022-11-01"),
        ("2020-07-06T12:35:18+0200", "2020-07-06"),
        ("2019-12-09T15:11:25.619782+00:00", "2019-12-09"),
        ("2021-08-24T00:00:00Z", "2021-08-24"),
        ("2023", "2023"),
        ("2023-06", "2023-06"),
        ("2023/6/5", "2023-06-05"),
        ("Mon, 31 Aug 2020 17:22:16 +0200", "2020-08-31"),
        ("31 August 2020", "2020-08-31"),
        ("Aug 31, 2020", "2020-08-31"),
        (2021, "2021"),
    ],
)
def test_dates_as_publishers_write_them(written: Any, date: str) -> None:
    assert values.date(written) == (date, None)


@pytest.mark.parametrize("written", ["2023-02-30", "last Tuesday", "31/08/2020", "2023-13"])
def test_unreadable_dates_say_so(written: str) -> None:
    found, why = values.date(written)
    assert found is None and why == f"unreadable date {written!r}"


def test_a_missing_date_is_no_problem() -> None:
    assert values.date(None) == (None, None)
    assert values.date("") == (None, None)


@pytest.mark.parametrize(
    ("written", "number"),
    [(3, 3), ("3", 3), ("2.5", 2.5), ("2,5", 2.5), (4.0, 4), ("", None), ("-1", None),
     (-1, None), (True, None), ("n/a", None), (float("nan"), None), (None, None)],
)  # fmt: skip
def test_rating_numbers(written: Any, number: float | None) -> None:
    assert values.number(written) == number
