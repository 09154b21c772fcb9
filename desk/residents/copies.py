"""Handing over an access copy: once per person, still expiring, with a short retry window.

The first opening (the readable page, the PDF or the file) takes the copy for the browser
session that opened it: a random key kept in that session, whose SHA-256 is written on the
copy (`taken_by`). For `COPY_RETRY_WINDOW` (15 minutes) that session, and only it, may open it
again — an interrupted download, the readable page then the file — then the content is
erased (here when asked, and by the retention job: desk.retention.rules). Any other session,
even the same resident's on another device, finds it taken. Without a browser key (a mediator
at the help point) the copy is handed over once and erased at once, as before.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.registry.models import Declaration
from desk.requests.models import AccessCopy, Delivery, RequestKind
from desk.requests.queries import COPY_RETRY_WINDOW, CopyInfo

log = logging.getLogger("desk.residents.copies")

# The session key holding this browser's random key for copies.
SESSION_KEY = "copy_key"

MSG_NOT_FOUND = N_("Cette copie est introuvable.")
MSG_GONE = N_(
    "Cette copie a déjà été téléchargée ou a expiré : pour protéger vos données, elle a été "
    "effacée. Vous pouvez demander une nouvelle copie depuis votre espace."
)
MSG_EXPIRED = N_(
    "Ce lien de téléchargement a expiré et la copie a été effacée. Vous pouvez demander une "
    "nouvelle copie depuis votre espace."
)
MSG_JUST_TAKEN = N_("Cette copie vient d'être téléchargée : elle a été effacée.")
MSG_WINDOW_OVER = N_(
    "Vous avez ouvert cette copie il y a plus de 15 minutes : pour protéger vos données, elle a "
    "été effacée de nos serveurs. Si vous n'avez pas pu l'enregistrer, demandez une nouvelle "
    "copie à l'organisme : c'est gratuit."
)
MSG_ELSEWHERE = N_(
    "Cette copie a déjà été ouverte depuis un autre navigateur ou un autre appareil : une copie "
    "ne se remet qu'une fois. Reprenez le navigateur où vous l'avez ouverte, ou demandez une "
    "nouvelle copie à l'organisme."
)


class CopyGone(DeskError):
    """The copy cannot be handed over any more; the page offers to ask for a new one."""

    def __init__(self, message: str, *, signatory_slug: str, signatory_name: str, reference: str):
        super().__init__(message, code="gone")
        self.signatory_slug = signatory_slug
        self.signatory_name = signatory_name
        self.reference = reference


def browser_key(session: MutableMapping[str, Any]) -> str:
    """This browser session's random key for copies (made on first use)."""
    key = session.get(SESSION_KEY)
    if not isinstance(key, str) or len(key) < 16:
        key = secrets.token_urlsafe(24)
        session[SESSION_KEY] = key
    return key


def digest_of(key: str | None) -> str | None:
    return hashlib.sha256(f"copy:{key}".encode()).hexdigest() if key else None


def state_of(copy: CopyInfo, key: str | None, now: datetime) -> str:
    """What the request page offers: available | retry (this browser, in its window) | gone."""
    if copy.available:
        return "available" if copy.expires_at > now else "expired"
    until = copy.retry_until
    if until is not None and now < until and copy.taken_by == digest_of(key):
        return "retry"
    return "taken" if copy.downloaded_at is not None else "expired"


@dataclass(frozen=True)
class Taken:
    """A copy handed over, with what its pages name."""

    copy_id: str
    filename: str
    content_type: str
    content: bytes
    delivery: Delivery
    retry_until: datetime | None


async def take(
    *, resident_id: int, copy_id: str, key: str | None, now: datetime | None = None
) -> Taken:
    """The copy's content, for the browser holding `key` (None: once, erased at once).

    Another resident's copy is "not found" (no hint that it exists); a used or expired one is
    a CopyGone naming its signatory, so the page can offer to ask again."""
    moment = now or clock.now()
    copy = (
        await AccessCopy.filter(id=copy_id, delivery__request__resident_id=resident_id)
        .select_related("delivery__signatory", "delivery__request")
        .first()
        if 0 < len(copy_id) <= 40
        else None
    )
    if copy is None:
        raise DeskError(MSG_NOT_FOUND, code="not_found")
    delivery = copy.delivery
    signatory = delivery.signatory

    def gone(message: str) -> CopyGone:
        return CopyGone(
            message,
            signatory_slug=signatory.slug,
            signatory_name=signatory.name,
            reference=delivery.request.reference,
        )

    digest = digest_of(key)
    if copy.downloaded_at is not None:
        until = copy.downloaded_at + COPY_RETRY_WINDOW
        mine = digest is not None and copy.taken_by == digest
        if mine and moment < until and copy.content is not None and copy.deleted_at is None:
            return _taken(copy, bytes(copy.content), until)
        if moment >= until and copy.deleted_at is None:
            await _erase(copy.id, moment)
        raise gone(MSG_WINDOW_OVER if mine else MSG_ELSEWHERE if digest else MSG_GONE)
    if copy.deleted_at is not None or copy.content is None:
        raise gone(MSG_GONE)
    if copy.expires_at <= moment:
        await _erase(copy.id, moment)
        raise gone(MSG_EXPIRED)
    content = bytes(copy.content)
    # Only the request that marks the row may hand the content over (two clicks, one taker).
    unclaimed = AccessCopy.filter(id=copy.id, downloaded_at__isnull=True, deleted_at__isnull=True)
    if digest is None:
        claimed = await unclaimed.update(content=None, downloaded_at=moment, deleted_at=moment)
    else:
        claimed = await unclaimed.update(downloaded_at=moment, taken_by=digest)
    if not claimed:
        raise gone(MSG_JUST_TAKEN)
    log.info("access copy %s taken by resident %s", copy.id, resident_id)
    return _taken(copy, content, moment + COPY_RETRY_WINDOW if digest else None)


def _taken(copy: AccessCopy, content: bytes, until: datetime | None) -> Taken:
    return Taken(
        copy_id=copy.id,
        filename=copy.filename,
        content_type=copy.content_type,
        content=content,
        delivery=copy.delivery,
        retry_until=until,
    )


async def _erase(copy_id: str, moment: datetime) -> None:
    await AccessCopy.filter(id=copy_id, deleted_at__isnull=True).update(
        content=None, deleted_at=moment
    )


async def declarations_for(delivery: Delivery) -> tuple[list[Declaration], bool]:
    """The signatory's declarations in force, to read beside the copy: those its latest
    discovery answer said concern this resident when it named some (True), else all (False)."""
    signatory_id = delivery.signatory_id  # type: ignore[attr-defined]
    declarations = list(
        await Declaration.filter(signatory_id=signatory_id, retired_at__isnull=True).order_by("id")
    )
    answered = (
        await Delivery.filter(
            signatory_id=signatory_id,
            request__resident_id=delivery.request.resident_id,  # type: ignore[attr-defined]
            request__kind=RequestKind.DISCOVERY,
            state="fulfilled",
        )
        .order_by("-completed_at")
        .first()
    )
    named = set((answered.outcome or {}).get("declarations") or []) if answered else set()
    chosen = [d for d in declarations if d.code in named]
    return (chosen, True) if chosen else (declarations, False)
