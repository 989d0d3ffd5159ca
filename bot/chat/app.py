"""Wiring of ``python -m bot serve``: the Application, its handlers, and its life cycle.

Only wiring: what each handler does is in :mod:`bot.chat.handlers`. Runs until
SIGINT or SIGTERM; SIGHUP reloads the knowledge base like ``/reload``.

Updates are handled concurrently, except that the updates of one chat are
handled one after another, in the order they came (:class:`ChatOrder`): a
slow chat never holds up the others, and answers in a chat never overtake
each other.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sqlite3
import sys
from collections.abc import Awaitable
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    LinkPreviewOptions,
    Update,
)
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.chat import handlers
from bot.chat.buttons import FEEDBACK_PREFIX, MORE_PREFIX, SOURCE_PREFIX
from bot.chat.delivery import JournalingApplication, JournalingQueue, replay
from bot.chat.feedback import FeedbackStore
from bot.chat.filters import MENTIONS_ME, REPLIES_TO_ME, WORDS
from bot.chat.journal import Journal
from bot.chat.logs import setup_logging
from bot.chat.messages import DESCRIPTION, SHORT_DESCRIPTION
from bot.chat.retry import FLOOD_RETRIES, PatientRateLimiter
from bot.chat.service import Service
from bot.chat.store import Store
from bot.config import Settings, load_settings
from bot.errors import KnowledgeError, SettingsError
from bot.search.vectors import load_model_or_none

log = logging.getLogger(__name__)

#: On SIGTERM or SIGINT, answers in flight get this long to go out before the
#: bot exits; the rest stay in the journal for the next start.
STOP_GRACE_SECONDS = 10

#: The Application as built here: PTB's default context and data types.
App = Application[Any, Any, Any, Any, Any, Any]

#: Updates the bot asks Telegram for (edited messages: an edited question is answered again).
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.INLINE_QUERY,
    Update.CALLBACK_QUERY,
]
#: At most this many updates are handled at once.
CONCURRENT_UPDATES = 256


class ChatOrder(BaseUpdateProcessor):
    """Concurrent updates, but one chat's updates one at a time, in arrival order.

    The Application starts one task per update in the order updates arrive; each
    task waits here on its chat's lock, and asyncio locks are first come, first
    served. Inline queries (no chat) run at once.
    """

    def __init__(self, max_concurrent_updates: int = CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._waiting[chat.id] = self._waiting.get(chat.id, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[chat.id] -= 1
            if not self._waiting[chat.id]:  # forget idle chats
                del self._waiting[chat.id]
                del self._locks[chat.id]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def build_application(
    settings: Settings,
    service: Service,
    feedback: FeedbackStore | None = None,
    journal: Journal | None = None,
) -> App:
    """The Application with every handler, the rate limiter and per-chat ordered updates.

    ``feedback``: the store of answers and verdicts; ``journal``: the update
    journal (both default to the store in ``settings.data_dir``).
    """
    store = feedback.store if feedback is not None else Store.open(settings.data_dir)
    journal = journal or Journal(store)
    service.journal = journal
    builder = (
        Application.builder()
        .application_class(JournalingApplication)
        .update_queue(JournalingQueue(journal))
        .token(settings.token)
        .rate_limiter(PatientRateLimiter(max_retries=FLOOD_RETRIES))
        .concurrent_updates(ChatOrder())
        .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .read_timeout(15)
        .write_timeout(15)
        .connect_timeout(10)
    )
    if settings.base_url:
        builder = builder.base_url(settings.base_url).base_file_url(
            settings.base_file_url or settings.base_url
        )
    app = builder.build()
    if isinstance(app, JournalingApplication):
        app.journal = journal
    app.bot_data["service"] = service
    app.bot_data["settings"] = settings
    app.bot_data["feedback"] = feedback or FeedbackStore(store)

    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    new = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("start", handlers.start, filters=new))
    app.add_handler(CommandHandler("help", handlers.help_command, filters=new))
    # An edited /ask is asked again, like an edited question in a private chat.
    app.add_handler(
        CommandHandler("ask", handlers.ask_command, filters=filters.UpdateType.MESSAGES)
    )
    app.add_handler(CommandHandler("claim", handlers.claim_command, filters=new))
    app.add_handler(CommandHandler("reload", handlers.reload_command, filters=new))
    app.add_handler(CommandHandler("stats", handlers.stats_command, filters=new))
    app.add_handler(CommandHandler("feedback", handlers.feedback_command, filters=new))
    chatter = WORDS & ~filters.COMMAND
    app.add_handler(MessageHandler(chatter & private, handlers.private_text))
    app.add_handler(
        MessageHandler(new & filters.TEXT & private & filters.COMMAND, handlers.unknown_command)
    )
    app.add_handler(
        MessageHandler(
            chatter & new & groups & (REPLIES_TO_ME | MENTIONS_ME), handlers.group_question
        )
    )
    app.add_handler(InlineQueryHandler(handlers.inline_query))
    app.add_handler(CallbackQueryHandler(handlers.source_button, pattern=f"^{SOURCE_PREFIX}"))
    app.add_handler(CallbackQueryHandler(handlers.more_button, pattern=f"^{MORE_PREFIX}"))
    app.add_handler(CallbackQueryHandler(handlers.feedback_button, pattern=f"^{FEEDBACK_PREFIX}"))
    app.add_handler(CallbackQueryHandler(handlers.unknown_button))  # every press is answered
    app.add_error_handler(handlers.on_error)
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
    BotCommand("feedback", "The latest verdicts of readers"),
]


async def register_commands(app: App, settings: Settings) -> None:
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
    try:
        await app.bot.set_my_description(DESCRIPTION)
        await app.bot.set_my_short_description(SHORT_DESCRIPTION)
    except TelegramError as exc:
        log.warning("Could not set the bot's description: %s", exc)


async def reload_on_signal(service: Service) -> None:
    """SIGHUP: the same reload as /reload, reported in the log."""
    log.info("SIGHUP received: reloading %s", service.folder)
    result = await service.reload()
    if not result.ok:
        for problem in result.problems:
            log.warning("  %s", problem)


async def serve(settings: Settings, service: Service, feedback: FeedbackStore) -> int:
    """Run until SIGINT/SIGTERM: polling, or a webhook when one is configured."""
    app = build_application(settings, service, feedback)
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
    hangup: signal.Signals | None = getattr(signal, "SIGHUP", None)  # not on Windows
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if hangup is not None:
        loop.add_signal_handler(hangup, lambda: app.create_task(reload_on_signal(service)))
    updater = app.updater
    if updater is None:  # build_application always builds one
        raise RuntimeError("the Application has no updater")
    journal = service.journal
    try:
        await register_commands(app, settings)
        await app.start()
        if journal is not None:  # what the last run received but did not answer, first
            await replay(app, journal)
            await asyncio.to_thread(journal.prune)
        if settings.webhook_url:
            await updater.start_webhook(
                listen=settings.listen,
                port=settings.port,
                url_path=settings.webhook_path,
                webhook_url=settings.webhook_url,
                secret_token=settings.secret_token,
                allowed_updates=ALLOWED_UPDATES,
            )
            mode = f"webhook on {settings.listen}:{settings.port}/{settings.webhook_path}"
            if settings.listen in ("0.0.0.0", "::"):
                log.warning(
                    "The webhook listens on all interfaces (%s): only the secret token keeps "
                    "forged updates out; listen on 127.0.0.1 behind the HTTPS proxy instead",
                    settings.listen,
                )
        else:
            await updater.start_polling(
                allowed_updates=ALLOWED_UPDATES, error_callback=handlers.on_polling_error
            )
            mode = "long polling"
        log.info(
            "Bot @%s is running (%s) with %d records from %s; data in %s",
            app.bot.username,
            mode,
            len(service.knowledge.records),
            service.folder,
            settings.data_dir,
        )
        await stop.wait()
        log.info("Stopping")
    finally:
        for stopped in (signal.SIGINT, signal.SIGTERM, hangup):
            if stopped is not None:
                loop.remove_signal_handler(stopped)
        if updater.running:
            await updater.stop()  # no new updates from here on
        if app.running:
            try:  # answers in flight get a bounded time to go out
                await asyncio.wait_for(app.stop(), STOP_GRACE_SECONDS)
            except TimeoutError:
                log.warning(
                    "Stopped with answers still in flight after %d s; they stay in the "
                    "journal and are answered at the next start",
                    STOP_GRACE_SECONDS,
                )
        await app.shutdown()
        feedback.store.close()
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
        feedback = FeedbackStore(Store.open(settings.data_dir))
    except (OSError, sqlite3.Error) as exc:
        print(
            f"error: cannot open the data folder {settings.data_dir} (BOT_DATA_DIR): {exc}",
            file=sys.stderr,
        )
        return 1
    embedder = load_model_or_none(settings.embedding_model)
    try:
        service = Service.open(
            settings.knowledge_dir,
            cache_dir=settings.cache_dir,
            questions_per_minute=settings.questions_per_minute,
            embedder=embedder,
        )
    except KnowledgeError as exc:
        print(f"error: the knowledge base {settings.knowledge_dir} is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(serve(settings, service, feedback))
    except KeyboardInterrupt:
        return 130
    except Exception:
        log.exception("The bot stopped on an unexpected error")
        return 1
