"""Telegram HTML: split into valid messages within Telegram's limits, trimmed with a pointer."""

from __future__ import annotations

import pytest

from bot.chat.messages import MAX_PARTS, messages, size, split_html
from tests.fake_bot_api import parse_html, utf16_len


@pytest.mark.parametrize("limit", [200, 1000, 4096])
def test_split_html_gives_valid_messages_within_the_limit(limit: int) -> None:
    lines = ["<b>Lead &amp; more</b>"]
    for n in range(80):
        lines.append(f"• <b>2023</b> — Claimant &lt;{n}&gt;: claim <code>[id-{n}]</code>")
        lines.append(
            "<blockquote>" + " ".join(f"w{n}<b>x</b>ord" for _ in range(40)) + "</blockquote>"
        )
    lines.append("<blockquote>" + "y" * 9000 + " tail</blockquote>")  # one enormous word
    text = "\n".join(lines)
    chunks = split_html(text, limit)
    assert len(chunks) > 1
    for chunk in chunks:
        assert size(chunk) <= limit
        parse_html(chunk)  # valid Telegram HTML on its own
    visible = "".join(parse_html(c) for c in chunks).replace("\n", "").replace(" ", "")
    assert visible == parse_html(text).replace("\n", "").replace(" ", "")


def test_split_html_keeps_short_text_whole_and_counts_utf16() -> None:
    assert split_html("<b>hi</b>", 10) == ["<b>hi</b>"]
    emoji = "😀" * 3000  # 6000 UTF-16 units
    assert all(utf16_len(c) <= 4096 for c in split_html(emoji))


def test_messages_are_trimmed_with_a_pointer_beyond_max_parts() -> None:
    text = "\n".join(f"line {n} " + "x" * 90 for n in range(400))
    parts = messages(text, "<i>see /claim</i>", limit=1000)
    assert len(parts) == MAX_PARTS
    assert parts[-1].endswith("<i>see /claim</i>")
    assert all(size(p) <= 1000 for p in parts)


def test_group_answers_stay_under_600_characters_whatever_the_records() -> None:
    from bot.answer.kinds import Kind
    from bot.answer.model import Answer, Citation
    from bot.chat.messages import group_answer_html

    def cited(n: int) -> Citation:
        return Citation(
            claim_id=f"id-{n}", claim="A very long claim & <more> " * 20, snippet="s", marks=(),
            date="2023", date_text="September 30, 2023", date_note=None,
            claimant="Someone with a very long name, and a description " * 3, status="reported",
            source=None, url=None, publisher=None, score=1.0, notes=("Denied by X " * 20,),
        )  # fmt: skip

    answer = Answer(
        question="Q " * 400, found=True, kind=next(iter(Kind)), lead="Lead & " * 100,
        citations=tuple(cited(n) for n in range(6)), more=4,
    )  # fmt: skip
    text = group_answer_html(answer)
    assert size(text) <= 600 and utf16_len(parse_html(text)) <= 600
    assert "+" in text.splitlines()[-1] and "more in a private chat" in text


def test_stats_show_questions_replayed_and_duplicates_suppressed() -> None:
    import datetime as dt

    from bot.chat.messages import stats_html
    from bot.chat.service import Stats

    stats = Stats(records=3, files=1, started=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                  last_reload=None, questions=9, answered=8, abstained=1, inline_queries=0,
                  rate_limited=0, replayed=4, duplicates=2)  # fmt: skip
    visible = parse_html(stats_html(stats))
    assert "4 answered from the journal" in visible
    assert "2 re-delivered updates not answered twice" in visible
