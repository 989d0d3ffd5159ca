"""The evaluation of answer quality: cases judged by phrases and ids, figures computed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answer.evaluate import Case, evaluate, load_cases
from bot.errors import EvalFileError
from bot.search import Index


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "q.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_case_passes_only_when_every_group_is_found(index: Index) -> None:
    passing = Case("Mohajer-6", expect=(("mohajer-6",),))
    failing = Case("Mohajer-6", expect=(("mohajer-6",), ("no such phrase anywhere",)))
    report = evaluate(index, [passing, failing], top=3)
    assert [r.passed for r in report.results] == [True, False]
    assert report.pass_rate == 0.5


def test_an_off_topic_case_passes_only_when_nothing_is_cited(index: Index) -> None:
    report = evaluate(index, [Case("Best pizza in Naples", found=False)], top=3)
    assert report.results[0].passed and report.results[0].answer.citations == ()
    report = evaluate(index, [Case("Mohajer-6", found=False)], top=3)
    assert not report.results[0].passed


def test_malformed_questions_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(EvalFileError):
        load_cases(write(tmp_path, "cases: 3\n"))
    with pytest.raises(EvalFileError):
        load_cases(write(tmp_path, "cases:\n  - expect: [[x]]\n"))


def test_a_misspelt_key_is_refused_not_passed(tmp_path: Path) -> None:
    path = write(tmp_path, "cases:\n  - q: Mohajer-6\n    expekt: [[mohajer-6]]\n")
    with pytest.raises(EvalFileError, match="unknown key 'expekt'"):
        load_cases(path)


def test_ids_must_be_among_the_first_citations(index: Index) -> None:
    right = Case("Mohajer-6", ids=("2023-ukraine-air-force-mohajer-6-and-shahed",))
    wrong = Case("Mohajer-6", ids=("feb-2023-iran-denies-drone-plant-talks",))
    report = evaluate(index, [right, wrong], top=1)
    assert [r.passed for r in report.results] == [True, False]
