"""The update journal: questions survive a crash, re-deliveries are recognised, old ones drop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.chat.journal import Journal
from bot.chat.store import Store


def update(update_id: int, text: str = "When was the factory reported?", **extra: Any) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 100 + update_id,
            "date": 0,
            "chat": {"id": 42, "type": "private", "first_name": "Ann"},
            "from": {"id": 7, "is_bot": False, "first_name": "Ann", "username": "ann"},
            "text": text,
            **extra,
        },
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_question_not_done_is_pending_after_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    journal = Journal(Store.open(tmp_path), clock)
    assert journal.receive(update(1)) and journal.receive(update(2))
    journal.done(1)
    reopened = Journal(Store.open(tmp_path), clock)  # a new process, the same file
    (entry,) = reopened.pending()
    assert (entry.update_id, entry.chat_id, entry.message_id, entry.text) == (
        2, 42, 102, "When was the factory reported?"
    )  # fmt: skip
    data = entry.update_data()
    assert data["message"]["from"]["id"] == 7 and data["message"]["chat"]["id"] == 42


def test_a_re_delivered_update_is_recognised(tmp_path: Path) -> None:
    journal = Journal(Store.open(tmp_path))
    assert journal.receive(update(5)) is True
    assert journal.receive(update(5)) is False
    assert [e.update_id for e in journal.pending()] == [5] and not journal.is_done(5)
    journal.done(5)
    assert journal.is_done(5)


def test_only_what_is_needed_to_answer_is_kept(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    Journal(store).receive(update(3))
    (row,) = store.query("SELECT * FROM journal")
    assert set(row.keys()) == {"update_id", "received", "kind", "chat_id", "chat_type",
                               "message_id", "user_id", "text", "done", "outcome"}  # fmt: skip
    assert "ann" not in " ".join(str(v) for v in tuple(row)).lower()  # no names kept


def test_updates_that_are_no_questions_are_not_journaled(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    journal = Journal(store)
    assert journal.receive({"update_id": 9, "callback_query": {"id": "x", "data": "src:a"}})
    assert journal.receive({"update_id": 10, "message": {"message_id": 1, "chat": {"id": 1}}})
    assert store.query("SELECT COUNT(*) AS n FROM journal")[0]["n"] == 0


def test_a_captioned_photo_is_journaled_by_its_caption(tmp_path: Path) -> None:
    journal = Journal(Store.open(tmp_path))
    data = update(11, text="")
    del data["message"]["text"]
    data["message"]["caption"] = "Shahed drones"
    journal.receive(data)
    assert journal.pending()[0].text == "Shahed drones"


def test_an_entry_older_than_the_bound_is_dropped_not_answered(tmp_path: Path) -> None:
    clock = Clock()
    journal = Journal(Store.open(tmp_path), clock)
    journal.receive(update(1))
    clock.now += 601
    journal.receive(update(2))
    assert [e.update_id for e in journal.pending(max_age=600)] == [2]
    assert journal.expired == 1 and journal.is_done(1)


def test_done_entries_are_pruned_by_age_and_count(tmp_path: Path) -> None:
    clock = Clock()
    store = Store.open(tmp_path)
    journal = Journal(store, clock)
    for n in range(1, 8):
        journal.receive(update(n))
        journal.done(n)
        clock.now += 10
    journal.receive(update(99))  # not done: never pruned
    assert journal.prune(keep_seconds=35, keep_count=100) == 4  # done more than 35 s ago
    assert journal.prune(keep_seconds=10_000, keep_count=2) == 1
    assert store.query("SELECT COUNT(*) AS n FROM journal")[0]["n"] == 3
    assert [e.update_id for e in journal.pending()] == [99]
