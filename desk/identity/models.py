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
