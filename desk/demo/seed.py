"""Demo data: the Brest-area signatories, their declarations, and one demo resident.

Idempotent and non-destructive: rows are found by their natural keys (signatory slug,
declaration code, resident email) and only created when missing, so re-seeding never
duplicates anything nor undoes a change made since (a suspension, an edited declaration).
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, date, datetime, time
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.demo.seed_data import SIGNATORIES
from desk.helppoints.demo import seed_help_points
from desk.organisations.models import MemberRole, OrganisationMember
from desk.registry import declarations, joining
from desk.registry.models import CharterStatus, Declaration, Signatory
from desk.residents.models import Resident

log = logging.getLogger("desk.registry")

DEMO_RESIDENT_EMAIL = "camille.demo@exemple.invalid"

_DECLARATION_FIELDS = (
    "title", "purposes", "legal_basis", "data_categories",
    "retention", "recipients", "source", "dpia_summary",
)  # fmt: skip


def demo_dpo_email(slug: str) -> str:
    return f"dpo@{slug}.exemple.invalid"


async def seed_demo() -> int:
    """Create what is missing of the demo register; return how many signatories exist."""
    created = 0
    async with in_transaction() as conn:
        for entry in SIGNATORIES:
            signatory = await Signatory.get_or_none(slug=entry["slug"])
            if signatory is None:
                signatory = await Signatory.create(
                    slug=entry["slug"],
                    name=entry["name"],
                    kind=entry["kind"],
                    signed_on=entry["signed_on"],
                    description=entry.get("description", ""),
                    dpo_email=demo_dpo_email(entry["slug"]),
                    # Public services know their users by name and address too: residents
                    # met at a help point, without email, can be found.
                    accepted_identifiers=["email", "full_name", "postal_address"],
                    adapter=entry["adapter"],
                    adapter_settings={},
                )
                created += 1
                await _record_charter_life(signatory, entry["signed_on"], conn)
                # The demo's DPO logs in to the organisation's space with the register's
                # address (its mail lands in /dev/mailbox like every other).
                if not await OrganisationMember.exists(email=signatory.dpo_email):
                    await OrganisationMember.create(
                        signatory=signatory,
                        email=signatory.dpo_email,
                        display_name=f"DPO de {signatory.name}"[:200],
                        role=MemberRole.DPO,
                        using_db=conn,
                    )
            for declaration in entry["declarations"]:
                await _ensure_declaration(signatory, declaration, conn)
        if not await Resident.exists(email=DEMO_RESIDENT_EMAIL):
            await Resident.create(email=DEMO_RESIDENT_EMAIL, pseudonym=secrets.token_hex(16))
    await seed_help_points()
    total = await Signatory.all().count()
    log.info("demo register seeded: %d signatories created, %d in total", created, total)
    return total


async def _record_charter_life(
    signatory: Signatory, signed_on: date, conn: BaseDBAsyncClient
) -> None:
    """The demo signatories signed before the desk: their steps, dated on signing day, through
    the register's own function, so the public register and open data show them like any
    other signatory's."""
    moment = datetime.combine(signed_on, time(12), tzinfo=UTC)
    for status, reason, version in (
        (CharterStatus.CANDIDATE, "Candidature (avant l'ouverture du guichet).", ""),
        (CharterStatus.CAPACITY_SHOWN, "Capacité démontrée (avant l'ouverture du guichet).", ""),
        (CharterStatus.SIGNED, "Signature de la charte.", joining.CURRENT_CHARTER_VERSION),
    ):
        await joining.record_status(
            signatory_id=signatory.id,
            status=status,
            reason=reason,
            charter_version=version,
            connection=conn,
            on=moment,
        )
    # record_status dates the signature by `on`; the register's own date stays the entry's.
    await Signatory.filter(id=signatory.id).using_db(conn).update(signed_on=signed_on)


async def _ensure_declaration(
    signatory: Signatory, data: dict[str, Any], conn: BaseDBAsyncClient
) -> None:
    if await Declaration.exists(signatory_id=signatory.id, code=data["code"]):
        return
    values = {name: data[name] for name in _DECLARATION_FIELDS if name in data}
    declaration = await Declaration.create(
        signatory=signatory, code=data["code"], using_db=conn, **values
    )
    await declarations.record_first_version(declaration, connection=conn)
