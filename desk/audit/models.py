"""The desk's own audit log: one append-only, hash-chained table."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class AuditRecord(Model):
    """One security-relevant action (login, logout, staff action, retention), hash-chained.

    Ids only, never an email or a name. Rows are never updated or deleted.
    """

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=100)
    action = fields.CharField(max_length=48)
    subject = fields.CharField(max_length=100, default="")
    detail: fields.Field[dict[str, Any]] = fields.JSONField(default={})
    prev_digest = fields.CharField(max_length=64, null=True)
    digest = fields.CharField(max_length=64)

    class Meta:
        table = "audit_record"
        ordering = ["id"]
