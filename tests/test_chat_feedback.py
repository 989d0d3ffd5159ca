"""Answers behind buttons and readers' verdicts, in SQLite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.chat.feedback import ANSWER_DAYS, PRUNE_EVERY, FeedbackStore, entry_line, parse_since
from bot.chat.store import Store


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(Store.open(tmp_path))


def test_an_answer_is_kept_for_its_buttons_across_a_restart(tmp_path: Path) -> None:
    key = FeedbackStore(Store.open(tmp_path)).remember("Q?", "private", ["a-one", "b-two"], 3)
    asked = FeedbackStore(Store.open(tmp_path)).asked(key)
    assert asked is not None
    assert (asked.question, asked.record_ids, asked.more) == ("Q?", ("a-one", "b-two"), 3)
    assert len(key) == 8


def test_more_is_taken_once(store: FeedbackStore) -> None:
    key = store.remember("Q?", "private", ["a-one"], 2)
    assert store.take_more(key) and not store.take_more(key)
    assert store.asked(key).more_sent  # type: ignore[union-attr]


def test_one_verdict_per_person_and_answer(store: FeedbackStore) -> None:
    key = store.remember("Q?", "private", ["a-one"])
    assert store.vote(key, 1, "private", "up") == "new"
    assert store.vote(key, 1, "private", "up") == "same"
    assert store.vote(key, 1, "private", "down") == "changed"
    assert store.vote(key, 2, "private", "up") == "new"
    assert store.vote("AAAAAAAA", 1, "private", "up") is None  # unknown answer
    verdicts = sorted((e.user_id, e.verdict) for e in store.entries())
    assert verdicts == [(1, "down"), (2, "up")]


def test_a_comment_goes_to_the_prompted_verdict_only(store: FeedbackStore) -> None:
    key = store.remember("Q?", "supergroup", ["a-one"])
    store.vote(key, 1, "supergroup", "down")
    store.await_comment(key, 1, chat_id=-5, message_id=77)
    assert store.is_prompt(-5, 77)
    assert not store.comment(-5, 77, 2, "someone else replying")  # not their prompt
    assert not store.comment(-5, 78, 1, "another message")
    assert store.comment(-5, 77, 1, "  wrong\n  date " + "x" * 400)
    [entry] = store.entries()
    assert entry.comment is not None and entry.comment.startswith("wrong date x")
    assert len(entry.comment) == 300 and "\n" not in entry.comment


def test_entries_newest_first_since_and_limit(store: FeedbackStore) -> None:
    for n in range(12):
        store.vote(store.remember(f"Q{n}?", "private", [f"id-{n}"]), n, "private", "up")
    latest = store.entries(limit=10)
    assert len(latest) == 10 and latest[0].question == "Q11?"
    assert store.entries(since=dt.datetime(2999, 1, 1, tzinfo=dt.UTC)) == []
    line = entry_line(latest[0])
    assert "👍 private user 11: 'Q11?' [id-11]" in line
    assert latest[0].to_json()["record_ids"] == ["id-11"]


def test_old_answers_without_verdicts_are_forgotten(store: FeedbackStore) -> None:
    quiet = store.remember("Q?", "private", ["a-one"])
    voted = store.remember("R?", "private", ["a-one"])
    store.vote(voted, 1, "private", "down")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=ANSWER_DAYS + 1)
    assert store.prune(later) == 1
    assert store.asked(quiet) is None and store.asked(voted) is not None


def test_parse_since() -> None:
    assert parse_since("2026-12-01") == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert parse_since("2026-12-01T10:00+01:00").utcoffset() == dt.timedelta(hours=1)
    with pytest.raises(ValueError, match="not a date"):
        parse_since("yesterday")


def test_a_running_store_prunes_as_it_goes(store: FeedbackStore, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pruned: list[bool] = []
    monkeypatch.setattr(store, "prune", lambda now=None: pruned.append(True) or 0)
    for _ in range(PRUNE_EVERY // 10):
        store.remember_many("Q?", "inline", [["a-one"]] * 10)
    assert pruned == [True]
