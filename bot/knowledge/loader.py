"""Load and validate the knowledge base: a folder of YAML claim records.

``load(folder)`` returns a whole :class:`KnowledgeBase` or raises
:class:`KnowledgeError` listing *every* problem found — never half a knowledge
base, never an unexpected exception on bad input.

Errors: :class:`bot.errors.KnowledgeError`, whose ``problems`` are
:class:`bot.errors.Problem` values (file:line, record, field, message).

Two parsers: a record file is first read by :func:`_fast_parse`, libyaml's C
parser (``yaml.CSafeLoader``'s) with the objects built straight from its events
(PyYAML's own composer builds a node, with marks, per scalar: 5x slower), then
validated with one pydantic call for the whole list. Only when that finds a
problem, or meets what it does not serve (anchors, tags, merge keys, duplicate
or non-text keys), is the file read again with the pure-Python locating
loader, which knows every line, so each problem is reported as
file:line:record:field exactly as before.

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
import yaml.events as ev
from pydantic import TypeAdapter, ValidationError

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
    #: sha256 over every file's name and sha256: equal digests, equal knowledge.
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


class _Unserved(Exception):
    """The fast parser met something it leaves to the locating loader."""


#: What PyYAML's reader refuses (yaml.reader.Reader.NON_PRINTABLE); libyaml's
#: differs, so the fast path checks with PyYAML's own rule.
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE
_RESOLVER = yaml.resolver.Resolver()
_IMPLICIT: dict[Any, Any] = _RESOLVER.yaml_implicit_resolvers
_STR_TAG = "tag:yaml.org,2002:str"


def _plain_scalar(value: str, constructor: _StrictLoader) -> Any:
    """A plain (unquoted) scalar as PyYAML reads it: text, number, yes/no, null, date."""
    if (value[:1] if value else "") not in _IMPLICIT and None not in _IMPLICIT:
        return value  # no implicit type starts with this character
    tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    if tag == _STR_TAG:
        return value
    construct = constructor.yaml_constructors.get(tag)
    if construct is None:  # '<<' (merge) or '=' (value): the locating loader's business
        raise _Unserved
    return construct(constructor, yaml.ScalarNode(tag, value))


#: Plain scalars known to stay text (mapping keys, mostly): their resolution is skipped.
_PLAIN_TEXT: dict[str, str] = {}
_PLAIN_TEXT_MAX = 4096


def _fast_parse(text: str) -> Any:
    """One YAML document's data from libyaml's event stream; raises _Unserved for
    anything the locating loader should read (any error, anchor, tag, merge or
    duplicate key), so the result always equals what :func:`_parse` returns."""
    if _NON_PRINTABLE.search(text):
        raise _Unserved
    try:
        parser = yaml.CSafeLoader(text)
    except AttributeError:  # pragma: no cover - PyYAML built without libyaml
        raise _Unserved from None
    constructor = _StrictLoader("")
    # The open containers, each with the key it waits a value for (None: a key
    # next); ``top`` and ``key`` are the innermost's, kept in locals (~40 events
    # a record, so each list lookup saved counts).
    stack: list[tuple[Any, str | None]] = []
    top: Any = None
    key: str | None = None
    root: Any = None
    documents = 0
    scalar, mapping, sequence = ev.ScalarEvent, ev.MappingStartEvent, ev.SequenceStartEvent
    ends = (ev.MappingEndEvent, ev.SequenceEndEvent)
    get_event, known_text = parser.get_event, _PLAIN_TEXT.get
    try:
        while True:
            event: Any = get_event()
            kind = type(event)
            if kind is scalar:
                tag = event.tag
                if event.anchor is not None:
                    raise _Unserved
                value: Any = event.value
                if tag is None:
                    if event.implicit[0] and known_text(value) is None:
                        value = _plain_scalar(value, constructor)
                        if type(value) is str and len(_PLAIN_TEXT) < _PLAIN_TEXT_MAX:
                            _PLAIN_TEXT[value] = value
                elif tag != "!":
                    raise _Unserved
            elif kind is mapping or kind is sequence:
                if event.anchor is not None or event.tag is not None:
                    raise _Unserved
                stack.append((top, key))
                top, key = ({} if kind is mapping else []), None
                continue
            elif kind in ends:
                value = top
                top, key = stack.pop()
            elif kind is ev.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _Unserved
                continue
            elif kind is ev.StreamEndEvent:
                return root
            elif kind is ev.AliasEvent:
                raise _Unserved
            else:
                continue
            if top is None:
                root = value
            elif type(top) is list:
                top.append(value)
            elif key is None:
                if type(value) is not str or value == "<<":
                    raise _Unserved
                key = value
            else:
                if key in top:
                    raise _Unserved  # a duplicate key: the locating loader says where
                top[key] = value
                key = None
    except yaml.YAMLError:
        raise _Unserved from None
    finally:
        parser.dispose()


_RECORDS = TypeAdapter(list[Record])


@dataclass(frozen=True)
class RecordFile:
    """One record file read and validated on its own (links to other files unchecked).

    ``records`` are (record, label, line) and ``ids`` (id, label, line) for every
    record naming an id; ``line`` is None where the fast path left lines unread.
    """

    name: str
    records: list[tuple[Record, str, int | None]]
    problems: list[Problem]
    ids: list[tuple[str, str, int | None]]
    located: bool

    @property
    def valid(self) -> bool:
        return not self.problems


def read_record_file(raw: bytes, name: str) -> RecordFile:
    """Parse and validate one record file: the fast path first, the locating one
    for any problem (so every problem has its file:line:record:field)."""
    try:
        text = raw.decode("utf-8")
        data = _fast_parse(text)
        if not isinstance(data, list) or not data:
            raise _Unserved
        records = _RECORDS.validate_python(data)
    except (UnicodeDecodeError, _Unserved, ValidationError, RecursionError):
        return locate_record_file(raw, name)
    entries: list[tuple[Record, str, int | None]] = [
        (r, f"record {i} ({r.id})", None) for i, r in enumerate(records, start=1)
    ]
    return RecordFile(name, entries, [], [(r.id, label, None) for r, label, _ in entries], False)


def locate_record_file(raw: bytes, name: str) -> RecordFile:
    """Parse and validate one record file with the pure-Python loader, lines and all."""
    data, node, problems = _parse(raw, name)
    if data is None:
        return RecordFile(name, [], problems, [], True)
    records, record_problems, ids = _load_records(data, node, name)
    return RecordFile(name, records, problems + record_problems, ids, True)


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


def read_alias_file(raw: bytes, name: str) -> tuple[tuple[tuple[str, ...], ...], list[Problem]]:
    """Parse and validate ``aliases.yaml``: (alias groups, problems)."""
    data, node, problems = _parse(raw, name)
    if data is None:
        return (), problems
    problems += _duplicate_keys(node, name) if node is not None else []
    aliases, alias_problems = _load_aliases(data, name)
    return aliases, problems + alias_problems


def cross_file_problems(files: Sequence[RecordFile]) -> tuple[list[Problem], set[str]]:
    """Duplicate ids and broken links across files: (problems, the files the fast
    path read that those problems name, whose lines are needed to report them)."""
    problems: list[Problem] = []
    involved: set[str] = set()
    first: dict[str, tuple[str, int | None, bool]] = {}
    for f in files:
        for rid, label, line in f.ids:
            if rid in first:
                name, first_line, located = first[rid]
                where = f"{name}:{first_line}" if first_line else name
                message = f"duplicate id {rid!r}, already used in {where}"
                problems.append(Problem(f.name, line, label, "id", message))
                involved.update(n for n, ok in ((f.name, f.located), (name, located)) if not ok)
            else:
                first[rid] = (f.name, line, f.located)
    for f in files:
        for rec, label, line in f.records:
            for field_name, target in rec.links():
                if target not in first:
                    message = f"links to unknown record id {target!r}"
                elif target == rec.id:
                    message = "a record cannot link to itself"
                else:
                    continue
                problems.append(Problem(f.name, line, label, field_name, message))
                if not f.located:
                    involved.add(f.name)
    return problems, involved


def record_files(folder: Path) -> list[Path]:
    """The YAML files of a knowledge folder, in a stable order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in RECORD_SUFFIXES)


def file_digest(raw: bytes) -> bytes:
    """sha256 of one file's bytes. The folder's digest and the index's per-file segment
    keys are both made from it, so a reload hashes each file once (800 MB at 1M records)."""
    return hashlib.sha256(raw).digest()


def digest_update(h: hashlib._Hash, path: Path, content: bytes) -> None:
    """Feed one file, by name and :func:`file_digest`, into a folder digest."""
    h.update(path.name.encode() + b"\0" + content + b"\0")


def folder_digest() -> hashlib._Hash:
    """A fresh folder digest (sha256, versioned) to feed with :func:`digest_update`."""
    return hashlib.sha256(b"claimbot folder digest 2\0")


def digest(folder: str | Path) -> str:
    """sha256 of a knowledge folder's YAML files (names and content digests), as load()
    computes it: equal digests, equal files."""
    h = folder_digest()
    for path in record_files(Path(folder)):
        digest_update(h, path, file_digest(path.read_bytes()))
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
    files: list[RecordFile | list[Problem]] = []  # per file, in order
    raws: dict[str, bytes] = {}
    h = folder_digest()
    for path in paths:
        name = str(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            files.append([Problem(name, message=f"cannot read the file: {exc.strerror}")])
            continue
        digest_update(h, path, file_digest(raw))
        if path.name == ALIAS_FILE:
            aliases, alias_problems = read_alias_file(raw, name)
            files.append(alias_problems)
            continue
        raws[name] = raw
        files.append(read_record_file(raw, name))

    # Ids and links are checked over every record that names an id, valid or
    # not, so one run reports a duplicate even when a copy has other problems.
    # A problem there needs the lines of the records involved: files the fast
    # path read are read again by the locating loader, and checked again.
    cross, involved = cross_file_problems([f for f in files if isinstance(f, RecordFile)])
    if involved:
        files = [
            locate_record_file(raws[f.name], f.name)
            if isinstance(f, RecordFile) and f.name in involved
            else f
            for f in files
        ]
        cross, _ = cross_file_problems([f for f in files if isinstance(f, RecordFile)])
    found: list[Record] = []
    for f in files:
        if isinstance(f, RecordFile):
            problems += f.problems
            found += [rec for rec, *_ in f.records]
        else:
            problems += f
    problems += cross
    if not found and not problems:
        problems.append(Problem(str(folder), message="no claim records in any file"))
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(
        records=tuple(found),
        aliases=aliases,
        files=tuple(str(p) for p in paths),
        digest=h.hexdigest(),
    )
