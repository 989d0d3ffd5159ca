"""No question lost across a crash or a restart, none answered twice: the real
``python -m bot serve`` against the fake Bot API, which keeps every update until
a later ``getUpdates`` confirms it, as Telegram does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.chat.app import STOP_GRACE_SECONDS
from bot.chat.journal import MAX_AGE_SECONDS, Journal
from bot.chat.store import Store
from tests.fake_bot_api import FakeBotAPI
from tests.test_chat_e2e import BotProcess, free_port, make_knowledge

QUESTIONS = [
    "Zorbium plant gizmos?",
    "When was the factory reported?",
    "Mohajer-6",
    "Shahed drones",
    "Who said Iran is Russia's top military backer?",
    "What is the weather in Paris tomorrow?",
]


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    return make_knowledge(tmp_path / "knowledge")


@pytest.fixture(autouse=True)
def no_bot_left_running() -> Iterator[None]:
    """A test that fails half-way must not leave its bot process (a child of this one) polling."""
    before = set(_bots())
    yield
    for pid in set(_bots()) - before:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _bots() -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if cmd[1:4] == [b"-m", b"bot", b"serve"] and parent == os.getpid():
                found.append(int(proc.name))
    return found


def answers_to(api: FakeBotAPI, question: dict) -> int:
    """How many successful messages reply to this question (an answer's first part)."""
    chat, message_id = question["chat"]["id"], question["message_id"]
    return len(api.find(
        "sendMessage",
        lambda c: c.chat_id == chat
        and (c.params.get("reply_parameters") or {}).get("message_id") == message_id,
    ))  # fmt: skip


async def until(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


async def ask_many(api: FakeBotAPI, users: int, per_user: int) -> list[dict]:
    asked = []
    for round_ in range(per_user):
        for user in range(users):
            question = QUESTIONS[(user + round_) % len(QUESTIONS)]
            asked.append(await api.private(7000 + user, question))
    return asked


async def held_back(api: FakeBotAPI, users: int, seconds: float) -> None:
    """sendMessage held back ``seconds`` for half the chats, and 429 (retry after 5 s) twice."""
    for user in range(0, users, 2):
        api.delay("sendMessage", seconds, chat_id=7000 + user)
    await api.fault("sendMessage", 429, retry_after=5, times=2)


async def until_settled(api: FakeBotAPI, asked: list[dict], least: int) -> None:
    """Until ``least`` answers went out and none for a while: the moment to stop the
    bot is while the rest are held back, not as one is landing (an answer that
    Telegram took but the bot never heard back about is the one case at-least-once
    delivery repeats)."""
    await until(lambda: sum(answers_to(api, q) for q in asked) >= least)
    while True:
        before = sum(answers_to(api, q) for q in asked)
        await asyncio.sleep(0.7)
        if sum(answers_to(api, q) for q in asked) == before:
            return


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
async def test_every_question_is_answered_exactly_once_across_a_stop(
    api: FakeBotAPI, knowledge: Path, tmp_path: Path, how: str
) -> None:
    bot = await BotProcess(api, knowledge, tmp_path / "bot.log").start()
    # Held back longer than the 10 s a graceful stop waits, so some are left over.
    await held_back(api, users=8, seconds=6 if how == "SIGKILL" else STOP_GRACE_SECONDS + 4)
    asked = await ask_many(api, users=8, per_user=3)
    # Stop while answers are still held back by delays and 429s.
    await until_settled(api, asked, least=3)
    assert bot.proc is not None
    if how == "SIGKILL":
        bot.proc.kill()
        await bot.proc.wait()
    else:
        bot.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.proc.wait(), STOP_GRACE_SECONDS + 10) == 0
        assert "they stay in the journal" in bot.output()
    unanswered = [q for q in asked if answers_to(api, q) == 0]
    assert unanswered, "the stop came too late to test anything"
    await bot.start()
    await until(lambda: all(answers_to(api, q) >= 1 for q in asked))
    await asyncio.sleep(1.0)  # time for a duplicate to show, if one were coming
    counts = {q["message_id"]: answers_to(api, q) for q in asked}
    assert set(counts.values()) == {1}, counts
    assert await bot.stop() == 0


async def test_a_re_delivered_update_is_not_answered_twice(
    api: FakeBotAPI, knowledge: Path, tmp_path: Path
) -> None:
    """Telegram re-delivers an update whose confirmation it never got: the bot was
    killed after answering, before its next getUpdates."""
    bot = await BotProcess(api, knowledge, tmp_path / "bot.log").start()
    update = await api.push(api.private_update(7100, "Mohajer-6"))
    question = update["message"]
    await until(lambda: answers_to(api, question) == 1)
    await asyncio.sleep(0.3)  # the answer is in and marked done
    assert bot.proc is not None
    bot.proc.kill()
    await bot.proc.wait()
    await api.redeliver(update)
    await bot.start()  # a new process asks for updates with no offset: it gets it again
    await until(lambda: not any(u["update_id"] == update["update_id"] for u in api.updates))
    await bot.wait_log("not answered twice")
    assert answers_to(api, question) == 1
    assert await bot.stop() == 0


async def test_a_journal_entry_older_than_the_bound_is_dropped_not_answered(
    api: FakeBotAPI, knowledge: Path, tmp_path: Path
) -> None:
    data = knowledge.parent / "data"
    old = api.numbered(api.private_update(7200, "Mohajer-6"))
    fresh = api.numbered(api.private_update(7201, "Shahed drones"))
    journal = Journal(Store.open(data), clock=lambda: time.time() - MAX_AGE_SECONDS - 60)
    journal.receive(old)
    Journal(Store.open(data)).receive(fresh)
    bot = await BotProcess(api, knowledge, tmp_path / "bot.log").start()
    await until(lambda: answers_to(api, fresh["message"]) == 1)
    assert answers_to(api, old["message"]) == 0
    assert "older than" in bot.output()
    assert await bot.stop() == 0


async def test_webhook_mode_journals_too_and_a_retried_delivery_is_answered_once(
    api: FakeBotAPI, knowledge: Path, tmp_path: Path
) -> None:
    """Telegram retries a webhook delivery it got no timely answer for."""
    port = free_port()
    bot = BotProcess(api, knowledge, tmp_path / "bot.log", BOT_WEBHOOK_SECRET="s3cret-token")
    await bot.start("--webhook-url", "https://bot.example.org/hook", "--listen", "127.0.0.1",
                    "--port", str(port))  # fmt: skip
    await bot.wait_log("webhook on 127.0.0.1")
    local = f"http://127.0.0.1:{port}/hook"
    update = api.numbered(api.private_update(7300, "Mohajer-6"))
    assert await api.post_webhook(local, update, secret="s3cret-token") == 200
    await until(lambda: answers_to(api, update["message"]) == 1)
    assert await api.post_webhook(local, update, secret="s3cret-token") == 200
    await bot.wait_log("not answered twice")
    assert answers_to(api, update["message"]) == 1
    assert await bot.stop() == 0
