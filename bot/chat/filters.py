"""Which messages are meant for the bot: replies to it and @mentions of it, in a text
or in a photo's or document's caption."""

from __future__ import annotations

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import filters


class _MentionsMe(filters.MessageFilter):
    """Messages that @mention this bot."""

    def filter(self, message: Message) -> bool:
        username = (message.get_bot().username or "").lower()
        return any(value.lower() == f"@{username}" for value in _mentions(message))


class _RepliesToMe(filters.MessageFilter):
    """Messages that reply to one of this bot's messages."""

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        return bool(replied and replied.from_user and replied.from_user.id == message.get_bot().id)


def _mentions(message: Message) -> list[str]:
    if message.text is not None:
        return list(message.parse_entities([MessageEntity.MENTION]).values())
    return list(message.parse_caption_entities([MessageEntity.MENTION]).values())


MENTIONS_ME = _MentionsMe()
REPLIES_TO_ME = _RepliesToMe()
NEW_TEXT = filters.UpdateType.MESSAGE & filters.TEXT
#: A new or edited message with text, or a photo or document with a caption.
WORDS = filters.UpdateType.MESSAGES & (filters.TEXT | filters.CAPTION)


def text_of(message: Message) -> str:
    """What a message says: its text, or its caption."""
    return message.text or message.caption or ""


def without_mention(message: Message) -> str:
    """The message's text (or caption) without this bot's @mention: the question itself."""
    username = f"@{message.get_bot().username}".lower()
    question = text_of(message)
    for value in _mentions(message):
        if value.lower() == username:
            question = question.replace(value, " ")
    return question.strip()


def is_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
