"""Snapshots of the public statistics, computed by the worker."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class StatisticsSnapshot(Model):
    """The figures of /statistiques for one period, computed once and shown to everyone.

    The payload is exactly what the page renders (desk.statistics.snapshot), so a page
    served from it and a page computed live are the same.
    """

    id = fields.IntField(primary_key=True)
    # Which period: the page's rolling twelve months by its first month, or explicit bounds.
    key = fields.CharField(max_length=100, unique=True)
    computed_at = fields.DatetimeField()
    payload: fields.Field[dict[str, Any]] = fields.JSONField(default={})

    class Meta:
        table = "statistics_snapshot"
