from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from desk.charter.models import AlertLevel, DecisionOutcome
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_wider_event_actor')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Alert',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('signatory', fields.ForeignKeyField('models.Signatory', source_field='signatory_id', db_constraint=True, to_field='id', related_name='alerts', on_delete=OnDelete.RESTRICT)),
                ('level', fields.IntEnumField(description='REMINDER: 1\nFORMAL_NOTICE: 2\nEXCLUSION_PROPOSED: 3', enum_type=AlertLevel, generated=False)),
                ('reason', fields.TextField(unique=False)),
                ('delivery_ids', fields.JSONField(default=[], encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('response', fields.TextField(null=True, unique=False)),
                ('corrective_plan', fields.TextField(null=True, unique=False)),
                ('responded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'charter_alert', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One step of the compliance ladder against a signatory, public, with its reasons.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CommitteeDecision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('alert', fields.ForeignKeyField('models.Alert', source_field='alert_id', db_constraint=True, to_field='id', related_name='decisions', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('models.StaffMember', source_field='member_id', db_constraint=True, to_field='id', related_name='decisions', on_delete=OnDelete.RESTRICT)),
                ('outcome', fields.CharEnumField(description='EXCLUDED: excluded\nKEPT_WITH_CONDITIONS: kept_with_conditions\nKEPT: kept', enum_type=DecisionOutcome, max_length=24)),
                ('reasoning', fields.TextField(unique=False)),
                ('conditions', fields.TextField(default='', unique=False)),
                ('decided_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'committee_decision', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The ethics committee decides on an exclusion proposal, with its reasoning (public).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Complaint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='complaints', on_delete=OnDelete.CASCADE)),
                ('delivery', fields.ForeignKeyField('models.Delivery', source_field='delivery_id', db_constraint=True, to_field='id', related_name='complaints', on_delete=OnDelete.CASCADE)),
                ('text', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('answer', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'complaint', 'app': 'models', 'pk_attr': 'id', 'table_description': "A resident complains to the charter's ethics committee about a delivery."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SelfEvaluation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('signatory', fields.ForeignKeyField('models.Signatory', source_field='signatory_id', db_constraint=True, to_field='id', related_name='self_evaluations', on_delete=OnDelete.CASCADE)),
                ('year', fields.IntField()),
                ('answers', fields.JSONField(default={}, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('submitted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'self_evaluation', 'app': 'models', 'unique_together': (('signatory', 'year'),), 'pk_attr': 'id', 'table_description': "A signatory's yearly self-evaluation of how it applies the charter (published)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TransparencyCheckpoint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('size', fields.IntField()),
                ('head', fields.CharField(max_length=64)),
                ('jws', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'transparency_checkpoint', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A signed statement of the receipts chain: its size and head hash at a moment.'},
            bases=['Model'],
        ),
    ]
