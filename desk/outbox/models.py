"""Durable jobs, written in the same transaction as the state change that causes them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class OutboxJob(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=64)
    payload: fields.Field[dict[str, Any]] = fields.JSONField(default={})
    # Passed to partners and mail servers so a retry never doubles an effect.
    idempotency_key = fields.CharField(max_length=128, unique=True)
    state = fields.CharEnumField(JobState, max_length=16, default=JobState.PENDING)
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=8)
    run_after = fields.DatetimeField(db_index=True)
    locked_by = fields.CharField(max_length=64, null=True)
    locked_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_job"
        ordering = ["id"]
        # The claim looks for pending jobs due by run_after: without the state first, it walked
        # the run_after index through every job already done (bench/scale.py). On PostgreSQL,
        # migration 0021 replaces both indexes by partial ones that leave done jobs out.
        indexes = (("state", "run_after"),)
