"""The Telegram bot: ``python -m bot serve``, on python-telegram-bot v22.

Where people reach it:

- **Private chat**: any text is a question. ``/start``, ``/help``, ``/ask QUESTION``,
  ``/claim ID``. Answers carry buttons: the source of each citation, more results.
- **Groups**: ``/ask QUESTION`` and ``/ask@ThisBot QUESTION``, replies to the bot's
  own messages, and @mentions where Telegram delivers them; everything else is
  ignored. This works with privacy mode on (the default). Group answers are
  short, quote the question and link to a private chat for the detail.
- **Inline**: ``@ThisBot QUESTION`` in any chat lists up to 10 records; picking
  one sends a cited answer.
- **Admins** (numeric ids in ``BOT_ADMIN_IDS``): ``/reload`` and ``/stats``;
  ``SIGHUP`` reloads too.

This module only translates between Telegram and :mod:`bot.service` /
:mod:`bot.render` / :mod:`bot.chat_text`; it holds no answer logic.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import (
    ChatType,
    InlineKeyboardButtonLimit,
    InlineKeyboardMarkupLimit,
    InlineQueryLimit,
    InlineQueryResultLimit,
    ParseMode,
)
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.helpers import create_deep_linked_url

from bot import chat_text as text
from bot.answer import MAX_CITATIONS, Answer
from bot.knowledge import KnowledgeError
from bot.render import answer_html, record_html
from bot.service import Service
from bot.settings import Settings, SettingsError, load_settings
from bot.settings import add_arguments as _add_arguments

log = logging.getLogger(__name__)

#: Inline mode lists at most this many records (Telegram allows InlineQueryLimit.RESULTS).
INLINE_RESULTS = min(10, InlineQueryLimit.RESULTS)
#: Seconds Telegram may cache inline results: short, so a reload shows within seconds.
INLINE_CACHE_SECONDS = 5
#: Bounded retries: RetryAfter (429) waits, and transient 5xx / connection errors.
FLOOD_RETRIES = 3
NETWORK_RETRIES = 3
NETWORK_BACKOFF_SECONDS = 0.5
#: Updates the bot asks Telegram for.
ALLOWED_UPDATES = [Update.MESSAGE, Update.INLINE_QUERY, Update.CALLBACK_QUERY]

APOLOGY = "Sorry, something went wrong while answering. Please try again in a moment."
NOT_ADMIN = "Sorry, only the bot's admins can do that."
SOURCE_PREFIX = "src:"
MORE_PREFIX = "more:"

EXAMPLES = (
    "• When was the drone factory reported?\n"
    "• Who said Iran supplies drones to Russia?\n"
    "• Shahed drones"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` options (defined in :mod:`bot.settings`, which imports no Telegram)."""
    _add_arguments(parser)


# --- Plumbing -----------------------------------------------------------------------------------


def service_of(context: ContextTypes.DEFAULT_TYPE) -> Service:
    return context.bot_data["service"]


def settings_of(context: ContextTypes.DEFAULT_TYPE) -> Settings:
    return context.bot_data["settings"]


class PatientRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter (waits out ``RetryAfter``), also retrying transient failures.

    A 5xx from the Bot API or a dropped connection is retried up to
    ``NETWORK_RETRIES`` times with exponential backoff, so the person still gets
    the real answer. ``BadRequest`` is our mistake and ``TimedOut`` may have been
    delivered, so neither is repeated.
    """

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # type: ignore[no-untyped-def]
        for attempt in range(NETWORK_RETRIES + 1):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except (BadRequest, TimedOut):
                raise
            except NetworkError as exc:
                if attempt == NETWORK_RETRIES:
                    raise
                delay = NETWORK_BACKOFF_SECONDS * 2**attempt
                log.warning(
                    "Bot API %s failed (%s); retry %d of %d in %.1f s",
                    endpoint,
                    exc,
                    attempt + 1,
                    NETWORK_RETRIES,
                    delay,
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")


class _MentionsMe(filters.MessageFilter):
    """Messages that @mention this bot."""

    def filter(self, message: Message) -> bool:
        username = message.get_bot().username.lower()
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


def _without_mention(message: Message) -> str:
    username = f"@{message.get_bot().username}".lower()
    question = message.text or ""
    for value in message.parse_entities([MessageEntity.MENTION]).values():
        if value.lower() == username:
            question = question.replace(value, " ")
    return question.strip()


def _is_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def _source_data(claim_id: str, service: Service) -> str:
    data = SOURCE_PREFIX + claim_id
    if len(data.encode()) > InlineKeyboardButtonLimit.MAX_CALLBACK_DATA:
        data = SOURCE_PREFIX + "~" + service.memory.put(claim_id)
    return data


def _answer_keyboard(answer: Answer, service: Service) -> InlineKeyboardMarkup | None:
    """Buttons under a private answer: the source of each citation, and more results."""
    if not answer.found:
        return None
    buttons = [
        InlineKeyboardButton(
            f"Source: {text.clip(f'{c.date_text} · {c.claimant}', 40)}",
            callback_data=_source_data(c.claim_id, service),
        )
        for c in answer.citations
    ]
    rows = [[b] for b in buttons[: InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER - 1]]
    if answer.more:
        token = service.memory.put(
            (answer.question, tuple(c.claim_id for c in answer.citations), answer.more)
        )
        more = InlineKeyboardButton(
            f"More results (+{answer.more})", callback_data=MORE_PREFIX + token
        )
        rows.append([more])
    return InlineKeyboardMarkup(rows)


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
            f"You are asking faster than I answer; please wait {wait:.0f} s.",
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
        await message.reply_html(
            "Ask me a question after the command, e.g.\n"
            "<code>/ask When was the drone factory reported?</code>"
        )
        return
    if await _rate_limited(update, context):
        return
    service = service_of(context)
    answer = service.ask(question)
    if _is_group(update):
        markup = None
        if answer.found and context.bot.username:
            token = service.memory.put(answer.question)
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            "Details in a private chat",
                            url=create_deep_linked_url(context.bot.username, "q" + token),
                        )
                    ]
                ]
            )
        await _send(message, [text.group_answer_html(answer)], reply_markup=markup, quote=True)
        return
    chunks = text.messages(answer_html(answer), text.claim_pointer(answer))
    await _send(message, chunks, reply_markup=_answer_keyboard(answer, service))


# --- Private chat and commands ------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: a greeting with example questions.

    ``/start q<token>`` (the "Details in a private chat" button of a group answer)
    answers that question in full instead.
    """
    if context.args and context.args[0].startswith("q"):
        question = service_of(context).memory.get(context.args[0][1:])
        if isinstance(question, str):
            await reply_to_question(update, context, question)
            return
    await help_command(update, context)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: what the bot does and how to ask, with examples."""
    if update.effective_message is None:
        return
    name = text.e(context.bot.username or "this_bot")
    if _is_group(update):
        body = (
            "I answer questions from curated claim records, citing dated sources.\n"
            f"In this group: <code>/ask@{name} your question</code>, or reply to one of my "
            f"messages. In any chat, type <code>@{name} your question</code>.\n"
            "For whole answers and records, ask me in a private chat."
        )
    else:
        body = (
            "I answer questions from curated claim records. Every answer cites its "
            "records with their dates and sources; when no record fits, I say so.\n\n"
            "Just send me a question, for example:\n"
            f"{text.e(EXAMPLES)}\n\n"
            "<b>Commands</b>\n"
            "/ask QUESTION — ask (the same as sending the question)\n"
            "/claim ID — a whole record with its source (IDs are shown in brackets)\n"
            "/help — this message\n\n"
            f"In groups: <code>/ask@{name} QUESTION</code>. In any chat: "
            f"<code>@{name} QUESTION</code>."
        )
        if settings_of(context).is_admin(update.effective_user and update.effective_user.id):
            body += "\n\n<b>Admin</b>\n/reload — re-read the knowledge base\n/stats — counters"
    await update.effective_message.reply_html(body)


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask QUESTION (also /ask@ThisBot in groups): the cited answer, or "no records"."""
    await reply_to_question(update, context, " ".join(context.args or ()))


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    if update.effective_message and update.effective_message.text:
        await reply_to_question(update, context, update.effective_message.text)


async def group_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reply to one of the bot's messages in a group is a question."""
    if update.effective_message:
        await reply_to_question(update, context, _without_mention(update.effective_message))


async def group_mention(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group message that @mentions the bot is a question (without the mention)."""
    if update.effective_message:
        await reply_to_question(update, context, _without_mention(update.effective_message))


async def claim_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/claim ID: the whole record with its source, or "no record with that id"."""
    message = update.effective_message
    if message is None:
        return
    if not context.args:
        await message.reply_html(
            "Send <code>/claim ID</code> with a record id, as shown in brackets in answers."
        )
        return
    await _send_record(message, context, context.args[0])


async def _send_record(message: Message, context: ContextTypes.DEFAULT_TYPE, claim_id: str) -> None:
    service = service_of(context)
    record = service.record(claim_id)
    if record is None:
        await message.reply_html(f"I have no record with the id <code>{text.e(claim_id)}</code>.")
        return
    pointer = "<i>Trimmed: the record is longer than Telegram allows; see its source file.</i>"
    await _send(message, text.messages(record_html(record, service.knowledge), pointer))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An unknown /command in a private chat: a pointer to /help."""
    if update.effective_message:
        await update.effective_message.reply_html("I don't know that command. Try /help.")


# --- Buttons ------------------------------------------------------------------------------------


async def source_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "Source" button under an answer: sends that citation's whole record."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    claim_id = query.data.removeprefix(SOURCE_PREFIX)
    if claim_id.startswith("~"):
        claim_id = str(service_of(context).memory.get(claim_id[1:]) or "")
    await query.answer()
    if isinstance(query.message, Message):
        await _send_record(query.message, context, claim_id)


async def more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "More results" button: sends the further matching records."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    stored = service_of(context).memory.get(query.data.removeprefix(MORE_PREFIX))
    if not isinstance(stored, tuple):
        await query.answer("This button has expired; please ask again.", show_alert=False)
        return
    question, shown, more = stored
    await query.answer()
    result = service_of(context).lookup(question, limit=MAX_CITATIONS + more)
    extra = [c for c in result.citations if c.claim_id not in shown]
    if isinstance(query.message, Message):
        await _send(query.message, text.messages(text.more_html(extra), ""))


# --- Inline mode --------------------------------------------------------------------------------


def _result_id(claim_id: str) -> str:
    if len(claim_id.encode()) <= InlineQueryResultLimit.MAX_ID_LENGTH:
        return claim_id
    return hashlib.sha256(claim_id.encode()).hexdigest()[: InlineQueryResultLimit.MAX_ID_LENGTH]


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
        service.inline_queries += 1
        answer = service.lookup(question, limit=INLINE_RESULTS)
        if answer.found:
            results = [
                InlineQueryResultArticle(
                    id=_result_id(c.claim_id),
                    title=text.inline_title(c),
                    description=text.inline_description(c),
                    input_message_content=InputTextMessageContent(
                        text.inline_answer_html(question, c), parse_mode=ParseMode.HTML
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
    if not settings_of(context).is_admin(user and user.id):
        log.warning("Refused /reload from non-admin user %s", user and user.id)
        await message.reply_html(NOT_ADMIN)
        return
    log.info("Reload requested by admin %s", user and user.id)
    result = await service_of(context).reload()
    await message.reply_html(text.reload_html(result))


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (admins): records, files, last reload, questions answered and abstentions."""
    message, user = update.effective_message, update.effective_user
    if message is None:
        return
    if not settings_of(context).is_admin(user and user.id):
        await message.reply_html(NOT_ADMIN)
        return
    await message.reply_html(text.stats_html(service_of(context).stats()))


# --- Errors -------------------------------------------------------------------------------------


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any handler exception; the person gets a short apology, the bot keeps running."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("Error while handling update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update):
        return
    with contextlib.suppress(TelegramError):
        if update.callback_query:
            await update.callback_query.answer(APOLOGY)
        elif update.effective_message and update.effective_chat:
            await update.effective_message.reply_html(text.e(APOLOGY))


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


# --- Wiring -------------------------------------------------------------------------------------


def build_application(settings: Settings, service: Service) -> Application:
    """The Application with every handler, the rate limiter and concurrent updates."""
    builder = (
        Application.builder()
        .token(settings.token)
        .rate_limiter(PatientRateLimiter(max_retries=FLOOD_RETRIES))
        .concurrent_updates(True)
        .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .read_timeout(15)
        .write_timeout(15)
        .connect_timeout(10)
    )
    if settings.base_url:
        builder = builder.base_url(settings.base_url).base_file_url(settings.base_file_url)
    app = builder.build()
    app.bot_data["service"] = service
    app.bot_data["settings"] = settings

    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    new = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("start", start, filters=new))
    app.add_handler(CommandHandler("help", help_command, filters=new))
    app.add_handler(CommandHandler("ask", ask_command, filters=new))
    app.add_handler(CommandHandler("claim", claim_command, filters=new))
    app.add_handler(CommandHandler("reload", reload_command, filters=new))
    app.add_handler(CommandHandler("stats", stats_command, filters=new))
    chatter = NEW_TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(chatter & private, private_text))
    app.add_handler(MessageHandler(NEW_TEXT & private & filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(chatter & groups & REPLIES_TO_ME, group_reply))
    app.add_handler(MessageHandler(chatter & groups & MENTIONS_ME, group_mention))
    app.add_handler(InlineQueryHandler(inline_query))
    app.add_handler(CallbackQueryHandler(source_button, pattern=f"^{SOURCE_PREFIX}"))
    app.add_handler(CallbackQueryHandler(more_button, pattern=f"^{MORE_PREFIX}"))
    app.add_error_handler(on_error)
    return app


PRIVATE_COMMANDS = [
    BotCommand("ask", "Ask a question (or just send it)"),
    BotCommand("claim", "Show a whole record with its source: /claim ID"),
    BotCommand("help", "How to ask, with examples"),
    BotCommand("start", "Start"),
]
GROUP_COMMANDS = [
    BotCommand("ask", "Ask a question: /ask QUESTION"),
    BotCommand("claim", "Show a record: /claim ID"),
    BotCommand("help", "How to ask"),
]
ADMIN_COMMANDS = [
    *PRIVATE_COMMANDS,
    BotCommand("reload", "Re-read the knowledge base"),
    BotCommand("stats", "Records, reloads, questions answered"),
]


async def register_commands(app: Application, settings: Settings) -> None:
    """set_my_commands per scope: private chats, groups, and each admin's private chat."""
    scopes: list[tuple[list[BotCommand], Any]] = [
        (PRIVATE_COMMANDS, BotCommandScopeAllPrivateChats()),
        (GROUP_COMMANDS, BotCommandScopeAllGroupChats()),
    ]
    scopes += [(ADMIN_COMMANDS, BotCommandScopeChat(admin)) for admin in sorted(settings.admin_ids)]
    for commands, scope in scopes:
        try:
            await app.bot.set_my_commands(commands, scope=scope)
        except TelegramError as exc:  # e.g. an admin who never opened a chat with the bot
            log.warning("Could not register the command menu for %s: %s", scope.type, exc)


class RedactingFormatter(logging.Formatter):
    """A formatter that replaces secrets (the token) wherever they appear in a log line."""

    def __init__(self, fmt: str, secrets: Sequence[str]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self._secrets:
            line = line.replace(secret, "[redacted]")
        return line


def setup_logging(settings: Settings) -> None:
    """Log to stderr; the token never shows (httpx logs request URLs, which hold it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", settings.secrets())
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    logging.captureWarnings(True)
    if settings.log_level != "DEBUG":
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


async def reload_on_signal(service: Service) -> None:
    """SIGHUP: the same reload as /reload, reported in the log."""
    log.info("SIGHUP received: reloading %s", service.folder)
    result = await service.reload()
    if not result.ok:
        for problem in result.problems:
            log.warning("  %s", problem)


async def serve(settings: Settings, service: Service) -> int:
    """Run until SIGINT/SIGTERM: polling, or a webhook when one is configured."""
    app = build_application(settings, service)
    try:
        await app.initialize()
    except InvalidToken:  # its message holds the token: say it in our own words
        print(
            "error: the Bot API server rejected TELEGRAM_BOT_TOKEN; copy it again from @BotFather",
            file=sys.stderr,
        )
        return 2
    except TelegramError as exc:
        where = settings.base_url or "the Telegram Bot API"
        print(f"error: cannot reach {where}: {exc}", file=sys.stderr)
        return 1

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    hangup = getattr(signal, "SIGHUP", None)  # not on Windows
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if hangup is not None:
        loop.add_signal_handler(hangup, lambda: app.create_task(reload_on_signal(service)))
    try:
        await register_commands(app, settings)
        await app.start()
        if settings.webhook_url:
            await app.updater.start_webhook(
                listen=settings.listen,
                port=settings.port,
                url_path=settings.webhook_path,
                webhook_url=settings.webhook_url,
                secret_token=settings.secret_token,
                allowed_updates=ALLOWED_UPDATES,
            )
            mode = f"webhook on {settings.listen}:{settings.port}/{settings.webhook_path}"
        else:
            await app.updater.start_polling(
                allowed_updates=ALLOWED_UPDATES, error_callback=on_polling_error
            )
            mode = "long polling"
        log.info(
            "Bot @%s is running (%s) with %d records from %s",
            app.bot.username,
            mode,
            len(service.knowledge.records),
            service.folder,
        )
        await stop.wait()
        log.info("Stopping")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, hangup):
            if sig is not None:
                loop.remove_signal_handler(sig)
        if app.updater and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
    return 0


def main(args: argparse.Namespace | None = None) -> int:
    """``python -m bot serve``: 0 on a clean stop, 2 for a missing or rejected token."""
    try:
        settings = load_settings(args)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings)
    try:
        service = Service.open(
            settings.knowledge_dir,
            cache_dir=settings.cache_dir,
            questions_per_minute=settings.questions_per_minute,
        )
    except KnowledgeError as exc:
        print(f"error: the knowledge base {settings.knowledge_dir} is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(serve(settings, service))
    except KeyboardInterrupt:
        return 130
    except Exception:
        log.exception("The bot stopped on an unexpected error")
        return 1
