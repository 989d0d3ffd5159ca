"""Logging for the running bot: to stderr, with secrets (the token) never shown."""

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
