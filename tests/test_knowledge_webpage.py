"""bot/knowledge/webpage.py: the JSON-LD blocks of an HTML page, its URL and language."""

from __future__ import annotations

from bot.knowledge.webpage import read_page

PAGE = """<!doctype html>
<html lang="pt-BR"><head>
<link rel="canonical" href="https://fc.example/checks/1">
<script>var x = "<script type='application/ld+json'>";</script>
<script type="application/ld+json">
<!--
{"@type": "ClaimReview", "claimReviewed": "a &amp; b </b>"}
-->
</script>
<script type="Application/LD+JSON; charset=utf-8">[{"@type": "WebPage"}]</script>
<script type="application/ld+json">{"@type": "ClaimReview",</script>
</head><body><p>Unclosed <div>
"""


def test_blocks_are_read_as_raw_json_in_page_order() -> None:
    page = read_page(PAGE)
    assert [b.number for b in page.blocks] == [1, 2, 3]
    assert page.blocks[0].data == {"@type": "ClaimReview", "claimReviewed": "a &amp; b </b>"}
    assert page.blocks[1].data == [{"@type": "WebPage"}]
    assert page.blocks[2].error is not None and "cut off" in page.blocks[2].error


def test_the_page_url_and_language() -> None:
    page = read_page(PAGE)
    assert page.url == "https://fc.example/checks/1" and page.language == "pt-BR"
    og = read_page('<meta property="og:url" content="https://o.example/x"><p>')
    assert og.url == "https://o.example/x" and og.language is None


def test_a_page_without_blocks_or_no_html_at_all() -> None:
    assert read_page("<html><body>nothing</body></html>").blocks == ()
    assert read_page("").blocks == ()
