"""The bot's SQLite store: WAL, one schema per part, steps applied once."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from bot.chat.store import FILENAME, Store


def test_open_creates_a_private_folder_and_a_wal_database(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data")
    assert (tmp_path / "data" / FILENAME).is_file()
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    [row] = store.query("PRAGMA journal_mode")
    assert row[0] == "wal"
    store.close()


def test_parts_migrate_independently_and_only_once(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.migrate("feedback", ["CREATE TABLE a (x INTEGER)"])
    # A second part (e.g. an update journal) brings its own table beside the first.
    store.migrate("journal", ["CREATE TABLE j (update_id INTEGER PRIMARY KEY)"])
    with store.transaction() as db:
        db.execute("INSERT INTO a VALUES (1)")
    store.close()

    again = Store.open(tmp_path)  # a restart: nothing is created twice
    again.migrate("feedback", ["CREATE TABLE a (x INTEGER)", "ALTER TABLE a ADD COLUMN y TEXT"])
    again.migrate("journal", ["CREATE TABLE j (update_id INTEGER PRIMARY KEY)"])
    assert [tuple(r) for r in again.query("SELECT x, y FROM a")] == [(1, None)]
    steps = {r["part"]: r["steps"] for r in again.query("SELECT * FROM schema_parts")}
    assert steps == {"feedback": 2, "journal": 1}


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.migrate("t", ["CREATE TABLE t (x INTEGER UNIQUE)"])
    try:
        with store.transaction() as db:
            db.execute("INSERT INTO t VALUES (1)")
            db.execute("INSERT INTO t VALUES (1)")
    except sqlite3.IntegrityError:
        pass
    assert store.query("SELECT * FROM t") == []
