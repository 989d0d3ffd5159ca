"""bot/search/records.py: the one stored encoding of a record."""

from __future__ import annotations

import pytest

from bot.knowledge.schema import Record
from bot.search.records import record_json
from bot.search.store import compact_json
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
