"""The knowledge base: YAML claim records, validated, as one :class:`KnowledgeBase`.

- :mod:`~bot.knowledge.schema`: what a record holds (pydantic models)
- :mod:`~bot.knowledge.loader`: reading a folder, every problem as file:line:record:field
"""

from bot.errors import KnowledgeError, Problem
from bot.knowledge.loader import KnowledgeBase, digest, load, record_files
from bot.knowledge.schema import Record, Source

__all__ = [
    "KnowledgeBase",
    "KnowledgeError",
    "Problem",
    "Record",
    "Source",
    "digest",
    "load",
    "record_files",
]
