"""Buttons: what callback data and deep links name, with no state in memory."""

from __future__ import annotations

from pathlib import Path

from bot.answer.compose import answer
from bot.chat import buttons
from bot.knowledge import load
from bot.search import Index
from tests.records import record, write_records

LONG_ID = "a-record-id-long-enough-that-callback-data-cannot-hold-it-as-it-is-" + "x" * 10


def test_record_buttons_name_the_id_or_a_stable_digest(tmp_path: Path) -> None:
    kb = load(write_records(tmp_path, [record("a-one"), record(LONG_ID)]))
    assert buttons.source_data("a-one") == "src:a-one"
    data = buttons.source_data(LONG_ID)
    assert data.startswith("src:~") and len(data.encode()) <= 64
    assert data == buttons.source_data(LONG_ID)  # the same in every process
    assert buttons.source_claim_id(data, kb) == LONG_ID
    assert buttons.source_claim_id("src:a-one", kb) == "a-one"
    for forged in ("src:~AAAAAAAAAAAAAAAA", "src:nope", "src:", "src:~"):
        assert buttons.source_claim_id(forged, kb) is None


def test_answer_keys_are_checked() -> None:
    assert buttons.feedback_of("fb:AbCd_-12:up") == ("AbCd_-12", "up")
    assert buttons.feedback_of("fb:AbCd_-12:down") == ("AbCd_-12", "down")
    for forged in ("fb:AbCd_-12:meh", "fb:short:up", "fb:AbCd_-12", "fb:a:b:c", "x" * 64):
        assert buttons.feedback_of(forged) is None
    assert buttons.more_key("more:AbCd_-12") == "AbCd_-12"
    assert buttons.more_key("more:../../etc") is None
    assert buttons.details_key("qAbCd_-12") == "AbCd_-12"
    assert buttons.details_key("inline") is None and buttons.details_key("qshort") is None


def test_answer_keyboard_two_a_row_url_buttons_more_and_feedback(tmp_path: Path) -> None:
    records = [
        record(f"gadget-{n}", claim=f"Gadget {n} was seen.", excerpt=f"Gadget {n} was seen.",
               claimant=f"Observer {n}, a long description of who they are",
               **({"url": f"https://example.org/{n}"} if n % 2 else {}))
        for n in range(1, 10)
    ]  # fmt: skip
    index = Index.build(load(write_records(tmp_path, records)))
    result = answer(index, "gadget seen")
    markup = buttons.answer_keyboard(result, "AbCd_-12")
    rows = markup.inline_keyboard
    sources = [b for row in rows[:-2] for b in row]
    assert all(len(row) <= 2 for row in rows)
    assert len(sources) == len(result.citations) == 6
    assert all(len(b.text) <= 30 and "," not in b.text for b in sources)
    for button, citation in zip(sources, result.citations, strict=True):
        if citation.url:
            assert button.url == citation.url and button.callback_data is None
        else:
            assert button.callback_data == f"src:{citation.claim_id}"
    assert rows[-2][0].callback_data == "more:AbCd_-12"
    assert [b.callback_data for b in rows[-1]] == ["fb:AbCd_-12:up", "fb:AbCd_-12:down"]
    left = buttons.without_more(markup)
    assert left is not None and len(left.inline_keyboard) == len(rows) - 1
