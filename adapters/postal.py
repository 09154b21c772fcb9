"""The postal channel: a printable letter queued for the back office.

Some signatories (a small association, a village office) read only paper. Delivering is then
nothing but "put it in the queue": the back office prints the letter on demand (it is rendered
from the delivery, so it is always current), posts it, and later types in the answer it
receives by mail. Nobody can poll a letterbox.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import AdapterContext, Answer, Dispatch, Envelope, PermanentAdapterError

log = logging.getLogger("adapters.postal")

QUEUE_REFERENCE = "postal-queue"
ADDRESS_MAX_LINES = 8
ADDRESS_MAX_CHARS = 500


def validate_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings with a clean multi-line postal address, or a French ValueError."""
    raw = settings.get("address")
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(
            "Indiquez l'adresse postale du délégué à la protection des données (DPO) : "
            "le courrier lui est envoyé par la poste."
        )
    lines = [line.strip() for line in raw.strip().splitlines() if line.strip()]
    if len(lines) > ADDRESS_MAX_LINES or len(raw) > ADDRESS_MAX_CHARS:
        raise ValueError(
            "L'adresse postale est trop longue : huit lignes au plus, comme sur une enveloppe."
        )
    return {**settings, "address": "\n".join(lines)}


class PostalAdapter:
    kind: ClassVar[str] = "postal"

    def __init__(self, context: AdapterContext) -> None:
        self.context = context

    @staticmethod
    def validate_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
        return validate_settings(settings)

    async def deliver(self, envelope: Envelope) -> Dispatch:
        try:
            validate_settings(self.context.settings)
        except ValueError as exc:
            # No address, no letter: the back office sees the dead job and fixes the register.
            raise PermanentAdapterError(
                "aucune adresse postale n'est enregistrée pour ce signataire "
                f"({envelope.signatory_slug}) : réglage « address » du connecteur postal"
            ) from exc
        log.info("delivery %s queued for a postal letter", envelope.delivery_id)
        return Dispatch(reference=QUEUE_REFERENCE, poll_after=None)

    async def poll(self, envelope: Envelope) -> Answer | None:
        return None
