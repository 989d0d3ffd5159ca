"""Logging for the running bot: to stderr, with secrets (the token) never shown.

At INFO and above no log line holds what people wrote (questions, comments):
only user ids, chat types and what the bot did. At DEBUG, python-telegram-bot
and httpx log every update and request in full, message texts included.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from bot.config import Settings


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


#: python-telegram-bot's logger of the webhook server (it says "Updater").
WEBHOOK_LOGGER = "telegram.ext.Updater"
_REFUSED = ("Request did not include the secret token", "Request had the wrong secret token")


class WebhookRefusals(logging.Filter):
    """Webhook requests refused for a missing or wrong secret token (403), at WARNING.

    python-telegram-bot logs them at DEBUG, with the wrong token; this says it at
    WARNING without the token, and lets the logger's other DEBUG lines through
    only at ``level``.
    """

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(_REFUSED):
            record.msg = (
                "Refused a webhook request without the right secret token "
                "(403): a forged update, or a proxy that drops the header"
            )
            record.args = ()
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            return True
        return record.levelno >= self.level


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
    webhook = logging.getLogger(WEBHOOK_LOGGER)
    webhook.setLevel(logging.DEBUG)  # the refusals are DEBUG records: let them reach the filter
    webhook.filters[:] = [WebhookRefusals(logging.getLevelName(settings.log_level))]
    if settings.log_level != "DEBUG":
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
