"""bot/knowledge.py: every kind of bad input gives the exact one-line problem a user sees.

Each test writes a small knowledge folder into ``tmp_path`` and compares ``str(problem)``,
the line ``python -m bot validate`` prints. The order follows bot/knowledge.py: Problem and
KnowledgeError, parsing (syntax, duplicate keys, empty, encoding, unsafe tags), records
(shape, fields, types, dates, status), aliases, the whole folder (ids, links, every
problem at once, no partial base), then the shipped knowledge itself.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, Problem, digest, load, loader
from bot.knowledge.schema import Record
from tests.records import RECORD_YAML

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
SOURCE_NAME = "000_06e7851319467af7.txt"

RECORD = RECORD_YAML


def edit(old: str, new: str, text: str = RECORD) -> str:
    """RECORD with one piece replaced; fails loudly if the piece is not there."""
    assert text.count(old) == 1, f"{old!r} is not in the record template"
    return text.replace(old, new)


def second(rid: str = "b-two") -> str:
    """Another valid record, with its own id."""
    return RECORD.replace('"a-one"', f'"{rid}"')


def make(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """A knowledge folder holding ``files`` (name -> text or raw bytes)."""
    folder = tmp_path / "kb"
    folder.mkdir()
    for name, content in files.items():
        data = content if isinstance(content, bytes) else textwrap.dedent(content).encode()
        (folder / name).write_bytes(data)
    return folder


def problems(folder: Path) -> list[str]:
    """The problem lines a user sees for ``folder``; the load must fail."""
    with pytest.raises(KnowledgeError) as info:
        load(folder)
    return [str(p) for p in info.value.problems]


def problems_of(tmp_path: Path, text: str | bytes, name: str = "x.yaml") -> tuple[Path, list[str]]:
    """Load a folder with one file; return (that file's path, the problem lines)."""
    folder = make(tmp_path, {name: text})
    return folder / name, problems(folder)


# --- Problem and KnowledgeError ---------------------------------------------------------


def test_problem_line_names_file_line_record_and_field() -> None:
    problem = Problem("knowledge/x.yaml", 12, "record 3 (some-id)", "date", "bad date")
    assert str(problem) == "knowledge/x.yaml:12: record 3 (some-id), field 'date': bad date"


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        (Problem("k/x.yaml", message="empty"), "k/x.yaml: empty"),
        (Problem("k/x.yaml", 3, message="bad"), "k/x.yaml:3: bad"),
        (Problem("k/x.yaml", 3, "record 1", message="bad"), "k/x.yaml:3: record 1: bad"),
        (Problem("k/x.yaml", None, None, "aliases", "bad"), "k/x.yaml: field 'aliases': bad"),
    ],
)
def test_problem_line_leaves_out_what_is_not_known(problem: Problem, expected: str) -> None:
    assert str(problem) == expected


def test_knowledge_error_counts_and_sorts_its_problems() -> None:
    error = KnowledgeError(
        [Problem("k/b.yaml", 2, message="two"), Problem("k/a.yaml", 9, message="one")]
    )
    assert [str(p) for p in error.problems] == ["k/a.yaml:9: one", "k/b.yaml:2: two"]
    assert str(error) == "2 problems in the knowledge base:\n  k/a.yaml:9: one\n  k/b.yaml:2: two"
    assert str(KnowledgeError([Problem("k", message="x")])).startswith("1 problem in")


# --- parsing: YAML syntax, duplicate keys, empty files, encoding, unsafe tags --------------


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, edit('claim: "A claim."', "claim: Iran said: no"))
    assert found == [f"{path}:2: YAML syntax error: mapping values are not allowed here"]


def test_unclosed_bracket_names_the_line_where_it_started(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + '  entities: ["Iran", "Russia"\n  tags: ["x"]\n')
    assert found == [
        f"{path}:9: YAML syntax error: while parsing a flow sequence (started at line 8) "
        "expected ',' or ']', but got '<scalar>'"
    ]


def test_unclosed_quote_names_the_line_where_it_started(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + '- id: "b-two\n  claim: B.\n')
    assert found == [
        f"{path}:10: YAML syntax error: while scanning a quoted scalar (started at line 8) "
        "found unexpected end of stream"
    ]


def test_wrong_indentation_is_a_syntax_error(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, edit("  status:", "   status:"))
    assert found == [
        f"{path}:5: YAML syntax error: while parsing a block mapping (started at line 1) "
        "expected <block end>, but found '<block mapping start>'"
    ]


def test_duplicate_key_is_rejected_not_silently_overwritten(tmp_path: Path) -> None:
    text = edit('  status: "reported"\n', '  status: "reported"\n  claim: "Another claim."\n')
    path, found = problems_of(tmp_path, text)
    assert found == [
        f"{path}:6: record 1 (a-one), field 'claim': duplicate key 'claim' (first at line 2); "
        "YAML would silently keep only the last one"
    ]


def test_duplicate_key_inside_a_nested_mapping_is_rejected(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + '    excerpt: "Another excerpt."\n')
    assert found == [
        f"{path}:8: record 1 (a-one), field 'source.excerpt': "
        "duplicate key 'excerpt' (first at line 7); YAML would silently keep only the last one"
    ]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n\n   # and another\n"])
def test_empty_file_is_a_problem(tmp_path: Path, text: str) -> None:
    path, found = problems_of(tmp_path, text)
    assert found == [f"{path}: the file is empty; add records or delete it"]


@pytest.mark.parametrize("text", ["~\n", "---\n", "null\n"])
def test_file_holding_only_null_is_a_problem(tmp_path: Path, text: str) -> None:
    folder = make(tmp_path, {"x.yaml": text, "y.yaml": RECORD})
    assert problems(folder) == [f"{folder / 'x.yaml'}: the file is empty; add records or delete it"]


def test_non_utf8_file_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, edit("Someone", "Zoë").encode("latin-1"))
    assert found == [f"{path}: not UTF-8 text (byte 49): save the file as UTF-8"]


def test_utf16_file_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD.encode("utf-16"))
    assert found == [f"{path}: not UTF-8 text (byte 0): save the file as UTF-8"]


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    folder = make(tmp_path, {"x.yaml": "\ufeff" + RECORD})
    assert [r.id for r in load(folder).records] == ["a-one"]


@pytest.mark.parametrize("char", ["\x00", "\x07"])
def test_control_character_is_a_problem_not_a_crash(tmp_path: Path, char: str) -> None:
    path, found = problems_of(tmp_path, edit("Someone", f"Some{char}one"))
    assert len(found) == 1
    assert found[0].startswith(f"{path}:3: ")


def test_unsafe_python_tag_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f'- !!python/object/apply:os.system ["touch {marker}"]\n'
    path, found = problems_of(tmp_path, text)
    assert found == [
        f"{path}:1: YAML tag '!!python/object/apply:os.system' is not allowed: "
        "records hold only text, numbers, lists and mappings"
    ]
    assert not marker.exists()


def test_unsafe_python_name_tag_in_a_field_is_refused(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, edit('claim: "A claim."', "claim: !!python/name:os.system"))
    assert found == [
        f"{path}:2: YAML tag '!!python/name:os.system' is not allowed: "
        "records hold only text, numbers, lists and mappings"
    ]


def test_several_yaml_documents_in_one_file_are_refused(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + "---\n" + second())
    assert found == [
        f"{path}:8: a second YAML document starts here ('---'); put all records in one list"
    ]


def test_recursive_yaml_alias_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    folder = make(tmp_path, {"x.yaml": "- &a [*a]\n", "y.yaml": RECORD})
    code = (
        "import sys\nfrom bot.knowledge import KnowledgeError, load\n"
        f"try:\n    load({str(folder)!r})\nexcept KnowledgeError as e:\n"
        "    print(*e.problems, sep='\\n')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{folder / 'x.yaml'}:1: ")


# --- records: file shape, fields, types, dates, status ----------------------------------


def test_file_holding_a_mapping_is_not_a_list_of_records(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, 'id: "a-one"\nclaim: "A claim."\n')
    assert found == [
        f"{path}:1: a record file must be a YAML list of records (lines starting with '- '), "
        "but this file holds a mapping"
    ]


def test_file_holding_text_is_not_a_list_of_records(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, "just some words\n")
    assert found == [
        f"{path}:1: a record file must be a YAML list of records (lines starting with '- '), "
        "but this file holds str"
    ]


def test_record_that_is_not_a_mapping_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, "- just words\n" + second() + "- 3\n")
    assert found == [
        f"{path}:1: record 1: a record must be a mapping of fields",
        f"{path}:9: record 3: a record must be a mapping of fields",
    ]


def test_unknown_field_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + '  colour: "red"\n')
    assert found == [
        f"{path}:8: record 1 (a-one), field 'colour': "
        "unknown field; check its spelling against the record schema"
    ]


def test_unknown_source_field_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + '    colour: "red"\n')
    # Line 6 is the 'source:' key: nested fields are located by their parent's line.
    assert found == [
        f"{path}:6: record 1 (a-one), field 'source.colour': "
        "unknown field; check its spelling against the record schema"
    ]


def test_missing_required_field_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, edit('  date: "2023-06"\n', ""))
    assert found == [f"{path}:1: record 1 (a-one), field 'date': required field is missing"]


@pytest.mark.parametrize(
    ("old", "new", "line", "label", "field", "got"),
    [
        (
            'claim: "A claim."',
            "claim: no",
            2,
            "record 1 (a-one)",
            "claim",
            "a yes/no value (false)",
        ),
        (
            'claim: "A claim."',
            "claim: yes",
            2,
            "record 1 (a-one)",
            "claim",
            "a yes/no value (true)",
        ),
        ('id: "a-one"', "id: 1.0", 1, "record 1", "id", "a number (1.0)"),
        (
            'claimant: "Someone"',
            "claimant: 2023-06-05",
            3,
            "record 1 (a-one)",
            "claimant",
            "a date (2023-06-05)",
        ),
        ('claimant: "Someone"', "claimant: 42", 3, "record 1 (a-one)", "claimant", "a number (42)"),
        (
            'excerpt: "An excerpt."',
            "excerpt: off",
            6,
            "record 1 (a-one)",
            "source.excerpt",
            "a yes/no value (false)",
        ),
    ],
)
def test_unquoted_value_of_another_type_asks_for_quotes(
    tmp_path: Path, old: str, new: str, line: int, label: str, field: str, got: str
) -> None:
    path, found = problems_of(tmp_path, edit(old, new))
    assert found == [
        f"{path}:{line}: {label}, field '{field}': expected text, got {got}; "
        "put the value in quotes so YAML keeps it as text"
    ]


def test_number_in_a_list_of_text_asks_for_quotes(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + '  entities: ["Iran", 2023]\n')
    assert found == [
        f"{path}:8: record 1 (a-one), field 'entities.1': expected text, got a number (2023); "
        "put the value in quotes so YAML keeps it as text"
    ]


def test_text_where_a_list_belongs_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + '  entities: "Iran"\n')
    assert found == [f"{path}:8: record 1 (a-one), field 'entities': Input should be a valid list"]


def test_blank_text_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, edit('claim: "A claim."', 'claim: "   "'))
    assert found == [f"{path}:2: record 1 (a-one), field 'claim': must not be empty"]


def test_id_that_is_not_a_slug_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, edit('id: "a-one"', 'id: "A One"'))
    assert found == [
        f"{path}:1: record 1 (A One), field 'id': 'A One' is not a valid id: use lowercase "
        "letters, digits and single hyphens, e.g. 'jun-2023-factory-east-of-moscow'"
    ]


def test_url_without_http_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + '    url: "www.example.com/a"\n')
    assert found == [
        f"{path}:6: record 1 (a-one), field 'source': "
        "url 'www.example.com/a' must start with http:// or https://"
    ]


@pytest.mark.parametrize(
    ("value", "date", "precision"),
    [
        ("2023-06-05", "2023-06-05", "day"),
        ("2023", "2023", "year"),
        ('"2023-06"', "2023-06", "month"),
        ('"2023"', "2023", "year"),
        ('"2023-06-05"', "2023-06-05", "day"),
    ],
)
def test_dates_are_kept_at_their_own_precision(
    tmp_path: Path, value: str, date: str, precision: str
) -> None:
    folder = make(tmp_path, {"x.yaml": edit('date: "2023-06"', f"date: {value}")})
    (record,) = load(folder).records
    assert record.date == date
    assert (
        record.date_text == {"year": "2023", "month": "June 2023", "day": "June 5, 2023"}[precision]
    )


def test_unquoted_source_published_date_is_accepted(tmp_path: Path) -> None:
    folder = make(tmp_path, {"x.yaml": RECORD + "    published: 2023-07-26\n"})
    assert load(folder).records[0].source.published == "2023-07-26"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"2023-13"', "'2023-13' is not a real date (month must be in 1..12)"),
        ('"2023-02-30"', "'2023-02-30' is not a real date (day is out of range for month)"),
        ('"2023-00"', "'2023-00' is not a real date (month must be in 1..12)"),
        ('"June 2023"', "'June 2023' is not a date: write YYYY, YYYY-MM or YYYY-MM-DD"),
        ('"05/06/2023"', "'05/06/2023' is not a date: write YYYY, YYYY-MM or YYYY-MM-DD"),
        ('"2023-6-5"', "'2023-6-5' is not a date: write YYYY, YYYY-MM or YYYY-MM-DD"),
        ("23", "expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got a number (23)"),
        ("2023.5", "expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got a number (2023.5)"),
        ("yes", "expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got a yes/no value (true)"),
        ("", "expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got nothing (null)"),
        ("2023-06-05 10:30:00", "a date with a time of day; write YYYY, YYYY-MM or YYYY-MM-DD"),
        ("2023-06-05T10:30:00Z", "a date with a time of day; write YYYY, YYYY-MM or YYYY-MM-DD"),
    ],
)
def test_bad_date_is_a_problem(tmp_path: Path, value: str, message: str) -> None:
    path, found = problems_of(tmp_path, edit('date: "2023-06"', f"date: {value}"))
    assert found == [f"{path}:4: record 1 (a-one), field 'date': {message}"]


@pytest.mark.parametrize("value", ["2023-02-30", "2023-13-01"])
def test_unquoted_impossible_date_is_a_problem_not_a_crash(tmp_path: Path, value: str) -> None:
    path, found = problems_of(tmp_path, edit('date: "2023-06"', f"date: {value}"))
    assert len(found) == 1
    assert found[0].startswith(f"{path}:4: ")
    assert value in found[0]


def test_status_outside_the_vocabulary_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, edit('status: "reported"', 'status: "rumoured"'))
    assert found == [
        f"{path}:5: record 1 (a-one), field 'status': "
        "must be one of 'reported', 'alleged', 'confirmed', 'denied' or 'disputed'"
    ]


def test_every_problem_of_one_record_is_reported(tmp_path: Path) -> None:
    text = edit('date: "2023-06"', 'date: "2023-13"', edit("claim: ", "claim_text: "))
    path, found = problems_of(tmp_path, text + '  status_note: "x"\n')
    assert found == [
        f"{path}:1: record 1 (a-one), field 'claim': required field is missing",
        f"{path}:2: record 1 (a-one), field 'claim_text': "
        "unknown field; check its spelling against the record schema",
        f"{path}:4: record 1 (a-one), field 'date': "
        "'2023-13' is not a real date (month must be in 1..12)",
        f"{path}:8: record 1 (a-one), field 'status_note': "
        "unknown field; check its spelling against the record schema",
    ]


# --- aliases.yaml -------------------------------------------------------------------------


def test_aliases_are_loaded_as_groups(tmp_path: Path) -> None:
    aliases = 'aliases:\n  - ["drone", "drones", "uav"]\n  - ["iran", "tehran"]\n'
    folder = make(tmp_path, {"aliases.yaml": aliases, "x.yaml": RECORD})
    assert load(folder).aliases == (("drone", "drones", "uav"), ("iran", "tehran"))


def test_alias_group_with_one_entry_is_a_problem(tmp_path: Path) -> None:
    aliases = 'aliases:\n  - ["drone", "drones"]\n  - ["lonely"]\n'
    folder = make(tmp_path, {"aliases.yaml": aliases, "x.yaml": RECORD})
    assert problems(folder) == [
        f"{folder / 'aliases.yaml'}: field 'aliases.1': "
        "List should have at least 2 items after validation, not 1"
    ]


def test_aliases_file_that_is_not_a_mapping_is_a_problem(tmp_path: Path) -> None:
    folder = make(tmp_path, {"aliases.yaml": '- ["drone", "drones"]\n', "x.yaml": RECORD})
    assert problems(folder) == [
        f"{folder / 'aliases.yaml'}: Input should be a valid dictionary or instance of AliasFile"
    ]


def test_alias_that_is_not_text_asks_for_quotes(tmp_path: Path) -> None:
    folder = make(tmp_path, {"aliases.yaml": 'aliases:\n  - ["yes", no]\n', "x.yaml": RECORD})
    assert problems(folder) == [
        f"{folder / 'aliases.yaml'}: field 'aliases.0.1': expected text, got a yes/no value "
        "(false); put the value in quotes so YAML keeps it as text"
    ]


def test_aliases_file_with_an_unknown_key_is_a_problem(tmp_path: Path) -> None:
    aliases = 'aliases:\n  - ["a", "b"]\nsynonyms: []\n'
    folder = make(tmp_path, {"aliases.yaml": aliases, "x.yaml": RECORD})
    assert problems(folder) == [
        f"{folder / 'aliases.yaml'}: field 'synonyms': "
        "unknown field; check its spelling against the record schema"
    ]


# --- the folder: ids, links, every problem at once, never a partial base ------------------


def test_duplicate_id_across_files_is_a_problem(tmp_path: Path) -> None:
    folder = make(tmp_path, {"a.yaml": RECORD, "b.yaml": second() + RECORD})
    assert problems(folder) == [
        f"{folder / 'b.yaml'}:8: record 2 (a-one), field 'id': "
        f"duplicate id 'a-one', already used in {folder / 'a.yaml'}:1"
    ]


def test_duplicate_id_in_one_file_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + "\n" + RECORD)
    assert found == [
        f"{path}:9: record 2 (a-one), field 'id': duplicate id 'a-one', already used in {path}:1"
    ]


def test_duplicate_of_an_invalid_record_is_still_reported(tmp_path: Path) -> None:
    folder = make(tmp_path, {"a.yaml": edit('date: "2023-06"', 'date: "x"'), "b.yaml": RECORD})
    found = problems(folder)
    assert any("duplicate id 'a-one'" in line for line in found), found


def test_link_to_an_unknown_id_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + '  denied_by: ["b-two"]\n')
    assert found == [
        f"{path}:1: record 1 (a-one), field 'denied_by': links to unknown record id 'b-two'"
    ]


def test_link_to_itself_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + '  contradicts: ["a-one"]\n')
    assert found == [
        f"{path}:1: record 1 (a-one), field 'contradicts': a record cannot link to itself"
    ]


def test_link_that_is_not_an_id_is_a_problem(tmp_path: Path) -> None:
    path, found = problems_of(tmp_path, RECORD + '  denied_by: ["B Two"]\n')
    assert found == [
        f"{path}:8: record 1 (a-one), field 'denied_by.0': 'B Two' is not a valid id: use "
        "lowercase letters, digits and single hyphens, e.g. 'jun-2023-factory-east-of-moscow'"
    ]


def test_links_across_files_resolve(tmp_path: Path) -> None:
    denier = second() + '  contradicts: ["a-one"]\n'
    folder = make(tmp_path, {"a.yaml": RECORD + '  denied_by: ["b-two"]\n', "b.yaml": denier})
    kb = load(folder)
    assert kb.by_id["a-one"].links() == [("denied_by", "b-two")]
    assert kb.by_id["b-two"].links() == [("contradicts", "a-one")]


def test_link_to_a_record_with_problems_is_not_called_unknown(tmp_path: Path) -> None:
    bad_target = edit('date: "2023-06"', 'date: "2023-13"', second())
    folder = make(tmp_path, {"a.yaml": RECORD + '  denied_by: ["b-two"]\n', "b.yaml": bad_target})
    assert problems(folder) == [
        f"{folder / 'b.yaml'}:4: record 1 (b-two), field 'date': "
        "'2023-13' is not a real date (month must be in 1..12)"
    ]


def test_every_problem_in_every_file_is_reported_in_one_run(tmp_path: Path) -> None:
    folder = make(
        tmp_path,
        {
            "a.yaml": RECORD
            + '  colour: "red"\n\n'
            + edit("claimant: ", "claimant: no #", second()),
            "b.yaml": '- id: "c-three\n',
            "c.yaml": b"- id: \xff\n",
            "d.yaml": second("d-four") + '  denied_by: ["nowhere"]\n',
            "e.yaml": "",
            "f.yaml": 'id: "f-six"\n',
            "aliases.yaml": 'aliases:\n  - ["one"]\n',
            "notes.txt": "not a knowledge file",
        },
    )
    with pytest.raises(KnowledgeError) as info:
        load(folder)
    expected = [
        f"{folder / 'a.yaml'}:8: record 1 (a-one), field 'colour': "
        "unknown field; check its spelling against the record schema",
        f"{folder / 'a.yaml'}:12: record 2 (b-two), field 'claimant': expected text, got a "
        "yes/no value (false); put the value in quotes so YAML keeps it as text",
        f"{folder / 'aliases.yaml'}: field 'aliases.0': "
        "List should have at least 2 items after validation, not 1",
        f"{folder / 'b.yaml'}:2: YAML syntax error: while scanning a quoted scalar "
        "(started at line 1) found unexpected end of stream",
        f"{folder / 'c.yaml'}: not UTF-8 text (byte 6): save the file as UTF-8",
        f"{folder / 'd.yaml'}:1: record 1 (d-four), field 'denied_by': "
        "links to unknown record id 'nowhere'",
        f"{folder / 'e.yaml'}: the file is empty; add records or delete it",
        f"{folder / 'f.yaml'}:1: a record file must be a YAML list of records "
        "(lines starting with '- '), but this file holds a mapping",
    ]
    assert [str(p) for p in info.value.problems] == expected
    assert str(info.value) == "8 problems in the knowledge base:\n" + "\n".join(
        f"  {line}" for line in expected
    )


def test_folder_with_a_problem_never_yields_a_partial_base(tmp_path: Path) -> None:
    folder = make(tmp_path, {"a.yaml": RECORD, "b.yaml": edit("status: ", "stat: ", second())})
    with pytest.raises(KnowledgeError) as info:
        load(folder)
    # load() raised instead of returning a.yaml's valid record; only b.yaml is at fault.
    assert {p.file for p in info.value.problems} == {str(folder / "b.yaml")}


def test_clean_folder_loads_every_record_in_file_order(tmp_path: Path) -> None:
    aliases = 'aliases:\n  - ["drone", "drones"]\n'
    folder = make(
        tmp_path,
        {
            "b.yml": second("c-three"),
            "a.yaml": RECORD + second(),
            "aliases.yaml": aliases,
            "README.md": "# not a record file\n",
        },
    )
    kb = load(folder)
    assert [r.id for r in kb.records] == ["a-one", "b-two", "c-three"]
    assert len(kb) == 3
    assert set(kb.by_id) == {"a-one", "b-two", "c-three"}
    assert kb.files == tuple(str(folder / n) for n in ("a.yaml", "aliases.yaml", "b.yml"))
    assert kb.aliases == (("drone", "drones"),)
    assert kb.records[0] == Record(
        id="a-one",
        claim="A claim.",
        claimant="Someone",
        date="2023-06",
        status="reported",
        source={"excerpt": "An excerpt."},
    )


def test_digest_changes_with_any_byte(tmp_path: Path) -> None:
    folder = make(tmp_path, {"a.yaml": RECORD})
    before = load(folder).digest
    assert before == digest(folder) and len(before) == 64
    (folder / "a.yaml").write_text(RECORD.replace("A claim.", "A claim!"))
    assert digest(folder) != before
    assert load(folder).digest == digest(folder)


def test_folder_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert problems(missing) == [f"{missing}: no such folder"]


def test_folder_without_yaml_files(tmp_path: Path) -> None:
    folder = make(tmp_path, {"notes.txt": "records go in .yaml files"})
    (folder / "sub.yaml").mkdir()
    assert problems(folder) == [f"{folder}: no .yaml files here: is this the knowledge folder?"]


# --- the fast path: libyaml's C parser, the locating loader only for problems -------------


FAST_CASES = [
    RECORD,
    edit('date: "2023-06"', "date: 2023-06-01"),  # an unquoted date: a datetime.date
    edit('date: "2023-06"', "date: 2023-02-30"),  # impossible: left as text
    edit('claim: "A claim."', "claim: no"),  # YAML 1.1 booleans
    edit('claim: "A claim."', "claim: 1.5e3"),
    edit('claim: "A claim."', "claim: ~"),
    edit('claim: "A claim."', "claim: |\n    Two\n    lines."),
    edit('claim: "A claim."', "claim: 'single ''quoted'''"),
    edit('claim: "A claim."', 'claim: "\\u00e9t\\u00e9 \\t"'),
    "[{id: a, claim: [1, 0x1f, 0o7, -.inf, 1_000, '2', 2023-01-01 10:00:00], x: {y: null}}]",
    "- a\n- b: c\n  d: [e, {f: g}]\n  '': ''\n",
]
UNSERVED_CASES = [
    "- &a {id: x}\n- *a\n",  # anchors and aliases
    "- !!str 3\n",  # explicit tags
    "- {<<: {a: 1}, b: 2}\n",  # merge keys
    "- {a: 1, a: 2}\n",  # duplicate keys
    "- {1: x}\n",  # non-text keys
    "- [a\n",  # a syntax error
    "- a\n---\n- b\n",  # two documents
    "- a\x07\n",  # a control character
]


@pytest.mark.parametrize("text", FAST_CASES)
def test_fast_parser_reads_what_the_locating_loader_reads(text: str) -> None:
    expected, _, found = loader._parse(text.encode(), "x.yaml")
    assert not found
    assert loader._fast_parse(text) == expected
    assert loader._fast_parse(text) == expected  # again, its plain texts known by now


@pytest.mark.parametrize("text", UNSERVED_CASES)
def test_fast_parser_leaves_the_rest_to_the_locating_loader(text: str) -> None:
    with pytest.raises(loader._Unserved):
        loader._fast_parse(text)


@pytest.mark.parametrize("path", [p for p in loader.record_files(KNOWLEDGE) if p.stem != "aliases"])
def test_valid_file_takes_the_fast_path_and_equals_the_located_read(path: Path) -> None:
    raw = path.read_bytes()
    fast = loader.read_record_file(raw, "k.yaml")
    located = loader.locate_record_file(raw, "k.yaml")
    assert not fast.located and located.located and fast.valid and located.valid
    assert [r for r, *_ in fast.records] == [r for r, *_ in located.records]
    assert [label for _, label, _ in fast.records] == [label for _, label, _ in located.records]
    assert [rid for rid, *_ in fast.ids] == [rid for rid, *_ in located.ids]


def test_file_with_a_problem_is_read_again_with_lines() -> None:
    bad = edit('status: "reported"', 'status: "rumoured"', second("c-3"))
    result = loader.read_record_file((RECORD + second() + bad).encode(), "x.yaml")
    assert result.located
    assert [str(p) for p in result.problems] == [
        "x.yaml:19: record 3 (c-3), field 'status': must be one of 'reported', 'alleged', "
        "'confirmed', 'denied' or 'disputed'"
    ]


def test_cross_file_problem_reads_again_only_the_files_it_names(tmp_path: Path) -> None:
    folder = make(tmp_path, {"a.yaml": RECORD, "b.yaml": second(), "c.yaml": RECORD})
    files = [loader.read_record_file(p.read_bytes(), str(p)) for p in loader.record_files(folder)]
    assert not any(f.located for f in files)
    found, involved = loader.cross_file_problems(files)
    assert involved == {str(folder / "a.yaml"), str(folder / "c.yaml")}
    assert found[0].line is None  # hence the second read, which load() does
    assert problems(folder) == [
        f"{folder / 'c.yaml'}:1: record 1 (a-one), field 'id': duplicate id 'a-one', "
        f"already used in {folder / 'a.yaml'}:1"
    ]


# --- the shipped knowledge --------------------------------------------------------------


def shipped_records() -> tuple[Record, ...]:
    """The shipped records, or none if they do not load (test_shipped_knowledge_loads says why)."""
    try:
        return load(KNOWLEDGE).records
    except KnowledgeError:
        return ()


def test_shipped_knowledge_loads() -> None:
    kb = load(KNOWLEDGE)
    assert len(kb.records) >= 24
    assert kb.aliases


@pytest.mark.parametrize("record", shipped_records(), ids=lambda r: r.id)
def test_shipped_record_round_trips_through_the_schema(record: Record) -> None:
    assert Record.model_validate(record.model_dump()) == record
    assert Record.model_validate_json(record.model_dump_json()) == record


def _source_text() -> str | None:
    here = Path(__file__).resolve()
    for shared in (here.parents[2] / "shared", Path(__file__).parents[1] / ".." / "shared"):
        path = shared / "sources" / SOURCE_NAME
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


@pytest.mark.parametrize("record", shipped_records(), ids=lambda r: r.id)
def test_shipped_excerpt_and_quote_are_verbatim_in_the_source(record: Record) -> None:
    text = _source_text()
    if text is None:
        pytest.skip(f"shared/sources/{SOURCE_NAME} is not beside the repository")
    assert record.source.excerpt in text
    if record.quote is not None:
        assert record.quote in text
        assert record.quote in record.source.excerpt
