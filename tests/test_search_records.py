"""bot/search/records.py: the one stored encoding of a record, and reading it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.knowledge import load
from bot.knowledge.schema import Record, Review
from bot.search.records import LazyRecords, record_json, trusted_record
from bot.search.store import RecordStoreBuilder, compact_json
from tests.conftest import BASES, KNOWLEDGE
from tests.records import built


@pytest.mark.parametrize(
    "claim",
    ["A claim.", 'Café ’quoted’ \u2028 😀 tab\there "q" back\\slash </script> \x01', "Ünïcode"],
)
def test_record_json_is_compact_json_of_the_dump(claim: str) -> None:
    record = built(claim=claim, quote="Said “so”.", entities=["Kürsk"], title="T")
    assert record_json(record) == compact_json(record.model_dump(mode="json", exclude_none=True))
    assert Record.model_validate_json(record_json(record)) == record


def test_shipped_records_encode_as_before(knowledge) -> None:  # type: ignore[no-untyped-def]
    for record in knowledge.records:
        expected = compact_json(record.model_dump(mode="json", exclude_none=True))
        assert record_json(record) == expected


# Trusted decoding: what the index cache holds was validated before it was stored.

FOLDERS = [KNOWLEDGE, *sorted(BASES.glob("*/knowledge"))]

REVIEWED = {
    "review": {
        "verdict": "False",
        "rating": 1,
        "best": 5.0,
        "worst": 0.5,
        "reviewer": "AFP",
        "reviewer_url": "https://factcheck.afp.com/",
        "date": "2021-08",
        "url": "https://factcheck.afp.com/x",
        "title": "A headline",
    },
    "language": "pt-BR",
    "first_appearance": "https://example.com/first",
    "date_note": "Reported a day later.",
    "quote": "So “quoted”.",
}


def assert_same_record(trusted: Record, validated: Record) -> None:
    """Equal, and alike in every attribute pydantic keeps (repr, fields set, dumps)."""
    assert trusted == validated
    assert repr(trusted) == repr(validated)
    for a, b in [(trusted, validated), (trusted.source, validated.source)]:
        assert type(a) is type(b)
        assert a.__pydantic_fields_set__ == b.__pydantic_fields_set__
        assert a.__pydantic_extra__ == b.__pydantic_extra__
        assert a.__pydantic_private__ == b.__pydantic_private__
        assert list(vars(a)) == list(vars(b))
    if validated.review is not None:
        assert type(trusted.review) is Review
        assert trusted.review.__pydantic_fields_set__ == validated.review.__pydantic_fields_set__
    assert trusted.model_dump() == validated.model_dump()
    assert record_json(trusted) == record_json(validated)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.parent.name)
def test_a_trusted_decode_equals_validation_on_every_shipped_record(folder: Path) -> None:
    records = load(folder).records
    assert records
    for record in records:
        raw = record_json(record)
        validated = Record.model_validate(json.loads(raw))  # what the cache served before
        assert validated == Record.model_validate_json(raw) == record
        assert_same_record(trusted_record(raw), validated)


@pytest.mark.parametrize(
    "fields",
    [{}, REVIEWED, {"review": {"rating": 2.5}}, {"denied_by": ["b-two"], "contradicts": ["c"]}],
)
def test_a_trusted_decode_equals_validation_for_every_field(fields: dict[str, object]) -> None:
    record = built(entities=["Kürsk"], tags=["t"], title="T", publisher="P", **fields)
    raw = record_json(record)
    assert_same_record(trusted_record(raw), Record.model_validate(json.loads(raw)))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'{"id"', b'{"colour":"red","id"'),
        (b'"claimant":"Someone",', b""),
        (b'"excerpt"', b'"text"'),
    ],
)
def test_a_trusted_decode_validates_what_a_record_cannot_hold(old: bytes, new: bytes) -> None:
    raw = record_json(built()).replace(old, new)
    with pytest.raises(ValidationError):
        trusted_record(raw)


def test_a_dump_without_its_lists_is_validated_and_gets_them() -> None:
    raw = record_json(built()).replace(b'"denied_by":[],', b"")
    assert trusted_record(raw).denied_by == []


def lazy(*records: Record) -> LazyRecords:
    builder = RecordStoreBuilder()
    for r in records:
        builder.add_json(record_json(r), r.id)
    return LazyRecords(builder.build())


def test_fields_are_read_from_the_cache_without_decoding_the_record() -> None:
    tricky = 'Said "contradicts":[] and \\"contradicts\\":[] out loud.'
    records = [
        built("a-one", claim=tricky, quote='"contradicts":[]', excerpt='"contradicts":[]'),
        built("b-two", contradicts=["a-one"], denied_by=["a-one"]),
        built("c-three", contradicts=["a-one", "b-two"]),
    ]
    served = lazy(*records)
    for i, record in enumerate(records):
        assert served.record_id(i) == record.id
        assert served.claim(i) == record.claim
        assert served.contradicts(i) == record.contradicts
    assert served._decoded == {}
    assert served[-1] == records[-1] and served[0] == records[0]
    assert served.contradicts(2) == ["a-one", "b-two"]  # decoded: read from the record
    with pytest.raises(IndexError):
        served[3]
