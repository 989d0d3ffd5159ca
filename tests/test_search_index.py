"""The index: field weights, BM25 variant on tiny corpora, coverage."""

from __future__ import annotations

from pathlib import Path

import pytest
import rank_bm25

from bot.answer.compose import answer
from bot.answer.render import answer_json
from bot.knowledge import KnowledgeBase, KnowledgeError
from bot.knowledge.schema import Record
from bot.search import Index, LazyRecords, open_index
from tests.records import built

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


def make_record(rid: str, claim: str, excerpt: str | None = None, **extra: object) -> Record:
    return built(rid, claim=claim, excerpt=excerpt or claim, title="A source", **extra)


def tiny_index(*records: Record, aliases: tuple[tuple[str, ...], ...] = ()) -> Index:
    return Index.build(KnowledgeBase(records=records, aliases=aliases))


def test_okapi_pitfall_that_bm25plus_avoids() -> None:
    # With two documents, a term in one of them has Okapi IDF log(1.5/1.5) = 0:
    # rank-bm25's BM25Okapi scores every document 0 and cannot rank at all.
    corpus = [["drone", "factory"], ["grain", "deal"]]
    assert list(rank_bm25.BM25Okapi(corpus).get_scores(["factory"])) == [0.0, 0.0]
    plus = rank_bm25.BM25Plus(corpus).get_scores(["factory"])
    assert plus[0] > plus[1]


def test_two_record_corpus_finds_the_matching_record() -> None:
    index = tiny_index(
        make_record("a-drone-factory", "Iran builds a drone factory."),
        make_record("b-grain-deal", "A grain deal was signed."),
    )
    hits = index.search("drone factory")
    assert [h.record.id for h in hits] == ["a-drone-factory"]
    assert hits[0].coverage == 1.0


def test_term_in_every_record_still_counts_on_a_small_corpus() -> None:
    # "iran" is in all three records: Okapi would give it IDF 0 or less.
    index = tiny_index(
        make_record("a-one", "Iran sends drones."),
        make_record("b-two", "Iran sends shells."),
        make_record("c-three", "Iran talks peace."),
    )
    hits = index.search("Iran")
    assert len(hits) == 3 and all(h.relevance > 0 for h in hits)


def test_a_match_in_the_claim_outranks_one_in_the_excerpt() -> None:
    index = tiny_index(
        make_record("a-excerpt-only", "Russia buys shells.", "Shells and a factory were named."),
        make_record("b-claim", "Iran plans a factory.", "Iran plans a plant."),
        make_record("c-other", "Grain was shipped.", "Grain was shipped."),
    )
    assert [h.record.id for h in index.search("factory")] == ["b-claim", "a-excerpt-only"]


def test_aliases_apply_to_questions_and_records(index: Index) -> None:
    hits = index.search("UAV plant Moscow")
    assert hits and "factori" in hits[0].matched and "drone" in hits[0].matched


def test_unknown_words_weigh_as_the_rarest_and_lower_coverage(index: Index) -> None:
    hits = index.search("weather in Moscow")
    assert hits and max(h.coverage for h in hits) < 0.2


def test_question_filler_is_not_a_search_term(index: Index) -> None:
    assert index.question_terms("latest news: when was the factory reported?") == ["factori"]


# --- opening an index through the cache ------------------------------------------------------


def test_open_index_from_cache_answers_exactly_as_built(tmp_path: Path) -> None:

    built = open_index(KNOWLEDGE)  # no cache: validated Record objects in memory
    open_index(KNOWLEDGE, tmp_path)  # writes the cache
    cached = open_index(KNOWLEDGE, tmp_path)
    assert isinstance(cached.knowledge.records, LazyRecords)
    assert not isinstance(built.knowledge.records, LazyRecords)
    for question in ["When was the factory reported?", "Mohajer-6", "dron factroy", "pizza"]:
        assert answer_json(answer(cached, question)) == answer_json(answer(built, question))
    assert cached.knowledge.by_id["feb-2023-iran-denies-drone-plant-talks"].claimant == "Iran"


def test_a_changed_knowledge_base_is_rebuilt_not_served_stale(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE, folder)
    open_index(folder, tmp_path / "cache")
    path = folder / "drone-factory.yaml"
    path.write_text(path.read_text().replace("east of Moscow", "east of Kazan"))
    index = open_index(folder, tmp_path / "cache")
    assert "Kazan" in index.search("drone factory Kazan")[0].record.claim


def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path) -> None:

    open_index(KNOWLEDGE, tmp_path)
    (cache_file,) = tmp_path.glob("*.npz")
    cache_file.write_bytes(cache_file.read_bytes()[:1000])
    index = open_index(KNOWLEDGE, tmp_path)
    assert index.search("Mohajer-6")
    assert cache_file.exists() and cache_file.stat().st_size > 1000  # written anew


def test_an_invalid_knowledge_base_is_never_cached(tmp_path: Path) -> None:

    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "bad.yaml").write_text("- id: [\n")
    with pytest.raises(KnowledgeError):
        open_index(tmp_path / "kb", tmp_path / "cache")
    assert not list(tmp_path.glob("cache/*.npz"))


def test_cached_index_corrects_spelling_without_decoding_records(tmp_path: Path) -> None:
    open_index(KNOWLEDGE, tmp_path)
    cached = open_index(KNOWLEDGE, tmp_path)
    assert cached.spell("iranian dron factroy") == "iranian drone factory"
    # The word list came with the cache: no record was read to build it.
    assert cached.knowledge.records._decoded == {}


@pytest.mark.parametrize(
    "question",
    ["drones", "Iran Russia drone factory", "Shahed Mohajer-6 Caspian", "weather in Moscow"],
)
def test_matched_terms_and_coverage_are_those_of_each_record(index: Index, question: str) -> None:
    terms = index.question_terms(question)
    hits = index.search(question, limit=30)
    assert hits
    for hit in hits:
        matched = index.scorer.matched(hit.position, terms)
        assert hit.matched == matched and list(hit.matched) == list(matched)  # same order
        assert hit.coverage == index.coverage(terms, matched)  # bit for bit
        assert hit.record_id == hit.record.id and hit.claim == hit.record.claim
        assert hit.contradicts == hit.record.contradicts
