"""Rendering for the command line: an :class:`~bot.answer.model.Answer` or a record
→ plain text a person reads, or the JSON object of ``python -m bot ask --json``.

Telegram HTML is built from the same pieces (:func:`marked_snippet`,
:func:`record_fields`) in :mod:`bot.chat.messages`, the one module that
writes HTML.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.answer.model import Answer, Citation, short_claimant, shows_claim
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import Record


def marked_snippet(
    citation: Citation, mark: Callable[[str], str], plain: Callable[[str], str]
) -> str:
    """The snippet with the question's words passed through ``mark``."""
    out, last = [], 0
    for start, end in citation.marks:
        out.append(plain(citation.snippet[last:start]))
        out.append(mark(citation.snippet[start:end]))
        last = end
    out.append(plain(citation.snippet[last:]))
    return "".join(out)


def notes_after(citation: Citation) -> str:
    """A citation's notes ("Denied by Iran (February 2023) [id]"), to follow its id."""
    return "".join(f" — {note}" for note in citation.notes)


def citation_text(citation: Citation, *, claim: bool = True) -> str:
    """One cited line and its quote, plain text: date, short claimant, the claim
    (unless ``claim`` is false), notes, the record id, the source URL."""
    snippet = marked_snippet(citation, lambda w: f"*{w}*", str)
    said = f": {citation.claim}" if claim else ""
    url = f" {citation.url}" if citation.url else ""
    return (
        f"• {citation.date_text} — {short_claimant(citation.claimant)}{said}"
        f" [{citation.claim_id}]{url}{notes_after(citation)}\n"
        f"  “{snippet}”"
    )


def answer_text(answer: Answer) -> str:
    """The whole answer as plain text, as ``python -m bot ask`` prints it."""
    lines = [answer.lead]
    lines += [citation_text(c, claim=shows_claim(answer, c)) for c in answer.citations]
    if answer.more:
        lines.append(f"(+{answer.more} more matching records)")
    lines += [f"Source: “{s}”" for s in answer.sources]
    return "\n".join(lines)


def answer_json(answer: Answer, retrieval: str = "lexical") -> dict[str, object]:
    """The ``ask --json`` object; ``retrieval``: "hybrid" or "lexical"."""
    data: dict[str, object] = {
        "question": answer.question,
        "found": answer.found,
        "answer": answer_text(answer),
        "retrieval": retrieval,
        "citations": [c.to_json() for c in answer.citations],
    }
    if not answer.found:
        data["reason"] = answer.reason
    return data


def record_fields(record: Record, knowledge: KnowledgeBase | None) -> list[tuple[str, str]]:
    """(label, value) pairs of a whole record, in reading order."""
    pairs = [
        ("Claim", record.claim),
        ("Claimant", record.claimant),
        ("Date", record.date_text + (f" ({record.date_note})" if record.date_note else "")),
        ("Status", record.status),
    ]
    if record.quote:
        pairs.append(("Quote", f"“{record.quote}”"))
    for label, ids in (("Denied by", record.denied_by), ("Answers", record.contradicts)):
        for other_id in ids:
            other = knowledge.by_id.get(other_id) if knowledge else None
            pairs.append(
                (label, f"{other.claimant}: {other.claim} [{other_id}]" if other else other_id)
            )
    src = record.source
    source_bits = [b for b in (src.title and f"“{src.title}”", src.publisher, src.published) if b]
    if source_bits:
        pairs.append(("Source", ", ".join(source_bits)))
    if src.url:
        pairs.append(("URL", src.url))
    pairs.append(("Excerpt", f"“{src.excerpt}”"))
    if record.entities:
        pairs.append(("Entities", ", ".join(record.entities)))
    if record.tags:
        pairs.append(("Tags", ", ".join(record.tags)))
    return pairs


def record_text(record: Record, knowledge: KnowledgeBase | None = None) -> str:
    """A whole record, plain text."""
    return "\n".join(
        [f"[{record.id}]"] + [f"{k}: {v}" for k, v in record_fields(record, knowledge)]
    )
