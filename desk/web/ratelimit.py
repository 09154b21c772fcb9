"""Rate limits on the forms and endpoints people or scripts could hammer (the `limits` library).

One table says which request is counted under which keys: login-link requests per address and
per IP (residents and staff), the partner token endpoint per client_id and per IP, answer forms
per link (partner answer page) or per resident (answer to a signatory's question) and per IP.
Over a limit the request never reaches its route: a 429 with Retry-After, a French page for
people, application/problem+json for /api and /oauth.

Counters live in memory (one process) or in Redis (`DESK_RATE_LIMIT_STORAGE=redis://...`,
shared by every instance). A storage outage lets requests through (logged): the desk stays
usable, and the database-backed per-address throttle of login links still holds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.core import clock
from desk.settings import Settings
from desk.web.bodies import buffer_body, replay
from desk.web.errors import problem, wants_json
from desk.web.templating import render

log = logging.getLogger("desk.security")

# Forms read here are small urlencoded ones; a bigger body is left to its route to refuse.
MAX_SCANNED_BODY = 64 * 1024


@dataclass(frozen=True)
class Rule:
    """Requests `method path` are counted under each (setting name, key kind) pair."""

    name: str
    method: str
    path: re.Pattern[str]
    limits: tuple[tuple[str, str], ...]


RULES = (
    Rule(
        "login",
        "POST",
        re.compile(r"^/connexion$"),
        (("rate_limit_login_per_email", "email"), ("rate_limit_login_per_ip", "ip")),
    ),
    Rule(
        "staff_login",
        "POST",
        re.compile(r"^/equipe/connexion$"),
        (("rate_limit_login_per_email", "email"), ("rate_limit_login_per_ip", "ip")),
    ),
    Rule(
        "organisation_login",
        "POST",
        re.compile(r"^/organisation/connexion$"),
        (("rate_limit_login_per_email", "email"), ("rate_limit_login_per_ip", "ip")),
    ),
    Rule(
        "public_form",
        "POST",
        re.compile(r"^/(charte/rejoindre|charte/ameliorations|mon-espace/reclamations/[^/]+)$"),
        (("rate_limit_public_form_per_ip", "ip"),),
    ),
    Rule(
        "oauth_token",
        "POST",
        re.compile(r"^/oauth/token$"),
        (("rate_limit_token_per_client", "client_id"), ("rate_limit_token_per_ip", "ip")),
    ),
    Rule(
        "partner_answer",
        "POST",
        re.compile(r"^/partenaires/reponse/(?P<link>[^/]+)$"),
        (("rate_limit_answer_per_link", "link"), ("rate_limit_answer_per_ip", "ip")),
    ),
    Rule(
        "resident_answer",
        "POST",
        re.compile(r"^/mon-espace/demandes/[^/]+/repondre$"),
        (("rate_limit_answer_per_link", "resident"), ("rate_limit_answer_per_ip", "ip")),
    ),
)


def storage_uri(raw: str) -> str:
    """The `limits` async storage URI for DESK_RATE_LIMIT_STORAGE ("redis://..." or "memory://")."""
    uri = raw.strip() or "memory://"
    return uri if uri.startswith("async+") else f"async+{uri}"


def parse_limit(setting: str, value: str) -> RateLimitItem:
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(
            f"DESK_{setting.upper()}={value!r} is not a rate limit such as '10 per hour'"
        ) from exc


class RateLimiter:
    """The configured limits and their shared counters; one per app."""

    def __init__(self, settings: Settings, *, namespace: str = "desk") -> None:
        uri = storage_uri(settings.rate_limit_storage)
        options: dict[str, float | str | bool] = {}
        if uri.startswith(("async+redis", "async+rediss")):
            # The `redis` package (redis.asyncio), not coredis.
            options["implementation"] = "redispy"
        self.storage = storage_from_string(uri, **options)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.namespace = namespace
        self.salt = settings.secret_key.encode("utf-8")
        self.items = {
            setting: parse_limit(setting, str(getattr(settings, setting)))
            for rule in RULES
            for setting, _ in rule.limits
        }

    async def retry_after(self, counted: list[tuple[str, str, str]]) -> int | None:
        """Seconds to wait when one of the counters is full; otherwise count this request."""
        waits = []
        for setting, kind, key in counted:
            item = self.items[setting]
            if not await self.strategy.test(item, self.namespace, kind, key):
                stats = await self.strategy.get_window_stats(item, self.namespace, kind, key)
                waits.append(max(1, math.ceil(stats.reset_time - time.time())))
        if waits:
            return max(waits)
        for setting, kind, key in counted:
            await self.strategy.hit(self.items[setting], self.namespace, kind, key)
        return None


def _digest(salt: bytes, value: str) -> str:
    # Counters are keyed by a keyed hash: neither memory nor Redis holds an address or a link,
    # and an address cannot be found back by hashing guesses without the desk's secret.
    return hmac.new(salt, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _basic_client_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"authorization" and value[:6].lower() == b"basic ":
            try:
                decoded = base64.b64decode(value[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return decoded.partition(":")[0]
    return None


async def _read_form(receive: Receive) -> tuple[dict[str, str], list[Message]]:
    """The urlencoded fields of a body (empty past MAX_SCANNED_BODY), and the messages read."""
    body, messages, complete = await buffer_body(receive, MAX_SCANNED_BODY)
    if not complete:
        return {}, messages
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), messages
    except UnicodeDecodeError:
        return {}, messages


def _is_form(scope: Scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            media_type = bytes(value).split(b";")[0].strip().lower()
            return media_type == b"application/x-www-form-urlencoded"
    return False


def _key(
    kind: str, scope: Scope, form: dict[str, str], match: re.Match[str], salt: bytes
) -> str | None:
    if kind == "ip":
        client = scope.get("client")
        return client[0] if client else "unknown"
    if kind == "email":
        email = form.get("email", "").strip().lower()
        return _digest(salt, email) if email else None
    if kind == "client_id":
        client_id = _basic_client_id(scope) or form.get("client_id", "")
        return _digest(salt, client_id) if client_id else None
    if kind == "link":
        return _digest(salt, match.group("link"))
    if kind == "resident":
        resident_id = scope.get("session", {}).get("resident_id")
        return str(resident_id) if isinstance(resident_id, int) else None
    raise ValueError(kind)


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for rule in RULES:
            match = rule.path.match(scope["path"])
            if match is None or scope["method"] != rule.method:
                continue
            form: dict[str, str] = {}
            if any(kind in ("email", "client_id") for _, kind in rule.limits) and _is_form(scope):
                form, messages = await _read_form(receive)
                receive = replay(messages, receive)
            counted = []
            for setting, kind in rule.limits:
                key = _key(kind, scope, form, match, self.limiter.salt)
                if key is not None:
                    counted.append((setting, f"{rule.name}.{kind}", key))
            try:
                wait = await self.limiter.retry_after(counted)
            except Exception as exc:
                # One line per request, not a traceback each: the outage itself is the news.
                log.warning(
                    "rate limit storage unavailable (%s): %s not counted",
                    type(exc).__name__,
                    rule.name,
                )
                wait = None
            if wait is not None:
                log.info("rate limit reached: %s", rule.name)
                response = too_many(Request(scope, receive), wait)
                await response(scope, receive, send)
                return
            break
        await self.app(scope, receive, send)


def too_many(request: Request, wait: int) -> Response:
    """The 429 answer: when to retry, as a French page or as problem+json."""
    minutes = max(1, math.ceil(wait / 60))
    headers = {"Retry-After": str(wait), "Cache-Control": "no-store"}
    if wants_json(request):
        response = problem(
            429,
            f"Trop de demandes en peu de temps. Réessayez dans {wait} secondes.",
            retry_after=wait,
        )
        response.headers.update(headers)
        return response
    at = clock.local(datetime.fromtimestamp(time.time() + wait, UTC))
    return render(
        request,
        "errors/rate_limited.html",
        {"minutes": minutes, "at": f"{at:%H:%M}"},
        status_code=429,
        headers=headers,
    )
