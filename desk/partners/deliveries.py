"""The partner API's deliveries as documents: reading and paging, no HTTP objects.

Every query is filtered by the signatory: another signatory's delivery is "not found",
exactly like one that does not exist.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from desk.core.translatable import N_
from desk.partners import bodies as B
from desk.partners.services import (
    TEXT_FIELD_MAX_BYTES,
)
from desk.requests import assurance, pause
from desk.requests.dispatch import build_envelope
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.runtime import Runtime
from desk.web.limits import digits

PREFIX = "/api/v1/deliveries"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
JSON_MAX_BYTES = TEXT_FIELD_MAX_BYTES
# DeliveryEvent.actor holds 32 characters.
ACTOR_MAX = 32
NO_STORE = {"Cache-Control": "no-store"}

IDENTITY_ASSURANCE = {"online": "email_verified", "assisted": "mediator_checked"}

MSG_NOT_FOUND = N_("Cet envoi est introuvable pour votre organisme.")
MSG_BAD_STATE = N_("Le paramètre state doit valoir l'un de : {values}.")
MSG_BAD_KIND = N_("Le paramètre kind doit valoir l'un de : {values}.")
MSG_UNKNOWN_PARAMETER = N_(
    "Paramètre inconnu : « {name} ». Cette adresse accepte seulement {known}."
)
MSG_BAD_LIMIT = N_("Le paramètre limit doit être un nombre entier de 1 à 100.")
MSG_BAD_CURSOR = N_(
    "Le paramètre cursor est invalide : reprenez la valeur next_cursor de la page précédente."
)
MSG_NOT_JSON = "Le corps de la demande n'est pas un JSON valide."
MSG_WANT_JSON = "Envoyez le corps de la demande en JSON (en-tête Content-Type: application/json)."
MSG_WANT_JSON_OR_FORM = N_(
    "Envoyez la réponse en JSON (Content-Type: application/json), ou, avec une copie jointe, "
    "en multipart/form-data (un champ « outcome » en JSON et un fichier « copy »)."
)
MSG_JSON_TOO_LARGE = N_("Le corps de la demande est trop volumineux ({size} au plus).")
MSG_BAD_FORM = N_("Le formulaire multipart reçu est incomplet ou mal formé.")
MSG_OUTCOME_NOT_JSON = N_("Le champ « outcome » doit contenir un objet JSON valide.")
MSG_FILE_NOT_ACCESS = N_("Seule une demande de copie (kind access) accepte un fichier joint.")
MSG_FILE_AND_NOTHING = (
    "Vous avez indiqué ne détenir aucune donnée, mais joint un fichier : "
    "choisissez l'un ou l'autre."
)
MSG_NEED_INFO_NOT_ALLOWED = N_(
    "Vous ne pouvez poser une question que sur une demande reçue et en cours de traitement, "
    "et une seule à la fois : attendez la réponse à la question déjà posée."
)


# --- reading deliveries (no HTTP objects) --------------------------------------------------


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def delivery_document(delivery: Delivery, runtime: Runtime) -> dict[str, Any]:
    """A delivery as the partner sees it: the JSON of `delivery_answer`."""
    return (await delivery_answer(delivery, runtime)).model_dump(mode="json")


async def delivery_answer(delivery: Delivery, runtime: Runtime) -> B.Delivery:
    """A delivery as the partner sees it (the Delivery model of the document)."""
    # The envelope is what the adapters carry: the identifiers this signatory accepts, and
    # only those, and the signed answer link.
    envelope = await build_envelope(delivery, runtime)
    events = await DeliveryEvent.filter(delivery_id=delivery.id).order_by("at", "id")
    request = delivery.request
    return B.Delivery(
        id=delivery.id,
        request_reference=request.reference,
        kind=request.kind.value,
        state=delivery.state.value,
        identifiers=envelope.identifiers,
        identity_assurance=IDENTITY_ASSURANCE.get(request.filed_via, "unverified"),
        assurance=envelope.assurance,
        assurance_label=assurance.label(envelope.assurance),
        received_at=_moment(delivery.received_at),
        due_at=_moment(delivery.due_at),
        extension_reason=delivery.extension_reason,
        info_request=delivery.info_request,
        info_identity=delivery.info_identity,
        deadline_paused=pause.is_paused(delivery),
        info_answer=delivery.info_answer,
        outcome=delivery.outcome,
        denial_reason=delivery.denial_reason,
        denial_detail=delivery.denial_detail,
        completed_at=rfc3339(delivery.completed_at),
        scope=B.Scope(**envelope.scope) if envelope.scope else None,
        history=[
            B.HistoryEntry(
                at=_moment(event.at),
                actor=event.actor,
                action=event.action,
                from_state=event.from_state,
                to_state=event.to_state,
            )
            for event in events
        ],
        answer_url=envelope.answer_url,
    )


def _moment(moment: datetime) -> str:
    # A moment every delivery has (received, due, an event's): never null in the document.
    text = rfc3339(moment)
    assert text is not None
    return text


@dataclass(frozen=True)
class InboxPage:
    deliveries: list[Delivery]
    next_after: int | None


async def inbox(
    *,
    signatory_id: int,
    state: DeliveryState | None,
    kind: RequestKind | None,
    limit: int,
    after_id: int,
) -> InboxPage:
    """One page of this signatory's deliveries, in id order, after `after_id`."""
    query = Delivery.filter(signatory_id=signatory_id, id__gt=after_id)
    if state is not None:
        query = query.filter(state=state)
    if kind is not None:
        query = query.filter(request__kind=kind)
    rows = await query.select_related("request").order_by("id").limit(limit + 1)
    page = list(rows[:limit])
    return InboxPage(deliveries=page, next_after=page[-1].id if len(rows) > limit else None)


def summary(delivery: Delivery) -> B.DeliverySummary:
    return B.DeliverySummary(
        id=delivery.id,
        request_reference=delivery.request.reference,
        kind=delivery.request.kind.value,
        state=delivery.state.value,
        received_at=_moment(delivery.received_at),
        due_at=_moment(delivery.due_at),
    )


def encode_cursor(after_id: int) -> str:
    return base64.urlsafe_b64encode(str(after_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor stands for; ValueError when it is not one of ours."""
    if not cursor or len(cursor) > 16:
        raise ValueError(cursor)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(cursor) from exc
    if not digits(raw) or int(raw) > B.MAX_ID:
        raise ValueError(cursor)
    return int(raw)
