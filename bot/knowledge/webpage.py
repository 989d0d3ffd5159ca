"""The JSON-LD blocks of an HTML page: ``<script type="application/ld+json">``.

Parsed with selectolax's Lexbor engine, an HTML5 parser: it reads script
contents exactly as a browser does (raw text up to ``</script>``, entities left
alone), copes with broken markup, and runs in linear time in C, so a large or
hostile page cannot make the import slow.

Besides the blocks, a page tells the importer its own URL (``<base href>``,
``<link rel="canonical">`` or ``og:url``: relative URLs in the markup are resolved
against it) and its language (``<html lang>``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from bot.knowledge import values

_WRAPPERS = re.compile(r"^\s*(?:<!--|//\s*<!\[CDATA\[|<!\[CDATA\[)|(?:-->|//\s*\]\]>|\]\]>)\s*$")


@dataclass(frozen=True)
class Block:
    """One ``ld+json`` script: its number on the page (from 1) and its JSON, or why not."""

    number: int
    data: object = None
    error: str | None = None


@dataclass(frozen=True)
class Page:
    blocks: tuple[Block, ...]
    url: str | None = None
    language: str | None = None


def _unclosed(text: str) -> bool:
    """Whether the text ends inside a string or with a bracket still open."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return in_string or depth > 0


def _json_error(exc: json.JSONDecodeError, text: str) -> str:
    end = " (it ends too early: cut off?)" if _unclosed(text) else ""
    message = exc.msg.removesuffix(" at")
    return f"not valid JSON: {message} at line {exc.lineno}, column {exc.colno}{end}"


def parse_json(text: str) -> tuple[object, str | None]:
    """``json.loads`` with a one-line reason instead of an exception."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, _json_error(exc, text)
    except RecursionError:
        return None, "not readable: the JSON is nested too deeply"


def read_page(html: str) -> Page:
    """The page's JSON-LD blocks (parsed), its own URL and its language."""
    tree = LexborHTMLParser(html)
    blocks = []
    number = 0
    for script in tree.css("script"):
        kind = (script.attributes.get("type") or "").strip().lower()
        if not kind.startswith("application/ld+json"):
            continue
        number += 1
        raw = _WRAPPERS.sub("", script.text(deep=True) or "").strip()
        if not raw:
            blocks.append(Block(number, error="the script is empty"))
            continue
        data, error = parse_json(raw)
        blocks.append(Block(number, data, error))
    return Page(tuple(blocks), _page_url(tree), _language(tree))


def _page_url(tree: LexborHTMLParser) -> str | None:
    candidates = []
    for selector, attribute in (
        ("base[href]", "href"),
        ('link[rel="canonical"]', "href"),
        ('meta[property="og:url"]', "content"),
    ):
        node = tree.css_first(selector)
        if node is not None:
            candidates.append(node.attributes.get(attribute))
    for candidate in candidates:
        found, _ = values.url(candidate)
        if found:
            return found
    return None


def _language(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("html")
    lang = (node.attributes.get("lang") or "").strip() if node is not None else ""
    return lang if re.match(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$", lang) else None
