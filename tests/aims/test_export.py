"""The Statement of Applicability as CSV, XLSX, HTML and PDF: all 38 controls, safe from what
people type into it, and files that open in the programs people use."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from html.parser import HTMLParser

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.aims._catalogue import shipped_catalogue
from aimsight.aims._export import (
    SOA_CSV_COLUMNS,
    SOA_MEDIA_TYPES,
    export_soa,
    soa_csv,
    soa_html,
    soa_pdf,
    soa_xlsx,
)
from aimsight.aims._model import CheckStatus, ControlCheckResult
from aimsight.aims._soa import SoaEntry, StatementOfApplicability, build_soa
from aimsight.core import set_clock
from aimsight.core.errors import InvalidInput
from tests.aims._pdf_pages import render

CATALOGUE = shipped_catalogue()
CONTROL_IDS = [control.id for control in CATALOGUE.controls()]
HOSTILE = '<script>alert("owned")</script> & <img src=x onerror=alert(1)>'


def statement() -> StatementOfApplicability:
    set_clock(lambda: datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC))
    entries = [
        SoaEntry(
            "A.2.2",
            applicable=True,
            justification="AI policy v3, approved by the board",
            status="implemented",
            owner="Zoë Łukasiewicz",
            evidence=["https://wiki.example/ai-policy", "ledger:seq 42"],
            updated_at="2025-05-01T10:00:00.000000Z",
            updated_by="ann",
        ),
        SoaEntry(
            "A.10.4", applicable=False, justification=HOSTILE, status="not_applicable", owner="bob"
        ),
        SoaEntry("A.6.2.8", applicable=True, justification='=HYPERLINK("http://x")'),
    ]
    checks = [
        ControlCheckResult(
            "ledger_integrity",
            ("A.6.2.8",),
            "Ledger verifies",
            CheckStatus.FAIL,
            "entry 12 was altered",
            checked_at="2025-05-06T07:00:00.000000Z",
        )
    ]
    return build_soa(CATALOGUE, entries, checks)


def test_csv_parses_back_with_a_header_and_38_rows() -> None:
    data = soa_csv(statement())
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: spreadsheets read UTF-8
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == 38
    assert list(rows[0]) == list(SOA_CSV_COLUMNS)
    assert [row["control_id"] for row in rows] == CONTROL_IDS
    policy = rows[0]
    assert policy["applicable"] == "yes"
    assert policy["owner"] == "Zoë Łukasiewicz"
    assert policy["evidence"].splitlines() == ["https://wiki.example/ai-policy", "ledger:seq 42"]
    assert policy["objective"] == "A.2"
    by_id = {row["control_id"]: row for row in rows}
    assert by_id["A.10.4"]["applicable"] == "no"
    assert by_id["A.10.4"]["justification"] == HOSTILE
    assert by_id["A.6.2.8"]["check_status"] == "fail"
    assert by_id["A.6.2.8"]["check_summary"] == "entry 12 was altered"
    assert by_id["A.3.3"]["applicable"] == "not yet decided"
    assert by_id["A.3.3"]["check_status"] == "no_check"


def test_csv_text_cannot_run_as_a_spreadsheet_formula() -> None:
    rows = list(csv.DictReader(io.StringIO(soa_csv(statement()).decode("utf-8-sig"))))
    by_id = {row["control_id"]: row for row in rows}
    assert by_id["A.6.2.8"]["justification"] == '\'=HYPERLINK("http://x")'


@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=60), owner=st.text(max_size=20))
def test_any_typed_text_round_trips_through_csv(text: str, owner: str) -> None:
    entry = SoaEntry("A.4.2", applicable=True, justification=text, owner=owner, evidence=[])
    rows = list(
        csv.DictReader(
            io.StringIO(soa_csv(build_soa(CATALOGUE, [entry], [])).decode("utf-8-sig"), newline="")
        )
    )
    row = next(row for row in rows if row["control_id"] == "A.4.2")
    for typed, written in ((text, row["justification"]), (owner, row["owner"])):
        if typed.startswith(("=", "+", "-", "@", "\t", "\r")):
            typed = "'" + typed
        assert written == typed
    assert len(rows) == 38


def test_xlsx_opens_with_a_formatted_sheet_of_38_rows() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(soa_xlsx(statement())))
    sheet = workbook["Statement of Applicability"]
    assert sheet.max_row == 39  # header + 38 controls
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Control", "Objective", "Title", "Applicability"]
    assert all(cell.font.bold for cell in sheet[1])
    assert [sheet.cell(row=r, column=1).value for r in range(2, 40)] == CONTROL_IDS
    assert sheet.freeze_panes == "B2"
    assert sheet.column_dimensions["E"].width == 48
    assert sheet.auto_filter.ref == "A1:N39"
    rows = {sheet.cell(row=r, column=1).value: r for r in range(2, 40)}
    failing = sheet.cell(row=rows["A.6.2.8"], column=9)
    assert failing.value == "fail"
    assert failing.fill.fgColor.rgb.endswith("F8D7DA")  # red for a failing check
    implemented = sheet.cell(row=rows["A.2.2"], column=6)
    assert implemented.value == "implemented"
    assert implemented.fill.fgColor.rgb.endswith("D4EDDA")  # green


def test_xlsx_keeps_typed_formulas_as_text_and_states_the_catalogue() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(soa_xlsx(statement())))
    sheet = workbook["Statement of Applicability"]
    row = next(r for r in range(2, 40) if sheet.cell(row=r, column=1).value == "A.6.2.8")
    cell = sheet.cell(row=row, column=5)
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("http://x")'
    about = {r[0].value: r[1].value for r in workbook["About"].iter_rows()}
    assert about["Catalogue version"] == CATALOGUE.version
    assert about["Generated at"] == "2025-05-06T07:08:09.000000Z"
    assert about["Controls"] == 38
    assert about["Automated check: fail"] == 1


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.sources += [value or "" for name, value in attrs if name in {"src", "href"}]


def test_html_lists_every_control_and_escapes_what_people_typed() -> None:
    page = soa_html(statement())
    for control_id in CONTROL_IDS:
        assert f"<td>{control_id}</td>" in page
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in page
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags
    assert "img" not in parser.tags
    assert parser.sources == []  # self-contained: nothing is fetched
    assert "Content-Security-Policy" in page
    assert "Catalogue version" in page and CATALOGUE.version in page
    assert "2025-05-06T07:08:09.000000Z" in page


def test_html_has_a_status_chart_and_print_styles() -> None:
    page = soa_html(statement())
    assert page.count("<svg") >= 3
    assert 'aria-label="fail: 1; warn: 0; pass: 0;' in page
    assert "@media print" in page
    assert "thead { display: table-header-group; }" in page


def test_pdf_opens_and_its_first_page_is_not_blank() -> None:
    rendered = render(soa_pdf(statement()))
    assert rendered.pages > 0
    assert rendered.first_page_dark_pixels > 1000
    assert "Statement of Applicability" in rendered.texts[0]
    assert "Catalogue version: " + CATALOGUE.version in rendered.texts[0]
    text = "\n".join(rendered.texts)
    for control_id in CONTROL_IDS:
        assert control_id in text
    unwrapped = text.replace("\r\n", "")
    assert '<script>alert("owned")</script>' in unwrapped  # shown as text, not run as markup


def test_pdf_table_repeats_its_header_and_numbers_its_pages() -> None:
    rendered = render(soa_pdf(statement()))
    assert rendered.pages >= 2
    for number, text in enumerate(rendered.texts, start=1):
        assert f"page {number} of {rendered.pages}" in text
    for text in rendered.texts[1:]:
        assert "Justification" in text  # the controls table's header on every later page


def test_pdf_splits_a_justification_longer_than_a_page() -> None:
    entry = SoaEntry("A.4.3", applicable=True, justification="long reason " * 2500)
    rendered = render(soa_pdf(build_soa(CATALOGUE, [entry], [])))
    assert rendered.pages > 5
    assert rendered.first_page_dark_pixels > 1000


def test_the_same_statement_gives_the_same_pdf() -> None:
    soa = statement()
    assert soa_pdf(soa) == soa_pdf(soa)


def test_export_soa_gives_each_format_and_refuses_others() -> None:
    soa = statement()
    assert set(SOA_MEDIA_TYPES) == {"csv", "xlsx", "html", "pdf"}
    assert export_soa(soa, "csv") == soa_csv(soa)
    assert export_soa(soa, "html").decode("utf-8") == soa_html(soa)
    assert export_soa(soa, "pdf").startswith(b"%PDF-")
    assert export_soa(soa, "xlsx").startswith(b"PK")
    with pytest.raises(InvalidInput, match="'docx' is not an export format.*csv, xlsx") as caught:
        export_soa(soa, "docx")
    assert caught.value.field == "format"


def test_characters_no_document_can_hold_are_dropped_not_fatal() -> None:
    pasted = "ok\x00\x0b\ufffe done"
    entry = SoaEntry("A.5.5", applicable=True, justification=pasted, owner="\ud800x")
    soa = build_soa(CATALOGUE, [entry], [])
    sheet = openpyxl.load_workbook(io.BytesIO(soa_xlsx(soa))).active
    assert sheet is not None
    row = next(r for r in range(2, 40) if sheet.cell(row=r, column=1).value == "A.5.5")
    assert sheet.cell(row=row, column=5).value == "ok done"
    assert "ok done" in soa_html(soa)
    assert render(soa_pdf(soa)).pages > 0
    assert b"ok\x00" in soa_csv(soa)  # CSV keeps what was typed, bar unencodable halves
