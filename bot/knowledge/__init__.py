"""The knowledge base: YAML claim records, validated, as one :class:`KnowledgeBase`.

- :mod:`~bot.knowledge.schema`: what a record holds (pydantic models)
- :mod:`~bot.knowledge.loader`: reading a folder, every problem as file:line:record:field
- :mod:`~bot.knowledge.claimreview`, :mod:`~bot.knowledge.webpage`,
  :mod:`~bot.knowledge.spreadsheet`, :mod:`~bot.knowledge.inputs`,
  :mod:`~bot.knowledge.importer`, :mod:`~bot.knowledge.export`: ``import`` and ``export``
- :mod:`~bot.knowledge.review`: an imported fact-check's review as answers show it
- :mod:`~bot.knowledge.listing`: ``list`` and ``show``
"""

from bot.errors import KnowledgeError, Problem
from bot.knowledge.loader import KnowledgeBase, digest, load, record_files
from bot.knowledge.review import review_json, review_line
from bot.knowledge.schema import Record, Review, Source

__all__ = [
    "KnowledgeBase",
    "KnowledgeError",
    "Problem",
    "Record",
    "Review",
    "Source",
    "digest",
    "load",
    "record_files",
    "review_json",
    "review_line",
]
