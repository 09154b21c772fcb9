"""Locale detection and security headers on every response."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.web.i18n import locale_of_scope

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        # No inline style either: an injected <style> or style="" could restyle a page (hide
        # a warning, overlay a button); every rule lives in a stylesheet under /static.
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# Only over HTTPS (DESK_HTTPS_ONLY): a local demo over http must stay reachable.
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
# Pages about one person or one partner, whoever asks: no cache may keep them. (Any page shown
# to a logged-in resident or staff member is no-store too: desk.identity.sessions sees to it.)
PERSONAL_PREFIXES = (
    "/mon-espace", "/equipe", "/back-office", "/mediation", "/comite", "/connexion/",
    "/partenaires/", "/api/", "/oauth/", "/recus/", "/dev/mailbox",
)  # fmt: skip
PERSONAL_SUFFIXES = ("/mes-donnees",)


def security_headers(*, https_only: bool) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries (for answers made outside this middleware)."""
    return [*SECURITY_HEADERS, *([HSTS] if https_only else [])]


def is_personal(path: str) -> bool:
    return path.startswith(PERSONAL_PREFIXES) or path.endswith(PERSONAL_SUFFIXES)


class LocaleAndHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        locale, asked = locale_of_scope(scope)
        scope.setdefault("state", {})["locale"] = locale
        set_cookie = asked == locale
        settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
        https_only = bool(getattr(settings, "https_only", False))
        personal = is_personal(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in present]
                if https_only:
                    headers.append(HSTS)
                if personal:
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                # Pages depend on the language asked for (query, cookie or Accept-Language).
                headers.append((b"vary", b"Accept-Language, Cookie"))
                if set_cookie:
                    headers.append(
                        (
                            b"set-cookie",
                            f"lang={locale}; Path=/; Max-Age=31536000; SameSite=Lax".encode(),
                        )
                    )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
