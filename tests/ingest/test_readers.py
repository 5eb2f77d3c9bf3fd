"""Source readers: every bad input gives a clear report, loses no record and does not crash."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimsight.core.errors import InvalidInput, NotFound
from aimsight.ingest._readers import SourceFormatError, read_records, read_source
from aimsight.ingest._types import LINE_COLUMN, SourceRead


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rows(read: SourceRead) -> list[dict[str, object]]:
    table: list[dict[str, object]] = read.table.to_pylist()
    return table


def codes(read: SourceRead) -> list[str]:
    return [reason.code for reject in read.rejects for reason in reject.reasons]


def assert_nothing_lost(read: SourceRead, records: int) -> None:
    """Every record is either a row or a reject, each numbered once, 1..records."""
    assert read.rows_in == records
    lines = read.table.column(LINE_COLUMN).to_pylist() + [r.line for r in read.rejects]
    assert sorted(lines) == list(range(1, records + 1))


# --- CSV: delimiters ------------------------------------------------------------------------


def test_semicolon_file_is_detected_and_said(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", b"name;amount\nBob;9,99\nAnn;3\n")
    read = read_source(path)
    assert read.delimiter == ";"
    assert rows(read) == [
        {"name": "Bob", "amount": "9,99", LINE_COLUMN: 1},
        {"name": "Ann", "amount": "3", LINE_COLUMN: 2},
    ]
    assert any("';'" in note for note in read.notes)


def test_forced_wrong_delimiter_keeps_every_record_and_says_which_to_use(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", b"name;amount\nBob;9,99\nAnn;3\n")
    read = read_source(path, delimiter=",")
    assert read.delimiter == ","
    assert_nothing_lost(read, 2)
    # "Bob;9,99" splits in two on the comma: a ragged record, kept with its text.
    assert [(r.line, r.raw) for r in read.rejects] == [(1, "Bob;9,99")]
    assert codes(read) == ["ragged_row"]
    assert rows(read) == [{"name;amount": "Ann;3", LINE_COLUMN: 2}]
    assert any("';'" in note and "--delimiter" in note for note in read.notes)


@pytest.mark.parametrize("given", ["\t", "tab", "\\t"])
def test_tab_delimiter_can_be_given_by_name(tmp_path: Path, given: str) -> None:
    path = write(tmp_path, "c.tsv", b"a\tb\n1\t2\n")
    assert rows(read_source(path, delimiter=given)) == [{"a": "1", "b": "2", LINE_COLUMN: 1}]


@pytest.mark.parametrize("bad", ["", ";;", '"', "\n"])
def test_unusable_delimiter_is_refused_naming_the_argument(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, "c.csv", b"a,b\n1,2\n")
    with pytest.raises(InvalidInput, match="delimiter") as caught:
        read_source(path, delimiter=bad)
    assert caught.value.field == "delimiter"


def test_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    read = read_source(write(tmp_path, "c.csv", b"sep=;\r\nname;amount\r\nBob;9,99\r\n"))
    assert rows(read) == [{"name": "Bob", "amount": "9,99", LINE_COLUMN: 1}]
    assert any("sep=" in note for note in read.notes)


def test_old_mac_line_endings_are_records(tmp_path: Path) -> None:
    read = read_source(write(tmp_path, "c.csv", b"a,b\r1,2\r3,4\r"))
    assert rows(read) == [
        {"a": "1", "b": "2", LINE_COLUMN: 1},
        {"a": "3", "b": "4", LINE_COLUMN: 2},
    ]


def test_one_column_file_reads_as_one_column(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", b'email\na@example.com\n""\n')
    read = read_source(path)
    assert rows(read) == [
        {"email": "a@example.com", LINE_COLUMN: 1},
        {"email": "", LINE_COLUMN: 2},
    ]
    assert any("one column" in note for note in read.notes)


# --- CSV: encodings -------------------------------------------------------------------------


def test_latin1_file_is_decoded_as_cp1252_with_a_note(tmp_path: Path) -> None:
    data = "name,city\nRenée,Orléans\nJosé,Málaga\n".encode("latin-1")
    read = read_source(write(tmp_path, "c.csv", data))
    assert read.encoding == "cp1252"
    assert [row["name"] for row in rows(read)] == ["Renée", "José"]
    assert any("cp1252" in note for note in read.notes)
    assert_nothing_lost(read, 2)


def test_cp1252_only_characters_and_undefined_bytes_are_both_kept(tmp_path: Path) -> None:
    # 0x80 is the euro sign in cp1252; 0x81 is undefined there and read as latin-1 does.
    read = read_source(write(tmp_path, "c.csv", b"price,code\n5\x80,a\x81\n"))
    assert rows(read) == [{"price": "5€", "code": "a\x81", LINE_COLUMN: 1}]


def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    data = "\ufeffid,name\r\n1,Zoë\r\n".encode()
    read = read_source(write(tmp_path, "c.csv", data))
    assert read.table.column_names == ["id", "name", LINE_COLUMN]
    assert rows(read) == [{"id": "1", "name": "Zoë", LINE_COLUMN: 1}]
    assert read.encoding == "utf-8-sig"


def test_utf16_file_with_bom_is_read(tmp_path: Path) -> None:
    data = "id,name\n1,Zoë\n".encode("utf-16")
    read = read_source(write(tmp_path, "c.csv", data))
    assert rows(read) == [{"id": "1", "name": "Zoë", LINE_COLUMN: 1}]
    assert read.encoding is not None and read.encoding.startswith("utf-16")


def test_invalid_utf8_record_is_rejected_with_escapes_and_others_read(tmp_path: Path) -> None:
    data = "id,name\n1,Zoë\n2,Chloé\n".encode() + b"3,Ren\xe9e\n" + "4,Léa\n".encode()
    read = read_source(write(tmp_path, "c.csv", data))
    assert read.encoding == "utf-8"
    assert [row["name"] for row in rows(read)] == ["Zoë", "Chloé", "Léa"]
    assert [(r.line, r.raw, r.raw_format) for r in read.rejects] == [(3, "3,Ren\\xe9e", "text")]
    assert codes(read) == ["invalid_utf8"]
    assert "--encoding" in read.rejects[0].reasons[0].message
    assert_nothing_lost(read, 4)


def test_explicit_encoding_is_used_and_a_wrong_one_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "name\nRenée\n".encode("latin-1"))
    assert rows(read_source(path, encoding="latin-1")) == [{"name": "Renée", LINE_COLUMN: 1}]
    with pytest.raises(SourceFormatError, match=r"c\.csv.*not valid ascii.*--encoding"):
        read_source(path, encoding="ascii")
    with pytest.raises(InvalidInput, match="not known"):
        read_source(path, encoding="no-such-codec")


def test_explicit_utf8_rejects_bad_records_instead_of_guessing(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", b"name\nRen\xe9e\nBob\n")
    read = read_source(path, encoding="utf-8")
    assert rows(read) == [{"name": "Bob", LINE_COLUMN: 2}]
    assert codes(read) == ["invalid_utf8"]


# --- CSV: records ---------------------------------------------------------------------------


def test_ragged_rows_are_rejected_with_their_text_and_numbers(tmp_path: Path) -> None:
    data = b"a,b\n1,2\n3\n4,5,6\n7,8\n"
    read = read_source(write(tmp_path, "c.csv", data))
    assert rows(read) == [
        {"a": "1", "b": "2", LINE_COLUMN: 1},
        {"a": "7", "b": "8", LINE_COLUMN: 4},
    ]
    assert [(r.line, r.raw) for r in read.rejects] == [(2, "3"), (3, "4,5,6")]
    assert codes(read) == ["ragged_row", "ragged_row"]
    assert "1 field where the header has 2" in read.rejects[0].reasons[0].message
    assert_nothing_lost(read, 4)


def test_quoted_newlines_stay_in_the_value_and_records_are_numbered(tmp_path: Path) -> None:
    data = b'id,note\r\n1,"two\r\nlines"\r\n\r\n2,"say ""hi"", then go"\r\n3,x,extra\r\n4,y\r\n'
    read = read_source(write(tmp_path, "c.csv", data))
    assert rows(read) == [
        {"id": "1", "note": "two\r\nlines", LINE_COLUMN: 1},
        {"id": "2", "note": 'say "hi", then go', LINE_COLUMN: 2},
        {"id": "4", "note": "y", LINE_COLUMN: 4},
    ]
    assert [r.line for r in read.rejects] == [3]


def test_values_are_kept_exactly_and_empty_stays_empty(tmp_path: Path) -> None:
    data = b' id , name \n 1 ,  Bob  \n2,\n3,""\n'
    read = read_source(write(tmp_path, "c.csv", data))
    assert read.table.column_names == ["id", "name", LINE_COLUMN]
    assert [(row["id"], row["name"]) for row in rows(read)] == [
        (" 1 ", "  Bob  "),
        ("2", ""),
        ("3", ""),
    ]
    assert read.table.column("name").null_count == 0


def test_a_10_mb_field_is_read(tmp_path: Path) -> None:
    big = "x" * 10_000_000
    data = f'id,blob\n1,{big}\n2,"{big[:5]}\n{big[:5]}"\n3,small\n'.encode()
    read = read_source(write(tmp_path, "c.csv", data))
    assert [len(str(v)) for v in read.table.column("blob").to_pylist()] == [10_000_000, 11, 5]
    assert_nothing_lost(read, 3)


def test_a_10_mb_field_is_read_on_the_slow_path_too(tmp_path: Path) -> None:
    # An undecodable record sends the file through the csv module: its size limit is lifted.
    big = "é" * 5_000_000
    data = f"id,blob\n1,{big}\n".encode() + b"2,\xff\n"
    read = read_source(write(tmp_path, "c.csv", data))
    assert len(str(read.table.column("blob")[0])) == 5_000_000
    assert codes(read) == ["invalid_utf8"]
    assert_nothing_lost(read, 2)


def test_a_never_closed_quote_keeps_the_rest_as_one_rejected_record(tmp_path: Path) -> None:
    read = read_source(write(tmp_path, "c.csv", b'a,b\n1,2\n"3,4\n5,6\n'))
    assert rows(read) == [{"a": "1", "b": "2", LINE_COLUMN: 1}]
    assert [(r.line, r.raw) for r in read.rejects] == [(2, '"3,4\n5,6')]
    assert read.rows_in == 2


# --- CSV: whole-file problems ---------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"  \n\r\n\t", b"\xef\xbb\xbf"])
def test_empty_file_is_one_clear_error_naming_the_file(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, "customers.csv", data)
    with pytest.raises(SourceFormatError) as caught:
        read_source(path)
    message = str(caught.value)
    assert "customers.csv" in message and "file is empty" in message
    assert "\n" not in message


def test_header_only_gives_no_rows_and_no_error(tmp_path: Path) -> None:
    read = read_source(write(tmp_path, "c.csv", b"id,email\r\n\r\n"))
    assert read.rows_in == 0
    assert read.table.column_names == ["id", "email", LINE_COLUMN]
    assert read.table.schema.field("id").type == pa.string()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"id,email,id\n", r"duplicate column names.*'id'"),
        (b"id, email,email \n", r"duplicate column names.*'email'"),
        (b"id,,email\n", r"column 2 of the header has no name"),
        (b"id,email,\n", r"column 3 of the header has no name"),
        (b"id,_line\n", r"reserves"),
    ],
)
def test_bad_header_names_are_one_clear_error(tmp_path: Path, header: bytes, expected: str) -> None:
    path = write(tmp_path, "c.csv", header + b"1,2,3\n")
    with pytest.raises(SourceFormatError, match=expected) as caught:
        read_source(path)
    assert str(caught.value).startswith(f"{path}:")


def test_format_comes_from_the_suffix_or_the_argument(tmp_path: Path) -> None:
    path = write(tmp_path, "export.dat", b"a\n1\n")
    with pytest.raises(SourceFormatError, match="--format"):
        read_source(path)
    assert read_source(path, format="csv").rows_in == 1
    with pytest.raises(NotFound):
        read_source(tmp_path / "missing.csv")


# --- JSON Lines -----------------------------------------------------------------------------


def test_jsonl_values_keep_their_json_text(tmp_path: Path) -> None:
    lines = [
        '{"id": "c1", "amount": 19.990, "vip": true, "n": 7, "nick": null}',
        "",
        '{"id": "c2", "tags": ["a", 1.50], "address": {"city": "Lyon", "zip": null}}',
    ]
    read = read_source(write(tmp_path, "c.jsonl", "\n".join(lines).encode()))
    assert read.table.column_names == [
        "id",
        "amount",
        "vip",
        "n",
        "nick",
        "tags",
        "address",
        "_line",
    ]
    assert rows(read) == [
        {
            "id": "c1",
            "amount": "19.990",
            "vip": "true",
            "n": "7",
            "nick": None,
            "tags": None,
            "address": None,
            LINE_COLUMN: 1,
        },
        {
            "id": "c2",
            "amount": None,
            "vip": None,
            "n": None,
            "nick": None,
            "tags": '["a",1.50]',
            "address": '{"city":"Lyon","zip":null}',
            LINE_COLUMN: 2,
        },
    ]


def test_jsonl_lines_that_are_not_objects_or_not_json_are_rejected(tmp_path: Path) -> None:
    lines = ['{"id": 1}', "[1, 2]", '"text"', "42", "null", "{id: 2}", "NaN", '{"id": 3}']
    read = read_source(write(tmp_path, "c.ndjson", ("\r\n".join(lines) + "\r\n").encode()))
    assert read.table.column("id").to_pylist() == ["1", "3"]
    assert [(r.line, r.raw, r.reasons[0].code) for r in read.rejects] == [
        (2, "[1, 2]", "not_an_object"),
        (3, '"text"', "not_an_object"),
        (4, "42", "not_an_object"),
        (5, "null", "not_an_object"),
        (6, "{id: 2}", "invalid_json"),
        (7, "NaN", "invalid_json"),
    ]
    assert "a JSON array" in read.rejects[0].reasons[0].message
    assert_nothing_lost(read, 8)


def test_jsonl_undecodable_line_is_rejected_with_escapes(tmp_path: Path) -> None:
    data = b'{"name": "Ren\xe9e"}\n{"name": "Bob"}\n'
    read = read_source(write(tmp_path, "c.jsonl", data))
    assert rows(read) == [{"name": "Bob", LINE_COLUMN: 2}]
    assert [(r.raw, r.reasons[0].code) for r in read.rejects] == [
        ('{"name": "Ren\\xe9e"}', "invalid_utf8")
    ]


def test_empty_jsonl_is_an_error_and_a_json_array_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError, match="file is empty"):
        read_source(write(tmp_path, "e.jsonl", b"\n\n"))
    array = json.dumps([{"id": 1}, {"id": 2}, 3], indent=2).encode()
    read = read_source(write(tmp_path, "a.json", array))
    assert read.table.column("id").to_pylist() == ["1", "2"]
    assert codes(read) == ["not_an_object"]
    assert_nothing_lost(read, 3)


# --- Parquet --------------------------------------------------------------------------------


def test_parquet_columns_become_strings(tmp_path: Path) -> None:
    when = dt.datetime(2024, 5, 1, 8, 30, tzinfo=dt.UTC)
    table = pa.table(
        {
            "id": pa.array(["a", None]),
            "n": pa.array([1, 2], pa.int64()),
            "price": pa.array([19.99, None]),
            "ok": pa.array([True, False]),
            "at": pa.array([when, None], pa.timestamp("us", tz="UTC")),
            "day": pa.array([dt.date(2024, 5, 1), None]),
            "tags": pa.array([["x", "y"], None]),
            "kind": pa.array(["p", "q"]).dictionary_encode(),
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    read = read_source(path)
    assert read.format == "parquet"
    assert all(read.table.schema.field(n).type == pa.string() for n in table.column_names)
    assert rows(read) == [
        {
            "id": "a",
            "n": "1",
            "price": "19.99",
            "ok": "true",
            "at": "2024-05-01T08:30:00.000000Z",
            "day": "2024-05-01",
            "tags": '["x","y"]',
            "kind": "p",
            LINE_COLUMN: 1,
        },
        {
            "id": None,
            "n": "2",
            "price": None,
            "ok": "false",
            "at": None,
            "day": None,
            "tags": None,
            "kind": "q",
            LINE_COLUMN: 2,
        },
    ]


def test_a_file_that_is_not_parquet_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"x\.parquet: not a readable Parquet file"):
        read_source(write(tmp_path, "x.parquet", b"id,name\n1,a\n"))


# --- records --------------------------------------------------------------------------------


def test_read_records_numbers_from_first_line_and_rejects_non_objects() -> None:
    records: list[object] = [
        {"id": "e1", "value": 2.5, "flag": False, "at": dt.date(2024, 1, 2), "props": {"a": [1]}},
        ["not", "an", "object"],
        b'{"id": "e3"}',
        b"{broken",
        b"\xff",
        {"_line": 3},
    ]
    read = read_records(records, first_line=101)
    assert read.format == "records"
    assert rows(read) == [
        {
            "id": "e1",
            "value": "2.5",
            "flag": "false",
            "at": "2024-01-02",
            "props": '{"a":[1]}',
            LINE_COLUMN: 101,
        },
        {"id": "e3", "value": None, "flag": None, "at": None, "props": None, LINE_COLUMN: 103},
    ]
    assert [(r.line, r.reasons[0].code) for r in read.rejects] == [
        (102, "not_an_object"),
        (104, "invalid_json"),
        (105, "invalid_utf8"),
        (106, "unreadable_record"),
    ]
    assert read.rejects[0].raw == '["not","an","object"]'
    assert read.rows_in == len(records)


def test_read_records_of_nothing_is_an_empty_read() -> None:
    read = read_records([])
    assert read.rows_in == 0
    assert read.table.column_names == [LINE_COLUMN]


# --- properties -----------------------------------------------------------------------------

_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8).filter(
    lambda name: name != LINE_COLUMN
)
# (line terminator, quote every field); "\n" with minimal quoting would leave a lone "\r" bare.
_DIALECTS = st.sampled_from([("\r\n", False), ("\r\n", True), ("\n", True)])


@st.composite
def _tables(draw: st.DrawFn, min_columns: int = 1) -> tuple[list[str], list[list[str]]]:
    names = draw(st.lists(_NAMES, min_size=min_columns, max_size=5, unique=True))
    values = st.text(max_size=12) | st.sampled_from(['"', ",", ";", "\t", "|", "\r\n", " x ", ""])
    body = draw(st.lists(st.lists(values, min_size=len(names), max_size=len(names)), max_size=15))
    return names, body


def _csv_bytes(
    names: list[str], body: list[list[str]], delimiter: str, dialect: tuple[str, bool]
) -> bytes:
    terminator, quote_all = dialect
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=delimiter,
        lineterminator=terminator,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow(names)
    writer.writerows(body)
    return out.getvalue().encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=_tables(), delimiter=st.sampled_from(",;\t|"), dialect=_DIALECTS)
def test_csv_of_random_strings_reads_back_exactly(
    tmp_path_factory: pytest.TempPathFactory,
    table: tuple[list[str], list[list[str]]],
    delimiter: str,
    dialect: tuple[str, bool],
) -> None:
    names, body = table
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_bytes(_csv_bytes(names, body, delimiter, dialect))
    read = read_source(path, delimiter=delimiter)
    assert read.rejects == []
    assert read.table.column_names == [*names, LINE_COLUMN]
    assert [[row[n] for n in names] for row in rows(read)] == body
    assert_nothing_lost(read, len(body))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=_tables(min_columns=2), delimiter=st.sampled_from(",;\t|"), dialect=_DIALECTS)
def test_csv_delimiter_is_detected_and_the_slow_path_agrees(
    tmp_path_factory: pytest.TempPathFactory,
    table: tuple[list[str], list[list[str]]],
    delimiter: str,
    dialect: tuple[str, bool],
) -> None:
    names, body = table
    data = _csv_bytes(names, body, delimiter, dialect)
    folder = tmp_path_factory.mktemp("csv")
    detected = read_source(write(folder, "t.csv", data))
    assert detected.delimiter == delimiter
    assert [[row[n] for n in names] for row in rows(detected)] == body
    # One undecodable record sends the file through the csv module: same rows, one reject.
    bad = b"\xff" + delimiter.encode() * (len(names) - 1) + b"\n"
    slow = read_source(write(folder, "u.csv", data + bad), encoding="utf-8")
    assert rows(slow) == rows(detected)
    assert [(r.line, r.reasons[0].code) for r in slow.rejects] == [(len(body) + 1, "invalid_utf8")]


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(_JSON, max_size=12), first_line=st.integers(min_value=1, max_value=10**6))
def test_read_records_never_loses_a_record(values: list[object], first_line: int) -> None:
    read = read_records(values, first_line=first_line)
    assert read.rows_in == len(values)
    lines = read.table.column(LINE_COLUMN).to_pylist() + [r.line for r in read.rejects]
    assert sorted(lines) == list(range(first_line, first_line + len(values)))
    readable = [v for v in values if isinstance(v, dict) and all(k and k != LINE_COLUMN for k in v)]
    assert read.table.num_rows == len(readable)
    # Top-level strings and numbers come back as their JSON text.
    for row, value in zip(rows(read), readable, strict=True):
        for key, item in value.items():
            if isinstance(item, str):
                assert row[key] == item
            elif item is None:
                assert row[key] is None
            else:
                assert json.loads(str(row[key])) == item


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(_JSON, min_size=1, max_size=12))
def test_jsonl_file_never_loses_a_line(
    tmp_path_factory: pytest.TempPathFactory, values: list[object]
) -> None:
    path = tmp_path_factory.mktemp("jsonl") / "t.jsonl"
    path.write_text("\n".join(json.dumps(v) for v in values) + "\n", encoding="utf-8")
    read = read_source(path)
    assert_nothing_lost(read, len(values))


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_bytes_already_read_are_read_as_the_file_would_be(tmp_path: Path, suffix: str) -> None:
    table = pa.table({"id": ["1", "2"], "name": ["Ada", "Bo,b"]})
    path = tmp_path / f"t.{suffix}"
    if suffix == "parquet":
        pq.write_table(table, path)
    elif suffix == "csv":
        path.write_text('id,name\n1,Ada\n2,"Bo,b"\n', encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in table.to_pylist()), "utf-8")
    data = path.read_bytes()
    path.write_bytes(b"changed since it was read")  # what was read (and hashed) is what counts
    read = read_source(path, data=data)
    assert rows(read) == [{**r, LINE_COLUMN: i} for i, r in enumerate(table.to_pylist(), 1)]
    assert read.format == suffix
