"""The snippet is the excerpt sentence that carries the record's own claim."""

from __future__ import annotations

import pytest

from bot.answer.snippets import best_snippet, claim_act, sentences
from bot.knowledge import KnowledgeBase
from bot.search import Index


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
