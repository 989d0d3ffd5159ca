"""End to end: the real ``python -m bot serve`` process against a fake Bot API server.

The fake server (tests/fake_bot_api.py) is real HTTP on 127.0.0.1; the bot
finds it through ``TELEGRAM_API_BASE_URL``, exactly as it would find a
self-hosted Bot API server. Tests push updates into its getUpdates queue and
read what the bot sent back. No internet.

One bot process serves the read-only tests; the reload tests get their own
process and their own copy of the knowledge base.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from tests.fake_bot_api import BOT_USERNAME, TOKEN, FakeBotAPI, parse_html, utf16_len

pytestmark = pytest.mark.asyncio(loop_scope="module")

REPO = Path(__file__).resolve().parent.parent
ADMIN = 4242
STRANGER = 777

ZORBIUM = {
    "id": "test-zorbium-plant",
    "claim": "The Zorbium plant in Freedonia was reported to assemble forty gizmos a week.",
    "claimant": "Freedonia Gazette",
    "date": "2021-03-04",
    "status": "reported",
    "source": {
        "title": "Gizmo report",
        "url": "https://example.org/gizmo",
        "excerpt": "The Zorbium plant in Freedonia assembles forty gizmos a week, "
        "the Gazette reported.",
    },
    "tags": ["zorbium"],
}
MARKUP = {
    "id": "test-markup-claim",
    "claim": "A <b>bold</b> claim & a <script>alert(1)</script> about Xylophonia.",
    "claimant": "Tag & <i>Tester</i>",
    "date": "2021-05",
    "status": "alleged",
    "source": {
        "title": "<b>Markup</b> & Co",
        "excerpt": "Xylophonia officials wrote <b>bold</b> & <script>alert(1)</script> "
        "in the statement.",
    },
}
LONG = {
    "id": "test-long-quokkanium-survey",
    "claim": "The Quokkanium survey listed a great many items.",
    "claimant": "Survey office",
    "date": "2020",
    "status": "reported",
    "source": {
        "excerpt": "The Quokkanium survey listed "
        + ", ".join(f"item number {n} & <tag {n}>" for n in range(1, 200))
        + ".",
    },
}
QWERTONIUM = {
    "id": "test-qwertonium-mine",
    "claim": "A Qwertonium mine opened in Lower Tuvania.",
    "claimant": "Tuvania Herald",
    "date": "2022-01",
    "status": "reported",
    "source": {"excerpt": "A Qwertonium mine opened in Lower Tuvania, the Herald said."},
}
BLORPTONITE = {
    "id": "test-blorptonite-depot",
    "claim": "A Blorptonite depot was built near Vexford.",
    "claimant": "Vexford Times",
    "date": "2022-02",
    "status": "reported",
    "source": {"excerpt": "A Blorptonite depot was built near Vexford, the Times said."},
}


#: A record whose id is too long for callback data: its button carries a digest.
SNORKEL = {
    "id": "test-snorkelwhistle-harbour-inspection-found-nine-rusty-anchors-in-2021",
    "claim": "The Snorkelwhistle harbour inspection found nine rusty anchors.",
    "claimant": "Harbour master, in a letter to the council",
    "date": "2021-08",
    "status": "reported",
    "source": {"excerpt": "The Snorkelwhistle harbour inspection found nine rusty anchors."},
}

#: Words of the Zorbium record that every answer citing it shows (claim and quote).
ZORBIUM_SAYS = "Zorbium plant in Freedonia"


def make_knowledge(folder: Path, *extra: dict) -> Path:
    """The repository's knowledge base plus the test records."""
    shutil.copytree(REPO / "knowledge", folder)
    (folder / "zz-test-records.yaml").write_text(
        yaml.safe_dump([ZORBIUM, MARKUP, LONG, *extra], allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return folder


class BotProcess:
    """``python -m bot serve`` in a subprocess, its output in a file."""

    def __init__(self, api: FakeBotAPI, knowledge: Path, log: Path, **env: str) -> None:
        self.api, self.knowledge, self.log_path = api, knowledge, log
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "BOT_ADMIN_IDS": f"{ADMIN}, 5555",
            "BOT_KNOWLEDGE_DIR": str(knowledge),
            # The index cache goes beside the test's knowledge copy, not in ~/.cache.
            "BOT_CACHE_DIR": str(knowledge.parent / "cache"),
            # The SQLite store (answers behind buttons, feedback) beside it too.
            "BOT_DATA_DIR": str(knowledge.parent / "data"),
            "BOT_QUESTIONS_PER_MINUTE": "1000",
            "BOT_LOG_LEVEL": "DEBUG",  # the noisiest level: the token must still not show
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> BotProcess:
        since = self.api.mark()
        with open(self.log_path, "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", *args,
                cwd=REPO, env=self.env, stdout=log, stderr=log,
            )  # fmt: skip
        if not args:  # polling: ready once the first getUpdates long poll is in flight
            await self._wait_until(lambda: any(
                c.method == "getUpdates" for c in self.api.calls[since:]
            ))  # fmt: skip
        return self

    async def _wait_until(self, ready, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
        for _ in range(int(timeout / 0.05)):
            if ready():
                return
            if self.proc is not None and self.proc.returncode is not None:
                raise AssertionError(f"the bot exited ({self.proc.returncode}):\n{self.output()}")
            await asyncio.sleep(0.05)
        raise TimeoutError(f"the bot did not get ready:\n{self.output()}")

    async def wait_log(self, needle: str, timeout: float = 20.0) -> None:
        await self._wait_until(lambda: needle in self.output(), timeout)

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode  # type: ignore[return-value]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(
    api: FakeBotAPI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotProcess]:
    root = tmp_path_factory.mktemp("shared")
    process = await BotProcess(api, make_knowledge(root / "knowledge"), root / "bot.log").start()
    yield process
    code = await process.stop()
    assert code == 0, process.output()


async def ask_private(api: FakeBotAPI, user: int, text: str, count: int = 1):  # type: ignore[no-untyped-def]
    since = api.mark()
    await api.private(user, text)
    return await api.wait_call("sendMessage", lambda c: c.chat_id == user, since=since, count=count)


async def assert_silent(api: FakeBotAPI, chat: int, since: int, user: int) -> None:
    """Nothing went to ``chat`` since ``since``: checked after a later question is answered."""
    probe = api.mark()
    await api.private(user, "zorbium plant")
    await api.wait_call("sendMessage", lambda c: c.chat_id == user, since=probe)
    await asyncio.sleep(0.3)
    assert api.find("sendMessage", lambda c: c.chat_id == chat, since, ok=None) == []


# --- start-up -----------------------------------------------------------------------------------


async def test_startup_registers_commands_per_scope(api: FakeBotAPI, bot: BotProcess) -> None:
    private = {c["command"] for c in api.commands["all_private_chats"]}
    groups = {c["command"] for c in api.commands["all_group_chats"]}
    admin = {c["command"] for c in api.commands[f"chat:{ADMIN}"]}
    assert {"ask", "claim", "help", "start"} <= private
    assert "reload" not in private and "reload" not in groups
    assert {"ask", "claim", "help"} <= groups
    assert {"reload", "stats"} <= admin


# --- private chats ------------------------------------------------------------------------------


def keyboard(call) -> list[list[dict]]:  # type: ignore[no-untyped-def]
    return call.params["reply_markup"]["inline_keyboard"]  # type: ignore[no-any-return]


async def test_private_question_is_answered_with_citations(api: FakeBotAPI, bot: BotProcess):
    question = "How many gizmos does the Zorbium plant assemble?"
    since = api.mark()
    asked = await api.private(1001, question)
    [sent] = await api.wait_call("sendMessage", lambda c: c.chat_id == 1001, since=since)
    assert sent.params["parse_mode"] == "HTML"
    assert sent.params["reply_parameters"]["message_id"] == asked["message_id"]
    visible = parse_html(sent.text)
    assert ZORBIUM_SAYS in visible
    assert "Freedonia Gazette" in visible and "March 4, 2021" in visible
    rows = keyboard(sent)
    # The record has a source URL: its button opens it. Then 👍 / 👎, one row.
    assert rows[0][0]["url"] == "https://example.org/gizmo"
    assert rows[0][0]["text"].startswith("March 4, 2021 · Freedonia")
    assert [b["text"] for b in rows[-1]] == ["👍", "👎 Wrong answer"]


async def test_record_button_sends_the_record_as_a_reply(api: FakeBotAPI, bot: BotProcess):
    [sent] = await ask_private(api, 1011, "What did Xylophonia officials write?")
    [button] = [b for row in keyboard(sent) for b in row if "Tag &" in b["text"]]
    assert button["callback_data"] == "src:test-markup-claim"  # no URL: the record itself
    since = api.mark()
    await api.callback(1011, sent.result, button["callback_data"])
    [answered] = await api.wait_call("answerCallbackQuery", since=since)
    assert "text" not in answered.params
    [record] = await api.wait_call("sendMessage", lambda c: c.chat_id == 1011, since=since)
    assert record.params["reply_parameters"]["message_id"] == sent.result["message_id"]
    assert "<b>Markup</b> & Co" in parse_html(record.text)


async def test_start_greets_and_help_explains(api: FakeBotAPI, bot: BotProcess) -> None:
    [start] = await ask_private(api, 1002, "/start")
    [help_] = await ask_private(api, 1002, "/help")
    greeting, explained = parse_html(start.text), parse_html(help_.text)
    assert greeting.startswith("Hello") and greeting.count("?") == 2
    assert greeting != explained
    assert "/claim" in explained and "👎" in explained and "?" in explained


async def test_description_is_set_at_start(api: FakeBotAPI, bot: BotProcess) -> None:
    assert "curated claim records" in api.description
    assert 0 < len(api.short_description) <= 120


async def test_off_topic_question_abstains(api: FakeBotAPI, bot: BotProcess) -> None:
    [sent] = await ask_private(api, 1003, "What is the weather in Lisbon tomorrow?")
    assert "no claim records" in parse_html(sent.text)
    # No sources, but 👍 / 👎: "wrong" here tells the curators what records are missing.
    assert [[b["text"] for b in row] for row in keyboard(sent)] == [["👍", "👎 Wrong answer"]]


async def test_claim_shows_the_whole_record(api: FakeBotAPI, bot: BotProcess) -> None:
    [sent] = await ask_private(api, 1004, "/claim test-zorbium-plant")
    visible = parse_html(sent.text)
    assert ZORBIUM["claim"] in visible and ZORBIUM["source"]["excerpt"] in visible
    assert "Gizmo report" in visible
    [missing] = await ask_private(api, 1004, "/claim no-such-record")
    assert "no record" in parse_html(missing.text)


async def test_record_and_question_text_is_escaped(api: FakeBotAPI, bot: BotProcess) -> None:
    [sent] = await ask_private(api, 1005, "What did Xylophonia <b>officials</b> & co write?")
    # The fake server parsed it as Telegram would: markup in records shows literally.
    assert "&lt;script&gt;" in sent.text
    visible = parse_html(sent.text)
    assert "<script>alert(1)</script>" in visible and "Tag & <i>Tester</i>" in visible
    [record] = await ask_private(api, 1005, "/claim test-markup-claim")
    assert "<b>Markup</b> & Co" in parse_html(record.text)


async def test_long_record_is_split_on_line_boundaries(api: FakeBotAPI, bot: BotProcess) -> None:
    # In an answer, the record's enormous quote is clipped: one message.
    [answer] = await ask_private(api, 1006, "What did the Quokkanium survey list?")
    assert "item number 1 & <tag 1>" in parse_html(answer.text) and "…" in answer.text
    assert "reply_markup" in answer.params

    # /claim shows the whole record, split into valid messages on line boundaries.
    since = api.mark()
    await api.private(1006, "/claim test-long-quokkanium-survey")
    await api.wait_call(
        "sendMessage", lambda c: c.chat_id == 1006 and "tag 199" in c.text, since=since
    )
    parts = api.sends_to(1006, since)
    assert len(parts) >= 2
    assert all(utf16_len(parse_html(p.text)) <= 4096 for p in parts)
    joined = "\n".join(parse_html(p.text) for p in parts)
    assert "item number 1 & <tag 1>" in joined and "item number 199 & <tag 199>" in joined


# --- groups -------------------------------------------------------------------------------------


async def test_group_ask_addressed_to_this_bot(api: FakeBotAPI, bot: BotProcess) -> None:
    since = api.mark()
    question = await api.group(-2001, 2001, f"/ask@{BOT_USERNAME} Zorbium plant gizmos?")
    [sent] = await api.wait_call("sendMessage", lambda c: c.chat_id == -2001, since=since)
    assert sent.params["reply_parameters"]["message_id"] == question["message_id"]
    visible = parse_html(sent.text)
    assert visible.startswith("Zorbium plant gizmos?")  # the question, quoted
    assert ZORBIUM_SAYS in visible
    assert "<blockquote expandable>" not in sent.text  # short: no snippets in groups
    [[button], feedback] = keyboard(sent)
    assert [b["text"] for b in feedback] == ["👍", "👎 Wrong answer"]
    assert button["url"].startswith(f"https://t.me/{BOT_USERNAME}?start=q")

    # The deep link opens the full answer in a private chat.
    payload = button["url"].split("start=")[1]
    [full] = await ask_private(api, 2001, f"/start {payload}")
    assert "<blockquote expandable>" in full.text
    assert ZORBIUM_SAYS in parse_html(full.text)


async def test_plain_ask_in_group_is_answered(api: FakeBotAPI, bot: BotProcess) -> None:
    since = api.mark()
    await api.group(-2002, 2002, "/ask Zorbium plant")
    [sent] = await api.wait_call("sendMessage", lambda c: c.chat_id == -2002, since=since)
    assert ZORBIUM_SAYS in parse_html(sent.text)


async def test_group_ask_for_another_bot_is_ignored(api: FakeBotAPI, bot: BotProcess) -> None:
    since = api.mark()
    await api.group(-2003, 2003, "/ask@OtherBot Zorbium plant gizmos?")
    await assert_silent(api, -2003, since, 2003)


async def test_group_chatter_is_ignored(api: FakeBotAPI, bot: BotProcess) -> None:
    since = api.mark()
    await api.group(-2004, 2004, "I think the Zorbium plant assembles gizmos")
    await api.group(-2004, 2005, "/help@OtherBot")
    await assert_silent(api, -2004, since, 2004)


async def test_group_reply_to_the_bot_is_a_question(api: FakeBotAPI, bot: BotProcess) -> None:
    since = api.mark()
    await api.group(-2005, 2006, f"/ask@{BOT_USERNAME} Zorbium plant")
    [answer] = await api.wait_call("sendMessage", lambda c: c.chat_id == -2005, since=since)
    since = api.mark()
    reply = await api.group(-2005, 2006, "When was the Zorbium plant reported?", answer.result)
    [sent] = await api.wait_call("sendMessage", lambda c: c.chat_id == -2005, since=since)
    assert sent.params["reply_parameters"]["message_id"] == reply["message_id"]
    assert "March 4, 2021" in parse_html(sent.text)


@pytest.mark.parametrize("chatter", ["thanks", "lol", "👍", "ok cool"])
async def test_group_reply_that_is_no_question_gets_no_public_no_records(
    api: FakeBotAPI, bot: BotProcess, chatter: str
) -> None:
    since = api.mark()
    await api.group(-2007, 2008, f"/ask@{BOT_USERNAME} Zorbium plant")
    [answer] = await api.wait_call("sendMessage", lambda c: c.chat_id == -2007, since=since)
    since = api.mark()
    await api.group(-2007, 2008, chatter, answer.result)
    await assert_silent(api, -2007, since, 2008)


@pytest.mark.parametrize("command", ["/stats", "/reload", "/feedback", f"/stats@{BOT_USERNAME}"])
async def test_admin_commands_in_a_group_are_refused_without_detail(
    api: FakeBotAPI, bot: BotProcess, command: str
) -> None:
    since = api.mark()
    await api.group(-2008, ADMIN, command)  # even from an admin
    [sent] = await api.wait_call("sendMessage", lambda c: c.chat_id == -2008, since=since)
    assert parse_html(sent.text) == "Use this in a private chat with the bot."
    await assert_silent(api, -2008, api.mark(), ADMIN)  # and nothing more
    assert "Reload requested" not in bot.output() and "Reloaded" not in bot.output()


async def test_group_mention_is_a_question(api: FakeBotAPI, bot: BotProcess) -> None:
    since = api.mark()
    await api.group(-2006, 2007, f"@{BOT_USERNAME} who reported the Zorbium plant?")
    [sent] = await api.wait_call("sendMessage", lambda c: c.chat_id == -2006, since=since)
    assert "Freedonia Gazette" in parse_html(sent.text)


# --- inline mode --------------------------------------------------------------------------------


async def test_inline_query_lists_cited_records(api: FakeBotAPI, bot: BotProcess) -> None:
    since = api.mark()
    query_id = await api.inline(3001, "Zorbium plant gizmos")
    [call] = await api.wait_call(
        "answerInlineQuery", lambda c: c.params["inline_query_id"] == query_id, since=since
    )
    results = call.params["results"]
    assert 1 <= len(results) <= 10
    first = results[0]
    assert first["type"] == "article"
    assert first["title"] == "March 4, 2021 — Freedonia Gazette"
    assert all(len(r["title"]) <= 48 for r in results)
    assert [b["text"] for b in first["reply_markup"]["inline_keyboard"][0]] == [
        "👍",
        "👎 Wrong answer",
    ]
    assert "Zorbium plant" in first["description"]
    content = first["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert ZORBIUM_SAYS in parse_html(content["message_text"])  # inline: with its id
    assert call.params["cache_time"] <= 10


@pytest.mark.parametrize("query", ["", "   ", "weather in Lisbon tomorrow"])
async def test_inline_empty_or_off_topic_gets_a_hint(
    api: FakeBotAPI, bot: BotProcess, query: str
) -> None:
    since = api.mark()
    query_id = await api.inline(3002, query)
    [call] = await api.wait_call(
        "answerInlineQuery", lambda c: c.params["inline_query_id"] == query_id, since=since
    )
    assert call.params["results"] == []
    assert call.params["button"]["start_parameter"] == "inline"
    assert call.params["button"]["text"]


# --- robustness ---------------------------------------------------------------------------------


async def test_flood_control_429_is_waited_out(api: FakeBotAPI, bot: BotProcess) -> None:
    since = api.mark()
    await api.fault("sendMessage", 429, retry_after=1, chat_id=4001)
    [sent] = await ask_private(api, 4001, "Zorbium plant")
    assert ZORBIUM_SAYS in parse_html(sent.text)
    assert api.find("sendMessage", lambda c: c.chat_id == 4001, since, ok=False)[0].status == 429
    assert sent.started - api.find("sendMessage", lambda c: c.chat_id == 4001, since, ok=False)[
        0
    ].finished >= 0.9  # fmt: skip


async def test_server_error_500_is_retried(api: FakeBotAPI, bot: BotProcess) -> None:
    since = api.mark()
    await api.fault("sendMessage", 500, times=2, chat_id=4002)
    [sent] = await ask_private(api, 4002, "Zorbium plant")
    assert ZORBIUM_SAYS in parse_html(sent.text)
    failed = api.find("sendMessage", lambda c: c.chat_id == 4002, since, ok=False)
    assert [c.status for c in failed] == [500, 500]
    assert len(api.sends_to(4002, since)) == 1  # the real answer, once, and no apology


async def test_slow_chat_does_not_hold_up_other_chats(api: FakeBotAPI, bot: BotProcess) -> None:
    since = api.mark()
    api.delay("sendMessage", 3.0, chat_id=4003)
    await api.private(4003, "Zorbium plant")
    held = await api.wait_started("sendMessage", lambda c: c.chat_id == 4003, since=since)
    await api.private(4004, "Zorbium plant")
    [fast] = await api.wait_call("sendMessage", lambda c: c.chat_id == 4004, since=since)
    [slow] = await api.wait_call("sendMessage", lambda c: c.chat_id == 4003, since=since)
    assert slow is held and fast.finished is not None and slow.finished is not None
    assert fast.finished < slow.finished  # B's answer arrived while A's send was still held


async def test_handler_error_gets_an_apology_and_the_bot_keeps_running(
    api: FakeBotAPI, bot: BotProcess
) -> None:
    # A BadRequest the bot cannot retry (as if Telegram refused the answer).
    since = api.mark()
    await api.fault("sendMessage", 400, chat_id=4005, description="Bad Request: test")
    [apology] = await ask_private(api, 4005, "Zorbium plant")
    assert "Sorry" in parse_html(apology.text)
    [sent] = await ask_private(api, 4005, "Zorbium plant")
    assert ZORBIUM_SAYS in parse_html(sent.text)
    assert api.find("sendMessage", lambda c: c.chat_id == 4005, since, ok=False)


async def test_token_never_appears_in_the_logs(api: FakeBotAPI, bot: BotProcess) -> None:
    assert any(c.token == TOKEN for c in api.calls)  # the token was really used
    output = bot.output()
    assert "/bot[redacted]/getUpdates" in output  # httpx logged request URLs, token hidden
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


# --- admin: reload ------------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="module")
async def own_api() -> AsyncIterator[FakeBotAPI]:
    """A fake server of its own, so that no other bot process takes its updates."""
    async with FakeBotAPI() as server:
        yield server


@pytest_asyncio.fixture(loop_scope="module")
async def reload_bot(own_api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[BotProcess]:
    knowledge = make_knowledge(tmp_path / "knowledge")
    process = await BotProcess(own_api, knowledge, tmp_path / "bot.log").start()
    yield process
    assert await process.stop() == 0, process.output()


async def test_reload_by_admin(reload_bot: BotProcess) -> None:
    api, knowledge = reload_bot.api, reload_bot.knowledge
    [before] = await ask_private(api, 5001, "Qwertonium mine")
    assert "no claim records" in parse_html(before.text)

    # A good knowledge base: one record added, one edited.
    (knowledge / "zz-more.yaml").write_text(yaml.safe_dump([QWERTONIUM]), encoding="utf-8")
    edited = dict(ZORBIUM, claimant="Freedonia Gazette (evening edition)")
    (knowledge / "zz-test-records.yaml").write_text(
        yaml.safe_dump([edited, MARKUP, LONG], allow_unicode=True), encoding="utf-8"
    )
    [report] = await ask_private(api, ADMIN, "/reload")
    visible = parse_html(report.text)
    assert "Reloaded" in visible
    assert "Added (1): test-qwertonium-mine" in visible
    assert "Edited (1): test-zorbium-plant" in visible
    assert "Removed: none" in visible
    [after] = await ask_private(api, 5001, "Qwertonium mine")
    assert QWERTONIUM["claim"] in parse_html(after.text)

    # A broken knowledge base is refused with its errors; the old index keeps answering.
    (knowledge / "zz-broken.yaml").write_text("- id: [unclosed\n", encoding="utf-8")
    (knowledge / "zz-more.yaml").write_text(
        yaml.safe_dump([dict(QWERTONIUM, status="maybe")]), encoding="utf-8"
    )
    [refused] = await ask_private(api, ADMIN, "/reload")
    visible = parse_html(refused.text)
    assert "Reload refused" in visible and "stays live" in visible
    assert "zz-broken.yaml" in visible and "zz-more.yaml" in visible
    assert str(knowledge) not in visible  # paths relative to the knowledge folder
    [still] = await ask_private(api, 5001, "Qwertonium mine")
    assert QWERTONIUM["claim"] in parse_html(still.text)

    # /stats tells the admin how it went.
    [stats] = await ask_private(api, ADMIN, "/stats")
    visible = parse_html(stats.text)
    assert "refused" in visible and "Questions" in visible and "abstained 1" in visible

    # SIGHUP runs the same reload, for deployment scripts.
    (knowledge / "zz-broken.yaml").unlink()
    (knowledge / "zz-more.yaml").write_text(
        yaml.safe_dump([QWERTONIUM, BLORPTONITE]), encoding="utf-8"
    )
    assert reload_bot.proc is not None
    reload_bot.proc.send_signal(signal.SIGHUP)
    await reload_bot.wait_log("SIGHUP received")
    await reload_bot.wait_log("1 added, 0 removed, 0 edited")
    [depot] = await ask_private(api, 5001, "Blorptonite depot")
    assert BLORPTONITE["claim"] in parse_html(depot.text)


async def test_reload_by_non_admin_is_refused(reload_bot: BotProcess) -> None:
    api = reload_bot.api
    (reload_bot.knowledge / "zz-more.yaml").write_text(
        yaml.safe_dump([QWERTONIUM]), encoding="utf-8"
    )
    [refusal] = await ask_private(api, STRANGER, "/reload")
    assert "only the bot's admins" in parse_html(refusal.text)
    [stats] = await ask_private(api, STRANGER, "/stats")
    assert "only the bot's admins" in parse_html(stats.text)
    [unchanged] = await ask_private(api, 5002, "Qwertonium mine")
    assert "no claim records" in parse_html(unchanged.text)  # nothing was reloaded
    assert "Reloaded" not in reload_bot.output()


# --- start-up failures and other modes ---------------------------------------------------------


async def _run_to_exit(
    env: dict[str, str], *args: str, command: str = "serve", timeout: float = 30
) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", command, *args,
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, (out + err).decode()


async def test_missing_token_is_a_one_line_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    code, output = await _run_to_exit(env)
    assert code == 2
    [line] = output.strip().splitlines()
    assert "TELEGRAM_BOT_TOKEN" in line


async def test_rejected_token_is_a_one_line_error(own_api: FakeBotAPI, tmp_path: Path) -> None:
    api = own_api
    wrong = "987654321:WRONG-token"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": wrong,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "BOT_KNOWLEDGE_DIR": str(make_knowledge(tmp_path / "knowledge")),
        "BOT_CACHE_DIR": str(tmp_path / "cache"),
        "BOT_LOG_LEVEL": "INFO",
    }
    code, output = await _run_to_exit(env)
    assert code == 2, output
    [line] = output.strip().splitlines()
    assert "rejected" in line and "TELEGRAM_BOT_TOKEN" in line
    assert wrong not in output


async def test_two_instances_polling_are_reported(own_api: FakeBotAPI, tmp_path: Path) -> None:
    api = own_api
    process = await BotProcess(
        api, make_knowledge(tmp_path / "knowledge"), tmp_path / "bot.log"
    ).start()
    try:
        await api.fault("getUpdates", 409)
        await process.wait_log("another instance of this bot is polling with the same token")
        [sent] = await ask_private(api, 6001, "Zorbium plant")  # and it carries on
        assert ZORBIUM_SAYS in parse_html(sent.text)
    finally:
        assert await process.stop() == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_refuses_forged_updates(own_api: FakeBotAPI, tmp_path: Path) -> None:
    api = own_api
    port = free_port()
    process = BotProcess(api, make_knowledge(tmp_path / "knowledge"), tmp_path / "bot.log",
                         BOT_WEBHOOK_SECRET="s3cret-token", BOT_LOG_LEVEL="INFO")  # fmt: skip
    public = "https://bot.example.org/telegram-hook"
    local = f"http://127.0.0.1:{port}/telegram-hook"
    await process.start("--webhook-url", public, "--listen", "127.0.0.1", "--port", str(port))
    try:
        await process.wait_log("webhook on 127.0.0.1")
        assert api.webhook_url == public
        since = api.mark()
        # A forged admin /stats: no secret, then a wrong one. Both refused, nothing sent.
        forged = api.private_update(ADMIN, "/stats")
        assert await api.post_webhook(local, forged) == 403
        assert await api.post_webhook(local, forged, secret="guessed") == 403
        await process.wait_log("Refused a webhook request without the right secret token")
        assert "guessed" not in process.output()
        # Telegram itself (with the secret) is answered.
        update = api.private_update(6002, "Zorbium plant")
        assert await api.post_webhook(local, update, secret="s3cret-token") == 200
        [sent] = await api.wait_call("sendMessage", lambda c: c.chat_id == 6002, since=since)
        assert ZORBIUM_SAYS in parse_html(sent.text)
        assert api.find("sendMessage", lambda c: c.chat_id == ADMIN, since, ok=None) == []
        assert "s3cret-token" not in process.output()
        assert process.output().count("Refused a webhook request") == 2
    finally:
        assert await process.stop() == 0


async def test_webhook_without_a_secret_refuses_to_start(tmp_path: Path) -> None:
    """(A plain-http URL and one without a path are refused too: tests/test_config.py.)"""
    env = {k: v for k, v in os.environ.items() if k != "BOT_WEBHOOK_SECRET"}
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, BOT_DATA_DIR=str(tmp_path / "data"))
    code, output = await _run_to_exit(env, "--webhook-url", "https://bot.example.org/hook")
    assert code == 2, output
    [line] = output.strip().splitlines()
    assert "BOT_WEBHOOK_SECRET" in line
    assert "head -c 32 /dev/urandom" in line  # how to make one


# --- answers in the right place -----------------------------------------------------------------


async def test_ten_fast_questions_are_answered_in_order_as_replies(
    api: FakeBotAPI, bot: BotProcess
) -> None:
    user = 7001
    questions = [
        "Zorbium plant gizmos?", "weather in Lisbon?", "Xylophonia officials", "Zorbium plant",
        "Who reported the Zorbium plant?", "price of bread", "Quokkanium survey items?",
        "When was the Zorbium plant reported?", "Xylophonia statement", "gizmos a week",
    ]  # fmt: skip
    since = api.mark()
    # The first answer meets flood control and waits 1 s: the others must wait behind it.
    await api.fault("sendMessage", 429, retry_after=1, chat_id=user)
    asked = [await api.private(user, q) for q in questions]
    answers = await api.wait_call(
        "sendMessage",
        lambda c: c.chat_id == user and c.params["text"] and "reply_parameters" in c.params,
        since=since,
        count=len(questions),
    )
    replied = [c.params["reply_parameters"]["message_id"] for c in answers]
    assert replied == [m["message_id"] for m in asked]  # in order, each a reply to its question
    assert [c.started for c in answers] == sorted(c.started for c in answers)


async def test_load_many_chats_under_faults_all_answered_once_in_order(
    api: FakeBotAPI, bot: BotProcess
) -> None:
    """Bounded (60 questions, to the local fake server only): 5 chats, 12 fast
    questions each, with flood control, server errors and a slow chat."""
    chats = [7101, 7102, 7103, 7104, 7105]
    since = api.mark()
    await api.fault("sendMessage", 429, retry_after=1, chat_id=7101)
    await api.fault("sendMessage", 500, times=2, chat_id=7102)
    api.delay("sendMessage", 0.3, chat_id=7103, times=3)
    words = ["Zorbium plant", "Xylophonia officials", "gizmos a week", "weather in Lisbon"]
    asked: dict[int, list[int]] = {chat: [] for chat in chats}
    for n in range(12):
        for chat in chats:
            asked[chat].append((await api.private(chat, f"{words[n % 4]} {n}?"))["message_id"])
    answers = await api.wait_call(
        "sendMessage", lambda c: c.chat_id in asked, since=since, count=60, timeout=60
    )
    await asyncio.sleep(0.3)  # nothing more arrives: none answered twice
    answers = api.find("sendMessage", lambda c: c.chat_id in asked, since)
    assert len(answers) == 60
    for chat in chats:
        replied = [c.params["reply_parameters"]["message_id"] for c in answers if c.chat_id == chat]
        assert replied == asked[chat]


async def test_an_edited_question_is_answered_again(api: FakeBotAPI, bot: BotProcess) -> None:
    [first] = await ask_private(api, 7002, "What is the weather in Lisbon?")
    assert "no claim records" in parse_html(first.text)
    asked_id = first.params["reply_parameters"]["message_id"]
    question = next(
        u["message"] for u in api.updates if u.get("message", {}).get("message_id") == asked_id
    )
    since = api.mark()
    await api.edited(question, "How many gizmos does the Zorbium plant assemble?")
    [again] = await api.wait_call("sendMessage", lambda c: c.chat_id == 7002, since=since)
    assert again.params["reply_parameters"]["message_id"] == asked_id  # a new reply to it
    assert ZORBIUM_SAYS in parse_html(again.text)


async def test_a_captioned_photo_is_answered_from_its_caption(
    api: FakeBotAPI, bot: BotProcess
) -> None:
    since = api.mark()
    photo = await api.photo(7003, "Who reported the Zorbium plant?")
    [sent] = await api.wait_call("sendMessage", lambda c: c.chat_id == 7003, since=since)
    assert sent.params["reply_parameters"]["message_id"] == photo["message_id"]
    assert "Freedonia Gazette" in parse_html(sent.text)


async def test_forged_and_stale_buttons_are_answered(api: FakeBotAPI, bot: BotProcess) -> None:
    [sent] = await ask_private(api, 7004, "Zorbium plant")
    forged = [
        "admin:reload", "x" * 64, "src:~AAAAAAAAAAAAAAAA", "src:no-such-record",
        "more:AAAAAAAA", "fb:AAAAAAAA:up", "fb:AAAAAAAA:maybe", "fb:short:up",
    ]  # fmt: skip
    since = api.mark()
    ids = {await api.callback(7004, sent.result, data) for data in forged}
    answered = await api.wait_call(
        "answerCallbackQuery",
        lambda c: c.params["callback_query_id"] in ids,
        since=since,
        count=len(forged),
    )
    for call in answered:
        assert call.params["text"] == "This button has expired; please ask again."
        assert call.params["show_alert"] is True
    assert api.find("sendMessage", lambda c: c.chat_id == 7004, since) == []


async def test_message_lengths_fit_a_phone(api: FakeBotAPI, bot: BotProcess) -> None:
    """The shapes of the issue: a 6-record "when" answer, a group answer, inline titles."""
    [private] = await ask_private(api, 7005, "When was the factory reported?")
    visible = parse_html(private.text)
    lead = visible.splitlines()[0]
    assert lead.startswith("First in February 2023") and visible.count(lead) == 1  # once
    assert visible.count("\n• ") == 6 and private.text.count("<blockquote expandable>") == 6
    # Every bullet names its record: an answer line can always be traced to its record.
    assert all(re.search(r"\[[a-z0-9-]+\]", line) for line in visible.splitlines()
               if line.startswith("• "))  # fmt: skip
    assert utf16_len(visible) <= 1300, utf16_len(visible)  # about 1,200 (was 2,843)
    rows = keyboard(private)
    assert all(len(row) <= 2 for row in rows)
    assert all(len(b["text"]) <= 30 for row in rows for b in row)

    since = api.mark()
    await api.group(-7005, 7005, "/ask When was the factory reported?")
    [group] = await api.wait_call("sendMessage", lambda c: c.chat_id == -7005, since=since)
    assert utf16_len(parse_html(group.text)) <= 600, utf16_len(parse_html(group.text))
    assert keyboard(group)[0][0]["text"] == "Details in a private chat"


# --- state that survives a restart; feedback ---------------------------------------------------


def buttons_of(call) -> list[dict]:  # type: ignore[no-untyped-def]
    return [b for row in keyboard(call) for b in row]


async def test_buttons_and_deep_links_survive_a_restart(own_api: FakeBotAPI, tmp_path: Path):
    api = own_api
    knowledge = make_knowledge(tmp_path / "knowledge", SNORKEL)
    process = BotProcess(api, knowledge, tmp_path / "bot.log", BOT_LOG_LEVEL="INFO")
    await process.start()
    try:
        questions = ["Who said Iran supplies drones to Russia?", "Snorkelwhistle harbour anchors"]
        [answer] = await ask_private(api, 8001, questions[0])
        [snorkel] = await ask_private(api, 8001, questions[1])
        since = api.mark()
        await api.group(-8001, 8001, "/ask Zorbium plant gizmos")
        [group] = await api.wait_call("sendMessage", lambda c: c.chat_id == -8001, since=since)

        # The real process stops and starts again; nothing of the above is in its memory.
        assert await process.stop() == 0
        await process.start()

        # "More results": the next records once, as one reply; then the button goes.
        [more] = [b for b in buttons_of(answer) if b["text"].startswith("More results")]
        since = api.mark()
        await api.callback(8001, answer.result, more["callback_data"])
        [extra] = await api.wait_call("sendMessage", lambda c: c.chat_id == 8001, since=since)
        assert extra.params["reply_parameters"]["message_id"] == answer.result["message_id"]
        assert "<blockquote expandable>" in extra.text and "expired" not in extra.text
        [edit] = await api.wait_call("editMessageReplyMarkup", since=since)
        left = [b["text"] for row in edit.params["reply_markup"]["inline_keyboard"] for b in row]
        assert "👍" in left and not any(t.startswith("More") for t in left)

        # A record button whose id is too long for callback data: named by a digest.
        [button] = [
            b for b in buttons_of(snorkel) if b.get("callback_data", "").startswith("src:~")
        ]
        assert button["text"] == "August 2021 · Harbour master"
        since = api.mark()
        await api.callback(8001, snorkel.result, button["callback_data"])
        [record] = await api.wait_call("sendMessage", lambda c: c.chat_id == 8001, since=since)
        assert SNORKEL["id"] in parse_html(record.text)

        # 👍 under an answer given before the restart.
        since = api.mark()
        await api.callback(8001, answer.result, buttons_of(answer)[-2]["callback_data"])
        [thanks] = await api.wait_call("answerCallbackQuery", since=since)
        assert thanks.params["text"] == "Thanks! Glad it helped."

        # The group answer's "Details in a private chat" deep link.
        payload = buttons_of(group)[0]["url"].split("start=")[1]
        [full] = await ask_private(api, 8001, f"/start {payload}")
        assert ZORBIUM_SAYS in parse_html(full.text) and "<blockquote expandable>" in full.text
    finally:
        await process.stop()
    # At INFO the log holds no message text.
    output = process.output()
    assert "Bot @" in output
    for text in (*questions, "Zorbium plant gizmos"):
        assert text not in output


async def test_feedback_is_stored_and_listed(own_api: FakeBotAPI, tmp_path: Path) -> None:
    api = own_api
    knowledge = make_knowledge(tmp_path / "knowledge")
    process = await BotProcess(api, knowledge, tmp_path / "bot.log").start()
    data = knowledge.parent / "data"
    try:
        # Private: 👍, then 👎 (one verdict per person and answer: it changes), then a comment.
        [answer] = await ask_private(api, 8101, "How many gizmos does the Zorbium plant make?")
        up, down = buttons_of(answer)[-2:]
        since = api.mark()
        await api.callback(8101, answer.result, up["callback_data"])
        [thanks] = await api.wait_call("answerCallbackQuery", since=since)
        assert thanks.params["text"] == "Thanks! Glad it helped."
        since = api.mark()
        await api.callback(8101, answer.result, down["callback_data"])
        await api.wait_call("answerCallbackQuery", since=since)
        [prompt] = await api.wait_call("sendMessage", lambda c: c.chat_id == 8101, since=since)
        assert "What was wrong?" in parse_html(prompt.text)
        assert prompt.params["reply_parameters"]["message_id"] == answer.result["message_id"]
        assert prompt.params["reply_markup"]["force_reply"] is True
        since = api.mark()
        await api.private(8101, "It makes forty-one   gizmos\nnot forty", reply_to=prompt.result)
        [ack] = await api.wait_call("sendMessage", lambda c: c.chat_id == 8101, since=since)
        assert parse_html(ack.text) == "Thanks: passed on to the curators."

        # Group: another person's 👍.
        since = api.mark()
        await api.group(-8102, 8102, "/ask Who reported the Zorbium plant?")
        [group] = await api.wait_call("sendMessage", lambda c: c.chat_id == -8102, since=since)
        since = api.mark()
        await api.callback(8102, group.result, buttons_of(group)[-2]["callback_data"])
        await api.wait_call("answerCallbackQuery", since=since)

        # Inline: the result's 👎, pressed under the message sent through inline mode.
        since = api.mark()
        query_id = await api.inline(8103, "Xylophonia officials")
        [call] = await api.wait_call(
            "answerInlineQuery", lambda c: c.params["inline_query_id"] == query_id, since=since
        )
        result = call.params["results"][0]
        down_inline = result["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
        since = api.mark()
        await api.push(api.inline_callback_update(8103, "inline-1", down_inline))
        [noted] = await api.wait_call("answerCallbackQuery", since=since)
        assert "curators" in noted.params["text"]

        # /feedback (admin, private): the latest, newest first, with question and ids.
        [listing] = await ask_private(api, ADMIN, "/feedback")
        visible = parse_html(listing.text)
        lines = [line for line in visible.splitlines() if line[:1] in "👍👎"]
        assert [line[0] for line in lines] == ["👎", "👍", "👎"]
        assert "inline" in lines[0] and "supergroup" in lines[1] and "private" in lines[2]
        assert "Q: Xylophonia officials" in visible and "test-markup-claim" in visible
        assert "Q: How many gizmos does the Zorbium plant make?" in visible
        assert "“It makes forty-one gizmos not forty”" in visible
    finally:
        assert await process.stop() == 0

    # The command line, for the curators: one JSON object per line with --json.
    code, output = await _run_to_exit(
        dict(os.environ), "--json", "--data-dir", str(data), command="feedback"
    )
    assert code == 0, output
    rows = [json.loads(line) for line in output.splitlines()]
    assert [r["verdict"] for r in rows] == ["down", "up", "down"]
    private = rows[2]
    assert private["chat_type"] == "private" and private["user_id"] == 8101
    assert private["question"] == "How many gizmos does the Zorbium plant make?"
    assert "test-zorbium-plant" in private["record_ids"]
    assert private["comment"] == "It makes forty-one gizmos not forty"
    assert set(private) == {
        "at", "chat_type", "user_id", "question", "record_ids", "verdict", "comment"
    }  # fmt: skip
    # (--since and the plain-text listing: tests/test_cli_feedback.py.)
