"""Load and validate the knowledge base: a folder of YAML claim records.

``load(folder)`` returns a whole :class:`KnowledgeBase` or raises
:class:`KnowledgeError` listing *every* problem found — never half a knowledge
base, never an unexpected exception on bad input.

Errors: :class:`bot.errors.KnowledgeError`, whose ``problems`` are
:class:`bot.errors.Problem` values (file:line, record, field, message).

Layout of a knowledge folder:

- ``aliases.yaml``: groups of synonyms (see :class:`bot.knowledge.schema.AliasFile`);
  optional.
- every other ``*.yaml`` / ``*.yml`` file: a YAML list of claim records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.errors import KnowledgeError, Problem
from bot.knowledge.schema import AliasFile, Record, yaml_type_name

ALIAS_FILE = "aliases.yaml"
RECORD_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated knowledge base: its records in load order and its alias groups.

    ``records`` is any sequence: a tuple when loaded from YAML, a lazy one when
    opened from the index cache (see :func:`bot.search.open_index`).
    """

    records: Sequence[Record]
    aliases: tuple[tuple[str, ...], ...] = ()
    files: tuple[str, ...] = ()
    #: sha256 over every file's name and bytes: equal digests, equal knowledge.
    digest: str = ""
    by_id: Mapping[str, Record] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.by_id:
            object.__setattr__(self, "by_id", {r.id: r for r in self.records})

    def __len__(self) -> int:
        return len(self.records)


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with impossible dates left to the schema to report.

    An unquoted ``2023-02-30`` makes PyYAML's timestamp constructor raise a
    bare ValueError; keeping the text lets the schema name record and field.
    """

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)

EMPTY_FILE = "the file is empty; add records or delete it"


def _duplicate_keys(
    node: yaml.Node, file: str, label: str | None = None, prefix: str = ""
) -> list[Problem]:
    """Duplicate mapping keys below ``node``: PyYAML would silently keep the last one."""
    problems: list[Problem] = []
    visited: set[int] = set()  # aliases can make the node graph cyclic
    stack = [(node, prefix)]
    while stack:
        current, path = stack.pop()
        if id(current) in visited:
            continue
        visited.add(id(current))
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
                            label,
                            path + str(key),
                            f"duplicate key {key!r} (first at line {seen[key]}); "
                            "YAML would silently keep only the last one",
                        )
                    )
                elif key is not None:
                    seen[key] = line
                stack.append((value_node, f"{path}{key}."))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((item, path) for item in current.value)
    return problems


def _yaml_problem(exc: yaml.YAMLError, name: str, text: str) -> Problem:
    """Turn PyYAML's error into one line that says what to do."""
    if isinstance(exc, yaml.reader.ReaderError):
        return Problem(
            name,
            text[: exc.position].count("\n") + 1,
            message=f"the file holds a control character (#x{exc.character:04x}) "
            "that YAML does not allow; remove it",
        )
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem(name, message=f"YAML error: {exc}")
    mark = exc.problem_mark or exc.context_mark
    line: int | None = mark.line + 1 if mark else None
    problem = exc.problem or ""
    if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in problem:
        tag = (exc.problem_mark and problem.split("'")[1]) or problem
        tag = tag.replace("tag:yaml.org,2002:", "!!")
        return Problem(
            name,
            line,
            message=f"YAML tag {tag!r} is not allowed: records hold only text, numbers, "
            "lists and mappings",
        )
    if isinstance(exc, yaml.composer.ComposerError) and "single document" in (exc.context or ""):
        return Problem(
            name,
            line,
            message="a second YAML document starts here ('---'); put all records in one list",
        )
    context = exc.context
    if context and exc.context_mark and exc.context_mark is not mark:
        context += f" (started at line {exc.context_mark.line + 1})"
    detail = " ".join(str(p) for p in (context, problem) if p)
    return Problem(name, line, message=f"YAML syntax error: {detail}")


def _parse(raw: bytes, name: str) -> tuple[Any, yaml.Node | None, list[Problem]]:
    """Parse one YAML file's bytes: (data, root node, problems)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}): save the file as UTF-8"
        return None, None, [Problem(name, message=message)]
    try:
        loader = _StrictLoader(text)  # the reader checks characters here already
        try:
            node = loader.get_single_node()
            data = None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        return None, None, [_yaml_problem(exc, name, text)]
    except RecursionError:
        return None, None, [Problem(name, message="YAML nested too deeply to read")]
    if data is None:  # nothing, only comments, or a lone ~ / null / ---
        return None, None, [Problem(name, message=EMPTY_FILE)]
    return data, node, []


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


def _label(index: int, item: Any) -> str:
    rid = item.get("id") if isinstance(item, dict) else None
    return f"record {index}" + (f" ({rid})" if isinstance(rid, str) else "")


def _load_records(
    data: Any, node: yaml.Node | None, name: str
) -> tuple[list[tuple[Record, str, int | None]], list[Problem], list[tuple[str, str, int | None]]]:
    """Validate a record file: (records, problems, every (id, label, line) it names)."""
    if not isinstance(data, list):
        kind = "a mapping" if isinstance(data, dict) else yaml_type_name(data)
        message = (
            "a record file must be a YAML list of records (lines starting with '- '), "
            f"but this file holds {kind}"
        )
        return [], [Problem(name, 1, message=message)], []
    if not data:
        return [], [Problem(name, 1, message="the file holds an empty list: add records")], []
    item_nodes = node.value if isinstance(node, yaml.SequenceNode) else [None] * len(data)
    records, problems, ids = [], [], []
    for index, (item, item_node) in enumerate(zip(data, item_nodes, strict=True), start=1):
        line = item_node.start_mark.line + 1 if item_node is not None else None
        label = _label(index, item)
        if not isinstance(item, dict):
            problems.append(
                Problem(name, line, label, message="a record must be a mapping of fields")
            )
            continue
        if isinstance(item.get("id"), str):
            ids.append((item["id"], label, line))
        if item_node is not None:
            problems += _duplicate_keys(item_node, name, label)
        try:
            records.append((Record.model_validate(item), label, line))
        except ValidationError as exc:
            problems += _pydantic_problems(exc, name, line, label, _field_lines(item_node))
    return records, problems, ids


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
    named: list[tuple[str, str, int | None, str]] = []
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
            problems += _duplicate_keys(node, name) if node is not None else []
            aliases, alias_problems = _load_aliases(data, name)
            problems += alias_problems
            continue
        records, record_problems, ids = _load_records(data, node, name)
        problems += record_problems
        found += [(rec, label, line, name) for rec, label, line in records]
        named += [(rid, label, line, name) for rid, label, line in ids]

    # Ids and links are checked over every record that names an id, valid or
    # not, so one run reports a duplicate even when a copy has other problems.
    first: dict[str, str] = {}
    for rid, label, line, name in named:
        if rid in first:
            where = first[rid]
            message = f"duplicate id {rid!r}, already used in {where}"
            problems.append(Problem(name, line, label, "id", message))
        else:
            first[rid] = f"{name}:{line}" if line else name
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
    if not found and not problems:
        problems.append(Problem(str(folder), message="no claim records in any file"))
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(
        records=tuple(rec for rec, *_ in found),
        aliases=aliases,
        files=tuple(str(p) for p in paths),
        digest=h.hexdigest(),
    )
