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


class Consent(StrEnum):
    """Whether the resident agreed, at the help point, to this session.

    A resident with an online account gives a one-time code mailed to them (or confirms from
    their own space) before the mediator sees or does anything in it; a resident met without an
    account, whose file the mediator creates then, has nothing to consent to.
    """

    NOT_NEEDED = "not_needed"
    AWAITING = "awaiting"
    GIVEN = "given"
    REFUSED = "refused"


# Sessions under which a mediator may act.
EFFECTIVE_CONSENTS = (Consent.NOT_NEEDED, Consent.GIVEN)


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
    # db_default: sessions opened before consent existed keep working as they did.
    consent = fields.CharEnumField(
        Consent, max_length=16, default=Consent.NOT_NEEDED, db_default=Consent.NOT_NEEDED.value
    )
    # When the code was typed, or the resident confirmed from their space; and which of the two.
    consented_at = fields.DatetimeField(null=True)
    consent_method = fields.CharField(max_length=16, null=True)

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
    # The printed mandate promises it can be withdrawn at any time: when, and by whom
    # ("resident" from their space, "mediator" at the help point). A revoked mandate gives
    # nothing, whatever its valid_until says; the row stays as the dated proof.
    revoked_at = fields.DatetimeField(null=True)
    revoked_by = fields.CharField(max_length=16, null=True)
    # The help point the mandate was given at (the mediator's, then): its mediators share a view
    # of the people it follows while the mandate lives. A mediator who moves takes nothing along.
    help_point = fields.CharField(max_length=200, default="", db_default="")

    class Meta:
        table = "mandate"
        ordering = ["-created_at", "-id"]


class ConsentCode(Model):
    """A one-time code mailed to a resident so a mediator may join their account (the resident
    reads it out at the help point). Only a keyed hash of the code is kept; the mail job carries
    the code encrypted and drops it once the mail is sent."""

    id = fields.IntField(primary_key=True)
    session: fields.ForeignKeyRelation[AssistedSession] = fields.ForeignKeyField(
        "models.AssistedSession", related_name="consent_codes", on_delete=fields.CASCADE
    )
    resident: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Resident", related_name="consent_codes", on_delete=fields.CASCADE
    )
    mediator: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.StaffMember", related_name="consent_codes", on_delete=fields.RESTRICT
    )
    # HMAC-SHA256 under a key derived from DESK_SECRET_KEY: six digits alone are guessed offline.
    digest = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mediation_consent_code"
        ordering = ["-created_at", "-id"]


class CopyTaken(Model):
    """An access copy a mediator downloaded for a resident: the resident's pages say so."""

    id = fields.IntField(primary_key=True)
    copy: fields.OneToOneRelation[Any] = fields.OneToOneField(
        "models.AccessCopy", related_name="taken_by_mediator", on_delete=fields.CASCADE
    )
    resident: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Resident", related_name="copies_taken", on_delete=fields.CASCADE
    )
    mediator: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.StaffMember", related_name="copies_taken", on_delete=fields.RESTRICT
    )
    help_point = fields.CharField(max_length=200, default="")
    taken_at = fields.DatetimeField()

    class Meta:
        table = "mediation_copy_taken"


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
