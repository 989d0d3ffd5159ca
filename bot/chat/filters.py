"""Which group messages are meant for the bot: replies to it and @mentions of it."""

from __future__ import annotations

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import filters


class _MentionsMe(filters.MessageFilter):
    """Messages that @mention this bot."""

    def filter(self, message: Message) -> bool:
        username = (message.get_bot().username or "").lower()
        return any(
            value.lower() == f"@{username}"
            for value in message.parse_entities([MessageEntity.MENTION]).values()
        )


class _RepliesToMe(filters.MessageFilter):
    """Messages that reply to one of this bot's messages."""

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        return bool(replied and replied.from_user and replied.from_user.id == message.get_bot().id)


MENTIONS_ME = _MentionsMe()
REPLIES_TO_ME = _RepliesToMe()
NEW_TEXT = filters.UpdateType.MESSAGE & filters.TEXT


def without_mention(message: Message) -> str:
    """The message's text with this bot's @mention taken out: the question itself."""
    username = f"@{message.get_bot().username}".lower()
    question = message.text or ""
    for value in message.parse_entities([MessageEntity.MENTION]).values():
        if value.lower() == username:
            question = question.replace(value, " ")
    return question.strip()


def is_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
