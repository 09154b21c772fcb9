"""Residents and their one-time login links."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Resident(Model):
    id = fields.IntField(primary_key=True)
    # Normalised (lower-case, trimmed). Null for residents assisted without email (mediation).
    email = fields.CharField(max_length=254, unique=True, null=True)
    # Random, stable, and the only resident identifier a receipt ever carries.
    pseudonym = fields.CharField(max_length=40, unique=True)
    locale = fields.CharField(max_length=5, default="fr")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)
    # Retention (desk.retention.rules): when an inactive account was told it will be deleted.
    inactivity_warned_at = fields.DatetimeField(null=True)

    class Meta:
        table = "resident"


class ResidentIdentity(Model):
    """An external identity (FranceConnect) linked to a resident, keyed on (provider, subject)."""

    id = fields.IntField(primary_key=True)
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="identities", on_delete=fields.CASCADE
    )
    provider = fields.CharField(max_length=40)
    subject = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "resident_identity"
        unique_together = (("provider", "subject"),)
