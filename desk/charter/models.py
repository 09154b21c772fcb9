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
    # Set when the committee upheld the signatory's contest: the alert no longer stands.
    withdrawn_at = fields.DatetimeField(null=True)

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


class ContestOutcome(StrEnum):
    UPHELD = "upheld"  # the signatory is right: the alert is withdrawn
    DISMISSED = "dismissed"  # the alert stands


class AlertContest(Model):
    """A signatory contests an alert, the ethics committee decides (public, no personal data)."""

    id = fields.IntField(primary_key=True)
    alert: fields.ForeignKeyRelation[Alert] = fields.ForeignKeyField(
        "models.Alert", related_name="contests", on_delete=fields.CASCADE
    )
    reason = fields.TextField()
    filed_at = fields.DatetimeField()
    # upheld or dismissed once decided, "" before.
    outcome = fields.CharField(max_length=16, default="", db_default="")
    reasoning = fields.TextField(default="", db_default="")
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "alert_contest"
        ordering = ["-filed_at", "-id"]


class College(StrEnum):
    ELECTED = "elected"
    CITIZENS = "citizens"
    EXPERTS = "experts"
    SIGNATORIES = "signatories"


class CommitteeSeat(Model):
    """One member of the ethics committee as a public office holder: name, college, mandate."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    college = fields.CharEnumField(College, max_length=16)
    # The office or quality they sit for ("Vice-présidente de Brest métropole", "juré citoyen").
    office = fields.CharField(max_length=200, default="", db_default="")
    mandate_start = fields.DateField()
    mandate_end = fields.DateField(null=True)

    class Meta:
        table = "committee_seat"
        ordering = ["college", "name", "id"]


class CharterSuggestion(Model):
    """Someone's suggestion to improve the charter (principle 5) and the committee's answer.

    Published once answered, in the words the committee publishes (`public_text`: the text as
    sent, or rewritten without personal data). The author's address, optional, is only used to
    tell them of the answer, then erased.
    """

    id = fields.IntField(primary_key=True)
    # The principle (1 to 11) it is about, or None for the charter as a whole.
    principle = fields.IntField(null=True)
    text = fields.TextField()
    author_email = fields.CharField(max_length=254, default="", db_default="")
    created_at = fields.DatetimeField()
    public_text = fields.TextField(default="", db_default="")
    # adopted, studied (for the next version) or declined, once answered.
    outcome = fields.CharField(max_length=16, default="", db_default="")
    answer = fields.TextField(default="", db_default="")
    answered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "charter_suggestion"
        ordering = ["-created_at", "-id"]
