"""The signatory's own space at /organisation: every route of the space (login: auth.py).

Thin: parse, authorise (`require_member`: every query is filtered by the member's signatory),
call a service, render the page as it now stands. The pages of the space live in one module per
responsibility (people, declarations, inbox, the committee's questions, the connection
settings, the follow-up pages); this one gathers them.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from desk.organisations import (
    complaint_routes,
    connection_routes,
    declaration_routes,
    follow_routes,
    inbox_routes,
    people_routes,
)

routes: list[BaseRoute] = [
    *complaint_routes.routes,
    *inbox_routes.routes,
    *people_routes.routes,
    *declaration_routes.routes,
    *connection_routes.routes,
    *follow_routes.routes,
]
