"""bot/knowledge/inputs.py: files and folders read by what they hold; bad ones said clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.errors import InputError
from bot.knowledge.inputs import read_file, read_paths

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "claimreview"
REVIEW = (SAMPLES / "object" / "vishvas-news-en.json").read_text(encoding="utf-8")


def error_of(path: Path, max_bytes: int = 20_000_000) -> str:
    with pytest.raises(InputError) as caught:
        read_file(path, path.name, max_bytes)
    return caught.value.reason


def test_truncated_json_names_the_place_and_says_it_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(REVIEW[: len(REVIEW) // 2], encoding="utf-8")
    reason = error_of(path)
    assert reason.startswith("not valid JSON: ") and "line " in reason and "cut off" in reason


def test_a_pdf_renamed_json_is_named_a_pdf(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    assert error_of(path).startswith("this is a PDF document, not JSON, HTML or CSV")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"  \n\t\n", "the file holds only white space"),
        (b"PK\x03\x04rest", "this is a ZIP archive (an .xlsx or .docx?)"),
        (b'{"a": "\xff\xfe"}', "not UTF-8 text (byte 7 is 0xff)"),
        (b"hello", "not valid JSON"),
    ],
)
def test_other_unreadable_files(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(content)
    assert error_of(path).startswith(reason)


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.write(b'[{"@type": "ClaimReview", "claimReviewed": "')
        handle.write(b"x" * 50_000_000)
        handle.write(b'"}]')
    reason = error_of(path)
    assert reason == (
        "the file is 50.0 MB, over the 20.0 MB an import reads; split it, "
        "or raise the limit with --max-size 51"
    )
    # With the limit raised, it reads (and the item, without a date, is a skip).
    items = read_file(path, "huge.json", max_bytes=60_000_000)
    assert items[0].reason is not None and items[0].reason.startswith("no date")


def test_a_json_file_that_holds_an_html_page_is_read_as_one(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_text(
        f'<html lang="en"><script type="application/ld+json">{REVIEW}</script></html>',
        encoding="utf-8",
    )
    (item,) = read_file(path, "page.json")
    assert item.position == "script 1" and item.fields is not None
    assert item.fields["language"] == "en"


def test_html_pages_without_a_claimreview_are_a_skip(tmp_path: Path) -> None:
    plain = tmp_path / "plain.html"
    plain.write_text("<html><body>Just text</body></html>", encoding="utf-8")
    other = tmp_path / "other.html"
    block = json.dumps({"@type": "WebPage"})
    other.write_text(f'<script type="application/ld+json">{block}</script>', encoding="utf-8")
    assert read_file(plain, "plain.html")[0].reason == (
        'no <script type="application/ld+json"> on this page'
    )
    assert read_file(other, "other.html")[0].reason == (
        "no ClaimReview in the page's 1 JSON-LD block(s)"
    )


def test_a_folder_is_read_recursively_and_other_files_ignored(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "one.json").write_text(REVIEW, encoding="utf-8")
    (tmp_path / "a" / "notes.md").write_text("# notes", encoding="utf-8")
    (tmp_path / ".hidden.json").write_text("{", encoding="utf-8")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    result = read_paths([tmp_path, tmp_path / "missing.json"])
    assert [i.file for i in result.items] == [str(tmp_path / "a" / "b" / "one.json")]
    assert result.ignored == [str(tmp_path / "a" / "notes.md")]
    assert [str(e) for e in result.errors] == [
        f"{tmp_path / 'broken.json'}: not valid JSON: Expecting property name enclosed in "
        "double quotes at line 1, column 2 (it ends too early: cut off?)",
        f"{tmp_path / 'missing.json'}: no such file or folder",
    ]


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    result = read_paths([tmp_path])
    assert [e.reason for e in result.errors] == ["no .json, .html or .csv file in this folder"]


def test_json_nested_too_deeply_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"a": ' * 5000 + "1" + "}" * 5000, encoding="utf-8")
    result = read_paths([path])
    assert [e.reason for e in result.errors] == ["not readable: the JSON is nested too deeply"]
    shallow = tmp_path / "nested.json"
    shallow.write_text("[" * 900 + "]" * 900, encoding="utf-8")
    result = read_paths([shallow])
    assert result.errors == [] or "nested too deeply" in result.errors[0].reason
