"""``python -m bot validate`` as a user runs it: a real subprocess from the repository root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.knowledge import load
from tests.records import RECORD_YAML as RECORD

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BOT_KNOWLEDGE_DIR"}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        encoding="utf-8",
        timeout=120,
    )


def shipped_summary() -> str:
    kb = load(ROOT / "knowledge")
    return (
        f"OK — {len(kb.records)} records in {len(kb.files)} files, {len(kb.aliases)} alias groups"
    )


def test_validate_shipped_knowledge_prints_ok_with_the_record_count() -> None:
    result = run("validate", "knowledge")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"knowledge: {shipped_summary()}\n"
    assert result.stderr == ""


def test_validate_without_a_folder_checks_the_repository_knowledge() -> None:
    result = run("validate")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"knowledge: {shipped_summary()}\n"


def test_validate_finds_the_repository_knowledge_from_another_directory(tmp_path: Path) -> None:
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{ROOT / 'knowledge'}: {shipped_summary()}\n"


def test_validate_broken_folder_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        RECORD.replace('"2023-06"', '"2023-13"') + '  colour: "red"\n', encoding="utf-8"
    )
    (folder / "b.yaml").write_text(
        RECORD.replace('"a-one"', '"b-two"') + '  denied_by: ["nowhere"]\n', encoding="utf-8"
    )
    (folder / "c.yaml").write_text("", encoding="utf-8")
    result = run("validate", str(folder))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "4 problems in the knowledge base:",
        f"  {folder / 'a.yaml'}:4: record 1 (a-one), field 'date': "
        "'2023-13' is not a real date (month must be in 1..12)",
        f"  {folder / 'a.yaml'}:8: record 1 (a-one), field 'colour': "
        "unknown field; check its spelling against the record schema",
        f"  {folder / 'b.yaml'}:1: record 1 (b-two), field 'denied_by': "
        "links to unknown record id 'nowhere'",
        f"  {folder / 'c.yaml'}: the file is empty; add records or delete it",
    ]


def test_validate_missing_folder_exits_1(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stderr == (
        f"1 problem in the knowledge base:\n  {tmp_path / 'nowhere'}: no such folder\n"
    )


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m bot ")
    for command in ("ask", "validate", "eval", "serve"):
        assert f"\n    {command} " in result.stdout, command
    assert "python -m bot validate knowledge/" in result.stdout


def test_validate_help_describes_the_command() -> None:
    result = run("validate", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m bot validate [-h] [DIR]")
    text = " ".join(result.stdout.split())  # argparse wraps to the terminal width
    assert "list every problem" in text
    assert "exit 0 when clean, 1 otherwise" in text


def test_no_command_is_a_usage_error() -> None:
    result = run()
    assert result.returncode == 2
    assert "usage: python -m bot" in result.stderr
