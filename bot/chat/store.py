"""The bot's own SQLite database under ``BOT_DATA_DIR``: one file, one module that opens it.

Each part of the bot that keeps data (:mod:`bot.chat.feedback` today, an update
journal later) owns its tables and hands :meth:`Store.migrate` its schema as a
list of steps; the store remembers, per part, how many steps it has applied.
A new part is a new name with its own steps, so parts never collide.

WAL mode: readers (``python -m bot feedback``) never block the running bot.
Nothing is pickled: values are text, integers and JSON.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

#: The database file inside BOT_DATA_DIR.
FILENAME = "claimbot.sqlite3"


class Store:
    """One SQLite connection, shared by the bot's parts; safe to call from threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; fast commits
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_parts (part TEXT PRIMARY KEY, steps INTEGER)"
        )

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        """The store in ``data_dir`` (created, readable by its owner only)."""
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(data_dir / FILENAME)

    def migrate(self, part: str, steps: Sequence[str]) -> None:
        """Apply the steps of ``part``'s schema that this database has not seen yet."""
        with self.transaction() as db:
            row = db.execute("SELECT steps FROM schema_parts WHERE part = ?", (part,)).fetchone()
            done = int(row["steps"]) if row else 0
            for step in steps[done:]:
                for statement in step.split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(
                "INSERT INTO schema_parts (part, steps) VALUES (?, ?) "
                "ON CONFLICT(part) DO UPDATE SET steps = excluded.steps",
                (part, max(done, len(steps))),
            )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``with store.transaction() as db:``: all or nothing, one writer at a time."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()
