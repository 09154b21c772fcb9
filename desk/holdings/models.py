"""What partners tell about residents' data: holdings (by keyed hash) and lineage."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Holding(Model):
    """A signatory declares it holds data about someone, known only by a keyed hash."""

    id = fields.IntField(primary_key=True)
    signatory: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Signatory", related_name="holdings", on_delete=fields.CASCADE
    )
    # HMAC-SHA256 (hex) of a normalised identifier, with the signatory's hashing key.
    subject_hash = fields.CharField(max_length=64)
    identifier_kind = fields.CharField(max_length=16)  # email | phone
    declarations: fields.Field[list[str]] = fields.JSONField(default=[])
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "holding"
        unique_together = (("signatory", "subject_hash"),)


class LineageEvent(Model):
    """Data of a category used for a purpose or shared with a recipient, on a date."""

    id = fields.IntField(primary_key=True)
    signatory: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Signatory", related_name="lineage_events", on_delete=fields.CASCADE
    )
    subject_hash = fields.CharField(max_length=64, db_index=True)
    category = fields.CharField(max_length=200)
    purpose = fields.CharField(max_length=300, default="")
    recipient = fields.CharField(max_length=200, default="")
    occurred_on = fields.DateField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "lineage_event"
        ordering = ["-occurred_on", "-id"]
