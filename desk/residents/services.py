"""Residents: login by email link, filing and withdrawing their requests, one-time copy downloads.

Plain keyword-only async functions; no HTTP objects. Errors carry a French message.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from tortoise.transactions import in_transaction

from desk import clock
from desk.outbox.services import enqueue
from desk.receipts.keys import Keyring
from desk.registry.models import CharterStatus, Signatory
from desk.requests import queries
from desk.requests.errors import RequestError
from desk.requests.models import AccessCopy, Delivery, RequestKind, RightsRequest
from desk.requests.services import AlreadyAnswered, apply, file_request
from desk.residents.models import LoginChallenge, Resident

log = logging.getLogger("desk.residents")

LOGIN_SALT = "desk.login"
THROTTLE_MAX = 5
THROTTLE_WINDOW = timedelta(minutes=10)
# Deliberately loose: one "@", something on each side, a dot in the domain, no spaces.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
SUBMISSION_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class InvalidEmail(RequestError):
    def __init__(self) -> None:
        super().__init__(
            "Cette adresse électronique n'est pas valide. Vérifiez-la : elle ressemble à "
            "prenom.nom@exemple.fr.",
            code="invalid",
        )


class LoginLinkError(RequestError):
    """A login link that cannot be used; `reason` is "expired", "used" or "invalid"."""

    MESSAGES = {
        "expired": "Ce lien de connexion a expiré : il n'est valable que 10 minutes. "
        "Demandez-en un nouveau.",
        "used": "Ce lien de connexion a déjà été utilisé : chaque lien ne sert qu'une fois. "
        "Demandez-en un nouveau si vous n'êtes pas connecté.",
        "invalid": "Ce lien de connexion n'est pas valide. Vérifiez que vous avez copié "
        "l'adresse en entier, ou demandez un nouveau lien.",
    }
    CODES = {"expired": "gone", "used": "gone", "invalid": "not_found"}

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGES[reason], code=self.CODES[reason])
        self.reason = reason


# --- login -----------------------------------------------------------------------------------


def normalise_email(raw: str | None) -> str:
    """Trimmed, lower-case address, or InvalidEmail."""
    email = (raw or "").strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise InvalidEmail()
    return email


def _serializer(secret: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt)


def login_token(secret: str, challenge_id: str, *, salt: str = LOGIN_SALT) -> str:
    """A signed link token naming a login challenge (the salt keeps staff and residents apart)."""
    return _serializer(secret, salt).dumps(challenge_id)


def login_path(token: str) -> str:
    return f"/connexion/{token}"


def read_login_token(secret: str, token: str, *, max_age: int, salt: str = LOGIN_SALT) -> str:
    """The challenge id a token names, or LoginLinkError("expired" | "invalid")."""
    try:
        value = _serializer(secret, salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LoginLinkError("expired") from exc
    except BadSignature as exc:
        raise LoginLinkError("invalid") from exc
    if not isinstance(value, str) or not value or len(value) > 64:
        raise LoginLinkError("invalid")
    return value


async def request_login(
    *, email: str, now: datetime | None = None, locale: str = "fr"
) -> LoginChallenge | None:
    """Create a login challenge and its mail job in one transaction.

    Returns None when the address already asked for too many links recently: the caller shows
    the same page either way, so nobody learns anything about an address from this answer.
    """
    address = normalise_email(email)
    moment = now or clock.now()
    recent = await LoginChallenge.filter(
        email=address, audience="resident", created_at__gte=moment - THROTTLE_WINDOW
    ).count()
    if recent >= THROTTLE_MAX:
        log.info("login link throttled")
        return None
    challenge_id = secrets.token_urlsafe(32)
    async with in_transaction() as conn:
        challenge = await LoginChallenge.create(id=challenge_id, email=address, using_db=conn)
        await enqueue(
            kind="mail.login",
            payload={"challenge_id": challenge_id, "locale": locale},
            idempotency_key=f"login-{challenge_id}",
            connection=conn,
        )
    return challenge


async def check_login(*, secret: str, token: str, max_age: int) -> LoginChallenge:
    """The unused, unexpired challenge a link names, or LoginLinkError."""
    challenge_id = read_login_token(secret, token, max_age=max_age)
    # A staff link never opens a resident space, even with a valid signature.
    challenge = await LoginChallenge.filter(id=challenge_id, audience="resident").first()
    if challenge is None:
        raise LoginLinkError("invalid")
    if challenge.used_at is not None:
        raise LoginLinkError("used")
    if challenge.created_at < clock.now() - timedelta(seconds=max_age):
        raise LoginLinkError("expired")
    return challenge


async def confirm_login(*, secret: str, token: str, max_age: int) -> Resident:
    """Use a link (once), and return the resident it logs in, creating the account if new."""
    challenge = await check_login(secret=secret, token=token, max_age=max_age)
    email = challenge.email
    now = clock.now()
    async with in_transaction() as conn:
        # The conditional UPDATE is the lock: of two concurrent clicks, one wins.
        won = (
            await LoginChallenge.filter(id=challenge.id, used_at__isnull=True)
            .using_db(conn)
            .update(used_at=now, email=None)
        )
        if not won or not email:
            raise LoginLinkError("used")
        resident = await Resident.filter(email=email).using_db(conn).first()
        if resident is None:
            resident = await Resident.create(
                email=email, pseudonym=secrets.token_hex(16), last_login_at=now, using_db=conn
            )
            log.info("resident %s created", resident.id)
        else:
            resident.last_login_at = now
            await resident.save(using_db=conn, update_fields=["last_login_at"])
    return resident


async def get_resident(*, resident_id: int) -> Resident | None:
    return await Resident.filter(id=resident_id).first()


async def purge_expired(*, now: datetime, login_max_age: int = 600) -> tuple[int, int]:
    """Delete old login challenges and the content of expired access copies.

    Returns (challenges deleted, copies emptied). Cheap enough to run on every login.
    """
    challenges = await LoginChallenge.filter(
        created_at__lt=now - timedelta(seconds=login_max_age)
    ).delete()
    copies = await AccessCopy.filter(expires_at__lt=now, deleted_at__isnull=True).update(
        content=None, deleted_at=now
    )
    return int(challenges or 0), int(copies or 0)


# --- requests ----------------------------------------------------------------------------------


def parse_kind(raw: str | None) -> RequestKind:
    value = (raw or "").strip()
    try:
        return RequestKind(value)
    except ValueError as exc:
        raise RequestError(
            "Type de demande inconnu : choisissez savoir qui détient vos données, obtenir une "
            "copie, supprimer vos données ou vous opposer à leur utilisation."
        ) from exc


def check_submission_key(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if not SUBMISSION_KEY_RE.match(raw):
        raise RequestError("Le formulaire est incomplet. Rechargez la page et recommencez.")
    return raw


async def signatory_ids_for(slugs: list[str]) -> list[int] | None:
    """Ids of the named signatories (None when no name was given: every signatory)."""
    wanted = sorted({s.strip() for s in slugs if s.strip()})
    if not wanted:
        return None
    found = await Signatory.filter(
        slug__in=wanted, charter_status=CharterStatus.SIGNED
    ).values_list("slug", "id")
    by_slug = {slug: sid for slug, sid in found}
    if len(by_slug) != len(wanted):
        raise RequestError(
            "Un des organismes choisis n'est pas (ou plus) signataire de la charte. "
            "Revenez à votre espace et choisissez à nouveau."
        )
    return [by_slug[s] for s in wanted]


async def file_for_resident(
    *,
    resident_id: int,
    kind: RequestKind,
    signatory_slugs: list[str],
    submission_key: str | None,
) -> RightsRequest:
    ids = await signatory_ids_for(signatory_slugs)
    request = await file_request(
        resident_id=resident_id, kind=kind, signatory_ids=ids, submission_key=submission_key
    )
    log.info("resident %s filed request %s (%s)", resident_id, request.id, kind.value)
    return request


@dataclass(frozen=True)
class ErasurePlan:
    """What an erasure confirmation page names: the signatories that will be asked."""

    signatories: list[Signatory]
    everyone_holding: bool


async def erasure_plan(*, resident_id: int, slug: str | None, all_holders: bool) -> ErasurePlan:
    if all_holders:
        holders = await queries.discovery_holders(resident_id=resident_id)
        if not holders:
            raise RequestError(
                "Aucun signataire n'a répondu détenir des données sur vous. Demandez d'abord "
                "qui détient vos données, ou choisissez un signataire dans la liste.",
                code="not_found",
            )
        return ErasurePlan(signatories=holders, everyone_holding=True)
    signatory = (
        await Signatory.filter(
            slug=(slug or "").strip(), charter_status=CharterStatus.SIGNED
        ).first()
        if slug
        else None
    )
    if signatory is None:
        raise RequestError("Ce signataire est introuvable.", code="not_found")
    return ErasurePlan(signatories=[signatory], everyone_holding=False)


async def withdraw(
    *, resident_id: int, reference: str, delivery_id: int, keyring: Keyring, issuer: str
) -> Delivery:
    """The resident withdraws one delivery of their own request, before it is answered."""
    owned = await Delivery.filter(
        id=delivery_id, request__reference=reference, request__resident_id=resident_id
    ).exists()
    if not owned:
        raise RequestError("Cette demande est introuvable.", code="not_found")
    try:
        return await apply(
            delivery_id=delivery_id,
            action="withdraw",
            actor="resident",
            keyring=keyring,
            issuer=issuer,
        )
    except AlreadyAnswered as exc:
        raise RequestError(
            "Cette demande ne peut plus être retirée : l'organisme y a déjà répondu, "
            "ou vous l'avez déjà retirée.",
            code="conflict",
        ) from exc


# --- access copies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    content: bytes


async def take_copy(*, resident_id: int, copy_id: str, now: datetime | None = None) -> Download:
    """Hand over an access copy once, then forget its content.

    Another resident's copy is "not found" (no hint that it exists); a used or expired one is gone.
    """
    moment = now or clock.now()
    copy = await queries.resident_copy(resident_id=resident_id, copy_id=copy_id)
    if copy is None:
        raise RequestError("Cette copie est introuvable.", code="not_found")
    if copy.deleted_at is not None or copy.downloaded_at is not None or copy.content is None:
        raise RequestError(
            "Cette copie a déjà été téléchargée ou a expiré : pour protéger vos données, elle "
            "a été effacée. Vous pouvez demander une nouvelle copie depuis votre espace.",
            code="gone",
        )
    if copy.expires_at <= moment:
        await AccessCopy.filter(id=copy.id, deleted_at__isnull=True).update(
            content=None, deleted_at=moment
        )
        raise RequestError(
            "Ce lien de téléchargement a expiré et la copie a été effacée. Vous pouvez demander "
            "une nouvelle copie depuis votre espace.",
            code="gone",
        )
    download = Download(
        filename=copy.filename, content_type=copy.content_type, content=bytes(copy.content)
    )
    # Only the request that empties the row may hand the content over (two clicks, one file).
    taken = await AccessCopy.filter(
        id=copy.id, downloaded_at__isnull=True, deleted_at__isnull=True
    ).update(content=None, downloaded_at=moment, deleted_at=moment)
    if not taken:
        raise RequestError(
            "Cette copie vient d'être téléchargée : elle a été effacée.", code="gone"
        )
    log.info("access copy %s downloaded by resident %s", copy.id, resident_id)
    return download


def new_submission_key() -> str:
    """A fresh key for one form, so a double click on it files one request."""
    return secrets.token_urlsafe(16)


__all__ = [
    "Download",
    "ErasurePlan",
    "InvalidEmail",
    "LoginLinkError",
    "check_login",
    "check_submission_key",
    "confirm_login",
    "erasure_plan",
    "file_for_resident",
    "get_resident",
    "login_path",
    "new_submission_key",
    "login_token",
    "normalise_email",
    "parse_kind",
    "purge_expired",
    "read_login_token",
    "request_login",
    "take_copy",
    "withdraw",
]
