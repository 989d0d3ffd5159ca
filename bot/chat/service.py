"""The running bot's state: the live index, reloads, counters, rate limits.

Knows nothing of Telegram: the chat layer calls it, and tests can too.

The live index is one reference. A question reads it once and works on that
index to the end, so while a reload swaps the reference, questions in flight
are answered from the old index or the new one, never a mix. Reloads are
serialised by a lock; loading, index building and the diff run in a worker
thread (a large knowledge base is parsed in a child process, which writes the
index cache the thread then opens) so the event loop keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.answer.compose import MAX_CITATIONS, answer
from bot.answer.model import Answer
from bot.errors import KnowledgeError
from bot.knowledge.loader import KnowledgeBase, record_files
from bot.knowledge.schema import Record
from bot.search.build import open_index
from bot.search.index import Index
from bot.search.records import record_fingerprints
from bot.search.vectors import Embedder

if TYPE_CHECKING:
    from bot.chat.journal import Journal

log = logging.getLogger(__name__)


def build_index(
    folder: Path, cache_dir: Path | None = None, embedder: Embedder | None = None
) -> Index:
    """Open a knowledge folder's index: from the cache when unchanged, else load,
    validate and build; with an embedder, record vectors too, reusing the cached
    ones of unchanged records (blocking; raises KnowledgeError)."""
    return open_index(folder, cache_dir, embedder)


@dataclass(frozen=True)
class Changes:
    """What a reload changed, by record id."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    edited: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.edited)


def compare(old: KnowledgeBase, new: KnowledgeBase) -> Changes:
    """Records added, removed and edited between two knowledge bases.

    Compares the records' stored JSON, so a cached knowledge base is not decoded.
    """
    before, after = record_fingerprints(old), record_fingerprints(new)
    return Changes(
        added=tuple(rid for rid in after if rid not in before),
        removed=tuple(rid for rid in before if rid not in after),
        edited=tuple(rid for rid, raw in after.items() if rid in before and before[rid] != raw),
    )


def _prepare(
    folder: Path, cache_dir: Path | None, old: KnowledgeBase, embedder: Embedder | None
) -> tuple[Index, Changes]:
    """A reload's blocking work, all of it off the event loop: the new index and its
    diff. New and changed records are embedded here (ONNX Runtime releases the
    GIL), while the old index keeps answering."""
    if cache_dir is not None and _folder_bytes(folder) > LARGE_KNOWLEDGE_BYTES:
        _warm_cache_in_a_process(folder, cache_dir)
    new = build_index(folder, cache_dir, embedder)
    return new, compare(old, new.knowledge)


def _result(
    live: Index, begun: float, changes: Changes | None = None, problems: tuple[str, ...] = ()
) -> ReloadResult:
    """A reload's outcome, with the figures of the index that is live after it."""
    return ReloadResult(
        ok=changes is not None,
        at=dt.datetime.now(dt.UTC),
        seconds=time.monotonic() - begun,
        records=len(live.knowledge.records),
        files=len(live.knowledge.files),
        changes=changes or Changes(),
        problems=problems,
    )


#: Above this much YAML, a reload parses and indexes in a separate process:
#: that work is pure Python and, in a thread, would hold the GIL the event
#: loop needs to keep answering. Below it, a thread is quicker to start.
LARGE_KNOWLEDGE_BYTES = 8 * 1024 * 1024


def _folder_bytes(folder: Path) -> int:
    try:
        return sum(p.stat().st_size for p in record_files(folder))
    except OSError:
        return 0


def _warm_cache_in_a_process(folder: Path, cache_dir: Path) -> None:
    """Build the new index cache in a child process; the parent then just opens it."""
    context = multiprocessing.get_context("spawn")  # no fork: the bot runs threads
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        pool.submit(_warm_cache, folder, cache_dir).result()


def _warm_cache(folder: Path, cache_dir: Path) -> None:
    open_index(folder, cache_dir)


@dataclass(frozen=True)
class ReloadResult:
    """The outcome of one reload: either ``changes`` or the ``problems`` that refused it."""

    ok: bool
    at: dt.datetime
    seconds: float
    records: int
    files: int
    changes: Changes = field(default_factory=Changes)
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stats:
    """Counters for ``/stats``."""

    records: int
    files: int
    started: dt.datetime
    last_reload: ReloadResult | None
    questions: int
    answered: int
    abstained: int
    inline_queries: int
    rate_limited: int
    #: Since start: questions answered from the journal after a restart, and
    #: re-delivered updates not answered twice.
    replayed: int = 0
    duplicates: int = 0


class QuestionRateLimiter:
    """At most ``limit`` questions per ``period`` seconds per person (a sliding window)."""

    def __init__(
        self, limit: int, period: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    def check(self, user_id: int) -> float:
        """Count a question; 0.0 if allowed, else the seconds until the next one is."""
        now = self._clock()
        times = self._asked.setdefault(user_id, deque())
        while times and times[0] <= now - self.period:
            times.popleft()
        if len(self._asked) > 10_000:  # forget people who stopped asking
            for uid in [u for u, t in self._asked.items() if not t and u != user_id]:
                del self._asked[uid]
                self._warned.pop(uid, None)
        if len(times) < self.limit:
            times.append(now)
            return 0.0
        return max(0.1, times[0] + self.period - now)

    def should_warn(self, user_id: int) -> bool:
        """True once per blocked spell: tell the person once, then stay quiet."""
        now = self._clock()
        if now - self._warned.get(user_id, -self.period) < self.period:
            return False
        self._warned[user_id] = now
        return True


class Service:
    """The live index, its reloads and the counters; one per running bot."""

    def __init__(
        self,
        folder: Path,
        index: Index,
        *,
        cache_dir: Path | None = None,
        questions_per_minute: int = 10,
        embedder: Embedder | None = None,
    ) -> None:
        self.folder = folder
        self.cache_dir = cache_dir
        #: The sentence-embedding model, or None for BM25 alone.
        self.embedder = embedder
        #: The update journal of the running bot (set by the chat layer), for /stats.
        self.journal: Journal | None = None
        self._index = index
        self._lock = asyncio.Lock()
        self.started = dt.datetime.now(dt.UTC)
        self.last_reload: ReloadResult | None = None
        self.questions = 0
        self.answered = 0
        self.abstained = 0
        self.inline_queries = 0
        self.rate_limited = 0
        self.rate = QuestionRateLimiter(questions_per_minute)

    @classmethod
    def open(
        cls,
        folder: Path,
        *,
        cache_dir: Path | None = None,
        questions_per_minute: int = 10,
        embedder: Embedder | None = None,
    ) -> Service:
        """Load the knowledge folder at start-up (blocking; raises KnowledgeError).

        With ``cache_dir``, an unchanged knowledge base starts from the index cache
        (and cached record vectors).
        """
        return cls(
            folder,
            build_index(folder, cache_dir, embedder),
            cache_dir=cache_dir,
            questions_per_minute=questions_per_minute,
            embedder=embedder,
        )

    @property
    def index(self) -> Index:
        """The live index. Read it once per question."""
        return self._index

    @property
    def knowledge(self) -> KnowledgeBase:
        return self._index.knowledge

    def ask(self, question: str, limit: int = MAX_CITATIONS) -> Answer:
        """Answer a question from the live index and count it."""
        result = answer(self._index, question, limit=limit)
        self.questions += 1
        if result.found:
            self.answered += 1
        else:
            self.abstained += 1
        return result

    def lookup(self, question: str, limit: int) -> Answer:
        """Answer without counting it as a question ('more' buttons)."""
        return answer(self._index, question, limit=limit)

    def inline(self, question: str, limit: int) -> Answer:
        """Answer an inline query, counted as one."""
        self.inline_queries += 1
        return answer(self._index, question, limit=limit)

    def record(self, claim_id: str) -> Record | None:
        return self.knowledge.by_id.get(claim_id.strip().strip("[]"))

    def allow(self, user_id: int) -> float:
        """0.0 if this person may ask now, else seconds to wait."""
        wait = self.rate.check(user_id)
        if wait:
            self.rate_limited += 1
        return wait

    async def reload(self) -> ReloadResult:
        """Re-read and validate the whole knowledge folder, then swap the index.

        An invalid knowledge base is refused and the old index stays live. Reloads
        run one at a time; the loading and indexing run off the event loop.
        """
        async with self._lock:
            begun = time.monotonic()
            old = self._index
            try:
                new, changes = await asyncio.to_thread(
                    _prepare, self.folder, self.cache_dir, old.knowledge, self.embedder
                )
            except KnowledgeError as exc:
                result = _result(
                    old, begun, problems=tuple(self._relative(str(p)) for p in exc.problems)
                )
                log.warning(
                    "Reload refused: %d problem(s) in %s; the old knowledge base stays live",
                    len(result.problems),
                    self.folder,
                )
            except Exception as exc:  # an unreadable folder and the like: refuse, stay up
                log.exception("Reload failed")
                result = _result(old, begun, problems=(f"{type(exc).__name__}: {exc}",))
            else:
                self._index = new  # the one swap: questions see old or new, never a mix
                result = _result(new, begun, changes)
                log.info(
                    "Reloaded %s: %d records in %d files (%d added, %d removed, %d edited)",
                    self.folder,
                    result.records,
                    result.files,
                    len(result.changes.added),
                    len(result.changes.removed),
                    len(result.changes.edited),
                )
            self.last_reload = result
            return result

    def _relative(self, text: str) -> str:
        prefix = str(self.folder).rstrip("/") + "/"
        return text.replace(prefix, "")

    def stats(self) -> Stats:
        return Stats(
            records=len(self.knowledge.records),
            files=len(self.knowledge.files),
            started=self.started,
            last_reload=self.last_reload,
            questions=self.questions,
            answered=self.answered,
            abstained=self.abstained,
            inline_queries=self.inline_queries,
            rate_limited=self.rate_limited,
            replayed=self.journal.replayed if self.journal else 0,
            duplicates=self.journal.duplicates if self.journal else 0,
        )
