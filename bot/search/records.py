"""Records served from the index cache: decoded one at a time, when read.

An answer reads the few records it cites; a knowledge base of a million
records is never decoded whole. :func:`record_json` is the one encoding the
cache stores and reloads compare.

Only a valid knowledge base is ever cached, and the cache holds exactly what
:func:`record_json` wrote from validated records, so a record read back needs
no second validation: :func:`trusted_record` rebuilds it from its JSON (a
fifth of ``Record.model_validate``'s time). Answers read single fields (a
claim, an id, a record's ``contradicts``) without building a record at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np
from pydantic import BaseModel
from pydantic_core import from_json

from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import Record, Review, Source
from bot.search.store import RecordStore

#: Decoded records kept per knowledge base (the ones answers cite again and again).
DECODED_KEPT = 4096

_NESTED: dict[type[BaseModel], dict[str, type[BaseModel]]] = {
    Record: {"source": Source, "review": Review},
    Source: {},
    Review: {},
}
#: Each field with its default, in declaration order (a model's ``__dict__`` order).
_DEFAULTS = {
    model: tuple((name, info.default) for name, info in model.model_fields.items())
    for model in _NESTED
}
_NAMES = {model: frozenset(model.model_fields) for model in _NESTED}
#: The fields a dump always holds: the required ones, and the lists (never None).
_ALWAYS = {
    model: frozenset(
        name
        for name, info in model.model_fields.items()
        if info.is_required() or info.default_factory is not None
    )
    for model in _NESTED
}
_set = object.__setattr__
#: How :func:`record_json` writes a record that contradicts nothing. Inside a JSON
#: string every quote is escaped, so these bytes can only be that record's own key.
_NO_CONTRADICTS = b'"contradicts":[]'


def _trusted(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """``model`` from its validated JSON dump, as ``model.model_validate`` would build it.

    The same attributes (``__dict__`` in field order, the fields set, no extras,
    no private state); the validators are not run again. Anything but the
    dump of a valid record (an unknown key, a field missing) is validated after
    all, which says what is wrong.
    """
    keys = data.keys()
    if not (_ALWAYS[model] <= keys <= _NAMES[model]):
        return model.model_validate(data)
    get = data.get
    values = {name: get(name, default) for name, default in _DEFAULTS[model]}
    for name, inner in _NESTED[model].items():
        value = values[name]
        if value is not None:
            values[name] = _trusted(inner, value)
    built = model.__new__(model)
    _set(built, "__dict__", values)
    _set(built, "__pydantic_fields_set__", set(keys))
    _set(built, "__pydantic_extra__", None)
    _set(built, "__pydantic_private__", None)
    return built


def trusted_record(raw: bytes) -> Record:
    """A record from the bytes :func:`record_json` wrote for it, without validating it again.

    For the index cache alone, whose records were validated before they were
    stored; equal to ``Record.model_validate_json(raw)`` for every such record.
    """
    record: Record = _trusted(Record, from_json(raw))
    return record


class LazyRecords(Sequence[Record]):
    """Records from an index cache, each decoded when first read (:func:`trusted_record`).

    An answer reads the few records it cites; a knowledge base of a million
    records is never decoded whole.
    """

    def __init__(self, store: RecordStore) -> None:
        self._store = store
        self._decoded: dict[int, Record] = {}

    def __len__(self) -> int:
        return len(self._store)

    def raw(self, i: int) -> bytes:
        """Record i as stored: :func:`record_json` bytes, undecoded."""
        return self._store.raw(i)

    def record_id(self, i: int) -> str:
        return self._store.record_id(i)

    def content_keys(self) -> np.ndarray:
        """Every record's content key, (n, 16) uint8, as the cache keeps them."""
        return self._store.content_keys()

    def _position(self, i: int) -> int:
        n = len(self._store)
        if not -n <= i < n:
            raise IndexError(f"record {i} out of range ({n} records)")
        return i % n

    @overload
    def __getitem__(self, i: int) -> Record: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Record]: ...
    def __getitem__(self, i: int | slice) -> Record | Sequence[Record]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = self._position(i)
        record = self._decoded.get(i)
        if record is None:
            record = trusted_record(self._store.raw(i))
            if len(self._decoded) < DECODED_KEPT:
                self._decoded[i] = record
        return record

    def claim(self, i: int) -> str:
        """Record i's claim, read without decoding the record."""
        record = self._decoded.get(i)
        if record is not None:
            return record.claim
        claim: str = from_json(self._store.raw(i))["claim"]
        return claim

    def contradicts(self, i: int) -> list[str]:
        """The ids record i contradicts, read without decoding the record.

        Most records contradict none, which the stored bytes tell without
        parsing them.
        """
        record = self._decoded.get(i)
        if record is not None:
            return record.contradicts
        raw = self._store.raw(i)
        if _NO_CONTRADICTS in raw:
            return []
        ids: list[str] = from_json(raw).get("contradicts", [])
        return ids


def record_id(records: Sequence[Record], i: int) -> str:
    """Record i's id; from an index cache, read without decoding the record."""
    return records.record_id(i) if isinstance(records, LazyRecords) else records[i].id


def record_claim(records: Sequence[Record], i: int) -> str:
    """Record i's claim; from an index cache, read without decoding the record."""
    return records.claim(i) if isinstance(records, LazyRecords) else records[i].claim


def record_contradicts(records: Sequence[Record], i: int) -> list[str]:
    """The ids record i contradicts; from an index cache, read without decoding the record."""
    return records.contradicts(i) if isinstance(records, LazyRecords) else records[i].contradicts


class LazyById(Mapping[str, Record]):
    """Record id → record over an index cache, through the store's id table."""

    def __init__(self, store: RecordStore, records: LazyRecords) -> None:
        self._store, self._records = store, records

    def __getitem__(self, record_id: str) -> Record:
        position = self._store.position(record_id)
        if position is None:
            raise KeyError(record_id)
        return self._records[position]

    def __iter__(self) -> Iterator[str]:
        return (self._store.record_id(i) for i in range(len(self._store)))

    def __len__(self) -> int:
        return len(self._store)


_SERIALIZER = Record.__pydantic_serializer__


def record_json(record: Record) -> bytes:
    """A record as the cache stores it: compact JSON, so equal records give equal bytes.

    The bytes of ``compact_json(record.model_dump(mode="json", exclude_none=True))``,
    written by pydantic's serializer in one call (2.5x faster).
    """
    return _SERIALIZER.to_json(record, exclude_none=True)


def record_fingerprints(knowledge: KnowledgeBase) -> dict[str, bytes]:
    """Record id → its stored JSON, to tell what a reload changed without decoding."""
    records = knowledge.records
    if isinstance(records, LazyRecords):
        return {records.record_id(i): records.raw(i) for i in range(len(records))}
    return {r.id: record_json(r) for r in records}
