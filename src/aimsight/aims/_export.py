"""The Statement of Applicability as files people open: CSV, XLSX, HTML and PDF.

All four say the same thing: one row per Annex A control with its decision, justification,
implementation status, owner, evidence and latest automated check result, stamped with the
catalogue version and the time the statement was generated. CSV keeps machine values
(``not_started``, ``not_yet_available``) so it can be read back; the others show them as
people read them. Text people typed can never run as a spreadsheet formula or as HTML.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Final, Literal, get_args

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from aimsight.aims._document import (
    ReportSection,
    ReportTable,
    StatusBar,
    clean_text,
    status_colour,
)
from aimsight.aims._html import render_report_html
from aimsight.aims._pdf import render_report_pdf
from aimsight.aims._soa import (
    CHECK_STATUS_LABELS,
    SOA_IMPLEMENTATION_STATUSES,
    SoaRow,
    StatementOfApplicability,
)
from aimsight.core.errors import InvalidInput

__all__ = [
    "SOA_CSV_COLUMNS",
    "SOA_MEDIA_TYPES",
    "SoaFormat",
    "export_soa",
    "soa_csv",
    "soa_html",
    "soa_pdf",
    "soa_report",
    "soa_xlsx",
]

SoaFormat = Literal["csv", "xlsx", "html", "pdf"]

SOA_MEDIA_TYPES: Final[dict[str, str]] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
"""The media type of each export format (for HTTP responses and evidence-pack manifests)."""

SOA_CSV_COLUMNS: Final = (
    "control_id",
    "objective",
    "objective_title",
    "title",
    "applicable",
    "justification",
    "implementation_status",
    "owner",
    "evidence",
    "check_status",
    "check_ids",
    "check_summary",
    "checked_at",
    "updated_at",
    "updated_by",
)
"""The CSV header. ``applicable`` is ``yes``, ``no`` or ``not yet decided``; ``evidence`` holds
one link per line and ``check_ids`` are separated by spaces."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TITLE = "Statement of Applicability"


def soa_csv(soa: StatementOfApplicability) -> bytes:
    """The statement as CSV: UTF-8 (with a byte-order mark, so spreadsheets read it as UTF-8),
    a header row (:data:`SOA_CSV_COLUMNS`) and one row per control.

    Text that a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``) is
    prefixed with ``'``.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(SOA_CSV_COLUMNS)
    for row in soa.rows:
        writer.writerow(
            [
                _inert(value)
                for value in (
                    row.control_id,
                    row.group,
                    row.group_title,
                    row.title,
                    {True: "yes", False: "no", None: "not yet decided"}[row.applicable],
                    row.justification,
                    row.implementation_status,
                    row.owner or "",
                    "\n".join(row.evidence),
                    row.check_status,
                    " ".join(row.check_ids),
                    row.check_summary,
                    row.checked_at,
                    row.updated_at,
                    row.updated_by or "",
                )
            ]
        )
    return buffer.getvalue().encode("utf-8-sig", errors="replace")  # lone surrogates become ?


def _inert(text: str) -> str:
    """Text a spreadsheet shows as typed rather than evaluating it (OWASP CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


_XLSX_COLUMNS: Final = (
    ("Control", 10),
    ("Objective", 26),
    ("Title", 42),
    ("Applicability", 16),
    ("Justification", 48),
    ("Implementation", 15),
    ("Owner", 18),
    ("Evidence", 40),
    ("Automated check", 19),
    ("Checks", 28),
    ("Check detail", 48),
    ("Checked at", 22),
    ("Updated at", 22),
    ("Updated by", 16),
)
_XLSX_STATUS_COLUMNS: Final = {4, 6, 9}  # 1-based: Applicability, Implementation, check
_XLSX_WRAPPED: Final = {2, 3, 5, 8, 10, 11}


def soa_xlsx(soa: StatementOfApplicability) -> bytes:
    """The statement as an Excel workbook.

    The first sheet has a header row, then one row per control, with frozen panes, filters,
    set column widths and statuses coloured; the second sheet says which catalogue and when,
    with the summary counts. Typed text is stored as text, never as a formula.
    """
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = _TITLE
    header_fill = PatternFill("solid", fgColor="EEF1F4")
    for column, (name, width) in enumerate(_XLSX_COLUMNS, start=1):
        cell = sheet.cell(row=1, column=column, value=name)
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(vertical="top")
        sheet.column_dimensions[get_column_letter(column)].width = width
    for index, row in enumerate(soa.rows, start=2):
        for column, value in enumerate(_people_values(row), start=1):
            _set_text(sheet, index, column, value)
    sheet.freeze_panes = "B2"
    last = f"{get_column_letter(len(_XLSX_COLUMNS))}{len(soa.rows) + 1}"
    sheet.auto_filter.ref = f"A1:{last}"
    _about_sheet(workbook.create_sheet("About"), soa)
    workbook.properties.creator = "aimsight"
    workbook.properties.title = f"{_TITLE} ({soa.standard})"
    workbook.properties.created = _moment(soa.generated_at)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _people_values(row: SoaRow) -> tuple[str, ...]:
    """A row as people read it, in :data:`_XLSX_COLUMNS` order."""
    return (
        row.control_id,
        f"{row.group} {row.group_title}",
        row.title,
        row.decision,
        row.justification,
        _implementation_label(row.implementation_status),
        row.owner or "",
        "\n".join(row.evidence),
        row.check_label,
        ", ".join(row.check_ids),
        row.check_summary,
        row.checked_at,
        row.updated_at,
        row.updated_by or "",
    )


def _set_text(sheet: Worksheet, row: int, column: int, value: str) -> None:
    cell = sheet.cell(row=row, column=column)
    cell.value = clean_text(value)  # XLSX is XML: no control characters
    cell.data_type = "s"  # openpyxl reads a leading "=" as a formula; this is text
    wrap = column in _XLSX_WRAPPED
    cell.alignment = Alignment(vertical="top", wrap_text=wrap)
    colour = status_colour(value) if column in _XLSX_STATUS_COLUMNS else None
    if colour is not None:
        cell.fill = PatternFill("solid", fgColor=colour.fill.removeprefix("#").upper())
        cell.font = Font(bold=True, color=colour.text.removeprefix("#").upper())


def _about_sheet(sheet: Worksheet, soa: StatementOfApplicability) -> None:
    summary = soa.summary
    lines: list[tuple[str, str | int]] = [
        ("Standard", soa.standard),
        ("Catalogue version", soa.catalogue_version),
        ("Generated at", soa.generated_at),
        ("Controls", summary.controls),
        ("Applicable", summary.applicable),
        ("Not applicable", summary.not_applicable),
        ("Not yet decided", summary.undecided),
    ]
    lines += [
        (f"Implementation: {_implementation_label(key)}", count)
        for key, count in summary.implementation.items()
    ]
    lines += [
        (f"Automated check: {CHECK_STATUS_LABELS[key]}", count)
        for key, count in summary.checks.items()
    ]
    for index, (label, value) in enumerate(lines, start=1):
        sheet.cell(row=index, column=1, value=label).font = Font(bold=True)
        sheet.cell(row=index, column=2, value=value)
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 32


def _moment(text: str) -> datetime | None:
    """The naive UTC datetime Excel's document properties take, ``None`` if unreadable."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


def _implementation_label(status: str) -> str:
    return status.replace("_", " ")


def soa_report(
    soa: StatementOfApplicability,
) -> tuple[str, list[ReportSection], list[tuple[str, str]]]:
    """The statement as a report: title, sections (summary charts, then the controls table)
    and the lines under the title. HTML and PDF both render this."""
    summary = soa.summary
    overview = (
        f"{summary.controls} Annex A controls: {summary.applicable} applicable, "
        f"{summary.not_applicable} not applicable with a justification, "
        f"{summary.undecided} not yet decided."
    )
    bars = [
        StatusBar(
            "Latest automated check result",
            [(CHECK_STATUS_LABELS[key], count) for key, count in summary.checks.items()],
        ),
        StatusBar(
            "Implementation",
            [
                (_implementation_label(key), summary.implementation[key])
                for key in SOA_IMPLEMENTATION_STATUSES
            ],
        ),
        StatusBar(
            "Applicability",
            [
                ("applicable", summary.applicable),
                ("not applicable", summary.not_applicable),
                ("not yet decided", summary.undecided),
            ],
        ),
    ]
    table = ReportTable(
        columns=(
            "Control",
            "Title",
            "Applicability",
            "Justification",
            "Implementation",
            "Owner",
            "Evidence",
            "Automated check",
            "Check detail",
        ),
        rows=[_report_row(row) for row in soa.rows],
        status_columns=(2, 4, 7),
        widths=(6.5, 13.5, 9, 16, 10.5, 7.5, 11.5, 9, 16.5),
    )
    meta = [
        ("Standard", soa.standard),
        ("Catalogue version", soa.catalogue_version),
        ("Generated", soa.generated_at),
    ]
    sections = [
        ReportSection("Summary", [overview, *bars]),
        ReportSection("Annex A controls", [table]),
    ]
    return f"{_TITLE} ({soa.standard})", sections, meta


def _report_row(row: SoaRow) -> tuple[str, ...]:
    detail = ", ".join(row.check_ids)
    if row.check_summary:
        detail += f": {row.check_summary}"
    if row.checked_at:
        detail += f" (checked {row.checked_at})"
    return (
        row.control_id,
        row.title,
        row.decision,
        row.justification,
        _implementation_label(row.implementation_status),
        row.owner or "",
        "\n".join(row.evidence),
        row.check_label,
        detail,
    )


def soa_html(soa: StatementOfApplicability) -> str:
    """The statement as one self-contained, printable HTML page with summary charts."""
    title, sections, meta = soa_report(soa)
    return render_report_html(title, sections, meta=meta)


def soa_pdf(soa: StatementOfApplicability) -> bytes:
    """The statement as a landscape A4 PDF; the controls table repeats its header per page."""
    title, sections, meta = soa_report(soa)
    return render_report_pdf(title, sections, meta=meta, wide=True)


def export_soa(soa: StatementOfApplicability, format: str) -> bytes:
    """The statement in one of :data:`SOA_MEDIA_TYPES`' formats, as the file's bytes.

    Raises:
        InvalidInput: the format is not csv, xlsx, html or pdf.
    """
    if format == "csv":
        return soa_csv(soa)
    if format == "xlsx":
        return soa_xlsx(soa)
    if format == "html":
        return soa_html(soa).encode("utf-8")
    if format == "pdf":
        return soa_pdf(soa)
    raise InvalidInput(
        f"format: {format!r} is not an export format; use one of {', '.join(get_args(SoaFormat))}",
        field="format",
    )
