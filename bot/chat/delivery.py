"""At-least-once handling of questions, with no answer given twice (see :mod:`bot.chat.journal`).

Three hooks into python-telegram-bot, each small:

- :class:`JournalingQueue`, the application's update queue: an update is
  journaled when it is put in the queue, which comes before the next
  ``getUpdates`` confirms it to Telegram (polling) and before the webhook
  answers Telegram's request (webhook mode). An update already journaled, a
  re-delivery, is not queued again.
- :class:`JournalingApplication`: marks a question done once its handlers have
  finished; one whose answer could not be sent for a network reason, or whose
  handling was cut short by a stop, stays pending.
- :func:`replay`: on start, before polling, the questions still pending and
  younger than the bound are handled again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.error import NetworkError, RetryAfter
from telegram.ext import Application

from bot.chat.journal import MAX_AGE_SECONDS, Journal

log = logging.getLogger(__name__)

#: bot_data key: update id → the exception a handler raised for it (set by the error handler).
FAILED = "failed_updates"


class JournalingQueue(asyncio.Queue[object]):
    """The update queue, journaling each question as it arrives."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and not await self._journal(item):
            self.journal.duplicates += 1
            log.info("Update %s seen again (re-delivered); not answered twice", item.update_id)
            return
        await super().put(item)

    async def _journal(self, update: Update) -> bool:
        try:
            return await asyncio.to_thread(self.journal.receive, update.to_dict())
        except Exception:  # a full disk must not cost the answer: handle it unjournaled
            log.exception("Could not journal update %s", update.update_id)
            return True


class JournalingApplication(Application[Any, Any, Any, Any, Any, Any]):
    """An Application that marks journaled questions done once handled."""

    journal: Journal | None = None

    async def process_update(self, update: object) -> None:
        journal = self.journal
        if journal is None or not isinstance(update, Update):
            await super().process_update(update)
            return
        if await asyncio.to_thread(journal.is_done, update.update_id):
            journal.duplicates += 1
            return
        await super().process_update(update)  # raises CancelledError when stopped mid-way
        failed = self.bot_data.get(FAILED, {}).pop(update.update_id, None)
        if isinstance(failed, NetworkError | RetryAfter):
            log.warning("Update %s left in the journal: %s", update.update_id, failed)
            return
        outcome = "error" if failed is not None else "handled"
        await asyncio.to_thread(journal.done, update.update_id, outcome)


async def replay(app: Application[Any, Any, Any, Any, Any, Any], journal: Journal) -> int:
    """Handle the questions the journal holds that are not done (the youngest
    :data:`MAX_AGE_SECONDS`), oldest first; returns how many."""
    entries = await asyncio.to_thread(journal.pending, MAX_AGE_SECONDS)
    if journal.expired:
        log.info("Dropped %d journaled question(s) older than %d s", journal.expired,
                 MAX_AGE_SECONDS)  # fmt: skip
    if not entries:
        return 0
    log.info("Answering %d question(s) received before the last stop", len(entries))
    updates = [Update.de_json(e.update_data(), app.bot) for e in entries]
    for update in updates:
        journal.replayed += 1
        await app.process_update(update)
    return len(updates)
