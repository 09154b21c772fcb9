"""Rendering a staff page (back office, mediation): who is signed in, labels, private headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desk.core import clock
from desk.staff.models import StaffMember
from desk.staff.routes import role_label
from desk.web.templating import render

# Staff pages name residents and partners: never cached, never indexed.
PRIVATE_HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}


def staff_page(
    request: Request,
    template: str,
    staff: StaffMember,
    context: Mapping[str, Any],
    status_code: int = 200,
    *,
    helpers: Mapping[str, Any],
) -> Response:
    """A staff page: the member, the time, the area's template `helpers`, then `context`."""
    return render(
        request,
        template,
        {
            "staff": staff,
            "role_label": role_label,
            "now": clock.now(),
            **helpers,
            **context,
        },
        status_code=status_code,
        headers=PRIVATE_HEADERS,
    )
