"""Demo data: the Brest-area signatories, the organisations they share data with, their
declarations, and one demo resident — made through the desk's own services.

Each demo signatory walks the charter's path as a real one does: its application
(desk.registry.joining), the team's acceptance that makes it a candidate and its DPO a member
of its space (desk.organisations.services), its capacity shown and its signature (dated on its
signing day), its channel and the identifiers it accepts (desk.partners.channels), then its
declarations (desk.registry.declarations), whose recipients are entries of the register of
organisations (desk.registry.organisations). The applications' acknowledgement mails land in
the demo's mailbox like any other.

Idempotent and non-destructive: rows are found by their natural keys (a signatory by its DPO
mailbox, an organisation by its name, a declaration by its code, the resident by email) and
only created when missing, so re-seeding never duplicates anything nor undoes a change made
since (a suspension, an edited declaration).
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, date, datetime, time
from typing import Any

from tortoise.transactions import in_transaction

from desk.demo.seed_data import ORGANISATIONS, SIGNATORIES
from desk.organisations import services as organisation_services
from desk.partners import channels
from desk.registry import declarations, joining, organisations
from desk.registry.models import CharterStatus, Declaration, Organisation, Signatory, StatusChange
from desk.residents.models import Resident

log = logging.getLogger("desk.registry")

DEMO_RESIDENT_EMAIL = "camille.demo@exemple.invalid"
ACTOR = "system:seed"
# Public services know their users by name and address too: residents met at a help point,
# without email, can be found.
DEMO_IDENTIFIERS = ["email", "full_name", "postal_address"]


def demo_dpo_email(slug: str) -> str:
    return f"dpo@{slug}.exemple.invalid"


def demo_siren(index: int) -> str:
    """A fictional SIREN with a valid key (INSEE's Luhn check): 99999, the entry's number,
    then the key."""
    stem = f"99999{index:03d}"
    return next(f"{stem}{key}" for key in range(10) if joining.luhn_ok(f"{stem}{key}"))


async def seed_demo() -> int:
    """Create what is missing of the demo register; return how many signatories exist."""
    refs = await _ensure_organisations()
    created = 0
    for index, entry in enumerate(SIGNATORIES, start=1):
        signatory = await Signatory.get_or_none(dpo_email=demo_dpo_email(entry["slug"]))
        if signatory is None:
            signatory = await _join(index, entry)
            created += 1
        refs[f"signatory:{entry['slug']}"] = f"signatory:{signatory.slug}"
    for entry in SIGNATORIES:
        signatory = await Signatory.get(dpo_email=demo_dpo_email(entry["slug"]))
        for declaration in entry["declarations"]:
            await _ensure_declaration(signatory, declaration, refs)
    if not await Resident.exists(email=DEMO_RESIDENT_EMAIL):
        await Resident.create(email=DEMO_RESIDENT_EMAIL, pseudonym=secrets.token_hex(16))
    total = await Signatory.all().count()
    log.info("demo register seeded: %d signatories created, %d in total", created, total)
    return total


async def _ensure_organisations() -> dict[str, str]:
    """The register's non-signatories: {"organisation:<key>": their reference}."""
    refs: dict[str, str] = {}
    for entry in ORGANISATIONS:
        found = await Organisation.get_or_none(name=entry["name"])
        if found is None:
            found = await organisations.add_organisation(
                form=organisations.OrganisationForm(
                    name=entry["name"], kind=entry["kind"], description=entry["description"]
                ),
                actor=ACTOR,
            )
        refs[f"organisation:{entry['key']}"] = f"organisation:{found.slug}"
    return refs


async def _join(index: int, entry: dict[str, Any]) -> Signatory:
    """Apply, be accepted, show capacity, sign, set the channel: as any signatory does."""
    dpo_email = demo_dpo_email(entry["slug"])
    application = await joining.submit_application(
        form=joining.ApplicationForm(
            name=entry["name"],
            kind=entry["kind"].value,
            siret=demo_siren(index),
            address="Brest (adresse de démonstration)",
            dpo_name=f"DPO de {entry['name']}"[:200],
            dpo_email=dpo_email,
            applicant_name=f"DPO de {entry['name']}"[:200],
            applicant_email=dpo_email,
        )
    )
    _, signatory = await organisation_services.accept_application(
        application_id=application.id, reason="", actor=ACTOR
    )
    await _charter_life(signatory, entry["signed_on"], entry.get("description", ""))
    await channels.configure_channel(
        slug=signatory.slug,
        adapter=entry["adapter"],
        settings={},
        # Neither the email nor the simulated channel has a secret to encrypt.
        secret_key="",
        actor=ACTOR,
    )
    await channels.set_accepted_identifiers(
        signatory_id=signatory.id, identifiers=DEMO_IDENTIFIERS, actor=ACTOR
    )
    return await Signatory.get(id=signatory.id)


async def _charter_life(signatory: Signatory, signed_on: date, description: str) -> None:
    """The demo signatories signed before the desk: their steps are dated on signing day,
    through the register's own function, so the public register and open data show them like
    any other signatory's."""
    moment = datetime.combine(signed_on, time(12), tzinfo=UTC)
    async with in_transaction() as conn:
        # The candidate step accept_application just wrote, dated like the others.
        await (
            StatusChange.filter(signatory_id=signatory.id).using_db(conn).update(changed_at=moment)
        )
        for status, reason, version in (
            (CharterStatus.CAPACITY_SHOWN, "Capacité démontrée (avant l'ouverture du guichet).",
             ""),
            (CharterStatus.SIGNED, "Signature de la charte.", joining.CURRENT_CHARTER_VERSION),
        ):  # fmt: skip
            await joining.record_status(
                signatory_id=signatory.id,
                status=status,
                reason=reason,
                charter_version=version,
                connection=conn,
                on=moment,
            )
        # record_status dates the signature by `on`; the register's own date stays the entry's.
        await (
            Signatory.filter(id=signatory.id)
            .using_db(conn)
            .update(signed_on=signed_on, description=description)
        )


async def _ensure_declaration(
    signatory: Signatory, data: dict[str, Any], refs: dict[str, str]
) -> None:
    if await Declaration.exists(signatory_id=signatory.id, code=data["code"]):
        return
    form = declarations.DeclarationForm(
        code=data["code"],
        title=data["title"],
        purposes=data["purposes"],
        legal_basis=data["legal_basis"],
        data_categories="\n".join(data.get("data_categories", [])),
        retention=data["retention"],
        recipient_refs="\n".join(refs[ref] for ref in data.get("recipient_refs", [])),
        source=data.get("source", ""),
        dpia_summary=data.get("dpia_summary", ""),
    )
    await declarations.create_declaration(signatory_id=signatory.id, form=form, actor=ACTOR)
