"""The lexical index: claim records → weighted terms → BM25 ranking.

Ranking model: rank-bm25's ``BM25Plus`` (k1=1.2, b=0.75, delta=1.0). Why not
``BM25Okapi``: it floors negative IDF at ``epsilon * average_idf``, so on a
small knowledge base a term present in half or more of the records scores 0,
and a two-record corpus can score everything 0 (rank_bm25 issues #29, #39,
#43). BM25Plus's IDF, log((N+1)/df), is positive for every term at every
corpus size, and its delta rewards each matched term, so records that match
more of the question's words rank first. :class:`bot.search.scorer.SparseBM25`
computes the very same scores from postings, touching only the question's terms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import Record
from bot.search.analysis import Analyzer
from bot.search.fields import document_terms
from bot.search.question import QUESTION_FILLER, content_terms
from bot.search.scorer import DELTA, SparseBM25
from bot.search.spelling import Speller, spelling_words


@dataclass(frozen=True)
class Hit:
    """One record found for a question; the record itself is read only when asked for."""

    #: The record's position in the knowledge base.
    position: int
    records: Sequence[Record] = field(repr=False, compare=False)
    #: rank-bm25's score: comparable only within one question.
    score: float
    #: The score above what a record matching none of the terms gets (BM25Plus
    #: adds idf * delta for every query term to every record).
    relevance: float
    #: The question's terms this record contains.
    matched: frozenset[str]
    #: IDF-weighted share of the question's terms that the record contains (0..1).
    coverage: float

    @property
    def record(self) -> Record:
        # From a cache, this decodes the record: only for hits an answer keeps.
        return self.records[self.position]


class Index:
    """Search over one knowledge base; immutable, so it can be swapped whole on reload."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        analyzer: Analyzer,
        scorer: SparseBM25,
        spelling: Sequence[str] | None = None,
    ) -> None:
        """``spelling``: the words for spelling correction (:func:`spelling_words`);
        None reads them from the records when first needed."""
        self.knowledge = knowledge
        self.analyzer = analyzer
        self.scorer = scorer
        # Filler words as the analyzer spells them (stemmed, aliased).
        self._filler = analyzer.term_set(QUESTION_FILLER)
        self._speller = None if spelling is None else Speller(spelling)

    @classmethod
    def build(cls, knowledge: KnowledgeBase) -> Index:
        analyzer = Analyzer(knowledge.aliases)
        corpus = [document_terms(analyzer, r) for r in knowledge.records]
        scorer = SparseBM25.fit(corpus)
        return cls(knowledge, analyzer, scorer, spelling_words(knowledge))

    def __len__(self) -> int:
        return len(self.knowledge.records)

    @property
    def speller(self) -> Speller:
        """Spelling correction over this knowledge base's words (built on first use)."""
        if self._speller is None:
            self._speller = Speller(spelling_words(self.knowledge))
        return self._speller

    def question_terms(self, question: str) -> list[str]:
        """The question's content terms, spelling corrected (see :func:`content_terms`)."""
        return content_terms(self.analyzer.terms(self.spell(question)), self._filler, self.scorer)

    def _known(self, word: str) -> bool:
        return any(t in self.scorer or t in self._filler for t in self.analyzer.terms(word))

    def spell(self, question: str) -> str:
        """The question with misspelt words replaced by the closest record word.

        Only words no record knows are touched (4+ letters, not stop words or
        filler): "iranian dron factroy" becomes "iranian drone factory".
        """
        return self.speller.correct(question, self._known)

    def weight(self, term: str) -> float:
        """How much a term says: its IDF; an unknown term counts as the rarest kind."""
        idf = self.scorer.idf(term)
        return idf if idf is not None else math.log(len(self) + 1)

    def search(self, question: str | Sequence[str], limit: int = 10) -> list[Hit]:
        """Records that share terms with the question, best first."""
        terms = self.question_terms(question) if isinstance(question, str) else list(question)
        if not terms:
            return []
        positions, scores = self.scorer.top_k(terms, limit)
        total = sum(self.weight(t) for t in terms)
        baseline = DELTA * sum(self.scorer.idf(t) or 0.0 for t in terms)
        hits = []
        for position, score in zip(positions.tolist(), scores.tolist(), strict=True):
            matched = self.scorer.matched(position, terms)  # from the index: no re-analysis
            coverage = sum(self.weight(t) for t in matched) / total
            hits.append(
                Hit(position, self.knowledge.records, score, score - baseline, matched, coverage)
            )
        return hits
