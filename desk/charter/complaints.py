"""Residents' complaints to the charter's ethics committee, filed through the desk."""

from __future__ import annotations

import logging
from datetime import datetime

from desk.charter.models import Complaint
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.requests.models import Delivery

log = logging.getLogger("desk.charter.complaints")

TEXT_MAX = 4000
MSG_EMPTY = N_("Écrivez votre réclamation : ce qui s'est passé et ce que vous attendez.")
MSG_TOO_LONG = N_("Votre réclamation est trop longue : 4000 caractères au plus.")
MSG_NOT_FOUND = N_("Cette demande est introuvable dans votre espace.")


async def delivery_of_resident(*, resident_id: int, delivery_id: int) -> Delivery:
    delivery = (
        await Delivery.filter(id=delivery_id, request__resident_id=resident_id)
        .select_related("request", "signatory")
        .first()
    )
    if delivery is None:
        raise DeskError(MSG_NOT_FOUND, code="not_found")
    return delivery


async def file_complaint(
    *, resident_id: int, delivery_id: int, text: str, now: datetime
) -> Complaint:
    delivery = await delivery_of_resident(resident_id=resident_id, delivery_id=delivery_id)
    cleaned = (text or "").strip()
    if not cleaned:
        raise DeskError(MSG_EMPTY)
    if len(cleaned) > TEXT_MAX:
        raise DeskError(MSG_TOO_LONG)
    complaint = await Complaint.create(
        resident_id=resident_id, delivery=delivery, text=cleaned, created_at=now
    )
    log.info("complaint %s filed on delivery %s", complaint.id, delivery.id)
    return complaint


async def complaints_of(*, resident_id: int, delivery_id: int) -> list[Complaint]:
    return await Complaint.filter(resident_id=resident_id, delivery_id=delivery_id).order_by(
        "created_at", "id"
    )
