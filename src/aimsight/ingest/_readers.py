"""Source readers: CSV, JSON Lines, Parquet files and parsed records into tables of strings.

Reading never guesses types and never trims a value: every field is kept as the exact text of
the source, so that validation sees what arrived and quarantine can give it back. A record
that cannot be read (ragged, undecodable, not a JSON object) becomes a :class:`RejectedRow`;
a problem with the whole file (empty, a bad header) is a :class:`SourceFormatError`.
Records are numbered 1, 2, ... in source order (the CSV header and blank lines not counted).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from encodings import cp1252
from pathlib import Path
from typing import Literal, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from aimsight.core.errors import InvalidInput, NotFound
from aimsight.ingest._types import LINE_COLUMN, Reason, RejectedRow, SourceRead

__all__ = ["SUFFIX_FORMATS", "SourceFormat", "SourceFormatError", "read_records", "read_source"]

SourceFormat = Literal["csv", "jsonl", "parquet"]

SUFFIX_FORMATS: dict[str, SourceFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_DELIMITERS = ",;\t|"
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
_SNIFF_BYTES = 64 * 1024
_ENCODING_SAMPLE_LINES = 10_000
_ENCODING_CHUNK = 1 << 22
_CHUNK_ROWS = 1 << 16
_BLOCK_SIZE = 1 << 24  # pyarrow reads 16 MiB blocks; a longer record triggers one retry
_MAX_BLOCK_SIZE = (1 << 31) - 1

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# cp1252 with the five bytes it leaves undefined mapped as latin-1 does.
_CP1252_TABLE = "".join(
    chr(i) if ch == "\ufffe" else ch for i, ch in enumerate(cp1252.decoding_table)
)
_HEADER_RE = re.compile(rb'(?:"[^"]*"|[^"\r\n])*(?:\r\n|\n|\r|\Z)')
_NOT_NEWLINE_RE = re.compile(rb"[^\r\n]")
_NOT_SPACE_RE = re.compile(rb"\S")
_SEP_LINE_RE = re.compile(rb"sep=([^\r\n\"])(?:\r\n|\n|\r)")


class SourceFormatError(InvalidInput):
    """Raised when a whole source cannot be read: empty, a bad header, an undecodable encoding.

    The message is one line naming the file and the fix; no batch is formed, nothing is lost.
    """

    code = "source_format_error"


def read_source(
    path: Path,
    *,
    format: SourceFormat | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    data: bytes | None = None,
) -> SourceRead:
    """Read one file into a table of strings plus the records that could not be read.

    Args:
        path: a CSV (``.csv``, ``.tsv``, ``.txt``), JSON Lines (``.jsonl``, ``.ndjson``,
            ``.json``) or Parquet (``.parquet``) file.
        format: the format when the suffix does not tell it.
        delimiter: the CSV delimiter (one character; ``"tab"`` or ``"\\t"`` for a tab);
            detected among ``, ; tab |`` when omitted.
        encoding: the text encoding; detected when omitted (byte order mark, UTF-8, else
            cp1252).
        data: the file's content when the caller has already read it (to hash it): it is
            read from these bytes, not again from ``path``, which then only names it.

    Returns:
        A :class:`SourceRead` whose ``rows_in`` counts every record of the file.

    Raises:
        SourceFormatError: the file is empty, its header is unusable, or it cannot be decoded.
        NotFound: there is no such file.
        InvalidInput: an argument is not allowed.
    """
    path = Path(path)
    fmt = _format_of(path, format)
    origin = str(path)
    if fmt == "parquet":
        return _read_parquet(path if data is None else pa.py_buffer(data), origin)
    if data is None:
        data = _read_bytes(path, origin)
    if fmt == "jsonl":
        return _read_jsonl(data, origin, encoding, as_array=path.suffix.lower() == ".json")
    return _read_csv(data, origin, _delimiter_argument(delimiter), encoding)


def read_records(records: Sequence[object], *, first_line: int = 1) -> SourceRead:
    """Read already-received records (collector messages, stream payloads) like JSON Lines.

    A ``dict`` is a record; ``bytes`` are a raw payload, decoded as UTF-8 and parsed as JSON
    first; any other value is a parsed JSON value that is not an object and is rejected.

    Args:
        records: the records, in order.
        first_line: the record number of ``records[0]``.

    Returns:
        A :class:`SourceRead` (format ``"records"``) with ``rows_in == len(records)``.
    """
    builder = _RowBuilder()
    for index, record in enumerate(records):
        line = first_line + index
        if isinstance(record, bytes | bytearray | memoryview):
            builder.add_text(line, bytes(record))
        else:
            builder.add_value(line, record, None)
    return builder.finish(format="records", encoding=None)


# --- arguments and files -------------------------------------------------------------------


def _format_of(path: Path, format: str | None) -> SourceFormat:
    if format is not None:
        if format not in ("csv", "jsonl", "parquet"):
            raise InvalidInput(
                f"format {format!r} is not known; use csv, jsonl or parquet", field="format"
            )
        return cast(SourceFormat, format)
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SourceFormatError(
            f"{path}: cannot tell the format from the suffix {path.suffix or '(none)'!r}; "
            "pass --format csv, jsonl or parquet"
        )
    return fmt


def _delimiter_argument(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    if delimiter.lower() in ("tab", "\\t"):
        return "\t"
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise InvalidInput(
            f"delimiter {delimiter!r} is not allowed; give one character such as , ; | or tab",
            field="delimiter",
        )
    return delimiter


def _read_bytes(path: Path, origin: str) -> bytes:
    if path.is_dir():
        raise SourceFormatError(f"{origin}: is a folder; read the files in it one by one")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{origin}: no such file; check the path") from None
    except OSError as exc:
        raise SourceFormatError(f"{origin}: cannot be read ({exc.strerror}); check it") from None


def _is_blank(data: bytes) -> bool:
    """Whether ``data`` holds only whitespace (searched, not copied as ``strip`` would)."""
    return _NOT_SPACE_RE.search(data) is None


def _empty_error(origin: str) -> SourceFormatError:
    return SourceFormatError(
        f"{origin}: file is empty; export the data again or remove the file from the source"
    )


# --- text decoding -------------------------------------------------------------------------


def _strip_bom(data: bytes) -> tuple[bytes, str | None]:
    """UTF-8 bytes of ``data`` with any byte order mark removed, and the BOM's encoding."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            if name == "utf-8-sig":
                return data[len(bom) :], name
            return data.decode(name).encode("utf-8"), f"{name}-{_bom_order(bom)}"
    return data, None


def _bom_order(bom: bytes) -> str:
    """``le`` or ``be`` for a UTF-16/32 byte order mark."""
    return "le" if bom[0] == 0xFF else "be"


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, checked without copying it."""
    if data.isascii():
        return True
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    array = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _mostly_not_utf8(data: bytes) -> bool:
    """Whether most lines with non-ASCII bytes fail to decode as UTF-8 (sampled)."""
    checked = failed = 0
    position = 0
    while position < len(data) and checked < _ENCODING_SAMPLE_LINES:
        chunk = data[position : position + _ENCODING_CHUNK]
        if position + len(chunk) < len(data):
            cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
            chunk = chunk[: cut + 1] if cut > 0 else chunk
        position += len(chunk)
        if chunk.isascii():
            continue
        for line in chunk.splitlines():
            if line.isascii():
                continue
            checked += 1
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                failed += 1
    return failed * 2 > checked


def _decode(
    data: bytes, origin: str, encoding: str | None, notes: list[str]
) -> tuple[bytes, str, bool]:
    """The source as UTF-8 bytes, the encoding used, and whether invalid UTF-8 remains.

    When the result still holds invalid UTF-8, the records holding it are rejected one by one.
    """
    if encoding is not None:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise InvalidInput(
                f"encoding {encoding!r} is not known; use a name such as utf-8, cp1252 or latin-1",
                field="encoding",
            ) from None
        if name in ("utf-8", "utf-8-sig"):
            body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
            return body, "utf-8", not _is_utf8(body)
        try:
            return data.decode(name).encode("utf-8"), name, False
        except UnicodeDecodeError as exc:
            raise SourceFormatError(
                f"{origin}: byte 0x{data[exc.start]:02x} at offset {exc.start} is not valid "
                f"{name}; pass the file's real encoding with --encoding"
            ) from None
    try:
        body, bom_encoding = _strip_bom(data)
    except UnicodeDecodeError as exc:
        raise SourceFormatError(
            f"{origin}: starts with a UTF-16/32 byte order mark but does not decode as such "
            f"({exc.reason}); pass the file's real encoding with --encoding"
        ) from None
    if bom_encoding is not None:
        notes.append(f"byte order mark found: decoded as {bom_encoding}")
        return body, bom_encoding, bom_encoding == "utf-8-sig" and not _is_utf8(body)
    if _is_utf8(body):
        return body, "utf-8", False
    if _mostly_not_utf8(body):
        notes.append(
            "not valid UTF-8: decoded as cp1252 (latin-1 for bytes cp1252 leaves undefined); "
            "pass --encoding if that is wrong"
        )
        text, _ = codecs.charmap_decode(body, "strict", _CP1252_TABLE)
        return text.encode("utf-8"), "cp1252", False
    notes.append("read as UTF-8; records holding bytes that are not UTF-8 were rejected")
    return body, "utf-8", True


def _escaped(raw: bytes) -> str:
    """Text of ``raw`` with undecodable bytes shown as ``\\xNN``."""
    return raw.decode("utf-8", "backslashreplace")


_INVALID_UTF8_REASONS = (
    Reason(
        "invalid_utf8",
        None,
        "the record holds bytes that are not valid UTF-8 (shown as \\xNN); "
        "save the source as UTF-8 or pass its encoding with --encoding",
    ),
)


def _invalid_utf8(line: int, raw: bytes) -> RejectedRow:
    return RejectedRow(
        line=line, raw=_escaped(raw), raw_format="text", reasons=_INVALID_UTF8_REASONS
    )


# --- CSV -----------------------------------------------------------------------------------


def _read_csv(data: bytes, origin: str, delimiter: str | None, encoding: str | None) -> SourceRead:
    notes: list[str] = []
    if _is_blank(data):
        raise _empty_error(origin)
    body, used_encoding, has_invalid = _decode(data, origin, encoding, notes)
    del data
    start_match = _NOT_NEWLINE_RE.search(body)
    if start_match is None or _is_blank(body):
        raise _empty_error(origin)
    start = start_match.start()
    sep_line = _SEP_LINE_RE.match(body, start)
    if sep_line is not None:  # Excel's "sep=;" first line names the delimiter
        start = sep_line.end()
        if delimiter is None:
            delimiter = sep_line.group(1).decode("latin-1")
            notes.append(f"delimiter {_delimiter_name(delimiter)} taken from the sep= line")
        if _NOT_NEWLINE_RE.search(body, start) is None:
            raise _empty_error(origin)
    sample = _sample_text(body, start)
    if delimiter is None:
        delimiter = _detect_delimiter(sample, notes)
    else:
        _check_forced_delimiter(sample, delimiter, notes)

    header = _HEADER_RE.match(body, start)
    if header is None:
        raise SourceFormatError(
            f"{origin}: the header has an opening quote that is never closed; fix the header line"
        )
    try:
        header_text = header.group().decode("utf-8")
    except UnicodeDecodeError:
        raise SourceFormatError(
            f"{origin}: the header is not valid UTF-8; pass the file's encoding with --encoding"
        ) from None
    names = _check_names(
        next(csv.reader(io.StringIO(header_text, newline=""), delimiter=delimiter), []), origin
    )
    body_start = header.end()

    if _NOT_NEWLINE_RE.search(body, body_start) is None:
        notes.append("header only: no records")
        return SourceRead(
            table=_string_table(names, [[] for _ in names], np.zeros(0, dtype=np.int64)),
            format="csv",
            encoding=used_encoding,
            delimiter=delimiter,
            notes=notes,
        )
    read = None if has_invalid else _arrow_csv(body, body_start, names, delimiter)
    if read is None:
        read = _module_csv(body, body_start, names, delimiter, has_invalid)
    read.encoding = used_encoding
    read.delimiter = delimiter
    read.notes = notes + read.notes
    return read


def _sample_text(body: bytes, start: int) -> str:
    """The first 64 KiB from ``start``, cut after the last whole line when longer."""
    sample = body[start : start + _SNIFF_BYTES]
    if len(body) - start > _SNIFF_BYTES:
        cut = max(sample.rfind(b"\n"), sample.rfind(b"\r"))
        if cut > 0:
            sample = sample[:cut]
    return sample.decode("utf-8", "replace")


def _field_counts(sample: str, delimiter: str) -> list[int]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    try:
        return [len(row) for row in reader if row]
    except csv.Error:
        return []


def _delimiter_name(delimiter: str) -> str:
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


def _detect_delimiter(sample: str, notes: list[str]) -> str:
    """The candidate that splits the header in most columns with rows agreeing with it.

    Like ``csv.Sniffer`` it scores consistency over the first 64 KiB, but on parsed records
    (quotes respected) and it never fails: with no candidate, the file is one column.
    """
    best: tuple[float, int, int] | None = None
    chosen = ","
    for rank, candidate in enumerate(_DELIMITERS):
        counts = _field_counts(sample, candidate)
        if not counts or counts[0] < 2:
            continue
        rows = counts[1:] or counts[:1]
        agree = sum(1 for count in rows if count == counts[0]) / len(rows)
        score = (agree, counts[0], -rank)
        if best is None or score > best:
            best, chosen = score, candidate
    if best is None:
        notes.append("no delimiter (, ; tab |) found in the header: read as one column")
    else:
        notes.append(f"delimiter detected: {_DELIMITER_NAMES[chosen]}")
    return chosen


def _check_forced_delimiter(sample: str, delimiter: str, notes: list[str]) -> None:
    """Warn when a given delimiter leaves one column but another would split the header."""
    counts = _field_counts(sample, delimiter)
    if counts and counts[0] > 1:
        return
    for candidate in _DELIMITERS:
        other = _field_counts(sample, candidate)
        if candidate != delimiter and other and other[0] > 1:
            notes.append(
                f"with delimiter {_delimiter_name(delimiter)} the header "
                f"is one column but {_DELIMITER_NAMES[candidate]} splits it in {other[0]}: "
                "pass that delimiter (--delimiter) or leave it out to detect it"
            )
            return


def _check_names(raw_names: Sequence[str], origin: str) -> list[str]:
    names = [name.strip() for name in raw_names]
    for position, name in enumerate(names, start=1):
        if not name:
            raise SourceFormatError(
                f"{origin}: column {position} of the header has no name; name it in the header "
                "(or remove a trailing delimiter)"
            )
    if LINE_COLUMN in names:
        raise SourceFormatError(
            f"{origin}: a column is named {LINE_COLUMN!r}, which aimsight reserves for the "
            "record number; rename it in the source"
        )
    seen: set[str] = set()
    duplicates: list[str] = []
    for name in names:
        if name in seen:
            duplicates.append(name)
        seen.add(name)
    if duplicates:
        listed = ", ".join(repr(name) for name in dict.fromkeys(duplicates))
        raise SourceFormatError(
            f"{origin}: duplicate column names in the header: {listed}; "
            "give each column a distinct name"
        )
    return names


@functools.lru_cache(maxsize=256)
def _ragged_reasons(actual: int, expected: int) -> tuple[Reason, ...]:
    """Shared by every record with the same counts: a million ragged rows, one reason."""
    return (
        Reason(
            "ragged_row",
            None,
            f"the record has {actual} field{'s' if actual != 1 else ''} where the header "
            f"has {expected}; fix its delimiters or quotes in the source",
        ),
    )


def _ragged(line: int, text: str, actual: int, expected: int) -> RejectedRow:
    return RejectedRow(
        line=line, raw=text, raw_format="text", reasons=_ragged_reasons(actual, expected)
    )


def _arrow_parse(
    buffer: pa.Buffer, names: list[str], delimiter: str, block_size: int
) -> tuple[pa.Table, list[pacsv.InvalidRow]]:
    invalid: list[pacsv.InvalidRow] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(buffer),
        read_options=pacsv.ReadOptions(
            column_names=names, use_threads=False, block_size=block_size
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter,
            newlines_in_values=True,
            ignore_empty_lines=True,
            invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
            check_utf8=False,
        ),
    )
    return table, invalid


def _arrow_csv(body: bytes, offset: int, names: list[str], delimiter: str) -> SourceRead | None:
    """Fast path: pyarrow's parser, single-threaded so that invalid rows carry their number.

    Single-threaded is also the faster here (the whole file is in memory). Returns None when
    pyarrow cannot read the file; the csv module then does.
    """
    buffer = pa.py_buffer(body).slice(offset)
    whole = min(len(buffer) + 1, _MAX_BLOCK_SIZE)
    try:
        try:
            table, invalid = _arrow_parse(buffer, names, delimiter, min(_BLOCK_SIZE, whole))
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) or whole <= _BLOCK_SIZE:
                raise
            table, invalid = _arrow_parse(buffer, names, delimiter, whole)
    except pa.ArrowInvalid:
        return None
    rejects = [
        _ragged(row.number, row.text, row.actual_columns, row.expected_columns)
        for row in invalid
        if row.number is not None
    ]
    if len(rejects) != len(invalid):
        return None
    total = table.num_rows + len(rejects)
    lines = np.arange(1, total + 1, dtype=np.int64)
    if rejects:
        keep = np.ones(total, dtype=bool)
        numbers = np.array([row.line for row in rejects], dtype=np.int64)
        if numbers.min() < 1 or numbers.max() > total:
            return None
        keep[numbers - 1] = False
        lines = lines[keep]
        if len(lines) != table.num_rows:
            return None
    table = table.append_column(pa.field(LINE_COLUMN, pa.int64()), pa.array(lines))
    return SourceRead(table=table, rejects=rejects, format="csv")


def _module_csv(
    body: bytes, offset: int, names: list[str], delimiter: str, has_invalid: bool
) -> SourceRead:
    """Slow path: Python's csv module, for odd files and files with undecodable records."""
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_BLOCK_SIZE))
    text = body[offset:].decode("utf-8", "surrogateescape" if has_invalid else "strict")
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for physical in io.StringIO(text, newline=""):
            consumed.append(physical)
            yield physical

    expected = len(names)
    columns: list[list[str]] = [[] for _ in names]
    kept: list[int] = []
    rejects: list[RejectedRow] = []
    reader = csv.reader(lines(), delimiter=delimiter, strict=False)
    number = 0
    while True:
        try:
            row = next(reader)
            error: str | None = None
        except StopIteration:
            break
        except csv.Error as exc:
            row, error = [], str(exc)
        raw = "".join(consumed)
        consumed.clear()
        if not row and error is None:
            continue
        number += 1
        raw_text = raw.removesuffix("\n").removesuffix("\r")
        if has_invalid and not raw.isascii() and _has_surrogates(raw):
            rejects.append(_invalid_utf8(number, raw_text.encode("utf-8", "surrogateescape")))
        elif error is not None:
            rejects.append(
                RejectedRow(
                    line=number,
                    raw=raw_text,
                    raw_format="text",
                    reasons=(
                        Reason(
                            "unreadable_record",
                            None,
                            f"the CSV parser refused the record ({error}); fix it in the source",
                        ),
                    ),
                )
            )
        elif len(row) != expected:
            rejects.append(_ragged(number, raw_text, len(row), expected))
        else:
            for column, value in zip(columns, row, strict=True):
                column.append(value)
            kept.append(number)
    table = _string_table(names, columns, np.array(kept, dtype=np.int64))
    return SourceRead(table=table, rejects=rejects, format="csv")


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _string_table(
    names: Sequence[str], columns: Sequence[Sequence[str | None]], lines: np.ndarray
) -> pa.Table:
    arrays = [pa.array(column, type=pa.string()) for column in columns]
    fields = [pa.field(name, pa.string()) for name in names]
    arrays.append(pa.array(lines, type=pa.int64()))
    fields.append(pa.field(LINE_COLUMN, pa.int64()))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


# --- JSON Lines and records ----------------------------------------------------------------


class _JsonNumber(str):
    """A JSON number kept as its source text (``19.990`` stays ``19.990``)."""

    __slots__ = ()


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(
    parse_float=_JsonNumber, parse_int=_JsonNumber, parse_constant=_reject_constant
)


def _loads(text: str) -> object:
    return _DECODER.decode(text)


def _compact(value: object) -> str:
    """Compact JSON text of a nested value; source numbers keep their text."""
    if isinstance(value, _JsonNumber):
        return str.__str__(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, dict):
        items = (
            f"{json.dumps(str(k), ensure_ascii=False)}:{_compact(v)}" for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_compact(item) for item in value) + "]"
    if _is_number(value) and not (isinstance(value, float) and not math.isfinite(value)):
        return _cell(value)
    return json.dumps(_cell(value), ensure_ascii=False)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _cell(value: object) -> str:
    """The string a value is read as: numbers and booleans as their JSON text."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value) if math.isfinite(value) else str(value)
    if isinstance(value, dict | list | tuple):
        return _compact(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return _escaped(bytes(value))
    return str(value)


def _json_kind(value: object) -> str:
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, str) and not isinstance(value, _JsonNumber):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value) or isinstance(value, _JsonNumber):
        return "number"
    return type(value).__name__


def _text_reject(line: int, raw: str, code: str, message: str) -> RejectedRow:
    return RejectedRow(
        line=line, raw=raw, raw_format="text", reasons=(Reason(code, None, message),)
    )


class _RowBuilder:
    """Collects records column by column and rejects, then builds the table.

    Every 64k rows the columns become Arrow arrays, so memory stays near the table's size.
    """

    def __init__(self) -> None:
        self.columns: dict[str, list[str | None]] = {}
        self.lines: list[int] = []
        self.rejects: list[RejectedRow] = []
        self.names: dict[str, None] = {}
        self.chunks: list[tuple[dict[str, pa.Array], pa.Array]] = []

    def add_text(self, line: int, raw: bytes) -> None:
        """A record given as JSON text bytes (a JSON line, a message payload)."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.rejects.append(_invalid_utf8(line, raw))
            return
        self.add_json(line, text)

    def add_json(self, line: int, text: str) -> None:
        """A record given as JSON text."""
        try:
            value = _loads(text)
        except json.JSONDecodeError as exc:
            detail = f"{exc.msg} at column {exc.colno}"
        except (ValueError, RecursionError) as exc:
            detail = f"{type(exc).__name__}: {str(exc)[:80]}"
        else:
            self.add_value(line, value, text)
            return
        self.rejects.append(
            _text_reject(
                line,
                text,
                "invalid_json",
                f"not valid JSON ({detail}); fix the record at the source",
            )
        )

    def add_value(self, line: int, value: object, text: str | None) -> None:
        """A parsed record; ``text`` is its source text when it had one."""
        if not isinstance(value, dict):
            self.rejects.append(
                _text_reject(
                    line,
                    text if text is not None else _raw_json(value),
                    "not_an_object",
                    f"a JSON {_json_kind(value)} where an object {{...}} was expected; "
                    "send one object per record",
                )
            )
            return
        try:
            cells = [(_name(key), _value(item)) for key, item in value.items()]
        except RecursionError:
            cells, why = [], "values nested too deeply"
        else:
            names = [name for name, _ in cells]
            why = ""
            if "" in names:
                why = "an empty field name"
            elif LINE_COLUMN in names:
                why = f"the reserved field name {LINE_COLUMN!r}"
        if why:
            self.rejects.append(
                _text_reject(
                    line,
                    text if text is not None else _raw_json(value),
                    "unreadable_record",
                    f"the record has {why}; fix the record at the source",
                )
            )
            return
        count = len(self.lines)
        columns = self.columns
        for name, cell in cells:
            column = columns.get(name)
            if column is None:
                column = columns[name] = [None] * count
                self.names[name] = None
            elif len(column) < count:
                column.extend([None] * (count - len(column)))
            column.append(cell)
        self.lines.append(line)
        if count + 1 >= _CHUNK_ROWS:
            self._flush()

    def _flush(self) -> None:
        count = len(self.lines)
        arrays: dict[str, pa.Array] = {}
        for name, column in self.columns.items():
            column.extend([None] * (count - len(column)))
            arrays[name] = pa.array(column, type=pa.string())
        self.chunks.append((arrays, pa.array(self.lines, type=pa.int64())))
        self.columns, self.lines = {}, []

    def finish(self, *, format: str, encoding: str | None) -> SourceRead:
        self._flush()
        names = list(self.names)
        fields = [pa.field(name, pa.string()) for name in names]
        fields.append(pa.field(LINE_COLUMN, pa.int64()))
        batches = [
            pa.record_batch(
                [arrays.get(name, pa.nulls(len(lines), pa.string())) for name in names] + [lines],
                schema=pa.schema(fields),
            )
            for arrays, lines in self.chunks
        ]
        table = pa.Table.from_batches(batches, schema=pa.schema(fields))
        return SourceRead(table=table, rejects=self.rejects, format=format, encoding=encoding)


def _name(key: object) -> str:
    return key if type(key) is str else _cell(key)


def _value(item: object) -> str | None:
    if type(item) is str:
        return item
    return None if item is None else _cell(item)


def _raw_json(value: object) -> str:
    try:
        return _compact(value)
    except (ValueError, RecursionError):
        return repr(value)


def _read_jsonl(data: bytes, origin: str, encoding: str | None, *, as_array: bool) -> SourceRead:
    notes: list[str] = []
    if _is_blank(data):
        raise _empty_error(origin)
    if encoding is not None or data[:4].startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        body, used, _ = _decode(data, origin, encoding, notes)
    else:
        body = data.removeprefix(codecs.BOM_UTF8)
        used = "utf-8-sig" if len(body) != len(data) else "utf-8"
    del data
    if _is_blank(body):
        raise _empty_error(origin)
    if as_array and body.lstrip().startswith(b"["):
        whole = _whole_json_array(body)
        if whole is not None:
            read = read_records(whole)
            read.format, read.encoding = "jsonl", used
            read.notes = [*notes, "a JSON array: each element read as one record"]
            return read
    builder = _RowBuilder()
    for line, raw in _numbered_lines(io.BytesIO(body)):  # shares body's memory, no copy
        builder.add_text(line, raw)
    read = builder.finish(format="jsonl", encoding=used)
    read.notes = notes
    return read


def _numbered_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines without their ``\\n`` or ``\\r\\n`` ending, numbered from 1."""
    number = 0
    for raw in lines:
        if not raw.strip():
            continue
        number += 1
        yield number, raw.removesuffix(b"\n").removesuffix(b"\r")


def _whole_json_array(body: bytes) -> list[object] | None:
    try:
        value = _loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, list) else None


# --- Parquet -------------------------------------------------------------------------------


def _read_parquet(source: Path | pa.Buffer, origin: str) -> SourceRead:
    import pyarrow.parquet as pq

    if isinstance(source, Path):
        if source.is_dir():
            raise SourceFormatError(f"{origin}: is a folder; read the files in it one by one")
        if not source.exists():
            raise NotFound(f"{origin}: no such file; check the path")
    try:
        table = pq.read_table(source if isinstance(source, Path) else pa.BufferReader(source))
    except (pa.ArrowException, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceFormatError(
            f"{origin}: not a readable Parquet file ({message}); check the file or --format"
        ) from None
    names = _check_names(table.column_names, origin)
    columns = [_as_strings(table.column(i)) for i in range(table.num_columns)]
    lines = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    fields = [pa.field(name, pa.string()) for name in names]
    fields.append(pa.field(LINE_COLUMN, pa.int64()))
    out = pa.Table.from_arrays([*columns, lines], schema=pa.schema(fields))
    return SourceRead(table=out, format="parquet", encoding=None)


def _as_strings(column: pa.ChunkedArray) -> pa.Array:
    """A Parquet column as the strings a text source would have held."""
    array = column.combine_chunks()
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    if pa.types.is_string(kind):
        return array
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string())
    if pa.types.is_timestamp(kind):
        text = pc.cast(array, pa.string())
        return pc.replace_substring(text, " ", "T", max_replacements=1)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        try:
            return pc.cast(array, pa.string())
        except pa.ArrowInvalid:
            return _python_strings(array, lambda v: _escaped(cast(bytes, v)))
    if pa.types.is_nested(kind) or pa.types.is_duration(kind):
        return _python_strings(array, _cell)
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _python_strings(array, _cell)


def _python_strings(array: pa.Array, convert: Callable[[object], str]) -> pa.Array:
    values = [None if value is None else convert(value) for value in array.to_pylist()]
    return pa.array(values, type=pa.string())
