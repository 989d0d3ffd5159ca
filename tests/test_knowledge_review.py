"""bot/knowledge/review.py: a record's fact-check as one line and as JSON, for answers."""

from __future__ import annotations

from typing import Any

import pytest

from bot.knowledge.review import review_json, review_line
from tests.records import built


@pytest.mark.parametrize(
    ("review", "line"),
    [
        ({"verdict": "False", "reviewer": "AFP", "date": "2021-08-24"},
         "Rated False by AFP, 2021-08-24"),
        ({"verdict": "Misleading", "reviewer": "AFP"}, "Rated Misleading by AFP"),
        ({"verdict": "Falso", "date": "2020-08-31"}, "Rated Falso, 2020-08-31"),
        ({"verdict": "FALSO: As imagens foram retiradas do canal no YouTube de um corretor.",
          "reviewer": "Comprova"}, "Rated FALSO by Comprova"),
        ({"verdict": "Reker hat diesen Satz nie gesagt. «Völliger Unsinn», heißt es dazu.",
          "reviewer": "dpa", "date": "2019-09-20"},
         "Rated by dpa, 2019-09-20: “Reker hat diesen Satz nie gesagt. «Völliger Unsinn», "
         "heißt es dazu.”"),
        ({"rating": 2, "best": 5, "reviewer": "India Today"}, "Rated 2 of 5 by India Today"),
        ({"reviewer": "Newtral", "date": "2022-10-06"}, "Reviewed by Newtral, 2022-10-06"),
        ({}, None),
    ],
)  # fmt: skip
def test_review_line(review: dict[str, Any], line: str | None) -> None:
    assert review_line(built(review=review)) == line


def test_a_long_sentence_is_shortened() -> None:
    line = review_line(built(review={"verdict": "Das stimmt so nicht " * 20}))
    assert line is not None and line.endswith("…”") and len(line) < 140


def test_no_review_no_line() -> None:
    assert review_line(built()) is None and review_json(built()) is None


def test_review_json() -> None:
    record = built(
        review={
            "verdict": "False",
            "rating": 1,
            "best": 5,
            "worst": 1,
            "reviewer": "AFP",
            "reviewer_url": "https://factcheck.afp.com/",
            "date": "2021-08-24",
            "url": "https://factcheck.afp.com/x",
        }
    )
    assert review_json(record) == {
        "verdict": "False",
        "rating": {"value": 1, "best": 5, "worst": 1},
        "reviewer": "AFP",
        "reviewer_url": "https://factcheck.afp.com/",
        "date": "2021-08-24",
        "url": "https://factcheck.afp.com/x",
        "title": None,
        "line": "Rated False by AFP, 2021-08-24",
    }
    assert (review_json(built(review={"verdict": "False"})) or {})["rating"] is None
