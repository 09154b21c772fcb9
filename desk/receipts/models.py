"""Signed receipts, kept as an append-only hash chain."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Receipt(Model):
    id = fields.CharField(max_length=40, primary_key=True)
    # Position in the chain; unique so two concurrent issuers cannot fork it.
    sequence = fields.IntField(unique=True)
    delivery: fields.OneToOneRelation[Any] = fields.OneToOneField(
        "models.Delivery", related_name="receipt", on_delete=fields.RESTRICT
    )
    jws = fields.TextField()
    # SHA-256 of the compact JWS; the next receipt names it as "prev".
    digest = fields.CharField(max_length=64, unique=True)
    issued_at = fields.DatetimeField()

    class Meta:
        table = "receipt"
        ordering = ["sequence"]
