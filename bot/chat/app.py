"""Wiring of ``python -m bot serve``: the Application, its handlers, and its life cycle.

Only wiring: what each handler does is in :mod:`bot.chat.handlers`. Runs until
SIGINT or SIGTERM; SIGHUP reloads the knowledge base like ``/reload``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
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
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.chat import handlers
from bot.chat.buttons import MORE_PREFIX, SOURCE_PREFIX, Memory
from bot.chat.filters import MENTIONS_ME, NEW_TEXT, REPLIES_TO_ME
from bot.chat.logs import setup_logging
from bot.chat.retry import FLOOD_RETRIES, PatientRateLimiter
from bot.chat.service import Service
from bot.config import Settings, load_settings
from bot.errors import KnowledgeError, SettingsError
from bot.search.vectors import load_model_or_none

log = logging.getLogger(__name__)

#: The Application as built here: PTB's default context and data types.
App = Application[Any, Any, Any, Any, Any, Any]

#: Updates the bot asks Telegram for.
ALLOWED_UPDATES = [Update.MESSAGE, Update.INLINE_QUERY, Update.CALLBACK_QUERY]


def build_application(settings: Settings, service: Service) -> App:
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
        builder = builder.base_url(settings.base_url).base_file_url(
            settings.base_file_url or settings.base_url
        )
    app = builder.build()
    app.bot_data["service"] = service
    app.bot_data["settings"] = settings
    app.bot_data["memory"] = Memory()

    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    new = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("start", handlers.start, filters=new))
    app.add_handler(CommandHandler("help", handlers.help_command, filters=new))
    app.add_handler(CommandHandler("ask", handlers.ask_command, filters=new))
    app.add_handler(CommandHandler("claim", handlers.claim_command, filters=new))
    app.add_handler(CommandHandler("reload", handlers.reload_command, filters=new))
    app.add_handler(CommandHandler("stats", handlers.stats_command, filters=new))
    chatter = NEW_TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(chatter & private, handlers.private_text))
    app.add_handler(MessageHandler(NEW_TEXT & private & filters.COMMAND, handlers.unknown_command))
    app.add_handler(
        MessageHandler(chatter & groups & (REPLIES_TO_ME | MENTIONS_ME), handlers.group_question)
    )
    app.add_handler(InlineQueryHandler(handlers.inline_query))
    app.add_handler(CallbackQueryHandler(handlers.source_button, pattern=f"^{SOURCE_PREFIX}"))
    app.add_handler(CallbackQueryHandler(handlers.more_button, pattern=f"^{MORE_PREFIX}"))
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
    hangup: signal.Signals | None = getattr(signal, "SIGHUP", None)  # not on Windows
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if hangup is not None:
        loop.add_signal_handler(hangup, lambda: app.create_task(reload_on_signal(service)))
    updater = app.updater
    if updater is None:  # build_application always builds one
        raise RuntimeError("the Application has no updater")
    try:
        await register_commands(app, settings)
        await app.start()
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
        else:
            await updater.start_polling(
                allowed_updates=ALLOWED_UPDATES, error_callback=handlers.on_polling_error
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
        for stopped in (signal.SIGINT, signal.SIGTERM, hangup):
            if stopped is not None:
                loop.remove_signal_handler(stopped)
        if updater.running:
            await updater.stop()
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
        return asyncio.run(serve(settings, service))
    except KeyboardInterrupt:
        return 130
    except Exception:
        log.exception("The bot stopped on an unexpected error")
        return 1
