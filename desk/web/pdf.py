"""A small PDF writer for text documents: headings, paragraphs, wrapped lines, A4 pages.

Enough for a printable copy of a person's data (a few pages of text) without a PDF library:
the standard Helvetica fonts every PDF reader has (no font embedded), WinAnsi encoding (French
and the other Western European languages; a character outside it is written "?"), one
compressed content stream per page, the document's title and language in its catalogue.
PDF 1.7 (ISO 32000-1) structure: objects, a cross-reference table, a trailer.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PAGE_WIDTH = 595.28  # A4, in points
PAGE_HEIGHT = 841.89
MARGIN = 56.0
STYLES: dict[str, tuple[str, float]] = {
    # style: (font resource, size in points)
    "h1": ("F2", 17.0),
    "h2": ("F2", 13.5),
    "h3": ("F2", 11.5),
    "p": ("F1", 10.5),
    "small": ("F1", 9.0),
}
LEADING = 1.4
# Approximate Helvetica advance widths (thousandths of the font size), by character class:
# generous, so a wrapped line never runs past the margin.
_NARROW = set("il.,;:'|!Ijtf()[] ")
_WIDE = set("mwMW@%")


def _width(text: str, size: float) -> float:
    units = 0
    for char in text:
        if char in _NARROW:
            units += 300
        elif char in _WIDE:
            units += 900
        elif char.isupper() or char.isdigit():
            units += 680
        else:
            units += 560
    return units * size / 1000


@dataclass(frozen=True)
class Block:
    """One paragraph of the document, in a style of STYLES."""

    style: str
    text: str
    indent: int = 0


def _wrap(text: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if _width(candidate, size) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            # A word longer than the line (an identifier, a URL) is cut.
            while _width(word, size) > width:
                cut = max(1, int(len(word) * width / _width(word, size)))
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
    return lines


def _literal(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _text_string(text: str) -> bytes:
    """A text string outside content streams (the title): UTF-16BE with its byte order mark."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _pages(blocks: Iterable[Block]) -> list[bytes]:
    """The content streams, one per page."""
    pages: list[list[bytes]] = [[]]
    y = PAGE_HEIGHT - MARGIN
    for block in blocks:
        font, size = STYLES[block.style]
        left = MARGIN + 14 * block.indent
        lines = _wrap(block.text, size, PAGE_WIDTH - MARGIN - left)
        before = size * (0.9 if block.style.startswith("h") else 0.3)
        if y - before - size * LEADING * min(len(lines), 2) < MARGIN:
            pages.append([])
            y = PAGE_HEIGHT - MARGIN
        elif pages[-1]:
            y -= before
        for line in lines:
            if y - size * LEADING < MARGIN:
                pages.append([])
                y = PAGE_HEIGHT - MARGIN
            y -= size * LEADING
            pages[-1].append(
                b"BT /%s %.1f Tf %.2f %.2f Td %s Tj ET"
                % (font.encode(), size, left, y, _literal(line))
            )
    return [b"\n".join(ops) for ops in pages]


def document(*, title: str, blocks: Sequence[Block], lang: str = "fr-FR") -> bytes:
    """The PDF file of `blocks`, titled `title`."""
    streams = _pages(blocks)
    objects: list[bytes] = []  # objects[n - 1] is object n
    objects.append(
        b"<< /Type /Catalog /Pages 2 0 R /Lang %s /ViewerPreferences << /DisplayDocTitle true >> >>"
        % _literal(lang)
    )
    first_page = 5
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(len(streams)))
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(streams)))
    for base in (b"Helvetica", b"Helvetica-Bold"):
        objects.append(
            b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>" % base
        )
    for n, stream in enumerate(streams):
        content = first_page + 2 * n + 1
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, content)
        )
        packed = zlib.compress(stream)
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(packed), packed)
        )
    objects.append(b"<< /Title %s /Producer (desk) >>" % _text_string(title))
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        len(objects),
        xref,
    )
    return bytes(out)
