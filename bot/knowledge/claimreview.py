"""schema.org ``ClaimReview`` and ``Claim`` markup, both ways: records from it, it from records.

Reading takes every shape publishers use, once it is parsed JSON: a single
object, an array, an ``@graph`` with the ClaimReview among other nodes, a
``DataFeed`` (``dataFeedElement`` → ``DataFeedItem`` → ``item``), a ClaimReview
nested anywhere else (a page's ``mainEntity``), and the Fact Check Tools API's
``claims:search`` response. And the quirks: ``@type`` as a list, in lower case or
written ``type``; ``claimReviewed`` as an array or with HTML entities; rating
numbers as strings, ``""`` or ``"-1"``; a verdict that is a sentence or ends in
``\\r``; no claim date (the review's stands in, and ``date_note`` says so); no
claimant; ``firstAppearance`` instead of ``appearance``; relative or schemeless
URLs. ``docs/claimreview.md`` is the field-by-field mapping.

Writing (:func:`to_jsonld`, :func:`data_feed`) is the inverse: reading what it
writes gives back the same record for every field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.knowledge import values
from bot.knowledge.items import UNNAMED_CLAIMANT, Item, skipped
from bot.knowledge.schema import STATUSES, Record, Status

SCHEMA_CONTEXT = "https://schema.org"
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PREFIXES = ("http://schema.org/", "https://schema.org/", "schema:")
#: Node types whose ``inLanguage`` is the page's language (an ``@graph``'s article).
_PAGE_TYPES = frozenset(
    {"webpage", "newsarticle", "article", "reportagenewsarticle", "blogposting"}
)


@dataclass(frozen=True)
class Context:
    """What the input around the markup tells: the page's URL (relative URLs are
    resolved against it; a ClaimReview without a ``url`` is that page) and language."""

    base: str | None = None
    language: str | None = None


def _norm(name: str) -> str:
    lowered = name.strip().lower()
    for prefix in _PREFIXES:
        lowered = lowered.removeprefix(prefix)
    return lowered


def prop(node: Any, name: str) -> Any:
    """A property of a JSON-LD node, however its key is written (``claimReviewed``,
    ``claimreviewed``, ``schema:claimReviewed``); None when absent."""
    if not isinstance(node, dict):
        return None
    if name in node:
        return node[name]
    wanted = _norm(name)
    for key, value in node.items():
        if isinstance(key, str) and _norm(key) == wanted:
            return value
    return None


def types_of(node: Any) -> set[str]:
    """A node's types in lower case: ``@type`` or ``type``, a string or a list."""
    if not isinstance(node, dict):
        return set()
    raw = node.get("@type", node.get("type"))
    names = raw if isinstance(raw, list) else [raw]
    return {_norm(t) for t in names if isinstance(t, str) and t.strip()}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- status from a verdict --------------------------------------------------------

#: Verdicts that say the claim is true, in the languages fact-checkers publish in.
TRUE_VERDICTS = frozenset(
    {
        "true", "correct", "accurate", "confirmed", "verified",
        "verdadeiro", "verdadeira", "verdade", "correto", "correta", "confirmado",
        "verdadero", "verdadera", "verdad", "cierto", "correcto", "confirmada",
        "wahr", "richtig", "korrekt", "bestätigt", "vrai", "exact", "vero", "corretto",
        "waar", "juist", "prawda", "benar", "sahi", "sach",
    }
)  # fmt: skip
_HEAD = re.compile(r"[:.!;(\n]| - | – | — ")
_QUOTES = " \t\"'“”„«»‘’`*"


def verdict_head(verdict: str) -> str:
    """The verdict's leading word(s), normalised: ``"FALSO: As imagens ..."`` → ``falso``."""
    head = _HEAD.split(verdict.replace("_", " "), maxsplit=1)[0]
    return " ".join(head.strip(_QUOTES).lower().split())


def status_from_review(
    verdict: str | None, rating: float | None = None, best: float | None = None
) -> Status:
    """Our status for a fact-checked claim, from the publisher's verdict.

    A fact-check judges the claim: ``confirmed`` when the verdict says it is true
    ("True", "Verdadeiro", "Richtig", or the top of the numeric scale when there is
    no verdict), ``disputed`` for every other verdict (false, misleading, missing
    context, half true: the fact-check disputes at least part of it), ``reported``
    when the review gives no verdict at all. The verdict itself is kept verbatim
    in ``review.verdict``.
    """
    if verdict:
        return "confirmed" if verdict_head(verdict) in TRUE_VERDICTS else "disputed"
    if rating is not None:
        return "confirmed" if best is not None and rating >= best else "disputed"
    return "reported"


# --- reading ----------------------------------------------------------------------


@dataclass
class _Found:
    reviews: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    claims: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    skips: list[tuple[str, str]] = field(default_factory=list)
    seen_types: dict[str, None] = field(default_factory=dict)


class _Document:
    """One parsed JSON document: its nodes by ``@id``, and the ClaimReviews in it."""

    def __init__(self, data: Any, file: str, prefix: str, context: Context) -> None:
        self.file = file
        self.prefix = prefix
        self.context = context
        self.by_id: dict[str, dict[str, Any]] = {}
        self._index(data)

    def _index(self, data: Any) -> None:
        stack = [data]
        while stack:
            value = stack.pop()
            if isinstance(value, list):
                stack.extend(value)
            elif isinstance(value, dict):
                ident = value.get("@id")
                if isinstance(ident, str) and len(value) > 1:
                    known = self.by_id.get(ident)
                    if known is None or len(value) > len(known):
                        self.by_id[ident] = value
                stack.extend(value.values())

    def resolve(self, value: Any) -> Any:
        """A ``{"@id": ...}`` reference as the node it names, where the document has it."""
        if isinstance(value, dict) and set(value) <= {"@id", "@type"}:
            ident = value.get("@id")
            if isinstance(ident, str) and ident in self.by_id:
                return self.by_id[ident]
        return value

    def first(self, value: Any) -> dict[str, Any] | None:
        for item in _as_list(value):
            node = self.resolve(item)
            if isinstance(node, dict):
                return node
        return None

    def position(self, path: str) -> str:
        return f"{self.prefix}: {path}" if self.prefix and path else (self.prefix or path)

    # -- finding ------------------------------------------------------------------

    def find(self, data: Any) -> _Found:
        found = _Found()
        self._walk(data, "", True, found)
        return found

    def _walk(self, value: Any, path: str, item_level: bool, found: _Found) -> None:
        if isinstance(value, list):
            for i, child in enumerate(value):
                self._walk(child, f"{path}[{i}]", item_level, found)
            return
        if not isinstance(value, dict):
            return
        kinds = types_of(value)
        found.seen_types.update(dict.fromkeys(_written_types(value)))
        if "claimreview" in kinds:
            found.reviews.append((path, value))
            return
        if "claim" in kinds:
            if item_level:
                found.claims.append((path, value))
            return
        feed_item = "datafeeditem" in kinds
        for key, child in value.items():
            if not isinstance(key, str) or _norm(key) == "itemreviewed":
                continue
            name = _norm(key)
            child_path = f"{path}.{key}" if path else key
            deeper = item_level and (
                name in ("@graph", "datafeedelement") or (feed_item and name == "item")
            )
            if name == "datafeedelement" and isinstance(child, list):
                for i, element in enumerate(child):
                    before = len(found.reviews) + len(found.claims)
                    self._walk(element, f"{child_path}[{i}]", deeper, found)
                    if len(found.reviews) + len(found.claims) == before:
                        what = _type_names(element)
                        found.skips.append((f"{child_path}[{i}]", f"not a ClaimReview ({what})"))
                continue
            self._walk(child, child_path, deeper, found)

    # -- one ClaimReview or Claim --------------------------------------------------

    def _names(self, value: Any) -> str | None:
        names: dict[str, None] = {}
        for item in _as_list(value):
            node = self.resolve(item)
            name = (
                values.line(node)
                if isinstance(node, str)
                else values.line(prop(node, "name")) or values.line(prop(node, "legalName"))
            )
            if name:
                names[name] = None
        return ", ".join(names) or None

    def _url(self, value: Any, what: str, notes: list[str]) -> str | None:
        found, problem = values.url(value, self.context.base)
        if problem:
            notes.append(f"{what}: {problem}; left out")
        return found

    def _date(self, value: Any, what: str, notes: list[str]) -> str | None:
        found, problem = values.date(value)
        if problem:
            notes.append(f"{what}: {problem}")
        return found

    def _language(self, *nodes: Any) -> str | None:
        for node in nodes:
            raw = prop(node, "inLanguage")
            if isinstance(raw, dict):
                raw = prop(raw, "alternateName") or prop(raw, "name")
            tag = values.line(raw)
            if tag and re.match(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$", tag):
                return tag.replace("_", "-")
        return self.context.language

    def _source(self, item: dict[str, Any], claim: str, notes: list[str]) -> dict[str, Any]:
        appearance = self.first(prop(item, "appearance"))
        if appearance is None and isinstance(prop(item, "appearance"), str):
            appearance = {"url": prop(item, "appearance")}
        source: dict[str, Any] = {}
        quote = None
        if appearance is not None:
            whole = self.first(prop(appearance, "isPartOf")) or appearance
            source["title"] = values.line(prop(whole, "headline")) or values.line(
                prop(whole, "name")
            )
            source["publisher"] = self._names(prop(whole, "publisher"))
            source["url"] = self._url(
                prop(whole, "url") or prop(appearance, "url"), "appearance url", notes
            )
            source["published"] = self._date(
                prop(whole, "datePublished"), "appearance datePublished", notes
            )
            source["excerpt"] = values.text(prop(appearance, "text"))
            for part in _as_list(prop(appearance, "hasPart")):
                node = self.resolve(part)
                if "quotation" in types_of(node):
                    quote = values.text(prop(node, "text"))
        else:
            source["url"] = self._url(prop(item, "url"), "itemReviewed url", notes)
        source["excerpt"] = source.get("excerpt") or claim
        result: dict[str, Any] = {"source": {k: v for k, v in source.items() if v is not None}}
        if quote:
            result["quote"] = quote
        return result

    def _links(self, item: dict[str, Any]) -> dict[str, list[str]]:
        links: dict[str, list[str]] = {}
        for role in _as_list(prop(item, "citation")):
            node = self.resolve(role)
            name = values.line(prop(node, "roleName"))
            target = self.resolve(prop(node, "citation"))
            ident = prop(target, "identifier") if isinstance(target, dict) else None
            if name in ("denied_by", "contradicts") and isinstance(ident, str):
                links.setdefault(name, []).append(ident.strip())
        return links

    def _claim_fields(
        self, item: dict[str, Any], claim_text: str | None, notes: list[str]
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The record fields a ``Claim`` node gives, or why it cannot be a record."""
        claim = claim_text or values.text(prop(item, "text"))
        if not claim:
            return None, "no claim text (neither claimReviewed nor itemReviewed.text)"
        fields: dict[str, Any] = {}
        ident = prop(item, "identifier")
        if isinstance(ident, str) and _SLUG.match(ident.strip()):
            fields["id"] = ident.strip()
        fields["claim"] = claim
        fields["claimant"] = self._names(prop(item, "author")) or self._names(prop(item, "creator"))
        fields["date"] = self._date(prop(item, "datePublished"), "claim datePublished", notes)
        comment = self.first(prop(item, "comment"))
        if comment is not None:
            fields["date_note"] = values.text(prop(comment, "text"))
        status = values.line(prop(item, "creativeWorkStatus"))
        if status in STATUSES:
            fields["status"] = status
        fields.update(self._links(item))
        fields.update(self._source(item, claim, notes))
        entities = [self._names(t) for t in _as_list(prop(item, "about"))]
        fields["entities"] = [e for e in entities if e]
        keywords = prop(item, "keywords")
        if keywords is not None:
            if isinstance(keywords, str):
                keywords = keywords.split(",")
            fields["tags"] = [t for t in (values.line(k) for k in _as_list(keywords)) if t]
        fields["language"] = self._language(item)
        first = self.first(prop(item, "firstAppearance"))
        first_url = prop(first, "url") if first is not None else prop(item, "firstAppearance")
        fields["first_appearance"] = self._url(first_url, "firstAppearance url", notes)
        return fields, None

    def _reviewer(self, node: dict[str, Any], notes: list[str]) -> tuple[str | None, str | None]:
        authors = [self.resolve(a) for a in _as_list(prop(node, "author"))]
        orgs = [a for a in authors if any("organization" in t for t in types_of(a))]
        chosen = orgs[0] if orgs else None
        if chosen is None:
            publisher = self.first(prop(node, "publisher"))
            if publisher is not None and values.line(prop(publisher, "name")):
                chosen = publisher
        if chosen is None:
            return self._names(prop(node, "author")), None
        return (
            values.line(prop(chosen, "name")),
            self._url(prop(chosen, "url"), "reviewer url", notes),
        )

    def _review(self, node: dict[str, Any], notes: list[str]) -> dict[str, Any]:
        written = prop(node, "reviewRating")
        rating = self.first(written) or ({"alternateName": written} if written else {})
        verdict = values.line(prop(rating, "alternateName")) or values.line(prop(rating, "name"))
        value = values.number(prop(rating, "ratingValue"))
        best = values.number(prop(rating, "bestRating"))
        worst = values.number(prop(rating, "worstRating"))
        if best is not None and worst is not None and best <= worst:
            notes.append(f"rating scale from {worst} to {best} is no scale; its numbers left out")
            value = best = worst = None
        if value is not None and (
            value < (worst if worst is not None else 0) or (best is not None and value > best)
        ):
            notes.append(f"ratingValue {value} lies outside the scale; left out")
            value = None
        reviewer, reviewer_url = self._reviewer(node, notes)
        page = prop(node, "url") or prop(node, "mainEntityOfPage") or self.context.base
        review = {
            "verdict": verdict,
            "rating": value,
            "best": best,
            "worst": worst,
            "reviewer": reviewer,
            "reviewer_url": reviewer_url,
            "date": self._date(prop(node, "datePublished"), "review datePublished", notes),
            "url": self._url(page, "review url", notes),
            "title": values.line(prop(node, "name")) or values.line(prop(node, "headline")),
        }
        return {k: v for k, v in review.items() if v is not None}

    def claim_review(self, path: str, node: dict[str, Any]) -> Item:
        notes: list[str] = []
        item = self.first(prop(node, "itemReviewed")) or {}
        claim_text = values.text(prop(node, "claimReviewed"))
        fields, reason = self._claim_fields(item, claim_text, notes)
        if fields is None:
            return skipped(self.file, self.position(path), reason or "not a claim")
        review = self._review(node, notes)
        fields["review"] = review
        if fields["date"] is None:
            if review.get("date") is None:
                unread = [n for n in notes if "unreadable date" in n]
                why = (
                    "; ".join(unread)
                    if unread
                    else "no date: neither the claim (itemReviewed.datePublished) "
                    "nor the review (datePublished) is dated"
                )
                return skipped(self.file, self.position(path), why)
            fields["date"] = review["date"]
            fields.setdefault(
                "date_note",
                "The fact-check gives no date for the claim; this is the date of the review.",
            )
        fields.setdefault(
            "status",
            status_from_review(review.get("verdict"), review.get("rating"), review.get("best")),
        )
        fields.setdefault("tags", ["fact-check"])
        if fields["language"] is None:
            fields["language"] = self._language(node)
        return self._item(path, fields, notes)

    def claim(self, path: str, node: dict[str, Any]) -> Item:
        notes: list[str] = []
        fields, reason = self._claim_fields(node, None, notes)
        if fields is None:
            return skipped(self.file, self.position(path), reason or "not a claim")
        if fields["date"] is None:
            unread = [n for n in notes if "unreadable date" in n]
            why = "; ".join(unread) if unread else "no date (the Claim has no datePublished)"
            return skipped(self.file, self.position(path), why)
        fields.setdefault("status", "reported")
        return self._item(path, fields, notes)

    def _item(self, path: str, fields: dict[str, Any], notes: list[str]) -> Item:
        fields["claimant"] = fields.get("claimant") or UNNAMED_CLAIMANT
        clean = {k: v for k, v in fields.items() if v is not None}
        return Item(self.file, self.position(path), clean, None, tuple(notes))


def _written_types(node: Any) -> list[str]:
    """A node's types as the markup writes them (for messages)."""
    if not isinstance(node, dict):
        return []
    raw = node.get("@type", node.get("type"))
    return [t.strip() for t in (raw if isinstance(raw, list) else [raw]) if isinstance(t, str)]


def _type_names(node: Any) -> str:
    kinds = [] if "datafeeditem" in types_of(node) else _written_types(node)
    if not kinds and isinstance(node, dict):
        inner = node.get("item")
        kinds = sorted({t for i in _as_list(inner) for t in _written_types(i)})
    if not kinds:
        return "no @type" if isinstance(node, dict) else f"a {type(node).__name__}"
    return "a " + ", ".join(kinds)


def _page_language(data: Any) -> str | None:
    graph = prop(data, "@graph")
    languages = {
        values.line(prop(node, "inLanguage"))
        for node in _as_list(graph)
        if types_of(node) & _PAGE_TYPES and isinstance(prop(node, "inLanguage"), str)
    }
    languages.discard(None)
    return next(iter(languages)) if len(languages) == 1 else None


def read_document(
    data: Any, file: str, prefix: str = "", context: Context | None = None
) -> list[Item]:
    """Every ClaimReview (and stand-alone Claim) of one parsed JSON document, as items.

    ``prefix`` names the document inside its file (``script 2`` of an HTML page).
    A document that holds neither is one skipped item saying what it holds.
    """
    if isinstance(data, dict) and not types_of(data) and isinstance(prop(data, "claims"), list):
        return read_factcheck_api(data, file)
    context = context or Context()
    if context.language is None:
        context = replace(context, language=_page_language(data))
    document = _Document(data, file, prefix, context)
    found = document.find(data)
    referenced: set[int] = set()
    referenced_ids: set[str] = set()
    for _, node in found.reviews:
        item = document.first(prop(node, "itemReviewed"))
        if item is not None:
            referenced.add(id(item))
            if isinstance(item.get("@id"), str):
                referenced_ids.add(item["@id"])
    items = [document.claim_review(path, node) for path, node in found.reviews]
    items += [
        document.claim(path, node)
        for path, node in found.claims
        if id(node) not in referenced and node.get("@id") not in referenced_ids
    ]
    items += [skipped(file, document.position(p), why) for p, why in found.skips]
    if not items:
        kinds = ", ".join(list(found.seen_types)[:6])
        what = f"it holds {kinds}" if kinds else "no node has a @type: is this JSON-LD?"
        items.append(skipped(file, prefix, f"no ClaimReview here ({what})"))
    return sorted(items, key=lambda i: _path_key(i.position))


def _path_key(position: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", position)]


# --- the Fact Check Tools API ---------------------------------------------------------


def read_factcheck_api(data: dict[str, Any], file: str) -> list[Item]:
    """A ``claims:search`` response: ``claims[]`` with ``text``, ``claimant``,
    ``claimDate`` and ``claimReview[]`` (``publisher``, ``url``, ``title``,
    ``reviewDate``, ``textualRating``, ``languageCode``). One record per review."""
    items: list[Item] = []
    for i, claim in enumerate(data["claims"]):
        where = f"claims[{i}]"
        if not isinstance(claim, dict):
            items.append(skipped(file, where, "not a claim (expected an object)"))
            continue
        text = values.text(claim.get("text"))
        reviews = [r for r in _as_list(claim.get("claimReview")) if isinstance(r, dict)]
        if not text:
            items.append(skipped(file, where, "no claim text"))
            continue
        if not reviews:
            items.append(skipped(file, where, "no claimReview"))
            continue
        for j, raw in enumerate(reviews):
            items.append(_api_review(file, f"{where}.claimReview[{j}]", claim, text, raw))
    if not items:
        items.append(skipped(file, "claims", "the response holds no claims"))
    return items


def _api_review(
    file: str, where: str, claim: dict[str, Any], text: str, raw: dict[str, Any]
) -> Item:
    notes: list[str] = []

    def read_url(value: Any, what: str) -> str | None:
        found, problem = values.url(value)
        if problem:
            notes.append(f"{what}: {problem}; left out")
        return found

    def read_date(value: Any, what: str) -> str | None:
        found, problem = values.date(value)
        if problem:
            notes.append(f"{what}: {problem}")
        return found

    raw_publisher = raw.get("publisher")
    publisher: dict[str, Any] = raw_publisher if isinstance(raw_publisher, dict) else {}
    site = values.line(publisher.get("site"))
    review = {
        "verdict": values.line(raw.get("textualRating")),
        "reviewer": values.line(publisher.get("name")) or site,
        "reviewer_url": read_url(site, "publisher site") if site else None,
        "date": read_date(raw.get("reviewDate"), "reviewDate"),
        "url": read_url(raw.get("url"), "review url"),
        "title": values.line(raw.get("title")),
    }
    review = {k: v for k, v in review.items() if v is not None}
    claim_date = read_date(claim.get("claimDate"), "claimDate")
    fields: dict[str, Any] = {
        "claim": text,
        "claimant": values.line(claim.get("claimant")) or UNNAMED_CLAIMANT,
        "date": claim_date or review.get("date"),
        "status": status_from_review(review.get("verdict")),
        "source": {"excerpt": text},
        "tags": ["fact-check"],
        "language": values.line(raw.get("languageCode")),
        "review": review,
    }
    if fields["date"] is None:
        unread = [n for n in notes if "unreadable date" in n]
        return skipped(
            file, where, "; ".join(unread) or "no date: neither claimDate nor reviewDate"
        )
    if claim_date is None:
        fields["date_note"] = (
            "The fact-check gives no date for the claim; this is the date of the review."
        )
    return Item(file, where, {k: v for k, v in fields.items() if v is not None}, None, tuple(notes))


# --- writing ------------------------------------------------------------------------


def _drop_none(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if v is not None}


def _claim_node(record: Record) -> dict[str, Any]:
    src = record.source
    whole = _drop_none(
        {
            "@type": "CreativeWork",
            "headline": src.title,
            "name": src.title,
            "publisher": {"@type": "Organization", "name": src.publisher}
            if src.publisher
            else None,
            "url": src.url,
            "datePublished": src.published,
        }
    )
    appearance = _drop_none(
        {
            "@type": "CreativeWork",
            "text": src.excerpt,
            "url": src.url,
            "hasPart": {
                "@type": "Quotation",
                "text": record.quote,
                "author": {"name": record.claimant},
            }
            if record.quote
            else None,
            "isPartOf": whole,
        }
    )
    citations = [
        {
            "@type": "Role",
            "roleName": name,
            "citation": {"@type": "Claim", "identifier": target},
        }
        for name, target in record.links()
    ]
    return _drop_none(
        {
            "@type": "Claim",
            "identifier": record.id,
            "text": record.claim,
            "author": {"name": record.claimant},
            "datePublished": record.date,
            "comment": {"@type": "Comment", "text": record.date_note} if record.date_note else None,
            "creativeWorkStatus": record.status,
            "inLanguage": record.language,
            "appearance": appearance,
            "firstAppearance": {"@type": "CreativeWork", "url": record.first_appearance}
            if record.first_appearance
            else None,
            "about": [{"@type": "Thing", "name": e} for e in record.entities] or None,
            "keywords": list(record.tags),
            "citation": citations or None,
        }
    )


def to_jsonld(record: Record) -> dict[str, Any]:
    """A record as JSON-LD: a ``ClaimReview`` of its ``Claim`` when the record has a
    review (an imported fact-check), else the ``Claim`` alone (ours is no verdict)."""
    claim = _claim_node(record)
    review = record.review
    if review is None:
        return claim
    rating = _drop_none(
        {
            "@type": "Rating",
            "alternateName": review.verdict,
            "ratingValue": review.rating,
            "bestRating": review.best,
            "worstRating": review.worst,
        }
    )
    author = _drop_none(
        {"@type": "Organization", "name": review.reviewer, "url": review.reviewer_url}
    )
    return _drop_none(
        {
            "@type": "ClaimReview",
            "url": review.url,
            "name": review.title,
            "datePublished": review.date,
            "author": author if len(author) > 1 else None,
            "claimReviewed": record.claim,
            "reviewRating": rating if len(rating) > 1 else None,
            "itemReviewed": claim,
        }
    )


def data_feed(records: Iterable[Record]) -> dict[str, Any]:
    """The records as one JSON-LD ``DataFeed``, one ``DataFeedItem`` per record."""
    return {
        "@context": SCHEMA_CONTEXT,
        "@type": "DataFeed",
        "dataFeedElement": [
            {"@type": "DataFeedItem", "item": [to_jsonld(record)]} for record in records
        ],
    }
