"""Reports as one self-contained, printable HTML page.

No scripts, no external files: styles are inline, charts are inline SVG, and a Content Security
Policy forbids anything else, so the page opens the same from an evidence pack years later.
Every piece of text is HTML-escaped; only our own palette reaches ``style`` attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape as _escape

from aimsight.aims._document import (
    ReportSection,
    ReportTable,
    StatusBar,
    cell_text,
    clean_text,
    status_colour,
)

__all__ = ["render_report_html"]

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #1d2125; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .4rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid #ccd1d6;
     padding-bottom: .2rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: 0;
          color: #4a525a; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; }
p { margin: .5rem 0; white-space: pre-line; }
figure { margin: .8rem 0; }
figcaption, caption { font-weight: 600; text-align: left; margin-bottom: .3rem; }
ul.legend { list-style: none; padding: 0; margin: .3rem 0 0; display: flex; flex-wrap: wrap;
            gap: .2rem 1.2rem; }
ul.legend svg { vertical-align: -1px; margin-right: .3rem; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; font-size: 12.5px; }
th, td { border: 1px solid #ccd1d6; padding: .3rem .45rem; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
thead th { background: #eef1f4; }
td.status { white-space: nowrap; font-weight: 600; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  thead { display: table-header-group; }
  tr, figure { break-inside: avoid; }
  h2 { break-after: avoid; }
}
@page { size: A4 landscape; margin: 14mm; }
"""


def escape(text: str) -> str:
    """Text made safe for HTML content and attribute values."""
    return _escape(clean_text(text), quote=True)


_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render_report_html(
    title: str,
    sections: Sequence[ReportSection],
    *,
    meta: Sequence[tuple[str, str]] = (),
) -> str:
    """Render a report as a self-contained HTML page.

    Args:
        title: the page's heading and ``<title>``.
        sections: headings with their paragraphs, tables and status bars, in order.
        meta: ``(label, value)`` lines under the title, e.g. ``("Generated", "2025-...Z")``.

    Returns:
        The page as text (UTF-8 when written out).
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(title)}</h1>",
    ]
    if meta:
        parts.append('<dl class="meta">')
        parts += [f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in meta]
        parts.append("</dl>")
    parts.append("</header>")
    for section in sections:
        parts.append("<section>")
        parts.append(f"<h2>{escape(section.heading)}</h2>")
        for block in section.blocks:
            if isinstance(block, ReportTable):
                parts.append(_table(block))
            elif isinstance(block, StatusBar):
                parts.append(_status_bar(block))
            else:
                parts.append(f"<p>{escape(block)}</p>")
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _table(table: ReportTable) -> str:
    shares = table.relative_widths()
    lines = ["<table>"]
    if table.caption:
        lines.append(f"<caption>{escape(table.caption)}</caption>")
    lines.append("<colgroup>")
    lines += [f'<col style="width:{share * 100:.1f}%">' for share in shares]
    lines.append("</colgroup>")
    header = "".join(f'<th scope="col">{escape(name)}</th>' for name in table.columns)
    lines.append(f"<thead><tr>{header}</tr></thead>")
    lines.append("<tbody>")
    status_columns = set(table.status_columns)
    for row in table.rows:
        cells = []
        for index, value in enumerate(row):
            text = cell_text(value)
            colour = status_colour(text) if index in status_columns else None
            if colour is None:
                cells.append(f"<td>{escape(text)}</td>")
            else:
                style = f"background:{colour.fill};color:{colour.text}"
                cells.append(f'<td class="status" style="{style}">{escape(text)}</td>')
        lines.append(f"<tr>{''.join(cells)}</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def _status_bar(bar: StatusBar) -> str:
    """A stacked horizontal bar as inline SVG, with a legend giving every count."""
    width, height = 1000, 28
    total = bar.total
    label = "; ".join(f"{name}: {count}" for name, count in bar.counts)
    shapes: list[str] = []
    if total == 0:
        shapes.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#e9ecef"/>')
    else:
        x = 0.0
        for name, count in bar.counts:
            if count <= 0:
                continue
            span = width * count / total
            fill = _bar_colour(name)
            shapes.append(
                f'<rect x="{x:.2f}" y="0" width="{span:.2f}" height="{height}" fill="{fill}">'
                f"<title>{escape(name)}: {count}</title></rect>"
            )
            x += span
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" height="{height}" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(label)}">{"".join(shapes)}</svg>'
    )
    legend = "".join(
        f'<li><svg width="11" height="11" aria-hidden="true"><rect width="11" height="11" '
        f'fill="{_bar_colour(name)}"/></svg>{escape(name)}: <strong>{count}</strong></li>'
        for name, count in bar.counts
    )
    caption = f"<figcaption>{escape(bar.caption)}</figcaption>" if bar.caption else ""
    return f'<figure>{caption}{svg}<ul class="legend">{legend}</ul></figure>'


def _bar_colour(label: str) -> str:
    colour = status_colour(label)
    return colour.bar if colour is not None else "#607d8b"
