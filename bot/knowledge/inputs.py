"""Import inputs: files and folders of JSON(-LD), HTML pages and CSV, read into items.

A file is read by what it holds, not only by its name: a ``.json`` that is an HTML
page is read as one, a PDF or a ZIP renamed ``.json`` is named for what it is.
Everything that stops a file from being read at all (missing, empty, too large,
not UTF-8, not valid JSON) is an :class:`~bot.errors.InputError` with a one-line
reason; a file that reads but holds nothing importable is a skipped item. A
folder is read recursively, in name order; files of other kinds in it (a
README) are listed as ignored.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import InputError
from bot.knowledge.claimreview import Context, read_document
from bot.knowledge.items import Item, skipped
from bot.knowledge.spreadsheet import read_csv
from bot.knowledge.webpage import parse_json, read_page

#: The largest file an import reads unless told otherwise (``--max-size``).
DEFAULT_MAX_BYTES = 20_000_000
JSON_SUFFIXES = (".json", ".jsonld", ".json-ld")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
CSV_SUFFIXES = (".csv",)
SUFFIXES = JSON_SUFFIXES + HTML_SUFFIXES + CSV_SUFFIXES

# What a file that is not text starts with, and what to do about it.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document, not JSON, HTML or CSV; save the fact-checks as JSON-LD or CSV"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx or .docx?); save the sheet as CSV (UTF-8)"),
    (b"\x1f\x8b", "gzip-compressed; unpack it first"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls or .doc); save the sheet as CSV (UTF-8)"),
    (b"\x89PNG", "a PNG image, not JSON, HTML or CSV"),
    (b"\xff\xd8\xff", "a JPEG image, not JSON, HTML or CSV"),
)


@dataclass
class Inputs:
    """What reading the inputs gave: items, inputs that could not be read, files ignored."""

    items: list[Item] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(name, "not readable as UTF-16 text: save it as UTF-8") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            name, f"not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x}): save it as UTF-8"
        ) from None


def read_file(path: Path, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Item]:
    """The items of one file; raises InputError when it cannot be read."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise InputError(name, "not a file")
        if size > max_bytes:
            raise InputError(
                name,
                f"the file is {_megabytes(size)}, over the {_megabytes(max_bytes)} an import "
                f"reads; split it, or raise the limit with --max-size {size // 1_000_000 + 1}",
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(name, "no such file or folder") from None
    except OSError as exc:
        raise InputError(name, f"cannot read it: {exc.strerror or exc}") from None
    if not raw:
        raise InputError(name, "the file is empty")
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise InputError(name, f"this is {what}")
    text = _decode(raw, name)
    if "\x00" in text:
        raise InputError(name, "a binary file (it holds NUL bytes), not JSON, HTML or CSV")
    start = text.lstrip()[:1]
    if not start:
        raise InputError(name, "the file holds only white space")
    suffix = path.suffix.lower()
    if start in "{[" and suffix not in CSV_SUFFIXES:
        data, error = parse_json(text)
        if error:
            raise InputError(name, error)
        return read_document(data, name)
    if start == "<" and suffix not in CSV_SUFFIXES:
        return _read_page(text, name)
    if suffix in CSV_SUFFIXES:
        return read_csv(text, name)
    if suffix in JSON_SUFFIXES:
        data, error = parse_json(text)
        raise InputError(name, error or "not JSON")
    raise InputError(name, f"not JSON, HTML or CSV (it starts with {text.lstrip()[:20]!r})")


def _read_page(text: str, name: str) -> list[Item]:
    page = read_page(text)
    if not page.blocks:
        return [skipped(name, "", 'no <script type="application/ld+json"> on this page')]
    context = Context(base=page.url, language=page.language)
    items: list[Item] = []
    for block in page.blocks:
        where = f"script {block.number}"
        if block.error:
            items.append(skipped(name, where, block.error))
        else:
            items += read_document(block.data, name, where, context)
    found = [i for i in items if i.fields is not None]
    if not found and all("no ClaimReview here" in (i.reason or "") for i in items):
        kinds = len(items)
        return [skipped(name, "", f"no ClaimReview in the page's {kinds} JSON-LD block(s)")]
    return items


def _walk(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file in sorted(files):
            if not file.startswith("."):
                yield Path(root) / file


def read_paths(paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_BYTES) -> Inputs:
    """Read every path (files, or folders read recursively) into items and errors."""
    result = Inputs()
    for given in paths:
        path = Path(given)
        files: Iterable[tuple[Path, bool]] = (
            ((p, False) for p in _walk(path)) if path.is_dir() else [(path, True)]
        )
        seen_any = False
        for file, named in files:
            name = str(file)
            if not named and file.suffix.lower() not in SUFFIXES:
                result.ignored.append(name)
                continue
            seen_any = True
            try:
                result.items += read_file(file, name, max_bytes)
            except InputError as exc:
                result.errors.append(exc)
            except RecursionError:
                result.errors.append(InputError(name, "nested too deeply to read"))
            except Exception as exc:  # never a traceback for an input, whatever it holds
                result.errors.append(
                    InputError(name, f"could not be read ({type(exc).__name__}: {exc})")
                )
        if path.is_dir() and not seen_any:
            result.errors.append(
                InputError(str(path), "no .json, .html or .csv file in this folder")
            )
    return result
