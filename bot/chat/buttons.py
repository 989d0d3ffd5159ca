"""The buttons under answers, and the short-lived state some of them point at.

Callback data is at most 64 bytes, so a button names a record id directly
when it fits and a token into :class:`Memory` otherwise; the deep link of a
group answer ("Details in a private chat") carries a token too.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import (
    InlineKeyboardButtonLimit,
    InlineKeyboardMarkupLimit,
    InlineQueryResultLimit,
)
from telegram.helpers import create_deep_linked_url

from bot.answer.model import Answer, clip

SOURCE_PREFIX = "src:"
MORE_PREFIX = "more:"
#: Deep-link payloads of "Details in a private chat": ``/start q<token>``.
DETAILS_PREFIX = "q"


class Memory:
    """A bounded map from short random tokens to values (for buttons and deep links).

    Tokens use only ``A-Z a-z 0-9 _ -`` so they fit a ``/start`` deep link.
    """

    def __init__(self, size: int = 2048) -> None:
        self._items: OrderedDict[str, object] = OrderedDict()
        self._size = size

    def put(self, value: object) -> str:
        token = secrets.token_urlsafe(6)
        self._items[token] = value
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        return token

    def get(self, token: str) -> object | None:
        value = self._items.get(token)
        if value is not None:
            self._items.move_to_end(token)
        return value


def source_data(claim_id: str, memory: Memory) -> str:
    """Callback data of a "Source" button: the record id, or a token when too long."""
    data = SOURCE_PREFIX + claim_id
    if len(data.encode()) > InlineKeyboardButtonLimit.MAX_CALLBACK_DATA:
        data = SOURCE_PREFIX + "~" + memory.put(claim_id)
    return data


def source_claim_id(data: str, memory: Memory) -> str:
    """The record id a "Source" button's callback data names ("" when expired)."""
    claim_id = data.removeprefix(SOURCE_PREFIX)
    if claim_id.startswith("~"):
        return str(memory.get(claim_id[1:]) or "")
    return claim_id


def answer_keyboard(answer: Answer, memory: Memory) -> InlineKeyboardMarkup | None:
    """Buttons under a private answer: the source of each citation, and more results."""
    if not answer.found:
        return None
    buttons = [
        InlineKeyboardButton(
            f"Source: {clip(f'{c.date_text} · {c.claimant}', 40)}",
            callback_data=source_data(c.claim_id, memory),
        )
        for c in answer.citations
    ]
    rows = [[b] for b in buttons[: InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER - 1]]
    if answer.more:
        token = memory.put(
            (answer.question, tuple(c.claim_id for c in answer.citations), answer.more)
        )
        more = InlineKeyboardButton(
            f"More results (+{answer.more})", callback_data=MORE_PREFIX + token
        )
        rows.append([more])
    return InlineKeyboardMarkup(rows)


def details_keyboard(question: str, bot_username: str, memory: Memory) -> InlineKeyboardMarkup:
    """The "Details in a private chat" button under a group answer (a deep link)."""
    url = create_deep_linked_url(bot_username, DETAILS_PREFIX + memory.put(question))
    return InlineKeyboardMarkup([[InlineKeyboardButton("Details in a private chat", url=url)]])


def inline_result_id(claim_id: str) -> str:
    """An inline result id for a record: the id itself, or its digest when too long."""
    if len(claim_id.encode()) <= InlineQueryResultLimit.MAX_ID_LENGTH:
        return claim_id
    return hashlib.sha256(claim_id.encode()).hexdigest()[: InlineQueryResultLimit.MAX_ID_LENGTH]
