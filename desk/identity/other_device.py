"""A login link opened on another device than the one that asked (the PC asks, the phone
opens): the browser binding protects, it does not block.

Two ways in, both only while the link lives (same expiry, single use), both audited:

- **A short code.** The asking browser sees a code of 6 characters (Crockford's base 32: no
  I, L, O or U to misread; 30 bits) on its page "another device" (never in the mail). It is
  derived from that browser's nonce (an HMAC under DESK_SECRET_KEY), so every link asked from
  one browser takes the same code and the database keeps nothing new. Typed on the other
  device, it logs that device in. Each typed code spends one of `MAX_CODE_ATTEMPTS`; the last
  wrong one burns the link: someone holding a stolen link gets a few guesses in a billion.
- **The asking device confirms.** The other device asks; the asking one, on the same page
  (refreshed by a plain link: no JavaScript needed), sees which kind of device asks
  ("Firefox, Android") and when, and confirms (that device may now log in with the link) or
  refuses (the link dies). A link waits for one other device at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import F

from desk.audit.log import record_action
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.identity import login_links
from desk.identity.login_links import LinkKind, LoginLinkError, digest
from desk.identity.models import LoginChallenge

log = logging.getLogger("desk.identity.other_device")

# Crockford's base 32: digits and letters but I, L, O, U. 6 symbols of 5 bits: 30 bits.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 6
# What people type by mistake for a symbol of the alphabet (Crockford's decoding).
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -._\u00a0\u202f")
MAX_CODE_ATTEMPTS = 5
# Longer than any code typed with spaces; the rest is not looked at.
MAX_TYPED = 32
ACTOR = "anonymous"


class WrongCode(DeskError):
    """A well-formed code that is not the asking browser's; `remaining` tries are left."""

    def __init__(self, remaining: int) -> None:
        super().__init__(
            N_(
                "Ce code n'est pas le bon. Vérifiez-le sur l'appareil où vous avez demandé le "
                "lien, à la page « Ouvrir le lien sur un autre appareil »."
            ),
            code="forbidden",
        )
        self.remaining = remaining


class MalformedCode(DeskError):
    def __init__(self) -> None:
        super().__init__(
            N_(
                "Un code a 6 caractères, des chiffres et des lettres, par exemple 7KQ-2MX. "
                "Recopiez celui qu'affiche l'appareil où vous avez demandé le lien."
            ),
            code="invalid",
        )


class AlreadyAsked(DeskError):
    def __init__(self) -> None:
        super().__init__(
            N_(
                "Un autre appareil attend déjà que cette connexion soit confirmée. Tapez plutôt "
                "le code affiché sur l'appareil où vous avez demandé le lien, ou demandez un "
                "nouveau lien."
            ),
            code="conflict",
        )


# --- the code ------------------------------------------------------------------------------------


def code_for(*, kind: LinkKind, secret_key: str, browser_digest: str) -> str:
    """The code of the browser whose nonce has this SHA-256, for links of `kind`."""
    mac = hmac.new(
        secret_key.encode("utf-8"),
        f"desk.login-code|{kind.audience}|{browser_digest}".encode(),
        hashlib.sha256,
    ).digest()
    number = int.from_bytes(mac[:4], "big") >> (32 - 5 * CODE_LENGTH)
    symbols = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        symbols.append(CODE_ALPHABET[index])
    return "".join(reversed(symbols))


def shown(code: str) -> str:
    """As the asking device shows it: two groups of three, easier to read out and type."""
    return f"{code[:3]}-{code[3:]}"


def normalise_code(raw: str) -> str | None:
    """The code as typed, upper-cased, without spaces or dashes, lookalikes read; or None."""
    typed = raw[:MAX_TYPED].upper().translate(_SEPARATORS).translate(_LOOKALIKES)
    if len(typed) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in typed):
        return None
    return typed


def _subject(challenge: LoginChallenge) -> str:
    # An id for the audit log: the start of the token's hash, never the token or the address.
    return f"login:{challenge.id[:16]}"


async def check_code(
    *, kind: LinkKind, token: str, typed: str, secret_key: str, max_age: int
) -> LoginChallenge:
    """The live challenge when `typed` is its asking browser's code; else WrongCode (a try
    spent), LoginLinkError("burned") after the last one, MalformedCode (no try spent)."""
    challenge = await login_links.live_link(kind=kind, token=token, max_age=max_age)
    code = normalise_code(typed)
    if code is None:
        raise MalformedCode()
    # Claim a try first (the conditional UPDATE is the lock): however many guesses arrive at
    # once, at most MAX_CODE_ATTEMPTS are ever compared.
    claimed = await LoginChallenge.filter(
        id=challenge.id, used_at__isnull=True, code_attempts__lt=MAX_CODE_ATTEMPTS
    ).update(code_attempts=F("code_attempts") + 1)
    if not claimed:
        raise LoginLinkError("burned")
    asked_by = challenge.browser_digest or ""
    expected = code_for(kind=kind, secret_key=secret_key, browser_digest=asked_by)
    if asked_by and hmac.compare_digest(code, expected):
        return challenge
    now_spent = await LoginChallenge.filter(id=challenge.id).first()
    spent = now_spent.code_attempts if now_spent is not None else MAX_CODE_ATTEMPTS
    remaining = MAX_CODE_ATTEMPTS - spent
    await record_action(
        action="login.code_wrong",
        actor=ACTOR,
        subject=_subject(challenge),
        detail={"audience": kind.audience, "remaining": remaining},
    )
    if remaining <= 0:
        await _end(challenge, kind=kind, reason="burned")
        raise LoginLinkError("burned")
    raise WrongCode(remaining)


async def _end(challenge: LoginChallenge, *, kind: LinkKind, reason: str) -> None:
    """The link dies before any login, and forgets its address."""
    await LoginChallenge.filter(id=challenge.id, used_at__isnull=True).update(
        used_at=clock.now(), email=None, ended=reason
    )
    await record_action(
        action=f"login.link_{reason}",
        actor=ACTOR,
        subject=_subject(challenge),
        detail={"audience": kind.audience},
    )
    log.info("%s login link %s", kind.audience, reason)


# --- the other device asks the asking one -------------------------------------------------------


def waits_here(challenge: LoginChallenge, browser: str | None) -> bool:
    """This browser asked the asking device to confirm, and has no answer yet."""
    return challenge.approved_at is None and login_links.same_digest(
        challenge.other_digest, browser
    )


async def ask_confirmation(
    *, kind: LinkKind, token: str, browser: str, device: str, max_age: int
) -> LoginChallenge:
    """The other device (holding nonce `browser`) asks the asking device to let it in."""
    challenge = await login_links.live_link(kind=kind, token=token, max_age=max_age)
    if login_links.opens_here(challenge, browser) or waits_here(challenge, browser):
        return challenge  # asked already, or nothing to ask: the link page says what next
    if challenge.other_digest is not None:
        raise AlreadyAsked()
    won = await LoginChallenge.filter(
        id=challenge.id, used_at__isnull=True, other_digest__isnull=True
    ).update(other_digest=digest(browser), other_device=device[:80], other_asked_at=clock.now())
    if not won:
        raise AlreadyAsked()
    await record_action(
        action="login.other_device_asked",
        actor=ACTOR,
        subject=_subject(challenge),
        detail={"audience": kind.audience},
    )
    return challenge


@dataclass(frozen=True)
class Waiting:
    """Another device waiting for this (asking) browser's answer."""

    ref: str
    device: str
    asked_at: datetime


@dataclass(frozen=True)
class AskingDevice:
    """What the asking browser's page shows: its code, and who waits for an answer."""

    code: str | None
    waiting: list[Waiting]


async def _live_asked_here(
    kind: LinkKind, browser: str | None, max_age: int
) -> list[LoginChallenge]:
    if browser is None:
        return []
    return list(
        await LoginChallenge.filter(
            audience=kind.audience,
            browser_digest=digest(browser),
            used_at__isnull=True,
            created_at__gte=clock.now() - timedelta(seconds=max_age),
        ).order_by("created_at")
    )


async def asking_device(
    *, kind: LinkKind, browser: str | None, secret_key: str, max_age: int
) -> AskingDevice:
    """The code (while a link asked from this browser lives) and the devices waiting."""
    live = await _live_asked_here(kind, browser, max_age)
    if not live or browser is None:
        return AskingDevice(code=None, waiting=[])
    waiting = [
        Waiting(ref=c.id[:32], device=c.other_device or "", asked_at=c.other_asked_at)
        for c in live
        if c.other_digest is not None and c.approved_at is None and c.other_asked_at is not None
    ]
    code = code_for(kind=kind, secret_key=secret_key, browser_digest=digest(browser))
    return AskingDevice(code=shown(code), waiting=waiting)


async def answer(
    *, kind: LinkKind, browser: str | None, ref: str, approve: bool, max_age: int
) -> None:
    """The asking browser confirms (or refuses) the device waiting on its link `ref`."""
    found = [
        c
        for c in await _live_asked_here(kind, browser, max_age)
        if hmac.compare_digest(c.id[:32], ref[:32]) and c.other_digest is not None
    ]
    if not found or found[0].approved_at is not None:
        raise DeskError(
            N_(
                "Cette demande n'attend plus de réponse : le lien a été utilisé, a expiré, ou "
                "vous y avez déjà répondu."
            ),
            code="conflict",
        )
    challenge = found[0]
    if not approve:
        await _end(challenge, kind=kind, reason="refused")
        return
    await LoginChallenge.filter(id=challenge.id, used_at__isnull=True).update(
        approved_at=clock.now()
    )
    await record_action(
        action="login.other_device_approved",
        actor=ACTOR,
        subject=_subject(challenge),
        detail={"audience": kind.audience},
    )
