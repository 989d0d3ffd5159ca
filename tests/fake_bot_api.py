"""A fake Telegram Bot API server for tests: real HTTP on 127.0.0.1, a random port.

Point the bot at it with ``TELEGRAM_API_BASE_URL=fake.base_url`` (or
``Application.builder().base_url(fake.base_url)``). It implements the methods
the bot uses, checks what it is sent the way Telegram does (HTML parse mode,
the 4096-character limit, known chats), and records every call.

- Updates: ``private()``, ``group()``, ``inline()``, ``callback()``, ``edited()``,
  ``photo()`` queue an update for ``getUpdates`` long polling (or build one
  for ``process_update``); ``post_webhook()`` posts one to a webhook instead.
- Recording: ``calls`` holds every request; ``wait_call()`` waits for one.
- Faults: ``fault()`` makes the next matching calls fail (429 with
  ``retry_after``, 500, 409 ...); ``delay()`` holds matching calls back.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456789:TEST-fake-token_for-tests-only"
BOT_ID = 123456789
BOT_USERNAME = "ClaimTestBot"
MAX_TEXT_LENGTH = 4096  # Telegram's limit, counted on the visible text in UTF-16 units

_JSON_PARAMS = {
    "reply_markup",
    "results",
    "commands",
    "scope",
    "reply_parameters",
    "link_preview_options",
    "allowed_updates",
    "entities",
    "button",
}
_INT_PARAMS = {"chat_id", "offset", "timeout", "limit", "cache_time", "message_id", "user_id"}
_BOOL_PARAMS = {"is_personal", "show_alert", "drop_pending_updates", "disable_notification"}

_ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class HTMLError(ValueError):
    """What Telegram would say: ``Bad Request: can't parse entities: ...``."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """Telegram's HTML parse mode, strictly: the visible text, or HTMLError."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "<":
            match = _TAG.match(text, pos)
            if not match:
                raise HTMLError(f"Unexpected '<' at byte offset {pos}")
            closing, name = match.group(1), match.group(2).lower()
            if name not in _ALLOWED_TAGS:
                raise HTMLError(f'Unsupported start tag "{name}" at byte offset {pos}')
            if closing:
                if not stack or stack[-1] != name:
                    expected = stack[-1] if stack else ""
                    raise HTMLError(
                        f'Unmatched end tag at byte offset {pos}, expected "</{expected}>", '
                        f'found "</{name}>"'
                    )
                stack.pop()
            else:
                stack.append(name)
            pos = match.end()
        elif char == "&":
            match = _ENTITY.match(text, pos)
            if not match:
                raise HTMLError(f"Unsupported HTML entity at byte offset {pos}")
            out.append(html.unescape(match.group(0)))
            pos = match.end()
        elif char == ">":
            raise HTMLError(f"Unexpected '>' at byte offset {pos}")
        else:
            out.append(char)
            pos += 1
    if stack:
        raise HTMLError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    token: str
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    status: int | None = None
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str:
        return self.params.get("text", "")


@dataclass
class Fault:
    method: str
    status: int
    times: int = 1
    retry_after: int | None = None
    chat_id: int | None = None
    description: str | None = None

    def matches(self, call: Call) -> bool:
        return (
            self.times > 0
            and self.method == call.method
            and (self.chat_id is None or self.chat_id == call.chat_id)
        )


@dataclass
class Delay:
    method: str
    seconds: float
    chat_id: int | None = None
    times: int = 1


class FakeBotAPI:
    """The fake server. ``async with FakeBotAPI() as api:`` or ``start()`` / ``stop()``."""

    def __init__(self, token: str = TOKEN, username: str = BOT_USERNAME, bot_id: int = BOT_ID):
        self.token = token
        self.username = username
        self.bot_id = bot_id
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.delays: list[Delay] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.sent: dict[int, list[dict[str, Any]]] = {}
        self.webhook_url = ""
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.description = ""
        self.short_description = ""
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._update_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.port = 0

    # --- server ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Claim Test Bot",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    async def start(self) -> FakeBotAPI:
        app = web.Application()
        app.router.add_route("*", r"/bot{token}/{method}", self._handle)
        app.router.add_route("*", r"/{path:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self._closing = True
        await self._notify()  # end pending long polls at once
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        raw = dict(await request.post()) if request.can_read_body else {}
        raw.update(request.query)
        params: dict[str, Any] = {}
        for key, value in raw.items():
            value = str(value)
            if key in _JSON_PARAMS:
                params[key] = json.loads(value)
            elif key in _INT_PARAMS and re.fullmatch(r"-?\d+", value):
                params[key] = int(value)
            elif key in _BOOL_PARAMS:
                params[key] = value.lower() in ("true", "1")
            else:
                params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        call = Call(method, await self._params(request), token)
        self.calls.append(call)
        await self._notify()
        status, body = await self._respond(call, request)
        call.status, call.result, call.finished = status, body.get("result"), time.monotonic()
        await self._notify()
        return web.json_response(body, status=status)

    async def _respond(
        self, call: Call, request: web.Request | None = None
    ) -> tuple[int, dict[str, Any]]:
        if call.token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        for delay in self.delays:
            if (
                delay.times > 0
                and delay.method == call.method
                and (delay.chat_id is None or delay.chat_id == call.chat_id)
            ):
                delay.times -= 1
                await asyncio.sleep(delay.seconds)
                # A delay is the way to the server: a request whose sender is gone
                # (killed) by the time it would arrive is never carried out.
                transport = request.transport if request is not None else None
                if request is not None and (transport is None or transport.is_closing()):
                    return 499, {"ok": False, "error_code": 499, "description": "client gone"}
                break
        if call.method == "getUpdates":
            await self._wait_for_updates(call)
        for fault in self.faults:
            if fault.matches(call):
                fault.times -= 1
                body: dict[str, Any] = {
                    "ok": False,
                    "error_code": fault.status,
                    "description": fault.description or _DESCRIPTIONS.get(fault.status, "Error"),
                }
                if fault.retry_after is not None:
                    body["parameters"] = {"retry_after": fault.retry_after}
                    body["description"] = f"Too Many Requests: retry after {fault.retry_after}"
                return fault.status, body
        handler = getattr(self, f"_m_{call.method}", None)
        if handler is None:
            return 404, {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        try:
            return 200, {"ok": True, "result": handler(call.params)}
        except HTMLError as exc:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": f"Bad Request: can't parse entities: {exc}",
            }
        except BadRequest as exc:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}

    async def _wait_for_updates(self, call: Call) -> None:
        """Long polling: return at once when updates or a fault wait, else up to ``timeout``."""
        offset = call.params.get("offset", 0)
        deadline = time.monotonic() + min(float(call.params.get("timeout", 0)), 30.0)

        def ready() -> bool:
            return (
                self._closing
                or any(u["update_id"] >= offset for u in self.updates)
                or any(f.matches(call) for f in self.faults)
            )

        async with self._changed:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                try:
                    await asyncio.wait_for(self._changed.wait(), left)
                except TimeoutError:
                    return

    # --- Bot API methods -------------------------------------------------------------------

    def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.me

    def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset", 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        return self.updates[: params.get("limit", 100)]

    def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        return True

    def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = params.get("url", "")
        return True

    def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": 0}

    def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        scope = params.get("scope") or {"type": "default"}
        key = scope["type"] + (f":{scope['chat_id']}" if "chat_id" in scope else "")
        self.commands[key] = params["commands"]
        return True

    def _m_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        chat = self.chats.get(chat_id)  # type: ignore[arg-type]
        if chat is None:
            raise BadRequest("chat not found")
        text = params.get("text", "")
        visible = parse_html(text) if params.get("parse_mode") == "HTML" else text
        if not visible.strip():
            raise BadRequest("message text is empty")
        if utf16_len(visible) > MAX_TEXT_LENGTH:
            raise BadRequest("message is too long")
        _check_markup(params.get("reply_markup"))
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.me,
            "text": visible,
        }
        if (params.get("reply_markup") or {}).get("inline_keyboard"):  # as Telegram: inline only
            message["reply_markup"] = params["reply_markup"]
        reply = params.get("reply_parameters")
        if reply:
            message["reply_to_message"] = {
                "message_id": reply["message_id"],
                "date": int(time.time()),
                "chat": chat,
            }
        self.sent.setdefault(chat["id"], []).append(message)
        return message

    def _m_setMyDescription(self, params: dict[str, Any]) -> bool:
        if len(params.get("description", "")) > 512:
            raise BadRequest("description is too long")
        self.description = params.get("description", "")
        return True

    def _m_setMyShortDescription(self, params: dict[str, Any]) -> bool:
        if len(params.get("short_description", "")) > 120:
            raise BadRequest("short description is too long")
        self.short_description = params.get("short_description", "")
        return True

    def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True
        message = self._sent_message(params)
        _check_markup(params.get("reply_markup"))
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        return message

    def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True
        message = self._sent_message(params)
        text = params.get("text", "")
        visible = parse_html(text) if params.get("parse_mode") == "HTML" else text
        if utf16_len(visible) > MAX_TEXT_LENGTH:
            raise BadRequest("message is too long")
        if visible == message["text"]:
            raise BadRequest("message is not modified")
        message["text"] = visible
        return message

    def _sent_message(self, params: dict[str, Any]) -> dict[str, Any]:
        for message in self.sent.get(params.get("chat_id"), []):  # type: ignore[arg-type]
            if message["message_id"] == params.get("message_id"):
                return message
        raise BadRequest("message to edit not found")

    def _m_answerInlineQuery(self, params: dict[str, Any]) -> bool:
        results = params.get("results", [])
        if len(results) > 50:
            raise BadRequest("RESULTS_TOO_MUCH")
        ids = [r["id"] for r in results]
        if len(set(ids)) != len(ids):
            raise BadRequest("RESULT_ID_DUPLICATE")
        for result in results:
            if not 1 <= len(result["id"].encode()) <= 64:
                raise BadRequest("RESULT_ID_INVALID")
            content = result.get("input_message_content", {})
            text = content.get("message_text", "")
            visible = parse_html(text) if content.get("parse_mode") == "HTML" else text
            if not visible.strip() or utf16_len(visible) > MAX_TEXT_LENGTH:
                raise BadRequest("MESSAGE_TEXT_INVALID")
            _check_markup(result.get("reply_markup"))
        button = params.get("button")
        if button is not None and not (button.get("text") and "start_parameter" in button):
            raise BadRequest("BUTTON_INVALID")
        return True

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if len(params.get("text", "")) > 200:
            raise BadRequest("MESSAGE_TOO_LONG")
        return True

    # --- updates ---------------------------------------------------------------------------

    def user(self, user_id: int, first_name: str = "Ann", username: str | None = None) -> dict:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        return user

    def _message(self, chat: dict, user_id: int, text: str, reply_to: dict | None) -> dict:
        self.chats[chat["id"]] = chat
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user(user_id),
            "text": text,
        }
        entities = _entities(text)
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return message

    def private_update(self, user_id: int, text: str, reply_to: dict | None = None) -> dict:
        chat = {"id": user_id, "type": "private", "first_name": "Ann"}
        return {"message": self._message(chat, user_id, text, reply_to)}

    def edited_update(self, message: dict, text: str) -> dict:
        """The person edited ``message`` (one of theirs) to say ``text``."""
        edited = {**message, "text": text, "edit_date": int(time.time())}
        edited.pop("entities", None)
        if entities := _entities(text):
            edited["entities"] = entities
        return {"edited_message": edited}

    def photo_update(self, user_id: int, caption: str, chat: dict | None = None) -> dict:
        """A photo with a caption, in a private chat (or ``chat``)."""
        chat = chat or {"id": user_id, "type": "private", "first_name": "Ann"}
        message = self._message(chat, user_id, "", None)
        del message["text"]
        message.pop("entities", None)
        message["caption"] = caption
        message["photo"] = [
            {"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 90}
        ]
        return {"message": message}

    def group_update(
        self, chat_id: int, user_id: int, text: str, reply_to: dict | None = None
    ) -> dict:
        chat = {"id": chat_id, "type": "supergroup", "title": "Test group"}
        return {"message": self._message(chat, user_id, text, reply_to)}

    def inline_update(self, user_id: int, query: str) -> dict:
        return {
            "inline_query": {
                "id": str(next(self._ids)),
                "from": self.user(user_id),
                "query": query,
                "offset": "",
            }
        }

    def callback_update(self, user_id: int, message: dict, data: str) -> dict:
        return {
            "callback_query": {
                "id": str(next(self._ids)),
                "from": self.user(user_id),
                "message": message,
                "chat_instance": "test",
                "data": data,
            }
        }

    def inline_callback_update(self, user_id: int, inline_message_id: str, data: str) -> dict:
        """A button under a message sent through inline mode: no message, an inline id."""
        return {
            "callback_query": {
                "id": str(next(self._ids)),
                "from": self.user(user_id),
                "inline_message_id": inline_message_id,
                "chat_instance": "test-inline",
                "data": data,
            }
        }

    def numbered(self, update: dict) -> dict:
        """Give an update its update_id (for ``process_update``)."""
        return {"update_id": next(self._update_ids), **update}

    async def push(self, update: dict) -> dict:
        """Queue an update for getUpdates; return it (with its message, if any)."""
        update = self.numbered(update)
        self.updates.append(update)
        await self._notify()
        return update

    async def redeliver(self, update: dict) -> None:
        """Queue an update again with its own update_id, as Telegram does with one
        whose confirmation it never got."""
        self.updates.append(update)
        self.updates.sort(key=lambda u: u["update_id"])
        await self._notify()

    async def private(self, user_id: int, text: str, reply_to: dict | None = None) -> dict:
        return (await self.push(self.private_update(user_id, text, reply_to)))["message"]

    async def group(
        self, chat_id: int, user_id: int, text: str, reply_to: dict | None = None
    ) -> dict:
        return (await self.push(self.group_update(chat_id, user_id, text, reply_to)))["message"]

    async def edited(self, message: dict, text: str) -> dict:
        return (await self.push(self.edited_update(message, text)))["edited_message"]

    async def photo(self, user_id: int, caption: str) -> dict:
        return (await self.push(self.photo_update(user_id, caption)))["message"]

    async def post_webhook(self, url: str, update: dict, secret: str | None = None) -> int:
        """POST an update to a webhook, as Telegram would (with ``secret`` as the
        X-Telegram-Bot-Api-Secret-Token header); the HTTP status."""
        import aiohttp

        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=self.numbered(update), headers=headers) as response,
        ):
            return response.status

    async def inline(self, user_id: int, query: str) -> str:
        return (await self.push(self.inline_update(user_id, query)))["inline_query"]["id"]

    async def callback(self, user_id: int, message: dict, data: str) -> str:
        return (await self.push(self.callback_update(user_id, message, data)))["callback_query"][
            "id"
        ]

    # --- faults ----------------------------------------------------------------------------

    async def fault(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        chat_id: int | None = None,
        description: str | None = None,
    ) -> None:
        """The next ``times`` matching calls fail with ``status``."""
        self.faults.append(Fault(method, status, times, retry_after, chat_id, description))
        await self._notify()

    def delay(self, method: str, seconds: float, *, chat_id: int | None = None, times: int = 1):
        """Hold the next ``times`` matching calls back ``seconds`` before answering."""
        self.delays.append(Delay(method, seconds, chat_id, times))

    # --- waiting ---------------------------------------------------------------------------

    def mark(self) -> int:
        """A position in ``calls``: pass it as ``since`` to look only at later calls."""
        return len(self.calls)

    def find(
        self,
        method: str,
        where: Callable[[Call], bool] = lambda c: True,
        since: int = 0,
        ok: bool | None = True,
    ) -> list[Call]:
        return [
            c
            for c in self.calls[since:]
            if c.method == method
            and c.finished is not None
            and (ok is None or c.ok == ok)
            and where(c)
        ]

    async def wait_call(
        self,
        method: str,
        where: Callable[[Call], bool] = lambda c: True,
        *,
        since: int = 0,
        ok: bool | None = True,
        count: int = 1,
        timeout: float = 20.0,
    ) -> list[Call]:
        """Wait until ``count`` finished calls match; return them (TimeoutError if not)."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while len(found := self.find(method, where, since, ok)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"waited {timeout} s for {count} {method} call(s); got {len(found)}. "
                        f"Calls: {[(c.method, c.status, c.params) for c in self.calls[since:]]}"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)
        return found[:count]

    async def wait_started(
        self,
        method: str,
        where: Callable[[Call], bool] = lambda c: True,
        *,
        since: int = 0,
        timeout: float = 20.0,
    ) -> Call:
        """Wait until a matching call has arrived (answered or not)."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                found = [c for c in self.calls[since:] if c.method == method and where(c)]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {method} call arrived in {timeout} s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)

    def sends_to(self, chat_id: int, since: int = 0) -> list[Call]:
        return self.find("sendMessage", lambda c: c.chat_id == chat_id, since)


class BadRequest(Exception):
    pass


_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def _check_markup(markup: dict[str, Any] | None) -> None:
    if not markup:
        return
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise BadRequest("BUTTON_DATA_INVALID")
            if data is None and "url" not in button and "switch_inline_query" not in button:
                raise BadRequest("BUTTON_TYPE_INVALID")
            if "url" in button and not re.match(r"^(https?|tg)://", button["url"]):
                raise BadRequest("BUTTON_URL_INVALID")
            if not button.get("text"):
                raise BadRequest("BUTTON_TEXT_EMPTY")


def _entities(text: str) -> list[dict[str, Any]]:
    """bot_command and mention entities, as Telegram's clients add them."""
    entities = []
    for match in re.finditer(r"(?<!\S)/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?|@[A-Za-z0-9_]{5,}", text):
        kind = "bot_command" if match.group().startswith("/") else "mention"
        if kind == "bot_command" and match.start() != 0:
            continue
        entities.append(
            {
                "type": kind,
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
            }
        )
    return entities
