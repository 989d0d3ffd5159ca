"""Everything the Telegram bot says, as Telegram HTML: answers and records, help,
reload reports, stats, group and inline answers, and splitting long HTML into
messages.

The one module that writes HTML. Pure functions over :mod:`bot.answer` values
and :mod:`bot.chat.service` figures; no network, no handlers. Every piece of
record and user text is escaped here with :func:`e`, so ``<b>`` or ``&`` in a
record or a question shows literally.

Lengths are counted in UTF-16 code units of the HTML source: Telegram counts
its limits in UTF-16 units of the *visible* text, which is never longer than
the HTML it comes from, so a chunk that fits by this count always fits.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from telegram.constants import MessageLimit

from bot.answer.model import Answer, Citation, clip, short_claimant, shows_claim
from bot.answer.render import marked_snippet, notes_after, record_fields
from bot.chat.feedback import Entry
from bot.chat.service import ReloadResult, Stats
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import Record

#: A long private answer or record goes out in at most this many messages;
#: beyond that it is trimmed with a pointer to ``/claim``.
MAX_PARTS = 3
#: A question quoted back in a group answer is clipped to this many characters.
QUOTE_CHARS = 300
#: Inline result descriptions are clipped to this many characters (clients show ~2 lines).
DESCRIPTION_CHARS = 160

_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^>]*>")
_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|\s+|[^<&\s]+|[<&]")


def e(text: str) -> str:
    """Escape user or record text for Telegram HTML."""
    return html.escape(text, quote=False)


def size(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


# --- Splitting --------------------------------------------------------------------------------


def _open_tags(stack: list[tuple[str, str]]) -> str:
    return "".join(tag for _, tag in stack)


def _close_tags(stack: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _walk(text: str, stack: list[tuple[str, str]]) -> None:
    """Update the open-tag stack with the tags in ``text``."""
    for match in _TAG.finditer(text):
        closing, name = match.group(1), match.group(2).lower()
        if not closing:
            stack.append((name, match.group(0)))
        else:
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == name:
                    del stack[i:]
                    break


def _max_overhead(text: str) -> int:
    stack: list[tuple[str, str]] = []
    worst = 0
    for match in _TAG.finditer(text):
        _walk(match.group(0), stack)
        worst = max(worst, size(_open_tags(stack)) + size(_close_tags(stack)))
    return worst


def _take(token: str, room: int) -> tuple[str, str]:
    """The longest head of ``token`` that fits ``room`` UTF-16 units, and the rest."""
    units = 0
    for i, char in enumerate(token):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > room:
            return token[:i], token[i:]
    return token, ""


def _cut_line(line: str, budget: int) -> list[str]:
    """A line longer than ``budget`` → pieces, cut between words, never inside a tag or entity."""
    pieces: list[str] = []
    current = ""
    for token in _TOKEN.findall(line):
        while size(token) > budget:  # one enormous word: cut it by characters
            head, rest = _take(token, budget - size(current))
            if not head:
                pieces.append(current)
                current = ""
                continue
            pieces.append(current + head)
            current, token = "", rest
        if size(current) + size(token) > budget:
            pieces.append(current)
            current = "" if token.isspace() else token
        else:
            current += token
    if current:
        pieces.append(current)
    return [p for p in pieces if p]


def split_html(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split Telegram HTML into messages of at most ``limit``, on line boundaries.

    A line too long for one message is cut between words. Tags open at a cut
    are closed at the end of one message and reopened at the start of the
    next, so every message is valid HTML on its own.
    """
    if size(text) <= limit:
        return [text]
    budget = limit - _max_overhead(text)
    if budget < limit // 2:  # absurd nesting: fall back to dropping the markup
        text = e(re.sub(r"<[^>]*>", "", html.unescape(text)))
        budget = limit
    lines: list[str] = []
    for line in text.split("\n"):
        lines += _cut_line(line, budget) if size(line) > budget else [line]
    raw: list[str] = []
    current: str | None = None
    for line in lines:
        candidate = line if current is None else f"{current}\n{line}"
        if size(candidate) > budget and current is not None:
            raw.append(current)
            current = line
        else:
            current = candidate
    if current is not None:
        raw.append(current)

    chunks: list[str] = []
    stack: list[tuple[str, str]] = []
    for piece in raw:
        start = _open_tags(stack)
        _walk(piece, stack)
        chunk = start + piece + _close_tags(stack)
        if re.sub(r"<[^>]*>", "", chunk).strip():
            chunks.append(chunk)
    return chunks


def fit(text: str, pointer: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> str:
    """One message: ``text`` if it fits, else its first part and then ``pointer``."""
    if size(text) <= limit:
        return text
    head = split_html(text, limit - size(pointer) - 4)[0]
    return f"{head}\n…\n{pointer}"


def messages(text: str, pointer: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Messages for ``text``: split on lines, and past ``MAX_PARTS`` trimmed with ``pointer``."""
    chunks = split_html(text, limit)
    if len(chunks) <= MAX_PARTS:
        return chunks
    last = fit(chunks[MAX_PARTS - 1] + "\n" + chunks[MAX_PARTS], pointer, limit)
    return [*chunks[: MAX_PARTS - 1], last]


def claim_pointer(answer: Answer) -> str:
    ids = [c.claim_id for c in answer.citations]
    example = f"/claim {e(ids[0])}" if ids else "/claim ID"
    return f"<i>Trimmed to fit Telegram. Send {example} to see a whole record.</i>"


# --- Answers ----------------------------------------------------------------------------------


#: A private bullet's claim is clipped to this many characters, its quote to SNIPPET_CHARS:
#: six records then fit a phone screen or two (about 1,200 characters).
CLAIM_CHARS = 70
SNIPPET_CHARS = 80
#: Notes ("denied by Iran …") after a bullet are clipped to this many characters.
NOTE_CHARS = 60
#: A claimant in a bullet or a label is cut at its first comma and to this length.
CLAIMANT_CHARS = 32
#: A group answer lists this many records (the rest are in the private chat).
GROUP_CITATIONS = 3
GROUP_CLAIM_CHARS = 90
GROUP_QUESTION_CHARS = 120
GROUP_LEAD_CHARS = 180
#: A group answer is at most this many characters of HTML (visible text is never longer).
GROUP_CHARS = 600
GROUP_MORE_ROOM = 40
#: Button labels and inline titles are clipped to these many characters.
LABEL_CHARS = 30
TITLE_CHARS = 48


_BRACKETED_ID = re.compile(r"\s*\[[^\]]*\]")


def brief_claimant(claimant: str) -> str:
    """The claimant, short: no curator's parenthetical, cut at its first comma.

    "Unattributed, in the context of the June 2023 US intelligence report" → "Unattributed".
    """
    short = short_claimant(claimant).split(",")[0].strip() or claimant
    return clip(short, CLAIMANT_CHARS)


def brief_notes(citation: Citation) -> str:
    """A citation's notes without the record ids in brackets: "denied by Iran (February 2023)"."""
    return _BRACKETED_ID.sub("", notes_after(citation)).strip(" —")


def clipped_snippet(citation: Citation, limit: int = SNIPPET_CHARS) -> Citation:
    """The citation with its snippet cut to ``limit`` characters at a word (marks kept)."""
    snippet = citation.snippet
    if len(snippet) <= limit:
        return citation
    cut = snippet.rfind(" ", 0, limit - 1)
    cut = cut if cut > limit // 2 else limit - 1
    marks = tuple((a, b) for a, b in citation.marks if b <= cut)
    return replace(citation, snippet=snippet[:cut].rstrip(" ,;:") + "…", marks=marks)


def citation_html(
    citation: Citation, *, short: bool = False, claim: bool = True, ids: bool = False
) -> str:
    """One cited line, Telegram HTML: date, short claimant, the claim (clipped; not
    when ``claim`` is false, as the lead or the quote already says it), notes;
    with ``ids`` the record id; then its quote in an expandable blockquote unless
    ``short`` (groups)."""
    limit = GROUP_CLAIM_CHARS if short else CLAIM_CHARS
    said = f": {e(clip(citation.claim, limit))}" if claim else ""
    notes = notes_after(citation).strip(" —") if ids else brief_notes(citation)
    note = f" <i>— {e(clip(notes, NOTE_CHARS))}</i>" if notes else ""
    rid = f" <code>[{e(citation.claim_id)}]</code>" if ids else ""
    line = (
        f"• <b>{e(citation.date_text)}</b> — {e(brief_claimant(citation.claimant))}"
        f"{said}{rid}{note}"
    )
    if short:
        return line
    snippet = marked_snippet(clipped_snippet(citation), lambda w: f"<b>{e(w)}</b>", e)
    return f"{line}\n<blockquote expandable>{snippet}</blockquote>"


def answer_html(answer: Answer) -> str:
    """A private answer: the lead once, one line per record with its quote folded."""
    lines = [f"<b>{e(answer.lead)}</b>" if answer.found else e(answer.lead)]
    lines += [citation_html(c, claim=shows_claim(answer, c), ids=True) for c in answer.citations]
    if answer.more:
        lines.append(f"<i>+{answer.more} more matching records</i>")
    lines += [f"Source: “{e(s)}”" for s in answer.sources]
    return "\n".join(lines)


def record_html(record: Record, knowledge: KnowledgeBase | None = None) -> str:
    """A whole record, Telegram HTML, for ``/claim ID`` and the record buttons."""
    lines = [f"<code>[{e(record.id)}]</code>"]
    lines += [f"<b>{e(k)}:</b> {e(v)}" for k, v in record_fields(record, knowledge)]
    return "\n".join(lines)


def quoted_question(question: str, limit: int = QUOTE_CHARS) -> str:
    return f"<blockquote>{e(clip(question, limit))}</blockquote>"


def group_answer_html(answer: Answer) -> str:
    """A short group answer, at most GROUP_CHARS of HTML (so of visible text too): the
    question quoted, the lead, up to GROUP_CITATIONS records on one line each that
    fit; the rest is behind "Details in a private chat"."""
    lines = [quoted_question(answer.question, GROUP_QUESTION_CHARS)]
    lead = clip(answer.lead, GROUP_LEAD_CHARS)
    lines.append(f"<b>{e(lead)}</b>" if answer.found else e(lead))
    room = GROUP_CHARS - size("\n".join(lines)) - GROUP_MORE_ROOM
    shown = 0
    for c in answer.citations[:GROUP_CITATIONS]:
        # No quotes here: a claim is left out only when the lead says it.
        line = citation_html(c, short=True, claim=c.claim_id != answer.lead_id)
        if size(line) + 1 > room:
            break
        lines.append(line)
        room -= size(line) + 1
        shown += 1
    rest = len(answer.citations) - shown + answer.more
    if rest:
        lines.append(f"<i>+{rest} more in a private chat</i>")
    return "\n".join(lines)


def inline_answer_html(question: str, citation: Citation) -> str:
    """The message an inline result sends: the question and one cited record."""
    text = f"<b>Q:</b> {e(clip(question, QUOTE_CHARS))}\n{citation_html(citation, ids=True)}" + (
        f"\nSource: “{e(citation.source)}”" if citation.source else ""
    )
    return fit(text, f"<i>Send /claim {e(citation.claim_id)} to the bot for the whole record.</i>")


def inline_title(citation: Citation) -> str:
    return clip(f"{citation.date_text} — {brief_claimant(citation.claimant)}", TITLE_CHARS)


def inline_description(citation: Citation) -> str:
    return clip(citation.snippet, DESCRIPTION_CHARS)


def more_html(citations: Iterable[Citation]) -> str:
    """The further records of "More results", as one message."""
    lines = [citation_html(c) for c in citations]
    if not lines:
        return "No more matching records."
    return fit("\n".join(lines), "<i>Trimmed to fit Telegram: ask a narrower question.</i>")


# --- Button labels (plain text) ---------------------------------------------------------------


def source_label(citation: Citation) -> str:
    """A source button: date and short claimant, e.g. "Jun 2023 · US intelligence"."""
    return clip(f"{citation.date_text} · {brief_claimant(citation.claimant)}", LABEL_CHARS)


def more_label(more: int) -> str:
    return f"More results (+{more})"


FEEDBACK_UP = "👍"
FEEDBACK_DOWN = "👎 Wrong answer"
DETAILS_LABEL = "Details in a private chat"
INLINE_HINT_LABEL = "Type a question, e.g. When was the drone factory reported?"


# --- Admin ------------------------------------------------------------------------------------


def _id_list(label: str, ids: tuple[str, ...], shown: int = 20) -> str:
    if not ids:
        return f"{label}: none"
    listed = ", ".join(f"<code>{e(i)}</code>" for i in ids[:shown])
    rest = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return f"{label} ({len(ids)}): {listed}{rest}"


def _problems(problems: tuple[str, ...], room: int) -> str:
    lines: list[str] = []
    used = 0
    for i, problem in enumerate(problems):
        line = f"• {e(problem)}"
        tail = size(f"\n… and {len(problems) - i} more") if i < len(problems) - 1 else 0
        if used + size(line) + 1 + tail > room:
            lines.append(f"… and {len(problems) - i} more")
            break
        lines.append(line)
        used += size(line) + 1
    return "\n".join(lines)


def reload_html(result: ReloadResult) -> str:
    """The reply to /reload: what changed, or why it was refused."""
    if not result.ok:
        count = len(result.problems)
        head = (
            f"<b>Reload refused</b>: the knowledge base has {count} "
            f"problem{'s' if count != 1 else ''}. The old knowledge base "
            f"({result.records} records) stays live.\n"
        )
        return head + _problems(result.problems, MessageLimit.MAX_TEXT_LENGTH - size(head) - 10)
    changes = result.changes
    lines = [
        f"<b>Reloaded</b>: {result.records} records in {result.files} files "
        f"({result.seconds:.1f} s).",
    ]
    if not changes:
        lines.append("No records changed.")
    else:
        lines += [
            _id_list("Added", changes.added),
            _id_list("Removed", changes.removed),
            _id_list("Edited", changes.edited),
        ]
    return fit("\n".join(lines), "<i>(list trimmed)</i>")


def stats_html(stats: Stats) -> str:
    """The reply to /stats."""
    last = stats.last_reload
    if last is None:
        reload_line = "none since start"
    elif last.ok:
        c = last.changes
        reload_line = (
            f"{last.at:%Y-%m-%d %H:%M:%S} UTC, OK "
            f"(+{len(c.added)} added, −{len(c.removed)} removed, {len(c.edited)} edited)"
        )
    else:
        reload_line = f"{last.at:%Y-%m-%d %H:%M:%S} UTC, refused ({len(last.problems)} problems)"
    return "\n".join(
        [
            f"<b>Records</b>: {stats.records} in {stats.files} files",
            f"<b>Running since</b>: {stats.started:%Y-%m-%d %H:%M:%S} UTC",
            f"<b>Last reload</b>: {reload_line}",
            f"<b>Questions</b>: {stats.questions} "
            f"(answered {stats.answered}, abstained {stats.abstained})",
            f"<b>Inline queries</b>: {stats.inline_queries}",
            f"<b>Rate-limited questions</b>: {stats.rate_limited}",
            f"<b>After a restart</b>: {stats.replayed} answered from the journal, "
            f"{stats.duplicates} re-delivered updates not answered twice",
        ]
    )


# --- Conversation -----------------------------------------------------------------------------

APOLOGY = "Sorry, something went wrong while answering. Please try again in a moment."
NOT_ADMIN = "Sorry, only the bot's admins can do that."
PRIVATE_ONLY = "Use this in a private chat with the bot."
ASK_HINT = (
    "Ask me a question after the command, e.g.\n"
    "<code>/ask When was the drone factory reported?</code>"
)
CLAIM_HINT = (
    "Send <code>/claim ID</code> with a record id (the record buttons under an answer "
    "open records too)."
)
UNKNOWN_COMMAND = "I don't know that command. Try /help."
BUTTON_EXPIRED = "This button has expired; please ask again."
MORE_ALREADY_SENT = "Those results are already above."
RECORD_TRIMMED = "<i>Trimmed: the record is longer than Telegram allows; see its source file.</i>"
EXAMPLE_QUESTIONS = (
    "When was the drone factory reported?",
    "Who said Iran supplies drones to Russia?",
)
EXAMPLES = "\n".join(f"• {q}" for q in (*EXAMPLE_QUESTIONS, "Shahed drones"))

#: Shown in the bot's profile and before a person's first message (plain text).
DESCRIPTION = (
    "I answer questions from curated claim records. Every answer cites dated records "
    "and their sources; when no record fits, I say so. Tell me when an answer is wrong: "
    "the curators read it."
)
SHORT_DESCRIPTION = "Cited, dated answers from curated claim records."

THANKS_UP = "Thanks! Glad it helped."
THANKS_CHANGED = "Thanks: your verdict is changed."
THANKS_DOWN_INLINE = "Thanks: the curators will look at it."
WHAT_WAS_WRONG = (
    "Thanks for telling us. <b>What was wrong?</b> Reply to this message in one line "
    "(optional): the curators read it."
)
COMMENT_THANKS = "Thanks: passed on to the curators."
INLINE_NOTHING_LABEL = "No claim records about that. How to ask"


def what_was_wrong_html(user_id: int, first_name: str, *, group: bool) -> str:
    """The prompt after 👎; in a group it names the person it asks."""
    if not group:
        return WHAT_WAS_WRONG
    return f'<a href="tg://user?id={user_id}">{e(first_name)}</a>: {WHAT_WAS_WRONG}'


def start_html() -> str:
    """/start: a greeting and two example questions."""
    examples = "\n".join(f"• <code>{e(q)}</code>" for q in EXAMPLE_QUESTIONS)
    return (
        "Hello! Ask me about the claims in my records and I answer with dated, "
        f"cited sources. Try:\n{examples}\n\n/help tells you more."
    )


def help_html(bot_username: str | None, *, group: bool, admin: bool) -> str:
    """/help: what the bot does and how to ask; in a group, how to ask there."""
    name = e(bot_username or "this_bot")
    if group:
        return (
            "I answer questions from curated claim records, citing dated sources.\n"
            f"In this group: <code>/ask@{name} your question</code>, or reply to one of my "
            f"messages. In any chat, type <code>@{name} your question</code>.\n"
            "For whole answers and records, ask me in a private chat."
        )
    body = (
        "I answer questions from curated claim records. Every answer cites its "
        "records with their dates and sources; when no record fits, I say so.\n\n"
        "Just send me a question (or a photo with the question as caption), for example:\n"
        f"{e(EXAMPLES)}\n\n"
        "Tap a quote to unfold it. The buttons under an answer open each record's "
        "source, show more results, and let you say whether the answer was right: "
        "👎 tells the curators what I got wrong. Edit your question and I answer again.\n\n"
        "<b>Commands</b>\n"
        "/ask QUESTION — ask (the same as sending the question)\n"
        "/claim ID — a whole record with its source\n"
        "/help — this message\n\n"
        f"In groups: <code>/ask@{name} QUESTION</code>. In any chat: "
        f"<code>@{name} QUESTION</code>."
    )
    if admin:
        body += (
            "\n\n<b>Admin</b>\n/reload — re-read the knowledge base\n/stats — counters\n"
            "/feedback — the latest verdicts of readers"
        )
    return body


def no_record_html(claim_id: str) -> str:
    if not claim_id:
        return BUTTON_EXPIRED
    return f"I have no record with the id <code>{e(claim_id)}</code>."


def rate_limited_text(limit: int, wait: float, now: dt.datetime | None = None) -> str:
    """The quota notice (plain text: also a button alert)."""
    at = (now or dt.datetime.now(dt.UTC)) + dt.timedelta(seconds=wait)
    return (
        f"You have reached the limit of {limit} questions and button presses a minute. "
        f"You can ask again in {max(1, round(wait))} s (at {at:%H:%M:%S} UTC)."
    )


def rate_limited_html(limit: int, wait: float, now: dt.datetime | None = None) -> str:
    return e(rate_limited_text(limit, wait, now))


def feedback_html(entries: Sequence[Entry]) -> str:
    """/feedback (admins): the latest verdicts, newest first."""
    if not entries:
        return "No feedback yet."
    lines = [f"<b>Latest feedback</b> ({len(entries)}, newest first)"]
    for entry in entries:
        mark = "👍" if entry.verdict == "up" else "👎"
        ids = ", ".join(f"<code>{e(i)}</code>" for i in entry.record_ids) or "no records"
        comment = f"\n  “{e(entry.comment)}”" if entry.comment else ""
        lines.append(
            f"{mark} {entry.at:%Y-%m-%d %H:%M} · {e(entry.chat_type)} · user {entry.user_id}\n"
            f"  <b>Q:</b> {e(clip(entry.question, 200))}\n  {ids}{comment}"
        )
    return fit("\n".join(lines), "<i>(trimmed: python -m bot feedback lists them all)</i>")


def admin_alert_html(error: BaseException | None, update_id: int | None) -> str:
    """The short private message admins get when a handler fails (no user data in it)."""
    kind = type(error).__name__ if error is not None else "an error"
    update = f" on update {update_id}" if update_id is not None else ""
    return (
        f"⚠️ <b>Handler error</b>{update}: {e(kind)}. The person got an apology; "
        "the traceback is in the log. (At most one alert a minute.)"
    )
