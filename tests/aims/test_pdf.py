"""Generic reports as PDF (the management review pack reuses it): they open and show content."""

from __future__ import annotations

from aimsight.aims._document import ReportSection, ReportTable, StatusBar
from aimsight.aims._pdf import render_report_pdf
from tests.aims._pdf_pages import render

ROWS = [(f"R{index:03d}", f"risk number {index}", "partial", "Ωmega Łódź") for index in range(120)]
SECTIONS = [
    ReportSection(
        "Risks and opportunities",
        [
            "The register holds 120 risks; the table lists them all.",
            StatusBar("Treatment", [("implemented", 80), ("partial", 30), ("not started", 10)]),
            ReportTable(
                columns=("Id", "Risk", "Treatment", "Owner"),
                rows=ROWS,
                caption="Risk register <current>",
                status_columns=(2,),
            ),
        ],
    ),
    ReportSection("Audit results", ["No major findings & two minor ones."]),
]


def test_a_report_pdf_opens_with_a_non_blank_first_page() -> None:
    data = render_report_pdf(
        "Management review", SECTIONS, meta=[("Period", "2025 Q2")], wide=False
    )
    rendered = render(data)
    assert rendered.pages > 1
    assert rendered.first_page_dark_pixels > 1000
    first = rendered.texts[0]
    assert "Management review" in first
    assert "Period: 2025 Q2" in first
    assert f"page 1 of {rendered.pages}" in first
    text = "\n".join(rendered.texts)
    assert "Risk register <current>" in text
    assert "No major findings & two minor ones." in text
    assert "Ωmega Łódź" in text  # accented and Greek letters survive
    assert all(f"R{index:03d}" in text for index in range(120))
    assert all("Treatment" in page for page in rendered.texts[1:])  # header repeated


def test_an_empty_report_is_still_a_pdf() -> None:
    rendered = render(render_report_pdf("Empty", []))
    assert rendered.pages == 1
    assert rendered.first_page_dark_pixels > 0
