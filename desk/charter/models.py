"""Keeping signatories to their word: alerts, committee decisions, self-evaluations, complaints."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class AlertLevel(IntEnum):
    REMINDER = 1  # alert 1: reminder to the signatory and the back office
    FORMAL_NOTICE = 2  # alert 2: formal notice
    EXCLUSION_PROPOSED = 3  # proposal of exclusion to the ethics committee


class Alert(Model):
    """One step of the compliance ladder against a signatory, public, with its reasons."""

    id = fields.IntField(primary_key=True)
    signatory: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Signatory", related_name="alerts", on_delete=fields.RESTRICT
    )
    level = fields.IntEnumField(AlertLevel)
    reason = fields.TextField()
    # The overdue deliveries behind this step (ids).
    delivery_ids: fields.Field[list[int]] = fields.JSONField(default=[])
    created_at = fields.DatetimeField()
    # The signatory's answer: explanation and corrective plan.
    response = fields.TextField(null=True)
    corrective_plan = fields.TextField(null=True)
    responded_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "charter_alert"
        ordering = ["-created_at", "-id"]


class DecisionOutcome(StrEnum):
    EXCLUDED = "excluded"
    KEPT_WITH_CONDITIONS = "kept_with_conditions"
    KEPT = "kept"


class CommitteeDecision(Model):
    """The ethics committee decides on an exclusion proposal, with its reasoning (public)."""

    id = fields.IntField(primary_key=True)
    alert: fields.ForeignKeyRelation[Alert] = fields.ForeignKeyField(
        "models.Alert", related_name="decisions", on_delete=fields.RESTRICT
    )
    member: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.StaffMember", related_name="decisions", on_delete=fields.RESTRICT
    )
    outcome = fields.CharEnumField(DecisionOutcome, max_length=24)
    reasoning = fields.TextField()
    conditions = fields.TextField(default="")
    decided_at = fields.DatetimeField()

    class Meta:
        table = "committee_decision"


class SelfEvaluation(Model):
    """A signatory's yearly self-evaluation of how it applies the charter (published)."""

    id = fields.IntField(primary_key=True)
    signatory: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Signatory", related_name="self_evaluations", on_delete=fields.CASCADE
    )
    year = fields.IntField()
    answers: fields.Field[dict[str, Any]] = fields.JSONField(default={})
    submitted_at = fields.DatetimeField()

    class Meta:
        table = "self_evaluation"
        unique_together = (("signatory", "year"),)


class Complaint(Model):
    """A resident complains to the charter's ethics committee about a delivery."""

    id = fields.IntField(primary_key=True)
    resident: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Resident", related_name="complaints", on_delete=fields.CASCADE
    )
    delivery: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Delivery", related_name="complaints", on_delete=fields.CASCADE
    )
    text = fields.TextField()
    created_at = fields.DatetimeField()
    # The committee's decision, told to the resident (answer) and dated (answered_at).
    answered_at = fields.DatetimeField(null=True)
    answer = fields.TextField(null=True)
    # received → acknowledged → asked (the signatory must answer) → signatory_answered → closed.
    status = fields.CharField(max_length=24, default="received", db_default="received")
    # upheld, not_upheld or resolved, once closed.
    outcome = fields.CharField(max_length=16, default="", db_default="")
    acknowledged_at = fields.DatetimeField(null=True)
    question = fields.TextField(default="", db_default="")
    asked_at = fields.DatetimeField(null=True)
    signatory_answer = fields.TextField(default="", db_default="")
    signatory_answered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "complaint"
