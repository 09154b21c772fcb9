"""What every mediation page shares: who may open it, its template helpers, ids in paths."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse

from desk.core import clock
from desk.core.errors import DeskError
from desk.core.i18n import translate
from desk.explain.topics import topic_path
from desk.mediation import services
from desk.receipts.qr import qr_svg
from desk.requests.models import RequestKind
from desk.residents.views import answer_lines, kind_label, state_label
from desk.staff.auth import require_staff
from desk.staff.models import StaffMember, StaffRole
from desk.staff.pages import staff_page
from desk.web.limits import row_id

ROLES = (StaffRole.MEDIATOR, StaffRole.ADMIN)
KINDS = [k.value for k in RequestKind]
# The printable "Comprendre mes données" sheet of each request kind (desk/explain).
SHEET_TOPICS = {
    RequestKind.DISCOVERY: "savoir-qui-detient",
    RequestKind.ACCESS: "copie",
    RequestKind.ERASURE: "effacement",
    RequestKind.OBJECTION: "opposition",
}
SHEETS = {kind.value: topic_path(slug) for kind, slug in SHEET_TOPICS.items()}


async def mediator(request: Request) -> StaffMember:
    # require_staff reloads the member on every request: a deactivated account stops at once.
    return await require_staff(request, *ROLES)


# What the mediation templates use, besides the staff member and the time.
PAGE_HELPERS: dict[str, Any] = {
    "state_label": state_label,
    "kind_label": kind_label,
    "answer_lines": answer_lines,
    "identity_labels": services.IDENTITY_LABELS,
    "kinds": KINDS,
    "sheets": SHEETS,
    "add_months": clock.add_months,
}
page = partial(staff_page, helpers=PAGE_HELPERS)


def int_param(request: Request, name: str) -> int:
    value = row_id(str(request.path_params.get(name, "")))
    if value is None:
        raise DeskError("Cette page est introuvable.", code="not_found")
    return value


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@dataclass(frozen=True)
class ReceiptCode:
    """A receipt's short address and its QR code, for printed sheets and letters."""

    url: str
    svg: Markup


def receipt_qrs(request: Request, receipt_ids: list[str | None]) -> dict[str, ReceiptCode]:
    """receipt id → its short address and a QR code of it: a phone opens the receipt on the
    desk, which verifies it (the whole signed text would make a code too dense for paper)."""
    settings = request.app.state.settings
    label = translate(
        "Code QR : ouvre ce reçu sur le guichet, qui le vérifie",
        getattr(request.state, "locale", "fr"),
    )
    codes: dict[str, ReceiptCode] = {}
    for receipt_id in dict.fromkeys(r for r in receipt_ids if r):
        url = settings.url(f"/recus/{receipt_id}")
        svg = qr_svg(url, label=label, size="30mm")
        if svg is not None:
            codes[receipt_id] = ReceiptCode(url=url, svg=svg)
    return codes
