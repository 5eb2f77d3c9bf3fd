"""Reports as PDF, laid out by ReportLab's platypus.

Tables split across pages with their header repeated, a cell taller than a page splits too,
every page carries the report's title and "page n of m", and the same report always gives the
same bytes (ReportLab's invariant mode), so evidence packs hash reproducibly.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import matplotlib
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from aimsight.aims._document import (
    ReportSection,
    ReportTable,
    StatusBar,
    cell_text,
    clean_text,
    status_colour,
)

__all__ = ["render_report_pdf"]

_MARGIN = 14 * mm
_BORDER = colors.HexColor("#ccd1d6")
_HEADER_FILL = colors.HexColor("#eef1f4")
_OTHER_BAR = "#607d8b"
_KEEP_WITH_HEADING = 40 * mm  # a heading or caption starts a new page with less room than this


def render_report_pdf(
    title: str,
    sections: Sequence[ReportSection],
    *,
    meta: Sequence[tuple[str, str]] = (),
    wide: bool = True,
) -> bytes:
    """Render a report as a PDF document.

    Args:
        title: the document's title, on the first page and in every page's footer.
        sections: headings with their paragraphs, tables and status bars, in order.
        meta: ``(label, value)`` lines under the title, e.g. ``("Generated", "2025-...Z")``.
        wide: A4 landscape (for wide tables) when true, A4 portrait otherwise.

    Returns:
        The PDF file's bytes.
    """
    page = landscape(A4) if wide else A4
    styles = _Styles()

    def story(document: SimpleDocTemplate) -> list[Flowable]:
        flowables: list[Flowable] = [Paragraph(_text(title), styles.title)]
        for label, value in meta:
            flowables.append(Paragraph(f"<b>{_text(label)}:</b> {_text(value)}", styles.meta))
        for section in sections:
            flowables.append(CondPageBreak(_KEEP_WITH_HEADING))
            flowables.append(Paragraph(_text(section.heading), styles.heading))
            for block in section.blocks:
                if isinstance(block, ReportTable):
                    flowables += _table(block, document.width, styles)
                elif isinstance(block, StatusBar):
                    flowables += _status_bar(block, document.width, styles)
                else:
                    flowables.append(Paragraph(_text(block), styles.body))
        return flowables

    # Two passes: the first counts the pages so every footer can say "page n of m".
    pages = 0
    for _ in range(2):
        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer,
            pagesize=page,
            leftMargin=_MARGIN,
            rightMargin=_MARGIN,
            topMargin=_MARGIN,
            bottomMargin=_MARGIN + 4 * mm,
            title=title,
            author="aimsight",
            creator="aimsight",
            invariant=True,
        )
        footer = _footer(title, page[0], pages)
        document.build(story(document), onFirstPage=footer, onLaterPages=footer)
        pages = document.page
    return buffer.getvalue()


class _Styles:
    """The paragraph styles a report uses, all in :func:`_fonts`' family."""

    def __init__(self) -> None:
        regular, bold = _fonts()
        sheet = getSampleStyleSheet()
        self.title = ParagraphStyle(
            "ReportTitle", parent=sheet["Title"], fontName=bold, alignment=0
        )
        self.meta = ParagraphStyle(
            "Meta", parent=sheet["BodyText"], fontName=regular, textColor=colors.HexColor("#4a525a")
        )
        self.heading = ParagraphStyle(
            "Heading", parent=sheet["Heading2"], fontName=bold, spaceBefore=10
        )
        self.body = ParagraphStyle("Body", parent=sheet["BodyText"], fontName=regular)
        self.caption = ParagraphStyle("Caption", parent=self.body, fontName=bold, spaceAfter=2)
        self.cell = ParagraphStyle("Cell", parent=self.body, fontSize=7.5, leading=9.2)
        self.header = ParagraphStyle("HeaderCell", parent=self.cell, fontName=bold)
        self.status = ParagraphStyle("StatusCell", parent=self.header)


@cache
def _fonts() -> tuple[str, str]:
    """The regular and bold font names: DejaVu Sans (shipped with matplotlib; it covers accented
    Latin, Greek and Cyrillic names) where it can be found, else the built-in Helvetica, which
    covers Western European text only."""
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        return "Helvetica", "Helvetica-Bold"
    pdfmetrics.registerFont(TTFont("AimsightSans", str(regular)))
    pdfmetrics.registerFont(TTFont("AimsightSans-Bold", str(bold)))
    pdfmetrics.registerFontFamily(
        "AimsightSans",
        normal="AimsightSans",
        bold="AimsightSans-Bold",
        italic="AimsightSans",
        boldItalic="AimsightSans-Bold",
    )
    return "AimsightSans", "AimsightSans-Bold"


def _text(value: str) -> str:
    """Plain text made safe for ReportLab's paragraph markup; line breaks kept."""
    return escape(clean_text(value), quote=False).replace("\n", "<br/>")


def _table(table: ReportTable, width: float, styles: _Styles) -> list[Flowable]:
    status_columns = set(table.status_columns)
    data: list[list[Paragraph]] = [
        [Paragraph(_text(name), styles.header) for name in table.columns]
    ]
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.4, _BORDER),
        ("BACKGROUND", (0, 0), (-1, 0), _HEADER_FILL),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    for row_index, row in enumerate(table.rows, start=1):
        cells: list[Paragraph] = []
        for column, value in enumerate(row):
            text = cell_text(value)
            colour = status_colour(text) if column in status_columns else None
            if colour is None:
                cells.append(Paragraph(_text(text), styles.cell))
                continue
            style = ParagraphStyle(f"s{row_index}.{column}", parent=styles.status)
            style.textColor = colors.HexColor(colour.text)
            cells.append(Paragraph(_text(text), style))
            cell = (column, row_index)
            commands.append(("BACKGROUND", cell, cell, colors.HexColor(colour.fill)))
        data.append(cells)
    flowables: list[Flowable] = []
    if table.caption:
        flowables.append(CondPageBreak(_KEEP_WITH_HEADING))
        flowables.append(Paragraph(_text(table.caption), styles.caption))
    flowables.append(
        Table(
            data,
            colWidths=[share * width for share in table.relative_widths()],
            repeatRows=1,
            splitInRow=1,
            style=TableStyle(commands),
            hAlign="LEFT",
        )
    )
    flowables.append(Spacer(1, 6))
    return flowables


def _status_bar(bar: StatusBar, width: float, styles: _Styles) -> list[Flowable]:
    """A stacked bar with a legend under it (wrapped to the page), drawn as vector graphics."""
    bar_height, line_height, font_size = 16.0, 13.0, 8.0
    font, _ = _fonts()
    placed: list[tuple[float, int, str, str]] = []  # x, legend line, label, text
    x, line = 0.0, 0
    for name, count in bar.counts:
        text = f"{name}: {count}"
        span = 11 + pdfmetrics.stringWidth(text, font, font_size) + 14
        if x > 0 and x + span > width:
            x, line = 0.0, line + 1
        placed.append((x, line, name, text))
        x += span
    legend_height = (line + 1) * line_height
    drawing = Drawing(width, bar_height + 4 + legend_height)
    top = legend_height + 4
    total = bar.total
    if total == 0:
        drawing.add(_rect(0, top, width, bar_height, _HEADER_FILL))
    else:
        start = 0.0
        for name, count in bar.counts:
            if count <= 0:
                continue
            span = width * count / total
            drawing.add(_rect(start, top, span, bar_height, _bar_colour(name)))
            start += span
    for left, row, name, text in placed:
        baseline = legend_height - (row + 1) * line_height + 3
        drawing.add(_rect(left, baseline, 8, 8, _bar_colour(name)))
        drawing.add(String(left + 11, baseline + 1, text, fontName=font, fontSize=font_size))
    flowables: list[Flowable] = []
    if bar.caption:
        flowables.append(Paragraph(_text(bar.caption), styles.caption))
    flowables += [drawing, Spacer(1, 6)]
    return [KeepTogether(flowables)]


def _rect(x: float, y: float, width: float, height: float, fill: colors.Color) -> Rect:
    rect = Rect(x, y, width, height)
    rect.fillColor = fill
    rect.strokeColor = None
    return rect


def _bar_colour(label: str) -> colors.Color:
    colour = status_colour(label)
    return colors.HexColor(colour.bar if colour is not None else _OTHER_BAR)


def _footer(title: str, page_width: float, pages: int) -> Callable[[Canvas, Any], None]:
    """Draws the title and "page n of m" (``m`` unknown, and left out, while counting)."""

    def draw(canvas: Canvas, _document: Any) -> None:
        number = canvas.getPageNumber()
        canvas.saveState()
        canvas.setFont(_fonts()[0], 7.5)
        canvas.setFillColor(colors.HexColor("#4a525a"))
        canvas.drawString(_MARGIN, _MARGIN - 2 * mm, title)
        text = f"page {number} of {pages}" if pages else f"page {number}"
        canvas.drawRightString(page_width - _MARGIN, _MARGIN - 2 * mm, text)
        canvas.restoreState()

    return draw
