"""The buttons under answers, and what their callback data and deep links name.

Nothing here lives only in memory, so every button keeps working after a restart:

- **Source** buttons open the record's source URL when it has one (a URL
  button), else the record: ``src:ID``, or ``src:~DIGEST`` (a stable digest of
  the id) when the id is too long for Telegram's 64 bytes of callback data.
- **More results** (``more:KEY``), **👍 / 👎** (``fb:KEY:up``, ``fb:KEY:down``) and
  the group answer's "Details in a private chat" deep link (``/start qKEY``)
  name the answer by its key in :class:`bot.chat.feedback.FeedbackStore`
  (SQLite under BOT_DATA_DIR).

Anything else, or a key the store does not know, is "expired".
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit, InlineQueryResultLimit
from telegram.helpers import create_deep_linked_url

from bot.answer.model import Answer, Citation
from bot.chat import messages
from bot.chat.feedback import VERDICTS, Verdict
from bot.knowledge.loader import KnowledgeBase

SOURCE_PREFIX = "src:"
MORE_PREFIX = "more:"
FEEDBACK_PREFIX = "fb:"
#: Deep-link payloads of "Details in a private chat": ``/start q<key>``.
DETAILS_PREFIX = "q"
#: The deep link of the inline mode's hint button: ``/start inline``.
INLINE_START = "inline"
#: Source buttons per row: two fit a phone's width with date and claimant.
PER_ROW = 2

_KEY = re.compile(r"^[A-Za-z0-9_-]{8}$")
_DIGEST = "~"


def record_digest(claim_id: str) -> str:
    """A record id's stable short name: 16 URL-safe characters of its sha256."""
    raw = hashlib.sha256(claim_id.encode()).digest()[:12]
    return base64.urlsafe_b64encode(raw).decode()


def source_data(claim_id: str) -> str:
    """Callback data of a record button: the id, or its digest when too long."""
    data = SOURCE_PREFIX + claim_id
    if len(data.encode()) > InlineKeyboardButtonLimit.MAX_CALLBACK_DATA:
        data = SOURCE_PREFIX + _DIGEST + record_digest(claim_id)
    return data


class _Digests:
    """digest → id for the live knowledge base, rebuilt when it changes (a reload)."""

    def __init__(self) -> None:
        self._of: str | None = None
        self._ids: dict[str, str] = {}

    def lookup(self, digest: str, knowledge: KnowledgeBase) -> str | None:
        if self._of != knowledge.digest or not self._ids:
            self._ids = {record_digest(rid): rid for rid in knowledge.by_id}
            self._of = knowledge.digest
        return self._ids.get(digest)


_digests = _Digests()


def source_claim_id(data: str, knowledge: KnowledgeBase) -> str | None:
    """The record a record button names, or None when it names none of the live base."""
    name = data.removeprefix(SOURCE_PREFIX)
    if name.startswith(_DIGEST):
        return _digests.lookup(name[1:], knowledge)
    return name if name in knowledge.by_id else None


def _key(text: str) -> str | None:
    return text if _KEY.match(text) else None


def more_key(data: str) -> str | None:
    return _key(data.removeprefix(MORE_PREFIX))


def feedback_of(data: str) -> tuple[str, Verdict] | None:
    """(key, verdict) of a 👍 / 👎 button, or None for anything else."""
    parts = data.removeprefix(FEEDBACK_PREFIX).split(":")
    if len(parts) != 2 or _key(parts[0]) is None:
        return None
    for verdict in VERDICTS:
        if parts[1] == verdict:
            return parts[0], verdict
    return None


def details_key(payload: str) -> str | None:
    """The answer key of a ``/start q<key>`` deep link."""
    if not payload.startswith(DETAILS_PREFIX):
        return None
    return _key(payload[len(DETAILS_PREFIX) :])


def source_button(citation: Citation) -> InlineKeyboardButton:
    label = messages.source_label(citation)
    if citation.url:
        return InlineKeyboardButton(label, url=citation.url)
    return InlineKeyboardButton(label, callback_data=source_data(citation.claim_id))


def feedback_row(key: str) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(messages.FEEDBACK_UP, callback_data=f"{FEEDBACK_PREFIX}{key}:up"),
        InlineKeyboardButton(messages.FEEDBACK_DOWN, callback_data=f"{FEEDBACK_PREFIX}{key}:down"),
    ]


def _rows(buttons: Sequence[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + PER_ROW]) for i in range(0, len(buttons), PER_ROW)]


def answer_keyboard(answer: Answer, key: str) -> InlineKeyboardMarkup:
    """Under a private answer: sources two a row, more results, then 👍 / 👎."""
    rows = _rows([source_button(c) for c in answer.citations])
    if answer.more:
        rows.append(
            [
                InlineKeyboardButton(
                    messages.more_label(answer.more), callback_data=MORE_PREFIX + key
                )
            ]
        )
    rows.append(feedback_row(key))
    return InlineKeyboardMarkup(rows)


def group_keyboard(answer: Answer, key: str, bot_username: str | None) -> InlineKeyboardMarkup:
    """Under a group answer: "Details in a private chat" (a deep link), then 👍 / 👎."""
    rows = []
    if answer.found and bot_username:
        url = create_deep_linked_url(bot_username, DETAILS_PREFIX + key)
        rows.append([InlineKeyboardButton(messages.DETAILS_LABEL, url=url)])
    rows.append(feedback_row(key))
    return InlineKeyboardMarkup(rows)


def inline_keyboard(key: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([feedback_row(key)])


def without_more(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The same keyboard without its "More results" button (once they are sent)."""
    if markup is None:
        return None
    rows = [
        [
            b
            for b in row
            if not (isinstance(b.callback_data, str) and b.callback_data.startswith(MORE_PREFIX))
        ]
        for row in markup.inline_keyboard
    ]
    return InlineKeyboardMarkup([row for row in rows if row])


def inline_result_id(claim_id: str) -> str:
    """An inline result id for a record: the id itself, or its digest when too long."""
    if len(claim_id.encode()) <= InlineQueryResultLimit.MAX_ID_LENGTH:
        return claim_id
    return hashlib.sha256(claim_id.encode()).hexdigest()[: InlineQueryResultLimit.MAX_ID_LENGTH]
