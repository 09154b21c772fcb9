"""`desk seed` goes through the desk's services: dated founding steps, the DPO's space, audited
channel and identifiers, declarations with versions, recipients from the register."""

from __future__ import annotations

from starlette.applications import Starlette

from desk.audit.models import AuditRecord
from desk.demo.seed import seed_demo
from desk.organisations.models import OrganisationMember
from desk.outbox.models import OutboxJob
from desk.registry.models import Declaration, DeclarationVersion, Organisation, Signatory
from desk.registry.organisations import legacy_recipients


async def test_the_demo_register_is_made_through_services(app: Starlette) -> None:
    total = await seed_demo()
    assert total == 11
    assert await OrganisationMember.filter(role="dpo").count() == total
    for action in ("charter.founding_signatory", "partner.channel_configured",
                   "partner.identifiers_configured"):  # fmt: skip
        assert await AuditRecord.filter(action=action, actor="system:seed").count() == total
    declarations = await Declaration.all()
    assert await DeclarationVersion.filter(change="created").count() == len(declarations)
    assert await Organisation.all().count() >= 20
    slugs = {s.slug for s in await Signatory.all()} | {o.slug for o in await Organisation.all()}
    for declaration in declarations:
        assert legacy_recipients(declaration) == []  # every recipient is a register entry
        for ref in declaration.recipient_refs:
            assert ref.split(":", 1)[1] in slugs
    assert any("signatory:brest-metropole" in d.recipient_refs for d in declarations)
    # Signatories of before the desk: nobody applied, nobody is mailed.
    assert not await OutboxJob.exists()
    await seed_demo()
    assert await Organisation.all().count() == len({o.name for o in await Organisation.all()})
