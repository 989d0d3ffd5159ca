"""The bot's logs never show the token."""

from __future__ import annotations

import logging

from bot.chat.logs import RedactingFormatter
from tests.fake_bot_api import TOKEN


def test_log_lines_never_show_the_token() -> None:
    formatter = RedactingFormatter("%(message)s", [TOKEN])
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "HTTP Request: POST %s",
        (f"http://x/bot{TOKEN}/getMe",),
        None,
    )
    assert TOKEN not in formatter.format(record)
    try:
        raise ValueError(f"The token `{TOKEN}` was rejected")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    assert TOKEN not in formatter.format(record)
