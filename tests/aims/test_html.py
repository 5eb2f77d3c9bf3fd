"""Generic reports as one self-contained HTML page (the management review pack reuses it)."""

from __future__ import annotations

import pytest

from aimsight.aims._document import ReportSection, ReportTable, StatusBar, status_colour
from aimsight.aims._html import render_report_html
from aimsight.core.errors import InvalidInput

SECTIONS = [
    ReportSection(
        "Status of earlier actions",
        [
            "Two of three actions from the last review are closed.\nOne is late.",
            ReportTable(
                columns=("Action", "Owner", "Status", "Due"),
                rows=[
                    ("Retrain churn model", "ml-lead", "implemented", "2025-03-01"),
                    ("Write <b>stop switch</b> runbook", None, "not started", 14.0),
                ],
                caption="Actions",
                status_columns=(2,),
                widths=(4, 2, 2, 2),
            ),
        ],
    ),
    ReportSection("Check results", [StatusBar("Latest checks", [("pass", 7), ("fail", 2)])]),
]


def test_a_report_has_its_title_meta_sections_and_escaped_cells() -> None:
    page = render_report_html(
        "Management review & Q2", SECTIONS, meta=[("Generated", "2025-06-30T09:00:00Z")]
    )
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Management review &amp; Q2</title>" in page
    assert "<dt>Generated</dt><dd>2025-06-30T09:00:00Z</dd>" in page
    assert "<h2>Status of earlier actions</h2>" in page
    assert "<p>Two of three actions from the last review are closed.\nOne is late.</p>" in page
    assert "<td>Write &lt;b&gt;stop switch&lt;/b&gt; runbook</td>" in page
    assert "<td></td>" in page  # no owner
    assert "<td>14</td>" in page  # a whole number shows without .0
    assert "<caption>Actions</caption>" in page
    assert '<col style="width:40.0%">' in page


def test_status_cells_and_bars_take_the_status_colours() -> None:
    page = render_report_html("Review", SECTIONS)
    green = status_colour("implemented")
    red = status_colour("fail")
    assert green is not None and red is not None
    assert f'style="background:{green.fill};color:{green.text}">implemented</td>' in page
    assert f'fill="{red.bar}"' in page
    assert "pass: <strong>7</strong>" in page
    assert 'aria-label="pass: 7; fail: 2"' in page


def test_an_empty_bar_still_draws() -> None:
    page = render_report_html("Review", [ReportSection("Nothing yet", [StatusBar("", [])])])
    assert 'fill="#e9ecef"' in page


def test_a_table_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"rows\[1\] has 1 cells for 2 columns"):
        ReportTable(columns=("a", "b"), rows=[("1", "2"), ("3",)])
    with pytest.raises(InvalidInput, match="one positive number per column"):
        ReportTable(columns=("a", "b"), rows=[], widths=(1, 0))
