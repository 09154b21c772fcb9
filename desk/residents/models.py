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


class LoginChallenge(Model):
    """A login link sent by email. The address is kept only until the link is used or expires.

    The id is the SHA-256 of the link's random token (the token itself is never stored).
    """

    id = fields.CharField(max_length=64, primary_key=True)
    # SHA-256 of a random value kept in a cookie of the browser that asked for the link.
    browser_digest = fields.CharField(max_length=64, null=True)
    email = fields.CharField(max_length=254, null=True)
    # "resident" or "staff": a staff link never opens a resident space, nor the reverse.
    # db_default: rows that existed before this column get it too.
    audience = fields.CharField(max_length=16, default="resident", db_default="resident")
    created_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)
    # Opened on another device (desk.identity.other_device): wrong codes typed there (a few
    # burn the link), and the other device waiting for the asking one to confirm it.
    code_attempts = fields.SmallIntField(default=0, db_default=0)
    other_digest = fields.CharField(max_length=64, null=True)
    # A coarse label ("Firefox, Android") the asking device shows; never the User-Agent.
    other_device = fields.CharField(max_length=80, null=True)
    other_asked_at = fields.DatetimeField(null=True)
    approved_at = fields.DatetimeField(null=True)
    # Why the link died before a login: "burned" (too many wrong codes) or "refused".
    ended = fields.CharField(max_length=16, null=True)

    class Meta:
        table = "login_challenge"
