"""The email channel: one plain French message to the signatory's DPO mailbox.

The message carries a signed, expiring link to a small answer page (no account needed):
most small signatories have nothing but a mailbox.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from adapters.base import (
    AdapterContext,
    AdapterError,
    Answer,
    Dispatch,
    Envelope,
    PermanentAdapterError,
)
from desk.adapters_sdk import MailError, PermanentMailError, add_months, assurance

log = logging.getLogger("adapters.email")

TEMPLATE = "partner_delivery"


def _mailbox(settings: dict[str, Any]) -> str:
    mailbox = settings.get("mailbox")
    if not isinstance(mailbox, str) or "@" not in mailbox.strip():
        raise PermanentAdapterError("the signatory has no DPO mailbox configured")
    return mailbox.strip()


def message_context(envelope: Envelope) -> dict[str, Any]:
    """What the partner_delivery templates need: everything the DPO must know to answer."""
    return {
        "signatory_name": envelope.signatory_name,
        "kind": envelope.kind,
        "reference": envelope.request_reference,
        "identifiers": dict(envelope.identifiers),
        "received_at": envelope.received_at,
        "due_at": envelope.due_at,
        # Art. 12(3): one extension, decided within the first month, up to three months in all.
        "extension_deadline": add_months(envelope.received_at, 1),
        "max_due_at": add_months(envelope.received_at, 3),
        "answer_url": envelope.answer_url,
        "assurance_label": assurance.label(envelope.assurance),
        "assurance_explanation": assurance.explanation(envelope.assurance),
        "declarations": [
            {"code": str(d.get("code", "")), "title": str(d.get("title", ""))}
            for d in envelope.declarations
        ],
        "scope": dict(envelope.scope) if envelope.scope else None,
    }


class EmailAdapter:
    kind: ClassVar[str] = "email"

    def __init__(self, context: AdapterContext) -> None:
        self.context = context

    async def deliver(self, envelope: Envelope) -> Dispatch:
        to = _mailbox(self.context.settings)
        try:
            message_id = await self.context.send_mail(
                to=to,
                template=TEMPLATE,
                context=message_context(envelope),
                idempotency_key=envelope.idempotency_key,
            )
        except PermanentMailError as exc:
            # The mailbox or the server refused for good: the back office must see it now.
            raise PermanentAdapterError(
                f"mail to signatory refused for delivery {envelope.delivery_id}: {exc}"
            ) from exc
        except (MailError, OSError) as exc:
            # The outbox retries with backoff; the Message-ID stays the same across attempts.
            raise AdapterError(
                f"mail to signatory failed for delivery {envelope.delivery_id}: {exc}"
            ) from exc
        log.info(
            "delivery %s mailed to signatory %s", envelope.delivery_id, envelope.signatory_slug
        )
        return Dispatch(reference=str(message_id), poll_after=None)

    async def poll(self, envelope: Envelope) -> Answer | None:
        # Answers come back through the signed link, never by polling a mailbox.
        return None
