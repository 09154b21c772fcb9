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

    class Meta:
        table = "resident"


class LoginChallenge(Model):
    """A login link sent by email. The address is kept only until the link is used or expires."""

    id = fields.CharField(max_length=64, primary_key=True)
    email = fields.CharField(max_length=254, null=True)
    # "resident" or "staff": a staff link never opens a resident space, nor the reverse.
    # db_default: rows that existed before this column get it too.
    audience = fields.CharField(max_length=16, default="resident", db_default="resident")
    created_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "login_challenge"
