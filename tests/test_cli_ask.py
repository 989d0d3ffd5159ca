"""``python -m bot ask`` and ``eval`` as a user runs them: real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_readme_main_command_prints_a_dated_cited_answer() -> None:
    result = run("ask", "When was the factory reported?")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "When was the factory reported?"
    assert "June 2023" in result.stdout and "earliest first" in lines[1]
    assert "[jun-2023-us-intel-factory-east-of-moscow]" in result.stdout
    assert "Source: “Iran remains Russia’s top military backer – US State Department”" in lines


def test_json_answer_has_the_documented_shape() -> None:
    result = run("ask", "--json", "What did Vedant Patel say about Iran?")
    data = json.loads(result.stdout)
    assert set(data) == {"question", "found", "answer", "retrieval", "citations"}
    assert data["found"] is True and data["retrieval"] == "hybrid"
    first = data["citations"][0]
    assert set(first) == {
        "claim_id", "snippet", "date", "claimant", "status", "source", "url", "publisher", "score"
    }  # fmt: skip
    assert any("top military backer" in c["snippet"] for c in data["citations"])


def test_json_abstains_with_no_citation() -> None:
    data = json.loads(run("ask", "--json", "Best pizza in Naples").stdout)
    assert data["found"] is False and data["citations"] == []
    assert data["answer"] == "I have no claim records about that."
    assert data["reason"] == "no_records"


def test_bm25_alone_says_so_in_json() -> None:
    data = json.loads(run("ask", "--json", "--model", "off", "Mohajer-6").stdout)
    assert data["retrieval"] == "lexical" and data["found"] is True


def test_a_model_that_cannot_load_is_said_once_and_bm25_answers(tmp_path: Path) -> None:
    result = run("ask", "--json", "--model", str(tmp_path / "no-such-model"), "Mohajer-6")
    assert result.returncode == 0
    assert json.loads(result.stdout)["retrieval"] == "lexical"
    assert result.stderr.count("answering with BM25 alone") == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("limit", ["0", "-1", "51", "many"])
def test_a_citation_limit_out_of_range_is_a_usage_error(limit: str) -> None:
    result = run("ask", "--limit", limit, "Mohajer-6")
    assert result.returncode == 2 and "--limit" in result.stderr
    assert "Traceback" not in result.stderr


def test_stdin_mode_prints_one_json_object_per_question() -> None:
    result = run("ask", "--json", "-", stdin="Mohajer-6\n\nBest pizza in Naples\nShahed\n")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == ["Mohajer-6", "", "Best pizza in Naples", "Shahed"]
    assert [r["found"] for r in rows] == [True, False, False, True]
    assert rows[1]["reason"] == "empty" and rows[2]["reason"] == "no_records"


def test_invalid_knowledge_base_gives_its_errors_and_a_nonzero_exit(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("- id: x\n  claim: [unclosed\n", encoding="utf-8")
    result = run("ask", "--knowledge", str(tmp_path), "anything")
    assert result.returncode == 1
    assert (
        "bad.yaml:3: YAML syntax error: while parsing a flow sequence (started at line 2) "
        "expected ',' or ']', but got '<stream end>'" in result.stderr
    )
    assert result.stdout == ""


def test_eval_prints_pass_rate_and_retrieval_figures() -> None:
    result = run("eval", "tests/questions.yaml")
    assert result.returncode == 0, result.stdout
    for figure in ("passed (100%)", "Recall@3", "MRR"):
        assert figure in result.stdout
