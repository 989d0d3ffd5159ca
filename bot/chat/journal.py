"""The update journal: no question lost across a crash or a restart, none answered twice.

Telegram keeps an update until the bot's next ``getUpdates`` confirms it; once
confirmed it is gone, answered or not. So every question is written here
*before* it can be confirmed (when it enters the application's update queue,
which the next ``getUpdates`` follows), and marked done when its handler has
finished: the answer was sent, or the update needed none. On start the bot
first replays what is not done and younger than :data:`MAX_AGE_SECONDS`, then
polls; an update seen again (Telegram re-delivering what was never confirmed)
is recognised by its ``update_id`` and not handled twice.

What is kept, for each question: the update id, when it came, the chat (id and
type), the message id, the sender's numeric id, the question text and its kind
(message or edited message): only what is needed to answer it again. Done
entries are pruned after :data:`KEEP_DONE_SECONDS` (and beyond
:data:`KEEP_DONE_COUNT`). Inline queries and button presses are not
journaled: Telegram lets them expire within seconds, so a late answer cannot
be given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.chat.store import Store

#: A question older than this when the bot starts is dropped, not answered:
#: an answer ten minutes late is still useful, one an hour late is noise.
MAX_AGE_SECONDS = 600
#: Done entries are kept this long (to recognise a re-delivered update) ...
KEEP_DONE_SECONDS = 24 * 3600
#: ... and at most this many.
KEEP_DONE_COUNT = 10_000

STEPS = [
    """
    CREATE TABLE journal (
        update_id INTEGER PRIMARY KEY,
        received REAL NOT NULL,
        kind TEXT NOT NULL,
        chat_id INTEGER NOT NULL,
        chat_type TEXT NOT NULL,
        message_id INTEGER NOT NULL,
        user_id INTEGER,
        text TEXT NOT NULL,
        done REAL,
        outcome TEXT
    );
    CREATE INDEX journal_open ON journal (done, received)
    """
]


@dataclass(frozen=True)
class Entry:
    """One journaled question, enough to answer it again."""

    update_id: int
    received: float
    kind: str  # "message" or "edited_message"
    chat_id: int
    chat_type: str
    message_id: int
    user_id: int | None
    text: str

    def update_data(self) -> dict[str, Any]:
        """A minimal Bot API update carrying this question (for ``Update.de_json``)."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "date": int(self.received),
            "chat": {"id": self.chat_id, "type": self.chat_type},
            "text": self.text,
        }
        if self.user_id is not None:
            message["from"] = {"id": self.user_id, "is_bot": False, "first_name": ""}
        if self.kind == "edited_message":
            message["edit_date"] = int(self.received)
        return {"update_id": self.update_id, self.kind: message}


class Journal:
    """The journal table of the bot's store; safe to call from threads."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        store.migrate("journal", STEPS)
        #: Since start: questions replayed after a restart, re-deliveries suppressed.
        self.replayed = 0
        self.duplicates = 0
        self.expired = 0

    def receive(self, data: dict[str, Any]) -> bool:
        """Journal an update (its Bot API JSON) before it can be confirmed.

        Returns False for an update already journaled (a re-delivery). Updates
        that are not questions (no text or caption) are not kept, and True is
        returned: they are handled as usual.
        """
        entry = _entry(data, self._clock())
        if entry is None:
            return True
        with self._store.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO journal (update_id, received, kind, chat_id, chat_type, "
                "message_id, user_id, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.update_id, entry.received, entry.kind, entry.chat_id, entry.chat_type,
                 entry.message_id, entry.user_id, entry.text),
            )  # fmt: skip
        return cursor.rowcount == 1

    def is_done(self, update_id: int) -> bool:
        rows = self._store.query("SELECT done FROM journal WHERE update_id = ?", (update_id,))
        return bool(rows) and rows[0]["done"] is not None

    def done(self, update_id: int, outcome: str = "handled") -> None:
        with self._store.transaction() as db:
            db.execute(
                "UPDATE journal SET done = ?, outcome = ? WHERE update_id = ? AND done IS NULL",
                (self._clock(), outcome, update_id),
            )

    def pending(self, max_age: float = MAX_AGE_SECONDS) -> list[Entry]:
        """Questions not done, oldest first; older ones than ``max_age`` are dropped
        (marked done as "expired") and not returned."""
        now = self._clock()
        with self._store.transaction() as db:
            cursor = db.execute(
                "UPDATE journal SET done = ?, outcome = 'expired' "
                "WHERE done IS NULL AND received < ?",
                (now, now - max_age),
            )
            self.expired += max(cursor.rowcount, 0)
            rows = db.execute(
                "SELECT update_id, received, kind, chat_id, chat_type, message_id, user_id, text "
                "FROM journal WHERE done IS NULL ORDER BY received, update_id"
            ).fetchall()
        return [Entry(**dict(row)) for row in rows]

    def prune(
        self, keep_seconds: float = KEEP_DONE_SECONDS, keep_count: int = KEEP_DONE_COUNT
    ) -> int:
        """Delete done entries older than ``keep_seconds`` or beyond the newest
        ``keep_count``; returns how many went."""
        now = self._clock()
        with self._store.transaction() as db:
            old = db.execute(
                "DELETE FROM journal WHERE done IS NOT NULL AND done < ?", (now - keep_seconds,)
            ).rowcount
            extra = db.execute(
                "DELETE FROM journal WHERE done IS NOT NULL AND update_id NOT IN "
                "(SELECT update_id FROM journal WHERE done IS NOT NULL "
                "ORDER BY done DESC LIMIT ?)",
                (keep_count,),
            ).rowcount
        return max(old, 0) + max(extra, 0)


def _entry(data: dict[str, Any], now: float) -> Entry | None:
    """The journal entry of an update's JSON, or None when it is no question."""
    for kind in ("message", "edited_message"):
        message = data.get(kind)
        if isinstance(message, dict):
            break
    else:
        return None
    text = message.get("text") or message.get("caption")
    chat = message.get("chat") or {}
    if not isinstance(text, str) or not isinstance(chat.get("id"), int):
        return None
    sender = message.get("from") or {}
    return Entry(
        update_id=int(data["update_id"]),
        received=now,
        kind=kind,
        chat_id=chat["id"],
        chat_type=str(chat.get("type", "private")),
        message_id=int(message.get("message_id", 0)),
        user_id=sender.get("id") if isinstance(sender.get("id"), int) else None,
        text=text,
    )
