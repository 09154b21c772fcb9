"""Server-side web sessions."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class WebSession(Model):
    """A browser session. The cookie holds a random id, the table only its SHA-256.

    Deleting the row ends the session (logout, "log out everywhere", staff deactivation).
    """

    id = fields.CharField(max_length=64, primary_key=True)
    data: fields.Field[dict[str, Any]] = fields.JSONField(default={})
    # Copied out of data so every session of one person can be found and ended.
    resident_id = fields.IntField(null=True, db_index=True)
    staff_id = fields.IntField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField()
    # Absolute end, whatever the activity.
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "web_session"


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
