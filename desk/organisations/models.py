"""The people of a signatory who work in its space on the desk."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class MemberRole(StrEnum):
    # The data-protection officer: everything, including inviting colleagues.
    DPO = "dpo"
    # Keeps declarations current and answers requests; invites nobody.
    EDITOR = "editor"


class OrganisationMember(Model):
    id = fields.IntField(primary_key=True)
    signatory: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Signatory", related_name="members", on_delete=fields.CASCADE
    )
    # One address, one organisation: the login link opens exactly one space.
    email = fields.CharField(max_length=254, unique=True)
    display_name = fields.CharField(max_length=200)
    role = fields.CharEnumField(MemberRole, max_length=16)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "organisation_member"
