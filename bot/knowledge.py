"""Load and validate the knowledge base: a folder of YAML claim records.

``load(folder)`` returns a whole :class:`KnowledgeBase` or raises
:class:`KnowledgeError` listing *every* problem found — never half a knowledge
base, never an unexpected exception on bad input.

Exceptions::

    KnowledgeError            the knowledge base is invalid; .problems lists why
    └── (no subclasses: every problem is a Problem value, not an exception)

Layout of a knowledge folder:

- ``aliases.yaml``: groups of synonyms (see :class:`bot.schema.AliasFile`);
  optional.
- every other ``*.yaml`` / ``*.yml`` file: a YAML list of claim records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.schema import AliasFile, Record

ALIAS_FILE = "aliases.yaml"
RECORD_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the knowledge base, located as precisely as known."""

    file: str
    line: int | None = None
    record: str | None = None  # "record 3" or "record 3 (some-id)"
    field: str | None = None
    message: str = ""

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        parts = [p for p in (self.record, f"field '{self.field}'" if self.field else None) if p]
        return f"{where}: {', '.join(parts) + ': ' if parts else ''}{self.message}"


class KnowledgeError(Exception):
    """The knowledge base cannot be used; ``problems`` says every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, str(p)))
        count = len(self.problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the knowledge base:\n"
            + "\n".join(f"  {p}" for p in self.problems)
        )


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated knowledge base: its records in load order and its alias groups."""

    records: tuple[Record, ...]
    aliases: tuple[tuple[str, ...], ...] = ()
    files: tuple[str, ...] = ()
    #: sha256 over every file's name and bytes: equal digests, equal knowledge.
    digest: str = ""
    by_id: dict[str, Record] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.by_id:
            self.by_id.update({r.id: r for r in self.records})

    def __len__(self) -> int:
        return len(self.records)


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that records where each mapping key stands.

    Duplicate keys are found on the node tree before construction (PyYAML would
    silently keep the last one).
    """


def _duplicate_keys(node: yaml.Node, file: str) -> list[Problem]:
    problems: list[Problem] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in current.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                line = key_node.start_mark.line + 1
                if key is not None and key in seen:
                    problems.append(
                        Problem(
                            file,
                            line,
                            field=str(key),
                            message=f"duplicate key {key!r} (first at line {seen[key]}); "
                            "YAML would silently keep only the last one",
                        )
                    )
                elif key is not None:
                    seen[key] = line
                stack.append(value_node)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return problems


def _parse(raw: bytes, name: str) -> tuple[Any, yaml.Node | None, list[Problem]]:
    """Parse one YAML file's bytes: (data, root node, problems)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            None,
            None,
            [Problem(name, message=f"not UTF-8 text (byte {exc.start}): save the file as UTF-8")],
        )
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        return None, None, [Problem(name, message="the file is empty; add records or delete it")]
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return (
                None,
                None,
                [Problem(name, message="the file is empty; add records or delete it")],
            )
        problems = _duplicate_keys(node, name)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        context = exc.context
        if context and exc.context_mark and exc.context_mark is not mark:
            context += f" (started at line {exc.context_mark.line + 1})"
        detail = " ".join(str(p) for p in (context, exc.problem) if p)
        return None, None, [Problem(name, line, message=f"YAML syntax error: {detail}")]
    except yaml.YAMLError as exc:
        return None, None, [Problem(name, message=f"YAML error: {exc}")]
    finally:
        loader.dispose()
    return data, node, problems


def _field_lines(node: yaml.Node | None) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        str(k.value): k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)
    }


def _pydantic_problems(
    exc: ValidationError, name: str, line: int | None, label: str | None, lines: dict[str, int]
) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        dotted = ".".join(loc) if loc else None
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field; check its spelling against the record schema"
        elif err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] == "literal_error":
            message = message.replace("Input should be", "must be one of")
        problems.append(
            Problem(name, lines.get(loc[0], line) if loc else line, label, dotted, message)
        )
    return problems


def _load_records(
    data: Any, node: yaml.Node | None, name: str
) -> tuple[list[tuple[Record, str, int | None]], list[Problem]]:
    if not isinstance(data, list):
        kind = "a mapping" if isinstance(data, dict) else type(data).__name__
        return [], [
            Problem(
                name,
                1,
                message=f"a record file must be a YAML list of records (lines starting "
                f"with '- '), but this file holds {kind}",
            )
        ]
    item_nodes = node.value if isinstance(node, yaml.SequenceNode) else [None] * len(data)
    records, problems = [], []
    for index, (item, item_node) in enumerate(zip(data, item_nodes, strict=True), start=1):
        line = item_node.start_mark.line + 1 if item_node is not None else None
        rid = item.get("id") if isinstance(item, dict) else None
        label = f"record {index}" + (f" ({rid})" if isinstance(rid, str) else "")
        if not isinstance(item, dict):
            problems.append(
                Problem(name, line, label, message="a record must be a mapping of fields")
            )
            continue
        try:
            records.append((Record.model_validate(item), label, line))
        except ValidationError as exc:
            problems += _pydantic_problems(exc, name, line, label, _field_lines(item_node))
    return records, problems


def _load_aliases(data: Any, name: str) -> tuple[tuple[tuple[str, ...], ...], list[Problem]]:
    try:
        parsed = AliasFile.model_validate(data)
    except ValidationError as exc:
        return (), _pydantic_problems(exc, name, None, None, {})
    return tuple(tuple(group) for group in parsed.aliases), []


def record_files(folder: Path) -> list[Path]:
    """The YAML files of a knowledge folder, in a stable order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in RECORD_SUFFIXES)


def _digest_update(h: Any, path: Path, raw: bytes) -> None:
    h.update(path.name.encode() + b"\0" + raw + b"\0")


def digest(folder: str | Path) -> str:
    """sha256 of a knowledge folder's YAML files (names and bytes), as load() computes it."""
    h = hashlib.sha256()
    for path in record_files(Path(folder)):
        _digest_update(h, path, path.read_bytes())
    return h.hexdigest()


def load(folder: str | Path) -> KnowledgeBase:
    """Read and validate a whole knowledge folder.

    Raises KnowledgeError with every problem found; never returns a partial base.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise KnowledgeError([Problem(str(folder), message="no such folder")])
    paths = record_files(folder)
    if not paths:
        raise KnowledgeError(
            [Problem(str(folder), message="no .yaml files here: is this the knowledge folder?")]
        )
    problems: list[Problem] = []
    aliases: tuple[tuple[str, ...], ...] = ()
    found: list[tuple[Record, str, int | None, str]] = []
    h = hashlib.sha256()
    for path in paths:
        name = str(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            problems.append(Problem(name, message=f"cannot read the file: {exc.strerror}"))
            continue
        _digest_update(h, path, raw)
        data, node, parse_problems = _parse(raw, name)
        problems += parse_problems
        if data is None:
            continue
        if path.name == ALIAS_FILE:
            aliases, alias_problems = _load_aliases(data, name)
            problems += alias_problems
            continue
        records, record_problems = _load_records(data, node, name)
        problems += record_problems
        found += [(rec, label, line, name) for rec, label, line in records]

    first: dict[str, str] = {}
    for rec, label, line, name in found:
        if rec.id in first:
            problems.append(
                Problem(
                    name,
                    line,
                    label,
                    "id",
                    f"duplicate id {rec.id!r}, already used in {first[rec.id]}",
                )
            )
        else:
            first[rec.id] = f"{name}:{line}" if line else name
    for rec, label, line, name in found:
        for field_name, target in rec.links():
            if target not in first:
                problems.append(
                    Problem(name, line, label, field_name, f"links to unknown record id {target!r}")
                )
            elif target == rec.id:
                problems.append(
                    Problem(name, line, label, field_name, "a record cannot link to itself")
                )
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(
        records=tuple(rec for rec, *_ in found),
        aliases=aliases,
        files=tuple(str(p) for p in paths),
        digest=h.hexdigest(),
    )
