"""Open PDF bytes the way a reader does (PDFium) and say what is on the pages."""

from __future__ import annotations

from dataclasses import dataclass

import pypdfium2 as pdfium


@dataclass(frozen=True)
class RenderedPdf:
    """What a PDF showed: its page count, the dark pixels on its first page, each page's text."""

    pages: int
    first_page_dark_pixels: int
    texts: list[str]


def render(data: bytes) -> RenderedPdf:
    """Render the first page to a greyscale bitmap and extract every page's text."""
    document = pdfium.PdfDocument(data)
    try:
        texts: list[str] = []
        dark = 0
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            if index == 0:
                bitmap = page.render(scale=1, grayscale=True)
                pixels = bitmap.to_numpy()
                dark = int((pixels < 128).sum())
                bitmap.close()
            page.close()
        return RenderedPdf(pages=len(document), first_page_dark_pixels=dark, texts=texts)
    finally:
        document.close()
