"""The Telegram layer: translates between Telegram and the answer logic, nothing more.

- :mod:`~bot.chat.service`: the live index, reloads, counters, rate limits (no Telegram)
- :mod:`~bot.chat.messages`: everything the bot says, as Telegram HTML, and splitting it
- :mod:`~bot.chat.buttons`: keyboards under answers; what their data and deep links name
- :mod:`~bot.chat.store`: the bot's SQLite database under BOT_DATA_DIR (no Telegram)
- :mod:`~bot.chat.feedback`: answers behind buttons, readers' verdicts (no Telegram)
- :mod:`~bot.chat.filters`: which messages are meant for the bot
- :mod:`~bot.chat.handlers`: one handler per thing a person does
- :mod:`~bot.chat.retry`: flood control and transient failures of Bot API calls
- :mod:`~bot.chat.logs`: logging with the token redacted
- :mod:`~bot.chat.app`: wiring and the life cycle of ``python -m bot serve``

Importing this package does not import python-telegram-bot; its modules do.
"""
