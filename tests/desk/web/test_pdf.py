"""desk.web.pdf: a real PDF any reader opens (checked with pypdf, strictly)."""

from __future__ import annotations

import io

from pypdf import PdfReader

from desk.web.pdf import MARGIN, PAGE_WIDTH, Block, _width, _wrap, document


def test_a_long_document_is_paged_titled_and_readable() -> None:
    blocks = [Block("h1", "Copie de vos données chez Eau du Ponant")]
    blocks += [
        Block("p", f"Relevé {n} : 1 204 m³ — « prélèvement » à l'échéance, œuvre", n % 3)
        for n in range(150)
    ]
    data = document(title="Copie — Eau du Ponant", blocks=blocks)
    assert data.startswith(b"%PDF-1.7") and data.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(data), strict=True)
    assert len(reader.pages) > 1
    assert reader.metadata is not None and reader.metadata.title == "Copie — Eau du Ponant"
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Relevé 149 : 1 204 m³ — « prélèvement » à l'échéance, œuvre" in text
    assert b"/Lang (fr-FR)" in data


def test_characters_outside_western_european_scripts_become_question_marks() -> None:
    data = document(title="Ελληνικά", blocks=[Block("p", "Nom : Ελένη (Brest)")])
    text = PdfReader(io.BytesIO(data), strict=True).pages[0].extract_text()
    assert "Nom : ????? (Brest)" in text
    assert PdfReader(io.BytesIO(data)).metadata.title == "Ελληνικά"  # type: ignore[union-attr]


def test_lines_are_wrapped_within_the_margins_even_a_very_long_word() -> None:
    width = PAGE_WIDTH - 2 * MARGIN
    lines = _wrap("identifiant " + "x" * 400 + " fin (ok)", 10.5, width)
    assert len(lines) > 2
    assert all(_width(line, 10.5) <= width for line in lines)
    assert "".join(lines).replace("identifiant", "").startswith("x")
