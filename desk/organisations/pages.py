"""What every page of the organisation's space shares: private headers, labels, the flash line.

Each route module of the space (`routes`, `people_routes`, `declaration_routes`,
`inbox_routes`, `complaint_routes`, `connection_routes`, `follow_routes`) renders through
`page`, so every page of the space is private (no-store, noindex) and shows who is logged in.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desk.core.translatable import N_
from desk.organisations.models import MemberRole, OrganisationMember
from desk.registry import declarations
from desk.registry.services import CHARTER_STATUS_LABELS, LEGAL_BASIS_LABELS
from desk.web.templating import render

PRIVATE_HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}
ROLE_LABELS: dict[str, str] = {
    MemberRole.DPO: N_("délégué à la protection des données (DPO)"),
    MemberRole.EDITOR: N_("rédacteur"),
}
HELPERS: dict[str, Any] = {
    "ROLE_LABELS": ROLE_LABELS,
    "CHARTER_STATUS_LABELS": CHARTER_STATUS_LABELS,
    "LEGAL_BASIS_LABELS": LEGAL_BASIS_LABELS,
    "FIELD_LABELS": declarations.FIELD_LABELS,
}
FLASH = "org_flash"


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    member: OrganisationMember | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        template,
        {"member": member, "flash_org": request.session.pop(FLASH, ""), **HELPERS, **context},
        status_code=status_code,
        headers=PRIVATE_HEADERS,
    )
