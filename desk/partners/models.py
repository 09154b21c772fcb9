"""Partner API clients, their secrets, and idempotent answers."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class PartnerClient(Model):
    """OAuth2 client credentials of one signatory (several may exist, e.g. per system)."""

    id = fields.IntField(primary_key=True)
    client_id = fields.CharField(max_length=64, unique=True)
    signatory: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Signatory", related_name="clients", on_delete=fields.CASCADE
    )
    label = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    secrets: fields.ReverseRelation[ClientSecret]

    class Meta:
        table = "partner_client"


class ClientSecret(Model):
    """A hashed client secret. Two may be active at once, so a partner can rotate without a gap."""

    id = fields.IntField(primary_key=True)
    client: fields.ForeignKeyRelation[PartnerClient] = fields.ForeignKeyField(
        "models.PartnerClient", related_name="secrets", on_delete=fields.CASCADE
    )
    # scrypt, with its salt and parameters: "scrypt$n$r$p$salt$hash".
    secret_hash = fields.CharField(max_length=300)
    # The first characters, shown in listings so people can tell secrets apart.
    prefix = fields.CharField(max_length=12)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "client_secret"


class IdempotencyRecord(Model):
    """The first answer to a POST with an Idempotency-Key, replayed for the same key and body."""

    id = fields.IntField(primary_key=True)
    signatory: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Signatory", related_name="idempotency_records", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=255)
    method = fields.CharField(max_length=8)
    path = fields.CharField(max_length=500)
    body_sha256 = fields.CharField(max_length=64)
    status = fields.IntField(null=True)
    response_body = fields.BinaryField(null=True)
    content_type = fields.CharField(max_length=100, default="application/json")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("signatory", "key"),)
