"""/healthz (the process answers) and /readyz (the database answers and its schema is current).

Answered by a middleware in front of sessions and CSRF: probes get no cookie and leave no
session behind.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from desk.core.i18n import translate
from desk.dbstatus import readiness
from desk.web.i18n import locale_of
from desk.web.outage import RETRY_AFTER_SECONDS

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"


async def health_response(scope: Scope) -> Response:
    if scope["path"] == HEALTH_PATH:
        # No database touch: a container orchestrator restarts the process only if this fails.
        return JSONResponse({"status": "ok"}, headers={"cache-control": "no-store"})
    state = await readiness()
    if state.ready:
        return JSONResponse(
            {"status": "ready", "database": "ok", "pending_migrations": []},
            headers={"cache-control": "no-store"},
        )
    locale = locale_of(HTTPConnection(scope))
    if not state.database:
        detail = translate("La base de données ne répond pas.", locale)
    else:
        detail = translate(
            "Des migrations de la base de données ne sont pas appliquées : lancez desk migrate.",
            locale,
        )
    return JSONResponse(
        {
            "type": "about:blank",
            "title": translate("Service pas encore prêt", locale),
            "status": 503,
            "detail": detail,
            "database": "ok" if state.database else "unreachable",
            "pending_migrations": state.pending_migrations,
        },
        status_code=503,
        media_type="application/problem+json",
        headers={"cache-control": "no-store", "retry-after": str(RETRY_AFTER_SECONDS)},
    )


class HealthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] in (HEALTH_PATH, READY_PATH)
            and scope["method"] in ("GET", "HEAD")
        ):
            response = await health_response(scope)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
