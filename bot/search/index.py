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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import Record
from bot.search.analysis import WORD, Analyzer
from bot.search.fields import document_terms
from bot.search.question import QUESTION_FILLER, content_terms
from bot.search.records import record_claim, record_contradicts, record_id
from bot.search.scorer import DELTA, SparseBM25
from bot.search.spelling import Speller, spelling_words
from bot.search.vectors import VectorIndex

#: Each retriever contributes its best this many records to the fusion.
FUSION_POOL = 30
#: Reciprocal rank fusion's constant (Cormack et al. 2009): rank r adds 1 / (RRF_K + r).
RRF_K = 60

_VOWEL = re.compile(r"[aeiouyáéíóúàèìòùäëïöüâêîôûåæøœ]|[^\x00-\x7f]")


def is_noise(term: str) -> bool:
    """A token that says nothing about a topic when no record holds it: digits, one
    or two characters, or letters without a vowel ("zq", "2", "W", "#2"). A name
    such as "F-16" or "MiG-29" is not noise."""
    return term.isdigit() or len(term) <= 2 or (term.isalpha() and not _VOWEL.search(term))


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
    #: Cosine similarity of the question's and the record's sentence vectors
    #: (None when searching by BM25 alone).
    similarity: float | None = None

    @property
    def record(self) -> Record:
        # From a cache, this decodes the record: only for the hits an answer cites.
        return self.records[self.position]

    @property
    def record_id(self) -> str:
        return record_id(self.records, self.position)

    @property
    def claim(self) -> str:
        return record_claim(self.records, self.position)

    @property
    def contradicts(self) -> list[str]:
        """The ids the record contradicts (read, from a cache, without decoding it)."""
        return record_contradicts(self.records, self.position)


class Index:
    """Search over one knowledge base; immutable, so it can be swapped whole on reload."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        analyzer: Analyzer,
        scorer: SparseBM25,
        spelling: Sequence[str] | None = None,
        vectors: VectorIndex | None = None,
    ) -> None:
        """``spelling``: the words for spelling correction (:func:`spelling_words`);
        None reads them from the records when first needed. ``vectors``: the
        records' sentence vectors, for hybrid search (None: BM25 alone)."""
        self.knowledge = knowledge
        self.analyzer = analyzer
        self.scorer = scorer
        self.vectors = vectors
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
        return content_terms(self.analyzer.terms(self.spell(question)), self._filler, self._whole)

    def unknown_names(self, question: str) -> list[str]:
        """Capitalised words past the first that no record holds ("Zelensky", "Norway"):
        a name the question is about that the knowledge base never mentions."""
        found = []
        for i, match in enumerate(WORD.finditer(question)):
            word = match.group()
            if i == 0 or not word[0].isupper():
                continue
            terms = self.analyzer.terms(word)
            if terms and all(t not in self.scorer and not is_noise(t) for t in terms):
                found.append(word)
        return found

    def _whole(self, term: str) -> frozenset[str] | None:
        """For a hyphenated term: None when it should give way to its parts (no
        record holds it, some record holds a part), else the parts to drop."""
        if term in self.scorer:
            return frozenset()  # the records hold the name whole: its parts count too
        parts = frozenset(self.analyzer.terms(term.replace("-", " ")))
        if any(p in self.scorer and not is_noise(p) for p in parts):
            return None
        return parts

    def _known(self, word: str) -> bool:
        return any(t in self.scorer or t in self._filler for t in self.analyzer.terms(word))

    def spell(self, question: str) -> str:
        """The question with misspelt words replaced by the closest record word.

        Only words no record knows are touched (4+ letters, not stop words or
        filler): "iranian dron factroy" becomes "iranian drone factory".
        """
        return self.speller.correct(question, self._known)

    @property
    def retrieval(self) -> str:
        """ "hybrid" (BM25 and sentence vectors) or "lexical" (BM25 alone)."""
        return "hybrid" if self.vectors is not None else "lexical"

    def weight(self, term: str) -> float:
        """How much a term says: its IDF. An unknown word counts as the rarest kind;
        unknown noise (a number, a letter or two, a token with no vowel) counts
        for nothing, so a stray "2" or "zq" cannot sink a question."""
        idf = self.scorer.idf(term)
        if idf is not None:
            return idf
        return 0.0 if is_noise(term) else math.log(len(self) + 1)

    def coverage(self, terms: Sequence[str], matched: frozenset[str]) -> float:
        """IDF-weighted share of ``terms`` in ``matched`` (0 when the terms weigh nothing)."""
        total = sum(self.weight(t) for t in terms)
        return sum(self.weight(t) for t in matched) / total if total else 0.0

    def search(
        self, question: str, limit: int = 10, terms: Sequence[str] | None = None
    ) -> list[Hit]:
        """Records that answer the question best first: BM25's and the sentence
        vectors' rankings fused (reciprocal rank fusion), or BM25's alone.
        ``terms``: the question's :meth:`question_terms`, when already known."""
        terms = self.question_terms(question) if terms is None else terms
        if self.vectors is None:
            return self.lexical(terms, limit)
        pool = max(limit, FUSION_POOL)
        lexical = self.lexical(terms, pool) if terms else []
        vector = self.vectors.question_vector(question)
        sims: Mapping[int, float] | np.ndarray
        if self.vectors.ann is None:  # exact: every record's cosine
            sims = self.vectors.similarities(vector)
            # The pool best, in order: a partition, then a sort of those alone.
            top = np.argpartition(-sims, min(pool, len(sims)) - 1)[:pool]
            semantic = top[np.lexsort((top, -sims[top]))].tolist()
        else:  # approximate: the nearest records, and the cosines of the others fused
            semantic = self.vectors.top_k(vector, pool)[0].tolist()
        fused: dict[int, float] = {}
        for rank, position in enumerate(h.position for h in lexical):
            fused[position] = fused.get(position, 0.0) + 1.0 / (RRF_K + rank)
        for rank, position in enumerate(semantic):
            fused[position] = fused.get(position, 0.0) + 1.0 / (RRF_K + rank)
        by_position = {h.position: h for h in lexical}
        baseline = DELTA * sum(self.scorer.idf(t) or 0.0 for t in terms)
        chosen = sorted(fused, key=lambda p: (-fused[p], p))[:limit]
        if self.vectors.ann is not None:  # the chosen records' cosines alone
            sims = dict(zip(chosen, self.vectors.similarity(vector, chosen).tolist(), strict=True))
        alone = [p for p in chosen if p not in by_position]  # found by meaning alone
        held = dict(zip(alone, self._matched(terms, alone), strict=True))
        hits = []
        for position in chosen:
            hit = by_position.get(position)
            if hit is None:  # what of the question it holds
                matched, coverage = held[position]
                hit = Hit(position, self.knowledge.records, baseline, 0.0, matched, coverage)
            hits.append(replace(hit, similarity=float(sims[position])))
        return hits

    def lexical(self, terms: Sequence[str], limit: int = 10) -> list[Hit]:
        """Records that share terms with the question, by BM25, best first."""
        if not terms:
            return []
        positions, scores = self.scorer.top_k(terms, limit)
        baseline = DELTA * sum(self.scorer.idf(t) or 0.0 for t in terms)
        records = self.knowledge.records
        return [
            Hit(position, records, score, score - baseline, matched, coverage)
            for position, score, (matched, coverage) in zip(
                positions.tolist(), scores.tolist(), self._matched(terms, positions), strict=True
            )
        ]

    def _matched(
        self, terms: Sequence[str], positions: Sequence[int] | np.ndarray
    ) -> list[tuple[frozenset[str], float]]:
        """Each record's matched terms (:meth:`SparseBM25.matched`) and :meth:`coverage`.

        One binary search per question term in its postings serves every
        record at once, and the records holding the same terms (most of
        them) share one set and one coverage, worked out once: a few
        microseconds a question instead of a few a record.
        """
        positions = np.asarray(positions, dtype=np.int64)
        if not len(positions):
            return []
        vocab = self.scorer._vocab  # term ids: SparseBM25 keeps them private
        # By term id, the order SparseBM25.matched adds a record's terms to its set
        # in: equal sets built in the same order iterate alike, so sums match bit for bit.
        held = sorted({tid: t for t in terms if (tid := vocab.get(t)) is not None}.items())
        masks = [0] * len(positions)  # bit i: the record holds held[i]
        for bit, (tid, _) in enumerate(held):
            docs, _ = self.scorer.term_postings(tid)  # record ids ascending
            wanted = positions.astype(docs.dtype)  # else numpy copies the postings to compare
            at = docs.take(docs.searchsorted(wanted), mode="clip")
            for row in np.flatnonzero(at == wanted).tolist():
                masks[row] |= 1 << bit
        weights = {t: self.weight(t) for t in terms}
        total = sum(weights[t] for t in terms)
        found: dict[int, tuple[frozenset[str], float]] = {}
        out = []
        for mask in masks:
            known = found.get(mask)
            if known is None:
                matched = frozenset(t for bit, (_, t) in enumerate(held) if mask >> bit & 1)
                coverage = sum(weights[t] for t in matched) / total if total else 0.0
                found[mask] = known = (matched, coverage)
            out.append(known)
        return out
