"""Answers: cite or abstain, dated leads, timelines, denials, bad input."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.answer.compose import EMPTY_QUESTION, NO_RECORDS, answer
from bot.answer.evaluate import evaluate, format_report, load_cases
from bot.answer.kinds import question_kind
from bot.answer.render import answer_text
from bot.knowledge import KnowledgeBase
from bot.knowledge.schema import date_sort_key
from bot.search import Index, LazyRecords, open_index
from bot.search.build import FINGERPRINT, index_from_cache
from bot.search.records import LazyById
from bot.search.store import RecordStore, load_cached

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEV_QUESTIONS = SHARED / "eval" / "dev-questions.yaml"


def test_every_development_question_passes(index: Index) -> None:
    if not DEV_QUESTIONS.exists():
        pytest.skip(f"{DEV_QUESTIONS} is not beside the repository")
    cases, top = load_cases(DEV_QUESTIONS)
    report = evaluate(index, cases, top)
    assert report.pass_rate == 1.0, format_report(report)


@pytest.mark.parametrize(("name", "size"), [("questions.yaml", 30), ("questions-varied.yaml", 120)])
def test_every_own_question_passes(index: Index, name: str, size: int) -> None:
    cases, top = load_cases(ROOT / "tests" / name)
    assert len(cases) >= size
    report = evaluate(index, cases, top)
    assert report.pass_rate == 1.0, format_report(report)


def test_misspelt_words_are_read_as_the_closest_record_word(index: Index) -> None:
    assert index.spell("iranian dron factroy") == "iranian drone factory"
    # Words the records know, and near misses below the cut-off, stay as typed.
    assert index.spell("grain deal") == "grain deal"


def test_unknown_hyphenated_word_is_left_to_its_parts(index: Index) -> None:
    # "drone" is a record word: "drone-maker" gives way to its parts.
    assert index.question_terms("drone-maker Iran") == ["drone", "maker", "iran"]


def test_hyphenated_name_no_record_holds_stays_one_unknown_word(index: Index) -> None:
    assert index.question_terms("F-16 pilots") == ["f-16", "pilot"]
    assert not answer(index, "F-16 deliveries to Ukraine").found


OFF_TOPIC = [
    "What is the weather in Paris tomorrow?",
    "Best pizza in Naples",
    "Who won the Champions League final?",
    "How do I bake sourdough bread?",
    "My laptop won't turn on, what should I do?",
    "Python list comprehension syntax",
    "How tall is the Eiffel Tower?",
    "Translate good morning into Spanish",
]


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_abstain_without_citation(index: Index, question: str) -> None:
    result = answer(index, question)
    assert not result.found
    assert result.citations == ()
    assert result.lead == NO_RECORDS


def test_when_question_gives_a_chronological_timeline(index: Index) -> None:
    result = answer(index, "When was the factory reported?")
    assert result.found and result.timeline and len(result.citations) >= 3
    keys = [date_sort_key(c.date) for c in result.citations]
    assert keys == sorted(keys)
    assert "earliest first" in result.lead
    assert any(c.date == "2023-06" and c.date_text == "June 2023" for c in result.citations)


def test_dates_keep_their_precision(index: Index) -> None:
    result = answer(index, "When was the contract for shells and missiles reported?")
    assert result.citations[0].date == "2023-06-05"
    assert result.lead.startswith("June 5, 2023")
    month_only = answer(index, "What did US intelligence say in June 2023?")
    assert all(c.date_text != "June 1, 2023" for c in month_only.citations)


def test_denied_claim_is_shown_with_its_denial(index: Index) -> None:
    result = answer(index, "secret talks on a plant for kamikaze drones")
    talks = next(c for c in result.citations if c.claim_id.startswith("feb-2023-secret-talks"))
    assert any(n.startswith("Denied by Iran") for n in talks.notes)
    assert "Denied by Iran" in answer_text(result)


def test_who_question_leads_with_the_claimant(index: Index) -> None:
    result = answer(index, "Who said that Iran is Russia's top military backer?")
    assert result.lead.startswith("Vedant Patel")


def test_where_question_leads_with_the_place(index: Index) -> None:
    assert answer(index, "Where is the drone factory?").lead.startswith("East of Moscow")


def test_how_many_question_leads_with_the_figure(index: Index) -> None:
    assert answer(index, "How many drones did Russia receive?").lead.startswith("“hundreds of")


def test_every_line_traces_to_a_record(index: Index, knowledge: KnowledgeBase) -> None:
    for question in ["When was the factory reported?", "Shahed", "Caspian Sea", "Mohajer-6"]:
        result = answer(index, question)
        for citation in result.citations:
            record = knowledge.by_id[citation.claim_id]
            # The snippet is the source's own words, never ours.
            assert citation.snippet in record.source.excerpt
            assert citation.claim == record.claim
        bullets = [line for line in answer_text(result).splitlines() if line.startswith("•")]
        assert len(bullets) == len(result.citations)
        assert all(re.search(r"\[[a-z0-9-]+\]$", line) for line in bullets)


def test_snippet_marks_the_question_words(index: Index) -> None:
    citation = answer(index, "Caspian Sea").citations[0]
    marked = [citation.snippet[a:b] for a, b in citation.marks]
    assert "Caspian" in marked


@pytest.mark.parametrize(
    "question",
    ["", "   \n\t ", "?!?!...", "🙂🔥🙂", "\x00\x07\x1b\x7f"],
)
def test_questions_without_words_get_a_clear_reply(index: Index, question: str) -> None:
    result = answer(index, question)
    assert not result.found and result.citations == ()
    assert result.lead == EMPTY_QUESTION


def test_control_characters_are_removed_from_the_echoed_question(index: Index) -> None:
    result = answer(index, "Mohajer\x00-6\x1b drones?")
    assert result.question == "Mohajer -6 drones?"


def test_huge_question_is_cut_and_answered(index: Index) -> None:
    result = answer(index, "Mohajer-6 drones " * 2_000)
    assert len(result.question) <= 1000
    assert result.found
    assert result.citations[0].claim_id == "2023-ukraine-air-force-mohajer-6-and-shahed"


def test_cyrillic_question_gets_the_language_reply(index: Index) -> None:
    result = answer(index, "Когда построили завод беспилотников?")
    assert not result.found and result.citations == () and result.reason == "language"


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When was the factory reported?", "when"),
        ("What year did the talks happen?", "when"),
        ("Who said it?", "who"),
        ("Where is the plant?", "where"),
        ("How many drones?", "how_many"),
        ("Mohajer-6", "what"),
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert question_kind(question) == kind


@pytest.mark.parametrize(
    "question",
    [
        "drone factory zq",
        "<b>drone factory</b>",
        "DRONE FACTORY",
        "When was the factory reported? 2",
        "Shahed 136",
        "Shahed #2",
        "drone factory!!!",
    ],
)
def test_a_stray_token_markup_or_case_never_flips_an_answer(index: Index, question: str) -> None:
    assert answer(index, question).found, question


def test_a_question_cut_at_the_length_limit_in_a_stray_letter_still_answers(
    index: Index,
) -> None:
    question = ("When was the drone factory reported " * 40)[:999] + " W"
    result = answer(index, question * 2)
    assert len(result.question) == 1000 and result.found


def test_a_near_miss_whose_subject_no_record_holds_abstains(index: Index) -> None:
    result = answer(index, "Did Iran supply Russia with submarines?")
    assert not result.found and result.citations == ()


class CountingRecords(LazyRecords):
    """Records served from a real index cache, remembering which were decoded."""

    def __init__(self, store: RecordStore) -> None:
        super().__init__(store)
        self.decoded: set[int] = set()

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, int):
            self.decoded.add(i % len(self))
        return super().__getitem__(i)


def counting_index(cache: Path) -> tuple[Index, CountingRecords]:
    open_index(ROOT / "knowledge", cache)  # writes the cache
    (path,) = cache.glob("index-*.npz")
    cached = load_cached(cache, path.stem.removeprefix("index-"), fingerprint=FINGERPRINT)
    assert cached is not None
    records = CountingRecords(cached.records)
    knowledge = KnowledgeBase(
        records=records,
        aliases=tuple(tuple(g) for g in cached.meta["aliases"]),
        by_id=LazyById(cached.records, records),
    )
    served = index_from_cache(cached)
    return Index(knowledge, served.analyzer, served.scorer, served.speller.words), records


@pytest.mark.parametrize(
    "question",
    [
        "drones",
        "How many drones did Russia receive?",
        "Where is the drone factory?",
        "When was the factory reported?",
    ],
)
def test_an_answer_decodes_only_the_records_it_shows(
    tmp_path: Path, lexical_index: Index, question: str
) -> None:
    index, records = counting_index(tmp_path)
    result = answer(index, question)
    assert result == answer(lexical_index, question)  # the same answer as from YAML
    hits = index.search(question, limit=18)
    assert len(hits) > len(result.citations)  # more records matched than are cited
    shown = {c.claim_id for c in result.citations} | {
        other
        for c in result.citations
        for other in re.findall(r"\[([a-z0-9-]+)\]", " ".join(c.notes))
    }
    assert {records.record_id(i) for i in records.decoded} == shown
