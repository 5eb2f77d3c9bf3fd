"""What the parts of ingestion hand each other: read rows, rejected rows and their reasons.

A source is first *read* into a table of strings (one column per source field, plus the
source line number); reading never guesses types. A contract then *validates* and
standardises that table. Every row that cannot go on is a :class:`RejectedRow` with at least
one :class:`Reason`, so that rows in = rows accepted + rows quarantined holds at each step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

__all__ = [
    "LINE_COLUMN",
    "ORIGINAL_SUFFIX",
    "Reason",
    "RejectedRow",
    "SourceRead",
    "fields_raw",
]

LINE_COLUMN = "_line"
"""Column holding each row's 1-based record number in its source (the header is not counted)."""

ORIGINAL_SUFFIX = "__original"
"""A standardised field ``email`` keeps the value as received in ``email__original``."""


@dataclass(frozen=True)
class Reason:
    """Why a row was refused, in words a data engineer can act on.

    ``code`` is a stable snake_case identifier (``missing_required``, ``invalid_email``,
    ``ragged_row``...); ``field`` is the field concerned, or None for whole-row problems;
    ``message`` says what is wrong and how to fix it, without repeating the personal value.
    """

    code: str
    field: str | None
    message: str

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready form, as stored with a quarantined row."""
        return {"code": self.code, "field": self.field, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reason:
        """Inverse of :meth:`to_dict`."""
        return cls(code=str(data["code"]), field=data.get("field"), message=str(data["message"]))


@dataclass(frozen=True)
class RejectedRow:
    """A row that did not enter the lake, kept whole so that nothing is lost.

    ``raw_format`` says what ``raw`` holds: ``"text"`` is the source text of the record as
    read (a CSV line, a JSON line; undecodable bytes backslash-escaped), which only a fixed
    source can bring back; ``"fields"`` is a JSON object of the record's original string
    values (see :func:`fields_raw`), which ``quarantine replay`` re-validates.
    """

    line: int | None
    raw: str
    raw_format: Literal["text", "fields"]
    reasons: tuple[Reason, ...]

    def __post_init__(self) -> None:
        if not self.reasons:
            raise ValueError("a rejected row needs at least one reason")


def fields_raw(values: Mapping[str, str | None]) -> str:
    """The ``raw`` of a ``"fields"`` rejected row: its original values as compact JSON."""
    return json.dumps(dict(values), ensure_ascii=False, separators=(",", ":"))


@dataclass
class SourceRead:
    """A source read into strings: what a reader hands to validation.

    ``table`` has one ``pa.string()`` column per source field (null where the field is absent)
    and :data:`LINE_COLUMN` (int64). ``rejects`` are records that could not even be read
    (ragged, undecodable, not a JSON object). ``notes`` tell the user what the reader decided
    (encoding, delimiter) so that a surprise is visible in the batch report.
    """

    table: pa.Table
    rejects: list[RejectedRow] = field(default_factory=list)
    format: str = "csv"
    encoding: str | None = None
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        """Every record the source held: read rows plus rows rejected while reading."""
        return int(self.table.num_rows) + len(self.rejects)
