from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0016_orgspace")]

    initial = False

    operations = [
        ops.CreateModel(
            name="HelpPoint",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("slug", fields.CharField(unique=True, max_length=80)),
                ("name", fields.CharField(max_length=200)),
                ("street", fields.CharField(max_length=200)),
                ("postcode", fields.CharField(max_length=5)),
                ("city", fields.CharField(max_length=100)),
                ("opening_hours", fields.TextField(default="", unique=False)),
                ("phone", fields.CharField(default="", max_length=20)),
                ("accessibility", fields.TextField(default="", unique=False)),
                (
                    "languages",
                    fields.JSONField(
                        default=[],
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("published", fields.BooleanField(default=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "help_point",
                "app": "models",
                "pk_attr": "id",
                "table_description": "One place (France Services, city hall, social centre, association...) and how to go there.",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Mandate",
            name="help_point",
            field=fields.CharField(default="", db_default="", max_length=200),
        ),
        # Mandates given before: the help point of the mediator who holds them (same SQL on
        # SQLite and PostgreSQL).
        ops.RunSQL(
            "UPDATE mandate SET help_point = COALESCE((SELECT staff_member.help_point FROM "
            "staff_member WHERE staff_member.id = mandate.mediator_id), '')",
            reverse_sql="",
        ),
    ]
