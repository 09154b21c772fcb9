"""The database went away: answer 503 with Retry-After instead of a 500.

A request that fails because the database cannot be reached (refused, connection lost, pool
closing, SQLite locked or unwritable) gets a French page for people and problem+json for
machines. Nothing to reset when the database comes back: the next request takes a fresh
connection from the pool (asyncpg) or reopens the file (SQLite).
"""

from __future__ import annotations

import json
import logging

from markupsafe import escape
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.core.i18n import translate
from desk.dbstatus import is_database_unavailable
from desk.web.i18n import locale_of

log = logging.getLogger("desk.web")

RETRY_AFTER_SECONDS = 15


def _wants_json(scope: Scope) -> bool:
    path = str(scope.get("path", ""))
    if path.startswith(("/api/", "/oauth/", "/.well-known/")) or path.endswith(".json"):
        return True
    for name, value in scope.get("headers") or []:
        if name == b"accept":
            return b"json" in value
    return False


def outage_body(scope: Scope) -> tuple[bytes, bytes]:
    """(content type, body) of the 503 answer, in the reader's language."""
    locale = scope.get("state", {}).get("locale") or locale_of(HTTPConnection(scope))
    title = translate("Service momentanément indisponible", locale)
    detail = translate(
        "Le guichet est momentanément indisponible. Réessayez dans quelques minutes : "
        "vos demandes déjà enregistrées ne sont pas perdues.",
        locale,
    )
    if _wants_json(scope):
        problem = {"type": "about:blank", "title": title, "status": 503, "detail": detail}
        return b"application/problem+json", json.dumps(problem, ensure_ascii=False).encode()
    home = translate("Retour à l'accueil", locale)
    page = (
        f'<!doctype html><html lang="{locale}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="/static/desk.css"></head><body><main class="wrap">'
        f"<h1>{escape(title)}</h1>"
        f'<p class="notice notice-error" role="alert">{escape(detail)}</p>'
        f'<p><a href="/">{escape(home)}</a></p></main></body></html>'
    )
    return b"text/html; charset=utf-8", page.encode()


class DatabaseOutageMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started or not is_database_unavailable(exc):
                raise
            log.warning("database unavailable (%s): answered 503", type(exc).__name__)
            content_type, body = outage_body(scope)
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", content_type),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
