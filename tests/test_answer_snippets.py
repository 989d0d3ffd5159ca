"""The snippet is the excerpt sentence that carries the record's own claim."""

from __future__ import annotations

import random

import pytest

from bot.answer.snippets import (
    _ASCII_WORD,
    _DOTTED,
    ABBREVIATIONS,
    _ends_in_abbreviation,
    best_snippet,
    claim_act,
    marks,
    sentences,
)
from bot.knowledge import KnowledgeBase
from bot.search import Index
from bot.search.analysis import WORD


def test_a_denial_is_quoted_with_the_sentence_that_denies(
    index: Index, knowledge: KnowledgeBase
) -> None:
    record = knowledge.by_id["feb-2023-iran-denies-drone-plant-talks"]
    assert best_snippet(index, record, frozenset()) == "At the time, Iran denied this information."


def test_the_mohajer_claim_is_quoted_with_its_own_sentence_not_the_one_about_the_sea(
    index: Index, knowledge: KnowledgeBase
) -> None:
    record = knowledge.by_id["2023-ukraine-air-force-mohajer-6-and-shahed"]
    snippet = best_snippet(index, record, frozenset(index.question_terms("by sea")))
    assert snippet.startswith("They also suggested") and "Mohajer-6" in snippet


def test_every_shipped_snippet_holds_the_quote_or_the_act_of_its_claim(
    index: Index, knowledge: KnowledgeBase
) -> None:
    for record in knowledge.records:
        snippet = best_snippet(index, record, frozenset())
        assert snippet in record.source.excerpt
        if record.quote and record.quote[:60] in record.source.excerpt:
            assert record.quote[:60] in snippet, record.id
            continue
        act = claim_act(index, record)
        found = set(index.analyzer.terms(snippet))
        assert not act or act & found, record.id


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Mr. Patel said so. Then he left.", 2),
        ("The U.S. said so. Iran denied it.", 2),
        ("At 9 a.m. Iran denied it.", 1),
        ("Gen. Smith spoke in Jan. 2023 about it. No more.", 2),
        ("J. Smith wrote it. Others agreed.", 2),
        ("It ended. “Then,” he said, “we left.”", 2),
    ],
)
def test_sentences_do_not_break_after_abbreviations(text: str, count: int) -> None:
    parts = sentences(text)
    assert len(parts) == count, parts
    assert " ".join(parts) == text


def test_an_abbreviation_is_read_from_the_last_word_as_the_whole_pattern_reads_it() -> None:
    def whole(piece: str) -> bool:
        found = _DOTTED.search(piece)
        return found is not None and (
            found.group(1) is None or found.group(1).lower() in ABBREVIATIONS
        )

    rng = random.Random(2)
    alphabet = "aAbBmMrRsStTUu. .\t\n(\"“”\xa0\u2003\x1c-'é1"
    pieces = ["Mr.", "U.S.", "J.", "a.m.", "(Gen.", "“Dr.", "x.Mr.", "Prof", "etc.", "Inc.\n"]
    pieces += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(50000)
    ]
    for piece in pieces:
        assert _ends_in_abbreviation(piece) == whole(piece), repr(piece)


def test_ascii_words_are_marked_where_the_word_pattern_finds_them(index: Index) -> None:
    rng = random.Random(3)
    texts = ["".join(rng.choice("abcXYZ019-' _.,\t\"()") for _ in range(20)) for _ in range(5000)]
    for text in texts:
        assert [m.span() for m in _ASCII_WORD.finditer(text)] == [
            m.span() for m in WORD.finditer(text)
        ]
    terms = frozenset(index.question_terms("Iran's drones in the U.S."))
    for text in ["Iran’s drones, Iran's drone-makers and the U.S. drones.", "Iran's drone-makers."]:
        expected = [m.span() for m in WORD.finditer(text) if "iran" in m.group().lower()]
        expected += [m.span() for m in WORD.finditer(text) if "drone" in m.group()]
        assert list(marks(index, text, terms)) == sorted(expected)
