"""What readers say about answers, for the curators; and the answers buttons point at.

Two tables in the bot's :class:`~bot.chat.store.Store`:

- ``answers``: one row per answer the bot gave that has buttons: a short random
  key (in callback data and deep links), when, the chat type, the question,
  the cited record ids and how many more matched. Buttons and "Details in a
  private chat" links look their answer up here, so they keep working after a
  restart. Rows without a verdict are deleted after :data:`ANSWER_DAYS` (at start,
  and after every :data:`PRUNE_EVERY` new answers).
- ``verdicts``: one row per person and answer: 👍 or 👎, when, where, and the
  optional one-line comment they sent in reply to "What was wrong?". Pressing
  again changes the verdict. Kept until a curator deletes them.

No Telegram here: the chat layer calls it, ``python -m bot feedback`` reads it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.chat.store import Store

#: Answers nobody gave a verdict on are forgotten after this many days.
ANSWER_DAYS = 30
#: A comment is kept to one line of at most this many characters.
COMMENT_CHARS = 300
#: Keys are this many random bytes (8 URL-safe characters).
KEY_BYTES = 6
#: A running bot forgets old answers at start and after every this many new ones.
PRUNE_EVERY = 1000

Verdict = Literal["up", "down"]
VERDICTS: tuple[Verdict, ...] = ("up", "down")

STEPS = [
    """
    CREATE TABLE answers (
        key TEXT PRIMARY KEY,
        created TEXT NOT NULL,
        chat_type TEXT NOT NULL,
        question TEXT NOT NULL,
        record_ids TEXT NOT NULL,
        more INTEGER NOT NULL DEFAULT 0,
        more_sent INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX answers_created ON answers (created);
    CREATE TABLE verdicts (
        answer_key TEXT NOT NULL REFERENCES answers (key) ON DELETE CASCADE,
        user_id INTEGER NOT NULL,
        at TEXT NOT NULL,
        chat_type TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('up', 'down')),
        comment TEXT,
        prompt_chat_id INTEGER,
        prompt_message_id INTEGER,
        PRIMARY KEY (answer_key, user_id)
    );
    CREATE INDEX verdicts_at ON verdicts (at);
    CREATE INDEX verdicts_prompt ON verdicts (prompt_chat_id, prompt_message_id)
    """,
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Asked:
    """An answer the bot gave, as its buttons see it."""

    key: str
    created: dt.datetime
    chat_type: str
    question: str
    record_ids: tuple[str, ...]
    more: int
    more_sent: bool


@dataclass(frozen=True)
class Entry:
    """One verdict, with the answer it is about."""

    at: dt.datetime
    chat_type: str
    user_id: int
    question: str
    record_ids: tuple[str, ...]
    verdict: Verdict
    comment: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "at": _iso(self.at),
            "chat_type": self.chat_type,
            "user_id": self.user_id,
            "question": self.question,
            "record_ids": list(self.record_ids),
            "verdict": self.verdict,
            "comment": self.comment,
        }


class FeedbackStore:
    """Answers and verdicts in the bot's SQLite store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._since_prune = 0
        store.migrate("feedback", STEPS)
        self.prune()

    def prune(self, now: dt.datetime | None = None) -> int:
        """Forget answers older than ANSWER_DAYS that nobody gave a verdict on."""
        cutoff = _iso((now or _now()) - dt.timedelta(days=ANSWER_DAYS))
        with self.store.transaction() as db:
            cursor = db.execute(
                "DELETE FROM answers WHERE created < ? AND key NOT IN "
                "(SELECT answer_key FROM verdicts)",
                (cutoff,),
            )
            return cursor.rowcount

    # --- answers ----------------------------------------------------------------------------

    def remember(
        self, question: str, chat_type: str, record_ids: Sequence[str], more: int = 0
    ) -> str:
        """Keep an answer for its buttons; its key."""
        return self.remember_many(question, chat_type, [record_ids], more)[0]

    def remember_many(
        self,
        question: str,
        chat_type: str,
        answers: Sequence[Sequence[str]],
        more: int = 0,
    ) -> list[str]:
        """Several answers to one question (inline results: one record each); their keys."""
        keys = [secrets.token_urlsafe(KEY_BYTES) for _ in answers]
        created = _iso(_now())
        with self.store.transaction() as db:
            db.executemany(
                "INSERT INTO answers (key, created, chat_type, question, record_ids, more) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (key, created, chat_type, question, json.dumps(list(ids)), more)
                    for key, ids in zip(keys, answers, strict=True)
                ],
            )
        self._since_prune += len(keys)
        if self._since_prune >= PRUNE_EVERY:
            self._since_prune = 0
            self.prune()
        return keys

    def asked(self, key: str) -> Asked | None:
        """The answer a button or deep link names, or None (unknown, forged or forgotten)."""
        rows = self.store.query("SELECT * FROM answers WHERE key = ?", (key,))
        if not rows:
            return None
        row = rows[0]
        return Asked(
            key=row["key"],
            created=dt.datetime.fromisoformat(row["created"]),
            chat_type=row["chat_type"],
            question=row["question"],
            record_ids=tuple(json.loads(row["record_ids"])),
            more=int(row["more"]),
            more_sent=bool(row["more_sent"]),
        )

    def take_more(self, key: str) -> bool:
        """Mark an answer's "More results" as sent: True the first time only."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE answers SET more_sent = 1 WHERE key = ? AND more_sent = 0", (key,)
            )
            return cursor.rowcount == 1

    # --- verdicts ---------------------------------------------------------------------------

    def vote(self, key: str, user_id: int, chat_type: str, verdict: Verdict) -> str | None:
        """Record a person's verdict on an answer: "new", "changed", "same", or None when
        the answer is unknown. One verdict per person and answer; a new one replaces it."""
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM answers WHERE key = ?", (key,)).fetchone() is None:
                return None
            old = db.execute(
                "SELECT verdict FROM verdicts WHERE answer_key = ? AND user_id = ?",
                (key, user_id),
            ).fetchone()
            db.execute(
                "INSERT INTO verdicts (answer_key, user_id, at, chat_type, verdict) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (answer_key, user_id) DO UPDATE SET "
                "at = excluded.at, chat_type = excluded.chat_type, verdict = excluded.verdict",
                (key, user_id, _iso(_now()), chat_type, verdict),
            )
        if old is None:
            return "new"
        return "same" if old["verdict"] == verdict else "changed"

    def await_comment(self, key: str, user_id: int, chat_id: int, message_id: int) -> None:
        """The "What was wrong?" prompt for this verdict is message ``message_id``."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE verdicts SET prompt_chat_id = ?, prompt_message_id = ? "
                "WHERE answer_key = ? AND user_id = ?",
                (chat_id, message_id, key, user_id),
            )

    def comment(self, chat_id: int, message_id: int, user_id: int, text: str) -> bool:
        """A reply to a "What was wrong?" prompt: kept as that verdict's comment (one
        line). False when the message replied to is no prompt of this person's."""
        line = " ".join(text.split())[:COMMENT_CHARS]
        if not line:
            return False
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE verdicts SET comment = ? WHERE prompt_chat_id = ? "
                "AND prompt_message_id = ? AND user_id = ?",
                (line, chat_id, message_id, user_id),
            )
            return cursor.rowcount > 0

    def is_prompt(self, chat_id: int, message_id: int) -> bool:
        rows = self.store.query(
            "SELECT 1 FROM verdicts WHERE prompt_chat_id = ? AND prompt_message_id = ? LIMIT 1",
            (chat_id, message_id),
        )
        return bool(rows)

    def entries(self, *, since: dt.datetime | None = None, limit: int | None = None) -> list[Entry]:
        """Verdicts, newest first: all, those at or after ``since``, at most ``limit``."""
        sql = (
            "SELECT v.at, v.chat_type, v.user_id, v.verdict, v.comment, a.question, a.record_ids "
            "FROM verdicts v JOIN answers a ON a.key = v.answer_key"
        )
        params: list[object] = []
        if since is not None:
            sql += " WHERE v.at >= ?"
            params.append(_iso(since))
        sql += " ORDER BY v.at DESC, v.rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            Entry(
                at=dt.datetime.fromisoformat(row["at"]),
                chat_type=row["chat_type"],
                user_id=int(row["user_id"]),
                question=row["question"],
                record_ids=tuple(json.loads(row["record_ids"])),
                verdict=row["verdict"],
                comment=row["comment"],
            )
            for row in self.store.query(sql, params)
        ]


def entry_line(entry: Entry) -> str:
    """One verdict as a line of plain text, for ``python -m bot feedback``."""
    mark = "👍" if entry.verdict == "up" else "👎"
    ids = ", ".join(entry.record_ids) or "no records"
    comment = f" — “{entry.comment}”" if entry.comment else ""
    return (
        f"{_iso(entry.at)} {mark} {entry.chat_type} user {entry.user_id}: "
        f"{entry.question!r} [{ids}]{comment}"
    )


def parse_since(text: str) -> dt.datetime:
    """``--since``: a date (``2026-12-01``) or a date and time; UTC unless it says."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date such as 2026-12-01") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
