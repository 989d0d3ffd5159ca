"""Plain-text and JSON rendering: every line traces to a record, marks are the question's words."""

from __future__ import annotations

from bot.answer.compose import answer
from bot.answer.render import answer_json, answer_text, marked_snippet, record_text
from bot.knowledge import KnowledgeBase
from bot.search import Index


def test_each_bullet_names_its_record_id(index: Index) -> None:
    result = answer(index, "When was the factory reported?")
    bullets = [line for line in answer_text(result).splitlines() if line.startswith("• ")]
    assert len(bullets) == len(result.citations) > 1
    for line, citation in zip(bullets, result.citations, strict=True):
        assert f" [{citation.claim_id}]" in line


def test_a_bullet_does_not_repeat_the_lead(index: Index) -> None:
    result = answer(index, "What did Vedant Patel say about Iran?")
    text = answer_text(result)
    top = result.citations[0]
    assert result.lead_id == top.claim_id and top.claim in result.lead
    assert text.count(top.claim) == 1  # in the lead, not again in its bullet


def test_snippet_marks_are_the_question_words(index: Index) -> None:
    result = answer(index, "Mohajer-6 drones")
    citation = result.citations[0]
    marked = marked_snippet(citation, lambda w: f"<{w}>", str)
    assert "<Mohajer-6>" in marked
    assert marked.replace("<", "").replace(">", "") == citation.snippet


def test_json_abstention_has_no_citation(index: Index) -> None:
    data = answer_json(answer(index, "Best pizza in Naples"))
    assert data["found"] is False and data["citations"] == []


def test_record_text_shows_links_by_claimant_and_id(knowledge: KnowledgeBase) -> None:
    record = knowledge.by_id["feb-2023-secret-talks-kamikaze-drone-plant"]
    text = record_text(record, knowledge)
    assert text.startswith(f"[{record.id}]")
    assert "Denied by: Iran:" in text and "[feb-2023-iran-denies-drone-plant-talks]" in text
    assert f"Excerpt: “{record.source.excerpt}”" in text
