"""Every exception the bot raises on purpose, in one place.

Each says what is wrong and what to do about it in ``str()``; none is an
unexpected crash. The command line turns them into messages and exit codes, the
Telegram layer into replies and log lines::

    ClaimbotError                  base: catch this for "anything the bot refused"
    ├── KnowledgeError             the knowledge base is invalid; .problems lists every one
    ├── CacheError                 an index cache file is unreadable: rebuild, never fatal
    │   └── StaleCacheError        a sound cache from another version or other settings
    ├── SettingsError              a setting is missing or invalid (one line: which, how to fix)
    ├── EvalFileError              a questions file is not in the expected format
    ├── InputError                 an import input cannot be read (empty, not JSON, too large, ...)
    ├── UnknownRecordError         no record has the id asked for (``show ID``)
    └── ModelError                 the embedding model cannot be loaded (BM25 answers alone)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class ClaimbotError(Exception):
    """Base of every error the bot raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the knowledge base, located as precisely as known:
    ``file:line: record N (id), field 'x.y': message``."""

    file: str
    line: int | None = None
    record: str | None = None  # "record 3" or "record 3 (some-id)"
    field: str | None = None
    message: str = ""

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        parts = [p for p in (self.record, f"field '{self.field}'" if self.field else None) if p]
        return f"{where}: {', '.join(parts) + ': ' if parts else ''}{self.message}"


class KnowledgeError(ClaimbotError):
    """The knowledge base cannot be used; ``problems`` says every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, str(p)))
        count = len(self.problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the knowledge base:\n"
            + "\n".join(f"  {p}" for p in self.problems)
        )

    def __reduce__(self) -> tuple[type[KnowledgeError], tuple[list[Problem]]]:
        # Crosses process boundaries (a reload parses in a child process).
        return (KnowledgeError, (self.problems,))


class CacheError(ClaimbotError):
    """A saved index (or cache file) is unreadable, inconsistent, stale or of another version.

    Callers treat it as "rebuild from the knowledge base"; it is never fatal.
    """


class StaleCacheError(CacheError):
    """A sound cache file written by another version or for other settings."""


class SettingsError(ClaimbotError):
    """A setting is missing or invalid; ``str()`` is one line saying which and how to fix it."""


class EvalFileError(ClaimbotError, ValueError):
    """The questions file is not in the expected format."""


class InputError(ClaimbotError):
    """An import input cannot be read at all: ``file`` and a one-line ``reason``.

    An input that reads but holds items that cannot be imported is no error:
    those items are reported as skipped.
    """

    def __init__(self, file: str, reason: str) -> None:
        self.file = file
        self.reason = reason
        super().__init__(f"{file}: {reason}")

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str]]:
        return (InputError, (self.file, self.reason))


class UnknownRecordError(ClaimbotError, LookupError):
    """No record of the knowledge base has this id; ``str()`` suggests close ones."""


class ModelError(ClaimbotError):
    """The sentence-embedding model cannot be loaded; the bot answers with BM25 alone."""
