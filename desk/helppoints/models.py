"""A digital-help point of the directory: where residents far from digital tools find help."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class HelpPoint(Model):
    """One place (France Services, city hall, social centre, association...) and how to go there.

    Public on purpose: it names a place, never a person. Staff keep it up to date in the back
    office; a point that closes is unpublished (the row stays, mediators' history names it).
    """

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=80, unique=True)
    name = fields.CharField(max_length=200)
    street = fields.CharField(max_length=200)
    postcode = fields.CharField(max_length=5)
    city = fields.CharField(max_length=100)
    # One line per day or period, as people write them ("lundi et jeudi : 9 h – 12 h").
    opening_hours = fields.TextField(default="")
    phone = fields.CharField(max_length=20, default="")
    # What a visitor with a disability needs to know (step-free access, induction loop...).
    accessibility = fields.TextField(default="")
    # Languages spoken by the team, in French words ("breton", "arabe", "langue des signes").
    languages: fields.Field[list[str]] = fields.JSONField(default=[])
    published = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "help_point"
        ordering = ["city", "name", "id"]
