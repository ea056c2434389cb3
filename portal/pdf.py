"""Shared PDF plumbing: deterministic documents that can show Chinese names.

Documents are built with ReportLab's ``invariant`` mode, so the same content gives the same bytes
(a recorded hash can be checked later). Chinese characters are set in the Adobe CID font
STSong-Light, which every PDF reader provides, so no font file is embedded or fetched.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.fonts import addMapping
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

CJK_FONT = "STSong-Light"
_CJK = re.compile(r"([\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+)")
_registered = False


def _register_fonts() -> None:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        # Bold and italic headings fall back to the same face: it has no variants of its own.
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(CJK_FONT, bold, italic, CJK_FONT)
        _registered = True


def text(value: object) -> str:
    """Escape for ReportLab's mini-markup, switching to the CJK font for Chinese runs."""
    escaped = escape(str(value))
    return _CJK.sub(lambda match: f'<font name="{CJK_FONT}">{match.group(1)}</font>', escaped)


def styles() -> dict[str, ParagraphStyle]:
    _register_fonts()
    sheet = getSampleStyleSheet()
    return {"title": sheet["Title"], "h2": sheet["Heading2"], "body": sheet["BodyText"], "small": sheet["Italic"]}


def paragraph(value: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(text(value), style)


def table(rows: Sequence[Sequence[object]], *, header: bool = True, widths: Sequence[float] | None = None) -> Table:
    body = styles()["body"]
    data = [[Paragraph(text(cell), body) for cell in row] for row in rows]
    grid = Table(data, colWidths=widths, repeatRows=1 if header else 0)
    commands = [("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")))
    grid.setStyle(TableStyle(commands))
    return grid


def build(flowables: list[Flowable], *, title: str) -> bytes:
    _register_fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=letter, invariant=1, title=title, author="", creator="portal",
        leftMargin=0.8 * inch, rightMargin=0.8 * inch, topMargin=0.8 * inch, bottomMargin=0.8 * inch,
    )
    document.build(flowables)
    return buffer.getvalue()


__all__ = ["Spacer", "build", "colors", "paragraph", "styles", "table", "text"]
