"""Questions in other languages get a reply naming the language understood, not "no records"."""

from __future__ import annotations

import pytest

from bot.answer.compose import NO_RECORDS, answer
from bot.answer.language import foreign_language
from bot.search import Index


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Когда построили завод беспилотников?", "Russian or Ukrainian (Cyrillic script)"),
        ("Коли Іран передав дрони Росії?", "Russian or Ukrainian (Cyrillic script)"),
        ("Wann wurde die Drohnenfabrik gemeldet?", "German"),
        ("Quand l'usine de drones a-t-elle été signalée ?", "French"),
        ("¿Cuándo se informó de la fábrica de drones?", "Spanish"),
    ],
)
def test_other_languages_are_recognised(question: str, language: str) -> None:
    assert foreign_language(question) == language


@pytest.mark.parametrize(
    "question",
    [
        "When was the factory reported?",
        "Mohajer-6",
        "Did Der Spiegel report on the yacht?",
        "What did Vedant Patel say about Iran?",
        "Shahed 136 in Kyiv",
        "Was the Nord Stream sabotage a false flag?",
    ],
)
def test_english_questions_are_not_taken_for_another_language(question: str) -> None:
    assert foreign_language(question) is None


def test_the_english_model_says_which_language_it_understands(index: Index) -> None:
    result = answer(index, "Wann wurde die Drohnenfabrik gemeldet?")
    assert not result.found and result.citations == ()
    assert result.reason == "language" and "English" in result.lead and "German" in result.lead
    assert result.lead != NO_RECORDS


def test_a_multilingual_model_lets_other_languages_through(
    hybrid_index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Routing only: the multilingual model itself cannot be downloaded here."""
    assert hybrid_index.vectors is not None
    monkeypatch.setattr(hybrid_index.vectors.embedder, "multilingual", True)
    result = answer(hybrid_index, "Когда построили завод беспилотников?")
    assert result.reason != "language"
