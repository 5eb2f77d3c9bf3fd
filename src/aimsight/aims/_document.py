"""What a report is made of, whatever it is rendered to: sections of paragraphs, tables and
status bars, and the colours statuses take.

The Statement of Applicability and the management review pack are both built from these parts
and rendered by :mod:`aimsight.aims._html` and :mod:`aimsight.aims._pdf`, so the two formats
always say the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

from aimsight.core.errors import InvalidInput

__all__ = [
    "STATUS_COLOURS",
    "Block",
    "Cell",
    "ReportSection",
    "ReportTable",
    "StatusBar",
    "StatusColour",
    "cell_text",
    "clean_text",
    "status_colour",
]

Cell = str | int | float | None
"""A table cell: text or a number; ``None`` reads as empty."""


class StatusColour(NamedTuple):
    """How one status is drawn: a strong colour for bars, a pale fill and a text colour for
    table cells (hex ``#rrggbb``)."""

    bar: str
    fill: str
    text: str


_GREEN = StatusColour("#2e7d32", "#d4edda", "#155724")
_AMBER = StatusColour("#f9a825", "#fff3cd", "#6d5200")
_RED = StatusColour("#c62828", "#f8d7da", "#721c24")
_BLUE = StatusColour("#1565c0", "#d6e6f5", "#0c3c60")
_GREY = StatusColour("#9e9e9e", "#e9ecef", "#383d41")
_SLATE = StatusColour("#78909c", "#e3e8ec", "#37474f")
_PALE = StatusColour("#cfd8dc", "#f1f3f5", "#4a525a")

STATUS_COLOURS: Final[dict[str, StatusColour]] = {
    # automated checks
    "pass": _GREEN,
    "warn": _AMBER,
    "fail": _RED,
    "not yet available": _SLATE,
    "not run yet": _GREY,
    "no automated check": _PALE,
    # implementation
    "implemented": _GREEN,
    "partial": _AMBER,
    "planned": _BLUE,
    "not started": _RED,
    "not applicable": _GREY,
    # applicability
    "applicable": _BLUE,
    "not yet decided": _AMBER,
}
"""Colours by status as people read it (``not yet available``, ``partial``, ...)."""


def status_colour(label: str) -> StatusColour | None:
    """The colours of a status label, ``None`` for text that is not a status."""
    return STATUS_COLOURS.get(label.strip().lower())


_NOT_IN_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean_text(text: str) -> str:
    """Text without the characters no document format can hold (control characters, lone
    surrogates, U+FFFE/U+FFFF), which pasted text sometimes carries."""
    return _NOT_IN_XML.sub("", text)


def cell_text(value: Cell) -> str:
    """A cell as clean text: ``None`` is empty, whole floats lose their ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(str(value))


@dataclass(frozen=True)
class ReportTable:
    """A table with a header row.

    Args:
        columns: the header.
        rows: the body; each row as long as ``columns``.
        caption: a line said above the table.
        status_columns: indexes of columns whose cells are coloured by :data:`STATUS_COLOURS`.
        widths: relative column widths (any positive numbers); equal widths when empty.
    """

    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    caption: str = ""
    status_columns: Sequence[int] = ()
    widths: Sequence[float] = ()

    def __post_init__(self) -> None:
        for index, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise InvalidInput(
                    f"rows[{index}] has {len(row)} cells for {len(self.columns)} columns; "
                    "give one cell per column",
                    field="rows",
                )
        if self.widths and (len(self.widths) != len(self.columns) or min(self.widths) <= 0):
            raise InvalidInput(
                f"widths: give one positive number per column ({len(self.columns)})",
                field="widths",
            )

    def relative_widths(self) -> list[float]:
        """Column widths as shares of the table's width (they add up to 1)."""
        widths = list(self.widths) or [1.0] * len(self.columns)
        total = sum(widths)
        return [width / total for width in widths]


@dataclass(frozen=True)
class StatusBar:
    """One horizontal bar split by status, with a legend: how many items are in each status.

    ``counts`` are ``(label, count)`` pairs in the order to draw; labels found in
    :data:`STATUS_COLOURS` take its colours.
    """

    caption: str
    counts: Sequence[tuple[str, int]]

    @property
    def total(self) -> int:
        """All items counted."""
        return sum(count for _, count in self.counts)


Block = str | ReportTable | StatusBar
"""A part of a section: a paragraph of plain text, a table or a status bar."""


@dataclass(frozen=True)
class ReportSection:
    """A heading and its blocks, in the order they are shown."""

    heading: str
    blocks: Sequence[Block] = ()
