"""Handler and helper unit tests: ``Application.process_update`` against the fake Bot API.

Each update goes straight into the Application (no polling); what the bot sends
is read from the fake server (tests/fake_bot_api.py), which checks the HTML the
way Telegram does.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from telegram import Update
from telegram.ext import Application

from bot.chat import app as chat
from bot.chat import messages as messages_module
from bot.chat import service
from bot.chat.service import Service, compare
from bot.config import Settings
from bot.knowledge import load
from tests.fake_bot_api import TOKEN, FakeBotAPI, parse_html, utf16_len
from tests.records import record, write_records

ADMIN = 9001


def gadget(n: int, **changes: object) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "claim": f"The Gadgetron unit {n} was seen in Port Bellamy.",
        "claimant": f"Observer {n}",
        "date": f"2022-{n % 12 + 1:02d}",
        "excerpt": f"The Gadgetron unit {n} was seen in Port Bellamy, observers said.",
    }
    return record(f"gadgetron-unit-{n}", **{**fields, **changes})


def write_knowledge(folder: Path, records: list[dict[str, Any]]) -> Path:
    return write_records(folder, records)


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    return write_knowledge(tmp_path / "knowledge", [gadget(n) for n in range(1, 13)])


@pytest_asyncio.fixture
async def app(api: FakeBotAPI, knowledge: Path, tmp_path: Path) -> AsyncIterator[Application]:
    settings = Settings(
        token=TOKEN,
        knowledge_dir=knowledge,
        base_url=api.base_url,
        admin_ids=frozenset({ADMIN}),
        questions_per_minute=3,
        data_dir=tmp_path / "data",
    )
    application = chat.build_application(settings, Service.open(knowledge, questions_per_minute=3))
    await application.initialize()
    yield application
    await application.shutdown()


async def feed(app: Application, api: FakeBotAPI, update: dict) -> None:
    await app.process_update(Update.de_json(api.numbered(update), app.bot))


def texts(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [parse_html(c.text) for c in api.sends_to(chat_id)]


# --- handlers -----------------------------------------------------------------------------------


async def test_question_rate_limit_warns_once_then_stays_quiet(app, api) -> None:
    for _ in range(5):
        await feed(app, api, api.group_update(-1, 11, "/ask Gadgetron unit 3"))
    sent = texts(api, -1)
    assert len(sent) == 4  # three answers, one notice, then silence
    assert all("Gadgetron unit 3 was seen" in t for t in sent[:3])
    assert "limit of 3 questions and button presses a minute" in sent[3]
    assert "You can ask again in" in sent[3] and "UTC" in sent[3]
    await feed(app, api, api.group_update(-1, 12, "/ask Gadgetron unit 3"))  # others still may
    assert "Gadgetron unit 3 was seen" in texts(api, -1)[-1]
    assert app.bot_data["service"].stats().rate_limited == 2


async def test_handler_exception_is_logged_and_apologised_for(app, api, monkeypatch, caplog):
    def broken(question: str, limit: int = 6) -> None:
        raise RuntimeError("index exploded")

    monkeypatch.setattr(app.bot_data["service"], "ask", broken)
    with caplog.at_level(logging.ERROR):
        await feed(app, api, api.private_update(21, "Gadgetron unit 1"))
    assert texts(api, 21) == [messages_module.APOLOGY]
    assert "index exploded" in caplog.text
    monkeypatch.undo()
    await feed(app, api, api.private_update(21, "Gadgetron unit 1"))  # still running
    assert "Gadgetron unit 1 was seen" in texts(api, 21)[-1]


async def test_more_results_button_sends_them_once_in_one_message(app, api) -> None:
    await feed(app, api, api.private_update(31, "Gadgetron Port Bellamy"))
    [answer] = api.sends_to(31)
    rows = answer.params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in rows[-1]] == ["👍", "👎 Wrong answer"]
    [more] = rows[-2]
    assert more["text"] == "More results (+6)"
    sources = [b for row in rows[:-2] for b in row]
    assert len(sources) == 6 and all(len(row) <= 2 for row in rows[:-2])
    shown = {b["callback_data"].removeprefix("src:") for b in sources}

    await feed(app, api, api.callback_update(31, answer.result, more["callback_data"]))
    assert api.find("answerCallbackQuery")
    [extra] = api.sends_to(31)[1:]  # one message
    assert extra.params["reply_parameters"]["message_id"] == answer.result["message_id"]
    listed = {n for n in range(1, 13) if f"Observer {n}:" in parse_html(extra.text)}
    assert len(listed) == 6 and not {f"gadgetron-unit-{n}" for n in listed} & shown
    # The button goes away; a second press (an old client) sends nothing again.
    [edit] = api.find("editMessageReplyMarkup")
    left = [b["text"] for row in edit.params["reply_markup"]["inline_keyboard"] for b in row]
    assert not any(t.startswith("More results") for t in left) and "👍" in left
    await feed(app, api, api.callback_update(31, answer.result, more["callback_data"]))
    assert len(api.sends_to(31)) == 2
    assert "already" in api.find("answerCallbackQuery")[-1].params["text"]


async def test_expired_more_button_says_so(app, api) -> None:
    await feed(app, api, api.private_update(32, "hello"))
    message = api.sends_to(32)[0].result
    await feed(app, api, api.callback_update(32, message, "more:gone"))
    [call] = api.find("answerCallbackQuery")
    assert "expired" in call.params["text"] and call.params["show_alert"]


async def test_inline_query_returns_at_most_ten_results(app, api) -> None:
    await feed(app, api, api.inline_update(41, "Gadgetron Port Bellamy"))
    [call] = api.find("answerInlineQuery")
    assert len(call.params["results"]) == 10
    assert len({r["id"] for r in call.params["results"]}) == 10


async def test_ask_without_a_question_explains_usage(app, api) -> None:
    await feed(app, api, api.private_update(51, "/ask"))
    assert "/ask" in texts(api, 51)[0]


async def test_unknown_command_in_private_points_to_help(app, api) -> None:
    await feed(app, api, api.private_update(52, "/frobnicate"))
    assert "/help" in texts(api, 52)[0]


async def test_start_with_unknown_payload_greets(app, api) -> None:
    await feed(app, api, api.private_update(53, "/start qnotatoken"))
    assert texts(api, 53)[0] == parse_html(messages_module.start_html())


async def test_group_ignores_mentions_of_others_and_replies_to_others(app, api) -> None:
    await feed(app, api, api.group_update(-2, 61, "@someone_else Gadgetron unit 2?"))
    other = api.group_update(-2, 62, "Gadgetron unit 2 is neat")["message"]
    await feed(app, api, api.group_update(-2, 61, "Gadgetron unit 2?", reply_to=other))
    await feed(app, api, api.group_update(-2, 61, "/claim@OtherBot gadgetron-unit-2"))
    assert texts(api, -2) == []


async def test_group_mention_is_answered_without_the_mention(app, api) -> None:
    await feed(app, api, api.group_update(-3, 63, f"@{api.username} Gadgetron unit 2?"))
    [text] = texts(api, -3)
    assert text.startswith("Gadgetron unit 2?") and "Gadgetron unit 2 was seen" in text


async def test_reload_and_stats_are_for_admins_by_id_only(app, api) -> None:
    # A username proves nothing: only the numeric id counts.
    update = api.private_update(71, "/reload")
    update["message"]["from"]["username"] = "admin"
    await feed(app, api, update)
    await feed(app, api, api.private_update(71, "/stats"))
    assert texts(api, 71) == [messages_module.NOT_ADMIN, messages_module.NOT_ADMIN]
    assert app.bot_data["service"].last_reload is None

    await feed(app, api, api.private_update(ADMIN, "/reload"))
    await feed(app, api, api.private_update(ADMIN, "/stats"))
    report, stats = texts(api, ADMIN)
    assert report.startswith("Reloaded: 12 records in 1 files") and "No records changed" in report
    assert "Records: 12 in 1 files" in stats and "OK" in stats


async def test_reload_report_lists_changes_and_trims_problems(app, api, knowledge) -> None:
    records = [gadget(n) for n in range(2, 13)]
    records[0] = gadget(2, claimant="Someone else")
    write_knowledge(knowledge, [*records, gadget(99)])
    await feed(app, api, api.private_update(ADMIN, "/reload"))
    report = texts(api, ADMIN)[-1]
    assert "Added (1): gadgetron-unit-99" in report
    assert "Removed (1): gadgetron-unit-1" in report
    assert "Edited (1): gadgetron-unit-2" in report

    # Hundreds of problems still make one message, with a count of the rest.
    bad = [gadget(n, status="unheard-of", date="someday") for n in range(300)]
    write_knowledge(knowledge, bad)
    await feed(app, api, api.private_update(ADMIN, "/reload"))
    [*_, refusal] = api.sends_to(ADMIN)
    visible = parse_html(refusal.text)
    assert visible.startswith("Reload refused: the knowledge base has 600 problems")
    assert "more" in visible.splitlines()[-1]
    assert utf16_len(visible) <= 4096
    await feed(app, api, api.private_update(81, "Gadgetron unit 99"))
    assert "Gadgetron unit 99 was seen" in texts(api, 81)[0]  # the last good index stays live


# --- service ------------------------------------------------------------------------------------


async def test_reload_builds_off_the_event_loop_and_swaps_once(knowledge, monkeypatch) -> None:
    svc = Service.open(knowledge)
    old = svc.index
    started = threading.Event()
    real_build = service.build_index

    def slow_build(folder: Path, cache_dir: Path | None = None, embedder=None):  # type: ignore[no-untyped-def]
        started.set()
        time.sleep(0.5)
        return real_build(folder, cache_dir, embedder)

    monkeypatch.setattr(service, "build_index", slow_build)
    write_knowledge(knowledge, [gadget(n) for n in range(1, 14)])
    task = asyncio.create_task(svc.reload())
    ticks = 0
    while not task.done():
        await asyncio.sleep(0.01)
        ticks += 1
        if started.is_set() and not task.done():
            assert svc.index is old  # questions meanwhile use the old index, whole
    assert ticks > 10  # the event loop kept running during the build
    result = await task
    assert result.ok and result.changes.added == ("gadgetron-unit-13",)
    assert svc.index is not old and len(svc.knowledge.records) == 13


async def test_reloads_are_serialised(knowledge, monkeypatch) -> None:
    svc = Service.open(knowledge)
    running = 0
    overlap = False
    real_build = service.build_index

    def build(folder: Path, cache_dir: Path | None = None, embedder=None):  # type: ignore[no-untyped-def]
        nonlocal running, overlap
        running += 1
        overlap = overlap or running > 1
        time.sleep(0.1)
        running -= 1
        return real_build(folder, cache_dir, embedder)

    monkeypatch.setattr(service, "build_index", build)
    results = await asyncio.gather(svc.reload(), svc.reload(), svc.reload())
    assert all(r.ok for r in results) and not overlap


def test_compare_finds_added_removed_edited(tmp_path: Path) -> None:
    old = load(write_knowledge(tmp_path / "a", [gadget(1), gadget(2), gadget(3)]))
    new = load(write_knowledge(tmp_path / "b", [gadget(2), gadget(3, status="denied"), gadget(4)]))
    changes = compare(old, new)
    assert changes.added == ("gadgetron-unit-4",)
    assert changes.removed == ("gadgetron-unit-1",)
    assert changes.edited == ("gadgetron-unit-3",)


# --- quota, alerts, feedback ----------------------------------------------------------------------


async def test_button_presses_share_the_question_quota(app, api) -> None:
    await feed(app, api, api.private_update(91, "Gadgetron unit 4"))
    [answer] = api.sends_to(91)
    source = answer.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    for _ in range(3):  # the question and two presses use the quota of 3; the third is refused
        await feed(app, api, api.callback_update(91, answer.result, source))
    assert len(api.sends_to(91)) == 3  # the answer and two records
    refused = api.find("answerCallbackQuery")[-1]
    assert refused.params["show_alert"] is True
    assert "limit of 3 questions and button presses a minute" in refused.params["text"]


async def test_admins_get_one_short_alert_a_minute_on_handler_errors(
    app, api, monkeypatch, caplog
) -> None:
    await feed(app, api, api.private_update(ADMIN, "/help"))  # the admin's chat exists

    def broken(question: str, limit: int = 6) -> None:
        raise RuntimeError("index exploded on the secret question")

    monkeypatch.setattr(app.bot_data["service"], "ask", broken)
    with caplog.at_level(logging.ERROR):
        for user in (22, 23):
            await feed(app, api, api.private_update(user, "Gadgetron unit 1"))
    alerts = [t for t in texts(api, ADMIN) if "Handler error" in t]
    assert len(alerts) == 1  # rate-limited: the second error sends none
    assert "RuntimeError" in alerts[0] and "secret question" not in alerts[0]
    assert texts(api, 23) == [messages_module.APOLOGY]


async def test_a_group_reply_to_the_prompt_is_the_comment(app, api) -> None:
    await feed(app, api, api.group_update(-4, 95, "/ask Gadgetron unit 5"))
    [answer] = api.sends_to(-4)
    down = answer.params["reply_markup"]["inline_keyboard"][-1][1]["callback_data"]
    await feed(app, api, api.callback_update(95, answer.result, down))
    prompt = api.sends_to(-4)[-1]
    assert "What was wrong?" in parse_html(prompt.text)
    assert 'href="tg://user?id=95"' in prompt.text  # it names who it asks
    await feed(app, api, api.group_update(-4, 95, "wrong unit number", reply_to=prompt.result))
    assert texts(api, -4)[-1] == messages_module.COMMENT_THANKS
    [entry] = app.bot_data["feedback"].entries()
    assert (entry.verdict, entry.comment, entry.chat_type) == (
        "down",
        "wrong unit number",
        "supergroup",
    )


async def test_admin_commands_in_a_private_chat_of_a_non_admin_and_in_groups(app, api) -> None:
    await feed(app, api, api.private_update(96, "/feedback"))
    assert texts(api, 96) == [messages_module.NOT_ADMIN]
    await feed(app, api, api.group_update(-6, ADMIN, "/feedback"))
    assert texts(api, -6) == [messages_module.PRIVATE_ONLY]
    await feed(app, api, api.private_update(ADMIN, "/feedback"))
    assert texts(api, ADMIN) == ["No feedback yet."]


async def test_an_edited_ask_in_a_group_is_answered_again(app, api) -> None:
    ask = api.group_update(-7, 97, "/ask weather in Lisbon")
    await feed(app, api, ask)
    assert "no claim records" in texts(api, -7)[0]
    await feed(app, api, api.edited_update(ask["message"], "/ask Gadgetron unit 6"))
    [_, again] = api.sends_to(-7)
    assert again.params["reply_parameters"]["message_id"] == ask["message"]["message_id"]
    assert "Gadgetron unit 6 was seen" in parse_html(again.text)
