"""``python -m bot feedback``: what readers said, for the curators (in-process; the
end-to-end run against a real bot is in tests/test_chat_e2e.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.chat.feedback import FeedbackStore
from bot.chat.store import Store
from bot.cli import main


def test_no_store_yet_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feedback", "--data-dir", str(tmp_path / "none")]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "No feedback yet" in err
    assert not (tmp_path / "none").exists()  # reading never creates the store


def test_lists_newest_first_as_text_or_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FeedbackStore(Store.open(tmp_path))
    first = store.remember("When was it?", "private", ["a-one"])
    second = store.remember("Who said it?", "inline", ["b-two"])
    store.vote(first, 1, "private", "down")
    store.vote(second, 2, "inline", "up")
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    assert main(["feedback", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["question"] for r in rows] == ["Who said it?", "When was it?"]
    assert main(["feedback"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("👍 inline user 2: 'Who said it?' [b-two]")
    assert main(["feedback", "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out == ""


def test_a_bad_since_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feedback", "--since", "last week"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "--since" in line and "2026-12-01" in line
