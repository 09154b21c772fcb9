"""Rights requests, their deliveries to signatories, the audit trail and access copies."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class RequestKind(StrEnum):
    DISCOVERY = "discovery"
    ACCESS = "access"
    ERASURE = "erasure"
    OBJECTION = "objection"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    EXTENDED = "extended"
    AWAITING_INFO = "awaiting_info"
    FULFILLED = "fulfilled"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"


class RightsRequest(Model):
    id = fields.IntField(primary_key=True)
    reference = fields.CharField(max_length=32, unique=True)
    resident: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Resident", related_name="requests", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(RequestKind, max_length=16)
    filed_via = fields.CharField(max_length=16, default="online")
    # How the resident's identity was established when filing: email, franceconnect, in_person.
    assurance = fields.CharField(max_length=16, default="email", db_default="email")
    # Retention: when the request was reduced to its accountability fields.
    reduced_at = fields.DatetimeField(null=True)
    # An objection or a consent withdrawal may name one declaration (a purpose) of its one
    # signatory rather than the whole organisation (GDPR Art. 21, Art. 7(3)).
    declaration: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Declaration", related_name=None, null=True, on_delete=fields.SET_NULL
    )
    # The scope as filed (code, title, purposes, legal basis): kept if the declaration changes.
    scope: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    # An objection that withdraws a consent given for that purpose (Art. 7(3)).
    consent_withdrawal = fields.BooleanField(default=False, db_default=False)
    # A client-chosen key so a double click files one request, not two.
    submission_key = fields.CharField(max_length=64, unique=True, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    deliveries: fields.ReverseRelation[Delivery]

    class Meta:
        table = "rights_request"
        ordering = ["-created_at", "-id"]
        # A resident's dashboard reads their requests (bench/scale.py).
        indexes = (("resident_id", "created_at"),)


class Delivery(Model):
    """The part of a request addressed to one signatory."""

    id = fields.IntField(primary_key=True)
    request: fields.ForeignKeyRelation[RightsRequest] = fields.ForeignKeyField(
        "models.RightsRequest", related_name="deliveries", on_delete=fields.CASCADE
    )
    signatory: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Signatory", related_name="deliveries", on_delete=fields.RESTRICT
    )
    state = fields.CharEnumField(DeliveryState, max_length=16, default=DeliveryState.PENDING)
    received_at = fields.DatetimeField()
    due_at = fields.DatetimeField()
    extension_reason = fields.TextField(null=True)
    # What the signatory answered: a structured outcome per request kind.
    outcome: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    denial_reason = fields.CharField(max_length=32, null=True)
    denial_detail = fields.TextField(null=True)
    completed_at = fields.DatetimeField(null=True)
    dispatch_ref = fields.CharField(max_length=200, null=True)
    # The channel actually used, when the back office switched it from the signatory's own.
    channel = fields.CharField(max_length=64, null=True)
    # A signatory's question to the resident (need_info) and the resident's answer.
    info_request = fields.TextField(null=True)
    info_answer = fields.TextField(null=True)
    # Whether the question is about the resident's identity: the deadline then pauses until
    # the answer (EDPB guidelines 01/2022), from `paused_since`; other questions do not.
    info_identity = fields.BooleanField(default=False, db_default=False)
    paused_since = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    events: fields.ReverseRelation[DeliveryEvent]

    class Meta:
        table = "delivery"
        unique_together = (("request", "signatory"),)
        ordering = ["id"]
        # Statistics and reports select a period's deliveries (bench/scale.py).
        indexes = (("received_at",),)


class DeliveryEvent(Model):
    """The audit trail: one row per transition, written with it."""

    id = fields.IntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[Delivery] = fields.ForeignKeyField(
        "models.Delivery", related_name="events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=100)
    action = fields.CharField(max_length=32)
    from_state = fields.CharField(max_length=16)
    to_state = fields.CharField(max_length=16)
    detail: fields.Field[dict[str, Any]] = fields.JSONField(default={})
    # Hash chain per delivery (desk.requests.audit): the previous event's digest, and this one's.
    prev_digest = fields.CharField(max_length=64, null=True)
    digest = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "delivery_event"
        ordering = ["at", "id"]
        # Each transition reads the delivery's last event to chain to it (bench/scale.py).
        indexes = (("delivery_id", "id"),)


class AccessCopy(Model):
    """A copy of the data of a resident, sent by a signatory, deleted after download or expiry."""

    id = fields.CharField(max_length=40, primary_key=True)
    delivery: fields.ForeignKeyRelation[Delivery] = fields.ForeignKeyField(
        "models.Delivery", related_name="copies", on_delete=fields.CASCADE
    )
    filename = fields.CharField(max_length=200)
    content_type = fields.CharField(max_length=100)
    size = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    content = fields.BinaryField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    downloaded_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    # SHA-256 of the browser session that took the copy: only it may take it again, for a
    # short while after (an interrupted download), before the content is erased.
    taken_by = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "access_copy"
