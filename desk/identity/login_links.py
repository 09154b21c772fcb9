"""Login links by email, for residents and staff alike: one implementation.

- The link carries a random token (`secrets.token_urlsafe(32)`, 256 bits). The database keeps
  only its SHA-256 (`LoginChallenge.id`); the mail job carries the token encrypted with a key
  derived from DESK_SECRET_KEY and forgets it once the mail is sent (desk.identity.login_mail).
- A link works once, for `login_link_max_age` seconds (10 minutes by default).
- A link works by itself only in the browser that asked for it: asking sets a short-lived
  HttpOnly cookie holding a random nonce whose SHA-256 is `LoginChallenge.browser_digest`. A
  link forwarded, stolen from a mailbox, or opened by a mail scanner elsewhere logs nobody in.
  Opened on another device of the same person (PC asks, phone opens), it still logs that device
  in after a short code shown on the asking device is typed, or once the asking device confirms
  (desk.identity.other_device): the binding protects, it does not block.
- Opening a link (GET) only shows a confirmation page; the login itself is a POST (with its
  CSRF token), so scanners that follow links cannot log in. Those pages answer with
  `Referrer-Policy: no-referrer`: the token in their address never leaks to another site.

Residents, staff and the people of an organisation differ only by a `LinkKind`: audience, link
path, cookie, mail job. The flow built on it (pages, sessions, mail) is desk.identity.login.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.core import clock, crypto
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.identity.models import LoginChallenge
from desk.outbox.services import enqueue

log = logging.getLogger("desk.identity.login_links")

THROTTLE_MAX = 5
LOGIN_MAIL_ATTEMPTS = 4
THROTTLE_WINDOW = timedelta(minutes=10)
# What secrets.token_urlsafe(32) gives: 43 URL-safe characters.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
NO_REFERRER = "no-referrer"


@dataclass(frozen=True)
class LinkKind:
    audience: str
    path_prefix: str
    cookie: str
    cookie_path: str
    mail_job: str


RESIDENT = LinkKind(
    audience="resident",
    path_prefix="/connexion/",
    cookie="desk_login_browser",
    cookie_path="/connexion",
    mail_job="mail.login",
)
STAFF = LinkKind(
    audience="staff",
    path_prefix="/equipe/connexion/",
    cookie="desk_staff_login_browser",
    cookie_path="/equipe/connexion",
    mail_job="mail.staff_login",
)
# The people of a signatory (its DPO, its editors): their own audience, so a link asked on the
# organisation page opens neither the staff space nor a resident's.
ORGANISATION = LinkKind(
    audience="organisation",
    path_prefix="/organisation/connexion/",
    cookie="desk_org_login_browser",
    cookie_path="/organisation/connexion",
    mail_job="mail.organisation_login",
)


class LoginLinkError(DeskError):
    """A login link that cannot be used: `reason` is expired, used, invalid or elsewhere."""

    MESSAGES = {
        "expired": N_(
            "Ce lien de connexion a expiré : il n'est valable que 10 minutes. "
            "Demandez-en un nouveau."
        ),
        "used": N_(
            "Ce lien de connexion a déjà été utilisé : chaque lien ne sert qu'une fois. "
            "Demandez-en un nouveau si vous n'êtes pas connecté."
        ),
        "invalid": N_(
            "Ce lien de connexion n'est pas valide. Vérifiez que vous avez copié "
            "l'adresse en entier, ou demandez un nouveau lien."
        ),
        "elsewhere": N_(
            "Ce lien de connexion ne fonctionne que dans le navigateur où vous l'avez "
            "demandé, ou ici après une vérification : tapez le code affiché sur l'appareil qui "
            "l'a demandé, ou faites confirmer cette connexion par cet appareil. Vous pouvez "
            "aussi demander ici un nouveau lien."
        ),
        "burned": N_(
            "Trop de codes erronés ont été tapés : pour votre sécurité, ce lien de connexion ne "
            "fonctionne plus. Demandez-en un nouveau."
        ),
        "refused": N_(
            "L'appareil où ce lien a été demandé a refusé cette connexion : pour votre sécurité, "
            "ce lien ne fonctionne plus. Si c'était bien vous, demandez un nouveau lien."
        ),
    }
    CODES = {
        "expired": "gone",
        "used": "gone",
        "burned": "gone",
        "refused": "gone",
        "invalid": "not_found",
        "elsewhere": "forbidden",
    }
    STATUSES = {"gone": 410, "not_found": 404, "forbidden": 403}

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGES[reason], code=self.CODES[reason])
        self.reason = reason

    @property
    def status(self) -> int:
        return self.STATUSES[self.code]


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def link_path(kind: LinkKind, token: str) -> str:
    return f"{kind.path_prefix}{token}"


# --- the browser cookie --------------------------------------------------------------------------


def browser_nonce(request: Request, kind: LinkKind) -> str | None:
    """The nonce this browser holds for `kind`, if it holds a well-formed one."""
    value = request.cookies.get(kind.cookie)
    return value if value and TOKEN_RE.match(value) else None


def keep_browser_nonce(
    response: Response, kind: LinkKind, nonce: str, *, max_age: int, secure: bool
) -> None:
    """Set (or refresh) the cookie: several links asked from one browser all work in it."""
    response.set_cookie(
        kind.cookie,
        nonce,
        max_age=max_age,
        path=kind.cookie_path,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def forget_browser_nonce(response: Response, kind: LinkKind, *, secure: bool) -> None:
    response.delete_cookie(
        kind.cookie, path=kind.cookie_path, httponly=True, samesite="lax", secure=secure
    )


def no_referrer(response: Response) -> Response:
    response.headers["referrer-policy"] = NO_REFERRER
    return response


# --- asking for a link ---------------------------------------------------------------------------


async def create_link(
    *,
    kind: LinkKind,
    email: str,
    browser: str,
    secret_key: str,
    now: datetime | None = None,
    locale: str | None = None,
) -> LoginChallenge | None:
    """A challenge bound to `browser` (the cookie's nonce) and its mail job, in one transaction.

    `email` must be normalised already. None when the address asked for too many links
    recently: callers show the same page either way.
    """
    moment = now or clock.now()
    recent = await LoginChallenge.filter(
        email=email, audience=kind.audience, created_at__gte=moment - THROTTLE_WINDOW
    ).count()
    if recent >= THROTTLE_MAX:
        log.info("%s login link throttled", kind.audience)
        return None
    token = new_secret()
    challenge_id = digest(token)
    payload = {"challenge_id": challenge_id, "token": crypto.encrypt(secret_key, token)}
    if locale is not None:
        payload["locale"] = locale
    async with in_transaction() as conn:
        challenge = await LoginChallenge.create(
            id=challenge_id,
            email=email,
            audience=kind.audience,
            browser_digest=digest(browser),
            using_db=conn,
        )
        await enqueue(
            kind=kind.mail_job,
            payload=payload,
            idempotency_key=f"{kind.audience}-login-{challenge_id}",
            connection=conn,
            # The link dies after 10 minutes: a mail still failing after a minute is pointless.
            max_attempts=LOGIN_MAIL_ATTEMPTS,
        )
    return challenge


# --- using a link --------------------------------------------------------------------------------


async def live_link(*, kind: LinkKind, token: str, max_age: int) -> LoginChallenge:
    """The unused, unexpired challenge of `kind` this token names, wherever it is opened."""
    if not TOKEN_RE.match(token):
        raise LoginLinkError("invalid")
    # A staff link never opens a resident space, nor the reverse.
    challenge = await LoginChallenge.filter(id=digest(token), audience=kind.audience).first()
    if challenge is None:
        raise LoginLinkError("invalid")
    if challenge.used_at is not None:
        # Burned by wrong codes, refused by the asking device, or simply used.
        raise LoginLinkError(challenge.ended if challenge.ended in ENDINGS else "used")
    if challenge.created_at < clock.now() - timedelta(seconds=max_age):
        raise LoginLinkError("expired")
    return challenge


ENDINGS = frozenset({"burned", "refused"})


def same_digest(expected: str | None, browser: str | None) -> bool:
    """Whether `browser` is the nonce whose SHA-256 is `expected` (compared in constant time)."""
    if not expected or browser is None:
        return False
    return hmac.compare_digest(expected, digest(browser))


def opens_here(challenge: LoginChallenge, browser: str | None) -> bool:
    """Asked from this browser, or another device the asking one confirmed."""
    if same_digest(challenge.browser_digest, browser):
        return True
    return challenge.approved_at is not None and same_digest(challenge.other_digest, browser)


async def check_link(
    *, kind: LinkKind, token: str, browser: str | None, max_age: int
) -> LoginChallenge:
    """The unused, unexpired challenge of `kind` this token names, asked from this browser (or
    from another device the asking one confirmed)."""
    challenge = await live_link(kind=kind, token=token, max_age=max_age)
    if not opens_here(challenge, browser):
        raise LoginLinkError("elsewhere")
    return challenge


async def use_link(challenge: LoginChallenge, *, conn: BaseDBAsyncClient) -> str:
    """Mark the challenge used and forget its address; returns the address.

    The conditional UPDATE is the lock: of two concurrent clicks, one wins.
    """
    email = challenge.email
    won = (
        await LoginChallenge.filter(
            id=challenge.id, audience=challenge.audience, used_at__isnull=True
        )
        .using_db(conn)
        .update(used_at=clock.now(), email=None)
    )
    if not won or not email:
        raise LoginLinkError("used")
    return email


async def purge_challenges(*, now: datetime, max_age: int) -> int:
    deleted = await LoginChallenge.filter(created_at__lt=now - timedelta(seconds=max_age)).delete()
    return int(deleted or 0)
