"""QR codes as inline SVG: no image file, no JavaScript, prints sharp on paper."""

from __future__ import annotations

import segno
from markupsafe import Markup, escape

# Past this length a QR code gets too dense for a phone camera to read off a printed page.
MAX_QR_URL = 2000


def fits(url: str) -> bool:
    return len(url) <= MAX_QR_URL


def qr_svg(url: str, *, label: str, size: str | None = None) -> Markup | None:
    """An accessible inline <svg> encoding `url`, or None when the URL cannot be encoded."""
    if not fits(url):
        return None
    try:
        # Low error correction keeps long URLs readable; segno raises it when space allows.
        code = segno.make(url, error="l", boost_error=True, micro=False)
    except (segno.DataOverflowError, ValueError):
        return None
    if size is None:
        # Half a millimetre per module: a phone reads that off paper; long URLs make bigger codes.
        size = f"{max(35, round(code.symbol_size()[0] * 0.5))}mm"
    # A viewBox without fixed pixels, so the code keeps its physical size on screen and on paper.
    svg: str = code.svg_inline(title=label, svgclass="qr-code", lineclass="qr-line", omitsize=True)
    # A width attribute, not a style one: the CSP allows no inline style (static/desk.css
    # keeps the height in proportion and the code within the page).
    attributes = f'role="img" aria-label="{escape(label)}" width="{escape(size)}"'
    svg = svg.replace("<svg ", f"<svg {attributes} ", 1)
    return Markup(svg)
