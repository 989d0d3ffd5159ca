"""The Telegram handlers: one per thing a person does, each saying what they see.

Where people reach the bot:

- **Private chat**: any text, or a photo or document with a caption, is a
  question; an edited question is answered again, as a new reply to it.
  ``/start``, ``/help``, ``/ask QUESTION``, ``/claim ID``. Answers reply to the
  question and carry buttons: each record's source, more results, 👍 / 👎.
- **Groups**: ``/ask QUESTION`` and ``/ask@ThisBot QUESTION``, replies to the bot's
  own messages, and @mentions where Telegram delivers them; everything else is
  ignored, and so are replies and mentions no record answers ("thanks", "lol").
  Group answers are short, quote the question and link to a private chat.
- **Inline**: ``@ThisBot QUESTION`` in any chat lists up to 10 records; picking
  one sends a cited answer. An empty query gets a hint button.
- **Feedback**: 👍 / 👎 under every answer; after 👎 the bot asks "What was
  wrong?" and keeps a one-line reply to that as the comment.
- **Admins** (numeric ids in ``BOT_ADMIN_IDS``, in a private chat only):
  ``/reload``, ``/stats``, ``/feedback``. In a group these get one line saying
  to use a private chat, and do nothing.

Every button press is answered (an unknown, forged or stale one: "This button
has expired") and counts against the same per-person quota as questions.

Handlers only translate between Telegram and :class:`bot.chat.service.Service`
and :class:`bot.chat.feedback.FeedbackStore`; what is said comes from
:mod:`bot.chat.messages`, buttons from :mod:`bot.chat.buttons`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from typing import cast

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, InlineQueryLimit, ParseMode
from telegram.error import Conflict, TelegramError
from telegram.ext import ContextTypes

from bot.answer.compose import MAX_CITATIONS
from bot.chat import buttons, messages
from bot.chat.delivery import FAILED
from bot.chat.feedback import FeedbackStore
from bot.chat.filters import is_group, text_of, without_mention
from bot.chat.service import Service
from bot.config import Settings

log = logging.getLogger(__name__)

#: Inline mode lists at most this many records (Telegram allows InlineQueryLimit.RESULTS).
INLINE_RESULTS = min(10, InlineQueryLimit.RESULTS)
#: Seconds Telegram may cache inline results: short, so a reload shows within seconds.
INLINE_CACHE_SECONDS = 5
#: Admins get at most one error alert per this many seconds.
ALERT_SECONDS = 60.0
#: /feedback lists this many verdicts.
FEEDBACK_SHOWN = 10


# --- Plumbing -----------------------------------------------------------------------------------


def service_of(context: ContextTypes.DEFAULT_TYPE) -> Service:
    return cast(Service, context.bot_data["service"])


def settings_of(context: ContextTypes.DEFAULT_TYPE) -> Settings:
    return cast(Settings, context.bot_data["settings"])


def feedback_of(context: ContextTypes.DEFAULT_TYPE) -> FeedbackStore:
    return cast(FeedbackStore, context.bot_data["feedback"])


def _is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return user is not None and settings_of(context).is_admin(user.id)


def _chat_type(update: Update) -> str:
    chat = update.effective_chat
    return str(chat.type) if chat is not None else "inline"


def _reply_to(message: Message) -> ReplyParameters:
    return ReplyParameters(message.message_id, allow_sending_without_reply=True)


async def _send(
    message: Message,
    chunks: Sequence[str],
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    quote: bool = True,
) -> Message | None:
    """Send HTML chunks in order, the first as a reply to ``message``; buttons go
    under the last one. Returns the last message sent."""
    sent = None
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        sent = await message.reply_html(
            chunk,
            reply_markup=reply_markup if last else None,
            reply_parameters=_reply_to(message) if quote and i == 0 else None,
        )
    return sent


async def _over_quota(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True when this person is over the quota of questions and button presses.

    A question then gets the notice once per window (what the quota is, when it
    resets); a button press gets it as an alert every time (it must be answered).
    """
    user = update.effective_user
    if user is None:
        return False
    service = service_of(context)
    wait = service.allow(user.id)
    if not wait:
        return False
    log.info("Quota reached by user %s", user.id)
    limit = service.rate.limit
    if update.callback_query is not None:
        await update.callback_query.answer(messages.rate_limited_text(limit, wait), show_alert=True)
    elif service.rate.should_warn(user.id) and update.effective_message:
        await update.effective_message.reply_html(
            messages.rate_limited_html(limit, wait),
            reply_parameters=_reply_to(update.effective_message),
        )
    return True


async def reply_to_question(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: str,
    *,
    quiet_unless_found: bool = False,
) -> None:
    """Answer a question where it was asked, as a reply to it: full in private,
    short in groups. ``quiet_unless_found``: say nothing when no record fits (a
    group reply or mention that is chatter, not a question)."""
    message = update.effective_message
    if message is None:
        return
    if not question.strip():
        if not quiet_unless_found:
            await message.reply_html(messages.ASK_HINT, reply_parameters=_reply_to(message))
        return
    if await _over_quota(update, context):
        return
    answer = service_of(context).ask(question)
    log.debug(
        "Question in a %s chat (%d characters): %s",
        _chat_type(update),
        len(question),
        "answered" if answer.found else "abstained",
    )
    if quiet_unless_found and not answer.found:
        return
    key = feedback_of(context).remember(
        answer.question, _chat_type(update), [c.claim_id for c in answer.citations], answer.more
    )
    if is_group(update):
        markup = buttons.group_keyboard(answer, key, context.bot.username)
        await _send(message, [messages.group_answer_html(answer)], reply_markup=markup)
        return
    chunks = messages.messages(messages.answer_html(answer), messages.claim_pointer(answer))
    await _send(message, chunks, reply_markup=buttons.answer_keyboard(answer, key))


async def _took_comment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A reply to the bot's "What was wrong?" prompt: kept as the comment; True if so."""
    message, user = update.effective_message, update.effective_user
    replied = message.reply_to_message if message else None
    if message is None or user is None or replied is None:
        return False
    if not feedback_of(context).comment(
        message.chat_id, replied.message_id, user.id, text_of(message)
    ):
        return False
    log.info("Feedback comment from user %s", user.id)
    await message.reply_html(messages.COMMENT_THANKS, reply_parameters=_reply_to(message))
    return True


# --- Private chat and commands ------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: a greeting with two example questions.

    ``/start q<key>`` (the "Details in a private chat" button of a group answer)
    answers that question in full instead.
    """
    message = update.effective_message
    if message is None:
        return
    key = buttons.details_key(context.args[0]) if context.args else None
    asked = feedback_of(context).asked(key) if key else None
    if asked is not None:
        await reply_to_question(update, context, asked.question)
        return
    await message.reply_html(messages.start_html())


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
    """Any text or caption in a private chat is a question (an edited one too);
    a reply to "What was wrong?" is feedback."""
    message = update.effective_message
    if message is None or not text_of(message):
        return
    if update.message is not None and await _took_comment(update, context):
        return
    await reply_to_question(update, context, text_of(message))


async def group_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group message that replies to the bot or @mentions it: feedback when it
    replies to "What was wrong?", else a question (without the mention),
    answered only when records fit."""
    message = update.effective_message
    if message is None:
        return
    if await _took_comment(update, context):
        return
    await reply_to_question(update, context, without_mention(message), quiet_unless_found=True)


async def claim_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/claim ID: the whole record with its source, or "no record with that id"."""
    message = update.effective_message
    if message is None:
        return
    if not context.args:
        await message.reply_html(messages.CLAIM_HINT)
        return
    service = service_of(context)
    record = service.record(context.args[0])
    if record is None:
        await message.reply_html(
            messages.no_record_html(context.args[0]), reply_parameters=_reply_to(message)
        )
        return
    await _send_record(message, context, record.id)


async def _send_record(message: Message, context: ContextTypes.DEFAULT_TYPE, claim_id: str) -> None:
    service = service_of(context)
    record = service.record(claim_id)
    if record is None:
        return
    html = messages.record_html(record, service.knowledge)
    await _send(message, messages.messages(html, messages.RECORD_TRIMMED))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An unknown /command in a private chat: a pointer to /help."""
    if update.effective_message:
        await update.effective_message.reply_html(messages.UNKNOWN_COMMAND)


# --- Buttons ------------------------------------------------------------------------------------


async def _expired(query: CallbackQuery) -> None:
    log.info("Expired or unknown button pressed by user %s", query.from_user.id)
    await query.answer(messages.BUTTON_EXPIRED, show_alert=True)


async def source_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A record button under an answer: the whole record, as a reply to the answer."""
    query = update.callback_query
    if query is None or query.data is None or await _over_quota(update, context):
        return
    claim_id = buttons.source_claim_id(query.data, service_of(context).knowledge)
    if claim_id is None or not isinstance(query.message, Message):
        await _expired(query)
        return
    await query.answer()
    await _send_record(query.message, context, claim_id)


async def more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "More results" button: the further records once, as one message; the button then goes."""
    query = update.callback_query
    if query is None or query.data is None or await _over_quota(update, context):
        return
    key = buttons.more_key(query.data)
    store = feedback_of(context)
    asked = store.asked(key) if key else None
    if asked is None or not isinstance(query.message, Message):
        await _expired(query)
        return
    if not store.take_more(asked.key):
        await query.answer(messages.MORE_ALREADY_SENT)
        return
    await query.answer()
    result = service_of(context).lookup(asked.question, limit=MAX_CITATIONS + asked.more)
    extra = [c for c in result.citations if c.claim_id not in asked.record_ids]
    await _send(query.message, [messages.more_html(extra)])
    with contextlib.suppress(TelegramError):  # the message may be too old to edit
        await query.message.edit_reply_markup(buttons.without_more(query.message.reply_markup))


async def feedback_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍 / 👎: one verdict per person and answer (pressing again changes it); 👎 in a
    chat asks "What was wrong?"."""
    query = update.callback_query
    if query is None or query.data is None or await _over_quota(update, context):
        return
    parsed = buttons.feedback_of(query.data)
    if parsed is None:
        await _expired(query)
        return
    key, verdict = parsed
    store = feedback_of(context)
    where = query.message.chat.type if query.message is not None else "inline"
    outcome = store.vote(key, query.from_user.id, str(where), verdict)
    if outcome is None:
        await _expired(query)
        return
    log.info("Feedback %s from user %s (%s)", verdict, query.from_user.id, outcome)
    if verdict == "up" or outcome == "same" or not isinstance(query.message, Message):
        text = messages.THANKS_CHANGED if outcome == "changed" else messages.THANKS_UP
        if verdict == "down":
            text = messages.THANKS_DOWN_INLINE
        await query.answer(text)
        return
    await query.answer(messages.THANKS_DOWN_INLINE)
    group = query.message.chat.type != ChatType.PRIVATE
    prompt = await query.message.reply_html(
        messages.what_was_wrong_html(query.from_user.id, query.from_user.first_name, group=group),
        reply_parameters=_reply_to(query.message),
        reply_markup=ForceReply(selective=group, input_field_placeholder="What was wrong?"),
    )
    store.await_comment(key, query.from_user.id, prompt.chat_id, prompt.message_id)


async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other callback data (forged, or from an old version): "expired", never a spinner."""
    query = update.callback_query
    if query is not None and not await _over_quota(update, context):
        await _expired(query)


# --- Inline mode --------------------------------------------------------------------------------


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``@ThisBot QUESTION`` from any chat: one result per matching record.

    Each result is titled with the record's date and short claimant, described
    by its snippet, sends the question with that cited record, and carries
    👍 / 👎. An empty or off-topic query gets no results and a hint button.
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
            cited = answer.citations[:INLINE_RESULTS]
            keys = feedback_of(context).remember_many(
                answer.question, "inline", [[c.claim_id] for c in cited]
            )
            results = [
                InlineQueryResultArticle(
                    id=buttons.inline_result_id(c.claim_id),
                    title=messages.inline_title(c),
                    description=messages.inline_description(c),
                    input_message_content=InputTextMessageContent(
                        messages.inline_answer_html(question, c), parse_mode=ParseMode.HTML
                    ),
                    reply_markup=buttons.inline_keyboard(key),
                )
                for c, key in zip(cited, keys, strict=True)
            ]
    hint = None
    if not results:
        label = messages.INLINE_HINT_LABEL if not question else messages.INLINE_NOTHING_LABEL
        hint = InlineQueryResultsButton(text=label, start_parameter=buttons.INLINE_START)
    await query.answer(results, cache_time=INLINE_CACHE_SECONDS, is_personal=False, button=hint)


# --- Admin --------------------------------------------------------------------------------------


async def _admin_here(update: Update, context: ContextTypes.DEFAULT_TYPE, command: str) -> bool:
    """Admin commands run only in a private chat with an admin: elsewhere one line,
    no detail; a non-admin is refused."""
    message, user = update.effective_message, update.effective_user
    if message is None:
        return False
    if update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
        log.warning(
            "Refused /%s in a %s chat from user %s", command, _chat_type(update),
            user.id if user else None,
        )  # fmt: skip
        await message.reply_html(messages.PRIVATE_ONLY, reply_parameters=_reply_to(message))
        return False
    if not _is_admin(update, context):
        log.warning("Refused /%s from non-admin user %s", command, user.id if user else None)
        await message.reply_html(messages.NOT_ADMIN)
        return False
    return True


async def reload_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload (admins): re-read the knowledge base; say what changed, or why it was refused."""
    if not await _admin_here(update, context, "reload"):
        return
    user = update.effective_user
    log.info("Reload requested by admin %s", user.id if user else None)
    result = await service_of(context).reload()
    if update.effective_message:
        await update.effective_message.reply_html(messages.reload_html(result))


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (admins): records, files, last reload, questions answered and abstentions."""
    if await _admin_here(update, context, "stats") and update.effective_message:
        await update.effective_message.reply_html(messages.stats_html(service_of(context).stats()))


async def feedback_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/feedback (admins): the latest verdicts, newest first, with question and cited ids."""
    if await _admin_here(update, context, "feedback") and update.effective_message:
        entries = feedback_of(context).entries(limit=FEEDBACK_SHOWN)
        await update.effective_message.reply_html(messages.feedback_html(entries))


# --- Errors -------------------------------------------------------------------------------------


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any handler exception; the person gets a short apology, admins a short
    alert (at most one a minute), and the bot keeps running."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("Error while handling update %s", update_id, exc_info=context.error)
    if update_id is not None:  # the journal leaves network failures pending, for a retry
        context.bot_data.setdefault(FAILED, {})[update_id] = context.error
    await _alert_admins(context, update_id)
    if not isinstance(update, Update):
        return
    with contextlib.suppress(TelegramError):
        if update.callback_query:
            await update.callback_query.answer(messages.APOLOGY)
        elif update.effective_message and update.effective_chat:
            await update.effective_message.reply_html(messages.e(messages.APOLOGY))


async def _alert_admins(context: ContextTypes.DEFAULT_TYPE, update_id: int | None) -> None:
    now = time.monotonic()
    last = cast(float | None, context.bot_data.get("last_alert"))
    if last is not None and now - last < ALERT_SECONDS:
        return
    context.bot_data["last_alert"] = now
    text = messages.admin_alert_html(context.error, update_id)
    for admin in sorted(settings_of(context).admin_ids):
        try:
            await context.bot.send_message(admin, text, parse_mode=ParseMode.HTML)
        except TelegramError as exc:  # an admin who never opened a chat with the bot
            log.warning("Could not alert admin %s: %s", admin, exc)


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
