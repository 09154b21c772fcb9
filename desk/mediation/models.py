"""Mediation: assisted sessions, mandates, the contact of residents without email, the audit.

A mediator records THAT identity was checked and HOW, never a document number nor a copy.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class IdentityCheck(StrEnum):
    DOCUMENT_SHOWN = "document_shown"
    KNOWN_TO_HELP_POINT = "known_to_help_point"
    FRANCECONNECT_ON_SITE = "franceconnect_on_site"


class ResidentContact(Model):
    """How to reach a resident who has no email: a name and a postal address, or the help point.

    Kept only while it is useful: as long as the resident has an open request or a mandate still
    valid, then RETENTION_MONTHS (6) after the last request closed and the last mandate ended.
    desk.mediation.services.purge_contacts deletes it then (a worker periodic task).
    """

    id = fields.IntField(primary_key=True)
    resident: fields.OneToOneRelation[Any] = fields.OneToOneField(
        "models.Resident", related_name="mediation_contact", on_delete=fields.CASCADE
    )
    full_name = fields.CharField(max_length=200)
    address_lines: fields.Field[list[str]] = fields.JSONField(default=[])
    reached_at_help_point = fields.BooleanField(default=False)
    help_point = fields.CharField(max_length=200, default="")
    # Lower-case name and address without accents, punctuation nor spaces: finds duplicates.
    match_key = fields.CharField(max_length=200, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "mediation_contact"


class AssistedSession(Model):
    """One meeting at a help point: the resident is present and their identity was checked."""

    id = fields.IntField(primary_key=True)
    mediator: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.StaffMember", related_name="assisted_sessions", on_delete=fields.RESTRICT
    )
    resident: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Resident", related_name="assisted_sessions", on_delete=fields.CASCADE
    )
    opened_at = fields.DatetimeField()
    closes_at = fields.DatetimeField()
    identity_check = fields.CharEnumField(IdentityCheck, max_length=32)

    class Meta:
        table = "assisted_session"
        ordering = ["-opened_at", "-id"]


class Mandate(Model):
    """What the resident allows the mediator to file for them, to whom, until when."""

    id = fields.IntField(primary_key=True)
    session: fields.ForeignKeyRelation[AssistedSession] = fields.ForeignKeyField(
        "models.AssistedSession", related_name="mandates", on_delete=fields.CASCADE
    )
    resident: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Resident", related_name="mandates", on_delete=fields.CASCADE
    )
    mediator: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.StaffMember", related_name="mandates", on_delete=fields.RESTRICT
    )
    kinds: fields.Field[list[str]] = fields.JSONField(default=[])
    # Signatory ids, or null for every signatory of the charter.
    signatory_ids: fields.Field[list[int] | None] = fields.JSONField(null=True)
    valid_until = fields.DatetimeField()
    paper_signed = fields.BooleanField(default=False)
    signed_recorded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "mandate"
        ordering = ["-created_at", "-id"]


class AssistedFiling(Model):
    """A request filed by a mediator: shown to the resident as "filed on your behalf by"."""

    id = fields.IntField(primary_key=True)
    request: fields.OneToOneRelation[Any] = fields.OneToOneField(
        "models.RightsRequest", related_name="assisted_filing", on_delete=fields.CASCADE
    )
    session: fields.ForeignKeyRelation[AssistedSession] = fields.ForeignKeyField(
        "models.AssistedSession", related_name="filings", on_delete=fields.CASCADE
    )
    mediator: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.StaffMember", related_name="filings", on_delete=fields.RESTRICT
    )
    # The help point at the time of filing (a mediator may later move to another one).
    help_point = fields.CharField(max_length=200, default="")
    filed_at = fields.DatetimeField()

    class Meta:
        table = "assisted_filing"


class ToldMark(Model):
    """A change in a request (an audit event) that was passed on to a resident without email."""

    id = fields.IntField(primary_key=True)
    event: fields.OneToOneRelation[Any] = fields.OneToOneField(
        "models.DeliveryEvent", related_name="told_mark", on_delete=fields.CASCADE
    )
    resident: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Resident", related_name="told_marks", on_delete=fields.CASCADE
    )
    mediator: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.StaffMember", related_name="told_marks", on_delete=fields.RESTRICT
    )
    # "help_point" (said in person or by phone) or "letter" (a printed letter was posted).
    channel = fields.CharField(max_length=16)
    at = fields.DatetimeField()

    class Meta:
        table = "mediation_told"


class MediationEvent(Model):
    """The mediators' audit log: one row per action, done or refused. Ids only, no names."""

    id = fields.IntField(primary_key=True)
    mediator: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.StaffMember", related_name="mediation_events", on_delete=fields.RESTRICT
    )
    # A plain id, not a key: the audit row outlives anything it points at.
    resident_ref = fields.IntField(null=True, db_index=True)
    action = fields.CharField(max_length=32)
    # "done" or "refused"
    outcome = fields.CharField(max_length=16, default="done")
    request_reference = fields.CharField(max_length=32, null=True)
    detail: fields.Field[dict[str, Any]] = fields.JSONField(default={})
    at = fields.DatetimeField()

    class Meta:
        table = "mediation_event"
        ordering = ["at", "id"]
