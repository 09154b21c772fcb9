"""Signatories that signed the charter before the desk opened (the charter dates from October
2022): recorded with their dated steps, as if they had walked the path on the desk.

A town that installs the desk, like the demo, starts with organisations that already signed:
nobody applies, nobody is mailed, but the public register, the statuses' open data and the audit
log show them like any other signatory (candidate, capacity shown, signed, on their signing
day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from tortoise.backends.base.client import BaseDBAsyncClient

from desk.audit.log import record_action
from desk.registry.joining import CURRENT_CHARTER_VERSION, record_status
from desk.registry.models import CharterStatus, Signatory, SignatoryKind

STEPS = (
    (CharterStatus.CANDIDATE, "Candidature (avant l'ouverture du guichet).", ""),
    (CharterStatus.CAPACITY_SHOWN, "Capacité démontrée (avant l'ouverture du guichet).", ""),
    (CharterStatus.SIGNED, "Signature de la charte.", CURRENT_CHARTER_VERSION),
)


async def record_founding_signatory(
    *,
    slug: str,
    name: str,
    kind: SignatoryKind,
    signed_on: date,
    description: str,
    dpo_email: str,
    actor: str,
    connection: BaseDBAsyncClient,
) -> Signatory:
    """The signatory and its three dated steps, audited (in the caller's transaction)."""
    signatory = await Signatory.create(
        slug=slug,
        name=name,
        kind=kind,
        charter_status=CharterStatus.CANDIDATE,
        signed_on=None,
        description=description,
        dpo_email=dpo_email,
        using_db=connection,
    )
    moment = datetime.combine(signed_on, time(12), tzinfo=UTC)
    for status, reason, version in STEPS:
        await record_status(
            signatory_id=signatory.id,
            status=status,
            reason=reason,
            charter_version=version,
            connection=connection,
            on=moment,
        )
    # record_status dates the signature by `on` (local time); the register's date is the day.
    await Signatory.filter(id=signatory.id).using_db(connection).update(signed_on=signed_on)
    await record_action(
        action="charter.founding_signatory",
        actor=actor,
        subject=f"signatory:{signatory.id}",
        detail={"signed_on": signed_on.isoformat()},
        connection=connection,
    )
    return signatory
