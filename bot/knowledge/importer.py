"""``python -m bot import``: items from the readers merged into the knowledge folder's own
file of imported records, with stable ids, atomically, and a report a person can act on.

- **Stable ids.** An item's id is its ``identifier`` when the markup gives one (our
  own export does), else derived from the review URL (``http``/``https``, ``www.``,
  a trailing slash and the fragment make no difference), else from the claim's text
  and date. So importing the same feed twice changes nothing, and an updated feed
  updates its records. Further claims reviewed on one page get ``-2``, ``-3``, ...
- **Its own file.** Imported records go into ``--into FILE`` (default
  ``imported.yaml`` in the knowledge folder), which the import owns: records of
  earlier imports stay, a record with a new content is updated, and an id held by a
  hand-curated record in another file is never overwritten (the clash is reported).
- **Never half a knowledge base.** The file is written (atomically) only when the
  whole knowledge folder, with the new file in it, validates; otherwise nothing is
  written and every problem is reported.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import ValidationError

from bot.errors import InputError, KnowledgeError, Problem
from bot.knowledge import values
from bot.knowledge.atomic import write_atomically
from bot.knowledge.inputs import DEFAULT_MAX_BYTES, read_paths
from bot.knowledge.items import Item
from bot.knowledge.loader import ALIAS_FILE, load, read_record_file, record_files
from bot.knowledge.schema import Record

DEFAULT_INTO = "imported.yaml"
HEADER = (
    "# Imported by `python -m bot import`: this file belongs to the import, which\n"
    "# rewrites it. Curate records by hand in the other files of this folder.\n"
)
_MARK = HEADER.split("\n", 1)[0]
IMPORTED, UPDATED, UNCHANGED, SKIPPED = "imported", "updated", "unchanged", "skipped"


# --- ids ---------------------------------------------------------------------------


def _slug_words(text: str, limit: int = 6) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(words[:limit])[:60].strip("-")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]


def stable_id(fields: dict[str, Any]) -> str:
    """The id of an item without one: from its review URL, else its claim and date.

    ``https://newschecker.in/sports-4/saudi-team-denies-reports-of-being-awarded/``
    → ``saudi-team-denies-reports-of-being-3c1f09aa``: the URL's most wordy path
    segment (six words at most) and eight hex digits of the URL's sha256.
    """
    review = fields.get("review") or {}
    url = review.get("url") if isinstance(review, dict) else None
    if isinstance(url, str) and url:
        key = values.url_key(url)
        parts = urlsplit(url)
        segments = [
            re.sub(r"\.(?:html?|php|aspx?|jsp)$", "", unquote(s), flags=re.IGNORECASE)
            for s in parts.path.split("/")
            if s
        ]
        wordy = max(segments, key=lambda s: len(re.findall(r"[A-Za-z]", s)), default="")
        if len(re.findall(r"[A-Za-z]{3,}", wordy)) < 3:
            # "presseportal.de/pm/133833/4381130": the site and the whole path
            host = (parts.hostname or "").removeprefix("www.").rsplit(".", 1)[0]
            wordy = " ".join([host, *segments])
        words = _slug_words(wordy)
        return f"{words}-{_digest(key)}" if words else f"review-{_digest(key)}"
    claim = " ".join(str(fields.get("claim", "")).lower().split())
    key = f"{claim}\n{fields.get('date', '')}"
    words = _slug_words(claim)
    return f"{words}-{_digest(key)}" if words else f"claim-{_digest(key)}"


def _assign_ids(items: Sequence[Item]) -> list[tuple[Item, dict[str, Any]]]:
    """Each item that holds fields, with its id; several claims on one review page
    get ``-2``, ``-3`` in page order (the same claim twice keeps one id)."""
    result = []
    claims_by_id: dict[str, list[str]] = {}
    for item in items:
        if item.fields is None:
            continue
        fields = dict(item.fields)
        if "id" not in fields:
            base = stable_id(fields)
            claim = str(fields.get("claim", ""))
            claims = claims_by_id.setdefault(base, [])
            if claim not in claims:
                claims.append(claim)
            n = claims.index(claim) + 1
            fields["id"] = base if n == 1 else f"{base}-{n}"
        result.append((item, fields))
    return result


# --- the report ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What became of one item: imported, updated, unchanged or skipped (and why)."""

    file: str
    position: str
    action: str
    id: str | None = None
    reason: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.file} ({self.position})" if self.position else self.file


@dataclass
class Report:
    into: str
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    #: Why the result was refused (the knowledge folder would not validate).
    problems: list[Problem] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False

    def count(self, action: str) -> int:
        return sum(1 for o in self.outcomes if o.action == action)

    @property
    def summary(self) -> str:
        return ", ".join(
            f"{action} {self.count(action)}" for action in (IMPORTED, UPDATED, UNCHANGED, SKIPPED)
        )

    @property
    def exit_code(self) -> int:
        """0 when the run completed (skips are reported, not failures); 1 when an
        input could not be read, the result was refused, or nothing could be imported."""
        if self.errors or self.problems:
            return 1
        return 0 if self.count(IMPORTED) + self.count(UPDATED) + self.count(UNCHANGED) else 1

    def _fate(self) -> str:
        if self.problems:
            return "refused: nothing written"
        if self.dry_run:
            return f"dry run: {self.into} not written"
        if self.written:
            return f"written to {self.into}"
        return f"{self.into} unchanged"

    def text(self) -> str:
        lines = [f"{self.summary} ({self._fate()})"]
        skips = [o for o in self.outcomes if o.action == SKIPPED]
        if skips:
            lines.append("skipped:")
            lines += [f"  {o.where}: {o.reason}" for o in skips]
        noted = [o for o in self.outcomes if o.notes and o.action != SKIPPED]
        if noted:
            lines.append("imported with notes:")
            lines += [f"  {o.where} [{o.id}]: {note}" for o in noted for note in o.notes]
        if self.errors:
            lines.append("could not be read:")
            lines += [f"  {e}" for e in self.errors]
        if self.problems:
            lines.append("the knowledge base would not validate, so nothing was written:")
            lines += [f"  {p}" for p in self.problems]
        if self.ignored:
            count = len(self.ignored)
            lines.append(
                f"ignored {count} file{'s' if count != 1 else ''} that "
                f"{'is' if count == 1 else 'are'} not JSON, HTML or CSV: " + ", ".join(self.ignored)
            )
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            **{a: self.count(a) for a in (IMPORTED, UPDATED, UNCHANGED, SKIPPED)},
            "into": self.into,
            "written": self.written,
            "dry_run": self.dry_run,
            "records": [
                {"id": o.id, "action": o.action, "file": o.file, "position": o.position}
                | ({"notes": list(o.notes)} if o.notes else {})
                for o in self.outcomes
                if o.action != SKIPPED
            ],
            "skipped_items": [
                {"file": o.file, "position": o.position, "reason": o.reason}
                for o in self.outcomes
                if o.action == SKIPPED
            ],
            "errors": [{"file": e.file, "reason": e.reason} for e in self.errors],
            "problems": [str(p) for p in self.problems],
            "ignored": self.ignored,
        }


# --- writing records as YAML ---------------------------------------------------------


def record_data(record: Record) -> dict[str, Any]:
    """A record as plain data in schema order, without empty fields."""
    data = record.model_dump(mode="json", exclude_none=True)
    return {k: v for k, v in data.items() if v != [] and v != {}}


def records_yaml(records: Iterable[Record]) -> str:
    """The text of an imported-records file: the header, then the records as a YAML list."""
    body = yaml.safe_dump(
        [record_data(r) for r in records], allow_unicode=True, sort_keys=False, width=1_000_000
    )
    return HEADER + "\n" + body


# --- the import ----------------------------------------------------------------------


def _validation_reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        parts.append(f"field '{where}': {message}" if where else message)
    return "; ".join(parts)


def _validate_folder(folder: Path, into: Path, text: str) -> list[Problem]:
    """Every problem the knowledge folder would have with ``text`` as ``into``."""
    with tempfile.TemporaryDirectory(prefix="claimbot-import-") as temp:
        view = Path(temp)
        if folder.is_dir():
            for path in record_files(folder):
                if path.name != into.name:
                    shutil.copyfile(path, view / path.name)
        (view / into.name).write_text(text, encoding="utf-8")
        try:
            load(view)
        except KnowledgeError as exc:
            return [
                Problem(
                    p.file.replace(str(view), str(folder), 1),
                    p.line,
                    p.record,
                    p.field,
                    p.message,
                )
                for p in exc.problems
            ]
    return []


def _existing(folder: Path, into: Path) -> tuple[list[Record], dict[str, str], list[Problem]]:
    """The records already in ``into``, the other files' ids, and the folder's problems."""
    imported: list[Record] = []
    curated: dict[str, str] = {}
    problems: list[Problem] = []
    if into.exists():
        try:
            first = into.read_text(encoding="utf-8").split("\n", 1)[0]
        except (OSError, UnicodeDecodeError) as exc:
            return [], {}, [Problem(str(into), message=f"cannot read the file: {exc}")]
        if first != _MARK:
            message = (
                "this file was not written by `import`; import into a file of its own "
                f"(the default is {DEFAULT_INTO}) so hand-curated records are never rewritten"
            )
            return [], {}, [Problem(str(into), message=message)]
    if not folder.is_dir():
        return [], {}, []
    for path in record_files(folder):
        if path.name == ALIAS_FILE:
            continue
        try:
            read = read_record_file(path.read_bytes(), str(path))
        except OSError as exc:
            problems.append(Problem(str(path), message=f"cannot read the file: {exc.strerror}"))
            continue
        if not read.valid:
            problems += read.problems
            continue
        records = [record for record, _, _ in read.records]
        if path.name == into.name:
            imported = records
        else:
            for record in records:
                curated.setdefault(record.id, str(path))
    return imported, curated, problems


def run_import(
    paths: Sequence[str | Path],
    into: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    dry_run: bool = False,
) -> Report:
    """Read ``paths``, merge their records into ``into`` and write it when anything changed.

    Never raises for bad input: everything is in the returned report.
    """
    report = Report(into=str(into), dry_run=dry_run)
    folder = into.parent
    imported, curated, problems = _existing(folder, into)
    if problems:
        report.problems = problems
        return report
    inputs = read_paths(paths, max_bytes)
    report.errors, report.ignored = inputs.errors, inputs.ignored
    merged: dict[str, Record] = {r.id: r for r in imported}
    seen: dict[str, str] = {}
    with_ids = {id(item): fields for item, fields in _assign_ids(inputs.items)}
    for item in inputs.items:
        fields = with_ids.get(id(item))
        if fields is None:
            report.outcomes.append(
                Outcome(item.file, item.position, SKIPPED, reason=item.reason, notes=item.notes)
            )
            continue
        outcome = _merge(item, fields, merged, curated, seen)
        report.outcomes.append(outcome)
    changed = report.count(IMPORTED) + report.count(UPDATED)
    if not changed:
        return report
    text = records_yaml(merged.values())
    report.problems = _validate_folder(folder, into, text)
    if report.problems or dry_run:
        return report
    try:
        write_atomically(into, text)
    except OSError as exc:
        report.errors.append(InputError(str(into), f"cannot write it: {exc.strerror or exc}"))
        return report
    report.written = True
    return report


def _merge(
    item: Item,
    fields: dict[str, Any],
    merged: dict[str, Record],
    curated: dict[str, str],
    seen: dict[str, str],
) -> Outcome:
    def skip(reason: str) -> Outcome:
        return Outcome(item.file, item.position, SKIPPED, fields.get("id"), reason, item.notes)

    try:
        record = Record.model_validate(fields)
    except ValidationError as exc:
        return skip(_validation_reason(exc))
    if record.id in curated:
        return skip(
            f"id {record.id!r} is a hand-curated record in {curated[record.id]}; not overwritten"
        )
    if record.id in seen:
        return skip(f"the same record as {seen[record.id]} (id {record.id!r})")
    seen[record.id] = item.where
    old = merged.get(record.id)
    merged[record.id] = record
    action = IMPORTED if old is None else UNCHANGED if old == record else UPDATED
    return Outcome(item.file, item.position, action, record.id, None, item.notes)
