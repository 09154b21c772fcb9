"""Staff accounts: back office, mediators, ethics committee, administrators."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class StaffRole(StrEnum):
    BACK_OFFICE = "back_office"
    MEDIATOR = "mediator"
    COMMITTEE = "committee"
    # Reviews organisations that apply to join the charter and records their statuses.
    REGISTER = "register"
    ADMIN = "admin"


class StaffMember(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    display_name = fields.CharField(max_length=200)
    role = fields.CharEnumField(StaffRole, max_length=16)
    # The digital-help point a mediator works at (France Services, city hall, association...).
    help_point = fields.CharField(max_length=200, default="")
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "staff_member"
