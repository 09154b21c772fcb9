"""A signatory's question (need_info) answered through the mediator, for the resident.

A resident without email cannot answer on the site: the mediator holding a valid mandate
types in the resident's answer. It takes the very transition the resident's own answer takes
(`provide_info`), so the partner is told through the outbox exactly as for a resident answer;
the delivery's history names the staff member who typed it.
"""

from __future__ import annotations

from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.mediation.access import audit, gate, refuse
from desk.receipts.keys import Keyring
from desk.requests import transitions
from desk.requests.models import Delivery, DeliveryState
from desk.staff.models import StaffMember

ACTION = "answer_question"
ANSWER_MAX_CHARS = 4000
NO_SUCH_QUESTION = N_("Cette question est introuvable parmi les demandes de cette personne.")
EMPTY_ANSWER = N_(
    "Écrivez la réponse de la personne à la question de l'organisme avant de l'envoyer."
)
TOO_LONG = N_("La réponse est trop longue : 4 000 caractères au plus.")
ALREADY_ANSWERED = N_(
    "Cette question n'attend plus de réponse : la personne ou un médiateur y a déjà répondu, "
    "ou l'organisme a depuis répondu à la demande. Rien n'a été transmis une seconde fois."
)


def staff_actor(mediator: StaffMember) -> str:
    return f"staff:{mediator.id}"


async def answer_question(
    *,
    mediator: StaffMember,
    resident_id: int,
    delivery_id: int,
    answer: str,
    keyring: Keyring,
    issuer: str,
) -> Delivery:
    """Record the resident's answer to a signatory's question and pass it to the partner."""
    await gate(mediator, resident_id, ACTION)
    delivery = (
        await Delivery.filter(id=delivery_id, request__resident_id=resident_id)
        .select_related("request")
        .first()
    )
    if delivery is None:
        raise await refuse(
            mediator, ACTION, NO_SUCH_QUESTION, resident_id=resident_id, code="not_found"
        )
    reference = delivery.request.reference
    if delivery.state != DeliveryState.AWAITING_INFO:
        raise await refuse(
            mediator, ACTION, ALREADY_ANSWERED, resident_id=resident_id, code="conflict",
            reference=reference,
        )  # fmt: skip
    text = answer.strip()
    if not text:
        raise DeskError(EMPTY_ANSWER, code="invalid")
    if len(text) > ANSWER_MAX_CHARS:
        raise DeskError(TOO_LONG, code="invalid")
    try:
        answered = await transitions.provide_info(
            delivery_id=delivery.id, actor=staff_actor(mediator), answer=text
        )
    except DeskError as exc:
        # Answered by someone else in the meantime (the state is checked under a row lock).
        if exc.code == "conflict":
            raise await refuse(
                mediator, ACTION, ALREADY_ANSWERED, resident_id=resident_id, code="conflict",
                reference=reference,
            ) from exc  # fmt: skip
        raise
    await audit(mediator, ACTION, resident_id=resident_id, reference=reference)
    return answered
