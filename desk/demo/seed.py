"""Demo data: the Brest-area signatories, the organisations they share data with, their
declarations, and one demo resident — made through the desk's own services.

The demo signatories signed before the desk opened: each is recorded with its dated steps
(desk.registry.founding: candidate, capacity shown, signed, on its signing day; no application,
no mail), its DPO becomes the first member of its space (desk.organisations.services), its
channel and the identifiers it accepts go through desk.partners.channels, and its declarations
through desk.registry.declarations (versions and audit), their recipients being entries of the
register of organisations (desk.registry.organisations), added like the team adds them.

Idempotent and non-destructive: rows are found by their natural keys (signatory slug,
organisation name, declaration code, resident email) and
only created when missing, so re-seeding never duplicates anything nor undoes a change made
since (a suspension, an edited declaration).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from tortoise.transactions import in_transaction

from desk.demo.committee import seed_committee
from desk.demo.seed_data import ORGANISATIONS, SIGNATORIES
from desk.helppoints.demo import seed_help_points
from desk.organisations import services as organisation_services
from desk.partners import channels
from desk.registry import declarations, founding, organisations
from desk.registry.models import Declaration, Organisation, Signatory
from desk.residents.models import Resident

log = logging.getLogger("desk.registry")

DEMO_RESIDENT_EMAIL = "camille.demo@exemple.invalid"
ACTOR = "system:seed"
# Public services know their users by name and address too: residents met at a help point,
# without email, can be found.
DEMO_IDENTIFIERS = ["email", "full_name", "postal_address"]


def demo_dpo_email(slug: str) -> str:
    return f"dpo@{slug}.exemple.invalid"


async def seed_demo() -> int:
    """Create what is missing of the demo register; return how many signatories exist."""
    refs = await _ensure_organisations()
    created = 0
    for entry in SIGNATORIES:
        if not await Signatory.exists(slug=entry["slug"]):
            await _join(entry)
            created += 1
    for entry in SIGNATORIES:
        signatory = await Signatory.get(slug=entry["slug"])
        for declaration in entry["declarations"]:
            await _ensure_declaration(signatory, declaration, refs)
    if not await Resident.exists(email=DEMO_RESIDENT_EMAIL):
        await Resident.create(email=DEMO_RESIDENT_EMAIL, pseudonym=secrets.token_hex(16))
    await seed_help_points()
    await seed_committee()
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


async def _join(entry: dict[str, Any]) -> Signatory:
    """A signatory of before the desk (its dated steps, its DPO's space), then its channel and
    the identifiers it accepts, through the same services as any signatory's."""
    async with in_transaction() as conn:
        signatory = await founding.record_founding_signatory(
            slug=entry["slug"],
            name=entry["name"],
            kind=entry["kind"],
            signed_on=entry["signed_on"],
            description=entry.get("description", ""),
            dpo_email=demo_dpo_email(entry["slug"]),
            actor=ACTOR,
            connection=conn,
        )
        # The demo's DPO logs in to the organisation's space with the register's address (its
        # mail lands in /dev/mailbox like every other).
        await organisation_services.add_dpo(
            signatory=signatory, display_name=f"DPO de {signatory.name}", actor=ACTOR,
            connection=conn,
        )  # fmt: skip
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
        recipient_refs="\n".join(refs.get(ref, ref) for ref in data.get("recipient_refs", [])),
        source=data.get("source", ""),
        dpia_summary=data.get("dpia_summary", ""),
    )
    await declarations.create_declaration(signatory_id=signatory.id, form=form, actor=ACTOR)
