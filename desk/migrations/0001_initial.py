import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from desk.outbox.models import JobState
from desk.registry.models import CharterStatus, SignatoryKind
from desk.requests.models import DeliveryState, RequestKind


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="LoginChallenge",
            fields=[
                (
                    "id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                ("email", fields.CharField(null=True, max_length=254)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "login_challenge",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A login link sent by email. The address is kept only until the link is used or expires.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OutboxJob",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("kind", fields.CharField(max_length=64)),
                (
                    "payload",
                    fields.JSONField(
                        default={},
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("idempotency_key", fields.CharField(unique=True, max_length=128)),
                (
                    "state",
                    fields.CharEnumField(
                        default=JobState.PENDING,
                        description="PENDING: pending\nRUNNING: running\nDONE: done\nDEAD: dead",
                        enum_type=JobState,
                        max_length=16,
                    ),
                ),
                ("attempts", fields.IntField(default=0)),
                ("max_attempts", fields.IntField(default=8)),
                (
                    "run_after",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
                ("locked_by", fields.CharField(null=True, max_length=64)),
                (
                    "locked_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("last_error", fields.TextField(null=True, unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={"table": "outbox_job", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Resident",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("email", fields.CharField(null=True, unique=True, max_length=254)),
                ("pseudonym", fields.CharField(unique=True, max_length=40)),
                ("locale", fields.CharField(default="fr", max_length=5)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "last_login_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={"table": "resident", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RightsRequest",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("reference", fields.CharField(unique=True, max_length=32)),
                (
                    "resident",
                    fields.ForeignKeyField(
                        "models.Resident",
                        source_field="resident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="requests",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="DISCOVERY: discovery\nACCESS: access\nERASURE: erasure\nOBJECTION: objection",
                        enum_type=RequestKind,
                        max_length=16,
                    ),
                ),
                ("filed_via", fields.CharField(default="online", max_length=16)),
                ("submission_key", fields.CharField(null=True, unique=True, max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "rights_request", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Signatory",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("slug", fields.CharField(unique=True, max_length=64)),
                ("name", fields.CharField(max_length=200)),
                (
                    "kind",
                    fields.CharEnumField(
                        description="PUBLIC_BODY: public_body\nPUBLIC_OPERATOR: public_operator\nSOCIAL_HOUSING: social_housing\nCOMPANY: company\nASSOCIATION: association",
                        enum_type=SignatoryKind,
                        max_length=32,
                    ),
                ),
                (
                    "charter_status",
                    fields.CharEnumField(
                        default=CharterStatus.SIGNED,
                        description="SIGNED: signed\nSUSPENDED: suspended\nEXCLUDED: excluded",
                        enum_type=CharterStatus,
                        max_length=16,
                    ),
                ),
                ("signed_on", fields.DateField()),
                ("description", fields.TextField(default="", unique=False)),
                ("website", fields.CharField(default="", max_length=300)),
                ("dpo_email", fields.CharField(max_length=254)),
                (
                    "accepted_identifiers",
                    fields.JSONField(
                        default=["email"],
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("adapter", fields.CharField(default="email", max_length=64)),
                (
                    "adapter_settings",
                    fields.JSONField(
                        default={},
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "signatory", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Declaration",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "signatory",
                    fields.ForeignKeyField(
                        "models.Signatory",
                        source_field="signatory_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="declarations",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("code", fields.CharField(max_length=64)),
                ("title", fields.CharField(max_length=200)),
                ("purposes", fields.TextField(unique=False)),
                ("legal_basis", fields.CharField(max_length=64)),
                (
                    "data_categories",
                    fields.JSONField(
                        default=[],
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("retention", fields.TextField(unique=False)),
                (
                    "recipients",
                    fields.JSONField(
                        default=[],
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("source", fields.TextField(default="", unique=False)),
                ("dpia_summary", fields.TextField(default="", unique=False)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "declaration",
                "app": "models",
                "unique_together": (("signatory", "code"),),
                "pk_attr": "id",
                "table_description": "One processing activity, as the signatory publishes it.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Delivery",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "request",
                    fields.ForeignKeyField(
                        "models.RightsRequest",
                        source_field="request_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="deliveries",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "signatory",
                    fields.ForeignKeyField(
                        "models.Signatory",
                        source_field="signatory_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="deliveries",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "state",
                    fields.CharEnumField(
                        default=DeliveryState.PENDING,
                        description="PENDING: pending\nSENT: sent\nACKNOWLEDGED: acknowledged\nEXTENDED: extended\nFULFILLED: fulfilled\nDENIED: denied\nWITHDRAWN: withdrawn\nFAILED: failed",
                        enum_type=DeliveryState,
                        max_length=16,
                    ),
                ),
                ("received_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("due_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("extension_reason", fields.TextField(null=True, unique=False)),
                (
                    "outcome",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("denial_reason", fields.CharField(null=True, max_length=32)),
                ("denial_detail", fields.TextField(null=True, unique=False)),
                (
                    "completed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("dispatch_ref", fields.CharField(null=True, max_length=200)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "delivery",
                "app": "models",
                "unique_together": (("request", "signatory"),),
                "pk_attr": "id",
                "table_description": "The part of a request addressed to one signatory.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AccessCopy",
            fields=[
                (
                    "id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40),
                ),
                (
                    "delivery",
                    fields.ForeignKeyField(
                        "models.Delivery",
                        source_field="delivery_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="copies",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("filename", fields.CharField(max_length=200)),
                ("content_type", fields.CharField(max_length=100)),
                ("size", fields.IntField()),
                ("sha256", fields.CharField(max_length=64)),
                ("content", fields.BinaryField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "downloaded_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("deleted_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "access_copy",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A copy of the data of a resident, sent by a signatory, deleted after download or expiry.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DeliveryEvent",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "delivery",
                    fields.ForeignKeyField(
                        "models.Delivery",
                        source_field="delivery_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="events",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("actor", fields.CharField(max_length=32)),
                ("action", fields.CharField(max_length=32)),
                ("from_state", fields.CharField(max_length=16)),
                ("to_state", fields.CharField(max_length=16)),
                (
                    "detail",
                    fields.JSONField(
                        default={},
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={
                "table": "delivery_event",
                "app": "models",
                "pk_attr": "id",
                "table_description": "The audit trail: one row per transition, written with it.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Receipt",
            fields=[
                (
                    "id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40),
                ),
                ("sequence", fields.IntField(unique=True)),
                (
                    "delivery",
                    fields.OneToOneField(
                        "models.Delivery",
                        source_field="delivery_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="receipt",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("jws", fields.TextField(unique=False)),
                ("digest", fields.CharField(unique=True, max_length=64)),
                ("issued_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "receipt", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
