"""Search: validated records → an index → the records that answer a question, ranked.

Modules, in the order data flows through them:

- :mod:`~bot.search.analysis`: words → search terms (stop words, stems, aliases)
- :mod:`~bot.search.question`: a question tidied, and its filler words
- :mod:`~bot.search.spelling`: misspelt question words → record words
- :mod:`~bot.search.fields`: which record fields are indexed, with what weight
- :mod:`~bot.search.scorer` and :mod:`~bot.search.topk`: BM25+ from postings,
  bit-identical to rank-bm25
- :mod:`~bot.search.index`: :class:`Index` and its :class:`Hit` results
- :mod:`~bot.search.store`, :mod:`~bot.search.records`, :mod:`~bot.search.build`:
  the on-disk cache, records read from it, and :func:`open_index`
"""

from bot.search.analysis import Analyzer
from bot.search.build import FINGERPRINT, index_from_cache, open_index
from bot.search.index import Hit, Index
from bot.search.records import LazyRecords, record_fingerprints, record_json
from bot.search.scorer import SparseBM25

__all__ = [
    "FINGERPRINT",
    "Analyzer",
    "Hit",
    "Index",
    "LazyRecords",
    "SparseBM25",
    "index_from_cache",
    "open_index",
    "record_fingerprints",
    "record_json",
]
