"""The one record factory of the test suite: valid claim records, as dicts or YAML.

Tests change only what they are about: ``record(claim="...")``,
``record("b-two", status="denied")``; everything else stays valid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.schema import Record

#: The smallest valid record, as YAML; the line numbers loader tests expect are these.
RECORD_YAML = """\
- id: "a-one"
  claim: "A claim."
  claimant: "Someone"
  date: "2023-06"
  status: "reported"
  source:
    excerpt: "An excerpt."
"""
#   line 1: id, 2: claim, 3: claimant, 4: date, 5: status, 6: source, 7: excerpt


def record(rid: str = "a-one", **fields: Any) -> dict[str, Any]:
    """A valid record dict (the one in :data:`RECORD_YAML`), with ``fields`` replaced.

    ``excerpt``, ``title`` and ``url`` set the source's fields.
    """
    source = {"excerpt": fields.pop("excerpt", "An excerpt.")}
    for key in ("title", "url", "publisher", "published"):
        if key in fields:
            source[key] = fields.pop(key)
    data: dict[str, Any] = {
        "id": rid,
        "claim": "A claim.",
        "claimant": "Someone",
        "date": "2023-06",
        "status": "reported",
        "source": source,
    }
    data.update(fields)
    return data


def built(rid: str = "a-one", **fields: Any) -> Record:
    """:func:`record`, validated."""
    return Record.model_validate(record(rid, **fields))


def write_records(folder: Path, records: list[dict[str, Any]], name: str = "records.yaml") -> Path:
    """Write records as one YAML file of a knowledge folder (created); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(
        yaml.safe_dump(records, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return folder
