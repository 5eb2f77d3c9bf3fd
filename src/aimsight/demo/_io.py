"""Columnar formatting and writing: timestamps in several zones, CSV and JSON Lines files.

Timestamps are int64 seconds since the epoch (UTC). Columns are built and written as Arrow
string arrays: timestamps are cast in bulk, CSV rows are joined by Arrow compute functions
and written straight from the Arrow buffer, so no Python string is made per cell and millions
of rows take seconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "by_group",
    "dst_offset",
    "iso_date",
    "iso_local",
    "iso_utc",
    "iso_utc_ms",
    "replace_rows",
    "sha256_of",
    "strings",
    "write_csv",
    "write_lines",
]

DAY = 86_400
_CHUNK = 200_000
_NEEDS_QUOTES = r'[",\r\n]'
_SPECIAL_BYTES = tuple(ord(ch) for ch in ',"\r\n')

Column: TypeAlias = "Sequence[str] | pa.Array | pa.ChunkedArray"


def strings(values: Column) -> pa.Array:
    """``values`` as one Arrow string array without nulls (nulls become empty strings)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    array = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    if array.type != pa.string():
        array = array.cast(pa.string())
    if array.null_count:
        array = array.fill_null("")
    return array


def by_group(keys: np.ndarray, build: Callable[[int, np.ndarray], pa.Array]) -> pa.Array:
    """A string column made group by group: ``build(key, rows)`` gives the rows with that key.

    Lets a column whose rows follow several layouts (phone styles, e-mail styles) be built
    with a few vectorised calls per layout instead of one Python call per row.
    """
    if keys.size == 0:
        return pa.array([], pa.string())
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    bounds = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [keys.size]])
    parts = [
        strings(build(int(ordered[s]), order[s:e]))
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    inverse = np.empty(keys.size, dtype=np.int64)
    inverse[order] = np.arange(keys.size)
    return pa.concat_arrays(parts).take(pa.array(inverse))


def replace_rows(column: pa.Array, rows: np.ndarray, values: Sequence[str]) -> pa.Array:
    """``column`` with ``column[rows[i]] = values[i]`` (``rows`` distinct)."""
    if rows.size == 0:
        return column
    ordered = np.argsort(rows, kind="stable")
    mask = np.zeros(len(column), dtype=bool)
    mask[rows] = True
    replacements = pa.array(values, pa.string()).take(pa.array(ordered))
    return pc.replace_with_mask(strings(column), pa.array(mask), replacements)


def dst_offset(ts: np.ndarray, std_minutes: np.ndarray) -> np.ndarray:
    """UTC offset in minutes at ``ts``: the standard offset plus an hour from April to October.

    A simplification of the real US and EU rules that still gives each person two offsets
    a year, as real exports do.
    """
    month = ts.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    return std_minutes + np.where((month >= 4) & (month <= 10), 60, 0)


def _offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def _iso(ts: np.ndarray, unit: str) -> pa.Array:
    text = pc.cast(pa.array(ts.astype(np.int64), pa.timestamp(unit)), pa.string())
    return pc.replace_substring(text, " ", "T", max_replacements=1)


def iso_local(ts: np.ndarray, offset_minutes: np.ndarray) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS+HH:MM`` in each row's own UTC offset."""
    base = _iso(ts + offset_minutes * 60, "s")
    values, inverse = np.unique(offset_minutes, return_inverse=True)
    texts = pa.array([_offset_text(int(v)) for v in values], pa.string())
    return pc.binary_join_element_wise(base, texts.take(pa.array(inverse.ravel())), "")


def iso_utc(ts: np.ndarray) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SSZ``."""
    return pc.binary_join_element_wise(_iso(ts, "s"), "Z", "")


def iso_utc_ms(ts_ms: np.ndarray) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` from milliseconds since the epoch."""
    return pc.binary_join_element_wise(_iso(ts_ms, "ms"), "Z", "")


def iso_date(days: np.ndarray) -> pa.Array:
    """``YYYY-MM-DD`` from days since the epoch."""
    return pc.cast(pa.array(days.astype(np.int32), pa.date32()), pa.string())


def _quoted(column: pa.Array) -> pa.Array:
    """The column with CSV quoting where a value needs it, as ``csv.QUOTE_MINIMAL`` does."""
    data = np.frombuffer(_text(column), dtype=np.uint8)
    if not any(np.any(data == byte) for byte in _SPECIAL_BYTES):  # most columns: one scan
        return column
    needs = pc.match_substring_regex(column, _NEEDS_QUOTES)
    escaped = pc.replace_substring(column, '"', '""')
    return pc.if_else(needs, pc.binary_join_element_wise('"', escaped, '"', ""), column)


def _text(array: pa.Array) -> pa.Buffer:
    """The bytes of a string array's values, back to back."""
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)
    start, stop = offsets[array.offset], offsets[array.offset + len(array)]
    data: pa.Buffer | None = array.buffers()[2]
    return pa.py_buffer(b"") if data is None else data[int(start) : int(stop)]


def write_csv(path: Path, header: Sequence[str], columns: Sequence[Column]) -> int:
    """Write columns of strings as a CSV file with a header; return the number of data rows.

    Columns may be Python lists or Arrow arrays. Values are quoted only where needed (as
    ``csv.QUOTE_MINIMAL`` does); rows are joined with Arrow, many times faster than
    ``csv.writer`` for millions of rows.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = [_quoted(strings(column)) for column in columns]
    rows = len(arrays[0]) if arrays else 0
    if any(len(array) != rows for array in arrays):
        raise ValueError("all columns must have the same length")
    head = _quoted(pa.array(list(header), pa.string())).to_pylist()
    with path.open("wb") as handle:
        handle.write((",".join(head) + "\n").encode("utf-8"))
        for start in range(0, rows, _CHUNK):
            chunk = [array.slice(start, _CHUNK) for array in arrays]
            chunk[-1] = pc.binary_join_element_wise(chunk[-1], "\n", "")
            handle.write(_text(pc.binary_join_element_wise(*chunk, ",")))
    return rows


def write_lines(path: Path, lines: Sequence[str]) -> int:
    """Write one text line per item (JSON Lines); return the number of lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for start in range(0, len(lines), 100_000):
            handle.write("\n".join(lines[start : start + 100_000]))
            handle.write("\n")
    return len(lines)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
