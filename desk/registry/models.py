"""Signatories of the charter and the processing activities they declare."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class SignatoryKind(StrEnum):
    PUBLIC_BODY = "public_body"
    PUBLIC_OPERATOR = "public_operator"
    SOCIAL_HOUSING = "social_housing"
    COMPANY = "company"
    ASSOCIATION = "association"


class CharterStatus(StrEnum):
    SIGNED = "signed"
    SUSPENDED = "suspended"
    EXCLUDED = "excluded"


class Signatory(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(SignatoryKind, max_length=32)
    charter_status = fields.CharEnumField(
        CharterStatus, max_length=16, default=CharterStatus.SIGNED
    )
    signed_on = fields.DateField()
    description = fields.TextField(default="")
    website = fields.CharField(max_length=300, default="")
    # The DPO mailbox: the address every signatory has (fictional in the demo).
    dpo_email = fields.CharField(max_length=254)
    # Identifiers this signatory accepts to find a resident; the envelope carries only these.
    accepted_identifiers: fields.Field[list[str]] = fields.JSONField(default=["email"])
    adapter = fields.CharField(max_length=64, default="email")
    # Secrets in here are encrypted at rest (desk.core.crypto); adapters validate the rest.
    adapter_settings: fields.Field[dict[str, object]] = fields.JSONField(default={})
    # Key for the keyed hashes (HMAC-SHA256) of identifiers in holdings and lineage events,
    # encrypted at rest; given once to the signatory.
    hashing_key = fields.CharField(max_length=300, default="", db_default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    declarations: fields.ReverseRelation[Declaration]

    class Meta:
        table = "signatory"
        ordering = ["name"]


class Declaration(Model):
    """One processing activity, as the signatory publishes it."""

    id = fields.IntField(primary_key=True)
    signatory: fields.ForeignKeyRelation[Signatory] = fields.ForeignKeyField(
        "models.Signatory", related_name="declarations", on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=64)
    title = fields.CharField(max_length=200)
    purposes = fields.TextField()
    legal_basis = fields.CharField(max_length=64)
    data_categories: fields.Field[list[str]] = fields.JSONField(default=[])
    retention = fields.TextField()
    recipients: fields.Field[list[str]] = fields.JSONField(default=[])
    source = fields.TextField(default="")
    dpia_summary = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "declaration"
        unique_together = (("signatory", "code"),)
        ordering = ["id"]
