"""The people of a signatory's space: the DPO made when the team accepts an application.

Accepting an application makes the signatory (desk.registry.joining) and its DPO's account in
one transaction: the DPO can log in at /organisation as soon as the acceptance mail arrives.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.organisations.models import MemberRole, OrganisationMember
from desk.registry import joining
from desk.registry.models import CharterApplication, Signatory


async def accept_application(
    *, application_id: int, reason: str, actor: str
) -> tuple[CharterApplication, Signatory]:
    """The applicant becomes a candidate on the register, and its DPO a member of its space."""
    async with in_transaction() as conn:
        application, signatory = await joining.accept(
            application_id=application_id, reason=reason, actor=actor, connection=conn
        )
        existing = await OrganisationMember.filter(email=signatory.dpo_email).using_db(conn).first()
        # One address opens one space: a DPO already serving another organisation keeps it,
        # and the team invites this one's DPO under another address.
        if existing is None:
            member = await OrganisationMember.create(
                signatory=signatory,
                email=signatory.dpo_email,
                display_name=signatory.dpo_name,
                role=MemberRole.DPO,
                using_db=conn,
            )
            await record_action(
                action="organisation.member_added",
                actor=actor,
                subject=f"member:{member.id}",
                detail={"signatory": signatory.id, "role": MemberRole.DPO.value},
                connection=conn,
            )
    return application, signatory
