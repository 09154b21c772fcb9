"""One log line per request: request id, method, route template, status, duration.

The route template (`/connexion/{token}`), never the path itself: paths carry login and
answer tokens. No query string, no client address, no user agent.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.logs import request_id_var

access_log = logging.getLogger("desk.access")

HEADER = b"x-request-id"
# What a proxy or load balancer may hand us (a UUID, a trace id…); anything else is replaced.
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")
# Probes hit these every few seconds: logged at DEBUG only.
QUIET_PATHS = frozenset({"/healthz", "/readyz"})


def incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == HEADER:
            candidate = value.decode("latin-1")
            return candidate if _WELL_FORMED.match(candidate) else None
    return None


def _template_of(route: object) -> str | None:
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return None
    return f"{path}/{{path}}" if isinstance(route, Mount) else path or "/"


def route_template(scope: Scope) -> str:
    """The matched route's template; for requests answered before routing, the route that
    would have matched; "-" when none does (a 404)."""
    template = _template_of(scope.get("route"))
    if template:
        return template
    if scope.get("path") in QUIET_PATHS:
        return str(scope["path"])
    app = scope.get("app")
    for route in getattr(getattr(app, "router", None), "routes", []):
        try:
            match, _ = route.matches({**scope, "type": "http"})
        except Exception:  # a malformed scope must not break logging
            continue
        if match is not Match.NONE:
            return _template_of(route) or "-"
    return "-"


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    (HEADER, request_id.encode("latin-1")),
                ]
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            failed = True
            raise
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            route = route_template(scope)
            method = str(scope.get("method", ""))
            access_log.log(
                logging.DEBUG if scope.get("path") in QUIET_PATHS else logging.INFO,
                "%s %s %s %.1fms",
                method,
                route,
                status,
                duration_ms,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
            # On failure the id stays set for the error handler's own line (outside this
            # middleware); the request's task ends right after.
            if not failed:
                request_id_var.reset(token)
