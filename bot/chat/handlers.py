"""The Telegram handlers: one per thing a person does, each saying what they see.

Where people reach the bot:

- **Private chat**: any text is a question. ``/start``, ``/help``, ``/ask QUESTION``,
  ``/claim ID``. Answers carry buttons: the source of each citation, more results.
- **Groups**: ``/ask QUESTION`` and ``/ask@ThisBot QUESTION``, replies to the bot's
  own messages, and @mentions where Telegram delivers them; everything else is
  ignored. This works with privacy mode on (the default). Group answers are
  short, quote the question and link to a private chat for the detail.
- **Inline**: ``@ThisBot QUESTION`` in any chat lists up to 10 records; picking
  one sends a cited answer.
- **Admins** (numeric ids in ``BOT_ADMIN_IDS``): ``/reload`` and ``/stats``.

Handlers only translate between Telegram and :class:`bot.chat.service.Service`;
what is said comes from :mod:`bot.chat.messages`, buttons from
:mod:`bot.chat.buttons`. No answer logic lives here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import cast

from telegram import (
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import InlineQueryLimit, ParseMode
from telegram.error import Conflict, TelegramError
from telegram.ext import ContextTypes

from bot.answer.compose import MAX_CITATIONS
from bot.chat import buttons, messages
from bot.chat.filters import is_group, without_mention
from bot.chat.service import Service
from bot.config import Settings

log = logging.getLogger(__name__)

#: Inline mode lists at most this many records (Telegram allows InlineQueryLimit.RESULTS).
INLINE_RESULTS = min(10, InlineQueryLimit.RESULTS)
#: Seconds Telegram may cache inline results: short, so a reload shows within seconds.
INLINE_CACHE_SECONDS = 5


# --- Plumbing -----------------------------------------------------------------------------------


def service_of(context: ContextTypes.DEFAULT_TYPE) -> Service:
    return cast(Service, context.bot_data["service"])


def settings_of(context: ContextTypes.DEFAULT_TYPE) -> Settings:
    return cast(Settings, context.bot_data["settings"])


def memory_of(context: ContextTypes.DEFAULT_TYPE) -> buttons.Memory:
    return cast(buttons.Memory, context.bot_data["memory"])


def _is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return user is not None and settings_of(context).is_admin(user.id)


async def _send(
    message: Message,
    chunks: Sequence[str],
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    quote: bool = False,
) -> None:
    """Send HTML chunks in order; buttons go under the last one."""
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        await message.reply_html(
            chunk,
            reply_markup=reply_markup if last else None,
            reply_parameters=(
                ReplyParameters(message.message_id, allow_sending_without_reply=True)
                if quote and i == 0
                else None
            ),
        )


async def _rate_limited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True (and tell the person once) when they ask faster than allowed."""
    user = update.effective_user
    if user is None:
        return False
    service = service_of(context)
    wait = service.allow(user.id)
    if not wait:
        return False
    log.info("Question rate limit hit by user %s", user.id)
    if service.rate.should_warn(user.id) and update.effective_message:
        await update.effective_message.reply_html(
            messages.rate_limited_html(wait),
            reply_parameters=ReplyParameters(
                update.effective_message.message_id, allow_sending_without_reply=True
            ),
        )
    return True


async def reply_to_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: str
) -> None:
    """Answer a question where it was asked: full in private, short and quoted in groups."""
    message = update.effective_message
    if message is None:
        return
    if not question.strip():
        await message.reply_html(messages.ASK_HINT)
        return
    if await _rate_limited(update, context):
        return
    answer = service_of(context).ask(question)
    memory = memory_of(context)
    if is_group(update):
        markup = None
        if answer.found and context.bot.username:
            markup = buttons.details_keyboard(answer.question, context.bot.username, memory)
        await _send(message, [messages.group_answer_html(answer)], reply_markup=markup, quote=True)
        return
    chunks = messages.messages(messages.answer_html(answer), messages.claim_pointer(answer))
    await _send(message, chunks, reply_markup=buttons.answer_keyboard(answer, memory))


# --- Private chat and commands ------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: a greeting with example questions.

    ``/start q<token>`` (the "Details in a private chat" button of a group answer)
    answers that question in full instead.
    """
    if context.args and context.args[0].startswith(buttons.DETAILS_PREFIX):
        question = memory_of(context).get(context.args[0][len(buttons.DETAILS_PREFIX) :])
        if isinstance(question, str):
            await reply_to_question(update, context, question)
            return
    await help_command(update, context)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: what the bot does and how to ask, with examples."""
    if update.effective_message is None:
        return
    group = is_group(update)
    body = messages.help_html(
        context.bot.username, group=group, admin=not group and _is_admin(update, context)
    )
    await update.effective_message.reply_html(body)


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask QUESTION (also /ask@ThisBot in groups): the cited answer, or "no records"."""
    await reply_to_question(update, context, " ".join(context.args or ()))


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    if update.effective_message and update.effective_message.text:
        await reply_to_question(update, context, update.effective_message.text)


async def group_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group message that replies to the bot or @mentions it is a question
    (without the mention)."""
    if update.effective_message:
        await reply_to_question(update, context, without_mention(update.effective_message))


async def claim_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/claim ID: the whole record with its source, or "no record with that id"."""
    message = update.effective_message
    if message is None:
        return
    if not context.args:
        await message.reply_html(messages.CLAIM_HINT)
        return
    await _send_record(message, context, context.args[0])


async def _send_record(message: Message, context: ContextTypes.DEFAULT_TYPE, claim_id: str) -> None:
    service = service_of(context)
    record = service.record(claim_id)
    if record is None:
        await message.reply_html(messages.no_record_html(claim_id))
        return
    html = messages.record_html(record, service.knowledge)
    await _send(message, messages.messages(html, messages.RECORD_TRIMMED))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An unknown /command in a private chat: a pointer to /help."""
    if update.effective_message:
        await update.effective_message.reply_html(messages.UNKNOWN_COMMAND)


# --- Buttons ------------------------------------------------------------------------------------


async def source_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "Source" button under an answer: sends that citation's whole record."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    claim_id = buttons.source_claim_id(query.data, memory_of(context))
    await query.answer()
    if isinstance(query.message, Message):
        await _send_record(query.message, context, claim_id)


async def more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "More results" button: sends the further matching records."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    stored = memory_of(context).get(query.data.removeprefix(buttons.MORE_PREFIX))
    if not isinstance(stored, tuple):
        await query.answer(messages.BUTTON_EXPIRED, show_alert=False)
        return
    question, shown, more = stored
    await query.answer()
    result = service_of(context).lookup(question, limit=MAX_CITATIONS + more)
    extra = [c for c in result.citations if c.claim_id not in shown]
    if isinstance(query.message, Message):
        await _send(query.message, messages.messages(messages.more_html(extra), ""))


# --- Inline mode --------------------------------------------------------------------------------


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``@ThisBot QUESTION`` from any chat: one result per matching record.

    Each result is titled with the record's date and claimant, described by its
    snippet, and sends the question with that cited record. An empty or
    off-topic query gets an empty list.
    """
    query = update.inline_query
    if query is None:
        return
    service = service_of(context)
    results = []
    question = query.query.strip()
    if question:
        answer = service.inline(question, limit=INLINE_RESULTS)
        if answer.found:
            results = [
                InlineQueryResultArticle(
                    id=buttons.inline_result_id(c.claim_id),
                    title=messages.inline_title(c),
                    description=messages.inline_description(c),
                    input_message_content=InputTextMessageContent(
                        messages.inline_answer_html(question, c), parse_mode=ParseMode.HTML
                    ),
                )
                for c in answer.citations[:INLINE_RESULTS]
            ]
    await query.answer(results, cache_time=INLINE_CACHE_SECONDS, is_personal=False)


# --- Admin --------------------------------------------------------------------------------------


async def reload_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload (admins): re-read the knowledge base; say what changed, or why it was refused.

    Anyone else gets a refusal and nothing changes.
    """
    message, user = update.effective_message, update.effective_user
    if message is None:
        return
    if not _is_admin(update, context):
        log.warning("Refused /reload from non-admin user %s", user.id if user else None)
        await message.reply_html(messages.NOT_ADMIN)
        return
    log.info("Reload requested by admin %s", user.id if user else None)
    result = await service_of(context).reload()
    await message.reply_html(messages.reload_html(result))


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (admins): records, files, last reload, questions answered and abstentions."""
    message = update.effective_message
    if message is None:
        return
    if not _is_admin(update, context):
        await message.reply_html(messages.NOT_ADMIN)
        return
    await message.reply_html(messages.stats_html(service_of(context).stats()))


# --- Errors -------------------------------------------------------------------------------------


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any handler exception; the person gets a short apology, the bot keeps running."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("Error while handling update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update):
        return
    with contextlib.suppress(TelegramError):
        if update.callback_query:
            await update.callback_query.answer(messages.APOLOGY)
        elif update.effective_message and update.effective_chat:
            await update.effective_message.reply_html(messages.e(messages.APOLOGY))


def on_polling_error(error: TelegramError) -> None:
    """getUpdates failed: say clearly when another instance polls with the same token."""
    if isinstance(error, Conflict):
        log.error(
            "Telegram refused getUpdates with a conflict: another instance of this bot is "
            "polling with the same token (or a webhook is set). Only one can receive "
            "updates; stop the other instance. (%s)",
            error,
        )
    else:
        log.warning("Polling for updates failed: %s; retrying", error)
