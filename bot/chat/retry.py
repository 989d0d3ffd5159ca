"""Bot API calls that survive flood control and transient failures."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

#: Bounded retries: RetryAfter (429) waits, and transient 5xx / connection errors.
FLOOD_RETRIES = 3
NETWORK_RETRIES = 3
NETWORK_BACKOFF_SECONDS = 0.5


class PatientRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter (waits out ``RetryAfter``), also retrying transient failures.

    A 5xx from the Bot API or a dropped connection is retried up to
    ``NETWORK_RETRIES`` times with exponential backoff, so the person still gets
    the real answer. ``BadRequest`` is our mistake and ``TimedOut`` may have been
    delivered, so neither is repeated.
    """

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
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
